"""Early warning over a county (issue 16, benchmarks): every method over 5 years × 248 org units (the county,
11 townships, 236 villages) × the 40 notifiable diseases of the list in force, against a naive per-day loop
in the same run. The issue's goal: a few seconds (< 5 s). Writes bench/results/surveillance.json.

The counts are synthetic and seeded: each case of a disease falls on a village of the county (its township
and the county count it too), at daily rates that give a county of ~350,000 people its usual mix (seasonal
influenza and HFMD, hepatitis, TB, other diarrhoea most days; brucellosis now and then; no plague). The data
span 10 years and 13 days so that CIDARS' moving percentile has its 5 years of history on every one of the
5 evaluated years.

Two runs of the code (`weijian.surveillance.detection`), each giving the signals of the 5 evaluated years:
- `all_methods`: the 6 methods (fixed, cluster, moving percentile, EARS C1/C2/C3) on every series;
- `file_methods`: each disease with the methods its entry of data/diseases.yaml names (what a county runs).
The naive loop computes each day's statistic from scratch (slices, statistics.mean/stdev, a sorted
baseline) on a seeded sample of the series (SAMPLE of them); its time is extrapolated to all series, and its
signals are compared with the code's on that sample (they must be the same). CPU seconds are the figure to
compare on this shared machine (wall seconds include the time spent waiting for a core).

Then the stored run (`weijian.surveillance.signals.service.run`, what `weijian surveillance run` does): the 5
evaluated years in one run into a fresh migrated database (SQLite, or WEIJIAN_BENCH_POSTGRES_URL), each disease
with its file methods, every signal inserted once; the same run again (idempotent: it must add nothing); and the
naive way of filling those years, one daily run (`--days 1`) per day, timed on a few sampled days and
extrapolated to the 5 years.

WEIJIAN_BENCH_SMALL=1 runs a tenth of the villages.
"""
from __future__ import annotations

import math
import os
import random
import statistics
import sys
import time
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import fresh_database, peak_rss_mb, python_loop_ns, write_results
from weijian.surveillance import detection, rules

SMALL = bool(os.environ.get("WEIJIAN_BENCH_SMALL"))
TOWNSHIPS = 11
VILLAGES = 24 if SMALL else 236
END = date(2026, 12, 6)
SINCE = detection.years_before(END, 5) + timedelta(days=1)  # the 5 evaluated years
START = detection.years_before(SINCE, 5) - timedelta(days=13)  # their history
SEED = 20261206
SAMPLE = 0.02
# County-wide cases a day (synthetic; a county of ~350,000), and the seasonal peak (month, amplitude).
RATES = {"influenza": (4.0, 1, 0.9), "hfmd": (1.5, 6, 0.8), "other_diarrhoea": (1.2, 7, 0.3),
         "hepatitis": (1.0, None, 0), "tb": (0.6, 3, 0.2), "syphilis": (0.3, None, 0), "mumps": (0.3, 5, 0.5),
         "scarlet_fever": (0.1, 12, 0.5), "brucellosis": (0.05, 5, 0.5), "gonorrhoea": (0.05, None, 0),
         "hiv": (0.05, None, 0), "dysentery": (0.1, 8, 0.5), "rubella": (0.02, 4, 0.5), "pertussis": (0.02, 6, 0.3),
         "measles": (0.005, 4, 0.5), "echinococcosis": (0.02, None, 0)}
OTHER_RATE = 0.001


def county_counts(diseases: list[str]) -> dict[tuple[str, str], dict[date, int]]:
    """(org unit, disease) → sparse daily counts (only days with cases)."""
    rng = random.Random(SEED)
    villages = [f"V{t:02d}{v:03d}" for v in range(VILLAGES) for t in [v % TOWNSHIPS]]
    out: dict[tuple[str, str], dict[date, int]] = defaultdict(dict)
    days = (END - START).days + 1
    for disease in diseases:
        base, peak, amplitude = RATES.get(disease, (OTHER_RATE, None, 0))
        for i in range(days):
            day = START + timedelta(days=i)
            rate = base * (1 + amplitude * math.cos(2 * math.pi * (day.month - peak) / 12)) if peak else base
            # Poisson by inversion (rates are small)
            k, p, u = 0, math.exp(-rate), rng.random()
            cum = p
            while u > cum and k < 50:
                k += 1
                p *= rate / k
                cum += p
            for _ in range(k):
                village = rng.choice(villages)
                for unit in (village, f"T{village[1:3]}", "county"):
                    series = out[(unit, disease)]
                    series[day] = series.get(day, 0) + 1
    units = ["county", *(f"T{t:02d}" for t in range(TOWNSHIPS)), *villages]
    return {(u, d): out.get((u, d), {}) for u in units for d in diseases}


def run(series: dict[tuple[str, str], dict[date, int]], plan: dict[str, list[tuple[str, dict]]]) -> tuple[float, int]:
    """Every series with its methods (signals only, the 5 evaluated years): (CPU seconds, signals)."""
    start = time.process_time()
    signals = 0
    for (_unit, disease), counts in series.items():
        one = detection.series(counts, start=START, end=END)  # its sums shared by the disease's methods
        for method, params in plan[disease]:
            signals += len(detection.detect(method, one, since=SINCE, signals_only=True, **params))
    return time.process_time() - start, signals


# --- the naive loop: each day from scratch ------------------------------------------------------
def naive(counts: dict[date, int], method: str, params: dict) -> list[date]:
    xs = [counts.get(START + timedelta(days=i), 0) for i in range((END - START).days + 1)]
    first = (SINCE - START).days
    out = []
    for i in range(first, len(xs)):
        day = START + timedelta(days=i)
        if method == "fixed":
            hit = xs[i] >= params.get("threshold", 1)
        elif method == "cluster":
            d = params.get("window_days", 14)
            hit = sum(xs[i - d + 1:i + 1]) >= params.get("threshold", 2)
        elif method == "moving-percentile":
            w = params.get("window_days", 7)
            base = []
            for k in range(1, 6):
                b = (detection.years_before(day, k) - START).days
                base += [sum(xs[e - w + 1:e + 1]) for e in (b - w, b, b + w)]
            hit = sum(xs[i - w + 1:i + 1]) > statistics.quantiles(base, n=100, method="inclusive")[
                int(params.get("px", 50)) - 1]
        else:
            def c(j: int, lag: int) -> float | None:
                window = xs[j - lag - 7:j - lag]
                sd = statistics.stdev(window)
                return None if sd == 0 else (xs[j] - statistics.mean(window)) / sd
            lag = 0 if method == "ears-c1" else 2
            if method == "ears-c3":
                cs = [c(j, 2) for j in (i - 2, i - 1, i)]
                hit = (xs[i] > statistics.mean(xs[i - 9:i - 2]) if None in cs
                       else sum(max(0.0, v - 1) for v in cs if v is not None) > params.get("threshold", 2))
            else:
                v = c(i, lag)
                hit = xs[i] > statistics.mean(xs[i - lag - 7:i - lag]) if v is None else v > params.get("threshold", 3)
        if hit:
            out.append(day)
    return out


def _code12(unit: str) -> str:
    """The bench's unit names as 12-digit statistical codes (the cluster rule looks at the level)."""
    if unit == "county":
        return "421124000000"
    if unit.startswith("T"):
        return f"421124{100 + int(unit[1:]):03d}000"
    return f"421124{100 + int(unit[1:3]):03d}{200 + int(unit[3:]):03d}"


def stored_run(series: dict[tuple[str, str], dict[date, int]]) -> dict:
    """The service's run over the 5 evaluated years, its idempotent re-run, and per-day runs (sampled)."""
    from sqlalchemy import func, select

    from weijian.core.actor import Actor
    from weijian.core.db import unit_of_work
    from weijian.surveillance.signals import service as signals_service
    from weijian.surveillance.signals.models import Signal

    counts = {(disease, _code12(unit)): c for (unit, disease), c in series.items()}

    def provider(*, session, start: date, end: date) -> dict:
        return {k: {d: n for d, n in v.items() if start <= d <= end} for k, v in counts.items()}

    server = os.environ.get("WEIJIAN_BENCH_POSTGRES_URL")
    _, engine, factory = fresh_database("surveillance", server)
    days = (END - SINCE).days + 1
    out: dict = {"database": engine.dialect.name, "days": days}
    for label in ("first_run", "rerun"):
        cpu, wall = time.process_time(), time.perf_counter()
        with unit_of_work(factory) as session:
            result = signals_service.run(session=session, as_of=END, days=days, counts=provider,
                                         actor=Actor.system("bench"))
        out[label] = {"cpu_seconds": round(time.process_time() - cpu, 2),
                      "wall_seconds": round(time.perf_counter() - wall, 2), "series": result.series,
                      "signals_found": result.signals_found, "signals_new": result.signals_new}
        print(f"stored run ({label}): {out[label]}", flush=True)
    with unit_of_work(factory, read_only=True) as session:
        out["stored"] = session.scalar(select(func.count()).select_from(Signal))
    rng = random.Random(SEED + 2)
    sample = sorted(rng.sample(range(days), 3))
    cpu = time.process_time()
    for i in sample:
        session = factory()
        try:
            signals_service.run(session=session, as_of=SINCE + timedelta(days=i), days=1, counts=provider,
                                actor=Actor.system("bench"))
        finally:
            session.rollback()
            session.close()
    per_day = (time.process_time() - cpu) / len(sample)
    out["per_day_runs"] = {"sampled_days": len(sample), "cpu_seconds_per_day": round(per_day, 2),
                           "cpu_seconds_extrapolated": round(per_day * days, 1)}
    print(f"one daily run: {per_day:.2f} s CPU (→ {per_day * days:.0f} s for the {days} days one day at a time)",
          flush=True)
    engine.dispose()
    return out


def main() -> None:
    edition = rules.edition_on(END)
    diseases = [d.code for d in edition.diseases]
    t0 = time.perf_counter()
    series = county_counts(diseases)
    print(f"{len(series)} series, {sum(len(c) for c in series.values())} days with cases, "
          f"built in {time.perf_counter() - t0:.1f} s", flush=True)

    every = [("fixed", {}), ("cluster", {}), ("moving-percentile", {"px": 80}), ("ears-c1", {}), ("ears-c2", {}),
             ("ears-c3", {})]
    all_plan = {d: every for d in diseases}
    file_plan: dict[str, list[tuple[str, dict]]] = {}
    for d in edition.diseases:
        m = d.methods
        plan = []
        if m.fixed:
            plan.append(("fixed", {"threshold": m.fixed.threshold}))
        if m.cluster:
            plan.append(("cluster", {"threshold": m.cluster.cases, "window_days": m.cluster.days}))
        if m.moving_percentile:
            plan.append(("moving-percentile", {"px": m.moving_percentile.px,
                                               "window_days": m.moving_percentile.window_days}))
        if m.ears:
            plan += [("ears-c1", {"threshold": m.ears.c1}), ("ears-c2", {"threshold": m.ears.c2}),
                     ("ears-c3", {"threshold": m.ears.c3})]
        file_plan[d.code] = plan

    wall = time.perf_counter()
    cpu_all, signals_all = run(series, all_plan)
    wall_all = time.perf_counter() - wall
    wall = time.perf_counter()
    cpu_file, signals_file = run(series, file_plan)
    wall_file = time.perf_counter() - wall
    print(f"all methods: {cpu_all:.2f} s CPU ({wall_all:.2f} s wall), {signals_all} signals", flush=True)
    print(f"file methods: {cpu_file:.2f} s CPU ({wall_file:.2f} s wall), {signals_file} signals", flush=True)

    rng = random.Random(SEED + 1)
    keys = sorted(series)
    sample = rng.sample(keys, max(1, int(len(keys) * SAMPLE)))
    start = time.process_time()
    mismatches = 0
    for key in sample:
        for method, params in every:
            slow = naive(series[key], method, params)
            fast = [r.date for r in detection.detect(method, series[key], start=START, end=END, since=SINCE,
                                                     signals_only=True, **params)]
            mismatches += slow != fast
    naive_cpu_sample = time.process_time() - start
    naive_cpu = naive_cpu_sample * len(keys) / len(sample)
    print(f"naive loop on {len(sample)} series: {naive_cpu_sample:.1f} s CPU (→ {naive_cpu:.0f} s for all), "
          f"{mismatches} method runs that differ", flush=True)

    stored = stored_run(series)

    write_results("surveillance", {
        "series": len(series), "org_units": 1 + TOWNSHIPS + VILLAGES, "diseases": len(diseases),
        "edition": edition.id, "evaluated": [SINCE.isoformat(), END.isoformat()],
        "data_from": START.isoformat(), "days_with_cases": sum(len(c) for c in series.values()),
        "all_methods": {"methods": [m for m, _ in every], "cpu_seconds": round(cpu_all, 2),
                        "wall_seconds": round(wall_all, 2), "signals": signals_all},
        "file_methods": {"cpu_seconds": round(cpu_file, 2), "wall_seconds": round(wall_file, 2),
                         "signals": signals_file},
        "naive_loop": {"sample_series": len(sample), "cpu_seconds_sample": round(naive_cpu_sample, 2),
                       "cpu_seconds_extrapolated": round(naive_cpu, 1), "runs_that_differ": mismatches},
        "stored_run": stored,
        "goal_seconds": 5, "goal_met_cpu": cpu_all < 5, "goal_met_wall": wall_all < 5,
        "python_loop_ns": python_loop_ns(), "peak_rss_mb": peak_rss_mb(),
        "note": "signals only (what is stored); a full run with a row for every day is what the CLI prints",
    })


if __name__ == "__main__":
    main()
