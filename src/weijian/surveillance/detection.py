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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
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


def dense(counts: Mapping[date, int]) -> tuple[date | None, list[int]]:
    """The first date and the daily counts from it to the last date (missing days zero)."""
    if not counts:
        return None, []
    first, last = min(counts), max(counts)
    out = [0] * ((last - first).days + 1)
    for day, n in counts.items():
        out[(day - first).days] = int(n)
    return first, out


def _prefix(values: Sequence[int]) -> list[int]:
    out = [0]
    for v in values:
        out.append(out[-1] + v)
    return out


def _window(prefix: Sequence[int], start: int, end: int) -> int:
    """Sum of values[start … end] (inclusive indexes)."""
    return prefix[end + 1] - prefix[start]


# --- fixed threshold and cluster -------------------------------------------------------------------
def fixed(counts: Mapping[date, int], *, threshold: int = 1) -> list[Row]:
    """A signal on each day whose count reaches `threshold` (CIDARS' fixed-threshold method: one case of a
    rare or severe disease is a signal)."""
    first, xs = dense(counts)
    if first is None:
        return []
    return [Row(first + timedelta(days=i), "fixed", float(x), float(threshold), x >= threshold)
            for i, x in enumerate(xs)]


def cluster(counts: Mapping[date, int], *, cases: int = 2, days: int = 14) -> list[Row]:
    """A signal on each day on which the `days` days ending that day hold `cases` cases or more (measles:
    2 in 14 days in one township). The first `days` − 1 days have not enough history."""
    first, xs = dense(counts)
    if first is None:
        return []
    p = _prefix(xs)
    rows = []
    for i in range(days - 1, len(xs)):
        total = _window(p, i - days + 1, i)
        rows.append(Row(first + timedelta(days=i), "cluster", float(total), float(cases), total >= cases))
    return rows


# --- moving percentile (CIDARS) -----------------------------------------------------------------------
def percentile(values: Sequence[int | float | Fraction], px: float) -> Fraction:
    """The `px`-th percentile by linear interpolation between order statistics (numpy's default,
    method="linear": h = (n − 1)·p, v[⌊h⌋] + (h − ⌊h⌋)·(v[⌊h⌋+1] − v[⌊h⌋])), computed exactly."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(Fraction(v) for v in values)
    h = (len(ordered) - 1) * Fraction(str(px)) / 100
    lo = math.floor(h)
    if lo + 1 >= len(ordered):
        return ordered[-1]
    return ordered[lo] + (h - lo) * (ordered[lo + 1] - ordered[lo])


def years_before(day: date, years: int) -> date:
    """The same calendar day `years` years earlier (29 February → 28 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def moving_percentile(counts: Mapping[date, int], *, px: float = 50, window_days: int = 7,
                      years: int = 5) -> list[Row]:
    """CIDARS' moving percentile method: the count of the `window_days` days ending on a day, against the
    counts of the same window, the one before it and the one after it in each of the previous `years`
    years (3 × years values, 15 by default); a signal when it exceeds their `px`-th percentile."""
    first, xs = dense(counts)
    if first is None:
        return []
    p = _prefix(xs)
    w = window_days
    rows = []
    for i in range(len(xs)):
        day = first + timedelta(days=i)
        earliest = (years_before(day, years) - first).days - 2 * w + 1
        if earliest < 0 or i - w + 1 < 0:
            continue
        baseline = []
        for k in range(1, years + 1):
            end = (years_before(day, k) - first).days
            for shift in (-w, 0, w):
                e = end + shift
                baseline.append(_window(p, e - w + 1, e))
        current = _window(p, i - w + 1, i)
        limit = percentile(baseline, px)
        rows.append(Row(day, "moving-percentile", float(current), float(limit), current > limit))
    return rows


# --- EARS C1, C2, C3 ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _C:
    """One day's EARS statistic: its float value (None when σ = 0), and what an exact comparison needs."""

    value: float | None
    diff_n: int  # n·x − S: the count's distance from the baseline mean, times n
    var_num: int  # n·Q − S²: n(n − 1)·σ²
    n: int

    def exact(self) -> Fraction | None:
        """The statistic as an exact fraction when σ is rational (a perfect square), else None."""
        # C = (x − S/n) / sqrt(var_num / (n(n − 1))) = diff_n / sqrt(var_num · n / (n − 1)) … squared:
        num, den = self.var_num * self.n, self.n - 1
        frac = Fraction(num, den)
        rn, rd = math.isqrt(frac.numerator), math.isqrt(frac.denominator)
        if rn * rn != frac.numerator or rd * rd != frac.denominator or rn == 0:
            return None
        return Fraction(self.diff_n) / Fraction(rn, rd)

    def above(self, threshold: float) -> bool:
        """C > threshold, exactly: (n·x − S)² (n − 1) > k² · n · (n·Q − S²) with n·x − S > 0."""
        assert self.value is not None
        if abs(self.value - threshold) > _NEAR * max(1.0, abs(threshold)):
            return self.value > threshold
        k = Fraction(threshold)
        if k < 0 or self.diff_n <= 0:
            return self.value > threshold
        return Fraction(self.diff_n ** 2 * (self.n - 1)) > k * k * self.n * self.var_num


def _stat(xs: Sequence[int], p: Sequence[int], q: Sequence[int], i: int, lag: int) -> _C:
    """The C statistic of day i against the EARS_BASELINE days ending `lag` + 1 days before it."""
    n = EARS_BASELINE
    start, end = i - lag - n, i - lag - 1
    s = _window(p, start, end)
    sq = _window(q, start, end)
    diff_n = n * xs[i] - s
    var_num = n * sq - s * s
    if var_num == 0:
        return _C(None, diff_n, 0, n)
    sigma = math.sqrt(var_num / (n * (n - 1)))
    return _C((xs[i] - s / n) / sigma, diff_n, var_num, n)


def _series(counts: Mapping[date, int]) -> tuple[date | None, list[int], list[int], list[int]]:
    first, xs = dense(counts)
    return first, xs, _prefix(xs), _prefix([x * x for x in xs])


def _ears_c(counts: Mapping[date, int], lag: int, method: str, threshold: float,
            sigma_zero: SigmaZero) -> list[Row]:
    first, xs, p, q = _series(counts)
    if first is None:
        return []
    rows = []
    for i in range(lag + EARS_BASELINE, len(xs)):
        c = _stat(xs, p, q, i, lag)
        # σ = 0: no C value; "signal_if_above_mean" signals when x_t > μ, i.e. n·x_t − S > 0.
        signal = (sigma_zero == "signal_if_above_mean" and c.diff_n > 0) if c.value is None else c.above(threshold)
        rows.append(Row(first + timedelta(days=i), method, c.value, float(threshold), signal))
    return rows


def ears_c1(counts: Mapping[date, int], *, threshold: float = 3,
            sigma_zero: SigmaZero = "signal_if_above_mean") -> list[Row]:
    """EARS C1: C1_t = (x_t − μ)/σ, μ and σ the mean and sample standard deviation (n − 1) of days t−7 … t−1;
    a signal when C1 > threshold. σ = 0: no value; a signal if x_t > μ under "signal_if_above_mean"."""
    return _ears_c(counts, 0, "ears-c1", threshold, sigma_zero)


def ears_c2(counts: Mapping[date, int], *, threshold: float = 3,
            sigma_zero: SigmaZero = "signal_if_above_mean") -> list[Row]:
    """EARS C2: as C1 with the baseline t−9 … t−3 (two days' lag)."""
    return _ears_c(counts, EARS_C2_LAG, "ears-c2", threshold, sigma_zero)


def ears_c3(counts: Mapping[date, int], *, threshold: float = 2,
            sigma_zero: SigmaZero = "signal_if_above_mean") -> list[Row]:
    """EARS C3: C3_t = Σ max(0, C2_i − 1) over i = t−2 … t; a signal when C3 > threshold. When one of the
    three C2_i has σ = 0, C3_t has no value; under "signal_if_above_mean" it signals if x_t is above the mean
    of its own C2 baseline (weijian's reading, as for C1 and C2)."""
    first, xs, p, q = _series(counts)
    if first is None:
        return []
    rows = []
    for i in range(EARS_C2_LAG + EARS_BASELINE + 2, len(xs)):
        stats = [_stat(xs, p, q, j, EARS_C2_LAG) for j in (i - 2, i - 1, i)]
        day = first + timedelta(days=i)
        if any(c.value is None for c in stats):
            signal = sigma_zero == "signal_if_above_mean" and stats[-1].diff_n > 0
            rows.append(Row(day, "ears-c3", None, float(threshold), signal))
            continue
        value = sum(max(0.0, c.value - 1) for c in stats if c.value is not None)
        signal = value > threshold
        if abs(value - threshold) <= _NEAR * max(1.0, abs(threshold)):
            exact = [c.exact() for c in stats]
            if all(e is not None for e in exact):
                signal = sum(max(Fraction(0), e - 1) for e in exact if e is not None) > Fraction(threshold)
        rows.append(Row(day, "ears-c3", value, float(threshold), signal))
    return rows


def detect(method: str, counts: Mapping[date, int], *, threshold: float | None = None, px: float | None = None,
           window_days: int | None = None, sigma_zero: SigmaZero = "signal_if_above_mean",
           years: int = 5) -> list[Row]:
    """One of METHOD_NAMES with its parameters (None: the method's default); ValueError for another name.
    `threshold` is the fixed threshold, the cluster's number of cases or the EARS threshold; `window_days`
    the cluster's days or the moving percentile's window."""
    runs: dict[str, Callable[[], list[Row]]] = {
        "fixed": lambda: fixed(counts, threshold=int(threshold) if threshold is not None else 1),
        "cluster": lambda: cluster(counts, cases=int(threshold) if threshold is not None else 2,
                                   days=window_days or 14),
        "moving-percentile": lambda: moving_percentile(counts, px=50 if px is None else px,
                                                       window_days=window_days or 7, years=years),
        "ears-c1": lambda: ears_c1(counts, threshold=3 if threshold is None else threshold, sigma_zero=sigma_zero),
        "ears-c2": lambda: ears_c2(counts, threshold=3 if threshold is None else threshold, sigma_zero=sigma_zero),
        "ears-c3": lambda: ears_c3(counts, threshold=2 if threshold is None else threshold, sigma_zero=sigma_zero),
    }
    if method not in runs:
        raise ValueError(f"unknown method {method!r}; known: {', '.join(METHOD_NAMES)}")
    return runs[method]()
