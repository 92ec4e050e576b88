"""Benchmark: build the demo county (400,000 residents by default) into a fresh, migrated SQLite file.

    .venv/bin/python bench/bench_demo.py [--residents N] [--seed S]

Prints and writes bench/results/demo.json: build seconds (the build and its commit) and the CPU seconds
spent, residents per second, the database file's size, and the process's peak memory (maxrss).
WEIJIAN_BENCH_SMALL=1 builds a tenth.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import fresh_database, peak_rss_mb, timer, write_results
from weijian.core.db import unit_of_work
from weijian.demo import builder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = 40_000 if os.environ.get("WEIJIAN_BENCH_SMALL") == "1" else 400_000
    parser.add_argument("--residents", type=int, default=default)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    settings, engine, factory = fresh_database("demo")
    cpu = time.process_time()
    with timer() as t, unit_of_work(factory) as session:
        summary = builder.build(session=session, residents=args.residents, seed=args.seed)
    engine.dispose()  # closes the connection, so SQLite folds its write-ahead log into the file
    path = settings.sqlite_path()
    size_mb = round(path.stat().st_size / 2**20, 1) if path else None
    write_results("demo", {
        "engine": engine.dialect.name,
        "residents": summary.residents,
        "households": summary.households,
        "seed": args.seed,
        "build_seconds": round(t["seconds"], 1),
        # This process's CPU time: on a shared machine wall time also counts waiting for a core.
        "cpu_seconds": round(time.process_time() - cpu, 1),
        "residents_per_second": round(summary.residents / t["seconds"]),
        "database_mb": size_mb,
        "peak_rss_mb": peak_rss_mb(),
        "beds_per_1000": round(summary.beds_per_1000, 3),
        "physicians_per_1000": round(summary.physicians_per_1000, 3),
    })
    if path:
        for p in path.parent.glob(path.name + "*"):
            p.unlink()
        path.parent.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
