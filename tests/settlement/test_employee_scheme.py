"""The employee scheme (职工医保, issue 15 item 6): its own policy — basic pooling with its deductible, rates
by tier and annual cap, then 大额医疗费用补助 in place of 大病保险 — and no silent self-pay: an insured stay
whose scheme has no policy in force on its date stays pending, with the reason on the settlement desk.

Official values, transcribed here from the source (not read from weijian's policy file): 黄冈市人民政府
黄政规〔2022〕6号 (dated 2022-10-18, in effect 2023-01-01), as quoted by a third-party policy data file that
points at http://ybj.hg.gov.cn/zwgk/zcjd/202210/t20221025_179210.html (the document itself was not
reachable): "统筹区内职工医保住院起付标准：一级及以下300元、二级500元、三级700元。统筹支付比例一级92%、二级88%、
三级85%……职工统筹基金年度最高支付限额15万元", and 职工大额医疗保险 85 % above ¥150,000, yearly cap ¥350,000.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from tests import factories as f
from tests.settlement.settle_setup import build, counts
from weijian.core.errors import InvalidState
from weijian.settlement.settle import engine
from weijian.settlement.settle import service as settle
from weijian.settlement.settle.engine import Accumulations, Stay
from weijian.settlement.settle.rules import PolicyInvalid, bundled_policies, parse_policy, select_policy
from weijian.settlement.settle.schemas import PendingIn, SettleIn

D = Decimal
# 黄政规〔2022〕6号 as quoted (see the module docstring): level → (起付标准, 统筹支付比例).
OFFICIAL_LEVELS = {"township": (D("300"), D("0.92")), "county": (D("500"), D("0.88")), "city": (D("700"), D("0.85"))}
OFFICIAL_CAP = D("150000")
OFFICIAL_LARGE = (D("0.85"), D("350000"))


def _employee():
    return select_policy(bundled_policies(), "employee", date(2024, 6, 1))


def test_the_employee_policy_carries_the_official_tiers_cap_and_large_expense_terms():
    """黄政规〔2022〕6号: 起付 300/500/700, 92 %/88 %/85 %, 统筹基金年度最高支付限额 15万元; 大额 85 %, 35万元."""
    p = _employee()
    assert {k: (lv.deductible, lv.rate) for k, lv in p.basic.levels.items()} == OFFICIAL_LEVELS
    assert p.basic.annual_cap == OFFICIAL_CAP and p.basic.deductible_per == "admission"
    assert p.critical_illness is None  # 职工医保 has no 居民大病保险
    assert p.large_expense is not None and (p.large_expense.rate, p.large_expense.annual_cap) == OFFICIAL_LARGE
    assert p.effective_from == date(2023, 1, 1)


def test_employee_county_stay_is_settled_to_the_fen_under_the_employee_policy(session: Session) -> None:
    """黄政规〔2022〕6号, 二级: 起付标准 500元, 统筹支付 88 %. ¥20,000 all in policy: the fund pays
    (20,000 − 500) × 88 % = ¥17,160.00 and the patient ¥2,840.00 (today: billed in full as self-pay)."""
    w = build(session)
    person = f.make_resident(session, insurance_scheme="employee")
    stay = f.make_stay(session, person, w.facilities["county"], total="20000.00")
    s = settle.settle_encounter(session=session, actor=w.actors["county"], settle_in=SettleIn(encounter_id=stay.id))
    assert (s.policy_id, s.scheme, s.level) == ("huanggang-employee-2022", "employee", "county")
    assert (s.deductible, s.basic_pays, s.critical_illness_pays, s.large_expense_pays, s.patient_pays) == (
        D("500.00"), D("17160.00"), D("0.00"), D("0.00"), D("2840.00"))


def test_employee_township_stay_with_out_of_policy_costs(session: Session) -> None:
    """黄政规〔2022〕6号, 一级: 起付 300元, 92 %. ¥8,000 of which ¥7,300 in policy: fund (7,300 − 300) × 92 %
    = ¥6,440.00; the patient ¥700 out of policy + ¥300 + ¥560 = ¥1,560.00."""
    w = build(session)
    person = f.make_resident(session, insurance_scheme="employee")
    stay = f.make_stay(session, person, w.facilities["town_a"], total="8000.00", in_policy="7300.00")
    s = settle.settle_encounter(session=session, actor=w.actors["town_a"], settle_in=SettleIn(encounter_id=stay.id))
    assert (s.out_of_policy, s.deductible, s.basic_pays, s.patient_pays) == (
        D("700.00"), D("300.00"), D("6440.00"), D("1560.00"))


def test_large_expense_subsidy_pays_the_costs_above_the_basic_cap_never_critical_illness():
    """大额医疗费用补助 (85 %) in place of 大病保险, on the in-policy costs above what the ¥150,000 fund cap
    covers. Basic fund already paid ¥149,150 this year; a level-3 stay of ¥10,700 in policy: 起付 ¥700, the
    fund's last ¥850 covers 850 / 85 % = ¥1,000 of costs, so ¥9,000 lie above the cap and 大额 pays
    9,000 × 85 % = ¥7,650.00; the patient ¥700 + ¥150 + ¥1,350 = ¥2,200.00."""
    acc = Accumulations(year=2024, basic_paid=D("149150.00"), deductible_paid=D("700.00"), stays=3)
    split, after = engine.settle_stay(_employee(), None, Stay(date(2024, 9, 1), "city", D("10700.00"), D("10700.00")),
                                      acc)
    assert (split.deductible, split.basic_pays, split.critical_illness_pays) == (D("700.00"), D("850.00"), D("0.00"))
    assert (split.large_expense_pays, split.patient_pays) == (D("7650.00"), D("2200.00"))
    assert (after.basic_paid, after.large_expense_paid) == (D("150000.00"), D("7650.00"))
    # the cap used up: the next stay's costs above the deductible are all 大额's, at 85 %
    split2, _ = engine.settle_stay(_employee(), None, Stay(date(2024, 10, 1), "city", D("2700.00"), D("2700.00")),
                                   after)
    assert (split2.basic_pays, split2.large_expense_pays, split2.patient_pays) == (D("0.00"), D("1700.00"),
                                                                                   D("1000.00"))


def test_large_expense_subsidy_stops_at_its_yearly_cap():
    """大额: yearly cap ¥350,000. With ¥349,000 paid, a stay whose 85 % would be ¥8,500 gets ¥1,000.00."""
    acc = Accumulations(year=2024, basic_paid=D("150000.00"), large_expense_paid=D("349000.00"))
    split, _ = engine.settle_stay(_employee(), None, Stay(date(2024, 9, 1), "city", D("10700.00"), D("10700.00")),
                                  acc)
    assert (split.large_expense_pays, split.patient_pays) == (D("1000.00"), D("9700.00"))


def _policy_data(scheme: str) -> dict:
    return {"id": f"test-{scheme}-1", "name": "t", "scheme": scheme, "effective_from": date(2024, 1, 1),
            "effective_to": None,
            "basic": {"deductible_per": "admission", "annual_cap": 1000, "downward_referral_waives_deductible": False,
                      "levels": {"county": {"deductible": 100, "rate": 0.5}}},
            "critical_illness": None, "assistance": None}


def test_an_employee_policy_with_critical_illness_or_a_resident_one_with_large_expense_is_refused():
    data = _policy_data("employee")
    data["critical_illness"] = {"threshold": 100, "bands": [{"upto": None, "rate": 0.5}], "annual_cap": None,
                                "tilt": None}
    with pytest.raises(PolicyInvalid) as info:
        parse_policy(data)
    assert {e.field: e.reason_key.rsplit(".", 1)[1] for e in info.value.errors} == {
        "critical_illness": "layer_of_other_scheme"}
    data = _policy_data("resident") | {"large_expense": {"rate": 0.5, "annual_cap": None}}
    with pytest.raises(PolicyInvalid) as info:
        parse_policy(data)
    assert {e.field for e in info.value.errors} == {"large_expense"}
    assert parse_policy(_policy_data("employee") | {"large_expense": {"rate": 0.9, "annual_cap": 500}}
                        ).large_expense is not None


@pytest.mark.parametrize(("scheme", "day"), [("employee", date(2022, 6, 1)), ("resident", date(2021, 6, 1))])
def test_insured_stay_with_no_policy_for_its_date_stays_pending_with_the_reason(session: Session, scheme: str,
                                                                                day: date) -> None:
    """No employee policy is in force before 2023-01-01, no resident one before 2022-01-01: the stay is not
    billed (today: self-pay in full), it stays pending, and the desk lists it with the reason."""
    w = build(session)
    person = f.make_resident(session, insurance_scheme=scheme)
    stay = f.make_stay(session, person, w.facilities["county"], end_date=day, total="3000.00")
    before = counts(session)
    with pytest.raises(InvalidState) as exc:
        settle.settle_encounter(session=session, actor=w.actors["county"], settle_in=SettleIn(encounter_id=stay.id))
    assert exc.value.message_key == "settlement.settle.errors.no_policy"
    assert counts(session) == before
    assert settle.settle_pending(session=session, actor=w.actors["county"], pending_in=PendingIn(year=day.year)) == 0
    assert counts(session)[:3] == before[:3]
    desk = settle.pending_stays(session=session, actor=w.actors["bureau"], pending_in=PendingIn(year=day.year))
    assert [(p.encounter_id, p.reason_key) for p in desk] == [(stay.id, "settlement.settle.errors.no_policy")]


def test_settlement_desk_lists_the_pending_stay_with_its_reason_in_chinese(client, session: Session) -> None:
    w = build(session)
    person = f.make_resident(session, insurance_scheme="employee", name="李职工")
    f.make_stay(session, person, w.facilities["county"], end_date=date(2022, 6, 1), total="3000.00")
    ready = f.make_resident(session, name="王居民")
    f.make_stay(session, ready, w.facilities["county"], end_date=date(2022, 7, 1), total="1000.00")
    f.page_login(client, w.users["bureau"].username)
    page = client.get("/settlement/pending?year=2022")
    assert page.status_code == 200
    assert "李职工" in page.text and "尚无该险种/日期适用的医保政策" in page.text and "职工医保" in page.text
    assert "王居民" in page.text and "可结算" in page.text
    stays = settle.pending_stays(session=session, actor=w.actors["bureau"], pending_in=PendingIn(year=2022))
    desk_stay = next(p for p in stays if p.resident_name == "李职工")
    f.page_login(client, w.users["county"].username)
    form = client.get(f"/settlement/stays/{desk_stay.encounter_id}")
    r = client.post(f"/settlement/stays/{desk_stay.encounter_id}/settle", data={"csrf_token": f.csrf_from(form.text)})
    assert r.status_code == 409 and "尚无该险种/日期适用的医保政策" in r.text and 'data-testid="settle"' in r.text
    bad = client.get("/settlement/pending?year=abc")
    assert bad.status_code == 422 and 'data-testid="year-error"' in bad.text and 'value="abc"' in bad.text
