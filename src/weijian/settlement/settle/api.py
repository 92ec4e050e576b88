"""JSON routes of settling under /api/v1/settlement: settle a stay, read and reverse a settlement, a
resident's settlements, a stay's, the year's pending stays. A settlement outside the caller's scope answers
404, exactly as a missing one."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from weijian.accounts.deps import require
from weijian.core.actor import Actor
from weijian.core.bounds import Id64, Year
from weijian.core.web import SessionDep
from weijian.settlement.models import Settlement
from weijian.settlement.paylater import queries as paylater_queries
from weijian.settlement.settle import queries, service
from weijian.settlement.settle.schemas import PendingIn, PendingOut, ReversalOut, ReverseIn, SettleIn, SettlementOut

router = APIRouter(prefix="/api/v1/settlement", tags=["settlement"])


def _out(session: Session, s: Settlement) -> SettlementOut:
    return SettlementOut.of(s, paylater_queries.balance_for(session=session, settlement_id=s.id))


@router.post("/settlements", response_model=SettlementOut, status_code=201)
def settle_stay(body: SettleIn, session: SessionDep,
                actor: Actor = Depends(require("settlement:write"))) -> SettlementOut:
    return _out(session, service.settle_encounter(session=session, actor=actor, settle_in=body))


@router.get("/settlements/{settlement_id}", response_model=SettlementOut)
def read_settlement(settlement_id: Id64, session: SessionDep,
                    actor: Actor = Depends(require("settlement:read"))) -> SettlementOut:
    return _out(session, queries.get(session=session, actor=actor, settlement_id=settlement_id))


@router.post("/settlements/{settlement_id}/reverse", response_model=ReversalOut)
def reverse_settlement(settlement_id: Id64, body: ReverseIn, session: SessionDep,
                       actor: Actor = Depends(require("settlement:write"))) -> ReversalOut:
    result = service.reverse(session=session, actor=actor, settlement_id=settlement_id, reverse_in=body)
    return ReversalOut(reversed=_out(session, result.reversed), resettled=[_out(session, s) for s in result.resettled])


@router.get("/residents/{resident_id}/settlements", response_model=list[SettlementOut])
def resident_settlements(resident_id: Id64, session: SessionDep, actor: Actor = Depends(require("settlement:read")),
                         year: Year | None = None,
                         history: bool = Query(False)) -> list[SettlementOut]:
    items = queries.list_for_resident(session=session, actor=actor, resident_id=resident_id, year=year,
                                      include_history=history)
    return [_out(session, s) for s in items]


@router.get("/encounters/{encounter_id}/settlements", response_model=list[SettlementOut])
def stay_settlements(encounter_id: Id64, session: SessionDep,
                     actor: Actor = Depends(require("settlement:read"))) -> list[SettlementOut]:
    return [_out(session, s) for s in queries.for_encounter(session=session, actor=actor, encounter_id=encounter_id)]


@router.post("/pending", response_model=PendingOut)
def settle_pending(body: PendingIn, session: SessionDep,
                   actor: Actor = Depends(require("settlement:write"))) -> PendingOut:
    return PendingOut(settled=service.settle_pending(session=session, actor=actor, pending_in=body))
