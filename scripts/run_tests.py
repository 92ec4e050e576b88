"""`make test`: the import contracts (lint-imports), the whole suite on SQLite, then every database test
again on PostgreSQL.

PostgreSQL runs as a throw-away cluster on loopback (scripts/pg_test_cluster.sh). Set
WEIJIAN_TEST_SKIP_POSTGRES=1 to run the SQLite pass only (a machine without PostgreSQL); CI never does.
Extra arguments go to pytest (e.g. `make test ARGS="-k referral"` is not wired; call this script directly).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Two workers by default (pytest-xdist): each gets its own test database, so they never share state.
WORKERS = os.environ.get("WEIJIAN_TEST_WORKERS", "2")
PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"] + (
    ["-n", WORKERS] if WORKERS not in ("0", "1") else [])


def run(label: str, env: dict[str, str], args: list[str]) -> int:
    print(f"\n=== {label} ===", flush=True)
    code = subprocess.call(PYTEST + args, cwd=ROOT, env=env)
    # 5: no tests collected (e.g. a -k filter that selects no database test on the PostgreSQL pass).
    return 0 if code == 5 else code


def import_contracts() -> int:
    """The layer order of src/weijian/__init__.py ([tool.importlinter] in pyproject.toml)."""
    print("\n=== import contracts (lint-imports) ===", flush=True)
    return subprocess.call([str(Path(sys.executable).with_name("lint-imports")), "--no-cache"], cwd=ROOT)


def main() -> int:
    args = sys.argv[1:]
    if import_contracts():
        print("\nIMPORT CONTRACTS BROKEN")
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
