"""Early-warning methods on hand-computed series (surveillance.detection). Each test's docstring names the
method's source; the expected figures are worked out by hand in the test, not by the code under test."""
from __future__ import annotations

import statistics
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weijian.surveillance import detection as d

D0 = date(2026, 1, 1)


def series(*counts: int, start: date = D0) -> dict[date, int]:
    return {start + timedelta(days=i): n for i, n in enumerate(counts)}


def at(rows, day: date):
    return next(r for r in rows if r.date == day)


# --- fixed threshold and cluster ---------------------------------------------------------------------
def test_fixed_threshold_one_case_is_a_signal_and_missing_days_are_zero():
    """CIDARS (Yang et al. 2011, WPSAR doi:10.5365/wpsar.2010.1.1.009): the fixed-threshold method signals
    on a single case of a rare or severe disease (plague, cholera …)."""
    rows = d.fixed({D0: 0, D0 + timedelta(days=1): 1, D0 + timedelta(days=3): 2})
    assert [(r.date, r.value, r.signal) for r in rows] == [
        (D0, 0, False), (D0 + timedelta(days=1), 1, True), (D0 + timedelta(days=2), 0, False),
        (D0 + timedelta(days=3), 2, True)]
    assert {r.method for r in rows} == {"fixed"} and {r.threshold for r in rows} == {1}


def test_fixed_threshold_is_reached_at_the_threshold():
    """A fixed threshold of T cases: T cases on one day is a signal, T − 1 is not."""
    rows = d.fixed(series(1, 2, 3), threshold=2)
    assert [r.signal for r in rows] == [False, True, True]


def test_cluster_two_cases_in_fourteen_days():
    """Issue 16: measles, 2 cases in 14 days in one township. Cases on day 0 and day 13 fall in one 14-day
    window (days 0–13): a signal on day 13. Cases on day 0 and day 14 never share one: no signal."""
    within = series(1, *([0] * 12), 1, 0)  # days 0 … 14
    rows = d.cluster(within, cases=2, days=14)
    assert rows[0].date == D0 + timedelta(days=13)  # the first 13 days have not enough history
    assert [(r.date.day - 1, r.value, r.signal) for r in rows] == [(13, 2, True), (14, 1, False)]
    apart = series(1, *([0] * 13), 1)
    assert [r.signal for r in d.cluster(apart, cases=2, days=14)] == [False, False]


def test_too_little_history_for_a_cluster_gives_no_rows():
    assert d.cluster(series(5, 5, 5), cases=2, days=14) == []
    assert d.fixed({}) == []


# --- moving percentile (CIDARS) ----------------------------------------------------------------------
def test_percentile_is_numpys_linear_interpolation():
    """numpy.percentile(a, q) with method="linear": h = (n − 1)·q/100, a[⌊h⌋] + (h − ⌊h⌋)(a[⌊h⌋+1] − a[⌊h⌋]).
    For 0 … 14: P80 → h = 11.2 → 11.2; P50 → 7. For [0,0,0,1,1,2,2,3,3,3,4,5,6,8,20]: P75 → h = 10.5 → 4.5;
    P95 → h = 13.3 → 8 + 0.3·12 = 11.6."""
    assert d.percentile(list(range(15)), 80) == pytest.approx(11.2)
    assert d.percentile(list(range(15)), 50) == 7
    values = [20, 0, 3, 1, 2, 0, 3, 8, 1, 0, 4, 2, 6, 3, 5]
    assert d.percentile(values, 75) == pytest.approx(4.5)
    assert d.percentile(values, 95) == pytest.approx(11.6)
    assert d.percentile([4], 80) == 4


T = date(2026, 12, 7)


def cidars_series(current: int, baseline: list[int], day: date = T) -> dict[date, int]:
    """Zero everywhere from the earliest day the method needs, with `baseline[3(k−1) + j]` cases on the last
    day of the previous (j = 0), same (1) and next (2) 7-day window of year k before `day`, and `current`
    cases on `day`."""
    counts: dict[date, int] = {}
    first = d.years_before(day, 5) - timedelta(days=13)
    for i in range((day - first).days + 1):
        counts[first + timedelta(days=i)] = 0
    for k in range(1, 6):
        same_end = d.years_before(day, k)
        for j, shift in enumerate((-7, 0, 7)):
            counts[same_end + timedelta(days=shift)] = baseline[3 * (k - 1) + j]
    counts[day] = current
    return counts


def test_moving_percentile_compares_the_week_with_fifteen_windows_of_five_years():
    """CIDARS' moving percentile method (Yang et al. 2011, WPSAR doi:10.5365/wpsar.2010.1.1.009; issue 16): the
    count of the 7 days ending on the day against the same, previous and next 7-day windows of each of the 5
    previous years (15 values); a signal when it exceeds Px. With the 15 windows holding 0 … 14 cases, P80 is
    11.2: 12 cases is a signal, 11 is not."""
    baseline = list(range(15))
    rows = d.moving_percentile(cidars_series(12, baseline), px=80)
    row = at(rows, T)
    assert (row.method, row.value, row.threshold, row.signal) == ("moving-percentile", 12, pytest.approx(11.2), True)
    assert at(d.moving_percentile(cidars_series(11, baseline), px=80), T).signal is False


def test_moving_percentile_at_the_percentile_is_not_a_signal():
    """"Exceeds Px": with 0 … 14 and P50 = 7, a week of exactly 7 cases is no signal, 8 is."""
    baseline = list(range(15))
    assert at(d.moving_percentile(cidars_series(7, baseline), px=50), T).signal is False
    assert at(d.moving_percentile(cidars_series(8, baseline), px=50), T).signal is True


def test_moving_percentile_needs_five_years_and_two_weeks_of_history():
    """The earliest day used is the first day of the previous window 5 years back: (T − 5 years) − 13 days.
    The first row is on T; a series starting one day later has no row on T."""
    counts = cidars_series(3, list(range(15)))
    rows = d.moving_percentile(counts, px=80)
    assert rows[0].date == T
    later = {k: v for k, v in counts.items() if k > min(counts)}
    assert all(r.date != T for r in d.moving_percentile(later, px=80))


def test_a_year_back_from_29_february_is_28_february():
    assert d.years_before(date(2028, 2, 29), 1) == date(2027, 2, 28)
    assert d.years_before(date(2028, 2, 29), 4) == date(2024, 2, 29)


# --- EARS -------------------------------------------------------------------------------------------
# A baseline of mean 1 and sample standard deviation 1: 0,0,0,1,2,2,2 (deviations −1,−1,−1,0,1,1,1; squares
# sum to 6; 6 / (7 − 1) = 1).
BASE = (0, 0, 0, 1, 2, 2, 2)


def test_ears_c1_against_the_previous_seven_days():
    """EARS C1 (Hutwagner et al. 2003, J Urban Health 80(2 Suppl 1):i89–i96; issue 16): C1_t = (x_t − μ)/σ with
    μ, σ the mean and sample standard deviation (n − 1) of days t−7 … t−1. After BASE (μ = 1, σ = 1) a day of
    5 cases gives C1 = 4 > 3: a signal."""
    rows = d.ears_c1(series(*BASE, 5))
    assert len(rows) == 1
    row = rows[0]
    assert (row.date, row.method, row.value, row.threshold, row.signal) == (D0 + timedelta(days=7), "ears-c1", 4, 3, True)


def test_ears_c1_exactly_at_the_threshold_is_not_a_signal():
    """"Signal when C1 > 3": after BASE, 4 cases give C1 = (4 − 1)/1 = 3 exactly: no signal."""
    row = d.ears_c1(series(*BASE, 4))[0]
    assert row.value == 3 and row.signal is False


def test_ears_c1_with_an_irrational_sigma():
    """Baseline 1,1,1,1,1,1,8: μ = 2, σ² = (7·70 − 14²)/(7·6) = 7, σ = √7 ≈ 2.6458. x = 10 gives C1 = 8/√7 ≈ 3.024
    > 3 (a signal); x = 9 gives 7/√7 = √7 ≈ 2.646 (none)."""
    assert d.ears_c1(series(1, 1, 1, 1, 1, 1, 8, 10))[0].value == pytest.approx(8 / 7 ** 0.5)
    assert d.ears_c1(series(1, 1, 1, 1, 1, 1, 8, 10))[0].signal is True
    row = d.ears_c1(series(1, 1, 1, 1, 1, 1, 8, 9))[0]
    assert row.value == pytest.approx(7 ** 0.5) and row.signal is False


def test_ears_c2_skips_the_two_days_before():
    """EARS C2: the baseline is days t−9 … t−3 (two days' lag). BASE, then two days of 100 cases, then 4: C2 =
    (4 − 1)/1 = 3 — the 100s are not in the baseline — and 3 is not above 3."""
    rows = d.ears_c2(series(*BASE, 100, 100, 4))
    assert len(rows) == 1 and rows[0].date == D0 + timedelta(days=9)
    assert (rows[0].value, rows[0].signal) == (3, False)
    assert d.ears_c2(series(*BASE, 100, 100, 5))[0].signal is True


# Days 0–8 = 0,0,0,1,2,2,2,0,0: the C2 baselines of days 9, 10 and 11 (days 0–6, 1–7, 2–8) each have mean 1
# and standard deviation 1, so C2_i = x_i − 1 there and C3_11 = Σ max(0, x_i − 2) over days 9, 10, 11.
C3_BASE = (*BASE, 0, 0)


def test_ears_c3_sums_the_c2_excess_over_three_days():
    """EARS C3 (issue 16): C3_t = Σ max(0, C2_i − 1) for i = t−2 … t; a signal when C3 > 2. Days 9–11 with
    3, 2, 4 cases: C2 = 2, 1, 3 → C3 = 1 + 0 + 2 = 3 > 2."""
    rows = d.ears_c3(series(*C3_BASE, 3, 2, 4))
    assert len(rows) == 1 and rows[0].date == D0 + timedelta(days=11)
    assert (rows[0].method, rows[0].value, rows[0].threshold, rows[0].signal) == ("ears-c3", 3, 2, True)


def test_ears_c3_exactly_at_the_threshold_is_not_a_signal():
    """Days 9–11 with 3, 2, 3 cases: C3 = 1 + 0 + 1 = 2, not above 2."""
    row = d.ears_c3(series(*C3_BASE, 3, 2, 3))[0]
    assert row.value == 2 and row.signal is False


def test_too_little_history_for_ears():
    """C1 needs 7 days before the day, C2 9, C3 11 (C2 on the two days before too)."""
    assert d.ears_c1(series(*BASE)) == []
    assert d.ears_c2(series(*BASE, 0, 0)) == []
    assert d.ears_c3(series(*C3_BASE, 1, 1)) == []
    assert len(d.ears_c3(series(*C3_BASE, 1, 1, 1))) == 1


def test_ears_with_a_flat_baseline_follows_the_sigma_zero_rule():
    """σ = 0 (seven days of 2 cases): C1 has no value. "signal_if_above_mean" (the data file's default):
    3 cases is a signal, 2 is not; "no_value": never a signal."""
    flat = (2,) * 7
    above = d.ears_c1(series(*flat, 3))[0]
    assert (above.value, above.signal) == (None, True)
    assert d.ears_c1(series(*flat, 2))[0].signal is False
    assert d.ears_c1(series(*flat, 3), sigma_zero="no_value")[0].signal is False
    c3 = d.ears_c3(series(*(2,) * 11, 5))[0]
    assert (c3.value, c3.signal) == (None, True)
    assert d.ears_c3(series(*(2,) * 11, 5), sigma_zero="no_value")[0].signal is False


def test_detect_dispatches_by_name_and_refuses_an_unknown_method():
    assert d.detect("ears-c1", series(*BASE, 4), threshold=2.5)[0].signal is True
    assert d.detect("cluster", series(1, 1), threshold=2, window_days=2)[0].signal is True
    with pytest.raises(ValueError, match="unknown method"):
        d.detect("cusum", series(1))


# --- properties -------------------------------------------------------------------------------------
counts = st.lists(st.integers(min_value=0, max_value=50), min_size=8, max_size=40)


@settings(max_examples=60, deadline=None)
@given(xs=counts, shift=st.integers(min_value=1, max_value=1000))
def test_adding_a_constant_to_every_count_leaves_c1_unchanged(xs, shift):
    """C1 = (x_t − μ)/σ is unchanged when every count grows by the same constant (μ grows by it, σ does not)."""
    before = d.ears_c1(series(*xs))
    after = d.ears_c1(series(*(x + shift for x in xs)))
    for a, b in zip(before, after, strict=True):
        if a.value is None:
            assert b.value is None
        else:
            assert b.value == pytest.approx(a.value, rel=1e-9, abs=1e-9)
            assert a.signal == b.signal


@settings(max_examples=60, deadline=None)
@given(xs=st.lists(st.integers(min_value=0, max_value=100), min_size=2, max_size=30),
       px=st.integers(min_value=1, max_value=99))
def test_percentile_matches_the_inclusive_quantiles_of_the_standard_library(xs, px):
    """statistics.quantiles(method="inclusive") is the same linear interpolation (R type 7, numpy's default)."""
    assert float(d.percentile(xs, px)) == pytest.approx(statistics.quantiles(xs, n=100, method="inclusive")[px - 1])


@settings(max_examples=40, deadline=None)
@given(xs=st.lists(st.integers(min_value=0, max_value=6), min_size=0, max_size=60),
       method=st.sampled_from(["fixed", "cluster", "ears-c1", "ears-c2", "ears-c3"]))
def test_signals_only_gives_the_signalling_rows_of_the_full_run(xs, method):
    """A daily run keeps only signals and skips days without a case near them: the same signals as a full run."""
    counts = {D0 + timedelta(days=i): x for i, x in enumerate(xs) if x}
    end = D0 + timedelta(days=max(len(xs) - 1, 0))
    full = [r for r in d.detect(method, counts, start=D0, end=end) if r.signal]
    assert d.detect(method, counts, start=D0, end=end, signals_only=True) == full


def test_signals_only_for_the_moving_percentile():
    baseline = list(range(15))
    counts = {k: v for k, v in cidars_series(12, baseline).items() if v}
    start = d.years_before(T, 5) - timedelta(days=13)
    rows = d.moving_percentile(counts, px=80, start=start, end=T, signals_only=True)
    assert [(r.date, r.signal) for r in rows] == [(T, True)]
    full = [r for r in d.moving_percentile(counts, px=80, start=start, end=T) if r.signal]
    assert rows == full


def test_the_days_a_series_covers_can_be_given():
    """A sparse series (only days with cases) covers the days named: the zeros before its first case count as
    history; a count outside the days named is an error."""
    counts = {D0 + timedelta(days=7): 1}
    assert d.ears_c1(counts) == []
    rows = d.ears_c1(counts, start=D0)
    assert [(r.date, r.value, r.signal) for r in rows] == [(D0 + timedelta(days=7), None, True)]
    with pytest.raises(ValueError, match="outside"):
        d.fixed(counts, start=D0 + timedelta(days=8))


def test_since_gives_rows_from_that_day_with_the_history_before_it():
    counts = series(*BASE, 5, 4)
    rows = d.ears_c1(counts, since=D0 + timedelta(days=8))
    assert [r.date for r in rows] == [D0 + timedelta(days=8)]
    assert rows == d.ears_c1(counts)[1:]
