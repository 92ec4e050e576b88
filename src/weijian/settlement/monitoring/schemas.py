"""Shapes of poverty-risk monitoring: the page's question (a day, an area), and the answer: the flagged
residents (identity numbers masked) with their settled stays. Money is text with two decimals."""
from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from weijian.core.bounds import BoundedDate
from weijian.core.commands import Command
from weijian.core.identifiers import mask_id_number
from weijian.settlement.monitoring.queries import AtRisk, RiskList, SettledStay
from weijian.settlement.schemas import money


class RiskQuery(Command):
    """The list asked for on the page: the 12 months to `as_of` (default today), of `orgunit` (default the
    actor's scope)."""

    as_of: BoundedDate | None = None
    orgunit: str | None = Field(None, max_length=12)


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
    basis: str  # amount | income_share
    settlements: list[SettledStayOut]

    @classmethod
    def of(cls, a: AtRisk) -> AtRiskOut:
        return cls(resident_id=a.resident_id, name=a.name, id_number=mask_id_number(a.id_number),
                   village_code=a.village_code, village_name=a.village_name, groups=a.groups,
                   household_income=money(a.household_income), stays_cost=money(a.stays_cost),
                   outpatient_cost=money(a.outpatient_cost), total=money(a.total), threshold=money(a.threshold),
                   basis=a.basis, settlements=[SettledStayOut.of(s) for s in a.settlements])


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
    items: list[AtRiskOut]

    @classmethod
    def of(cls, r: RiskList) -> RiskListOut:
        return cls(as_of=r.as_of, window_start=r.window_start, threshold=money(r.threshold),
                   income_share=str(r.income_share), groups=list(r.groups), monitored=r.monitored, total=r.total,
                   page=r.page, page_size=r.page_size, items=[AtRiskOut.of(a) for a in r.items])
