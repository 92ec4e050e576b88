"""API shapes of the org-unit registry: org units, the tree, facilities, capacity totals."""
from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict

from weijian.core.bounds import BoundedDate


class CapacityOut(BaseModel):
    beds_approved: int
    beds_open: int
    physicians: int
    assistant_physicians: int
    facilities: int


class OrgUnitOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    level: str
    kind: str | None
    parent_code: str | None
    urban_rural_class: str | None


class FacilityOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    type: str
    type_label: str = ""
    grade: str | None
    grade_label: str = ""
    orgunit_code: str
    community_role: str
    beds_approved: int
    beds_open: int
    physicians: int
    assistant_physicians: int
    updated_at: datetime


class CapacitySnapshotOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    as_of: date
    beds_approved: int
    beds_open: int
    physicians: int
    assistant_physicians: int


class FacilityDetailOut(FacilityOut):
    capacity_history: list[CapacitySnapshotOut]


class OrgUnitDetailOut(OrgUnitOut):
    parent: OrgUnitOut | None
    children: list[OrgUnitOut]
    facilities: list[FacilityOut]
    totals: CapacityOut  # the whole subtree, current figures


class TreeNodeOut(BaseModel):
    code: str
    name: str
    level: str
    kind: str | None
    facilities: list[FacilityOut]
    totals: CapacityOut
    children: list[TreeNodeOut]


class OrgUnitCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str
    name: str
    level: str | None = None  # optional: follows from the code, checked when given
    parent_code: str | None = None  # optional: follows from the code, checked when given
    urban_rural_class: str | None = None


class OrgUnitUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    urban_rural_class: str | None = None


class FacilityCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str
    name: str
    type: str
    grade: str | None = None
    orgunit_code: str
    community_role: str = "none"
    beds_approved: int = 0
    beds_open: int = 0
    physicians: int = 0
    assistant_physicians: int = 0
    as_of: BoundedDate | None = None  # date of the capacity figures; today when omitted


class FacilityUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str | None = None
    name: str | None = None
    type: str | None = None
    grade: str | None = None
    orgunit_code: str | None = None
    community_role: str | None = None
    beds_approved: int | None = None
    beds_open: int | None = None
    physicians: int | None = None
    assistant_physicians: int | None = None
    as_of: date | None = None


class ChildCapacityOut(BaseModel):
    code: str
    name: str
    level: str
    totals: CapacityOut


class CapacityReportOut(BaseModel):
    orgunit_code: str
    as_of: date
    totals: CapacityOut
    children: list[ChildCapacityOut]
