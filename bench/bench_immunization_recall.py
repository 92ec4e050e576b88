"""Recall lists on the demo county (400,000 residents, with the children's vaccination histories):

- the recall list of the whole county for one week: p50/p95 latency through the service and through
  `GET /api/v1/immunization/recall` (a county doctor), and the same for one village (the village doctor)
  and one vaccination point's township;
- coverage and timeliness of every dose for the county (immunization.figures.rates);
- the engine over every child under 7 (~30,000 children) through the one-query path
  (immunization.recall.child_statuses: children and doses read in one query each, then the engine), against
  calling the engine child by child through the HTTP API (`GET /api/v1/residents/{id}/vaccinations`, the
  child's record), in the same run. The child-by-child figure is measured on a random sample of children
  (--http-children, 0 = all) and projected to all of them.

    .venv/bin/python bench/bench_immunization_recall.py [--residents N] [--db sqlite:///demo.db]
        [--postgres URL] [--runs K] [--http-children N]

Without --db it builds the demo county (residents and immunization, no care) into a fresh database. With
--db the benchmark works on a copy of that SQLite file; a file made before the children's next due dates
were stored (vaccination_next_due) gets the table, and an empty table is filled by `immunization.schedule.due.refresh_due`
(timed: the work of `weijian immunization refresh-due`); migrations and indexes added since the file was
made are applied to the copy (common.add_missing_indexes). Writes bench/results/immunization_recall.json
(immunization_recall_postgres.json on PostgreSQL). WEIJIAN_BENCH_SMALL=1 uses a tenth of the size.

The county's list is also measured with recall/queries.py and the engine as they were before the speed work
(BASELINE, read from git; on today's schema), alternating with today's, in the same run
(county_list_service_baseline).
Every list timing has its CPU seconds beside the wall time: on a busy shared machine the wall time mostly
measures the wait for a core (SQLite runs in this process, so its work is in the CPU time).
"""
from __future__ import annotations

import argparse
import inspect
import os
import random
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
import uvicorn
from sqlalchemy import delete, func, insert, select, text
from sqlalchemy import inspect as inspect_db

from common import add_missing_indexes, fresh_database, module_at, peak_rss_mb, percentiles, timer, write_results
from weijian.accounts import service as accounts_service
from weijian.app import create_app
from weijian.core.db import make_engine, make_sessionmaker, unit_of_work
from weijian.core.settings import Settings
from weijian.demo import builder
from weijian.immunization import figures as figures_mod
from weijian.immunization.models import NextDue, Vaccination, VaccinationPoint
from weijian.immunization.recall import queries as recall
from weijian.immunization.schedule import due as due_mod
from weijian.immunization.schedule import engine as imm_engine
from weijian.immunization.schedule.rules import add_months, edition_for
from weijian.residents.models import Resident

PASSWORD = "demo-1234"  # the demo users' (DEMO ONLY)
BASELINE = "5fb3afc"  # main before the third speed step of issue 14 item 11 (9bcf429 before the second)
QUERIES_PATH = "src/weijian/immunization/recall/queries.py"
ENGINE_PATH = "src/weijian/immunization/schedule/engine.py"
BASELINE_RUNS = 5


# --- the database ---------------------------------------------------------------------------------
def build(args: argparse.Namespace) -> tuple[Settings, object, float | None, str | None, Path | None]:
    """(settings, engine, build seconds, how histories were made, temp dir to remove)."""
    if args.db:
        source = Path(args.db.removeprefix("sqlite:///"))
        tmp = Path(tempfile.mkdtemp(prefix="weijian-bench-recall-"))
        shutil.copy(source, tmp / "bench.db")
        settings = Settings(environment="test", database_url=f"sqlite:///{tmp / 'bench.db'}")
        made = add_missing_indexes(settings)
        eng = make_engine(settings)
        how = "given database" + (f" ({', '.join(made)} added)" if made else "")
        if not inspect_db(eng).has_table(NextDue.__tablename__):
            NextDue.__table__.create(eng)
            how += " (next due dates added)"
        return settings, eng, None, how, tmp
    settings, eng, factory = fresh_database("recall", args.postgres)
    params = inspect.signature(builder.build).parameters
    kwargs = {"care": False} if "care" in params else {}
    with_demo = "immunization" in params
    if with_demo:
        kwargs["immunization"] = True
    with timer() as t, unit_of_work(factory) as session:
        builder.build(session=session, residents=args.residents, seed=args.seed, **kwargs)
        how = "demo/immunization.py"
        if not with_demo:  # the demo has no histories yet: make them here
            _histories(session, builder.reference_date())
            how = "generated by this benchmark"
    with eng.begin() as conn:
        conn.execute(text("ANALYZE"))
    path = settings.sqlite_path()
    return settings, eng, round(t["seconds"], 1), how, path.parent if path else None


def _histories(session, reference: date) -> None:
    """Plausible histories for every child under 18 (as bench_immunization_engine makes them)."""
    from bench_immunization_engine import history

    rng = random.Random(20261123)
    conn = session.connection()
    rows = []
    next_id = (conn.scalar(select(func.max(Vaccination.id))) or 0) + 1
    oldest = add_months(reference, -18 * 12)
    for rid, birth in conn.execute(select(Resident.id, Resident.birth_date)
                                   .where(Resident.birth_date > oldest).order_by(Resident.id)):
        for g in history(rng, birth, reference):
            rows.append({"id": next_id, "resident_id": rid, "vaccine": g.vaccine, "dose": g.dose, "date": g.date,
                         "source": "historical"})
            next_id += 1
            if len(rows) >= 5000:
                conn.execute(insert(Vaccination), rows)
                rows = []
    if rows:
        conn.execute(insert(Vaccination), rows)


# --- the server -----------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, settings: Settings, eng) -> None:
        app = create_app(settings, engine=eng)
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=_free_port(), log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> httpx.Client:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.05)
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.server.config.port}", timeout=600)
        return self.client

    def __exit__(self, *exc) -> None:
        self.client.close()
        self.server.should_exit = True
        self.thread.join(timeout=10)


def bearer(client: httpx.Client, username: str) -> dict[str, str]:
    resp = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    resp.raise_for_status()
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


# --- measurements ---------------------------------------------------------------------------------
def service_runs(factory, actor, runs: int, without_next_due: bool = False, module=recall,
                 **kwargs) -> tuple[dict, recall.RecallList]:
    """`runs` timed calls of recall_list, each in its own transaction, rolled back (the audit row too).
    `without_next_due`: the stored next due dates deleted first (in the same transaction, not timed), so
    every child of the area goes to the engine (the list as it was before they were stored)."""
    samples, cpu, last = [], [], None
    for _ in range(runs):
        session = factory()
        try:
            if without_next_due:
                session.execute(delete(NextDue))
            start, cpu_start = time.perf_counter(), time.process_time()
            last = module.recall_list(session=session, actor=actor, **kwargs)
            samples.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - cpu_start) * 1000)
        finally:
            session.rollback()
            session.close()
    return {**percentiles(samples), **{f"cpu_{k}": v for k, v in percentiles(cpu).items() if k != "n"}}, last


def http_runs(client: httpx.Client, headers: dict, runs: int, params: dict) -> tuple[dict, dict]:
    samples, body = [], None
    for _ in range(runs):
        start = time.perf_counter()
        resp = client.get("/api/v1/immunization/recall", headers=headers, params=params)
        samples.append((time.perf_counter() - start) * 1000)
        resp.raise_for_status()
        body = resp.json()
    return percentiles(samples), body


def summary(r: recall.RecallList) -> dict:
    return {"children_checked": r.children_checked, "children_listed": len(r.children), "doses_listed": r.dose_count,
            "overdue": r.count("overdue"), "refusals": r.refusal_count,
            "history_errors": sum(1 for c in r.children if c.history_errors),
            "with_guardian_phone": sum(1 for c in r.children if c.guardian_phone)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    small = os.environ.get("WEIJIAN_BENCH_SMALL") == "1"
    parser.add_argument("--residents", type=int, default=40_000 if small else 400_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db", help="a SQLite demo database with immunization (worked on as a copy)")
    parser.add_argument("--postgres", default=os.environ.get("WEIJIAN_BENCH_POSTGRES_URL"),
                        help="build into a new database on this PostgreSQL server")
    parser.add_argument("--runs", type=int, default=10, help="timed county-wide lists (service; HTTP: half)")
    parser.add_argument("--http-children", type=int, default=2000,
                        help="children called one by one over HTTP (0: every child under 7)")
    args = parser.parse_args()

    settings, eng, build_seconds, how, tmp = build(args)
    factory = make_sessionmaker(eng)
    reference = builder.reference_date()
    week = recall.week_bounds(reference)[0]
    under7 = add_months(reference, -7 * 12)
    with unit_of_work(factory) as s:
        residents = s.scalar(select(func.count()).select_from(Resident))
        doses = s.scalar(select(func.count()).select_from(Vaccination))
        county_user = accounts_service.get_by_username(session=s, username="xianyi")
        village_user = accounts_service.get_by_username(session=s, username="cunyi")
        county = accounts_service.actor_for(county_user)
        village = accounts_service.actor_for(village_user)
        point = s.execute(select(VaccinationPoint.id, VaccinationPoint.serves_orgunit_code)
                          .where(VaccinationPoint.serves_orgunit_code == village.scope_code[:9] + "000")
                          .order_by(VaccinationPoint.id)).first()
        young = [rid for (rid,) in s.execute(select(Resident.id).where(
            Resident.status == "active", Resident.birth_date > under7, Resident.birth_date <= reference)
            .order_by(Resident.id))]
    print(f"{eng.dialect.name}: {residents} residents, {doses} doses ({how}), {len(young)} children under 7; "
          f"week {week}", flush=True)

    figures: dict = {"engine": eng.dialect.name, "residents": residents, "doses_in_histories": doses,
                     "histories": how, "build_seconds": build_seconds, "week": week.isoformat(),
                     "load_average_before": [round(x, 2) for x in os.getloadavg()]}

    # 0. Every child's next due dates (what `weijian immunization refresh-due` does), when the database has
    # none yet: the recall lists read them.
    with unit_of_work(factory) as s:
        stored = s.scalar(select(func.count()).select_from(NextDue))
    if not stored:
        with timer() as t, unit_of_work(factory) as s:
            refreshed = due_mod.refresh_due(session=s, on=reference)
        with eng.begin() as conn:
            conn.execute(text("ANALYZE"))
        figures["refresh_due"] = {"children": refreshed, "seconds": round(t["seconds"], 1)}
        print(f"refresh-due: {refreshed} children in {t['seconds']:.1f} s", flush=True)
    else:
        figures["refresh_due"] = {"children": stored, "seconds": None, "note": "stored in the given database"}

    # 1. The county's list for the week, through the service.
    lat, last = service_runs(factory, county, args.runs, week_start=week)
    figures["county_list_service"] = {**lat, **summary(last)}
    print(f"county list (service): p50 {lat['p50_ms']:.0f} ms, p95 {lat['p95_ms']:.0f} ms "
          f"(CPU p50 {lat['cpu_p50_ms']:.0f} ms, p95 {lat['cpu_p95_ms']:.0f} ms); "
          f"{summary(last)}", flush=True)
    fast = summary(last)
    baseline = module_at(BASELINE, QUERIES_PATH, "baseline_recall_queries")
    baseline_engine = module_at(BASELINE, ENGINE_PATH, "baseline_recall_engine")
    if baseline is not None and baseline_engine is not None:  # the code before the speed work, alternating
        baseline.engine = baseline_engine  # the list's queries with the engine of their day
        baseline.LISTED = (baseline_engine.DUE, baseline_engine.OVERDUE)
        now_runs, then_runs = [], []
        for _ in range(BASELINE_RUNS):
            now_runs.append(service_runs(factory, county, 1, week_start=week)[0])
            lat, last = service_runs(factory, county, 1, module=baseline, week_start=week)
            then_runs.append(lat)
        figures["county_list_service_baseline"] = {
            "revision": BASELINE, "alternating_runs": BASELINE_RUNS,
            "baseline_cpu_ms_each": [r["cpu_p50_ms"] for r in then_runs],
            "current_cpu_ms_each": [r["cpu_p50_ms"] for r in now_runs],
            "baseline_cpu_ms_median": statistics.median(r["cpu_p50_ms"] for r in then_runs),
            "current_cpu_ms_median": statistics.median(r["cpu_p50_ms"] for r in now_runs),
            "baseline_wall_ms_median": statistics.median(r["p50_ms"] for r in then_runs),
            "current_wall_ms_median": statistics.median(r["p50_ms"] for r in now_runs),
            "same_list": summary(last) == fast}
        print(f"county list, baseline {BASELINE} vs today (CPU ms, median of {BASELINE_RUNS} alternating): "
              f"{figures['county_list_service_baseline']['baseline_cpu_ms_median']:.0f} vs "
              f"{figures['county_list_service_baseline']['current_cpu_ms_median']:.0f}", flush=True)
    lat, last = service_runs(factory, county, 3, without_next_due=True, week_start=week)
    figures["county_list_service_without_next_due"] = {**lat, **summary(last), "same_list": summary(last) == fast}
    print(f"county list (service, every child to the engine): p50 {lat['p50_ms']:.0f} ms; same list: "
          f"{summary(last) == fast}", flush=True)
    lat, last = service_runs(factory, village, max(args.runs, 30), week_start=week)
    figures["village_list_service"] = {**lat, **summary(last)}
    print(f"village list (service): p50 {lat['p50_ms']:.1f} ms, p95 {lat['p95_ms']:.1f} ms", flush=True)
    if point is not None:
        lat, last = service_runs(factory, county, max(args.runs, 10), week_start=week, point_id=point.id)
        figures["point_list_service"] = {**lat, **summary(last), "area": point.serves_orgunit_code}
        print(f"point list (service): p50 {lat['p50_ms']:.0f} ms, p95 {lat['p95_ms']:.0f} ms", flush=True)

    # 2. The engine over every child under 7: one-query path, and its parts.
    session = factory()
    try:
        start, cpu = time.perf_counter(), time.process_time()
        statuses = recall.child_statuses(session=session, actor=county, as_of=reference, born_after=under7)
        one_query = time.perf_counter() - start
        one_query_cpu = time.process_time() - cpu
        # The same two steps timed apart (with the collector paused, as the service does).
        where = recall.children_condition(county, None, reference, edition_for(reference), under7)
        with recall.collector_paused():
            start = time.perf_counter()
            people = session.connection().execute(select(Resident.id, Resident.birth_date).where(where)).all()
            histories = recall.histories_where(session, where, reference)
            read_seconds = time.perf_counter() - start
            start = time.perf_counter()
            for rid, birth in people:
                imm_engine.due(birth, histories.get(rid, ()), reference)
            engine_seconds = time.perf_counter() - start
    finally:
        session.rollback()
        session.close()
    refused = sum(1 for v in statuses.values() if isinstance(v, Exception))
    figures["engine_one_query"] = {
        "children": len(statuses), "seconds_total": round(one_query, 3), "cpu_seconds": round(one_query_cpu, 3),
        "seconds_reading": round(read_seconds, 3), "seconds_engine": round(engine_seconds, 3),
        "histories_refused": refused, "target": "30,000 children in about 1 second"}
    print(f"engine, one query, {len(statuses)} children: {one_query:.2f} s "
          f"(reading {read_seconds:.2f} s, engine {engine_seconds:.2f} s)", flush=True)

    # 3. The figures for the county: every dose's coverage and timeliness, and one dose.
    period = f"{reference.year}Q{(reference.month - 1) // 3 + 1}"
    for label, kwargs in (("figures_all_doses_service", {}), ("figures_mmr1_service", {"vaccine": "MMR", "dose": 1})):
        samples = []
        for _ in range(3):
            session = factory()
            try:
                start = time.perf_counter()
                rows = figures_mod.rates(session=session, actor=county, period=period, **kwargs)
                samples.append((time.perf_counter() - start) * 1000)
            finally:
                session.rollback()
                session.close()
        county_rows = [r for r in rows["coverage"] if r.level == "county"]
        figures[label] = {**percentiles(samples), "period": period, "doses": len(county_rows),
                          "children_eligible_mmr1": next((r.denominator for r in county_rows
                                                          if (r.vaccine, r.dose) == ("MMR", 1)), None)}
        print(f"{label}: p50 {figures[label]['p50_ms']:.0f} ms", flush=True)

    # 4. Over HTTP: the lists, then the engine child by child.
    with Server(settings, eng) as client:
        county_h, village_h = bearer(client, "xianyi"), bearer(client, "cunyi")
        params = {"week": week.isoformat()}
        client.get("/api/v1/immunization/recall", headers=village_h, params=params).raise_for_status()  # warm-up
        lat, body = http_runs(client, county_h, max(3, args.runs // 2), params)
        figures["county_list_http"] = {**lat, "children_listed": len(body["children"])}
        print(f"county list (HTTP): p50 {lat['p50_ms']:.0f} ms, p95 {lat['p95_ms']:.0f} ms", flush=True)
        lat, body = http_runs(client, village_h, 30, params)
        figures["village_list_http"] = {**lat, "children_listed": len(body["children"])}
        print(f"village list (HTTP): p50 {lat['p50_ms']:.1f} ms, p95 {lat['p95_ms']:.1f} ms", flush=True)

        sample = young if args.http_children <= 0 or args.http_children >= len(young) else \
            random.Random(7).sample(young, args.http_children)
        samples = []
        started = time.perf_counter()
        for rid in sample:
            t0 = time.perf_counter()
            resp = client.get(f"/api/v1/residents/{rid}/vaccinations", headers=county_h,
                              params={"as_of": reference.isoformat()})
            samples.append((time.perf_counter() - t0) * 1000)
            if resp.status_code == 404 and "vaccinations" not in resp.text:
                figures["engine_http"] = {"available": False}
                break
            resp.raise_for_status()
        else:
            wall = time.perf_counter() - started
            projected = wall / len(sample) * len(young)
            figures["engine_http"] = {
                "endpoint": "GET /api/v1/residents/{id}/vaccinations", "children_called": len(sample),
                **percentiles(samples), "seconds_for_called": round(wall, 2),
                "seconds_projected_all_under_7": round(projected, 1),
                "one_query_speed_up": round(projected / one_query, 1)}
            print(f"engine child by child over HTTP: {len(sample)} children in {wall:.1f} s "
                  f"(p50 {statistics.median(samples):.1f} ms); all {len(young)}: ~{projected:.0f} s "
                  f"vs {one_query:.2f} s in one query", flush=True)
    figures["peak_rss_mb"] = peak_rss_mb()
    figures["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    eng.dispose()
    write_results("immunization_recall" + ("_postgres" if figures["engine"] == "postgresql" else ""), figures)
    if tmp is not None:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.postgres and not args.db:  # the database this run made on a shared server
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        url = make_url(settings.database_url)
        admin = create_engine(make_url(args.postgres), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
