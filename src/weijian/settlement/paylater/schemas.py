"""Commands and answers of pay-later: a payment against a balance (Money, more than zero), a balance, the
ledger of balances by facility. Amounts are strings with two decimals."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from pydantic import BaseModel, field_validator

from weijian.core.bounds import Id64
from weijian.core.commands import Command, Money, refuse
from weijian.core.identifiers import mask_id_number
from weijian.settlement.schemas import money

if TYPE_CHECKING:
    from weijian.settlement.models import Balance
    from weijian.settlement.paylater.queries import Ledger

class WaiverIn(Command):
    """Admit a stay without a deposit (the stay is the path's)."""

    encounter_id: Id64


class PaymentIn(Command):
    """The patient pays (part of) an outstanding balance."""

    amount: Money

    @field_validator("amount")
    @classmethod
    def _positive(cls, value: Decimal) -> Decimal:
        if value <= 0:
            raise refuse("settlement.paylater.errors.amount_not_positive")
        return value


class BalanceOut(BaseModel):
    id: int
    settlement_id: int
    resident_id: int
    facility_id: int
    amount: str
    paid_amount: str
    owed: str
    due_date: date
    status: str
    overdue: bool = False
    note: str | None = None

    @classmethod
    def of(cls, b: Balance, today: date | None = None) -> BalanceOut:
        return cls(id=b.id, settlement_id=b.settlement_id, resident_id=b.resident_id, facility_id=b.facility_id,
                   amount=money(b.amount), paid_amount=money(b.paid_amount), owed=money(b.amount - b.paid_amount),
                   due_date=b.due_date, status=b.status, note=b.note,
                   overdue=bool(today and b.status == "outstanding" and b.due_date < today))


class LedgerRowOut(BaseModel):
    balance: BalanceOut
    resident_name: str
    id_number_masked: str | None
    facility_name: str
    days_overdue: int


class FacilityTotalsOut(BaseModel):
    facility_id: int
    facility_name: str
    outstanding_count: int
    outstanding: str
    overdue_count: int
    overdue: str


class LedgerOut(BaseModel):
    today: date
    facilities: list[FacilityTotalsOut]
    rows: list[LedgerRowOut]

    @classmethod
    def of(cls, ledger: Ledger) -> LedgerOut:
        return cls(
            today=ledger.today,
            facilities=[FacilityTotalsOut(facility_id=t.facility_id, facility_name=t.facility_name,
                                          outstanding_count=t.outstanding_count, outstanding=money(t.outstanding),
                                          overdue_count=t.overdue_count, overdue=money(t.overdue))
                        for t in ledger.facilities],
            rows=[LedgerRowOut(balance=BalanceOut.of(r.balance, ledger.today), resident_name=r.resident_name,
                               id_number_masked=mask_id_number(r.id_number) if r.id_number else None,
                               facility_name=r.facility_name, days_overdue=r.days_overdue)
                  for r in ledger.rows])
