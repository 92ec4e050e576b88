"""The bundled budget: setting a year's budget (validated, audited, county-level only), and spending against
it by month and facility from live settlements' basic-insurance payments, worked out by hand below, with
the projected year-end surplus or overspend."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests import factories as f
from tests.care import records_setup as rs
from weijian.accounts.models import AuditEvent
from weijian.core.actor import Actor
from weijian.core.commands import build
from weijian.core.errors import Forbidden, InvalidInput
from weijian.settlement.budget import queries as budget
from weijian.settlement.budget import service as budget_service
from weijian.settlement.budget.schemas import BudgetIn
from weijian.settlement.models import BundledBudget

COUNTY = "421124"
D = Decimal


@pytest.fixture()
def world(session):
    return rs.build(session)


@pytest.fixture()
def spending(session, world):
    """Settlements of 2025 (and around it) whose basic-insurance payments are, by hand:
    March: county hospital 4,000 + TCM hospital 1,000; May: centre A 800; June: outside the county 3,000.
    Not counted: a reversed and a superseded settlement, the critical-illness and assistance parts,
    a stay settled in 2024, and a December 2025 stay settled in January 2026 (that year's spending)."""
    fac, p = world.facilities, world.people
    f.make_settlement(session, p["man"], fac["county"], stay_date=date(2025, 3, 5), total="6000.00", basic_pays="4000.00",
                      critical_illness_pays="500.00", assistance_pays="300.00")
    f.make_settlement(session, p["woman"], fac["tcm"], stay_date=date(2025, 3, 20), total="1500.00", basic_pays="1000.00")
    f.make_settlement(session, p["other_town"], fac["centre_a"], stay_date=date(2025, 5, 2), total="1000.00",
                      basic_pays="800.00")
    f.make_settlement(session, p["elder"], None, stay_date=date(2025, 6, 30), total="5000.00", basic_pays="3000.00")
    f.make_settlement(session, p["man"], fac["county"], stay_date=date(2025, 4, 1), basic_pays="7777.00", status="reversed")
    f.make_settlement(session, p["man"], fac["county"], stay_date=date(2025, 4, 2), basic_pays="6666.00",
                      status="superseded")
    f.make_settlement(session, p["man"], fac["county"], stay_date=date(2024, 12, 30), basic_pays="999.00")
    f.make_settlement(session, p["woman"], fac["county"], stay_date=date(2025, 12, 30), basic_pays="555.00",
                      settled_on=date(2026, 1, 4))
    return world


def test_setting_a_budget_stores_it_and_a_change_is_logged_with_the_amount_before(session, world):
    bureau = world.actors["bureau"]
    first = budget_service.set_budget(session=session, actor=bureau, county_code=COUNTY, budget_in=build(
        BudgetIn, {"year": "2025", "amount": "120,000,000", "note": "县医共体 2025 年度总额"}))
    assert (first.orgunit_code, first.year, first.amount, first.note) == (f.COUNTY, 2025, D("120000000.00"),
                                                                           "县医共体 2025 年度总额")
    again = budget_service.set_budget(session=session, actor=bureau, county_code=COUNTY,
                              budget_in=build(BudgetIn, {"year": 2025, "amount": "118500000.5"}))
    assert again.id == first.id and again.amount == D("118500000.50") and again.note is None
    assert session.scalar(select(func.count()).select_from(BundledBudget)) == 1
    events = list(session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "bundled_budget")
                                  .order_by(AuditEvent.id)))
    assert [e.action for e in events] == ["create", "update"]
    assert '"before": "120000000.00"' in events[1].detail and '"amount": "118500000.50"' in events[1].detail


@pytest.mark.parametrize(("year", "amount", "field", "key"), [
    ("", "1000", "year", "core.errors.validation.missing"),
    ("20x5", "1000", "year", "settlement.budget.errors.year_range"),
    ("1999", "1000", "year", "settlement.budget.errors.year_range"),
    ("2025", "", "amount", "core.errors.validation.missing"),
    ("2025", "abc", "amount", "settlement.budget.errors.amount_invalid"),
    ("2025", "NaN", "amount", "settlement.budget.errors.amount_invalid"),
    ("2025", "-5", "amount", "settlement.budget.errors.amount_positive"),
    ("2025", "0", "amount", "settlement.budget.errors.amount_positive"),
    ("2025", "10.005", "amount", "settlement.budget.errors.amount_fen"),
    ("2025", "99999999999", "amount", "settlement.budget.errors.amount_too_large"),
])
def test_a_bad_year_or_amount_is_refused_naming_the_field_and_nothing_is_stored(session, world, year, amount,
                                                                                 field, key):
    with pytest.raises(InvalidInput) as caught:
        budget_service.set_budget(session=session, actor=world.actors["bureau"], county_code=COUNTY,
                              budget_in=build(BudgetIn, {"year": year, "amount": amount}))
    assert [(e.field, e.reason_key) for e in caught.value.errors] == [(field, key)]
    assert session.scalar(select(func.count()).select_from(BundledBudget)) == 0
    assert session.scalar(select(func.count()).select_from(AuditEvent)
                          .where(AuditEvent.entity_type == "bundled_budget")) == 0


def test_every_bad_value_is_named_at_once(session, world):
    with pytest.raises(InvalidInput) as caught:
        budget_service.set_budget(session=session, actor=world.actors["bureau"], county_code=COUNTY,
                              budget_in=build(BudgetIn, {"year": "x", "amount": "-1", "note": "长" * 201}))
    assert {e.field for e in caught.value.errors} == {"year", "amount", "note"}


def test_only_county_level_users_with_the_permission_set_a_budget(session, world):
    with pytest.raises(Forbidden):  # a county doctor: no budget:manage
        budget_service.set_budget(session=session, actor=world.actors["county"], county_code=COUNTY,
                              budget_in=build(BudgetIn, {"year": 2025, "amount": "1"}))
    township = Actor(user_id=None, username="t", role="x", scope_code=f.TOWN_A,
                     permissions=frozenset({"budget:manage", "stats:read"}))
    with pytest.raises(Forbidden):
        budget_service.set_budget(session=session, actor=township, county_code=COUNTY,
                              budget_in=build(BudgetIn, {"year": 2025, "amount": "1"}))
    with pytest.raises(Forbidden):
        budget.report(session=session, actor=township, county_code=COUNTY, year=2025)
    with pytest.raises(Forbidden):  # a village doctor reads no budget figures
        budget.report(session=session, actor=world.actors["village"], county_code=COUNTY, year=2025)
    assert session.scalar(select(func.count()).select_from(BundledBudget)) == 0


def test_spending_by_month_and_facility_counts_basic_payments_of_live_settlements(session, spending):
    bureau, fac = spending.actors["bureau"], spending.facilities
    budget_service.set_budget(session=session, actor=bureau, county_code=COUNTY,
                              budget_in=build(BudgetIn, {"year": 2025, "amount": "20000"}))
    r = budget.report(session=session, actor=bureau, county_code=COUNTY, year=2025, as_of=date(2025, 6, 30))
    by_month = {m.month: m for m in r.months}
    assert by_month[3].by_column == {str(fac["county"].id): D("4000.00"), str(fac["tcm"].id): D("1000.00")}
    assert by_month[5].by_column == {str(fac["centre_a"].id): D("800.00")}
    assert by_month[6].by_column == {budget.OUT_OF_COUNTY: D("3000.00")}
    assert by_month[4].total == 0 and by_month[12].total == 0 and by_month[1].total == 0
    assert [m.cumulative for m in r.months][:6] == [0, 0, D("5000.00"), D("5000.00"), D("5800.00"), D("8800.00")]
    assert (r.spent, r.stays) == (D("8800.00"), 4)
    # Columns: county hospitals first, then township centres, out of county last.
    assert [(c.key, c.total) for c in r.columns] == [
        (str(fac["county"].id), D("4000.00")), (str(fac["tcm"].id), D("1000.00")),
        (str(fac["centre_a"].id), D("800.00")), (budget.OUT_OF_COUNTY, D("3000.00"))]
    assert r.columns[0].name == "英山县人民医院" and r.columns[-1].name is None
    # Six months gone on 30 June: 8,800 ÷ 6 × 12 = 17,600 projected; 20,000 − 17,600 = 2,400 surplus.
    assert (r.elapsed_months, r.projected, r.balance, r.outcome) == (D("6.00"), D("17600.00"), D("2400.00"), "surplus")
    assert r.used_share == D("0.4400")


def test_a_settlement_of_the_next_january_counts_in_that_year(session, spending):
    r = budget.report(session=session, actor=spending.actors["bureau"], county_code=COUNTY, year=2026,
                      as_of=date(2026, 1, 31))
    assert (r.spent, r.months[0].total, r.stays) == (D("555.00"), D("555.00"), 1)
    assert r.budget is None and r.outcome is None and r.used_share is None
    assert r.projected == D("6660.00")  # one month gone: 555 × 12


def test_overspend_is_projected_when_the_pace_exceeds_the_budget(session, spending):
    bureau = spending.actors["bureau"]
    budget_service.set_budget(session=session, actor=bureau, county_code=COUNTY,
                              budget_in=build(BudgetIn, {"year": 2025, "amount": "8000"}))
    r = budget.report(session=session, actor=bureau, county_code=COUNTY, year=2025, as_of=date(2026, 3, 1))
    # The year is over: 12 months, projected = spent.
    assert (r.elapsed_months, r.projected, r.balance, r.outcome) == (D("12.00"), D("8800.00"), D("-800.00"),
                                                                     "overspend")


def test_a_future_year_has_no_projection(session, spending):
    r = budget.report(session=session, actor=spending.actors["bureau"], county_code=COUNTY, year=2027,
                      as_of=date(2026, 6, 1))
    assert (r.elapsed_months, r.projected, r.spent, r.outcome) == (0, None, 0, None)


@pytest.mark.parametrize(("year", "as_of", "months"), [
    (2025, date(2025, 1, 31), D(1)),
    (2025, date(2025, 3, 15), D(2) + D(15) / D(31)),
    (2025, date(2025, 12, 31), D(12)),
    (2024, date(2025, 1, 1), D(12)),
    (2026, date(2025, 12, 31), D(0)),
])
def test_elapsed_months_count_the_current_month_by_its_days(year, as_of, months):
    assert budget.elapsed_months(year, as_of) == months
