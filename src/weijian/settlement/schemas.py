"""API shapes of settlement: a settlement with its breakdown and accumulations, a reversal, balances and
the ledger. Amounts are strings with two decimals ("4080.00") so they stay exact for any reader."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from weijian.core.bounds import Id64
from weijian.core.identifiers import mask_id_number
from weijian.settlement.settle import ACC_FIELDS, AMOUNTS

if TYPE_CHECKING:
    from weijian.settlement.models import Balance, Settlement
    from weijian.settlement.paylater import Ledger


def money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


class SettleIn(BaseModel):
    encounter_id: Id64


class ReverseIn(BaseModel):
    reason: str = Field(..., max_length=200)


class PaymentIn(BaseModel):
    amount: str | float | int


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


class SettlementOut(BaseModel):
    id: int
    encounter_id: int
    resident_id: int
    facility_id: int | None
    in_county: bool
    policy_id: str
    scheme: str
    benefit_group: str | None
    year: int
    seq: int
    stay_date: date
    settled_on: date
    level: str
    downward_referral: bool
    status: str
    pay_later: bool
    replaces_id: int | None
    reversal_reason: str | None
    settled_at: datetime
    settled_by: str | None
    amounts: dict[str, str]  # total, in_policy, out_of_policy, deductible, basic_pays, ... patient_pays
    before: dict[str, str]  # the year's accumulations before this stay
    after: dict[str, str]
    balance: BalanceOut | None = None

    @classmethod
    def of(cls, s: Settlement, balance: Balance | None = None) -> SettlementOut:
        return cls(
            id=s.id, encounter_id=s.encounter_id, resident_id=s.resident_id, facility_id=s.facility_id,
            in_county=s.in_county, policy_id=s.policy_id, scheme=s.scheme, benefit_group=s.benefit_group,
            year=s.year, seq=s.seq, stay_date=s.stay_date, settled_on=s.settled_on, level=s.level,
            downward_referral=s.downward_referral, status=s.status, pay_later=s.pay_later,
            replaces_id=s.replaces_id, reversal_reason=s.reversal_reason, settled_at=s.settled_at,
            settled_by=s.settled_by, amounts={k: money(getattr(s, k)) for k in AMOUNTS},
            before={k: money(getattr(s, f"before_{k}")) for k in ACC_FIELDS},
            after={k: money(getattr(s, f"after_{k}")) for k in ACC_FIELDS},
            balance=BalanceOut.of(balance) if balance is not None else None)


class ReversalOut(BaseModel):
    reversed: SettlementOut
    resettled: list[SettlementOut]


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


class PendingIn(BaseModel):
    year: int
    village_code: str | None = None


class PendingOut(BaseModel):
    settled: int
