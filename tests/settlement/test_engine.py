"""The settlement cascade: worked examples, caps, tilts, waivers, reversal, and randomized invariants."""
from __future__ import annotations

import copy
from dataclasses import replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from weijian.core.errors import InvalidInput, InvalidState
from weijian.settlement.settle.engine import (
    Accumulations,
    Stay,
    benefit_group,
    reverse,
    settle_from,
    settle_stay,
    settle_year,
)
from weijian.settlement.settle.rules import POLICY_DIR, Policy, get_policy, parse_policy

D = Decimal
POLICY = get_policy("huanggang-resident-2022")
SAMPLE = yaml.safe_load((POLICY_DIR / "huanggang-resident-2022.yaml").read_text(encoding="utf-8"))
TILTED = ("特困", "低保", "返贫致贫", "extreme_poverty", "min_living", "poverty_relapse")


def stay(level: str, total, in_policy=None, *, day: date = date(2024, 3, 1), referral: bool = False) -> Stay:
    return Stay(date=day, level=level, total=D(str(total)), in_policy=D(str(total if in_policy is None else in_policy)),
                downward_referral=referral)


def policy_with(**changes) -> Policy:
    """The sample policy with some values changed: `policy_with(basic__deductible_per="year")`."""
    data = copy.deepcopy(SAMPLE)
    for path, value in changes.items():
        node = data
        *parents, last = path.split("__")
        for key in parents:
            node = node[key]
        node[last] = value
    return parse_policy(data)


def one(policy: Policy, group, s: Stay):
    (split,) = settle_year(policy, group, [s])
    return split


# --- the worked examples of the reference ---------------------------------------------------------
def test_township_stay_of_5000_is_4080_from_the_fund_and_920_from_the_patient():
    split = one(POLICY, None, stay("township", 5000))
    assert split.deductible == D("200.00")
    assert split.basic_pays == D("4080.00")
    assert split.critical_illness_pays == 0 and split.assistance_pays == 0
    assert split.patient_pays == D("920.00")


def test_level_3_stay_of_150000_splits_into_basic_critical_illness_and_patient():
    split = one(POLICY, None, stay("city", 150000))
    assert split.deductible == D("900.00")
    assert split.basic_pays == D("89460.00")
    assert split.after.in_policy_share == D("60540.00")
    assert split.critical_illness_pays == D("30651.00")  # 18,000 × 60 % + 30,540 × 65 %
    assert split.patient_pays == D("29889.00")


def test_parts_add_up_and_out_of_policy_is_the_patients():
    split = one(POLICY, None, stay("county", "12345.67", "10000.01"))
    assert split.out_of_policy == D("2345.66")
    assert split.basic_pays == D("7125.01")  # (10,000.01 − 500) × 75 % = 7,125.0075 → half up
    assert split.basic_pays + split.critical_illness_pays + split.assistance_pays + split.patient_pays == split.total
    assert split.patient_pays == D("2345.66") + D("500.00") + D("10000.01") - D("500.00") - D("7125.01")


def test_critical_illness_pays_on_the_years_cumulative_share():
    first, second = settle_year(POLICY, None, [stay("city", 20000, day=date(2024, 2, 1)),
                                               stay("city", 20000, day=date(2024, 6, 1))])
    # shares 8,540 each: the first stays below 12,000; the second lifts the total to 17,080
    assert first.critical_illness_pays == 0
    assert second.critical_illness_pays == D("3048.00")  # (17,080 − 12,000) × 60 %
    assert second.before.in_policy_share == D("8540.00") and second.after.in_policy_share == D("17080.00")


def test_stays_are_settled_in_date_order():
    late, early = stay("city", 150000, day=date(2024, 9, 1)), stay("township", 5000, day=date(2024, 2, 1))
    splits = settle_year(POLICY, None, [late, early])
    assert [s.stay.date for s in splits] == [date(2024, 2, 1), date(2024, 9, 1)]
    # the township share of 920 counts toward the threshold of the later stay
    assert splits[1].critical_illness_pays == D("31249.00")


# --- caps -----------------------------------------------------------------------------------------
def test_basic_cap_is_reached_in_the_middle_of_a_stay():
    first, second = settle_year(POLICY, None, [stay("city", 200000, day=date(2024, 1, 10)),
                                               stay("city", 100000, day=date(2024, 4, 10))])
    assert first.basic_pays == D("119460.00")
    assert second.basic_pays == D("30540.00")  # 99,100 × 60 % = 59,460, but only 30,540 is left
    assert second.after.basic_paid == D("150000.00")
    # what the cap left unpaid is part of the patient's in-policy share for critical illness
    assert second.after.in_policy_share - second.before.in_policy_share == D("69460.00")


def test_critical_illness_cap_is_reached_in_the_middle_of_a_stay():
    first, second = settle_year(POLICY, None, [stay("city", 300000, day=date(2024, 1, 10)),
                                               stay("city", 400000, day=date(2024, 4, 10))])
    assert first.basic_pays == D("150000.00") and second.basic_pays == 0
    assert first.critical_illness_pays == D("93800.00")
    assert second.critical_illness_pays == D("206200.00")  # 300,000 cap − 93,800
    assert second.after.critical_illness_paid == D("300000.00")


def test_stays_after_the_caps_pay_nothing_from_those_funds():
    splits = settle_year(POLICY, None, [stay("city", 1_000_000, day=date(2024, 1, 10)),
                                        stay("township", 5000, day=date(2024, 4, 10))])
    assert splits[0].basic_pays == D("150000.00") and splits[0].critical_illness_pays == D("300000.00")
    assert splits[1].basic_pays == 0 and splits[1].critical_illness_pays == 0
    assert splits[1].patient_pays == D("5000.00")


# --- the tilt for the poorest groups --------------------------------------------------------------
@pytest.mark.parametrize("group", TILTED)
def test_tilted_groups_get_a_higher_rate_on_every_band(group):
    split = one(POLICY, group, stay("city", 150000))
    # share 60,540 above the halved threshold 6,000: 24,000 × 65 % + 30,540 × 70 %
    assert split.critical_illness_pays == D("36978.00")


@pytest.mark.parametrize("group", TILTED)
def test_tilted_groups_have_the_threshold_halved(group):
    # a county stay of 38,500 leaves an in-policy share of 10,000: above 6,000, below 12,000
    assert one(POLICY, None, stay("county", 38500)).critical_illness_pays == 0
    assert one(POLICY, group, stay("county", 38500)).critical_illness_pays == D("2600.00")  # 4,000 × 65 %


@pytest.mark.parametrize("group", TILTED)
def test_tilted_groups_have_no_critical_illness_cap(group):
    first, second = settle_year(POLICY, group, [stay("city", 300000, day=date(2024, 1, 10)),
                                                stay("city", 400000, day=date(2024, 4, 10))])
    # cumulative share 550,000: 24,000 × 65 % + 70,000 × 70 % + 450,000 × 80 % = 424,600
    assert first.critical_illness_pays + second.critical_illness_pays == D("424600.00")
    assert second.after.critical_illness_paid > D("300000")


def test_tilt_cap_when_the_policy_sets_one():
    p = policy_with(critical_illness__tilt__cap=100000)
    splits = settle_year(p, "特困", [stay("city", 700000)])
    assert splits[0].critical_illness_pays == D("100000.00")


@pytest.mark.parametrize("group", [None, "脱贫", "elderly_65", "  "])
def test_ordinary_residents_and_groups_without_terms_get_the_ordinary_terms(group):
    split = one(POLICY, group, stay("city", 150000))
    assert split.critical_illness_pays == D("30651.00") and split.assistance_pays == 0


# --- medical assistance ---------------------------------------------------------------------------
def test_extreme_poverty_assistance_covers_the_whole_in_policy_share_but_not_out_of_policy():
    split = one(POLICY, "特困", stay("city", 160000, 150000))
    assert split.out_of_policy == D("10000.00")
    assert split.assistance_pays == D("150000.00") - D("89460.00") - D("36978.00")
    assert split.patient_pays == D("10000.00")


def test_min_living_assistance_is_70_percent_of_the_remaining_share():
    split = one(POLICY, "低保", stay("township", 5000))
    assert split.assistance_pays == D("644.00")  # 920 × 70 %
    assert split.patient_pays == D("276.00")


@pytest.mark.parametrize(("group", "cap"), [("低保", D("50000.00")), ("返贫致贫", D("30000.00"))])
def test_assistance_stops_at_the_groups_annual_cap(group, cap):
    first, second = settle_year(POLICY, group, [stay("city", 1_000_000, day=date(2024, 1, 10)),
                                                stay("township", 5000, day=date(2024, 4, 10))])
    # remaining share 185,400 × 70 % = 129,780 would be due; the cap is reached within the first stay
    assert first.assistance_pays == cap
    assert second.assistance_pays == 0
    assert second.after.assistance_paid == cap


def test_basic_rounds_half_up_to_the_fen():
    assert one(POLICY, None, stay("township", "200.10")).basic_pays == D("0.09")  # 0.085 (half even: 0.08)
    assert one(POLICY, None, stay("county", "500.06")).basic_pays == D("0.05")  # 0.045


def test_assistance_rounds_half_up_to_the_fen():
    split = one(POLICY, "低保", stay("township", "200.05"))  # share 200.0075 → 200.01; × 70 % = 140.007
    assert split.basic_pays == D("0.04")  # 0.05 × 85 % = 0.0425
    assert split.assistance_pays == D("140.01")
    assert split.patient_pays == D("60.00")


def test_benefit_group_picks_the_most_favourable_group():
    assert benefit_group(POLICY, ["elderly_65", "低保", "特困"]) == "extreme_poverty"
    assert benefit_group(POLICY, ["hypertension", "返贫致贫", "min_living"]) == "min_living"  # higher cap
    assert benefit_group(POLICY, ["脱贫", "elderly_65"]) is None


# --- deductibles ----------------------------------------------------------------------------------
def test_downward_referral_waives_the_deductible():
    split = one(POLICY, None, stay("township", 5000, referral=True))
    assert split.deductible == 0
    assert split.basic_pays == D("4250.00")
    assert split.after.deductible_paid == 0


def test_downward_referral_keeps_the_deductible_when_the_policy_does_not_waive_it():
    p = policy_with(basic__downward_referral_waives_deductible=False)
    assert one(p, None, stay("township", 5000, referral=True)).deductible == D("200.00")


def test_deductible_per_admission_is_charged_on_every_stay():
    splits = settle_year(POLICY, None, [stay("township", 5000, day=date(2024, 1, 1)),
                                        stay("township", 5000, day=date(2024, 2, 1))])
    assert [s.deductible for s in splits] == [D("200.00"), D("200.00")]


def test_deductible_per_year_is_charged_once():
    p = policy_with(basic__deductible_per="year")
    splits = settle_year(p, None, [stay("township", 5000, day=date(2024, 1, 1)),
                                   stay("township", 5000, day=date(2024, 2, 1))])
    assert [s.deductible for s in splits] == [D("200.00"), D("0.00")]
    assert splits[1].basic_pays == D("4250.00")


def test_deductible_per_year_continues_after_a_small_stay_and_tops_up_for_a_higher_level():
    p = policy_with(basic__deductible_per="year")
    splits = settle_year(p, None, [stay("township", 150, day=date(2024, 1, 1)),
                                   stay("township", 5000, day=date(2024, 2, 1)),
                                   stay("city", 5000, day=date(2024, 3, 1))])
    assert [s.deductible for s in splits] == [D("150.00"), D("50.00"), D("700.00")]


def test_deductible_per_year_starts_again_in_a_new_year():
    p = policy_with(basic__deductible_per="year")
    (first,) = settle_year(p, None, [stay("township", 5000, day=date(2024, 12, 1))])
    (second,) = settle_year(p, None, [stay("township", 5000, day=date(2025, 1, 2))])
    assert first.deductible == second.deductible == D("200.00")


def test_stay_smaller_than_the_deductible_is_all_the_patients():
    split = one(POLICY, None, stay("city", 600))
    assert split.deductible == D("600.00") and split.basic_pays == 0 and split.patient_pays == D("600.00")


# --- one stay at a time, reversal and re-settlement -----------------------------------------------
YEAR = [stay("township", 5000, day=date(2024, 1, 5)),
        stay("city", 150000, 140000, day=date(2024, 3, 5)),
        stay("county", 30000, day=date(2024, 6, 5), referral=True),
        stay("city", 250000, 200000, day=date(2024, 9, 5))]


@pytest.mark.parametrize("group", [None, "低保", "返贫致贫"])
def test_settling_stay_by_stay_equals_settling_the_year(group):
    acc, splits = Accumulations(), []
    for s in YEAR:
        split, acc = settle_stay(POLICY, group, s, acc)
        splits.append(split)
    assert splits == settle_year(POLICY, group, YEAR)
    assert acc == splits[-1].after and acc.stays == 4


@pytest.mark.parametrize("index", range(len(YEAR)))
@pytest.mark.parametrize("group", [None, "低保"])
def test_reversal_resettles_later_stays_as_if_the_stay_never_was(index, group):
    splits = settle_year(POLICY, group, YEAR)
    after = reverse(POLICY, group, splits, index)
    expected = settle_year(POLICY, group, [s for i, s in enumerate(YEAR) if i != index])
    assert after == expected
    assert after[:index] == splits[:index]  # earlier stays are untouched
    if index < len(YEAR) - 1:
        assert after[index].before == splits[index].before  # restored exactly
    final = after[-1].after if after else Accumulations(year=2024)
    assert final == expected[-1].after


def test_reversing_the_last_stay_restores_the_accumulations_before_it():
    splits = settle_year(POLICY, "低保", YEAR)
    after = reverse(POLICY, "低保", splits, len(splits) - 1)
    assert after[-1].after == splits[-1].before


def test_reversal_then_resettlement_of_a_corrected_stay():
    splits = settle_year(POLICY, None, YEAR)
    corrected = replace(YEAR[1], in_policy=D("120000.00"))
    after = reverse(POLICY, None, splits, 1)
    # the corrected stay goes back in date order and everything after it follows
    redone = settle_from(POLICY, None, after[0].after, [corrected, *(s.stay for s in after[1:])])
    assert [*after[:1], *redone] == settle_year(POLICY, None, [YEAR[0], corrected, YEAR[2], YEAR[3]])


def test_reversal_of_an_unknown_position_is_refused():
    splits = settle_year(POLICY, None, YEAR)
    with pytest.raises(InvalidInput) as info:
        reverse(POLICY, None, splits, 4)
    assert info.value.field == "index"


def test_reversal_of_splits_that_do_not_follow_on_is_refused():
    splits = settle_year(POLICY, None, YEAR)
    with pytest.raises(InvalidState):
        reverse(POLICY, None, [splits[0], splits[2]], 0)


def test_accumulations_of_another_year_are_refused():
    _, acc = settle_stay(POLICY, None, stay("township", 5000, day=date(2024, 5, 1)))
    with pytest.raises(InvalidInput) as info:
        settle_stay(POLICY, None, stay("township", 5000, day=date(2025, 1, 2)), acc)
    assert info.value.field == "stay.date"


def test_accumulations_are_immutable():
    _, acc = settle_stay(POLICY, None, stay("township", 5000))
    with pytest.raises(AttributeError):
        acc.basic_paid = D(0)  # type: ignore[misc]


# --- bad input ------------------------------------------------------------------------------------
def test_in_policy_above_total_is_refused_naming_the_stay():
    with pytest.raises(InvalidInput) as info:
        settle_year(POLICY, None, [stay("township", 5000), stay("township", 5000, 5000.01)])
    assert [e.field for e in info.value.errors] == ["stays[1].in_policy"]
    assert info.value.errors[0].reason_key == "settlement.errors.in_policy_above_total"


def test_negative_amounts_unknown_levels_and_bad_fen_are_refused_together():
    with pytest.raises(InvalidInput) as info:
        settle_year(POLICY, None, [stay("village", 5000), Stay(date(2024, 1, 1), "city", D(-1), D(0)),
                                   Stay(date(2024, 1, 1), "city", D("1.005"), D(0))])
    assert {e.field: e.reason_key.rsplit(".", 1)[1] for e in info.value.errors} == {
        "stays[0].level": "level_unknown", "stays[1].total": "negative", "stays[2].total": "not_amount"}


def test_unknown_group_is_refused():
    with pytest.raises(InvalidInput) as info:
        settle_year(POLICY, "穷人", [stay("township", 5000)])
    assert info.value.field == "group"


def test_stays_of_two_years_are_refused():
    with pytest.raises(InvalidInput) as info:
        settle_year(POLICY, None, [stay("township", 5000, day=date(2024, 12, 30)),
                                   stay("township", 5000, day=date(2025, 1, 2))])
    assert info.value.field == "stays[1].date"


def test_stay_before_the_policy_takes_effect_is_refused():
    with pytest.raises(InvalidInput) as info:
        settle_year(POLICY, None, [stay("township", 5000, day=date(2021, 12, 31))])
    assert info.value.errors[0].reason_key == "settlement.errors.policy_not_in_force"


def test_single_stay_errors_name_the_stay():
    with pytest.raises(InvalidInput) as info:
        settle_stay(POLICY, None, stay("township", 100, 200))
    assert info.value.field == "stay.in_policy"


# --- randomized invariants ------------------------------------------------------------------------
def _money(lo: int, hi: int):
    return st.integers(lo, hi).map(lambda fen: D(fen) / 100)


@st.composite
def policies(draw) -> Policy:
    data = copy.deepcopy(SAMPLE)
    rate = st.integers(0, 100).map(lambda n: D(n) / 100)
    for level in data["basic"]["levels"].values():
        level["deductible"] = str(draw(_money(0, 200_000)))
        level["rate"] = str(draw(rate))
    data["basic"]["deductible_per"] = draw(st.sampled_from(["admission", "year"]))
    data["basic"]["annual_cap"] = draw(st.one_of(st.none(), _money(0, 20_000_000)).map(lambda v: v and str(v)))
    data["basic"]["downward_referral_waives_deductible"] = draw(st.booleans())
    ci = data["critical_illness"]
    ci["threshold"] = str(draw(_money(0, 2_000_000)))
    uptos = sorted(draw(st.sets(st.integers(1, 50_000_000), min_size=1, max_size=3)))
    base = D(ci["threshold"])
    bands = [{"upto": str(base + D(u) / 100), "rate": str(draw(st.integers(0, 95).map(lambda n: D(n) / 100)))}
             for u in uptos]
    if draw(st.booleans()):
        bands[-1]["upto"] = None
    ci["bands"] = bands
    ci["annual_cap"] = draw(st.one_of(st.none(), _money(0, 50_000_000)).map(lambda v: v and str(v)))
    ci["tilt"]["cap"] = draw(st.one_of(st.none(), _money(0, 50_000_000)).map(lambda v: v and str(v)))
    for label, g in data["assistance"]["groups"].items():
        floor = 70 if label in ("特困", "低保") else 0  # 国办发〔2021〕42号: 不低于70%
        g["rate"] = str(draw(st.integers(floor, 100).map(lambda n: D(n) / 100)))
        g["annual_cap"] = draw(st.one_of(st.none(), _money(0, 10_000_000)).map(lambda v: v and str(v)))
        g["deductible"] = str(draw(_money(0, 2_000_000)))
    tilt = data["assistance"]["tilt"]
    tilt["threshold"] = str(draw(_money(0, 5_000_000)))
    tilt["rate"] = str(draw(rate))
    tilt["annual_cap"] = draw(st.one_of(st.none(), _money(0, 5_000_000)).map(lambda v: v and str(v)))
    return parse_policy(data)


@st.composite
def stays(draw) -> list[Stay]:
    out = []
    for _ in range(draw(st.integers(0, 6))):
        total = draw(_money(0, 200_000_000))
        in_policy = draw(st.integers(0, int(total * 100)).map(lambda fen: D(fen) / 100))
        out.append(Stay(date=date(2024, 1, 1) + timedelta(days=draw(st.integers(0, 365))),
                        level=draw(st.sampled_from(["township", "county", "city"])),
                        total=total, in_policy=in_policy, downward_referral=draw(st.booleans()),
                        in_county=draw(st.booleans()), referred=draw(st.booleans())))
    return out


GROUPS = st.sampled_from([None, "特困", "低保", "返贫致贫", "脱贫", "min_living", "低保边缘", "因病致贫重病患者"])


def _fen_exact(d: Decimal) -> bool:
    return d == d.quantize(D("0.01"), rounding=ROUND_HALF_UP)


@settings(max_examples=200, deadline=None)
@given(policy=policies(), group=GROUPS, year=stays())
def test_parts_always_add_up_none_is_negative_and_caps_hold(policy, group, year):
    splits = settle_year(policy, group, year)
    ci = policy.critical_illness
    tilted = group in ("特困", "低保", "返贫致贫", "min_living")
    ci_cap = ci.tilt.cap if tilted else ci.annual_cap
    assist = policy.assistance.get({"特困": "extreme_poverty", "低保": "min_living", "返贫致贫": "poverty_relapse",
                                     "min_living": "min_living", "低保边缘": "near_min_living",
                                     "因病致贫重病患者": "illness_poverty"}.get(group or ""))
    acc = Accumulations(year=2024)
    for s in splits:
        assert s.fund_pays + s.patient_pays == s.total
        for name, value in s.amounts().items():
            assert value >= 0, name
            assert _fen_exact(value), name
        assert s.patient_pays >= s.out_of_policy
        assert s.deductible <= s.stay.in_policy
        assert s.before == acc
        acc = s.after
        if policy.basic.annual_cap is not None:
            assert acc.basic_paid <= policy.basic.annual_cap
        if ci_cap is not None:
            assert acc.critical_illness_paid <= ci_cap
        if assist is not None and assist.annual_cap is not None:
            assert acc.assistance_paid <= assist.annual_cap
        if assist is None:
            assert s.assistance_pays == s.assistance_deductible == s.tilt_assistance_pays == 0
        else:
            assert acc.assistance_deductible_paid <= assist.deductible
        tilt = policy.assistance_tilt
        if tilt is not None and tilt.annual_cap is not None:
            assert acc.tilt_assistance_paid <= tilt.annual_cap
        assert s.large_expense_pays == 0  # a resident policy has no 大额医疗费用补助


@settings(max_examples=100, deadline=None)
@given(policy=policies(), group=GROUPS, year=stays(), data=st.data())
def test_reversal_always_equals_settling_without_the_stay(policy, group, year, data):
    splits = settle_year(policy, group, year)
    if not splits:
        return
    index = data.draw(st.integers(0, len(splits) - 1))
    remaining = [s.stay for i, s in enumerate(splits) if i != index]
    assert reverse(policy, group, splits, index) == settle_year(policy, group, remaining)


@settings(max_examples=100, deadline=None)
@given(year=stays())
def test_critical_illness_over_a_year_does_not_depend_on_how_the_share_is_split(year):
    # without caps, the year's benefit is the band function of the year's share, rounded once
    p = policy_with(basic__annual_cap=None, critical_illness__annual_cap=None)
    splits = settle_year(p, None, year)
    if not splits:
        return
    share = splits[-1].after.in_policy_share
    ci = p.critical_illness
    due, lower = D(0), ci.threshold
    for band in ci.bands:
        top = share if band.upto is None else min(share, band.upto)
        if top > lower:
            due += (top - lower) * band.rate
        if band.upto is not None:
            lower = band.upto
    assert sum(s.critical_illness_pays for s in splits) == due.quantize(D("0.01"), rounding=ROUND_HALF_UP)
