"""Writes of the elderly's annual service (老年人健康管理, 老年人中医药健康管理): a self-care ability
assessment with the auxiliary tests, linked to the year's health check, and a TCM constitution form scored
by the 体质判定标准表. Each write takes a command (schemas.py); every refusal names its field, before
anything is written. The merge mover (this area's part of a resident merge) is at the end.

What other modules use of this area is importable from here (queries.py, rules.py, counts.py)."""
from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.care.elderly import rules
from weijian.care.elderly.counts import tcm_records, tcm_served
from weijian.care.elderly.models import ElderlyAssessment, TcmAssessment
from weijian.care.elderly.queries import (
    PARTS,
    DueRow,
    ElderlyRecord,
    age_on,
    audit_basis,
    due,
    get_tcm,
    record,
    resident_in_scope,
)
from weijian.care.elderly.schemas import SelfCareCreate, TcmCreate
from weijian.care.models import HealthCheck
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import ErrorCollector
from weijian.residents import access
from weijian.residents import service as residents_service
from weijian.residents.models import Resident

_E = "care.elderly.errors."
GUIDANCE = ("emotion", "diet", "routine", "exercise", "acupoint", "other")  # the form's 中医药保健指导 headings


def _resident(session: Session, actor: Actor, resident_id: int, day: dt.date | None,
              errs: ErrorCollector) -> Resident | None:
    """The resident, in scope and active, 65 or over on `day` (the 规范's 服务对象): refusals on resident_id."""
    r = session.scalar(select(Resident).where(Resident.id == resident_id, access.visible(actor)))
    if r is None:
        errs.add("resident_id", _E + "resident_not_found", resident_id=resident_id)
        return None
    if r.status != "active":
        errs.add("resident_id", _E + "resident_inactive", status=f"@residents.status.{r.status}")
    elif day is not None:
        age = age_on(r.birth_date, day)
        if age < rules.rules().min_age:
            errs.add("resident_id", _E + "under_65", age=age, min_age=rules.rules().min_age)
    return r


def _date(day: dt.date | None, today: dt.date, errs: ErrorCollector) -> None:
    if day is None:
        errs.add("date", "core.errors.validation.missing")
    elif day > today:
        errs.add("date", _E + "date_future")


# --- 生活自理能力评估 and 辅助检查 ---------------------------------------------------------------------------
def record_self_care(*, session: Session, assessment_in: SelfCareCreate, actor: Actor,
                     today: dt.date | None = None) -> ElderlyAssessment:
    """Record the year's self-care assessment with the auxiliary tests. Refused, naming the field: a resident
    outside the scope, not active or under 65 on the date; the date missing or in the future; an item's level
    missing or not one the form offers for it (进餐 and 穿衣 have no 轻度依赖); an unknown test or result; a
    health check that is not this resident's annual_65 check of the same year (voided ones included). Without
    `health_check_id` the resident's latest annual_65 check of that year (on or before the date) is linked,
    if there is one."""
    actor.require("care:write")
    today = today or clock.today()
    r_ = rules.rules()
    cmd = assessment_in
    errs = ErrorCollector()
    _date(cmd.date, today, errs)
    resident = _resident(session, actor, cmd.resident_id, cmd.date if cmd.date and cmd.date <= today else None, errs)
    levels: dict[str, str] = {}
    for it in r_.items:
        lv = getattr(cmd, it.code)
        if lv is None:
            errs.add(it.code, "core.errors.validation.missing")
        elif lv not in it.levels():
            errs.add(it.code, _E + "level_not_on_form", value=lv, item=f"@care.elderly.items.{it.code}")
        else:
            levels[it.code] = lv
    tests: dict[str, dict[str, str | None]] = {}
    for code, t in cmd.tests.items():
        if code not in r_.tests:
            errs.add("tests", _E + "test_unknown", value=code)
        elif t.result not in r_.test_results:
            errs.add(f"tests.{code}", _E + "test_result_unknown", value=t.result)
        else:
            tests[code] = {"result": t.result, "note": t.note}
    check_id = cmd.health_check_id
    if resident is not None and cmd.date is not None:
        year = (dt.date(cmd.date.year, 1, 1), dt.date(cmd.date.year, 12, 31))
        if check_id is not None:
            ok = session.scalar(select(HealthCheck.id).where(
                HealthCheck.id == check_id, HealthCheck.resident_id == resident.id, HealthCheck.kind == "annual_65",
                HealthCheck.voided_at.is_(None), HealthCheck.date >= year[0], HealthCheck.date <= year[1]))
            if ok is None:
                errs.add("health_check_id", _E + "health_check_not_this_year", health_check_id=check_id,
                         year=cmd.date.year)
        else:
            check_id = session.scalar(select(HealthCheck.id).where(
                HealthCheck.resident_id == resident.id, HealthCheck.kind == "annual_65",
                HealthCheck.voided_at.is_(None), HealthCheck.date >= year[0], HealthCheck.date <= cmd.date)
                .order_by(HealthCheck.date.desc(), HealthCheck.id.desc()).limit(1))
    errs.raise_if_any()
    assert resident is not None and cmd.date is not None
    s = rules.self_care(levels)
    a = ElderlyAssessment(resident_id=resident.id, health_check_id=check_id, date=cmd.date,
                          facility_id=actor.facility_id, total=s.total, band=s.band,
                          levels=json.dumps(levels, sort_keys=True), tests=json.dumps(tests, ensure_ascii=False,
                                                                                      sort_keys=True),
                          rule_version=s.version, note=cmd.note, created_by=actor.username, **s.scores)
    session.add(a)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="elderly_assessment",
                           entity_id=a.id, resident_id=resident.id, basis=audit_basis(actor, resident.village_code),
                           detail={"total": s.total, "band": s.band, "health_check_id": check_id})
    return a


# --- 中医体质辨识 -----------------------------------------------------------------------------------------
def check_answers(answers: list[int | None], errs: ErrorCollector) -> tuple[int, ...] | None:
    """The 33 answers, or None with the refusals on `answers`: the questions unanswered (填表说明: 不能空项)
    and the answers outside 1–5, each naming the question numbers."""
    t = rules.tcm()
    n = len(t.questions)
    given = list(answers[:n]) + [None] * (n - len(answers))
    if len(answers) > n:
        errs.add("answers", _E + "answers_too_many", count=len(answers), expected=n)
    missing, odd = rules.answer_problems(given)
    if missing:
        errs.add("answers", _E + "answers_unanswered", questions=", ".join(map(str, missing)))
    if odd:
        errs.add("answers", _E + "answers_out_of_range", questions=", ".join(map(str, odd)),
                 low=t.answer_min, high=t.answer_max)
    if missing or odd or len(answers) > n:
        return None
    return tuple(int(a) for a in given if a is not None)


def record_tcm(*, session: Session, tcm_in: TcmCreate, actor: Actor, today: dt.date | None = None) -> TcmAssessment:
    """Record a 中医体质辨识 form and the guidance given. Refused, naming the field: a resident outside the
    scope, not active or under 65 on the date; the date missing or in the future; a question unanswered or an
    answer outside 1–5 (naming the questions); an unknown guidance heading."""
    actor.require("care:write")
    today = today or clock.today()
    cmd = tcm_in
    errs = ErrorCollector()
    _date(cmd.date, today, errs)
    resident = _resident(session, actor, cmd.resident_id, cmd.date if cmd.date and cmd.date <= today else None, errs)
    answers = check_answers(cmd.answers, errs)
    odd = [g for g in cmd.guidance if g not in GUIDANCE]
    if odd:
        errs.add("guidance", _E + "guidance_unknown", value=", ".join(odd))
    errs.raise_if_any()
    assert resident is not None and cmd.date is not None and answers is not None
    res = rules.constitution(answers)
    t = TcmAssessment(resident_id=resident.id, date=cmd.date, facility_id=actor.facility_id,
                      answers="".join(map(str, answers)), scores=json.dumps(res.scores),
                      verdicts=json.dumps(res.verdicts), main=res.main,
                      guidance=",".join(dict.fromkeys(cmd.guidance)) or None, guidance_other=cmd.guidance_other,
                      rule_version=res.version, created_by=actor.username)
    session.add(t)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="tcm_assessment",
                           entity_id=t.id, resident_id=resident.id, basis=audit_basis(actor, resident.village_code),
                           detail={"identified": res.identified(), "main": res.main})
    return t


# --- a merge of two records of one person (residents.merging: this area's part) ------------------------
def move_resident(ctx: residents_service.MergeContext) -> list[residents_service.Moved]:
    """Move the merged record's assessments to the survivor (no conflict: a year may hold several)."""
    out = residents_service.reassign(ctx, ElderlyAssessment, "elderly_assessment")
    out += residents_service.reassign(ctx, TcmAssessment, "tcm_assessment")
    ctx.session.flush()
    return out


MERGE_MOVER = residents_service.Mover(
    name="care.elderly",
    columns=frozenset({"elderly_assessments.resident_id", "tcm_assessments.resident_id"}),
    classes=(ElderlyAssessment, TcmAssessment), move=move_resident, undo_problems=None)


__all__ = [
    "GUIDANCE", "MERGE_MOVER", "PARTS", "DueRow", "ElderlyRecord", "check_answers", "due", "get_tcm",
    "move_resident", "record", "record_self_care", "record_tcm", "resident_in_scope", "tcm_records", "tcm_served",
]
