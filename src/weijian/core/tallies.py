"""Running tallies: counts per (series, org unit, month) kept in the SAME transaction as the writes they
count, so a figure over a county's million records reads a few thousand rows instead of the records.

Why not a nightly rebuild (DHIS2's analytics tables): a village doctor who records a visit expects the
township's figure to move now, and a rebuild that fails at night leaves the bureau's report a day old
without anyone noticing. Why not triggers: the rules (which facility types are primary care, how a
child's coverage follows from the schedule edition) live in Python and in data files, not in SQL.

How it works:
- A *source* (declared by the domain that gathers the figures, `indicators.tallies`, and registered here
  by the composition root, `weijian.wiring`) says which rows
  it counts (ORM classes with the person they belong to) and how to count them: `count(conn, people)`
  returns {(series, unit, yyyymm): n} for those people, or for everyone when `people` is None. A stock
  (population, children covered by a dose) is tallied as +1/-1 in the months a person enters and leaves
  it, so its value at a month's end is the sum of its deltas up to that month.
- Each delta is stored at three grains — month (key yyyymm), year (yyyy), decade (yyy) — so a stock's
  opening balance is a sum over a few dozen rows per unit rather than over every month since 1900.
- A flush that writes watched rows (in a session of a sessionmaker the root passed to `keep_in_step`:
  it does for every sessionmaker `core.db` makes): `before_flush` counts the people concerned as the database has them
  (before), `after_flush` counts them again (after) and adds the difference, in the same transaction —
  edits, deletions, a move to another village and a rolled-back request are all covered. On PostgreSQL
  the people's rows are locked first (FOR UPDATE) so two transactions changing one person's records
  cannot both count from the same "before".
- Bulk writes outside the ORM (the demo builder, the register import) call `apply_for(session, people)`
  or `rebuild`; `check` compares the tallies with a fresh count and names every difference. A bulk
  UPDATE or DELETE sent through a Session on a watched table (`session.execute(update(Resident)…)`),
  which no flush sees, is refused unless inside `suspended(session)` (whose caller rebuilds or applies
  afterwards), as the audit log refuses them; a statement sent on a raw Connection is not seen: the
  bulk loaders insert, and `weijian indicators tallies check` (daily, README) finds what slips through.
- The fingerprint covers the counting code as well as the rules' data: a source lists the functions it
  counts with (`code_digest`), so a changed counting function leaves its tallies stale too.
- A source is used for reading only while its state row holds the fingerprint of the rules it was built
  with (`fresh`); a changed rule (a new population band in the indicator file, a new schedule edition)
  leaves it stale, the figures fall back to counting the records, and `weijian db upgrade` (or
  `weijian indicators tallies rebuild`) builds it again.
"""
from __future__ import annotations

import hashlib
import inspect as pyinspect
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Executable,
    Integer,
    String,
    Text,
    and_,
    delete,
    event,
    func,
    inspect,
    select,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import InstanceState, Mapped, ORMExecuteState, Session, UOWTransaction, mapped_column, sessionmaker

from weijian.core import clock, locks
from weijian.core.db import Base, UTCDateTime
from weijian.core.errors import InvalidState
from weijian.core.hooks import NotWired

Key = tuple[str, str, int]  # (series, unit code, yyyymm)
CHUNK = 500  # people per IN (...) list


class Tally(Base):
    __tablename__ = "tallies"

    series: Mapped[str] = mapped_column(String(48), primary_key=True)
    grain: Mapped[str] = mapped_column(String(1), primary_key=True)  # m | y | d
    key: Mapped[int] = mapped_column(Integer, primary_key=True)  # yyyymm | yyyy | yyy
    unit: Mapped[str] = mapped_column(String(12), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


class TallyState(Base):
    __tablename__ = "tally_states"

    source: Mapped[str] = mapped_column(String(16), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    built_at = mapped_column(UTCDateTime, nullable=False)


class TallyCheck(Base):
    """Each comparison of the tallies with a fresh count (`weijian indicators tallies check`, daily: README),
    and each rebuild (which leaves them equal): the dashboard warns when the last one found differences or
    when none ran for CHECK_MAX_DAYS."""

    __tablename__ = "tally_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    checked_at = mapped_column(UTCDateTime, nullable=False)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)  # check | rebuild
    differences: Mapped[int] = mapped_column(Integer, nullable=False)
    stale: Mapped[str | None] = mapped_column(String(200))  # sources not built under the rules in force
    detail: Mapped[str | None] = mapped_column(Text)  # the first differences named


CHECK_MAX_DAYS = 2  # a daily job that has not run for two days is a job that stopped
DETAIL_LINES = 20


@dataclass(frozen=True)
class Watch:
    """Rows of `cls` belong to the person in `person_attr`; with `attrs`, only a change of one of those
    attributes changes what they count (e.g. a resident's phone number changes no figure)."""

    cls: type
    person_attr: str
    attrs: frozenset[str] | None = None
    # Whether a new row counts by itself (a new resident is in the population; a resident's visits are
    # counted through the visits' own rows, so a new resident adds none).
    new_counts: bool = True


@dataclass(frozen=True)
class Source:
    name: str  # also the prefix of its series: "<name>:..."
    watches: tuple[Watch, ...]
    count: Callable[[Connection, Sequence[int] | None], Counter[Key]]
    fingerprint: Callable[[], str]
    # (class, attributes): a change to such a row recounts everyone (a facility becoming primary care).
    recount_on: tuple[tuple[type, frozenset[str]], ...] = ()


SOURCES: dict[str, Source] = {}
_lock_people: Callable[[Connection, list[int]], None] | None = None


def sources() -> dict[str, Source]:
    """The sources registered; none is a process not wired, refused so that nothing is read or written
    without its counts."""
    if not SOURCES:
        raise NotWired("core.tallies: no source registered: weijian.wiring.wire() was not called")
    return SOURCES


def register(*new: Source, lock_people: Callable[[Connection, list[int]], None] | None = None) -> None:
    """Register sources (again under a name: replaced); `lock_people(conn, ids)` locks the people's rows
    before a flush counts them (PostgreSQL)."""
    global _lock_people
    for source in new:
        SOURCES[source.name] = source
    if lock_people is not None:
        _lock_people = lock_people


def keep_in_step(factory: sessionmaker[Session]) -> None:
    """Count every flush of `factory`'s sessions in the tallies (listeners on that sessionmaker only, not on
    every Session of the process); adding them again changes nothing."""
    # Marked on the sessionmaker's own Session subclass, not asked of event.contains: SQLAlchemy's event
    # registry keys a target by id(), and a new sessionmaker's class often gets the id of a collected one
    # (the tests make thousands), for which contains() then answers yes.
    if vars(factory.class_).get(_KEPT):
        return
    event.listen(factory, "before_flush", _before_flush)
    event.listen(factory, "after_flush", _after_flush)
    setattr(factory.class_, _KEPT, True)


_KEPT = "_weijian_tallies_kept"


def digest(*parts: object) -> str:
    """A fingerprint of the rules a source counts by; the same in every process (sets are sorted: their
    order changes with Python's string hashing)."""
    def canonical(x: Any) -> Any:
        if isinstance(x, (set, frozenset)):
            return sorted(canonical(v) for v in x)
        if isinstance(x, (list, tuple)):
            return [canonical(v) for v in x]
        if isinstance(x, dict):
            return sorted((repr(k), canonical(v)) for k, v in x.items())
        return x
    return hashlib.sha256(repr(canonical(parts)).encode()).hexdigest()[:32]


def code_digest(*objs: Any) -> str:
    """A fingerprint of counting code: the source text of these modules, functions or classes (a changed
    line, even a comment, makes the tallies counted by the old code stale; a rebuild costs a few seconds
    and a figure counted by other rules than it is read with costs a bureau's report)."""
    return digest(*(pyinspect.getsource(o) for o in objs))


# --- no bulk writes that no flush sees ----------------------------------------------------------------
def watched_tables() -> dict[str, frozenset[str] | None]:
    """The tables whose rows a registered source counts → the columns whose change changes a count (None:
    any column's)."""
    out: dict[str, frozenset[str] | None] = {}
    for s in SOURCES.values():
        for w in s.watches:
            name = w.cls.__table__.name  # type: ignore[attr-defined]
            if name in out and out[name] is None:
                continue
            out[name] = None if w.attrs is None else (out.get(name) or frozenset()) | w.attrs
    return out


def _updated_columns(statement: Any) -> set[str] | None:
    """The columns an UPDATE sets, None when the statement does not say (then it is taken as any)."""
    values = dict(getattr(statement, "_values", None) or {}) or dict(getattr(statement, "_ordered_values", None) or ())
    if not values:
        return None
    return {str(getattr(k, "key", k)) for k in values}


@event.listens_for(Session, "do_orm_execute")
def _no_untallied_bulk_writes(state: ORMExecuteState) -> None:
    """Refuse a bulk UPDATE or DELETE of a watched table outside `suspended` (the tallies would drift
    silently: a flush never sees such a statement). An UPDATE of columns no count reads (a resident's
    search keys) goes through."""
    if not (state.is_update or state.is_delete) or state.session.info.get("tallies_suspended") or not SOURCES:
        return
    name = getattr(getattr(state.statement, "table", None), "name", None)
    watched = watched_tables()
    if name not in watched:
        return
    counted = watched[name]
    if state.is_update and counted is not None:
        columns = _updated_columns(state.statement)
        if columns is not None and not columns & counted:
            return
    raise InvalidState("core.errors.tallies_bulk_write", table=name)


# --- grains -----------------------------------------------------------------------------------------
def _grains(deltas: dict[Key, int]) -> dict[tuple[str, str, int, str], int]:
    """(series, unit, yyyymm) → n as rows at the three grains: (series, grain, key, unit) → n."""
    out: dict[tuple[str, str, int, str], int] = {}
    get = out.get
    for (series, unit, ym), n in deltas.items():  # unrolled: a roster's import has ~300,000 deltas
        if not n:
            continue
        k = (series, "m", ym, unit)
        out[k] = get(k, 0) + n
        k = (series, "y", ym // 100, unit)
        out[k] = get(k, 0) + n
        k = (series, "d", ym // 1000, unit)
        out[k] = get(k, 0) + n
    return {k: n for k, n in out.items() if n}


def _add(conn: Connection, deltas: dict[Key, int]) -> None:
    """Add the deltas to the tallies (insert or increment: concurrent adders do not lose counts)."""
    rows = sorted((s, g, k, u, n) for (s, g, k, u), n in _grains(deltas).items())  # one lock order (PostgreSQL)
    if not rows:
        return
    # The rows are plain text and integers, sent as the driver takes them: SQLAlchemy's per-row parameter
    # processing cost more than the upsert itself (a county roster's import adds ~800,000 rows).
    if conn.dialect.name == "postgresql":
        # One statement per chunk over arrays (unnest): an executemany sends a statement per row, ~0.3 ms
        # each. Each (series, grain, key, unit) occurs once (_grains), as ON CONFLICT DO UPDATE requires.
        for i in range(0, len(rows), UPSERT_CHUNK):
            conn.exec_driver_sql(_UPSERT_ARRAYS, tuple(list(c) for c in zip(*rows[i:i + UPSERT_CHUNK], strict=True)))
    else:
        conn.exec_driver_sql(_UPSERT_ROWS, rows)


UPSERT_CHUNK = 50_000  # rows per array upsert on PostgreSQL
_ON_CONFLICT = 'ON CONFLICT (series, grain, "key", unit) DO UPDATE SET value = tallies.value + excluded.value'
_UPSERT_ROWS = f'INSERT INTO tallies (series, grain, "key", unit, value) VALUES (?, ?, ?, ?, ?) {_ON_CONFLICT}'
_UPSERT_ARRAYS = ('INSERT INTO tallies (series, grain, "key", unit, value) SELECT * FROM '
                  "unnest(%s::varchar[], %s::varchar[], %s::integer[], %s::varchar[], %s::bigint[]) "
                  + _ON_CONFLICT)


def _series_range(name: str) -> ColumnElement[bool]:
    col = Tally.__table__.c.series
    return and_(col >= f"{name}:", col < f"{name};")


# --- building, checking, state ----------------------------------------------------------------------
def rebuild(session: Session, names: Iterable[str] | None = None) -> dict[str, int]:
    """Count everyone again for these sources (all by default), replace their tallies and record their
    fingerprints; returns rows written per source. Flushes first; runs in the session's transaction."""
    session.flush()
    conn = session.connection()
    written = {}
    for name in (list(names) if names is not None else list(sources())):
        source = sources()[name]
        conn.execute(delete(Tally.__table__).where(_series_range(name)))
        rows = [{"series": s, "grain": g, "key": k, "unit": u, "value": n}
                for (s, g, k, u), n in _grains(source.count(conn, None)).items()]
        if rows:  # the source's rows are gone: plain inserts
            conn.execute(Tally.__table__.insert(), rows)
        written[name] = len(rows)
        state = TallyState.__table__
        conn.execute(delete(state).where(state.c.source == name))
        conn.execute(state.insert().values(source=name, fingerprint=source.fingerprint(), built_at=clock.now()))
    if names is None:  # every source counted again: the tallies equal the records now
        record_check(session, problems=[], kind="rebuild")
    return written


def ensure(session: Session) -> list[str]:
    """Rebuild the sources never built or built under other rules; returns their names."""
    states = _states(session.connection())
    stale = [n for n, s in sources().items() if states.get(n) != s.fingerprint()]
    if stale:
        rebuild(session, stale)
    return stale


def fresh(session: Session) -> set[str]:
    """The sources whose tallies may be read: built, and under the rules in force."""
    states = _states(session.connection())
    return {n for n, s in sources().items() if states.get(n) == s.fingerprint()}


def check(session: Session, names: Iterable[str] | None = None) -> list[str]:
    """Every difference between the tallies and a fresh count of the records (empty: they agree)."""
    session.flush()
    conn = session.connection()
    problems = []
    for name in (list(names) if names is not None else list(sources())):
        want = _grains(sources()[name].count(conn, None))
        T = Tally.__table__
        have = {(s, g, k, u): int(n) for s, g, k, u, n in conn.execute(
            select(T.c.series, T.c.grain, T.c.key, T.c.unit, T.c.value).where(_series_range(name), T.c.value != 0))}
        for k in sorted(set(want) | set(have)):
            if want.get(k, 0) != have.get(k, 0):
                problems.append(f"{name}: {k[0]} {k[1]}{k[2]} {k[3]}: "
                                f"tallied {have.get(k, 0)}, counted {want.get(k, 0)}")
    return problems


def first_year(session: Session, names: Iterable[str]) -> int | None:
    """The first year any of these sources counted something in (from their year rows), None when none of
    them is built under the rules in force or has counted anything: before it the records say nothing."""
    T = Tally.__table__
    built = fresh(session)
    years = [session.scalar(select(func.min(T.c.key)).where(_series_range(n), T.c.grain == "y", T.c.value != 0))
             for n in names if n in built]
    found = [int(y) for y in years if y is not None]
    return min(found) if found else None


def record_check(session: Session, *, problems: Sequence[str], stale: Sequence[str] = (),
                 kind: str = "check") -> TallyCheck:
    """Store the outcome of a check (or a rebuild) for the dashboard; flushed, committed by the caller."""
    row = TallyCheck(checked_at=clock.now(), kind=kind, differences=len(problems),
                     stale=",".join(stale) or None, detail="\n".join(problems[:DETAIL_LINES]) or None)
    session.add(row)
    session.flush()
    return row


def last_check(session: Session) -> TallyCheck | None:
    """The latest check or rebuild, None when none ran (or the database predates them)."""
    if not _has_tables(session.connection()):
        return None
    return session.scalar(select(TallyCheck).order_by(TallyCheck.checked_at.desc(), TallyCheck.id.desc()).limit(1))


def health(session: Session) -> dict[str, Any] | None:
    """What the dashboard says of the tallies: None when the last check (within CHECK_MAX_DAYS) agreed, else
    {"state": "drift" | "stale" | "unchecked" | "old", ...}."""
    last = last_check(session)
    if last is None:
        return {"state": "unchecked"}
    if last.differences:
        return {"state": "drift", "differences": last.differences, "at": last.checked_at}
    if last.stale:
        return {"state": "stale", "sources": last.stale, "at": last.checked_at}
    days = (clock.now() - last.checked_at).days
    if days >= CHECK_MAX_DAYS:
        return {"state": "old", "days": days, "at": last.checked_at}
    return None


def _states(conn: Connection) -> dict[str, str]:
    if not _has_tables(conn):
        return {}
    return dict(conn.execute(_STATES).tuples().all())


_STATES = select(TallyState.__table__.c.source, TallyState.__table__.c.fingerprint)
_HAS_TABLES: weakref.WeakKeyDictionary[Engine, bool] = weakref.WeakKeyDictionary()


def _has_tables(conn: Connection) -> bool:
    """Whether this database has the tallies (it does once migrated; cached per engine once true)."""
    engine = conn.engine
    if _HAS_TABLES.get(engine):
        return True
    has = inspect(conn).has_table(TallyState.__tablename__)
    if has:
        _HAS_TABLES[engine] = True
    return has


# --- reading ----------------------------------------------------------------------------------------
def months(session: Session, series: Sequence[str] | None, lo: str, hi: str, first: int, last: int, *,
           prefix: str | None = None) -> dict[tuple[str, str, int], int]:
    """(series, unit, yyyymm) → the month's delta, for months first..last (yyyymm) and units lo..hi, of
    the series named or of every series of the source `prefix`."""
    T = Tally.__table__
    which = _series_range(prefix) if prefix is not None else T.c.series.in_(list(series or ()))
    stmt = (select(T.c.series, T.c.unit, T.c.key, T.c.value)
            .where(which, T.c.grain == "m", T.c.key >= first, T.c.key <= last,
                   T.c.unit >= lo, T.c.unit <= hi, T.c.value != 0))
    return {(s, u, k): n for s, u, k, n in _raw_rows(session, stmt)}


def _raw_rows(session: Session, stmt: Executable) -> list[tuple[Any, ...]]:
    """The driver's own tuples: the columns here are text and integers (no result processing), and a
    county's year of months is tens of thousands of rows, where result-row objects cost half the time."""
    result = session.connection().execute(stmt)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


def opening(session: Session, series: Sequence[str], lo: str, hi: str, year: int) -> dict[tuple[str, str], int]:
    """(series, unit) → the sum of every delta before January of `year`: the stock at the end of the year
    before (decade rows before the year's decade, then the year rows of its decade before it)."""
    T = Tally.__table__
    decade = year // 10
    out: dict[tuple[str, str], int] = {}
    # Two range reads of the primary key (series, grain, key, unit); an OR of the two would scan the series.
    for grain, first, last in (("d", 0, decade - 1), ("y", decade * 10, year - 1)):
        stmt = (select(T.c.series, T.c.unit, func.sum(T.c.value))
                .where(T.c.series.in_(list(series)), T.c.grain == grain, T.c.key >= first, T.c.key <= last,
                       T.c.unit >= lo, T.c.unit <= hi)
                .group_by(T.c.series, T.c.unit))
        for s, u, n in _raw_rows(session, stmt):
            if n:
                out[(s, u)] = out.get((s, u), 0) + int(n)
    return {k: n for k, n in out.items() if n}


# --- keeping them in step with ORM writes -----------------------------------------------------------
@contextmanager
def suspended(session: Session) -> Iterator[None]:
    """Writes inside are not tallied (bulk loaders that rebuild afterwards)."""
    before = session.info.get("tallies_suspended", False)
    session.info["tallies_suspended"] = True
    try:
        yield
    finally:
        session.info["tallies_suspended"] = before


@contextmanager
def bulk_write(session: Session, people: Iterable[int], names: Iterable[str] | None = None) -> Iterator[None]:
    """Bulk UPDATE or DELETE statements of these people's rows, tallied: their counts (of the sources
    `names`, all by default) are taken before, the statements inside run with the flush listeners and the
    bulk guard off, and the difference is added after (the tally-aware path for what no flush sees)."""
    ids = sorted(set(people))
    chosen = list(names) if names is not None else None
    before = count_people(session, ids, chosen)
    with suspended(session):
        yield
    apply_for(session, ids, before, chosen)


def apply_for(session: Session, people: Iterable[int], before: dict[str, Counter[Key]] | None = None,
              names: Iterable[str] | None = None) -> None:
    """Bring the tallies of these people up to date after a write outside the ORM: `before` is what
    `count_people` gave before the write (None: they had nothing counted, e.g. new residents); `names`:
    only these sources (the ones the write concerns)."""
    conn = session.connection()
    ids = sorted(set(people))
    for name in _built(conn, names):
        after = _count(conn, name, ids)
        _add(conn, _diff(after, (before or {}).get(name, Counter())))


def counting_new(*classes: type) -> list[str]:
    """The sources in which a new row of one of these classes counts by itself (`Watch.new_counts`): the
    ones to apply after a bulk insert of new rows of them (a new resident adds no visits to `enc`)."""
    return [name for name, source in sources().items()
            if any(w.new_counts and issubclass(c, w.cls) for w in source.watches for c in classes)]


def count_people(session: Session, people: Iterable[int], names: Iterable[str] | None = None
                 ) -> dict[str, Counter[Key]]:
    conn = session.connection()
    ids = sorted(set(people))
    return {name: _count(conn, name, ids) for name in _built(conn, names)}


def _built(conn: Connection, names: Iterable[str] | None) -> list[str]:
    wanted = set(sources()) if names is None else set(names)
    return sorted(set(_states(conn)) & wanted)


def _count(conn: Connection, name: str, ids: list[int]) -> Counter[Key]:
    total: Counter[Key] = Counter()
    for i in range(0, len(ids), CHUNK):
        total.update(sources()[name].count(conn, ids[i:i + CHUNK]))
    return total


def _diff(after: Counter[Key], before: Counter[Key]) -> dict[Key, int]:
    out = {k: n - before.get(k, 0) for k, n in after.items()}
    for k, n in before.items():
        if k not in after:
            out[k] = -n
    return {k: n for k, n in out.items() if n}


def _state(obj: object) -> InstanceState[Any]:
    return cast("InstanceState[Any]", inspect(obj))  # a mapped object: never None


def _person_of(obj: object, attr: str) -> int | None:
    value = getattr(obj, attr, None)
    if value is None and attr.endswith("_id"):  # set through the relationship, synced at flush
        related = getattr(obj, attr[:-3], None)
        value = getattr(related, "id", None)
    return value


def _touched(session: Session) -> tuple[dict[str, set[int]], dict[str, list[tuple[object, str]]], set[str]]:
    """Per source: people whose counted rows change in this flush (known ids), new rows whose person is
    known only after the flush, and sources to recount whole."""
    people: dict[str, set[int]] = {}
    later: dict[str, list[tuple[object, str]]] = {}
    recount: set[str] = set()
    for name, source in sources().items():
        for obj in session.new:
            for w in source.watches:
                if w.new_counts and isinstance(obj, w.cls):
                    pid = _person_of(obj, w.person_attr)
                    if pid is not None:
                        people.setdefault(name, set()).add(pid)
                    later.setdefault(name, []).append((obj, w.person_attr))
        for obj in list(session.dirty) + list(session.deleted):
            for w in source.watches:
                if not isinstance(obj, w.cls):
                    continue
                state = _state(obj)
                if obj not in session.deleted and w.attrs is not None and not any(
                        state.attrs[a].history.has_changes() for a in w.attrs):
                    continue
                hist = state.attrs[w.person_attr].history if w.person_attr in state.attrs else None
                ids = {v for v in (hist.deleted or ()) if v is not None} if hist is not None else set()
                pid = _person_of(obj, w.person_attr)
                if pid is not None:
                    ids.add(pid)
                people.setdefault(name, set()).update(ids)
            for cls, attrs in source.recount_on:
                if isinstance(obj, cls) and (obj in session.deleted or any(
                        _state(obj).attrs[a].history.has_changes() for a in attrs)):
                    recount.add(name)
    return people, later, recount


def _before_flush(session: Session, flush_context: UOWTransaction, instances: object) -> None:
    locks.guard(session)  # a record of an approved period: refused, or let through as a correction
    session.info.pop("tallies_pending", None)
    if session.info.get("tallies_suspended") or not sources():
        return
    if not (session.new or session.dirty or session.deleted):
        return
    people, later, recount = _touched(session)
    if not (people or later or recount):
        return
    conn = session.connection()
    built = set(_states(conn))
    people = {n: ids for n, ids in people.items() if n in built}
    later = {n: objs for n, objs in later.items() if n in built}
    recount &= built
    if not (people or later or recount):
        return
    every = sorted(set().union(*people.values())) if people else []
    if every and _lock_people is not None and conn.dialect.name == "postgresql":
        _lock_people(conn, every)
    before = {n: _count(conn, n, sorted(ids)) for n, ids in people.items() if n not in recount}
    session.info["tallies_pending"] = (people, later, recount, before)


def _after_flush(session: Session, flush_context: UOWTransaction) -> None:
    locks.record_corrections(session)
    pending = session.info.pop("tallies_pending", None)
    if pending is None:
        return
    people, later, recount, before = pending
    conn = session.connection()
    for name in set(people) | set(later):
        if name in recount:
            continue
        ids = set(people.get(name, ()))
        ids |= {pid for obj, attr in later.get(name, ()) if (pid := getattr(obj, attr, None)) is not None}
        if ids:
            _add(conn, _diff(_count(conn, name, sorted(ids)), before.get(name, Counter())))
    for name in recount:
        conn.execute(delete(Tally.__table__).where(_series_range(name)))
        _add(conn, sources()[name].count(conn, None))
