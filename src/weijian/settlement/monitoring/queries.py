"""Poverty-risk monitoring (防止因病返贫监测): residents of the monitored groups (data/monitoring.yaml) whose
out-of-pocket medical costs in the last 12 months exceed a threshold, listed for the bureau with their
settlements.

Out-of-pocket costs of a resident in the window (the 12 months up to and including the `as_of` day):
- inpatient and day-surgery stays: `patient_pays` of their live settlements (status `settled`), by the
  stay's date (discharge); a pay-later share counts whether paid yet or not — it is owed;
- outpatient visits: the whole bill (`total_cost`), by visit date. Outpatient pooling (¥400 a year at
  most under the sample policy) is not settled in weijian, so the figure may overstate by that much;
  for a list that prompts a visit, erring towards flagging is the safe side.
Stays discharged but not yet settled are left out (their split is not known yet).

The threshold: the setting's amount (WEIJIAN_POVERTY_RISK_THRESHOLD), or, where the household's annual
income is recorded, the setting's share of it (WEIJIAN_POVERTY_RISK_INCOME_SHARE) when that is lower — a
poor household is at risk well below the county-wide amount. Each listed person says which one applied.
Costs are per person, as the monitoring rule is written (the household's income is the yardstick).

Only active residents are listed; scope is the actor's org unit, applied in the queries; each resident
shown is written to the audit log (the list reads their costs and settlements).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.care.models import Encounter
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import ErrorCollector, Forbidden, InvalidInput
from weijian.core.identifiers import division_range
from weijian.orgunits import service as orgunits_service
from weijian.residents import access
from weijian.residents import service as residents_service
from weijian.residents.models import Household, Resident, ResidentGroup
from weijian.settlement.models import Settlement
from weijian.settlement.monitoring.rules import monitored_groups

FEN = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_PAGE_SIZE = 200
SLACK = Decimal("0.01")  # see at_risk


# --- results ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SettledStay:
    settlement_id: int
    encounter_id: int
    stay_date: date
    facility_name: str | None  # None: out of county
    total: Decimal
    fund_pays: Decimal  # every payer but the patient (Settlement.fund_pays)
    patient_pays: Decimal
    pay_later: bool


@dataclass
class AtRisk:
    resident_id: int
    name: str
    id_number: str | None  # full: the page masks it
    village_code: str
    village_name: str
    groups: list[str]  # the resident's monitored groups
    household_income: Decimal | None
    stays_cost: Decimal  # patient_pays of settled stays
    outpatient_cost: Decimal
    total: Decimal
    threshold: Decimal  # the one that applied
    basis: str  # amount | income_share
    settlements: list[SettledStay] = field(default_factory=list)


@dataclass
class RiskList:
    as_of: date
    window_start: date  # first day of the 12 months
    threshold: Decimal
    income_share: Decimal
    groups: tuple[str, ...]
    monitored: int  # residents of the monitored groups in scope
    items: list[AtRisk]
    total: int  # flagged residents
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def window(as_of: date) -> tuple[date, date]:
    """(first, last) day of the 12 months up to and including `as_of`."""
    try:
        start = as_of.replace(year=as_of.year - 1)
    except ValueError:  # 29 February
        start = as_of.replace(year=as_of.year - 1, day=28)
    return start + timedelta(days=1), as_of


def effective_threshold(amount: Decimal, share: Decimal, income: Decimal | None) -> tuple[Decimal, str]:
    """(threshold, basis): the amount, or the share of a recorded household income when lower."""
    if income is not None:
        by_income = (income * share).quantize(FEN, rounding=ROUND_HALF_UP)
        if by_income < amount:
            return by_income, "income_share"
    return amount, "amount"


def _check(threshold: Decimal, income_share: Decimal, page: int, page_size: int, errs: ErrorCollector) -> None:
    if not isinstance(threshold, Decimal) or not threshold.is_finite() or threshold <= 0:
        errs.add("threshold", "settlement.monitoring.errors.threshold_positive")
    if not isinstance(income_share, Decimal) or not income_share.is_finite() or not 0 < income_share <= 1:
        errs.add("income_share", "settlement.monitoring.errors.share_range")
    if page < 1:
        errs.add("page", "core.errors.validation.greater_than_equal", ge=1)
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        errs.add("page_size", "settlement.monitoring.errors.page_size", max=MAX_PAGE_SIZE)


def at_risk(*, session: Session, actor: Actor, threshold: Decimal, income_share: Decimal,
            as_of: date | None = None, orgunit: str | None = None, page: int = 1, page_size: int = 50) -> RiskList:
    """Residents of the monitored groups in scope (or in `orgunit`, a township or village within it) whose
    out-of-pocket costs in the 12 months to `as_of` exceed their threshold, highest first."""
    actor.require("poverty_risk:read")
    errs = ErrorCollector()
    _check(threshold, income_share, page, page_size, errs)
    orgunit = (orgunit or "").strip() or None
    if orgunit is not None:
        try:
            access.orgunit_target(session=session, actor=actor, orgunit=orgunit)
        except InvalidInput as exc:
            errs.extend(exc)
        except Forbidden:  # named beside the area picker, with the other refusals of the list
            errs.add("orgunit", "settlement.monitoring.errors.orgunit_out_of_scope")
    errs.raise_if_any()
    as_of = as_of or clock.today()
    first, last = window(as_of)
    groups = monitored_groups()

    conds = [Resident.status == "active", access.visible(actor, Resident.village_code)]
    if orgunit is not None:
        lo, hi = division_range(orgunit)
        conds += [Resident.village_code >= lo, Resident.village_code <= hi]
    # One statement: the monitored residents in scope (tens of thousands in a county of 400,000) with their
    # household's income, their settled stays' shares and their outpatient bills of the window, and only
    # those near or above their threshold come back. Outpatient visits are many (a million a year): summed
    # only for the monitored, by the (resident, date) index. The database compares roughly (SQLite keeps
    # amounts as floating point): a fen of slack there, and the exact Decimal comparison here.
    in_groups = select(ResidentGroup.resident_id).where(ResidentGroup.group.in_(groups))
    m = (select(Resident.id.label("rid"), Household.annual_income.label("income"))
         .outerjoin(Household, Household.id == Resident.household_id)
         .where(Resident.id.in_(in_groups), *conds)).subquery("m")
    st = (select(Settlement.resident_id.label("rid"), func.sum(Settlement.patient_pays).label("cost"))
          .where(Settlement.status == "settled", Settlement.stay_date >= first, Settlement.stay_date <= last,
                 Settlement.resident_id.in_(in_groups))
          .group_by(Settlement.resident_id)).subquery("st")
    op = (select(Encounter.resident_id.label("rid"), func.sum(Encounter.total_cost).label("cost"))
          .where(Encounter.type == "outpatient", Encounter.start_date >= first, Encounter.start_date <= last,
                 Encounter.voided_at.is_(None),  # a visit voided as recorded in error cost the patient nothing
                 Encounter.resident_id.in_(in_groups))
          .group_by(Encounter.resident_id)).subquery("op")
    stays_cost, outpatient_cost = func.coalesce(st.c.cost, 0), func.coalesce(op.c.cost, 0)
    by_income = m.c.income * income_share
    limit_expr = case((and_(m.c.income.is_not(None), by_income < threshold), by_income), else_=threshold)
    near = session.execute(
        select(m.c.rid, m.c.income, st.c.cost, op.c.cost)
        .outerjoin(st, st.c.rid == m.c.rid).outerjoin(op, op.c.rid == m.c.rid)
        .where(stays_cost + outpatient_cost > limit_expr - SLACK)).all()
    monitored_count = session.scalar(select(func.count()).select_from(m)) or 0
    incomes = {rid: income for rid, income, _s, _o in near}

    flagged: list[tuple[Decimal, int, Decimal, Decimal, Decimal, str]] = []
    for rid, income, s_sum, o_sum in near:
        s_cost, o_cost = _money(s_sum), _money(o_sum)
        total = s_cost + o_cost
        limit, basis = effective_threshold(threshold, income_share, _income(income))
        if total > limit:
            flagged.append((total, rid, s_cost, o_cost, limit, basis))
    flagged.sort(key=lambda t: (-t[0], t[1]))
    shown = flagged[(page - 1) * page_size: page * page_size]
    items = _details(session, shown, incomes, set(groups), first, last)
    for item in items:
        accounts_service.audit(
            session=session, actor=actor, action="read", entity_type="poverty_risk", entity_id=item.resident_id,
            resident_id=item.resident_id, basis=access.basis_for(actor, item.village_code) or "county",
            detail={"as_of": as_of.isoformat(), "total": str(item.total), "settlements": len(item.settlements)})
    return RiskList(as_of=as_of, window_start=first, threshold=threshold, income_share=income_share, groups=groups,
                    monitored=monitored_count, items=items, total=len(flagged), page=page, page_size=page_size)


def _money(value: object) -> Decimal:
    return ZERO if value is None else Decimal(str(value)).quantize(FEN, rounding=ROUND_HALF_UP)


def _income(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(FEN, rounding=ROUND_HALF_UP)


def _details(session: Session, shown: list[tuple[Decimal, int, Decimal, Decimal, Decimal, str]],
             incomes: dict[int, object], groups: set[str], first: date, last: date) -> list[AtRisk]:
    """The shown residents with their names, villages, groups and the settlements of the window."""
    ids = [rid for _, rid, *_ in shown]
    if not ids:
        return []
    people = {r.id: r for r in session.execute(
        select(Resident.id, Resident.name, Resident.id_number, Resident.village_code).where(Resident.id.in_(ids)))}
    their_groups: dict[int, list[str]] = {}
    for rid, code in session.execute(select(ResidentGroup.resident_id, ResidentGroup.group)
                                     .where(ResidentGroup.resident_id.in_(ids), ResidentGroup.group.in_(groups))
                                     .order_by(ResidentGroup.resident_id, ResidentGroup.group)):
        their_groups.setdefault(rid, []).append(code)
    rows = list(session.scalars(
        select(Settlement).where(Settlement.resident_id.in_(ids), Settlement.status == "settled",
                                 Settlement.stay_date >= first, Settlement.stay_date <= last)
        .order_by(Settlement.resident_id, Settlement.stay_date.desc(), Settlement.id.desc())))
    facility_names = {}
    for fid in {s.facility_id for s in rows if s.facility_id is not None}:
        facility = orgunits_service.get_facility(session=session, facility_id=fid)
        facility_names[fid] = facility.name if facility else str(fid)
    settled: dict[int, list[SettledStay]] = {}
    for s in rows:
        settled.setdefault(s.resident_id, []).append(SettledStay(
            settlement_id=s.id, encounter_id=s.encounter_id, stay_date=s.stay_date,
            facility_name=facility_names.get(s.facility_id) if s.facility_id is not None else None,
            total=s.total, fund_pays=s.fund_pays,
            patient_pays=s.patient_pays, pay_later=s.pay_later))
    villages = residents_service.village_names(session=session, codes={p.village_code for p in people.values()})
    out = []
    for total, rid, s_cost, o_cost, limit, basis in shown:
        p = people[rid]
        out.append(AtRisk(resident_id=rid, name=p.name, id_number=p.id_number, village_code=p.village_code,
                          village_name=villages.get(p.village_code, p.village_code),
                          groups=their_groups.get(rid, []), household_income=_income(incomes.get(rid)),
                          stays_cost=s_cost, outpatient_cost=o_cost, total=total, threshold=limit, basis=basis,
                          settlements=settled.get(rid, [])))
    return out
