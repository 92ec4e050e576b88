"""Shapes of poverty-risk monitoring: the page's question (a day, an area), and the answer: the flagged
residents (identity numbers masked) with their settled stays. Money is text with two decimals."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, field_validator

from weijian.core.bounds import BoundedDate
from weijian.core.commands import Command, refuse
from weijian.core.identifiers import mask_id_number
from weijian.settlement.monitoring.queries import STATUSES, AtRisk, RiskList, SettledStay
from weijian.settlement.schemas import money

NOTE_MAX = 500
_E = "settlement.monitoring.errors."


def _one_of(choices: tuple[str, ...], key: str) -> Any:
    def check(value: str | None) -> str | None:
        if value is not None and value not in choices:
            raise refuse(_E + key)
        return value
    return check


class RiskQuery(Command):
    """The list asked for on the page: the 12 months to `as_of` (default today), of `orgunit` (default the
    actor's scope), of one category (monitored groups / ordinary residents) and status, or all."""

    as_of: BoundedDate | None = None
    orgunit: str | None = Field(None, max_length=12)
    category: str | None = None
    status: str | None = None

    _category = field_validator("category")(_one_of(("monitored", "ordinary"), "category"))
    _status = field_validator("status")(_one_of(STATUSES, "status"))


def _note_length(value: str | None) -> str | None:
    if value is not None and len(value) > NOTE_MAX:
        raise refuse(_E + "note_too_long", max=NOTE_MAX)
    return value


class ReviewBody(Command):
    """The API's body of PUT /poverty-risk/{resident_id}/review (the resident is the path's): to_check
    (待核查), helped (已帮扶), closed (已关闭); helped and closed need a note (the help given, or why the case is
    closed: the service checks it)."""

    status: str
    note: Annotated[str | None, AfterValidator(_note_length)] = None

    _status = field_validator("status")(_one_of(STATUSES, "status"))


class ReviewIn(ReviewBody):
    """Set a flagged person's status."""

    resident_id: int = Field(ge=1)


class ReviewOut(BaseModel):
    resident_id: int
    status: str
    note: str | None
    updated_at: datetime
    updated_by: str | None

    @classmethod
    def of(cls, r: Any) -> ReviewOut:
        return cls(resident_id=r.resident_id, status=r.status, note=r.note, updated_at=r.updated_at,
                   updated_by=r.updated_by)


class SettledStayOut(BaseModel):
    settlement_id: int
    encounter_id: int
    stay_date: date
    facility_name: str | None  # None: outside the county
    total: str
    fund_pays: str
    patient_pays: str
    pay_later: bool

    @classmethod
    def of(cls, s: SettledStay) -> SettledStayOut:
        return cls(settlement_id=s.settlement_id, encounter_id=s.encounter_id, stay_date=s.stay_date,
                   facility_name=s.facility_name, total=money(s.total), fund_pays=money(s.fund_pays),
                   patient_pays=money(s.patient_pays), pay_later=s.pay_later)


class AtRiskOut(BaseModel):
    resident_id: int
    name: str
    id_number: str  # masked
    village_code: str
    village_name: str
    groups: list[str]
    household_income: str | None
    stays_cost: str
    outpatient_cost: str
    total: str
    threshold: str
    basis: str  # amount | income_share | rural_income
    category: str  # monitored | ordinary
    outpatient_bills: str  # the outpatient bills in full; outpatient_cost is their out-of-pocket part
    outpatient_fund: str  # of which the outpatient pooling paid
    status: str  # to_check | helped | closed (no review yet: to_check)
    status_note: str | None
    status_by: str | None
    status_at: datetime | None
    settlements: list[SettledStayOut]

    @classmethod
    def of(cls, a: AtRisk) -> AtRiskOut:
        return cls(resident_id=a.resident_id, name=a.name, id_number=mask_id_number(a.id_number),
                   village_code=a.village_code, village_name=a.village_name, groups=a.groups,
                   household_income=money(a.household_income), stays_cost=money(a.stays_cost),
                   outpatient_cost=money(a.outpatient_cost), total=money(a.total), threshold=money(a.threshold),
                   basis=a.basis, category=a.category, outpatient_bills=money(a.outpatient_bills),
                   outpatient_fund=money(a.outpatient_fund), status=a.status, status_note=a.status_note,
                   status_by=a.status_by, status_at=a.status_at,
                   settlements=[SettledStayOut.of(s) for s in a.settlements])


class RiskListOut(BaseModel):
    as_of: date
    window_start: date
    threshold: str
    income_share: str
    groups: list[str]
    monitored: int
    total: int
    page: int
    page_size: int
    ordinary_threshold: str | None  # the line of residents of no monitored group
    ordinary_share: str | None
    income_year: int | None  # the year of the rural per-capita disposable income it is a share of
    items: list[AtRiskOut]

    @classmethod
    def of(cls, r: RiskList) -> RiskListOut:
        return cls(as_of=r.as_of, window_start=r.window_start, threshold=money(r.threshold),
                   income_share=str(r.income_share), groups=list(r.groups), monitored=r.monitored, total=r.total,
                   page=r.page, page_size=r.page_size, ordinary_threshold=money(r.ordinary_threshold),
                   ordinary_share=None if r.ordinary_share is None else str(r.ordinary_share),
                   income_year=r.income_year, items=[AtRiskOut.of(a) for a in r.items])
