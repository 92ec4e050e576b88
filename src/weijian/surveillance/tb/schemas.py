"""Shapes of TB patient management: the commands every write takes (core.commands: strict, a bad value
refused naming its field), and the API's answers. A code is checked against the rules file (rules.py); what
needs the database, the clock or several fields is checked by the service."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field

from weijian.core import clock
from weijian.core.bounds import BoundedDate, Id64, whole_number
from weijian.core.commands import Command, refuse
from weijian.surveillance.tb.models import TbDose, TbFirstVisit, TbFollowUp, TbSuspect, TbTreatment
from weijian.surveillance.tb.rules import rules

_E = "surveillance.tb.errors."


def _day(raw: Any) -> Any:
    """A date as a form or JSON sends it (ISO text)."""
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, str):
        try:
            return dt.date.fromisoformat(raw.strip().replace("/", "-"))
        except ValueError:
            pass
    raise refuse("core.errors.validation.date_parsing")


def _moment(raw: Any) -> Any:
    """A time as a form (datetime-local: county time, no zone) or JSON (ISO, with or without a zone) sends
    it; without a zone it is the county's local time."""
    value = raw
    if isinstance(raw, str):
        try:
            value = dt.datetime.fromisoformat(raw.strip())
        except ValueError:
            raise refuse(_E + "time_invalid") from None
    if not isinstance(value, dt.datetime):
        raise refuse(_E + "time_invalid")
    if value.tzinfo is None:
        value = value.replace(tzinfo=clock.zone())
    if not dt.date(1900, 1, 1) <= value.date() <= dt.date(2200, 12, 31):
        raise refuse(_E + "time_invalid")
    return value.astimezone(dt.UTC)


Day = Annotated[BoundedDate, BeforeValidator(_day)]
Moment = Annotated[dt.datetime, BeforeValidator(_moment)]


def _resident(raw: Any) -> int:
    rid = None if isinstance(raw, bool) else whole_number(raw)
    if rid is None:
        raise refuse(_E + "resident_not_found", resident_id=str(raw))
    return rid


def _code(table: str) -> Callable[[Any], str]:
    def check(raw: Any) -> str:
        value = str(raw).strip()
        if value not in getattr(rules(), table):
            raise refuse(_E + "code_unknown", value=value)
        return value
    return check


def _codes(table: str) -> Callable[[Any], list[str]]:
    def check(raw: Any) -> list[str]:
        items = [raw] if isinstance(raw, str) else list(raw) if isinstance(raw, (list, tuple)) else None
        if items is None:
            raise refuse(_E + "code_unknown", value=str(raw))
        out = [str(v).strip() for v in items if str(v).strip()]
        odd = [v for v in out if v not in getattr(rules(), table)]
        if odd:
            raise refuse(_E + "code_unknown", value=", ".join(odd))
        return list(dict.fromkeys(out))
    return check


ResidentRef = Annotated[Id64, BeforeValidator(_resident)]
Name = Annotated[str, Field(max_length=64)]


# --- commands ---------------------------------------------------------------------------------------
class SuspectCreate(Command):
    """A suspect referred to the designated hospital: the symptoms seen (at least one), when, to where."""

    resident_id: ResidentRef
    symptoms: Annotated[list[str], BeforeValidator(_codes("symptoms"))] = []
    referred_on: Day
    referred_to: Annotated[str, Field(max_length=100)]


class SuspectResult(Command):
    """What the designated hospital found: confirmed or excluded, and on which day."""

    result: Annotated[str, BeforeValidator(_code("suspect_results"))]
    result_on: Day


class TreatmentCreate(Command):
    """A patient the designated hospital confirmed and notified: the notice's time, the course, the
    supervisor. `planned_months` defaults to the regimen's course."""

    resident_id: ResidentRef
    suspect_id: Id64 | None = None
    notified_at: Moment
    start_date: Day
    regimen: Annotated[str, BeforeValidator(_code("regimens"))]
    drug_resistant: bool = False
    supervisor_kind: Annotated[str, BeforeValidator(_code("supervisor_kinds"))]
    supervisor_name: Name
    planned_months: Annotated[int, Field(ge=1, le=36)] | None = None


class FirstVisitRecord(Command):
    """A try at the first home visit: the patient seen (found) or not, and when (default: now)."""

    found: bool
    at: Moment | None = None


class DoseRecord(Command):
    """One day's supervised dose: taken (default) or missed."""

    date: Day
    taken: bool = True


class FollowUpCreate(Command):
    """A follow-up: the day, what was found, the next one due (default: the rules' interval)."""

    date: Day
    findings: Annotated[str, Field(max_length=2000)] | None = None
    next_due: Day | None = None


class OutcomeRecord(Command):
    """The end of treatment (结案): the outcome and its day."""

    outcome: Annotated[str, BeforeValidator(_code("outcomes"))]
    outcome_on: Day


# --- answers ----------------------------------------------------------------------------------------
class SuspectOut(BaseModel):
    id: int
    resident_id: int
    resident_name: str | None = None
    symptoms: list[str]
    referred_on: dt.date
    referred_to: str
    result: str
    result_on: dt.date | None

    @classmethod
    def of(cls, s: TbSuspect, resident_name: str | None = None) -> SuspectOut:
        return cls(id=s.id, resident_id=s.resident_id, resident_name=resident_name,
                   symptoms=[c for c in s.symptoms.split(",") if c], referred_on=s.referred_on,
                   referred_to=s.referred_to, result=s.result, result_on=s.result_on)


class DoseOut(BaseModel):
    id: int
    date: dt.date
    taken: bool
    recorded_by: str

    @classmethod
    def of(cls, d: TbDose) -> DoseOut:
        return cls(id=d.id, date=d.date, taken=d.taken, recorded_by=d.recorded_by)


class FollowUpOut(BaseModel):
    id: int
    date: dt.date
    findings: str | None
    next_due: dt.date

    @classmethod
    def of(cls, f: TbFollowUp) -> FollowUpOut:
        return cls(id=f.id, date=f.date, findings=f.findings, next_due=f.next_due)


class FirstVisitOut(BaseModel):
    due_at: dt.datetime
    done_at: dt.datetime | None
    tries: int
    report_up: bool  # two tries failed: to be reported to the higher level

    @classmethod
    def of(cls, v: TbFirstVisit) -> FirstVisitOut:
        return cls(due_at=v.due_at, done_at=v.done_at, tries=v.tries,
                   report_up=v.done_at is None and v.tries >= rules().tries_before_report)


class TreatmentOut(BaseModel):
    id: int
    resident_id: int
    resident_name: str | None = None
    village_code: str | None = None
    suspect_id: int | None
    notified_at: dt.datetime
    start_date: dt.date
    regimen: str
    drug_resistant: bool
    supervisor_kind: str
    supervisor_name: str
    planned_months: int
    outcome: str | None
    outcome_on: dt.date | None

    @classmethod
    def of(cls, t: TbTreatment, resident_name: str | None = None, village_code: str | None = None) -> TreatmentOut:
        return cls(id=t.id, resident_id=t.resident_id, resident_name=resident_name, village_code=village_code,
                   suspect_id=t.suspect_id, notified_at=t.notified_at, start_date=t.start_date, regimen=t.regimen,
                   drug_resistant=t.drug_resistant, supervisor_kind=t.supervisor_kind,
                   supervisor_name=t.supervisor_name, planned_months=t.planned_months, outcome=t.outcome,
                   outcome_on=t.outcome_on)


class TreatmentDetail(TreatmentOut):
    first_visit: FirstVisitOut | None
    doses_due: int
    doses_taken: int
    next_follow_up: dt.date | None
    doses: list[DoseOut]
    follow_ups: list[FollowUpOut]


class TreatmentPage(BaseModel):
    items: list[TreatmentOut]
    total: int


class WorkItemOut(BaseModel):
    treatment_id: int
    resident_id: int
    resident_name: str
    village_code: str
    supervisor_kind: str
    due: dt.date | None
    due_at: dt.datetime | None
    overdue: bool
    tries: int
    dose_today: bool | None


class WorklistOut(BaseModel):
    as_of: dt.date
    doses_due: list[WorkItemOut]
    first_visits: list[WorkItemOut]
    follow_ups: list[WorkItemOut]
