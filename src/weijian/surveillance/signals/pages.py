"""HTML pages of the early-warning signals: today's and the open signals (overdue verifications in red, the
time to verify and to respond, the share verified within the limit), one signal with the actions
`service.allowed_actions` gives (verify, respond, close), and the epidemic curve of a disease by township
(ECharts from /static, with the same figures as a table)."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from weijian.accounts.deps import ActorDep, require
from weijian.core import clock, nav
from weijian.core.actor import Actor
from weijian.core.bounds import Id64
from weijian.core.errors import Conflict, InvalidInput, InvalidState
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
from weijian.surveillance import rules
from weijian.surveillance.signals import queries, service
from weijian.surveillance.signals.models import STATES
from weijian.surveillance.signals.schemas import CloseIn, RespondIn, VerifyIn

router = APIRouter(dependencies=[Depends(verify_csrf)])
NAV = (nav.NavItem("/surveillance/signals", "surveillance.signals.nav.signals", "signal:read", 70),
       nav.NavItem("/surveillance/curve", "surveillance.signals.nav.curve", "signal:read", 71))
ACTIONS = ("verify", "respond", "close")
VIEWS = ("open", "all", *STATES)
CURVE_DAYS = 60


def local(value: datetime | None) -> str:
    """A stored time as users read it (county time), to the minute."""
    return clock.local(value).strftime("%Y-%m-%d %H:%M") if value else ""


@router.get("/surveillance/signals")
def signals_page(request: Request, session: SessionDep, tr: TranslatorDep, view: str = "open",
                 actor: Actor = Depends(require("signal:read"))) -> Response:
    view = view if view in VIEWS else "open"
    items = queries.list_signals(session=session, actor=actor, view=view, locale=tr.locale)
    today = clock.today()
    summary = queries.timeliness(session=session, actor=actor, start=today - timedelta(days=29), end=today)
    return render(request, "surveillance/signals/list.html",
                  {"items": items, "view": view, "views": VIEWS, "summary": summary,
                   "can_verify": actor.can("signal:verify"), "local": local})


def _detail_ctx(session: Session, actor: Actor, signal_id: int, locale: str, **extra: Any) -> dict[str, Any]:
    item = queries.get(session=session, signal_id=signal_id, actor=actor, locale=locale)
    ctx: dict[str, Any] = {"item": item, "s": item.signal, "actions": service.allowed_actions(item.signal, actor),
                           "errors": {}, "values": {}, "message": None, "failed": None, "local": local,
                           "figures": json.loads(item.signal.figures or "{}")}
    ctx.update(extra)
    return ctx


@router.get("/surveillance/signals/{signal_id:int}")
def signal_page(signal_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                actor: ActorDep) -> Response:
    return render(request, "surveillance/signals/detail.html", _detail_ctx(session, actor, signal_id, tr.locale))


async def _apply(request: Request, session: Session, actor: Actor, signal_id: int, action: str) -> None:
    if action == "verify":
        service.verify(session=session, signal_id=signal_id, verify_in=await form_command(request, VerifyIn),
                       actor=actor)
    elif action == "respond":
        service.respond(session=session, signal_id=signal_id, respond_in=await form_command(request, RespondIn),
                        actor=actor)
    else:
        service.close(session=session, signal_id=signal_id, close_in=await form_command(request, CloseIn),
                      actor=actor)


@router.post("/surveillance/signals/{signal_id:int}/{action}")
async def signal_act(signal_id: Id64, action: str, request: Request, session: SessionDep, tr: TranslatorDep,
                     actor: ActorDep) -> Response:
    if action not in ACTIONS:
        return render(request, "error.html", {"error": {"message": tr("surveillance.signals.errors.action")}},
                      status_code=404)
    try:
        await _apply(request, session, actor, signal_id, action)
    except (InvalidInput, Conflict, InvalidState) as exc:
        refused(session)
        errors = form_errors(exc, tr) if isinstance(exc, InvalidInput) else {}
        message = None if errors else tr(exc.message_key, **exc.params)
        ctx = _detail_ctx(session, actor, signal_id, tr.locale, errors=errors, message=message,
                          values=await form_values(request), failed=action)
        return render(request, "surveillance/signals/detail.html", ctx, status_code=exc.status_code)
    return RedirectResponse(f"/surveillance/signals/{signal_id}", status_code=303)


@router.get("/surveillance/curve")
def curve_page(request: Request, session: SessionDep, tr: TranslatorDep, disease: str = "",
               start: str = "", end: str = "", actor: Actor = Depends(require("signal:read"))) -> Response:
    today = clock.today()
    values = {"disease": disease, "start": start, "end": end}
    diseases = [d for d in rules.edition_on(today).diseases if d.methods.names()]
    errors: dict[str, str] = {}
    result = None
    try:
        first = _day(start, "start", today - timedelta(days=CURVE_DAYS - 1))
        last = _day(end, "end", today)
        code = disease or (diseases[0].code if diseases else "")
        values.update(disease=code, start=first.isoformat(), end=last.isoformat())
        result = queries.curve(session=session, actor=actor, disease=code, start=first, end=last,
                               counts=service.daily_counts, locale=tr.locale)
    except InvalidInput as exc:
        errors = form_errors(exc, tr)
    chart = None
    if result is not None:
        chart = json.dumps({"days": [d.isoformat() for d in result.days],
                            "lines": [{"code": c, "name": n, "counts": xs} for c, n, xs in result.lines],
                            "signals": result.signal_days}, ensure_ascii=False)
    return render(request, "surveillance/signals/curve.html",
                  {"values": values, "errors": errors, "diseases": diseases, "curve": result, "chart": chart},
                  status_code=422 if errors else 200)


def _day(text: str, field: str, default: date) -> date:
    if not text.strip():
        return default
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(field, "surveillance.signals.errors.bad_date", value=text) from None
