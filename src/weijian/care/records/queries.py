"""Reads of the health record: the resident a care form is about (and on what basis the actor sees them), one
encounter, a resident's encounters, one health check or screening, and the facilities a form offers. Every
read checks access through residents.access and is audited with its basis, in the caller's transaction."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from weijian.accounts import service as accounts_service
from weijian.care.models import Diagnosis, Encounter, HealthCheck, Screening
from weijian.care.records.schemas import ENCOUNTER_TYPES
from weijian.core.actor import Actor
from weijian.core.errors import InvalidInput, NotFound
from weijian.core.hooks import Hook
from weijian.core.identifiers import division_level
from weijian.orgunits import service as orgunits_service
from weijian.residents import access

MAX_ENCOUNTERS = 500
# The basis of a facility that received the patient on a referral now completed: it reads what it recorded
# (care.referrals.access_basis_for) and adds nothing new (service._writable_resident).
READ_ONLY_BASIS = "referral_record"


@dataclass(frozen=True)
class ResidentFacts:
    """What the care rules need of a resident, and why the actor may see them."""

    id: int
    name: str
    sex: str
    birth_date: date
    village_code: str
    status: str
    basis: str


def is_county_level(actor: Actor) -> bool:
    """The system, or a user whose scope is a whole county: may record at any facility of the scope."""
    return actor.scope_code is None or division_level(actor.scope_code) == "county"


def resident_facts(*, session: Session, actor: Actor, resident_id: int, walk_in: bool = False) -> ResidentFacts:
    """The resident if the actor may see their health record (scope first, then a received referral or
    consultation, then — `walk_in`, for the visit a village doctor records or has recorded — a walk-in from
    a neighbouring village: residents.access); NotFound otherwise, exactly as for a missing id. Not
    audited: the caller logs the read it makes."""
    row, basis = access.resident_in_scope(session=session, actor=actor, resident_id=resident_id, shared=True,
                                          walk_in=walk_in)
    return ResidentFacts(row.id, row.name, row.sex, row.birth_date, row.village_code, row.status, basis)


def resident_for_care(*, session: Session, resident_id: int, actor: Actor, write: bool = False,
                      walk_in: bool = False) -> ResidentFacts:
    """The resident a care form is about (name, sex, age), if the actor may read (or write) their health
    record (`walk_in`: the visit form, open to a walk-in from a neighbouring village); logged as a read of
    the resident."""
    actor.require("care:write" if write else "care:read")
    facts = resident_facts(session=session, actor=actor, resident_id=resident_id, walk_in=walk_in)
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="resident",
                           entity_id=facts.id, resident_id=facts.id, basis=facts.basis)
    return facts



# diagnosis_hidden(actor=, code=) -> True when the actor may not see that diagnosis on the record (care.mental:
# the six severe mental illnesses, for a reader without mental:read); provided by weijian.wiring.
diagnosis_hidden: Hook[Callable[..., bool]] = Hook("care.records.diagnosis_hidden")


def hidden_codes(actor: Actor, codes: Iterable[str | None]) -> set[str]:
    """The diagnosis codes among `codes` the actor may not see (shown as "diagnosis hidden")."""
    return {c for c in codes if c and diagnosis_hidden(actor=actor, code=c)}


def encounter_in_scope(*, session: Session, actor: Actor, encounter_id: int) -> tuple[Encounter, ResidentFacts]:
    """The encounter with its diagnoses and its resident, if the actor may see the resident's record; NotFound
    otherwise (outside the scope the encounter does not exist for the actor, as a resident does not)."""
    encounter = session.scalar(select(Encounter).where(Encounter.id == encounter_id)
                               .options(selectinload(Encounter.diagnoses)))
    if encounter is None:
        raise NotFound("care.records.errors.encounter_not_found", encounter_id=encounter_id)
    try:
        resident = resident_facts(session=session, actor=actor, resident_id=encounter.resident_id,
                                  walk_in=recorded_here(actor, encounter))
    except NotFound:
        raise NotFound("care.records.errors.encounter_not_found", encounter_id=encounter_id) from None
    return encounter, resident


def recorded_here(actor: Actor, entry: Any) -> bool:
    """An entry of the actor's own facility: a walk-in's visit stays readable by who recorded it."""
    return entry.facility_id is not None and entry.facility_id == actor.facility_id


def may_change(*, session: Session, actor: Actor, facility_id: int | None) -> bool:
    """May the actor correct or void an entry recorded at `facility_id` (None: outside the county)? The rule
    of recording it (service._recorded_place): care:write, and their own facility — a county-level actor any
    facility of their scope, and only they an entry outside the county. The pages offer the buttons by it;
    the service decides again on the write."""
    if not actor.can("care:write"):
        return False
    if is_county_level(actor):
        if facility_id is None:
            return True
        facility = orgunits_service.get_facility(session=session, facility_id=facility_id)
        return facility is not None and orgunits_service.in_scope(scope_code=actor.scope_code,
                                                                   code=facility.orgunit_code)
    return facility_id is not None and facility_id == actor.facility_id


def get_encounter(*, session: Session, encounter_id: int, actor: Actor) -> Encounter:
    """One encounter with its diagnoses, logged as a read of the resident's record."""
    actor.require("care:read")
    encounter, resident = encounter_in_scope(session=session, actor=actor, encounter_id=encounter_id)
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="encounter",
                           entity_id=encounter.id, resident_id=resident.id, basis=resident.basis)
    return encounter


def list_encounters(*, session: Session, resident_id: int, actor: Actor, type: str | None = None,
                    limit: int = 100) -> list[Encounter]:
    """A resident's encounters, newest first (at most `limit`), logged as one read."""
    actor.require("care:read")
    if type is not None and type not in ENCOUNTER_TYPES:
        raise InvalidInput("type", "care.records.errors.encounter_type_unknown", value=type)
    resident = resident_facts(session=session, actor=actor, resident_id=resident_id)
    stmt = (select(Encounter).where(Encounter.resident_id == resident.id)
            .order_by(Encounter.start_date.desc(), Encounter.id.desc()).limit(max(1, min(limit, MAX_ENCOUNTERS)))
            .options(selectinload(Encounter.diagnoses)))
    if type is not None:
        stmt = stmt.where(Encounter.type == type)
    items = list(session.scalars(stmt))
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="encounter",
                           resident_id=resident.id, basis=resident.basis,
                           detail={"type": type, "count": len(items)})
    return items


def stay_overlapping(*, session: Session, resident_id: int, start: date, end: date | None,
                     other_than: int | None = None) -> Encounter | None:
    """The first inpatient stay (not voided, not `other_than`) of the resident that overlaps [start, end):
    a stay occupies [admission, discharge), at least its admission day; None runs on."""
    E = Encounter
    last = (end if end is not None and end > start else start + timedelta(days=1))
    stmt = (select(E).where(E.resident_id == resident_id, E.type == "inpatient", E.voided_at.is_(None),
                            E.start_date < last,
                            # the other stay's end, at least a day after its start, is after `start`
                            (E.end_date.is_(None)) | (E.end_date > start) | (E.start_date >= start))
            .order_by(E.start_date, E.id).limit(1))
    if other_than is not None:
        stmt = stmt.where(E.id != other_than)
    return session.scalar(stmt)


def other_live_codes(*, session: Session, resident_id: int, other_than: int) -> list[str]:
    """The diagnosis codes of the resident's encounters that are not voided, but for `other_than`."""
    return list(session.scalars(
        select(Diagnosis.code).join(Encounter, Encounter.id == Diagnosis.encounter_id)
        .where(Encounter.resident_id == resident_id, Encounter.voided_at.is_(None), Encounter.id != other_than)
        .distinct()))


def _read_one(session: Session, actor: Actor, model: type[Any], entity_type: str, entity_id: int,
              not_found: str) -> Any:
    actor.require("care:read")
    row: Any = session.get(model, entity_id)
    if row is None:
        raise NotFound(not_found, id=entity_id)
    try:
        resident = resident_facts(session=session, actor=actor, resident_id=row.resident_id)
    except NotFound:
        raise NotFound(not_found, id=entity_id) from None
    accounts_service.audit(session=session, actor=actor, action="read", entity_type=entity_type,
                           entity_id=row.id, resident_id=resident.id, basis=resident.basis)
    return row


def get_health_check(*, session: Session, health_check_id: int, actor: Actor) -> HealthCheck:
    return _read_one(session, actor, HealthCheck, "health_check", health_check_id,
                     "care.records.errors.health_check_not_found")


def get_screening(*, session: Session, screening_id: int, actor: Actor) -> Screening:
    return _read_one(session, actor, Screening, "screening", screening_id, "care.records.errors.screening_not_found")


def facility_choices(*, session: Session, actor: Actor) -> list[tuple[int, str]]:
    """(id, name) of the facilities the actor may record at: their own, or — for a county-level actor —
    every facility of their scope."""
    if is_county_level(actor):
        under = actor.scope_code
        return [(f.id, f.name) for f in orgunits_service.list_facilities(session=session, under=under)]
    own = orgunits_service.get_facility(session=session, facility_id=actor.facility_id) if actor.facility_id else None
    return [(own.id, own.name)] if own is not None else []
