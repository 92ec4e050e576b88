"""序时进度, the rule of issue 18 part 2, on hand-worked dates: expected share = elapsed days ÷ total days, both
counted inclusively (the start and the as-of day included); actual share = done ÷ target; behind when actual <
expected − tolerance, ahead when actual > expected + tolerance. A share exactly at expected ± tolerance is
on_track (both comparisons are strict, and are made in exact fractions, so 0.45 is exactly 0.5 − 0.05). The
day counts below are counted by hand from the calendar, not from the code."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from weijian.core.errors import InvalidInput
from weijian.ledgers.projects.rules import progress, rules


def test_the_issue_example_98_of_150_on_30_september_is_behind():
    """2026 is not a leap year: 365 days; 1 January – 30 September is 31+28+31+30+31+30+31+31+30 = 273 days.
    Expected 273/365 = 0.74794… → 0.7479; actual 98/150 = 0.65333… → 0.6533 < 0.7479 − 0.05: behind;
    expected done 150 × 273/365 = 112.19."""
    got = progress(start=date(2026, 1, 1), end=date(2026, 12, 31), target=150, done=98, as_of=date(2026, 9, 30))
    assert (got.total_days, got.elapsed_days) == (365, 273)
    assert got.expected_share == Fraction(273, 365)
    assert got.rounded() == {"expected_share": 0.7479, "actual_share": 0.6533, "expected_done": 112.19,
                             "status": "behind"}
    assert got.colour == "red"


def test_a_leap_year_has_366_days_and_29_february_counts():
    """2024: 366 days; 1 January – 29 February is 31 + 29 = 60 days: 60/366 = 0.16393… → 0.1639. The same day
    count in 2026 ends on 1 March (31 + 28 + 1) and is 60/365 = 0.16438… → 0.1644."""
    leap = progress(start=date(2024, 1, 1), end=date(2024, 12, 31), target=366, done=60, as_of=date(2024, 2, 29))
    assert (leap.total_days, leap.elapsed_days) == (366, 60)
    assert leap.rounded()["expected_share"] == 0.1639
    assert leap.status == "on_track" and leap.colour == "green"  # actual equals expected
    plain = progress(start=date(2026, 1, 1), end=date(2026, 12, 31), target=365, done=60, as_of=date(2026, 3, 1))
    assert (plain.total_days, plain.elapsed_days) == (365, 60)
    assert plain.rounded()["expected_share"] == 0.1644


def test_a_project_across_29_february():
    """1 December 2023 – 31 March 2024: 31 + 31 + 29 + 31 = 122 days; to 29 February 2024: 31 + 31 + 29 = 91:
    91/122 = 0.74590… → 0.7459."""
    got = progress(start=date(2023, 12, 1), end=date(2024, 3, 31), target=100, done=75, as_of=date(2024, 2, 29))
    assert (got.total_days, got.elapsed_days) == (122, 91)
    assert got.rounded()["expected_share"] == 0.7459
    assert got.status == "on_track"


def test_the_start_day_itself_counts_one_day():
    got = progress(start=date(2026, 1, 1), end=date(2026, 12, 31), target=365, done=0, as_of=date(2026, 1, 1))
    assert got.elapsed_days == 1 and got.expected_share == Fraction(1, 365)
    assert got.status == "on_track"  # 0 ≥ 1/365 − 0.05


def test_before_the_start_the_expected_share_is_0():
    """Nothing is expected yet: 0 done is on track; 10 of 150 (0.0667 > 0 + 0.05) is ahead."""
    early = progress(start=date(2026, 1, 1), end=date(2026, 12, 31), target=150, done=0, as_of=date(2025, 12, 31))
    assert early.elapsed_days == 0 and early.expected_share == 0
    assert early.rounded() == {"expected_share": 0.0, "actual_share": 0.0, "expected_done": 0.0,
                               "status": "on_track"}
    ahead = progress(start=date(2026, 1, 1), end=date(2026, 12, 31), target=150, done=10, as_of=date(2025, 6, 1))
    assert ahead.status == "ahead"


def test_after_the_end_the_expected_share_is_1():
    """Everything is expected: 150 of 150 on track, 140 of 150 (0.9333 < 1 − 0.05) behind."""
    done = progress(start=date(2026, 1, 1), end=date(2026, 12, 31), target=150, done=150, as_of=date(2027, 3, 1))
    assert done.elapsed_days == 365 and done.expected_share == 1
    assert done.rounded()["expected_done"] == 150.0 and done.status == "on_track"
    late = progress(start=date(2026, 1, 1), end=date(2026, 12, 31), target=150, done=140, as_of=date(2027, 3, 1))
    assert late.status == "behind"


# 1 January – 10 April 2026 is 31 + 28 + 31 + 10 = 100 days; to 19 February: 31 + 19 = 50: expected exactly 1/2.
HALF = {"start": date(2026, 1, 1), "end": date(2026, 4, 10), "target": 100, "as_of": date(2026, 2, 19)}


@pytest.mark.parametrize(("done", "status", "colour"), [
    ("44.99", "behind", "red"),
    ("45", "on_track", "amber"),     # exactly expected − tolerance: on_track (the comparison is strict)
    ("50", "on_track", "green"),
    ("55", "on_track", "green"),     # exactly expected + tolerance: on_track
    ("55.01", "ahead", "green"),
])
def test_the_boundaries_at_plus_and_minus_the_tolerance_are_on_track(done, status, colour):
    got = progress(**HALF, done=Decimal(done))
    assert got.expected_share == Fraction(1, 2)
    assert (got.status, got.colour) == (status, colour)


def test_the_tolerance_is_per_project():
    """With 10 points at half time: 41 of 100 is on track, 40 (exactly 0.5 − 0.1) on track, 39 behind."""
    assert progress(**HALF, done=41, tolerance=Decimal("0.10")).status == "on_track"
    assert progress(**HALF, done=40, tolerance=Decimal("0.10")).status == "on_track"
    assert progress(**HALF, done=39, tolerance=Decimal("0.10")).status == "behind"


def test_the_default_tolerance_is_5_points():
    assert rules().default_tolerance == Decimal("0.05")


def test_a_one_day_project_is_allowed_and_one_ending_before_it_starts_is_refused():
    one = progress(start=date(2026, 5, 1), end=date(2026, 5, 1), target=1, done=1, as_of=date(2026, 5, 1))
    assert one.total_days == 1 and one.expected_share == 1
    with pytest.raises(InvalidInput) as exc:
        progress(start=date(2026, 5, 2), end=date(2026, 5, 1), target=1, done=0, as_of=date(2026, 5, 1))
    assert exc.value.errors[0].field == "ends_on"


@pytest.mark.parametrize(("over", "field"), [({"target": 0}, "target"), ({"done": -1}, "done"),
                                             ({"tolerance": 1}, "tolerance")])
def test_a_target_not_above_0_negative_done_or_a_tolerance_of_1_is_refused(over, field):
    values = {**HALF, "done": 1, **over}
    with pytest.raises(InvalidInput) as exc:
        progress(**values)
    assert exc.value.errors[0].field == field
