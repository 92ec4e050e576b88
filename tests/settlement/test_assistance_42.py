"""Medical assistance per 国务院办公厅《关于健全重特大疾病医疗保险和救助制度的意见》国办发〔2021〕42号 (issue 15
item 7): a yearly assistance deductible (起付标准) by group, the groups 低保边缘家庭成员 and 因病致贫重病患者
besides 特困 and 低保, and 倾斜救助 after the three layers — all in the policy file.

The text, as quoted by secondary pages (the State Council's own publication was not reachable):
  "对低保对象、特困人员原则上取消起付标准，暂不具备条件的地区，其起付标准不得高于所在统筹地区上年居民人均可支配
   收入的5%……低保边缘家庭成员起付标准按所在统筹地区上年居民人均可支配收入的10%左右确定，因病致贫重病患者按25%
   左右确定。对低保对象、特困人员符合规定的医疗费用可按不低于70%的比例救助，其他救助对象救助比例原则上略低于低保
   对象。"
  "对规范转诊且在省域内就医的救助对象，经三重制度综合保障后政策范围内个人负担仍然较重的，给予倾斜救助，具体救助标准
   由统筹地区人民政府根据医疗救助基金筹资情况科学确定。"
The test policy below is written from that text with a stated income (the local figures are the locality's:
weijian's sample policy files carry sample values of the same shape), so the cascades are hand-worked.
"""
from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal

import pytest
import yaml
from sqlalchemy.orm import Session

from tests import factories as f
from tests.settlement.settle_setup import build
from weijian.settlement.settle import engine
from weijian.settlement.settle import service as settle
from weijian.settlement.settle.engine import Stay
from weijian.settlement.settle.rules import POLICY_DIR, PolicyInvalid, bundled_policies, parse_policy
from weijian.settlement.settle.schemas import SettleIn

D = Decimal
INCOME = D("28000")  # 所在统筹地区上年居民人均可支配收入, as stated for these tests
# 起付标准 by the text: 特困/低保 abolished (0); 低保边缘 10 %, 因病致贫重病患者 25 % of INCOME.
NEAR_MIN_DEDUCTIBLE = INCOME * D("0.10")  # ¥2,800
ILLNESS_DEDUCTIBLE = INCOME * D("0.25")  # ¥7,000
TILT = {"threshold": 15000, "rate": 0.5, "annual_cap": 20000}  # the locality's 倾斜救助 standard (stated here)


def _policy():
    """The resident sample policy's basic and critical-illness layers with the assistance written from 42号."""
    data = yaml.safe_load((POLICY_DIR / "huanggang-resident-2022.yaml").read_text(encoding="utf-8"))
    data = copy.deepcopy(data)
    data["assistance"] = {
        "groups": {
            "特困": {"deductible": 0, "rate": 1.0, "annual_cap": None},
            "低保": {"deductible": 0, "rate": 0.70, "annual_cap": 50000},  # 不低于70%
            "低保边缘": {"deductible": str(NEAR_MIN_DEDUCTIBLE), "rate": 0.60, "annual_cap": 30000},  # 略低于低保
            "因病致贫重病患者": {"deductible": str(ILLNESS_DEDUCTIBLE), "rate": 0.50, "annual_cap": 30000},
        },
        "tilt": {"groups": ["特困", "低保", "低保边缘", "因病致贫重病患者"], **TILT},
    }
    return parse_policy(data)


def test_near_min_living_member_bears_the_yearly_assistance_deductible_first():
    """低保边缘家庭成员: 起付标准 10 % of ¥28,000 = ¥2,800, then a rate a little below 低保's (60 %). County stay,
    ¥20,000 in policy: basic (20,000 − 500) × 75 % = ¥14,625; share ¥5,375 (below the ¥12,000 大病 threshold);
    assistance (5,375 − 2,800) × 60 % = ¥1,545.00; the patient ¥3,830.00."""
    split, after = engine.settle_stay(_policy(), "低保边缘", Stay(date(2024, 3, 1), "county", D("20000.00"),
                                                                D("20000.00")))
    assert (split.basic_pays, split.critical_illness_pays) == (D("14625.00"), D("0.00"))
    assert (split.assistance_deductible, split.assistance_pays, split.patient_pays) == (
        D("2800.00"), D("1545.00"), D("3830.00"))
    assert after.assistance_deductible_paid == D("2800.00")


def test_illness_impoverished_patients_deductible_is_yearly_across_stays():
    """因病致贫重病患者: 起付标准 25 % of ¥28,000 = ¥7,000 a year (年度救助起付标准), 50 %. Stay 1 (county, ¥10,000):
    share ¥2,875 all borne against the deductible, no assistance. Stay 2 (county, ¥20,000): share ¥5,375, the
    deductible's last ¥4,125 first, assistance (5,375 − 4,125) × 50 % = ¥625.00; patient ¥4,750.00."""
    first, second = engine.settle_year(_policy(), "因病致贫重病患者", [
        Stay(date(2024, 3, 1), "county", D("10000.00"), D("10000.00")),
        Stay(date(2024, 6, 1), "county", D("20000.00"), D("20000.00"))])
    assert (first.assistance_deductible, first.assistance_pays, first.patient_pays) == (
        D("2875.00"), D("0.00"), D("2875.00"))
    assert (second.assistance_deductible, second.assistance_pays, second.patient_pays) == (
        D("4125.00"), D("625.00"), D("4750.00"))
    assert second.after.assistance_deductible_paid == ILLNESS_DEDUCTIBLE


def test_min_living_has_no_assistance_deductible():
    """低保对象: 原则上取消起付标准, 不低于70%. County stay ¥40,000: basic ¥29,625; 大病 (tilted for 低保: threshold
    ¥6,000, 65 %) (10,375 − 6,000) × 65 % = ¥2,843.75; assistance (10,375 − 2,843.75) × 70 % = ¥5,271.875 →
    ¥5,271.88; the patient ¥2,259.37."""
    split, _ = engine.settle_stay(_policy(), "低保", Stay(date(2024, 3, 1), "county", D("40000.00"), D("40000.00")))
    assert (split.critical_illness_pays, split.assistance_deductible, split.assistance_pays, split.patient_pays) == (
        D("2843.75"), D("0.00"), D("5271.88"), D("2259.37"))


def test_tilt_assistance_after_the_three_layers_for_a_referred_stay():
    """倾斜救助 "对规范转诊且在省域内就医的救助对象，经三重制度综合保障后政策范围内个人负担仍然较重的": 因病致贫重病患者,
    a level-3 stay out of the county on a referral, ¥150,000 in policy: basic (150,000 − 900) × 60 % = ¥89,460;
    大病 18,000 × 60 % + 30,540 × 65 % = ¥30,651; assistance (29,889 − 7,000) × 50 % = ¥11,444.50; still borne
    ¥18,444.50, of which the ¥3,444.50 above ¥15,000 gets 50 %: 倾斜救助 ¥1,722.25; the patient ¥16,722.25.
    Without a referral (not 规范转诊) there is no 倾斜救助: the patient ¥18,444.50."""
    policy = _policy()
    referred, _ = engine.settle_stay(policy, "因病致贫重病患者", Stay(date(2024, 3, 1), "city", D("150000.00"),
                                                                    D("150000.00"), in_county=False, referred=True))
    assert (referred.basic_pays, referred.critical_illness_pays, referred.assistance_pays) == (
        D("89460.00"), D("30651.00"), D("11444.50"))
    assert (referred.tilt_assistance_pays, referred.patient_pays) == (D("1722.25"), D("16722.25"))
    assert referred.fund_pays + referred.patient_pays == referred.total
    alone, _ = engine.settle_stay(policy, "因病致贫重病患者", Stay(date(2024, 3, 1), "city", D("150000.00"),
                                                                 D("150000.00"), in_county=False, referred=False))
    assert (alone.tilt_assistance_pays, alone.patient_pays) == (D("0.00"), D("18444.50"))


def test_tilt_assistance_stops_at_its_yearly_cap():
    """倾斜救助's yearly cap (¥20,000 here): a year of heavy referred stays never gets more."""
    stays = [Stay(date(2024, m, 1), "city", D("150000.00"), D("150000.00"), in_county=False, referred=True)
             for m in (2, 5, 8, 11)]
    splits = engine.settle_year(_policy(), "因病致贫重病患者", stays)
    assert splits[-1].after.tilt_assistance_paid == D("20000.00")
    assert all(s.fund_pays + s.patient_pays == s.total for s in splits)


def test_a_policy_may_not_pay_min_living_or_extreme_poverty_below_70_percent():
    """"对低保对象、特困人员……可按不低于70%的比例救助": weijian refuses a policy file below that floor."""
    data = yaml.safe_load((POLICY_DIR / "huanggang-resident-2022.yaml").read_text(encoding="utf-8"))
    data["assistance"]["groups"]["低保"]["rate"] = 0.65
    with pytest.raises(PolicyInvalid) as info:
        parse_policy(data)
    assert [(e.field, e.reason_key) for e in info.value.errors] == [
        ("assistance.groups.低保.rate", "settlement.errors.policy.assistance_below_floor")]


def test_bundled_policies_follow_the_shape_42_sets():
    """Every shipped policy: 特困 and 低保 without a deductible and at ≥ 70 %; 低保边缘 and 因病致贫重病患者 listed,
    each with a deductible (低保边缘's the lower, 10 % against 25 %) and a rate below 低保's; 倾斜救助 for them."""
    for p in bundled_policies():
        a = p.assistance
        assert {"extreme_poverty", "min_living", "near_min_living", "illness_poverty"} <= set(a), p.id
        for code in ("extreme_poverty", "min_living"):
            assert a[code].deductible == 0 and a[code].rate >= D("0.70"), p.id
        assert 0 < a["near_min_living"].deductible < a["illness_poverty"].deductible, p.id
        assert a["near_min_living"].rate < a["min_living"].rate and a["illness_poverty"].rate < a["min_living"].rate
        assert p.assistance_tilt is not None and {"near_min_living", "illness_poverty"} <= p.assistance_tilt.groups


def test_a_stored_stay_of_a_near_min_living_resident_gets_the_group_terms(session: Session) -> None:
    """Through the database: a 低保边缘 resident's county stay settles with the group's deductible and rate."""
    w = build(session)
    person = f.make_resident(session, groups=["低保边缘"])
    stay = f.make_stay(session, person, w.facilities["county"], total="20000.00")
    s = settle.settle_encounter(session=session, actor=w.actors["county"], settle_in=SettleIn(encounter_id=stay.id))
    expected, _ = engine.settle_stay(settle.get_policy(s.policy_id), "near_min_living",
                                     Stay(stay.end_date, "county", D("20000.00"), D("20000.00")))
    assert s.benefit_group == "near_min_living"
    assert (s.assistance_deductible, s.assistance_pays, s.patient_pays) == (
        expected.assistance_deductible, expected.assistance_pays, expected.patient_pays)
    assert s.assistance_deductible > 0 and s.after_assistance_deductible_paid == s.assistance_deductible
