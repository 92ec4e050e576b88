"""API shapes of vaccine stock (points, lots, movements, flags). Inputs are loose on purpose (numbers and dates
as typed): the stock service checks every value. The vaccination records' shapes are in
immunization.records.schemas."""
from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict

from weijian.immunization import stock
from weijian.immunization.models import StockMovement, VaccinationPoint, VaccineLot

Loose = str | int | None


# --- input --------------------------------------------------------------------------------------
class LotIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    vaccine: str | None = None
    product: str | None = None
    manufacturer: str | None = None
    lot_number: str | None = None
    expiry_date: str | None = None
    doses_per_vial: Loose = None


class PointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    facility_id: Loose = None
    name: str | None = None
    serves_orgunit_code: str | None = None
    min_days_of_stock: Loose = 14


class ReceiptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lot_id: Loose = None  # an existing lot, or:
    lot: LotIn | None = None  # the lot's fields (found, or created)
    quantity: Loose = None
    at: str | None = None
    note: str | None = None


class WastageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lot_id: Loose = None
    quantity: Loose = None
    reason: str | None = None  # expired | broken | opened_vial | cold_chain | recalled | other
    note: str | None = None
    at: str | None = None


class TransferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to_point: Loose = None
    lot_id: Loose = None
    quantity: Loose = None
    note: str | None = None
    at: str | None = None


class AdjustmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lot_id: Loose = None
    quantity: Loose = None  # signed: +found, −missing
    reason: str | None = None
    at: str | None = None


# --- output -------------------------------------------------------------------------------------
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
    def of(cls, rows: list[stock.BalanceRow], point_id: int | None, today: dt.date) -> StockOut:
        return cls(point_id=point_id, as_of=today,
                   rows=[StockRowOut(point_id=r.point_id, point_name=r.point_name, lot=LotOut.of(r.lot),
                                     quantity=r.quantity, expired=r.lot.expiry_date < today) for r in rows],
                   totals=stock.totals_by_vaccine(rows, today=today))


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

    @classmethod
    def of(cls, f: stock.StockFlag) -> FlagOut:
        return cls(kind=f.kind, level=f.level, vaccine=f.vaccine, quantity=f.quantity,
                   lot_id=f.lot.id if f.lot else None, lot_number=f.lot.lot_number if f.lot else None,
                   expiry_date=f.lot.expiry_date if f.lot else None, days_left=f.days_left, daily_use=f.daily_use,
                   days_of_stock=f.days_of_stock, min_days=f.min_days)
