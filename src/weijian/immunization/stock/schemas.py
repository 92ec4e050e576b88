"""The stock area's commands (a point, a lot, a receipt, wastage, a transfer, an adjustment: STYLE 14) and its
API answers (points, lots, balances, movements, flags). A command refuses a value of the wrong shape; what
needs the database (the point, the lot, the balance) is checked by stock.service."""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
)

from weijian.core import clock
from weijian.core.bounds import BoundedDate, Id64, date_in_range
from weijian.core.commands import MAX_DATE, MIN_DATE, Command, refuse
from weijian.immunization.models import StockMovement, VaccinationPoint, VaccineLot
from weijian.immunization.schedule.rules import VACCINE_CODES
from weijian.immunization.stock.queries import BalanceRow, StockFlag, totals_by_vaccine

_E = "immunization.records.errors."
MAX_QUANTITY = 1_000_000  # doses in one movement: more is a typing error
MAX_MIN_DAYS = 365
WASTAGE_REASONS = ("expired", "broken", "opened_vial", "cold_chain", "recalled", "other")
NOTE_MAX = 200
WASTAGE_NOTE_MAX = NOTE_MAX - 30  # the note keeps the reason code first ("expired: …")


# --- value types ------------------------------------------------------------------------------------
def _moment(value: Any, handler: ValidatorFunctionWrapHandler) -> dt.datetime:
    """A moment as typed: ISO text (`2025-06-01T09:30`, `2025-06-01 09:30`, with or without an offset) or a
    datetime; without an offset it is county time. A bare date is that day at noon (the time unknown)."""
    if isinstance(value, str) and len(value.strip()) == 10:
        value = value.strip() + "T12:00"
    elif isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time(12))
    try:
        moment: dt.datetime = handler(value)
    except ValidationError:
        raise refuse(_E + "datetime_format") from None
    if not date_in_range(moment.date()):
        raise refuse("core.errors.validation.date_out_of_range", min=MIN_DATE.isoformat(), max=MAX_DATE.isoformat())
    return moment if moment.tzinfo else moment.replace(tzinfo=clock.zone())


Moment = Annotated[dt.datetime, WrapValidator(_moment)]
# Doses moved at once: 1 … MAX_QUANTITY.
Quantity = Annotated[int, Field(ge=1, le=MAX_QUANTITY)]


def _vaccine(value: str) -> str:
    if value not in VACCINE_CODES:
        raise refuse(_E + "vaccine_unknown", vaccine=value, allowed=", ".join(VACCINE_CODES))
    return value


# A vaccine code of the schedule (HepB, BCG, …).
VaccineCode = Annotated[str, AfterValidator(_vaccine)]


# --- commands ---------------------------------------------------------------------------------------
class PointCreate(Command):
    """Make a facility a vaccination point; it serves the facility's own org unit unless told otherwise."""

    facility_id: Id64
    name: str | None = Field(None, max_length=100)
    serves_orgunit_code: str | None = Field(None, max_length=12)
    min_days_of_stock: int = Field(14, ge=1, le=MAX_MIN_DAYS)


class LotCreate(Command):
    """A lot: the same vaccine, maker and lot number is the same lot."""

    vaccine: VaccineCode
    product: str = Field(max_length=100)
    manufacturer: str = Field(max_length=100)
    lot_number: str = Field(max_length=50)
    expiry_date: BoundedDate
    doses_per_vial: int = Field(1, ge=1, le=50)


class ReceiptCreate(Command):
    """Doses of a lot received at a point: an existing lot (`lot_id`) or the lot's fields (found or made)."""

    lot_id: Id64 | None = None
    lot: LotCreate | None = None
    quantity: Quantity
    at: Moment | None = None  # default: now
    note: str | None = Field(None, max_length=NOTE_MAX)


class WastageCreate(Command):
    lot_id: Id64
    quantity: Quantity
    reason: str  # expired | broken | opened_vial | cold_chain | recalled | other
    note: str | None = Field(None, max_length=WASTAGE_NOTE_MAX)
    at: Moment | None = None

    @field_validator("reason")
    @classmethod
    def _known_reason(cls, value: str) -> str:
        if value not in WASTAGE_REASONS:
            raise refuse(_E + "wastage_reason_unknown", allowed=", ".join(WASTAGE_REASONS))
        return value


class TransferCreate(Command):
    to_point: Id64
    lot_id: Id64
    quantity: Quantity
    note: str | None = Field(None, max_length=NOTE_MAX)
    at: Moment | None = None


class AdjustmentCreate(Command):
    """A correction after a count, signed: +3 found, −2 missing; the reason is required."""

    lot_id: Id64
    quantity: int = Field(ge=-MAX_QUANTITY, le=MAX_QUANTITY)
    reason: str = Field(max_length=NOTE_MAX)
    at: Moment | None = None

    @field_validator("quantity")
    @classmethod
    def _not_zero(cls, value: int) -> int:
        if value == 0:
            raise refuse(_E + "quantity_zero")
        return value


# --- answers ----------------------------------------------------------------------------------------
class PointOut(BaseModel):
    id: int
    facility_id: int
    name: str
    serves_orgunit_code: str
    min_days_of_stock: int
    active: bool
    manageable: bool = False

    @classmethod
    def of(cls, p: VaccinationPoint, manageable: bool = False) -> PointOut:
        return cls(id=p.id, facility_id=p.facility_id, name=p.name, serves_orgunit_code=p.serves_orgunit_code,
                   min_days_of_stock=p.min_days_of_stock, active=p.active, manageable=manageable)


class LotOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    vaccine: str
    product: str
    manufacturer: str
    lot_number: str
    expiry_date: dt.date
    doses_per_vial: int

    @classmethod
    def of(cls, lot: VaccineLot) -> LotOut:
        return cls.model_validate(lot)


class StockRowOut(BaseModel):
    point_id: int
    point_name: str
    lot: LotOut
    quantity: int
    expired: bool


class StockOut(BaseModel):
    point_id: int | None
    as_of: dt.date
    rows: list[StockRowOut]
    totals: dict[str, int]  # unexpired doses per vaccine code

    @classmethod
    def of(cls, rows: list[BalanceRow], point_id: int | None, today: dt.date) -> StockOut:
        return cls(point_id=point_id, as_of=today,
                   rows=[StockRowOut(point_id=r.point_id, point_name=r.point_name, lot=LotOut.of(r.lot),
                                     quantity=r.quantity, expired=r.lot.expiry_date < today) for r in rows],
                   totals=totals_by_vaccine(rows, today=today))


class MovementOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    point_id: int
    lot_id: int
    kind: str
    quantity: int
    at: dt.datetime
    vaccination_id: int | None
    counterpart_point_id: int | None
    note: str | None
    recorded_by: str | None

    @classmethod
    def of(cls, m: StockMovement) -> MovementOut:
        return cls.model_validate(m)


class FlagOut(BaseModel):
    kind: str  # expired | expiring | low_stock
    level: str  # red | amber
    vaccine: str
    quantity: int
    lot_id: int | None
    lot_number: str | None
    expiry_date: dt.date | None
    days_left: int | None
    daily_use: float | None
    days_of_stock: float | None
    min_days: int | None
    due_soon: int | None  # low_stock: doses due at the point this week and next ...
    due_until: dt.date | None  # ... up to this day (the Sunday of next week)
    reasons: list[str]  # low_stock: due_soon (fewer doses than due) and/or daily_use (fewer days than min_days)

    @classmethod
    def of(cls, f: StockFlag) -> FlagOut:
        return cls(kind=f.kind, level=f.level, vaccine=f.vaccine, quantity=f.quantity,
                   lot_id=f.lot.id if f.lot else None, lot_number=f.lot.lot_number if f.lot else None,
                   expiry_date=f.lot.expiry_date if f.lot else None, days_left=f.days_left, daily_use=f.daily_use,
                   days_of_stock=f.days_of_stock, min_days=f.min_days, due_soon=f.due_soon, due_until=f.due_until,
                   reasons=list(f.reasons))
