"""HTML pages of approved periods (indicators.approval): the approvals in the user's scope with the
corrections recorded since each, the approve form (the indicators overview offers it per org unit ×
period) and the unapprove form with its reason (period:approve). Thin: each route calls the service."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from weijian.accounts.deps import ActorDep
from weijian.core import clock, web
from weijian.core.actor import Actor
from weijian.core.bounds import Id64
from weijian.core.errors import InvalidInput
from weijian.core.i18n import Translator
from weijian.indicators import approval
from weijian.indicators import service as indicators_service
from weijian.indicators.schemas import ApprovalCreate, ApprovalUnapprove

router = APIRouter(dependencies=[Depends(web.verify_csrf)])
FIELDS = ("orgunit", "period", "note")


def _context(session: Session, actor: Actor, tr: Translator, orgunit: str = "", period: str = "",
             form: dict[str, str] | None = None, errors: dict[str, str] | None = None,
             unapprove: dict[str, Any] | None = None) -> dict[str, Any]:
    try:
        rows = approval.list_approvals(session=session, actor=actor, orgunit=orgunit or None, period=period or None)
    except InvalidInput:
        rows = approval.list_approvals(session=session, actor=actor)
    return {"rows": rows, "local_time": clock.format_local, "can_approve": actor.can(approval.APPROVE),
            "errors": errors or {}, "form": form or {"orgunit": orgunit, "period": period},
            "unapprove": unapprove or {}}


@router.get("/indicators/approvals")
def approvals_page(request: Request, session: web.SessionDep, tr: web.TranslatorDep, actor: ActorDep,
                   orgunit: str = "", period: str = "", saved: str = "") -> Response:
    indicators_service.require_reader(actor)
    ctx = _context(session, actor, tr, orgunit.strip()[:12], period.strip()[:8])
    ctx["saved"] = saved[:16]
    return web.render(request, "indicators/approvals.html", ctx)


@router.post("/indicators/approvals")
async def approve(request: Request, session: web.SessionDep, tr: web.TranslatorDep, actor: ActorDep) -> Response:
    actor.require(approval.APPROVE)  # before the form is read
    try:
        cmd = await web.form_command(request, ApprovalCreate)
        got = approval.approve(session=session, actor=actor, approval_in=cmd)
    except InvalidInput as exc:
        web.refused(session)
        sent = await web.form_values(request)
        values = {k: str(sent.get(k) or "").strip() for k in FIELDS}
        ctx = _context(session, actor, tr, form=values, errors=web.form_errors(exc, tr))
        return web.render(request, "indicators/approvals.html", ctx, status_code=422)
    return RedirectResponse(f"/indicators?period={got.period}&orgunit={got.orgunit}", status_code=303)


@router.post("/indicators/approvals/{approval_id}/unapprove")
async def unapprove(approval_id: Id64, request: Request, session: web.SessionDep, tr: web.TranslatorDep,
                    actor: ActorDep) -> Response:
    actor.require(approval.APPROVE)
    try:
        cmd = await web.form_command(request, ApprovalUnapprove)
        approval.unapprove(session=session, actor=actor, approval_id=approval_id, unapprove_in=cmd)
    except InvalidInput as exc:
        web.refused(session)
        sent = await web.form_values(request)
        ctx = _context(session, actor, tr, unapprove={"id": approval_id, "reason": str(sent.get("reason") or ""),
                                                       "errors": web.form_errors(exc, tr)})
        return web.render(request, "indicators/approvals.html", ctx, status_code=422)
    return RedirectResponse("/indicators/approvals?saved=unapproved", status_code=303)
