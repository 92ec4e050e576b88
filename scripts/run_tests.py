"""`make test`: ruff, mypy and the import contracts, then the whole suite on SQLite, then every database test
again on PostgreSQL.

PostgreSQL runs as a throw-away cluster on loopback (scripts/pg_test_cluster.sh). Set
WEIJIAN_TEST_SKIP_POSTGRES=1 to run the SQLite pass only (a machine without PostgreSQL); CI never does.
Extra arguments go to pytest (e.g. `make test ARGS="-k referral"` is not wired; call this script directly).
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Two workers by default (pytest-xdist): each gets its own test database, so they never share state.
WORKERS = os.environ.get("WEIJIAN_TEST_WORKERS", "2")
PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"] + (
    ["-n", WORKERS] if WORKERS not in ("0", "1") else [])


# The static checks run first: they take seconds, and a failure stops the run before the suite's minutes.
CHECKS = [
    ("ruff", [sys.executable, "-m", "ruff", "check", "src", "tests", "bench", "scripts"]),
    ("mypy", [sys.executable, "-m", "mypy"]),  # what it checks, and how strictly: [tool.mypy] in pyproject.toml
    # The layer order of src/weijian/__init__.py ([tool.importlinter] in pyproject.toml).
    ("import contracts", [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"]),
]


def check() -> int:
    failed = 0
    for label, command in CHECKS:
        print(f"\n=== {label}: {' '.join(Path(command[0]).name if i == 0 else c for i, c in enumerate(command))} ===",
              flush=True)
        started = time.monotonic()
        code = subprocess.call(command, cwd=ROOT)
        print(f"{label}: {'passed' if code == 0 else 'FAILED'} in {time.monotonic() - started:.1f} s", flush=True)
        failed |= code != 0
    return failed


def run(label: str, env: dict[str, str], args: list[str]) -> int:
    print(f"\n=== {label} ===", flush=True)
    code = subprocess.call(PYTEST + args, cwd=ROOT, env=env)
    # 5: no tests collected (e.g. a -k filter that selects no database test on the PostgreSQL pass).
    return 0 if code == 5 else code


def main() -> int:
    args = sys.argv[1:]
    if check():
        print("\nSTATIC CHECKS FAILED (the tests were not run)")
        return 1
    env = {k: v for k, v in os.environ.items() if k != "WEIJIAN_TEST_DATABASE_URL"}
    failed = run("SQLite: whole suite", env, args)
    if os.environ.get("WEIJIAN_TEST_SKIP_POSTGRES") == "1":
        print("PostgreSQL pass skipped (WEIJIAN_TEST_SKIP_POSTGRES=1)")
        return failed
    url = subprocess.check_output(["sh", str(ROOT / "scripts" / "pg_test_cluster.sh"), "start"], text=True).strip()
    try:
        failed |= run("PostgreSQL: database tests", {**env, "WEIJIAN_TEST_DATABASE_URL": url}, args)
    finally:
        subprocess.call(["sh", str(ROOT / "scripts" / "pg_test_cluster.sh"), "stop"])
    print("\nall passes green" if not failed else "\nSOME TESTS FAILED")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
