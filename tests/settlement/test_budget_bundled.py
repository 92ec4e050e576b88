"""The bundled budget beyond the stays (issue 15 item 11): outpatient pooling counted visit by visit, the share of
fund spending inside the county (县域内基金支出占比), and the division of a surplus or an overspend between the
community and the fund (结余留用、合理超支分担), on the report, the API and the page. Every figure is worked out
by hand below."""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from tests import factories as f
from tests.care import records_setup as rs
from weijian.care.models import Encounter
from weijian.core.commands import build
from weijian.settlement.budget import queries as budget
from weijian.settlement.budget import rules as budget_rules
from weijian.settlement.budget import service as budget_service
from weijian.settlement.budget.schemas import BudgetIn

COUNTY = "421124"
D = Decimal

# The sharing bands the report tests use (weijian's sample reading, set here so the tests do not read the
# data file): surplus up to 10 % of the budget retained wholly, half of the rest; overspend up to 5 % half
# borne by the fund, 5–10 % 30 %, beyond that none.
SHARING = {"surplus": [{"upto": 0.10, "retained": 1.00}, {"upto": None, "retained": 0.50}],
           "overspend": [{"upto": 0.05, "fund_share": 0.50}, {"upto": 0.10, "fund_share": 0.30},
                         {"upto": None, "fund_share": 0.00}]}
# 黄冈市城乡居民医保 普通门诊统筹 (黄政规〔2022〕6号, as cited in shared/domain/settlement.md — not checked against
# the document): 50 % at primary facilities, no deductible, ¥400 of fund payments a person a year.
POOLING = {"scheme": "resident", "facility_types": ["township_centre", "community_centre", "village_clinic"],
           "deductible": 0, "rate": 0.50, "annual_cap": 400}


def rules(**over) -> budget_rules.Rules:
    data = {"version": 1, "settlement_parts": ["basic_pays"], "outpatient_pooling": POOLING, "sharing": SHARING}
    data.update(over)
    return budget_rules.parse_rules(data, "test")


def visit(session, resident, facility, day: date, in_policy: str, total: str | None = None, voided: bool = False):
    e = Encounter(resident_id=resident.id, facility_id=facility.id if facility is not None else None,
                  outside_facility_name=None if facility is not None else "武汉协和医院", type="outpatient",
                  start_date=day, primary_diagnosis="J06.9", total_cost=D(total or in_policy),
                  in_policy_cost=D(in_policy), created_by="test")
    if voided:
        e.voided_at, e.voided_by, e.void_reason = datetime(2025, 7, 1, tzinfo=UTC), "test", "录入错误"
    session.add(e)
    session.flush()
    return e


@pytest.fixture()
def world(session, monkeypatch):
    """2025, by hand (fund parts under the pooling terms above):
    stays: 王大山 at the county hospital, March, basic 4,000; 陈老汉 outside the county, June, basic 3,000.
    outpatient pooling:
    - 王大山: village clinic 10 March, in policy 300 → 150; centre A 2 May, 500 → 250 (150 + 250 = the ¥400
      cap); centre A 1 June, 100 → 0 (cap reached); his December 2024 visit of 800 (→ 400 in 2024) does not
      use up 2025's cap.
    - 刘小花: county hospital outpatient 1 March, 1,000 → 0 (not a primary facility); centre A 15 March,
      35.55 → 17.775 → 17.78 (half up).
    - 赵南岭: insured under the employee scheme: centre B 20 March, 200 → not counted (no employee outpatient
      policy); a voided centre B visit of 100 → nothing.
    March: county hospital 4,000; centre A 17.78; village clinics 150 → 4,167.78. May: centre A 250.
    June: out of county 3,000. Stays 7,000 + outpatient 417.78 = 7,417.78; in the county 4,417.78 →
    4,417.78 ÷ 7,417.78 = 0.59556… → 0.5956."""
    w = rs.build(session)
    monkeypatch.setattr(budget, "budget_rules", lambda: rules())
    fac, p = w.facilities, w.people
    p["other_town"].insurance_scheme = "employee"
    f.make_settlement(session, p["man"], fac["county"], stay_date=date(2025, 3, 5), total="6000.00", basic_pays="4000.00")
    f.make_settlement(session, p["elder"], None, stay_date=date(2025, 6, 30), total="5000.00", basic_pays="3000.00")
    visit(session, p["man"], fac["clinic_a1"], date(2025, 3, 10), "300.00", total="320.00")
    visit(session, p["man"], fac["centre_a"], date(2025, 5, 2), "500.00")
    visit(session, p["man"], fac["centre_a"], date(2025, 6, 1), "100.00")
    visit(session, p["man"], fac["centre_a"], date(2024, 12, 20), "800.00")
    visit(session, p["woman"], fac["county"], date(2025, 3, 1), "1000.00")
    visit(session, p["woman"], fac["centre_a"], date(2025, 3, 15), "35.55")
    visit(session, p["other_town"], fac["centre_b"], date(2025, 3, 20), "200.00")
    visit(session, p["other_town"], fac["centre_b"], date(2025, 3, 21), "100.00", voided=True)
    p["other_town"].insurance_scheme = "employee"
    session.flush()
    return w


def test_outpatient_pooling_counts_each_visits_fund_part_by_the_month_of_the_visit(session, world):
    """黄政规〔2022〕6号 (as cited): 普通门诊统筹 50 % at primary facilities, no deductible, ¥400 a year."""
    fac = world.facilities
    r = budget.report(session=session, actor=world.actors["bureau"], county_code=COUNTY, year=2025,
                      as_of=date(2025, 12, 31))
    by_month = {m.month: m for m in r.months}
    assert by_month[3].by_column == {str(fac["county"].id): D("4000.00"), str(fac["centre_a"].id): D("17.78"),
                                     budget.VILLAGE_CLINICS: D("150.00")}
    assert (by_month[3].inpatient, by_month[3].outpatient, by_month[3].stays) == (D("4000.00"), D("167.78"), 1)
    assert by_month[5].by_column == {str(fac["centre_a"].id): D("250.00")}
    assert by_month[6].by_column == {str(fac["centre_a"].id): D("0.00"), budget.OUT_OF_COUNTY: D("3000.00")}
    assert by_month[12].total == 0 and by_month[1].total == 0
    assert (r.inpatient_spent, r.outpatient_spent, r.spent) == (D("7000.00"), D("417.78"), D("7417.78"))
    # Visits the pooling read: 王大山's three of 2025 and 刘小花's one at centre A.
    assert r.visits == 4 and r.stays == 2
    assert [(c.key, c.total) for c in r.columns] == [
        (str(fac["county"].id), D("4000.00")), (str(fac["centre_a"].id), D("267.78")),
        (budget.VILLAGE_CLINICS, D("150.00")), (budget.OUT_OF_COUNTY, D("3000.00"))]


def test_the_share_of_fund_spending_inside_the_county_counts_out_of_county_stays_in_the_whole(session, world):
    r = budget.report(session=session, actor=world.actors["bureau"], county_code=COUNTY, year=2025,
                      as_of=date(2025, 12, 31))
    assert (r.in_county_spent, r.in_county_share) == (D("4417.78"), D("0.5956"))


def test_the_pooling_cap_and_deductible_run_per_person_and_calendar_year():
    terms = rules(outpatient_pooling={**POOLING, "deductible": 100, "annual_cap": 60}).pooling
    visits = [(1, date(2025, 1, 5), D("80.00")),   # all within the deductible: 0
              (1, date(2025, 2, 5), D("70.00")),   # 20 left of the deductible, 50 × 50 % = 25
              (1, date(2025, 3, 5), D("100.00")),  # 50, capped at the 35 left of 60
              (1, date(2026, 1, 5), D("30.00")),   # a new year: the deductible again → 0
              (2, date(2025, 3, 5), D("300.00"))]  # another person: (300 − 100) × 50 % = 100 → cap 60
    assert list(budget_rules.pooling_parts(visits, terms)) == [D("0.00"), D("25.00"), D("35.00"), D("0.00"),
                                                               D("60.00")]


@pytest.mark.parametrize(("spending", "outcome", "amount", "community", "fund"), [
    # surplus 20,000: the first 10,000 (10 % of the budget) retained wholly, half of the next 10,000.
    ("80000.00", "surplus", "20000.00", "15000.00", "5000.00"),
    ("95000.00", "surplus", "5000.00", "5000.00", "0.00"),
    # overspend 12,000: 5,000 × 50 % + 5,000 × 30 % + 2,000 × 0 = 4,000 by the fund, 8,000 by the community.
    ("112000.00", "overspend", "12000.00", "8000.00", "4000.00"),
    ("103000.00", "overspend", "3000.00", "1500.00", "1500.00"),
    ("100000.00", "balanced", "0.00", "0.00", "0.00"),
])
def test_a_surplus_is_retained_and_an_overspend_shared_by_the_bands(spending, outcome, amount, community, fund):
    s = budget_rules.share(D("100000.00"), D(spending), rules())
    assert (s.outcome, s.amount, s.community, s.fund) == (outcome, D(amount), D(community), D(fund))


def test_the_report_divides_the_projected_balance(session, world):
    budget_service.set_budget(session=session, actor=world.actors["bureau"], county_code=COUNTY,
                              budget_in=build(BudgetIn, {"year": 2025, "amount": "7000"}))
    r = budget.report(session=session, actor=world.actors["bureau"], county_code=COUNTY, year=2025,
                      as_of=date(2026, 2, 1))
    # Overspend 417.78 of 7,000: all within 5 % (350.00) at 50 %, then 67.78 at 30 % → 175.00 + 20.33.
    assert (r.projected, r.balance) == (D("7417.78"), D("-417.78"))
    assert r.sharing == budget_rules.Sharing("overspend", D("417.78"), community=D("222.45"), fund=D("195.33"))


@pytest.mark.parametrize(("key", "value", "message"), [
    ("settlement_parts", ["patient_pays"], "settlement_parts"),
    ("outpatient_pooling", {**POOLING, "rate": 1.5}, "outpatient_pooling.rate"),
    ("outpatient_pooling", {**POOLING, "facility_types": ["pharmacy"]}, "outpatient_pooling.facility_types"),
    ("sharing", {**SHARING, "surplus": [{"upto": 0.1, "retained": 1}]}, "sharing.surplus"),
    ("sharing", {**SHARING, "overspend": [{"upto": 0.1, "fund_share": 0.5}, {"upto": 0.05, "fund_share": 0.3},
                                          {"upto": None, "fund_share": 0}]}, "sharing.overspend[1].upto"),
])
def test_a_broken_rule_file_is_refused_naming_the_key(key, value, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        rules(**{key: value})


def test_the_bundled_data_file_loads():
    loaded = budget_rules.budget_rules()
    assert loaded.settlement_parts == ("basic_pays",) and loaded.pooling.annual_cap == D("400")


def test_the_api_gives_the_outpatient_part_the_in_county_share_and_the_sharing(client, session, world):
    headers = f.token_headers(session, world.users["bureau"])
    res = client.put("/api/v1/settlement/budget/2025", json={"amount": "7000.00"}, headers=headers)
    assert res.status_code == 200, res.text
    body = client.get("/api/v1/settlement/budget/2025", headers=headers).json()
    assert (body["spent"], body["inpatient_spent"], body["outpatient_spent"], body["visits"]) == (
        "7417.78", "7000.00", "417.78", 4)
    assert (body["in_county_spent"], body["in_county_share"]) == ("4417.78", "0.5956")
    assert body["months"][2]["outpatient"] == "167.78" and body["months"][2]["inpatient"] == "4000.00"
    assert "village_clinics" in [c["key"] for c in body["columns"]]
    if body["sharing"] is not None:  # the projection depends on today; the division is the report's
        assert body["sharing"]["outcome"] in ("surplus", "overspend", "balanced")


def ok_page(client, url: str) -> str:
    res = client.get(url)
    assert res.status_code == 200, res.text
    return res.text


def test_the_page_shows_the_table_in_wan_yuan_with_the_new_figures(client, session, world):
    budget_service.set_budget(session=session, actor=world.actors["bureau"], county_code=COUNTY,
                              budget_in=build(BudgetIn, {"year": 2025, "amount": "7000"}))
    f.page_login(client, world.users["bureau"].username)
    html = ok_page(client, "/settlement/budget?year=2025")
    assert 'data-testid="budget-outpatient">¥417.78<' in html and 'data-testid="budget-inpatient">¥7,000.00<' in html
    assert 'data-testid="budget-in-county-share">59.56%<' in html
    assert "村卫生室（合计）" in html and "单位：万元" in html
    assert 'data-testid="budget-total">0.74<' in html  # 7,417.78 yuan = 0.74 万元
    assert "其中：门诊统筹" in html and "scroll-x" not in html  # the year fits: no sideways scroll
    assert "门诊慢特病本系统尚未结算" in html
    assert 'data-testid="budget-sharing"' in html and "医共体留用" in html and "基金分担" in html
