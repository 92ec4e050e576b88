"""Demo settlement: the demo county's stays of the care window (demo/care.py: the 24 months up to the
reference date) settled under the sample policy, through the settlement service's batch (`settle_pending`,
calendar year by calendar year), each dated on its discharge so the spending falls in the months the
stays ended; stays of eligible residents at designated facilities admitted without a deposit
(先诊疗后付费), so their shares become balances — most paid, some in part, the rest owed (overdue once
past their due date; the latest are not due yet); recorded household incomes for the poorer groups
(poverty-risk monitoring compares costs with them); and the medical community's bundled budget of each
year the window has from its January on — a complete year's a little above what was spent, the reference
date's year's a little above its pace so far (spending to date ÷ months gone × 12). The window's first
year, entered part way through, has its settlements but no budget.

Deterministic: one `random.Random` seeded from the build's seed, households and balances read in id order.
Every stay of the window is discharged by the reference date, so none is left pending. Waivers and incomes
are written in bulk like the rest of the demo (the service's grant_waiver is for an open stay at admission;
the demo's stays are already discharged); settlement, payments and the budgets go through the settlement
services, audited as the system's "demo" actor.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from weijian.care.models import Encounter
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.demo import care as care_mod
from weijian.demo import county as county_mod
from weijian.orgunits.models import Facility
from weijian.residents.models import Household, Resident, ResidentGroup
from weijian.settlement.budget import queries as budget_queries
from weijian.settlement.budget import service as budget_service
from weijian.settlement.budget.schemas import BudgetIn
from weijian.settlement.models import Balance, DepositWaiver
from weijian.settlement.paylater import rules as paylater_rules
from weijian.settlement.paylater import service as paylater
from weijian.settlement.paylater.schemas import PaymentIn
from weijian.settlement.settle import queries as settle_queries
from weijian.settlement.settle import service as settle_service
from weijian.settlement.settle.schemas import PendingIn

DEMO_ACTOR = "demo"
# Yearly household income (yuan) drawn for households of each group, where recorded (most are): the
# poorer groups' incomes as county surveys put them, roughly.
INCOME_RANGES = {"extreme_poverty": (3000, 8000), "min_living": (6000, 18000), "poverty_relapse": (8000, 20000),
                 "monitored": (10000, 26000), "lifted_from_poverty": (15000, 45000)}
INCOME_RECORDED = 0.7  # share of those households whose income is on record
PAID, PART_PAID = 0.75, 0.1  # shares of balances paid in full and in part; the rest are unpaid (overdue)
BUDGET_HEADROOM = Decimal("1.03")  # a year's budget: 3 % above the fund's spending (a small surplus)


@dataclass(frozen=True)
class SettlementSummary:
    first: date  # the care window's first and last day
    last: date
    settled: int
    pending: int  # discharged stays of the window left unsettled (refused by the settlement)
    waivers: int
    balances_paid: int
    balances_part_paid: int
    balances_unpaid: int
    incomes: int  # households with a recorded income
    year: int  # the reference date's year, of the two figures below
    budget: Decimal
    spent: Decimal  # by the reference date


def build(*, session: Session, seed: int, reference: date) -> SettlementSummary:
    """Settle the demo's care window (demo/care.py must have run); flushes, never commits."""
    rng = random.Random(f"weijian-demo-settlement-{seed}")
    first, last = care_mod.window(reference)
    actor = Actor.system(DEMO_ACTOR)
    county = county_mod.load().county.code
    incomes = _record_incomes(session, rng)
    waivers = grant_waivers(session, first, last)
    years = range(first.year, last.year + 1)
    settled = sum(settle_service.settle_pending(session=session, actor=actor, pending_in=PendingIn(year=y),
                                                on_discharge_date=True) for y in years)
    paid, part, unpaid = _pay_balances(session, rng, actor)
    amount = spent = Decimal(0)
    for year in years:
        if date(year, 1, 1) < first:
            continue
        spent = _spent(session, county, year)
        months = budget_queries.elapsed_months(year, last)  # 12 for a complete year
        amount = (spent / months * 12 * BUDGET_HEADROOM / 10000).quantize(Decimal(1), rounding=ROUND_HALF_UP) * 10000
        amount = max(amount, Decimal(10000))
        budget_service.set_budget(session=session, actor=actor, county_code=county,
                                  budget_in=BudgetIn(year=year, amount=amount))
    pending = sum(session.scalar(select(func.count()).select_from(
        settle_queries.pending_statement(actor=actor, year=y).subquery())) or 0 for y in years)
    return SettlementSummary(first=first, last=last, settled=settled, pending=pending, waivers=waivers,
                             balances_paid=paid, balances_part_paid=part, balances_unpaid=unpaid, incomes=incomes,
                             year=last.year, budget=amount, spent=spent)


def _spent(session: Session, county: str, year: int) -> Decimal:
    """The year's spending against the budget, as the budget report counts it (stays and outpatient pooling)."""
    booked = budget_queries.monthly_spending(session=session, county_code=county, year=year)
    return sum((b.amount for b in booked), Decimal("0.00"))


def _record_incomes(session: Session, rng: random.Random) -> int:
    """Annual incomes for most households of the poorer groups (the poorest group of the household decides
    the range)."""
    order = list(INCOME_RANGES)
    rows = session.execute(select(Resident.household_id, ResidentGroup.group)
                           .join(ResidentGroup, ResidentGroup.resident_id == Resident.id)
                           .where(ResidentGroup.group.in_(order), Resident.household_id.is_not(None))
                           .order_by(Resident.household_id, ResidentGroup.group)).all()
    poorest: dict[int, str] = {}
    for hid, group in rows:
        if hid not in poorest or order.index(group) < order.index(poorest[hid]):
            poorest[hid] = group
    values = []
    for hid in sorted(poorest):
        if rng.random() < INCOME_RECORDED:
            lo, hi = INCOME_RANGES[poorest[hid]]
            values.append({"hid": hid, "income": Decimal(rng.randint(lo // 100, hi // 100) * 100)})
    if values:
        session.connection().execute(update(Household.__table__).where(Household.__table__.c.id == bindparam("hid"))
                                     .values(annual_income=bindparam("income")), values)
    return len(values)


def grant_waivers(session: Session, first: date, last: date) -> int:
    """先诊疗后付费: every stay discharged from `first` to `last` at a designated facility by an eligible
    resident was admitted without a deposit (the rules of settlement/data/paylater.yaml)."""
    rules = paylater_rules.paylater_rules()
    facilities = dict(session.execute(select(Facility.id, Facility.type)
                                      .where(Facility.type.in_(sorted(rules.facility_types)))).tuples().all())
    groups: dict[int, list[str]] = {}
    for rid, group in session.execute(select(ResidentGroup.resident_id, ResidentGroup.group)
                                      .where(ResidentGroup.group.in_(rules.groups))
                                      .order_by(ResidentGroup.resident_id, ResidentGroup.group)):
        groups.setdefault(rid, []).append(group)
    stays = session.execute(select(Encounter.id, Encounter.resident_id, Encounter.facility_id)
                            .where(Encounter.type.in_(settle_queries.STAY_TYPES), Encounter.end_date >= first,
                                   Encounter.end_date <= last, Encounter.facility_id.is_not(None))
                            .order_by(Encounter.id)).all()
    now = clock.now()
    rows = [{"encounter_id": eid, "resident_id": rid, "facility_id": fid,
             "basis_group": paylater_rules.eligible_group(groups[rid]), "granted_at": now, "granted_by": DEMO_ACTOR}
            for eid, rid, fid in stays if fid in facilities and rid in groups]
    if rows:
        session.connection().execute(insert(DepositWaiver.__table__), rows)
    return len(rows)


def _pay_balances(session: Session, rng: random.Random, actor: Actor) -> tuple[int, int, int]:
    """Most patients paid their share at the window or soon after; some paid part; the rest owe it all."""
    paid = part = unpaid = 0
    for bid, amount in session.execute(select(Balance.id, Balance.amount).where(Balance.status == "outstanding")
                                       .order_by(Balance.id)).all():
        r = rng.random()
        if r < PAID:
            paylater.record_payment(session=session, actor=actor, balance_id=bid, payment_in=PaymentIn(amount=amount))
            paid += 1
        elif r < PAID + PART_PAID and amount >= Decimal("2.00"):
            share = Decimal(rng.randint(20, 80)) / 100
            paid_now = (amount * share).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
            paylater.record_payment(session=session, actor=actor, balance_id=bid, payment_in=PaymentIn(amount=paid_now))
            part += 1
        else:
            unpaid += 1
    return paid, part, unpaid
