"""The child-health schedule, growth and 体弱儿 rules, hand-worked.

Schedule: 国家基本公共卫生服务规范（第三版）, 0～6岁儿童健康管理服务规范 — 新生儿家庭访视 within 1 week of discharge,
满月 at 28–30 days, checks at 3, 6, 8, 12, 18, 24, 30, 36 months, then yearly at 4, 5, 6 years. The windows
around each age are weijian's reading (childcare.yaml: 15 days before to 30 after a month check, 30/60 around
a yearly one; VERIFY), worked here by calendar month arithmetic, not from the data file's numbers.

Growth: WHO Child Growth Standards (2006), the published tables "Weight-for-age BOYS/GIRLS, birth to 5 years
(z-scores)", "Length/height-for-age" and "Weight-for-length": each value below is the table's own entry
(median, −2 SD, +2 SD, to 0.1 kg / 0.1 cm), so its z-score is 0 or ±2 within the table's rounding."""
from __future__ import annotations

from datetime import date

import pytest

from weijian.care.childcare import rules


def windows(birth: date, as_of: date, done: dict[str, date] | None = None) -> dict[str, tuple[str, str, str]]:
    return {s.check: (s.start.isoformat(), s.end.isoformat(), s.status) for s in rules.schedule(birth, as_of, done)}


def test_the_schedule_has_the_thirteen_contacts_of_the_norm_in_order():
    assert rules.rules().codes == ("newborn", "m1", "m3", "m6", "m8", "m12", "m18", "m24", "m30", "m36",
                                   "y4", "y5", "y6")


def test_issue_example_born_15_january_judged_on_6_december():
    # newborn: birth (no discharge given) to +7 days; 满月: days 28–30 (12–14 Feb); m3: 15 Apr − 15 d = 31 Mar,
    # + 30 d = 15 May; m8: 15 Sep − 15 d = 31 Aug … 15 Oct; m12: 15 Jan 2027 − 15 d = 31 Dec 2026.
    w = windows(date(2026, 1, 15), date(2026, 12, 6), {"m8": date(2026, 9, 20)})
    assert w["newborn"] == ("2026-01-15", "2026-01-22", "overdue")
    assert w["m1"] == ("2026-02-12", "2026-02-14", "overdue")
    assert w["m3"] == ("2026-03-31", "2026-05-15", "overdue")
    assert w["m6"] == ("2026-06-30", "2026-08-14", "overdue")
    assert w["m8"] == ("2026-08-31", "2026-10-15", "done")
    assert w["m12"] == ("2026-12-31", "2027-02-14", "upcoming")
    assert w["y6"] == ("2031-12-16", "2032-03-15", "upcoming")


def test_a_window_is_due_on_both_ends_and_overdue_the_day_after():
    birth = date(2026, 1, 15)
    assert windows(birth, date(2026, 3, 30))["m3"][2] == "upcoming"
    assert windows(birth, date(2026, 3, 31))["m3"][2] == "due"
    assert windows(birth, date(2026, 5, 15))["m3"][2] == "due"
    assert windows(birth, date(2026, 5, 16))["m3"][2] == "overdue"


def test_a_check_recorded_after_the_day_judged_on_is_not_done_yet():
    assert windows(date(2026, 1, 15), date(2026, 4, 1), {"m3": date(2026, 4, 20)})["m3"][2] == "due"


def test_month_end_birth_31_january_is_three_months_old_on_30_april():
    # 31 Jan + 3 months = 30 Apr (no 31 April); 满月: 31 Jan + 28 days = 28 Feb, + 30 days = 2 Mar.
    w = windows(date(2026, 1, 31), date(2026, 4, 1))
    assert w["m1"][:2] == ("2026-02-28", "2026-03-02")
    assert w["m3"][:2] == ("2026-04-15", "2026-05-30")
    assert w["m6"][:2] == ("2026-07-16", "2026-08-30")  # 31 Jan + 6 months = 31 Jul
    assert rules.age_months(date(2026, 1, 31), date(2026, 4, 29)) == 2
    assert rules.age_months(date(2026, 1, 31), date(2026, 4, 30)) == 3


def test_leap_day_birth():
    # Born 29 Feb 2024: 12 months on 28 Feb 2025 (m12 13 Feb … 30 Mar 2025); 4 years on 29 Feb 2028 (a leap
    # year again): y4 from 30 Jan to 29 Apr 2028; 7 years on 28 Feb 2031, the day management ends.
    w = windows(date(2024, 2, 29), date(2025, 3, 1))
    assert w["m12"] == ("2025-02-13", "2025-03-30", "due")
    assert w["y4"][:2] == ("2028-01-30", "2028-04-29")
    assert rules.seventh_birthday(date(2024, 2, 29)) == date(2031, 2, 28)


def test_newborn_visit_runs_a_week_from_discharge():
    s = {c.check: c for c in rules.schedule(date(2026, 11, 20), date(2026, 11, 30), discharged=date(2026, 11, 24))}
    assert (s["newborn"].start, s["newborn"].end, s["newborn"].status) == (date(2026, 11, 24), date(2026, 12, 1), "due")


# --- growth against the WHO 2006 tables --------------------------------------------------------------------
@pytest.mark.parametrize(("sex", "days", "weight", "expected"), [
    ("male", 0, 3.3, 0.0), ("male", 0, 2.5, -2.0), ("male", 0, 4.4, 2.0),  # WFA boys, birth: M 3.3, −2 2.5, +2 4.4
    ("female", 0, 3.2, 0.0), ("female", 0, 2.4, -2.0), ("female", 0, 4.2, 2.0),  # girls, birth: 3.2, 2.4, 4.2
    ("male", 365, 9.6, 0.0), ("male", 365, 7.7, -2.0), ("male", 365, 12.0, 2.0),  # boys 12 months: 9.6, 7.7, 12.0
])
def test_weight_for_age_matches_the_who_table(sex, days, weight, expected):
    birth = date(2025, 1, 1)
    g = rules.assess_growth(sex=sex, birth=birth, on=date.fromordinal(birth.toordinal() + days), weight_kg=weight,
                            length_cm=None)
    assert g.wfa == pytest.approx(expected, abs=0.15)  # the table's values are rounded to 0.1 kg
    assert g.lhfa is None and g.wflh is None


@pytest.mark.parametrize(("sex", "days", "length", "expected"), [
    ("male", 0, 49.9, 0.0), ("male", 0, 46.1, -2.0), ("male", 0, 53.7, 2.0),  # LHFA boys, birth
    ("female", 365, 74.0, 0.0), ("female", 365, 68.9, -2.0), ("female", 365, 79.2, 2.0),  # girls, 12 months
])
def test_length_for_age_matches_the_who_table(sex, days, length, expected):
    birth = date(2025, 1, 1)
    g = rules.assess_growth(sex=sex, birth=birth, on=date.fromordinal(birth.toordinal() + days), weight_kg=None,
                            length_cm=length)
    assert g.lhfa == pytest.approx(expected, abs=0.05)


def test_weight_for_length_median_boys_75_cm():
    # WHO weight-for-length, boys, 75.0 cm: median 9.5 kg.
    g = rules.assess_growth(sex="male", birth=date(2025, 1, 1), on=date(2025, 11, 1), weight_kg=9.5, length_cm=75.0)
    assert g.wflh == pytest.approx(0.0, abs=0.1)


def test_no_who_2006_z_scores_past_five_years():
    g = rules.assess_growth(sex="male", birth=date(2020, 1, 1), on=date(2025, 6, 1), weight_kg=19, length_cm=110)
    assert g == rules.Growth(None, None, None)


def test_frail_reasons_below_minus_two_and_anaemia_by_age():
    low = rules.Growth(-2.01, -2.5, -1.99)
    assert rules.frail_reasons(low, haemoglobin_g_l=None, months=12) == ["underweight", "stunting"]
    ok = rules.Growth(-2.0, -2.0, -2.0)  # exactly −2 SD is not below it
    assert rules.frail_reasons(ok, haemoglobin_g_l=None, months=12) == []
    # WHO: anaemia under 110 g/L at 6–59 months, under 115 g/L at 5–11 years; not screened before 6 months.
    assert rules.frail_reasons(ok, haemoglobin_g_l=109, months=6) == ["anaemia"]
    assert rules.frail_reasons(ok, haemoglobin_g_l=110, months=59) == []
    assert rules.frail_reasons(ok, haemoglobin_g_l=114, months=60) == ["anaemia"]
    assert rules.frail_reasons(ok, haemoglobin_g_l=90, months=5) == []
    assert rules.severity(-2.5) == "moderate" and rules.severity(-3.1) == "severe" and rules.severity(-1.0) is None
