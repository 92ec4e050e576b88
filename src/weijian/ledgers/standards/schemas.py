"""Commands and answers of facility standardisation. Required fields are optional in the models so that the
service names every missing one at once, with the checks that need the data file or the database."""
from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, Field

from weijian.core.bounds import BoundedDate, Id64
from weijian.core.commands import Command


class ItemResult(Command):
    """One checklist item: passed or not, and the evidence seen."""

    item: Annotated[str, Field(max_length=32)]
    passed: bool = False
    evidence: Annotated[str | None, Field(max_length=500)] = None


class AssessmentCreate(Command):
    """An assessment of one facility against one standard: every item of its checklist, each passed or not."""

    facility_id: Id64 | None = None
    standard: Annotated[str | None, Field(max_length=32)] = None
    assessed_on: BoundedDate | None = None
    assessor: Annotated[str | None, Field(max_length=50)] = None
    results: list[ItemResult] | None = None
    note: str | None = None


class ItemResultOut(BaseModel):
    item: str
    passed: bool
    required: bool
    evidence: str | None


class AssessmentOut(BaseModel):
    id: int
    facility_id: int
    standard: str
    assessed_on: date
    assessor: str
    meets: bool
    failed_required: list[str]
    note: str | None
    results: list[ItemResultOut]


class FacilityStatusOut(BaseModel):
    facility_id: int
    facility_name: str
    orgunit_code: str
    assessed_on: date | None
    meets: bool
    assessment_id: int | None


class ProgressOut(BaseModel):
    standard: str
    as_of: date
    orgunit_code: str | None
    met: int
    total: int
    share: float | None
