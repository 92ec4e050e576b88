"""Commands and answers of training and outreach counts."""
from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, Field

from weijian.core.bounds import BoundedDate
from weijian.core.commands import Command

MAX_TRAINED = 100_000  # people at one session: a typing error beyond it


class SessionCreate(Command):
    """A session held: the day, the township or village, the project's name, the people trained (人次)."""

    held_on: BoundedDate | None = None
    orgunit_code: Annotated[str | None, Field(max_length=12)] = None
    project: Annotated[str | None, Field(max_length=100)] = None
    topic: Annotated[str | None, Field(max_length=200)] = None
    place: Annotated[str | None, Field(max_length=200)] = None
    trained: Annotated[int | None, Field(ge=1, le=MAX_TRAINED)] = None
    organizer: Annotated[str | None, Field(max_length=100)] = None
    note: str | None = None


class SessionOut(BaseModel):
    id: int
    held_on: date
    orgunit_code: str
    project: str
    topic: str | None
    place: str | None
    trained: int
    organizer: str | None


class RollupRowOut(BaseModel):
    township_code: str
    township_name: str
    project: str
    sessions: int
    trained: int


class RollupOut(BaseModel):
    date_from: date | None
    date_to: date | None
    rows: list[RollupRowOut]
    by_project: dict[str, int]
    total: int
