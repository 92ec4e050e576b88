"""Shared set-up of the care benchmarks: a demo county with its care (built fresh, or a copy of a
SQLite file built before, so a benchmark's extra rows never touch the original), a real uvicorn server on
loopback, and bearer tokens for the demo users.
"""
from __future__ import annotations

import argparse
import inspect
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Engine, make_url

from common import add_missing_indexes, fresh_database, timer
from weijian.app import create_app
from weijian.core.db import make_engine, make_sessionmaker, unit_of_work
from weijian.core.settings import Settings
from weijian.demo import builder

PASSWORD = "demo-1234"  # the demo users' (DEMO ONLY)


def add_arguments(parser: argparse.ArgumentParser, default_residents: int) -> None:
    small = os.environ.get("WEIJIAN_BENCH_SMALL") == "1"
    parser.add_argument("--residents", type=int, default=default_residents // 10 if small else default_residents)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db", help="a SQLite file already holding the demo county (built with care): "
                                     "the benchmark works on a copy of it")
    parser.add_argument("--postgres", help="build into a new database on this PostgreSQL server instead",
                        default=os.environ.get("WEIJIAN_BENCH_POSTGRES_URL"))


@contextmanager
def demo_database(args: argparse.Namespace, name: str, *, care_only: bool = True
                  ) -> Iterator[tuple[Settings, Engine, float | None]]:
    """(settings, engine, build seconds or None) of a demo county with its care (and, unless
    `care_only`, every other domain's demo data)."""
    tmp: Path | None = None
    drop: tuple[str, str] | None = None  # (server URL, database) of a PostgreSQL database made here
    if args.db:
        source = Path(args.db.removeprefix("sqlite:///"))
        tmp = Path(tempfile.mkdtemp(prefix=f"weijian-bench-{name}-"))
        copy = tmp / "bench.db"
        shutil.copy(source, copy)
        settings = Settings(environment="test", database_url=f"sqlite:///{copy}")
        add_missing_indexes(settings)  # a county cached before an index was added
        engine, seconds = make_engine(settings), None
    else:
        settings, engine, factory = fresh_database(name, args.postgres)
        # Care only: other domains' demo data (immunization, settlement) are left out where the builder allows it.
        params = inspect.signature(builder.build).parameters
        skip = {k: False for k in ("immunization", "settlement") if k in params and care_only}
        with timer() as t, unit_of_work(factory) as session:
            builder.build(session=session, residents=args.residents, seed=args.seed, **skip)
        seconds = round(t["seconds"], 1)
        path = settings.sqlite_path()
        tmp = path.parent if path else None
        if engine.dialect.name == "postgresql":
            drop = (args.postgres, engine.url.database)
    analyze(engine)
    try:
        yield settings, engine, seconds
    finally:
        engine.dispose()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        if drop is not None:
            admin = create_engine(make_url(drop[0]), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{drop[1]}" WITH (FORCE)'))
            admin.dispose()


def result_name(base: str, engine: Engine) -> str:
    """bench/results/<base>.json on SQLite, <base>_postgres.json on PostgreSQL."""
    return base + ("_postgres" if engine.dialect.name == "postgresql" else "")


def load_average() -> list[float]:
    """The machine's 1/5/15-minute load: latencies on a shared machine depend on it."""
    return [round(x, 2) for x in os.getloadavg()]


def analyze(engine: Engine) -> None:
    """Fresh planner statistics after bulk loads (as an operator would run after an import)."""
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))


def count(engine: Engine, model: type, *where) -> int:
    with unit_of_work(make_sessionmaker(engine)) as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def next_id(conn, model: type) -> int:
    return (conn.scalar(select(func.max(model.id))) or 0) + 1


def sync_sequences(conn, tables: tuple[str, ...]) -> None:
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                          f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(settings: Settings, engine: Engine) -> Iterator[httpx.Client]:
    """An httpx client talking to the application served by uvicorn on a loopback port."""
    app = create_app(settings, engine=engine)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=_free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.config.port}", timeout=120) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def bearer(client: httpx.Client, username: str, password: str = PASSWORD) -> dict[str, str]:
    resp = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    resp.raise_for_status()
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


def measure(client: httpx.Client, url: str, headers: dict[str, str], n: int, warmup: int = 3,
            params: dict | None = None) -> tuple[list[float], httpx.Response]:
    """n timed GETs (after `warmup` untimed ones): milliseconds each, and the last response."""
    resp = None
    for _ in range(warmup):
        resp = client.get(url, headers=headers, params=params)
        resp.raise_for_status()
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        resp = client.get(url, headers=headers, params=params)
        samples.append((time.perf_counter() - start) * 1000)
        resp.raise_for_status()
    return samples, resp
