"""JSON routes of pay-later under /api/v1/settlement: a deposit waiver for an open stay, the balances
ledger, payments against a balance."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from weijian.accounts.deps import require
from weijian.core.actor import Actor
from weijian.core.bounds import Id64
from weijian.core.web import SessionDep
from weijian.settlement.paylater import queries, service
from weijian.settlement.paylater.schemas import BalanceOut, LedgerOut, PaymentIn, WaiverIn

router = APIRouter(prefix="/api/v1/settlement", tags=["settlement"])


@router.post("/encounters/{encounter_id}/waiver", status_code=201)
def grant_waiver(encounter_id: Id64, session: SessionDep,
                 actor: Actor = Depends(require("care:write"))) -> dict[str, Any]:
    w = service.grant_waiver(session=session, actor=actor, waiver_in=WaiverIn(encounter_id=encounter_id))
    return {"id": w.id, "encounter_id": w.encounter_id, "resident_id": w.resident_id, "facility_id": w.facility_id,
            "basis_group": w.basis_group, "granted_at": w.granted_at}


@router.get("/balances", response_model=LedgerOut)
def balances(session: SessionDep, actor: Actor = Depends(require("settlement:read")),
             facility_id: Id64 | None = None, status: str | None = Query("outstanding", max_length=16)) -> LedgerOut:
    status = None if status == "all" else status
    return LedgerOut.of(queries.balances_ledger(session=session, actor=actor, facility_id=facility_id, status=status))


@router.post("/balances/{balance_id}/payments", response_model=BalanceOut)
def pay_balance(balance_id: Id64, body: PaymentIn, session: SessionDep,
                actor: Actor = Depends(require("settlement:write"))) -> BalanceOut:
    return BalanceOut.of(service.record_payment(session=session, actor=actor, balance_id=balance_id, payment_in=body))
