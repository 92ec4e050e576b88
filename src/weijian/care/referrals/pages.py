"""HTML pages of two-way referral: the village doctor's worklist, the referral desk (incoming referrals, overdue
on top, accept or reject in one click with htmx; the consultations asked of the facility below), the referrals
of a township's patients, a referral's page with its answers, and the referral forms from the resident's
record. Thin: each route builds the command from the form, calls a service and renders. The buttons offered
are `service.allowed_actions` (the templates do not re-encode the state machine)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from weijian.accounts.deps import require
from weijian.care import icd10, worklist
from weijian.care.models import Referral
from weijian.care.referrals import queries, schemas, service
from weijian.care.referrals.rules import DIRECTIONS, STATUSES, URGENCIES
from weijian.care.referrals.schemas import ActionIn, ArriveIn, CompleteIn, DownwardCreate, ReferralCreate, RejectIn
from weijian.care.teleconsult import queries as teleconsult_queries
from weijian.core import clock, nav
from weijian.core.actor import Actor
from weijian.core.bounds import Id64, PageNo
from weijian.core.errors import Conflict, InvalidInput, InvalidState
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
from weijian.orgunits.models import OrgUnit

router = APIRouter(dependencies=[Depends(verify_csrf)])
# This module's entries of the main navigation (added by the composition root, weijian.wiring).
NAV = (
    nav.NavItem("/care/worklist", "care.referrals.nav.worklist", "worklist:read", 5),
    nav.NavItem("/care/referrals/desk", "care.referrals.nav.desk", "referral:respond", 40),
    nav.NavItem("/care/referrals", "care.referrals.nav.referrals", "referral:read", 41),
)

PAGE_SIZE = 20
DESK_PAGE_SIZE = 50
ACTIONS = ("accept", "reject", "arrive", "complete", "cancel")


def local(value: datetime | None) -> str:
    """A stored time as users read it (Beijing time), to the minute."""
    return clock.local(value).strftime("%Y-%m-%d %H:%M") if value else ""


def icd_name(code: str | None, locale: str = "zh_CN") -> str:
    entry = icd10.get(code) if code else None
    return entry.name(locale) if entry else ""


def context(**extra: Any) -> dict[str, Any]:
    """The context the referral and consultation templates share: times in Beijing time, ICD-10 names."""
    return {"local": local, "icd10_name": icd_name, **extra}


def _allowed(actor: Actor) -> Callable[[Referral], list[str]]:
    """The desk row's buttons: what the actor may do with each referral (service.allowed_actions)."""
    return lambda referral: service.allowed_actions(referral, actor)


def _partial(request: Request) -> bool:
    return bool(request.headers.get("hx-request")) and not request.headers.get("hx-history-restore-request")


def _next(raw: Any, default: str) -> str:
    """Where a plain form post returns to: a page of this site only."""
    text = raw if isinstance(raw, str) else ""
    return text if text.startswith("/care/") and "//" not in text else default


# --- worklist -----------------------------------------------------------------------------------
TASKS_PAGE_SIZE = 50


@router.get("/care/worklist")
def worklist_page(request: Request, session: SessionDep, settings: SettingsDep,
                  actor: Actor = Depends(require("worklist:read")), programme: str = "", village: str = "",
                  page: PageNo = 1) -> Response:
    """The day's work: every package's tasks in one list first (filtered by programme and village, paged,
    printable), then each package's own section. An unknown filter value is no filter."""
    w = worklist.worklist(session=session, actor=actor, overdue_rule=settings.immunization_overdue_rule)
    every = worklist.tasks(w)
    villages = sorted({t.village_code for t in every})
    names: dict[str, str] = {code: name for code, name in session.execute(
        select(OrgUnit.code, OrgUnit.name).where(OrgUnit.code.in_(villages)))} if villages else {}
    programme = programme if programme in worklist.PROGRAMMES else ""
    village = village if village in names else ""
    chosen = [t for t in every
              if (not programme or t.programme == programme) and (not village or t.village_code == village)]
    pages = max(1, -(-len(chosen) // TASKS_PAGE_SIZE))
    page = min(page, pages)
    return render(request, "care/referrals/worklist.html", context(
        w=w, tasks=chosen[(page - 1) * TASKS_PAGE_SIZE:page * TASKS_PAGE_SIZE], tasks_total=len(chosen),
        programmes=[p for p in worklist.PROGRAMMES if any(t.programme == p for t in every)],
        village_names=names, programme=programme, village=village, page=page, pages=pages))


# --- the referral desk ----------------------------------------------------------------------------
@router.get("/care/referrals/desk")
def desk_page(request: Request, session: SessionDep, actor: Actor = Depends(require("referral:respond")),
              page: PageNo = 1) -> Response:
    box = queries.inbox(session=session, actor=actor, page=page, page_size=DESK_PAGE_SIZE)
    consultations = None
    if actor.can("consult:answer"):
        consultations = teleconsult_queries.list_consultations(session=session, actor=actor, box="received",
                                                               open_only=True, page_size=DESK_PAGE_SIZE)
    return render(request, "care/referrals/desk.html",
                  context(box=box, consultations=consultations, allowed=_allowed(actor)))


# --- referrals: list, page, answers -------------------------------------------------------------------
@router.get("/care/referrals")
def list_page(request: Request, session: SessionDep, actor: Actor = Depends(require("referral:read")),
              box: str = "", status: str = "", direction: str = "", page: PageNo = 1) -> Response:
    box = box if box in ("sent", "received") else ""
    status = status if status in STATUSES else ""
    direction = direction if direction in DIRECTIONS else ""
    result = queries.list_referrals(session=session, actor=actor, box=box or None, status=status or None,
                                    direction=direction or None, page=page, page_size=PAGE_SIZE)
    return render(request, "care/referrals/list.html",
                  context(result=result, box=box, status=status, direction=direction, statuses=STATUSES))


def _detail_ctx(session: Session, actor: Actor, referral_id: Id64, **extra: Any) -> dict[str, Any]:
    item = queries.get(session=session, referral_id=referral_id, actor=actor)
    kids = queries.children(session=session, referral_id=referral_id)
    actions = service.allowed_actions(item.referral, actor, children=kids)
    arrivals = queries.arrival_encounters(session=session, referral=item.referral) if "arrive" in actions else []
    return context(**{"item": item, "r": item.referral, "children": kids, "actions": actions, "errors": {},
                      "values": {}, "message": None, "arrival_encounters": arrivals,
                      "linked": queries.linked_encounters(session=session, referral_id=referral_id),
                      "arrival_types": schemas.ARRIVAL_ENCOUNTER_TYPES, **extra})


@router.get("/care/referrals/{referral_id:int}")
def detail_page(referral_id: Id64, request: Request, session: SessionDep,
                actor: Actor = Depends(require("referral:read"))) -> Response:
    return render(request, "care/referrals/detail.html", _detail_ctx(session, actor, referral_id))


# --- referral forms ---------------------------------------------------------------------------------
def _form_ctx(session: Session, actor: Actor, tr: Translator, resident: queries.FormResident,
              values: dict[str, Any], errors: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    code = values.get("diagnosis") or ""
    return context(resident=resident, values=values, errors=errors or {},
                   targets=queries.target_facilities(session=session, actor=actor,
                                                     village_code=resident.village_code),
                   facility=queries.actor_facility(session, actor), urgencies=URGENCIES, directions=DIRECTIONS,
                   may_refer_out=queries.may_refer_out_of_county(session=session, actor=actor),
                   slots=[{"code": code, "name": icd_name(code, tr.locale)}], **extra)


async def _diagnosis(request: Request) -> dict[str, str]:
    """The ICD-10 picker sends its code as `diagnoses` (a plain form as `diagnosis`): the command's diagnosis."""
    form = await request.form()
    for key in ("diagnoses", "diagnosis"):
        code = next((v for v in form.getlist(key) if isinstance(v, str) and v.strip()), None)
        if code is not None:
            return {"diagnosis": code}
    return {}


async def _form_values(request: Request) -> dict[str, Any]:
    """The referral form as sent, to re-render it beside its errors."""
    values = await form_values(request)
    values["diagnosis"] = (await _diagnosis(request)).get("diagnosis", "")
    return values


def _errors(exc: InvalidInput, tr: Translator) -> dict[str, str]:
    errors = form_errors(exc, tr)
    if "diagnosis" in errors:  # the ICD-10 picker shows its errors under "diagnoses"
        errors["diagnoses"] = errors["diagnosis"]
    return errors


@router.get("/care/referrals/new")
def new_referral_page(request: Request, session: SessionDep, tr: TranslatorDep, resident_id: Id64,
                      actor: Actor = Depends(require("referral:create"))) -> Response:
    resident = queries.form_resident(session=session, actor=actor, resident_id=resident_id)
    values = {"direction": queries.default_direction(session=session, actor=actor), "urgency": "routine"}
    action = f"/care/referrals/new?resident_id={resident_id}"
    return render(request, "care/referrals/form.html", _form_ctx(session, actor, tr, resident, values, action=action))


@router.post("/care/referrals/new")
async def new_referral_submit(request: Request, session: SessionDep, tr: TranslatorDep, resident_id: Id64,
                              actor: Actor = Depends(require("referral:create"))) -> Response:
    try:
        referral_in = await form_command(request, ReferralCreate, resident_id=resident_id,
                                         **await _diagnosis(request))
        referral = service.create(session=session, referral_in=referral_in, actor=actor)
    except InvalidInput as exc:
        refused(session)
        resident = queries.form_resident(session=session, actor=actor, resident_id=resident_id)
        ctx = _form_ctx(session, actor, tr, resident, await _form_values(request), _errors(exc, tr),
                        action=f"/care/referrals/new?resident_id={resident_id}")
        return render(request, "care/referrals/form.html", ctx, status_code=422)
    return RedirectResponse(f"/care/referrals/{referral.id}", status_code=303)


@router.get("/care/referrals/{referral_id:int}/downward")
def downward_page(referral_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                  actor: Actor = Depends(require("referral:create"))) -> Response:
    item = queries.get(session=session, referral_id=referral_id, actor=actor)
    parent = item.referral
    resident = queries.form_resident(session=session, actor=actor, resident_id=parent.resident_id)
    values = {"direction": "down", "urgency": "routine", "to_facility_id": str(parent.from_facility_id),
              "diagnosis": parent.diagnosis or "", "summary": parent.discharge_summary or ""}
    return render(request, "care/referrals/form.html",
                  _form_ctx(session, actor, tr, resident, values, parent=item,
                            action=f"/care/referrals/{referral_id}/downward"))


@router.post("/care/referrals/{referral_id:int}/downward")
async def downward_submit(referral_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                          actor: Actor = Depends(require("referral:create"))) -> Response:
    try:
        downward_in = await form_command(request, DownwardCreate, **await _diagnosis(request))
        referral = service.create_downward(session=session, referral_id=referral_id, downward_in=downward_in,
                                           actor=actor)
    except InvalidInput as exc:
        refused(session)
        item = queries.get(session=session, referral_id=referral_id, actor=actor)
        resident = queries.form_resident(session=session, actor=actor, resident_id=item.referral.resident_id)
        values = {**await _form_values(request), "direction": "down"}
        ctx = _form_ctx(session, actor, tr, resident, values, _errors(exc, tr), parent=item,
                        action=f"/care/referrals/{referral_id}/downward")
        return render(request, "care/referrals/form.html", ctx, status_code=422)
    return RedirectResponse(f"/care/referrals/{referral.id}", status_code=303)


async def _apply(request: Request, session: Session, actor: Actor, referral_id: int, action: str,
                 text: str) -> None:
    """Build the action's command from the form (its free text is `text`: the reason or the summary) and
    apply it."""
    if action == "reject":
        reject_in = await form_command(request, RejectIn, **({"reason": text} if text else {}))
        service.reject(session=session, referral_id=referral_id, reject_in=reject_in, actor=actor)
    elif action == "complete":
        complete_in = await form_command(request, CompleteIn, **({"discharge_summary": text} if text else {}))
        service.complete(session=session, referral_id=referral_id, complete_in=complete_in, actor=actor)
    elif action == "arrive":
        arrive_in = await form_command(request, ArriveIn)
        service.arrive(session=session, referral_id=referral_id, actor=actor, action_in=arrive_in)
    else:
        move = {"accept": service.accept, "cancel": service.cancel}[action]
        move(session=session, referral_id=referral_id, actor=actor, action_in=await form_command(request, ActionIn))


# Declared after the downward form's routes: {action} would match "downward" too.
@router.post("/care/referrals/{referral_id:int}/{action}")
async def act(referral_id: Id64, action: str, request: Request, session: SessionDep, tr: TranslatorDep,
              actor: Actor = Depends(require("referral:read"))) -> Response:
    """accept / reject / arrive / complete / cancel, from the desk (htmx: the row comes back) or from the
    referral's page (a plain post: back to it)."""
    if action not in ACTIONS:
        return render(request, "error.html", {"error": {"message": tr("care.referrals.errors.action_unknown")}},
                      status_code=404)
    form = await request.form()
    raw = form.get("text")
    text = raw.strip() if isinstance(raw, str) else ""
    try:
        await _apply(request, session, actor, referral_id, action, text)
    except (InvalidInput, Conflict, InvalidState) as exc:
        refused(session)
        message = tr(exc.message_key, **exc.params)
        if isinstance(exc, InvalidInput):
            message = next(iter(form_errors(exc, tr).values()))
        if _partial(request):  # the desk keeps the row, with the reason it did not change
            item = queries.get(session=session, referral_id=referral_id, actor=actor)
            return render(request, "care/referrals/_desk_row.html",
                          context(i=item, message=message, failed=action, allowed=_allowed(actor)))
        kept = {k: v for k in ("encounter_id", "encounter_type") if isinstance(v := form.get(k), str)}
        ctx = _detail_ctx(session, actor, referral_id, message=message,
                          values={"text": text, "action": action, **kept})
        return render(request, "care/referrals/detail.html", ctx, status_code=exc.status_code)
    if _partial(request):
        item = queries.get(session=session, referral_id=referral_id, actor=actor)
        return render(request, "care/referrals/_desk_row.html",
                      context(i=item, message=tr(f"care.referrals.done.{action}"), failed=None,
                              allowed=_allowed(actor)))
    return RedirectResponse(_next(form.get("next"), f"/care/referrals/{referral_id}"), status_code=303)
