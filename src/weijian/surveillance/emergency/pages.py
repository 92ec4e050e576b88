"""HTML pages of public-health emergencies: the overview (events, the deployments counted over a date range,
teams, drills, the reserve, each with its form) and an event's page (its timeline, deployments, close).
Thin: each form builds its command, calls emergency.service and renders; a refused form comes back with the
input kept and every field's error beside it (422)."""
from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from weijian.accounts.deps import require
from weijian.core import clock, nav
from weijian.core.actor import Actor
from weijian.core.bounds import Id64
from weijian.core.errors import InvalidInput, InvalidState
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
from weijian.surveillance.emergency import queries, service
from weijian.surveillance.emergency.rules import rules
from weijian.surveillance.emergency.schemas import (
    DeploymentCreate,
    DrillCreate,
    EventClose,
    EventCreate,
    MemberCreate,
    SupplyCreate,
    TeamCreate,
    TimelineCreate,
)

router = APIRouter(dependencies=[Depends(verify_csrf)])
# One entry, 应急, for both emergency and zoonoses pages (the zoonoses page links from here).
NAV = (nav.NavItem("/surveillance/emergency", "surveillance.emergency.nav", "emergency:read", 70),)
OVERVIEW = "surveillance/emergency/overview.html"
EVENT = "surveillance/emergency/event.html"
Reader = Depends(require("emergency:read"))
Writer = Depends(require("emergency:write"))


def _parse_day(text: str, field: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(field, "core.errors.validation.date_from_datetime_parsing") from None


def _overview_ctx(session: Session, actor: Actor, *, date_from: str = "", date_to: str = "",
                  form: str | None = None, values: dict[str, Any] | None = None,
                  errors: dict[str, str] | None = None, range_errors: dict[str, str] | None = None) -> dict[str, Any]:
    today = clock.today()
    summary = None
    range_errors = dict(range_errors or {})
    if (date_from or date_to) and not range_errors:
        try:
            summary = queries.deployment_summary(session=session, date_from=_parse_day(date_from, "from"),
                                                 date_to=_parse_day(date_to, "to"))
        except InvalidInput as exc:
            range_errors = {e.field: e.reason_key for e in exc.errors}
    teams = queries.list_teams(session=session)
    events = queries.list_events(session=session, actor=actor)
    return {"events": events, "late": {e.id: queries.reported_late(e) for e in events},
            "hours": {e.id: queries.report_hours(e) for e in events}, "summary": summary,
            "date_from": date_from, "date_to": date_to, "range_errors": range_errors,
            "teams": teams, "members": queries.members(session=session, team_ids=[t.id for t in teams]),
            "team_names": {t.id: t.name for t in teams},
            "deployments": queries.list_deployments(session=session)[-50:][::-1],
            "drills": queries.list_drills(session=session), "supplies": queries.list_supplies(session=session),
            "rules": rules(), "today": today, "form": form, "values": values or {}, "errors": errors or {},
            "local_time": clock.format_local, "can_write": actor.can("emergency:write")}


@router.get("/surveillance/emergency")
def overview_page(request: Request, session: SessionDep, tr: TranslatorDep, actor: Actor = Reader,
                  date_from: str = Query("", alias="from"), date_to: str = Query("", alias="to")) -> Response:
    """The overview; with `from` and `to`, the batches and people deployed in that range."""
    ctx = _overview_ctx(session, actor, date_from=date_from, date_to=date_to)
    ctx["range_errors"] = {k: tr(v) for k, v in ctx["range_errors"].items()}
    return render(request, OVERVIEW, ctx, status_code=422 if ctx["range_errors"] else 200)


async def _refused_overview(request: Request, session: Session, tr: Any, actor: Actor, form: str,
                            exc: InvalidInput) -> Response:
    refused(session)
    ctx = _overview_ctx(session, actor, form=form, values=await form_values(request), errors=form_errors(exc, tr))
    ctx["range_errors"] = {}
    return render(request, OVERVIEW, ctx, status_code=422)


@router.post("/surveillance/emergency/events")
async def event_submit(request: Request, session: SessionDep, tr: TranslatorDep, actor: Actor = Writer) -> Response:
    try:
        event = service.create_event(session=session, event_in=await form_command(request, EventCreate),
                                     actor=actor)
    except InvalidInput as exc:
        return await _refused_overview(request, session, tr, actor, "event", exc)
    return RedirectResponse(f"/surveillance/emergency/events/{event.id}", status_code=303)


@router.post("/surveillance/emergency/teams")
async def team_submit(request: Request, session: SessionDep, tr: TranslatorDep, actor: Actor = Writer) -> Response:
    try:
        service.create_team(session=session, team_in=await form_command(request, TeamCreate), actor=actor)
    except InvalidInput as exc:
        return await _refused_overview(request, session, tr, actor, "team", exc)
    return RedirectResponse("/surveillance/emergency#teams", status_code=303)


@router.post("/surveillance/emergency/teams/{team_id:int}/members")
async def member_submit(team_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                        actor: Actor = Writer) -> Response:
    try:
        service.add_member(session=session, team_id=team_id, member_in=await form_command(request, MemberCreate),
                           actor=actor)
    except InvalidInput as exc:
        return await _refused_overview(request, session, tr, actor, f"member-{team_id}", exc)
    return RedirectResponse("/surveillance/emergency#teams", status_code=303)


@router.post("/surveillance/emergency/deployments")
async def deployment_submit(request: Request, session: SessionDep, tr: TranslatorDep,
                            actor: Actor = Writer) -> Response:
    try:
        service.create_deployment(session=session, deployment_in=await form_command(request, DeploymentCreate),
                                  actor=actor)
    except InvalidInput as exc:
        return await _refused_overview(request, session, tr, actor, "deployment", exc)
    return RedirectResponse("/surveillance/emergency#deployments", status_code=303)


@router.post("/surveillance/emergency/drills")
async def drill_submit(request: Request, session: SessionDep, tr: TranslatorDep, actor: Actor = Writer) -> Response:
    try:
        service.create_drill(session=session, drill_in=await form_command(request, DrillCreate), actor=actor)
    except InvalidInput as exc:
        return await _refused_overview(request, session, tr, actor, "drill", exc)
    return RedirectResponse("/surveillance/emergency#drills", status_code=303)


@router.post("/surveillance/emergency/supplies")
async def supply_submit(request: Request, session: SessionDep, tr: TranslatorDep,
                        actor: Actor = Writer) -> Response:
    try:
        service.create_supply(session=session, supply_in=await form_command(request, SupplyCreate), actor=actor)
    except InvalidInput as exc:
        return await _refused_overview(request, session, tr, actor, "supply", exc)
    return RedirectResponse("/surveillance/emergency#supplies", status_code=303)


# --- one event ------------------------------------------------------------------------------------
def _event_ctx(session: Session, actor: Actor, event_id: int, **extra: Any) -> dict[str, Any]:
    event = queries.get_event(session=session, event_id=event_id, actor=actor)
    teams = queries.list_teams(session=session)
    ctx: dict[str, Any] = {
        "event": event, "late": queries.reported_late(event), "hours": queries.report_hours(event),
        "timeline": queries.timeline(session=session, event_id=event.id),
        "deployments": queries.list_deployments(session=session, event_id=event.id),
        "totals": queries.event_deployments(session=session, event_id=event.id),
        "team_names": {t.id: t.name for t in teams}, "rules": rules(), "local_time": clock.format_local,
        "can_write": actor.can("emergency:write"), "values": {}, "errors": {}, "message": None, "form": None}
    ctx.update(extra)
    return ctx


@router.get("/surveillance/emergency/events/{event_id:int}")
def event_page(event_id: Id64, request: Request, session: SessionDep, actor: Actor = Reader) -> Response:
    return render(request, EVENT, _event_ctx(session, actor, event_id))


@router.post("/surveillance/emergency/events/{event_id:int}/timeline")
async def timeline_submit(event_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                          actor: Actor = Writer) -> Response:
    try:
        service.add_timeline(session=session, event_id=event_id,
                             entry_in=await form_command(request, TimelineCreate), actor=actor)
    except InvalidInput as exc:
        refused(session)
        ctx = _event_ctx(session, actor, event_id, form="timeline", values=await form_values(request),
                         errors=form_errors(exc, tr))
        return render(request, EVENT, ctx, status_code=422)
    return RedirectResponse(f"/surveillance/emergency/events/{event_id}#timeline", status_code=303)


@router.post("/surveillance/emergency/events/{event_id:int}/close")
async def close_submit(event_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                       actor: Actor = Writer) -> Response:
    try:
        service.close_event(session=session, event_id=event_id, close_in=await form_command(request, EventClose),
                            actor=actor)
    except (InvalidInput, InvalidState) as exc:
        refused(session)
        errors = form_errors(exc, tr) if isinstance(exc, InvalidInput) else {}
        ctx = _event_ctx(session, actor, event_id, form="close", values=await form_values(request),
                         errors=errors, message=None if errors else tr(exc.message_key, **exc.params))
        return render(request, EVENT, ctx, status_code=exc.status_code)
    return RedirectResponse(f"/surveillance/emergency/events/{event_id}", status_code=303)
