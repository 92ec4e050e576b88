"""Poverty-risk monitoring (防止因病返贫致贫监测): residents whose out-of-pocket medical costs in the last 12
months exceed their line, listed for the bureau with their settlements — those of the monitored groups
(data/monitoring.yaml) by their own line, and everyone else (category `ordinary`: how new 因病致贫 cases are
found) by the data file's share of last year's rural per-capita disposable income.

Out-of-pocket costs of a resident in the window (the 12 months up to and including the `as_of` day):
- inpatient and day-surgery stays: `patient_pays` of their live settlements (status `settled`), by the
  stay's date (discharge); a pay-later share counts whether paid yet or not — it is owed;
- outpatient visits: the bill (`total_cost`) less the outpatient-pooling fund's part, by visit date. weijian
  settles no outpatient visit, so the fund's part is worked out as the bundled budget counts it
  (settlement.budget.rules.pooling_parts: the scheme's terms, visit by visit, the cap per calendar year —
  so the visits since 1 January of the window's first year are read); a visit the pooling does not cover
  (another facility type, an employee-scheme patient) counts whole.
Stays discharged but not yet settled are left out (their split is not known yet).

The line of a monitored resident: the setting's amount (WEIJIAN_POVERTY_RISK_THRESHOLD), or, where the
household's annual income is recorded, the setting's share of it (WEIJIAN_POVERTY_RISK_INCOME_SHARE) when
that is lower — a poor household is at risk well below the county-wide amount.
Each listed person says which one applied.
Costs are per person, as the monitoring rule is written (the household's income is the yardstick). The
line of an ordinary resident: data/monitoring.yaml's `ordinary` share of the rural income of the year before
the window ends (basis `rural_income`); without such a figure only the monitored groups are listed.

Only active residents are listed; scope is the actor's org unit, applied in the queries; each resident
shown is written to the audit log (the list reads their costs and settlements).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
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
from weijian.settlement.budget import queries as budget_queries
from weijian.settlement.budget.rules import budget_rules, pooling_parts
from weijian.settlement.models import PovertyRiskReview, Settlement
from weijian.settlement.monitoring.rules import Rules, monitoring_rules

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
    outpatient_cost: Decimal  # the outpatient bills' out-of-pocket part (bills − pooling)
    total: Decimal
    threshold: Decimal  # the one that applied
    basis: str  # amount | income_share | rural_income
    settlements: list[SettledStay] = field(default_factory=list)
    category: str = "monitored"  # monitored (in a monitored group) | ordinary
    outpatient_bills: Decimal = Decimal("0.00")  # the outpatient bills in full
    outpatient_fund: Decimal = Decimal("0.00")  # of which the pooling paid
    status: str = "to_check"  # the bureau's review (PovertyRiskReview); none yet: to_check
    status_note: str | None = None
    status_by: str | None = None
    status_at: datetime | None = None


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
    ordinary_threshold: Decimal | None = None  # the line of residents of no monitored group; None: not listed
    income_year: int | None = None  # the year of the rural income it is a share of
    ordinary_share: Decimal | None = None

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


CATEGORIES = ("monitored", "ordinary")
STATUSES = ("to_check", "helped", "closed")  # 待核查, 已帮扶, 已关闭


def at_risk(*, session: Session, actor: Actor, threshold: Decimal, income_share: Decimal,
            as_of: date | None = None, orgunit: str | None = None, page: int = 1, page_size: int = 50,
            category: str | None = None, status: str | None = None, audit_action: str = "read") -> RiskList:
    """Residents in scope (or in `orgunit`, a township or village within it) whose out-of-pocket costs in
    the 12 months to `as_of` exceed their line, highest first; `category` keeps the monitored groups'
    residents or the ordinary ones only, `status` those of one review status (none yet: to_check). Each
    person shown is audited with `audit_action` (read; export for the workbook)."""
    actor.require("poverty_risk:read")
    errs = ErrorCollector()
    _check(threshold, income_share, page, page_size, errs)
    if category is not None and category not in CATEGORIES:
        errs.add("category", "settlement.monitoring.errors.category")
    if status is not None and status not in STATUSES:
        errs.add("status", "settlement.monitoring.errors.status")
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
    flagged, incomes, monitored_count, rules = _flagged(session, actor, threshold, income_share, first, last,
                                                        orgunit, category)
    ordinary = rules.ordinary.threshold(as_of)
    reviews = reviews_of(session, [flag.rid for flag in flagged])
    if status is not None:
        flagged = [flag for flag in flagged if (reviews[flag.rid].status if flag.rid in reviews else "to_check")
                   == status]
    shown = flagged[(page - 1) * page_size: page * page_size]
    items = _details(session, shown, incomes, set(rules.groups), first, last)
    for item in items:
        review = reviews.get(item.resident_id)
        if review is not None:
            item.status, item.status_note = review.status, review.note
            item.status_by, item.status_at = review.updated_by, review.updated_at
        accounts_service.audit(
            session=session, actor=actor, action=audit_action, entity_type="poverty_risk", entity_id=item.resident_id,
            resident_id=item.resident_id, basis=access.basis_for(actor, item.village_code) or "county",
            detail={"as_of": as_of.isoformat(), "total": str(item.total), "settlements": len(item.settlements)})
    return RiskList(as_of=as_of, window_start=first, threshold=threshold, income_share=income_share,
                    groups=rules.groups, monitored=monitored_count, items=items, total=len(flagged), page=page,
                    page_size=page_size, ordinary_threshold=ordinary[0] if ordinary else None,
                    income_year=ordinary[1] if ordinary else None, ordinary_share=rules.ordinary.income_share)


@dataclass(frozen=True)
class _Flag:
    total: Decimal
    rid: int
    stays: Decimal
    outpatient: Decimal  # out of pocket
    bills: Decimal
    fund: Decimal
    limit: Decimal
    basis: str
    category: str


def _flagged(session: Session, actor: Actor, threshold: Decimal, income_share: Decimal, first: date, last: date,
             orgunit: str | None, category: str | None) -> tuple[list[_Flag], dict[int, object], int, Rules]:
    """Everyone in scope above their line, highest first; with the incomes read, the count of monitored
    residents in scope, and the rules used."""
    rules = monitoring_rules()
    groups = rules.groups
    ordinary = rules.ordinary.threshold(last)
    conds = [Resident.status == "active", access.visible(actor, Resident.village_code)]
    if orgunit is not None:
        lo, hi = division_range(orgunit)
        conds += [Resident.village_code >= lo, Resident.village_code <= hi]
    # One statement: the residents in scope (hundreds of thousands in a county) with their household's
    # income, whether they are of a monitored group, their settled stays' shares and their outpatient bills
    # of the window; only those whose costs before the pooling's part (an upper bound) are near or above
    # their line come back. The database compares roughly (SQLite keeps amounts as floating point): a fen
    # of slack there, and the exact Decimal comparison here, after the pooling's part.
    in_groups = select(ResidentGroup.resident_id).where(ResidentGroup.group.in_(groups))
    is_monitored = case((Resident.id.in_(in_groups), 1), else_=0)
    m_conds = list(conds)
    if ordinary is None or category == "monitored":
        m_conds.append(Resident.id.in_(in_groups))
    elif category == "ordinary":
        m_conds.append(Resident.id.not_in(in_groups))
    m = (select(Resident.id.label("rid"), Household.annual_income.label("income"), is_monitored.label("monitored"))
         .outerjoin(Household, Household.id == Resident.household_id).where(*m_conds)).subquery("m")
    st = (select(Settlement.resident_id.label("rid"), func.sum(Settlement.patient_pays).label("cost"))
          .where(Settlement.status == "settled", Settlement.stay_date >= first, Settlement.stay_date <= last)
          .group_by(Settlement.resident_id)).subquery("st")
    op = (select(Encounter.resident_id.label("rid"), func.sum(Encounter.total_cost).label("cost"))
          .where(Encounter.type == "outpatient", Encounter.start_date >= first, Encounter.start_date <= last,
                 Encounter.voided_at.is_(None))  # a visit voided as recorded in error cost the patient nothing
          .group_by(Encounter.resident_id)).subquery("op")
    stays_cost, outpatient_cost = func.coalesce(st.c.cost, 0), func.coalesce(op.c.cost, 0)
    by_income = m.c.income * income_share
    own_limit = case((and_(m.c.income.is_not(None), by_income < threshold), by_income), else_=threshold)
    limit_expr = own_limit if ordinary is None else case((m.c.monitored == 1, own_limit), else_=ordinary[0])
    near = session.execute(
        select(m.c.rid, m.c.income, m.c.monitored, st.c.cost, op.c.cost)
        .outerjoin(st, st.c.rid == m.c.rid).outerjoin(op, op.c.rid == m.c.rid)
        .where(stays_cost + outpatient_cost > limit_expr - SLACK)).all()
    monitored_in_scope = (select(func.count()).select_from(Resident)
                          .where(*conds, Resident.id.in_(in_groups)))
    monitored_count = (session.scalar(monitored_in_scope) or 0) if category != "ordinary" else 0
    incomes = {rid: income for rid, income, *_ in near}
    funds = _pooling_paid(session, [rid for rid, _i, _m, _s, o in near if o], first, last)

    flagged: list[_Flag] = []
    for rid, income, monitored, s_sum, o_sum in near:
        s_cost, bills = _money(s_sum), _money(o_sum)
        fund = funds.get(rid, ZERO)
        total = s_cost + bills - fund
        if monitored:
            limit, basis = effective_threshold(threshold, income_share, _income(income))
        else:
            assert ordinary is not None  # only monitored residents are read without an ordinary line
            limit, basis = ordinary[0], "rural_income"
        if total > limit:
            flagged.append(_Flag(total, rid, s_cost, bills - fund, bills, fund, limit, basis,
                                 "monitored" if monitored else "ordinary"))
    flagged.sort(key=lambda t: (-t.total, t.rid))
    return flagged, incomes, monitored_count, rules


def reviews_of(session: Session, ids: list[int]) -> dict[int, PovertyRiskReview]:
    """The review rows of these residents, by resident id."""
    out: dict[int, PovertyRiskReview] = {}
    for i in range(0, len(ids), 1000):
        for row in session.scalars(select(PovertyRiskReview).where(PovertyRiskReview.resident_id.in_(ids[i:i + 1000]))):
            out[row.resident_id] = row
    return out


def _pooling_paid(session: Session, ids: list[int], first: date, last: date) -> dict[int, Decimal]:
    """The outpatient pooling's part of each person's visits of the window (budget.rules.pooling_parts, from
    1 January of the window's first year so the year's cap is right)."""
    terms = budget_rules().pooling
    out: dict[int, Decimal] = {}
    for i in range(0, len(ids), 1000):  # bounded IN lists
        chunk = ids[i:i + 1000]
        visits = budget_queries.outpatient_visits(session, first=date(first.year, 1, 1), last=last, terms=terms,
                                                  where=[Encounter.resident_id.in_(chunk)])
        parts = pooling_parts(((rid, day, cost) for rid, day, _fid, cost in visits), terms)
        for (rid, day, _fid, _cost), part in zip(visits, parts, strict=True):
            if day >= first:
                out[rid] = out.get(rid, ZERO) + part
    return out


def _money(value: object) -> Decimal:
    return ZERO if value is None else Decimal(str(value)).quantize(FEN, rounding=ROUND_HALF_UP)


def _income(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(FEN, rounding=ROUND_HALF_UP)


def _details(session: Session, shown: list[_Flag], incomes: dict[int, object], groups: set[str], first: date,
             last: date) -> list[AtRisk]:
    """The shown residents with their names, villages, groups and the settlements of the window."""
    ids = [flag.rid for flag in shown]
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
    for flag in shown:
        rid = flag.rid
        p = people[rid]
        out.append(AtRisk(resident_id=rid, name=p.name, id_number=p.id_number, village_code=p.village_code,
                          village_name=villages.get(p.village_code, p.village_code),
                          groups=their_groups.get(rid, []), household_income=_income(incomes.get(rid)),
                          stays_cost=flag.stays, outpatient_cost=flag.outpatient, total=flag.total,
                          threshold=flag.limit, basis=flag.basis, settlements=settled.get(rid, []),
                          category=flag.category, outpatient_bills=flag.bills, outpatient_fund=flag.fund))
    return out
