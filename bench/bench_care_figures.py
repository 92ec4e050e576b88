"""Benchmark: the four graded-care figures for the whole county over one year of generated care — upward and
downward referral counts, county retention rate, primary-care share of outpatient visits, hypertension and
diabetes 规范管理率 / 控制率 — by the services' SQL, against a pure-Python loop over the same rows in the
same run (the rows fetched once, then counted in Python). Prints both, and fails when they disagree.

    .venv/bin/python bench/bench_care_figures.py [--residents N] [--db county.db] [--runs R]

Builds the demo county with its care (400,000 residents by default; --db reuses a county built
before, on a copy). Figures are asked as the bureau asks them: org unit = the county, period = the
generated year, with each township's figure (its villages' summed counts) alongside.
Writes bench/results/care_figures.json.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import select

from care_common import add_arguments, demo_database, load_average, result_name
from common import peak_rss_mb, write_results
from weijian.accounts import service as accounts_service
from weijian.care.chronic import service as chronic
from weijian.care.models import ChronicRegistration, Encounter, FollowUp, Referral
from weijian.care.records import figures as figures_records
from weijian.care.referrals import queries as referrals
from weijian.core import clock
from weijian.core.db import make_sessionmaker, unit_of_work
from weijian.core.periods import parse_period
from weijian.demo import builder
from weijian.demo.care import last_full_year
from weijian.orgunits.models import Facility
from weijian.residents.models import Resident

COUNTY = "421124000000"
PRIMARY_TYPES = set(figures_records.PRIMARY_TYPES)
Counts = dict[str, tuple[int, int]]  # org unit → (numerator, denominator)


# --- the services' SQL ---------------------------------------------------------------------------------
def _by_sql(session, actor, period: str) -> dict[str, Counts | dict[str, int]]:
    """Each figure as the services compute it: the county's and its townships' (numerator, denominator)."""
    def fig(f) -> Counts:
        return {f.orgunit: (f.numerator, f.denominator), **{c.orgunit: (c.numerator, c.denominator)
                                                            for c in f.children}}

    def rates(program: str, which: str) -> Counts:
        report = chronic.management_rates(session=session, program=program, period=period, orgunit_code=COUNTY,
                                          actor=actor)
        return {r.code: (r.managed if which == "management" else r.controlled, r.under_management)
                for r in report.rows if r.depth <= 1}

    return {
        "referrals": lambda: {k: v for k, v in referrals.referral_counts(
            session=session, actor=actor, period=period, orgunit=COUNTY).items()
            if k in ("upward", "downward", "out_of_county")},
        "county_retention_rate": lambda: fig(figures_records.county_retention_rate(
            session=session, actor=actor, period=period, orgunit=COUNTY)),
        "primary_care_share": lambda: fig(figures_records.primary_care_share(
            session=session, actor=actor, period=period, orgunit=COUNTY)),
        "hypertension_rates": lambda: {"management": rates("hypertension", "management"),
                                       "control": rates("hypertension", "control")},
        "diabetes_rates": lambda: {"management": rates("diabetes", "management"),
                                   "control": rates("diabetes", "control")},
    }


# --- the same in Python ----------------------------------------------------------------------------------
def _fetch(session, period) -> dict[str, Any]:
    """The rows the figures are counted from, fetched once."""
    return {
        "residents": {r.id: (r.village_code, r.status) for r in session.execute(
            select(Resident.id, Resident.village_code, Resident.status))},
        "facilities": {f.id: (f.type, f.orgunit_code) for f in session.execute(
            select(Facility.id, Facility.type, Facility.orgunit_code))},
        "encounters": session.execute(select(Encounter.resident_id, Encounter.type, Encounter.facility_id).where(
            Encounter.start_date >= period.start, Encounter.start_date <= period.end)).all(),
        "referrals": session.execute(select(Referral.resident_id, Referral.direction, Referral.out_of_county,
                                            Referral.status, Referral.requested_at)).all(),
        "registrations": session.execute(select(ChronicRegistration.id, ChronicRegistration.resident_id,
                                                ChronicRegistration.program, ChronicRegistration.registered_on,
                                                ChronicRegistration.closed_on)).all(),
        "follow_ups": session.execute(select(FollowUp.id, FollowUp.registration_id, FollowUp.resident_id,
                                             FollowUp.date, FollowUp.method, FollowUp.in_control)).all(),
    }


def _roll_up(per_village: dict[str, list[int]]) -> Counts:
    """The county's and each township's (numerator, denominator): sums over their villages."""
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for village, (num, den) in per_village.items():
        for unit in (COUNTY, village[:9] + "000"):
            out[unit][0] += num
            out[unit][1] += den
    return {k: (v[0], v[1]) for k, v in out.items()}


def _in_county(village: str | None) -> bool:
    return village is not None and village[:6] == COUNTY[:6]


def _by_python(rows: dict[str, Any], period) -> dict[str, Any]:
    residents, facilities = rows["residents"], rows["facilities"]
    county_facilities = {fid for fid, (_, unit) in facilities.items() if unit[:6] == COUNTY[:6]}
    primary = {fid for fid in county_facilities if facilities[fid][0] in PRIMARY_TYPES}

    def encounters() -> tuple[Counts, Counts]:
        stays: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        visits: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for resident_id, kind, facility_id in rows["encounters"]:
            village = residents[resident_id][0]
            if not _in_county(village):
                continue
            if kind == "inpatient":
                c = stays[village]
                c[1] += 1
                c[0] += facility_id in county_facilities
            elif kind == "outpatient" and facility_id in county_facilities:
                c = visits[village]
                c[1] += 1
                c[0] += facility_id in primary
        return _roll_up(stays), _roll_up(visits)

    def referral_counts() -> dict[str, int]:
        start, end = clock.day_bounds(period.start, period.end)
        out = {"upward": 0, "downward": 0, "out_of_county": 0}
        for resident_id, direction, outside, status, requested_at in rows["referrals"]:
            if status not in referrals.COUNTED_STATUSES or not start <= requested_at < end:
                continue
            if not _in_county(residents[resident_id][0]):
                continue
            if direction == "up":
                out["upward"] += 1
                out["out_of_county"] += bool(outside)
            else:
                out["downward"] += 1
        return out

    def rates(program: str) -> dict[str, Counts]:
        """As care.chronic counts them: patients (not registrations) under management in the period; their
        face-to-face follow-ups in the period (≥ the required number: 规范管理); in control when a follow-up
        on the day of their latest one is in control."""
        prog = chronic.get_program(program)
        required = prog.required_follow_ups(period)
        face_to_face = set(chronic.rules().face_to_face)
        managed_regs: dict[int, int] = {}  # registration → resident, of the programme, managed in the period
        for reg_id, resident_id, prog_code, registered_on, closed_on in rows["registrations"]:
            if prog_code != program or registered_on > period.end or (closed_on and closed_on < period.start):
                continue
            village, status = residents[resident_id]
            if status != "merged" and _in_county(village):
                managed_regs[reg_id] = resident_id
        visits: dict[int, int] = defaultdict(int)
        latest: dict[int, list] = {}  # resident → [latest date, in control on that date]
        for _fid, reg_id, _resident, day, method, in_control in rows["follow_ups"]:
            resident_id = managed_regs.get(reg_id)
            if resident_id is None or not period.start <= day <= period.end:
                continue
            if method in face_to_face:
                visits[resident_id] += 1
            seen = latest.get(resident_id)
            if seen is None or day > seen[0]:
                latest[resident_id] = [day, bool(in_control)]
            elif day == seen[0]:
                seen[1] = seen[1] or bool(in_control)
        management: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        control: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for resident_id in set(managed_regs.values()):
            village = residents[resident_id][0]
            management[village][1] += 1
            control[village][1] += 1
            management[village][0] += visits.get(resident_id, 0) >= required
            control[village][0] += bool(resident_id in latest and latest[resident_id][1])
        return {"management": _roll_up(management), "control": _roll_up(control)}

    return {"referrals": referral_counts, "encounters": encounters,
            "hypertension_rates": lambda: rates("hypertension"), "diabetes_rates": lambda: rates("diabetes")}


def _same(a: Any, b: Any) -> bool:
    """Equal counts; a unit with nothing to count may be missing on one side."""
    if isinstance(a, dict) and isinstance(b, dict):
        keys = set(a) | set(b)
        return all(_same(a.get(k, (0, 0)), b.get(k, (0, 0))) for k in keys)
    return tuple(a) == tuple(b) if isinstance(a, (tuple, list)) else a == b


def _value(counts: Any) -> Any:
    if isinstance(counts, dict) and COUNTY in counts:
        num, den = counts[COUNTY]
        return {"numerator": num, "denominator": den, "value": round(num / den, 4) if den else None}
    if isinstance(counts, dict):
        return {k: _value(v) for k, v in counts.items()}
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser, 400_000)
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each figure")
    args = parser.parse_args()
    period_code = str(last_full_year(builder.reference_date()))
    period = parse_period(period_code)

    with demo_database(args, "care_figures") as (settings, engine, build_seconds):
        factory = make_sessionmaker(engine)
        with unit_of_work(factory) as session:
            user = accounts_service.get_by_username(session=session, username="weijianju")  # bureau: stats:read
            actor = accounts_service.actor_for(user)
            residents = len(session.execute(select(Resident.id)).all())
            sql_figures = _by_sql(session, actor, period_code)
            sql: dict[str, Any] = {}
            sql_times: dict[str, list[float]] = {}
            for name, compute in sql_figures.items():
                for _ in range(args.runs):
                    start = time.perf_counter()
                    sql[name] = compute()
                    sql_times.setdefault(name, []).append(time.perf_counter() - start)
                print(f"sql     {name:24} {min(sql_times[name]):8.3f} s (best of {args.runs})", flush=True)

            start = time.perf_counter()
            rows = _fetch(session, period)
            fetch_seconds = time.perf_counter() - start
            print(f"python  fetch the rows once        {fetch_seconds:8.3f} s  "
                  f"({', '.join(f'{k} {len(v):,}' for k, v in rows.items())})", flush=True)
            py_figures = _by_python(rows, period)
            py: dict[str, Any] = {}
            py_times: dict[str, list[float]] = {}
            for name, compute in py_figures.items():
                for _ in range(args.runs):
                    start = time.perf_counter()
                    py[name] = compute()
                    py_times.setdefault(name, []).append(time.perf_counter() - start)
                print(f"python  {name:24} {min(py_times[name]):8.3f} s (best of {args.runs})", flush=True)

        retention, share = py.pop("encounters")
        py["county_retention_rate"], py["primary_care_share"] = retention, share
        agree = {name: _same(sql[name], py[name]) for name in sql}
        # The Python loop counts both encounter figures in one pass over the rows: its time is shared.
        py_times["county_retention_rate"] = py_times["primary_care_share"] = py_times.pop("encounters")
        figures = {}
        for name in sql:
            figures[name] = {
                "sql_seconds": round(min(sql_times[name]), 3),
                "sql_seconds_runs": [round(t, 3) for t in sql_times[name]],
                "python_compute_seconds": round(min(py_times[name]), 3),
                "agree": agree[name],
                "county": _value(sql[name]),
            }
            print(f"{name:24} sql {figures[name]['sql_seconds']:7.3f} s   "
                  f"python {figures[name]['python_compute_seconds']:7.3f} s (+ fetch)   agree: {agree[name]}",
                  flush=True)
        write_results(result_name("care_figures", engine), {
            "engine": engine.dialect.name, "load_average": load_average(), "residents": residents,
            "database": "copy of " + args.db if args.db else "built", "build_seconds": build_seconds,
            "period": period_code, "orgunit": COUNTY, "runs": args.runs,
            "rows": {k: len(v) for k, v in rows.items()},
            "python_fetch_seconds": round(fetch_seconds, 3),
            "sql_total_seconds": round(sum(min(t) for t in sql_times.values()), 3),
            "python_total_seconds": round(fetch_seconds + sum(min(py_times[n]) for n in
                                                               ("referrals", "county_retention_rate",
                                                                "hypertension_rates", "diabetes_rates")), 3),
            "figures": figures, "all_agree": all(agree.values()), "peak_rss_mb": peak_rss_mb(),
        })
        if not all(agree.values()):
            print("DISAGREE: " + ", ".join(k for k, v in agree.items() if not v), file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
