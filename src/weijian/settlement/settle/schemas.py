"""Commands and answers of settling: settle a stay, reverse a settlement with its reason, settle the year's
pending stays; a settlement with its breakdown and accumulations, a reversal. Amounts are strings with two
decimals ("4080.00") so they stay exact for any reader."""
from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

from pydantic import AfterValidator, BaseModel, Field

from weijian.core.bounds import Id64
from weijian.core.commands import Command, refuse
from weijian.settlement.paylater.schemas import BalanceOut
from weijian.settlement.schemas import money
from weijian.settlement.settle.queries import ACC_FIELDS, AMOUNTS

if TYPE_CHECKING:
    from weijian.settlement.models import Balance, Settlement


def _year(value: int) -> int:
    if not 1900 <= value <= 9999:
        raise refuse("settlement.settle.errors.year_invalid", year=value)
    return value


class SettleIn(Command):
    encounter_id: Id64


class ReverseIn(Command):
    reason: str = Field(max_length=200)


class PendingIn(Command):
    """Settle the discharged, unsettled stays of a year (of one village when given)."""

    year: Annotated[int, AfterValidator(_year)]
    village_code: str | None = Field(None, max_length=12)


class PendingOut(BaseModel):
    settled: int


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
