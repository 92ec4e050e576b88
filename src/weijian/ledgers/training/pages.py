"""HTML page of training and outreach: the roll-up of people trained (人次) by township and project over a
period (this year by default), the totals by project, the recent sessions and the session form. A refused
form comes back with the input kept and the errors beside it (422)."""
from __future__ import annotations

import datetime as dt
import io
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from weijian.accounts.deps import require
from weijian.core import clock, nav
from weijian.core.actor import Actor
from weijian.core.bounds import date_in_range
from weijian.core.errors import InvalidInput
from weijian.core.excel import append
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
from weijian.ledgers.training import service
from weijian.ledgers.training.schemas import SessionCreate

router = APIRouter(dependencies=[Depends(verify_csrf)])
NAV = (nav.NavItem("/ledgers/training", "ledgers.training.nav", "ledger:read", 82),)
PAGE = "ledgers/training/rollup.html"


def _day(raw: str, default: dt.date) -> dt.date:
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        return default
    return day if date_in_range(day) else default


def _ctx(session: Session, actor: Actor, date_from: dt.date, date_to: dt.date, **extra: Any) -> dict[str, Any]:
    rows = service.rollup(session=session, actor=actor, date_from=date_from, date_to=date_to)
    by_project: dict[str, int] = {}
    for r in rows:
        by_project[r.project] = by_project.get(r.project, 0) + r.trained
    ctx: dict[str, Any] = {
        "rows": rows, "by_project": by_project, "total": sum(by_project.values()), "date_from": date_from,
        "date_to": date_to, "projects": service.projects(session=session, actor=actor),
        "recent": service.list_sessions(session=session, actor=actor)[:20], "can_write": actor.can("ledger:write"),
        "values": {"held_on": clock.today().isoformat()}, "errors": {}}
    ctx.update(extra)
    return ctx


@router.get("/ledgers/training")
def rollup_page(request: Request, session: SessionDep, date_from: str = "", date_to: str = "",
                actor: Actor = Depends(require("ledger:read"))) -> Response:
    today = clock.today()
    start = _day(date_from, today.replace(month=1, day=1))
    end = _day(date_to, today)
    return render(request, PAGE, _ctx(session, actor, start, end))


@router.get("/ledgers/training/rollup.xlsx")
def rollup_xlsx(session: SessionDep, tr: TranslatorDep, date_from: str = "", date_to: str = "",
                actor: Actor = Depends(require("ledger:read"))) -> Response:
    """The roll-up as xlsx (township, project, sessions, 人次) for the period the page shows, totals last;
    every cell through core.excel (formulas escaped)."""
    from openpyxl import Workbook

    today = clock.today()
    start, end = _day(date_from, today.replace(month=1, day=1)), _day(date_to, today)
    rows = service.rollup(session=session, actor=actor, date_from=start, date_to=end)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = tr("ledgers.training.rollup")[:31]
    append(ws, [f"{tr('ledgers.training.rollup')}（{start.isoformat()} – {end.isoformat()}）"])
    append(ws, [tr(f"ledgers.training.columns.{c}") for c in ("township", "project", "sessions", "trained")])
    for r in rows:
        append(ws, [r.township_name, r.project, r.sessions, r.trained])
    append(ws, [tr("ledgers.training.columns.total"), None, sum(r.sessions for r in rows),
                sum(r.trained for r in rows)])
    buf = io.BytesIO()
    wb.save(buf)
    return Response(buf.getvalue(), media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": 'attachment; filename="training-rollup.xlsx"'})


@router.post("/ledgers/training/sessions")
async def session_submit(request: Request, session: SessionDep, tr: TranslatorDep,
                         actor: Actor = Depends(require("ledger:write"))) -> Response:
    try:
        service.record_session(session=session, session_in=await form_command(request, SessionCreate), actor=actor)
    except InvalidInput as exc:
        refused(session)
        today = clock.today()
        ctx = _ctx(session, actor, today.replace(month=1, day=1), today, values=await form_values(request),
                   errors=form_errors(exc, tr))
        return render(request, PAGE, ctx, status_code=422)
    return RedirectResponse("/ledgers/training", status_code=303)
