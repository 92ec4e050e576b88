"""Writes of vaccine stock at the vaccination points (接种点): points, lots, receipts, doses used, wastage,
transfers between points and adjustments. Each takes its command from stock.schemas (STYLE 14); the checks
that need the database (the point, the lot, the balance) are made here.

Stock is counted in doses, per point and lot. Every change updates one StockBalance row and writes one
StockMovement (signed: + into the point, − out of it), in the caller's transaction. A balance never goes
below zero: the service checks first and names `quantity` (or the caller's field); the decrement itself is
a guarded UPDATE (`... WHERE quantity >= n`) whose row count is checked, so two concurrent uses of the last
dose cannot both succeed; the table's CHECK (quantity >= 0) is the last line.

Who: stock changes need `stock:manage` and a point in the actor's scope (stock.queries.managed_point).
Stock is no resident record: it is not audited, the movements are its history (with who recorded each).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import ErrorCollector, InvalidInput
from weijian.immunization.models import StockBalance, StockMovement, VaccinationPoint, VaccineLot
from weijian.immunization.stock import queries
from weijian.immunization.stock.schemas import (
    AdjustmentCreate,
    LotCreate,
    PointCreate,
    ReceiptCreate,
    TransferCreate,
    WastageCreate,
)
from weijian.orgunits import service as orgunits_service

_E = "immunization.records.errors."
KINDS = ("receipt", "use", "wastage", "transfer_out", "transfer_in", "adjustment")
FUTURE_SLACK = timedelta(minutes=10)  # a clock a little ahead is no movement in the future


# --- points ---------------------------------------------------------------------------------------
def create_point(*, session: Session, point_in: PointCreate, actor: Actor) -> VaccinationPoint:
    """Make a facility a vaccination point. It serves the facility's own org unit unless told otherwise."""
    actor.require("stock:manage")
    errs = ErrorCollector()
    facility = orgunits_service.get_facility(session=session, facility_id=point_in.facility_id)
    if facility is None:
        errs.add("facility_id", "orgunits.errors.facility_not_found", facility_id=point_in.facility_id)
    serves = point_in.serves_orgunit_code or (facility.orgunit_code if facility else None)
    if serves and orgunits_service.get(session=session, code=serves) is None:
        errs.add("serves_orgunit_code", "orgunits.errors.orgunit_not_found", code=serves)
    elif serves and not orgunits_service.in_scope(scope_code=actor.scope_code, code=serves):
        errs.add("serves_orgunit_code", _E + "point_area_out_of_scope")
    if facility is not None and queries.point_of_facility(session=session, facility_id=facility.id) is not None:
        errs.add("facility_id", _E + "point_exists")
    errs.raise_if_any()
    point = VaccinationPoint(facility_id=facility.id, name=point_in.name or facility.name, serves_orgunit_code=serves,
                             active=True, min_days_of_stock=point_in.min_days_of_stock)
    session.add(point)
    session.flush()
    return point


# --- lots -----------------------------------------------------------------------------------------
def create_lot(*, session: Session, lot_in: LotCreate, actor: Actor) -> VaccineLot:
    """Find or create a lot: vaccine (a schedule vaccine code), product, manufacturer, lot number, expiry
    date (and doses per vial, default 1). The same vaccine, maker and lot number is the same lot: found
    again, it must carry the same expiry date."""
    actor.require("stock:manage")
    return _find_or_create_lot(session, lot_in)


def _find_or_create_lot(session: Session, lot_in: LotCreate) -> VaccineLot:
    lot = queries.find_lot(session=session, vaccine=lot_in.vaccine, manufacturer=lot_in.manufacturer,
                           lot_number=lot_in.lot_number)
    if lot is not None:
        if lot.expiry_date != lot_in.expiry_date:
            raise InvalidInput("expiry_date", _E + "lot_expiry_differs", expiry=lot.expiry_date.isoformat())
        return lot
    lot = VaccineLot(**lot_in.model_dump())
    session.add(lot)
    session.flush()
    return lot


# --- balances: the only code that changes them ----------------------------------------------------
def _add(session: Session, point_id: int, lot_id: int, n: int) -> None:
    bumped: CursorResult[Any] = session.execute(  # type: ignore[assignment]  # an UPDATE: a CursorResult
        update(StockBalance).where(StockBalance.point_id == point_id, StockBalance.lot_id == lot_id)
        .values(quantity=StockBalance.quantity + n).execution_options(synchronize_session=False))
    if bumped.rowcount:
        return
    try:
        with session.begin_nested():
            session.execute(insert(StockBalance).values(point_id=point_id, lot_id=lot_id, quantity=n))
    except IntegrityError:  # another transaction made the row between our UPDATE and INSERT
        session.execute(
            update(StockBalance).where(StockBalance.point_id == point_id, StockBalance.lot_id == lot_id)
            .values(quantity=StockBalance.quantity + n).execution_options(synchronize_session=False))


def take(session: Session, point_id: int, lot_id: int, n: int, *, field: str = "quantity") -> None:
    """Remove n doses, or InvalidInput naming `field` when the point has fewer. The UPDATE only matches a
    row holding at least n: of two transactions racing for the last dose, the second matches nothing."""
    available = queries.balance(session=session, point_id=point_id, lot_id=lot_id)
    if available < n:
        raise InvalidInput(field, _E + "stock_insufficient", available=available, requested=n)
    _guarded_take(session, point_id, lot_id, n, field)


def _guarded_take(session: Session, point_id: int, lot_id: int, n: int, field: str) -> None:
    taken: CursorResult[Any] = session.execute(  # type: ignore[assignment]  # an UPDATE: a CursorResult
        update(StockBalance)
        .where(StockBalance.point_id == point_id, StockBalance.lot_id == lot_id, StockBalance.quantity >= n)
        .values(quantity=StockBalance.quantity - n).execution_options(synchronize_session=False))
    if taken.rowcount != 1:
        raise InvalidInput(field, _E + "stock_insufficient",
                           available=queries.balance(session=session, point_id=point_id, lot_id=lot_id), requested=n)


def _movement(session: Session, *, point_id: int, lot_id: int, kind: str, quantity: int, at: datetime,
              actor: Actor, vaccination_id: int | None = None, counterpart_point_id: int | None = None,
              note: str | None = None) -> StockMovement:
    m = StockMovement(point_id=point_id, lot_id=lot_id, kind=kind, quantity=quantity, at=at,
                      vaccination_id=vaccination_id, counterpart_point_id=counterpart_point_id, note=note,
                      recorded_by=actor.username)
    session.add(m)
    return m


def use_dose(*, session: Session, point_id: int, lot_id: int, vaccination_id: int, at: datetime,
             actor: Actor) -> StockMovement:
    """One dose given (records.record_vaccination calls this in its own transaction, after checking the
    balance): refused naming `lot_id` when the point holds none of the lot by now."""
    _guarded_take(session, point_id, lot_id, 1, "lot_id")
    m = _movement(session, point_id=point_id, lot_id=lot_id, kind="use", quantity=-1, at=at, actor=actor,
                  vaccination_id=vaccination_id)
    session.flush()
    return m


def _when(at: datetime | None, errs: ErrorCollector) -> datetime:
    if at is not None and at > clock.now() + FUTURE_SLACK:
        errs.add("at", _E + "at_future")
    return at or clock.now()


def _checked_lot(session: Session, lot_id: int, errs: ErrorCollector) -> VaccineLot | None:
    try:
        return queries.get_lot(session=session, lot_id=lot_id)
    except InvalidInput as exc:
        errs.extend(exc)
        return None


# --- movements ------------------------------------------------------------------------------------
def receive(*, session: Session, point_id: int, receipt_in: ReceiptCreate, actor: Actor) -> StockMovement:
    """Doses of a lot received at a point (from the county CDC, usually): an existing lot (`lot_id`) or the
    lot's fields (found or created). An expired lot is refused."""
    point = queries.managed_point(session=session, point_id=point_id, actor=actor)
    errs = ErrorCollector()
    the_lot, expiry, expiry_field = None, None, "lot_id"
    if receipt_in.lot_id is not None:
        the_lot = _checked_lot(session, receipt_in.lot_id, errs)
        expiry = the_lot.expiry_date if the_lot is not None else None
    elif receipt_in.lot is not None:
        expiry, expiry_field = receipt_in.lot.expiry_date, "expiry_date"
    else:
        errs.add("lot_id", "core.errors.validation.missing")
    when = _when(receipt_in.at, errs)
    if expiry is not None and expiry < clock.local_date(when):
        errs.add(expiry_field, _E + "lot_expired", expiry=expiry.isoformat())
    errs.raise_if_any()
    if the_lot is None:
        the_lot = _find_or_create_lot(session, receipt_in.lot)
    _add(session, point.id, the_lot.id, receipt_in.quantity)
    m = _movement(session, point_id=point.id, lot_id=the_lot.id, kind="receipt", quantity=receipt_in.quantity,
                  at=when, actor=actor, note=receipt_in.note)
    session.flush()
    return m


def waste(*, session: Session, point_id: int, wastage_in: WastageCreate, actor: Actor) -> StockMovement:
    """Doses lost (expired, broken, an opened vial's rest, cold-chain failure, recalled). The note keeps the
    reason code first (`expired` or `expired: text`)."""
    point = queries.managed_point(session=session, point_id=point_id, actor=actor)
    errs = ErrorCollector()
    when = _when(wastage_in.at, errs)
    the_lot = _checked_lot(session, wastage_in.lot_id, errs)
    errs.raise_if_any()
    n, code, text = wastage_in.quantity, wastage_in.reason, wastage_in.note
    take(session, point.id, the_lot.id, n)
    m = _movement(session, point_id=point.id, lot_id=the_lot.id, kind="wastage", quantity=-n, at=when, actor=actor,
                  note=f"{code}: {text}" if text else code)
    session.flush()
    return m


def transfer(*, session: Session, from_point: int, transfer_in: TransferCreate,
             actor: Actor) -> tuple[StockMovement, StockMovement]:
    """Doses sent from one point to another: two movements (out, in) in one transaction. The sender must be
    a point the actor keeps stock for; the receiver any other active point."""
    source = queries.managed_point(session=session, point_id=from_point, actor=actor)
    errs = ErrorCollector()
    target = session.get(VaccinationPoint, transfer_in.to_point)
    if target is None or not target.active:
        errs.add("to_point", _E + "point_unknown", point_id=transfer_in.to_point)
    elif target.id == source.id:
        errs.add("to_point", _E + "transfer_same_point")
    when = _when(transfer_in.at, errs)
    the_lot = _checked_lot(session, transfer_in.lot_id, errs)
    errs.raise_if_any()
    n, text = transfer_in.quantity, transfer_in.note
    take(session, source.id, the_lot.id, n)
    _add(session, target.id, the_lot.id, n)
    out = _movement(session, point_id=source.id, lot_id=the_lot.id, kind="transfer_out", quantity=-n, at=when,
                    actor=actor, counterpart_point_id=target.id, note=text)
    into = _movement(session, point_id=target.id, lot_id=the_lot.id, kind="transfer_in", quantity=n, at=when,
                     actor=actor, counterpart_point_id=source.id, note=text)
    session.flush()
    return out, into


def adjust(*, session: Session, point_id: int, adjustment_in: AdjustmentCreate, actor: Actor) -> StockMovement:
    """A correction after a count (signed: +3 found, −2 missing); the reason is required. A correction
    below zero is refused like any other removal."""
    point = queries.managed_point(session=session, point_id=point_id, actor=actor)
    errs = ErrorCollector()
    when = _when(adjustment_in.at, errs)
    the_lot = _checked_lot(session, adjustment_in.lot_id, errs)
    errs.raise_if_any()
    n = adjustment_in.quantity
    if n < 0:
        take(session, point.id, the_lot.id, -n)
    else:
        _add(session, point.id, the_lot.id, n)
    m = _movement(session, point_id=point.id, lot_id=the_lot.id, kind="adjustment", quantity=n, at=when, actor=actor,
                  note=adjustment_in.reason)
    session.flush()
    return m
