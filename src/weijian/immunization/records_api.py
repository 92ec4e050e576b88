"""JSON routes of vaccination records, AEFI and vaccine stock under /api/v1. A child outside the caller's
scope answers 404, exactly as a missing one; a point outside it 403."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from weijian.accounts.deps import ActorDep, require
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.bounds import BoundedDate, Id64
from weijian.core.disclosure import disclosure_for
from weijian.core.web import SessionDep, SettingsDep, request_locale
from weijian.immunization import records, stock
from weijian.immunization.records_schemas import (
    AdjustmentIn,
    AefiIn,
    AefiOut,
    ChildRecordOut,
    FlagOut,
    HistoricalIn,
    LotIn,
    LotOut,
    MovementOut,
    PointIn,
    PointOut,
    ReceiptIn,
    RefusalIn,
    RefusalOut,
    StockOut,
    TransferIn,
    VaccinationIn,
    VaccinationOut,
    WastageIn,
)

router = APIRouter(prefix="/api/v1", tags=["immunization: records and stock"])


# --- vaccinations -------------------------------------------------------------------------------
@router.post("/immunization/vaccinations", response_model=VaccinationOut, status_code=201)
def record_vaccination(body: VaccinationIn, request: Request, session: SessionDep,
                       actor: Actor = Depends(require("immunization:write"))) -> VaccinationOut:
    values = body.model_dump()
    if not values.get("given_at"):
        values["given_at"] = clock.now()
    v = records.record_vaccination(session=session, actor=actor, **values)
    return VaccinationOut.of(v, request_locale(request))


@router.post("/immunization/vaccinations/historical", response_model=VaccinationOut, status_code=201)
def record_historical(body: HistoricalIn, request: Request, session: SessionDep,
                      actor: Actor = Depends(require("immunization:write"))) -> VaccinationOut:
    v = records.record_historical(session=session, actor=actor, **body.model_dump())
    return VaccinationOut.of(v, request_locale(request))


@router.get("/immunization/vaccinations/{vaccination_id}", response_model=VaccinationOut)
def read_vaccination(vaccination_id: Id64, request: Request, session: SessionDep,
                     actor: Actor = Depends(require("immunization:read"))) -> VaccinationOut:
    v, _child = records.get_vaccination(session=session, vaccination_id=vaccination_id, actor=actor)
    return VaccinationOut.of(v, request_locale(request))


@router.get("/residents/{resident_id}/vaccinations", response_model=ChildRecordOut)
def child_record(resident_id: Id64, request: Request, session: SessionDep, settings: SettingsDep,
                 actor: Actor = Depends(require("immunization:read")),
                 as_of: BoundedDate | None = None) -> ChildRecordOut:
    schedule = records.child_schedule(session=session, resident_id=resident_id, actor=actor, as_of=as_of,
                                      overdue_rule=settings.immunization_overdue_rule)
    return ChildRecordOut.of(schedule, request_locale(request), disclosure=disclosure_for(actor))


@router.post("/immunization/refusals", response_model=RefusalOut, status_code=201)
def record_refusal(body: RefusalIn, session: SessionDep,
                   actor: Actor = Depends(require("immunization:write"))) -> RefusalOut:
    return RefusalOut.of(records.record_refusal(session=session, actor=actor, **body.model_dump()))


# --- AEFI ---------------------------------------------------------------------------------------
@router.post("/immunization/aefi", response_model=AefiOut, status_code=201)
def report_aefi(body: AefiIn, session: SessionDep, actor: Actor = Depends(require("immunization:write"))) -> AefiOut:
    return AefiOut.of(records.report_aefi(session=session, actor=actor, **body.model_dump()))


@router.get("/immunization/aefi", response_model=list[AefiOut])
def list_aefi(session: SessionDep, actor: Actor = Depends(require("aefi:read")),
              period: str | None = Query(None, max_length=7, description="2025, 2025Q1 or 202503 (onset)")
              ) -> list[AefiOut]:
    return [AefiOut.of_row(r) for r in records.list_aefi(session=session, actor=actor, period=period)]


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
