"""Benchmark: the settlement cascade for a county's inpatient year: 25,000 seeded synthetic stays across 20,000
people (most with one stay, some with several; a few in assistance groups; a tail of large bills that
reaches the caps), settled person by person with `settle_year`, then one stay of each multi-stay person
reversed. Pure computation, no database. Writes bench/results/settlement_engine.json.

WEIJIAN_BENCH_SMALL=1 runs a tenth of the people and stays.
"""
from __future__ import annotations

import os
import random
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import percentiles, write_results
from weijian.settlement.settle.engine import Stay, reverse, settle_year
from weijian.settlement.settle.rules import get_policy

SMALL = os.environ.get("WEIJIAN_BENCH_SMALL") == "1"
PEOPLE = 2_000 if SMALL else 20_000
STAYS = 2_500 if SMALL else 25_000
SEED = 20240101
YEAR = 2024
# level: (share of stays, median bill in yuan)
LEVELS = {"township": (0.50, 3_000), "county": (0.35, 9_000), "city": (0.15, 30_000)}
GROUPS = [(None, 0.93), ("低保", 0.05), ("特困", 0.01), ("返贫致贫", 0.01)]


def bill(rng: random.Random, median: int) -> tuple[Decimal, Decimal]:
    total = min(median * rng.lognormvariate(0, 0.9), 2_000_000)
    total_fen = max(100, int(total * 100))
    in_policy_fen = int(total_fen * rng.uniform(0.70, 1.0))
    return Decimal(total_fen) / 100, Decimal(in_policy_fen) / 100


def people(rng: random.Random) -> list[tuple[str | None, list[Stay]]]:
    counts = [1] * PEOPLE
    for _ in range(STAYS - PEOPLE):
        counts[rng.randrange(PEOPLE)] += 1
    levels, weights = list(LEVELS), [w for w, _ in LEVELS.values()]
    out = []
    for n in counts:
        group = rng.choices([g for g, _ in GROUPS], [w for _, w in GROUPS])[0]
        stays = []
        for _ in range(n):
            level = rng.choices(levels, weights)[0]
            total, in_policy = bill(rng, LEVELS[level][1])
            stays.append(Stay(date=date(YEAR, 1, 1) + timedelta(days=rng.randrange(366)), level=level,
                              total=total, in_policy=in_policy,
                              downward_referral=level != "city" and rng.random() < 0.03))
        out.append((group, stays))
    return out


def main() -> None:
    rng = random.Random(SEED)
    population = people(rng)
    policy = get_policy("huanggang-resident-2022")  # loading and validating is start-up work

    per_person_ms: list[float] = []
    results = []
    start, cpu_start = time.perf_counter(), time.process_time()
    for group, stays in population:
        t0 = time.perf_counter()
        results.append(settle_year(policy, group, stays))
        per_person_ms.append((time.perf_counter() - t0) * 1000)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start

    multi = [(g, splits) for (g, _), splits in zip(population, results, strict=True) if len(splits) > 1]
    start = time.perf_counter()
    for group, splits in multi:
        reverse(policy, group, splits, rng.randrange(len(splits)))
    reverse_seconds = time.perf_counter() - start

    splits = [s for year in results for s in year]
    assert len(splits) == STAYS
    assert all(s.basic_pays + s.critical_illness_pays + s.assistance_pays + s.patient_pays == s.total for s in splits)
    totals = {k: sum((getattr(s, k) for s in splits), Decimal(0))
              for k in ("total", "basic_pays", "critical_illness_pays", "assistance_pays", "patient_pays")}
    write_results("settlement_engine", {
        "policy": policy.id,
        "people": PEOPLE,
        "stays": STAYS,
        "people_with_several_stays": len(multi),
        "seed": SEED,
        "settle_year_seconds_total": round(seconds, 3),
        # CPU time of this process: on a shared machine the wall time includes waiting for a CPU
        "settle_year_cpu_seconds": round(cpu_seconds, 3),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "stays_per_second": round(STAYS / seconds),
        "microseconds_per_stay": round(seconds / STAYS * 1e6, 1),
        "per_person": percentiles(per_person_ms),
        "reverse_seconds_total": round(reverse_seconds, 3),
        "reversals": len(multi),
        "people_at_basic_cap": sum(1 for y in results if y[-1].after.basic_paid >= policy.basic.annual_cap),
        "stays_with_critical_illness": sum(1 for s in splits if s.critical_illness_pays > 0),
        "stays_with_assistance": sum(1 for s in splits if s.assistance_pays > 0),
        "amounts_yuan": {k: str(v) for k, v in totals.items()},
    })


if __name__ == "__main__":
    main()
