"""Benchmark: the indicator dashboard's pages for a bureau user on the demo county, through HTTP (uvicorn
on loopback, a bearer token): p50/p95 latency of each page and of the Excel download.

    .venv/bin/python bench/bench_dashboard_http.py [--residents N] [--db county.db] [--requests K] [--warmup W]

Builds the demo county with its care and its children's vaccinations (400,000 residents by
default; --db reuses a county built before, on a copy; --postgres URL builds into a new database on that
server). The pages are asked for the demo's last complete year, for the whole county: the overview (every built-in
indicator), the townships compared on one indicator, its monthly trend, the table of all villages, the
printable report, the Excel download, and one drill-down page. Writes bench/results/dashboard_http.json
(dashboard_http_postgres.json on PostgreSQL).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from care_common import PASSWORD, add_arguments, bearer, count, demo_database, load_average, measure, result_name, serve
from common import percentiles, timer, write_results
from weijian.demo.care import last_full_year
from weijian.residents.models import Resident

BUREAU = "weijianju"  # the demo's bureau_admin
COUNTY = "421124000000"


def demo_county(args: argparse.Namespace):
    """(settings, engine, build seconds or None) of the whole demo county: care, immunization, settlement."""
    return demo_database(args, "dashboard", care_only=False)


def _indicator() -> tuple[str, int]:
    """The indicator the comparison, trend and drill-down pages are asked for (the first with a target,
    as the pages choose by default), and how many indicators are defined."""
    from weijian.indicators import service as indicators_service

    inds = list(indicators_service.list_indicators())
    chosen = next((i for i in inds if getattr(i, "target", None)), inds[0])
    return str(chosen.id), len(inds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser, 400_000)
    parser.add_argument("--requests", type=int, default=40, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests per page first")
    args = parser.parse_args()

    from weijian.demo.builder import reference_date

    period = str(last_full_year(reference_date()))
    indicator, defined = _indicator()
    with demo_county(args) as (settings, engine, build_seconds):
        # A county cached before the running tallies existed: count them once (a real database keeps them
        # at each write; `weijian db upgrade` builds them).
        from sqlalchemy.orm import Session

        from weijian.core import tallies

        with timer() as built, Session(engine) as session:
            rebuilt = tallies.ensure(session)
            session.commit()
        if rebuilt:
            print(f"tallies built for {', '.join(rebuilt)} in {built['seconds']:.1f} s", flush=True)
        results: dict[str, dict] = {}
        with serve(settings, engine) as client:
            headers = bearer(client, BUREAU, PASSWORD)
            base = {"period": period, "orgunit": COUNTY}
            pages = {
                "overview (every indicator, county)": ("/indicators", base),
                "townships compared (one indicator)": ("/indicators/compare", {**base, "indicator": indicator}),
                "monthly trend (one indicator, county)": ("/indicators/trend", {**base, "indicator": indicator}),
                "village table (default indicators)": ("/indicators/villages", base),
                "village table sorted (one indicator)": ("/indicators/villages",
                                                         {**base, "indicators": indicator, "sort": indicator}),
                "printable report (overview)": ("/indicators/print", {**base, "view": "overview"}),
                "excel download (village table)": ("/indicators/export.xlsx", {**base, "view": "villages"}),
                "drill-down, page 1": ("/indicators/drill", {**base, "indicator": indicator}),
            }
            for kind, (url, params) in pages.items():
                samples, resp = measure(client, url, headers, args.requests, warmup=args.warmup, params=params)
                results[kind] = {**percentiles(samples), "bytes": len(resp.content)}
                print(f"{kind:40} p50 {results[kind]['p50_ms']:7.1f} ms  p95 {results[kind]['p95_ms']:7.1f} ms  "
                      f"{len(resp.content):,} bytes", flush=True)
        write_results(result_name("dashboard_http", engine), {
            "engine": engine.dialect.name, "load_average": load_average(),
            "residents": count(engine, Resident), "indicators_defined": defined, "period": period,
            "indicator_compared": indicator, "database": "copy of " + args.db if args.db else "built",
            "build_seconds": build_seconds, "requests_per_page": args.requests, "warmup_per_page": args.warmup,
            "latency": results,
        })
    return 0


if __name__ == "__main__":
    sys.exit(main())
