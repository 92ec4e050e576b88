"""Database plumbing: the declarative Base, portable column types, engine and the unit of work.

The engine is built by `make_engine(settings)` in create_app / the CLI / test fixtures, never at import.
Services flush but never commit; `unit_of_work` (under the request dependency, and in the CLI) commits or
rolls back, so one user action is one transaction.

Two kinds of unit: a **write** unit (a POST) takes SQLite's write lock when it begins (`BEGIN IMMEDIATE`:
a deferred transaction that read first and writes later fails at once with "database is locked" when
another writer committed in between); a **read** unit (a GET) runs in a deferred transaction — in WAL
mode readers never wait for the writer nor block it — and may not write. What a read must record (its
audit rows) is queued with `write_after` and written when the read is over, in one short write of its
own, before the answer is sent; a refused attempt's audit rows survive its rollback the same way.

Every engine carries the installation's keys (`core.keys.KeyRing`, kept outside the database) as an
execution option: `keyring(session)` finds them from any session or connection made from it.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, ClassVar, cast

from sqlalchemy import DateTime, MetaData, String, Table, create_engine, event, insert
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.orm import DeclarativeBase, Session, UOWTransaction, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

from weijian.core.hooks import Hook
from weijian.core.keys import KeyRing
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
    # Every model here is mapped to a Table (SQLAlchemy types it as any FromClause): Core inserts use it.
    __table__: ClassVar[Table]


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes stored as UTC on both engines (SQLite keeps no zone: we restore it)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: weijian stores timezone-aware times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def Code(length: int) -> String:
    """Fixed-format codes (division codes, enum codes) as VARCHAR."""
    return String(length)


def make_engine(settings: Settings) -> Engine:
    url = settings.database_url
    kwargs: dict[str, Any] = {"echo": settings.sql_echo, "future": True}
    if url.startswith("sqlite"):
        path = settings.sqlite_path()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        kwargs["pool_pre_ping"] = True
    # One connection for each request thread (Starlette runs sync routes on 40 threads), so a request
    # waits for a connection only past that.
    if not url.startswith("sqlite") or settings.sqlite_path() is not None:  # (":memory:" has one connection)
        kwargs.update(pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow,
                      pool_timeout=settings.db_pool_timeout_seconds)
    kwargs["execution_options"] = {KEYRING_OPTION: KeyRing(settings)}
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; take control so SAVEPOINTs and
        # rolled-back test transactions behave as on PostgreSQL. A write unit begins IMMEDIATE (waits for
        # the write lock, up to the busy timeout, instead of failing later); a read unit DEFERRED.
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_begin(conn: Connection) -> None:
    read = conn.get_execution_options().get(READ_OPTION)
    conn.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")


def _sqlite_pragmas(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    dbapi_conn.isolation_level = None  # see the "begin" listener above
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    # Makes LIKE 'prefix%' use ordinary (BINARY) indexes, as varchar_pattern_ops does on PostgreSQL.
    cur.execute("PRAGMA case_sensitive_like=ON")
    cur.close()


KEYRING_OPTION = "weijian_keyring"
_fallback_keyring: KeyRing | None = None


def keyring(session_or_connection: Session | Connection) -> KeyRing:
    """The keys of the engine behind `session_or_connection` (that of the WEIJIAN_* settings for an engine
    not made by `make_engine`)."""
    global _fallback_keyring
    conn = (session_or_connection.connection() if isinstance(session_or_connection, Session)
            else session_or_connection)
    found = conn.get_execution_options().get(KEYRING_OPTION)
    if found is not None:
        return cast(KeyRing, found)  # only make_engine sets the option
    if _fallback_keyring is None:
        _fallback_keyring = KeyRing(Settings())
    return _fallback_keyring


# prepare_sessions(factory): what every sessionmaker made here gets before its first session — the running
# tallies' flush listeners (core.tallies.keep_in_step), provided by the composition root (weijian.wiring).
# Every session that writes comes from here (the app, the CLI, the demo builder's commands, the tests), so
# none writes without its counts; a sessionmaker asked for before the root ran is refused (NotWired).
prepare_sessions: Hook[Callable[[sessionmaker[Session]], None]] = Hook("core.db.prepare_sessions")


def make_sessionmaker(bind: Engine | Connection, **options: Any) -> sessionmaker[Session]:
    """Sessions of write units (`options`: more sessionmaker arguments, e.g. the tests' savepoints)."""
    factory = sessionmaker(bind=bind, **{"expire_on_commit": False, "autoflush": True, **options})
    prepare_sessions(factory)
    return factory


READ_OPTION = "weijian_read"


def make_read_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions of read units: a deferred transaction on SQLite; on PostgreSQL a READ ONLY transaction at
    REPEATABLE READ, so a long export reads one snapshot and a stray write fails at once."""
    factory = sessionmaker(bind=read_engine(engine), expire_on_commit=False, autoflush=True)
    prepare_sessions(factory)
    return factory


def read_engine(engine: Engine) -> Engine:
    """`engine` whose transactions are read units (see make_read_sessionmaker)."""
    options: dict[str, Any] = {READ_OPTION: True}
    if engine.dialect.name == "postgresql":
        options.update(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    return engine.execution_options(**options)


def settings_sessionmaker() -> sessionmaker[Session]:
    """Sessions on the database of the WEIJIAN_* settings: the CLI commands' (their tests replace each
    command module's `_sessionmaker` with one bound to the test's transaction)."""
    return make_sessionmaker(make_engine(Settings()))


# --- the unit of work ------------------------------------------------------------------------------
READ_ONLY = "weijian.read_only"
DOOMED = "weijian.doomed"
AFTER = "weijian.write_after"


class ReadUnitWrote(RuntimeError):
    """A read unit (a GET) tried to write: a programming error, refused before it reaches the database."""


def is_read_only(session: Session) -> bool:
    return bool(session.info.get(READ_ONLY))


AfterWrite = Callable[[Session], object]  # what it returns is dropped


class _Rows:
    """Plain rows of one table queued by `write_after`, inserted with one executemany."""

    def __init__(self, table: Table) -> None:
        self.table: Table = table
        self.rows: list[dict[str, Any]] = []

    def __call__(self, session: Session) -> None:
        session.execute(insert(self.table), self.rows)


def write_after(session: Session, what: Table | AfterWrite, row: dict[str, Any] | None = None) -> None:
    """Queue a write for when this unit of work is over — committed or rolled back — done in a short write
    transaction of its own, before the answer is sent: `row` for `table`, or `what(session)` called with
    that transaction's session (the audit log appends through its chain this way). For what must be
    recorded even though the unit itself writes nothing: the audit rows of a read, those of a refused
    attempt. Queued writes run in the order queued."""
    queue = session.info.setdefault(AFTER, [])
    if not isinstance(what, Table):
        queue.append(what)
        return
    if not (queue and isinstance(queue[-1], _Rows) and queue[-1].table is what):
        queue.append(_Rows(what))
    queue[-1].rows.append(row)


def doom(session: Session) -> None:
    """Refuse this unit of work: undo what it wrote so far, and commit nothing at its end (a form that
    re-renders with field errors; the re-render reads in a fresh transaction). Rows queued with
    `write_after` are still written."""
    after = session.info.get(AFTER)
    session.rollback()
    session.info[DOOMED] = True
    if after is not None:
        session.info[AFTER] = after


@contextmanager
def unit_of_work(factory: sessionmaker[Session], *, read_only: bool = False,
                 after_factory: sessionmaker[Session] | None = None) -> Iterator[Session]:
    """One user action, one transaction: commit when the block ends (roll back a read or a doomed unit),
    roll back on any error; then write what was queued with `write_after` (`after_factory`: write
    sessions, when `factory` makes read ones). A failing commit raises: never a success."""
    session = factory()
    if read_only:
        session.info[READ_ONLY] = True
    failed = False
    try:
        yield session
        if read_only or session.info.get(DOOMED):
            session.rollback()
        else:
            session.commit()
    except BaseException:
        failed = True
        session.rollback()
        raise
    finally:
        after = session.info.pop(AFTER, None)
        session.close()
        if after:
            try:
                _write_rows(after_factory or factory, after)
            except Exception:
                if not failed:  # else the unit's own error is the one to report
                    raise


def _write_rows(factory: sessionmaker[Session], writes: list[AfterWrite]) -> None:
    with factory() as session:
        for write in writes:
            write(session)
        session.commit()


@event.listens_for(Session, "before_flush")
def _refuse_writes_of_read_units(session: Session, _context: UOWTransaction, _instances: object) -> None:
    if session.info.get(READ_ONLY) and (session.new or session.deleted
                                        or any(session.is_modified(o) for o in session.dirty)):
        raise ReadUnitWrote("a read unit of work (GET) tried to write: use a POST, or core.db.write_after")


def like_prefix(value: str) -> str:
    """A LIKE pattern for `value%` with the wildcards in `value` escaped (use escape='\\')."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
