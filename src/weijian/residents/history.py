"""Residence history: where, and in what status, each resident lived from which date (resident_residences),
kept in step with the residents' rows, and the conditions the counts use to ask "where did this person
live on that day" (issue 15 item 13).

Kept in step by mapper events on Resident, in the flush that writes the resident (so the running tallies,
which count in after_flush, see the new history): a new record gets one open row "since always" in its
village and status; a change of village or status closes the open row on the change's effective date and
opens a new one. The effective date is what the writer set with `effective_on(...)` (residents.service.
update: the date of the move or death the clerk enters), else the county's today. A change effective on
the open row's own first day (or earlier: a writer that skipped the service's check) corrects that row in
place. Rows written in bulk outside the ORM (the importer, the demo) are opened by `open_missing`.
"""
from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, bindparam, case, event, insert, literal, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapper, Session, object_session

from weijian.core import clock
from weijian.residents.models import OPEN_END, RESIDENCE_STATUSES, SINCE_ALWAYS, Resident, ResidentResidence

__all__ = ["OPEN_END", "SINCE_ALWAYS", "Stay", "active_runs", "effective_on", "lived_on", "open_missing",
           "open_since", "stays_of", "village_on"]

_INFO = "residence_effective_on"
_T = ResidentResidence.__table__

Stay = tuple[date, date, str, str]  # valid_from, valid_to (exclusive), village, status


def _history_status(status: str | None) -> str:
    return status if status in RESIDENCE_STATUSES else "active"


def lived_on(rr: Any, person: SQLColumnExpression[int], day: SQLColumnExpression[date] | date
             ) -> ColumnElement[bool]:
    """Join condition: the residence row `rr` (ResidentResidence or an alias) of `person` covering `day`."""
    return and_(rr.resident_id == person, rr.valid_from <= day, rr.valid_to > day)


def effective_on(session: Session, resident_id: int, day: date) -> None:
    """The date the next flush's change of this resident's village or status took effect."""
    session.info.setdefault(_INFO, {})[resident_id] = day


def open_since(session: Session, resident_id: int) -> date | None:
    """The first day of the resident's open row (SINCE_ALWAYS when it never changed), None without one."""
    return session.scalar(select(ResidentResidence.valid_from).where(
        ResidentResidence.resident_id == resident_id, ResidentResidence.valid_to == OPEN_END))


_OPEN_MISSING = (insert(_T).from_select(
    ["resident_id", "valid_from", "valid_to", "village_code", "status", "recorded_at"],
    select(Resident.id, literal(SINCE_ALWAYS), literal(OPEN_END), Resident.village_code,
           case((Resident.status.in_(RESIDENCE_STATUSES), Resident.status), else_=literal("active")),
           bindparam("now"))
    .where(~select(_T.c.id).where(_T.c.resident_id == Resident.id).exists(),
           Resident.id.in_(bindparam("ids", expanding=True)))))


def open_missing(conn: Connection | Session, ids: Iterable[int]) -> None:
    """One open row "since always" for each of these residents that has none (bulk inserts outside the
    ORM: the importer, the demo). Merged duplicates get an active row (their status is read from them)."""
    chosen = sorted(set(ids))
    for i in range(0, len(chosen), 500):
        conn.execute(_OPEN_MISSING, {"ids": chosen[i:i + 500], "now": clock.now()})


def stays_of(conn: Connection, ids: Sequence[int] | None) -> dict[int, list[Stay]]:
    """resident id → their residence rows in date order (everyone's when `ids` is None)."""
    stmt = select(_T.c.resident_id, _T.c.valid_from, _T.c.valid_to, _T.c.village_code, _T.c.status)
    out: dict[int, list[Stay]] = {}
    if ids is None:
        rows: Iterable[Any] = conn.execute(stmt)
    else:
        rows = conn.execute(stmt.where(_T.c.resident_id.in_(bindparam("ids", expanding=True))), {"ids": list(ids)})
    for rid, start, end, village, status in rows:
        out.setdefault(rid, []).append((start, end, village, status))
    for stays in out.values():
        stays.sort()
    return out


def village_on(stays: Sequence[Stay], day: date) -> tuple[str, str] | None:
    """(village, status) of the row covering `day`, None when none does."""
    for start, end, village, status in stays:
        if start <= day < end:
            return village, status
    return None


def active_runs(stays: Sequence[Stay], days: Sequence[date], lo: str = "", hi: str = "\uffff"
                ) -> list[tuple[str, int, int]]:
    """Along sorted `days` (period ends): (village, i, j) for each row in which the person lived, active, in
    a village of [lo, hi] — days[i:j] are the days it covers (none empty)."""
    out: list[tuple[str, int, int]] = []
    for start, end, village, status in stays:
        if status != "active" or not lo <= village <= hi:
            continue
        i, j = bisect_left(days, start), bisect_left(days, end)
        if i < j:
            out.append((village, i, j))
    return out


# --- kept in step with the residents' rows ---------------------------------------------------------
@event.listens_for(Resident, "after_insert")
def _opened(mapper: Mapper[Any], conn: Connection, target: Resident) -> None:
    conn.execute(insert(_T).values(resident_id=target.id, valid_from=SINCE_ALWAYS, valid_to=OPEN_END,
                                   village_code=target.village_code, status=_history_status(target.status),
                                   recorded_at=clock.now()))


@event.listens_for(Resident, "after_update")
def _changed(mapper: Mapper[Any], conn: Connection, target: Resident) -> None:
    state = sa_inspect(target)
    if not (state.attrs.village_code.history.has_changes() or state.attrs.status.history.has_changes()):
        return
    if target.status == "merged":  # a finding about the record, not a change in the person's life
        return
    session = object_session(target)
    day = (session.info.get(_INFO, {}).pop(target.id, None) if session is not None else None) or clock.today()
    village, status = target.village_code, _history_status(target.status)
    row = conn.execute(select(_T.c.id, _T.c.valid_from, _T.c.village_code, _T.c.status).where(
        _T.c.resident_id == target.id, _T.c.valid_to == OPEN_END)).first()
    if row is None:
        conn.execute(insert(_T).values(resident_id=target.id, valid_from=SINCE_ALWAYS, valid_to=OPEN_END,
                                       village_code=village, status=status, recorded_at=clock.now()))
    elif (row.village_code, row.status) == (village, status):
        return
    elif day <= row.valid_from:
        conn.execute(update(_T).where(_T.c.id == row.id).values(village_code=village, status=status,
                                                                 recorded_at=clock.now()))
    else:
        conn.execute(update(_T).where(_T.c.id == row.id).values(valid_to=day))
        conn.execute(insert(_T).values(resident_id=target.id, valid_from=day, valid_to=OPEN_END,
                                       village_code=village, status=status, recorded_at=clock.now()))
