"""Commands and answers of public-health emergencies. Required fields are optional in the models so that the
service names every missing one at once (with the database's checks: an unknown org unit, team or event)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field

from weijian.core import clock
from weijian.core.bounds import BoundedDate, Id64, date_in_range
from weijian.core.commands import MAX_DATE, MIN_DATE, Command, refuse

MAX_PEOPLE = 100_000


def _a_time(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            raise refuse("surveillance.emergency.errors.time_invalid") from None
    return value


def _zoned(value: datetime | None) -> datetime | None:
    # A time without a zone is the county's (Beijing) time, as everywhere in weijian.
    if value is None:
        return None
    if not date_in_range(value.date()):
        raise refuse("core.errors.validation.date_out_of_range", min=MIN_DATE.isoformat(), max=MAX_DATE.isoformat())
    return value if value.tzinfo is not None else value.replace(tzinfo=clock.zone())


LocalTime = Annotated[datetime | None, BeforeValidator(_a_time), AfterValidator(_zoned)]
People = Annotated[int, Field(ge=1, le=MAX_PEOPLE)]
Count = Annotated[int, Field(ge=0, le=MAX_PEOPLE)]


# --- commands -------------------------------------------------------------------------------------
class EventCreate(Command):
    """An event: title, kind and grade (data/emergency.yaml), when it occurred, was discovered (optional: when
    it occurred) and was reported (without a zone: Beijing time), the org unit. All required but the discovery
    and the summary: the service names them."""

    title: str | None = Field(None, max_length=200)
    kind: str | None = None
    grade: str | None = None
    occurred_at: LocalTime = None
    discovered_at: LocalTime = None
    reported_at: LocalTime = None
    orgunit_code: str | None = None
    summary: str | None = None


class TimelineCreate(Command):
    at: LocalTime = None
    entry: str | None = None


class EventClose(Command):
    closed_at: LocalTime = None  # none: now


class TeamCreate(Command):
    name: str | None = Field(None, max_length=100)
    specialty: str | None = Field(None, max_length=100)


class MemberCreate(Command):
    """A user of weijian (user_id; the name is the user's) or a name, and the member's role in the team."""

    user_id: Id64 | None = None
    name: str | None = Field(None, max_length=64)
    role: str | None = Field(None, max_length=50)


class DeploymentCreate(Command):
    deployed_on: BoundedDate | None = None
    destination: str | None = Field(None, max_length=200)
    people: People | None = None
    task: str | None = None
    team_id: Id64 | None = None
    event_id: Id64 | None = None


class DrillCreate(Command):
    held_on: BoundedDate | None = None
    scenario: str | None = None
    participants: Count | None = None
    team_id: Id64 | None = None


class SupplyCreate(Command):
    item: str | None = Field(None, max_length=100)
    quantity: Count | None = None
    unit: str | None = Field(None, max_length=20)
    expiry_date: BoundedDate | None = None
    location: str | None = Field(None, max_length=100)


# --- answers --------------------------------------------------------------------------------------
class TimelineOut(BaseModel):
    id: int
    at: datetime
    entry: str
    recorded_by: str


class EventOut(BaseModel):
    id: int
    title: str
    kind: str
    grade: str
    occurred_at: datetime
    discovered_at: datetime | None
    reported_at: datetime
    report_hours: float
    report_limit_hours: int
    reported_late: bool
    orgunit_code: str
    status: str
    closed_at: datetime | None
    summary: str | None
    timeline: list[TimelineOut] = []
    deployments: int = 0
    people_deployed: int = 0


class TeamMemberOut(BaseModel):
    id: int
    user_id: int | None
    name: str
    role: str


class TeamOut(BaseModel):
    id: int
    name: str
    specialty: str | None
    members: list[TeamMemberOut]


class DeploymentOut(BaseModel):
    id: int
    deployed_on: date
    destination: str
    people: int
    task: str
    team_id: int | None
    event_id: int | None


class DeploymentSummary(BaseModel):
    """Batches and people sent in a date range ("27 batches, 1,826 people")."""

    date_from: date
    date_to: date
    batches: int
    people: int


class DrillOut(BaseModel):
    id: int
    held_on: date
    scenario: str
    participants: int
    team_id: int | None


class SupplyOut(BaseModel):
    id: int
    item: str
    quantity: int
    unit: str
    expiry_date: date | None
    location: str | None
    flag: str | None  # expired | expiring | None
