"""HTML pages of TB patient management: the patient register (treatments under way or ended, suspects
awaiting a result), a treatment's page (the dose card, first visit, follow-ups, and the forms), the suspect
referral and treatment registration forms. The worklist records a dose in one click (htmx: the row comes
back). Thin: each route calls the service and renders; refused forms re-render with the errors (422)."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from weijian.accounts.deps import require
from weijian.core import clock, nav
from weijian.core.actor import Actor
from weijian.core.bounds import Id64
from weijian.core.errors import InvalidInput
from weijian.core.i18n import Translator
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
from weijian.surveillance.tb import queries, service
from weijian.surveillance.tb.rules import rules
from weijian.surveillance.tb.schemas import (
    DoseRecord,
    FirstVisitRecord,
    FollowUpCreate,
    OutcomeRecord,
    SuspectCreate,
    SuspectResult,
    TreatmentCreate,
)

router = APIRouter(dependencies=[Depends(verify_csrf)])
NAV = (nav.NavItem("/surveillance/tb", "surveillance.tb.nav", "care:read", 34),)
T = "surveillance/tb/"


def labels(tr: Translator) -> dict[str, Any]:
    r = rules()
    out: dict[str, Any] = {name: r.labels(name, tr.locale)
                           for name in ("symptoms", "suspect_results", "regimens", "supervisor_kinds", "outcomes")}
    out["local"] = clock.format_local  # times in the county's time
    return out


def _hx(request: Request) -> bool:
    return bool(request.headers.get("hx-request")) and not request.headers.get("hx-history-restore-request")


# --- the register -------------------------------------------------------------------------------------
@router.get("/surveillance/tb")
def register_page(request: Request, session: SessionDep, tr: TranslatorDep,
                  actor: Actor = Depends(require("care:read")), status: str = "active") -> Response:
    status = status if status in queries.STATUSES else "active"
    rows, total = queries.list_treatments(session=session, actor=actor, status=status, page_size=200)
    suspects = queries.list_suspects(session=session, actor=actor, result="pending")
    return render(request, T + "list.html", {"rows": rows, "total": total, "status": status, "suspects": suspects,
                                             "today": clock.today(), **labels(tr)})


# --- suspect referral ---------------------------------------------------------------------------------
@router.get("/surveillance/tb/suspects/new")
def suspect_form(request: Request, tr: TranslatorDep, actor: Actor = Depends(require("care:write")),
                 resident_id: str = "") -> Response:
    values = {"resident_id": resident_id.strip()[:12], "referred_on": clock.today().isoformat(), "symptoms": []}
    return render(request, T + "suspect_form.html", {"values": values, "errors": {}, **labels(tr)})


@router.post("/surveillance/tb/suspects/new")
async def suspect_submit(request: Request, session: SessionDep, tr: TranslatorDep,
                         actor: Actor = Depends(require("care:write"))) -> Response:
    try:
        cmd = await form_command(request, SuspectCreate)
        service.refer_suspect(session=session, suspect_in=cmd, actor=actor)
    except InvalidInput as exc:
        refused(session)
        values = await form_values(request)
        if isinstance(values.get("symptoms"), str):
            values["symptoms"] = [values["symptoms"]]
        return render(request, T + "suspect_form.html", {"values": values, "errors": form_errors(exc, tr),
                                                         **labels(tr)}, status_code=422)
    return RedirectResponse("/surveillance/tb", status_code=303)


@router.post("/surveillance/tb/suspects/{suspect_id:int}/result")
async def suspect_result_submit(suspect_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                                actor: Actor = Depends(require("care:write"))) -> Response:
    queries.suspect_in_scope(session=session, actor=actor, suspect_id=suspect_id)  # 404 outside the scope first
    try:
        cmd = await form_command(request, SuspectResult)
        service.record_suspect_result(session=session, suspect_id=suspect_id, result_in=cmd, actor=actor)
    except InvalidInput as exc:
        refused(session)
        rows, total = queries.list_treatments(session=session, actor=actor, status="active", page_size=200)
        suspects = queries.list_suspects(session=session, actor=actor, result="pending")
        return render(request, T + "list.html", {
            "rows": rows, "total": total, "status": "active", "suspects": suspects, "today": clock.today(),
            "result_for": suspect_id, "result_values": await form_values(request),
            "result_errors": form_errors(exc, tr), **labels(tr)}, status_code=422)
    return RedirectResponse("/surveillance/tb", status_code=303)


# --- treatment registration ---------------------------------------------------------------------------
@router.get("/surveillance/tb/register")
def treatment_form(request: Request, tr: TranslatorDep, actor: Actor = Depends(require("care:write")),
                   resident_id: str = "", suspect_id: str = "") -> Response:
    now = clock.local(clock.now())
    values = {"resident_id": resident_id.strip()[:12], "suspect_id": suspect_id.strip()[:12],
              "notified_at": now.strftime("%Y-%m-%dT%H:%M"), "start_date": now.date().isoformat(),
              "regimen": "2HRZE/4HR", "supervisor_kind": "medical"}
    return render(request, T + "treatment_form.html", {"values": values, "errors": {}, **labels(tr)})


@router.post("/surveillance/tb/register")
async def treatment_submit(request: Request, session: SessionDep, tr: TranslatorDep,
                           actor: Actor = Depends(require("care:write"))) -> Response:
    try:
        cmd = await form_command(request, TreatmentCreate)
        t = service.register_treatment(session=session, treatment_in=cmd, actor=actor)
    except InvalidInput as exc:
        refused(session)
        return render(request, T + "treatment_form.html", {"values": await form_values(request),
                                                           "errors": form_errors(exc, tr), **labels(tr)},
                      status_code=422)
    return RedirectResponse(f"/surveillance/tb/treatments/{t.id}", status_code=303)


# --- one treatment ------------------------------------------------------------------------------------
def _detail_ctx(session: Session, actor: Actor, tr: Translator, treatment_id: int, **extra: Any) -> dict[str, Any]:
    view = queries.get_treatment(session=session, actor=actor, treatment_id=treatment_id)
    today = clock.today()
    ctx: dict[str, Any] = {
        "view": view, "t": view.treatment, "resident": view.resident, "today": today, "now": clock.now(),
        "tries_before_report": rules().tries_before_report,
        "dose_values": {"date": today.isoformat()}, "dose_errors": {},
        "visit_values": {}, "visit_errors": {},
        "fu_values": {"date": today.isoformat()}, "fu_errors": {},
        "outcome_values": {"outcome_on": today.isoformat()}, "outcome_errors": {}, **labels(tr)}
    ctx.update(extra)
    return ctx


@router.get("/surveillance/tb/treatments/{treatment_id:int}")
def treatment_page(treatment_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                   actor: Actor = Depends(require("care:read"))) -> Response:
    return render(request, T + "detail.html", _detail_ctx(session, actor, tr, treatment_id))


async def _refused(request: Request, session: Session, actor: Actor, tr: Translator, treatment_id: int, form: str,
                   exc: InvalidInput) -> Response:
    refused(session)
    ctx = _detail_ctx(session, actor, tr, treatment_id, **{f"{form}_values": await form_values(request),
                                                          f"{form}_errors": form_errors(exc, tr)})
    return render(request, T + "detail.html", ctx, status_code=422)


@router.post("/surveillance/tb/treatments/{treatment_id:int}/doses")
async def dose_submit(treatment_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                      actor: Actor = Depends(require("care:write"))) -> Response:
    """A dose: from the treatment's page (redirect back) or the worklist's one-click button (htmx: the
    worklist row comes back with the dose recorded, or with the refusal)."""
    try:
        cmd = await form_command(request, DoseRecord)
        dose = service.record_dose(session=session, treatment_id=treatment_id, dose_in=cmd, actor=actor)
    except InvalidInput as exc:
        if _hx(request):
            refused(session)
            return render(request, T + "_dose_cell.html", {"treatment_id": treatment_id, "taken": None,
                                                           "today_iso": clock.today().isoformat(),
                                                           "error": next(iter(form_errors(exc, tr).values()))},
                          status_code=422)
        return await _refused(request, session, actor, tr, treatment_id, "dose", exc)
    if _hx(request):
        return render(request, T + "_dose_cell.html", {"treatment_id": treatment_id, "taken": dose.taken,
                                                       "error": None})
    return RedirectResponse(f"/surveillance/tb/treatments/{treatment_id}", status_code=303)


@router.post("/surveillance/tb/treatments/{treatment_id:int}/first-visit")
async def first_visit_submit(treatment_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                             actor: Actor = Depends(require("care:write"))) -> Response:
    try:
        cmd = await form_command(request, FirstVisitRecord)
        service.record_first_visit(session=session, treatment_id=treatment_id, visit_in=cmd, actor=actor)
    except InvalidInput as exc:
        return await _refused(request, session, actor, tr, treatment_id, "visit", exc)
    return RedirectResponse(f"/surveillance/tb/treatments/{treatment_id}", status_code=303)


@router.post("/surveillance/tb/treatments/{treatment_id:int}/follow-ups")
async def follow_up_submit(treatment_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                           actor: Actor = Depends(require("care:write"))) -> Response:
    try:
        cmd = await form_command(request, FollowUpCreate)
        service.record_follow_up(session=session, treatment_id=treatment_id, follow_up_in=cmd, actor=actor)
    except InvalidInput as exc:
        return await _refused(request, session, actor, tr, treatment_id, "fu", exc)
    return RedirectResponse(f"/surveillance/tb/treatments/{treatment_id}", status_code=303)


@router.post("/surveillance/tb/treatments/{treatment_id:int}/outcome")
async def outcome_submit(treatment_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                         actor: Actor = Depends(require("care:write"))) -> Response:
    try:
        cmd = await form_command(request, OutcomeRecord)
        service.record_outcome(session=session, treatment_id=treatment_id, outcome_in=cmd, actor=actor)
    except InvalidInput as exc:
        return await _refused(request, session, actor, tr, treatment_id, "outcome", exc)
    return RedirectResponse(f"/surveillance/tb/treatments/{treatment_id}", status_code=303)
