"""HTML pages of the resident master index: search (live with htmx, plain GET without JS), the record,
the new/edit form (with its confirm step for probable duplicates), the merge form, a merge's review (what
moved, and the undo button for an administrator) and the review list of probable duplicates. Thin: each
route calls the service and renders."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from weijian.accounts.deps import require
from weijian.core import clock, nav
from weijian.core.actor import Actor
from weijian.core.bounds import Id64, PageNo
from weijian.core.disclosure import disclosure_for
from weijian.core.errors import Conflict, InvalidInput, InvalidState, NotFound
from weijian.core.i18n import Translator
from weijian.core.web import (
    SessionDep,
    SettingsDep,
    TranslatorDep,
    form_command,
    form_errors,
    form_values,
    refused,
    render,
    verify_csrf,
)
from weijian.residents import queries, rules, service
from weijian.residents.models import Resident
from weijian.residents.schemas import (
    DistinctIn,
    MergeForm,
    ResidentCreate,
    ResidentListItem,
    ResidentUpdate,
    UnmergeIn,
    age_on,
)

router = APIRouter(dependencies=[Depends(verify_csrf)])
# This module's entries of the main navigation (added by the composition root, weijian.wiring).
NAV = (
    nav.NavItem("/residents", "residents.nav", "resident:read", 10),
    nav.NavItem("/residents/duplicates", "residents.duplicates.nav", "resident:merge", 11),
)

def _group_labels(tr: Translator) -> dict[str, str]:
    key = "zh" if tr.locale == "zh_CN" else "en"
    return {code: spec[key] for code, spec in rules.groups().items()}


# --- search -------------------------------------------------------------------------------------
@router.get("/residents")
def search_page(request: Request, session: SessionDep, settings: SettingsDep,
                actor: Actor = Depends(require("resident:read")), q: str = "", page: PageNo = 1) -> Response:
    q = q.strip()[:100]
    page = max(1, page)
    ctx: dict[str, Any] = {"q": q, "page": page, "query": queries.parse_query(q), "items": [], "total": 0,
                           "capped": False, "page_size": settings.page_size}
    if q:
        result = queries.search(session=session, actor=actor, q=q, page=page, page_size=ctx["page_size"])
        ctx.update(items=result.items, total=result.total, capped=result.capped,
                   village_names=queries.village_names(session=session,
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
    view = queries.record(session=session, resident_id=resident_id, actor=actor)
    r = view.resident
    return render(request, "residents/record.html", {
        "view": view, "r": r, "age": age_on(r.birth_date), "show_identity": actor.can("resident:read_identity"),
        "village_name": queries.village_names(session=session, codes=[r.village_code])[r.village_code],
        "group_labels": _group_labels(tr), "local_time": clock.format_local, "age_on": age_on,
    })


# --- new / edit ---------------------------------------------------------------------------------
def _form_ctx(session: Session, actor: Actor, tr: Translator, values: dict[str, Any],
              **extra: Any) -> dict[str, Any]:
    return {
        "values": values, "errors": {}, "villages": queries.villages_in_scope(session=session, actor=actor),
        "group_labels": _group_labels(tr), "sexes": rules.SEXES, "schemes": rules.SCHEMES,
        "relations": rules.RELATIONS, "editing": "resident_id" in extra, **extra,
    }


async def _shown(request: Request) -> dict[str, Any]:
    """The form as sent, to re-render it beside its errors (the ticked groups always a list)."""
    values = await form_values(request)
    values["groups"] = [g for g in (await request.form()).getlist("groups") if isinstance(g, str)]
    return values


@router.get("/residents/new")
def new_page(request: Request, session: SessionDep, tr: TranslatorDep,
             actor: Actor = Depends(require("resident:write"))) -> Response:
    villages = queries.villages_in_scope(session=session, actor=actor)
    values = {"village_code": villages[0][0] if len(villages) == 1 else "", "groups": [],
              "insurance_scheme": "resident"}
    return render(request, "residents/form.html", _form_ctx(session, actor, tr, values, action="/residents/new"))


@router.post("/residents/new")
async def create_submit(request: Request, session: SessionDep, tr: TranslatorDep,
                        actor: Actor = Depends(require("resident:write"))) -> Response:
    try:
        resident_in = await form_command(request, ResidentCreate)
        resident = service.create(session=session, resident_in=resident_in, actor=actor)
    except InvalidInput as exc:
        refused(session)
        ctx = _form_ctx(session, actor, tr, await _shown(request), action="/residents/new")
        ctx["errors"] = form_errors(exc, tr)
        return render(request, "residents/form.html", ctx, status_code=422)
    except service.ProbableDuplicate as exc:
        # The confirm step: the form as sent, the records it matches (masked), a box to register anyway.
        refused(session)
        ctx = _form_ctx(session, actor, tr, await _shown(request), action="/residents/new")
        ctx["errors"] = {"confirm_probable_duplicate": tr(exc.message_key, **exc.params)}
        ctx["matches"] = [(item, m.matched_on) for item, m in zip(_listed(session, actor, [
            m.resident for m in exc.matches]), exc.matches, strict=True)]
        return render(request, "residents/form.html", ctx, status_code=409)
    return RedirectResponse(f"/residents/{resident.id}", status_code=303)


def _listed(session: Session, actor: Actor, residents: list[Resident]) -> list[ResidentListItem]:
    """Records as a list shows them: masked as the actor's disclosure says."""
    names = queries.village_names(session=session, codes={r.village_code for r in residents})
    shown = disclosure_for(actor)
    return [ResidentListItem.of(r, names, disclosure=shown) for r in residents]


# --- probable duplicates ---------------------------------------------------------------------------
@router.get("/residents/duplicates")
def duplicates_page(request: Request, session: SessionDep,
                    actor: Actor = Depends(require("resident:merge")), marked: int = 0) -> Response:
    pairs = service.probable_duplicate_pairs(session=session, actor=actor)
    listed = _listed(session, actor, [r for m, s in pairs for r in (m.resident, s)])
    rows = [(listed[2 * i], listed[2 * i + 1], m.matched_on) for i, (m, _s) in enumerate(pairs)]
    return render(request, "residents/duplicates.html", {"pairs": rows, "marked": bool(marked)})


@router.post("/residents/duplicates/distinct")
async def distinct_submit(request: Request, session: SessionDep,
                          actor: Actor = Depends(require("resident:merge"))) -> Response:
    pair = await form_command(request, DistinctIn)
    service.mark_distinct(session=session, actor=actor, first_id=pair.first_id, second_id=pair.second_id,
                          reason=pair.reason)
    return RedirectResponse("/residents/duplicates?marked=1", status_code=303)


@router.get("/residents/{resident_id:int}/edit")
def edit_page(resident_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
              actor: Actor = Depends(require("resident:write"))) -> Response:
    resident = queries.get(session=session, resident_id=resident_id, actor=actor)
    values = queries.current_values(resident)
    values["birth_date"] = values["birth_date"].isoformat() if values["birth_date"] else ""
    values["status"] = resident.status  # a move's or death's date (effective_on) is entered with it
    return render(request, "residents/form.html",
                  _form_ctx(session, actor, tr, values, action=f"/residents/{resident_id}/edit",
                            resident_id=resident_id))


@router.post("/residents/{resident_id:int}/edit")
async def edit_submit(resident_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                      actor: Actor = Depends(require("resident:write"))) -> Response:
    # The edit form sends every field; a group left unticked sends nothing, and is cleared.
    ticked: dict[str, Any] = {} if "groups" in await request.form() else {"groups": []}
    try:
        resident_in = await form_command(request, ResidentUpdate, **ticked)
        service.update(session=session, resident_id=resident_id, resident_in=resident_in, actor=actor)
    except InvalidInput as exc:
        refused(session)
        ctx = _form_ctx(session, actor, tr, await _shown(request), action=f"/residents/{resident_id}/edit",
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
    values = {"survivor_id": "", "merged_id": "", "reason": "", **await form_values(request)}
    errors: dict[str, str] = {}
    status = 422
    try:
        merge_in = await form_command(request, MergeForm)
        service.merge(session=session, survivor_id=merge_in.survivor_id, merged_id=merge_in.merged_id,
                      reason=merge_in.reason or "", actor=actor,
                      confirm_different_id_numbers=merge_in.confirm_different_id_numbers)
    except InvalidInput as exc:
        refused(session)
        errors = form_errors(exc, tr)
    except (NotFound, InvalidState) as exc:
        refused(session)
        # Name the record the error is about next to its own field.
        field = "merged_id" if exc.params.get("resident_id") == merge_in.merged_id else "survivor_id"
        errors = {field: tr(exc.message_key, **exc.params)}
        status = exc.status_code
    else:
        return RedirectResponse(f"/residents/{merge_in.survivor_id}", status_code=303)
    return render(request, "residents/merge.html", {"values": values, "errors": errors}, status_code=status)


# --- a merge's review, and its undo (an administrator) ---------------------------------------------
def _review_ctx(session: Session, actor: Actor, merge_id: int) -> dict[str, Any]:
    review = service.merge_review(session=session, merge_id=merge_id, actor=actor)
    return {"review": review, "local_time": clock.format_local, "values": {"reason": ""}, "errors": {}}


@router.get("/residents/merges/{merge_id:int}")
def merge_review_page(merge_id: Id64, request: Request, session: SessionDep,
                      actor: Actor = Depends(require("resident:merge"))) -> Response:
    return render(request, "residents/merge_review.html", _review_ctx(session, actor, merge_id))


@router.post("/residents/merges/{merge_id:int}/undo")
async def unmerge_submit(merge_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                         actor: Actor = Depends(require("resident:unmerge"))) -> Response:
    values = {"reason": "", **await form_values(request)}
    try:
        undo_in = await form_command(request, UnmergeIn)
        service.unmerge(session=session, merge_id=merge_id, reason=undo_in.reason or "", actor=actor)
    except InvalidInput as exc:
        refused(session)
        errors, status = form_errors(exc, tr), 422
    except (InvalidState, Conflict) as exc:
        refused(session)
        errors, status = {"undo": tr(exc.message_key, **exc.params)}, exc.status_code
    else:
        return RedirectResponse(f"/residents/merges/{merge_id}", status_code=303)
    ctx = _review_ctx(session, actor, merge_id)
    ctx.update(values=values, errors=errors)
    return render(request, "residents/merge_review.html", ctx, status_code=status)
