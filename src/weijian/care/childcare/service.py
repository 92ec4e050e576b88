"""Writes of child health management 0–6 (0～6岁儿童健康管理): a check of the schedule (its measurements, the
WHO 2006 z-scores worked out from them, the 体弱儿 reasons found, which open or close management cases) and
closing a 体弱儿 case by hand. Each write takes a command (schemas.py); everything that needs the database, the
clock, the birth date or several fields is checked here, every refusal naming its field, before anything is
written. The merge mover (this area's part of a resident merge) is at the end; the composition root registers
it.

What other modules use of this area is importable from here (queries.py, rules.py)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.care.childcare import rules
from weijian.care.childcare.models import ChildCheck, FrailChild
from weijian.care.childcare.queries import (
    ChildView,
    DueRow,
    FrailRow,
    audit_basis,
    child_view,
    due_children,
    frail_list,
    frail_resident_id,
    get_child,
)
from weijian.care.childcare.schemas import ChildCheckCreate, FrailClose
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import ErrorCollector, InvalidState, NotFound
from weijian.residents import access
from weijian.residents import service as residents_service
from weijian.residents.models import Resident

_E = "care.childcare.errors."
_MEASURES = (("weight_kg", "weight_kg"), ("length_cm", "length_cm"), ("head_cm", "head_cm"),
             ("haemoglobin_g_l", "haemoglobin_g_l"))


def _z(v: float | None) -> Decimal | None:
    return None if v is None else Decimal(str(v)).quantize(Decimal("0.01"))


def record_check(*, session: Session, check_in: ChildCheckCreate, actor: Actor,
                 today: dt.date | None = None) -> ChildCheck:
    """Record one check of a child's schedule. Refused, naming the field: a resident outside the actor's
    scope or not active; an unknown check, or one recorded already for this child; the date in the future,
    before the birth, or on or after the 7th birthday (0～6岁); a date outside the check's window without
    `out_of_window_reason`; a measurement outside childcare.yaml's plausible range; a hearing result other than
    pass/refer. The z-scores (WHO 2006, `anthro`) are stored with the check; each 体弱儿 reason found opens a
    case unless one is open, and a reason assessed again and not found closes the open case."""
    actor.require("care:write")
    today = today or clock.today()
    r = rules.rules()
    cmd = check_in
    errs = ErrorCollector()
    resident: Resident | None = None
    try:
        resident, basis = access.resident_in_scope(session=session, actor=actor, resident_id=cmd.resident_id)
    except NotFound:
        errs.add("resident_id", _E + "resident_not_found", resident_id=cmd.resident_id)
        accounts_service.audit(session=session, actor=actor, action="refused", entity_type="child_check",
                               basis="refused", detail={"resident_id": cmd.resident_id}, survive_rollback=True)
    if resident is not None and resident.status != "active":
        errs.add("resident_id", _E + "resident_inactive", status=f"@residents.status.{resident.status}")
    if cmd.check not in r.codes:
        errs.add("check", _E + "check_unknown", value=cmd.check, codes=", ".join(r.codes))
    elif resident is not None:
        same = session.scalar(select(ChildCheck.date).where(ChildCheck.resident_id == resident.id,
                                                            ChildCheck.check_code == cmd.check))
        if same is not None:
            errs.add("check", _E + "check_already", date=same)
    if cmd.date > today:
        errs.add("date", _E + "check_future")
    elif resident is not None and cmd.date < resident.birth_date:
        errs.add("date", _E + "check_before_birth", birth=resident.birth_date)
    elif resident is not None and cmd.date >= rules.seventh_birthday(resident.birth_date):
        errs.add("date", _E + "child_over_six", birth=resident.birth_date)
    elif resident is not None and cmd.check in r.codes and not errs.errors \
            and not rules.in_window(cmd.check, resident.birth_date, cmd.date) and not cmd.out_of_window_reason:
        start, end = r.check(cmd.check).window(resident.birth_date, None, r.newborn_days)
        errs.add("out_of_window_reason", _E + "out_of_window", start=start, end=end)
    for field, key in _MEASURES:
        value = getattr(cmd, field)
        low, high = r.plausible[key]
        if value is not None and not low <= float(value) <= high:
            errs.add(field, _E + "implausible", min=low, max=high)
    if cmd.hearing is not None and cmd.hearing not in ("pass", "refer"):
        errs.add("hearing", _E + "hearing_unknown", value=cmd.hearing)
    errs.raise_if_any()
    assert resident is not None
    months = rules.age_months(resident.birth_date, cmd.date)
    growth = rules.assess_growth(sex=resident.sex, birth=resident.birth_date, on=cmd.date, weight_kg=cmd.weight_kg,
                                 length_cm=cmd.length_cm)
    found = rules.frail_reasons(growth, haemoglobin_g_l=cmd.haemoglobin_g_l, months=months)
    reason = None if rules.in_window(cmd.check, resident.birth_date, cmd.date) else cmd.out_of_window_reason
    c = ChildCheck(resident_id=resident.id, check_code=cmd.check, date=cmd.date, age_months=months,
                   age_days=(cmd.date - resident.birth_date).days, weight_kg=cmd.weight_kg, length_cm=cmd.length_cm,
                   head_cm=cmd.head_cm, development_ok=cmd.development_ok, haemoglobin_g_l=cmd.haemoglobin_g_l,
                   hearing=cmd.hearing, vision=cmd.vision, tcm_guidance=cmd.tcm_guidance, z_wfa=_z(growth.wfa),
                   z_lhfa=_z(growth.lhfa), z_wflh=_z(growth.wflh), frail=",".join(found) or None,
                   findings=cmd.findings, out_of_window_reason=reason, facility_id=actor.facility_id,
                   created_by=actor.username)
    session.add(c)
    session.flush()
    opened, closed = _manage_frail(session, resident.id, c, growth, found, actor)
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="child_check", entity_id=c.id,
                           resident_id=resident.id, basis=basis,
                           detail={"check": cmd.check, "frail": found, "opened": opened, "closed": closed})
    return c


def _assessed(reason: str, growth: rules.Growth, c: ChildCheck) -> bool:
    """Whether this check measured what the reason is judged on (only then can it close the case)."""
    return {"underweight": growth.wfa, "stunting": growth.lhfa, "wasting": growth.wflh,
            "anaemia": c.haemoglobin_g_l}.get(reason) is not None


def _manage_frail(session: Session, resident_id: int, c: ChildCheck, growth: rules.Growth, found: list[str],
                  actor: Actor) -> tuple[list[str], list[str]]:
    z = {"underweight": growth.wfa, "stunting": growth.lhfa, "wasting": growth.wflh}
    open_ = {f.reason: f for f in session.scalars(select(FrailChild).where(FrailChild.resident_id == resident_id,
                                                                            FrailChild.status == "open"))}
    opened, closed = [], []
    for reason in found:
        if reason not in open_:
            session.add(FrailChild(resident_id=resident_id, reason=reason, severity=rules.severity(z.get(reason)),
                                   opened_on=c.date, opened_check_id=c.id, status="open",
                                   created_by=actor.username))
            opened.append(reason)
    for reason, case in open_.items():
        if reason not in found and _assessed(reason, growth, c) and c.date >= case.opened_on:
            case.status, case.closed_on, case.closed_check_id = "closed", c.date, c.id
            closed.append(reason)
    session.flush()
    return opened, closed


def close_frail(*, session: Session, frail_id: int, close_in: FrailClose, actor: Actor,
                today: dt.date | None = None) -> FrailChild:
    """Close a 体弱儿 case by hand (referred and followed elsewhere, moved away …) with a note. Refused: a case
    outside the scope (404) or closed already; the date in the future or before the case opened."""
    actor.require("care:write")
    today = today or clock.today()
    row = session.execute(select(FrailChild, Resident).join(Resident, Resident.id == FrailChild.resident_id)
                          .where(FrailChild.id == frail_id, access.visible(actor))
                          .with_for_update(of=FrailChild)).first()
    if row is None:
        raise NotFound(_E + "frail_not_found", frail_id=frail_id)
    case, resident = row[0], row[1]
    if case.status != "open":
        raise InvalidState(_E + "frail_closed")
    errs = ErrorCollector()
    if close_in.closed_on > today:
        errs.add("closed_on", _E + "check_future")
    elif close_in.closed_on < case.opened_on:
        errs.add("closed_on", _E + "closed_before_opened", date=case.opened_on)
    errs.raise_if_any()
    case.status, case.closed_on, case.closed_note = "closed", close_in.closed_on, close_in.note
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="update", entity_type="frail_child",
                           entity_id=case.id, resident_id=resident.id,
                           basis=audit_basis(actor, resident.village_code),
                           detail={"status": ["open", "closed"], "reason": case.reason})
    return case


# --- a merge of two records of one person (residents.merging: this area's part) ------------------------------
def move_resident(ctx: residents_service.MergeContext) -> list[residents_service.Moved]:
    """Move the merged record's checks and 体弱儿 cases to the survivor. A check both records have (one child
    checked twice under two records) stays the survivor's: the merged record's copy moves under the code
    `x` + its code (kept and listed, out of the schedule; the unmerge restores it). Of two open cases of one
    reason the survivor's is kept and the merged record's closed on the merge's day (note closed_duplicate)."""
    session = ctx.session
    out: list[residents_service.Moved] = []
    have = set(session.scalars(select(ChildCheck.check_code).where(ChildCheck.resident_id == ctx.survivor_id)))
    for c in session.scalars(select(ChildCheck).where(ChildCheck.resident_id == ctx.merged_id)):
        if c.check_code in have:
            out.append(residents_service.Moved("child_check", "child_checks", c.id,
                                               {"check_code": (c.check_code, "x" + c.check_code)},
                                               note="renumbered"))
            c.check_code = "x" + c.check_code
    survivor_open = set(session.scalars(select(FrailChild.reason).where(FrailChild.resident_id == ctx.survivor_id,
                                                                        FrailChild.status == "open")))
    for f in session.scalars(select(FrailChild).where(FrailChild.resident_id == ctx.merged_id,
                                                      FrailChild.status == "open")):
        if f.reason in survivor_open:
            out.append(residents_service.Moved("frail_child", "frail_children", f.id,
                                               {"status": ("open", "closed"), "closed_on": (None, ctx.today)},
                                               note="closed_duplicate"))
            f.status, f.closed_on = "closed", ctx.today
    session.flush()
    out += residents_service.reassign(ctx, ChildCheck, "child_check")
    out += residents_service.reassign(ctx, FrailChild, "frail_child")
    session.flush()
    return out


MERGE_MOVER = residents_service.Mover(
    name="care.childcare",
    columns=frozenset({"child_checks.resident_id", "frail_children.resident_id"}),
    classes=(ChildCheck, FrailChild), move=move_resident, undo_problems=None)


__all__ = [
    "MERGE_MOVER", "ChildView", "DueRow", "FrailRow", "child_view", "close_frail", "due_children", "frail_list",
    "frail_resident_id", "get_child", "move_resident", "record_check",
]
