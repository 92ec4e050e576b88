"""Vaccine stock at the vaccination points (接种点): lots, receipts, doses used, wastage, transfers between
points and adjustments; the first-expiry-first-out (FEFO) suggestion and the flags (lots expiring within 30
days, stock below the point's days of use).

Stock is counted in doses, per point and lot. Every change updates one StockBalance row and writes one
StockMovement (signed: + into the point, − out of it), in the caller's transaction. A balance never goes
below zero: the service checks first and names `quantity` (or the caller's field); the decrement itself is
a guarded UPDATE (`... WHERE quantity >= n`) whose row count is checked, so two concurrent uses of the last
dose cannot both succeed; the table's CHECK (quantity >= 0) is the last line.

Who: stock changes and stock pages need `stock:manage` and a point in the actor's scope (the area it
serves lies inside the actor's org unit, or it is the actor's own facility). Points and lots are no
personal data: any logged-in user may list them. Stock is no resident record: it is not audited, the
movements are its history (with who recorded each).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, CursorResult, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.bounds import MAX_DATE, MIN_DATE, date_in_range
from weijian.core.errors import ErrorCollector, Forbidden, InvalidInput, NotFound
from weijian.core.identifiers import division_level
from weijian.core.values import parse_date
from weijian.immunization.models import StockBalance, StockMovement, VaccinationPoint, VaccineLot
from weijian.immunization.schedule.rules import VACCINE_CODES
from weijian.orgunits import service as orgunits_service

_E = "immunization.records.errors."
EXPIRING_DAYS = 30  # a lot expiring within this many days is flagged
RED_DAYS = 7  # ... in red from this many days before its expiry (amber before)
USE_WINDOW_DAYS = 30  # average daily use is taken over this many days, ending today
MAX_QUANTITY = 1_000_000  # doses in one movement: more is a typing error
MAX_MIN_DAYS = 365
KINDS = ("receipt", "use", "wastage", "transfer_out", "transfer_in", "adjustment")
WASTAGE_REASONS = ("expired", "broken", "opened_vial", "cold_chain", "recalled", "other")
LOT_TEXT_MAX = {"product": 100, "manufacturer": 100, "lot_number": 50}
NOTE_MAX = 200


# --- values (forms send strings, the API typed values) ---------------------------------------------
def parse_int(raw: Any, name: str, errs: ErrorCollector, *, required: bool = True) -> int | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            errs.add(name, "core.errors.validation.missing")
        return None
    if isinstance(raw, bool):
        errs.add(name, "core.errors.validation.int_parsing")
        return None
    if isinstance(raw, int):
        return raw
    try:
        return int(str(raw).strip())
    except ValueError:
        errs.add(name, "core.errors.validation.int_parsing")
        return None


def parse_datetime(raw: Any, name: str, errs: ErrorCollector, *, required: bool = True) -> datetime | None:
    """A moment: a datetime or ISO text (`2025-06-01T09:30`, `2025-06-01 09:30`, with or without an offset);
    without an offset it is county time. A bare date means that day at noon (the time unknown)."""
    if isinstance(raw, datetime):
        return raw if raw.tzinfo else raw.replace(tzinfo=clock.zone())
    if isinstance(raw, date):
        return datetime.combine(raw, time(12), tzinfo=clock.zone())
    text = str(raw or "").strip()
    if not text:
        if required:
            errs.add(name, "core.errors.validation.missing")
        return None
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(12), tzinfo=clock.zone())
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        errs.add(name, "immunization.records.errors.datetime_format")
        return None
    if not date_in_range(value.date()):
        errs.add(name, "core.errors.validation.date_out_of_range", min=MIN_DATE.isoformat(), max=MAX_DATE.isoformat())
        return None
    return value if value.tzinfo else value.replace(tzinfo=clock.zone())


def parse_text(raw: Any, name: str, errs: ErrorCollector, max_length: int, *, required: bool = False) -> str | None:
    text = str(raw or "").strip()
    if not text:
        if required:
            errs.add(name, "core.errors.validation.missing")
        return None
    if len(text) > max_length:
        errs.add(name, "core.errors.validation.string_too_long", max_length=max_length)
        return None
    return text


def _quantity(raw: Any, errs: ErrorCollector, name: str = "quantity", *, signed: bool = False) -> int | None:
    n = parse_int(raw, name, errs)
    if n is None:
        return None
    if signed:
        if n == 0:
            errs.add(name, _E + "quantity_zero")
            return None
    elif n < 1:
        errs.add(name, "core.errors.validation.greater_than_equal", ge=1)
        return None
    if abs(n) > MAX_QUANTITY:
        errs.add(name, "core.errors.validation.less_than_equal", le=MAX_QUANTITY)
        return None
    return n


# --- points ---------------------------------------------------------------------------------------
def is_county_level(actor: Actor) -> bool:
    return actor.scope_code is None or division_level(actor.scope_code) == "county"


def _manageable(actor: Actor) -> ColumnElement[bool]:
    """Points an actor may keep stock for: serving an area inside the actor's scope, or at their facility."""
    cond = orgunits_service.scope_condition(VaccinationPoint.serves_orgunit_code, actor)
    if actor.facility_id is not None and actor.scope_code is not None:
        cond = or_(cond, VaccinationPoint.facility_id == actor.facility_id)
    return cond


def list_points(*, session: Session, active_only: bool = True) -> list[VaccinationPoint]:
    """Every vaccination point of the installation (no personal data), by name."""
    stmt = select(VaccinationPoint).order_by(VaccinationPoint.serves_orgunit_code, VaccinationPoint.id)
    if active_only:
        stmt = stmt.where(VaccinationPoint.active.is_(True))
    return list(session.scalars(stmt))


def managed_points(*, session: Session, actor: Actor) -> list[VaccinationPoint]:
    """The active points whose stock the actor keeps (empty without `stock:manage`)."""
    if not actor.can("stock:manage"):
        return []
    return list(session.scalars(select(VaccinationPoint).where(VaccinationPoint.active.is_(True), _manageable(actor))
                                .order_by(VaccinationPoint.serves_orgunit_code, VaccinationPoint.id)))


def get_point(*, session: Session, point_id: Any, field: str = "point_id") -> VaccinationPoint:
    errs = ErrorCollector()
    pid = parse_int(point_id, field, errs)
    errs.raise_if_any()
    point = session.get(VaccinationPoint, pid)
    if point is None:
        raise NotFound(_E + "point_not_found", point_id=pid)
    return point


def managed_point(*, session: Session, point_id: Any, actor: Actor, field: str = "point_id") -> VaccinationPoint:
    """A point the actor keeps stock for: Forbidden when it lies outside their scope."""
    actor.require("stock:manage")
    point = get_point(session=session, point_id=point_id, field=field)
    if session.scalar(select(VaccinationPoint.id).where(VaccinationPoint.id == point.id, _manageable(actor))) is None:
        raise Forbidden(_E + "point_out_of_scope", point=point.name)
    return point


def point_of_facility(*, session: Session, facility_id: int | None) -> VaccinationPoint | None:
    if facility_id is None:
        return None
    return session.scalar(select(VaccinationPoint).where(VaccinationPoint.facility_id == facility_id,
                                                         VaccinationPoint.active.is_(True)))


def create_point(*, session: Session, facility_id: Any, actor: Actor, name: str | None = None,
                 serves_orgunit_code: str | None = None, min_days_of_stock: Any = 14) -> VaccinationPoint:
    """Make a facility a vaccination point. It serves the facility's own org unit unless told otherwise."""
    actor.require("stock:manage")
    errs = ErrorCollector()
    fid = parse_int(facility_id, "facility_id", errs)
    min_days = parse_int(min_days_of_stock, "min_days_of_stock", errs)
    if min_days is not None and not 1 <= min_days <= MAX_MIN_DAYS:
        errs.add("min_days_of_stock", "core.errors.validation.less_than_equal", le=MAX_MIN_DAYS)
    facility = orgunits_service.get_facility(session=session, facility_id=fid) if fid is not None else None
    if fid is not None and facility is None:
        errs.add("facility_id", "orgunits.errors.facility_not_found", facility_id=fid)
    serves = (serves_orgunit_code or "").strip() or (facility.orgunit_code if facility else None)
    if serves and orgunits_service.get(session=session, code=serves) is None:
        errs.add("serves_orgunit_code", "orgunits.errors.orgunit_not_found", code=serves)
    elif serves and not orgunits_service.in_scope(scope_code=actor.scope_code, code=serves):
        errs.add("serves_orgunit_code", _E + "point_area_out_of_scope")
    if facility is not None and point_of_facility(session=session, facility_id=facility.id) is not None:
        errs.add("facility_id", _E + "point_exists")
    clean_name = parse_text(name, "name", errs, 100) or (facility.name if facility else None)
    errs.raise_if_any()
    point = VaccinationPoint(facility_id=facility.id, name=clean_name, serves_orgunit_code=serves, active=True,
                             min_days_of_stock=min_days)
    session.add(point)
    session.flush()
    return point


# --- lots -----------------------------------------------------------------------------------------
def get_lot(*, session: Session, lot_id: Any, field: str = "lot_id") -> VaccineLot:
    """A lot by id; InvalidInput naming `field` when there is none (a lot is chosen in a form)."""
    errs = ErrorCollector()
    lid = parse_int(lot_id, field, errs)
    errs.raise_if_any()
    lot = session.get(VaccineLot, lid)
    if lot is None:
        raise InvalidInput(field, _E + "lot_unknown", lot_id=lid)
    return lot


def find_lot(*, session: Session, vaccine: str, manufacturer: str, lot_number: str) -> VaccineLot | None:
    return session.scalar(select(VaccineLot).where(VaccineLot.vaccine == vaccine,
                                                   VaccineLot.manufacturer == manufacturer.strip(),
                                                   VaccineLot.lot_number == lot_number.strip()))


def list_lots(*, session: Session, vaccine: str | None = None) -> list[VaccineLot]:
    stmt = select(VaccineLot).order_by(VaccineLot.vaccine, VaccineLot.expiry_date, VaccineLot.id)
    if vaccine:
        stmt = stmt.where(VaccineLot.vaccine == vaccine)
    return list(session.scalars(stmt))


def validate_vaccine(raw: Any, errs: ErrorCollector, name: str = "vaccine") -> str | None:
    code = str(raw or "").strip()
    if not code:
        errs.add(name, "core.errors.validation.missing")
        return None
    if code not in VACCINE_CODES:
        errs.add(name, _E + "vaccine_unknown", vaccine=code, allowed=", ".join(VACCINE_CODES))
        return None
    return code


def _lot_values(values: dict[str, Any], errs: ErrorCollector) -> dict[str, Any]:
    out: dict[str, Any] = {"vaccine": validate_vaccine(values.get("vaccine"), errs)}
    out.update({k: parse_text(values.get(k), k, errs, n, required=True) for k, n in LOT_TEXT_MAX.items()})
    out["expiry_date"] = parse_date(values.get("expiry_date"), "expiry_date", errs)
    per_vial = parse_int(values.get("doses_per_vial") or 1, "doses_per_vial", errs)
    if per_vial is not None and not 1 <= per_vial <= 50:
        errs.add("doses_per_vial", "core.errors.validation.less_than_equal", le=50)
    out["doses_per_vial"] = per_vial
    return out


def create_lot(*, session: Session, values: dict[str, Any], actor: Actor) -> VaccineLot:
    """Find or create a lot: vaccine (a schedule vaccine code), product, manufacturer, lot number, expiry
    date (and doses per vial, default 1). The same vaccine, maker and lot number is the same lot: found
    again, it must carry the same expiry date."""
    actor.require("stock:manage")
    errs = ErrorCollector()
    clean = _lot_values(values, errs)
    errs.raise_if_any()
    return _find_or_create_lot(session, clean)


def _find_or_create_lot(session: Session, clean: dict[str, Any]) -> VaccineLot:
    lot = find_lot(session=session, vaccine=clean["vaccine"], manufacturer=clean["manufacturer"],
                   lot_number=clean["lot_number"])
    if lot is not None:
        if lot.expiry_date != clean["expiry_date"]:
            raise InvalidInput("expiry_date", _E + "lot_expiry_differs", expiry=lot.expiry_date.isoformat())
        return lot
    lot = VaccineLot(**clean)
    session.add(lot)
    session.flush()
    return lot


def _lot_for_receipt(session: Session, lot: Any, errs: ErrorCollector) -> tuple[VaccineLot | None, dict | None, str]:
    """(an existing lot, or the validated fields of one to find or create; the field to name if it is
    expired)."""
    if isinstance(lot, VaccineLot):
        return lot, None, "lot_id"
    if isinstance(lot, dict) and lot.get("lot_id") in (None, ""):
        return None, _lot_values(lot, errs), "expiry_date"
    raw = lot.get("lot_id") if isinstance(lot, dict) else lot
    return _checked_lot(session, raw, errs), None, "lot_id"


# --- balances: the only code that changes them ----------------------------------------------------
def balance(*, session: Session, point_id: int, lot_id: int) -> int:
    return session.scalar(select(StockBalance.quantity).where(
        StockBalance.point_id == point_id, StockBalance.lot_id == lot_id)) or 0


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
    available = balance(session=session, point_id=point_id, lot_id=lot_id)
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
                           available=balance(session=session, point_id=point_id, lot_id=lot_id), requested=n)


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


def _when(raw: Any, errs: ErrorCollector) -> datetime:
    at = parse_datetime(raw, "at", errs, required=False) if raw is not None else None
    if at is not None and at > clock.now() + timedelta(minutes=10):
        errs.add("at", _E + "at_future")
    return at or clock.now()


# --- movements ------------------------------------------------------------------------------------
def receive(*, session: Session, point_id: Any, lot: Any, quantity: Any, actor: Actor, at: Any = None,
            note: str | None = None) -> StockMovement:
    """Doses of a lot received at a point (from the county CDC, usually). `lot`: a lot id, a VaccineLot, or
    the lot's fields (found or created). An expired lot is refused."""
    point = managed_point(session=session, point_id=point_id, actor=actor)
    errs = ErrorCollector()
    the_lot, fields, expiry_field = _lot_for_receipt(session, lot, errs)
    n = _quantity(quantity, errs)
    when = _when(at, errs)
    clean_note = parse_text(note, "note", errs, NOTE_MAX)
    expiry = the_lot.expiry_date if the_lot is not None else (fields or {}).get("expiry_date")
    if expiry is not None and expiry < clock.local_date(when):
        errs.add(expiry_field, _E + "lot_expired", expiry=expiry.isoformat())
    errs.raise_if_any()
    if the_lot is None:
        the_lot = _find_or_create_lot(session, fields)
    _add(session, point.id, the_lot.id, n)
    m = _movement(session, point_id=point.id, lot_id=the_lot.id, kind="receipt", quantity=n, at=when, actor=actor,
                  note=clean_note)
    session.flush()
    return m


def waste(*, session: Session, point_id: Any, lot_id: Any, quantity: Any, reason: Any, actor: Actor,
          at: Any = None, note: str | None = None) -> StockMovement:
    """Doses lost (expired, broken, an opened vial's rest, cold-chain failure, recalled). The note keeps the
    reason code first (`expired` or `expired: text`)."""
    point = managed_point(session=session, point_id=point_id, actor=actor)
    errs = ErrorCollector()
    n = _quantity(quantity, errs)
    code = str(reason or "").strip()
    if not code:
        errs.add("reason", "core.errors.validation.missing")
    elif code not in WASTAGE_REASONS:
        errs.add("reason", _E + "wastage_reason_unknown", allowed=", ".join(WASTAGE_REASONS))
    when = _when(at, errs)
    text = parse_text(note, "note", errs, NOTE_MAX - 30)
    the_lot = _checked_lot(session, lot_id, errs)
    errs.raise_if_any()
    take(session, point.id, the_lot.id, n)
    m = _movement(session, point_id=point.id, lot_id=the_lot.id, kind="wastage", quantity=-n, at=when, actor=actor,
                  note=f"{code}: {text}" if text else code)
    session.flush()
    return m


def transfer(*, session: Session, from_point: Any, to_point: Any, lot_id: Any, quantity: Any, actor: Actor,
             at: Any = None, note: str | None = None) -> tuple[StockMovement, StockMovement]:
    """Doses sent from one point to another: two movements (out, in) in one transaction. The sender must be
    a point the actor keeps stock for; the receiver any other active point."""
    source = managed_point(session=session, point_id=from_point, actor=actor, field="from_point")
    errs = ErrorCollector()
    target = None
    tid = parse_int(to_point, "to_point", errs)
    if tid is not None:
        target = session.get(VaccinationPoint, tid)
        if target is None or not target.active:
            errs.add("to_point", _E + "point_unknown", point_id=tid)
            target = None
        elif target.id == source.id:
            errs.add("to_point", _E + "transfer_same_point")
            target = None
    n = _quantity(quantity, errs)
    when = _when(at, errs)
    text = parse_text(note, "note", errs, NOTE_MAX)
    the_lot = _checked_lot(session, lot_id, errs)
    errs.raise_if_any()
    take(session, source.id, the_lot.id, n)
    _add(session, target.id, the_lot.id, n)
    out = _movement(session, point_id=source.id, lot_id=the_lot.id, kind="transfer_out", quantity=-n, at=when,
                    actor=actor, counterpart_point_id=target.id, note=text)
    into = _movement(session, point_id=target.id, lot_id=the_lot.id, kind="transfer_in", quantity=n, at=when,
                     actor=actor, counterpart_point_id=source.id, note=text)
    session.flush()
    return out, into


def adjust(*, session: Session, point_id: Any, lot_id: Any, quantity: Any, reason: Any, actor: Actor,
           at: Any = None) -> StockMovement:
    """A correction after a count (signed: +3 found, −2 missing); the reason is required. A correction
    below zero is refused like any other removal."""
    point = managed_point(session=session, point_id=point_id, actor=actor)
    errs = ErrorCollector()
    n = _quantity(quantity, errs, signed=True)
    text = parse_text(reason, "reason", errs, NOTE_MAX, required=True)
    when = _when(at, errs)
    the_lot = _checked_lot(session, lot_id, errs)
    errs.raise_if_any()
    if n < 0:
        take(session, point.id, the_lot.id, -n)
    else:
        _add(session, point.id, the_lot.id, n)
    m = _movement(session, point_id=point.id, lot_id=the_lot.id, kind="adjustment", quantity=n, at=when, actor=actor,
                  note=text)
    session.flush()
    return m


def _checked_lot(session: Session, lot_id: Any, errs: ErrorCollector) -> VaccineLot | None:
    try:
        return get_lot(session=session, lot_id=lot_id)
    except InvalidInput as exc:
        errs.extend(exc)
        return None


# --- reads ----------------------------------------------------------------------------------------
def available_lots(*, session: Session, point_id: int, vaccine: str | None, on: date) -> list[tuple[VaccineLot, int]]:
    """(lot, doses on hand) of the lots a point may give on `on` (not expired, stock > 0), first expiry
    first; all vaccines when `vaccine` is None."""
    stmt = (select(VaccineLot, StockBalance.quantity).join(StockBalance, StockBalance.lot_id == VaccineLot.id)
            .where(StockBalance.point_id == point_id, StockBalance.quantity > 0, VaccineLot.expiry_date >= on)
            .order_by(VaccineLot.vaccine, VaccineLot.expiry_date, VaccineLot.id))
    if vaccine:
        stmt = stmt.where(VaccineLot.vaccine == vaccine)
    return [(lot, qty) for lot, qty in session.execute(stmt).tuples()]


def suggest_lot(*, session: Session, point_id: int, vaccine: str, on: date) -> VaccineLot | None:
    """First expiry, first out: the unexpired lot of `vaccine` with stock at the point that expires first."""
    lots = available_lots(session=session, point_id=point_id, vaccine=vaccine, on=on)
    return lots[0][0] if lots else None


@dataclass(frozen=True)
class BalanceRow:
    point_id: int
    point_name: str
    lot: VaccineLot
    quantity: int


def balances(*, session: Session, actor: Actor, point_id: Any = None) -> list[BalanceRow]:
    """Doses on hand (quantity > 0) by point and lot, for one point or every point the actor keeps stock
    for (county roles: the whole county), by point, vaccine and expiry."""
    actor.require("stock:manage")
    stmt = (select(VaccinationPoint.id, VaccinationPoint.name, VaccineLot, StockBalance.quantity)
            .join(StockBalance, StockBalance.point_id == VaccinationPoint.id)
            .join(VaccineLot, VaccineLot.id == StockBalance.lot_id)
            .where(StockBalance.quantity > 0, _manageable(actor))
            .order_by(VaccinationPoint.serves_orgunit_code, VaccinationPoint.id, VaccineLot.vaccine,
                      VaccineLot.expiry_date, VaccineLot.id))
    if point_id is not None and point_id != "":
        stmt = stmt.where(VaccinationPoint.id == managed_point(session=session, point_id=point_id, actor=actor).id)
    return [BalanceRow(pid, name, lot, qty) for pid, name, lot, qty in session.execute(stmt).tuples()]


def totals_by_vaccine(rows: Iterable[BalanceRow], *, today: date) -> dict[str, int]:
    """Unexpired doses on hand per vaccine code, in schedule order."""
    out: dict[str, int] = {}
    for r in rows:
        if r.lot.expiry_date >= today:
            out[r.lot.vaccine] = out.get(r.lot.vaccine, 0) + r.quantity
    return {code: out[code] for code in VACCINE_CODES if code in out}


def movements(*, session: Session, actor: Actor, point_id: Any, limit: int = 50) -> list[StockMovement]:
    """The latest movements at a point, newest first."""
    point = managed_point(session=session, point_id=point_id, actor=actor)
    return list(session.scalars(select(StockMovement).where(StockMovement.point_id == point.id)
                                .order_by(StockMovement.at.desc(), StockMovement.id.desc())
                                .limit(max(1, min(limit, 500)))))


def lot_numbers(*, session: Session, lot_ids: Iterable[int]) -> dict[int, str]:
    """Lot id → lot number, for showing movements."""
    ids = set(lot_ids)
    if not ids:
        return {}
    stmt = select(VaccineLot.id, VaccineLot.lot_number).where(VaccineLot.id.in_(ids))
    return dict(session.execute(stmt).tuples().all())


@dataclass(frozen=True)
class StockFlag:
    """A warning on the stock page: `expired` / `expiring` (a lot with stock), or `low_stock` (a vaccine
    whose unexpired doses on hand last fewer than the point's min_days_of_stock at the recent daily use).
    level: red | amber."""

    kind: str
    level: str
    vaccine: str
    quantity: int  # doses of the lot (expired/expiring) or of the vaccine (low_stock)
    lot: VaccineLot | None = None
    days_left: int | None = None  # days until the lot expires
    daily_use: float | None = None  # average doses used a day over the last USE_WINDOW_DAYS days
    days_of_stock: float | None = None
    min_days: int | None = None


def flags(*, session: Session, point_id: int, today: date | None = None) -> list[StockFlag]:
    """Lots with stock expired or expiring within EXPIRING_DAYS (red within RED_DAYS or past), and vaccines
    whose stock is below the point's min_days_of_stock of average daily use over the last USE_WINDOW_DAYS
    days, today included (red when under half of it, or none left). Red first."""
    today = today or clock.today()
    point = session.get(VaccinationPoint, point_id)
    if point is None:
        raise NotFound(_E + "point_not_found", point_id=point_id)
    out: list[StockFlag] = []
    on_hand: dict[str, int] = {}
    rows = session.execute(select(VaccineLot, StockBalance.quantity)
                           .join(StockBalance, StockBalance.lot_id == VaccineLot.id)
                           .where(StockBalance.point_id == point.id, StockBalance.quantity > 0)
                           .order_by(VaccineLot.expiry_date, VaccineLot.id)).tuples()
    for lot, qty in rows:
        left = (lot.expiry_date - today).days
        if left < 0:
            out.append(StockFlag("expired", "red", lot.vaccine, qty, lot, left))
            continue
        on_hand[lot.vaccine] = on_hand.get(lot.vaccine, 0) + qty
        if left <= EXPIRING_DAYS:
            out.append(StockFlag("expiring", "red" if left <= RED_DAYS else "amber", lot.vaccine, qty, lot, left))
    since, until = clock.day_bounds(today - timedelta(days=USE_WINDOW_DAYS - 1), today)
    used = session.execute(
        select(VaccineLot.vaccine, func.sum(StockMovement.quantity))
        .join(VaccineLot, VaccineLot.id == StockMovement.lot_id)
        .where(StockMovement.point_id == point.id, StockMovement.kind == "use", StockMovement.at >= since,
               StockMovement.at < until)
        .group_by(VaccineLot.vaccine)).tuples()
    min_days = point.min_days_of_stock or 0
    for vaccine, total in used:
        daily = -int(total or 0) / USE_WINDOW_DAYS
        if daily <= 0:
            continue
        have = on_hand.get(vaccine, 0)
        days = have / daily
        if days < min_days:
            level = "red" if have == 0 or days < min_days / 2 else "amber"
            out.append(StockFlag("low_stock", level, vaccine, have, daily_use=round(daily, 2),
                                 days_of_stock=round(days, 1), min_days=min_days))
    order = {code: i for i, code in enumerate(VACCINE_CODES)}
    out.sort(key=lambda f: (f.level != "red", f.kind != "low_stock", order.get(f.vaccine, 99),
                            f.lot.expiry_date if f.lot else date.min))
    return out
