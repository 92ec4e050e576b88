"""Test fixtures: one migrated database per test session (SQLite file, or a fresh PostgreSQL database
when WEIJIAN_TEST_DATABASE_URL names a server), and one rolled-back transaction per test.

`make test` runs the suite twice: on SQLite, then on PostgreSQL with only the database tests.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from weijian import wiring
from weijian.core.db import make_engine, make_sessionmaker
from weijian.core.migrate import upgrade
from weijian.core.settings import Settings

PG_URL = os.environ.get("WEIJIAN_TEST_DATABASE_URL", "")
ON_POSTGRES = PG_URL.startswith("postgresql")
DB_FIXTURES = {"engine", "session", "connection", "client", "app", "db_settings"}


def pytest_collection_modifyitems(config, items):
    """On the PostgreSQL pass keep only tests that touch the database; the rest ran on SQLite."""
    if not ON_POSTGRES:
        return
    keep, drop = [], []
    for item in items:
        uses_db = DB_FIXTURES & set(getattr(item, "fixturenames", ())) or item.get_closest_marker("database")
        (keep if uses_db else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(autouse=True, scope="session")
def _wired() -> None:
    """The domains wired as at the start of the app and of the CLI (weijian.wiring), before any session."""
    wiring.wire()


def savepoint_sessions(connection):
    """Sessions on the test's connection whose commits only release savepoints (the test's outer transaction
    is rolled back); made by core.db, so wired as the app's and the CLI's are."""
    return make_sessionmaker(connection, join_transaction_mode="create_savepoint")


@pytest.fixture(scope="session")
def db_settings(tmp_path_factory) -> Iterator[Settings]:
    if ON_POSTGRES:
        admin_url = make_url(PG_URL)
        name = f"weijian_test_{uuid.uuid4().hex[:10]}"
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" ENCODING \'UTF8\' TEMPLATE template0'))
        url = admin_url.set(database=name).render_as_string(hide_password=False)
        yield Settings(environment="test", database_url=url, key_dir=tmp_path_factory.mktemp("keys"),
                       upload_dir=tmp_path_factory.mktemp("uploads"))
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        path = tmp_path_factory.mktemp("db") / "test.db"
        yield Settings(environment="test", database_url=f"sqlite:///{path}", key_dir=tmp_path_factory.mktemp("keys"),
                       upload_dir=tmp_path_factory.mktemp("uploads"))


@pytest.fixture(scope="session")
def engine(db_settings: Settings) -> Iterator[Engine]:
    eng = make_engine(db_settings)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture()
def connection(engine: Engine):
    conn = engine.connect()
    trans = conn.begin()
    try:
        yield conn
    finally:
        if trans.is_active:
            trans.rollback()
        conn.close()


@pytest.fixture()
def session(connection) -> Iterator[Session]:
    """A session whose commits only release savepoints: the test's outer transaction is rolled back."""
    s = savepoint_sessions(connection)()
    try:
        yield s
    finally:
        s.close()


@pytest.fixture()
def app(db_settings: Settings, engine: Engine, connection):
    from weijian.app import create_app

    application = create_app(db_settings, engine=engine)
    # Read and write units both on the test's connection (savepoints in its rolled-back transaction).
    application.state.sessionmaker = application.state.read_sessionmaker = savepoint_sessions(connection)
    return application


@pytest.fixture()
def client(app) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver") as c:
        yield c


_SUITE_TRAVEL: list[object] = []


def pytest_configure(config: pytest.Config) -> None:
    """`WEIJIAN_TEST_AT=2026-12-06T20:30:00Z` runs the whole suite as if started then (the clock ticking
    on): how the suite is shown to pass at any hour of the UTC day, e.g. in the 16:00–24:00 window where
    the county's date is a day ahead of UTC. Unset: the real time. The travel starts here, before the test
    modules are imported, so that their module-level days (TODAY = clock.today()) are the traveled ones
    too; started in a session fixture, after collection, it left those at the real day."""
    at = os.environ.get("WEIJIAN_TEST_AT", "").strip()
    if at and not _SUITE_TRAVEL:
        import time_machine

        travel = time_machine.travel(at, tick=True)
        travel.start()
        _SUITE_TRAVEL.append(travel)


def pytest_unconfigure(config: pytest.Config) -> None:
    while _SUITE_TRAVEL:
        _SUITE_TRAVEL.pop().stop()  # type: ignore[attr-defined]


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing() -> Iterator[None]:
    """Argon2 at its production cost takes most of a second per hash on a busy machine, and tests hash
    hundreds of passwords: use the same algorithm (argon2id) at the lowest cost while testing."""
    from argon2 import PasswordHasher

    from weijian.accounts import service as accounts_service

    saved = accounts_service._hasher
    accounts_service._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    accounts_service._hasher = saved
