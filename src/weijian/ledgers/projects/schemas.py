"""Commands and answers of practical projects. Required fields are optional in the models so that the service
names every missing one at once."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field

from weijian.core.bounds import BoundedDate
from weijian.core.commands import Command

Amount = Annotated[Decimal, Field(ge=0, le=Decimal("999999999999"), max_digits=16, decimal_places=4)]
Share = Annotated[Decimal, Field(ge=0, lt=1, max_digits=6, decimal_places=4)]


class ProjectCreate(Command):
    """A project: name, category and unit (data/projects.yaml), owner (牵头单位) and person in charge, target
    (> 0), start and end (the end not before the start), tolerance (none: the file's default), progress_source (none:
    progress is entered; `indicator:<id>` or another registered kind: computed)."""

    name: str | None = Field(None, max_length=200)
    category: str | None = None
    owner: str | None = Field(None, max_length=100)
    person_in_charge: str | None = Field(None, max_length=64)
    unit: str | None = None
    target: Amount | None = None
    starts_on: BoundedDate | None = None
    ends_on: BoundedDate | None = None
    tolerance: Share | None = None
    progress_source: str | None = Field(None, max_length=100)
    note: str | None = None


class MilestoneCreate(Command):
    title: str | None = Field(None, max_length=200)
    due_on: BoundedDate | None = None
    target_done: Amount | None = None
    reached_on: BoundedDate | None = None


class ProgressCreate(Command):
    """The figure done as of a day (none: today), with a note and evidence; above the target a note is
    required."""

    as_of: BoundedDate | None = None
    done: Amount | None = None
    note: str | None = None
    evidence: str | None = None


class MilestoneOut(BaseModel):
    id: int
    title: str
    due_on: date
    target_done: Decimal | None
    reached_on: date | None
    late: bool


class ProgressOut(BaseModel):
    id: int
    as_of: date
    done: Decimal
    note: str | None
    evidence: str | None
    recorded_by: str


class ProjectOut(BaseModel):
    id: int
    name: str
    category: str
    owner: str
    person_in_charge: str | None
    unit: str
    target: Decimal
    starts_on: date
    ends_on: date
    tolerance: Decimal
    source: str | None
    as_of: date
    done: Decimal | None
    expected_share: float | None
    actual_share: float | None
    expected_done: float | None
    status: str | None
    colour: str | None
    milestones: list[MilestoneOut] = []
    progress: list[ProgressOut] = []


class OverviewGroup(BaseModel):
    key: str
    projects: int
    behind: int
    on_track: int
    ahead: int
    no_figure: int
