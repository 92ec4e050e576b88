"""kill -9 at random moments of three big writes, on SQLite and PostgreSQL: a roster import
(`weijian residents import`), `weijian settlement settle-pending`, and a newborn bundle (POST to a
`weijian serve` process). After each kill the database opens cleanly (SQLite: no stale lock, integrity_check
ok; PostgreSQL: the killed client's backend gone), the audit chain verifies, the operation's rows are all
there or none are, and `weijian indicators tallies check` exits 0.

Each operation runs once to the end on a copy of a prepared database, timing its end and the moment a
second connection first sees its rows (the commit); then on fresh copies it is killed at seeded random
moments spread over the time before and after that commit (WEIJIAN_FAULT_SEED changes the seed). "All"
is the very difference the uninterrupted run made to every table's row count and to the stock, year and
audit-chain figures; "nothing" is no difference at all. The figures are printed at the end (pytest -s).
"""
from __future__ import annotations

import csv
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from random import Random
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection

from tests import factories as f
from tests.faults import kill
from tests.live import free_port, own_database
from weijian.accounts import service as accounts_service
from weijian.care.models import Encounter
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.db import Base, make_engine, make_sessionmaker, unit_of_work
from weijian.core.migrate import upgrade
from weijian.core.settings import Settings
from weijian.immunization.models import BirthRegistration, StockBalance, VaccinationPoint, VaccineLot
from weijian.residents.importer.service import import_file
from weijian.residents.models import Resident
from weijian.settlement.models import Settlement, SettlementYear

pytestmark = pytest.mark.database

TRIALS = 5  # kills per operation per engine
ROSTER_FAMILIES = 700  # 2,100 rows: householder, spouse, child
SETTLE_PEOPLE, STAYS_EACH, SETTLE_YEAR = 500, 2, 2024
SYSTEM = Actor.system("test")
HEADERS = ["姓名", "性别", "出生日期", "身份证号", "联系电话", "户主身份证号", "与户主关系", "所属村", "参保类型", "人群分类"]
VILLAGES = (f.VILLAGE_A1, f.VILLAGE_A2, f.VILLAGE_B1)


# --- the prepared county ---------------------------------------------------------------------------------
@dataclass
class Prepared:
    settings: Settings
    folder: Path
    roster: Path  # 2,100 people not registered yet
    token: str  # a delivery-ward doctor's bearer token
    bundles: list[dict[str, Any]]  # two newborn forms (two mothers): the warm-up one and the one killed


def _family(n: int) -> list[list[str]]:
    village = VILLAGES[n % len(VILLAGES)]
    head_birth = date(1950, 1, 1) + timedelta(days=n * 7 % 12000)
    head = f.new_id_number(birth=head_birth)
    spouse_birth = head_birth + timedelta(days=400)
    child_birth = head_birth + timedelta(days=9000)
    groups = "高血压" if n % 3 == 0 else ""
    return [["王建国", "男", head_birth.isoformat(), head, "13800138000", "", "户主", village, "城乡居民医保", groups],
            ["李秀英", "女", spouse_birth.isoformat(), f.new_id_number(birth=spouse_birth, male=False), "", head,
             "配偶", village, "城乡居民医保", ""],
            ["王小明", "男", child_birth.isoformat(), f.new_id_number(birth=child_birth), "", head, "子", village,
             "城乡居民医保", ""]]


def _write_roster(path: Path, families: range) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(HEADERS)
        for n in families:
            out.writerows(_family(n))
    return path


def _pending_stays(session, folder: Path, facilities: dict[str, Any]) -> None:
    """SETTLE_PEOPLE householders (imported in bulk), each with STAYS_EACH discharged, unsettled stays."""
    roster = folder / "settle-people.csv"
    with roster.open("w", encoding="utf-8-sig", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(HEADERS)
        for n in range(SETTLE_PEOPLE):
            out.writerow(_family(100_000 + n)[0])
    import_file(session=session, path=roster, actor=SYSTEM, today=date(2025, 6, 1))
    places = (facilities["county"], facilities["town_a"], None)
    stays = []
    for i, rid in enumerate(session.scalars(select(Resident.id).order_by(Resident.id))):
        for k in range(STAYS_EACH):
            end = date(SETTLE_YEAR, 1 + (i + 5 * k) % 12, 1 + i % 27)
            place = places[(i + k) % len(places)]
            stays.append(Encounter(resident_id=rid, facility_id=place.id if place else None,
                                   outside_facility_name=None if place else "武汉协和医院", type="inpatient",
                                   start_date=end - timedelta(days=4), end_date=end, primary_diagnosis="J18.9",
                                   total_cost=Decimal(3000 + 1700 * ((i + k) % 40)),
                                   in_policy_cost=Decimal(2500 + 1700 * ((i + k) % 40)), created_by="test"))
    session.add_all(stays)
    session.flush()


def _delivery_ward(session) -> tuple[str, list[dict[str, Any]]]:
    facility = f.make_facility(session, name="英山县妇幼保健院", type="county_mch", orgunit_code=f.COUNTY)
    point = VaccinationPoint(facility_id=facility.id, name="产科接种室", serves_orgunit_code=f.TOWN_A, active=True,
                             min_days_of_stock=14)
    session.add(point)
    session.flush()
    lots = {}
    for vaccine in ("HepB", "BCG"):
        lots[vaccine] = VaccineLot(vaccine=vaccine, product=f"{vaccine}疫苗", manufacturer="测试生物制品公司",
                                   lot_number=f"K{vaccine}01", expiry_date=clock.today() + timedelta(days=365),
                                   doses_per_vial=1)
        session.add(lots[vaccine])
        session.flush()
        session.add(StockBalance(point_id=point.id, lot_id=lots[vaccine].id, quantity=50))
    user = f.make_user(session, "county_doctor", f.COUNTY, facility_id=facility.id, full_name="王助产")
    token, _ = accounts_service.issue_token(session=session, user=user, ttl_seconds=6 * 3600)
    born = clock.today() - timedelta(days=2)
    forms = []
    for n, household in enumerate(("H-KILL-1", "H-KILL-2")):
        f.make_resident(session, name="张大山", sex="male", birth_date=date(1990, 5, 1), household_number=household,
                        relation_to_head="head", address="温泉镇东冲村1组1号")
        mother = f.make_resident(session, name=("李红", "陈芳")[n], sex="female", birth_date=date(1995, 3, 2),
                                 household_number=household, relation_to_head="spouse")
        forms.append({"mother_id_number": mother.id_number, "child_name": "", "sex": "male",
                      "birth_date": born.isoformat(), "birth_time": "08:30", "birth_weight_g": "3300",
                      "gestational_weeks": "39", "hepb_lot_id": str(lots["HepB"].id),
                      "bcg_lot_id": str(lots["BCG"].id)})
    return token, forms


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Iterator[Prepared]:
    folder = tmp_path_factory.mktemp("kill9")
    with own_database(folder) as settings:
        engine = make_engine(settings)
        upgrade(engine)
        with unit_of_work(make_sessionmaker(engine)) as s:
            f.make_county(s)
            _pending_stays(s, folder, f.make_care_facilities(s))
            token, forms = _delivery_ward(s)
        engine.dispose()  # a PostgreSQL template database must have no connection
        roster = _write_roster(folder / "roster.csv", range(ROSTER_FAMILIES))
        yield Prepared(settings, folder, roster, token, forms)


@pytest.fixture(scope="module")
def figures() -> Iterator[list[kill.Figures]]:
    seen: list[kill.Figures] = []
    yield seen
    print("\nkill -9 trials (nothing: no row of the operation; all: every row of it)")
    for fig in seen:
        print("  " + fig.line())


# --- what an operation changed ----------------------------------------------------------------------------
def footprint(settings: Settings) -> dict[str, int]:
    """Every table's row count, the doses in stock, the stays counted in the settlement years and the audit
    chain's length: what an operation leaves behind (compared before and after it)."""
    engine = kill.reader(settings)
    try:
        with engine.connect() as conn:
            out = {t.name: conn.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}
            out["stock:quantity"] = conn.scalar(select(func.coalesce(func.sum(StockBalance.quantity), 0)))
            out["settlement_years:stays"] = conn.scalar(select(func.coalesce(func.sum(SettlementYear.stays), 0)))
            out["audit:head"] = conn.scalar(text("SELECT seq FROM audit_chain_head"))
    finally:
        engine.dispose()
    return out


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before[k] for k in before if after[k] != before[k]}


# --- the operations -----------------------------------------------------------------------------------------
@dataclass
class Run:
    """An operation under way: its process, when it started, and (newborn) whether the answer came."""

    proc: Any
    started: float
    log: Path
    answered: threading.Event | None = None
    finish: Any = None  # the client thread to join
    before: dict[str, int] | None = None  # the footprint the operation starts from, when not the copy's


class Operation:
    name: str
    probe_model: type

    def launch(self, prepared: Prepared, settings: Settings) -> Run:
        raise NotImplementedError

    def start(self, prepared: Prepared, settings: Settings, *args: str) -> Run:
        log = prepared.folder / f"{type(self).__name__}-{time.time_ns()}.log"
        started = time.monotonic()
        return Run(kill.start([kill.WEIJIAN, *args], kill.env_for(settings), log), started, log)

    def probe(self, before: int):
        model = self.probe_model

        def committed(conn: Connection) -> bool:
            return conn.scalar(select(func.count()).select_from(model)) > before

        return committed

    def close(self, run: Run) -> None:
        if run.finish is not None:
            run.finish.join(timeout=30)


class RosterImport(Operation):
    name, probe_model = "roster import", Resident

    def launch(self, prepared: Prepared, settings: Settings) -> Run:
        return self.start(prepared, settings, "residents", "import", str(prepared.roster))


class SettlePending(Operation):
    name, probe_model = "settle-pending", Settlement

    def launch(self, prepared: Prepared, settings: Settings) -> Run:
        return self.start(prepared, settings, "settlement", "settle-pending", "--year", str(SETTLE_YEAR))


class NewbornBundle(Operation):
    """A server on the copy; one bundle registered to the end (warming it up), then the one the trial is
    about, posted from a thread while the server is killed. Its clock starts when that POST is sent."""

    name, probe_model = "newborn bundle", BirthRegistration

    def launch(self, prepared: Prepared, settings: Settings) -> Run:
        port = free_port()
        server = self.start(prepared, settings, "serve", "--port", str(port))
        proc = server.proc
        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {prepared.token}"}
        deadline = time.monotonic() + 30
        while True:
            try:
                res = httpx.post(f"{base}/api/v1/immunization/newborns", json=prepared.bundles[0], headers=headers,
                                 timeout=30)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.1)
        assert res.status_code == 201, res.text
        before = footprint(settings)  # the warm-up bundle is in; the next one is the trial's
        answered = threading.Event()

        def post() -> None:
            try:
                res = httpx.post(f"{base}/api/v1/immunization/newborns", json=prepared.bundles[1], headers=headers,
                                 timeout=30)
            except httpx.TransportError:
                return
            assert res.status_code == 201, res.text
            answered.set()

        client = threading.Thread(target=post, daemon=True)
        server.started = time.monotonic()
        client.start()
        server.answered, server.finish, server.before = answered, client, before
        return server


OPERATIONS = [RosterImport(), SettlePending(), NewbornBundle()]


def _trial(op: Operation, prepared: Prepared, delay: float | None) -> tuple[dict[str, int], kill.Kill, Run, float]:
    """One run of `op` on a fresh copy; killed `delay` s after its start (None: let it finish, then stop
    it), checked after. Returns (what it changed, the kill, the run, when its commit was seen or -1)."""
    with kill.copy_of(prepared.settings, prepared.folder) as settings:
        before = footprint(settings)
        watcher_engine = kill.reader(settings)
        try:
            run = op.launch(prepared, settings)
            before = run.before or before
            with kill.CommitWatch(watcher_engine, op.probe(before[op.probe_model.__tablename__]), run.started) as w:
                if delay is None:
                    if run.answered is not None:
                        op.close(run)
                        assert run.answered.is_set(), "the bundle was not answered"
                    else:
                        run.proc.wait(timeout=120)
                    end = time.monotonic() - run.started
                    time.sleep(0.05)
                    outcome = kill.kill_after(run.proc, run.started, 0, run.log)
                    outcome.delay = end
                else:
                    outcome = kill.kill_after(run.proc, run.started, delay, run.log)
                    op.close(run)
        finally:
            watcher_engine.dispose()
        kill.assert_opens_cleanly(settings)
        changed = delta(before, footprint(settings))
        kill.assert_tallies_check_clean(settings)
        return changed, outcome, run, w.seen if w.seen is not None else -1.0


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda o: o.name.replace(" ", "-"))
def test_a_kill_at_any_moment_leaves_all_or_nothing_and_clean_tallies(op, prepared, figures):
    engine = "postgresql" if prepared.settings.sqlite_path() is None else "sqlite"
    fig = kill.Figures(op.name, engine)
    figures.append(fig)
    full, measured, _run, commit_at = _trial(op, prepared, None)
    assert full and commit_at > 0, (full, commit_at)
    assert full[op.probe_model.__tablename__] > 0
    fig.commit_at, fig.done_at = commit_at, measured.delay
    rng = Random(f"{kill.SEED}:{op.name}:{engine}")
    for delay in kill.kill_delays(rng, commit_at, measured.delay, TRIALS):
        changed, outcome, run, _seen = _trial(op, prepared, delay)
        finished = outcome.finished_first or (run.answered is not None and run.answered.is_set())
        assert changed in ({}, full), f"partial work after a kill at {delay:.3f}s: {changed} (all is {full})"
        if finished:
            assert changed == full, f"{op.name} answered success but {changed} is not all of {full}"
        fig.outcomes.append((delay, "finished" if outcome.finished_first else "all" if changed else "nothing"))
