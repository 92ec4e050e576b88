"""HTML pages of vaccination records: the vaccination section of the resident's record (the child's schedule,
history, and the forms to record a dose — the first-expiring lot preselected —, a dose from the paper
certificate, or a refusal), the AEFI report form and the CDC's AEFI list. Thin: each route builds the command
from the form, calls the records service and renders; a refused form comes back with the input kept (422)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from weijian.accounts.deps import require
from weijian.core import clock, nav
from weijian.core.actor import Actor
from weijian.core.bounds import Id64, whole_number
from weijian.core.commands import Command
from weijian.core.errors import InvalidInput
from weijian.core.i18n import Translator
from weijian.core.web import (
    SessionDep,
    TranslatorDep,
    form_command,
    form_errors,
    form_values,
    get_settings,
    period_correction,
    refused,
    render,
    verify_csrf,
)
from weijian.immunization.models import Vaccination
from weijian.immunization.records import queries, service
from weijian.immunization.records.schemas import (
    REFUSAL_REASONS,
    SEVERITIES,
    SITES,
    AefiReport,
    HistoricalDose,
    RefusalCreate,
    VaccinationCreate,
)
from weijian.immunization.schedule import engine
from weijian.immunization.schedule.rules import VACCINE_CODES
from weijian.immunization.stock import queries as stock_queries

router = APIRouter(dependencies=[Depends(verify_csrf)])
# This module's entries of the main navigation (added by the composition root, weijian.wiring).
NAV = (
    nav.NavItem("/immunization/aefi", "immunization.records.nav.aefi", "aefi:read", 52),
)

C = TypeVar("C", bound=Command)
STATUS_CLASS = {engine.GIVEN: "status-green", engine.DUE: "status-amber", engine.OVERDUE: "status-red",
                engine.UPCOMING: "muted", engine.NOT_APPLICABLE: "muted", engine.INVALID: "status-red"}


def _partial(request: Request) -> bool:
    return bool(request.headers.get("hx-request")) and not request.headers.get("hx-history-restore-request")


def _now_local() -> str:
    return clock.local_now().strftime("%Y-%m-%dT%H:%M")


# --- the child's vaccination record -------------------------------------------------------------
def _dose_point(session: Session, actor: Actor, chosen: str | None) -> tuple[Any, list[Any]]:
    """(the point the form records at, the points the actor may choose)."""
    own = stock_queries.point_of_facility(session=session, facility_id=actor.facility_id)
    choices = stock_queries.managed_points(session=session, actor=actor)
    if own is not None and own.id not in {p.id for p in choices}:
        choices = [own, *choices]
    point = next((p for p in choices if str(p.id) == (chosen or "")), None) or own or (choices[0] if choices else None)
    return point, choices


def _overdue_rule(request: Request) -> str:
    return get_settings(request).immunization_overdue_rule


def _child_ctx(session: Session, actor: Actor, resident_id: Id64, overdue_rule: str, *,
               dose_values: dict[str, Any] | None = None, dose_errors: dict[str, str] | None = None,
               other_values: dict[str, Any] | None = None, other_errors: dict[str, str] | None = None,
               form: str | None = None, recorded: int | None = None) -> dict[str, Any]:
    schedule = queries.child_schedule(session=session, resident_id=resident_id, actor=actor,
                                      overdue_rule=overdue_rule)
    due = schedule.due_rows()
    values = dict(dose_values or {})
    if not values:
        first = due[0] if due else None
        values = {"vaccine": first.vaccine if first else "", "dose": str(first.dose) if first else "",
                  "given_at": _now_local()}
    point, points = _dose_point(session, actor, values.get("point_id"))
    lots: list[tuple[Any, int]] = []
    suggested = None
    if point is not None and values.get("vaccine"):
        lots = stock_queries.available_lots(session=session, point_id=point.id, vaccine=values["vaccine"],
                                    on=clock.today())
        suggested = lots[0][0].id if lots else None
    if not values.get("lot_id") and suggested is not None:
        values["lot_id"] = str(suggested)
    chosen = str(values.get("lot_id") or "")
    if point is not None and chosen.isdigit() and chosen not in {str(lot.id) for lot, _n in lots}:
        # A refused choice (expired, out of stock) stays on the form beside its error.
        try:
            lot = stock_queries.get_lot(session=session, lot_id=int(chosen))
        except InvalidInput:
            pass
        else:
            lots.append((lot, stock_queries.balance(session=session, point_id=point.id, lot_id=lot.id)))
    can_write = actor.can("immunization:write") and schedule.child.status == "active"
    return {
        "s": schedule, "child": schedule.child, "rows": schedule.rows, "status_class": STATUS_CLASS,
        "values": values, "errors": dose_errors or {}, "other_values": other_values or {},
        "other_errors": other_errors or {}, "form": form, "point": point, "points": points, "lots": lots,
        "suggested": suggested, "can_write": can_write, "can_give": can_write and point is not None,
        "vaccine_codes": VACCINE_CODES, "sites": SITES, "route_of": service.ROUTE_OF,
        "refusal_reasons": REFUSAL_REASONS, "local_time": clock.format_local, "recorded": recorded,
    }


@router.get("/residents/{resident_id:int}/vaccinations")
def child_page(resident_id: Id64, request: Request, session: SessionDep,
               actor: Actor = Depends(require("immunization:read")), vaccine: str = "", dose: str = "",
               point_id: str = "", recorded: int | None = None) -> Response:
    values = None
    if vaccine:
        values = {"vaccine": vaccine[:16], "dose": dose[:3], "given_at": _now_local(), "point_id": point_id[:12]}
    ctx = _child_ctx(session, actor, resident_id, _overdue_rule(request), dose_values=values, recorded=recorded)
    template = "immunization/records/_child.html" if _partial(request) else "immunization/records/child.html"
    response = render(request, template, ctx)
    response.headers["Vary"] = "HX-Request"
    return response


@router.get("/immunization/records/lot-options")
def lot_options(request: Request, session: SessionDep, actor: Actor = Depends(require("immunization:write")),
                point_id: str = "", vaccine: str = "") -> Response:
    """The lot <select>'s options for a vaccine at a point (htmx, when the vaccine changes)."""
    lots: list[tuple[Any, int]] = []
    point = whole_number(point_id)
    if point is not None and vaccine in VACCINE_CODES:
        lots = stock_queries.available_lots(session=session, point_id=point, vaccine=vaccine, on=clock.today())
    return render(request, "immunization/records/_lot_options.html",
                  {"lots": lots, "selected": str(lots[0][0].id) if lots else ""})


async def _submit(request: Request, session: Session, tr: Translator, actor: Actor, resident_id: int, form: str,
                  model: type[C], write: Callable[[C], Any]) -> Response:
    """Build the form's command, write it, and go back to the child's page; a refused form comes back (422)
    with the input kept: the dose form in its own slots, the historical and refusal forms in the other ones."""
    try:
        cmd = await form_command(request, model, resident_id=resident_id)
        await period_correction(request, session, actor)
        written = write(cmd)
    except InvalidInput as exc:
        refused(session)
        values, errors = await form_values(request), form_errors(exc, tr)
        slots: dict[str, Any] = ({"dose_values": values, "dose_errors": errors} if form == "dose"
                                 else {"other_values": values, "other_errors": errors})
        ctx = _child_ctx(session, actor, resident_id, _overdue_rule(request), form=form, **slots)
        return render(request, "immunization/records/child.html", ctx, status_code=422)
    query = f"?recorded={written.id}" if isinstance(written, Vaccination) else ""
    return RedirectResponse(f"/residents/{resident_id}/vaccinations{query}", status_code=303)


@router.post("/residents/{resident_id:int}/vaccinations")
async def record_submit(resident_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                        actor: Actor = Depends(require("immunization:write"))) -> Response:
    return await _submit(request, session, tr, actor, resident_id, "dose", VaccinationCreate, lambda cmd: (
        service.record_vaccination(session=session, vaccination_in=cmd, actor=actor)))


@router.post("/residents/{resident_id:int}/vaccinations/historical")
async def historical_submit(resident_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                            actor: Actor = Depends(require("immunization:write"))) -> Response:
    return await _submit(request, session, tr, actor, resident_id, "historical", HistoricalDose, lambda cmd: (
        service.record_historical(session=session, historical_in=cmd, actor=actor)))


@router.post("/residents/{resident_id:int}/vaccinations/refusals")
async def refusal_submit(resident_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                         actor: Actor = Depends(require("immunization:write"))) -> Response:
    return await _submit(request, session, tr, actor, resident_id, "refusal", RefusalCreate, lambda cmd: (
        service.record_refusal(session=session, refusal_in=cmd, actor=actor)))


# --- AEFI ---------------------------------------------------------------------------------------
def _aefi_ctx(session: Session, actor: Actor, vaccination_id: Id64, values: dict[str, Any],
              errors: dict[str, str] | None = None) -> dict[str, Any]:
    v, child = queries.get_vaccination(session=session, vaccination_id=vaccination_id, actor=actor)
    return {"v": v, "child": child, "values": values, "errors": errors or {}, "severities": SEVERITIES}


@router.get("/immunization/vaccinations/{vaccination_id:int}/aefi/new")
def aefi_form(vaccination_id: Id64, request: Request, session: SessionDep,
              actor: Actor = Depends(require("immunization:write"))) -> Response:
    values = {"onset_date": clock.today().isoformat()}
    return render(request, "immunization/records/aefi_form.html", _aefi_ctx(session, actor, vaccination_id, values))


@router.post("/immunization/vaccinations/{vaccination_id:int}/aefi/new")
async def aefi_submit(vaccination_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                      actor: Actor = Depends(require("immunization:write"))) -> Response:
    try:
        cmd = await form_command(request, AefiReport, vaccination_id=vaccination_id)
        row = service.report_aefi(session=session, aefi_in=cmd, actor=actor)
    except InvalidInput as exc:
        refused(session)
        return render(request, "immunization/records/aefi_form.html",
                      _aefi_ctx(session, actor, vaccination_id, await form_values(request), form_errors(exc, tr)),
                      status_code=422)
    return RedirectResponse(f"/residents/{row.resident_id}/vaccinations", status_code=303)


@router.get("/immunization/aefi")
def aefi_list(request: Request, session: SessionDep, tr: TranslatorDep,
              actor: Actor = Depends(require("aefi:read")), period: str = "") -> Response:
    period = period.strip()[:7]
    errors: dict[str, str] = {}
    items: list[queries.AefiRow] = []
    try:
        items = queries.list_aefi(session=session, actor=actor, period=period or None)
    except InvalidInput as exc:
        errors = form_errors(exc, tr)
    return render(request, "immunization/records/aefi_list.html",
                  {"items": items, "period": period, "errors": errors, "local_time": clock.format_local},
                  status_code=422 if errors else 200)
