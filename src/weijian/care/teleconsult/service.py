"""Writes of remote consultation (远程会诊): a village or township clinician asks a county facility's
department about a resident, with extracts of the record attached; the county side assigns a specialist and
a time; the specialist's opinion is written back into the resident's record (the answered consultation is a
record entry, teleconsult.queries).

States: requested → scheduled → answered; the requesting facility may cancel while requested. A request not
scheduled within its urgency's limit (care/data/referrals.yaml) is overdue, as for referrals. The moves go
through the referral's state machine (referrals.service.transition: the optimistic lock, the audit).
"""
from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.care.models import Teleconsultation
from weijian.care.referrals import queries as referrals_queries
from weijian.care.referrals import service as referrals_service
from weijian.care.referrals.rules import URGENCIES, rules, tier_of
from weijian.care.teleconsult.queries import is_visible
from weijian.care.teleconsult.schemas import AnswerIn, ConsultationAction, ConsultationRequest, ScheduleIn
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import ErrorCollector, Forbidden, InvalidInput, NotFound
from weijian.orgunits import service as orgunits_service


# --- request --------------------------------------------------------------------------------------
def request(*, session: Session, consultation_in: ConsultationRequest, actor: Actor,
            now: datetime | None = None) -> Teleconsultation:
    """Ask a county facility's department, attaching the chosen encounters (the latest ones when none are
    chosen)."""
    actor.require("consult:request")
    now = now or clock.now()
    cmd = consultation_in
    facility = referrals_queries.actor_facility(session, actor)
    if rules().tier_name(tier_of(facility.type)) not in rules().consult_from:
        raise Forbidden("care.teleconsult.errors.requester_tier")
    errs = ErrorCollector()
    to_facility = None
    if cmd.to_facility_id is None:
        errs.add("to_facility_id", "core.errors.validation.missing")
    else:
        to_facility = orgunits_service.get_facility(session=session, facility_id=cmd.to_facility_id)
        if to_facility is None:
            errs.add("to_facility_id", "care.referrals.errors.facility_unknown", value=cmd.to_facility_id)
        elif rules().tier_name(tier_of(to_facility.type)) not in rules().consult_to:
            errs.add("to_facility_id", "care.teleconsult.errors.to_tier", name=to_facility.name)
    for name in ("department", "question"):
        if getattr(cmd, name) is None:
            errs.add(name, "core.errors.validation.missing")
    if cmd.urgency not in URGENCIES:
        errs.add("urgency", "care.referrals.errors.urgency_unknown", value=cmd.urgency)
    errs.raise_if_any()
    resident, basis = referrals_queries.referable_resident(session=session, actor=actor,
                                                           resident_id=cmd.resident_id)
    extract = referrals_queries.record_extract(session=session, resident_id=resident.id,
                                               encounter_ids=cmd.encounter_ids)
    consultation = Teleconsultation(
        resident_id=resident.id, from_facility_id=facility.id, requester_id=actor.user_id,
        requester_name=referrals_queries.clinician_name(session, actor), to_facility_id=to_facility.id,
        department=cmd.department, urgency=cmd.urgency, question=cmd.question,
        extracts=json.dumps(extract, ensure_ascii=False), status="requested", requested_at=now,
    )
    session.add(consultation)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="teleconsultation",
                           entity_id=consultation.id, resident_id=resident.id, basis=basis,
                           detail={"to_facility_id": to_facility.id, "department": cmd.department,
                                   "record_extract": [e["encounter_id"] for e in extract]})
    return consultation


# --- the county side: schedule and answer ------------------------------------------------------------
def _load(session: Session, consultation_id: int, actor: Actor) -> Teleconsultation:
    # One the actor may not see answers exactly as a missing one (404) for every verb, as `get` does.
    consultation = session.get(Teleconsultation, consultation_id, populate_existing=True)
    if consultation is None or not is_visible(session, consultation_id, actor):
        raise NotFound("care.teleconsult.errors.not_found", consultation_id=consultation_id)
    return consultation


def _for_receiver(session: Session, consultation_id: int, actor: Actor) -> Teleconsultation:
    actor.require("consult:answer")
    consultation = _load(session, consultation_id, actor)
    if actor.facility_id is None or actor.facility_id != consultation.to_facility_id:
        raise Forbidden("care.teleconsult.errors.not_receiver")
    return consultation


def _move(session: Session, consultation: Teleconsultation, *, action: str, allowed_from: tuple[str, ...],
          to_status: str, actor: Actor, version: int | None,
          apply: Callable[[Teleconsultation], None]) -> Teleconsultation:
    return referrals_service.transition(session, consultation, area="teleconsult", entity_type="teleconsultation",
                                        action=action, allowed_from=allowed_from, to_status=to_status,
                                        actor=actor, version=version, apply=apply)


def schedule(*, session: Session, consultation_id: int, schedule_in: ScheduleIn, actor: Actor,
             now: datetime | None = None) -> Teleconsultation:
    """The county facility assigns a specialist (specialist_id, or specialist_username) of its own staff and a
    time (not before the request). Re-scheduling is allowed until answered."""
    consultation = _for_receiver(session, consultation_id, actor)
    cmd = schedule_in
    errs = ErrorCollector()
    specialist = None
    if cmd.specialist_id is None and cmd.specialist_username is None:
        errs.add("specialist_id", "core.errors.validation.missing")
    else:
        by_id = cmd.specialist_id is not None
        specialist = (accounts_service.get(session=session, user_id=cmd.specialist_id) if by_id
                      else accounts_service.get_by_username(session=session, username=cmd.specialist_username))
        field = "specialist_id" if by_id else "specialist_username"
        if specialist is None or not specialist.is_active:
            errs.add(field, "care.teleconsult.errors.specialist_unknown",
                     value=cmd.specialist_id if by_id else cmd.specialist_username)
            specialist = None
        elif specialist.facility_id != consultation.to_facility_id or \
                "consult:answer" not in accounts_service.role_permissions(specialist.role):
            errs.add(field, "care.teleconsult.errors.specialist_not_here", name=specialist.full_name)
            specialist = None
    when = cmd.scheduled_at
    if when is None:
        errs.add("scheduled_at", "core.errors.validation.missing")
    elif when < consultation.requested_at - timedelta(minutes=1):
        errs.add("scheduled_at", "care.teleconsult.errors.scheduled_before_request")
    errs.raise_if_any()
    chosen = specialist

    def apply(c: Teleconsultation) -> None:
        c.specialist_id, c.specialist_name, c.scheduled_at = chosen.id, chosen.full_name, when

    return _move(session, consultation, action="schedule", allowed_from=("requested", "scheduled"),
                 to_status="scheduled", actor=actor, version=cmd.version, apply=apply)


def answer(*, session: Session, consultation_id: int, answer_in: AnswerIn, actor: Actor,
           now: datetime | None = None) -> Teleconsultation:
    """The assigned specialist writes the opinion; it becomes part of the resident's record."""
    consultation = _for_receiver(session, consultation_id, actor)
    if consultation.status == "scheduled" and consultation.specialist_id != actor.user_id:
        raise Forbidden("care.teleconsult.errors.not_specialist", name=consultation.specialist_name or "")
    if answer_in.opinion is None:
        raise InvalidInput("opinion", "core.errors.validation.missing")
    at = now or clock.now()

    def apply(c: Teleconsultation) -> None:
        c.opinion, c.answered_at = answer_in.opinion, at

    return _move(session, consultation, action="answer", allowed_from=("scheduled",), to_status="answered",
                 actor=actor, version=answer_in.version, apply=apply)


def cancel(*, session: Session, consultation_id: int, actor: Actor, action_in: ConsultationAction | None = None,
           now: datetime | None = None) -> Teleconsultation:
    """The requesting facility withdraws a request the county has not scheduled yet."""
    actor.require("consult:request")
    consultation = _load(session, consultation_id, actor)
    if actor.facility_id is None or actor.facility_id != consultation.from_facility_id:
        raise Forbidden("care.teleconsult.errors.not_requester")
    return _move(session, consultation, action="cancel", allowed_from=("requested",), to_status="cancelled",
                 actor=actor, version=action_in.version if action_in is not None else None,
                 apply=lambda c: None)


def allowed_actions(consultation: Teleconsultation, actor: Actor) -> list[str]:
    """What the actor may do with a consultation now: schedule, answer, cancel (the pages show exactly these
    buttons; the service decides)."""
    out = []
    if actor.can("consult:answer") and actor.facility_id is not None and \
            actor.facility_id == consultation.to_facility_id:
        if consultation.status in ("requested", "scheduled"):
            out.append("schedule")
        if consultation.status == "scheduled" and consultation.specialist_id == actor.user_id:
            out.append("answer")
    if consultation.status == "requested" and actor.can("consult:request") and \
            actor.facility_id is not None and actor.facility_id == consultation.from_facility_id:
        out.append("cancel")
    return out

