"""Commands and answers of the bundled budget: setting a year's budget (the year 2000 … 2100, an amount in
yuan above zero and to the fen, a short note), and the report of spending against it.

Money is text with two decimals ("1234.50"), as everywhere in the API: no float ever carries an amount."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, BeforeValidator, field_validator

from weijian.core.bounds import whole_number
from weijian.core.commands import MAX_MONEY, Command, refuse
from weijian.settlement.schemas import money

if TYPE_CHECKING:
    from weijian.settlement.budget.queries import BudgetReport
    from weijian.settlement.models import BundledBudget

FEN = Decimal("0.01")
MIN_YEAR, MAX_YEAR = 2000, 2100
NOTE_MAX = 200
_E = "settlement.budget.errors."


def _year(raw: Any) -> int:
    year = raw if isinstance(raw, int) and not isinstance(raw, bool) else whole_number(str(raw))
    if year is None or not MIN_YEAR <= year <= MAX_YEAR:
        raise refuse(_E + "year_range", min=MIN_YEAR, max=MAX_YEAR)
    return year


def _amount(raw: Any) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float, Decimal)):
        raise refuse(_E + "amount_invalid")
    try:
        value = Decimal(str(raw).strip().replace(",", "").replace("¥", ""))
    except ArithmeticError:
        raise refuse(_E + "amount_invalid") from None
    if not value.is_finite():
        raise refuse(_E + "amount_invalid")
    if value <= 0:
        raise refuse(_E + "amount_positive")
    if value > MAX_MONEY:  # before quantize(), which raises past Decimal's 28 digits
        raise refuse(_E + "amount_too_large")
    if value != value.quantize(FEN):
        raise refuse(_E + "amount_fen")
    return value.quantize(FEN)


# A budget's year (from a path, a query or a form: "2025" or 2025), refused with the year's own words.
BudgetYear = Annotated[int, BeforeValidator(_year)]
# A budget in yuan: above zero, to the fen, within the column ("120,000,000" and "¥1000" accepted).
BudgetAmount = Annotated[Decimal, BeforeValidator(_amount)]


class BudgetBody(Command):
    """The API's body of PUT /budget/{year}: the year is the path's."""

    amount: BudgetAmount
    note: str | None = None

    @field_validator("note")
    @classmethod
    def _note(cls, value: str | None) -> str | None:
        if value is not None and len(value) > NOTE_MAX:
            raise refuse(_E + "note_too_long", max=NOTE_MAX)
        return value


class BudgetIn(BudgetBody):
    """Set (or change) the community's budget for a year."""

    year: BudgetYear


class BudgetYearIn(Command):
    """The year a report is asked for (the page's year picker)."""

    year: BudgetYear


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
    inpatient: str  # of total: stays' settled fund payments
    outpatient: str  # of total: outpatient pooling
    visits: int
    by_column: dict[str, str]  # column key → spending (columns without spending that month left out)


class SharingOut(BaseModel):
    """The projected balance's division: surplus → `community` retained (结余留用), `fund` returned;
    overspend → `fund` borne by the fund (合理超支分担), `community` by the community."""

    outcome: str  # surplus | overspend | balanced
    amount: str
    community: str
    fund: str


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
    inpatient_spent: str
    outpatient_spent: str  # outpatient pooling, worked out from the visits (budget.queries)
    visits: int
    in_county_spent: str
    in_county_share: str | None  # 县域内基金支出占比, four decimals; None without spending
    sharing: SharingOut | None
    columns: list[ColumnOut]
    months: list[MonthOut]

    @classmethod
    def of(cls, r: BudgetReport) -> ReportOut:
        return cls(
            county_code=r.county_code, year=r.year, as_of=r.as_of, counted_payers=list(r.counted_payers),
            budget=money(r.budget), note=r.note, spent=money(r.spent), stays=r.stays,
            elapsed_months=str(r.elapsed_months), projected=money(r.projected), balance=money(r.balance),
            outcome=r.outcome, used_share=None if r.used_share is None else str(r.used_share),
            inpatient_spent=money(r.inpatient_spent), outpatient_spent=money(r.outpatient_spent), visits=r.visits,
            in_county_spent=money(r.in_county_spent),
            in_county_share=None if r.in_county_share is None else str(r.in_county_share),
            sharing=None if r.sharing is None else SharingOut(
                outcome=r.sharing.outcome, amount=money(r.sharing.amount), community=money(r.sharing.community),
                fund=money(r.sharing.fund)),
            columns=[ColumnOut(key=c.key, facility_id=int(c.key) if c.key.isdigit() else None, name=c.name,
                               facility_type=c.facility_type, total=money(c.total)) for c in r.columns],
            months=[MonthOut(month=m.month, total=money(m.total), cumulative=money(m.cumulative), stays=m.stays,
                             inpatient=money(m.inpatient), outpatient=money(m.outpatient), visits=m.visits,
                             by_column={k: money(v) for k, v in m.by_column.items()}) for m in r.months])
