"""HTML pages of remote consultation: the list, the request form from the resident's record (with the
encounters to attach), and a consultation's page (the county side's schedule form, the specialist's answer,
the requester's cancel — the buttons `service.allowed_actions` gives). The desk's consultation inbox is on the
referral desk (referrals.pages)."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from weijian.accounts.deps import ActorDep, require
from weijian.care.referrals import queries as referrals_queries
from weijian.care.referrals.pages import PAGE_SIZE, context
from weijian.care.referrals.rules import URGENCIES, rules
from weijian.care.teleconsult import queries, service
from weijian.care.teleconsult.schemas import AnswerIn, ConsultationAction, ConsultationRequest, ScheduleIn
from weijian.core import nav
from weijian.core.actor import Actor
from weijian.core.bounds import Id64, PageNo
from weijian.core.errors import Conflict, InvalidInput, InvalidState
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

router = APIRouter(dependencies=[Depends(verify_csrf)])
# This module's entry of the main navigation (added by the composition root, weijian.wiring).
NAV = (nav.NavItem("/care/consultations", "care.referrals.nav.consultations", "consult:request", 42),)
ACTIONS = ("schedule", "answer", "cancel")


@router.get("/care/consultations")
def consultations_page(request: Request, session: SessionDep, actor: ActorDep,
                       box: str = "", status: str = "", page: PageNo = 1) -> Response:
    box = box if box in ("sent", "received") else ""
    status = status if status in queries.STATUSES else ""
    result = queries.list_consultations(session=session, actor=actor, box=box or None, status=status or None,
                                        page=page, page_size=PAGE_SIZE)
    return render(request, "care/referrals/consult_list.html",
                  context(result=result, box=box, status=status, statuses=queries.STATUSES))


def _form_ctx(session: Session, actor: Actor, resident: referrals_queries.FormResident, values: dict[str, Any],
              errors: dict[str, str] | None = None) -> dict[str, Any]:
    return context(resident=resident, values=values, errors=errors or {}, urgencies=URGENCIES,
                   targets=referrals_queries.target_facilities(session=session, actor=actor,
                                                               tiers=rules().consult_to),
                   facility=referrals_queries.actor_facility(session, actor),
                   action=f"/care/consultations/new?resident_id={resident.id}")


@router.get("/care/consultations/new")
def new_consultation_page(request: Request, session: SessionDep, resident_id: Id64,
                          actor: Actor = Depends(require("consult:request"))) -> Response:
    resident = referrals_queries.form_resident(session=session, actor=actor, resident_id=resident_id)
    values = {"urgency": "routine", "encounter_ids": [e["encounter_id"] for e in resident.extract[:3]]}
    return render(request, "care/referrals/consult_form.html", _form_ctx(session, actor, resident, values))


@router.post("/care/consultations/new")
async def new_consultation_submit(request: Request, session: SessionDep, tr: TranslatorDep, resident_id: Id64,
                                  actor: Actor = Depends(require("consult:request"))) -> Response:
    try:
        consultation_in = await form_command(request, ConsultationRequest, resident_id=resident_id)
        consultation = service.request(session=session, consultation_in=consultation_in, actor=actor)
    except InvalidInput as exc:
        refused(session)
        resident = referrals_queries.form_resident(session=session, actor=actor, resident_id=resident_id)
        values = await form_values(request)
        chosen = values.get("encounter_ids") or []
        values["encounter_ids"] = [int(v) for v in ([chosen] if isinstance(chosen, str) else chosen)
                                   if v.isdecimal()]  # to tick them again
        errors = form_errors(exc, tr)
        for key in [k for k in errors if k.startswith("encounter_ids.")]:  # one bad item: shown by the list
            errors.setdefault("encounter_ids", errors.pop(key))
        return render(request, "care/referrals/consult_form.html",
                      _form_ctx(session, actor, resident, values, errors), status_code=422)
    return RedirectResponse(f"/care/consultations/{consultation.id}", status_code=303)


def _consult_ctx(session: Session, actor: Actor, consultation_id: Id64, **extra: Any) -> dict[str, Any]:
    item = queries.get(session=session, consultation_id=consultation_id, actor=actor)
    values = {"specialist_username": actor.username, "scheduled_at": ""}
    ctx = context(item=item, c=item.consultation, actions=service.allowed_actions(item.consultation, actor),
                  errors={}, values=values, message=None)
    ctx.update(extra)
    return ctx


@router.get("/care/consultations/{consultation_id:int}")
def consultation_page(consultation_id: Id64, request: Request, session: SessionDep,
                      actor: ActorDep) -> Response:
    return render(request, "care/referrals/consult_detail.html", _consult_ctx(session, actor, consultation_id))


async def _apply(request: Request, session: Session, actor: Actor, consultation_id: int, action: str) -> None:
    if action == "schedule":
        schedule_in = await form_command(request, ScheduleIn)
        service.schedule(session=session, consultation_id=consultation_id, schedule_in=schedule_in, actor=actor)
    elif action == "answer":
        answer_in = await form_command(request, AnswerIn)
        service.answer(session=session, consultation_id=consultation_id, answer_in=answer_in, actor=actor)
    else:
        service.cancel(session=session, consultation_id=consultation_id, actor=actor,
                       action_in=await form_command(request, ConsultationAction))


@router.post("/care/consultations/{consultation_id:int}/{action}")
async def consultation_act(consultation_id: Id64, action: str, request: Request, session: SessionDep,
                           tr: TranslatorDep, actor: ActorDep) -> Response:
    if action not in ACTIONS:
        return render(request, "error.html", {"error": {"message": tr("care.referrals.errors.action_unknown")}},
                      status_code=404)
    try:
        await _apply(request, session, actor, consultation_id, action)
    except (InvalidInput, Conflict, InvalidState) as exc:
        refused(session)
        errors = form_errors(exc, tr) if isinstance(exc, InvalidInput) else {}
        message = None if errors else tr(exc.message_key, **exc.params)
        ctx = _consult_ctx(session, actor, consultation_id, errors=errors, message=message,
                           values=await form_values(request), failed=action)
        return render(request, "care/referrals/consult_detail.html", ctx, status_code=exc.status_code)
    return RedirectResponse(f"/care/consultations/{consultation_id}", status_code=303)
