"""The demo county's settlements (built on the data file's reference date 2026-06-30: the care window runs
from 2024-07-01): every stay of the window settled under the sample policy on its discharge day, parts adding
up and accumulations chained in each person's year; waivers only for eligible residents at designated
facilities, each becoming a balance (paid, part paid, overdue); incomes for the poorer groups' households;
the complete year's budget a little above the fund's spending, the reference date's year's a little above
its pace. Built once for the module (rolled back at the end); the same seed is built again inside a
savepoint to check determinism."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import savepoint_sessions
from weijian.care.models import Encounter
from weijian.core.actor import Actor
from weijian.demo import builder
from weijian.demo import care as demo_care
from weijian.demo import settlement as demo_settlement
from weijian.orgunits.models import Facility
from weijian.residents.models import Household, Resident, ResidentGroup
from weijian.settlement.budget import queries as budget
from weijian.settlement.models import (
    Balance,
    BundledBudget,
    DepositWaiver,
    Settlement,
    SettlementYear,
)
from weijian.settlement.monitoring import queries as monitoring
from weijian.settlement.paylater import rules as paylater_rules

N = 2000
SEED = 5
REFERENCE = builder.reference_date()
FIRST, LAST = demo_care.window(REFERENCE)
YEAR = 2025  # the complete calendar year of the window


def _snapshot(session: Session) -> list[tuple]:
    return list(session.execute(
        select(Settlement.encounter_id, Settlement.seq, Settlement.policy_id, Settlement.benefit_group,
               Settlement.basic_pays, Settlement.critical_illness_pays, Settlement.assistance_pays,
               Settlement.patient_pays, Settlement.pay_later).order_by(Settlement.id)))


def _balances(session: Session) -> list[tuple]:
    # By the stay: settlement ids come from the database's sequence (PostgreSQL does not roll it back).
    return list(session.execute(select(Settlement.encounter_id, Balance.amount, Balance.paid_amount, Balance.status)
                                .join(Settlement, Settlement.id == Balance.settlement_id).order_by(Balance.id)))


@pytest.fixture(scope="module")
def built(engine):
    """(session, summary, [(settlements, balances)] of the same seed built twice)."""
    conn = engine.connect()
    trans = conn.begin()
    session = savepoint_sessions(conn)()
    snapshots = []
    try:
        nested = session.begin_nested()
        builder.build(session=session, residents=N, seed=SEED, immunization=False)
        snapshots.append((_snapshot(session), _balances(session)))
        nested.rollback()
        summary = builder.build(session=session, residents=N, seed=SEED, immunization=False)
        snapshots.append((_snapshot(session), _balances(session)))
        yield session, summary.settlement, snapshots
    finally:
        session.close()
        trans.rollback()
        conn.close()


@pytest.fixture()
def db(built) -> Session:
    return built[0]


def test_every_stay_of_the_window_is_settled_on_its_discharge_day(db, built):
    summary = built[1]
    stays = dict(db.execute(select(Encounter.id, Encounter.end_date).where(
        Encounter.type.in_(("inpatient", "day_surgery")))).all())
    assert min(stays.values()) >= FIRST and max(stays.values()) <= LAST
    live = list(db.scalars(select(Settlement).where(Settlement.status == "settled")))
    assert (summary.first, summary.last) == (FIRST, LAST)
    assert summary.settled == len(live) == len(stays) > 400
    assert {s.encounter_id for s in live} == set(stays)
    assert all(s.settled_on == s.stay_date == stays[s.encounter_id] for s in live)
    assert {s.year for s in live} == {2024, 2025, 2026} and summary.pending == 0
    policies = {s.policy_id for s in live}
    assert {"huanggang-resident-2022", "huanggang-employee-2022"} <= policies
    assert policies <= {"huanggang-resident-2022", "huanggang-employee-2022", "self-pay"}


def test_employee_stays_settle_under_the_employee_policy_never_as_self_pay(db):
    """Issue 15 item 6: an insured employee is billed by the employee scheme (basic pooling, then 大额
    医疗费用补助, never 大病保险); only the uninsured pay the whole bill."""
    live = list(db.scalars(select(Settlement).where(Settlement.status == "settled")))
    employees = [s for s in live if s.scheme == "employee"]
    assert len(employees) > 5
    assert all(s.policy_id == "huanggang-employee-2022" for s in employees)
    assert all(s.critical_illness_pays == 0 and s.basic_pays > 0 for s in employees if s.in_policy > 700)
    assert {s.scheme for s in live if s.policy_id == "self-pay"} <= {"none"}


def test_parts_add_up_and_each_persons_year_is_chained(db):
    by_person: dict[tuple[int, int], list[Settlement]] = defaultdict(list)
    for s in db.scalars(select(Settlement).where(Settlement.status == "settled").order_by(Settlement.seq)):
        assert s.fund_pays + s.patient_pays == s.total
        assert s.patient_pays >= s.out_of_policy >= 0
        by_person[s.resident_id, s.year].append(s)
    years = {(y.resident_id, y.year): y for y in db.scalars(select(SettlementYear))}
    for rid, rows in by_person.items():
        assert [s.seq for s in rows] == list(range(1, len(rows) + 1))
        for earlier, later in pairwise(rows):
            assert (earlier.after_basic_paid, earlier.after_in_policy_share) == (later.before_basic_paid,
                                                                                 later.before_in_policy_share)
        last = rows[-1]
        assert (years[rid].basic_paid, years[rid].in_policy_share, years[rid].stays) == (
            last.after_basic_paid, last.after_in_policy_share, len(rows))


def test_waivers_go_to_eligible_residents_at_designated_facilities_and_become_balances(db, built):
    summary, rules = built[1], paylater_rules.paylater_rules()
    types = dict(db.execute(select(Facility.id, Facility.type)).all())
    waivers = list(db.scalars(select(DepositWaiver)))
    assert len(waivers) == summary.waivers > 0
    for w in waivers:
        groups = set(db.scalars(select(ResidentGroup.group).where(ResidentGroup.resident_id == w.resident_id)))
        assert w.basis_group in groups and w.basis_group in rules.groups and types[w.facility_id] in rules.facility_types
    settled = {s.encounter_id: s for s in db.scalars(select(Settlement).where(Settlement.status == "settled"))}
    balances = {b.settlement_id: b for b in db.scalars(select(Balance))}
    for w in waivers:
        s = settled[w.encounter_id]
        assert s.pay_later and balances[s.id].amount == s.patient_pays
    assert sum(s.pay_later for s in settled.values()) == len(waivers) == len(balances)
    by_status = defaultdict(list)
    for b in balances.values():
        by_status[b.status].append(b)
    today = paylater_today()
    part = [b for b in by_status["outstanding"] if b.paid_amount > 0]
    overdue = [b for b in by_status["outstanding"] if b.due_date < today]
    assert len(by_status["paid"]) >= summary.balances_paid > 0 and len(part) == summary.balances_part_paid > 0
    assert summary.balances_unpaid > 0 and overdue


def paylater_today() -> date:
    from weijian.core import clock

    return clock.today()


def test_incomes_are_recorded_for_households_of_the_poorer_groups_only(db, built):
    with_income = set(db.scalars(select(Household.id).where(Household.annual_income.is_not(None))))
    assert len(with_income) == built[1].incomes > 0
    poorer = set(db.scalars(select(Resident.household_id).join(ResidentGroup, ResidentGroup.resident_id == Resident.id)
                            .where(ResidentGroup.group.in_(tuple(demo_settlement.INCOME_RANGES)))))
    assert with_income <= poorer
    low, high = min(r[0] for r in demo_settlement.INCOME_RANGES.values()), max(
        r[1] for r in demo_settlement.INCOME_RANGES.values())
    for income in db.scalars(select(Household.annual_income).where(Household.annual_income.is_not(None))):
        assert low <= income <= high


def test_each_years_budget_is_a_little_above_the_funds_spending_or_its_pace(db, built):
    summary = built[1]
    rows = {b.year: b for b in db.scalars(select(BundledBudget))}
    # 2024 was entered in July: its settlements, no budget.
    assert set(rows) == {2025, 2026} and {b.orgunit_code for b in rows.values()} == {"421124000000"}
    system = Actor.system("test")
    report = budget.report(session=db, actor=system, county_code="421124", year=YEAR, as_of=REFERENCE)
    assert report.outcome == "surplus" and Decimal("0.95") < report.used_share < 1
    assert any(c.key == budget.OUT_OF_COUNTY for c in report.columns)
    # The reference date's year: half gone on 30 June, its budget 3 % above the pace so far.
    current = budget.report(session=db, actor=system, county_code="421124", year=2026, as_of=REFERENCE)
    assert (summary.year, summary.budget, summary.spent) == (2026, rows[2026].amount, current.spent)
    assert current.elapsed_months == 6 and current.outcome == "surplus"
    assert Decimal("0.95") < current.projected / current.budget < 1
    assert sum(m.stays for m in current.months) + report.stays < summary.settled


def test_the_poverty_risk_list_has_the_demo_figures_of_the_12_months_to_the_reference_date(db):
    system = Actor.system("test")
    result = monitoring.at_risk(session=db, actor=system, threshold=Decimal("10000"), income_share=Decimal("0.5"),
                                as_of=LAST)
    assert result.window_start == LAST - timedelta(days=364)
    assert result.monitored > 100
    assert all(a.total > a.threshold for a in result.items)


def test_the_same_seed_gives_the_same_settlements_and_balances(built):
    first, second = built[2]
    assert first == second and first[0]
