"""HTML page of pay-later: the balances ledger by facility (overdue ones on top) and the payment form of
each balance. Thin: each route calls the pay-later service and renders."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from weijian.accounts.deps import require
from weijian.core import nav
from weijian.core.actor import Actor
from weijian.core.bounds import Id64, whole_number
from weijian.core.errors import InvalidInput, InvalidState
from weijian.core.web import SessionDep, TranslatorDep, form_command, form_errors, refused, render, verify_csrf
from weijian.settlement.paylater import queries, service
from weijian.settlement.paylater.schemas import PaymentIn

router = APIRouter(dependencies=[Depends(verify_csrf)])
# This module's entries of the main navigation (added by the composition root, weijian.wiring).
NAV = (
    nav.NavItem("/settlement/balances", "settlement.paylater.nav", "settlement:read", 62),
)


@router.get("/settlement/balances")
def balances_page(request: Request, session: SessionDep,
                  actor: Actor = Depends(require("settlement:read")), facility_id: str | None = None,
                  status: str | None = "outstanding") -> Response:
    fid = whole_number(facility_id)  # a filter that is no id lists every facility
    status = None if status in ("all", "") else status
    ledger = queries.balances_ledger(session=session, actor=actor, facility_id=fid, status=status)
    return render(request, "settlement/balances.html", {"ledger": ledger, "facility_id": fid,
                                                        "status": status or "all", "errors": {}})


@router.post("/settlement/balances/{balance_id:int}/pay")
async def pay_submit(balance_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                     actor: Actor = Depends(require("settlement:write"))) -> Response:
    queries.balance_in_scope(session, actor, balance_id)  # outside the scope: 404, whatever the form holds
    try:
        cmd = await form_command(request, PaymentIn)
        service.record_payment(session=session, actor=actor, balance_id=balance_id, payment_in=cmd)
    except (InvalidInput, InvalidState) as exc:
        refused(session)
        ledger = queries.balances_ledger(session=session, actor=actor)
        msg = form_errors(exc, tr).get("amount") if isinstance(exc, InvalidInput) else tr(exc.message_key, **exc.params)
        amount = str((await request.form()).get("amount") or "").strip()  # kept beside its error
        return render(request, "settlement/balances.html", {
            "ledger": ledger, "facility_id": None, "status": "outstanding",
            "errors": {balance_id: msg}, "amount": amount}, status_code=422)
    return RedirectResponse("/settlement/balances?paid=1", status_code=303)

