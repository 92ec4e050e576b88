"""Benchmark: a resident's health-record timeline with 500 encounters, through HTTP (uvicorn on loopback,
a county doctor's bearer token): p50/p95 latency of the JSON API (first and last page, a type filter) and
of the HTML timeline page.

    .venv/bin/python bench/bench_care_timeline.py [--residents N] [--db county.db] [--requests K]

Builds the demo county with its care (40,000 residents by default: the timeline reads one
resident's rows by index, so the county's size matters little; --db reuses a county built before, on a
copy), then gives one resident 500 encounters over ten years (outpatient visits, stays, day surgery, each
with one to three diagnoses) on top of what the demo gave him. Writes bench/results/care_timeline.json.
"""
from __future__ import annotations

import argparse
import random
import sys
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import func, insert, select

from care_common import (
    add_arguments,
    bearer,
    count,
    demo_database,
    load_average,
    measure,
    next_id,
    result_name,
    serve,
    sync_sequences,
)
from common import percentiles, write_results
from weijian.accounts.models import User
from weijian.care import icd10
from weijian.care.models import Diagnosis, Encounter
from weijian.core import clock
from weijian.orgunits.models import Facility
from weijian.residents.models import Resident

ENCOUNTERS = 500
API = "/api/v1/residents/{id}/timeline"
PAGE = "/residents/{id}/timeline"


def _give_encounters(engine, rng: random.Random) -> tuple[int, int]:
    """(resident id, encounters he now has): the oldest resident of the demo doctor's village gets 500 more."""
    with engine.begin() as conn:
        village = conn.scalar(select(User.orgunit_code).where(User.username == "cunyi"))
        resident = conn.scalar(select(Resident.id).where(Resident.village_code == village)
                               .order_by(Resident.birth_date, Resident.id).limit(1))
        # The facilities a villager is seen at: his clinic, his township's centre, the county hospitals.
        township = village[:9] + "000"
        facilities = list(conn.execute(select(Facility.id, Facility.type)
                                       .where(Facility.orgunit_code.in_([village, township, village[:6] + "000000"]),
                                              Facility.type != "cdc").order_by(Facility.id)))
        codes = [c.code for c in icd10.codes()]
        eid, did = next_id(conn, Encounter), next_id(conn, Diagnosis)
        encounters, diagnoses, now = [], [], clock.now()
        for k in range(ENCOUNTERS):
            kind = "inpatient" if k % 10 == 0 else "day_surgery" if k % 25 == 1 else "outpatient"
            start = date(2016, 1, 1) + timedelta(days=rng.randint(0, 3650))
            fid, _ = rng.choice(facilities)
            if kind != "outpatient":
                fid = next(f for f, t in facilities if t == "county_general")
            end = start + timedelta(days=rng.randint(3, 12)) if kind == "inpatient" else (
                start if kind == "day_surgery" else None)
            cents = rng.randint(3000, 30000) if kind == "outpatient" else rng.randint(200000, 3000000)
            total = Decimal(cents).scaleb(-2)
            dx = rng.sample(codes, rng.randint(1, 3))
            encounters.append({"id": eid, "resident_id": resident, "facility_id": fid, "type": kind,
                               "department": None, "clinician_name": "bench",
                               "start_date": start, "end_date": end, "primary_diagnosis": dx[0], "note": None,
                               "total_cost": total, "in_policy_cost": Decimal(cents * 9 // 10).scaleb(-2),
                               "created_at": now, "created_by": "bench"})
            diagnoses += [{"id": did + j, "encounter_id": eid, "seq": j + 1, "code": c} for j, c in enumerate(dx)]
            did += len(dx)
            eid += 1
        conn.execute(insert(Encounter.__table__), encounters)
        conn.execute(insert(Diagnosis.__table__), diagnoses)
        sync_sequences(conn, ("encounters", "diagnoses"))
        total = conn.scalar(select(func.count()).select_from(Encounter).where(Encounter.resident_id == resident))
    return resident, total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser, 40_000)
    parser.add_argument("--requests", type=int, default=100, help="timed requests per kind")
    args = parser.parse_args()

    with demo_database(args, "care_timeline") as (settings, engine, build_seconds):
        resident, encounters = _give_encounters(engine, random.Random(11))
        with engine.connect() as conn:
            total_encounters = conn.scalar(select(func.count()).select_from(Encounter))
        results: dict[str, dict] = {}
        with serve(settings, engine) as client:
            headers = bearer(client, "xianyi")  # county doctor: the whole county in scope
            api, page = API.format(id=resident), PAGE.format(id=resident)
            last = -(-encounters // 50)
            kinds = {
                "api: newest 50 (page 1)": (api, {"page_size": 50}),
                f"api: oldest (page {last} of 50)": (api, {"page_size": 50, "page": last}),
                "api: inpatient stays only": (api, {"types": "inpatient", "page_size": 50}),
                "html: timeline page": (page, None),
                "html: htmx partial, outpatient only": (page, {"type": "outpatient"}),
            }
            for kind, (url, params) in kinds.items():
                hdrs = {**headers, "HX-Request": "true"} if "htmx" in kind else headers
                samples, resp = measure(client, url, hdrs, args.requests, params=params)
                shown = len(resp.json()["items"]) if url == api else None
                results[kind] = {**percentiles(samples), "items_shown": shown, "bytes": len(resp.content)}
                print(f"{kind:40} p50 {results[kind]['p50_ms']:7.1f} ms  p95 {results[kind]['p95_ms']:7.1f} ms",
                      flush=True)
        write_results(result_name("care_timeline", engine), {
            "engine": engine.dialect.name, "load_average": load_average(),
            "residents": count(engine, Resident),
            "database": "copy of " + args.db if args.db else "built", "build_seconds": build_seconds,
            "encounters_in_county": total_encounters, "resident_encounters": encounters,
            "user": "xianyi (county_doctor, bearer token)", "requests_per_kind": args.requests,
            "latency": results,
        })
    return 0


if __name__ == "__main__":
    sys.exit(main())
