"""API shapes of the health record: encounters, discharge, health checks, screenings, the timeline, the
ICD-10 search and the graded-care figures. Inputs are loose on purpose: the service checks every value and
names the bad field in the user's language."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from weijian.care import icd10
from weijian.care.models import Encounter, HealthCheck, Screening
from weijian.core.bounds import Id64

Loose = str | int | float | None  # numbers and dates as typed; the service parses them


# --- input --------------------------------------------------------------------------------------
class EncounterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resident_id: Id64
    type: str | None = None  # outpatient | inpatient | day_surgery
    facility_id: Id64 | None = None  # default: the caller's facility
    outside_facility_name: str | None = None  # a facility outside the county (county-level callers)
    department: str | None = None
    clinician_name: str | None = None  # default: the caller's name
    start_date: str | None = None  # visit or admission date
    end_date: str | None = None  # a whole stay recorded at once; day surgery: the discharge date
    diagnoses: list[str] | None = None  # ICD-10, first = primary
    note: str | None = None
    total_cost: Loose = None
    in_policy_cost: Loose = None


class DischargeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    end_date: str | None = None
    total_cost: Loose = None  # the final bill, when known at discharge
    in_policy_cost: Loose = None
    note: str | None = None


class HealthCheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resident_id: Id64
    facility_id: Id64 | None = None
    date: str | None = None
    kind: str | None = None  # general | annual_65
    height_cm: Loose = None
    weight_kg: Loose = None
    sbp: Loose = None
    dbp: Loose = None
    fasting_glucose: Loose = None
    note: str | None = None


class ScreeningIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resident_id: Id64
    facility_id: Id64 | None = None
    date: str | None = None
    kind: str | None = None  # cervical | breast | prenatal
    result: str | None = None
    note: str | None = None


# --- output -------------------------------------------------------------------------------------
class DiagnosisOut(BaseModel):
    seq: int
    code: str
    name: str


class EncounterOut(BaseModel):
    id: int
    resident_id: int
    type: str
    facility_id: int | None
    outside_facility_name: str | None
    department: str | None
    clinician_name: str | None
    start_date: date
    end_date: date | None
    ward_days: int | None
    primary_diagnosis: str | None
    diagnoses: list[DiagnosisOut]
    note: str | None
    total_cost: Decimal
    in_policy_cost: Decimal
    created_at: datetime

    @classmethod
    def of(cls, e: Encounter, locale: str | None = None) -> EncounterOut:
        diagnoses = []
        for d in e.diagnoses:
            entry = icd10.get(d.code)
            diagnoses.append(DiagnosisOut(seq=d.seq, code=d.code, name=entry.name(locale) if entry else d.code))
        return cls(id=e.id, resident_id=e.resident_id, type=e.type, facility_id=e.facility_id,
                   outside_facility_name=e.outside_facility_name, department=e.department,
                   clinician_name=e.clinician_name, start_date=e.start_date, end_date=e.end_date,
                   ward_days=e.ward_days, primary_diagnosis=e.primary_diagnosis, diagnoses=diagnoses, note=e.note,
                   total_cost=e.total_cost, in_policy_cost=e.in_policy_cost, created_at=e.created_at)


class HealthCheckOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    resident_id: int
    facility_id: int | None
    date: date
    kind: str
    height_cm: Decimal | None
    weight_kg: Decimal | None
    bmi: Decimal | None
    sbp: int | None
    dbp: int | None
    fasting_glucose: Decimal | None
    note: str | None
    created_at: datetime

    @classmethod
    def of(cls, c: HealthCheck) -> HealthCheckOut:
        return cls.model_validate(c)


class ScreeningOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    resident_id: int
    facility_id: int | None
    date: date
    kind: str
    result: str
    note: str | None
    created_at: datetime

    @classmethod
    def of(cls, s: Screening) -> ScreeningOut:
        return cls.model_validate(s)


class TimelineItemOut(BaseModel):
    date: date
    kind: str
    summary: str
    link: str | None
    facility_id: int | None
    facility_name: str | None
    entity_id: int | None
    data: dict[str, Any]


class TimelineOut(BaseModel):
    resident_id: int
    items: list[TimelineItemOut]
    page: int
    page_size: int
    has_next: bool
    basis: str


class Icd10Out(BaseModel):
    code: str
    name: str
    name_zh: str
    name_en: str
    chapter: str
    chronic: str | None

    @classmethod
    def of(cls, e: icd10.Icd10Code, locale: str | None = None) -> Icd10Out:
        return cls(code=e.code, name=e.name(locale), name_zh=e.name_zh, name_en=e.name_en, chapter=e.chapter,
                   chronic=e.chronic)


class FigureChildOut(BaseModel):
    figure: str
    orgunit: str
    period: str
    numerator: int
    denominator: int
    value: float | None


class FigureOut(FigureChildOut):
    children: list[FigureChildOut]
