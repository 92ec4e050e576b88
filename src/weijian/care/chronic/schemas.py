"""Shapes of chronic-disease management: the commands every write takes (registering, a follow-up, closing;
core.commands — strict, each bad value refused naming its field with the same words as the forms), and the
API's answers (registrations, follow-ups, the worklist, the figures).

A measurement is checked against the plausible range and the instrument's decimals the rules file gives
(rules.py); what needs the database or the programme — the resident in scope, the measurements a programme
requires, the dates against the registration — is checked by the service."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, field_validator

from weijian.care.chronic.rules import get_program, rules
from weijian.care.models import ChronicRegistration, FollowUp
from weijian.core.bounds import BoundedDate, Id64, whole_number
from weijian.core.commands import Command, refuse
from weijian.core.errors import InvalidInput

_E = "care.chronic.errors."


# --- value types ------------------------------------------------------------------------------------
def _day(raw: Any) -> Any:
    """A date as a form or JSON sends it: ISO text (2025-03-01, or 2025/03/01 as some browsers type it)."""
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


# A day within core.bounds' range; text that is no date is `date_parsing`, whatever pydantic would call it.
Day = Annotated[BoundedDate, BeforeValidator(_day)]


def _resident(raw: Any) -> int:
    """A resident number as typed: anything that is no id is a resident that does not exist (in scope)."""
    rid = None if isinstance(raw, bool) else whole_number(raw)
    if rid is None:
        raise refuse(_E + "resident_not_found", resident_id=str(raw))
    return rid


def _measure(name: str) -> Callable[[Any], int | Decimal | None]:
    def check(raw: Any) -> int | Decimal | None:
        """A measured value: refused when not a number, out of the plausible range, or with more decimals than
        the instrument shows (rounding could move a value across a control limit)."""
        if raw is None:
            return None
        spec = rules().measurements[name]
        if isinstance(raw, bool) or not isinstance(raw, (str, int, float, Decimal)):
            raise refuse(_E + "measurement_invalid")
        try:
            value = Decimal(str(raw).strip())
        except InvalidOperation:
            raise refuse(_E + "measurement_invalid") from None
        if not value.is_finite():
            raise refuse(_E + "measurement_invalid")
        exponent = value.normalize().as_tuple().exponent
        if isinstance(exponent, int) and -exponent > spec.decimals:
            key = "measurement_decimals" if spec.decimals else "measurement_integer"
            raise refuse(_E + key, decimals=spec.decimals)
        if not spec.min <= value <= spec.max:
            raise refuse(_E + "measurement_range", min=str(spec.min), max=str(spec.max), unit=spec.unit)
        return int(value) if spec.decimals == 0 else value.quantize(Decimal(1).scaleb(-spec.decimals))
    return check


Systolic = Annotated[int | None, BeforeValidator(_measure("sbp"))]  # mmHg
Diastolic = Annotated[int | None, BeforeValidator(_measure("dbp"))]  # mmHg
Glucose = Annotated[Decimal | None, BeforeValidator(_measure("fasting_glucose"))]  # mmol/L, one decimal


# --- commands ---------------------------------------------------------------------------------------
class ChronicRegister(Command):
    """Put a resident under management in a programme by hand. The programme and the date may be left out
    here: the service names them missing together with what it finds in the database (the resident, an
    active registration already); the API defaults the date to today."""

    resident_id: Annotated[Id64, BeforeValidator(_resident)]
    program: str | None = None
    registered_on: Day | None = None
    facility_id: Id64 | None = None  # default: the actor's facility

    @field_validator("program")
    @classmethod
    def _program(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                get_program(value)
            except InvalidInput:
                raise refuse(_E + "program_unknown", value=value, known=", ".join(rules().programs)) from None
        return value


class FollowUpCreate(Command):
    """One follow-up of a registration. Which measurements are required depends on its programme, and the
    diastolic pressure must be below the systolic: both checked by the service."""

    date: Day
    method: str = "clinic"  # a method of the rules file (clinic | home | phone)
    sbp: Systolic = None
    dbp: Diastolic = None
    fasting_glucose: Glucose = None
    adverse_reaction: bool = False  # 药物不良反应 (有/无)
    complication: bool = False  # 新发并发症或原有并发症加重
    danger_signs: list[str] = []  # codes of the programme's 紧急转诊 signs (checked by the service)
    note: str | None = None
    clinician_name: str | None = None  # default: the actor's user name

    @field_validator("method")
    @classmethod
    def _method(cls, value: str) -> str:
        if value not in rules().methods:
            raise refuse(_E + "method_unknown", value=value)
        return value


class ChronicClose(Command):
    """End management. The reason (a code of the rules file) is checked by the service, so that a missing or
    unknown reason is named together with a date the registration refuses."""

    closed_on: Day
    reason: str | None = None


# --- answers ----------------------------------------------------------------------------------------


class FollowUpOut(BaseModel):
    id: int
    registration_id: int
    resident_id: int
    date: dt.date
    method: str
    sbp: int | None
    dbp: int | None
    fasting_glucose: str | None  # decimal as text (mmol/L, one decimal)
    in_control: bool
    adverse_reaction: bool
    complication: bool
    classification: str  # 此次随访分类: controlled | uncontrolled | adverse_reaction | complication
    refer_reason: str | None  # urgent | complication | consecutive: an upward referral is advised
    urgent_reasons: list[str]  # 紧急转诊: limits reached (sbp_high …) and danger signs noted
    next_visit_on: dt.date
    rule_version: int
    facility_id: int | None
    clinician_name: str | None
    note: str | None

    @classmethod
    def of(cls, f: FollowUp) -> FollowUpOut:
        return cls(id=f.id, registration_id=f.registration_id, resident_id=f.resident_id, date=f.date,
                   method=f.method, sbp=f.sbp, dbp=f.dbp,
                   fasting_glucose=None if f.fasting_glucose is None else str(f.fasting_glucose),
                   in_control=f.in_control, adverse_reaction=f.adverse_reaction, complication=f.complication,
                   classification=f.classification, refer_reason=f.refer_reason,
                   urgent_reasons=[c for c in (f.urgent_reasons or "").split(",") if c], next_visit_on=f.next_visit_on,
                   rule_version=f.rule_version, facility_id=f.facility_id, clinician_name=f.clinician_name,
                   note=f.note)


class RegistrationOut(BaseModel):
    id: int
    resident_id: int
    resident_name: str | None = None
    village_code: str | None = None
    program: str
    registered_on: dt.date
    source: str
    encounter_id: int | None
    facility_id: int | None
    status: str
    closed_on: dt.date | None

    @classmethod
    def of(cls, r: ChronicRegistration, *, resident_name: str | None = None,
           village_code: str | None = None) -> RegistrationOut:
        return cls(id=r.id, resident_id=r.resident_id, resident_name=resident_name, village_code=village_code,
                   program=r.program, registered_on=r.registered_on, source=r.source, encounter_id=r.encounter_id,
                   facility_id=r.facility_id, status=r.status, closed_on=r.closed_on)


class RegistrationDetail(RegistrationOut):
    last_follow_up: dt.date | None
    next_due: dt.date | None
    due_status: str | None  # ok | due | overdue; None once closed
    follow_ups: list[FollowUpOut]


class RegistrationPage(BaseModel):
    items: list[RegistrationOut]
    total: int
    page: int
    page_size: int


class DueItemOut(BaseModel):
    registration_id: int
    resident_id: int
    resident_name: str
    sex: str
    birth_year: int
    birth_date: dt.date | None  # None, and the phone masked, without resident:read_identity
    phone: str | None
    village_code: str
    program: str
    registered_on: dt.date
    last_follow_up: dt.date | None
    next_due: dt.date
    overdue_from: dt.date
    status: str
    days_overdue: int
    urgent: bool  # the latest follow-up called for an urgent referral (listed first)


class DueListOut(BaseModel):
    as_of: dt.date
    counts: dict[str, int]  # status → patients
    items: list[DueItemOut]


class FigureChildOut(BaseModel):
    figure: str
    orgunit: str
    period: str
    numerator: int
    denominator: int
    value: float | None  # a fraction (0.8125), None when the denominator is 0


class FigureOut(FigureChildOut):
    children: list[FigureChildOut]
