"""JSON routes of settlement under /api/v1/settlement: settle a stay, read and reverse a settlement, a
resident's settlements, the year's pending stays, pay-later waivers, balances ledger and payments. A
settlement outside the caller's scope answers 404, exactly as a missing one."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from weijian.accounts.deps import require
from weijian.core.actor import Actor
from weijian.core.bounds import Id64, Year
from weijian.core.web import SessionDep
from weijian.settlement import paylater, settle
from weijian.settlement.models import Settlement
from weijian.settlement.schemas import (
    BalanceOut,
    LedgerOut,
    PaymentIn,
    PendingIn,
    PendingOut,
    ReversalOut,
    ReverseIn,
    SettleIn,
    SettlementOut,
)

router = APIRouter(prefix="/api/v1/settlement", tags=["settlement"])


def _out(session: Session, s: Settlement) -> SettlementOut:
    return SettlementOut.of(s, paylater.balance_for(session=session, settlement_id=s.id))


@router.post("/settlements", response_model=SettlementOut, status_code=201)
def settle_stay(body: SettleIn, session: SessionDep,
                actor: Actor = Depends(require("settlement:write"))) -> SettlementOut:
    return _out(session, settle.settle_encounter(session=session, actor=actor, encounter_id=body.encounter_id))


@router.get("/settlements/{settlement_id}", response_model=SettlementOut)
def read_settlement(settlement_id: Id64, session: SessionDep,
                    actor: Actor = Depends(require("settlement:read"))) -> SettlementOut:
    return _out(session, settle.get(session=session, actor=actor, settlement_id=settlement_id))


@router.post("/settlements/{settlement_id}/reverse", response_model=ReversalOut)
def reverse_settlement(settlement_id: Id64, body: ReverseIn, session: SessionDep,
                       actor: Actor = Depends(require("settlement:write"))) -> ReversalOut:
    result = settle.reverse(session=session, actor=actor, settlement_id=settlement_id, reason=body.reason)
    return ReversalOut(reversed=_out(session, result.reversed), resettled=[_out(session, s) for s in result.resettled])


@router.get("/residents/{resident_id}/settlements", response_model=list[SettlementOut])
def resident_settlements(resident_id: Id64, session: SessionDep, actor: Actor = Depends(require("settlement:read")),
                         year: Year | None = None,
                         history: bool = Query(False)) -> list[SettlementOut]:
    items = settle.list_for_resident(session=session, actor=actor, resident_id=resident_id, year=year,
                                     include_history=history)
    return [_out(session, s) for s in items]


@router.get("/encounters/{encounter_id}/settlements", response_model=list[SettlementOut])
def stay_settlements(encounter_id: Id64, session: SessionDep,
                     actor: Actor = Depends(require("settlement:read"))) -> list[SettlementOut]:
    return [_out(session, s) for s in settle.for_encounter(session=session, actor=actor, encounter_id=encounter_id)]


@router.post("/pending", response_model=PendingOut)
def settle_pending(body: PendingIn, session: SessionDep,
                   actor: Actor = Depends(require("settlement:write"))) -> PendingOut:
    return PendingOut(settled=settle.settle_pending(session=session, actor=actor, year=body.year,
                                                    village_code=body.village_code))


@router.post("/encounters/{encounter_id}/waiver", status_code=201)
def grant_waiver(encounter_id: Id64, session: SessionDep, actor: Actor = Depends(require("care:write"))) -> dict:
    w = paylater.grant_waiver(session=session, actor=actor, encounter_id=encounter_id)
    return {"id": w.id, "encounter_id": w.encounter_id, "resident_id": w.resident_id, "facility_id": w.facility_id,
            "basis_group": w.basis_group, "granted_at": w.granted_at}


@router.get("/balances", response_model=LedgerOut)
def balances(session: SessionDep, actor: Actor = Depends(require("settlement:read")),
             facility_id: Id64 | None = None, status: str | None = Query("outstanding", max_length=16)) -> LedgerOut:
    status = None if status == "all" else status
    return LedgerOut.of(paylater.ledger(session=session, actor=actor, facility_id=facility_id, status=status))


@router.post("/balances/{balance_id}/payments", response_model=BalanceOut)
def pay_balance(balance_id: Id64, body: PaymentIn, session: SessionDep,
                actor: Actor = Depends(require("settlement:write"))) -> BalanceOut:
    return BalanceOut.of(paylater.record_payment(session=session, actor=actor, balance_id=balance_id,
                                                 amount=str(body.amount)))
