"""API shapes of vaccination records and AEFI reports (vaccine stock's are in stock.schemas). Inputs are loose
on purpose (numbers and dates as typed): the services check every value and name the bad field in the user's
language."""
from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict

from weijian.core.bounds import Id64
from weijian.core.disclosure import Disclosure
from weijian.core.i18n import translate
from weijian.immunization import engine, records
from weijian.immunization.models import Aefi, Refusal, Vaccination

Loose = str | int | None


def vaccine_name(code: str, locale: str) -> str:
    return translate(f"immunization.vaccines.{code}", locale)


# --- input --------------------------------------------------------------------------------------
class VaccinationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resident_id: Id64
    vaccine: str | None = None  # schedule code: HepB, BCG, ...
    dose: Loose = None
    given_at: str | None = None  # ISO; county time without an offset; default: now
    lot_id: Loose = None  # default: the point's first-expiring lot of the vaccine
    point_id: Loose = None  # default: the caller's facility's vaccination point
    site: str | None = None  # left_deltoid | right_deltoid | left_thigh | right_thigh | oral
    route: str | None = None  # im | sc | id | oral (default: the vaccine's route)
    allow_early: bool = False  # confirm a dose before its earliest date ...
    early_reason: str | None = None  # ... and say why
    tb_test_negative: bool = False  # BCG from 3 months: the TB test was negative


class HistoricalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resident_id: Id64
    vaccine: str | None = None
    dose: Loose = None
    date: str | None = None
    product: str | None = None
    manufacturer: str | None = None
    lot_number: str | None = None
    vaccinator_name: str | None = None


class RefusalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resident_id: Id64
    vaccine: str | None = None
    dose: Loose = None
    date: str | None = None
    reason: str | None = None  # refused | contraindication | temporary_deferral
    note: str | None = None


class AefiIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    vaccination_id: Id64
    onset_date: str | None = None
    symptoms: str | None = None
    severity: str | None = None  # mild | moderate | severe


# --- output -------------------------------------------------------------------------------------
class VaccinationOut(BaseModel):
    id: int
    resident_id: int
    vaccine: str
    vaccine_name: str
    dose: int
    date: dt.date
    given_at: dt.datetime | None
    source: str
    lot_id: int | None
    point_id: int | None
    product: str | None
    manufacturer: str | None
    lot_number: str | None
    expiry_date: dt.date | None
    site: str | None
    route: str | None
    vaccinator_name: str | None
    recorded_by: str | None

    @classmethod
    def of(cls, v: Vaccination, locale: str) -> VaccinationOut:
        return cls(id=v.id, resident_id=v.resident_id, vaccine=v.vaccine, vaccine_name=vaccine_name(v.vaccine, locale),
                   dose=v.dose, date=v.date, given_at=v.given_at, source=v.source, lot_id=v.lot_id,
                   point_id=v.point_id, product=v.product, manufacturer=v.manufacturer, lot_number=v.lot_number,
                   expiry_date=v.expiry_date, site=v.site, route=v.route, vaccinator_name=v.vaccinator_name,
                   recorded_by=v.recorded_by)


class ScheduleRowOut(BaseModel):
    vaccine: str
    vaccine_name: str
    dose: int
    status: str
    status_label: str
    recommended_date: dt.date
    earliest_date: dt.date | None
    overdue_date: dt.date
    given_date: dt.date | None
    flags: list[str]

    @classmethod
    def of(cls, r: engine.DoseStatus, locale: str) -> ScheduleRowOut:
        return cls(vaccine=r.vaccine, vaccine_name=vaccine_name(r.vaccine, locale), dose=r.dose, status=r.status,
                   status_label=translate(f"immunization.status.{r.status}", locale),
                   recommended_date=r.recommended_date, earliest_date=r.earliest_date, overdue_date=r.overdue_date,
                   given_date=r.given_date, flags=list(r.flags))


class RefusalOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    resident_id: int
    vaccine: str
    dose: int
    date: dt.date
    reason: str
    note: str | None
    recorded_by: str | None

    @classmethod
    def of(cls, r: Refusal) -> RefusalOut:
        return cls.model_validate(r)


class AefiOut(BaseModel):
    id: int
    vaccination_id: int
    resident_id: int
    resident_name: str | None = None
    village_code: str | None = None
    vaccine: str | None = None
    dose: int | None = None
    vaccination_date: dt.date | None = None
    lot_number: str | None = None
    manufacturer: str | None = None
    point_name: str | None = None
    onset_date: dt.date
    symptoms: str
    severity: str
    status: str
    reported_at: dt.datetime
    reported_by: str | None

    @classmethod
    def of(cls, a: Aefi, v: Vaccination | None = None, **extra: Any) -> AefiOut:
        more: dict[str, Any] = {}
        if v is not None:
            more = dict(vaccine=v.vaccine, dose=v.dose, vaccination_date=v.date, lot_number=v.lot_number,
                        manufacturer=v.manufacturer)
        return cls(id=a.id, vaccination_id=a.vaccination_id, resident_id=a.resident_id, onset_date=a.onset_date,
                   symptoms=a.symptoms, severity=a.severity, status=a.status, reported_at=a.reported_at,
                   reported_by=a.reported_by, **more, **extra)

    @classmethod
    def of_row(cls, row: records.AefiRow) -> AefiOut:
        return cls.of(row.aefi, row.vaccination, resident_name=row.resident_name, village_code=row.village_code,
                      point_name=row.point_name)


class ChildRecordOut(BaseModel):
    resident_id: int
    birth_year: int
    birth_date: dt.date | None  # None without resident:read_identity (core.disclosure)
    as_of: dt.date
    edition: str
    edition_name: str
    schedule: list[ScheduleRowOut]
    vaccinations: list[VaccinationOut]
    refusals: list[RefusalOut]
    aefi: list[AefiOut]

    @classmethod
    def of(cls, s: records.ChildSchedule, locale: str, *, disclosure: Disclosure) -> ChildRecordOut:
        return cls(resident_id=s.child.id, birth_year=s.child.birth_date.year,
                   birth_date=disclosure.birth_date(s.child.birth_date), as_of=s.as_of, edition=s.edition_id,
                   edition_name=s.edition_name, schedule=[ScheduleRowOut.of(r, locale) for r in s.rows],
                   vaccinations=[VaccinationOut.of(v, locale) for v in s.vaccinations],
                   refusals=[RefusalOut.of(r) for r in s.refusals],
                   aefi=[AefiOut.of(a) for items in s.aefi.values() for a in items])
