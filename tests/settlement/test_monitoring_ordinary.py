"""Poverty-risk monitoring of everyone at risk (issue 15 item 8): residents of no monitored group are listed when
their out-of-pocket costs in the 12 months exceed a share of last year's rural per-capita disposable income, and
outpatient bills count by their real out-of-pocket part (the bill less the outpatient pooling's part).

The rule's shape is the 防止返贫动态监测 guidance's (中央农办 农业农村部 国家乡村振兴局《关于健全防止返贫动态监测
和帮扶机制的指导意见》2021: households whose "因病…刚性支出较大…导致基本生活出现严重困难" are monitored, incomes
counted over the 12 months before; quoted by 定南县人民政府's page, not checked against the national text); the
share and the income are set here (the data file's are samples): 50 % of ¥19,000 (2024) = ¥9,500.
Outpatient pooling as cited for 黄政规〔2022〕6号: 50 % of the in-policy cost at primary facilities, ¥400 a year."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests import factories as f
from tests.care import records_setup as rs
from weijian.care.models import Encounter
from weijian.settlement.budget import rules as budget_rules
from weijian.settlement.monitoring import queries as monitoring
from weijian.settlement.monitoring import rules as monitoring_rules

D = Decimal
AS_OF = date(2025, 12, 31)
GROUPS = ["extreme_poverty", "min_living", "poverty_relapse", "lifted_from_poverty", "monitored"]
RULES = monitoring_rules.parse_rules({"groups": GROUPS, "ordinary": {"income_share": 0.5,
                                                                      "rural_income": {2024: 19000, 2025: 20000}}})
POOLING = budget_rules.parse_rules({"settlement_parts": ["basic_pays"], "outpatient_pooling": {
    "scheme": "resident", "facility_types": ["township_centre", "community_centre", "village_clinic"],
    "deductible": 0, "rate": 0.5, "annual_cap": 400}, "sharing": {
    "surplus": [{"upto": None, "retained": 1}], "overspend": [{"upto": None, "fund_share": 0}]}})


def visit(session, resident, facility, day: date, total: str, in_policy: str) -> None:
    session.add(Encounter(resident_id=resident.id, facility_id=facility.id, type="outpatient", start_date=day,
                          total_cost=D(total), in_policy_cost=D(in_policy), created_by="test"))
    session.flush()


@pytest.fixture()
def world(session, monkeypatch):
    """By hand (line of ordinary residents ¥9,500; monitored residents' own line the setting's ¥10,000):
    - 甲 ordinary: stay own 9,000; centre A bill 1,200 (in policy 1,000 → pooling 500, capped 400): own 800
      → 9,800 > 9,500, flagged (rural_income);
    - 乙 ordinary: stay own 9,000; centre A bill 800 (in policy 800 → pooling 400): own 400 → 9,400, not
      flagged — though the bills in full (9,800) are above the line;
    - 丙 ordinary, employee scheme: stay own 9,000; centre A bill 800, no resident pooling: 9,800, flagged;
    - 丁 低保: stay own 9,600: above 9,500 but below the own line 10,000, not flagged;
    - 戊 低保: stay own 10,500, flagged (amount)."""
    w = rs.build(session)
    monkeypatch.setattr(monitoring, "monitoring_rules", lambda: RULES)
    monkeypatch.setattr(monitoring, "budget_rules", lambda: POOLING)
    fac, mk = w.facilities, f.make_resident
    people = {"甲": mk(session, name="甲普通"), "乙": mk(session, name="乙普通"),
              "丙": mk(session, name="丙职工", insurance_scheme="employee"),
              "丁": mk(session, name="丁低保", groups=["min_living"]), "戊": mk(session, name="戊低保", groups=["min_living"])}
    for key, own in (("甲", 9000), ("乙", 9000), ("丙", 9000), ("丁", 9600), ("戊", 10500)):
        f.make_settlement(session, people[key], fac["county"], stay_date=date(2025, 5, 1), total=str(own * 5),
                          basic_pays=str(own * 4))
    visit(session, people["甲"], fac["centre_a"], date(2025, 6, 1), "1200.00", "1000.00")
    visit(session, people["乙"], fac["centre_a"], date(2025, 6, 1), "800.00", "800.00")
    visit(session, people["丙"], fac["centre_a"], date(2025, 6, 1), "800.00", "800.00")
    w.people.update(people)
    return w


def listed(result: monitoring.RiskList) -> list[tuple[str, Decimal, str, str]]:
    return [(a.name, a.total, a.basis, a.category) for a in result.items]


def test_ordinary_residents_above_the_share_of_last_years_rural_income_are_listed(session, world):
    result = monitoring.at_risk(session=session, actor=world.actors["bureau"], threshold=D("10000"),
                                income_share=D("0.5"), as_of=AS_OF)
    assert listed(result) == [("戊低保", D("10500.00"), "amount", "monitored"),
                              ("甲普通", D("9800.00"), "rural_income", "ordinary"),
                              ("丙职工", D("9800.00"), "rural_income", "ordinary")]
    assert (result.ordinary_threshold, result.income_year) == (D("9500.00"), 2024)
    a = result.items[1]
    assert (a.stays_cost, a.outpatient_bills, a.outpatient_fund, a.outpatient_cost, a.threshold) == (
        D("9000.00"), D("1200.00"), D("400.00"), D("800.00"), D("9500.00"))
    assert result.items[2].outpatient_fund == 0  # the employee scheme's visit: no resident pooling


def test_the_category_filter_keeps_one_kind(session, world):
    kw = dict(session=session, actor=world.actors["bureau"], threshold=D("10000"), income_share=D("0.5"), as_of=AS_OF)
    assert [a.name for a in monitoring.at_risk(**kw, category="ordinary").items] == ["甲普通", "丙职工"]
    assert [a.name for a in monitoring.at_risk(**kw, category="monitored").items] == ["戊低保"]


def test_the_line_uses_the_year_before_or_the_latest_earlier_figure():
    ordinary = RULES.ordinary
    assert ordinary.threshold(date(2025, 12, 31)) == (D("9500.00"), 2024)
    assert ordinary.threshold(date(2026, 1, 1)) == (D("10000.00"), 2025)
    assert ordinary.threshold(date(2030, 6, 1)) == (D("10000.00"), 2025)
    assert ordinary.threshold(date(2024, 6, 1)) is None


def test_without_a_rural_income_that_early_only_the_monitored_groups_are_listed(session, world):
    result = monitoring.at_risk(session=session, actor=world.actors["bureau"], threshold=D("10000"),
                                income_share=D("0.5"), as_of=date(2024, 12, 31))
    assert result.ordinary_threshold is None and result.items == []


@pytest.mark.parametrize(("data", "key"), [
    ({"groups": GROUPS}, "ordinary"),
    ({"groups": GROUPS, "ordinary": {"income_share": 1.5, "rural_income": {2024: 1}}}, "ordinary.income_share"),
    ({"groups": GROUPS, "ordinary": {"income_share": 0.5, "rural_income": {"x": 1}}}, "ordinary.rural_income.x"),
    ({"groups": GROUPS, "ordinary": {"income_share": 0.5, "rural_income": {2024: -1}}}, "ordinary.rural_income.2024"),
])
def test_a_broken_monitoring_file_is_refused_naming_the_key(data, key):
    with pytest.raises(ValueError, match=key):
        monitoring_rules.parse_rules(data, "monitoring.yaml")


def test_the_bundled_monitoring_file_loads():
    loaded = monitoring_rules.monitoring_rules()
    assert loaded.groups == tuple(GROUPS) and loaded.ordinary.income_share == D("0.5")
