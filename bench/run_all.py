"""`make bench`: every benchmark under bench/ in turn (each prints figures, writes bench/results/*.json).

Pass names to run a few: `python bench/run_all.py import demo`. Sizes are the issues' (400,000 residents);
set WEIJIAN_BENCH_SMALL=1 for a quick smoke run at a tenth of the size.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    wanted = set(sys.argv[1:])
    scripts = sorted(p for p in HERE.glob("bench_*.py"))
    failed = []
    for script in scripts:
        name = script.stem.removeprefix("bench_")
        if wanted and name not in wanted:
            continue
        print(f"\n=== bench {name} ===", flush=True)
        if subprocess.call([sys.executable, str(script)]) != 0:
            failed.append(name)
    if failed:
        print(f"\nbenchmarks that failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
