"""Benchmark: a village doctor's worklist for a village of 2,000 residents, and the county referral desk's
inbox with 5,000 open referrals, through HTTP (uvicorn on loopback, bearer tokens): p50/p95 latency.

    .venv/bin/python bench/bench_care_worklist.py [--residents N] [--db county.db] [--requests K]

Builds the demo county with its care (400,000 residents by default; --db reuses a county built
before, on a copy). The village is the one whose number of residents is nearest 2,000, topped up to
2,000 with residents of its township if it has fewer (its chronic patients, follow-ups and downward
referrals are the demo's); a village doctor is registered at its clinic. The county hospital gets 5,000
open referrals (requested, accepted, arrived; some urgent; asked over the last three days, so part of
them are overdue) on top of the demo's. Writes bench/results/care_worklist.json.
"""
from __future__ import annotations

import argparse
import random
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import func, insert, select, update

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
from weijian.accounts import service as accounts_service
from weijian.care.models import Referral
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.db import make_sessionmaker, unit_of_work
from weijian.orgunits.models import Facility
from weijian.residents.models import Resident

VILLAGE_SIZE = 2000
OPEN_REFERRALS = 5000
DOCTOR = "bench_cunyi"
CODES = ("I10", "I63.9", "J18.9", "J44.1", "E11.9", "K80.1", "S72.0", "I20.0", "N20.1", "M51.1")


def _village(engine) -> tuple[str, int, int]:
    """(village code, residents before, residents now): the village nearest 2,000 residents, topped up."""
    with engine.begin() as conn:
        sizes = list(conn.execute(select(Resident.village_code, func.count()).group_by(Resident.village_code)))
        code, before = min(sizes, key=lambda row: (abs(row[1] - VILLAGE_SIZE), row[0]))
        if before < VILLAGE_SIZE:
            movers = list(conn.scalars(select(Resident.id).where(
                Resident.village_code.like(code[:9] + "%"), Resident.village_code != code)
                .order_by(Resident.id).limit(VILLAGE_SIZE - before)))
            conn.execute(update(Resident).where(Resident.id.in_(movers)).values(village_code=code))
        now = conn.scalar(select(func.count()).select_from(Resident).where(Resident.village_code == code))
    with unit_of_work(make_sessionmaker(engine)) as s:
        clinic = s.scalar(select(Facility.id).where(Facility.orgunit_code == code, Facility.type == "village_clinic"))
        accounts_service.register_user(session=s, actor=Actor.system("bench"), username=DOCTOR,
                                       password="bench-1234", full_name="bench", role="village_doctor",
                                       orgunit_code=code, facility_id=clinic)
    return code, before, now


def _open_referrals(engine, rng: random.Random) -> int:
    """5,000 open referrals to the county hospital; returns the open referrals it now has."""
    now = clock.now()
    with engine.begin() as conn:
        hospital = conn.scalar(select(Facility.id).where(Facility.type == "county_general"))
        senders = list(conn.execute(select(Facility.id, Facility.orgunit_code)
                                    .where(Facility.type.in_(("village_clinic", "township_centre")))))
        # A clinic refers its village's residents; a township centre its township's.
        by_area: dict[str, list[int]] = {}
        for row in conn.execute(select(Resident.id, Resident.village_code).order_by(Resident.id)):
            by_area.setdefault(row.village_code, []).append(row.id)
            by_area.setdefault(row.village_code[:9] + "000", []).append(row.id)
        senders = [(fid, unit) for fid, unit in senders if by_area.get(unit)]
        rid = next_id(conn, Referral)
        rows = []
        for k in range(OPEN_REFERRALS):
            fid, unit = rng.choice(senders)
            pool = by_area[unit]
            status = rng.choices(("requested", "accepted", "arrived"), (0.6, 0.25, 0.15))[0]
            requested = now - timedelta(hours=rng.uniform(0, 72))
            rows.append({
                "id": rid + k, "resident_id": rng.choice(pool), "direction": "up", "from_facility_id": fid,
                "from_clinician_name": "bench", "to_facility_id": hospital, "to_department": None,
                "out_of_county": False, "outside_facility_name": None, "reason": "bench",
                "diagnosis": rng.choice(CODES),
                "urgency": "urgent" if rng.random() < 0.15 else "routine", "summary": "bench", "status": status,
                "requested_at": requested,
                "responded_at": None if status == "requested" else requested + timedelta(hours=rng.uniform(0.2, 3)),
                "responded_by": None if status == "requested" else "bench",
                "arrived_at": requested + timedelta(hours=4) if status == "arrived" else None, "version": 1,
            })
        conn.execute(insert(Referral.__table__), rows)
        sync_sequences(conn, ("referrals",))
        return conn.scalar(select(func.count()).select_from(Referral).where(
            Referral.to_facility_id == hospital, Referral.status.in_(("requested", "accepted", "arrived"))))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser, 400_000)
    parser.add_argument("--requests", type=int, default=60, help="timed requests per kind")
    args = parser.parse_args()
    rng = random.Random(17)

    with demo_database(args, "care_worklist") as (settings, engine, build_seconds):
        village, before, size = _village(engine)
        open_referrals = _open_referrals(engine, rng)
        results: dict[str, dict] = {}
        with serve(settings, engine) as client:
            doctor = bearer(client, DOCTOR, "bench-1234")
            desk = bearer(client, "xianyi")  # county doctor at the county hospital: its referral desk
            kinds = {
                "village doctor: worklist api": ("/api/v1/care/worklist", doctor, None),
                "village doctor: worklist page": ("/care/worklist", doctor, None),
                "county desk: inbox api, page 1": ("/api/v1/care/referrals/inbox", desk, {"page_size": 50}),
                "county desk: inbox api, page 50": ("/api/v1/care/referrals/inbox", desk,
                                                    {"page_size": 50, "page": 50}),
                "county desk: desk page": ("/care/referrals/desk", desk, None),
            }
            for kind, (url, headers, params) in kinds.items():
                samples, resp = measure(client, url, headers, args.requests, params=params)
                extra = {}
                if url == "/api/v1/care/worklist":
                    body = resp.json()
                    extra = {"follow_ups_due": len(body["follow_ups"] or []),
                             "downward_referrals": len(body["downward_referrals"]),
                             "consultation_replies": len(body["consultation_replies"])}
                elif url.endswith("/inbox"):
                    body = resp.json()
                    extra = {"total": body["total"], "overdue": body["overdue"], "items": len(body["items"])}
                results[kind] = {**percentiles(samples), **extra, "bytes": len(resp.content)}
                print(f"{kind:36} p50 {results[kind]['p50_ms']:7.1f} ms  "
                      f"p95 {results[kind]['p95_ms']:7.1f} ms  {extra}", flush=True)
        write_results(result_name("care_worklist", engine), {
            "engine": engine.dialect.name, "load_average": load_average(),
            "residents": count(engine, Resident),
            "database": "copy of " + args.db if args.db else "built", "build_seconds": build_seconds,
            "village": village, "village_residents_before_top_up": before, "village_residents": size,
            "open_referrals_to_county_hospital": open_referrals, "requests_per_kind": args.requests,
            "latency": results,
        })
    return 0


if __name__ == "__main__":
    sys.exit(main())
