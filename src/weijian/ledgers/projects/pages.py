"""HTML pages of practical projects: the overview (every project with its 序时进度 colour, counts by category
and by owner, the create form, xlsx) and a project's page (milestones, entries, the progress and milestone
forms). Thin: each form builds its command, calls projects.service and renders; a refused form comes back
with the input kept and every field's error beside it (422)."""
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
from weijian.core.errors import InvalidInput
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
from weijian.ledgers.projects import export, queries, service, sources
from weijian.ledgers.projects.rules import round4, rules
from weijian.ledgers.projects.schemas import MilestoneCreate, ProgressCreate, ProjectCreate

router = APIRouter(dependencies=[Depends(verify_csrf)])
NAV = (nav.NavItem("/ledgers/projects", "ledgers.projects.nav", "ledger:read", 81),)
OVERVIEW = "ledgers/projects/overview.html"
DETAIL = "ledgers/projects/detail.html"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Reader = Depends(require("ledger:read"))
Writer = Depends(require("project:write"))


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        return None


def _overview_ctx(session: Session, actor: Actor, as_of: date | None, **extra: Any) -> dict[str, Any]:
    day = as_of or clock.today()
    rows = queries.standings(session=session, projects=queries.list_projects(session=session), as_of=day)
    ctx: dict[str, Any] = {
        "rows": rows, "as_of": day, "by_category": queries.overview(rows, "category"),
        "by_owner": queries.overview(rows, "owner"), "rules": rules(), "round4": round4,
        "source_kinds": sources.source_kinds(), "can_write": actor.can("project:write"),
        "values": {}, "errors": {}, "form": None}
    ctx.update(extra)
    return ctx


@router.get("/ledgers/projects")
def overview_page(request: Request, session: SessionDep, as_of: str = Query(""), actor: Actor = Reader) -> Response:
    return render(request, OVERVIEW, _overview_ctx(session, actor, _day(as_of)))


@router.get("/ledgers/projects/overview.xlsx")
def overview_xlsx(session: SessionDep, tr: TranslatorDep, as_of: str = Query(""), actor: Actor = Reader) -> Response:
    day = _day(as_of) or clock.today()
    rows = queries.standings(session=session, projects=queries.list_projects(session=session), as_of=day)
    return Response(export.workbook(rows, tr, tr.locale, day), media_type=XLSX,
                    headers={"Content-Disposition": 'attachment; filename="practical-projects.xlsx"'})


@router.post("/ledgers/projects")
async def project_submit(request: Request, session: SessionDep, tr: TranslatorDep, actor: Actor = Writer) -> Response:
    try:
        row = service.create(session=session, project_in=await form_command(request, ProjectCreate), actor=actor)
    except InvalidInput as exc:
        refused(session)
        ctx = _overview_ctx(session, actor, None, form="project", values=await form_values(request),
                            errors=form_errors(exc, tr))
        return render(request, OVERVIEW, ctx, status_code=422)
    return RedirectResponse(f"/ledgers/projects/{row.id}", status_code=303)


def _detail_ctx(session: Session, project_id: int, actor: Actor, **extra: Any) -> dict[str, Any]:
    project = queries.get(session=session, project_id=project_id)
    standing = queries.standings(session=session, projects=[project])[0]
    ctx: dict[str, Any] = {
        "project": project, "standing": standing, "round4": round4, "rules": rules(),
        "milestones": queries.milestones(session=session, project_id=project.id),
        "entries": queries.entries(session=session, project_id=project.id), "today": clock.today(),
        "can_write": actor.can("project:write"), "values": {}, "errors": {}, "form": None}
    ctx.update(extra)
    return ctx


@router.get("/ledgers/projects/{project_id:int}")
def detail_page(project_id: Id64, request: Request, session: SessionDep, actor: Actor = Reader) -> Response:
    return render(request, DETAIL, _detail_ctx(session, project_id, actor))


@router.post("/ledgers/projects/{project_id:int}/progress")
async def progress_submit(project_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                          actor: Actor = Writer) -> Response:
    try:
        service.record_progress(session=session, project_id=project_id,
                                progress_in=await form_command(request, ProgressCreate), actor=actor)
    except InvalidInput as exc:
        refused(session)
        ctx = _detail_ctx(session, project_id, actor, form="progress", values=await form_values(request),
                          errors=form_errors(exc, tr))
        return render(request, DETAIL, ctx, status_code=422)
    return RedirectResponse(f"/ledgers/projects/{project_id}", status_code=303)


@router.post("/ledgers/projects/{project_id:int}/milestones")
async def milestone_submit(project_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                           actor: Actor = Writer) -> Response:
    try:
        service.add_milestone(session=session, project_id=project_id,
                              milestone_in=await form_command(request, MilestoneCreate), actor=actor)
    except InvalidInput as exc:
        refused(session)
        ctx = _detail_ctx(session, project_id, actor, form="milestone", values=await form_values(request),
                          errors=form_errors(exc, tr))
        return render(request, DETAIL, ctx, status_code=422)
    return RedirectResponse(f"/ledgers/projects/{project_id}#milestones", status_code=303)
