"""Commands and answers of vaccination records: a dose given (`VaccinationCreate`), a dose copied from the
paper certificate (`HistoricalDose`), a refusal (`RefusalCreate`), an AEFI report (`AefiReport`), and the
child's record as the API answers it. The commands check each value's shape (core.commands); the service
checks the child's history, the lot, the point and the stock."""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from weijian.core import clock
from weijian.core.bounds import MAX_DATE, MIN_DATE, BoundedDate, Id64, date_in_range
from weijian.core.commands import Command, refuse
from weijian.core.disclosure import Disclosure
from weijian.core.i18n import translate
from weijian.immunization.models import Aefi, Refusal, Vaccination
from weijian.immunization.records.queries import AefiRow, ChildSchedule
from weijian.immunization.schedule import engine
from weijian.immunization.schedule.rules import VACCINE_CODES

_E = "immunization.records.errors."
SITES = ("left_deltoid", "right_deltoid", "left_thigh", "right_thigh", "oral")
ROUTES = ("im", "sc", "id", "oral")
REFUSAL_REASONS = ("refused", "contraindication", "temporary_deferral")
SEVERITIES = ("mild", "moderate", "severe")
SYMPTOMS_MAX = 2000
NOTE_MAX = 500
REASON_MAX = 200
MAX_DOSE = 10


def vaccine_name(code: str, locale: str) -> str:
    return translate(f"immunization.vaccines.{code}", locale)


def _moment(value: Any) -> Any:
    """A moment as a form or JSON gives it: `2025-06-01T09:30`, `2025-06-01 09:30`, with or without an offset
    (without one it is county time); a bare date is that day at noon (the time unknown)."""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time(12))
    elif isinstance(value, str):
        text = value.strip()
        try:
            moment = (dt.datetime.combine(dt.date.fromisoformat(text), dt.time(12)) if len(text) == 10
                      else dt.datetime.fromisoformat(text.replace("Z", "+00:00")))
        except ValueError:
            raise refuse(_E + "datetime_format") from None
    else:
        raise refuse(_E + "datetime_format")
    if not date_in_range(moment.date()):
        raise refuse("core.errors.validation.date_out_of_range", min=MIN_DATE.isoformat(), max=MAX_DATE.isoformat())
    return moment if moment.tzinfo else moment.replace(tzinfo=clock.zone())


# A moment (timezone-aware; county time when typed without an offset).
Moment = Annotated[dt.datetime, BeforeValidator(_moment)]


def _day(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            raise refuse("core.errors.validation.date_parsing") from None
    return value


# A day typed as ISO text (2025-06-01), within core.bounds' dates.
Day = Annotated[BoundedDate, BeforeValidator(_day)]


def _vaccine(value: str) -> str:
    if value not in VACCINE_CODES:
        raise refuse(_E + "vaccine_unknown", vaccine=value, allowed=", ".join(VACCINE_CODES))
    return value


def _dose(value: int) -> int:
    if not 1 <= value <= MAX_DOSE:
        raise refuse(_E + "dose_range", max=MAX_DOSE)
    return value


def _code(allowed: tuple[str, ...], reason: str) -> AfterValidator:
    """A code of a fixed list, or refused with the domain's reason naming the codes allowed."""
    def check(value: str) -> str:
        if value not in allowed:
            raise refuse(_E + reason, allowed=", ".join(allowed))
        return value

    return AfterValidator(check)


VaccineCode = Annotated[str, AfterValidator(_vaccine)]  # HepB, BCG, … (the schedule's codes)
DoseNumber = Annotated[int, AfterValidator(_dose)]
Site = Annotated[str, _code(SITES, "site_unknown")]
Route = Annotated[str, _code(ROUTES, "route_unknown")]
RefusalReason = Annotated[str, _code(REFUSAL_REASONS, "refusal_reason_unknown")]
Severity = Annotated[str, _code(SEVERITIES, "severity_unknown")]


class _Dose(Command):
    """A dose of a schedule vaccine: its code (HepB, BCG, …) and its number in the series."""

    vaccine: VaccineCode
    dose: DoseNumber


# --- commands -------------------------------------------------------------------------------------
class VaccinationCreate(_Dose):
    """A dose given at a vaccination point (see records.service.record_vaccination)."""

    resident_id: Id64
    given_at: Moment | None = None  # required by the service (the API fills in now, the form comes with it)
    lot_id: Id64 | None = None  # default: the point's first-expiring lot of the vaccine
    point_id: Id64 | None = None  # default: the caller's facility's vaccination point
    site: Site | None = None  # left_deltoid | right_deltoid | left_thigh | right_thigh | oral
    route: Route | None = None  # im | sc | id | oral (default: the vaccine's route)
    allow_early: bool = False  # confirm a dose before its earliest date ...
    early_reason: str | None = Field(None, max_length=REASON_MAX)  # ... and say why
    tb_test_negative: bool = False  # BCG from 3 months: the TB test was negative


class HistoricalDose(_Dose):
    """A dose copied from the child's paper vaccination certificate (接种证)."""

    resident_id: Id64
    date: Day
    product: str | None = Field(None, max_length=100)
    manufacturer: str | None = Field(None, max_length=100)
    lot_number: str | None = Field(None, max_length=50)
    vaccinator_name: str | None = Field(None, max_length=64)


class RefusalCreate(_Dose):
    """A guardian declined a dose, or the vaccinator deferred it."""

    resident_id: Id64
    date: Day
    reason: RefusalReason  # refused | contraindication | temporary_deferral
    note: str | None = Field(None, max_length=NOTE_MAX)


class AefiReport(Command):
    """A suspected adverse event following a dose."""

    vaccination_id: Id64
    onset_date: Day
    symptoms: str = Field(max_length=SYMPTOMS_MAX)
    severity: Severity  # mild | moderate | severe


# --- answers --------------------------------------------------------------------------------------
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
    vaccine: VaccineCode
    dose: DoseNumber
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
    def of_row(cls, row: AefiRow) -> AefiOut:
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
    def of(cls, s: ChildSchedule, locale: str, *, disclosure: Disclosure) -> ChildRecordOut:
        return cls(resident_id=s.child.id, birth_year=s.child.birth_date.year,
                   birth_date=disclosure.birth_date(s.child.birth_date), as_of=s.as_of, edition=s.edition_id,
                   edition_name=s.edition_name, schedule=[ScheduleRowOut.of(r, locale) for r in s.rows],
                   vaccinations=[VaccinationOut.of(v, locale) for v in s.vaccinations],
                   refusals=[RefusalOut.of(r) for r in s.refusals],
                   aefi=[AefiOut.of(a) for items in s.aefi.values() for a in items])
