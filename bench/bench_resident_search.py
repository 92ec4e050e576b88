"""Resident search at county size, service level (issue 11: p95 < 20 ms for every query kind and scope):
residents.service.search — scope, capped count, one page of 20 with households, the audit event — over
random queries drawn from real residents of the 400,000-resident demo county, for each query kind the
search box and form understand and each scope (a village doctor's village, a township, the county).

Every query also runs through the previous query path, kept below (`legacy_search`: one capped count
and one ORDER BY ... LIMIT over all matches), on the same county at migration 0002 (its indexes), in the
same run and interleaved with the new one; the two must return the same page and total. Prints a table,
then writes bench/results/resident_search.json (resident_search_postgres.json with --postgres) with
p50/p95/max (wall, and CPU of this process on SQLite), the machine's loop speed and load, and the plans
of the statements the new path ran for one query of each kind and scope.

    .venv/bin/python bench/bench_resident_search.py [--residents N] [--seed S] [--queries K]
                                                    [--postgres ADMIN_URL] [--cache DIR]

The demo county is built once by `weijian demo-data` (SQLite: DIR/county-N-seedS.db; PostgreSQL: the
database weijian_bench_county_N_seedS) and reused; each run works on two copies of it (one migrated to
0002, one to head). WEIJIAN_BENCH_SMALL=1 runs a tenth of the size.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from alembic import command
from sqlalchemy import create_engine, event, false, func, or_, select, text, union
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, defer, selectinload

from common import ROOT, percentiles, python_loop_ns, write_results
from weijian.accounts import service as accounts_service
from weijian.core.actor import Actor
from weijian.core.db import like_prefix, make_engine, make_sessionmaker
from weijian.core.migrate import alembic_config, current, upgrade
from weijian.core.settings import Settings
from weijian.residents import service
from weijian.residents.models import Household, Resident

BEFORE = "0002"  # the migration whose indexes the previous query path ran on
GOAL_MS = 20.0
COUNTY = "421124000000"
SCOPES = ("village", "township", "county")
ROLES = {"village": "village_doctor", "township": "township_doctor", "county": "county_doctor"}


# --- the query kinds, each a search of one resident -------------------------------------------------------
def _fifteen(r) -> str | None:
    return r.id_number[:6] + r.id_number[8:17] if r.id_number and r.id_number[6:8] == "19" else None


KINDS = {
    "surname (1 char)": lambda r: {"q": r.name[0]},
    "name prefix (2 chars)": lambda r: {"q": r.name[:2]} if len(r.name) > 2 else None,
    "full name": lambda r: {"q": r.name},
    "pinyin initials": lambda r: {"q": r.name_initials},
    "single letter": lambda r: {"q": r.name_initials[0]},
    "full pinyin": lambda r: {"q": r.name_pinyin},
    "id number (18)": lambda r: {"q": r.id_number} if r.id_number else None,
    "id number (15)": lambda r: {"q": _fifteen(r)} if _fifteen(r) else None,
    "id prefix (10)": lambda r: {"q": r.id_number[:10]} if r.id_number else None,
    "id prefix (6)": lambda r: {"q": r.id_number[:6]} if r.id_number else None,
    "phone": lambda r: {"q": r.phone} if r.phone else None,
    "household": lambda r: {"household_number": r.household_number} if r.household_number else None,
}


def actor_for(scope: str, village_code: str) -> Actor:
    code = {"village": village_code, "township": village_code[:9] + "000", "county": COUNTY}[scope]
    return Actor(user_id=None, username="bench", role=ROLES[scope], scope_code=code,
                 permissions=frozenset({"resident:read"}))


# --- the previous query path (residents.service.search before issue 11), for the baseline ------------------
def legacy_condition(query: service.Query, dialect: str):
    if query.kind == "too_short":
        return false()
    if query.kind == "id_number":
        return Resident.id_number == query.value
    if query.kind == "id_prefix":
        return service._id_prefix_condition(query.value)
    if query.kind == "phone":
        if query.value.isdigit():
            return or_(Resident.phone == query.value, service._id_prefix_condition(query.value))
        return Resident.phone == query.value
    if query.kind == "pinyin":
        low = like_prefix(query.value.lower())
        branches = (Resident.name_initials.like(low, escape="\\"), Resident.name_pinyin.like(low, escape="\\"),
                    Resident.name.like(like_prefix(query.value), escape="\\"))
        if dialect == "sqlite":  # a union of the three index range scans (an OR made it take the scope's range)
            return Resident.id.in_(union(*(select(Resident.id).where(b) for b in branches)))
        return or_(*branches)
    if query.kind == "name":
        return Resident.name.like(like_prefix(query.value), escape="\\")
    return None


def legacy_search(*, session: Session, actor: Actor, page: int = 1, page_size: int = 20, **criteria):
    query, terms = service.search_terms(actor=actor, **criteria)
    conds, order = list(terms.common), terms.order
    if (cond := legacy_condition(query, session.get_bind().dialect.name)) is not None:
        conds.append(cond)
    total = session.scalar(select(func.count()).select_from(
        select(Resident.id).where(*conds).limit(service.COUNT_CAP + 1).subquery())) or 0
    items = list(session.scalars(
        select(Resident).where(*conds).order_by(*order).offset((page - 1) * page_size).limit(page_size)
        .options(selectinload(Resident.household), defer(Resident.initials_first), defer(Resident.pinyin_first))))
    accounts_service.audit(session=session, actor=actor, action="search", entity_type="resident",
                           basis=service.scope_basis(actor),
                           detail={**{k: v for k, v in criteria.items() if v}, "kind": query.kind, "page": page,
                                   "total": total})
    return service.SearchPage(items, total)


# --- databases ----------------------------------------------------------------------------------------------
def _cli(url: str, *args: str) -> None:
    env = {**os.environ, "WEIJIAN_DATABASE_URL": url}
    subprocess.run([str(ROOT / ".venv" / "bin" / "weijian"), *args], env=env, check=True)


def _build(url: str, residents: int, seed: int) -> None:
    print(f"building the demo county ({residents} residents) into {url} ...", flush=True)
    _cli(url, "db", "upgrade")
    _cli(url, "demo-data", "--residents", str(residents), "--seed", str(seed))


def _migrate(engine: Engine, revision: str) -> None:
    """The copy at `revision` (downgraded when it was built by a later head), with fresh statistics."""
    if revision == "head":
        upgrade(engine)
    elif current(engine) != revision:
        command.downgrade(alembic_config(engine), revision)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # PostgreSQL: VACUUM sets the visibility map its index-only scans need (autovacuum would, later).
        conn.execute(text("ANALYZE" if engine.dialect.name == "sqlite" else "VACUUM ANALYZE residents"))


def sqlite_copies(cache: Path, residents: int, seed: int) -> dict[str, Engine]:
    cache.mkdir(parents=True, exist_ok=True)
    source = cache / f"county-{residents}-seed{seed}.db"
    if not source.exists():
        building = source.with_suffix(".building")
        building.unlink(missing_ok=True)
        _build(f"sqlite:///{building}", residents, seed)
        building.rename(source)
    engines = {}
    for label, revision in (("before", BEFORE), ("after", "head")):
        copy = cache / f"resident_search-{label}.db"
        for stale in (copy, Path(f"{copy}-wal"), Path(f"{copy}-shm")):
            stale.unlink(missing_ok=True)
        shutil.copyfile(source, copy)
        engines[label] = make_engine(Settings(environment="test", database_url=f"sqlite:///{copy}"))
        _migrate(engines[label], revision)
    return engines


def postgres_copies(admin_url: str, residents: int, seed: int) -> dict[str, Engine]:
    admin = create_engine(make_url(admin_url), isolation_level="AUTOCOMMIT")
    source = f"weijian_bench_county_{residents}_seed{seed}"
    with admin.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": source}):
            conn.execute(text(f'CREATE DATABASE "{source}_building" ENCODING \'UTF8\' TEMPLATE template0'))
            _build(make_url(admin_url).set(database=f"{source}_building").render_as_string(False), residents, seed)
            conn.execute(text(f'ALTER DATABASE "{source}_building" RENAME TO "{source}"'))
    engines = {}
    for label, revision in (("before", BEFORE), ("after", "head")):
        name = f"weijian_bench_resident_search_{label}"
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{source}"'))
        url = make_url(admin_url).set(database=name).render_as_string(False)
        engines[label] = make_engine(Settings(environment="test", database_url=url))
        _migrate(engines[label], revision)
    admin.dispose()
    return engines


# --- measuring ----------------------------------------------------------------------------------------------
def sample(engine: Engine, n: int, rng: random.Random) -> list:
    """`n` residents drawn at random (with their household number)."""
    with Session(engine) as s:
        top = s.scalar(select(func.max(Resident.id)))
        ids = rng.sample(range(1, top + 1), min(n * 3, top))
        rows = s.execute(select(Resident.id, Resident.name, Resident.name_initials, Resident.name_pinyin,
                                Resident.id_number, Resident.phone, Resident.village_code,
                                Household.number.label("household_number"))
                         .outerjoin(Household, Household.id == Resident.household_id)
                         .where(Resident.id.in_(ids), Resident.status != "merged")).all()
    rng.shuffle(rows)
    return rows


def timed(factory, fn, actor: Actor, criteria: dict):
    with factory() as session:
        wall, cpu = time.perf_counter(), time.process_time()
        page = fn(session=session, actor=actor, **criteria)
        wall, cpu = (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000
        result = ([r.id for r in page.items], page.total)
        session.rollback()
    return wall, cpu, result


def statements_of(engine: Engine, factory, actor: Actor, criteria: dict) -> list[str]:
    """The plan of each SELECT the new path runs for one search."""
    seen: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "FROM residents" in statement:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        with factory() as session:
            service.search(session=session, actor=actor, **criteria)
            session.rollback()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    plans = []
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        for statement, parameters in seen:
            if engine.dialect.name == "sqlite":
                rows = raw.execute("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()
                plans.append(" | ".join(str(r[-1]) for r in rows))
            else:
                rows = raw.execute("EXPLAIN " + statement, parameters).fetchall()
                plans.append(" | ".join(str(r[0]).strip() for r in rows))
    return plans


def _figures(samples: list[tuple[float, float]], with_cpu: bool) -> dict:
    out = percentiles([w for w, _ in samples])
    if with_cpu:
        cpu = percentiles([c for _, c in samples])
        out.update(cpu_p50_ms=cpu["p50_ms"], cpu_p95_ms=cpu["p95_ms"])
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    small = os.environ.get("WEIJIAN_BENCH_SMALL") == "1"
    ap.add_argument("--residents", type=int, default=40_000 if small else 400_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--queries", type=int, default=50 if small else 200, help="random queries per kind and scope")
    ap.add_argument("--postgres", default=os.environ.get("WEIJIAN_BENCH_POSTGRES_URL"),
                    help="admin URL of a PostgreSQL server to run on instead of SQLite")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/weijian-bench-demo"),
                    help="where the SQLite demo county and its copies are kept")
    args = ap.parse_args()
    engines = (postgres_copies(args.postgres, args.residents, args.seed) if args.postgres
               else sqlite_copies(args.cache, args.residents, args.seed))
    dialect = engines["after"].dialect.name
    factories = {label: make_sessionmaker(e) for label, e in engines.items()}
    rng = random.Random(args.seed)
    people = sample(engines["after"], args.queries * len(SCOPES), rng)
    figures: dict = {"residents": args.residents, "seed": args.seed, "dialect": dialect,
                     "queries_per_cell": args.queries, "goal_p95_ms": GOAL_MS,
                     "baseline": f"legacy_search (this file) on the county at migration {BEFORE}",
                     "python_loop_ns_before": python_loop_ns(), "load_average_before": list(os.getloadavg()),
                     "searches": {}, "plans": {}}
    cpu = dialect == "sqlite"  # on PostgreSQL most of the work is the server's, not this process's
    disagree: list[dict] = []
    print(f"{'kind':24} {'scope':9} {'new p50':>8} {'p95':>7} {'max':>7}   {'old p50':>8} {'p95':>7} {'max':>7}  capped")
    for kind, make in KINDS.items():
        for scope in SCOPES:
            cases = [(actor_for(scope, r.village_code), c) for r in people if (c := make(r))][:args.queries]
            new, old, capped = [], [], 0
            for i, (actor, criteria) in enumerate(cases):
                runs = (("after", service.search, new), ("before", legacy_search, old))
                found = {}
                for label, fn, times in runs if i % 2 else runs[::-1]:  # in turns: neither always runs first
                    wall, cpu_ms, found[label] = timed(factories[label], fn, actor, criteria)
                    times.append((wall, cpu_ms))
                capped += found["after"][1] > service.COUNT_CAP
                if found["after"] != found["before"]:
                    disagree.append({"kind": kind, "scope": scope, "criteria": criteria, "scope_code": actor.scope_code,
                                     "new": found["after"], "old": found["before"]})
            cell = {"new": _figures(new, cpu), "old": _figures(old, cpu), "capped_share": round(capped / len(cases), 2)}
            figures["searches"][f"{scope}: {kind}"] = cell
            print(f"{kind:24} {scope:9} {cell['new']['p50_ms']:8.1f} {cell['new']['p95_ms']:7.1f} "
                  f"{cell['new']['max_ms']:7.1f}   {cell['old']['p50_ms']:8.1f} {cell['old']['p95_ms']:7.1f} "
                  f"{cell['old']['max_ms']:7.1f}  {cell['capped_share']:.2f}", flush=True)
            actor, criteria = cases[0]
            figures["plans"][f"{scope}: {kind}"] = {"criteria": criteria, "scope_code": actor.scope_code,
                                                    "statements": statements_of(engines["after"], factories["after"],
                                                                                actor, criteria)}
    worst = max(figures["searches"].items(), key=lambda kv: kv[1]["new"]["p95_ms"])
    figures.update(
        agree=not disagree, disagreements=disagree[:20],
        worst_new_p95={"cell": worst[0], "p95_ms": worst[1]["new"]["p95_ms"]},
        goal_met=worst[1]["new"]["p95_ms"] < GOAL_MS,
        python_loop_ns_after=python_loop_ns(), load_average_after=list(os.getloadavg()))
    for engine in engines.values():
        engine.dispose()
    write_results("resident_search" + ("_postgres" if dialect == "postgresql" else ""), figures)
    return 0 if not disagree else 1


if __name__ == "__main__":
    sys.exit(main())
