"""HTML pages of child health management 0–6: the children of a village with a check overdue or due (overdue
first), the 体弱儿 list of a village, and one child's page (the schedule, the checks with their z-scores, the
体弱儿 cases, a weight chart against the WHO 2006 curves, the check form). Thin: each route calls the service
and renders; a refused form re-renders with the errors beside the fields (422), the user's input kept."""
from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from weijian.accounts.deps import require
from weijian.care.childcare import rules, service
from weijian.care.childcare.schemas import ChildCheckCreate, FrailClose
from weijian.core import clock, nav
from weijian.core.actor import Actor
from weijian.core.bounds import Id64
from weijian.core.errors import InvalidInput
from weijian.core.i18n import Translator
from weijian.core.identifiers import division_level
from weijian.core.web import (
    SessionDep,
    TranslatorDep,
    form_command,
    form_errors,
    form_values,
    refused,
    render,
    verify_csrf,
)
from weijian.residents import service as residents_service

router = APIRouter(dependencies=[Depends(verify_csrf)])
NAV = (nav.NavItem("/care/childcare", "care.childcare.nav", "care:read", 33),)


def _labels(tr: Translator) -> dict[str, Any]:
    r = rules.rules()
    return {"check_labels": {c.code: c.label(tr.locale) for c in r.checks},
            "reasons": {k: v.label(tr.locale) for k, v in r.frail_reasons.items()}}


def _village_ctx(session: Session, actor: Actor, village: str) -> tuple[list[tuple[str, str]], str, bool]:
    villages = residents_service.villages_in_scope(session=session, actor=actor)
    village = village if village in dict(villages) else ""
    county = actor.scope_code is None or division_level(actor.scope_code) == "county"
    return villages, village, county and not village


@router.get("/care/childcare")
def due_page(request: Request, session: SessionDep, tr: TranslatorDep,
             actor: Actor = Depends(require("care:read")), village: str = "") -> Response:
    today = clock.today()
    villages, village, needs_village = _village_ctx(session, actor, village)
    items = [] if needs_village else service.due_children(session=session, actor=actor, as_of=today,
                                                          village_code=village or None)
    return render(request, "care/childcare/due.html", {
        "village": village, "villages": villages, "village_names": dict(villages), "today": today,
        "items": items, "needs_village": needs_village, **_labels(tr)})


@router.get("/care/childcare/frail")
def frail_page(request: Request, session: SessionDep, tr: TranslatorDep,
               actor: Actor = Depends(require("care:read")), village: str = "", status: str = "open") -> Response:
    status = status if status in ("open", "closed") else "open"
    villages, village, needs_village = _village_ctx(session, actor, village)
    items = [] if needs_village else service.frail_list(session=session, actor=actor, village_code=village or None,
                                                        status=status)
    return render(request, "care/childcare/frail.html", {
        "village": village, "villages": villages, "village_names": dict(villages), "status": status,
        "items": items, "needs_village": needs_village, **_labels(tr)})


def _child_ctx(session: Session, actor: Actor, tr: Translator, resident_id: int, **extra: Any) -> dict[str, Any]:
    view = service.get_child(session=session, resident_id=resident_id, actor=actor)
    today = clock.today()
    r = view.resident
    nxt = next((s for s in view.schedule if s.status in ("due", "overdue", "upcoming")), None)
    curves = rules.who_weight_curves(r.sex)
    points = [[round(c.age_days / 30.4375, 2), float(c.weight_kg)] for c in view.checks if c.weight_kg is not None]
    chart = {"months": curves["months"], "median": curves["median"], "minus2": curves["minus2"],
             "plus2": curves["plus2"], "points": points,
             "names": {"median": "WHO 2006 M", "minus2": "−2 SD", "plus2": "+2 SD",
                       "child": r.name}}
    ctx: dict[str, Any] = {
        "view": view, "resident": r, "today": today, "age_months": rules.age_months(r.birth_date, today),
        "village_name": residents_service.village_names(session=session, codes=[r.village_code])[r.village_code],
        "chart": json.dumps(chart, ensure_ascii=False),
        "values": {"check": nxt.check if nxt else "", "date": today.isoformat()}, "errors": {},
        "close_errors": {}, "close_id": None,
        "close_values": {"closed_on": today.isoformat()}, **_labels(tr)}
    ctx.update(extra)
    return ctx


@router.get("/care/childcare/children/{resident_id:int}")
def child_page(resident_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
               actor: Actor = Depends(require("care:read"))) -> Response:
    return render(request, "care/childcare/child.html", _child_ctx(session, actor, tr, resident_id))


@router.post("/care/childcare/children/{resident_id:int}/checks")
async def check_submit(resident_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                       actor: Actor = Depends(require("care:write"))) -> Response:
    try:
        cmd = await form_command(request, ChildCheckCreate, resident_id=resident_id)
        service.record_check(session=session, check_in=cmd, actor=actor)
    except InvalidInput as exc:
        refused(session)
        ctx = _child_ctx(session, actor, tr, resident_id, values=await form_values(request),
                         errors=form_errors(exc, tr))
        return render(request, "care/childcare/child.html", ctx, status_code=422)
    return RedirectResponse(f"/care/childcare/children/{resident_id}", status_code=303)


@router.post("/care/childcare/frail/{frail_id:int}/close")
async def close_submit(frail_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                       actor: Actor = Depends(require("care:write"))) -> Response:
    resident_id = service.frail_resident_id(session=session, actor=actor, frail_id=frail_id)
    try:
        cmd = await form_command(request, FrailClose)
        service.close_frail(session=session, frail_id=frail_id, close_in=cmd, actor=actor)
    except InvalidInput as exc:
        refused(session)
        ctx = _child_ctx(session, actor, tr, resident_id, close_id=frail_id, close_values=await form_values(request),
                         close_errors=form_errors(exc, tr))
        return render(request, "care/childcare/child.html", ctx, status_code=422)
    return RedirectResponse(f"/care/childcare/children/{resident_id}", status_code=303)
