"""HTML pages of settling: the settlement desk (the year's pending stays, each with the reason it is
pending), a stay's settlement page (settle button, settlement history, reverse form, the pay-later waiver),
and the printable one-page slip (结算单). Thin: each route calls the settlement service and renders."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.accounts.deps import require
from weijian.care import service as care_service
from weijian.core import clock, nav
from weijian.core.actor import Actor
from weijian.core.bounds import Id64
from weijian.core.commands import build
from weijian.core.errors import InvalidInput, InvalidState
from weijian.core.web import SessionDep, TranslatorDep, form_command, form_errors, refused, render, verify_csrf
from weijian.orgunits import service as orgunits_service
from weijian.residents import access
from weijian.residents import service as residents_service
from weijian.settlement.amount_words import rmb_upper
from weijian.settlement.paylater import queries as paylater_queries
from weijian.settlement.paylater import service as paylater_service
from weijian.settlement.paylater.schemas import WaiverIn
from weijian.settlement.settle import engine, queries, service
from weijian.settlement.settle.schemas import PendingIn, ReverseIn, SettleIn

router = APIRouter(dependencies=[Depends(verify_csrf)])
# This module's entries of the main navigation (added by the composition root, weijian.wiring).
NAV = (
    nav.NavItem("/settlement/pending", "settlement.settle.desk.nav", "settlement:read", 61),
)


def _stay_ctx(session: Session, actor: Actor, encounter_id: int) -> dict[str, Any]:
    settlements = queries.for_encounter(session=session, actor=actor, encounter_id=encounter_id)
    facts = queries.stay_facts(session=session, actor=actor, encounter_id=encounter_id)
    live = next((s for s in reversed(settlements) if s.status == "settled"), None)
    waiver = paylater_queries.waiver_for(session=session, encounter_id=encounter_id)
    return {"stay": facts, "settlements": settlements, "live": live, "waiver": waiver,
            "balance": paylater_queries.balance_for(session=session, settlement_id=live.id) if live else None,
            "errors": {}, "reason": ""}


@router.get("/settlement/pending")
def desk_page(request: Request, session: SessionDep, tr: TranslatorDep,
              actor: Actor = Depends(require("settlement:read")), year: str | None = None,
              village_code: str | None = None) -> Response:
    """The settlement desk: the year's discharged stays not yet settled, each with why."""
    errors: dict[str, str] = {}
    try:
        cmd = build(PendingIn, {"year": year or clock.today().year, "village_code": village_code})
    except InvalidInput as exc:
        errors = form_errors(exc, tr)
        cmd = PendingIn(year=clock.today().year)
    stays = service.pending_stays(session=session, actor=actor, pending_in=cmd)
    villages = residents_service.village_names(session=session, codes={p.village_code for p in stays})
    return render(request, "settlement/pending.html", {
        "stays": stays, "year": cmd.year if not errors else (year or ""), "villages": villages, "errors": errors,
        "ready": sum(1 for p in stays if p.reason_key is None)}, status_code=422 if errors else 200)


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
    except InvalidState as exc:  # no policy for the scheme and date: the stay stays pending, the reason shown
        refused(session)
        ctx = _stay_ctx(session, actor, encounter_id) | {
            "errors": {"insurance_scheme": tr(exc.message_key, **exc.params)}}
        return render(request, "settlement/stay.html", ctx, status_code=409)
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
def slip_page(settlement_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
              actor: Actor = Depends(require("settlement:read"))) -> Response:
    s = queries.get(session=session, actor=actor, settlement_id=settlement_id)
    person = residents_service.get(session=session, resident_id=s.resident_id, actor=actor,
                                   basis=access.basis_for(actor, s.village_code, facility_id=s.facility_id))
    facility = orgunits_service.get_facility(session=session, facility_id=s.facility_id) if s.facility_id else None
    stay = queries.stay_facts(session=session, actor=actor, encounter_id=s.encounter_id)
    villages = residents_service.village_names(session=session, codes={s.village_code})
    policy = service.stored_policy(session, s)  # the terms the slip was settled on, not today's file
    lang = "zh" if tr.locale.startswith("zh") else "en"
    group = residents_service.groups().get(s.benefit_group or "", {})
    icd = care_service.icd10_code(stay["primary_diagnosis"]) if stay["primary_diagnosis"] else None
    clerk = accounts_service.get_by_username(session=session, username=s.settled_by) if s.settled_by else None
    return render(request, "settlement/slip.html", {
        "s": s, "person": person, "facility": facility, "stay": stay, "policy": policy,
        "village": villages.get(s.village_code, s.village_code), "acc_fields": queries.ACC_FIELDS,
        "balance": paylater_queries.balance_for(session=session, settlement_id=s.id),
        "group_label": group.get(lang) or s.benefit_group,
        "terms": engine.applied_terms(policy, s.benefit_group) if policy else None,
        "diagnosis": f"{stay['primary_diagnosis']} {icd.name(tr.locale)}" if icd else stay["primary_diagnosis"],
        "clerk": clerk.full_name if clerk else s.settled_by, "number": queries.slip_number(s),
        "patient_pays_words": rmb_upper(s.patient_pays), "total_words": rmb_upper(s.total),
        })

