"""Writes of severe mental illness management (严重精神障碍患者管理): registering a patient (登记在册, with the
informed consent), recording a follow-up (classified as the 规范 does, with its next visit), closing a
registration. Each write takes a command (schemas.py), needs `mental:write` and the patient's own team as
its basis (queries.basis_for), checks what needs the database or the clock naming each field, and writes
nothing when refused. The merge mover (this area's part of a resident merge) is at the end.

What other modules use of this area is importable from here (queries.py, rules.py, counts.py)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.care.mental import rules
from weijian.care.mental.counts import WHICH, mental_counts, mental_records
from weijian.care.mental.models import MentalFollowUp, MentalPatient
from weijian.care.mental.queries import (
    PatientView,
    RegisterRow,
    basis_for,
    diagnosis_hidden,
    get_patient,
    patient_in_scope,
    register,
)
from weijian.care.mental.schemas import ConsentRecord, FollowUpCreate, PatientClose, PatientRegister
from weijian.care.models import Referral
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import ErrorCollector, InvalidState
from weijian.residents import service as residents_service
from weijian.residents.models import Resident

_E = "care.mental.errors."
CLOSE_REASONS = ("died", "moved_away", "diagnosis_revised", "other")


def _active(session: Session, resident_id: int) -> MentalPatient | None:
    return session.scalars(select(MentalPatient).where(MentalPatient.resident_id == resident_id,
                                                       MentalPatient.status == "active")
                           .order_by(MentalPatient.id).limit(1)).first()


def register_patient(*, session: Session, patient_in: PatientRegister, actor: Actor,
                     today: dt.date | None = None) -> MentalPatient:
    """Register a resident with a confirmed diagnosis (登记在册). Refused, naming the field: a resident not
    found or without a basis (not the actor's own team), not active, registered already; an unknown
    disease, an ICD-10 code not of that disease; the diagnosis or registration day missing, in the future,
    the diagnosis before the birth or after the registration; with consent: no signer, name or day, a day
    in the future; without consent: no reason (the patient is registered either way: mental.yaml)."""
    actor.require("mental:write")
    today = today or clock.today()
    r = rules.rules()
    cmd = patient_in
    errs = ErrorCollector()
    resident = session.scalar(select(Resident).where(Resident.id == cmd.resident_id))
    basis = basis_for(actor, resident.village_code) if resident is not None else None
    if resident is None or basis is None:
        errs.add("resident_id", _E + "resident_not_found", resident_id=cmd.resident_id)
        resident = None
    elif resident.status != "active":
        errs.add("resident_id", _E + "resident_inactive", status=f"@residents.status.{resident.status}")
    elif _active(session, resident.id) is not None:
        errs.add("resident_id", _E + "already_registered")
    if cmd.disease not in r.diseases:
        errs.add("disease", _E + "disease_unknown", value=cmd.disease)
    elif rules.disease_of(cmd.icd10) != cmd.disease:
        errs.add("icd10", _E + "icd10_not_of_disease", code=cmd.icd10,
                 disease=r.diseases[cmd.disease].label("zh_CN"), codes="、".join(r.diseases[cmd.disease].icd10))
    if cmd.diagnosed_on is None:
        errs.add("diagnosed_on", "core.errors.validation.missing")
    elif cmd.diagnosed_on > today:
        errs.add("diagnosed_on", _E + "date_future")
    elif resident is not None and cmd.diagnosed_on < resident.birth_date:
        errs.add("diagnosed_on", _E + "before_birth")
    if cmd.registered_on is None:
        errs.add("registered_on", "core.errors.validation.missing")
    elif cmd.registered_on > today:
        errs.add("registered_on", _E + "date_future")
    elif cmd.diagnosed_on is not None and cmd.diagnosed_on <= today and cmd.registered_on < cmd.diagnosed_on:
        errs.add("registered_on", _E + "registered_before_diagnosis")
    if cmd.consent:
        if cmd.consent_signer not in r.consent_signers:
            errs.add("consent_signer", _E + "consent_signer_missing")
        if not (cmd.consent_signer_name or "").strip():
            errs.add("consent_signer_name", _E + "consent_signer_name_missing")
        if cmd.consent_on is None:
            errs.add("consent_on", _E + "consent_on_missing")
        elif cmd.consent_on > today:
            errs.add("consent_on", _E + "date_future")
    elif not (cmd.no_consent_reason or "").strip():
        errs.add("no_consent_reason", _E + "no_consent_reason_missing")
    errs.raise_if_any()
    assert resident is not None and basis is not None and cmd.registered_on is not None
    assert cmd.diagnosed_on is not None
    # The first assessment's risk grade alone decides the first follow-up (weijian's reading: stable — 3
    # months — only at grade 0; the 规范 classifies at follow-ups); none is due before the consent is signed.
    first = rules.classify(risk_grade=cmd.risk_grade, symptoms="gone", insight="recovered", social_function="good",
                           severe_adverse_reaction=False, severe_physical_illness=False)
    guardian = cmd.guardian_name or (cmd.consent_signer_name if cmd.consent and cmd.consent_signer == "guardian"
                                     else None)
    p = MentalPatient(resident_id=resident.id, disease=cmd.disease, icd10=cmd.icd10.strip().upper(),
                      diagnosed_on=cmd.diagnosed_on, diagnosed_by=cmd.diagnosed_by, registered_on=cmd.registered_on,
                      consent=cmd.consent, consent_signer=cmd.consent_signer if cmd.consent else None,
                      consent_signer_name=(cmd.consent_signer_name or "").strip() or None if cmd.consent else None,
                      consent_on=cmd.consent_on if cmd.consent else None,
                      no_consent_reason=None if cmd.consent else (cmd.no_consent_reason or "").strip(),
                      guardian_name=guardian, guardian_phone=cmd.guardian_phone, risk_grade=cmd.risk_grade,
                      next_visit_on=(rules.next_visit(first, cmd.registered_on)
                                     if cmd.consent or not r.follow_up_needs_consent else None), status="active",
                      rule_version=r.version, facility_id=actor.facility_id, created_by=actor.username)
    session.add(p)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="mental_patient",
                           entity_id=p.id, resident_id=resident.id, basis=basis,
                           detail={"disease": p.disease, "consent": p.consent})
    return p


def record_follow_up(*, session: Session, patient_id: int, follow_up_in: FollowUpCreate, actor: Actor,
                     today: dt.date | None = None) -> MentalFollowUp:
    """Record a follow-up: classified from its answers (rules.classify), with the next visit the class calls
    for and, for an unstable patient, the referral flagged until an upward referral of the patient is
    linked. Refused, naming the field: a registration closed; no consent signed (mental.yaml's
    follow_up_needs_consent: the 知情同意原则); the date in the future, before the
    registration or before the latest follow-up; an unknown answer; a referral not an upward one of the
    patient."""
    actor.require("mental:write")
    today = today or clock.today()
    p, resident, basis = patient_in_scope(session=session, actor=actor, patient_id=patient_id,
                                          permission="mental:write", for_update=True)
    if p.status != "active":
        raise InvalidState(_E + "not_active")
    r = rules.rules()
    cmd = follow_up_in
    errs = ErrorCollector()
    if r.follow_up_needs_consent and not p.consent:  # 知情同意原则 (mental.yaml)
        errs.add("consent", _E + "no_consent_no_follow_up")
    for field, known in (("symptoms", r.symptoms), ("insight", r.insight), ("social_function", r.social_function),
                         ("adherence", r.adherence)):
        if getattr(cmd, field) not in known:
            errs.add(field, _E + "answer_unknown", value=getattr(cmd, field))
    if cmd.date > today:
        errs.add("date", _E + "date_future")
    elif cmd.date < p.registered_on:
        errs.add("date", _E + "follow_up_before_registration", date=p.registered_on)
    elif p.last_visit_on is not None and cmd.date < p.last_visit_on:
        errs.add("date", _E + "follow_up_before_latest", date=p.last_visit_on)
    if cmd.referral_id is not None and session.scalar(
            select(Referral.id).where(Referral.id == cmd.referral_id, Referral.resident_id == resident.id,
                                      Referral.direction == "up")) is None:
        errs.add("referral_id", _E + "referral_not_found", referral_id=cmd.referral_id)
    errs.raise_if_any()
    klass = rules.classify(risk_grade=cmd.risk_grade, symptoms=cmd.symptoms, insight=cmd.insight,
                           social_function=cmd.social_function, severe_adverse_reaction=cmd.severe_adverse_reaction,
                           severe_physical_illness=cmd.severe_physical_illness)
    nxt = rules.next_visit(klass, cmd.date)
    f = MentalFollowUp(patient_id=p.id, resident_id=resident.id, date=cmd.date, risk_grade=cmd.risk_grade,
                       symptoms=cmd.symptoms, insight=cmd.insight, social_function=cmd.social_function,
                       severe_adverse_reaction=cmd.severe_adverse_reaction,
                       severe_physical_illness=cmd.severe_physical_illness, adherence=cmd.adherence, klass=klass,
                       next_visit_on=nxt, needs_referral=r.classes[klass].refer, referral_id=cmd.referral_id,
                       note=cmd.note, rule_version=r.version, facility_id=actor.facility_id,
                       created_by=actor.username)
    session.add(f)
    p.risk_grade, p.klass, p.adherence = cmd.risk_grade, klass, cmd.adherence
    p.last_visit_on, p.next_visit_on = cmd.date, nxt
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="mental_follow_up",
                           entity_id=f.id, resident_id=resident.id, basis=basis,
                           detail={"patient_id": p.id, "class": klass, "next": nxt.isoformat()})
    return f


def record_consent(*, session: Session, patient_id: int, consent_in: ConsentRecord, actor: Actor,
                   today: dt.date | None = None) -> MentalPatient:
    """The informed consent signed after the registration (the reason it was missing is kept in the audit
    event). Refused, naming the field: signed already; no signer, name or day; a day in the future or before
    the registration."""
    actor.require("mental:write")
    today = today or clock.today()
    p, resident, basis = patient_in_scope(session=session, actor=actor, patient_id=patient_id,
                                          permission="mental:write", for_update=True)
    if p.status != "active":
        raise InvalidState(_E + "not_active")
    cmd = consent_in
    errs = ErrorCollector()
    if p.consent:
        errs.add("consent", _E + "consent_already", date=p.consent_on)
    if cmd.consent_signer not in rules.rules().consent_signers:
        errs.add("consent_signer", _E + "consent_signer_missing")
    if not (cmd.consent_signer_name or "").strip():
        errs.add("consent_signer_name", _E + "consent_signer_name_missing")
    if cmd.consent_on is None:
        errs.add("consent_on", _E + "consent_on_missing")
    elif cmd.consent_on > today:
        errs.add("consent_on", _E + "date_future")
    elif cmd.consent_on < p.registered_on:
        errs.add("consent_on", _E + "follow_up_before_registration", date=p.registered_on)
    errs.raise_if_any()
    before = p.no_consent_reason
    p.consent, p.consent_signer, p.consent_on = True, cmd.consent_signer, cmd.consent_on
    p.consent_signer_name, p.no_consent_reason = (cmd.consent_signer_name or "").strip(), None
    if p.next_visit_on is None:  # follow-up management starts: the first follow-up is due now
        p.next_visit_on = cmd.consent_on
    if cmd.consent_signer == "guardian" and not p.guardian_name:
        p.guardian_name = p.consent_signer_name
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="update", entity_type="mental_patient",
                           entity_id=p.id, resident_id=resident.id, basis=basis,
                           detail={"consent": True, "no_consent_reason_before": before})
    return p


def close_patient(*, session: Session, patient_id: int, close_in: PatientClose, actor: Actor,
                  today: dt.date | None = None) -> MentalPatient:
    """End a registration (died, moved away, diagnosis revised, other). Refused: closed already; an unknown
    reason; the day in the future or before the registration."""
    actor.require("mental:write")
    today = today or clock.today()
    p, resident, basis = patient_in_scope(session=session, actor=actor, patient_id=patient_id,
                                          permission="mental:write", for_update=True)
    if p.status != "active":
        raise InvalidState(_E + "not_active")
    errs = ErrorCollector()
    if close_in.reason not in CLOSE_REASONS:
        errs.add("reason", _E + "close_reason_unknown", value=close_in.reason)
    if close_in.closed_on > today:
        errs.add("closed_on", _E + "date_future")
    elif close_in.closed_on < p.registered_on:
        errs.add("closed_on", _E + "follow_up_before_registration", date=p.registered_on)
    errs.raise_if_any()
    p.status, p.closed_on, p.close_reason, p.next_visit_on = "closed", close_in.closed_on, close_in.reason, None
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="close", entity_type="mental_patient",
                           entity_id=p.id, resident_id=resident.id, basis=basis, detail={"reason": close_in.reason})
    return p


# --- a merge of two records of one person (residents.merging: this area's part) ------------------------
def move_resident(ctx: residents_service.MergeContext) -> list[residents_service.Moved]:
    """Move the merged record's registrations and follow-ups to the survivor. Two active registrations (one
    on each record) cannot both stay active: the survivor's is kept, the merged record's is closed on the
    merge's day (note closed_duplicate; its follow-ups move with it)."""
    session = ctx.session
    out: list[residents_service.Moved] = []
    kept = _active(session, ctx.survivor_id)
    twin = _active(session, ctx.merged_id)
    if kept is not None and twin is not None:
        out.append(residents_service.Moved("mental_patient", "mental_patients", twin.id, {
            "status": ("active", "closed"), "closed_on": (twin.closed_on, ctx.today)}, note="closed_duplicate"))
        twin.status, twin.closed_on, twin.close_reason = "closed", ctx.today, "other"
        session.flush()
    out += residents_service.reassign(ctx, MentalPatient, "mental_patient")
    out += residents_service.reassign(ctx, MentalFollowUp, "mental_follow_up")
    session.flush()
    return out


MERGE_MOVER = residents_service.Mover(
    name="care.mental", columns=frozenset({"mental_patients.resident_id", "mental_follow_ups.resident_id"}),
    classes=(MentalPatient, MentalFollowUp), move=move_resident, undo_problems=None)


__all__ = [
    "CLOSE_REASONS", "MERGE_MOVER", "WHICH", "PatientView", "RegisterRow", "basis_for", "close_patient",
    "diagnosis_hidden", "get_patient", "mental_counts", "mental_records", "move_resident", "patient_in_scope",
    "record_consent", "record_follow_up", "register", "register_patient",
]
