"""API shapes of chronic-disease management: registrations, follow-ups, the worklist and the figures.

Inputs keep values loose (text or numbers): the service parses them so that every refusal names the field
with the same message as the forms."""
from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

from weijian.care.models import ChronicRegistration, FollowUp
from weijian.core.bounds import Id64

Loose = str | int | float | None


class RegistrationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resident_id: Loose = None
    program: str | None = None
    registered_on: str | None = None  # default: today
    facility_id: Id64 | None = None


class CloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    closed_on: str | None = None
    reason: str | None = None


class FollowUpIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: str | None = None
    method: str | None = None  # clinic | home | phone; default clinic
    sbp: Loose = None
    dbp: Loose = None
    fasting_glucose: Loose = None
    note: str | None = None
    clinician_name: str | None = None


class FollowUpOut(BaseModel):
    id: int
    registration_id: int
    resident_id: int
    date: date
    method: str
    sbp: int | None
    dbp: int | None
    fasting_glucose: str | None  # decimal as text (mmol/L, one decimal)
    in_control: bool
    facility_id: int | None
    clinician_name: str | None
    note: str | None

    @classmethod
    def of(cls, f: FollowUp) -> FollowUpOut:
        return cls(id=f.id, registration_id=f.registration_id, resident_id=f.resident_id, date=f.date,
                   method=f.method, sbp=f.sbp, dbp=f.dbp,
                   fasting_glucose=None if f.fasting_glucose is None else str(f.fasting_glucose),
                   in_control=f.in_control, facility_id=f.facility_id, clinician_name=f.clinician_name,
                   note=f.note)


class RegistrationOut(BaseModel):
    id: int
    resident_id: int
    resident_name: str | None = None
    village_code: str | None = None
    program: str
    registered_on: date
    source: str
    encounter_id: int | None
    facility_id: int | None
    status: str
    closed_on: date | None

    @classmethod
    def of(cls, r: ChronicRegistration, *, resident_name: str | None = None,
           village_code: str | None = None) -> RegistrationOut:
        return cls(id=r.id, resident_id=r.resident_id, resident_name=resident_name, village_code=village_code,
                   program=r.program, registered_on=r.registered_on, source=r.source, encounter_id=r.encounter_id,
                   facility_id=r.facility_id, status=r.status, closed_on=r.closed_on)


class RegistrationDetail(RegistrationOut):
    last_follow_up: date | None
    next_due: date | None
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
    birth_date: date | None  # None, and the phone masked, without resident:read_identity
    phone: str | None
    village_code: str
    program: str
    registered_on: date
    last_follow_up: date | None
    next_due: date
    overdue_from: date
    status: str
    days_overdue: int


class DueListOut(BaseModel):
    as_of: date
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
