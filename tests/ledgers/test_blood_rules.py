"""The intervals and age limits of GB 18467-2011 献血者健康检查要求 (in force 2012-07-01), as
/work/shared/domain/clinical-norms.md §d gives them from copies of the text: whole blood → whole blood ≥ 6
months (also 献血法 Art. 9: 两次采集间隔期不少于六个月); platelets → platelets ≥ 2 weeks; platelets → whole
blood ≥ 4 weeks; whole blood → platelets ≥ 3 months; age 18–55, a repeat donor without an adverse reaction
to 60; whole blood 200, 300 or 400 ml; platelets 1–2 therapeutic units. The honours count of the
全国无偿献血表彰奖励办法（2009年修订）: whole blood per 200 ml = 1, a platelet unit = 1; 铜奖 20, 银奖 30, 金奖 40.

Each expected date below is worked by hand from the calendar, not read from data/blood.yaml: "6 months after
31 August" is 28 February (29 in a leap year), the last day of a shorter month."""
from __future__ import annotations

from datetime import date

import pytest

from weijian.ledgers.blood import rules


@pytest.mark.parametrize(("last", "expected"), [
    (date(2026, 1, 15), date(2026, 7, 15)),
    (date(2026, 8, 31), date(2027, 2, 28)),   # February 2027 has 28 days
    (date(2027, 8, 31), date(2028, 2, 29)),   # 2028 is a leap year
    (date(2027, 8, 29), date(2028, 2, 29)),
    (date(2026, 12, 31), date(2027, 6, 30)),  # June has 30 days
    (date(2028, 2, 29), date(2028, 8, 29)),
])
def test_whole_blood_follows_whole_blood_after_six_calendar_months(last, expected):
    assert rules.earliest_next("whole_blood", last, "whole_blood") == expected


@pytest.mark.parametrize(("last", "expected"), [
    (date(2026, 11, 30), date(2027, 2, 28)),  # 30 November + 3 months: 28 February
    (date(2027, 11, 30), date(2028, 2, 29)),  # … 29 in a leap year
    (date(2026, 5, 31), date(2026, 8, 31)),
    (date(2026, 10, 31), date(2027, 1, 31)),  # across the year end
])
def test_platelets_follow_whole_blood_after_three_months(last, expected):
    assert rules.earliest_next("whole_blood", last, "platelets") == expected


@pytest.mark.parametrize(("last", "expected"), [
    (date(2026, 2, 20), date(2026, 3, 6)),    # 14 days: 8 days left of February 2026, 6 of March
    (date(2028, 2, 20), date(2028, 3, 5)),    # the leap day counts
    (date(2026, 12, 25), date(2027, 1, 8)),
])
def test_platelets_follow_platelets_after_two_weeks(last, expected):
    assert rules.earliest_next("platelets", last, "platelets") == expected


@pytest.mark.parametrize(("last", "expected"), [
    (date(2026, 2, 10), date(2026, 3, 10)),   # 28 days in February 2026
    (date(2028, 2, 10), date(2028, 3, 9)),    # 29 in February 2028
    (date(2026, 12, 15), date(2027, 1, 12)),
])
def test_whole_blood_follows_platelets_after_four_weeks(last, expected):
    assert rules.earliest_next("platelets", last, "whole_blood") == expected


@pytest.mark.parametrize(("birth", "day", "age"), [
    (date(2008, 12, 8), date(2026, 12, 8), 18),   # the 18th birthday itself
    (date(2008, 12, 9), date(2026, 12, 8), 17),
    (date(2008, 2, 29), date(2026, 2, 28), 17),   # born on a leap day: the birthday is 1 March in a common year
    (date(2008, 2, 29), date(2026, 3, 1), 18),
    (date(2008, 2, 29), date(2028, 2, 29), 20),
    (date(1970, 12, 9), date(2026, 12, 8), 55),   # the day before the 56th birthday
    (date(1970, 12, 8), date(2026, 12, 8), 56),
])
def test_age_is_counted_in_completed_years(birth, day, age):
    assert rules.age_on(birth, day) == age


def test_the_file_holds_the_limits_of_the_standard():
    r = rules.rules()
    assert (r.age.min, r.age.max, r.age.repeat_max) == (18, 55, 60)
    assert r.kinds["whole_blood"].volumes_ml == (200, 300, 400)
    assert r.kinds["platelets"].units == (1, 2) and r.kinds["platelets"].max_per_year == 24


@pytest.mark.parametrize(("kind", "volume", "units", "count"), [
    ("whole_blood", 200, None, 1), ("whole_blood", 300, None, 1), ("whole_blood", 400, None, 2),
    ("platelets", None, 1, 1), ("platelets", None, 2, 2),
])
def test_a_donation_counts_per_200_ml_or_per_platelet_unit(kind, volume, units, count):
    assert rules.honours_count(kind, volume, units) == count


@pytest.mark.parametrize(("count", "award"), [(19, None), (20, "bronze"), (29, "bronze"), (30, "silver"),
                                              (39, "silver"), (40, "gold"), (120, "gold")])
def test_the_dedication_awards_start_at_20_30_and_40_donations(count, award):
    got = rules.award_for(count)
    assert (got.code if got else None) == award


def test_a_file_without_an_interval_for_a_pair_is_refused(tmp_path):
    text = rules.DATA_FILE.read_text(encoding="utf-8").replace("    platelets: {months: 3}\n", "")
    bad = tmp_path / "blood.yaml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(rules.RulesInvalid):
        rules.load(bad)
