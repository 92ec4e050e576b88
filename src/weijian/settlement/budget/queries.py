"""The medical community's bundled budget (医保打包支付): a year's global budget for the county's residents,
spending against it by month, by member facility and out of county, and the projected year-end surplus
(结余留用) or overspend: the figures, read here (the budget is set in budget.service).

What counts as spending: the basic medical insurance fund's payments (`basic_pays`) of settlements
of the county's residents (the village the stay counted at), in the month of settlement (`settled_on`, the
day the fund's books record it); a settlement reversed or superseded later is booked negative in the month
that happened (`reversed_on`), so a closed month keeps its figures (settlement.counts.bookings). The
package is the basic insurance fund's: critical-illness insurance is paid by the commercial insurer under
its own contract, and medical assistance by the civil-affairs fund, so neither counts against it; the
patient's share does not either. Stays at facilities of the community and elsewhere in the county are
shown per facility; stays outside the county (no facility) are one column, "out of county".

Projection: spending so far ÷ elapsed months × 12, where the elapsed months of the current year count the
current month by its elapsed days (12 for a past year; none for a future year, so no projection).
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import Forbidden
from weijian.core.identifiers import division_level, division_range
from weijian.orgunits import service as orgunits_service
from weijian.settlement.counts import bookings
from weijian.settlement.models import BundledBudget

FEN = Decimal("0.01")
ZERO = Decimal("0.00")
OUT_OF_COUNTY = "out_of_county"  # the key of the column of stays outside the county
# The parts of a settlement paid out of the bundled budget (module docstring).
COUNTED_PAYERS: tuple[str, ...] = ("basic_pays",)


def _fen(amount: Decimal) -> Decimal:
    return amount.quantize(FEN, rounding=ROUND_HALF_UP)


# --- who may -----------------------------------------------------------------------------------------
def county_of(actor: Actor, county_code: str) -> str:
    """The county whose budget the actor works on: the installation's county, which must be the actor's
    own scope (the budget is the whole community's: a township or village user has no part of it)."""
    county = county_code.ljust(12, "0")[:12]
    if actor.scope_code is not None and (division_level(actor.scope_code) != "county"
                                         or actor.scope_code != county):
        raise Forbidden("settlement.budget.errors.county_only")
    return county


def require_reader(actor: Actor) -> None:
    """Budget figures are sums of the fund's payments, no one's record: statistics staff and those who
    may set the budget read them."""
    if not (actor.can("stats:read") or actor.can("budget:manage")):
        raise Forbidden("core.errors.forbidden_permission", permission="stats:read")


# --- the budget --------------------------------------------------------------------------------------
def get_budget(*, session: Session, county_code: str, year: int) -> BundledBudget | None:
    return session.scalar(select(BundledBudget).where(BundledBudget.orgunit_code == county_code.ljust(12, "0")[:12],
                                                      BundledBudget.year == year))


# --- spending against it ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    """One spender: a facility (key = its id as text) or the out-of-county stays."""

    key: str
    name: str | None  # the facility's name; None for out of county (the page labels it)
    facility_type: str | None
    total: Decimal


@dataclass(frozen=True)
class Month:
    month: int  # 1..12
    by_column: dict[str, Decimal]  # column key → spending
    total: Decimal
    cumulative: Decimal
    stays: int


@dataclass
class BudgetReport:
    county_code: str
    year: int
    budget: Decimal | None
    note: str | None
    columns: list[Column]
    months: list[Month]
    spent: Decimal
    stays: int
    elapsed_months: Decimal  # 0 for a future year, 12 for a past one
    as_of: date
    projected: Decimal | None = None  # spending at year end at the pace so far
    balance: Decimal | None = None  # budget − projected: > 0 surplus, < 0 overspend
    used_share: Decimal | None = None  # spent ÷ budget
    counted_payers: tuple[str, ...] = field(default=COUNTED_PAYERS)

    @property
    def outcome(self) -> str | None:
        """surplus | overspend | balanced; None without a budget or a projection."""
        if self.balance is None:
            return None
        return "surplus" if self.balance > 0 else "overspend" if self.balance < 0 else "balanced"


def elapsed_months(year: int, as_of: date) -> Decimal:
    """Months of `year` gone by on `as_of`: whole months before its month, plus the part of its month."""
    if as_of.year > year:
        return Decimal(12)
    if as_of.year < year:
        return Decimal(0)
    days = calendar.monthrange(year, as_of.month)[1]
    return Decimal(as_of.month - 1) + Decimal(as_of.day) / Decimal(days)


def report(*, session: Session, actor: Actor, county_code: str, year: int, as_of: date | None = None) -> BudgetReport:
    """Budget against spending for one year, month by month and facility by facility."""
    require_reader(actor)
    county = county_of(actor, county_code)
    y = year
    as_of = as_of or clock.today()
    budget = get_budget(session=session, county_code=county, year=y)
    lo, hi = division_range(county)
    # Booked in the month it happens: a reversal (冲销) is a negative entry of its month (settlement.counts).
    b = bookings(start=date(y, 1, 1), end=date(y, 12, 31), lo=lo, hi=hi)
    paid: ColumnElement[Any] = b.c[COUNTED_PAYERS[0]]
    for payer in COUNTED_PAYERS[1:]:
        paid = paid + b.c[payer]
    # By day and facility: at most 366 × facilities rows; the months are summed here, which keeps the SQL
    # portable (no date functions).
    rows = session.execute(
        select(b.c.booked_on, b.c.facility_id, b.c.in_county, func.sum(paid), func.sum(b.c.n))
        .group_by(b.c.booked_on, b.c.facility_id, b.c.in_county)
    ).all()
    by_month: dict[int, dict[str, Decimal]] = {m: {} for m in range(1, 13)}
    stays_by_month = dict.fromkeys(range(1, 13), 0)
    totals: dict[str, Decimal] = {}
    for day, facility_id, in_county, amount, n in rows:
        key = str(facility_id) if facility_id is not None and in_county else OUT_OF_COUNTY
        amount = _fen(Decimal(amount or 0))
        cell = by_month[day.month]
        cell[key] = cell.get(key, ZERO) + amount
        totals[key] = totals.get(key, ZERO) + amount
        stays_by_month[day.month] += n
    facilities = {str(f.id): f for f in orgunits_service.list_facilities(session=session, under=county)
                  if str(f.id) in totals}
    def order(key: str) -> tuple[int, str]:
        facility = facilities.get(key)
        return _type_order(facility), facility.code if facility else key

    columns = [Column(key=k, name=facilities[k].name if k in facilities else None,
                      facility_type=facilities[k].type if k in facilities else None, total=totals[k])
               for k in sorted((k for k in totals if k != OUT_OF_COUNTY), key=order)]
    if OUT_OF_COUNTY in totals:
        columns.append(Column(key=OUT_OF_COUNTY, name=None, facility_type=None, total=totals[OUT_OF_COUNTY]))
    months, running = [], ZERO
    for m in range(1, 13):
        total = sum(by_month[m].values(), ZERO)
        running += total
        months.append(Month(month=m, by_column=by_month[m], total=total, cumulative=running, stays=stays_by_month[m]))
    spent = running
    elapsed = elapsed_months(y, as_of)
    out = BudgetReport(county_code=county, year=y, budget=budget.amount if budget else None,
                       note=budget.note if budget else None, columns=columns, months=months, spent=spent,
                       stays=sum(stays_by_month.values()), elapsed_months=elapsed.quantize(Decimal("0.01")),
                       as_of=as_of)
    if elapsed > 0:
        out.projected = _fen(spent / elapsed * 12)
    if budget is not None:
        out.used_share = (spent / budget.amount).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
        if out.projected is not None:
            out.balance = budget.amount - out.projected
    return out


_TYPE_ORDER = tuple(orgunits_service.reference().types)  # the data file's order: county hospitals first


def _type_order(facility: Any) -> int:
    if facility is None:
        return len(_TYPE_ORDER) + 1
    return _TYPE_ORDER.index(facility.type) if facility.type in _TYPE_ORDER else len(_TYPE_ORDER)


def budgets(*, session: Session, actor: Actor, county_code: str) -> list[BundledBudget]:
    """Every year's budget of the community, newest first."""
    require_reader(actor)
    county = county_of(actor, county_code)
    return list(session.scalars(select(BundledBudget).where(BundledBudget.orgunit_code == county)
                                .order_by(BundledBudget.year.desc())))
