"""Recall lists (通知单): for a village, a vaccination point's area or the actor's whole scope, and one week,
every child with a dose due or overdue by the end of that week, with the guardian to call; exported to
xlsx (recall.export) and printed. Also the week's list for a village doctor's worklist.

Rules (decided here):
- The week runs Monday to Sunday; any day names its week. The engine (schedule.engine) judges each
  child on the week's last day, so a dose whose earliest date falls in the week is `due`, one whose
  overdue date has come by then is `overdue`, and one that can only be given after the week (`upcoming`)
  is left out. Doses recorded after `as_of` (default: the week's last day) are not counted, so a past
  week's list can be printed again as it stood.
- Children: active residents of the area, born by the week's end and under the edition's follow-up age
  (18 years: catch-up runs to 18) on it.
- A refusal (vaccination_refusals) of a listed dose stays on the list, marked with its reason and date
  (the latest one recorded), so the doctor sees it before calling.
- A child whose recorded history the engine refuses (e.g. dose 2 dated before dose 1) is listed with the
  errors instead of doses: the record needs correcting, and the child may be missing doses.
- Guardian: (1) the mother (residents.mother_id) when her record is active and has a phone; else (2) the
  householder, when an adult (18 or over) other than the child, active, with a phone; else (3) the
  youngest other active adult of the household with a phone (the parents' generation before the
  grandparents'), ties by record number; else (4) the mother's, then the householder's name without a
  phone. The guardian may live outside the actor's scope: the name and phone are shown as the child's
  contact, under the list's audit event.

Speed: the county's list for a week would mean the engine over every child of the county (86,000 in the
demo county). Each child's next due dates are stored (schedule.due: when a dose still to give becomes
due or overdue, kept with every vaccination written): only the children due by the week's end, or whose
stored date cannot be trusted for this list, are read, in one query; their doses and refusals in chunked
queries of ids (plain columns, no ORM objects), and the guardians of the listed children likewise; no query
per child. A child whose every series is complete has nothing left to give and skips the engine
(recall.screening finds them in SQL). The engine is asked only for the doses still to give, and a child whose next-due
row was computed on the very history read (same edition, birth date and last dose, not refused) passes the
judgement stored with its doses (vaccinations.invalid_reason, written in that run): its doses are not
judged again (schedule.engine.due, `judged`, `pending_only`).
"""
from __future__ import annotations

import gc
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, SQLColumnExpression, String, and_, func, select, type_coerce
from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.core.actor import Actor
from weijian.core.bounds import MAX_DATE, MIN_DATE, date_in_range, whole_number
from weijian.core.errors import FieldError, Forbidden, InvalidInput
from weijian.core.identifiers import division_level, division_range
from weijian.immunization.models import NextDue, Refusal, Vaccination, VaccinationPoint
from weijian.immunization.recall.screening import CHUNK, chunks, complete_among, complete_signatures, is_complete
from weijian.immunization.schedule import due as due_mod
from weijian.immunization.schedule import engine
from weijian.immunization.schedule.rules import Edition, add_months, edition_for
from weijian.orgunits import service as orgunits_service
from weijian.orgunits.models import OrgUnit
from weijian.residents import access

# Read as plain columns joined to the doses (see the module note); the residents service has no bulk query.
from weijian.residents.models import Resident


@contextmanager
def collector_paused() -> Iterator[None]:
    """Reading a county's doses makes millions of small tuples and lists: no reference cycles, but each
    few hundred new objects start a collection that walks everything alive, which doubles the time. The
    collector is paused for the bulk work (process-wide, so counted across threads) and resumed after."""
    global _paused
    with _gc_lock:
        if _paused == 0:
            was = gc.isenabled()
            gc.disable()
            _gc_state.append(was)
        _paused += 1
    try:
        yield
    finally:
        with _gc_lock:
            _paused -= 1
            if _paused == 0 and _gc_state.pop():
                gc.enable()


_gc_lock = threading.Lock()
_gc_state: list[bool] = []
_paused = 0


LISTED = (engine.DUE, engine.OVERDUE)
ADULT_MONTHS = 18 * 12
_E = "immunization.recall.errors."
_ISO_WEEK = re.compile(r"^(\d{4})-?W(\d{2})$")


# --- results --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RecallDose:
    vaccine: str
    dose: int
    status: str  # due | overdue
    recommended_date: date
    earliest_date: date
    overdue_date: date
    flags: tuple[str, ...] = ()
    refusal_reason: str | None = None  # refused | contraindication | temporary_deferral
    refusal_date: date | None = None

    @property
    def latest_date(self) -> date:
        """The last day the dose is still on time (最迟日期): the day before it counts as overdue."""
        return self.overdue_date - timedelta(days=1)


@dataclass(slots=True)
class RecallChild:
    resident_id: int
    name: str
    sex: str
    birth_date: date
    village_code: str
    village_name: str = ""
    guardian_name: str | None = None
    guardian_phone: str | None = None
    guardian_relation: str | None = None  # mother | head | household
    doses: list[RecallDose] = field(default_factory=list)
    history_errors: list[FieldError] = field(default_factory=list)  # the engine refused the history
    household_id: int | None = None
    mother_id: int | None = None


@dataclass(slots=True)
class RecallList:
    week_start: date
    week_end: date
    as_of: date
    area_code: str | None  # the org unit asked for (None: the actor's whole scope, system actor)
    area_name: str
    point_id: int | None
    point_name: str | None
    children_checked: int  # children of the area the engine looked at
    children: list[RecallChild]

    @property
    def dose_count(self) -> int:
        return sum(len(c.doses) for c in self.children)

    def count(self, status: str) -> int:
        return sum(1 for c in self.children for d in c.doses if d.status == status)

    @property
    def refusal_count(self) -> int:
        return sum(1 for c in self.children for d in c.doses if d.refusal_reason)


# --- input ----------------------------------------------------------------------------------------
def week_bounds(day: date) -> tuple[date, date]:
    """(Monday, Sunday) of the week `day` falls in."""
    start = day - timedelta(days=day.weekday())
    return start, start + timedelta(days=6)


def parse_week(text: str | None, *, field: str = "week") -> date:
    """`2026-11-23` (any day of the week) or `2026-W48` → the week's Monday; InvalidInput(field) else."""
    value = (text or "").strip()
    if not value:
        raise InvalidInput(field, _E + "week_required")
    m = _ISO_WEEK.match(value.upper())
    try:
        day = date.fromisocalendar(int(m[1]), int(m[2]), 1) if m else date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(field, _E + "week_format", value=value) from None
    if not date_in_range(day):
        raise InvalidInput(field, "core.errors.validation.date_out_of_range", min=MIN_DATE.isoformat(),
                           max=MAX_DATE.isoformat())
    return week_bounds(day)[0]


def _area_unit(session: Session, actor: Actor, code: str, field: str) -> OrgUnit:
    """The org unit asked for (residents.access: known, in the actor's scope); for `village`, a village."""
    unit = access.orgunit_target(session=session, actor=actor, orgunit=code, field=field)
    if field == "village" and unit.level != "village":
        raise InvalidInput(field, _E + "village_unknown", code=unit.code)
    return unit


def _point(session: Session, actor: Actor, point_id: Any) -> VaccinationPoint:
    pid = whole_number(point_id)
    if pid is None:
        raise InvalidInput("point", _E + "point_unknown", value=str(point_id))
    point = session.get(VaccinationPoint, pid)
    if point is None:
        raise InvalidInput("point", _E + "point_unknown", value=str(pid))
    # A village doctor may print their own village's part of the township point's list: the scope
    # condition of the queries keeps it to that village. Only a point with no part in scope is refused.
    if not overlaps_scope(actor, point.serves_orgunit_code):
        raise Forbidden(_E + "point_out_of_scope", point=point.name)
    return point


def _area_condition(column: SQLColumnExpression[str], code: str | None) -> ColumnElement[bool]:
    if code is None:
        return and_(True)
    if division_level(code) == "village":
        return column == code  # an equality: the (village_code, name) index answers it
    lo, hi = division_range(code)
    return and_(column >= lo, column <= hi)


# --- the list -------------------------------------------------------------------------------------
def recall_list(*, session: Session, actor: Actor, week_start: date, village_code: str | None = None,
                point_id: int | str | None = None, orgunit_code: str | None = None, as_of: date | None = None,
                overdue_rule: engine.OverdueRule | str | None = None) -> RecallList:
    """The recall list of a village (`village_code`), a vaccination point's area (`point_id`), any org
    unit (`orgunit_code`) or, with none of them, the actor's whole scope, for the week of `week_start`.
    Logged as one read of the list (not one per child)."""
    actor.require("immunization:read")
    if sum(x is not None and str(x).strip() != "" for x in (village_code, point_id, orgunit_code)) > 1:
        raise InvalidInput("point", _E + "one_area")
    if not isinstance(week_start, date):
        raise InvalidInput("week", _E + "week_format", value=str(week_start))
    rule = overdue_rule if isinstance(overdue_rule, engine.OverdueRule) else engine.OverdueRule.parse(overdue_rule)
    session.flush()  # the rows are read on the connection (no ORM autoflush): pending changes first
    week_start, week_end = week_bounds(week_start)
    cutoff = min(as_of, week_end) if as_of is not None else week_end
    point = None
    if village_code is not None and str(village_code).strip():
        unit = _area_unit(session, actor, village_code, "village")
        area_code, area_name = unit.code, unit.name
    elif orgunit_code is not None and str(orgunit_code).strip():
        unit = _area_unit(session, actor, orgunit_code, "orgunit")
        area_code, area_name = unit.code, unit.name
    elif point_id is not None and str(point_id).strip():
        point = _point(session, actor, point_id)
        area_code = point.serves_orgunit_code
        unit = orgunits_service.get(session=session, code=area_code)
        area_name = unit.name if unit is not None else area_code
    else:
        area_code = actor.scope_code
        unit = orgunits_service.get(session=session, code=area_code) if area_code else None
        area_name = unit.name if unit is not None else (area_code or "")
    edition = edition_for(week_end)

    with collector_paused():
        children, checked = _due_children(session, actor, area_code, week_end, cutoff, edition, rule)
    _attach_guardians(session, children, week_end)
    names = _village_names(session, {c.village_code for c in children})
    for c in children:
        c.village_name = names.get(c.village_code, c.village_code)
    children.sort(key=lambda c: (c.village_code, c.name, c.birth_date, c.resident_id))
    out = RecallList(week_start=week_start, week_end=week_end, as_of=cutoff, area_code=area_code,
                     area_name=area_name, point_id=point.id if point else None,
                     point_name=point.name if point else None, children_checked=checked, children=children)
    read = _narrower(actor.scope_code, area_code) if area_code else None
    basis = access.scope_basis(actor) if read is None or read == actor.scope_code \
        else access.basis_for(actor, read) or "county"
    accounts_service.audit(
        session=session, actor=actor, action="read", entity_type="recall_list",
        entity_id=f"point:{point.id}" if point else area_code, basis=basis,
        detail={"week": week_start.isoformat(), "area": area_code, "point": point.id if point else None,
                "as_of": cutoff.isoformat(), "children": len(children)},
        shown=[c.resident_id for c in children])
    return out


def _narrower(scope: str | None, area: str) -> str:
    """Of the actor's scope and the area asked for, the one inside the other (the rows actually read)."""
    if scope is not None and orgunits_service.in_scope(scope_code=area, code=scope):
        return scope
    return area


def children_condition(actor: Actor, area_code: str | None, on: date, edition: Edition,
                       born_after: date | None = None) -> ColumnElement[bool]:
    """The children the engine reads in `area_code` on `on`, within the actor's scope (residents.access)."""
    # Under the follow-up age (18 years) on `on`: born after `oldest` (or after `born_after`, if later).
    oldest = add_months(on, -edition.follow_until.months) - timedelta(days=edition.follow_until.days)
    if born_after is not None and born_after > oldest:
        oldest = born_after
    return and_(Resident.status == "active", Resident.birth_date <= on, Resident.birth_date > oldest,
                _area_condition(Resident.village_code, area_code), access.visible(actor))


def histories_where(session: Session, where: ColumnElement[bool], cutoff: date) -> dict[int, list[engine.GivenDose]]:
    """Every dose (by `cutoff`) of the children matching `where`, in ONE query, grouped by child."""
    return _group(session.connection().execute(
        select(*_DOSE_COLUMNS)
        .where(Vaccination.resident_id.in_(select(Resident.id).where(where)), Vaccination.date <= cutoff)), {}, {})


_DOSE_COLUMNS = (Vaccination.resident_id, Vaccination.vaccine, Vaccination.dose, type_coerce(Vaccination.date, String),
                 Vaccination.invalid_reason)


def _group(rows: Any, histories: dict[int, list[engine.GivenDose]],
           judged: dict[int, dict[tuple[str, int], str]]) -> dict[int, list[engine.GivenDose]]:
    """Rows (resident id, vaccine, dose, date, invalid reason) into `histories`, and each dose's stored
    judgement into `judged` (child → (vaccine, dose) → why it counts for nothing, for those that do not),
    as plain rows (no ORM layer). SQLite's date text is parsed once per distinct day (a county's doses
    fall on a few thousand days); PostgreSQL's dates come as they are."""
    days: dict[Any, date] = {}
    new = tuple.__new__
    get = histories.get
    for rid, vaccine, dose, raw, reason in rows.all():
        if reason is not None:
            judged.setdefault(rid, {})[vaccine, dose] = reason
        on = days.get(raw)
        if on is None:
            on = days[raw] = raw if isinstance(raw, date) else date.fromisoformat(raw)
        h = get(rid)
        g = new(engine.GivenDose, (vaccine, dose, on))
        if h is None:
            histories[rid] = [g]
        else:
            h.append(g)
    return histories


def _due_children(session: Session, actor: Actor, area_code: str | None, week_end: date, cutoff: date,
                  edition: Edition, rule: engine.OverdueRule) -> tuple[list[RecallChild], int]:
    where = children_condition(actor, area_code, week_end, edition)
    conn = session.connection()
    # Both passes over the area's children read only the columns of ix_residents_children (birth date,
    # status, village, id), not the residents' rows: the count, then the ids of the children whose stored
    # next due date (schedule.due) falls by the week's end, or whose row cannot be trusted for this list
    # (a few thousand of a county's 86,000). Only those are read in full and given to the engine.
    checked = conn.scalar(select(func.count()).select_from(Resident).where(where)) or 0
    picked = conn.execute(
        select(Resident.id, NextDue.edition, NextDue.birth_date, NextDue.last_dose, NextDue.computed_on,
               NextDue.next_due, NextDue.next_overdue, NextDue.next_recommended)
        .outerjoin(NextDue, NextDue.resident_id == Resident.id)
        .where(where, due_mod.stale_or_due(week_end, cutoff, edition, rule))).all()
    ids = sorted(row[0] for row in picked)
    people: list[Any] = []
    for chunk in chunks(ids):
        people += conn.execute(
            select(Resident.id, Resident.name, Resident.sex, Resident.birth_date, Resident.village_code,
                   Resident.household_id, Resident.mother_id).where(Resident.id.in_(chunk))).all()
    # A child picked by a row of this edition had a dose still to give when the row was computed: looking
    # for complete histories is worth it only among the others (no row yet, or one of another edition).
    unsure = [row[0] for row in picked if row[1] != edition.id]
    screened = complete_signatures(edition)
    complete = complete_among(session, unsure, cutoff, edition) \
        if screened is not None and len(unsure) > CHUNK else set()
    judged: dict[int, dict[tuple[str, int], str]] = {}
    histories = _histories_of(session, [i for i in ids if i not in complete], cutoff, judged)
    stored = {row[0]: row[2:] for row in picked if row[1] == edition.id}
    refusals: dict[tuple[int, str, int], tuple[date, str]] = {}
    for chunk in chunks(ids):
        for rid, vaccine, dose, on, reason in conn.execute(
                select(Refusal.resident_id, Refusal.vaccine, Refusal.dose, Refusal.date, Refusal.reason)
                .where(Refusal.resident_id.in_(chunk), Refusal.date <= cutoff)):
            key = (rid, vaccine, dose)
            if key not in refusals or on >= refusals[key][0]:
                refusals[key] = (on, reason)

    out: list[RecallChild] = []
    listed = []
    work: list[tuple[date, Any, dict[tuple[str, int], str] | None]] = []
    for person in people:
        rid, birth = person[0], person[3]
        if rid in complete:
            continue
        given = histories.get(rid, ())
        if screened is None and given and is_complete(edition, birth, given):
            continue
        listed.append(person)
        work.append((birth, given, judged.get(rid, _NOTHING_JUDGED) if _judgement_kept(stored.get(rid), birth, given)
                     else None))
    # The engine for all of them at once (engine.pending_many: each child's answer is due(..., judged=kept,
    # pending_only=True)'s, with the plan found once and the rows of series not started shared per birth date).
    for (rid, name, sex, birth, village, household_id, mother_id), rows in zip(
            listed, engine.pending_many(work, week_end, overdue_rule=rule), strict=True):
        if isinstance(rows, InvalidInput):
            child = RecallChild(rid, name, sex, birth, village, history_errors=list(rows.errors),
                                household_id=household_id, mother_id=mother_id)
        else:
            doses = []
            for r in rows:
                if r[2] not in LISTED:
                    continue
                refused = refusals.get((rid, r[0], r[1]))
                doses.append(RecallDose(r[0], r[1], r[2], r[3], r[4], r[5], r[7],
                                        refused[1] if refused else None, refused[0] if refused else None))
            if not doses:
                continue
            child = RecallChild(rid, name, sex, birth, village, doses=doses, household_id=household_id,
                                mother_id=mother_id)
        out.append(child)
    return out, checked


_NOTHING_JUDGED: dict[tuple[str, int], str] = {}


def _judgement_kept(row: Any, birth: date, given: Any) -> bool:
    """Whether the judgement stored with a child's doses (vaccinations.invalid_reason, written with its
    next-due row in the same engine run: schedule.due) is the engine's for the doses read: the child's
    row (birth date, last dose, computed on, the three next dates) is of this edition (picked as such),
    of this birth date, and was computed after the last dose read, with no dose after it, so on this very
    history; and the history was not refused then (a refused history keeps the judgement it had before,
    and its row is due on the day it was computed, three times)."""
    if row is None:
        return False
    row_birth, last, computed_on, nxt, overdue, recommended = row
    if row_birth != birth or last != max((g[2] for g in given), default=None):
        return False
    return not (nxt is not None and nxt == overdue == recommended == computed_on)


def _histories_of(session: Session, ids: list[int], cutoff: date,
                  judged: dict[int, dict[tuple[str, int], str]] | None = None) -> dict[int, list[engine.GivenDose]]:
    """The doses (by `cutoff`) of the children `ids`, grouped by child, and their stored judgement into
    `judged`: one query per CHUNK children."""
    histories: dict[int, list[engine.GivenDose]] = {}
    out = {} if judged is None else judged
    for chunk in chunks(ids):
        _group(session.connection().execute(
            select(*_DOSE_COLUMNS).where(Vaccination.resident_id.in_(chunk), Vaccination.date <= cutoff)),
            histories, out)
    return histories


def child_statuses(*, session: Session, actor: Actor, as_of: date, orgunit_code: str | None = None,
                   born_after: date | None = None, overdue_rule: engine.OverdueRule | str | None = None,
                   ) -> dict[int, list[engine.DoseStatus] | InvalidInput]:
    """Every dose's status on `as_of` for each child of the org unit (default: the actor's scope) born
    after `born_after` (default: under 18): the engine over a whole area, the children and their doses
    read in one query each. A history the engine refuses maps to its InvalidInput. Logged as one read."""
    actor.require("immunization:read")
    rule = overdue_rule if isinstance(overdue_rule, engine.OverdueRule) else engine.OverdueRule.parse(overdue_rule)
    area = None
    if orgunit_code is not None and str(orgunit_code).strip():
        area = _area_unit(session, actor, orgunit_code, "orgunit").code
    where = children_condition(actor, area, as_of, edition_for(as_of), born_after)
    session.flush()
    out: dict[int, list[engine.DoseStatus] | InvalidInput] = {}
    with collector_paused():
        people = session.connection().execute(select(Resident.id, Resident.birth_date).where(where)).all()
        histories = histories_where(session, where, as_of)
        for (rid, _birth), rows in zip(people, engine.due_many(
                ((birth, histories.get(rid, ())) for rid, birth in people), as_of, overdue_rule=rule), strict=True):
            out[rid] = rows
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="child_statuses",
                           entity_id=area or actor.scope_code, basis=access.scope_basis(actor),
                           detail={"as_of": as_of.isoformat(), "children": len(out)})
    return out


# --- guardians ------------------------------------------------------------------------------------
def _attach_guardians(session: Session, children: list[RecallChild], week_end: date) -> None:
    """Each listed child's guardian by the rule in the module note, read in chunks of ids (plain rows on the
    connection: the ORM's result layer costs more than the rows here)."""
    adult_born_by = add_months(week_end, -ADULT_MONTHS)
    conn = session.connection()
    mothers: dict[int, tuple[str, str | None, str]] = {}
    mother_ids = {c.mother_id for c in children if c.mother_id is not None}
    for chunk in chunks(mother_ids):
        for rid, name, phone, status in conn.execute(
                select(Resident.id, Resident.name, Resident.phone, Resident.status).where(Resident.id.in_(chunk))):
            mothers[rid] = (name, phone, status)
    members: dict[int, list[tuple[int, str, str | None, str | None, date]]] = {}
    household_ids = {c.household_id for c in children if c.household_id is not None}
    for chunk in chunks(household_ids):
        for hid, rid, name, phone, relation, birth in conn.execute(
                select(Resident.household_id, Resident.id, Resident.name, Resident.phone, Resident.relation_to_head,
                       Resident.birth_date)
                .where(Resident.household_id.in_(chunk), Resident.status == "active",
                       Resident.birth_date <= adult_born_by)):
            members.setdefault(hid, []).append((rid, name, phone, relation, birth))
    for child in children:
        mother = mothers.get(child.mother_id) if child.mother_id is not None else None
        adults = [m for m in members.get(child.household_id, ()) if m[0] != child.resident_id]
        head = next((m for m in adults if m[3] == "head"), None)
        if mother is not None and mother[2] == "active" and mother[1]:
            child.guardian_name, child.guardian_phone, child.guardian_relation = mother[0], mother[1], "mother"
        elif head is not None and head[2]:
            child.guardian_name, child.guardian_phone, child.guardian_relation = head[1], head[2], "head"
        else:
            with_phone = sorted((m for m in adults if m[2] and m[0] != child.mother_id),
                                key=lambda m: (-m[4].toordinal(), m[0]))
            if with_phone:
                m = with_phone[0]
                child.guardian_name, child.guardian_phone, child.guardian_relation = m[1], m[2], "household"
            elif mother is not None and mother[2] == "active":
                child.guardian_name, child.guardian_relation = mother[0], "mother"
            elif head is not None:
                child.guardian_name, child.guardian_relation = head[1], "head"


def _village_names(session: Session, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    out: dict[str, str] = {}
    for chunk in _chunks_str(codes):
        out.update(session.execute(select(OrgUnit.code, OrgUnit.name).where(OrgUnit.code.in_(chunk))).tuples().all())
    return out


def _chunks_str(codes: set[str]) -> Iterable[list[str]]:
    items = sorted(codes)
    for k in range(0, len(items), CHUNK):
        yield items[k:k + CHUNK]


# --- the doctor's worklist ------------------------------------------------------------------------
def worklist_recall(*, session: Session, actor: Actor, today: date,
                    overdue_rule: engine.OverdueRule | str | None = None) -> RecallList | None:
    """This week's recall list for the worklist of a doctor scoped to a village or a township (None for
    an actor without immunization:read or with a wider scope: a county's list is no worklist)."""
    if not actor.can("immunization:read") or actor.scope_code is None \
            or division_level(actor.scope_code) == "county":
        return None
    return recall_list(session=session, actor=actor, week_start=today, overdue_rule=overdue_rule)


# --- choices for the page -------------------------------------------------------------------------
def points_in_scope(*, session: Session, actor: Actor) -> list[tuple[int, str]]:
    """(id, name) of the active vaccination points whose area overlaps the actor's scope."""
    rows = session.execute(select(VaccinationPoint.id, VaccinationPoint.name, VaccinationPoint.serves_orgunit_code)
                           .where(VaccinationPoint.active.is_(True)).order_by(VaccinationPoint.name)).all()
    return [(pid, name) for pid, name, area in rows if overlaps_scope(actor, area)]


def overlaps_scope(actor: Actor, area: str) -> bool:
    """Whether an area (a point's) and the actor's scope overlap: one lies inside the other."""
    return orgunits_service.in_scope(scope_code=actor.scope_code, code=area) or (
        actor.scope_code is not None and orgunits_service.in_scope(scope_code=area, code=actor.scope_code))
