"""HTML pages of the hazard ledger: the ledgers (问题台账, 责任人台账, 落实到位台账, 逾期 — tabs of one page, each
printable and exportable to xlsx) with the bureau's escalation list and the inspection form; an inspection's
page with its problems and the problem form (photos); a problem's page with its photos, rectifications and
the rectify and verify forms. Thin: each form builds its command, calls hazards.service and renders; a
refused form comes back with the input kept and every field's error beside it (422)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from weijian.accounts.deps import require
from weijian.core import clock, nav
from weijian.core.actor import Actor
from weijian.core.bounds import Id64
from weijian.core.errors import InvalidInput, InvalidState, NotFound
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
from weijian.ledgers.hazards import export, queries, service
from weijian.ledgers.hazards.models import Inspection
from weijian.ledgers.hazards.rules import rules
from weijian.ledgers.hazards.schemas import (
    InspectionCreate,
    ProblemCreate,
    RectificationCreate,
    VerificationCreate,
)
from weijian.orgunits import service as orgunits_service

router = APIRouter(dependencies=[Depends(verify_csrf)])
NAV = (nav.NavItem("/ledgers/hazards", "ledgers.hazards.nav", "ledger:read", 80),)
INDEX = "ledgers/hazards/index.html"
INSPECTION = "ledgers/hazards/inspection.html"
PROBLEM = "ledgers/hazards/problem.html"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Reader = Depends(require("ledger:read"))
Writer = Depends(require("ledger:write"))
Verifier = Depends(require("ledger:verify"))


def _store(request: Request) -> Path:
    return Path(request.app.state.settings.upload_dir) / "hazards"


async def _uploads(request: Request, name: str) -> list[service.Upload]:
    """The files of one file field (an empty file input sends a nameless empty part: not a file)."""
    form = await request.form()
    out = []
    for item in form.getlist(name):
        if isinstance(item, str):
            continue
        # At most one byte over the limit is read: a bigger file is refused by its size, not held in memory.
        content = await item.read(rules().photo_max_bytes + 1)
        if content or item.filename:
            out.append(service.Upload(content, item.filename, item.size))
    return out


def _view(view: str) -> str:
    return view if view in queries.VIEWS else "problems"


def _index_ctx(session: Session, actor: Actor, view: str, **extra: Any) -> dict[str, Any]:
    today = clock.today()
    facilities = orgunits_service.list_facilities(session=session, under=actor.scope_code) \
        if actor.scope_code else orgunits_service.list_facilities(session=session)
    ctx: dict[str, Any] = {
        "view": view, "views": queries.VIEWS, "rows": queries.ledger(session=session, actor=actor, view=view,
                                                                      today=today),
        "escalations": queries.escalations(session=session, actor=actor, today=today),
        "inspections": queries.list_inspections(session=session, actor=actor, limit=30),
        "facility_names": {f.id: f.name for f in facilities}, "facilities": facilities,
        "rules": rules(), "today": today, "columns": export.COLUMNS[view], "cell": export.cell,
        "can_write": actor.can("ledger:write"), "values": {}, "errors": {}, "form": None}
    ctx.update(extra)
    return ctx


@router.get("/ledgers/hazards")
def index_page(request: Request, session: SessionDep, tr: TranslatorDep, view: str = Query("problems"),
               actor: Actor = Reader) -> Response:
    ctx = _index_ctx(session, actor, _view(view))
    ctx["tr"] = tr
    return render(request, INDEX, ctx)


@router.get("/ledgers/hazards/ledger.xlsx")
def ledger_xlsx(session: SessionDep, tr: TranslatorDep, view: str = Query("problems"),
                actor: Actor = Reader) -> Response:
    chosen = _view(view)
    today = clock.today()
    rows = queries.ledger(session=session, actor=actor, view=chosen, today=today)
    return Response(export.workbook(rows, chosen, tr, tr.locale, today), media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="hazard-ledger-{chosen}.xlsx"'})


@router.post("/ledgers/hazards/inspections")
async def inspection_submit(request: Request, session: SessionDep, tr: TranslatorDep,
                            actor: Actor = Writer) -> Response:
    try:
        row = service.create_inspection(session=session, inspection_in=await form_command(request, InspectionCreate),
                                        actor=actor)
    except InvalidInput as exc:
        refused(session)
        ctx = _index_ctx(session, actor, "problems", form="inspection", values=await form_values(request),
                         errors=form_errors(exc, tr))
        ctx["tr"] = tr
        return render(request, INDEX, ctx, status_code=422)
    return RedirectResponse(f"/ledgers/hazards/inspections/{row.id}", status_code=303)


def _inspection_ctx(session: Session, actor: Actor, inspection_id: int, **extra: Any) -> dict[str, Any]:
    inspection = queries.get_inspection(session=session, inspection_id=inspection_id, actor=actor)
    today = clock.today()
    problems = queries.problems_of(session=session, inspection_id=inspection.id)
    ctx: dict[str, Any] = {
        "inspection": inspection, "problems": problems, "today": today, "is_overdue": queries.is_overdue,
        "facility_name": queries.facility_names(session, {inspection.facility_id}).get(inspection.facility_id, ""),
        "rules": rules(), "can_write": actor.can("ledger:write"), "values": {}, "errors": {}}
    ctx.update(extra)
    return ctx


@router.get("/ledgers/hazards/inspections/{inspection_id:int}")
def inspection_page(inspection_id: Id64, request: Request, session: SessionDep, actor: Actor = Reader) -> Response:
    return render(request, INSPECTION, _inspection_ctx(session, actor, inspection_id))


@router.post("/ledgers/hazards/inspections/{inspection_id:int}/problems")
async def problem_submit(inspection_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                         actor: Actor = Writer) -> Response:
    try:
        cmd = await form_command(request, ProblemCreate)
        problem = service.add_problem(session=session, inspection_id=inspection_id, problem_in=cmd, actor=actor,
                                      photos=await _uploads(request, "photos"), store=_store(request))
    except InvalidInput as exc:
        refused(session)
        ctx = _inspection_ctx(session, actor, inspection_id, values=await form_values(request),
                              errors=form_errors(exc, tr))
        return render(request, INSPECTION, ctx, status_code=422)
    return RedirectResponse(f"/ledgers/hazards/problems/{problem.id}", status_code=303)


def _problem_ctx(session: Session, actor: Actor, problem_id: int, **extra: Any) -> dict[str, Any]:
    problem = queries.get_problem(session=session, problem_id=problem_id, actor=actor)
    today = clock.today()
    inspection = session.get(Inspection, problem.inspection_id)
    ctx: dict[str, Any] = {
        "problem": problem, "inspection": inspection, "today": today,
        "overdue": queries.is_overdue(problem, today), "days_overdue": queries.days_overdue(problem, today),
        "facility_name": queries.facility_names(session, {problem.facility_id}).get(problem.facility_id, ""),
        "photos": queries.photos(session=session, problem_ids=[problem.id]).get(problem.id, []),
        "rectifications": queries.rectifications(session=session, problem_ids=[problem.id]).get(problem.id, []),
        "rules": rules(), "can_write": actor.can("ledger:write"), "can_verify": actor.can("ledger:verify"),
        "values": {}, "errors": {}, "form": None, "message": None}
    ctx.update(extra)
    return ctx


@router.get("/ledgers/hazards/problems/{problem_id:int}")
def problem_page(problem_id: Id64, request: Request, session: SessionDep, actor: Actor = Reader) -> Response:
    return render(request, PROBLEM, _problem_ctx(session, actor, problem_id))


@router.post("/ledgers/hazards/problems/{problem_id:int}/rectify")
async def rectify_submit(problem_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                         actor: Actor = Writer) -> Response:
    try:
        cmd = await form_command(request, RectificationCreate)
        service.rectify(session=session, problem_id=problem_id, rectification_in=cmd, actor=actor,
                        evidence=await _uploads(request, "evidence"), store=_store(request))
    except (InvalidInput, InvalidState) as exc:
        refused(session)
        errors = form_errors(exc, tr) if isinstance(exc, InvalidInput) else {}
        ctx = _problem_ctx(session, actor, problem_id, form="rectify", values=await form_values(request),
                           errors=errors, message=None if errors else tr(exc.message_key, **exc.params))
        return render(request, PROBLEM, ctx, status_code=exc.status_code)
    return RedirectResponse(f"/ledgers/hazards/problems/{problem_id}", status_code=303)


@router.post("/ledgers/hazards/problems/{problem_id:int}/verify")
async def verify_submit(problem_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                        actor: Actor = Verifier) -> Response:
    try:
        service.verify(session=session, problem_id=problem_id,
                       verification_in=await form_command(request, VerificationCreate), actor=actor)
    except (InvalidInput, InvalidState) as exc:
        refused(session)
        errors = form_errors(exc, tr) if isinstance(exc, InvalidInput) else {}
        ctx = _problem_ctx(session, actor, problem_id, form="verify", values=await form_values(request),
                           errors=errors, message=None if errors else tr(exc.message_key, **exc.params))
        return render(request, PROBLEM, ctx, status_code=exc.status_code)
    return RedirectResponse(f"/ledgers/hazards/problems/{problem_id}", status_code=303)


@router.get("/ledgers/hazards/photos/{photo_id:int}")
def photo_file(photo_id: Id64, request: Request, session: SessionDep, actor: Actor = Reader) -> Response:
    """The photo's file, served with the type read from its bytes (never sniffed again by the browser)."""
    photo = queries.get_photo(session=session, photo_id=photo_id, actor=actor)
    path = service.photo_path(_store(request), photo)
    if not path.exists():
        raise NotFound("ledgers.hazards.errors.photo_not_found", photo_id=photo_id)
    return FileResponse(path, media_type=photo.content_type, headers={"X-Content-Type-Options": "nosniff"})
