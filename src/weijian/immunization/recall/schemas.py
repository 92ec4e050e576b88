"""API shapes of recall lists and immunization figures."""
from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from weijian.core.disclosure import Disclosure
from weijian.core.i18n import Translator
from weijian.immunization.recall.queries import RecallChild, RecallDose, RecallList


class RecallDoseOut(BaseModel):
    vaccine: str
    dose: int
    status: str  # due | overdue
    recommended_date: date
    earliest_date: date  # 应种日期: the dose may be given from this day
    overdue_date: date  # overdue from this day
    latest_date: date  # 最迟日期: the day before overdue_date
    flags: list[str]
    refusal_reason: str | None  # refused | contraindication | temporary_deferral
    refusal_date: date | None

    @classmethod
    def of(cls, d: RecallDose) -> RecallDoseOut:
        return cls(vaccine=d.vaccine, dose=d.dose, status=d.status, recommended_date=d.recommended_date,
                   earliest_date=d.earliest_date, overdue_date=d.overdue_date, latest_date=d.latest_date,
                   flags=list(d.flags), refusal_reason=d.refusal_reason, refusal_date=d.refusal_date)


class HistoryError(BaseModel):
    field: str
    reason: str
    message: str


class RecallChildOut(BaseModel):
    resident_id: int
    name: str
    sex: str
    birth_year: int
    birth_date: date | None  # None without resident:read_identity (core.disclosure)
    village_code: str
    village_name: str
    guardian_name: str | None
    guardian_phone: str | None
    guardian_relation: str | None  # mother | head | household
    doses: list[RecallDoseOut]
    history_errors: list[HistoryError]

    @classmethod
    def of(cls, c: RecallChild, tr: Translator, *, disclosure: Disclosure) -> RecallChildOut:
        return cls(resident_id=c.resident_id, name=c.name, sex=c.sex, birth_year=c.birth_date.year,
                   birth_date=disclosure.birth_date(c.birth_date),
                   village_code=c.village_code, village_name=c.village_name, guardian_name=c.guardian_name,
                   guardian_phone=disclosure.phone(c.guardian_phone), guardian_relation=c.guardian_relation,
                   doses=[RecallDoseOut.of(d) for d in c.doses],
                   history_errors=[HistoryError(field=e.field, reason=e.reason_key,
                                                message=tr(e.reason_key, **e.params)) for e in c.history_errors])


class RecallListOut(BaseModel):
    week_start: date
    week_end: date
    as_of: date
    area_code: str | None
    area_name: str
    point_id: int | None
    point_name: str | None
    children_checked: int
    doses: int
    due: int
    overdue: int
    refusals: int
    children: list[RecallChildOut]

    @classmethod
    def of(cls, r: RecallList, tr: Translator, *, disclosure: Disclosure) -> RecallListOut:
        return cls(week_start=r.week_start, week_end=r.week_end, as_of=r.as_of, area_code=r.area_code,
                   area_name=r.area_name, point_id=r.point_id, point_name=r.point_name,
                   children_checked=r.children_checked, doses=r.dose_count, due=r.count("due"),
                   overdue=r.count("overdue"), refusals=r.refusal_count,
                   children=[RecallChildOut.of(c, tr, disclosure=disclosure) for c in r.children])


class RateOut(BaseModel):
    measure: str  # coverage | timeliness
    vaccine: str
    dose: int
    orgunit: str
    orgunit_name: str
    level: str
    period: str
    numerator: int
    denominator: int
    value: float | None  # numerator ÷ denominator to 4 decimals; None when the denominator is 0
    target: float
    meets_target: bool | None


class DosesOut(BaseModel):
    vaccine: str
    point_id: int | None
    point_name: str | None
    orgunit: str  # township of the children's residence
    orgunit_name: str
    level: str
    period: str  # month YYYYMM
    numerator: int
    denominator: None
    value: int
