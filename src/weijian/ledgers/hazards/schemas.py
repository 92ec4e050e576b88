"""Commands and answers of the hazard ledger. Required fields are optional in the models so that the service
names every missing one at once."""
from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from weijian.core.bounds import BoundedDate, Id64
from weijian.core.commands import Command


class InspectionCreate(Command):
    """An inspection: the facility, the category (data/hazards.yaml), the day (not in the future) and the
    inspector (none: the user recording it)."""

    facility_id: Id64 | None = None
    category: str | None = None
    inspected_on: BoundedDate | None = None
    inspector: str | None = Field(None, max_length=64)
    note: str | None = None


class ProblemCreate(Command):
    """A problem found in an inspection, with the four to's: the responsible person and leader, the problem,
    the deadline (not before the inspection day), the standard to meet."""

    location: str | None = Field(None, max_length=200)
    description: str | None = None
    severity: str | None = None
    responsible_person: str | None = Field(None, max_length=64)
    responsible_leader: str | None = Field(None, max_length=64)
    deadline: BoundedDate | None = None
    standard: str | None = None


class RectificationCreate(Command):
    """What was done (measures) and the day it was done (not in the future)."""

    done_on: BoundedDate | None = None
    measures: str | None = None


class VerificationCreate(Command):
    """The inspector's verdict on the latest rectification: accepted or sent_back (a note required then)."""

    verdict: Literal["accepted", "sent_back"] | None = None
    note: str | None = None


class PhotoOut(BaseModel):
    id: int
    stage: str
    content_type: str
    size: int
    url: str


class RectificationOut(BaseModel):
    id: int
    done_on: date
    measures: str
    reported_by: str
    verdict: str | None
    verified_by: str | None
    verified_on: date | None
    verify_note: str | None


class ProblemOut(BaseModel):
    id: int
    inspection_id: int
    facility_id: int
    facility_name: str
    orgunit_code: str
    category: str
    inspected_on: date
    inspector: str
    location: str
    description: str
    severity: str
    responsible_person: str
    responsible_leader: str
    deadline: date
    standard: str
    status: str
    closed_on: date | None
    overdue: bool
    days_overdue: int
    photos: list[PhotoOut] = []
    rectifications: list[RectificationOut] = []


class InspectionOut(BaseModel):
    id: int
    facility_id: int
    facility_name: str
    orgunit_code: str
    category: str
    inspected_on: date
    inspector: str
    note: str | None
    problems: list[ProblemOut] = []


class EscalationOut(BaseModel):
    """The bureau's list: overdue problems by facility and responsible leader."""

    facility_id: int
    facility_name: str
    responsible_leader: str
    overdue: int
    most_days_overdue: int
    problem_ids: list[int]
