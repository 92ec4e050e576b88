"""The due/overdue engine for every child of a county: 30,000 synthetic children (0–7 years, seeded
plausible histories, some late or with missed doses), one as-of date. The issue asks for under one
second in total. Writes bench/results/immunization_engine.json. The engine over the demo county's children
read from the database, against calling it child by child through the HTTP API in the same run, is
bench/bench_immunization_recall.py (engine_one_query, engine_http).

Today's engine runs as `due_many` (all the children in one call); the engine as it was before (BASELINE, read
from git, `due` child by child) is measured in the same run, on the
same children, alternating with today's (RUNS rounds each; the median is reported): on this shared
machine the load changes from minute to minute, so only figures taken side by side compare. CPU seconds
are the figure to compare when the machine is busy (wall seconds then include the time spent waiting).

WEIJIAN_BENCH_SMALL=1 runs a tenth of the children.
"""
from __future__ import annotations

import os
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import module_at, write_results
from weijian.immunization.schedule import engine as current_engine
from weijian.immunization.schedule.engine import STATUSES, GivenDose
from weijian.immunization.schedule.rules import edition_for, editions

CHILDREN = 3_000 if os.environ.get("WEIJIAN_BENCH_SMALL") else 30_000
AS_OF = date(2026, 6, 1)
SEED = 20260601
BASELINE = "5fb3afc"  # main before the third speed step of issue 14 item 11 (9bcf429 before the second)
ENGINE_PATH = "src/weijian/immunization/schedule/engine.py"
RUNS = 3


def history(rng: random.Random, birth: date, as_of: date) -> list[GivenDose]:
    """Doses a child plausibly got: each slot of the edition in force at the time, mostly on time,
    sometimes late, now and then a series left unfinished; alternatives chosen once per child."""
    out: list[GivenDose] = []
    edition_at_birth = edition_for(max(birth, editions()[0].effective_from))
    for group in edition_at_birth.groups:
        series_choice = group[0] if len(group) == 1 or rng.random() < 0.85 else group[1]
        counts: dict[str, int] = {}
        prev: date | None = None
        for k in range(len(series_choice.doses)):
            # The slot as the edition in force around its recommended date defines it (DTaP moved in 2025).
            approx = series_choice.doses[k].recommended.after(birth)
            edition = edition_for(max(min(approx, as_of), editions()[0].effective_from))
            series = edition.series.get(series_choice.id, series_choice)
            if k >= len(series.doses):
                break
            dose = series.doses[k]
            when = dose.recommended.after(birth)
            if prev is not None and dose.min_interval is not None:
                when = max(when, dose.min_interval.after(prev))
            r = rng.random()
            when += timedelta(days=rng.randint(0, 20) if r < 0.85 else rng.randint(21, 240))
            if when > as_of or rng.random() < 0.03:
                break
            counts[dose.vaccine] = counts.get(dose.vaccine, 0) + 1
            out.append(GivenDose(dose.vaccine, counts[dose.vaccine], when))
            prev = when
    rng.shuffle(out)
    return out


def main() -> None:
    rng = random.Random(SEED)
    children = []
    for _ in range(CHILDREN):
        birth = AS_OF - timedelta(days=rng.randint(0, 7 * 365))
        children.append((birth, history(rng, birth, AS_OF)))
    doses_given = sum(len(h) for _, h in children)
    editions()  # loading and validating the files is start-up work, not per child
    load_before = os.getloadavg()[0]
    baseline = module_at(BASELINE, ENGINE_PATH, "baseline_engine")
    engines = {"current": current_engine}
    if baseline is not None:
        engines["baseline"] = baseline
    timings: dict[str, list[tuple[float, float]]] = {name: [] for name in engines}
    counts: dict[str, dict[str, int]] = {}
    for _ in range(RUNS):
        for name, module in engines.items():
            seconds, cpu, counts[name] = _run(_many(module), children)
            timings[name].append((seconds, cpu))
    figures = {name: _figures(_many(module), children, timings[name]) for name, module in engines.items()}
    current = figures["current"]
    seconds = current["seconds_total"]
    write_results("immunization_engine", {
        "children": CHILDREN,
        "doses_in_histories": doses_given,
        "rows_out": sum(counts["current"].values()),
        "as_of": AS_OF.isoformat(),
        **current,
        "target": "30,000 children in under 1 second",
        "met": seconds < 1.0 if CHILDREN == 30_000 else None,
        "met_in_cpu_seconds": current["cpu_seconds_total"] < 1.0 if CHILDREN == 30_000 else None,
        "load_average_1min": round(load_before, 2),
        "load_average_1min_after": round(os.getloadavg()[0], 2),
        "statuses": counts["current"],
        "baseline": {"revision": BASELINE, **figures["baseline"],
                     "same_statuses": counts.get("baseline") == counts["current"]} if baseline else None,
        "speed_up_cpu": round(figures["baseline"]["cpu_seconds_total"] / current["cpu_seconds_total"], 2)
        if baseline else None,
    })


def _many(module):
    """The engine over many children: `due_many` where the module has it (one pass, the edition found once),
    else `due` child by child; either way each answer is used and let go before the next is made."""
    if hasattr(module, "due_many"):
        return lambda part: module.due_many(part, AS_OF)
    due = module.due
    return lambda part: (due(birth, given, AS_OF) for birth, given in part)


def _run(engine_many, children: list) -> tuple[float, float, dict[str, int]]:
    """As the nightly job would: each child's answer is used (here: counted by status) and let go."""
    counts = dict.fromkeys(STATUSES, 0)
    start, cpu_start = time.perf_counter(), time.process_time()
    for rows in engine_many(children):
        for row in rows:
            counts[row[2]] += 1
    return time.perf_counter() - start, time.process_time() - cpu_start, counts


def _figures(engine_many, children: list, runs: list[tuple[float, float]]) -> dict:
    seconds = statistics.median(s for s, _c in runs)
    cpu = statistics.median(c for _s, c in runs)
    ratio = _loop_iterations_per_child(engine_many, children)
    return {
        "runs": len(runs),
        "seconds_total": round(seconds, 3),
        "cpu_seconds_total": round(cpu, 3),
        "seconds_each_run": [round(s, 3) for s, _c in runs],
        "cpu_seconds_each_run": [round(c, 3) for _s, c in runs],
        "children_per_second": round(CHILDREN / seconds),
        "microseconds_per_child": round(seconds / CHILDREN * 1e6, 1),
        # A machine-independent figure: one child costs as much as this many iterations of a trivial
        # Python loop (median over chunks, each timed beside its own calibration, so a busy or slow
        # machine cancels out). Multiply by the loop's cost on the target machine.
        "loop_iterations_per_child": round(ratio),
        "loop_ns_per_iteration_here": round(min(_calibration_s() for _ in range(5)) * 1e9, 1),
        "projected_seconds_30000_at_15ns_per_iteration": round(ratio * 15e-9 * 30_000, 2),
        "projected_seconds_30000_at_25ns_per_iteration": round(ratio * 25e-9 * 30_000, 2),
    }


def _calibration_s(iterations: int = 50_000) -> float:
    start = time.process_time()
    x = 0
    for i in range(iterations):
        x += i
    return (time.process_time() - start) / iterations


def _loop_iterations_per_child(engine_many, children: list, chunk: int = 500) -> float:
    ratios = []
    for k in range(0, len(children), chunk):
        part = children[k:k + chunk]
        loop = min(_calibration_s() for _ in range(3))
        start = time.process_time()
        for _rows in engine_many(part):
            pass
        per_child = (time.process_time() - start) / len(part)
        ratios.append(per_child / loop)
    return statistics.median(ratios)


if __name__ == "__main__":
    main()
