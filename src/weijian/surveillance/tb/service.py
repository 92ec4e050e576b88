"""Writes of TB patient management (肺结核患者健康管理服务规范, 国家基本公共卫生服务规范 第三版): referring a
suspect and recording what the designated hospital found, registering a notified patient's treatment (which
opens the first home visit, due 72 hours after the notice), the first visit's tries, supervised doses,
follow-ups and the outcome. Each write takes a command (schemas.py); what needs the database, the clock or
several fields is checked here, every refusal naming its field, before anything is written.

What other modules use of this area is importable from here (queries.py, rules.py)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import ErrorCollector, InvalidState
from weijian.residents import access
from weijian.residents import service as residents_service
from weijian.residents.models import Resident
from weijian.surveillance.tb.models import TbDose, TbFirstVisit, TbFollowUp, TbSuspect, TbTreatment
from weijian.surveillance.tb.queries import (
    STATUSES,
    SuspectRow,
    TbWorklist,
    TreatmentRow,
    TreatmentView,
    WorkItem,
    audit_basis,
    counts_by_village,
    doses_due,
    get_treatment,
    list_suspects,
    list_treatments,
    next_follow_up,
    planned_end,
    records_for,
    suspect_in_scope,
    treatment_in_scope,
    worklist_section,
)
from weijian.surveillance.tb.rules import RULES_FILE, add_months, follow_up_interval, load_rules, rules
from weijian.surveillance.tb.schemas import (
    DoseRecord,
    FirstVisitRecord,
    FollowUpCreate,
    OutcomeRecord,
    SuspectCreate,
    SuspectResult,
    TreatmentCreate,
)

_E = "surveillance.tb.errors."


def _name(actor: Actor) -> str:
    return (actor.username or "system")[:64]


def _resident(session: Session, actor: Actor, errs: ErrorCollector, resident_id: int) -> Resident | None:
    resident = session.scalar(select(Resident).where(Resident.id == resident_id, access.visible(actor)))
    if resident is None:
        errs.add("resident_id", _E + "resident_not_found", resident_id=resident_id)
    elif resident.status != "active":
        errs.add("resident_id", _E + "resident_inactive", status=f"@residents.status.{resident.status}")
        return None
    return resident


# --- suspects -----------------------------------------------------------------------------------------
def refer_suspect(*, session: Session, suspect_in: SuspectCreate, actor: Actor,
                  today: dt.date | None = None) -> TbSuspect:
    """Refer a suspect (推介转诊): 规范 "对辖区内前来就诊的居民或患者，如发现有慢性咳嗽、咳痰≥2周，咯血、血痰，或
    发热、盗汗、胸痛或不明原因消瘦等肺结核可疑症状者，在鉴别诊断的基础上，填写'双向转诊单'，推荐其到结核病
    定点医疗机构进行结核病检查". Refused, naming the field: no symptom, a resident outside the scope or not
    active, a date in the future or before birth, no hospital named."""
    actor.require("care:write")
    today = today or clock.today()
    cmd = suspect_in
    errs = ErrorCollector()
    if not cmd.symptoms:
        errs.add("symptoms", _E + "symptoms_required")
    resident = _resident(session, actor, errs, cmd.resident_id)
    if cmd.referred_on > today:
        errs.add("referred_on", _E + "date_future")
    elif resident is not None and cmd.referred_on < resident.birth_date:
        errs.add("referred_on", _E + "before_birth")
    errs.raise_if_any()
    assert resident is not None
    suspect = TbSuspect(resident_id=resident.id, symptoms=",".join(cmd.symptoms), referred_on=cmd.referred_on,
                        referred_to=cmd.referred_to, facility_id=actor.facility_id, result="pending",
                        created_by=_name(actor))
    session.add(suspect)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="tb_suspect",
                           entity_id=suspect.id, resident_id=resident.id,
                           basis=audit_basis(actor, resident.village_code), detail={"symptoms": cmd.symptoms})
    return suspect


def record_suspect_result(*, session: Session, suspect_id: int, result_in: SuspectResult, actor: Actor,
                          today: dt.date | None = None) -> TbSuspect:
    """What the designated hospital found (confirmed or excluded); once only. The day may not be in the future
    nor before the referral."""
    actor.require("care:write")
    today = today or clock.today()
    suspect, resident = suspect_in_scope(session=session, actor=actor, suspect_id=suspect_id)
    if suspect.result != "pending":
        raise InvalidState(_E + "result_already", result=f"@surveillance.tb.results.{suspect.result}")
    errs = ErrorCollector()
    if result_in.result == "pending":
        errs.add("result", _E + "result_pending")
    if result_in.result_on > today:
        errs.add("result_on", _E + "date_future")
    elif result_in.result_on < suspect.referred_on:
        errs.add("result_on", _E + "before_referral", date=suspect.referred_on)
    errs.raise_if_any()
    suspect.result, suspect.result_on = result_in.result, result_in.result_on
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="update", entity_type="tb_suspect",
                           entity_id=suspect.id, resident_id=resident.id,
                           basis=audit_basis(actor, resident.village_code), detail={"result": result_in.result})
    return suspect


# --- treatment ----------------------------------------------------------------------------------------
def register_treatment(*, session: Session, treatment_in: TreatmentCreate, actor: Actor,
                       now: dt.datetime | None = None) -> TbTreatment:
    """Register a patient the designated hospital confirmed and notified (管理通知单), and open the first home
    visit: 规范 "乡镇卫生院、村卫生室要在72小时内访视患者". Refused, naming the field: a resident outside the
    scope or not active, or with a treatment under way already; a suspect of another resident or not
    confirmed; a notice in the future or before the referral; a start in the future; no supervisor."""
    actor.require("care:write")
    now = now or clock.now()
    today = clock.local_date(now)
    cmd = treatment_in
    r = rules()
    errs = ErrorCollector()
    resident = _resident(session, actor, errs, cmd.resident_id)
    if resident is not None and session.scalar(select(TbTreatment.id).where(
            TbTreatment.resident_id == resident.id, TbTreatment.outcome.is_(None)).limit(1)) is not None:
        errs.add("resident_id", _E + "treatment_under_way")
    suspect = None
    if cmd.suspect_id is not None:
        suspect = session.get(TbSuspect, cmd.suspect_id)
        if suspect is None or resident is None or suspect.resident_id != resident.id:
            errs.add("suspect_id", _E + "suspect_other_resident")
            suspect = None
        elif suspect.result != "confirmed":
            errs.add("suspect_id", _E + "suspect_not_confirmed")
    if cmd.notified_at > now:
        errs.add("notified_at", _E + "date_future")
    elif suspect is not None and clock.local_date(cmd.notified_at) < suspect.referred_on:
        errs.add("notified_at", _E + "before_referral", date=suspect.referred_on)
    if cmd.start_date > today:
        errs.add("start_date", _E + "date_future")
    elif resident is not None and cmd.start_date < resident.birth_date:
        errs.add("start_date", _E + "before_birth")
    if not cmd.supervisor_name.strip():
        errs.add("supervisor_name", "core.errors.validation.missing")
    errs.raise_if_any()
    assert resident is not None
    treatment = TbTreatment(
        resident_id=resident.id, suspect_id=cmd.suspect_id, notified_at=cmd.notified_at, start_date=cmd.start_date,
        regimen=cmd.regimen, drug_resistant=cmd.drug_resistant, supervisor_kind=cmd.supervisor_kind,
        supervisor_name=cmd.supervisor_name, planned_months=cmd.planned_months or r.regimens[cmd.regimen].months or 6,
        facility_id=actor.facility_id, created_by=_name(actor))
    session.add(treatment)
    session.flush()
    session.add(TbFirstVisit(treatment_id=treatment.id, tries=0,
                             due_at=cmd.notified_at + dt.timedelta(hours=r.first_visit_hours)))
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="tb_treatment",
                           entity_id=treatment.id, resident_id=resident.id,
                           basis=audit_basis(actor, resident.village_code),
                           detail={"regimen": cmd.regimen, "drug_resistant": cmd.drug_resistant})
    return treatment


def _open(session: Session, actor: Actor, treatment_id: int) -> tuple[TbTreatment, Resident]:
    actor.require("care:write")
    return treatment_in_scope(session=session, actor=actor, treatment_id=treatment_id, for_update=True)


def record_first_visit(*, session: Session, treatment_id: int, visit_in: FirstVisitRecord, actor: Actor,
                       now: dt.datetime | None = None) -> TbFirstVisit:
    """A try at the first home visit: the patient seen (the visit done) or not (one more try; after two the
    visit is to be reported up: 规范 "若72小时内2次访视均未见到患者，则将访视结果向上级专业机构报告"). Refused
    once done, and for a time in the future or before the notice."""
    now = now or clock.now()
    treatment, resident = _open(session, actor, treatment_id)
    visit = session.scalar(select(TbFirstVisit).where(TbFirstVisit.treatment_id == treatment.id))
    assert visit is not None
    if visit.done_at is not None:
        raise InvalidState(_E + "first_visit_done", date=clock.local_date(visit.done_at))
    at = visit_in.at or now
    errs = ErrorCollector()
    if at > now:
        errs.add("at", _E + "date_future")
    elif at < treatment.notified_at:
        errs.add("at", _E + "before_notice")
    errs.raise_if_any()
    if visit_in.found:
        visit.done_at, visit.done_by = at, _name(actor)
    else:
        visit.tries += 1
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="update", entity_type="tb_first_visit",
                           entity_id=visit.id, resident_id=resident.id, basis=audit_basis(actor, resident.village_code),
                           detail={"treatment_id": treatment.id, "found": visit_in.found})
    return visit


def _check_day(errs: ErrorCollector, name: str, on: dt.date, treatment: TbTreatment, today: dt.date) -> None:
    """A day of the course: not in the future, not before the start, not after the outcome."""
    if on > today:
        errs.add(name, _E + "date_future")
    elif on < treatment.start_date:
        errs.add(name, _E + "before_start", date=treatment.start_date)
    elif treatment.outcome_on is not None and on > treatment.outcome_on:
        errs.add(name, _E + "after_outcome", date=treatment.outcome_on)


def record_dose(*, session: Session, treatment_id: int, dose_in: DoseRecord, actor: Actor,
                today: dt.date | None = None) -> TbDose:
    """One day's supervised dose (督导服药: "督导人员每次督导服药后按上述要求填写肺结核患者服药卡"): taken or
    missed, one a day. Refused, naming the date: in the future, before the start, after the outcome or the
    plan's end, or a second record of the day."""
    today = today or clock.today()
    treatment, resident = _open(session, actor, treatment_id)
    errs = ErrorCollector()
    _check_day(errs, "date", dose_in.date, treatment, today)
    if not errs.errors and dose_in.date > planned_end(treatment):
        errs.add("date", _E + "after_plan", date=planned_end(treatment))
    if not errs.errors and session.scalar(select(TbDose.id).where(TbDose.treatment_id == treatment.id,
                                                                  TbDose.date == dose_in.date)) is not None:
        errs.add("date", _E + "dose_twice", date=dose_in.date)
    errs.raise_if_any()
    dose = TbDose(treatment_id=treatment.id, date=dose_in.date, taken=dose_in.taken, recorded_by=_name(actor))
    session.add(dose)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="tb_dose", entity_id=dose.id,
                           resident_id=resident.id, basis=audit_basis(actor, resident.village_code),
                           detail={"treatment_id": treatment.id, "date": dose_in.date.isoformat(),
                                   "taken": dose_in.taken})
    return dose


def record_follow_up(*, session: Session, treatment_id: int, follow_up_in: FollowUpCreate, actor: Actor,
                     today: dt.date | None = None) -> TbFollowUp:
    """A follow-up (督导随访): the next one is due after the interval the rules give for the supervisor kind and
    the phase (规范: 医务人员督导 "强化期或注射期内每10天随访1次，继续期内每1个月随访1次" as the data file gives it;
    VERIFY); the doctor may book it earlier, never later. Refused, naming the field: a day in the future,
    before the start or after the outcome, a second follow-up the same day, a next date not after it or
    past the interval."""
    today = today or clock.today()
    treatment, resident = _open(session, actor, treatment_id)
    cmd = follow_up_in
    errs = ErrorCollector()
    _check_day(errs, "date", cmd.date, treatment, today)
    if not errs.errors and session.scalar(select(TbFollowUp.id).where(TbFollowUp.treatment_id == treatment.id,
                                                                      TbFollowUp.date == cmd.date)) is not None:
        errs.add("date", _E + "follow_up_twice", date=cmd.date)
    latest = cmd.date + dt.timedelta(days=follow_up_interval(start=treatment.start_date, on=cmd.date,
                                                             supervisor_kind=treatment.supervisor_kind))
    next_due = latest
    if cmd.next_due is not None:
        if cmd.next_due <= cmd.date:
            errs.add("next_due", _E + "next_not_after", date=cmd.date)
        elif cmd.next_due > latest:
            errs.add("next_due", _E + "next_too_late", date=latest)
        else:
            next_due = cmd.next_due
    errs.raise_if_any()
    fu = TbFollowUp(treatment_id=treatment.id, date=cmd.date, findings=cmd.findings, next_due=next_due,
                    recorded_by=_name(actor))
    session.add(fu)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="tb_follow_up",
                           entity_id=fu.id, resident_id=resident.id, basis=audit_basis(actor, resident.village_code),
                           detail={"treatment_id": treatment.id})
    return fu


def record_outcome(*, session: Session, treatment_id: int, outcome_in: OutcomeRecord, actor: Actor,
                   today: dt.date | None = None) -> TbTreatment:
    """The end of treatment (结案评估: 停止治疗的时间和原因); once only. Refused, naming the day: in the future,
    before the start, or before a dose or follow-up already recorded."""
    today = today or clock.today()
    treatment, resident = _open(session, actor, treatment_id)
    if treatment.outcome is not None:
        raise InvalidState(_E + "outcome_already", date=treatment.outcome_on)
    on = outcome_in.outcome_on
    errs = ErrorCollector()
    last = max((d for d in (
        session.scalar(select(func.max(TbDose.date)).where(TbDose.treatment_id == treatment.id)),
        session.scalar(select(func.max(TbFollowUp.date)).where(TbFollowUp.treatment_id == treatment.id)))
        if d is not None), default=None)
    if on > today:
        errs.add("outcome_on", _E + "date_future")
    elif on < treatment.start_date:
        errs.add("outcome_on", _E + "before_start", date=treatment.start_date)
    elif last is not None and on < last:
        errs.add("outcome_on", _E + "before_last_record", date=last)
    errs.raise_if_any()
    treatment.outcome, treatment.outcome_on = outcome_in.outcome, on
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="close", entity_type="tb_treatment",
                           entity_id=treatment.id, resident_id=resident.id,
                           basis=audit_basis(actor, resident.village_code), detail={"outcome": outcome_in.outcome})
    return treatment


# --- a merge of two records of one person (residents.merging) ------------------------------------------
def move_resident(ctx: residents_service.MergeContext) -> list[residents_service.Moved]:
    """Move the merged record's suspects and treatments to the survivor (doses, visits and follow-ups hang on
    the treatment and go with it)."""
    out = residents_service.reassign(ctx, TbSuspect, "tb_suspect")
    out += residents_service.reassign(ctx, TbTreatment, "tb_treatment")
    ctx.session.flush()
    return out


MERGE_MOVER = residents_service.Mover(
    name="surveillance.tb", columns=frozenset({"tb_suspects.resident_id", "tb_treatments.resident_id"}),
    classes=(TbSuspect, TbTreatment), move=move_resident)


__all__ = [
    "MERGE_MOVER", "record_dose", "record_first_visit", "record_follow_up", "record_outcome",
    "record_suspect_result", "refer_suspect", "register_treatment",
    "RULES_FILE", "STATUSES", "SuspectRow", "TbWorklist", "TreatmentRow", "TreatmentView", "WorkItem", "add_months",
    "counts_by_village", "doses_due", "get_treatment", "list_suspects", "list_treatments", "load_rules",
    "next_follow_up", "planned_end", "records_for", "rules", "suspect_in_scope", "treatment_in_scope",
    "worklist_section",
]


def patients_on(*, on: dt.date) -> Select[tuple[int]]:
    """The resident ids under TB treatment on `on` (started by then, no outcome by then): a key population
    of family-doctor contracting (care.contracts, through the composition root)."""
    T = TbTreatment
    return select(T.resident_id).where(T.start_date <= on, (T.outcome_on.is_(None)) | (T.outcome_on > on))
