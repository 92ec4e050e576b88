"""HTML pages of settlement: a stay's settlement page (settle button, settlement history, reverse form,
pay-later waiver), the printable one-page slip (结算单), and the pay-later balances ledger with payments.
Thin: each route calls the settlement service and renders."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from weijian.accounts.deps import require
from weijian.core import nav
from weijian.core.actor import Actor
from weijian.core.bounds import Id64, whole_number
from weijian.core.errors import InvalidInput, InvalidState
from weijian.core.i18n import Translator
from weijian.core.web import SessionDep, TranslatorDep, form_errors, refused, render, verify_csrf
from weijian.orgunits import service as orgunits_service
from weijian.residents import service as residents_service
from weijian.settlement import paylater, settle
from weijian.settlement.policy import Policy, get_policy

router = APIRouter(dependencies=[Depends(verify_csrf)])
# This module's entries of the main navigation (added by the composition root, weijian.wiring).
NAV = (
    nav.NavItem("/settlement/balances", "settlement.paylater.nav", "settlement:read", 62),
)


def _policy(policy_id: str) -> Policy | None:
    return None if policy_id == settle.SELF_PAY else get_policy(policy_id)


def _stay_ctx(session: Session, actor: Actor, encounter_id: Id64, tr: Translator) -> dict[str, Any]:
    settlements = settle.for_encounter(session=session, actor=actor, encounter_id=encounter_id)
    facts = settle.stay_facts(session=session, actor=actor, encounter_id=encounter_id)
    live = next((s for s in reversed(settlements) if s.status == "settled"), None)
    waiver = paylater.waiver_for(session=session, encounter_id=encounter_id)
    return {"stay": facts, "settlements": settlements, "live": live, "waiver": waiver,
            "balance": paylater.balance_for(session=session, settlement_id=live.id) if live else None,
            "errors": {}, "reason": ""}


@router.get("/settlement/stays/{encounter_id:int}")
def stay_page(encounter_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
              actor: Actor = Depends(require("settlement:read"))) -> Response:
    return render(request, "settlement/stay.html", _stay_ctx(session, actor, encounter_id, tr))


@router.post("/settlement/stays/{encounter_id:int}/settle")
def settle_submit(encounter_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                  actor: Actor = Depends(require("settlement:write"))) -> Response:
    try:
        s = settle.settle_encounter(session=session, actor=actor, encounter_id=encounter_id)
    except InvalidInput as exc:
        refused(session)
        ctx = _stay_ctx(session, actor, encounter_id, tr) | {"errors": form_errors(exc, tr)}
        return render(request, "settlement/stay.html", ctx, status_code=422)
    return RedirectResponse(f"/settlement/settlements/{s.id}/slip", status_code=303)


@router.post("/settlement/stays/{encounter_id:int}/waiver")
def waiver_submit(encounter_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                  actor: Actor = Depends(require("care:write"))) -> Response:
    try:
        paylater.grant_waiver(session=session, actor=actor, encounter_id=encounter_id)
    except InvalidInput as exc:
        refused(session)
        ctx = _stay_ctx(session, actor, encounter_id, tr) | {"errors": form_errors(exc, tr)}
        return render(request, "settlement/stay.html", ctx, status_code=422)
    return RedirectResponse(f"/settlement/stays/{encounter_id}", status_code=303)


@router.post("/settlement/settlements/{settlement_id:int}/reverse")
async def reverse_submit(settlement_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                         actor: Actor = Depends(require("settlement:write"))) -> Response:
    form = await request.form()
    reason = str(form.get("reason") or "").strip()
    try:
        result = settle.reverse(session=session, actor=actor, settlement_id=settlement_id, reason=reason)
    except InvalidInput as exc:
        refused(session)
        s = settle.get(session=session, actor=actor, settlement_id=settlement_id)
        ctx = _stay_ctx(session, actor, s.encounter_id, tr) | {"errors": form_errors(exc, tr), "reason": reason}
        return render(request, "settlement/stay.html", ctx, status_code=422)
    return RedirectResponse(f"/settlement/stays/{result.reversed.encounter_id}?reversed={len(result.resettled)}",
                            status_code=303)


@router.get("/settlement/settlements/{settlement_id:int}/slip")
def slip_page(settlement_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
              actor: Actor = Depends(require("settlement:read"))) -> Response:
    s = settle.get(session=session, actor=actor, settlement_id=settlement_id)
    person = residents_service.get(session=session, resident_id=s.resident_id, actor=actor,
                                   basis=settle.access_basis(actor, s.village_code, s.facility_id))
    facility = orgunits_service.get_facility(session=session, facility_id=s.facility_id) if s.facility_id else None
    stay = settle.stay_facts(session=session, actor=actor, encounter_id=s.encounter_id)
    villages = residents_service.village_names(session=session, codes={s.village_code})
    return render(request, "settlement/slip.html", {
        "s": s, "person": person, "facility": facility, "stay": stay, "policy": _policy(s.policy_id),
        "village": villages.get(s.village_code, s.village_code), "acc_fields": settle.ACC_FIELDS,
        "balance": paylater.balance_for(session=session, settlement_id=s.id),
        })


@router.get("/settlement/balances")
def balances_page(request: Request, session: SessionDep, tr: TranslatorDep,
                  actor: Actor = Depends(require("settlement:read")), facility_id: str | None = None,
                  status: str | None = "outstanding") -> Response:
    fid = whole_number(facility_id)
    status = None if status in ("all", "") else status
    ledger = paylater.ledger(session=session, actor=actor, facility_id=fid, status=status)
    return render(request, "settlement/balances.html", {"ledger": ledger, "facility_id": fid,
                                                        "status": status or "all", "errors": {}})


@router.post("/settlement/balances/{balance_id:int}/pay")
async def pay_submit(balance_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                     actor: Actor = Depends(require("settlement:write"))) -> Response:
    form = await request.form()
    amount = str(form.get("amount") or "").strip()
    try:
        paylater.record_payment(session=session, actor=actor, balance_id=balance_id, amount=amount)
    except (InvalidInput, InvalidState) as exc:
        refused(session)
        ledger = paylater.ledger(session=session, actor=actor)
        msg = form_errors(exc, tr).get("amount") if isinstance(exc, InvalidInput) else tr(exc.message_key, **exc.params)
        return render(request, "settlement/balances.html", {
            "ledger": ledger, "facility_id": None, "status": "outstanding",
            "errors": {balance_id: msg}, "amount": amount}, status_code=422)
    return RedirectResponse("/settlement/balances?paid=1", status_code=303)
