"""Writes of maternal health management (孕产妇健康管理): registering a pregnancy (建册), the five antenatal
visits, the risk grading (五色), the delivery (or the pregnancy's end) and the postpartum visits. Each write
takes a command (schemas.py); what needs the database, the clock or several fields is checked here, every
refusal naming its field, before anything is written. The merge mover (this area's part of a resident
merge) is at the end; the composition root registers it.

What other modules use of this area is importable from here (queries.py, rules.py, counts.py)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.care.maternal import rules
from weijian.care.maternal.counts import WHICH, maternal_counts, maternal_records
from weijian.care.maternal.models import AntenatalVisit, PostpartumVisit, Pregnancy
from weijian.care.maternal.queries import (
    PregnancyView,
    RegisterRow,
    audit_basis,
    get_pregnancy,
    needs_referral,
    pregnancy_in_scope,
    register,
)
from weijian.care.maternal.schemas import (
    AntenatalVisitCreate,
    DeliveryRecord,
    PostpartumVisitCreate,
    PregnancyRegister,
    RiskGrade,
)
from weijian.care.models import Referral
from weijian.care.records import service as records
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import ErrorCollector, InvalidState
from weijian.residents import access
from weijian.residents import service as residents_service
from weijian.residents.models import Resident

_E = "care.maternal.errors."


def _open_pregnancy(session: Session, resident_id: int) -> Pregnancy | None:
    return session.scalars(select(Pregnancy).where(Pregnancy.resident_id == resident_id, Pregnancy.status == "open")
                           .order_by(Pregnancy.id).limit(1)).first()


def _check_referral(session: Session, errs: ErrorCollector, field: str, referral_id: int | None,
                    resident_id: int) -> None:
    """A referral linked to a pregnancy or a visit is an upward referral of the same woman."""
    if referral_id is None:
        return
    ok = session.scalar(select(Referral.id).where(Referral.id == referral_id, Referral.resident_id == resident_id,
                                                  Referral.direction == "up"))
    if ok is None:
        errs.add(field, _E + "referral_not_found", referral_id=referral_id)


# --- 建册 ----------------------------------------------------------------------------------------------
def register_pregnancy(*, session: Session, pregnancy_in: PregnancyRegister, actor: Actor,
                       today: dt.date | None = None) -> Pregnancy:
    """Register a woman's pregnancy (建册). Refused, naming the field: a resident outside the actor's scope
    or not active, a man, a woman under 10 or over 60 on the LMP (maternal.yaml's min_age/max_age: weijian's
    data-entry limits), an open pregnancy already; the LMP missing, in the future or more than 44 weeks
    before the registration; the registration date missing, in the future or before the LMP; a parity above
    the gravidity."""
    actor.require("care:write")
    today = today or clock.today()
    r = rules.rules()
    cmd = pregnancy_in
    errs = ErrorCollector()
    resident = session.scalar(select(Resident).where(Resident.id == cmd.resident_id, access.visible(actor)))
    if resident is None:
        errs.add("resident_id", _E + "resident_not_found", resident_id=cmd.resident_id)
    elif resident.status != "active":
        errs.add("resident_id", _E + "resident_inactive", status=f"@residents.status.{resident.status}")
    elif resident.sex != "female":
        errs.add("resident_id", _E + "not_female")
    on, lmp = cmd.registered_on, cmd.lmp
    if on is None:
        errs.add("registered_on", "core.errors.validation.missing")
    elif on > today:
        errs.add("registered_on", _E + "registered_future")
    if lmp is None:
        errs.add("lmp", "core.errors.validation.missing")
    elif on is not None and on <= today:
        problem = rules.lmp_problem(lmp, on)
        if problem:
            errs.add("lmp", _E + problem[0], **problem[1])
        if resident is not None and resident.sex == "female":
            age = records.age_on(resident.birth_date, lmp)
            if not r.min_age <= age <= r.max_age:
                errs.add("resident_id", _E + "age_out_of_range", age=age, min_age=r.min_age, max_age=r.max_age)
    if cmd.parity >= cmd.gravidity:  # 产次 counts the births before this pregnancy: below 孕次
        errs.add("parity", _E + "parity_above_gravidity")
    if resident is not None:
        existing = _open_pregnancy(session, resident.id)
        if existing is not None:
            errs.add("resident_id", _E + "already_open", date=existing.registered_on)
    errs.raise_if_any()
    assert resident is not None and lmp is not None and on is not None
    p = Pregnancy(resident_id=resident.id, lmp=lmp, edd=rules.edd(lmp), registered_on=on,
                  booked_weeks=rules.gestation(lmp, on)[0],
                  facility_id=cmd.facility_id if cmd.facility_id is not None else actor.facility_id,
                  gravidity=cmd.gravidity, parity=cmd.parity, risk_colour="green", risk_infectious=False,
                  status="open", live_births=0, created_by=actor.username)
    session.add(p)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="pregnancy", entity_id=p.id,
                           resident_id=resident.id, basis=audit_basis(actor, resident.village_code),
                           detail={"lmp": lmp.isoformat()})
    return p


# --- antenatal visits ---------------------------------------------------------------------------------
def record_antenatal(*, session: Session, pregnancy_id: int, visit_in: AntenatalVisitCreate, actor: Actor,
                     today: dt.date | None = None) -> AntenatalVisit:
    """Record one of the five antenatal visits. Refused, naming the field: a pregnancy not open; the date in
    the future, before the LMP or before the previous visit; the number already recorded, or out of order
    (the first visit recorded is visit 1, each later one a higher number: a missed window stays missed);
    a date outside the visit's window without `out_of_window_reason`; a diastolic pressure not below the
    systolic; a referral that is not an upward one of this woman."""
    actor.require("care:write")
    today = today or clock.today()
    p, resident = pregnancy_in_scope(session=session, actor=actor, pregnancy_id=pregnancy_id, for_update=True)
    if p.status != "open":
        raise InvalidState(_E + "not_open", status=f"@care.maternal.pregnancy_statuses.{p.status}")
    cmd = visit_in
    errs = ErrorCollector()
    last = session.execute(select(AntenatalVisit.number, AntenatalVisit.date)
                           .where(AntenatalVisit.pregnancy_id == p.id)
                           .order_by(AntenatalVisit.number.desc()).limit(1)).first()
    same = session.scalar(select(AntenatalVisit.date).where(AntenatalVisit.pregnancy_id == p.id,
                                                            AntenatalVisit.number == cmd.number))
    if same is not None:
        errs.add("number", _E + "visit_already_recorded", number=cmd.number, date=same)
    elif last is None and cmd.number != 1:
        errs.add("number", _E + "first_visit_is_1", number=cmd.number)
    elif last is not None and cmd.number < last.number:
        errs.add("number", _E + "visit_out_of_order", last=last.number, number=cmd.number)
    if cmd.date > today:
        errs.add("date", _E + "visit_future")
    elif cmd.date < p.lmp:
        errs.add("date", _E + "visit_before_lmp")
    elif last is not None and cmd.date < last.date:
        errs.add("date", _E + "visit_before_previous", previous=last.number, date=last.date)
    elif not errs.errors and not rules.in_window(cmd.number, p.lmp, cmd.date) and not cmd.out_of_window_reason:
        # (a refused number has no window to be outside of)
        start, end = rules.rules().visit(cmd.number).window(p.lmp)
        errs.add("out_of_window_reason", _E + "out_of_window", number=cmd.number, start=start, end=end)
    if cmd.sbp is not None and cmd.dbp is not None and cmd.dbp >= cmd.sbp:
        errs.add("dbp", _E + "dbp_not_below_sbp")
    _check_referral(session, errs, "referral_id", cmd.referral_id, resident.id)
    errs.raise_if_any()
    weeks, days = rules.gestation(p.lmp, cmd.date)
    # The reason is kept only where it was needed: a visit in its window has none.
    reason = None if rules.in_window(cmd.number, p.lmp, cmd.date) else cmd.out_of_window_reason
    v = AntenatalVisit(pregnancy_id=p.id, resident_id=resident.id, number=cmd.number, date=cmd.date, weeks=weeks,
                       days=days, weight_kg=cmd.weight_kg, sbp=cmd.sbp, dbp=cmd.dbp, findings=cmd.findings,
                       out_of_window_reason=reason, referral_id=cmd.referral_id, facility_id=actor.facility_id,
                       created_by=actor.username)
    session.add(v)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="antenatal_visit",
                           entity_id=v.id, resident_id=resident.id, basis=audit_basis(actor, resident.village_code),
                           detail={"pregnancy_id": p.id, "number": cmd.number})
    return v


# --- 五色 risk grading ---------------------------------------------------------------------------------
def grade_risk(*, session: Session, pregnancy_id: int, grade_in: RiskGrade, actor: Actor,
               today: dt.date | None = None) -> Pregnancy:
    """Grade (or re-grade) the pregnancy's risk from the criteria noted: the highest colour, purple alongside
    for an infectious disease. An orange or red grade is stored even before its referral exists (the grading
    is a clinical fact) and the register lists the pregnancy as needing a referral until an upward referral
    of this woman is linked (`referral_id`). Refused: an unknown criterion, a date in the future or before
    the LMP, a referral that is not an upward one of this woman, a pregnancy delivered or ended more than
    42 days ago (the 工作规范 grades up to 42 days postpartum)."""
    actor.require("care:write")
    today = today or clock.today()
    p, resident = pregnancy_in_scope(session=session, actor=actor, pregnancy_id=pregnancy_id, for_update=True)
    if p.status != "open" and (p.delivered_on is None or (today - p.delivered_on).days > 42):
        raise InvalidState(_E + "not_open", status=f"@care.maternal.pregnancy_statuses.{p.status}")
    cmd = grade_in
    errs = ErrorCollector()
    known = rules.rules().criteria
    odd = [c for c in cmd.criteria if c not in known]
    if odd:
        errs.add("criteria", _E + "criterion_unknown", value=", ".join(odd))
    if cmd.graded_on > today:
        errs.add("graded_on", _E + "graded_future")
    elif cmd.graded_on < p.lmp:
        errs.add("graded_on", _E + "visit_before_lmp")
    _check_referral(session, errs, "referral_id", cmd.referral_id, resident.id)
    errs.raise_if_any()
    criteria = tuple(dict.fromkeys(cmd.criteria))
    g = rules.grade(criteria)
    before = (p.risk_colour, p.risk_infectious)
    p.risk_colour, p.risk_infectious = g.colour, g.infectious
    p.risk_criteria = ",".join(criteria) or None
    p.graded_on = cmd.graded_on
    if cmd.referral_id is not None:
        p.referral_id = cmd.referral_id
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="update", entity_type="pregnancy", entity_id=p.id,
                           resident_id=resident.id, basis=audit_basis(actor, resident.village_code),
                           detail={"risk": [g.colour, g.infectious], "before": list(before),
                                   "criteria": list(criteria), "referral_id": p.referral_id})
    return p


# --- delivery -----------------------------------------------------------------------------------------
_ENDS = {"live_birth": "delivered", "stillbirth": "delivered", "miscarriage": "ended", "induced": "ended"}


def record_delivery(*, session: Session, pregnancy_id: int, delivery_in: DeliveryRecord, actor: Actor,
                    today: dt.date | None = None) -> Pregnancy:
    """Record the delivery (live birth, stillbirth: delivered) or the pregnancy's end (miscarriage, induced:
    ended). Refused, naming the field: an unknown outcome; live births that do not fit it (a live birth has
    at least one, the others none); the date in the future, before the LMP or before the last antenatal
    visit; a discharge before the delivery or in the future. The newborn's birth registration number
    (immunization) is kept as given: care does not read immunization's tables."""
    actor.require("care:write")
    today = today or clock.today()
    p, resident = pregnancy_in_scope(session=session, actor=actor, pregnancy_id=pregnancy_id, for_update=True)
    if p.status != "open":
        raise InvalidState(_E + "not_open", status=f"@care.maternal.pregnancy_statuses.{p.status}")
    cmd = delivery_in
    errs = ErrorCollector()
    if cmd.outcome not in rules.rules().outcomes:
        errs.add("outcome", _E + "outcome_unknown", value=cmd.outcome)
    elif (cmd.outcome == "live_birth") != (cmd.live_births > 0):
        errs.add("live_births", _E + "live_births_for_outcome")
    last = session.scalar(select(func.max(AntenatalVisit.date)).where(AntenatalVisit.pregnancy_id == p.id))
    if cmd.delivered_on > today:
        errs.add("delivered_on", _E + "delivered_future")
    elif cmd.delivered_on < p.lmp:
        errs.add("delivered_on", _E + "delivered_before_lmp")
    elif last is not None and cmd.delivered_on < last:
        errs.add("delivered_on", _E + "delivered_before_visit", date=last)
    if cmd.discharged_on is not None:
        if cmd.discharged_on > today:
            errs.add("discharged_on", _E + "delivered_future")
        elif cmd.discharged_on < cmd.delivered_on:
            errs.add("discharged_on", _E + "discharged_before_delivery")
    errs.raise_if_any()
    p.status = _ENDS[cmd.outcome]
    p.outcome, p.delivered_on, p.discharged_on = cmd.outcome, cmd.delivered_on, cmd.discharged_on
    p.live_births = cmd.live_births
    p.delivery_facility_name = cmd.delivery_facility_name
    if cmd.birth_registration_id is not None:
        p.birth_registration_id = cmd.birth_registration_id
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="update", entity_type="pregnancy", entity_id=p.id,
                           resident_id=resident.id, basis=audit_basis(actor, resident.village_code),
                           detail={"outcome": cmd.outcome, "delivered_on": cmd.delivered_on.isoformat(),
                                   "live_births": cmd.live_births,
                                   "birth_registration_id": cmd.birth_registration_id})
    return p


def delivery_of_birth(*, session: Session, birth_registration_id: int) -> Pregnancy | None:
    """The delivery that names an immunization birth registration (for the newborn page's link back to the
    mother's pregnancy record, through a composition-root hook: care does not know immunization)."""
    return session.scalars(select(Pregnancy).where(Pregnancy.birth_registration_id == birth_registration_id)
                           .order_by(Pregnancy.id).limit(1)).first()


def delivery_for_newborn(*, session: Session, mother_id: int, born_on: dt.date, birth_id: int) -> int | None:
    """The pregnancy whose delivery a newborn's birth registration is: the one naming it, else the mother's
    delivery recorded on the day of the birth or the day before (county time; the registration may be made
    past midnight). Provided by the composition root to immunization's newborn page (its link back)."""
    named = delivery_of_birth(session=session, birth_registration_id=birth_id)
    if named is not None:
        return named.id
    return session.scalar(select(Pregnancy.id).where(
        Pregnancy.resident_id == mother_id, Pregnancy.status == "delivered",
        Pregnancy.delivered_on >= born_on - dt.timedelta(days=1), Pregnancy.delivered_on <= born_on)
        .order_by(Pregnancy.delivered_on.desc(), Pregnancy.id.desc()).limit(1))


# --- postpartum ---------------------------------------------------------------------------------------
def record_postpartum(*, session: Session, pregnancy_id: int, visit_in: PostpartumVisitCreate, actor: Actor,
                      today: dt.date | None = None) -> PostpartumVisit:
    """Record the postpartum home visit (产后访视) or the 42-day check. Refused, naming the field: no delivery
    recorded; an unknown kind or one recorded already; the date in the future or before the delivery; a
    42-day check outside days 42–56 after the delivery (maternal.yaml). A home visit later than a week after
    discharge is recorded (it happened) but does not count in the 产后访视率 unless within its window."""
    actor.require("care:write")
    today = today or clock.today()
    p, resident = pregnancy_in_scope(session=session, actor=actor, pregnancy_id=pregnancy_id, for_update=True)
    if p.status != "delivered" or p.delivered_on is None:
        raise InvalidState(_E + "not_delivered")
    cmd = visit_in
    r = rules.rules()
    errs = ErrorCollector()
    if cmd.kind not in rules.POSTPARTUM_KINDS:
        errs.add("kind", _E + "postpartum_kind_unknown", value=cmd.kind)
    else:
        same = session.scalar(select(PostpartumVisit.date).where(PostpartumVisit.pregnancy_id == p.id,
                                                                 PostpartumVisit.kind == cmd.kind))
        if same is not None:
            errs.add("kind", _E + "postpartum_already", kind=f"@care.maternal.postpartum_kinds.{cmd.kind}", date=same)
    if cmd.date > today:
        errs.add("date", _E + "postpartum_future")
    elif cmd.date < p.delivered_on:
        errs.add("date", _E + "postpartum_before_delivery", date=p.delivered_on)
    elif cmd.kind == "check_42":
        start = p.delivered_on + dt.timedelta(days=r.check_42_from_day)
        end = p.delivered_on + dt.timedelta(days=r.check_42_to_day)
        if not start <= cmd.date <= end:
            errs.add("date", _E + "check_42_window", start=start, end=end)
    errs.raise_if_any()
    v = PostpartumVisit(pregnancy_id=p.id, resident_id=resident.id, kind=cmd.kind, date=cmd.date,
                        days_after_discharge=(cmd.date - (p.discharged_on or p.delivered_on)).days,
                        findings=cmd.findings, facility_id=actor.facility_id, created_by=actor.username)
    session.add(v)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="postpartum_visit",
                           entity_id=v.id, resident_id=resident.id, basis=audit_basis(actor, resident.village_code),
                           detail={"pregnancy_id": p.id, "kind": cmd.kind})
    return v


# --- a merge of two records of one person (residents.merging: this area's part) ------------------------
def move_resident(ctx: residents_service.MergeContext) -> list[residents_service.Moved]:
    """Move the merged record's pregnancies and visits to the survivor. Two open pregnancies (one on each
    record) cannot both stay open (one open per woman): the survivor's is kept, the merged record's is ended
    on the merge's day (note closed_duplicate; its visits move with it)."""
    session = ctx.session
    out: list[residents_service.Moved] = []
    kept = _open_pregnancy(session, ctx.survivor_id)
    twin = _open_pregnancy(session, ctx.merged_id)
    if kept is not None and twin is not None:
        out.append(residents_service.Moved("pregnancy", "pregnancies", twin.id, {
            "status": ("open", "ended"), "delivered_on": (twin.delivered_on, ctx.today)}, note="closed_duplicate"))
        twin.status, twin.delivered_on = "ended", ctx.today
        session.flush()
    out += residents_service.reassign(ctx, Pregnancy, "pregnancy")
    out += residents_service.reassign(ctx, AntenatalVisit, "antenatal_visit")
    out += residents_service.reassign(ctx, PostpartumVisit, "postpartum_visit")
    session.flush()
    return out


MERGE_MOVER = residents_service.Mover(
    name="care.maternal",
    columns=frozenset({"pregnancies.resident_id", "antenatal_visits.resident_id", "postpartum_visits.resident_id"}),
    classes=(Pregnancy, AntenatalVisit, PostpartumVisit), move=move_resident, undo_problems=None)


__all__ = [
    "MERGE_MOVER", "PregnancyView", "RegisterRow", "WHICH", "delivery_for_newborn",
    "delivery_of_birth", "get_pregnancy", "grade_risk",
    "maternal_counts", "maternal_records", "move_resident", "needs_referral", "pregnancy_in_scope", "record_antenatal",
    "record_delivery", "record_postpartum", "register", "register_pregnancy",
]
