"""Writes of the resident master index: register a resident, change one, merge two records of one person;
the checks a resident's fields pass beyond their command (the identity number, today, the database).
Every write is checked against the actor's permission and org-unit scope and written to the audit log
with its basis.

What other domains use of residents is reached here: the reads (residents.queries), the vocabularies
(residents.rules), the counts for the indicators (residents.counts) and the access answers
(residents.access) are re-exported under their own names.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

from pypinyin import Style, lazy_pinyin
from sqlalchemy import ColumnElement, and_, bindparam, or_, select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session, aliased, selectinload

from weijian.accounts import service as accounts_service
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.commands import build
from weijian.core.errors import Conflict, ErrorCollector, Forbidden, InvalidInput, InvalidState, NotFound
from weijian.core.identifiers import parse_id_number
from weijian.orgunits import service as orgunits_service
from weijian.residents import access, history, merging

# Re-exported for the indicators domain (one grouped query each), from residents/counts.py.
from weijian.residents.counts import (
    births_by_month,
    population,
    population_groups,
    population_records,
    years_before,
)

# Re-exported: the residence history other domains count with (where a person lived on a day).
from weijian.residents.history import (
    OPEN_END,
    SINCE_ALWAYS,
    Stay,
    active_runs,
    lived_on,
    open_missing,
    stays_of,
    village_on,
)
from weijian.residents.merging import Context as MergeContext
from weijian.residents.merging import Moved, Mover, UndoProblems, add_mover, reassign
from weijian.residents.models import (
    Household,
    Resident,
    ResidentDistinctPair,
    ResidentGroup,
    ResidentMerge,
    ResidentMergeMove,
    ResidentResidence,
)

# Re-exported: the reads other domains (and the app's audit page) call through here.
from weijian.residents.queries import (
    COUNT_CAP,
    MAX_PAGE_SIZE,
    birth_dates,
    current_values,
    get,
    merges_into,
    names_for_audit,
    search,
    village_names,
    villages_in_scope,
)

# Re-exported: the vocabularies (settlement reads the groups, immunization the sexes).
from weijian.residents.rules import (
    GROUPS_FILE,
    RELATIONS,
    SCHEMES,
    SEXES,
    group_code,
    groups,
    relation_code,
    surname_reading,
)
from weijian.residents.schemas import ResidentCreate, ResidentUpdate

_PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$", re.ASCII)  # ASCII digits only

# --- scope: residents.access (re-exported: other domains call access_basis / scope_basis through here) ------
access_basis = access.basis_for
scope_basis = access.scope_basis


def pinyin_keys(name: str) -> tuple[str, str]:
    """(initials, full pinyin) of a name, lower case: 张三 → ("zs", "zhangsan"); a surname is read as a
    surname (residents/data/surnames.yaml): 曾东 → ("zd", "zengdong"), not céng."""
    size, surname = surname_reading(name)
    rest_initials, rest_full = _given_name_keys(name[size:])
    initials = "".join(s[0] for s in surname) + rest_initials
    return initials.lower()[:50], ("".join(surname) + rest_full).lower()[:200]


@lru_cache(maxsize=65_536)
def _given_name_keys(rest: str) -> tuple[str, str]:
    """(initials, full pinyin) of a name after its surname, as pypinyin reads them: a county's given names
    repeat far more than its full names (a roster import reads each once)."""
    return (("".join(lazy_pinyin(rest, style=Style.FIRST_LETTER, errors="ignore")),
             "".join(lazy_pinyin(rest, errors="ignore"))))


def reindex_name_keys(*, session: Session, actor: Actor, batch: int = 5_000) -> int:
    """Make every resident's stored pinyin keys what `pinyin_keys` gives today (after a change to the
    surname readings, or for records written before them): only the rows whose keys differ are written,
    in batches. Returns how many changed; one audit event records the run."""
    actor.require("resident:import")
    keys: dict[str, tuple[str, str]] = {}
    changed = 0
    last_id = 0
    table = Resident.__table__
    while True:
        rows = session.execute(
            select(Resident.id, Resident.name, Resident.name_initials, Resident.name_pinyin)
            .where(Resident.id > last_id).order_by(Resident.id).limit(batch)).all()
        if not rows:
            break
        last_id = rows[-1].id
        updates = []
        for r in rows:
            k = keys.get(r.name)
            if k is None:
                k = keys[r.name] = pinyin_keys(r.name)
            if k != (r.name_initials, r.name_pinyin):
                updates.append({"rid": r.id, "initials": k[0], "full": k[1]})
        if updates:
            session.execute(
                sql_update(table).where(table.c.id == bindparam("rid"))
                .values(name_initials=bindparam("initials"), name_pinyin=bindparam("full")),
                updates, execution_options={"synchronize_session": False})
            changed += len(updates)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="update", entity_type="resident",
                           basis=scope_basis(actor),
                           detail={"fields": ["name_initials", "name_pinyin"], "residents": changed})
    return changed


# --- the checks beyond the command -----------------------------------------------------------------
@dataclass
class ResidentData:
    """A resident's fields after every check: what create, update and the import write."""

    name: str
    sex: str
    birth_date: date
    id_number: str | None
    phone: str | None
    village_code: str
    insurance_scheme: str = "none"
    groups: list[str] = field(default_factory=list)
    relation_to_head: str | None = None
    household_number: str | None = None
    address: str | None = None
    id_converted_from_15: bool = False


def check_resident(resident_in: ResidentCreate, *, today: date | None = None,
                   known_villages: set[str] | None = None, session: Session | None = None) -> ResidentData:
    """The checks a resident's command leaves to the service, all at once (InvalidInput naming each bad
    field): the identity number (its check digit; sex and birth date agreeing with it, or taken from
    it), a birth date not after `today`, the phone's format, the village — against `known_villages` (bulk
    import) or the database."""
    today = today or clock.today()
    errs = ErrorCollector()
    sex: str | None = resident_in.sex
    birth = resident_in.birth_date
    if birth is not None and birth > today:
        errs.add("birth_date", "residents.errors.birth_date_future")

    id_number = None
    converted = False
    id_failed = False  # a wrong number is the one error to show: fixed, it supplies sex and birth date
    if resident_in.id_number:
        try:
            parsed = parse_id_number(resident_in.id_number, today=today)
        except InvalidInput as exc:
            errs.extend(exc)
            id_failed = True
        else:
            id_number, converted = parsed.normalized, parsed.converted_from_15
            if birth is None:
                birth = parsed.birth_date
            elif birth != parsed.birth_date:
                errs.add("birth_date", "residents.errors.birth_date_mismatch", id_birth=parsed.birth_date.isoformat())
            if sex is None:
                sex = parsed.sex
            elif sex != parsed.sex:
                errs.add("sex", "residents.errors.sex_mismatch")
    if birth is None and not id_failed:
        errs.add("birth_date", "residents.errors.birth_date_required")
    if sex is None and not id_failed:
        errs.add("sex", "residents.errors.sex_required")

    if resident_in.phone is not None and not _PHONE.match(resident_in.phone):
        errs.add("phone", "residents.errors.phone_invalid")

    village = resident_in.village_code
    if known_villages is not None:
        if village not in known_villages:
            errs.add("village_code", "residents.errors.village_unknown", code=village)
    elif session is not None:
        unit = orgunits_service.get(session=session, code=village)
        if unit is None or unit.level != "village":
            errs.add("village_code", "residents.errors.village_unknown", code=village)

    errs.raise_if_any()
    return ResidentData(
        name=resident_in.name, sex=sex, birth_date=birth, id_number=id_number, phone=resident_in.phone,
        village_code=village, insurance_scheme=resident_in.insurance_scheme, groups=list(resident_in.groups),
        relation_to_head=resident_in.relation_to_head, household_number=resident_in.household_number,
        address=resident_in.address, id_converted_from_15=converted,
    )


def validate(values: Mapping[str, Any], *, today: date | None = None, known_villages: set[str] | None = None,
             session: Session | None = None) -> ResidentData:
    """Plain values checked as create checks them: the command built from them (`core.commands.build`),
    then check_resident. For a caller that assembles a resident from other records (the newborn
    registration builds the child's from the mother's)."""
    return check_resident(build(ResidentCreate, values), today=today, known_villages=known_villages,
                          session=session)


# --- probable duplicates -----------------------------------------------------------------------------
class ProbableDuplicate(Conflict):
    """A new record whose name and sex and birth date (or name and phone, or name and household) match
    records already registered in the actor's scope: `matches` are those records, with what matched. The
    caller repeats the request with `confirm_probable_duplicate` once a person has looked."""

    def __init__(self, matches: list[Match]) -> None:
        super().__init__("residents.errors.probable_duplicate", count=len(matches))
        self.matches = matches


@dataclass(frozen=True)
class Match:
    resident: Resident
    matched_on: tuple[str, ...]  # name and: sex + birth_date | phone | household_number


MAX_MATCHES = 20


def probable_duplicates(*, session: Session, actor: Actor, data: ResidentData,
                        exclude_id: int | None = None) -> list[Match]:
    """Active records in the actor's scope with the same name and the same sex and birth date, the same
    phone or the same household as `data` (the records the actor may not see are not compared: naming
    them would tell who lives elsewhere)."""
    alternatives: list[ColumnElement[bool]] = [
        and_(Resident.sex == data.sex, Resident.birth_date == data.birth_date)]
    if data.phone:
        alternatives.append(Resident.phone == data.phone)
    household_id = None
    if data.household_number:
        household_id = session.scalar(select(Household.id).where(Household.number == data.household_number))
        if household_id is not None:
            alternatives.append(Resident.household_id == household_id)
    stmt = (select(Resident).where(Resident.name == data.name, Resident.status == "active",
                                   access.visible(actor), or_(*alternatives))
            .order_by(Resident.id).limit(MAX_MATCHES))
    if exclude_id is not None:
        stmt = stmt.where(Resident.id != exclude_id)
    return [Match(r, matched_on(r, data.sex, data.birth_date, data.phone, household_id))
            for r in session.scalars(stmt)]


def matched_on(r: Resident, sex: str | None, birth_date: date | None, phone: str | None,
                household_id: int | None) -> tuple[str, ...]:
    """What a record of the same name shares with the other one: sex and birth date, phone, household."""
    on = ["name"]
    if (r.sex, r.birth_date) == (sex, birth_date):
        on += ["sex", "birth_date"]
    if phone and r.phone == phone:
        on.append("phone")
    if household_id is not None and r.household_id == household_id:
        on.append("household_number")
    return tuple(on)


def _audit_matches(session: Session, actor: Actor, matches: list[Match]) -> None:
    # The matches are shown to the actor: a read of those records, logged as search results are.
    accounts_service.audit(session=session, actor=actor, action="search", entity_type="resident",
                           basis=scope_basis(actor), detail={"probable_duplicates": len(matches)},
                           shown=[m.resident.id for m in matches], survive_rollback=True)


def _pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def probable_duplicate_pairs(*, session: Session, actor: Actor, limit: int = 100) -> list[tuple[Match, Resident]]:
    """Pairs of active records in the actor's scope that look like one person (as `probable_duplicates`
    compares them), less the pairs marked as two people; the first record of each pair is the older. The
    records listed are audited as read."""
    actor.require("resident:merge")
    a, b = aliased(Resident), aliased(Resident)
    distinct = select(ResidentDistinctPair.id).where(
        ResidentDistinctPair.first_id == a.id, ResidentDistinctPair.second_id == b.id).exists()
    rows = session.execute(
        select(a, b).join(b, and_(b.name == a.name, b.id > a.id))
        .where(a.status == "active", b.status == "active", access.visible(actor, a.village_code),
               access.visible(actor, b.village_code),
               or_(and_(a.sex == b.sex, a.birth_date == b.birth_date),
                   and_(a.phone.is_not(None), a.phone == b.phone),
                   and_(a.household_id.is_not(None), a.household_id == b.household_id)),
               ~distinct)
        .order_by(a.name, a.id, b.id).limit(limit)).all()
    out = [(Match(first, matched_on(first, second.sex, second.birth_date, second.phone, second.household_id)),
            second) for first, second in rows]
    if out:
        accounts_service.audit(session=session, actor=actor, action="list", entity_type="resident",
                               basis=scope_basis(actor), detail={"probable_duplicate_pairs": len(out)},
                               shown=[r.id for m, s in out for r in (m.resident, s)])
    return out


def mark_distinct(*, session: Session, actor: Actor, first_id: int, second_id: int,
                  reason: str | None = None) -> ResidentDistinctPair:
    """Record that two records matched as probable duplicates are two people: the pair is not offered
    again. Both must be in the actor's scope."""
    actor.require("resident:merge")
    if first_id == second_id:
        raise InvalidInput("second_id", "residents.errors.merge_same")
    low, high = _pair(first_id, second_id)
    found = {r.id: r for r in session.scalars(
        select(Resident).where(Resident.id.in_([low, high]), access.visible(actor)))}
    for rid in (low, high):
        if rid not in found:
            raise NotFound("residents.errors.not_found", resident_id=rid)
    row = session.scalar(select(ResidentDistinctPair).where(
        ResidentDistinctPair.first_id == low, ResidentDistinctPair.second_id == high))
    if row is None:
        row = ResidentDistinctPair(first_id=low, second_id=high, reason=(reason or "").strip()[:200] or None,
                                   marked_by=actor.username)
        session.add(row)
        session.flush()
        for rid in (low, high):
            accounts_service.audit(session=session, actor=actor, action="not_same_person",
                                   entity_type="resident", entity_id=rid, resident_id=rid,
                                   basis=access_basis(actor, found[rid].village_code) or scope_basis(actor),
                                   detail={"other": high if rid == low else low})
    return row


# --- create -----------------------------------------------------------------------------------------
def _household(session: Session, data: ResidentData) -> Household | None:
    """The household the record names, made in the resident's village when the number is new; refused
    when the number is another village's."""
    if not data.household_number:
        return None
    household = session.scalar(select(Household).where(Household.number == data.household_number))
    if household is None:
        household = Household(number=data.household_number, village_code=data.village_code, address=data.address)
        session.add(household)
        session.flush()
    elif household.village_code != data.village_code:
        raise InvalidInput("household_number", "residents.errors.household_other_village")
    return household


def create(*, session: Session, resident_in: ResidentCreate, actor: Actor) -> Resident:
    """Register one resident (and the household, when a new household number is given)."""
    actor.require("resident:write")
    data = check_resident(resident_in, session=session)
    basis = access_basis(actor, data.village_code)
    if basis is None:
        raise Forbidden("residents.errors.village_out_of_scope")
    if data.id_number and session.scalar(select(Resident.id).where(Resident.id_number == data.id_number)):
        raise InvalidInput("id_number", "residents.errors.id_number_duplicate")
    matches = probable_duplicates(session=session, actor=actor, data=data)
    if matches and not resident_in.confirm_probable_duplicate:
        _audit_matches(session, actor, matches)
        raise ProbableDuplicate(matches)
    household = _household(session, data)
    if household is not None and data.relation_to_head == "head" and household.head is not None:
        raise InvalidInput("relation_to_head", "residents.errors.household_has_head")
    initials, full = pinyin_keys(data.name)
    resident = Resident(
        id_number=data.id_number, name=data.name, name_initials=initials, name_pinyin=full, sex=data.sex,
        birth_date=data.birth_date, phone=data.phone, village_code=data.village_code,
        household_id=household.id if household else None, relation_to_head=data.relation_to_head,
        insurance_scheme=data.insurance_scheme, status="active",
        groups=[ResidentGroup(group=g) for g in data.groups],
    )
    session.add(resident)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="resident",
                           entity_id=resident.id, resident_id=resident.id, basis=basis,
                           detail={"confirmed_probable_duplicate_of": [m.resident.id for m in matches]}
                           if matches else None)
    return resident


# --- update -----------------------------------------------------------------------------------------
def update(*, session: Session, resident_id: int, resident_in: ResidentUpdate, actor: Actor) -> Resident:
    """Change a resident's fields: those set in `resident_in`; the whole record is checked again. Logged as
    "update" with the names of the changed fields."""
    actor.require("resident:write")
    resident = session.scalar(
        select(Resident).where(Resident.id == resident_id, access.visible(actor))
        .options(selectinload(Resident.household), selectinload(Resident.groups)))
    if resident is None:
        raise NotFound("residents.errors.not_found", resident_id=resident_id)
    if resident.status == "merged":
        raise InvalidState("residents.errors.update_merged")
    before = current_values(resident)
    changes = resident_in.model_dump(exclude_unset=True)
    new_status = changes.pop("status", None) or resident.status
    effective = changes.pop("effective_on", None)
    correction = bool(changes.pop("correction", False))
    if correction and effective is not None:
        # A correction rewrites the record as it always was: a date would say it is a move.
        raise InvalidInput("effective_on", "residents.errors.effective_on_with_correction")
    merged_values = {**before, **changes}
    if changes.get("id_number") and changes["id_number"] != (resident.id_number or ""):
        # A new identity number carries its own birth date and sex unless the edit gives them too.
        for key in ("birth_date", "sex"):
            if key not in changes:
                merged_values.pop(key, None)
    # A cleared field takes the command's default, or is refused as missing where it is required.
    data = check_resident(build(ResidentCreate, {k: v for k, v in merged_values.items() if v is not None}),
                          session=session)
    basis = access_basis(actor, data.village_code)
    if basis is None:
        raise Forbidden("residents.errors.village_out_of_scope")
    if data.id_number and session.scalar(
            select(Resident.id).where(Resident.id_number == data.id_number, Resident.id != resident.id)):
        raise InvalidInput("id_number", "residents.errors.id_number_duplicate")

    household_obj = resident.household
    if data.household_number != before["household_number"] or (
            household_obj is not None and household_obj.village_code != data.village_code):
        household_obj = _household(session, data)
    if household_obj is not None and data.relation_to_head == "head":
        head = household_obj.head
        if head is not None and head.id != resident.id:
            raise InvalidInput("relation_to_head", "residents.errors.household_has_head")

    after = {
        "name": data.name, "sex": data.sex, "birth_date": data.birth_date, "id_number": data.id_number,
        "phone": data.phone, "village_code": data.village_code, "insurance_scheme": data.insurance_scheme,
        "groups": data.groups, "relation_to_head": data.relation_to_head,
        "household_number": household_obj.number if household_obj else None,
        "address": household_obj.address if household_obj else None,
    }
    if household_obj is not None and data.address and data.address != household_obj.address:
        household_obj.address = data.address
        after["address"] = data.address
    changed = sorted(k for k in after if _norm(after[k]) != _norm(before[k]))
    if new_status != resident.status:
        changed = sorted([*changed, "status"])
    if not changed:
        return resident
    history_changed = "village_code" in changed or "status" in changed
    if history_changed:
        if correction:  # the open row's own first day: corrected in place (residents.history)
            history.effective_on(session, resident.id,
                                 history.open_since(session, resident.id) or history.SINCE_ALWAYS)
        else:
            _check_effective(session, resident, effective, data.birth_date)
            history.effective_on(session, resident.id, effective or clock.today())
        resident.status = new_status
    if "name" in changed:
        resident.name_initials, resident.name_pinyin = pinyin_keys(data.name)
    for key in ("name", "sex", "birth_date", "id_number", "phone", "village_code", "insurance_scheme",
                "relation_to_head"):
        setattr(resident, key, after[key])
    resident.household_id = household_obj.id if household_obj else None
    resident.household = household_obj
    if "groups" in changed:
        keep = {g.group: g for g in resident.groups}
        resident.groups = [keep.get(code) or ResidentGroup(group=code) for code in data.groups]
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="update", entity_type="resident",
                           entity_id=resident.id, resident_id=resident.id, basis=basis,
                           detail={"fields": changed, **({"correction": True} if correction and history_changed
                                                         else {})})
    return resident


def _check_effective(session: Session, resident: Resident, effective: date | None, birth: date) -> None:
    """A move's or death's effective date: not after today, not before the birth, nor before the last
    change the history holds (an earlier change would rewrite periods already counted: correct the record
    that holds it instead)."""
    if effective is None:
        return
    errs = ErrorCollector()
    if effective > clock.today():
        errs.add("effective_on", "residents.errors.effective_on_future")
    elif effective < birth:
        errs.add("effective_on", "residents.errors.effective_on_before_birth")
    else:
        since = history.open_since(session, resident.id)
        if since is not None and since != history.SINCE_ALWAYS and effective < since:
            errs.add("effective_on", "residents.errors.effective_on_before_last_change", since=since.isoformat())
    errs.raise_if_any()


def _norm(value: Any) -> Any:
    if isinstance(value, list):
        return sorted(value)
    return value or None


# --- merge ------------------------------------------------------------------------------------------
def merge(*, session: Session, survivor_id: int, merged_id: int, reason: str, actor: Actor,
          confirm_different_id_numbers: bool = False, today: date | None = None) -> ResidentMerge:
    """Record that two records are one person: `merged_id` is retired (status "merged", pointing at the
    survivor) and everything keyed by it moves to the survivor in this transaction — encounters, checks,
    screenings, chronic registrations and follow-ups, referrals, consultations, vaccinations (the engine's
    due dates recomputed), settlements and balances, its children and groups (the domains' movers,
    residents.merging). Conflicts are settled, not refused: of two active registrations of one programme the
    older stays and the other is closed; two doses of one vaccine are both kept, numbered in date order, and
    the engine judges them; one accumulation row per year. Each row moved is listed (resident_merge_moves)
    and audited by record type, so an administrator can undo it (`unmerge`). Both records must be in the
    actor's scope.

    Two records whose identity numbers are both set and differ are, on their face, two people: such a
    merge is refused unless the caller confirms it (`confirm_different_id_numbers`, e.g. one number was
    mistyped but passed the check digit); the reason is required either way.
    """
    actor.require("resident:merge")
    reason = (reason or "").strip()
    errs = ErrorCollector()
    if survivor_id == merged_id:
        errs.add("merged_id", "residents.errors.merge_same")
    if not reason:
        errs.add("reason", "residents.errors.merge_reason_required")
    elif len(reason) > 200:
        errs.add("reason", "residents.errors.merge_reason_too_long", max=200)
    errs.raise_if_any()
    rows = {r.id: r for r in session.scalars(
        select(Resident).where(Resident.id.in_([survivor_id, merged_id]), access.visible(actor)))}
    survivor, merged = rows.get(survivor_id), rows.get(merged_id)
    if survivor is None:
        raise NotFound("residents.errors.not_found", resident_id=survivor_id)
    if merged is None:
        raise NotFound("residents.errors.not_found", resident_id=merged_id)
    for r in (survivor, merged):
        if r.status == "merged":
            raise InvalidState("residents.errors.already_merged", resident_id=r.id)
    if (survivor.id_number and merged.id_number and survivor.id_number != merged.id_number
            and not confirm_different_id_numbers):
        raise InvalidInput("confirm_different_id_numbers", "residents.errors.merge_id_numbers_differ")
    merging.movers()  # not wired: refused before anything is written
    merged.status = "merged"
    merged.merged_into_id = survivor.id
    row = ResidentMerge(survivor_id=survivor.id, merged_id=merged.id, reason=reason, merged_by=actor.username)
    session.add(row)
    session.flush()
    ctx = merging.Context(session, survivor.id, merged.id, today or clock.today(), row)
    moves = merging.move_all(ctx)
    _audit_moves(session, actor, survivor, merged, row, moves, "merge_move")
    moved = merging.counts(moves)
    for this, other in ((survivor, merged), (merged, survivor)):
        accounts_service.audit(
            session=session, actor=actor, action="merge", entity_type="resident", entity_id=this.id,
            resident_id=this.id, basis=access_basis(actor, this.village_code) or "county",
            detail={"survivor_id": survivor.id, "merged_id": merged.id, "other_id": other.id,
                    "reason": reason, "merge_id": row.id, "moved": moved, "notes": merging.notes(moves)})
    return row


def _audit_moves(session: Session, actor: Actor, survivor: Resident, merged: Resident, row: ResidentMerge,
                 moves: list[ResidentMergeMove], action: str) -> None:
    """One event per record type moved, with its count and the rows' ids (the merge's list has their values)."""
    by_entity: dict[str, list[int]] = {}
    for m in moves:
        if m.note != "kept_on_merged":
            by_entity.setdefault(m.entity, []).append(m.row_id)
    basis = access_basis(actor, survivor.village_code) or "county"
    for entity, ids in by_entity.items():
        accounts_service.audit(
            session=session, actor=actor, action=action, entity_type=entity, resident_id=survivor.id, basis=basis,
            detail={"merge_id": row.id, "survivor_id": survivor.id, "merged_id": merged.id, "count": len(ids),
                    "ids": sorted(set(ids))})


def unmerge(*, session: Session, merge_id: int, reason: str, actor: Actor,
            today: date | None = None) -> ResidentMerge:
    """Undo a merge (an administrator: `resident:unmerge`): every row it changed gets back the values it had,
    in reverse order, the merged record is active again, the engine's due dates of both are recomputed, and
    the merge row keeps who undid it and why. Refused (409, naming the record and what changed) when a moved
    row is gone or no longer holds what the merge wrote (moved on by a later merge, say), or when records
    added since rely on the combined history (a dose numbered after the moved ones, a follow-up on a moved
    registration, a settlement on a moved stay or in a combined year)."""
    actor.require("resident:unmerge")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("reason", "residents.errors.unmerge_reason_required")
    if len(reason) > 200:
        raise InvalidInput("reason", "residents.errors.merge_reason_too_long", max=200)
    row = session.get(ResidentMerge, merge_id)
    if row is None:
        raise NotFound("residents.errors.merge_not_found", merge_id=merge_id)
    found = {r.id: r for r in session.scalars(
        select(Resident).where(Resident.id.in_([row.survivor_id, row.merged_id]), access.visible(actor)))}
    if row.survivor_id not in found or row.merged_id not in found:
        raise NotFound("residents.errors.merge_not_found", merge_id=merge_id)
    survivor, merged = found[row.survivor_id], found[row.merged_id]
    if row.undone_at is not None:
        raise InvalidState("residents.errors.unmerge_already", merge_id=merge_id)
    if survivor.status == "merged":
        raise InvalidState("residents.errors.unmerge_survivor_merged", resident_id=survivor.id,
                           into=survivor.merged_into_id)
    ctx = merging.Context(session, survivor.id, merged.id, today or clock.today(), row)
    moves = merging.moves_of(session, row.id)
    problems = merging.undo_problems(ctx, moves)
    if problems:
        raise merging.UndoRefused(problems)
    merged.status = "active"
    merged.merged_into_id = None
    row.undone_at, row.undone_by, row.undo_reason = clock.now(), actor.username, reason
    session.flush()
    merging.restore_all(ctx, moves)
    _audit_moves(session, actor, survivor, merged, row, moves, "merge_undo")
    for this in (survivor, merged):
        accounts_service.audit(
            session=session, actor=actor, action="unmerge", entity_type="resident", entity_id=this.id,
            resident_id=this.id, basis=access_basis(actor, this.village_code) or "county",
            detail={"merge_id": row.id, "survivor_id": survivor.id, "merged_id": merged.id, "reason": reason,
                    "moved_back": merging.counts(moves)})
    return row


@dataclass(frozen=True)
class MergeReview:
    """A merge as its review page shows it: the two records, what moved (record type → rows), the
    conflicts settled (note → rows)."""

    merge: ResidentMerge
    survivor: Resident
    merged: Resident
    moved: dict[str, int]
    notes: dict[str, int]


def merge_review(*, session: Session, merge_id: int, actor: Actor) -> MergeReview:
    """One merge, both records in the actor's scope (else 404, as a missing one); audited as a read of both."""
    actor.require("resident:merge")
    row = session.get(ResidentMerge, merge_id)
    found = {} if row is None else {r.id: r for r in session.scalars(
        select(Resident).where(Resident.id.in_([row.survivor_id, row.merged_id]), access.visible(actor)))}
    if row is None or row.survivor_id not in found or row.merged_id not in found:
        raise NotFound("residents.errors.merge_not_found", merge_id=merge_id)
    moves = merging.moves_of(session, row.id)
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="resident",
                           entity_id=row.survivor_id, resident_id=row.survivor_id, basis=scope_basis(actor),
                           detail={"merge_id": row.id}, shown=[row.survivor_id, row.merged_id])
    return MergeReview(row, found[row.survivor_id], found[row.merged_id], merging.counts(moves),
                       merging.notes(moves))


__all__ = [
    "MergeContext", "MergeReview", "Moved", "Mover", "ResidentMergeMove", "add_mover", "merge_review",
    "reassign", "unmerge", "UndoProblems",
    "OPEN_END", "SINCE_ALWAYS", "ResidentResidence", "Stay", "active_runs", "lived_on", "open_missing", "stays_of",
    "village_on",
    "COUNT_CAP", "GROUPS_FILE", "MAX_PAGE_SIZE", "RELATIONS", "SCHEMES", "SEXES", "Household", "Resident",
    "ResidentCreate", "ResidentData", "ResidentMerge", "ResidentUpdate", "access_basis", "birth_dates",
    "MAX_MATCHES", "Match", "ProbableDuplicate", "ResidentDistinctPair",
    "births_by_month", "check_resident", "create", "current_values", "get", "group_code", "groups", "merge",
    "mark_distinct", "merges_into", "names_for_audit", "pinyin_keys", "probable_duplicate_pairs",
    "probable_duplicates", "population", "population_groups", "population_records",
    "reindex_name_keys", "relation_code", "scope_basis", "search", "update", "validate", "village_names",
    "villages_in_scope", "years_before",
]
