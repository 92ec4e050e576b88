"""Resident search through the HTTP API on the 400,000-resident demo county: p50/p95 latency of
`GET /api/v1/residents?q=...` by name prefix, full name, pinyin initials, identity number and phone,
for a county doctor and a village doctor, against a real uvicorn server on loopback.

    .venv/bin/python bench/bench_resident_search_http.py [--residents N] [--db sqlite:///path] [--requests K]

Without --db it builds the demo county (residents only) into a fresh SQLite file first.
Writes bench/results/resident_search_http.json. WEIJIAN_BENCH_SMALL=1 uses a tenth of the size.
"""
from __future__ import annotations

import argparse
import inspect
import os
import random
import socket
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
import uvicorn
from sqlalchemy import func, select, text

from common import fresh_database, percentiles, timer, write_results
from weijian.app import create_app
from weijian.core.db import make_engine, make_sessionmaker, unit_of_work
from weijian.core.settings import Settings
from weijian.demo import builder
from weijian.residents.models import Resident

PASSWORD = "demo-1234"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _build(residents: int):
    settings, engine, factory = fresh_database("search_http")
    kwargs = {}
    # Build residents only where the builder can skip the other domains' demo data.
    for flag in ("care", "immunization"):
        if flag in inspect.signature(builder.build).parameters:
            kwargs[flag] = False
    with timer() as t, unit_of_work(factory) as session:
        builder.build(session=session, residents=residents, seed=1, **kwargs)
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("ANALYZE"))
    return settings, engine, round(t["seconds"], 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    small = os.environ.get("WEIJIAN_BENCH_SMALL") == "1"
    parser.add_argument("--residents", type=int, default=40_000 if small else 400_000)
    parser.add_argument("--db", help="use this existing demo database URL instead of building one")
    parser.add_argument("--requests", type=int, default=60, help="requests per kind of query")
    args = parser.parse_args()

    if args.db:
        settings = Settings(environment="test", database_url=args.db)
        engine, build_seconds = make_engine(settings), None
    else:
        settings, engine, build_seconds = _build(args.residents)
    factory = make_sessionmaker(engine)
    rng = random.Random(7)
    with unit_of_work(factory) as s:
        total = s.scalar(select(func.count()).select_from(Resident))
        village = s.scalar(text("SELECT orgunit_code FROM users WHERE username = 'cunyi'"))
        county_rows = s.execute(select(Resident.name, Resident.id_number, Resident.phone, Resident.name_initials)
                                .where(Resident.id_number.is_not(None)).order_by(Resident.id)
                                .limit(5000)).all()
        village_rows = s.execute(select(Resident.name, Resident.id_number, Resident.phone, Resident.name_initials)
                                 .where(Resident.village_code == village).order_by(Resident.id)).all()

    app = create_app(settings, engine=engine)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"

    results: dict[str, dict] = {}
    with httpx.Client(base_url=base, timeout=60) as client:
        for user, rows in (("xianyi", county_rows), ("cunyi", village_rows)):
            token = client.post("/api/v1/auth/token", json={"username": user, "password": PASSWORD}).json()
            headers = {"Authorization": f"Bearer {token['access_token']}"}
            kinds = {
                "name prefix (surname)": lambda r: r.name[0],
                "full name": lambda r: r.name,
                "pinyin initials": lambda r: r.name_initials,
                "identity number": lambda r: r.id_number,
                "phone": lambda r: r.phone,
            }
            for kind, make_q in kinds.items():
                candidates = [r for r in rows if make_q(r)]
                samples, found = [], 0
                for _ in range(args.requests):
                    q = make_q(rng.choice(candidates))
                    start = time.perf_counter()
                    resp = client.get("/api/v1/residents", params={"q": q, "page_size": 20}, headers=headers)
                    samples.append((time.perf_counter() - start) * 1000)
                    resp.raise_for_status()
                    found += bool(resp.json()["items"])
                results[f"{user}: {kind}"] = {**percentiles(samples), "share_with_hits": round(found / len(samples), 2)}
                print(f"{user:8} {kind:24} p50 {results[f'{user}: {kind}']['p50_ms']:7.1f} ms  "
                      f"p95 {results[f'{user}: {kind}']['p95_ms']:7.1f} ms", flush=True)
    server.should_exit = True
    thread.join(timeout=10)
    write_results("resident_search_http", {
        "engine": engine.dialect.name, "residents": total, "build_seconds": build_seconds,
        "requests_per_kind": args.requests, "server": "uvicorn, 1 worker, loopback; client httpx keep-alive",
        "latency": results,
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
