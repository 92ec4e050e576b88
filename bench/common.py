"""Shared helpers for benchmarks: a fresh migrated database, timing, percentiles, and the results file.

Benchmarks print their figures and write bench/results/<name>.json; tests never assert on time.
"""
from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT / "src"))

from weijian import wiring  # noqa: E402
from weijian.core.db import make_engine, make_sessionmaker  # noqa: E402
from weijian.core.migrate import upgrade  # noqa: E402
from weijian.core.settings import Settings  # noqa: E402

wiring.wire()  # every bench script starts here: wired as the app and the CLI are (weijian.wiring)


def fresh_database(name: str, url: str | None = None):
    """(settings, engine, sessionmaker) for a new, migrated database: a SQLite file in a temp dir, or
    the PostgreSQL server named by `url` / WEIJIAN_BENCH_POSTGRES_URL (a new database is created)."""
    if url:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        admin_url = make_url(url)
        db = f"weijian_bench_{name}_{os.getpid()}"
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{db}" ENCODING \'UTF8\' TEMPLATE template0'))
        admin.dispose()
        settings = Settings(environment="test", database_url=admin_url.set(database=db).render_as_string(False))
    else:
        tmp = Path(tempfile.mkdtemp(prefix=f"weijian-bench-{name}-"))
        settings = Settings(environment="test", database_url=f"sqlite:///{tmp / 'bench.db'}")
    engine = make_engine(settings)
    upgrade(engine)
    return settings, engine, make_sessionmaker(engine)


@contextmanager
def timer():
    box = {}
    start = time.perf_counter()
    try:
        yield box
    finally:
        box["seconds"] = time.perf_counter() - start


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    s = sorted(samples_ms)
    q = statistics.quantiles(s, n=100, method="inclusive") if len(s) > 1 else s * 99
    return {"n": len(s), "p50_ms": round(q[49], 2), "p95_ms": round(q[94], 2), "max_ms": round(s[-1], 2)}


def python_loop_ns() -> float:
    """Nanoseconds per iteration of a trivial Python loop, now: this shared machine's speed varies by two
    or more within a day (≈ 15 ns on a current desktop)."""
    start = time.perf_counter()
    x = 0
    for i in range(5_000_000):
        x += i
    return round((time.perf_counter() - start) / 5_000_000 * 1e9, 1)


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def write_results(name: str, figures: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = {
        "benchmark": name,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        **figures,
    }
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(out, ensure_ascii=False, indent=2))
    return path


def add_missing_indexes(settings: Settings) -> list[str]:
    """Tables and indexes the models declare that a database built before they were added lacks (a cached
    county stays usable after a model change; the migration makes them on a real database). Migrations
    added since the copy was built (columns, indexes) are applied first."""
    from alembic import command
    from sqlalchemy import text

    import weijian.all_models  # noqa: F401 - every table on the metadata
    from weijian.core.db import Base
    from weijian.core.migrate import alembic_config

    engine = make_engine(settings)
    command.upgrade(alembic_config(engine), "head")
    made = []
    with engine.begin() as conn:
        for table in Base.metadata.sorted_tables:  # tables added since (the running tallies)
            if not conn.dialect.has_table(conn, table.name):
                table.create(conn)
                made.append(table.name)
        for table in Base.metadata.sorted_tables:
            for index in table.indexes:
                if index.name and not conn.scalar(text("SELECT count(*) FROM sqlite_master WHERE type = 'index' "
                                                       "AND name = :n"), {"n": index.name}):
                    index.create(conn)
                    made.append(index.name)
    engine.dispose()
    if made:
        print("tables and indexes added to the copy:", ", ".join(made), flush=True)
    return made


def module_at(revision: str, path: str, name: str):
    """The module `path` (e.g. src/weijian/immunization/schedule/engine.py) as it was at git `revision`,
    imported under `name` beside today's (its imports are today's modules): the baseline a benchmark
    measures in the same run as the current code. None when git or the revision is not at hand."""
    import subprocess
    import types

    try:
        source = subprocess.run(["git", "show", f"{revision}:{path}"], cwd=ROOT, capture_output=True, check=True,
                                text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    module = types.ModuleType(name)
    module.__file__ = f"{revision}:{path}"
    sys.modules[name] = module  # dataclasses look their module up while the class is made
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module
