"""Commands and answers of remote consultation. The request's department, question and urgency are checked
by the service together with the facility asked (a request names all its problems at once); the county
side's commands keep every field optional: the consultation is looked up first (one the user may not see
answers 404, whatever the body)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from weijian.care.teleconsult.queries import ConsultationItem
from weijian.core import clock
from weijian.core.bounds import Id64, date_in_range
from weijian.core.commands import MAX_DATE, MIN_DATE, Command, refuse

MAX_EXTRACTS = 20
DEPARTMENT_MAX = 50


# --- commands -------------------------------------------------------------------------------------
class ConsultationRequest(Command):
    """Ask a county facility's department about a resident. `encounter_ids`: the encounters to attach (the
    latest ones when none are chosen). `department`, `question` are required and `urgency` is routine or
    urgent: the service names them, with the facility's own problems."""

    resident_id: Id64
    to_facility_id: Id64 | None = None
    department: str | None = Field(None, max_length=DEPARTMENT_MAX)
    question: str | None = None
    urgency: str = "routine"
    encounter_ids: list[Id64] | None = None

    @field_validator("encounter_ids")
    @classmethod
    def _at_most(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and len(value) > MAX_EXTRACTS:
            raise refuse("care.teleconsult.errors.too_many_extracts", max=MAX_EXTRACTS)
        return value or None


class ConsultationAction(Command):
    """`version`: the consultation's version the user saw; a different one answers 409."""

    version: Id64 | None = None


class ScheduleIn(ConsultationAction):
    """A specialist of the county facility (specialist_id, or specialist_username) and a time (without a zone:
    Beijing time; not before the request). Both required: the service names what is missing."""

    specialist_id: Id64 | None = None
    specialist_username: str | None = None
    scheduled_at: datetime | None = None

    @field_validator("scheduled_at", mode="before")
    @classmethod
    def _a_time(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value.strip())
            except ValueError:
                raise refuse("care.teleconsult.errors.scheduled_at_invalid") from None
        return value

    @field_validator("scheduled_at")
    @classmethod
    def _in_range(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if not date_in_range(value.date()):
            raise refuse("core.errors.validation.date_out_of_range", min=MIN_DATE.isoformat(),
                         max=MAX_DATE.isoformat())
        return value if value.tzinfo is not None else value.replace(tzinfo=clock.zone())


class AnswerIn(ConsultationAction):
    opinion: str | None = None  # required (the service names it); at most 2000 characters (core.bounds)


# --- answers --------------------------------------------------------------------------------------
class ConsultationListItem(BaseModel):
    id: int
    resident_id: int
    resident_name: str
    status: str
    urgency: str
    from_facility_id: int
    from_facility: str
    requester_name: str | None
    to_facility_id: int
    to_facility: str
    department: str
    requested_at: datetime
    deadline: datetime
    overdue: bool
    specialist_id: int | None
    specialist_name: str | None
    scheduled_at: datetime | None
    answered_at: datetime | None
    version: int

    @classmethod
    def of(cls, item: ConsultationItem) -> ConsultationListItem:
        c = item.consultation
        return cls(id=c.id, resident_id=c.resident_id, resident_name=item.resident_name, status=c.status,
                   urgency=c.urgency, from_facility_id=c.from_facility_id, from_facility=item.from_facility,
                   requester_name=c.requester_name, to_facility_id=c.to_facility_id, to_facility=item.to_facility,
                   department=c.department, requested_at=c.requested_at, deadline=item.deadline,
                   overdue=item.overdue, specialist_id=c.specialist_id, specialist_name=c.specialist_name,
                   scheduled_at=c.scheduled_at, answered_at=c.answered_at, version=c.version)


class ConsultationOut(ConsultationListItem):
    question: str
    extracts: list[dict[str, Any]]
    opinion: str | None

    @classmethod
    def of(cls, item: ConsultationItem) -> ConsultationOut:
        c = item.consultation
        return cls(**ConsultationListItem.of(item).model_dump(), question=c.question, extracts=item.extracts,
                   opinion=c.opinion)


class ConsultationPage(BaseModel):
    items: list[ConsultationListItem]
    total: int
    page: int
    page_size: int
