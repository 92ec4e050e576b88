"""Each child's next due dates (vaccination_next_due): when the child may next appear on a recall list, so
that a county's list for a week runs the engine only for the children with something due by then.

The rule (why stored dates are enough): over the doses the engine still has to give on the day the row was
computed (`computed_on`: due, overdue or upcoming; not given, not no-longer-given) the row keeps the earliest
earliest-date (`next_due`), complete-before date (`next_overdue`) and recommended date (`next_recommended`).
For a later week end E, with the same history, edition and birth date, a dose listed on E was still to give
on computed_on (a dose no longer given stays so) and is either due (earliest date on E ≤ E; a dose's earliest
date only moves later as the as-of date does) or overdue (overdue date ≤ E: the complete-before date, or the
recommended date + N days under `recommended+Nd`). So next_due ≤ E, or next_overdue ≤ E (or
next_recommended ≤ E − N); a child meeting none of them has nothing to list and is skipped without reading its
doses. The row is not trusted (the child goes to the engine) when it is missing, was computed under another
edition, after E, before a dose dated after the list's cut-off, or for another birth date.

The same engine run judges each dose: `vaccinations.invalid_reason` is set (or cleared) to the engine's
reason for a dose that counts for nothing, judged by the edition in force on the day it was given, so
coverage and timeliness read it without the engine.

Kept in the same transaction as every vaccination written through the immunization services
(records.service.record_vaccination, record_historical, the newborn bundle; a refusal changes no date: the dose stays
to give and listed); rebuilt for a whole area by
`weijian immunization refresh-due` (after a schedule edition change, or doses written around the services)
and by the demo builder.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, bindparam, delete, insert, or_, select, type_coerce, update
from sqlalchemy.orm import Session

from weijian.core import tallies
from weijian.core.errors import InvalidInput
from weijian.immunization.models import NextDue, Vaccination
from weijian.immunization.schedule import engine
from weijian.immunization.schedule.rules import Edition, add_months, edition_for
from weijian.residents.models import Resident

CHUNK = 2000
_PENDING = (engine.DUE, engine.OVERDUE, engine.UPCOMING)


def next_dates(birth: date, given: Sequence[engine.GivenDose], on: date,
               schedules: Sequence[Edition] | None = None) -> tuple[date | None, date | None, date | None]:
    """(next_due, next_overdue, next_recommended) computed on `on` (see the module note); a history the
    engine refuses is due on `on` (the recall list shows its errors)."""
    return _dates_and_judgements(birth, given, on, schedules)[0]


def _dates_and_judgements(birth: date, given: Sequence[engine.GivenDose], on: date,
                          schedules: Sequence[Edition] | None = None
                          ) -> tuple[tuple[date | None, date | None, date | None], dict[tuple[str, int], str] | None]:
    """next_dates, and (vaccine, dose) → why it is invalid for the doses that count for nothing, from one
    engine run (None: the engine refused the history, nothing is judged)."""
    try:
        rows = engine.due(birth, given, on, schedules=schedules)
    except InvalidInput:
        return (on, on, on), None
    invalid = {(r.vaccine, r.dose): r.flags[1] for r in rows if r.status == engine.INVALID}
    pending = [r for r in rows if r.status in _PENDING]
    if not pending:
        return (None, None, None), invalid
    return (min(r.earliest_date for r in pending), min(r.overdue_date for r in pending),
            min(r.recommended_date for r in pending)), invalid


def _store_judgements(session: Session, changed: dict[int, str | None]) -> None:
    """Write each vaccination's invalid_reason that changed (id → reason), and expire the loaded ones."""
    if not changed:
        return
    conn = session.connection()
    people = conn.execute(select(Vaccination.resident_id).where(Vaccination.id.in_(list(changed)))).scalars().all()
    with tallies.bulk_write(session, people, ["cov"]):  # only coverage reads the judgement: its tallies follow
        conn.execute(
            update(Vaccination).where(Vaccination.id == bindparam("vid")).values(invalid_reason=bindparam("reason"))
            .execution_options(synchronize_session=False),
            [{"vid": vid, "reason": reason} for vid, reason in changed.items()])
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Vaccination) and obj.id in changed:
            session.expire(obj, ["invalid_reason"])


def stale_or_due(week_end: date, cutoff: date, edition: Edition, rule: engine.OverdueRule) -> ColumnElement[bool]:
    """The condition (on residents LEFT JOIN vaccination_next_due) selecting the children a recall list
    for the week ending `week_end` (doses counted up to `cutoff`, overdue by `rule`) must give to the engine."""
    n = rule.days_after_recommended
    overdue = (NextDue.next_overdue <= week_end if n is None
               else NextDue.next_recommended <= week_end - timedelta(days=n))
    return or_(NextDue.resident_id.is_(None), NextDue.edition != edition.id, NextDue.computed_on > week_end,
               NextDue.last_dose > cutoff, NextDue.birth_date != Resident.birth_date, NextDue.next_due <= week_end,
               overdue)


def refresh_due(*, session: Session, on: date, resident_ids: Iterable[int] | None = None) -> int:
    """Recompute the rows of `resident_ids` (default: every active resident under 18 on `on`) as of `on`.
    Children and doses are read in chunks of ids; returns the number of rows written. Flushes first: the
    doses just added in this transaction count."""
    session.flush()
    conn = session.connection()
    if resident_ids is None:
        edition = edition_for(on)
        oldest = add_months(on, -edition.follow_until.months) - timedelta(days=edition.follow_until.days)
        ids = list(conn.scalars(select(Resident.id).where(
            Resident.status == "active", Resident.birth_date <= on, Resident.birth_date > oldest)
            .order_by(Resident.id)))
    else:
        ids = sorted(set(resident_ids))
    written = 0
    for k in range(0, len(ids), CHUNK):
        chunk = ids[k:k + CHUNK]
        births = dict(conn.execute(
            select(Resident.id, Resident.birth_date).where(Resident.id.in_(chunk))).tuples().all())
        histories: dict[int, list[engine.GivenDose]] = {}
        stored: dict[tuple[int, str, int], tuple[int, str | None]] = {}  # the judgement each dose has now
        days: dict[Any, date] = {}
        for vid, rid, vaccine, dose, raw, reason in conn.execute(
                select(Vaccination.id, Vaccination.resident_id, Vaccination.vaccine, Vaccination.dose,
                       type_coerce(Vaccination.date, String), Vaccination.invalid_reason)
                .where(Vaccination.resident_id.in_(chunk))).all():
            day = days.get(raw)
            if day is None:
                day = days[raw] = raw if isinstance(raw, date) else date.fromisoformat(raw)
            histories.setdefault(rid, []).append(engine.GivenDose(vaccine, dose, day))
            stored[rid, vaccine, dose] = (vid, reason)
        rows = []
        changed: dict[int, str | None] = {}
        for rid in chunk:
            birth = births.get(rid)
            if birth is None:
                continue
            given = histories.get(rid, [])
            last = max((g.date for g in given), default=None)
            as_of = max(on, birth, last or birth)
            (nxt, overdue, recommended), invalid = _dates_and_judgements(birth, given, as_of)
            if invalid is not None:
                for g in given:
                    vid, reason = stored[rid, g.vaccine, g.dose]
                    now = invalid.get((g.vaccine, g.dose))
                    if now != reason:
                        changed[vid] = now
            rows.append({"resident_id": rid, "next_due": nxt, "next_overdue": overdue,
                         "next_recommended": recommended, "edition": edition_for(as_of).id, "birth_date": birth,
                         "last_dose": last, "computed_on": as_of})
        _store_judgements(session, changed)
        conn.execute(delete(NextDue).where(NextDue.resident_id.in_(chunk)))
        if rows:
            conn.execute(insert(NextDue), rows)
        written += len(rows)
    return written


def refresh_child(*, session: Session, resident_id: int, on: date) -> None:
    """One child's row, after a write to its vaccinations (same transaction)."""
    refresh_due(session=session, on=on, resident_ids=[resident_id])


def rows_of(*, session: Session, resident_ids: Iterable[int]) -> dict[int, tuple]:
    """The stored rows of these children: id → (next_due, next_overdue, next_recommended, edition, birth_date,
    last_dose, computed_on)."""
    ids = sorted(set(resident_ids))
    out: dict[int, tuple] = {}
    for k in range(0, len(ids), CHUNK):
        for row in session.connection().execute(
                select(NextDue.resident_id, NextDue.next_due, NextDue.next_overdue, NextDue.next_recommended,
                       NextDue.edition, NextDue.birth_date, NextDue.last_dose, NextDue.computed_on)
                .where(NextDue.resident_id.in_(ids[k:k + CHUNK]))):
            out[row[0]] = tuple(row[1:])
    return out
