"""HTML pages of two-way referral and remote consultation: the village doctor's worklist, the referral desk
(incoming referrals, overdue on top, accept or reject in one click with htmx), the referrals of a township's
patients, a referral's page with its answers, the referral and consultation forms from the resident's record,
and a consultation's page (schedule, answer). Thin: each route calls a service and renders."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from weijian.accounts.deps import ActorDep, require
from weijian.care import icd10, referrals, teleconsult, worklist
from weijian.core import clock, nav
from weijian.core.actor import Actor
from weijian.core.bounds import Id64, PageNo
from weijian.core.errors import Conflict, InvalidInput, InvalidState
from weijian.core.i18n import Translator
from weijian.core.web import SessionDep, SettingsDep, TranslatorDep, form_errors, refused, render, verify_csrf

router = APIRouter(dependencies=[Depends(verify_csrf)])
# This module's entries of the main navigation (added by the composition root, weijian.wiring).
NAV = (
    nav.NavItem("/care/worklist", "care.referrals.nav.worklist", "worklist:read", 5),
    nav.NavItem("/care/referrals/desk", "care.referrals.nav.desk", "referral:respond", 40),
    nav.NavItem("/care/referrals", "care.referrals.nav.referrals", "referral:read", 41),
    nav.NavItem("/care/consultations", "care.referrals.nav.consultations", "consult:request", 42),
)

PAGE_SIZE = 20
DESK_PAGE_SIZE = 50
REFERRAL_FIELDS = ("direction", "to_facility_id", "to_department", "out_of_county", "outside_facility_name",
                   "reason", "urgency", "summary")
CONSULT_FIELDS = ("to_facility_id", "department", "question", "urgency")
ACTIONS = ("accept", "reject", "arrive", "complete", "cancel")


def local(value: datetime | None) -> str:
    """A stored time as users read it (Beijing time), to the minute."""
    return clock.local(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _partial(request: Request) -> bool:
    return bool(request.headers.get("hx-request")) and not request.headers.get("hx-history-restore-request")


def _ctx(**extra: Any) -> dict[str, Any]:
    return {"local": local, "icd10_name": _icd_name, **extra}


def _icd_name(code: str | None, locale: str = "zh_CN") -> str:
    entry = icd10.get(code) if code else None
    return entry.name(locale) if entry else ""


def _next(raw: Any, default: str) -> str:
    """Where a plain form post returns to: a page of this site only."""
    text = str(raw or "")
    return text if text.startswith("/care/") and "//" not in text else default


# --- worklist -----------------------------------------------------------------------------------
@router.get("/care/worklist")
def worklist_page(request: Request, session: SessionDep, settings: SettingsDep,
                  actor: Actor = Depends(require("worklist:read"))) -> Response:
    w = worklist.worklist(session=session, actor=actor, overdue_rule=settings.immunization_overdue_rule)
    return render(request, "care/referrals/worklist.html", _ctx(w=w))


# --- the referral desk ----------------------------------------------------------------------------
@router.get("/care/referrals/desk")
def desk_page(request: Request, session: SessionDep, actor: Actor = Depends(require("referral:respond")),
              page: PageNo = 1) -> Response:
    box = referrals.inbox(session=session, actor=actor, page=max(1, page), page_size=DESK_PAGE_SIZE)
    consultations = None
    if actor.can("consult:answer"):
        consultations = teleconsult.list_consultations(session=session, actor=actor, box="received",
                                                       open_only=True, page_size=DESK_PAGE_SIZE)
    return render(request, "care/referrals/desk.html", _ctx(box=box, consultations=consultations))


# --- referrals: list, page, answers -------------------------------------------------------------------
@router.get("/care/referrals")
def list_page(request: Request, session: SessionDep, actor: Actor = Depends(require("referral:read")),
              box: str = "", status: str = "", direction: str = "", page: PageNo = 1) -> Response:
    box = box if box in ("sent", "received") else ""
    status = status if status in referrals.STATUSES else ""
    direction = direction if direction in referrals.DIRECTIONS else ""
    result = referrals.list_referrals(session=session, actor=actor, box=box or None, status=status or None,
                                      direction=direction or None, page=max(1, page), page_size=PAGE_SIZE)
    return render(request, "care/referrals/list.html",
                  _ctx(result=result, box=box, status=status, direction=direction, statuses=referrals.STATUSES))


def _detail_ctx(session: Session, actor: Actor, referral_id: Id64, **extra: Any) -> dict[str, Any]:
    item = referrals.get(session=session, referral_id=referral_id, actor=actor)
    kids = referrals.children(session=session, referral_id=referral_id)
    actions = referrals.allowed_actions(item.referral, actor)
    if any(k.status not in ("rejected", "cancelled") for k in kids) and "downward" in actions:
        actions.remove("downward")
    return _ctx(**{"item": item, "r": item.referral, "children": kids, "actions": actions, "errors": {},
                   "values": {}, "message": None, **extra})


@router.get("/care/referrals/{referral_id:int}")
def detail_page(referral_id: Id64, request: Request, session: SessionDep,
                actor: Actor = Depends(require("referral:read"))) -> Response:
    return render(request, "care/referrals/detail.html", _detail_ctx(session, actor, referral_id))


# --- referral forms ---------------------------------------------------------------------------------
def _form_ctx(session: Session, actor: Actor, tr: Translator, resident: referrals.FormResident,
              values: dict[str, Any], errors: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    code = values.get("diagnosis") or ""
    return _ctx(resident=resident, values=values, errors=errors or {},
                targets=referrals.target_facilities(session=session, actor=actor,
                                                    village_code=resident.village_code),
                facility=referrals.actor_facility(session, actor), urgencies=referrals.URGENCIES,
                directions=referrals.DIRECTIONS,
                slots=[{"code": code, "name": _icd_name(code, tr.locale)}], **extra)


async def _referral_values(request: Request) -> dict[str, Any]:
    form = await request.form()
    values: dict[str, Any] = {k: str(form.get(k) or "").strip() for k in REFERRAL_FIELDS}
    values["diagnosis"] = str(form.get("diagnoses") or form.get("diagnosis") or "").strip()
    return values


def _errors(exc: InvalidInput, tr: Translator) -> dict[str, str]:
    errors = form_errors(exc, tr)
    if "diagnosis" in errors:  # the ICD-10 picker shows its errors under "diagnoses"
        errors["diagnoses"] = errors["diagnosis"]
    return errors


@router.get("/care/referrals/new")
def new_referral_page(request: Request, session: SessionDep, tr: TranslatorDep, resident_id: Id64,
                      actor: Actor = Depends(require("referral:create"))) -> Response:
    resident = referrals.form_resident(session=session, actor=actor, resident_id=resident_id)
    values = {"direction": referrals.default_direction(session=session, actor=actor), "urgency": "routine"}
    action = f"/care/referrals/new?resident_id={resident_id}"
    return render(request, "care/referrals/form.html", _form_ctx(session, actor, tr, resident, values, action=action))


@router.post("/care/referrals/new")
async def new_referral_submit(request: Request, session: SessionDep, tr: TranslatorDep, resident_id: Id64,
                              actor: Actor = Depends(require("referral:create"))) -> Response:
    values = await _referral_values(request)
    try:
        referral = referrals.create(session=session, values={**values, "resident_id": resident_id}, actor=actor)
    except InvalidInput as exc:
        refused(session)
        resident = referrals.form_resident(session=session, actor=actor, resident_id=resident_id)
        ctx = _form_ctx(session, actor, tr, resident, values, _errors(exc, tr),
                        action=f"/care/referrals/new?resident_id={resident_id}")
        return render(request, "care/referrals/form.html", ctx, status_code=422)
    return RedirectResponse(f"/care/referrals/{referral.id}", status_code=303)


@router.get("/care/referrals/{referral_id:int}/downward")
def downward_page(referral_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                  actor: Actor = Depends(require("referral:create"))) -> Response:
    item = referrals.get(session=session, referral_id=referral_id, actor=actor)
    parent = item.referral
    resident = referrals.form_resident(session=session, actor=actor, resident_id=parent.resident_id)
    values = {"direction": "down", "urgency": "routine", "to_facility_id": str(parent.from_facility_id),
              "diagnosis": parent.diagnosis or "", "summary": parent.discharge_summary or ""}
    return render(request, "care/referrals/form.html",
                  _form_ctx(session, actor, tr, resident, values, parent=item,
                            action=f"/care/referrals/{referral_id}/downward"))


@router.post("/care/referrals/{referral_id:int}/downward")
async def downward_submit(referral_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                          actor: Actor = Depends(require("referral:create"))) -> Response:
    values = await _referral_values(request)
    try:
        referral = referrals.create_downward(session=session, referral_id=referral_id, actor=actor,
                                             values={k: v for k, v in values.items()
                                                     if k not in ("direction", "out_of_county")})
    except InvalidInput as exc:
        refused(session)
        item = referrals.get(session=session, referral_id=referral_id, actor=actor)
        resident = referrals.form_resident(session=session, actor=actor, resident_id=item.referral.resident_id)
        ctx = _form_ctx(session, actor, tr, resident, {**values, "direction": "down"}, _errors(exc, tr),
                        parent=item, action=f"/care/referrals/{referral_id}/downward")
        return render(request, "care/referrals/form.html", ctx, status_code=422)
    return RedirectResponse(f"/care/referrals/{referral.id}", status_code=303)


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
    version = referrals.as_int(form.get("version"))
    text = str(form.get("text") or "").strip()
    try:
        if action == "accept":
            referrals.accept(session=session, referral_id=referral_id, actor=actor, version=version)
        elif action == "reject":
            referrals.reject(session=session, referral_id=referral_id, reason=text, actor=actor, version=version)
        elif action == "arrive":
            referrals.arrive(session=session, referral_id=referral_id, actor=actor, version=version)
        elif action == "complete":
            referrals.complete(session=session, referral_id=referral_id, discharge_summary=text, actor=actor,
                               version=version)
        else:
            referrals.cancel(session=session, referral_id=referral_id, actor=actor, version=version)
    except (InvalidInput, Conflict, InvalidState) as exc:
        refused(session)
        message = tr(exc.message_key, **exc.params)
        if isinstance(exc, InvalidInput):
            message = next(iter(form_errors(exc, tr).values()))
        if _partial(request):  # the desk keeps the row, with the reason it did not change
            item = referrals.get(session=session, referral_id=referral_id, actor=actor)
            return render(request, "care/referrals/_desk_row.html", _ctx(i=item, message=message, failed=action))
        ctx = _detail_ctx(session, actor, referral_id, message=message, values={"text": text, "action": action})
        return render(request, "care/referrals/detail.html", ctx, status_code=exc.status_code)
    if _partial(request):
        item = referrals.get(session=session, referral_id=referral_id, actor=actor)
        return render(request, "care/referrals/_desk_row.html",
                      _ctx(i=item, message=tr(f"care.referrals.done.{action}"), failed=None))
    return RedirectResponse(_next(form.get("next"), f"/care/referrals/{referral_id}"), status_code=303)


# --- consultations ------------------------------------------------------------------------------
@router.get("/care/consultations")
def consultations_page(request: Request, session: SessionDep, actor: ActorDep,
                       box: str = "", status: str = "", page: PageNo = 1) -> Response:
    box = box if box in ("sent", "received") else ""
    status = status if status in teleconsult.STATUSES else ""
    result = teleconsult.list_consultations(session=session, actor=actor, box=box or None, status=status or None,
                                            page=max(1, page), page_size=PAGE_SIZE)
    return render(request, "care/referrals/consult_list.html",
                  _ctx(result=result, box=box, status=status, statuses=teleconsult.STATUSES))


def _consult_form_ctx(session: Session, actor: Actor, resident: referrals.FormResident, values: dict[str, Any],
                      errors: dict[str, str] | None = None) -> dict[str, Any]:
    rules = referrals.rules()
    return _ctx(resident=resident, values=values, errors=errors or {}, urgencies=referrals.URGENCIES,
                targets=referrals.target_facilities(session=session, actor=actor, tiers=rules.consult_to),
                facility=referrals.actor_facility(session, actor),
                action=f"/care/consultations/new?resident_id={resident.id}")


@router.get("/care/consultations/new")
def new_consultation_page(request: Request, session: SessionDep, resident_id: Id64,
                          actor: Actor = Depends(require("consult:request"))) -> Response:
    resident = referrals.form_resident(session=session, actor=actor, resident_id=resident_id)
    values = {"urgency": "routine", "encounter_ids": [e["encounter_id"] for e in resident.extract[:3]]}
    return render(request, "care/referrals/consult_form.html", _consult_form_ctx(session, actor, resident, values))


@router.post("/care/consultations/new")
async def new_consultation_submit(request: Request, session: SessionDep, tr: TranslatorDep, resident_id: Id64,
                                  actor: Actor = Depends(require("consult:request"))) -> Response:
    form = await request.form()
    values: dict[str, Any] = {k: str(form.get(k) or "").strip() for k in CONSULT_FIELDS}
    values["encounter_ids"] = [referrals.as_int(v) for v in form.getlist("encounter_ids") if referrals.as_int(v)]
    try:
        consultation = teleconsult.request(session=session, values={**values, "resident_id": resident_id},
                                           actor=actor)
    except InvalidInput as exc:
        refused(session)
        resident = referrals.form_resident(session=session, actor=actor, resident_id=resident_id)
        return render(request, "care/referrals/consult_form.html",
                      _consult_form_ctx(session, actor, resident, values, form_errors(exc, tr)), status_code=422)
    return RedirectResponse(f"/care/consultations/{consultation.id}", status_code=303)


def _consult_ctx(session: Session, actor: Actor, consultation_id: Id64, **extra: Any) -> dict[str, Any]:
    item = teleconsult.get(session=session, consultation_id=consultation_id, actor=actor)
    values = {"specialist_username": actor.username, "scheduled_at": ""}
    ctx = _ctx(item=item, c=item.consultation, actions=teleconsult.allowed_actions(item.consultation, actor),
               errors={}, values=values, message=None)
    ctx.update(extra)
    return ctx


@router.get("/care/consultations/{consultation_id:int}")
def consultation_page(consultation_id: Id64, request: Request, session: SessionDep,
                      actor: ActorDep) -> Response:
    return render(request, "care/referrals/consult_detail.html", _consult_ctx(session, actor, consultation_id))


@router.post("/care/consultations/{consultation_id:int}/{action}")
async def consultation_act(consultation_id: Id64, action: str, request: Request, session: SessionDep,
                           tr: TranslatorDep, actor: ActorDep) -> Response:
    if action not in ("schedule", "answer", "cancel"):
        return render(request, "error.html", {"error": {"message": tr("care.referrals.errors.action_unknown")}},
                      status_code=404)
    form = await request.form()
    version = referrals.as_int(form.get("version"))
    values = {k: str(form.get(k) or "").strip() for k in ("specialist_username", "scheduled_at", "opinion")}
    try:
        if action == "schedule":
            teleconsult.schedule(session=session, consultation_id=consultation_id, actor=actor, version=version,
                                 values={"specialist_username": values["specialist_username"],
                                         "scheduled_at": values["scheduled_at"]})
        elif action == "answer":
            teleconsult.answer(session=session, consultation_id=consultation_id, opinion=values["opinion"],
                               actor=actor, version=version)
        else:
            teleconsult.cancel(session=session, consultation_id=consultation_id, actor=actor, version=version)
    except (InvalidInput, Conflict, InvalidState) as exc:
        refused(session)
        errors = form_errors(exc, tr) if isinstance(exc, InvalidInput) else {}
        message = None if errors else tr(exc.message_key, **exc.params)
        ctx = _consult_ctx(session, actor, consultation_id, errors=errors, message=message, values=values,
                           failed=action)
        return render(request, "care/referrals/consult_detail.html", ctx, status_code=exc.status_code)
    return RedirectResponse(f"/care/consultations/{consultation_id}", status_code=303)
