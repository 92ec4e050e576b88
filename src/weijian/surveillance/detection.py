"""Early-warning detection on one daily count series (pure functions, no database): fixed threshold, cluster
(N cases in D days), CIDARS' moving percentile and EARS C1 / C2 / C3.

Input is a mapping date → count; days missing between the first and the last date count zero, days before
the first are unknown (a date whose method needs them has not enough history and gives no row). Output is
one `Row` per date that has enough history, in date order.

Boundaries: the fixed threshold and the cluster rule signal when the count *reaches* the threshold (1 case of
plague, 2 cases of measles in 14 days); the moving percentile and EARS signal when the value *exceeds* it (a
value exactly at the threshold is not a signal). Sums are kept in integers and a value within rounding of
its threshold is compared exactly, so that the boundary does not depend on floating-point noise.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from functools import lru_cache
from itertools import accumulate
from operator import mul
from typing import Literal

SigmaZero = Literal["no_value", "signal_if_above_mean"]
METHOD_NAMES = ("fixed", "cluster", "moving-percentile", "ears-c1", "ears-c2", "ears-c3")
EARS_BASELINE = 7  # days in the EARS baseline (C1: t−7 … t−1; C2 and C3: t−9 … t−3)
EARS_C2_LAG = 2
_NEAR = 1e-9


@dataclass(frozen=True, slots=True)
class Row:
    date: date
    method: str
    value: float | None  # None: no value (EARS with σ = 0, when the data file says so)
    threshold: float
    signal: bool


class Series:
    """A daily series from `first` (missing days zero) with its running sums: what every method reads. Build
    it once with `series()` and hand it to several methods, which then share its sums."""

    def __init__(self, first: date, xs: list[int], nonzero: list[int] | None = None) -> None:
        self.first = first
        self.xs = xs
        self.p = list(accumulate(xs, initial=0))  # p[i] = xs[0] + … + xs[i − 1]
        self._q: list[int] | None = None
        self.nonzero = nonzero if nonzero is not None else [i for i, x in enumerate(xs) if x]

    @property
    def last(self) -> date:
        return self.first + timedelta(days=len(self.xs) - 1)

    @property
    def q(self) -> list[int]:
        """Running sums of the squared counts (EARS' standard deviations)."""
        if self._q is None:
            self._q = list(accumulate(map(mul, self.xs, self.xs), initial=0))
        return self._q

    def day(self, i: int) -> date:
        return _days_from(self.first, len(self.xs))[i]


Counts = Mapping[date, int] | Series


@lru_cache(maxsize=64)
def _days_from(first: date, n: int) -> tuple[date, ...]:
    # The dates of a series' days: many series of one run share them.
    return tuple(first + timedelta(days=i) for i in range(n))


@lru_cache(maxsize=64)
def _years_back(first: date, n: int, years: int) -> tuple[tuple[int, ...], ...]:
    """For each day index of a series of n days from `first`: the indexes of the same day 1 … `years` years
    earlier (negative when before the series)."""
    return tuple(tuple((years_before(day, k) - first).days for k in range(1, years + 1))
                 for day in _days_from(first, n))


def series(counts: Counts, *, start: date | None = None, end: date | None = None) -> Series | None:
    """The series of `counts` over start … end (default: its first and last dates); None when empty. A count
    outside start … end is a ValueError (days before `start` are unknown, not zero). A Series is returned as
    it is (start and end, if given, must be its own)."""
    if isinstance(counts, Series):
        if (start is not None and start != counts.first) or (end is not None and end != counts.last):
            raise ValueError("a Series covers its own days: start and end must be its first and last")
        return counts
    if not counts and (start is None or end is None):
        return None
    first = start if start is not None else min(counts)
    last = end if end is not None else max(counts)
    if last < first:
        if counts:
            raise ValueError(f"counts given outside {first.isoformat()} … {last.isoformat()}")
        return None
    xs = [0] * ((last - first).days + 1)
    nonzero = []
    for day, n in counts.items():
        i = (day - first).days
        if not 0 <= i < len(xs):
            raise ValueError(f"a count on {day.isoformat()} is outside {first.isoformat()} … {last.isoformat()}")
        xs[i] = int(n)
        if n:
            nonzero.append(i)
    nonzero.sort()
    return Series(first, xs, nonzero)


def dense(counts: Mapping[date, int]) -> tuple[date | None, list[int]]:
    """The first date and the daily counts from it to the last date (missing days zero)."""
    s = series(counts)
    return (None, []) if s is None else (s.first, s.xs)


def _days(s: Series, earliest: int, span: int, signals_only: bool, since: date | None) -> Iterable[int]:
    """The day indexes to evaluate: every one from `earliest` (and from `since`), or — when only signals are
    wanted — those with a case on the day or in the `span` − 1 days before (no method can signal without one)."""
    n = len(s.xs)
    if since is not None:
        earliest = max(earliest, (since - s.first).days)
    if not signals_only:
        return range(max(earliest, 0), n)
    out: list[int] = []
    last = max(earliest, 0) - 1
    for j in s.nonzero:
        lo, hi = max(j, last + 1), min(j + span - 1, n - 1)
        if lo <= hi:
            out.extend(range(lo, hi + 1))
            last = hi
    return out


# --- fixed threshold and cluster -------------------------------------------------------------------
def fixed(counts: Counts, *, threshold: int = 1, start: date | None = None, end: date | None = None,
          since: date | None = None, signals_only: bool = False) -> list[Row]:
    """A signal on each day whose count reaches `threshold` (CIDARS' fixed-threshold method: one case of a
    rare or severe disease is a signal)."""
    s = series(counts, start=start, end=end)
    if s is None:
        return []
    xs = s.xs
    return [Row(s.day(i), "fixed", float(xs[i]), float(threshold), xs[i] >= threshold)
            for i in _days(s, 0, 1, signals_only, since) if xs[i] >= threshold or not signals_only]


def cluster(counts: Counts, *, cases: int = 2, days: int = 14, start: date | None = None,
            end: date | None = None, since: date | None = None, signals_only: bool = False) -> list[Row]:
    """A signal on each day on which the `days` days ending that day hold `cases` cases or more (measles:
    2 in 14 days in one township). The first `days` − 1 days have not enough history."""
    s = series(counts, start=start, end=end)
    if s is None:
        return []
    p = s.p
    rows = []
    for i in _days(s, days - 1, days, signals_only, since):
        total = p[i + 1] - p[i + 1 - days]
        if total >= cases or not signals_only:
            rows.append(Row(s.day(i), "cluster", float(total), float(cases), total >= cases))
    return rows


# --- moving percentile (CIDARS) -----------------------------------------------------------------------
def _position(n: int, px: float) -> tuple[int, Fraction]:
    """Where the `px`-th percentile of n ordered values lies: (⌊h⌋, h − ⌊h⌋) with h = (n − 1)·px/100."""
    h = (n - 1) * Fraction(str(px)) / 100
    lo = math.floor(h)
    return lo, h - lo


def percentile(values: Sequence[int | float | Fraction], px: float) -> Fraction:
    """The `px`-th percentile by linear interpolation between order statistics (numpy's default,
    method="linear": h = (n − 1)·p, v[⌊h⌋] + (h − ⌊h⌋)·(v[⌊h⌋+1] − v[⌊h⌋])), computed exactly."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(Fraction(v) for v in values)
    lo, frac = _position(len(ordered), px)
    if lo + 1 >= len(ordered):
        return ordered[-1]
    return ordered[lo] + frac * (ordered[lo + 1] - ordered[lo])


def years_before(day: date, years: int) -> date:
    """The same calendar day `years` years earlier (29 February → 28 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def moving_percentile(counts: Counts, *, px: float = 50, window_days: int = 7, years: int = 5,
                      start: date | None = None, end: date | None = None, since: date | None = None,
                      signals_only: bool = False) -> list[Row]:
    """CIDARS' moving percentile method: the count of the `window_days` days ending on a day, against the
    counts of the same window, the one before it and the one after it in each of the previous `years`
    years (3 × years values, 15 by default); a signal when it exceeds their `px`-th percentile. The first
    day with enough history is the one whose earliest window (the previous one, `years` years back) starts
    on the series' first day or later."""
    s = series(counts, start=start, end=end)
    if s is None:
        return []
    w = window_days
    lo, frac = _position(3 * years, px)
    num, den = frac.numerator, frac.denominator
    top = 3 * years - 1
    p = s.p
    backs_of = _years_back(s.first, len(s.xs), years)
    rows = []
    for i in _days(s, w - 1, w, signals_only, since):
        backs = backs_of[i]
        if backs[-1] - 2 * w + 1 < 0:
            continue
        # the previous, same and next window of each year back: sums of days e − w + 1 … e
        ordered = sorted([p[b + 1 - w] - p[b + 1 - 2 * w] for b in backs] + [p[b + 1] - p[b + 1 - w] for b in backs]
                         + [p[b + 1 + w] - p[b + 1] for b in backs])
        base = ordered[lo]
        step = ordered[lo + 1] - base if lo < top else 0
        current = p[i + 1] - p[i + 1 - w]
        signal = (current - base) * den > num * step  # current > base + frac·step, in integers
        if signal or not signals_only:
            rows.append(Row(s.day(i), "moving-percentile", float(current), base + step * num / den, signal))
    return rows


# --- EARS C1, C2, C3 ---------------------------------------------------------------------------------
# One day's statistic: (C or None when σ = 0, n·x − S, n·Q − S²) with S, Q the baseline's sum and sum of
# squares: n·x − S is n times the count's distance from the mean, n·Q − S² is n(n − 1)·σ².
_Stat = tuple[float | None, int, int]


def _stat(xs: Sequence[int], p: Sequence[int], q: Sequence[int], i: int, lag: int) -> _Stat:
    """The C statistic of day i against the EARS_BASELINE days ending `lag` + 1 days before it (p, q: the
    running sums of the counts and of their squares)."""
    n = EARS_BASELINE
    start, stop = i - lag - n, i - lag
    total = p[stop] - p[start]
    diff_n = n * xs[i] - total
    var_num = n * (q[stop] - q[start]) - total * total
    if var_num == 0:
        return None, diff_n, 0
    return diff_n / math.sqrt(var_num * n / (n - 1)), diff_n, var_num


def _exact(stat: _Stat) -> Fraction | None:
    """C as an exact fraction when σ is rational (n·(n·Q − S²)/(n − 1) a perfect square), else None."""
    _, diff_n, var_num = stat
    n = EARS_BASELINE
    square = Fraction(var_num * n, n - 1)
    rn, rd = math.isqrt(square.numerator), math.isqrt(square.denominator)
    if rn == 0 or rn * rn != square.numerator or rd * rd != square.denominator:
        return None
    return Fraction(diff_n) / Fraction(rn, rd)


def _above(stat: _Stat, threshold: float) -> bool:
    """C > threshold, exactly near the threshold: (n·x − S)²·(n − 1) > k²·n·(n·Q − S²) with n·x − S > 0."""
    value, diff_n, var_num = stat
    assert value is not None
    if abs(value - threshold) > _NEAR * max(1.0, abs(threshold)):
        return value > threshold
    k = Fraction(threshold)
    if k < 0 or diff_n <= 0:
        return value > threshold
    n = EARS_BASELINE
    return Fraction(diff_n * diff_n * (n - 1)) > k * k * n * var_num


def _ears_c(counts: Counts, lag: int, method: str, threshold: float, sigma_zero: SigmaZero,
            start: date | None, end: date | None, since: date | None, signals_only: bool) -> list[Row]:
    s = series(counts, start=start, end=end)
    if s is None:
        return []
    xs, p, q = s.xs, s.p, s.q
    rows = []
    for i in _days(s, lag + EARS_BASELINE, 1, signals_only, since):
        stat = _stat(xs, p, q, i, lag)
        # σ = 0: no C value; "signal_if_above_mean" signals when x_t > μ, i.e. n·x_t − S > 0.
        signal = (sigma_zero == "signal_if_above_mean" and stat[1] > 0) if stat[0] is None else _above(stat, threshold)
        if signal or not signals_only:
            rows.append(Row(s.day(i), method, stat[0], float(threshold), signal))
    return rows


def ears_c1(counts: Counts, *, threshold: float = 3, sigma_zero: SigmaZero = "signal_if_above_mean",
            start: date | None = None, end: date | None = None, since: date | None = None,
            signals_only: bool = False) -> list[Row]:
    """EARS C1: C1_t = (x_t − μ)/σ, μ and σ the mean and sample standard deviation (n − 1) of days t−7 … t−1;
    a signal when C1 > threshold. σ = 0: no value; a signal if x_t > μ under "signal_if_above_mean"."""
    return _ears_c(counts, 0, "ears-c1", threshold, sigma_zero, start, end, since, signals_only)


def ears_c2(counts: Counts, *, threshold: float = 3, sigma_zero: SigmaZero = "signal_if_above_mean",
            start: date | None = None, end: date | None = None, since: date | None = None,
            signals_only: bool = False) -> list[Row]:
    """EARS C2: as C1 with the baseline t−9 … t−3 (two days' lag)."""
    return _ears_c(counts, EARS_C2_LAG, "ears-c2", threshold, sigma_zero, start, end, since, signals_only)


def ears_c3(counts: Counts, *, threshold: float = 2, sigma_zero: SigmaZero = "signal_if_above_mean",
            start: date | None = None, end: date | None = None, since: date | None = None,
            signals_only: bool = False) -> list[Row]:
    """EARS C3: C3_t = Σ max(0, C2_i − 1) over i = t−2 … t; a signal when C3 > threshold. When one of the
    three C2_i has σ = 0, C3_t has no value; under "signal_if_above_mean" it signals if x_t is above the mean
    of its own C2 baseline (weijian's reading, as for C1 and C2)."""
    s = series(counts, start=start, end=end)
    if s is None:
        return []
    xs, p, q = s.xs, s.p, s.q
    c2: dict[int, _Stat] = {}

    def stat(j: int) -> _Stat:
        if j not in c2:
            c2[j] = _stat(xs, p, q, j, EARS_C2_LAG)
        return c2[j]

    rows = []
    for i in _days(s, EARS_C2_LAG + EARS_BASELINE + 2, 3, signals_only, since):
        stats = [stat(j) for j in (i - 2, i - 1, i)]
        if any(st[0] is None for st in stats):
            signal = sigma_zero == "signal_if_above_mean" and stats[-1][1] > 0
            if signal or not signals_only:
                rows.append(Row(s.day(i), "ears-c3", None, float(threshold), signal))
            continue
        value = sum(max(0.0, st[0] - 1) for st in stats if st[0] is not None)
        signal = value > threshold
        if abs(value - threshold) <= _NEAR * max(1.0, abs(threshold)):
            exact = [_exact(st) for st in stats]
            if all(e is not None for e in exact):
                signal = sum(max(Fraction(0), e - 1) for e in exact if e is not None) > Fraction(threshold)
        if signal or not signals_only:
            rows.append(Row(s.day(i), "ears-c3", value, float(threshold), signal))
    return rows


def detect(method: str, counts: Counts, *, threshold: float | None = None, px: float | None = None,
           window_days: int | None = None, sigma_zero: SigmaZero = "signal_if_above_mean", years: int = 5,
           start: date | None = None, end: date | None = None, since: date | None = None,
           signals_only: bool = False) -> list[Row]:
    """One of METHOD_NAMES with its parameters (None: the method's default); ValueError for another name.
    `threshold` is the fixed threshold, the cluster's number of cases or the EARS threshold; `window_days`
    the cluster's days or the moving percentile's window. `start`/`end`: the days the counts cover (default:
    their first and last dates); `since`: the first day to give rows for (a daily run: today);
    `signals_only`: only the rows that signal."""
    if method == "fixed":
        return fixed(counts, threshold=1 if threshold is None else int(threshold), start=start, end=end,
                     since=since, signals_only=signals_only)
    if method == "cluster":
        return cluster(counts, cases=2 if threshold is None else int(threshold), days=window_days or 14,
                       start=start, end=end, since=since, signals_only=signals_only)
    if method == "moving-percentile":
        return moving_percentile(counts, px=50 if px is None else px, window_days=window_days or 7, years=years,
                                 start=start, end=end, since=since, signals_only=signals_only)
    ears = {"ears-c1": (ears_c1, 3.0), "ears-c2": (ears_c2, 3.0), "ears-c3": (ears_c3, 2.0)}
    if method not in ears:
        raise ValueError(f"unknown method {method!r}; known: {', '.join(METHOD_NAMES)}")
    run, default = ears[method]
    return run(counts, threshold=default if threshold is None else threshold, sigma_zero=sigma_zero, start=start,
               end=end, since=since, signals_only=signals_only)
