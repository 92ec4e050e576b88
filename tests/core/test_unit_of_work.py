"""One user action, one transaction, committed before the answer is sent; reads that take no write lock.

These tests run against a database of their own that commits for real (tests/live.py), since the test
fixtures' rolled-back transaction cannot show when a commit happens. On SQLite the write lock is probed
from a second connection (`BEGIN IMMEDIATE` with no wait) at the moment a read, an export or a password
check runs; PostgreSQL has no database-wide write lock, so those probes run on SQLite only.
"""
from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

import httpx
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from tests import factories as f
from tests.live import own_database, serve
from weijian.accounts import service as accounts_service
from weijian.accounts.models import AuditEvent
from weijian.core.actor import Actor
from weijian.core.commands import build
from weijian.core.db import (
    READ_OPTION,
    ReadUnitWrote,
    doom,
    make_engine,
    make_read_sessionmaker,
    make_sessionmaker,
    unit_of_work,
)
from weijian.core.migrate import upgrade
from weijian.core.settings import Settings
from weijian.residents import queries as residents_queries
from weijian.residents import service as residents_service
from weijian.residents.models import Household, Resident

SYSTEM = Actor.system("test")
pytestmark = pytest.mark.database


@dataclass
class World:
    settings: Settings
    engine: Engine
    headers: dict[str, str]  # a village doctor's bearer token
    resident_id: int
    username: str

    @property
    def sqlite_path(self) -> Path | None:
        return self.settings.sqlite_path()


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    with own_database(tmp_path_factory.mktemp("uow")) as settings:
        engine = make_engine(settings)
        upgrade(engine)
        with unit_of_work(make_sessionmaker(engine)) as s:
            f.make_county(s)
            user = f.make_user(s, "village_doctor", f.VILLAGE_A1, username="uow_doctor")
            f.make_user(s, "bureau_admin", f.COUNTY, username="uow_bureau")
            headers = f.token_headers(s, user)
            resident = residents_service.create(session=s, actor=SYSTEM, resident_in=build(residents_service.ResidentCreate, dict(
                name="王小二", id_number=f.new_id_number(), village_code=f.VILLAGE_A1)))
            resident_id = resident.id
        yield World(settings, engine, headers, resident_id, "uow_doctor")
        engine.dispose()


@pytest.fixture()
def app(world):
    from weijian.app import create_app

    return create_app(world.settings, engine=world.engine)


def _reader(engine: Engine) -> Engine:
    """Connections that look without waiting: on SQLite a plain (deferred) BEGIN, not the write lock a
    write unit's connection would wait for."""
    return engine.execution_options(**{READ_OPTION: True})


def _count(engine: Engine, model) -> int:
    """Counted on a connection of its own: what another user of the database sees now."""
    with _reader(engine).connect() as conn:
        return conn.scalar(select(func.count()).select_from(model))


def _new_resident(name: str) -> dict[str, str]:
    return {"name": name, "id_number": f.new_id_number(), "village_code": f.VILLAGE_A1}


# --- success only after commit ------------------------------------------------------------------------
def test_each_201_arrives_after_its_row_is_committed(world, app):
    """100 consecutive POSTs: the moment each 201 arrives, a second connection sees the new row. The
    commit is slowed by 20 ms (a slow disk), so an answer sent before its commit would be caught."""
    def slow_commit(_conn) -> None:
        time.sleep(0.02)

    event.listen(world.engine, "commit", slow_commit)
    try:
        with serve(app) as base, httpx.Client(base_url=base, headers=world.headers, timeout=30) as http:
            missing = []
            for i in range(100):
                res = http.post("/api/v1/residents", json=_new_resident("测" + "一二三四五六七八九十"[i % 10] + "甲乙丙丁戊己庚辛壬癸"[i // 10]))
                assert res.status_code == 201, res.text
                rid = res.json()["id"]
                with _reader(world.engine).connect() as other:
                    if other.scalar(select(Resident.id).where(Resident.id == rid)) is None:
                        missing.append(rid)
            assert missing == []
    finally:
        event.remove(world.engine, "commit", slow_commit)


def test_a_reads_audit_row_is_committed_before_its_answer(world, app):
    def slow_commit(_conn) -> None:
        time.sleep(0.02)

    event.listen(world.engine, "commit", slow_commit)
    try:
        with serve(app) as base, httpx.Client(base_url=base, headers=world.headers, timeout=30) as http:
            for _ in range(20):
                before = _count(world.engine, AuditEvent)
                assert http.get(f"/api/v1/residents/{world.resident_id}").status_code == 200
                assert _count(world.engine, AuditEvent) == before + 1
    finally:
        event.remove(world.engine, "commit", slow_commit)


@pytest.mark.parametrize(("error", "status", "message"), [
    (OperationalError("COMMIT", {}, Exception("disk I/O error")), 503, "均未保存"),
    (IntegrityError("COMMIT", {}, Exception("constraint failed")), 500, "均未保存"),
])
def test_a_commit_that_fails_answers_5xx_and_saves_nothing(world, app, client, error, status, message):
    def fail(_conn) -> None:
        raise error

    before = _count(world.engine, Resident), _count(world.engine, AuditEvent)
    event.listen(world.engine, "commit", fail)
    try:
        res = client.post("/api/v1/residents", json=_new_resident("提交失败"), headers=world.headers)
    finally:
        event.remove(world.engine, "commit", fail)
    assert res.status_code == status
    body = res.json()["error"]
    assert body["code"] in ("not_saved", "unavailable") and message in body["message"]
    assert (status == 503) == (res.headers.get("retry-after") == "5")
    assert (_count(world.engine, Resident), _count(world.engine, AuditEvent)) == before


def test_a_page_whose_commit_fails_shows_the_error_page_not_a_success(world, app, client):
    client.headers.update(world.headers)
    csrf = f.csrf_from(client.get("/residents/new").text)

    def fail(_conn) -> None:
        raise OperationalError("COMMIT", {}, Exception("database is locked"))

    before = _count(world.engine, Resident)
    event.listen(world.engine, "commit", fail)
    try:
        res = client.post("/residents/new", data={**_new_resident("页面失败"), "csrf_token": csrf, "sex": "male",
                                                   "insurance_scheme": "resident"}, follow_redirects=False)
    finally:
        event.remove(world.engine, "commit", fail)
    assert res.status_code == 503 and "均未保存" in res.text
    assert _count(world.engine, Resident) == before


# --- the unit of work itself ----------------------------------------------------------------------------
def test_a_read_unit_refuses_to_write_and_rolls_back(world):
    reads = make_read_sessionmaker(world.engine)
    before = _count(world.engine, Household)
    with pytest.raises(ReadUnitWrote), unit_of_work(reads, read_only=True) as s:
        s.add(Household(number="H-read", village_code=f.VILLAGE_A1))
        s.flush()
    assert _count(world.engine, Household) == before


def test_a_doomed_unit_commits_nothing_but_its_queued_rows(world):
    writes = make_sessionmaker(world.engine)
    before = _count(world.engine, Household), _count(world.engine, AuditEvent)
    with unit_of_work(writes) as s:
        s.add(Household(number="H-doomed", village_code=f.VILLAGE_A1))
        s.flush()
        accounts_service.audit(session=s, actor=SYSTEM, action="create", entity_type="household",
                               basis="system", survive_rollback=True)
        doom(s)
        s.add(Household(number="H-after-doom", village_code=f.VILLAGE_A1))  # the re-render's reads may flush
        s.flush()
    assert (_count(world.engine, Household), _count(world.engine, AuditEvent)) == (before[0], before[1] + 1)


def test_rows_queued_by_a_failed_unit_are_still_written(world):
    """A refused attempt's audit row survives the error that rolls its unit back."""
    writes = make_sessionmaker(world.engine)
    before = _count(world.engine, AuditEvent)
    with pytest.raises(ValueError), unit_of_work(writes) as s:
        accounts_service.audit(session=s, actor=SYSTEM, action="read", entity_type="resident", basis="system",
                               survive_rollback=True)
        raise ValueError("refused")
    assert _count(world.engine, AuditEvent) == before + 1


# --- reads that never hold the write lock (SQLite) ------------------------------------------------------
def _write_lock_free(path: Path) -> bool:
    """Could another connection take SQLite's write lock right now (no waiting)?"""
    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        conn.close()


@pytest.fixture()
def probe(world, monkeypatch):
    """`probe(module, name)`: wrap a function so that each call records whether the write lock was free."""
    if world.sqlite_path is None:
        pytest.skip("SQLite's write lock: PostgreSQL has none (its reads run READ ONLY)")
    seen: list[bool] = []

    def install(module, name: str) -> list[bool]:
        original = getattr(module, name)

        def wrapped(*args, **kwargs):
            seen.append(_write_lock_free(world.sqlite_path))
            return original(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapped)
        return seen

    return install


def test_a_record_read_runs_without_the_write_lock(world, client, probe):
    seen = probe(residents_queries, "get")  # the API reads a record through residents.queries
    assert client.get(f"/api/v1/residents/{world.resident_id}", headers=world.headers).status_code == 200
    assert seen == [True]


def test_an_excel_export_reads_without_the_write_lock(world, client, probe):
    from weijian.indicators import service as indicators_service

    with unit_of_work(make_sessionmaker(world.engine)) as s:
        headers = f.token_headers(s, accounts_service.get_by_username(session=s, username="uow_bureau"))
    seen = probe(indicators_service, "export_xlsx")
    res = client.get("/api/v1/indicators/export.xlsx", params={"period": "2025"}, headers=headers)
    assert res.status_code == 200, res.text
    assert res.content[:2] == b"PK" and seen == [True]


@pytest.mark.parametrize("via", ["api", "page"])
def test_the_password_is_checked_outside_any_transaction(world, client, probe, via):
    seen = probe(accounts_service, "verify_password")
    for password in (f.PASSWORD, "wrong-password"):
        if via == "api":
            res = client.post("/api/v1/auth/token", json={"username": world.username, "password": password})
            assert res.status_code == (200 if password == f.PASSWORD else 401)
        else:
            res = client.post("/login", data={"username": world.username, "password": password,
                                              "csrf_token": f.csrf_from(client.get("/login").text)},
                              follow_redirects=False)
            assert res.status_code == (303 if password == f.PASSWORD else 401)
    assert seen == [True, True]


def test_an_unknown_user_costs_one_password_check_too(world, client, probe):
    seen = probe(accounts_service, "verify_password")
    res = client.post("/api/v1/auth/token", json={"username": "nobody-here", "password": "whatever-1"})
    assert res.status_code == 401 and seen == [True]


# --- the log-in session's "last seen" -----------------------------------------------------------------
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_last_seen_is_written_once_a_minute_by_reads_and_writes_without_waiting(world, client, time_machine,
                                                                                 method):
    """A GET writes it in a short write after its look-up (its own unit stays a read), a POST in its own
    unit: neither waits on a second writer (which on SQLite would hang for the busy timeout)."""
    from datetime import timedelta

    from weijian.accounts.models import UserSession
    from weijian.core import clock

    time_machine.move_to(clock.now(), tick=True)
    f.page_login(client, world.username)
    time_machine.shift(timedelta(minutes=2))
    started = time.monotonic()
    if method == "GET":
        assert client.get("/").status_code == 200
    else:
        page = client.get("/account/password")
        time_machine.shift(timedelta(minutes=2))
        res = client.post("/account/password", data={"current_password": "Not-my-password-1", "password": "x",
                                                     "password_again": "y", "csrf_token": f.csrf_from(page.text)})
        assert res.status_code == 422
    assert time.monotonic() - started < 10
    with _reader(world.engine).connect() as conn:
        last_seen = conn.scalar(select(func.max(UserSession.last_seen_at)))
    if last_seen.tzinfo is None:

        last_seen = last_seen.replace(tzinfo=UTC)
    assert clock.now() - last_seen < timedelta(seconds=30)
