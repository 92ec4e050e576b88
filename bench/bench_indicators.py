"""Every built-in indicator, for every org unit (county, 11 townships, 236 villages) and each month of 2025,
on the 400,000-resident demo county (with its care and the children's vaccination histories):

- through the service: indicators.service.compute(level="all", by_month=True) — one grouped query per
  measure for the whole year, rolled up in Python;
- the baseline, in the same run: the rows exported from the database (one plain SELECT per table, timed
  apart) and the same figures computed by a pure-Python pass over them; the two must agree. Coverage and
  timeliness are left out of the baseline (their service path already is a Python pass over exported
  rows: immunization.counts.coverage_by_period) and chronic-disease rates give no value for a month.

    .venv/bin/python bench/bench_indicators.py --db /path/county400k.db [--postgres URL] [--runs K]

--db: a SQLite file holding the demo county built with care and immunization (the benchmark works on a
copy). Without --db the county is built first (residents, care, immunization: many minutes). With
--postgres the same rows are copied into a new database on that server (COPY) and measured there. When
the database has no settlements (the demo does not settle stays yet), settlements are made on the copy
for the year's discharged inpatient stays (basic 60 %, critical illness 5 %, assistance 2 %, patient the
rest), and the results say so. Writes bench/results/indicators.json (indicators_postgres.json).

    .venv/bin/python bench/bench_indicators.py --attribution [--residents N | --db FILE] [--moves M]

compares, in one run, main's counting code (at --before, default 5fb3afc: chronic-disease rates,
coverage and referrals still by the resident's village today; 9bcf429 had every figure so) with today's
(by the residence history, issue 15 item 13): the tallies' counts, the dashboard's figures from the
tallies and from the records — equal while nobody has moved — then moves M residents to another
township on 2026-12-01 and counts the 2025 values each code changes (per indicator: under today's code
none). Writes bench/results/<--results>.json (indicators_attribution.json: 40,000 residents against
9bcf429; indicators_attribution_3k.json: 3,000; indicators_attribution_rest.json: against 5fb3afc).
"""
from __future__ import annotations

import argparse
import gc
import os
import shutil
import sys
import tempfile
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from common import add_missing_indexes, fresh_database, peak_rss_mb, python_loop_ns, timer, write_results
from weijian.core import tallies as core_tallies
from weijian.core.actor import Actor
from weijian.core.db import make_engine, make_sessionmaker, unit_of_work
from weijian.core.settings import Settings
from weijian.indicators import service

YEAR = 2025
TABLES = ("orgunits", "facilities", "facility_capacity", "households", "users", "residents", "referrals",
          "encounters", "chronic_registrations", "follow_ups", "health_checks", "screenings", "vaccination_points",
          "vaccine_lots", "vaccinations", "settlements")
SKIP_BASELINE = ("children_eligible", "children_vaccinated", "children_vaccinated_timely", "chronic_under_management",
                 "chronic_managed", "chronic_controlled")
PRIMARY = ("township_centre", "community_centre", "village_clinic")
SHANGHAI = timezone(timedelta(hours=8))


# --- the databases --------------------------------------------------------------------------------
def sqlite_copy(source: str) -> tuple[Settings, Path]:
    tmp = Path(tempfile.mkdtemp(prefix="weijian-bench-indicators-"))
    shutil.copy(source.removeprefix("sqlite:///"), tmp / "bench.db")
    settings = Settings(environment="test", database_url=f"sqlite:///{tmp / 'bench.db'}")
    add_missing_indexes(settings)
    return settings, tmp


def build_sqlite(residents: int) -> tuple[Settings, Path]:
    from weijian.demo import builder

    settings, engine, factory = fresh_database("indicators")
    with unit_of_work(factory) as session:
        builder.build(session=session, residents=residents, seed=1, care=True, immunization=True)
    engine.dispose()
    path = settings.sqlite_path()
    return settings, path.parent


def copy_to_postgres(sqlite_settings: Settings, server: str) -> tuple[Settings, float]:
    """A new migrated database on `server` holding the SQLite file's rows of TABLES (COPY, foreign-key
    triggers off while loading)."""
    settings, engine, _ = fresh_database("indicators", server)
    import weijian.all_models  # noqa: F401 - every table on the metadata
    from weijian.core.db import Base

    src = make_engine(sqlite_settings)
    with timer() as t, src.connect() as sconn, engine.begin() as dconn:
        dconn.execute(text("SET session_replication_role = replica"))
        raw = dconn.connection.driver_connection
        for name in TABLES:
            table = Base.metadata.tables[name]
            cols = [c.name for c in table.columns]
            with raw.cursor() as cur, cur.copy(f'COPY {name} ({", ".join(cols)}) FROM STDIN') as copy:
                for row in sconn.execute(select(table)).yield_per(20000):
                    copy.write_row(tuple(row))
            if "id" in cols:
                dconn.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                   f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {name}), false)"))
        dconn.execute(text("SET session_replication_role = origin"))
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    src.dispose()
    engine.dispose()
    return settings, round(t["seconds"], 1)


def ensure_settlements(settings: Settings) -> str:
    """Settlements for the year's discharged inpatient stays when there are none (see the module note)."""
    engine = make_engine(settings)
    with engine.begin() as conn:
        if conn.scalar(text("SELECT COUNT(*) FROM settlements")):
            return "settled by the demo"
        conn.execute(text(
            "INSERT INTO settlements (encounter_id, resident_id, facility_id, village_code, in_county, policy_id,"
            " scheme, year, seq, stay_date, settled_on, level, downward_referral, total, in_policy, out_of_policy,"
            " deductible, basic_pays, critical_illness_pays, assistance_pays, patient_pays,"
            " before_deductible_paid, before_basic_paid, before_in_policy_share, before_critical_illness_paid,"
            " before_assistance_paid, after_deductible_paid, after_basic_paid, after_in_policy_share,"
            " after_critical_illness_paid, after_assistance_paid, pay_later, status, settled_at)"
            " SELECT e.id, e.resident_id, e.facility_id, r.village_code, e.facility_id IS NOT NULL, 'bench',"
            " 'resident', :year, 1, e.end_date, e.end_date, 'county', false, e.total_cost, e.in_policy_cost,"
            " e.total_cost - e.in_policy_cost, 0, ROUND(e.total_cost * 0.60, 2), ROUND(e.total_cost * 0.05, 2),"
            " ROUND(e.total_cost * 0.02, 2), e.total_cost - ROUND(e.total_cost * 0.60, 2)"
            " - ROUND(e.total_cost * 0.05, 2) - ROUND(e.total_cost * 0.02, 2), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,"
            " false, 'settled', CURRENT_TIMESTAMP"
            " FROM encounters e JOIN residents r ON r.id = e.resident_id"
            " WHERE e.type = 'inpatient' AND e.end_date BETWEEN :start AND :end"),
            {"year": YEAR, "start": date(YEAR, 1, 1), "end": date(YEAR, 12, 31)})
        conn.execute(text("ANALYZE"))
    engine.dispose()
    return "made by this benchmark for the year's discharged inpatient stays"


# --- the baseline: exported rows, then pure Python --------------------------------------------------
def export_rows(engine) -> dict[str, list]:
    start, end = date(YEAR, 1, 1), date(YEAR, 12, 31)
    q = {
        "units": "SELECT code, name, level FROM orgunits",
        "facilities": "SELECT id, orgunit_code, type, beds_open, physicians, assistant_physicians FROM facilities",
        "capacity": "SELECT facility_id, as_of, beds_open, physicians, assistant_physicians FROM facility_capacity",
        "residents": "SELECT id, village_code, birth_date, sex, status FROM residents",
        "encounters": "SELECT resident_id, type, facility_id, start_date FROM encounters"
                      " WHERE start_date BETWEEN :start AND :end",
        "checks": "SELECT resident_id, kind, date FROM health_checks WHERE date BETWEEN :start AND :end",
        "screenings": "SELECT resident_id, kind, date FROM screenings WHERE date BETWEEN :start AND :end",
        "referrals": "SELECT resident_id, direction, status, requested_at FROM referrals"
                     " WHERE requested_at BETWEEN :wide_start AND :wide_end",
        "vaccinations": "SELECT resident_id, vaccine, date FROM vaccinations WHERE date BETWEEN :start AND :end",
        "settlements": "SELECT village_code, settled_on, basic_pays, critical_illness_pays, assistance_pays,"
                       " patient_pays, total FROM settlements WHERE status = 'settled'"
                       " AND settled_on BETWEEN :start AND :end",
    }
    params = {"start": start, "end": end, "wide_start": start - timedelta(days=1), "wide_end": end + timedelta(days=1)}
    with engine.connect() as conn:
        return {k: conn.execute(text(sql), params).all() for k, sql in q.items()}


def _d(v) -> date:
    return v if isinstance(v, date) else date.fromisoformat(str(v)[:10])


def python_pass(rows: dict[str, list], indicators: list) -> dict[tuple[str, str, str], tuple]:
    """(indicator, org unit, month) → (numerator, denominator) for the indicators the baseline covers."""
    months = [(date(YEAR, m, 1), (date(YEAR + (m == 12), m % 12 + 1, 1) - timedelta(days=1))) for m in range(1, 13)]
    village_of = {}
    residents = []
    for rid, village, birth, sex, status in rows["residents"]:
        b = _d(birth)
        village_of[rid] = village
        residents.append((rid, village, b, sex, status))
    fac_type = {f[0]: f[2] for f in rows["facilities"]}
    fac_unit = {f[0]: f[1] for f in rows["facilities"]}
    snaps = defaultdict(list)
    for fid, as_of, beds, phys, asst in rows["capacity"]:
        snaps[fid].append((_d(as_of), beds, phys, asst))

    def years_before(d: date, n: int) -> date:
        try:
            return d.replace(year=d.year - n)
        except ValueError:
            return d.replace(year=d.year - n, day=28)

    def month_index(d: date) -> int | None:
        return d.month - 1 if d.year == YEAR else None

    per: dict[tuple, list] = {}  # (measure key) → 12 dicts village → value

    def measure(term) -> list[dict]:
        key = term.key
        if key in per:
            return per[key]
        f = term.filter_dict
        out = [defaultdict(int) for _ in months]
        m = term.measure
        if m == "population":
            lo, hi, sex = f.get("age_min"), f.get("age_max"), f.get("sex")
            for i, (_s, e) in enumerate(months):
                top = years_before(e, lo) if lo else e
                bottom = years_before(e, hi + 1) if hi is not None else None
                for _rid, village, b, s, status in residents:
                    if status == "active" and b <= top and (bottom is None or b > bottom) and (not sex or s == sex):
                        out[i][village] += 1
        elif m == "births":
            for _rid, village, b, _s, status in residents:
                i = month_index(b)
                if i is not None and status != "merged":
                    out[i][village] += 1
        elif m in ("beds", "physicians"):
            for i, (_s, e) in enumerate(months):
                for fid, unit in fac_unit.items():
                    dated = [x for x in snaps.get(fid, []) if x[0] <= e]
                    if snaps.get(fid) and not dated:
                        continue
                    if dated:
                        _a, beds, phys, asst = max(dated)
                    else:
                        fr = next(x for x in rows["facilities"] if x[0] == fid)
                        beds, phys, asst = fr[3], fr[4], fr[5]
                    out[i][unit] += beds if m == "beds" else phys + (asst if f["include_assistant"] else 0)
        elif m in ("outpatient_visits", "inpatient_stays"):
            for rid, typ, fid, on in rows["encounters"]:
                i = month_index(_d(on))
                if i is None:
                    continue
                if m == "outpatient_visits" and typ == "outpatient" and fid is not None:
                    if f["tier"] == "any" or fac_type.get(fid) in PRIMARY:
                        out[i][village_of[rid]] += 1
                elif m == "inpatient_stays" and typ == "inpatient" and (f["where"] == "any" or fid is not None):
                    out[i][village_of[rid]] += 1
        elif m in ("screenings", "screened_women"):
            seen = set()
            for rid, kind, on in rows["screenings"]:
                i = month_index(_d(on))
                if i is None or kind != f["kind"]:
                    continue
                if m == "screened_women":
                    if (rid, i) in seen:
                        continue
                    seen.add((rid, i))
                out[i][village_of[rid]] += 1
        elif m == "elderly_checked":
            born = {r[0]: (r[2], r[4]) for r in residents}
            seen = set()
            for rid, kind, on in rows["checks"]:
                i = month_index(_d(on))
                if i is None or kind != "annual_65" or (rid, i) in seen:
                    continue
                b, status = born[rid]
                if status == "active" and b <= years_before(months[i][1], f["age_min"]):
                    seen.add((rid, i))
                    out[i][village_of[rid]] += 1
        elif m == "referrals":
            for rid, direction, status, at in rows["referrals"]:
                if direction != f["direction"] or status in ("cancelled", "rejected"):
                    continue
                at = at if isinstance(at, datetime) else datetime.fromisoformat(str(at))
                local = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(SHANGHAI)
                i = month_index(local.date())
                if i is not None:
                    out[i][village_of[rid]] += 1
        elif m == "vaccination_doses":
            for rid, vaccine, on in rows["vaccinations"]:
                i = month_index(_d(on))
                if i is not None and (not f.get("vaccine") or vaccine == f["vaccine"]):
                    out[i][village_of[rid]] += 1
        elif m == "settlement_amount":
            col = {"basic": 2, "critical_illness": 3, "assistance": 4, "patient": 5, "total": 6}[f["payer"]]
            for r in rows["settlements"]:
                i = month_index(_d(r[1]))
                if i is not None:
                    out[i][r[0]] += Decimal(str(r[col]))
        else:
            raise AssertionError(m)
        per[key] = out
        return out

    units = [(code, level) for code, _name, level in rows["units"]]
    result = {}
    for ind in indicators:
        if ind.numerator.measure in SKIP_BASELINE:
            continue
        num = measure(ind.numerator)
        den = measure(ind.denominator) if ind.denominator else None
        for i in range(12):
            sums_n, sums_d = defaultdict(int), defaultdict(int)
            for code, v in num[i].items():
                for up in {code, code[:9] + "000", code[:6] + "000000"}:
                    sums_n[up] += v
            if den is not None:
                for code, v in den[i].items():
                    for up in {code, code[:9] + "000", code[:6] + "000000"}:
                        sums_d[up] += v
            for code, _level in units:
                result[(ind.id, code, f"{YEAR}{i + 1:02d}")] = (sums_n.get(code, 0),
                                                                sums_d.get(code, 0) if den is not None else None)
    return result


def _same(a, b) -> bool:
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return Decimal(str(a)).quantize(Decimal("0.01"), ROUND_HALF_UP) == Decimal(str(b)).quantize(
            Decimal("0.01"), ROUND_HALF_UP)
    return a == b


# --- the run --------------------------------------------------------------------------------------
def measure_engine(settings: Settings, runs: int) -> dict:
    engine = make_engine(settings)
    factory = make_sessionmaker(engine)
    indicators = service.list_indicators()
    # The running tallies counted from the copied records (a real database keeps them at each write).
    with timer() as built, unit_of_work(factory) as session:
        tally_rows = core_tallies.rebuild(session)
    gc.collect()  # the rebuild's millions of counted keys, gone: measure a server's steady state
    times, rows = [], []
    for _ in range(runs):
        with timer() as t, unit_of_work(factory) as session:
            assert core_tallies.fresh(session) == set(core_tallies.sources())
            rows = service.compute(session=session, actor=Actor.system("bench"), period=str(YEAR), level="all",
                                   by_month=True)
        times.append(round(t["seconds"], 3))
    # The same figures counted from the records (as when the tallies are stale), once: must be equal.
    fresh = core_tallies.fresh
    core_tallies.fresh = lambda session: set()
    try:
        with timer() as counted, unit_of_work(factory) as session:
            rows_counted = service.compute(session=session, actor=Actor.system("bench"), period=str(YEAR),
                                           level="all", by_month=True)
    finally:
        core_tallies.fresh = fresh
    differ = [(a.indicator, a.orgunit, a.period, str(a.numerator), str(b.numerator), str(a.denominator),
               str(b.denominator)) for a, b in zip(rows, rows_counted, strict=True) if a != b]
    overhead = write_overhead(factory, 200)
    with timer() as fetch:
        exported = export_rows(engine)
    with timer() as compute:
        baseline = python_pass(exported, indicators)
    mismatches = []
    for r in rows:
        key = (r.indicator, r.orgunit, r.period)
        if key in baseline:
            n, d = baseline[key]
            if not (_same(n, r.numerator) and (d is None or _same(d, r.denominator))):
                mismatches.append({"key": list(key), "service": [str(r.numerator), str(r.denominator)],
                                   "python": [str(n), str(d)]})
    units = {r.orgunit for r in rows}
    county = {r.indicator: r for r in rows if r.level == "county" and r.period == f"{YEAR}12"}
    engine.dispose()
    return {
        "engine": engine.dialect.name,
        "indicators": len(indicators),
        "orgunits": len(units),
        "months": 12,
        "rows": len(rows),
        "service_seconds_runs": times,
        "service_seconds": min(times),
        "service_seconds_p50": sorted(times)[len(times) // 2],
        "tallies_rebuild_seconds": round(built["seconds"], 2),
        "tallies_rows": tally_rows,
        "counted_from_records_seconds": round(counted["seconds"], 3),
        "tallies_and_records_agree": not differ,
        "tallies_and_records_differences": differ[:10],
        "write_overhead": overhead,
        "baseline_export_seconds": round(fetch["seconds"], 3),
        "baseline_python_seconds": round(compute["seconds"], 3),
        "baseline_total_seconds": round(fetch["seconds"] + compute["seconds"], 3),
        "baseline_rows_exported": {k: len(v) for k, v in exported.items()},
        "baseline_compared_values": sum(1 for r in rows if (r.indicator, r.orgunit, r.period) in baseline),
        "baseline_left_out": list(SKIP_BASELINE),
        "agree": not mismatches,
        "mismatches": mismatches[:10],
        "county_december": {k: {"numerator": str(v.numerator), "denominator": str(v.denominator),
                                "value": str(v.value), "status": v.status} for k, v in county.items()},
        "python_loop_ns": python_loop_ns(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "peak_rss_mb": peak_rss_mb(),
    }


def write_overhead(factory, n: int) -> dict:
    """Milliseconds a flush of one outpatient visit takes with the tallies kept in step, and without
    (suspended), n visits each, rolled back."""
    from weijian.care.models import Encounter

    out = {}
    with factory() as session:
        pairs = session.execute(text("SELECT r.id, f.id FROM residents r, facilities f WHERE r.status = 'active' "
                                     "ORDER BY r.id LIMIT :n"), {"n": n}).all()
        for label in ("with_tallies", "suspended"):
            per = []
            for i, (rid, fid) in enumerate(pairs):
                with timer() as t:
                    if label == "suspended":
                        with core_tallies.suspended(session):
                            session.add(Encounter(resident_id=rid, facility_id=fid, type="outpatient",
                                                  start_date=date(YEAR, 1 + i % 12, 1)))
                            session.flush()
                    else:
                        session.add(Encounter(resident_id=rid, facility_id=fid, type="outpatient",
                                              start_date=date(YEAR, 1 + i % 12, 1)))
                        session.flush()
                per.append(t["seconds"] * 1000)
            per.sort()
            out[label] = {"p50_ms": round(per[len(per) // 2], 2), "p95_ms": round(per[int(len(per) * 0.95)], 2)}
        session.rollback()
    return out


# --- period-stable attribution (issue 15 item 13): before (main at BEFORE) and after, same run -------
BEFORE = "5fb3afc"  # main before the chronic rates, coverage and referrals read the history (9bcf429 before)
MOVED_ON = date(2026, 12, 1)


def _before_modules() -> dict:
    """The counting code of main at BEFORE (every count by the resident's village today), beside today's."""
    from common import module_at

    paths = {"tallies": "src/weijian/indicators/tallies.py", "residents": "src/weijian/residents/counts.py",
             "care": "src/weijian/care/counts.py", "immunization": "src/weijian/immunization/counts.py",
             "chronic": "src/weijian/care/chronic/queries.py"}
    out = {}
    for key, path in paths.items():
        module = module_at(BEFORE, path, f"before_{key}")
        if module is None:
            raise SystemExit(f"git show {BEFORE}:{path} failed: the before code is needed")
        out[key] = module
    return out


def _records_patched(old: dict) -> list:
    """(module, attribute, the before function) for each count the figures call when counted from records."""
    from weijian.care import service as care_service
    from weijian.immunization import service as immunization_service
    from weijian.residents import service as residents_service

    return [(residents_service, "population_groups", old["residents"].population_groups),
            (residents_service, "births_by_month", old["residents"].births_by_month),
            (care_service, "encounter_counts", old["care"].encounter_counts),
            (care_service, "screening_counts", old["care"].screening_counts),
            (care_service, "screened_people", old["care"].screened_people),
            (care_service, "elderly_checked", old["care"].elderly_checked),
            (immunization_service, "doses_by_month_and_vaccine", old["immunization"].doses_by_month_and_vaccine),
            (immunization_service, "coverage_by_period", old["immunization"].coverage_by_period),
            (care_service, "management_rates", old["chronic"].management_rates),
            (care_service, "referral_counts_by_month", old["care"].referral_counts_by_month)]


def _figures(session, period: str, *, records: bool, before: list | None = None, by_month: bool = True) -> dict:
    """compute() of every indicator, every org unit, each month (or the period itself): from the tallies, or
    counted from the records by today's counts or by the `before` ones."""
    fresh, saved = core_tallies.fresh, [(m, a, getattr(m, a)) for m, a, _f in before or ()]
    if records:
        core_tallies.fresh = lambda session: set()
    for m, a, fn in before or ():
        setattr(m, a, fn)
    try:
        rows = service.compute(session=session, actor=Actor.system("bench"), period=period, level="all",
                               by_month=by_month)
    finally:
        core_tallies.fresh = fresh
        for m, a, fn in saved:
            setattr(m, a, fn)
    return {(r.indicator, r.orgunit, r.period): (r.numerator, r.denominator) for r in rows}


def measure_attribution(settings: Settings, runs: int, moves: int) -> dict:
    """The tallies' counts (a rebuild's work) and the dashboard's figures under the residence history,
    against main's code in the same run; then `moves` residents move on MOVED_ON (one audited update each,
    the tallies kept in step) and the 2025 figures are compared: today's code must leave them unchanged,
    main's code counts them by the new villages."""
    import random

    from weijian.indicators import tallies as ind_tallies
    from weijian.residents import service as residents_service

    old = _before_modules()
    engine = make_engine(settings)
    factory = make_sessionmaker(engine)
    out: dict = {"before": f"main at {BEFORE} (bench/common.module_at)", "moved_on": MOVED_ON.isoformat()}
    with timer() as built, unit_of_work(factory) as session:
        out["tallies_rows"] = core_tallies.rebuild(session)
    out["tallies_rebuild_seconds_after"] = round(built["seconds"], 2)
    gc.collect()
    counts: dict = {}
    with factory() as session:
        conn = session.connection()
        for name, fn in (("enc", "count_encounters"), ("dose", "count_doses"), ("people", "count_people"),
                         ("cov", "count_coverage"), ("checks", "count_checks")):
            got = {}
            for label, module in (("before", old["tallies"]), ("after", ind_tallies)):
                with timer() as t:
                    got[label] = getattr(module, fn)(conn, None)
                counts.setdefault(name, {})[f"{label}_seconds"] = round(t["seconds"], 3)
            counts[name]["same_counts_without_moves"] = got["before"] == got["after"]
            del got
            gc.collect()
    out["tallies_count_seconds"] = counts
    patched = _records_patched(old)
    with factory() as session:
        times: dict[str, list[float]] = {"tallies": [], "records_before": [], "records_after": []}
        figures: dict = {}
        for _ in range(runs):
            for label, kw in (("tallies", {"records": False}), ("records_before", {"records": True, "before": patched}),
                              ("records_after", {"records": True})):
                with timer() as t:
                    figures[label] = _figures(session, str(YEAR), **kw)
                times[label].append(round(t["seconds"], 3))
        out["dashboard_seconds"] = {k: {"runs": v, "min": min(v)} for k, v in times.items()}
        out["dashboard_values"] = len(figures["tallies"])
        out["without_moves_before_equals_after"] = figures["records_before"] == figures["records_after"] == figures[
            "tallies"]
        # The year and its quarters too (chronic-disease rates have no value for a month).
        kinds = {"tallies": {"records": False}, "records_after": {"records": True},
                 "records_before": {"records": True, "before": patched}}

        def year_and_quarters() -> dict:
            return {label: {k: v for period in (str(YEAR), *(f"{YEAR}Q{q}" for q in range(1, 5)))
                            for k, v in _figures(session, period, by_month=False, **kw).items()}
                    for label, kw in kinds.items()}

        spans = year_and_quarters()
        out["without_moves_before_equals_after_year_and_quarters"] = (
            spans["records_before"] == spans["records_after"] == spans["tallies"])
        # The moves: residents of one township to a village of another, as a clerk enters them (leaving
        # their household: a household belongs to one village).
        villages = [v for (v,) in session.execute(text("SELECT code FROM orgunits WHERE level = 'village'"))]
        rng = random.Random(5)
        people = session.execute(text("SELECT id, village_code FROM residents WHERE status = 'active' "
                                      "ORDER BY id")).all()
        chosen = rng.sample(people, min(moves, len(people)))
        per = []
        for rid, village in chosen:
            to = rng.choice([v for v in villages if v[:9] != village[:9]])
            with timer() as t:
                residents_service.update(session=session, resident_id=rid, actor=Actor.system("bench"),
                                         resident_in=residents_service.ResidentUpdate(
                                             village_code=to, household_number=None, effective_on=MOVED_ON))
            per.append(t["seconds"] * 1000)
        per.sort()
        out["moves"] = len(chosen)
        out["move_write_ms"] = {"p50": round(per[len(per) // 2], 2), "p95": round(per[int(len(per) * 0.95)], 2)}
        with timer() as checked:
            problems = core_tallies.check(session)
        out["tallies_check_after_moves"] = {"differences": len(problems), "seconds": round(checked["seconds"], 2)}
        moved = {"tallies": _figures(session, str(YEAR), records=False),
                 "records_after": _figures(session, str(YEAR), records=True),
                 "records_before": _figures(session, str(YEAR), records=True, before=patched)}
        out["values_of_2025_changed_by_the_moves"] = {
            label: sum(1 for k, v in moved[label].items() if figures[label].get(k) != v) for label in moved}
        moved_spans = year_and_quarters()
        out["values_of_2025_and_its_quarters_changed_by_the_moves"] = {label: dict(sorted(Counter(
            k[0] for k, v in moved_spans[label].items() if spans[label].get(k) != v).items())) for label in kinds}
        # Per indicator: under the code measured, none of 2025 may change; main's code changes those it
        # counted by today's village.
        attribution = {i.id: i.attribution for i in service.list_indicators()}
        out["changed_by_indicator"] = {label: {
            f"{ind} ({'/'.join(a for a in attribution[ind] if a)})": n for ind, n in sorted(Counter(
                k[0] for k, v in moved[label].items() if figures[label].get(k) != v).items())} for label in moved}
        session.rollback()
    engine.dispose()
    out["load_average"] = [round(x, 2) for x in os.getloadavg()]
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="SQLite file with the demo county (care and immunization); copied first")
    parser.add_argument("--residents", type=int, default=400_000)
    parser.add_argument("--postgres", help="also measure on this PostgreSQL server (a new database)",
                        default=os.environ.get("WEIJIAN_BENCH_POSTGRES_URL"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-sqlite", action="store_true", help="only PostgreSQL")
    parser.add_argument("--attribution", action="store_true",
                        help="only the attribution comparison (main's counting code against today's, and moves): "
                             "writes bench/results/indicators_attribution.json")
    parser.add_argument("--moves", type=int, default=200, help="residents moved on 2026-12-01 (--attribution)")
    parser.add_argument("--before", default=BEFORE, help="the git revision of the before code (--attribution)")
    parser.add_argument("--results", default="indicators_attribution",
                        help="the results file's name in bench/results (--attribution)")
    args = parser.parse_args()
    globals()["BEFORE"] = args.before

    if args.attribution:
        settings, tmp = sqlite_copy(args.db) if args.db else build_sqlite(args.residents)
        try:
            eng = make_engine(settings)
            with eng.connect() as conn:
                residents = conn.scalar(select(func.count()).select_from(text("residents")))
            eng.dispose()
            write_results(args.results, {
                "residents": residents, "database": ("copy of " + args.db) if args.db else "built",
                "period": f"{YEAR}, each month", **measure_attribution(settings, args.runs, args.moves)})
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return 0

    settings, tmp = sqlite_copy(args.db) if args.db else build_sqlite(args.residents)
    try:
        settlements = ensure_settlements(settings)
        eng = make_engine(settings)
        with eng.connect() as conn:
            residents = conn.scalar(select(func.count()).select_from(text("residents")))
        eng.dispose()
        common = {"residents": residents, "database": ("copy of " + args.db) if args.db else "built",
                  "period": f"{YEAR}, each month", "settlements": settlements}
        if not args.skip_sqlite:
            figures = measure_engine(settings, args.runs)
            write_results("indicators", {**common, **figures})
        if args.postgres:
            pg_settings, copy_seconds = copy_to_postgres(settings, args.postgres)
            try:
                figures = measure_engine(pg_settings, args.runs)
                write_results("indicators_postgres", {**common, "copy_seconds": copy_seconds, **figures})
            finally:
                url = make_url(pg_settings.database_url)
                admin = create_engine(make_url(args.postgres), isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
                admin.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
