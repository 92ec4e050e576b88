"""The medical community's bundled budget (医保打包支付): a year's global budget for the county's residents,
spending against it by month, by member facility and out of county, the projected year-end surplus
(结余留用) or overspend (合理超支分担) and how it divides between the community and the fund, and the share
of fund spending paid inside the county (县域内基金支出占比): the figures, read here (the budget is set in
budget.service; the rules are data/budget.yaml, read by budget.rules).

What counts as spending (every monthly figure is read through `monthly_spending`, one function, so a
change in how a month is booked changes it alone):
- stays: the parts named in data/budget.yaml (`settlement_parts`: the basic medical insurance fund's
  payment) of the settlements of the county's
  residents (the village the stay counted at), in the month of settlement (`settled_on`, the day the fund's
  books record it); a settlement reversed or superseded later is booked negative in the month that happened
  (`reversed_on`), so a closed month keeps its figures (settlement.counts.bookings). Critical-illness
  insurance is paid by the commercial insurer under its own contract and
  medical assistance by the civil-affairs fund, so neither counts; the patient's share does not either.
- outpatient pooling (普通门诊统筹): weijian settles no outpatient visit, so the fund's part of each visit is
  worked out here from the visit itself (its in-policy cost, by data/budget.yaml's `outpatient_pooling`
  terms: the scheme, the facility types, the rate, the year's deductible and cap per person, in visit
  order) for residents of the county insured under that scheme, in the month of the visit. Voided visits
  cost the fund nothing. 门诊慢特病 is not settled anywhere in weijian and is not counted (data file).
Stays at facilities of the community and elsewhere in the county are shown per facility; the village
clinics' outpatient pooling as one column (there are hundreds); stays outside the county (no facility) as
one column, "out of county".

Projection: spending so far ÷ elapsed months × 12, where the elapsed months of the current year count the
current month by its elapsed days (12 for a past year; none for a future year, so no projection). The
sharing of the projected balance follows data/budget.yaml's bands (budget.rules.share).

县域内基金支出占比 = spending at the county's facilities ÷ all spending above (out-of-county stays included).
"""
from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from weijian.care.models import Encounter
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import Forbidden
from weijian.core.identifiers import division_level, division_range
from weijian.orgunits import service as orgunits_service
from weijian.residents.models import Resident
from weijian.settlement.budget.rules import Pooling, Rules, Sharing, budget_rules, pooling_parts, share
from weijian.settlement.counts import bookings
from weijian.settlement.models import BundledBudget

FEN = Decimal("0.01")
ZERO = Decimal("0.00")
OUT_OF_COUNTY = "out_of_county"  # the key of the column of stays outside the county
VILLAGE_CLINICS = "village_clinics"  # the key of the column of the village clinics' outpatient pooling
INPATIENT, OUTPATIENT = "inpatient", "outpatient"


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
class Booked:
    """One group of a month's spending against the budget: a facility's (None: out of county) stays or
    outpatient visits of one month, the fund's payments and how many."""

    month: int  # 1..12
    facility_id: int | None
    in_county: bool
    kind: str  # inpatient (stays: inpatient and day surgery) | outpatient (pooling)
    amount: Decimal
    count: int


def monthly_spending(*, session: Session, county_code: str, year: int, rules: Rules | None = None) -> list[Booked]:
    """The year's spending against the county's budget, by month, facility and kind (module docstring):
    the one read of the monthly figures."""
    rules = rules or budget_rules()
    county = county_code.ljust(12, "0")[:12]
    return [*_settled(session, county, year, rules.settlement_parts),
            *_outpatient_pooling(session, county, year, rules.pooling)]


def _settled(session: Session, county: str, year: int, parts: tuple[str, ...]) -> list[Booked]:
    lo, hi = division_range(county)
    # Booked in the month it happens: a reversal (冲销) is a negative entry of its month (settlement.counts).
    b = bookings(start=date(year, 1, 1), end=date(year, 12, 31), lo=lo, hi=hi)
    paid: ColumnElement[Any] = b.c[parts[0]]
    for part in parts[1:]:
        paid = paid + b.c[part]
    # By day and facility: at most 366 × facilities rows; the months are summed here, which keeps the SQL
    # portable (no date functions).
    rows = session.execute(
        select(b.c.booked_on, b.c.facility_id, b.c.in_county, func.sum(paid), func.sum(b.c.n))
        .group_by(b.c.booked_on, b.c.facility_id, b.c.in_county)
    ).all()
    out: dict[tuple[int, int | None, bool], list[Any]] = {}
    for day, facility_id, in_county, amount, n in rows:
        inside = bool(in_county) and facility_id is not None
        cell = out.setdefault((day.month, facility_id if inside else None, inside), [ZERO, 0])
        cell[0] += _fen(Decimal(str(amount or 0)))
        cell[1] += int(n or 0)
    return [Booked(month=m, facility_id=fid, in_county=inside, kind=INPATIENT, amount=a, count=n)
            for (m, fid, inside), (a, n) in sorted(out.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0))]


def outpatient_visits(session: Session, *, first: date, last: date, terms: Pooling,
                      where: Iterable[ColumnElement[bool]] = ()) -> list[tuple[int, date, int, Decimal]]:
    """(person, date, facility, in-policy cost) of the live outpatient visits from `first` to `last` at the
    facility types of the pooling `terms`, of residents insured under its scheme (and `where`), in visit
    order: what `rules.pooling_parts` reads. `first` must be a 1 January (the cap is a calendar year's)."""
    ids = [f.id for f in orgunits_service.list_facilities(session=session) if f.type in terms.facility_types]
    if not ids:
        return []
    rows = session.execute(
        select(Encounter.resident_id, Encounter.start_date, Encounter.facility_id, Encounter.in_policy_cost)
        .join(Resident, Resident.id == Encounter.resident_id)
        .where(Encounter.type == "outpatient", Encounter.voided_at.is_(None), Encounter.start_date >= first,
               Encounter.start_date <= last, Encounter.facility_id.in_(ids),
               Resident.insurance_scheme == terms.scheme, *where)
        .order_by(Encounter.resident_id, Encounter.start_date, Encounter.id)).all()
    return [(rid, day, fid, Decimal(str(cost)).quantize(FEN)) for rid, day, fid, cost in rows]


def _outpatient_pooling(session: Session, county: str, year: int, terms: Pooling) -> list[Booked]:
    lo, hi = division_range(county)
    visits = outpatient_visits(session, first=date(year, 1, 1), last=date(year, 12, 31), terms=terms,
                               where=[Resident.village_code >= lo, Resident.village_code <= hi])
    parts = pooling_parts(((rid, day, cost) for rid, day, _fid, cost in visits), terms)
    out: dict[tuple[int, int], list[Any]] = {}
    for (_rid, day, fid, _cost), part in zip(visits, parts, strict=True):
        cell = out.setdefault((day.month, fid), [ZERO, 0])
        cell[0] += part
        cell[1] += 1
    return [Booked(month=m, facility_id=fid, in_county=True, kind=OUTPATIENT, amount=a, count=n)
            for (m, fid), (a, n) in sorted(out.items())]


@dataclass(frozen=True)
class Column:
    """One spender: a facility (key = its id as text), the village clinics together, or the stays outside
    the county."""

    key: str
    name: str | None  # the facility's name; None for the village clinics and out of county (the page labels them)
    facility_type: str | None
    total: Decimal


@dataclass(frozen=True)
class Month:
    month: int  # 1..12
    by_column: dict[str, Decimal]  # column key → spending
    total: Decimal
    cumulative: Decimal
    stays: int
    inpatient: Decimal = ZERO  # of total: stays
    outpatient: Decimal = ZERO  # of total: outpatient pooling
    visits: int = 0  # outpatient visits the pooling paid for (or counted at nothing)


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
    counted_payers: tuple[str, ...] = field(default=("basic_pays",))
    inpatient_spent: Decimal = ZERO
    outpatient_spent: Decimal = ZERO
    visits: int = 0
    in_county_spent: Decimal = ZERO
    in_county_share: Decimal | None = None  # 县域内基金支出占比: in_county_spent ÷ spent, four decimals
    sharing: Sharing | None = None  # the projected balance's division (结余留用 / 合理超支分担)
    rules: Rules | None = None

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


def _ratio(part: Decimal, whole: Decimal) -> Decimal:
    return (part / whole).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def report(*, session: Session, actor: Actor, county_code: str, year: int, as_of: date | None = None) -> BudgetReport:
    """Budget against spending for one year, month by month and facility by facility."""
    require_reader(actor)
    county = county_of(actor, county_code)
    y = year
    as_of = as_of or clock.today()
    rules = budget_rules()
    budget = get_budget(session=session, county_code=county, year=y)
    facilities = {f.id: f for f in orgunits_service.list_facilities(session=session, under=county)}

    def key_of(b: Booked) -> str:
        if b.facility_id is None or not b.in_county:
            return OUT_OF_COUNTY
        facility = facilities.get(b.facility_id)
        if facility is not None and facility.type == "village_clinic":
            return VILLAGE_CLINICS
        return str(b.facility_id)

    by_month: dict[int, dict[str, Decimal]] = {m: {} for m in range(1, 13)}
    kinds = {m: {INPATIENT: ZERO, OUTPATIENT: ZERO} for m in range(1, 13)}
    counts = {m: {INPATIENT: 0, OUTPATIENT: 0} for m in range(1, 13)}
    totals: dict[str, Decimal] = {}
    in_county = ZERO
    for b in monthly_spending(session=session, county_code=county, year=y, rules=rules):
        key = key_of(b)
        cell = by_month[b.month]
        cell[key] = cell.get(key, ZERO) + b.amount
        totals[key] = totals.get(key, ZERO) + b.amount
        kinds[b.month][b.kind] += b.amount
        counts[b.month][b.kind] += b.count
        if key != OUT_OF_COUNTY:
            in_county += b.amount

    def order(key: str) -> tuple[int, str]:
        if key == VILLAGE_CLINICS:
            return _TYPE_ORDER.index("village_clinic") if "village_clinic" in _TYPE_ORDER else len(_TYPE_ORDER), ""
        facility = facilities.get(int(key))
        return _type_order(facility), facility.code if facility else key

    columns = []
    for k in sorted((k for k in totals if k != OUT_OF_COUNTY), key=order):
        facility = facilities.get(int(k)) if k.isdigit() else None
        columns.append(Column(key=k, name=facility.name if facility else None,
                              facility_type=facility.type if facility else "village_clinic", total=totals[k]))
    if OUT_OF_COUNTY in totals:
        columns.append(Column(key=OUT_OF_COUNTY, name=None, facility_type=None, total=totals[OUT_OF_COUNTY]))
    months, running = [], ZERO
    for m in range(1, 13):
        total = sum(by_month[m].values(), ZERO)
        running += total
        months.append(Month(month=m, by_column=by_month[m], total=total, cumulative=running,
                            stays=counts[m][INPATIENT], inpatient=kinds[m][INPATIENT], outpatient=kinds[m][OUTPATIENT],
                            visits=counts[m][OUTPATIENT]))
    spent = running
    elapsed = elapsed_months(y, as_of)
    out = BudgetReport(county_code=county, year=y, budget=budget.amount if budget else None,
                       note=budget.note if budget else None, columns=columns, months=months, spent=spent,
                       stays=sum(m.stays for m in months), elapsed_months=elapsed.quantize(Decimal("0.01")),
                       as_of=as_of, counted_payers=rules.settlement_parts,
                       inpatient_spent=sum((m.inpatient for m in months), ZERO),
                       outpatient_spent=sum((m.outpatient for m in months), ZERO),
                       visits=sum(m.visits for m in months), in_county_spent=in_county,
                       in_county_share=_ratio(in_county, spent) if spent > 0 else None, rules=rules)
    if elapsed > 0:
        out.projected = _fen(spent / elapsed * 12)
    if budget is not None:
        out.used_share = _ratio(spent, budget.amount)
        if out.projected is not None:
            out.balance = budget.amount - out.projected
            out.sharing = share(budget.amount, out.projected, rules)
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
