"""API shapes of the bundled budget: setting a year's budget, and the report of spending against it.

Money is text with two decimals ("1234.50"), as everywhere in the API: no float ever carries an amount."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from weijian.settlement.budget import BudgetReport
from weijian.settlement.models import BundledBudget

Loose = str | int | float | None


def money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


class BudgetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Loose = None  # yuan, at most two decimals
    note: str | None = None


class BudgetOut(BaseModel):
    id: int
    county_code: str
    year: int
    amount: str
    note: str | None
    created_at: datetime
    created_by: str | None

    @classmethod
    def of(cls, b: BundledBudget) -> BudgetOut:
        return cls(id=b.id, county_code=b.orgunit_code, year=b.year, amount=money(b.amount), note=b.note,
                   created_at=b.created_at, created_by=b.created_by)


class ColumnOut(BaseModel):
    key: str  # a facility id, or "out_of_county"
    facility_id: int | None
    name: str | None
    facility_type: str | None
    total: str


class MonthOut(BaseModel):
    month: int
    total: str
    cumulative: str
    stays: int
    by_column: dict[str, str]  # column key → spending (columns without spending that month left out)


class ReportOut(BaseModel):
    county_code: str
    year: int
    as_of: date
    counted_payers: list[str]
    budget: str | None
    note: str | None
    spent: str
    stays: int
    elapsed_months: str
    projected: str | None
    balance: str | None  # budget − projected: positive a surplus, negative an overspend
    outcome: str | None  # surplus | overspend | balanced
    used_share: str | None  # spent ÷ budget, four decimals
    columns: list[ColumnOut]
    months: list[MonthOut]

    @classmethod
    def of(cls, r: BudgetReport) -> ReportOut:
        return cls(
            county_code=r.county_code, year=r.year, as_of=r.as_of, counted_payers=list(r.counted_payers),
            budget=money(r.budget), note=r.note, spent=money(r.spent), stays=r.stays,
            elapsed_months=str(r.elapsed_months), projected=money(r.projected), balance=money(r.balance),
            outcome=r.outcome, used_share=None if r.used_share is None else str(r.used_share),
            columns=[ColumnOut(key=c.key, facility_id=int(c.key) if c.key.isdigit() else None, name=c.name,
                               facility_type=c.facility_type, total=money(c.total)) for c in r.columns],
            months=[MonthOut(month=m.month, total=money(m.total), cumulative=money(m.cumulative), stays=m.stays,
                             by_column={k: money(v) for k, v in m.by_column.items()}) for m in r.months])
