"""HTML pages of settling: a stay's settlement page (settle button, settlement history, reverse form, the
pay-later waiver), and the printable one-page slip (结算单). Thin: each route calls the settlement service
and renders."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from weijian.accounts.deps import require
from weijian.core.actor import Actor
from weijian.core.bounds import Id64
from weijian.core.errors import InvalidInput
from weijian.core.web import SessionDep, TranslatorDep, form_command, form_errors, refused, render, verify_csrf
from weijian.orgunits import service as orgunits_service
from weijian.residents import access
from weijian.residents import service as residents_service
from weijian.settlement.paylater import queries as paylater_queries
from weijian.settlement.paylater import service as paylater_service
from weijian.settlement.paylater.schemas import WaiverIn
from weijian.settlement.settle import queries, service
from weijian.settlement.settle.rules import Policy, get_policy
from weijian.settlement.settle.schemas import ReverseIn, SettleIn

router = APIRouter(dependencies=[Depends(verify_csrf)])


def _policy(policy_id: str) -> Policy | None:
    return None if policy_id == queries.SELF_PAY else get_policy(policy_id)


def _stay_ctx(session: Session, actor: Actor, encounter_id: int) -> dict[str, Any]:
    settlements = queries.for_encounter(session=session, actor=actor, encounter_id=encounter_id)
    facts = queries.stay_facts(session=session, actor=actor, encounter_id=encounter_id)
    live = next((s for s in reversed(settlements) if s.status == "settled"), None)
    waiver = paylater_queries.waiver_for(session=session, encounter_id=encounter_id)
    return {"stay": facts, "settlements": settlements, "live": live, "waiver": waiver,
            "balance": paylater_queries.balance_for(session=session, settlement_id=live.id) if live else None,
            "errors": {}, "reason": ""}


@router.get("/settlement/stays/{encounter_id:int}")
def stay_page(encounter_id: Id64, request: Request, session: SessionDep,
              actor: Actor = Depends(require("settlement:read"))) -> Response:
    return render(request, "settlement/stay.html", _stay_ctx(session, actor, encounter_id))


@router.post("/settlement/stays/{encounter_id:int}/settle")
def settle_submit(encounter_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                  actor: Actor = Depends(require("settlement:write"))) -> Response:
    try:
        s = service.settle_encounter(session=session, actor=actor, settle_in=SettleIn(encounter_id=encounter_id))
    except InvalidInput as exc:
        refused(session)
        ctx = _stay_ctx(session, actor, encounter_id) | {"errors": form_errors(exc, tr)}
        return render(request, "settlement/stay.html", ctx, status_code=422)
    return RedirectResponse(f"/settlement/settlements/{s.id}/slip", status_code=303)


@router.post("/settlement/stays/{encounter_id:int}/waiver")
def waiver_submit(encounter_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                  actor: Actor = Depends(require("care:write"))) -> Response:
    try:
        paylater_service.grant_waiver(session=session, actor=actor, waiver_in=WaiverIn(encounter_id=encounter_id))
    except InvalidInput as exc:
        refused(session)
        ctx = _stay_ctx(session, actor, encounter_id) | {"errors": form_errors(exc, tr)}
        return render(request, "settlement/stay.html", ctx, status_code=422)
    return RedirectResponse(f"/settlement/stays/{encounter_id}", status_code=303)


@router.post("/settlement/settlements/{settlement_id:int}/reverse")
async def reverse_submit(settlement_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                         actor: Actor = Depends(require("settlement:write"))) -> Response:
    try:
        cmd = await form_command(request, ReverseIn)
        result = service.reverse(session=session, actor=actor, settlement_id=settlement_id, reverse_in=cmd)
    except InvalidInput as exc:
        refused(session)
        s = queries.get(session=session, actor=actor, settlement_id=settlement_id)
        reason = str((await request.form()).get("reason") or "").strip()  # kept beside its error
        ctx = _stay_ctx(session, actor, s.encounter_id) | {"errors": form_errors(exc, tr), "reason": reason}
        return render(request, "settlement/stay.html", ctx, status_code=422)
    return RedirectResponse(f"/settlement/stays/{result.reversed.encounter_id}?reversed={len(result.resettled)}",
                            status_code=303)


@router.get("/settlement/settlements/{settlement_id:int}/slip")
def slip_page(settlement_id: Id64, request: Request, session: SessionDep,
              actor: Actor = Depends(require("settlement:read"))) -> Response:
    s = queries.get(session=session, actor=actor, settlement_id=settlement_id)
    person = residents_service.get(session=session, resident_id=s.resident_id, actor=actor,
                                   basis=access.basis_for(actor, s.village_code, facility_id=s.facility_id))
    facility = orgunits_service.get_facility(session=session, facility_id=s.facility_id) if s.facility_id else None
    stay = queries.stay_facts(session=session, actor=actor, encounter_id=s.encounter_id)
    villages = residents_service.village_names(session=session, codes={s.village_code})
    return render(request, "settlement/slip.html", {
        "s": s, "person": person, "facility": facility, "stay": stay, "policy": _policy(s.policy_id),
        "village": villages.get(s.village_code, s.village_code), "acc_fields": queries.ACC_FIELDS,
        "balance": paylater_queries.balance_for(session=session, settlement_id=s.id),
        })
