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
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
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

__all__ = ["DefinitionError", "DrillPage", "Indicator", "IndicatorValue", "LEVELS", "Target", "compute",
           "drilldown", "export_xlsx", "get_indicator", "list_indicators", "list_populations", "set_population",
           "YearEndRow", "year_end_table"]


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
    """The records behind a figure's numerator, one page. columns: keys of DRILL_COLUMNS (labels:
    `indicators.columns.<key>`); rows: dicts over those keys, identity numbers masked."""

    indicator: str
    orgunit: str
    period: str
    columns: list[str]
    rows: list[dict[str, Any]]
    total: int
    page: int
    page_size: int

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
def drilldown(*, session: Session, actor: Actor, indicator_id: str, orgunit: str | None, period: str,
              page: int = 1, page_size: int = 50) -> DrillPage:
    """The records behind the numerator of one figure (org unit and period), scoped by the actor, one
    page ordered by date then name; identity numbers masked. The read is audited as a list read."""
    require_reader(actor)
    actor.require("resident:read")
    ind = get_indicator(indicator_id)
    p = parse_period(period)
    code = access.orgunit_target(session=session, actor=actor, orgunit=orgunit, default_county=True).code
    if not isinstance(page, int) or page < 1:
        raise InvalidInput("page", _E + "page_invalid")
    if not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidInput("page_size", _E + "page_size_invalid", max=MAX_PAGE_SIZE)
    lo, hi = division_range(code)
    measure = measures.MEASURES[ind.numerator.measure]
    ctx = measures.Context(session=session, actor=actor, area=code, lo=lo, hi=hi, periods=[p])
    stmt = measure.records(ctx, ind.numerator.filter_dict, p).subquery("records")
    total = session.scalar(select(func.count()).select_from(stmt)) or 0
    rows = session.execute(select(stmt).order_by(stmt.c.date, stmt.c.name, stmt.c.id)
                           .offset((page - 1) * page_size).limit(page_size)).all()
    names = residents_service.village_names(session=session, codes={r.village_code for r in rows}) if rows else {}
    shown = disclosure_for(actor)
    # A record dated on its person's birthday (births, population bands) would give the birth date back
    # beside the masked number: without resident:read_identity that date is left out (core.disclosure).
    born = {} if shown.full else residents_service.birth_dates(
        session=session, ids={r.id for r in rows if r.id is not None and r.id_number})
    out_rows = []
    for r in rows:
        day = r.date
        if hasattr(day, "tzinfo") and getattr(day, "tzinfo", None) is not None:
            day = clock.local_date(day)
        if born.get(r.id) is not None and day == born[r.id]:
            day = None
        out_rows.append({"resident_id": r.id, "name": r.name, "id_number": MASKED.id_number(r.id_number),
                         "village_code": r.village_code,
                         "village_name": names.get(r.village_code, r.village_code),
                         "date": day, "facility": r.facility, "detail": r.detail})
    accounts_service.audit(session=session, actor=actor, action="list", entity_type="indicator_records",
                           entity_id=ind.id, basis=access.scope_basis(actor),
                           detail={"orgunit": code, "period": p.code, "page": page, "rows": len(out_rows),
                                   "total": total},
                           shown=[r["resident_id"] for r in out_rows])
    return DrillPage(ind.id, code, p.code, list(DRILL_COLUMNS), out_rows, int(total), page, page_size)


# --- export -----------------------------------------------------------------------------------------
def export_xlsx(values: list[IndicatorValue], tr: Any) -> bytes:
    """A formatted workbook of the values (see indicators.export)."""
    from weijian.indicators.export import workbook

    return workbook(values, tr)


def _validate_at_start() -> Definitions:
    return definitions()


_validate_at_start()  # a broken definitions file stops the application at start, not a dashboard
