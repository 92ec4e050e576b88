"""HTML pages of the newborn bundle (出生"一件事"): the list of registrations, the one form (mother by
identity number or search, the child, the birth doses with lot selects), the registration's summary (the
vaccination certificate with the schedule, the hand-offs with their status buttons), and one department's
hand-offs with the export. Thin: each route calls the newborn service and renders; a refused form comes
back with the input kept and each error beside its field (422)."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from weijian.accounts.deps import require
from weijian.core import clock, nav
from weijian.core.actor import Actor
from weijian.core.bounds import Id64, whole_number
from weijian.core.errors import DomainError, InvalidInput
from weijian.core.web import (
    SessionDep,
    TranslatorDep,
    form_command,
    form_errors,
    form_values,
    get_settings,
    refused,
    render,
    verify_csrf,
)
from weijian.immunization.newborn import queries, service
from weijian.immunization.newborn.queries import PERMISSION
from weijian.immunization.newborn.schemas import SKIP_REASONS, HandoffStatusIn, NewbornCreate
from weijian.immunization.schedule import engine
from weijian.residents import service as residents_service

router = APIRouter(dependencies=[Depends(verify_csrf)])
# This module's entries of the main navigation (added by the composition root, weijian.wiring).
NAV = (
    nav.NavItem("/immunization/newborns", "immunization.newborn.nav", PERMISSION, 45),
)

STATUS_CLASS = {engine.GIVEN: "status-green", engine.DUE: "status-amber", engine.OVERDUE: "status-red",
                engine.UPCOMING: "muted", engine.INVALID: "status-red"}  # invalid: given, counts for nothing
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MOTHER_RESULTS = 10


def _partial(request: Request) -> bool:
    return bool(request.headers.get("hx-request")) and not request.headers.get("hx-history-restore-request")


# --- list -----------------------------------------------------------------------------------------
@router.get("/immunization/newborns")
def list_page(request: Request, session: SessionDep, actor: Actor = Depends(require(PERMISSION))) -> Response:
    rows = queries.list_registrations(session=session, actor=actor, limit=100)
    return render(request, "immunization/newborn/list.html", {
        "rows": rows, "departments": queries.DEPARTMENTS, "local_time": clock.format_local})


# --- the form ---------------------------------------------------------------------------------------
def _mother_of(session: Session, actor: Actor, mother_id: str) -> Any:
    """The chosen mother for the form's box (a read of her record, logged), or None."""
    resident_id = whole_number(mother_id)
    if resident_id is None:
        return None
    try:
        return residents_service.get(session=session, resident_id=resident_id, actor=actor,
                                     basis="newborn_registration")
    except DomainError:
        return None


def _form_ctx(session: Session, actor: Actor, values: dict[str, Any], errors: dict[str, str] | None = None
              ) -> dict[str, Any]:
    _facility, point = queries.delivery_point(session=session, actor=actor)
    today = clock.today()
    lots = queries.birth_dose_lots(session=session, point_id=point.id, on=today)
    mother = _mother_of(session, actor, str(values.get("mother_id") or "")) if values.get("mother_id") else None
    return {"values": values, "errors": errors or {}, "point": point, "lots": lots, "mother": mother,
            "doses": [(code, code.lower()) for code in queries.BIRTH_DOSES], "skip_reasons": SKIP_REASONS,
            "sexes": residents_service.SEXES, "today": today.isoformat()}


@router.get("/immunization/newborns/new")
def new_page(request: Request, session: SessionDep, actor: Actor = Depends(require(PERMISSION))) -> Response:
    values: dict[str, Any] = {"birth_date": clock.today().isoformat()}
    ctx = _form_ctx(session, actor, values)
    for code, prefix in ctx["doses"]:  # first expiry first: the lot to use is preselected
        if ctx["lots"][code]:
            values[f"{prefix}_lot_id"] = str(ctx["lots"][code][0][0].id)
    return render(request, "immunization/newborn/form.html", ctx)


@router.post("/immunization/newborns/new")
async def create_submit(request: Request, session: SessionDep, tr: TranslatorDep,
                        actor: Actor = Depends(require(PERMISSION))) -> Response:
    try:
        newborn_in = await form_command(request, NewbornCreate)
        birth = service.register_newborn(session=session, newborn_in=newborn_in, actor=actor)
    except InvalidInput as exc:
        refused(session)
        return render(request, "immunization/newborn/form.html",
                      _form_ctx(session, actor, await form_values(request), form_errors(exc, tr)), status_code=422)
    return RedirectResponse(f"/immunization/newborns/{birth.id}?saved=1", status_code=303)


@router.get("/immunization/newborns/mothers")
def mother_search(request: Request, session: SessionDep, actor: Actor = Depends(require(PERMISSION)),
                  q: str = "") -> Response:
    """htmx: women matching the search box, each with a button that puts her into the form."""
    q = q.strip()[:100]
    found = []
    if q:
        page = residents_service.search(session=session, actor=actor, q=q, page_size=50)
        today = clock.today()
        lo, hi = queries.MOTHER_AGE_RANGE
        found = [r for r in page.items if r.sex == "female" and r.status == "active"
                 and lo <= queries.age_on(r.birth_date, today) <= hi][:MOTHER_RESULTS]
    names = residents_service.village_names(session=session, codes={r.village_code for r in found})
    return render(request, "immunization/newborn/_mother_results.html",
                  {"found": found, "q": q, "village_names": names})


@router.get("/immunization/newborns/mother")
def mother_box(request: Request, session: SessionDep, actor: Actor = Depends(require(PERMISSION)),
               mother_id: str = "") -> Response:
    """htmx: the form's mother box with the chosen woman (or the empty box to search again)."""
    mother = _mother_of(session, actor, mother_id.strip())
    values = {"mother_id": str(mother.id) if mother else "", "mother_id_number": ""}
    return render(request, "immunization/newborn/_mother.html", {"mother": mother, "values": values, "errors": {}})


# --- one registration ---------------------------------------------------------------------------------
def _rule(request: Request) -> str:
    return get_settings(request).immunization_overdue_rule


def _detail_ctx(session: Session, actor: Actor, birth_id: Id64, overdue_rule: str, **extra: Any) -> dict[str, Any]:
    view = queries.get_registration(session=session, birth_id=birth_id, actor=actor, overdue_rule=overdue_rule)
    names = residents_service.village_names(session=session, codes=[view.child.village_code])
    return {"view": view, "local_time": clock.format_local, "status_class": STATUS_CLASS,
            "next_status": queries.next_status,
            "village_name": names[view.child.village_code], "show_identity": actor.can("resident:read_identity"),
            # the mother's pregnancy record whose delivery this is (care.maternal, through the composition root)
            "pregnancy_id": queries.maternal_delivery(session=session, mother_id=view.birth.mother_id,
                                                      born_on=clock.local_date(view.birth.born_at),
                                                      birth_id=view.birth.id) if actor.can("care:read") else None,
            **extra}


@router.get("/immunization/newborns/{birth_id:int}")
def detail_page(birth_id: Id64, request: Request, session: SessionDep,
                actor: Actor = Depends(require(PERMISSION)), saved: int = 0) -> Response:
    return render(request, "immunization/newborn/detail.html",
                  _detail_ctx(session, actor, birth_id, _rule(request), saved=bool(saved)))


@router.post("/immunization/newborns/{birth_id:int}/handoffs/{department}")
async def handoff_submit(birth_id: Id64, department: str, request: Request, session: SessionDep, tr: TranslatorDep,
                         actor: Actor = Depends(require(PERMISSION))) -> Response:
    back = str((await request.form()).get("back") or "")
    error, code = None, 200
    try:
        handoff_in = await form_command(request, HandoffStatusIn)
        service.set_handoff_status(session=session, birth_id=birth_id, department=department, handoff_in=handoff_in,
                                   actor=actor)
    except InvalidInput as exc:
        refused(session)
        if exc.field == "department":
            raise  # no such page to go back to
        error, code = "; ".join(form_errors(exc, tr).values()), exc.status_code
    except DomainError as exc:
        refused(session)
        if exc.status_code in (403, 404):
            raise
        error, code = tr(exc.message_key, **exc.params), exc.status_code
    if error is None:
        target = (f"/immunization/handoffs?department={department}" if back == "list"
                  else f"/immunization/newborns/{birth_id}")
        return RedirectResponse(target, status_code=303)
    if back == "list":
        return _handoffs_page(request, session, actor, department, "", error=error, status_code=code)
    return render(request, "immunization/newborn/detail.html",
                  _detail_ctx(session, actor, birth_id, _rule(request), error=error), status_code=code)


# --- hand-offs of one department --------------------------------------------------------------------
def _handoffs_page(request: Request, session: Session, actor: Actor, department: str, status: str, *,
                   error: str | None = None, status_code: int = 200) -> Response:
    rows = queries.list_handoffs(session=session, actor=actor, department=department, status=status or None)
    return render(request, "immunization/newborn/handoffs.html", {
        "rows": rows, "department": department, "status": status, "statuses": queries.STATUSES,
        "departments": queries.DEPARTMENTS, "local_time": clock.format_local, "next_status": queries.next_status,
        "error": error, "can_export": actor.can("resident:read_identity")}, status_code=status_code)


@router.get("/immunization/handoffs")
def handoffs_page(request: Request, session: SessionDep, actor: Actor = Depends(require(PERMISSION)),
                  department: str = queries.DEPARTMENTS[0], status: str = "") -> Response:
    return _handoffs_page(request, session, actor, department, status.strip())


@router.get("/immunization/handoffs/{department}/export.xlsx")
def export_xlsx(department: str, session: SessionDep, tr: TranslatorDep,
                actor: Actor = Depends(require(PERMISSION)), status: str = "pending") -> Response:
    export = queries.export_packets(session=session, department=department, status=status, actor=actor)
    return Response(content=queries.packets_xlsx(export, tr), media_type=XLSX, headers={
        "Content-Disposition": f'attachment; filename="{department}-{status}.xlsx"'})
