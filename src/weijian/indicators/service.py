"""The indicators domain's service: the definitions, their values over org unit × period (rolled up from
the finest org unit by summing numerators and denominators, never by averaging rates), the records behind
a figure, and the xlsx export. Pages, API and CLI call only this module.

Permissions: figures need `stats:read` (bureau) or `care:read` (clinicians, inside their scope); the
records behind a figure also need `resident:read`, and their reading is audited as a list read.
"""
from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from types import SimpleNamespace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.core import clock, tallies
from weijian.core.actor import Actor
from weijian.core.disclosure import MASKED, disclosure_for
from weijian.core.errors import Forbidden, InvalidInput, NotFound
from weijian.core.identifiers import division_level, division_range
from weijian.core.periods import Period, months_of, parse_period
from weijian.indicators import measures
from weijian.indicators import records as listings
from weijian.indicators.definitions import DefinitionError, Definitions, Indicator, Target, definitions

# Re-exported: the statistics office's year-end resident population (indicators.population).
from weijian.indicators.population import YearEndRow, list_populations, set_population, year_end_table
from weijian.orgunits import service as orgunits_service
from weijian.residents import access
from weijian.residents import service as residents_service

LEVELS = ("county", "township", "village")
ALL_LEVELS = "all"  # the org unit and every unit below it
READ_PERMISSIONS = ("stats:read", "care:read")
MAX_PAGE_SIZE = 200
DRILL_COLUMNS = ("name", "id_number", "village_code", "village_name", "date", "facility", "detail")
_E = "indicators.errors."

__all__ = ["DefinitionError", "DrillLists", "DrillPage", "Indicator", "IndicatorValue", "LEVELS", "Target",
           "YearEndRow", "cell_text", "compute", "detail_text", "drill_all", "drill_columns", "drill_export",
           "drill_lists", "drill_workbook", "drilldown", "export_xlsx", "get_indicator", "list_indicators",
           "list_populations", "set_population", "year_end_table"]


@dataclass(slots=True)
class IndicatorValue:
    """One indicator for one org unit and period. numerator/denominator: int, or Decimal for money; None
    when the measure gives nothing for such a period (chronic-disease rates for a month). value: Decimal
    rounded to the indicator's decimals, None when the denominator is 0 or missing."""

    indicator: str
    orgunit: str
    orgunit_name: str
    level: str
    period: str
    numerator: int | Decimal | None
    denominator: int | Decimal | None
    value: Decimal | None
    target: Decimal | None
    status: str | None  # green | amber | red | None (no target, or no value)

    def as_dict(self) -> dict[str, Any]:
        def num(x: Any) -> Any:  # JSON numbers: whole values as integers
            if isinstance(x, Decimal):
                exponent = x.as_tuple().exponent  # 'n', 'N', 'F' for NaN and infinity
                whole = isinstance(exponent, int) and exponent >= 0 and x == x.to_integral_value()
                return int(x) if whole else float(x)
            return x

        return {"indicator": self.indicator, "orgunit": self.orgunit, "orgunit_name": self.orgunit_name,
                "level": self.level, "period": self.period, "numerator": num(self.numerator),
                "denominator": num(self.denominator), "value": num(self.value), "target": num(self.target),
                "status": self.status}


@dataclass(frozen=True)
class DrillPage:
    """The records behind one figure, one page: those its numerator counts (`which` = counted) or, for a
    rate whose numerator and denominator count the same thing, those of the denominator it leaves out
    (missing). columns: keys of DRILL_COLUMNS shown for this measure (labels `indicators.columns.<key>`);
    rows: dicts over DRILL_COLUMNS plus resident_id, key, measure and quantity, identity numbers masked.
    `counts`: what a row is (indicators.records.COUNTS); `summed`: the figure is the rows' quantities added
    up (beds, money), `quantity` their total over every page."""

    indicator: str
    orgunit: str
    period: str
    columns: list[str]
    rows: list[dict[str, Any]]
    total: int
    page: int
    page_size: int
    which: str = "counted"
    lists: tuple[str, ...] = ("counted",)
    measure: str = ""
    counts: str = ""
    summed: bool = False
    quantity: Any = None
    per: str = "record"  # what one row is: record | person | facility


    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


# --- definitions ------------------------------------------------------------------------------------
def list_indicators(category: str | None = None) -> list[Indicator]:
    """Every built-in indicator in file order (or one category's)."""
    items = list(definitions().indicators.values())
    return [i for i in items if category is None or i.category == category]


def get_indicator(indicator_id: str) -> Indicator:
    found = definitions().indicators.get((indicator_id or "").strip())
    if found is None:
        raise NotFound(_E + "indicator_unknown", indicator=indicator_id)
    return found


# --- input ------------------------------------------------------------------------------------------
def require_reader(actor: Actor) -> None:
    """Figures need stats:read (bureau) or care:read (clinicians, inside their scope)."""
    if not any(actor.can(p) for p in READ_PERMISSIONS):
        raise Forbidden("core.errors.forbidden_permission", permission="stats:read")


def _level(level: str | None, unit_level: str) -> str:
    level = (level or "").strip() or unit_level
    if level not in (*LEVELS, ALL_LEVELS):
        raise InvalidInput("level", _E + "level_unknown", value=level, allowed=", ".join((*LEVELS, ALL_LEVELS)))
    if level != ALL_LEVELS and LEVELS.index(level) < LEVELS.index(unit_level):
        raise InvalidInput("level", _E + "level_above", value=level, unit_level=unit_level)
    return level


def _indicators(indicator_ids: list[str] | None) -> list[Indicator]:
    if not indicator_ids:
        return list_indicators()
    return [get_indicator(i) for i in dict.fromkeys(indicator_ids)]


# --- computation ------------------------------------------------------------------------------------
@lru_cache(maxsize=4096)
def _ancestors(code: str) -> tuple[str, ...]:
    """The code and the township and county above it (a facility may sit at a township's or the
    county's own code)."""
    level = division_level(code)
    if level == "county":
        return (code,)
    county = code[:6] + "000000"
    if level == "township":
        return (code, county)
    return (code, code[:9] + "000", county)


def _roll_up(values: dict[str, Any], wanted: set[str], targets: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    """Finest-code values summed into each wanted org unit code (`targets`: a code's wanted ancestors,
    filled as codes are met, shared by the computation's roll-ups)."""
    out: dict[str, Any] = {}
    get = out.get
    for code, v in values.items():
        ups = targets.get(code)
        if ups is None:
            ups = targets[code] = tuple(up for up in _ancestors(code) if up in wanted)
        for up in ups:
            out[up] = get(up, 0) + v
    return out


@lru_cache(maxsize=65536)
def _ratio(num: Any, den: Any, factor: int, decimals: int) -> Decimal:
    """num × factor ÷ den, rounded half up (a year of months for every unit repeats many pairs)."""
    return (Decimal(num) * factor / Decimal(den)).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Python's cycle collector off while a computation allocates its ~100,000 rows: its passes over the
    growing heap were a fifth of the time, and find nothing to free there (what little cyclic garbage is
    left is collected once it is back on). Back on after; with two computations at once, the first one in
    turns it back on on its way out."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def compute(*, session: Session, actor: Actor, indicator_ids: list[str] | None = None, period: str,
            orgunit: str | None = None, level: str | None = None, by_month: bool = False) -> list[IndicatorValue]:
    with _gc_paused():
        return _compute(session=session, actor=actor, indicator_ids=indicator_ids, period=period, orgunit=orgunit,
                        level=level, by_month=by_month)


# The sources of events (visits and stays, doses, checks and screenings, settlements): the first year one of
# them counted is where the county's records begin. Population is left out: it is counted from birth dates.
EVENT_SOURCES = ("enc", "dose", "checks", "settle")


def _period_with_data(session: Session, p: Period) -> None:
    """A period not begun yet is refused; so is one that ends before the county's records begin (its figures
    would read as zeros: "no data" is the answer, not 0.0)."""
    today = clock.today()
    if p.start > today:
        raise InvalidInput("period", "indicators.errors.period_future", period=p.code, today=today.isoformat())
    first = tallies.first_year(session, EVENT_SOURCES)
    if first is not None and p.end.year < first:
        raise InvalidInput("period", "indicators.errors.period_no_data", period=p.code, year=first)


def _compute(*, session: Session, actor: Actor, indicator_ids: list[str] | None, period: str,
             orgunit: str | None, level: str | None, by_month: bool) -> list[IndicatorValue]:
    """Values of the indicators asked for (default all) for the org unit (default: the actor's scope) —
    or for each unit of `level` under it, or (level "all") for it and every unit below it, county first —
    and the period, or each month of it (`by_month`).

    Every measure is read once for all the units and periods (one grouped query each); rows come in
    indicator order, then org-unit code, then period."""
    require_reader(actor)
    p = parse_period(period)
    _period_with_data(session, p)
    chosen = _indicators(indicator_ids)
    unit = access.orgunit_target(session=session, actor=actor, orgunit=orgunit, default_county=True)
    code, name, unit_level = unit.code, unit.name, unit.level
    lvl = _level(level, unit_level)
    periods = months_of(p) if by_month else [p]
    lo, hi = division_range(code)
    if lvl == unit_level:
        units = [(code, name, lvl)]
    else:
        units = [(u.code, u.name, u.level) for u in orgunits_service.list_orgunits(
            session=session, level=None if lvl == ALL_LEVELS else lvl) if lo <= u.code <= hi]
        units.sort(key=lambda u: (LEVELS.index(u[2]), u[0]))
    wanted = {c for c, _, _ in units}
    terms = [(t.measure, t.filter_dict) for i in chosen for t in (i.numerator, i.denominator) if t is not None]
    ctx = measures.Context(session=session, actor=actor, area=code, lo=lo, hi=hi, periods=periods, terms=terms)
    rolled: dict[tuple, list[dict[str, Any] | None]] = {}
    targets: dict[str, tuple[str, ...]] = {}
    for ind in chosen:
        for term in (ind.numerator, ind.denominator):
            if term is not None and term.key not in rolled:
                raw = measures.MEASURES[term.measure].compute(ctx, term.filter_dict)
                rolled[term.key] = [None if r is None else _roll_up(r, wanted, targets) for r in raw]
    out: list[IndicatorValue] = []
    append = out.append
    codes = [per.code for per in periods]
    for ind in chosen:
        nums = rolled[ind.numerator.key]
        dens = rolled[ind.denominator.key] if ind.denominator is not None else None
        target = ind.target.value if ind.target else None
        status_of = ind.target.status if ind.target else None
        factor, decimals, count_only = ind.factor, ind.decimals, ind.denominator is None
        for unit_code, unit_name, unit_lvl in units:
            for i, code_ in enumerate(codes):
                num = None if nums[i] is None else nums[i].get(unit_code, 0)
                den = None
                if dens is not None:
                    den = None if dens[i] is None else dens[i].get(unit_code, 0)
                    if den is None:
                        num = None
                # No value without a numerator, or with a denominator of 0 or none (inline: a year of
                # months for every unit is ~100,000 rows).
                if num is None or (not count_only and not den):
                    value = None
                else:
                    value = _ratio(num, 1 if count_only else den, factor, decimals)
                append(IndicatorValue(ind.id, unit_code, unit_name, unit_lvl, code_, num, den, value, target,
                                      status_of(value) if status_of is not None else None))
    return out


# --- drill-down -------------------------------------------------------------------------------------
LISTS = ("counted", "missing")
EXPORT_MAX_ROWS = 50_000  # per list; a larger list is cut and the sheet says so
_NO_FACILITY = {"population", "births"}  # a person's registration, not a service: no 机构 column


def drill_lists(ind: Indicator) -> tuple[str, ...]:
    """The lists a figure has: its numerator's records, and for a rate whose numerator and denominator
    count the same thing (children eligible and vaccinated; stays in the county and all stays) the
    denominator's records the numerator leaves out."""
    if ind.denominator is None:
        return ("counted",)
    same = listings.counts(ind.numerator.measure) == listings.counts(ind.denominator.measure)
    return LISTS if same else ("counted",)


def _shaped(listing: listings.Listing) -> listings.Listing:
    """A listing over exactly listings.COLUMNS (a statement without key or quantity: the resident's id is
    the key, no quantity)."""
    if isinstance(listing, listings.Rows):
        return listing
    sub = listing.subquery("raw")
    key = sub.c.key if "key" in sub.c else sub.c.id
    quantity = sub.c.quantity if "quantity" in sub.c else listings.NO_QUANTITY
    return select(key.label("key"), sub.c.id, sub.c.name, sub.c.id_number, sub.c.village_code, sub.c.date,
                  sub.c.facility, sub.c.detail, quantity.label("quantity"))


def _listing(session: Session, actor: Actor, ind: Indicator, code: str, p: Period, which: str) -> listings.Listing:
    lo, hi = division_range(code)
    ctx = measures.Context(session=session, actor=actor, area=code, lo=lo, hi=hi, periods=[p])

    def of(term: Any) -> listings.Listing:
        records = measures.MEASURES[term.measure].records
        assert records is not None
        return _shaped(records(ctx, term.filter_dict, p))

    counted = of(ind.numerator)
    if which == "counted":
        return counted
    assert ind.denominator is not None
    every = of(ind.denominator)
    if isinstance(every, listings.Rows) or isinstance(counted, listings.Rows):
        def rows(x: listings.Listing) -> list[dict[str, Any]]:
            if isinstance(x, listings.Rows):
                return x.items
            return [dict(r._mapping) for r in session.execute(x)]
        keys = {r["key"] for r in rows(counted)}
        return listings.Rows([r for r in rows(every) if r["key"] not in keys])
    num = counted.subquery("counted")
    den = every.subquery("every")
    return select(*den.c).where(den.c.key.not_in(select(num.c.key).where(num.c.key.is_not(None))))


def _read(session: Session, listing: listings.Listing, offset: int, limit: int) -> tuple[int, Any, list[Any]]:
    """(rows in all, their quantities added up, one slice ordered by date, name, id)."""
    if isinstance(listing, listings.Rows):
        items = sorted(listing.items, key=lambda r: (r["date"] is None, r["date"] or date.min, r["name"] or "",
                                                     r["id"] or 0, r["key"] or 0))
        quantities = [r["quantity"] for r in items if r["quantity"] is not None]
        return (len(items), sum(quantities) if quantities else None,
                [SimpleNamespace(**r) for r in items[offset:offset + limit]])
    sub = listing.subquery("records")
    total, quantity = session.execute(select(func.count(), func.sum(sub.c.quantity)).select_from(sub)).one()
    rows = session.execute(select(sub).order_by(sub.c.date, sub.c.name, sub.c.id, sub.c.key)
                           .offset(offset).limit(limit)).all()
    return int(total or 0), quantity, list(rows)


def _present(session: Session, actor: Actor, rows: list[Any], measure: str) -> list[dict[str, Any]]:
    """Rows as shown: identity numbers masked, village names, local days; a record dated on its person's
    birthday (births, population bands) would give the birth date back beside the masked number: without
    resident:read_identity that date is left out (core.disclosure)."""
    names = residents_service.village_names(session=session, codes={r.village_code for r in rows}) if rows else {}
    shown = disclosure_for(actor)
    born = {} if shown.full else residents_service.birth_dates(
        session=session, ids={r.id for r in rows if r.id is not None and r.id_number})
    out = []
    for r in rows:
        day = r.date
        if isinstance(day, datetime):
            day = clock.local_date(day) if day.tzinfo is not None else day.date()
        if born.get(r.id) is not None and day == born[r.id]:
            day = None
        out.append({"resident_id": r.id, "key": r.key, "measure": measure, "name": r.name,
                    "id_number": MASKED.id_number(r.id_number), "village_code": r.village_code,
                    "village_name": names.get(r.village_code, r.village_code), "date": day,
                    "facility": r.facility, "detail": r.detail, "quantity": r.quantity})
    return out


def _drill_input(session: Session, actor: Actor, indicator_id: str, orgunit: str | None, period: str,
                 which: str) -> tuple[Indicator, str, Period]:
    require_reader(actor)
    actor.require("resident:read")
    ind = get_indicator(indicator_id)
    for term in (ind.numerator, ind.denominator):
        needed = measures.MEASURES[term.measure].drill_permission if term is not None else None
        if needed:  # a list of especially sensitive records (severe mental illness)
            actor.require(needed)
    p = parse_period(period)
    code = access.orgunit_target(session=session, actor=actor, orgunit=orgunit, default_county=True).code
    if which not in drill_lists(ind):
        raise InvalidInput("list", _E + "list_unknown", value=which, allowed=", ".join(drill_lists(ind)))
    return ind, code, p


def drilldown(*, session: Session, actor: Actor, indicator_id: str, orgunit: str | None, period: str,
              page: int = 1, page_size: int = 50, which: str = "counted") -> DrillPage:
    """The records behind one figure (org unit and period), scoped by the actor: those its numerator counts
    (`which` = counted) or, for a rate, the denominator's it leaves out (missing; drill_lists says which a
    figure has) — one page ordered by date then name, identity numbers masked. Audited as a list read."""
    ind, code, p = _drill_input(session, actor, indicator_id, orgunit, period, which)
    if not isinstance(page, int) or page < 1:
        raise InvalidInput("page", _E + "page_invalid")
    if not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidInput("page_size", _E + "page_size_invalid", max=MAX_PAGE_SIZE)
    term = ind.numerator if which == "counted" or ind.denominator is None else ind.denominator
    total, quantity, rows = _read(session, _listing(session, actor, ind, code, p, which), (page - 1) * page_size,
                                  page_size)
    out_rows = _present(session, actor, rows, term.measure)
    accounts_service.audit(session=session, actor=actor, action="list", entity_type="indicator_records",
                           entity_id=ind.id, basis=access.scope_basis(actor),
                           detail={"orgunit": code, "period": p.code, "list": which, "page": page,
                                   "rows": len(out_rows), "total": total},
                           shown=[r["resident_id"] for r in out_rows if r["resident_id"] is not None])
    return DrillPage(ind.id, code, p.code, drill_columns(term.measure), out_rows, total, page, page_size,
                     which=which, lists=drill_lists(ind), measure=term.measure,
                     counts=listings.counts(term.measure), summed=term.measure in listings.SUMMED,
                     quantity=quantity, per=listings.per(term.measure))


def drill_columns(measure: str) -> list[str]:
    return [c for c in DRILL_COLUMNS if not (c == "facility" and measure in _NO_FACILITY)]


@dataclass(frozen=True)
class DrillLists:
    """Every list of one figure for an export or a printed form: (which, columns, rows, total) each."""

    indicator: Indicator
    orgunit: str
    orgunit_name: str
    period: str
    figure: IndicatorValue | None
    sheets: list[tuple[str, list[str], list[dict[str, Any]], int]]


def drill_all(*, session: Session, actor: Actor, indicator_id: str, orgunit: str | None, period: str,
              limit: int = EXPORT_MAX_ROWS, form: str = "xlsx") -> DrillLists:
    """Every list of one figure (counted, and missing for a rate), at most `limit` rows each (the total
    says how many there are), with the figure; audited as an export in `form` (xlsx, print)."""
    ind, code, p = _drill_input(session, actor, indicator_id, orgunit, period, "counted")
    figure = next((v for v in compute(session=session, actor=actor, indicator_ids=[ind.id], period=p.code,
                                      orgunit=code) if v.orgunit == code), None)
    sheets = []
    shown: list[int] = []
    for which in drill_lists(ind):
        term = ind.numerator if which == "counted" or ind.denominator is None else ind.denominator
        total, _quantity, rows = _read(session, _listing(session, actor, ind, code, p, which), 0, limit)
        out_rows = _present(session, actor, rows, term.measure)
        shown += [r["resident_id"] for r in out_rows if r["resident_id"] is not None]
        sheets.append((which, drill_columns(term.measure), out_rows, total))
    accounts_service.audit(session=session, actor=actor, action="export", entity_type="indicator_records",
                           entity_id=ind.id, basis=access.scope_basis(actor),
                           detail={"orgunit": code, "period": p.code, "form": form, "lists": [s[0] for s in sheets],
                                   "rows": [len(s[2]) for s in sheets], "total": [s[3] for s in sheets]},
                           shown=sorted(set(shown)))
    unit = orgunits_service.get(session=session, code=code)
    return DrillLists(ind, code, unit.name if unit is not None else code, p.code, figure, sheets)


def drill_workbook(got: DrillLists, tr: Any) -> bytes:
    """The lists of drill_all as an xlsx workbook, one sheet each (indicators.export.drill_workbook)."""
    from weijian.indicators.export import drill_workbook as workbook

    return workbook(got.indicator, got.orgunit_name, got.orgunit, got.period, got.figure, got.sheets, tr)


def drill_export(*, session: Session, actor: Actor, indicator_id: str, orgunit: str | None, period: str,
                 tr: Any, limit: int = EXPORT_MAX_ROWS) -> bytes:
    """Every list of one figure as an xlsx workbook (drill_all, then drill_workbook); audited as an export."""
    return drill_workbook(drill_all(session=session, actor=actor, indicator_id=indicator_id, orgunit=orgunit,
                                    period=period, limit=limit), tr)


def cell_text(row: dict[str, Any], column: str, tr: Any) -> Any:
    """A drill-down cell as shown and exported: 说明 in words, a facility's type by its name, else the value."""
    if column == "detail":
        return detail_text(row, tr)
    value = row.get(column)
    if column == "facility" and row.get("measure") in ("beds", "physicians") and value:
        return orgunits_service.type_labels(tr.locale).get(value, value)
    return value


def detail_text(row: dict[str, Any], tr: Any) -> str:
    """The 说明 of a drill-down row in words: the code's label (an encounter type, a screening result, a
    referral state, a vaccine dose and whether it was in time) and the quantity it adds with its unit."""
    detail, n, measure = row.get("detail"), row.get("quantity"), row.get("measure", "")
    if detail is None:
        return ""
    text = str(detail)
    if measure in ("population", "births"):
        return tr(f"residents.sex.{text}") if text in ("male", "female") else text
    if measure == "settlement_amount":
        return tr("indicators.detail.amount", amount=f"{Decimal(str(n or detail)):,.2f}")
    if measure == "vaccination_doses" or measure.startswith("children_"):
        dose, _, state = text.partition(":")
        vaccine, _, number = dose.rpartition("-")
        words = tr("indicators.detail.dose", vaccine=tr(f"immunization.vaccines.{vaccine}"), dose=number)
        return words + (tr(f"indicators.detail.dose_{state}") if state else "")
    key = f"indicators.detail.{text.replace(':', '_')}"
    words = tr(key, n=n if n is not None else "")
    return text if words == key else words


# --- export -----------------------------------------------------------------------------------------
def export_xlsx(values: list[IndicatorValue], tr: Any, approved: dict[tuple[str, str, str], str] | None = None
                ) -> bytes:
    """A formatted workbook of the values (see indicators.export); `approved`: the notes of approved figures
    (indicators.approval.approved_notes)."""
    from weijian.indicators.export import workbook

    return workbook(values, tr, approved)


def _validate_at_start() -> Definitions:
    return definitions()


_validate_at_start()  # a broken definitions file stops the application at start, not a dashboard
