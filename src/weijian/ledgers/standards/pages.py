"""HTML pages of facility standardisation: the progress of a standard ("N of M meet it as of D") with the
facilities it applies to and their latest assessment, the assessment form (the checklist, each item passed
or not with the evidence seen) and one assessment. Thin: each route calls the service and renders; a
refused form re-renders with the errors beside the fields (422), the user's input kept."""
from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from weijian.accounts.deps import require
from weijian.core import clock, nav
from weijian.core.actor import Actor
from weijian.core.bounds import Id64, date_in_range
from weijian.core.commands import build
from weijian.core.errors import InvalidInput, NotFound
from weijian.core.web import SessionDep, TranslatorDep, form_errors, form_values, refused, render, verify_csrf
from weijian.ledgers.standards import service
from weijian.ledgers.standards.rules import Standard, rules
from weijian.ledgers.standards.schemas import AssessmentCreate
from weijian.orgunits import service as orgunits_service

router = APIRouter(dependencies=[Depends(verify_csrf)])
NAV = (nav.NavItem("/ledgers/standards", "ledgers.standards.nav", "ledger:read", 80),)
ASSESS = "ledgers/standards/assess.html"


def _standard(code: str) -> str:
    return code if code in rules().standards else next(iter(rules().standards))


def _day(raw: str) -> dt.date:
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        return clock.today()
    return day if date_in_range(day) else clock.today()


@router.get("/ledgers/standards")
def progress_page(request: Request, session: SessionDep, standard: str = "", as_of: str = "",
                  actor: Actor = Depends(require("ledger:read"))) -> Response:
    code = _standard(standard)
    day = _day(as_of)
    rows = service.facility_statuses(session=session, actor=actor, standard=code, as_of=day)
    names = dict((u.code, u.name) for u in orgunits_service.list_orgunits(session=session)
                 if u.code in {r.facility.orgunit_code for r in rows})
    return render(request, "ledgers/standards/progress.html", {
        "standards": rules().standards, "standard": code, "std": rules().standards[code], "as_of": day,
        "rows": rows, "met": sum(1 for r in rows if r.meets), "names": names,
        "can_write": actor.can("ledger:write")})


def _assess_ctx(session: Session, actor: Actor, facility_id: int, std_code: str, **extra: Any) -> dict[str, Any]:
    facility = orgunits_service.get_facility(session=session, facility_id=facility_id)
    if facility is None or not orgunits_service.in_scope(scope_code=actor.scope_code, code=facility.orgunit_code):
        raise NotFound("ledgers.standards.errors.facility_not_found", facility_id=facility_id)
    ctx: dict[str, Any] = {"facility": facility, "standard": std_code, "std": rules().standards[std_code],
                           "values": {"assessed_on": clock.today().isoformat(), "assessor": ""},
                           "errors": {}}
    ctx.update(extra)
    return ctx


@router.get("/ledgers/standards/assess")
def assess_page(request: Request, session: SessionDep, facility_id: Id64, standard: str = "",
                actor: Actor = Depends(require("ledger:write"))) -> Response:
    return render(request, ASSESS, _assess_ctx(session, actor, facility_id, _standard(standard)))


def _results(std: Standard, values: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"item": i.code, "passed": values.get(f"passed_{i.code}") in ("true", "on"),
             "evidence": values.get(f"evidence_{i.code}") or None} for i in std.items]


@router.post("/ledgers/standards/assessments")
async def assess_submit(request: Request, session: SessionDep, tr: TranslatorDep,
                        actor: Actor = Depends(require("ledger:write"))) -> Response:
    values = await form_values(request)
    code = _standard(str(values.get("standard") or ""))
    std = rules().standards[code]
    try:
        cmd = build(AssessmentCreate, {k: values.get(k) for k in ("facility_id", "assessed_on", "assessor", "note")
                                       if values.get(k)}, standard=code, results=_results(std, values))
        row = service.record_assessment(session=session, assessment_in=cmd, actor=actor)
    except InvalidInput as exc:
        refused(session)
        raw_id = str(values.get("facility_id") or "")
        if not raw_id.isdigit():
            raise
        ctx = _assess_ctx(session, actor, int(raw_id), code, values=values, errors=form_errors(exc, tr))
        return render(request, ASSESS, ctx, status_code=422)
    return RedirectResponse(f"/ledgers/standards/assessments/{row.id}", status_code=303)


@router.get("/ledgers/standards/assessments/{assessment_id:int}")
def assessment_page(assessment_id: Id64, request: Request, session: SessionDep,
                    actor: Actor = Depends(require("ledger:read"))) -> Response:
    a, facility = service.get_assessment(session=session, actor=actor, assessment_id=assessment_id)
    std = rules().standards.get(a.standard)
    return render(request, "ledgers/standards/assessment.html", {
        "a": a, "facility": facility, "std": std, "failed": service.failed_required(a)})
