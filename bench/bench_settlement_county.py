"""Benchmark: settling a year of stays for the whole 400,000-resident demo county, with the year's
accumulations carried person by person and pay-later balances (settlement.settle_pending, the batch the demo
and the window's "settle pending" use); then per-stay settlement through the HTTP API (uvicorn on loopback,
a county doctor's bearer token): p50/p95 latency of POST /api/v1/settlement/settlements; and, on the settled
county, the bureau's bundled-budget report and poverty-risk list through the API.

    .venv/bin/python bench/bench_settlement_county.py [--residents N] [--db county.db] [--requests K]

Builds the demo county with its care but no settlements (400,000 residents by default: several
minutes), or works on a copy of a SQLite file built that way before (--db; one built by
`builder.build(..., settlement=False)` or before settlement existed). The stays admitted without a deposit
are marked as the demo marks them (eligible residents at designated facilities), so the batch opens their
balances too. Writes bench/results/settlement_county.json (settlement_county_postgres.json on PostgreSQL).
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from care_common import PASSWORD, add_arguments, analyze, bearer, count, demo_database, load_average, result_name, serve
from common import peak_rss_mb, percentiles, timer, write_results
from weijian.care.models import Encounter
from weijian.core.actor import Actor
from weijian.core.db import make_sessionmaker, unit_of_work
from weijian.demo import settlement as demo_settlement
from weijian.residents.models import Resident
from weijian.settlement.models import Balance, Settlement
from weijian.settlement.settle import queries as settle_queries
from weijian.settlement.settle import service as settle
from weijian.settlement.settle.schemas import PendingIn

YEAR = 2025  # a complete year of the demo's care (its reference date: the data file's 2026-06-30)
SETTLE = "/api/v1/settlement/settlements"


def unsettled_county(args: argparse.Namespace):
    """(settings, engine, build seconds or None): the demo county with its care, nothing settled (the care
    benchmarks' database: the builder leaves immunization and settlement out)."""
    return demo_database(args, "settlement_county")


def _pending(engine: Engine, year: int) -> list[int]:
    with unit_of_work(make_sessionmaker(engine)) as s:
        return [r.id for r in s.execute(settle_queries.pending_statement(actor=Actor.system("bench"), year=year)
                                        .order_by(Encounter.id))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser, 400_000)
    parser.add_argument("--requests", type=int, default=300, help="stays settled one by one through the API")
    parser.add_argument("--figure-requests", type=int, default=10, help="timed requests of each bureau figure")
    args = parser.parse_args()

    with unsettled_county(args) as (settings, engine, build_seconds):
        factory = make_sessionmaker(engine)
        pending = _pending(engine, YEAR)
        print(f"{len(pending)} stays of {YEAR} pending", flush=True)
        with unit_of_work(factory) as session:
            waivers = demo_settlement.grant_waivers(session, date(YEAR, 1, 1), date(YEAR, 12, 31))

        # 1. The year's batch, in one transaction (as the service runs it), commit included.
        session = factory()
        try:
            with timer() as batch:
                settled = settle.settle_pending(session=session, actor=Actor.system("bench"), pending_in=PendingIn(year=YEAR),
                                                on_discharge_date=True)
                with timer() as commit:
                    session.commit()
        finally:
            session.close()
        balances = count(engine, Balance)
        print(f"batch: {settled} stays in {batch['seconds']:.1f} s ({settled / batch['seconds']:.0f} stays/s), "
              f"commit {commit['seconds']:.1f} s, {balances} balances", flush=True)
        analyze(engine)

        # 2. One stay at a time through the API: the next year's stays (discharged up to the reference date), on top of
        # a settled county. Each request settles a different stay; a refused one would be counted apart.
        later = _pending(engine, YEAR + 1)
        rng = random.Random(7)
        sample = rng.sample(later, min(args.requests, len(later)))
        samples, refused = [], 0
        with serve(settings, engine) as client:
            headers = bearer(client, "xianyi", PASSWORD)  # county doctor: settlement:write, the county in scope
            warm = sample[:3]
            for eid in warm:
                client.post(SETTLE, json={"encounter_id": eid}, headers=headers)
            for eid in sample[3:]:
                start = time.perf_counter()
                resp = client.post(SETTLE, json={"encounter_id": eid}, headers=headers)
                samples.append((time.perf_counter() - start) * 1000)
                refused += resp.status_code != 201
            api = {**percentiles(samples), "refused": refused}
            print(f"api settle: p50 {api['p50_ms']:.1f} ms  p95 {api['p95_ms']:.1f} ms  ({refused} refused)", flush=True)

            # 3. The bureau's figures on the settled county.
            bureau = bearer(client, "weijianju", PASSWORD)
            figures = {}
            for kind, url, params in (("budget report (year)", f"/api/v1/settlement/budget/{YEAR}", None),
                                      ("poverty-risk list (first page)", "/api/v1/settlement/poverty-risk",
                                       {"as_of": f"{YEAR}-12-31"})):
                times = []
                for i in range(args.figure_requests + 1):
                    start = time.perf_counter()
                    resp = client.get(url, headers=bureau, params=params)
                    resp.raise_for_status()
                    if i:  # the first one warms the caches
                        times.append((time.perf_counter() - start) * 1000)
                figures[kind] = {**percentiles(times), "bytes": len(resp.content)}
                if "poverty" in kind:
                    figures[kind].update(flagged=resp.json()["total"], monitored=resp.json()["monitored"])
                print(f"{kind:32} p50 {figures[kind]['p50_ms']:7.1f} ms  p95 {figures[kind]['p95_ms']:7.1f} ms",
                      flush=True)

        with unit_of_work(factory) as s:
            live = s.scalar(select(func.count()).select_from(Settlement).where(Settlement.status == "settled"))
        write_results(result_name("settlement_county", engine), {
            "engine": engine.dialect.name, "load_average": load_average(),
            "residents": count(engine, Resident),
            "database": "copy of " + args.db if args.db else "built", "build_seconds": build_seconds,
            "year": YEAR, "stays_pending": len(pending), "deposit_waivers": waivers,
            "batch": {"stays_settled": settled, "seconds": round(batch["seconds"], 2),
                      "commit_seconds": round(commit["seconds"], 2),
                      "stays_per_second": round(settled / batch["seconds"], 1), "balances_opened": balances,
                      "peak_rss_mb": peak_rss_mb()},
            "api_settle_one_stay": {**api, "user": "xianyi (county_doctor, bearer token)",
                                    "stays": f"{len(sample) - 3} of the {len(later)} stays discharged in {YEAR + 1}, "
                                             "after the batch"},
            "bureau_figures_api": figures, "settlements_live_after": live,
        })
    return 0


if __name__ == "__main__":
    sys.exit(main())
