"""JSON routes of vaccine stock under /api/v1 (points, lots, balances, movements); a point outside the
caller's scope answers 403. The vaccination records' routes are in immunization.records.api."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from weijian.accounts.deps import ActorDep, require
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.bounds import BoundedDate, Id64
from weijian.core.web import SessionDep
from weijian.immunization import stock
from weijian.immunization.records_schemas import (
    AdjustmentIn,
    FlagOut,
    LotIn,
    LotOut,
    MovementOut,
    PointIn,
    PointOut,
    ReceiptIn,
    StockOut,
    TransferIn,
    WastageIn,
)

router = APIRouter(prefix="/api/v1", tags=["immunization: stock"])


# --- points and lots ----------------------------------------------------------------------------
@router.get("/immunization/points", response_model=list[PointOut])
def list_points(session: SessionDep, actor: ActorDep) -> list[PointOut]:
    mine = {p.id for p in stock.managed_points(session=session, actor=actor)}
    return [PointOut.of(p, p.id in mine) for p in stock.list_points(session=session)]


@router.post("/immunization/points", response_model=PointOut, status_code=201)
def create_point(body: PointIn, session: SessionDep, actor: Actor = Depends(require("stock:manage"))) -> PointOut:
    return PointOut.of(stock.create_point(session=session, actor=actor, **body.model_dump()), True)


@router.get("/immunization/lots", response_model=list[LotOut])
def list_lots(session: SessionDep, actor: ActorDep,
              vaccine: str | None = Query(None, max_length=16)) -> list[LotOut]:
    return [LotOut.of(lot) for lot in stock.list_lots(session=session, vaccine=vaccine)]


@router.post("/immunization/lots", response_model=LotOut, status_code=201)
def create_lot(body: LotIn, session: SessionDep, actor: Actor = Depends(require("stock:manage"))) -> LotOut:
    return LotOut.of(stock.create_lot(session=session, values=body.model_dump(), actor=actor))


# --- stock --------------------------------------------------------------------------------------
@router.get("/immunization/stock", response_model=StockOut)
def all_stock(session: SessionDep, actor: Actor = Depends(require("stock:manage"))) -> StockOut:
    """Every point the caller keeps stock for (county roles: the whole county), with totals per vaccine."""
    return StockOut.of(stock.balances(session=session, actor=actor), None, clock.today())


@router.get("/immunization/points/{point_id}/stock", response_model=StockOut)
def point_stock(point_id: Id64, session: SessionDep, actor: Actor = Depends(require("stock:manage"))) -> StockOut:
    return StockOut.of(stock.balances(session=session, actor=actor, point_id=point_id), point_id, clock.today())


@router.get("/immunization/points/{point_id}/flags", response_model=list[FlagOut])
def point_flags(point_id: Id64, session: SessionDep, actor: Actor = Depends(require("stock:manage")),
                today: BoundedDate | None = None) -> list[FlagOut]:
    point = stock.managed_point(session=session, point_id=point_id, actor=actor)
    return [FlagOut.of(f) for f in stock.flags(session=session, point_id=point.id, today=today)]


@router.get("/immunization/points/{point_id}/movements", response_model=list[MovementOut])
def point_movements(point_id: Id64, session: SessionDep, actor: Actor = Depends(require("stock:manage")),
                    limit: int = Query(50, ge=1, le=500)) -> list[MovementOut]:
    return [MovementOut.of(m) for m in stock.movements(session=session, actor=actor, point_id=point_id, limit=limit)]


@router.get("/immunization/points/{point_id}/suggested-lot", response_model=LotOut | None)
def suggested_lot(point_id: Id64, session: SessionDep, actor: Actor = Depends(require("immunization:write")),
                  vaccine: str = Query(..., max_length=16), on: BoundedDate | None = None) -> LotOut | None:
    point = stock.get_point(session=session, point_id=point_id)
    lot = stock.suggest_lot(session=session, point_id=point.id, vaccine=vaccine, on=on or clock.today())
    return LotOut.of(lot) if lot else None


@router.post("/immunization/points/{point_id}/receipts", response_model=MovementOut, status_code=201)
def receive(point_id: Id64, body: ReceiptIn, session: SessionDep,
            actor: Actor = Depends(require("stock:manage"))) -> MovementOut:
    lot = body.lot.model_dump() if body.lot is not None and body.lot_id in (None, "") else body.lot_id
    return MovementOut.of(stock.receive(session=session, point_id=point_id, lot=lot, quantity=body.quantity,
                                        actor=actor, at=body.at, note=body.note))


@router.post("/immunization/points/{point_id}/wastage", response_model=MovementOut, status_code=201)
def waste(point_id: Id64, body: WastageIn, session: SessionDep,
          actor: Actor = Depends(require("stock:manage"))) -> MovementOut:
    return MovementOut.of(stock.waste(session=session, point_id=point_id, actor=actor, **body.model_dump()))


@router.post("/immunization/points/{point_id}/transfers", response_model=list[MovementOut], status_code=201)
def transfer(point_id: Id64, body: TransferIn, session: SessionDep,
             actor: Actor = Depends(require("stock:manage"))) -> list[MovementOut]:
    out, into = stock.transfer(session=session, from_point=point_id, actor=actor, **body.model_dump())
    return [MovementOut.of(out), MovementOut.of(into)]


@router.post("/immunization/points/{point_id}/adjustments", response_model=MovementOut, status_code=201)
def adjust(point_id: Id64, body: AdjustmentIn, session: SessionDep,
           actor: Actor = Depends(require("stock:manage"))) -> MovementOut:
    return MovementOut.of(stock.adjust(session=session, point_id=point_id, actor=actor, **body.model_dump()))
