"""Approved (locked) periods, as DHIS2's data approval: a period approved for an org unit freezes the records
counted in it; a later change to one of them is refused, or — when the unit of work carries a correction
reason — goes through and is recorded as a correction that the report shows beside the approved figure.

Who approves and what is snapshotted is the indicators domain's (`indicators.approval`); this module owns
the two tables and the guard. The guarded record classes and how to find a record's org units are
registered by the composition root (`weijian.wiring`): core does not know the domains' tables.

The guard runs at the start of every flush of a session the running tallies keep (`core.tallies` calls
`guard` first in its `before_flush`), so every ORM write of a domain service passes it. It costs nothing
when the flush touches no guarded row; otherwise one read of the active approvals per transaction (cached
in `session.info`), and the org-unit lookups only when a touched record's date falls in an approved period.
Not covered: statements sent outside the ORM's flush (the register import's inserts, the demo builder,
`tallies rebuild`, raw connections) — none of them rewrites an existing record's counted values.
"""
from __future__ import annotations

import json
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, func, inspect, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Mapped, Session, mapped_column

from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.db import Base, UTCDateTime
from weijian.core.errors import FieldError, InvalidInput
from weijian.core.identifiers import division_range

# Keys of session.info a unit of work sets to let changes to approved periods through as corrections.
REASON = "correction_reason"
ACTOR = "correction_actor"
# The form field that carries it, and the permission it needs (accounts/data/roles.yaml).
REASON_FIELD = "period_correction_reason"
CORRECT = "period:correct"
REASON_MAX = 500
_CACHE = "locks_active"
_PENDING = "locks_pending"
_ACTIVE = "unapproved_at IS NULL"


class PeriodApproval(Base):
    """One approval of an org unit's figures for a period (`2025`, `2025Q3`, `202509`); active while
    `unapproved_at` is empty. `snapshot`: the figures as approved (JSON, written by indicators.approval)."""

    __tablename__ = "period_approvals"
    __table_args__ = (
        # One active approval per org unit and period; the guard reads the active ones.
        Index("uq_period_approvals_active", "orgunit_code", "period", unique=True,
              sqlite_where=text(_ACTIVE), postgresql_where=text(_ACTIVE)),
        Index("ix_period_approvals_unapproved_end", "unapproved_at", "period_end"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    orgunit_code: Mapped[str] = mapped_column(String(12))
    period: Mapped[str] = mapped_column(String(8))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)  # inclusive
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    approved_by: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    snapshot: Mapped[str | None] = mapped_column(Text)
    unapproved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unapproved_by: Mapped[str | None] = mapped_column(String(64))
    unapprove_reason: Mapped[str | None] = mapped_column(Text)


class PeriodCorrection(Base):
    """A change to a record of an approved period, let through with a reason: which row, what changed
    (JSON: {"attribute": [before, after]}, or {"new": ...} / {"deleted": ...}), why, who, when."""

    __tablename__ = "period_corrections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    approval_id: Mapped[int] = mapped_column(ForeignKey("period_approvals.id"), index=True)
    table_name: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[int | None] = mapped_column(Integer)
    changes: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    corrected_by: Mapped[str] = mapped_column(String(64))
    corrected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


@dataclass(frozen=True)
class Guarded:
    """Rows of `cls` are counted on the date in `date_attr` (a date, or an aware datetime: its county day)
    in the org units `units(session, rows)` gives for each row (e.g. the patient's village and the
    facility's unit); `field` is the form field a refusal names. `ignored`: attributes whose change
    alters no figure (a stock link, a cached due date)."""

    cls: type
    date_attr: str
    units: Callable[[Session, Sequence[Any]], list[set[str]]]
    field: str | None = None
    ignored: frozenset[str] = frozenset()
    # A row still open before the change (a stay still admitted: `was_open(row)`, see `before`) is not
    # complete yet: completing it (its discharge) is no change to an approved figure.
    was_open: Callable[[Any], bool] | None = None


GUARDED: dict[type, Guarded] = {}


def register(*guarded: Guarded) -> None:
    """Guard these record classes (again under a class: replaced)."""
    for g in guarded:
        GUARDED[g.cls] = g


@dataclass(frozen=True)
class Active:
    id: int
    orgunit: str
    period: str
    start: date
    end: date
    lo: str
    hi: str


def forget(session: Session) -> None:
    """Drop the cached active approvals (after an approval or unapproval in this session)."""
    session.info.pop(_CACHE, None)


def active(session: Session) -> list[Active]:
    """The active approvals, read once per transaction of the session."""
    transaction = session.get_transaction()
    cached = session.info.get(_CACHE)
    if cached is not None and cached[0] is transaction:
        return list(cached[1])
    A = PeriodApproval.__table__
    conn = session.connection()
    if not _has_table(conn):  # a database not migrated this far (a migration's own writes): nothing approved
        return []
    rows = conn.execute(
        select(A.c.id, A.c.orgunit_code, A.c.period, A.c.period_start, A.c.period_end)
        .where(A.c.unapproved_at.is_(None))).all()
    found = [Active(i, code, period, start, end, *division_range(code)) for i, code, period, start, end in rows]
    session.info[_CACHE] = (transaction, found)
    return found


_HAS_TABLE: weakref.WeakKeyDictionary[Engine, bool] = weakref.WeakKeyDictionary()


def _has_table(conn: Connection) -> bool:
    """Whether this database has the approvals (cached per engine once true)."""
    if _HAS_TABLE.get(conn.engine):
        return True
    has = inspect(conn).has_table(PeriodApproval.__tablename__)
    if has:
        _HAS_TABLE[conn.engine] = True
    return has


def _day(value: Any) -> date | None:
    if isinstance(value, datetime):
        return clock.local_date(value) if value.tzinfo is not None else value.date()
    return value if isinstance(value, date) else None


def _plain(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if value is None or isinstance(value, (int, float, str, bool)):
        return value
    return str(value)


def _changes(obj: Any, g: Guarded, kind: str) -> dict[str, Any] | None:
    """What a flush changes of a guarded row (None: nothing a figure reads)."""
    state = inspect(obj)
    columns = [a.key for a in state.mapper.column_attrs if a.key not in g.ignored]
    if kind == "new":
        return {"new": {k: _plain(getattr(obj, k, None)) for k in columns if getattr(obj, k, None) is not None}}
    if kind == "deleted":
        return {"deleted": {k: _plain(getattr(obj, k, None)) for k in columns if getattr(obj, k, None) is not None}}
    out = {}
    for k in columns:
        hist = state.attrs[k].history
        if hist.has_changes():
            before = hist.deleted[0] if hist.deleted else None
            after = hist.added[0] if hist.added else None
            if before != after:
                out[k] = [_plain(before), _plain(after)]
    return out or None


def before(obj: Any, attr: str) -> Any:
    """The value of a row's attribute before this flush's change of it."""
    hist = inspect(obj).attrs[attr].history
    return hist.deleted[0] if hist.deleted else (hist.unchanged[0] if hist.unchanged else None)


def _days(obj: Any, g: Guarded) -> set[date]:
    """The counting day now and, for a changed row, before the change (moving a record out of an approved
    period changes that period too)."""
    hist = inspect(obj).attrs[g.date_attr].history
    values = [getattr(obj, g.date_attr, None), *(hist.deleted or ())]
    return {d for v in values if (d := _day(v)) is not None}


def guard(session: Session) -> None:
    """Refuse a flush that changes a record counted in an approved period of its org unit (or of a unit
    above it), unless session.info carries a correction reason: then the change goes through and a
    PeriodCorrection row is written for each approval it touches (after the flush, when new rows have ids)."""
    session.info.pop(_PENDING, None)
    if not GUARDED or not (session.new or session.dirty or session.deleted):
        return
    touched: list[tuple[Any, Guarded, dict[str, Any]]] = []
    for kind, objs in (("new", session.new), ("dirty", session.dirty), ("deleted", session.deleted)):
        for obj in objs:
            g = GUARDED.get(type(obj))
            if g is None:
                continue
            if kind == "dirty" and g.was_open is not None and g.was_open(obj):
                continue
            what = _changes(obj, g, kind)
            if what is not None:
                touched.append((obj, g, what))
    if not touched:
        return
    approvals = active(session)
    if not approvals:
        return
    dated = [(obj, g, what, days) for obj, g, what in touched
             if (days := _days(obj, g)) and any(a.start <= d <= a.end for a in approvals for d in days)]
    if not dated:
        return
    hits: list[tuple[Any, Guarded, dict[str, Any], Active]] = []
    by_class: dict[type, list[tuple[Any, Guarded, dict[str, Any], set[date]]]] = {}
    for item in dated:
        by_class.setdefault(item[1].cls, []).append(item)
    for cls, items in by_class.items():
        units = GUARDED[cls].units(session, [obj for obj, *_ in items])
        for (obj, g, what, days), codes in zip(items, units, strict=True):
            for a in approvals:
                if any(a.start <= d <= a.end for d in days) and any(a.lo <= c <= a.hi for c in codes):
                    hits.append((obj, g, what, a))
    if not hits:
        return
    reason = (session.info.get(REASON) or "").strip()
    if not reason:
        obj, g, _what, a = hits[0]
        raise InvalidInput(errors=[
            FieldError(g.field or g.date_attr, "core.errors.period_approved",
                       {"period": a.period, "orgunit": a.orgunit}),
            FieldError(REASON_FIELD, "core.errors.period_correction_reason")])
    session.info[_PENDING] = hits


def allow(session: Session, actor: Actor, reason: str | None) -> None:
    """Let this unit of work change records of approved periods, each change recorded as a correction with
    this reason, by a user with period:correct (a blank reason lets nothing through). Called by the request
    that carries the form's REASON_FIELD, before the service writes."""
    reason = (reason or "").strip()
    if not reason:
        return
    if len(reason) > REASON_MAX:
        raise InvalidInput(REASON_FIELD, "core.errors.validation.string_too_long", max_length=REASON_MAX)
    actor.require(CORRECT)
    session.info[REASON] = reason
    session.info[ACTOR] = actor.username


def locked_by(session: Session, row: Any) -> Active | None:
    """The approval in force that locks this record as it is now (None: it may be changed freely): the
    correction forms show the reason field when there is one."""
    g = GUARDED.get(type(row))
    if g is None:
        return None
    day = _day(getattr(row, g.date_attr, None))
    approvals = [a for a in active(session) if day is not None and a.start <= day <= a.end]
    if not approvals:
        return None
    [codes] = g.units(session, [row])
    return next((a for a in approvals if any(a.lo <= c <= a.hi for c in codes)), None)


def record_corrections(session: Session) -> None:
    """After the flush the guard let through: one PeriodCorrection per (record, approval) it touched."""
    hits = session.info.pop(_PENDING, None)
    if not hits:
        return
    reason = str(session.info.get(REASON) or "").strip()
    who = str(session.info.get(ACTOR) or "system")
    rows = [{"approval_id": a.id, "table_name": g.cls.__table__.name,
             "record_id": getattr(obj, "id", None), "changes": json.dumps(what, ensure_ascii=False, sort_keys=True),
             "reason": reason, "corrected_by": who, "corrected_at": clock.now()}
            for obj, g, what, a in hits]
    session.connection().execute(PeriodCorrection.__table__.insert(), rows)


def corrections_count(session: Session, approval_ids: Sequence[int]) -> dict[int, int]:
    """approval id → the corrections recorded against it."""
    if not approval_ids:
        return {}
    C = PeriodCorrection.__table__
    rows = session.execute(select(C.c.approval_id, func.count()).where(C.c.approval_id.in_(list(approval_ids)))
                           .group_by(C.c.approval_id)).all()
    return {int(i): int(n) for i, n in rows}
