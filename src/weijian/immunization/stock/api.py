"""JSON routes of vaccination points, vaccine lots and stock under /api/v1. A point outside the caller's scope
answers 403 (stock is no resident record: its points are no secret)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from weijian.accounts.deps import ActorDep, require
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.bounds import BoundedDate, Id64
from weijian.core.web import SessionDep
from weijian.immunization.stock import queries, service
from weijian.immunization.stock.schemas import (
    AdjustmentCreate,
    FlagOut,
    LotCreate,
    LotOut,
    MovementOut,
    PointCreate,
    PointOut,
    ReceiptCreate,
    StockOut,
    TransferCreate,
    WastageCreate,
)

router = APIRouter(prefix="/api/v1", tags=["immunization: stock"])
StockKeeper = Depends(require("stock:manage"))


def kept_point(point_id: Id64, session: SessionDep, actor: Actor = StockKeeper) -> int:
    """The path's point, when the caller keeps its stock: a point outside their scope is refused (403) before
    the body is read, as it was when the service parsed the body itself."""
    return queries.managed_point(session=session, point_id=point_id, actor=actor).id


KeptPoint = Annotated[int, Depends(kept_point)]


# --- points and lots ----------------------------------------------------------------------------
@router.get("/immunization/points", response_model=list[PointOut])
def list_points(session: SessionDep, actor: ActorDep) -> list[PointOut]:
    mine = {p.id for p in queries.managed_points(session=session, actor=actor)}
    return [PointOut.of(p, p.id in mine) for p in queries.list_points(session=session)]


@router.post("/immunization/points", response_model=PointOut, status_code=201)
def create_point(body: PointCreate, session: SessionDep, actor: Actor = StockKeeper) -> PointOut:
    return PointOut.of(service.create_point(session=session, point_in=body, actor=actor), True)


@router.get("/immunization/lots", response_model=list[LotOut])
def list_lots(session: SessionDep, actor: ActorDep,
              vaccine: str | None = Query(None, max_length=16)) -> list[LotOut]:
    return [LotOut.of(lot) for lot in queries.list_lots(session=session, vaccine=vaccine)]


@router.post("/immunization/lots", response_model=LotOut, status_code=201)
def create_lot(body: LotCreate, session: SessionDep, actor: Actor = StockKeeper) -> LotOut:
    return LotOut.of(service.create_lot(session=session, lot_in=body, actor=actor))


# --- stock --------------------------------------------------------------------------------------
@router.get("/immunization/stock", response_model=StockOut)
def all_stock(session: SessionDep, actor: Actor = StockKeeper) -> StockOut:
    """Every point the caller keeps stock for (county roles: the whole county), with totals per vaccine."""
    return StockOut.of(queries.balances(session=session, actor=actor), None, clock.today())


@router.get("/immunization/points/{point_id}/stock", response_model=StockOut)
def point_stock(point_id: Id64, session: SessionDep, actor: Actor = StockKeeper) -> StockOut:
    return StockOut.of(queries.balances(session=session, actor=actor, point_id=point_id), point_id, clock.today())


@router.get("/immunization/points/{point_id}/flags", response_model=list[FlagOut])
def point_flags(point_id: Id64, session: SessionDep, actor: Actor = StockKeeper,
                today: BoundedDate | None = None) -> list[FlagOut]:
    point = queries.managed_point(session=session, point_id=point_id, actor=actor)
    return [FlagOut.of(f) for f in queries.flags(session=session, point_id=point.id, today=today)]


@router.get("/immunization/points/{point_id}/movements", response_model=list[MovementOut])
def point_movements(point_id: Id64, session: SessionDep, actor: Actor = StockKeeper,
                    limit: int = Query(50, ge=1, le=500)) -> list[MovementOut]:
    return [MovementOut.of(m) for m in queries.movements(session=session, actor=actor, point_id=point_id,
                                                          limit=limit)]


@router.get("/immunization/points/{point_id}/suggested-lot", response_model=LotOut | None)
def suggested_lot(point_id: Id64, session: SessionDep, actor: Actor = Depends(require("immunization:write")),
                  vaccine: str = Query(..., max_length=16), on: BoundedDate | None = None) -> LotOut | None:
    point = queries.get_point(session=session, point_id=point_id)
    lot = queries.suggest_lot(session=session, point_id=point.id, vaccine=vaccine, on=on or clock.today())
    return LotOut.of(lot) if lot else None


@router.post("/immunization/points/{point_id}/receipts", response_model=MovementOut, status_code=201)
def receive(point_id: KeptPoint, body: ReceiptCreate, session: SessionDep, actor: Actor = StockKeeper) -> MovementOut:
    return MovementOut.of(service.receive(session=session, point_id=point_id, receipt_in=body, actor=actor))


@router.post("/immunization/points/{point_id}/wastage", response_model=MovementOut, status_code=201)
def waste(point_id: KeptPoint, body: WastageCreate, session: SessionDep, actor: Actor = StockKeeper) -> MovementOut:
    return MovementOut.of(service.waste(session=session, point_id=point_id, wastage_in=body, actor=actor))


@router.post("/immunization/points/{point_id}/transfers", response_model=list[MovementOut], status_code=201)
def transfer(point_id: KeptPoint, body: TransferCreate, session: SessionDep,
             actor: Actor = StockKeeper) -> list[MovementOut]:
    out, into = service.transfer(session=session, from_point=point_id, transfer_in=body, actor=actor)
    return [MovementOut.of(out), MovementOut.of(into)]


@router.post("/immunization/points/{point_id}/adjustments", response_model=MovementOut, status_code=201)
def adjust(point_id: KeptPoint, body: AdjustmentCreate, session: SessionDep, actor: Actor = StockKeeper) -> MovementOut:
    return MovementOut.of(service.adjust(session=session, point_id=point_id, adjustment_in=body, actor=actor))
