"""HTML pages of the resident master index: search (live with htmx, plain GET without JS), the record,
the new/edit form and the merge form. Thin: each route calls the service and renders."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from weijian.accounts.deps import require
from weijian.core import clock, nav
from weijian.core.actor import Actor
from weijian.core.bounds import Id64, PageNo, whole_number
from weijian.core.errors import InvalidInput, InvalidState, NotFound
from weijian.core.i18n import Translator
from weijian.core.web import SessionDep, SettingsDep, TranslatorDep, form_errors, refused, render, verify_csrf
from weijian.residents import service
from weijian.residents.schemas import age_on

router = APIRouter(dependencies=[Depends(verify_csrf)])
# This module's entries of the main navigation (added by the composition root, weijian.wiring).
NAV = (
    nav.NavItem("/residents", "residents.nav", "resident:read", 10),
)

FORM_FIELDS = ("name", "sex", "birth_date", "id_number", "phone", "village_code", "insurance_scheme",
               "relation_to_head", "household_number", "address")


def _group_labels(tr: Translator) -> dict[str, str]:
    key = "zh" if tr.locale == "zh_CN" else "en"
    return {code: spec[key] for code, spec in service.groups().items()}


# --- search -------------------------------------------------------------------------------------
@router.get("/residents")
def search_page(request: Request, session: SessionDep, settings: SettingsDep,
                actor: Actor = Depends(require("resident:read")), q: str = "", page: PageNo = 1) -> Response:
    q = q.strip()[:100]
    page = max(1, page)
    ctx: dict[str, Any] = {"q": q, "page": page, "query": service.parse_query(q), "items": [], "total": 0,
                           "capped": False, "page_size": settings.page_size}
    if q:
        result = service.search(session=session, actor=actor, q=q, page=page, page_size=ctx["page_size"])
        ctx.update(items=result.items, total=result.total, capped=result.capped,
                   village_names=service.village_names(session=session,
                                                       codes={r.village_code for r in result.items}),
                   has_next=page * ctx["page_size"] < result.total, age_on=age_on)
    # htmx wants only the results, except when it restores a page from history (then the whole page).
    partial = request.headers.get("hx-request") and not request.headers.get("hx-history-restore-request")
    template = "residents/_results.html" if partial else "residents/search.html"
    response = render(request, template, ctx)
    response.headers["Vary"] = "HX-Request"
    return response


# --- record -------------------------------------------------------------------------------------
@router.get("/residents/{resident_id:int}")
def record_page(resident_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                actor: Actor = Depends(require("resident:read"))) -> Response:
    view = service.record(session=session, resident_id=resident_id, actor=actor)
    r = view.resident
    return render(request, "residents/record.html", {
        "view": view, "r": r, "age": age_on(r.birth_date), "show_identity": actor.can("resident:read_identity"),
        "village_name": service.village_names(session=session, codes=[r.village_code])[r.village_code],
        "group_labels": _group_labels(tr), "local_time": clock.format_local, "age_on": age_on,
    })


# --- new / edit ---------------------------------------------------------------------------------
def _form_ctx(session: Session, actor: Actor, tr: Translator, values: dict[str, Any],
              **extra: Any) -> dict[str, Any]:
    return {
        "values": values, "errors": {}, "villages": service.villages_in_scope(session=session, actor=actor),
        "group_labels": _group_labels(tr), "sexes": service.SEXES, "schemes": service.SCHEMES,
        "relations": service.RELATIONS, "editing": "resident_id" in extra, **extra,
    }


async def _form_values(request: Request) -> dict[str, Any]:
    form = await request.form()
    values: dict[str, Any] = {k: str(form.get(k) or "").strip() for k in FORM_FIELDS}
    values["groups"] = [str(g) for g in form.getlist("groups")]
    return values


@router.get("/residents/new")
def new_page(request: Request, session: SessionDep, tr: TranslatorDep,
             actor: Actor = Depends(require("resident:write"))) -> Response:
    villages = service.villages_in_scope(session=session, actor=actor)
    values = {"village_code": villages[0][0] if len(villages) == 1 else "", "groups": [],
              "insurance_scheme": "resident"}
    return render(request, "residents/form.html", _form_ctx(session, actor, tr, values, action="/residents/new"))


@router.post("/residents/new")
async def create_submit(request: Request, session: SessionDep, tr: TranslatorDep,
                        actor: Actor = Depends(require("resident:write"))) -> Response:
    values = await _form_values(request)
    try:
        resident = service.create(session=session, values=values, actor=actor)
    except InvalidInput as exc:
        refused(session)
        ctx = _form_ctx(session, actor, tr, values, action="/residents/new")
        ctx["errors"] = form_errors(exc, tr)
        return render(request, "residents/form.html", ctx, status_code=422)
    return RedirectResponse(f"/residents/{resident.id}", status_code=303)


@router.get("/residents/{resident_id:int}/edit")
def edit_page(resident_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
              actor: Actor = Depends(require("resident:write"))) -> Response:
    resident = service.get(session=session, resident_id=resident_id, actor=actor)
    values = service.current_values(resident)
    values["birth_date"] = values["birth_date"].isoformat() if values["birth_date"] else ""
    return render(request, "residents/form.html",
                  _form_ctx(session, actor, tr, values, action=f"/residents/{resident_id}/edit",
                            resident_id=resident_id))


@router.post("/residents/{resident_id:int}/edit")
async def edit_submit(resident_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                      actor: Actor = Depends(require("resident:write"))) -> Response:
    values = await _form_values(request)
    try:
        service.update(session=session, resident_id=resident_id, values=values, actor=actor)
    except InvalidInput as exc:
        refused(session)
        ctx = _form_ctx(session, actor, tr, values, action=f"/residents/{resident_id}/edit",
                        resident_id=resident_id)
        ctx["errors"] = form_errors(exc, tr)
        return render(request, "residents/form.html", ctx, status_code=422)
    return RedirectResponse(f"/residents/{resident_id}", status_code=303)


# --- merge --------------------------------------------------------------------------------------
@router.get("/residents/merge")
def merge_page(request: Request, actor: Actor = Depends(require("resident:merge")),
               survivor: str = "", merged: str = "") -> Response:
    return render(request, "residents/merge.html",
                  {"values": {"survivor_id": survivor, "merged_id": merged, "reason": ""}, "errors": {}})


@router.post("/residents/merge")
async def merge_submit(request: Request, session: SessionDep, tr: TranslatorDep,
                       actor: Actor = Depends(require("resident:merge"))) -> Response:
    form = await request.form()
    values: dict[str, Any] = {k: str(form.get(k) or "").strip() for k in ("survivor_id", "merged_id", "reason")}
    values["confirm_different_id_numbers"] = bool(form.get("confirm_different_id_numbers"))
    errors: dict[str, str] = {}
    ids: dict[str, int] = {}
    for key in ("survivor_id", "merged_id"):
        if whole_number(values[key]) is not None:
            ids[key] = whole_number(values[key])
        else:
            errors[key] = tr("residents.errors.record_number_invalid")
    status = 422
    if not errors:
        try:
            service.merge(session=session, survivor_id=ids["survivor_id"], merged_id=ids["merged_id"],
                          reason=values["reason"], actor=actor,
                          confirm_different_id_numbers=values["confirm_different_id_numbers"])
        except InvalidInput as exc:
            refused(session)
            errors = form_errors(exc, tr)
        except (NotFound, InvalidState) as exc:
            refused(session)
            # Name the record the error is about next to its own field.
            field = "merged_id" if exc.params.get("resident_id") == ids["merged_id"] else "survivor_id"
            errors = {field: tr(exc.message_key, **exc.params)}
            status = exc.status_code
        else:
            return RedirectResponse(f"/residents/{ids['survivor_id']}", status_code=303)
    return render(request, "residents/merge.html", {"values": values, "errors": errors}, status_code=status)
