"""Recording a vaccination through the HTTP API — the engine's check of the child's history, the lot and
stock checks, the guarded stock decrement, the dose, its movement and the audit event, in one transaction:
p50/p95 latency one request at a time, and throughput (doses/second) one at a time and with several
vaccinators at once, against a real uvicorn server on loopback.

    .venv/bin/python bench/bench_immunization_record.py [--children N] [--workers K]

Runs on a fresh SQLite file, and on PostgreSQL too when WEIJIAN_BENCH_POSTGRES_URL names a server (a new
database is created there). Writes bench/results/immunization_record.json. The children are two months old
with their birth doses recorded, so HepB2, IPV1 and DTaP1 are due: three doses per child.
"""
from __future__ import annotations

import argparse
import os
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
import uvicorn
from sqlalchemy import func, select

from common import fresh_database, percentiles, timer, write_results
from weijian.accounts import service as accounts_service
from weijian.app import create_app
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.commands import build
from weijian.core.db import unit_of_work
from weijian.immunization.models import StockBalance, StockMovement, Vaccination, VaccinationPoint, VaccineLot
from weijian.immunization.records import service as records_service
from weijian.immunization.records.schemas import HistoricalDose
from weijian.orgunits.models import Facility, OrgUnit
from weijian.residents import service as residents_service

PASSWORD = "bench-pass-1234"
COUNTY, TOWN = "421124000000", "421124100000"
VILLAGES = [f"421124100{n:03d}" for n in range(201, 211)]
DOSES = (("HepB", 2, "right_deltoid"), ("IPV", 1, "left_thigh"), ("DTaP", 1, "right_thigh"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _setup(factory, children: int, vaccinators: int) -> tuple[list[int], list[str]]:
    """The county, one township vaccination point with plenty of stock, `vaccinators` users there, and the
    children (through the services, so their histories are what users would have)."""
    system = Actor.system("bench")
    today = clock.today()
    born = today - timedelta(days=70)
    with unit_of_work(factory) as s:
        s.add(OrgUnit(code=COUNTY, name="英山县", level="county", kind=None, parent_code=None))
        s.flush()
        s.add(OrgUnit(code=TOWN, name="温泉镇", level="township", kind="town", parent_code=COUNTY))
        s.flush()
        for i, code in enumerate(VILLAGES):
            s.add(OrgUnit(code=code, name=f"测试{i}村", level="village", kind="villagers_committee", parent_code=TOWN))
        s.flush()
        facility = Facility(code="B0001", name="温泉镇卫生院", type="township_centre", orgunit_code=TOWN)
        s.add(facility)
        s.flush()
        point = VaccinationPoint(facility_id=facility.id, name="温泉镇卫生院接种门诊", serves_orgunit_code=TOWN,
                                 active=True, min_days_of_stock=14)
        s.add(point)
        s.flush()
        for code, _dose, _site in DOSES:
            for k, days in enumerate((60, 200, 400)):  # three lots each: FEFO has a choice to make
                lot = VaccineLot(vaccine=code, product=f"{code}疫苗", manufacturer="基准生物", lot_number=f"{code}-{k}",
                                 expiry_date=today + timedelta(days=days))
                s.add(lot)
                s.flush()
                s.add(StockBalance(point_id=point.id, lot_id=lot.id, quantity=children * 2))
        users = []
        for n in range(vaccinators):
            user = accounts_service.create(session=s, username=f"jiezhong{n}", password=PASSWORD,
                                           full_name=f"接种员{n}", role="township_doctor", orgunit_code=TOWN,
                                           facility_id=facility.id)
            users.append(user.username)
        ids = []
        for i in range(children):
            child = residents_service.create(session=s, actor=system, resident_in=build(residents_service.ResidentCreate, {
                "name": "王小宝", "sex": "male" if i % 2 else "female", "birth_date": born - timedelta(days=i % 20),
                "village_code": VILLAGES[i % len(VILLAGES)], "insurance_scheme": "resident"}))
            for code in ("HepB", "BCG"):
                dose = build(HistoricalDose, resident_id=child.id, vaccine=code, dose=1, date=child.birth_date)
                records_service.record_historical(session=s, historical_in=dose, actor=system)
            ids.append(child.id)
    return ids, users


def _run(name: str, url: str | None, children: int, workers: int) -> dict:
    settings, engine, factory = fresh_database(f"immunization_record_{name}", url)
    with timer() as t:
        ids, users = _setup(factory, children, workers)
    setup_seconds = round(t["seconds"], 1)
    app = create_app(settings, engine=engine)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    tokens = []
    with httpx.Client(base_url=base, timeout=120) as client:
        for user in users:
            res = client.post("/api/v1/auth/token", json={"username": user, "password": PASSWORD})
            res.raise_for_status()
            tokens.append({"Authorization": f"Bearer {res.json()['access_token']}"})

    def dose(client: httpx.Client, auth: dict, child_id: int, k: int) -> float:
        code, n, site = DOSES[k]
        start = time.perf_counter()
        res = client.post("/api/v1/immunization/vaccinations", headers=auth,
                          json={"resident_id": child_id, "vaccine": code, "dose": n, "site": site})
        elapsed = (time.perf_counter() - start) * 1000
        if res.status_code != 201:
            raise RuntimeError(f"{res.status_code}: {res.text}")
        return elapsed

    # 1. one vaccinator, one dose after another: latency, and doses/second without contention.
    half = len(ids) // 2
    serial_ids = ids[:half]
    samples: list[float] = []
    with httpx.Client(base_url=base, timeout=120) as client:
        for child_id in serial_ids[:20]:  # warm-up (connections, caches, the schedule compiled)
            dose(client, tokens[0], child_id, 0)
        with timer() as serial:
            for child_id in serial_ids[20:]:
                samples.append(dose(client, tokens[0], child_id, 0))
    serial_rate = len(samples) / serial["seconds"]

    # 2. `workers` vaccinators at once, each on their own children: doses/second under contention.
    parallel_ids = ids[half:]
    chunks = [parallel_ids[i::workers] for i in range(workers)]
    parallel_samples: list[float] = []
    lock = threading.Lock()

    def vaccinator(i: int) -> int:
        done = 0
        with httpx.Client(base_url=base, timeout=120) as client:
            for child_id in chunks[i]:
                for k in range(len(DOSES)):
                    ms = dose(client, tokens[i], child_id, k)
                    with lock:
                        parallel_samples.append(ms)
                    done += 1
        return done

    with timer() as parallel, ThreadPoolExecutor(max_workers=workers) as pool:
        total = sum(pool.map(vaccinator, range(workers)))
    parallel_rate = total / parallel["seconds"]
    server.should_exit = True
    thread.join(timeout=10)

    with unit_of_work(factory) as s:
        given = s.scalar(select(func.count()).select_from(Vaccination).where(Vaccination.source == "recorded"))
        uses = s.scalar(select(func.count()).select_from(StockMovement).where(StockMovement.kind == "use"))
        left = s.scalar(select(func.sum(StockBalance.quantity)))
        negative = s.scalar(select(func.count()).select_from(StockBalance).where(StockBalance.quantity < 0))
    expected_left = 3 * 3 * children * 2 - given
    assert given == uses == 20 + len(samples) + total, (given, uses)
    assert left == expected_left and negative == 0, (left, expected_left, negative)
    engine.dispose()
    one = percentiles(samples)
    many = percentiles(parallel_samples)
    print(f"{name:10} one at a time: p50 {one['p50_ms']} ms  p95 {one['p95_ms']} ms  {serial_rate:.1f} doses/s;  "
          f"{workers} at once: p95 {many['p95_ms']} ms  {parallel_rate:.1f} doses/s", flush=True)
    return {"engine": engine.dialect.name, "children": children, "setup_seconds": setup_seconds,
            "one_at_a_time": {**one, "doses_per_second": round(serial_rate, 1)},
            "concurrent": {"vaccinators": workers, **many, "doses_per_second": round(parallel_rate, 1)},
            "doses_recorded": given, "stock_checked": {"use_movements": uses, "doses_left": left,
                                                      "negative_balances": negative}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    small = os.environ.get("WEIJIAN_BENCH_SMALL") == "1"
    parser.add_argument("--children", type=int, default=200 if small else 1000)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    runs = {"sqlite": _run("sqlite", None, args.children, args.workers)}
    pg = os.environ.get("WEIJIAN_BENCH_POSTGRES_URL")
    if pg:
        runs["postgresql"] = _run("postgresql", pg, args.children, args.workers)
    write_results("immunization_record", {
        "what": "POST /api/v1/immunization/vaccinations: history check (engine), lot and stock checks, guarded "
                "stock decrement, dose + movement + audit in one transaction",
        "server": "uvicorn, 1 worker, loopback; client httpx keep-alive", "runs": runs})
    return 0


if __name__ == "__main__":
    sys.exit(main())
