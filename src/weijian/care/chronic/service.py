"""Writes of chronic-disease management (慢病管理): putting a resident under management in a programme (by
hand, or from a diagnosis), closing it, and recording follow-ups classified in control or not by the
programme's rules (rules.py). Each write takes a command (schemas.py); what needs the database, the clock or
several fields is checked here, every refusal naming its field, before anything is written.

What other modules use of this area is importable from here: the worklist's `due_follow_ups`, the rates,
the rules, the timeline source (queries.py, rules.py)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.care.chronic.queries import (
    FIGURES,
    TIMELINE,
    DueItem,
    RateRow,
    RatesReport,
    RegistrationRow,
    RegistrationView,
    audit_basis,
    due_follow_ups,
    figure,
    get_registration,
    list_follow_ups,
    list_registrations,
    management_rates,
    ratio,
    registration_in_scope,
)
from weijian.care.chronic.rules import (
    CLASSIFICATIONS,
    FORM_PARTS,
    REFER_REASONS,
    RULES_FILE,
    STATUSES,
    Choice,
    Program,
    Rules,
    Verdict,
    add_months,
    classify,
    close_reason_labels,
    get_program,
    load_rules,
    method_labels,
    program_labels,
    rules,
    schedule,
)
from weijian.care.chronic.schemas import ChronicClose, ChronicRegister, FollowUpCreate, FollowUpRecord
from weijian.care.models import ChronicRegistration, Diagnosis, FollowUp
from weijian.care.records import service as records
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.commands import build
from weijian.core.errors import ErrorCollector, InvalidState, NotFound
from weijian.residents import access
from weijian.residents.models import Resident

_E = "care.chronic.errors."


def _active_registration(session: Session, resident_id: int, program: str) -> ChronicRegistration | None:
    return session.scalars(
        select(ChronicRegistration).where(ChronicRegistration.resident_id == resident_id,
                                          ChronicRegistration.program == program,
                                          ChronicRegistration.status == "active")
        .order_by(ChronicRegistration.id).limit(1)).first()


# --- registration -------------------------------------------------------------------------------------
def register(*, session: Session, registration_in: ChronicRegister, actor: Actor,
             today: dt.date | None = None) -> ChronicRegistration:
    """Put a resident under management in a programme by hand. Refused, naming the field, for a resident
    outside the actor's scope or not active, a missing programme or date, a date in the future or before
    birth, or an active registration in the same programme already."""
    actor.require("care:write")
    today = today or clock.today()
    cmd = registration_in
    errs = ErrorCollector()
    if cmd.program is None:
        errs.add("program", "core.errors.validation.missing")
    on = cmd.registered_on
    if on is None:
        errs.add("registered_on", "core.errors.validation.missing")
    resident = session.scalar(select(Resident).where(Resident.id == cmd.resident_id, access.visible(actor)))
    if resident is None:
        errs.add("resident_id", _E + "resident_not_found", resident_id=cmd.resident_id)
    elif resident.status != "active":
        errs.add("resident_id", _E + "resident_inactive", status=f"@residents.status.{resident.status}")
    if on is not None:
        if on > today:
            errs.add("registered_on", _E + "date_future")
        elif resident is not None and on < resident.birth_date:
            errs.add("registered_on", _E + "before_birth")
        elif resident is not None and cmd.program is not None:
            # 服务对象: 辖区内35岁及以上常住居民 (国家基本公共卫生服务规范 第三版); a child is never registered.
            prog = get_program(cmd.program)
            age = records.age_on(resident.birth_date, on)
            if age < prog.min_age:
                errs.add("resident_id", _E + "under_min_age", age=age, min_age=prog.min_age,
                         program=f"@care.chronic.programs.{prog.code}")
    if resident is not None and cmd.program is not None:
        existing = _active_registration(session, resident.id, cmd.program)
        if existing is not None:
            errs.add("program", _E + "already_registered", program=f"@care.chronic.programs.{cmd.program}",
                     date=existing.registered_on)
    errs.raise_if_any()
    assert resident is not None and cmd.program is not None and on is not None
    registration = ChronicRegistration(
        resident_id=resident.id, program=cmd.program, registered_on=on, source="manual",
        facility_id=cmd.facility_id if cmd.facility_id is not None else actor.facility_id, status="active")
    session.add(registration)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="chronic_registration",
                           entity_id=registration.id, resident_id=resident.id,
                           basis=audit_basis(actor, resident.village_code),
                           detail={"program": cmd.program, "source": "manual"})
    return registration


def register_from_diagnosis(*, session: Session, resident_id: int, program: str, on: dt.date, encounter_id: int,
                            facility_id: int | None, actor: Actor) -> ChronicRegistration | None:
    """Register a resident whose encounter carries a diagnosis of a programme (icd10.chronic_program).
    Idempotent: an active registration of that programme is returned unchanged. The caller (the encounter)
    has already checked the actor's access to the resident, which may rest on a referral rather than
    scope, so no scope check is repeated here.

    The programme's own rules decide (chronic_programs.yaml): no registration (None) unless one of the
    encounter's diagnoses is a code the programme registers from (I15 secondary hypertension and E14 are
    not), and none for a patient under the programme's minimum age (35) on the encounter's date — the
    encounter itself stands; a clinician may still register by hand where the text allows it."""
    actor.require("care:write")
    prog = get_program(program)
    existing = _active_registration(session, resident_id, prog.code)
    if existing is not None:
        return existing
    resident = session.get(Resident, resident_id)
    if resident is None:
        raise NotFound("residents.errors.not_found", resident_id=resident_id)
    codes = session.scalars(select(Diagnosis.code).where(Diagnosis.encounter_id == encounter_id))
    if not any(prog.registers_from(c) for c in codes):
        return None
    if records.age_on(resident.birth_date, on) < prog.min_age:
        return None
    registration = ChronicRegistration(
        resident_id=resident.id, program=prog.code, registered_on=on, source="diagnosis",
        encounter_id=encounter_id, facility_id=facility_id, status="active")
    session.add(registration)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="chronic_registration",
                           entity_id=registration.id, resident_id=resident.id,
                           basis=audit_basis(actor, resident.village_code, default="encounter"),
                           detail={"program": prog.code, "source": "diagnosis", "encounter_id": encounter_id})
    return registration


def close(*, session: Session, registration_id: int, close_in: ChronicClose, actor: Actor,
          today: dt.date | None = None) -> ChronicRegistration:
    """End management (died, moved out, diagnosis revised …). The date may not be in the future, before the
    registration or before its last follow-up; the reason is kept in the audit log."""
    actor.require("care:write")
    today = today or clock.today()
    registration, resident = registration_in_scope(session=session, actor=actor, registration_id=registration_id,
                                                   for_update=True)
    if registration.status != "active":
        raise InvalidState(_E + "already_closed", date=registration.closed_on)
    errs = ErrorCollector()
    on, why = close_in.closed_on, close_in.reason
    if why is None:
        errs.add("reason", "core.errors.validation.missing")
    elif why not in rules().close_reasons:
        errs.add("reason", _E + "reason_unknown", value=why)
    last = session.scalar(select(func.max(FollowUp.date)).where(FollowUp.registration_id == registration.id))
    if on > today:
        errs.add("closed_on", _E + "date_future")
    elif on < registration.registered_on:
        errs.add("closed_on", _E + "before_registration", date=registration.registered_on)
    elif last is not None and on < last:
        errs.add("closed_on", _E + "before_last_follow_up", date=last)
    errs.raise_if_any()
    registration.status = "closed"
    registration.closed_on = on
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="close", entity_type="chronic_registration",
                           entity_id=registration.id, resident_id=resident.id,
                           basis=audit_basis(actor, resident.village_code), detail={"reason": why})
    return registration


# --- follow-ups ---------------------------------------------------------------------------------------
def record_follow_up(*, session: Session, registration_id: int, follow_up_in: FollowUpCreate, actor: Actor,
                     today: dt.date | None = None) -> FollowUp:
    """Record one follow-up and classify it as the national form does (此次随访分类: controlled, uncontrolled,
    adverse reaction, complication; rules.classify), with the limits for the patient's age, the next visit
    it calls for, an advised referral, and the rules' version it was classified by. Every field is
    checked before anything is written and every refusal names its field: the date (not in the future, not
    before the registration, not after it was closed, not a second follow-up on the same day) and the
    measurements (those the programme requires must be given; the diastolic pressure must be below the
    systolic). The command has checked the rest (schemas.FollowUpCreate)."""
    actor.require("care:write")
    today = today or clock.today()
    registration, resident = registration_in_scope(session=session, actor=actor, registration_id=registration_id)
    prog = get_program(registration.program)
    cmd = follow_up_in
    errs = ErrorCollector()
    on = cmd.date
    if on > today:
        errs.add("date", _E + "date_future")
    elif on < registration.registered_on:
        errs.add("date", _E + "before_registration", date=registration.registered_on)
    elif registration.closed_on is not None and on > registration.closed_on:
        errs.add("date", _E + "after_closed", date=registration.closed_on)
    elif session.scalar(select(FollowUp.id).where(FollowUp.registration_id == registration.id,
                                                  FollowUp.date == on).limit(1)) is not None:
        errs.add("date", _E + "duplicate_date", date=on)
    values: dict[str, Decimal | int | None] = {"sbp": cmd.sbp, "dbp": cmd.dbp, "fasting_glucose": cmd.fasting_glucose}
    for name in prog.required:
        if values[name] is None:
            errs.add(name, _E + "measurement_required", program=f"@care.chronic.programs.{prog.code}")
    if cmd.sbp is not None and cmd.dbp is not None and cmd.dbp >= cmd.sbp:
        errs.add("dbp", _E + "dbp_not_below_sbp")
    if not _unknown_codes(errs, "symptoms", "symptom_unknown", cmd.symptoms, prog.symptoms, prog) and (
            "none" in cmd.symptoms and len(set(cmd.symptoms)) > 1):
        errs.add("symptoms", _E + "symptoms_none_and_some")
    _unknown_codes(errs, "danger_signs", "danger_sign_unknown", cmd.danger_signs, prog.urgent_signs, prog)
    _check_form_parts(errs, prog, cmd, on)
    errs.raise_if_any()
    previous = session.scalar(select(FollowUp.classification).where(
        FollowUp.registration_id == registration.id, FollowUp.date < on)
        .order_by(FollowUp.date.desc(), FollowUp.id.desc()).limit(1))
    verdict = classify(prog, values, on=on, age=records.age_on(resident.birth_date, on),
                       adverse_reaction=cmd.adverse_reaction, complication=cmd.complication, previous=previous,
                       signs=tuple(dict.fromkeys(cmd.danger_signs)))
    # 下次随访日期: the clinician may book it earlier than the classification's date, never later (2周内随访).
    next_visit = verdict.next_visit_on
    if cmd.next_visit_on is not None:
        if cmd.next_visit_on <= on:
            errs.add("next_visit_on", _E + "next_visit_not_after", date=on)
        elif cmd.next_visit_on > verdict.next_visit_on:
            errs.add("next_visit_on", _E + "next_visit_too_late", date=verdict.next_visit_on,
                     classification=f"@care.chronic.classifications.{verdict.classification}")
        else:
            next_visit = cmd.next_visit_on
        errs.raise_if_any()
    follow_up = FollowUp(
        registration_id=registration.id, resident_id=resident.id, date=on, method=cmd.method,
        sbp=cmd.sbp, dbp=cmd.dbp, fasting_glucose=cmd.fasting_glucose, in_control=verdict.in_control,
        adverse_reaction=cmd.adverse_reaction, complication=cmd.complication,
        classification=verdict.classification, refer_reason=verdict.refer_reason,
        next_visit_on=next_visit, rule_version=verdict.rule_version,
        urgent_reasons=",".join(verdict.urgent_reasons) or None,
        weight_kg=cmd.weight_kg, bmi=records.bmi(cmd.height_cm, cmd.weight_kg), heart_rate=cmd.heart_rate,
        adherence=cmd.adherence,
        record=_record_json(cmd),
        facility_id=actor.facility_id, clinician_name=(cmd.clinician_name or actor.username)[:64], note=cmd.note)
    session.add(follow_up)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="follow_up",
                           entity_id=follow_up.id, resident_id=resident.id,
                           basis=audit_basis(actor, resident.village_code),
                           detail={"registration_id": registration.id, "program": prog.code})
    return follow_up


def _unknown_codes(errs: ErrorCollector, field: str, key: str, given: Sequence[str], choices: Sequence[Choice],
                   prog: Program) -> bool:
    """Name `field` when `given` holds a code that is not among the programme's `choices`; True when it did."""
    known = {c.code for c in choices}
    odd = [c for c in given if c not in known]
    if odd:
        errs.add(field, _E + key, value=", ".join(odd), program=f"@care.chronic.programs.{prog.code}")
    return bool(odd)


def _check_form_parts(errs: ErrorCollector, prog: Program, cmd: FollowUpCreate, on: dt.date) -> None:
    """The parts only some programmes' record forms have (2型糖尿病: 足背动脉搏动, 主食, 糖化血红蛋白, 低血糖反应,
    胰岛素): refused on another programme's follow-up, and checked as they go together — a side with 减弱 or 消失
    only, an HbA1c with its 检查日期 (not after the follow-up), insulin's 种类 with its 用法和用量."""
    own = set(prog.form_fields)
    for name in (f for part in FORM_PARTS.values() for f in part):
        if name not in own and getattr(cmd, name) is not None:
            errs.add(name, _E + "field_not_for_program", program=f"@care.chronic.programs.{prog.code}")
    finding = rules().foot_pulse.get(cmd.foot_pulse or "")
    if finding is not None and finding.sided and cmd.foot_pulse_side is None:
        errs.add("foot_pulse_side", _E + "foot_pulse_side_required")
    elif cmd.foot_pulse_side is not None and finding is not None and not finding.sided:
        errs.add("foot_pulse_side", _E + "foot_pulse_side_not_sided")
    elif cmd.foot_pulse_side is not None and finding is None and "foot_pulse_side" in own:
        errs.add("foot_pulse", _E + "foot_pulse_missing_for_side")
    if cmd.hba1c is not None and cmd.hba1c_date is None and "hba1c" in own:
        errs.add("hba1c_date", _E + "hba1c_date_required")
    if cmd.hba1c_date is not None and "hba1c_date" in own:
        if cmd.hba1c is None:
            errs.add("hba1c", _E + "hba1c_missing_for_date")
        if cmd.hba1c_date > on:
            errs.add("hba1c_date", _E + "hba1c_date_after_follow_up", date=on)
    if "insulin_type" in own and (cmd.insulin_type is None) != (cmd.insulin_dose is None):
        if cmd.insulin_type is None:
            errs.add("insulin_type", _E + "insulin_type_required")
        else:
            errs.add("insulin_dose", _E + "insulin_dose_required")


def _record_json(cmd: FollowUpCreate) -> str | None:
    """The national record form's other fields as JSON (none given: None); the target BMI from the height."""
    text = cmd.record(records.bmi(cmd.height_cm, cmd.target_weight_kg)).model_dump_json(exclude_defaults=True)
    return None if text == "{}" else text


def close_from_voided_diagnosis(*, session: Session, resident_id: int, program: str, encounter_id: int,
                                on: dt.date, actor: Actor) -> ChronicRegistration | None:
    """care.records, when a voided (or corrected) encounter `encounter_id` carried the last live diagnosis of
    a programme on the patient's record: the active registration made from a diagnosis has no 确诊 left (规范
    第三版: "对已确诊的原发性高血压患者纳入高血压患者健康管理") and is closed as 诊断更正; one registered by hand,
    or outside the actor's scope, is left (issue 14 item 12). Returns the registration closed, or None."""
    rows, _ = list_registrations(session=session, actor=actor, program=program, status="active",
                                 resident_id=resident_id)
    for row in rows:
        reg = row.registration
        if reg.source == "diagnosis":
            close_in = build(ChronicClose, {"closed_on": on.isoformat(), "reason": "diagnosis_revised"})
            return close(session=session, registration_id=reg.id, close_in=close_in, actor=actor, today=on)
    return None


__all__ = [
    # this module's writes
    "close", "close_from_voided_diagnosis", "record_follow_up", "register", "register_from_diagnosis",
    # reads, shapes and rules other modules use (queries.py, schemas.py, rules.py), re-exported under their own names
    "CLASSIFICATIONS", "DueItem", "FIGURES", "FollowUpRecord", "Program", "REFER_REASONS", "RULES_FILE", "RateRow",
    "RatesReport", "RegistrationRow", "RegistrationView", "Rules", "STATUSES", "TIMELINE", "Verdict", "add_months",
    "classify",
    "close_reason_labels", "due_follow_ups", "figure", "get_program", "get_registration", "list_follow_ups",
    "list_registrations", "load_rules", "management_rates", "method_labels", "program_labels", "ratio",
    "registration_in_scope", "rules", "schedule",
]
