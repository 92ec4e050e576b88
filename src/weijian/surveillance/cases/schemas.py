"""Commands and answers of case reports (传染病报告卡). A command's fields are each checked for their form
(dates, times, ids); what needs the disease list, the clock, the patient or several fields together is the
service's (every refusal naming its field). A time without a zone is Beijing time (the county clock's)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field, field_validator

from weijian.core import clock
from weijian.core.bounds import BoundedDate, Id64, date_in_range
from weijian.core.commands import MAX_DATE, MIN_DATE, Command, refuse

# 疑似 / 临床诊断 / 实验室确诊 / 病原携带 / 排除 (传染病报告卡's 病例分类)
CLASSIFICATIONS = ("suspected", "clinical", "confirmed", "carrier", "excluded")


def _a_time(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            raise refuse("surveillance.cases.errors.time_invalid") from None
    return value


def _in_range(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if not date_in_range(value.date()):
        raise refuse("core.errors.validation.date_out_of_range", min=MIN_DATE.isoformat(), max=MAX_DATE.isoformat())
    return value if value.tzinfo is not None else value.replace(tzinfo=clock.zone())


class CaseReportCreate(Command):
    """A new card. `disease` (the list's code) or `icd10` (the disease it notifies) or both; `reported_at`
    defaults to now, `facility_id` to the reporter's facility. Missing required values are named by the
    service with the other problems."""

    resident_id: Id64
    disease: str | None = Field(None, max_length=32)
    icd10: str | None = Field(None, max_length=10)
    onset_date: BoundedDate | None = None
    diagnosed_at: datetime | None = None
    reported_at: datetime | None = None
    classification: str | None = Field(None, max_length=16)
    facility_id: Id64 | None = None
    doctor_name: str | None = Field(None, max_length=64)
    encounter_id: Id64 | None = None
    note: str | None = None

    @field_validator("diagnosed_at", "reported_at", mode="before")
    @classmethod
    def _times(cls, value: Any) -> Any:
        return _a_time(value)

    @field_validator("diagnosed_at", "reported_at")
    @classmethod
    def _ranges(cls, value: datetime | None) -> datetime | None:
        return _in_range(value)


class CaseReportRevise(Command):
    """A revision (订正): the fields given change, the others stay; `reason` is required when the
    classification moves backwards (确诊 → 疑似) or to 排除 (the service says so)."""

    disease: str | None = Field(None, max_length=32)
    icd10: str | None = Field(None, max_length=10)
    onset_date: BoundedDate | None = None
    diagnosed_at: datetime | None = None
    classification: str | None = Field(None, max_length=16)
    note: str | None = None
    reason: str | None = None

    @field_validator("diagnosed_at", mode="before")
    @classmethod
    def _times(cls, value: Any) -> Any:
        return _a_time(value)

    @field_validator("diagnosed_at")
    @classmethod
    def _ranges(cls, value: datetime | None) -> datetime | None:
        return _in_range(value)


class CaseReportDelete(Command):
    reason: str | None = None  # required (the service names it)


class CaseReportDuplicate(Command):
    """This card reports a case another card (`duplicate_of`, the one kept) reports already."""

    duplicate_of: Id64 | None = None
    reason: str | None = None


# --- answers --------------------------------------------------------------------------------------
class RevisionOut(BaseModel):
    id: int
    kind: str
    at: datetime
    by_name: str
    reason: str | None
    before: dict[str, Any]
    after: dict[str, Any]


class CaseReportOut(BaseModel):
    id: int
    resident_id: int
    resident_name: str
    disease: str
    disease_name: str
    icd10: str | None
    onset_date: date
    diagnosed_at: datetime
    reported_at: datetime
    classification: str
    facility_id: int
    facility: str
    doctor_name: str | None
    village_code: str
    township_code: str
    status: str
    delete_reason: str | None
    duplicate_of: int | None
    limit_hours: int
    delay_hours: Decimal
    late: bool
    encounter_id: int | None
    note: str | None
    revisions: list[RevisionOut] = []


class CaseReportPage(BaseModel):
    items: list[CaseReportOut]
    total: int
    page: int
    page_size: int
