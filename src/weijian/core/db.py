"""Database plumbing: the declarative Base, portable column types, engine and unit-of-work helpers.

The engine is built by `make_engine(settings)` in create_app / the CLI / test fixtures, never at import.
Services flush but never commit; `session_scope` (CLI) and the request dependency commit or roll back.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

from sqlalchemy import DateTime, MetaData, String, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from weijian.core.settings import Settings

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator):
    """Timezone-aware datetimes stored as UTC on both engines (SQLite keeps no zone: we restore it)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):  # noqa: ANN001
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: weijian stores timezone-aware times only")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):  # noqa: ANN001
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def Code(length: int) -> String:  # noqa: N802 - reads like a type in models
    """Fixed-format codes (division codes, enum codes) as VARCHAR."""
    return String(length)


def make_engine(settings: Settings) -> Engine:
    url = settings.database_url
    kwargs: dict = {"echo": settings.sql_echo, "future": True}
    if url.startswith("sqlite"):
        path = settings.sqlite_path()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; take control so SAVEPOINTs and
        # rolled-back test transactions behave as on PostgreSQL. IMMEDIATE: nearly every unit of work
        # writes (reads of records are audited), and a deferred transaction that starts reading and
        # then writes fails at once with "database is locked" when another writer committed in
        # between; IMMEDIATE waits for the write lock (busy timeout) instead.
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
    # Every write through a session counts in the running tallies (core.tallies): their sources, and the
    # session listeners the modules behind them register, are loaded here — never during a first flush,
    # where adding a listener breaks the one being called.
    from weijian.core import tallies

    tallies.sources()
    return engine


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001
    dbapi_conn.isolation_level = None  # see the "begin" listener above
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    # Makes LIKE 'prefix%' use ordinary (BINARY) indexes, as varchar_pattern_ops does on PostgreSQL.
    cur.execute("PRAGMA case_sensitive_like=ON")
    cur.close()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


def settings_sessionmaker() -> sessionmaker[Session]:
    """Sessions on the database of the WEIJIAN_* settings: the CLI commands' (their tests replace each
    command module's `_sessionmaker` with one bound to the test's transaction)."""
    return make_sessionmaker(make_engine(Settings()))


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def like_prefix(value: str) -> str:
    """A LIKE pattern for `value%` with the wildcards in `value` escaped (use escape='\\')."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
