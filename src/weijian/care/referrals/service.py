"""Writes of two-way referral: a referral up or down the care tiers, the downward referral back home after an
upward one, and the state machine — the receiving facility's answer under an optimistic lock, the sender's
cancel — with `allowed_actions`, the one statement of what a user may do with a referral now (the pages show
exactly these buttons).

States: requested → accepted | rejected → arrived (接诊) → completed (discharge summary); the sender may cancel
while requested; an accepted referral whose patient has not arrived within referrals.yaml's arrival_days is
expired (on read at once, stored by the daily `expire`). Arrival links or records the receiving facility's
encounter (care.records); only the tiers referrals.yaml names refer out of the county directly. Only the
receiving facility answers; for a referral outside the county (no receiver in the system) the sending facility
records the outside hospital's answer.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import false, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from weijian.accounts import service as accounts_service
from weijian.care.models import Diagnosis, Encounter, Referral, Teleconsultation
from weijian.care.records import service as records
from weijian.care.records.schemas import EncounterCreate
from weijian.care.referrals.queries import (
    actor_facility,
    clinician_name,
    is_visible,
    record_extract,
    referable_resident,
    summary_text,
)
from weijian.care.referrals.rules import expired_condition, is_expired, rules, tier_label_key, tier_of
from weijian.care.referrals.schemas import (
    ActionIn,
    ArriveIn,
    CompleteIn,
    DownwardCreate,
    ReferralCreate,
    RejectIn,
)
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.commands import build
from weijian.core.errors import Conflict, ErrorCollector, Forbidden, InvalidInput, InvalidState, NotFound
from weijian.orgunits import service as orgunits_service
from weijian.orgunits.models import Facility
from weijian.residents.models import Resident

T = TypeVar("T", Referral, Teleconsultation)


# --- create ---------------------------------------------------------------------------------------
def create(*, session: Session, referral_in: ReferralCreate, actor: Actor, now: datetime | None = None) -> Referral:
    """Refer a resident from the actor's facility to another facility (and department) or outside the county.
    The direction must match the tiers; the latest encounters of the record are appended to the summary."""
    actor.require("referral:create")
    cmd = referral_in
    return _create(session=session, actor=actor, now=now or clock.now(), parent=None,
                   resident_id=cmd.resident_id, direction=cmd.direction, to_facility_id=cmd.to_facility_id,
                   to_department=cmd.to_department, out_of_county=cmd.out_of_county,
                   outside_facility_name=cmd.outside_facility_name, reason=cmd.reason, diagnosis=cmd.diagnosis,
                   urgency=cmd.urgency, note=cmd.summary)


def create_downward(*, session: Session, referral_id: int, downward_in: DownwardCreate, actor: Actor,
                    now: datetime | None = None) -> Referral:
    """After a completed upward referral, the facility that received it refers the patient back down to the
    home village or township (by default the facility that sent them up) for rehabilitation and follow-up.
    The diagnosis defaults to the upward one's, the summary to its discharge summary."""
    actor.require("referral:create")
    parent = _load(session, referral_id, actor)
    if parent.out_of_county or actor.facility_id is None or parent.to_facility_id != actor.facility_id:
        raise Forbidden("care.referrals.errors.not_receiver")
    if parent.direction != "up" or parent.status != "completed":
        raise InvalidState("care.referrals.errors.downward_needs_completed_upward")
    taken = session.scalar(select(Referral.id).where(Referral.parent_id == parent.id,
                                                     Referral.status.not_in(("rejected", "cancelled"))))
    if taken is not None:
        raise Conflict("care.referrals.errors.downward_exists", referral_id=taken)
    cmd = downward_in
    return _create(session=session, actor=actor, now=now or clock.now(), parent=parent,
                   resident_id=parent.resident_id, direction="down",
                   # back to the facility that sent the patient up, unless another is chosen
                   to_facility_id=cmd.to_facility_id or parent.from_facility_id,
                   to_department=cmd.to_department, out_of_county=False, outside_facility_name=None,
                   reason=cmd.reason, diagnosis=cmd.diagnosis or parent.diagnosis, urgency=cmd.urgency,
                   note=cmd.summary or parent.discharge_summary)


def _create(*, session: Session, actor: Actor, now: datetime, parent: Referral | None, resident_id: int,
            direction: str, to_facility_id: int | None, to_department: str | None, out_of_county: bool,
            outside_facility_name: str | None, reason: str | None, diagnosis: str | None, urgency: str,
            note: str | None) -> Referral:
    from_facility = actor_facility(session, actor)
    from_tier = tier_of(from_facility.type)
    if from_tier is None:
        raise Forbidden("care.referrals.errors.not_care_facility_actor")
    errs = ErrorCollector()
    to_facility = None
    to_tier: int | None = None
    if out_of_county:
        if not rules().may_refer_out_of_county(from_tier):
            errs.add("out_of_county", "care.referrals.errors.out_of_county_from_tier",
                     tier=tier_label_key(from_tier),
                     # the tier the patient must go through (the first listed, county by default)
                     allowed=f"@care.referrals.tiers.{rules().out_of_county_from[0]}")
        if to_facility_id is not None:
            errs.add("to_facility_id", "care.referrals.errors.out_of_county_with_facility")
        if outside_facility_name is None:
            errs.add("outside_facility_name", "core.errors.validation.missing")
        to_tier = rules().tiers["beyond"]
    elif to_facility_id is None:
        errs.add("to_facility_id", "core.errors.validation.missing")
    else:
        to_facility = orgunits_service.get_facility(session=session, facility_id=to_facility_id)
        if to_facility is None:
            errs.add("to_facility_id", "care.referrals.errors.facility_unknown", value=to_facility_id)
        else:
            to_tier = tier_of(to_facility.type)
            if to_tier is None:
                errs.add("to_facility_id", "care.referrals.errors.not_care_facility", name=to_facility.name)
    if to_tier is not None:
        if to_tier == from_tier:
            errs.add("to_facility_id", "care.referrals.errors.same_tier", tier=tier_label_key(to_tier))
        else:
            expected = "up" if to_tier > from_tier else "down"
            if direction != expected:
                errs.add("direction", "care.referrals.errors.direction_mismatch",
                         direction=f"@care.referrals.directions.{direction}",
                         expected=f"@care.referrals.directions.{expected}",
                         from_tier=tier_label_key(from_tier), to_tier=tier_label_key(to_tier))
    if reason is None:
        errs.add("reason", "core.errors.validation.missing")
    if diagnosis is None:
        errs.add("diagnosis", "core.errors.validation.missing")
    errs.raise_if_any()

    if parent is None:
        resident, basis = referable_resident(session=session, actor=actor, resident_id=resident_id)
    else:
        resident, basis = session.get(Resident, resident_id), "referral"
        if to_facility is not None and not _serves_home(session, to_facility, resident.village_code):
            raise InvalidInput("to_facility_id", "care.referrals.errors.not_home_facility", name=to_facility.name)
    extract = record_extract(session=session, resident_id=resident.id)
    referral = Referral(
        resident_id=resident.id, direction=direction, from_facility_id=from_facility.id,
        from_clinician_id=actor.user_id, from_clinician_name=clinician_name(session, actor),
        to_facility_id=to_facility.id if to_facility is not None else None, to_department=to_department,
        out_of_county=out_of_county, outside_facility_name=outside_facility_name if out_of_county else None,
        reason=reason, diagnosis=diagnosis, urgency=urgency, summary=summary_text(note, extract),
        status="requested", requested_at=now, parent_id=parent.id if parent is not None else None,
    )
    session.add(referral)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="referral",
                           entity_id=referral.id, resident_id=resident.id, basis=basis,
                           detail={"direction": direction, "to_facility_id": referral.to_facility_id,
                                   "out_of_county": out_of_county, "parent_id": referral.parent_id,
                                   "record_extract": [e["encounter_id"] for e in extract]})
    return referral


def _serves_home(session: Session, facility: Facility, village_code: str) -> bool:
    """Whether a facility is at the resident's village or the village's township."""
    unit = orgunits_service.get(session=session, code=village_code)
    return facility.orgunit_code in {village_code, unit.parent_code if unit is not None else None}


# --- the state machine (shared with teleconsult) --------------------------------------------------------
def require_status(row: Referral | Teleconsultation, *, area: str, action: str, allowed_from: Sequence[str],
                   to_status: str) -> None:
    """Conflict when `row` is already in `to_status`, InvalidState when its status does not allow `action`.
    `area`: "referrals" or "teleconsult", whose words name the status and the action."""
    if row.status not in allowed_from:
        if row.status == to_status:
            raise Conflict("care.referrals.errors.already", status=f"@care.{area}.statuses.{to_status}")
        raise InvalidState(f"care.{area}.errors.bad_transition", status=f"@care.{area}.statuses.{row.status}",
                           action=f"@care.{area}.actions.{action}")


def transition(session: Session, row: T, *, area: str, entity_type: str, action: str,
               allowed_from: Sequence[str], to_status: str, actor: Actor, version: int | None,
               apply: Callable[[T], None], detail: dict[str, Any] | None = None) -> T:
    """Move a referral or consultation to `to_status` if its current status allows `action`, under the
    optimistic lock: the UPDATE matches only the version this session read, so of two simultaneous answers
    exactly one lands and the other gets Conflict. Audited with the row's own kind as the basis."""
    require_status(row, area=area, action=action, allowed_from=allowed_from, to_status=to_status)
    if version is not None and version != row.version:
        raise Conflict("care.referrals.errors.stale_version")
    savepoint = session.begin_nested()
    apply(row)
    row.status = to_status
    try:
        session.flush()
    except StaleDataError:
        savepoint.rollback()
        raise Conflict("care.referrals.errors.concurrent_change", action=f"@care.{area}.actions.{action}") from None
    savepoint.commit()
    accounts_service.audit(session=session, actor=actor, action=action, entity_type=entity_type,
                           entity_id=row.id, resident_id=row.resident_id, basis=entity_type, detail=detail)
    return row


def _move(session: Session, referral: Referral, *, action: str, allowed_from: tuple[str, ...], to_status: str,
          actor: Actor, version: int | None, apply: Callable[[Referral], None],
          detail: dict[str, Any] | None = None) -> Referral:
    return transition(session, referral, area="referrals", entity_type="referral", action=action,
                      allowed_from=allowed_from, to_status=to_status, actor=actor, version=version, apply=apply,
                      detail=detail)


# --- the receiver's answer, the sender's cancel -----------------------------------------------------
def _load(session: Session, referral_id: int, actor: Actor) -> Referral:
    # populate_existing: the status is checked on the row as it is now, not on an object read earlier in
    # this session; the version read here is the one the UPDATE must still find. A referral the actor may
    # not see answers exactly as a missing one (404) for every verb, as `get` does: no existence oracle.
    referral = session.get(Referral, referral_id, populate_existing=True)
    if referral is None or not is_visible(session, referral_id, actor):
        raise NotFound("care.referrals.errors.not_found", referral_id=referral_id)
    return referral


def _answering_facility(referral: Referral) -> int | None:
    # Outside the county nobody receives in weijian: the sender records what the outside hospital did.
    return referral.from_facility_id if referral.out_of_county else referral.to_facility_id


def _for_receiver(session: Session, referral_id: int, actor: Actor) -> Referral:
    actor.require("referral:respond")
    referral = _load(session, referral_id, actor)
    if actor.facility_id is None or actor.facility_id != _answering_facility(referral):
        raise Forbidden("care.referrals.errors.not_receiver")
    return referral


def _version(action_in: ActionIn | None) -> int | None:
    return action_in.version if action_in is not None else None


def accept(*, session: Session, referral_id: int, actor: Actor, action_in: ActionIn | None = None,
           now: datetime | None = None) -> Referral:
    """The receiving facility takes the patient. `action_in.version`: the version the user saw (optional)."""
    referral = _for_receiver(session, referral_id, actor)
    now = now or clock.now()

    def apply(r: Referral) -> None:
        r.responded_at, r.responded_by = now, actor.username

    return _move(session, referral, action="accept", allowed_from=("requested",), to_status="accepted",
                 actor=actor, version=_version(action_in), apply=apply)


def reject(*, session: Session, referral_id: int, reject_in: RejectIn, actor: Actor,
           now: datetime | None = None) -> Referral:
    """The receiving facility refuses, with a reason the sender reads."""
    referral = _for_receiver(session, referral_id, actor)
    require_status(referral, area="referrals", action="reject", allowed_from=("requested",), to_status="rejected")
    if reject_in.reason is None:
        raise InvalidInput("reject_reason", "core.errors.validation.missing")
    now = now or clock.now()

    def apply(r: Referral) -> None:
        r.responded_at, r.responded_by, r.reject_reason = now, actor.username, reject_in.reason

    return _move(session, referral, action="reject", allowed_from=("requested",), to_status="rejected",
                 actor=actor, version=reject_in.version, apply=apply)


def arrive(*, session: Session, referral_id: int, actor: Actor, action_in: ArriveIn | ActionIn | None = None,
           now: datetime | None = None) -> Referral:
    """The patient has arrived and been received (接诊). In the county, the receiving facility's encounter is
    linked to the referral: the one named (`ArriveIn.encounter_id`) or one recorded now through care.records,
    so the care given on the referral is in the record and in the facility's tallies. Outside the county, this
    records the stay there."""
    referral = _for_receiver(session, referral_id, actor)
    require_status(referral, area="referrals", action="arrive", allowed_from=("accepted",), to_status="arrived")
    now = now or clock.now()
    if is_expired(referral, now):
        raise InvalidState("care.referrals.errors.arrival_expired", days=rules().arrival_days)
    arrive_in = action_in if isinstance(action_in, ArriveIn) else None
    detail: dict[str, Any] | None = None
    if not referral.out_of_county:
        encounter, created = _receiving_encounter(session, referral, actor, arrive_in, now)
        encounter.referral_id = referral.id
        session.flush()
        detail = {"encounter_id": encounter.id, "encounter_created": created}

    def apply(r: Referral) -> None:
        r.arrived_at = now

    _move(session, referral, action="arrive", allowed_from=("accepted",), to_status="arrived", actor=actor,
          version=_version(action_in), apply=apply, detail=detail)
    if referral.out_of_county:
        _record_outside_stay(session, referral, actor, now)
    return referral


def _receiving_encounter(session: Session, referral: Referral, actor: Actor, arrive_in: ArriveIn | None,
                         now: datetime) -> tuple[Encounter, bool]:
    """(encounter, created): the encounter named on arrival, if it is this patient's at the receiving facility,
    not already linked to another referral and not before the referral; else a new one (records' rules)."""
    today = clock.local_date(now)
    if arrive_in is not None and arrive_in.encounter_id is not None:
        encounter = session.get(Encounter, arrive_in.encounter_id)
        if encounter is None or encounter.resident_id != referral.resident_id \
                or encounter.facility_id != referral.to_facility_id:
            raise InvalidInput("encounter_id", "care.referrals.errors.arrival_encounter_not_here",
                               encounter_id=arrive_in.encounter_id)
        if encounter.voided_at is not None:
            raise InvalidInput("encounter_id", "care.referrals.errors.arrival_encounter_voided",
                               encounter_id=encounter.id)
        if encounter.referral_id is not None and encounter.referral_id != referral.id:
            raise InvalidInput("encounter_id", "care.referrals.errors.arrival_encounter_linked",
                               encounter_id=encounter.id, referral_id=encounter.referral_id)
        if encounter.start_date < clock.local_date(referral.requested_at):
            raise InvalidInput("encounter_id", "care.referrals.errors.arrival_encounter_before_referral",
                               date=clock.local_date(referral.requested_at).isoformat())
        return encounter, False
    kind = arrive_in.encounter_type if arrive_in is not None and arrive_in.encounter_type else \
        ("inpatient" if referral.direction == "up" else "outpatient")
    encounter_in = build(EncounterCreate, {
        "resident_id": referral.resident_id, "type": kind, "facility_id": referral.to_facility_id,
        "department": referral.to_department, "start_date": today,
        "diagnoses": [referral.diagnosis] if referral.diagnosis else []})
    return records.create_encounter(session=session, encounter_in=encounter_in, actor=actor, today=today), True


def _record_outside_stay(session: Session, referral: Referral, actor: Actor, now: datetime) -> None:
    """An inpatient stay outside the county (no facility_id), linked to the referral: the county retention rate
    (care.records.figures) counts it against the county. Discharged when the referral is completed."""
    stay = Encounter(resident_id=referral.resident_id, facility_id=None,
                     outside_facility_name=referral.outside_facility_name, type="inpatient",
                     start_date=clock.local_date(now), primary_diagnosis=referral.diagnosis,
                     note=referral.reason, referral_id=referral.id, created_by=actor.username,
                     diagnoses=[Diagnosis(seq=1, code=referral.diagnosis)] if referral.diagnosis else [])
    session.add(stay)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="encounter",
                           entity_id=stay.id, resident_id=referral.resident_id, basis="referral",
                           detail={"referral_id": referral.id, "outside_facility_name": stay.outside_facility_name})


def complete(*, session: Session, referral_id: int, complete_in: CompleteIn, actor: Actor,
             now: datetime | None = None) -> Referral:
    """Care at the receiving facility is over (discharged), with a discharge summary."""
    referral = _for_receiver(session, referral_id, actor)
    require_status(referral, area="referrals", action="complete", allowed_from=("arrived",),
                   to_status="completed")
    if complete_in.discharge_summary is None:
        raise InvalidInput("discharge_summary", "core.errors.validation.missing")
    now = now or clock.now()

    def apply(r: Referral) -> None:
        r.completed_at, r.discharge_summary = now, complete_in.discharge_summary

    _move(session, referral, action="complete", allowed_from=("arrived",), to_status="completed", actor=actor,
          version=complete_in.version, apply=apply)
    if referral.out_of_county:
        for stay in session.scalars(select(Encounter).where(Encounter.referral_id == referral.id,
                                                            Encounter.facility_id.is_(None),
                                                            Encounter.end_date.is_(None))):
            stay.end_date = max(stay.start_date, clock.local_date(now))
        session.flush()
    return referral


def cancel(*, session: Session, referral_id: int, actor: Actor, action_in: ActionIn | None = None,
           now: datetime | None = None) -> Referral:
    """The sending facility withdraws a referral nobody has answered yet."""
    actor.require("referral:create")
    referral = _load(session, referral_id, actor)
    if actor.facility_id is None or actor.facility_id != referral.from_facility_id:
        raise Forbidden("care.referrals.errors.not_sender")
    now = now or clock.now()

    def apply(r: Referral) -> None:
        r.responded_at, r.responded_by = now, actor.username

    return _move(session, referral, action="cancel", allowed_from=("requested",), to_status="cancelled",
                 actor=actor, version=_version(action_in), apply=apply)


def expire(*, session: Session, actor: Actor, now: datetime | None = None) -> list[Referral]:
    """The daily job (`weijian referrals expire`): store as expired each accepted referral whose patient has
    not arrived within the rules' arrival_days of the acceptance (reads already treat it so). Audited one by
    one as an expiry (action "expire"), with the reason. An actor with a scope (a desk clerk) expires only
    its facility's."""
    now = now or clock.now()
    actor.require("referral:respond")
    stmt = select(Referral).where(expired_condition(now)).order_by(Referral.id)
    if actor.scope_code is not None:
        stmt = stmt.where(Referral.to_facility_id == actor.facility_id if actor.facility_id else false())
    due = list(session.scalars(stmt))
    for referral in due:
        transition(session, referral, area="referrals", entity_type="referral", action="expire",
                   allowed_from=("accepted",), to_status="expired", actor=actor, version=None,
                   apply=lambda r: None,
                   detail={"reason": "not_arrived", "arrival_days": rules().arrival_days})
    return due


def allowed_actions(referral: Referral, actor: Actor, *, children: Sequence[Referral] = (),
                    now: datetime | None = None) -> list[str]:
    """What the actor may do with a referral now: accept, reject, arrive, complete, cancel, downward (the pages
    show exactly these buttons; the service decides). `children`: the downward referrals already made from it
    (one that is not rejected or cancelled means no second one)."""
    out: list[str] = []
    here = actor.facility_id
    if here is not None and here == _answering_facility(referral) and actor.can("referral:respond"):
        out += {"requested": ["accept", "reject"],
                "accepted": [] if is_expired(referral, now or clock.now()) else ["arrive"],
                "arrived": ["complete"]}.get(referral.status, [])
    if here is not None and actor.can("referral:create"):
        if referral.status == "requested" and here == referral.from_facility_id:
            out.append("cancel")
        if referral.direction == "up" and referral.status == "completed" and not referral.out_of_county \
                and here == referral.to_facility_id \
                and not any(k.status not in ("rejected", "cancelled") for k in children):
            out.append("downward")
    return out
