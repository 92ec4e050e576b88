"""The named measures indicator definitions are built from: what each counts or sums, its filters, and
how it is computed — at the finest org unit (the village of the person's residence, or the org unit a
facility is registered at) in ONE grouped query per (measure, filters, set of periods); the service
rolls those up to townships and the county by code prefix.

Two kinds:
- `flow`: counted over the period's dates. Additive flows are read once per month (the month is a
  group key) and summed into the periods asked for; flows that count a person once per period
  (screened women, checked elderly) are read with one column per period.
- `stock`: as of the period's last day (population, beds, physicians, patients under management,
  children eligible for a dose). Some stocks need at least a quarter (chronic-disease rates): for a
  month they give no value (None).

Each measure also lists the records behind it (`records`): a statement of resident rows (id, name,
identity number, village, date, facility, detail), or of facilities for capacity measures.

The big measures (visits and stays, doses, births and population, coverage, elderly checks and
screenings, settlement totals) are read from the running tallies (core.tallies, indicators.tallies)
while those are fresh, and counted from the records by the grouped queries below otherwise: both give
the same numbers (tests/indicators/test_service.py runs every hand-worked answer both ways). Chronic-
disease rates, screened women, referrals and capacity are always counted from the records.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Any, cast

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from weijian.care import service as care_service
from weijian.core import tallies as core_tallies
from weijian.core.actor import Actor
from weijian.core.identifiers import division_level, division_range
from weijian.core.periods import Period, months_of, yyyymm
from weijian.immunization import service as immunization_service
from weijian.indicators import population, tallies
from weijian.indicators import records as listings
from weijian.orgunits import service as orgunits_service
from weijian.residents import service as residents_service
from weijian.settlement import service as settlement_service
from weijian.surveillance import service as surveillance_service

Number = int | Decimal
Values = dict[str, Number]  # finest org-unit code → value


# --- where a value is counted (issue 15 item 13) -----------------------------------------------------
ATTRIBUTIONS: dict[str, str] = {
    "event_residence": "the village the person lived in on the event's day (residence history)",
    "reference_residence": "the village the person lived in, active, on the period's last day (the "
                           "reference date: year end for a year)",
    "facility": "the org unit the facility is registered at, as of the period's last day",
    "settlement_village": "the village written on the settlement when it was settled",
    "reference_village": "the village the person lived in on the period's last day, whatever their status then "
                         "(chronic-disease management: a patient who died or left during the period was managed "
                         "in it)",
    "current_residence": "the village the person lives in today (the residence history not applied: a later move "
                         "moves a past period's value; severe mental illness only, for now)",
}


# --- filters ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Filter:
    """One filter a measure accepts: `choice` (one of `choices`), `int` (min..max) or `bool`."""

    name: str
    kind: str
    choices: tuple[str, ...] = ()
    min: int = 0
    max: int = 150
    default: Any = None
    required: bool = False

    def clean(self, value: Any) -> Any:
        """The value checked; ValueError saying why."""
        if self.kind == "choice":
            if value not in self.choices:
                raise ValueError(f"must be one of {', '.join(self.choices)} (got {value!r})")
            return value
        if self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, int) or not self.min <= value <= self.max:
                raise ValueError(f"must be a whole number from {self.min} to {self.max} (got {value!r})")
            return value
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise ValueError(f"must be true or false (got {value!r})")
            return value
        raise AssertionError(self.kind)


# --- the computation's context ----------------------------------------------------------------------
@dataclass
class Context:
    """One computation: the org unit (its code range), the periods, and a cache shared by the measures
    (one query feeds several measures: visits and stays, coverage of every dose)."""

    session: Session
    actor: Actor
    area: str
    lo: str
    hi: str
    periods: list[Period]
    # Every (measure, filters) of this computation: measures read together batch their reads.
    terms: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    cache: dict[Any, Any] = field(default_factory=dict)

    def once(self, key: Any, fetch: Callable[[], Any]) -> Any:
        if key not in self.cache:
            self.cache[key] = fetch()
        return self.cache[key]

    @property
    def start(self) -> date:
        return min(p.start for p in self.periods)

    @property
    def end(self) -> date:
        return max(p.end for p in self.periods)


@dataclass(frozen=True)
class Measure:
    name: str
    kind: str  # flow | stock
    filters: tuple[Filter, ...]
    compute: Callable[[Context, dict[str, Any]], list[Values | None]]  # one entry per ctx.periods
    records: Callable[[Context, dict[str, Any], Period], listings.Listing] | None = None
    at: str = "village"  # village | facility: where its values land
    money: bool = False
    # Where a value is counted (ATTRIBUTIONS); indicators.yaml names it for each indicator, checked at start.
    attribution: str = "event_residence"
    # The permission a drill-down of this measure needs beyond resident:read (a list of especially sensitive
    # records: severe mental illness, mental:read).
    drill_permission: str | None = None

    def filter(self, name: str) -> Filter | None:
        return next((f for f in self.filters if f.name == name), None)

    def clean_filters(self, given: dict[str, Any]) -> dict[str, Any]:
        """Defaults applied, every value checked: ValueError naming the filter."""
        out: dict[str, Any] = {}
        for key in given:
            if self.filter(key) is None:
                raise ValueError(f"unknown filter `{key}` of measure `{self.name}` "
                                 f"(allowed: {', '.join(f.name for f in self.filters) or 'none'})")
        for f in self.filters:
            if f.name in given and given[f.name] is not None:
                try:
                    out[f.name] = f.clean(given[f.name])
                except ValueError as exc:
                    raise ValueError(f"filter `{f.name}` of measure `{self.name}` {exc}") from None
            elif f.required:
                raise ValueError(f"measure `{self.name}` needs the filter `{f.name}`")
            elif f.default is not None:
                out[f.name] = f.default
        return out


# --- helpers ----------------------------------------------------------------------------------------
def _month_sums(ctx: Context, by_month: dict[tuple[str, int], Any], pick: Callable[[Any], Number] = lambda v: v
                ) -> list[Values]:
    """Sum (code, yyyymm) values into each of the context's periods."""
    out: list[Values] = [{} for _ in ctx.periods]
    into: dict[int, list[Values]] = {}  # yyyymm → the periods' values it adds to
    for p, acc in zip(ctx.periods, out, strict=True):
        for m in months_of(p):
            into.setdefault(yyyymm(m.start), []).append(acc)
    for (code, ym), v in by_month.items():
        targets = into.get(ym)
        if targets:
            n = pick(v)
            if n:
                for acc in targets:
                    acc[code] = acc.get(code, 0) + n
    return out


# --- reading the running tallies (core.tallies; indicators.tallies says what they count) -----------
def _fresh(ctx: Context, source: str) -> bool:
    """Whether this source's tallies may be read (built under the rules in force); else count records."""
    return source in ctx.once(("tallies",), lambda: core_tallies.fresh(ctx.session))


def _tallied_months(ctx: Context, series: list[str] | None = None, prefix: str | None = None
                    ) -> dict[tuple[str, str, int], int]:
    """(series, unit, yyyymm) → the month's tally over the computation's months."""
    return core_tallies.months(ctx.session, series, ctx.lo, ctx.hi, yyyymm(ctx.start), yyyymm(ctx.end), prefix=prefix)


def _tallied_stocks(ctx: Context, series: list[str]) -> dict[str, list[Values]]:
    """series → for each period, unit → the stock at the period's end: the balance before the first
    period's year plus the months' +1/-1 up to the period's last month (a running sum along the months)."""
    year = ctx.start.year
    base = core_tallies.opening(ctx.session, series, ctx.lo, ctx.hi, year)
    deltas = core_tallies.months(ctx.session, series, ctx.lo, ctx.hi, year * 100 + 1, yyyymm(ctx.end))
    order = sorted(range(len(ctx.periods)), key=lambda i: ctx.periods[i].end)
    lasts = [yyyymm(ctx.periods[i].end) for i in order]
    running: dict[str, dict[str, int]] = {name: {} for name in series}
    for (name, unit), n in base.items():
        running[name][unit] = n
    steps: dict[str, list[tuple[int, str, int]]] = {name: [] for name in series}
    for (name, unit, ym), n in deltas.items():
        steps[name].append((ym, unit, n))
    out: dict[str, list[Values]] = {}
    for name in series:
        now, todo = running[name], sorted(steps[name])
        values: list[Values] = [{} for _ in ctx.periods]
        k = 0
        for i, last in zip(order, lasts, strict=True):
            while k < len(todo) and todo[k][0] <= last:
                _ym_, unit, n = todo[k]
                now[unit] = now.get(unit, 0) + n
                k += 1
            values[i] = {u: n for u, n in now.items() if n}
        out[name] = values
    return out


# --- population and births --------------------------------------------------------------------------
def _population(ctx: Context, f: dict[str, Any]) -> list[Values | None]:
    def group(g: dict[str, Any]) -> tuple:
        return (g.get("age_min"), g.get("age_max"), g.get("sex"))

    def fetch() -> dict[tuple, list[Values]]:
        # Every age group of this computation in one read of the residents.
        groups = list(dict.fromkeys([group(g) for m, g in ctx.terms if m == "population"] + [group(f)]))
        counts = residents_service.population_groups(session=ctx.session, lo=ctx.lo, hi=ctx.hi,
                                                     dates=[p.end for p in ctx.periods], groups=groups)
        return dict(zip(groups, cast("list[list[Values]]", counts), strict=True))  # counts are ints: Values

    if _fresh(ctx, "people") and group(f) in tallies.bands():
        stocks = ctx.once(("population", "tallied"), lambda: _tallied_stocks(
            ctx, [tallies.band_series(b) for b in tallies.bands()]))
        return stocks[tallies.band_series(group(f))]
    every = ctx.once(("population",), fetch)
    if group(f) not in every:  # a group asked for outside ctx.terms
        every.update(fetch())
    return every[group(f)]


def _resident_population(ctx: Context, f: dict[str, Any]) -> list[Values | None]:
    """常住人口 on a year's last day: the statistics office's figure where one is entered for an org unit and
    that year (indicators.population), else the registry's count (the population measure). The entered
    figure of a unit is placed as an adjustment at the unit's own code — entered minus what its subtree
    counts — so the service's roll-up by code prefix gives exactly the entered figure for that unit, and
    the sum of its parts to the units above without one. A period not ending on 31 December (a month, a
    quarter before the fourth) has no year-end figure: the registry's count on its last day is used."""
    counted = _population(ctx, {})
    years = {p.end.year for p in ctx.periods if (p.end.month, p.end.day) == (12, 31)}
    given = ctx.once(("resident_population",), lambda: population.entered(ctx.session, ctx.lo, ctx.hi, years))
    out: list[Values | None] = []
    for p, values in zip(ctx.periods, counted, strict=True):
        if values is None or (p.end.month, p.end.day) != (12, 31) or not given:
            out.append(values)
            continue
        mine: Values = dict(values)
        # Deepest units first (villages, then townships, then the county): a township's adjustment sees its
        # villages' entered figures already in place.
        for code in sorted((c for c, y in given if y == p.end.year), key=_depth, reverse=True):
            lo, hi = division_range(code)
            below = sum(v for c, v in mine.items() if lo <= c <= hi)
            mine[code] = mine.get(code, 0) + given[(code, p.end.year)] - below
        out.append({c: v for c, v in mine.items() if v})
    return out


def _depth(code: str) -> int:
    return {"county": 0, "township": 1}.get(division_level(code), 2)


def _population_records(ctx: Context, f: dict[str, Any], p: Period) -> Select:
    return residents_service.population_records(on=p.end, lo=ctx.lo, hi=ctx.hi, age_min=f.get("age_min"),
                                              age_max=f.get("age_max"), sex=f.get("sex"))


def _births(ctx: Context, f: dict[str, Any]) -> list[Values | None]:
    if _fresh(ctx, "people"):
        by_month = {(unit, ym): n for (_s, unit, ym), n in _tallied_months(ctx, ["people:births"]).items()}
        return _month_sums(ctx, by_month)
    by_month = ctx.once(("births",), lambda: residents_service.births_by_month(
        session=ctx.session, lo=ctx.lo, hi=ctx.hi, start=ctx.start, end=ctx.end))
    return _month_sums(ctx, by_month)


def _births_records(ctx: Context, f: dict[str, Any], p: Period) -> Select:
    return residents_service.population_records(on=p.end, lo=ctx.lo, hi=ctx.hi, born_from=p.start)


# --- facility capacity ------------------------------------------------------------------------------
def _parent(code: str) -> str | None:
    level = division_level(code)
    return None if level == "county" else code[:6] + "000000" if level == "township" else code[:9] + "000"


def _capacity(ctx: Context, p: Period) -> dict[str, dict[str, int]]:
    """org unit → its OWN facilities' capacity figures on the period's last day (capacity_as_of gives
    subtree totals: a unit's own share is its total less its children's)."""
    def fetch() -> dict[date, dict[str, dict[str, int]]]:
        every = orgunits_service.capacity_as_of_dates(session=ctx.session, dates=sorted({q.end for q in ctx.periods}),
                                                      scope_code=ctx.area)
        out = {}
        for end, totals in every.items():
            own = out[end] = {code: t.as_dict() for code, t in totals.items()}
            for code, t in totals.items():
                parent = _parent(code)
                if parent in own:
                    for k, v in t.as_dict().items():
                        own[parent][k] -= v
        return out
    return ctx.once(("capacity",), fetch)[p.end]


def _beds(ctx: Context, f: dict[str, Any]) -> list[Values | None]:
    key = "beds_open" if f["kind"] == "open" else "beds_approved"
    return [{c: v[key] for c, v in _capacity(ctx, p).items() if v[key]} for p in ctx.periods]


def _physicians(ctx: Context, f: dict[str, Any]) -> list[Values | None]:
    out: list[Values | None] = []
    for p in ctx.periods:
        own = _capacity(ctx, p)
        out.append({c: v["physicians"] + (v["assistant_physicians"] if f["include_assistant"] else 0)
                    for c, v in own.items()
                    if v["physicians"] or (f["include_assistant"] and v["assistant_physicians"])})
    return out


def _facility_records(ctx: Context, f: dict[str, Any], p: Period) -> listings.Listing:
    """The facilities with the figure in force on the period's last day (each one's snapshot by then)."""
    field = (("beds_open" if f["kind"] == "open" else "beds_approved") if "kind" in f
             else "physicians" if f.get("include_assistant", True) else "physicians_only")
    return listings.capacity(lo=ctx.lo, hi=ctx.hi, on=p.end, field=field)


# --- chronic-disease management ---------------------------------------------------------------------
def _chronic(which: str) -> Callable[[Context, dict[str, Any]], list[Values | None]]:
    def compute(ctx: Context, f: dict[str, Any]) -> list[Values | None]:
        out: list[Values | None] = []
        for p in ctx.periods:
            if p.kind == "month":  # too short for the norms' quarterly follow-up (care.chronic)
                out.append(None)
                continue
            report = ctx.once(("chronic", f["program"], p.code), partial(
                care_service.management_rates, session=ctx.session, program=f["program"], period=p,
                orgunit_code=ctx.area, actor=ctx.actor))
            attr = {"under_management": "under_management", "managed": "managed", "controlled": "controlled"}[which]
            out.append({r.code: getattr(r, attr) for r in report.rows
                        if r.level == "village" and getattr(r, attr)})
        return out
    return compute


def _chronic_records(which: str) -> Callable[[Context, dict[str, Any], Period], listings.Listing]:
    def listing(ctx: Context, f: dict[str, Any], p: Period) -> listings.Listing:
        if p.kind == "month":  # no figure for a month: no records either
            return listings.Rows([])
        required = care_service.get_program(f["program"]).required_follow_ups(p)
        return listings.chronic(care_service.chronic_records(lo=ctx.lo, hi=ctx.hi, period=p, program=f["program"],
                                                            which=which, required=required), f["program"])
    return listing


# --- TB patient management (surveillance) ----------------------------------------------------------
def _tb(which: str) -> Callable[[Context, dict[str, Any]], list[Values | None]]:
    def compute(ctx: Context, f: dict[str, Any]) -> list[Values | None]:
        return [cast("Values", surveillance_service.tb_counts_by_village(
            session=ctx.session, lo=ctx.lo, hi=ctx.hi, start=p.start, end=p.end, which=which)) for p in ctx.periods]
    return compute


def _tb_records(which: str) -> Callable[[Context, dict[str, Any], Period], listings.Listing]:
    def listing(ctx: Context, f: dict[str, Any], p: Period) -> listings.Listing:
        return surveillance_service.tb_records_for(session=ctx.session, lo=ctx.lo, hi=ctx.hi, start=p.start,
                                                   end=p.end, which=which)
    return listing


# --- immunization -----------------------------------------------------------------------------------
def _doses(ctx: Context, f: dict[str, Any]) -> list[Values | None]:
    vaccine = f.get("vaccine")
    if _fresh(ctx, "dose"):
        series = tallies.dose_series(vaccine) if vaccine else "dose:_all"
        return _month_sums(ctx, {(unit, ym): n for (_s, unit, ym), n in _tallied_months(ctx, [series]).items()})
    every = ctx.once(("doses",), lambda: immunization_service.doses_by_month_and_vaccine(
        session=ctx.session, lo=ctx.lo, hi=ctx.hi, start=ctx.start, end=ctx.end))
    by_month: dict[tuple[str, int], int] = {}
    for (village, ym, code), n in every.items():
        if vaccine is None or code == vaccine:
            by_month[(village, ym)] = by_month.get((village, ym), 0) + n
    return _month_sums(ctx, by_month)


def _doses_records(ctx: Context, f: dict[str, Any], p: Period) -> listings.Listing:
    return listings.keyed(immunization_service.dose_records(lo=ctx.lo, hi=ctx.hi, start=p.start, end=p.end,
                                                           vaccine=f.get("vaccine")), listings.VACCINATION_KEY)


_COVERAGE = ("children_eligible", "children_vaccinated", "children_vaccinated_timely")


def _coverage(index: int) -> Callable[[Context, dict[str, Any]], list[Values | None]]:
    def compute(ctx: Context, f: dict[str, Any]) -> list[Values | None]:
        def fetch() -> list[dict]:
            doses = {(g["vaccine"], g["dose"]) for m, g in ctx.terms if m in _COVERAGE} | {(f["vaccine"], f["dose"])}
            return immunization_service.coverage_by_period(session=ctx.session, actor=ctx.actor, area=ctx.area,
                                                          periods=ctx.periods, doses=doses)
        if _fresh(ctx, "cov") and (f["vaccine"], f["dose"]) in tallies.coverage_slots():
            which = ("e", "v", "t")[index]
            stocks = ctx.once(("coverage", "tallied"), lambda: _tallied_stocks(
                ctx, [tallies.cov_series(v, d, w) for v, d in tallies.coverage_slots() for w in ("e", "v", "t")]))
            return [None if not _has_edition(p.end) else stocks[tallies.cov_series(f["vaccine"], f["dose"], which)][i]
                    for i, p in enumerate(ctx.periods)]
        every = ctx.once(("coverage",), fetch)
        return [None if per is None else
                {v: t[index] for v, t in per.get((f["vaccine"], f["dose"]), {}).items() if t[index]}
                for per in every]
    return compute


def _has_edition(on: date) -> bool:
    from weijian.core.errors import InvalidInput

    try:
        immunization_service.edition_for(on)
    except InvalidInput:
        return False
    return True


def _coverage_records(which: str) -> Callable[[Context, dict[str, Any], Period], listings.Listing]:
    """The children eligible for the dose on the period's last day, or those of them counted vaccinated,
    or vaccinated in time: by the figure's own rules (alternative series, valid doses only)."""
    def listing(ctx: Context, f: dict[str, Any], p: Period) -> listings.Listing:
        return listings.coverage(session=ctx.session, actor=ctx.actor, area_lo=ctx.lo, area_hi=ctx.hi, on=p.end,
                                vaccine=f["vaccine"], dose=f["dose"], which=which)
    return listing


# --- visits, stays, screenings, checks, referrals ---------------------------------------------------
def _encounters(counter: str) -> Callable[[Context, dict[str, Any]], list[Values | None]]:
    i = care_service.ENCOUNTER_COUNTERS.index(counter)

    def compute(ctx: Context, f: dict[str, Any]) -> list[Values | None]:
        if _fresh(ctx, "enc"):
            by_month = ctx.once(("encounters", "tallied"), lambda: _tallied_encounters(ctx))
        else:
            by_month = ctx.once(("encounters",), lambda: care_service.encounter_counts(
                session=ctx.session, lo=ctx.lo, hi=ctx.hi, start=ctx.start, end=ctx.end))
        return _month_sums(ctx, by_month, lambda v: v[i])
    return compute


def _tallied_encounters(ctx: Context) -> dict[tuple[str, int], tuple[int, ...]]:
    counters = care_service.ENCOUNTER_COUNTERS
    out: dict[tuple[str, int], list[int]] = {}
    for (name, unit, ym), n in _tallied_months(ctx, [f"enc:{c}" for c in counters]).items():
        out.setdefault((unit, ym), [0] * len(counters))[counters.index(name.removeprefix("enc:"))] = n
    return {k: tuple(v) for k, v in out.items()}


def _visits(ctx: Context, f: dict[str, Any]) -> list[Values | None]:
    return _encounters("outpatient_primary" if f["tier"] == "primary" else "outpatient_in_county")(ctx, f)


def _visits_records(ctx: Context, f: dict[str, Any], p: Period) -> listings.Listing:
    counter = "outpatient_primary" if f["tier"] == "primary" else "outpatient_in_county"
    return listings.keyed(care_service.encounter_records(lo=ctx.lo, hi=ctx.hi, start=p.start, end=p.end,
                                                        counter=counter), listings.ENCOUNTER_KEY)


def _stays(ctx: Context, f: dict[str, Any]) -> list[Values | None]:
    return _encounters("inpatient_in_county" if f["where"] == "in_county" else "inpatient_all")(ctx, f)


def _stays_records(ctx: Context, f: dict[str, Any], p: Period) -> listings.Listing:
    counter = "inpatient_in_county" if f["where"] == "in_county" else "inpatient_all"
    return listings.keyed(care_service.encounter_records(lo=ctx.lo, hi=ctx.hi, start=p.start, end=p.end,
                                                        counter=counter), listings.ENCOUNTER_KEY)


def _screenings(ctx: Context, f: dict[str, Any]) -> list[Values | None]:
    if _fresh(ctx, "checks"):
        by_month = {(unit, ym): n for (_s, unit, ym), n in _tallied_months(ctx, [f"checks:screen:{f['kind']}"]).items()}
        return _month_sums(ctx, by_month)
    by_month = ctx.once(("screenings", f["kind"]), lambda: care_service.screening_counts(
        session=ctx.session, lo=ctx.lo, hi=ctx.hi, start=ctx.start, end=ctx.end, kind=f["kind"]))
    return _month_sums(ctx, by_month)


def _screened(ctx: Context, f: dict[str, Any]) -> list[Values | None]:
    return cast("list[Values | None]", care_service.screened_people(  # counts are ints: Values
        session=ctx.session, lo=ctx.lo, hi=ctx.hi, periods=ctx.periods, kind=f["kind"]))


def _screening_records(ctx: Context, f: dict[str, Any], p: Period) -> listings.Listing:
    return listings.keyed(care_service.screening_records(lo=ctx.lo, hi=ctx.hi, start=p.start, end=p.end,
                                                        kind=f["kind"]), listings.SCREENING_KEY)


def _screened_records(ctx: Context, f: dict[str, Any], p: Period) -> listings.Listing:
    """The women screened, once each (the figure counts women, not screenings)."""
    return listings.per_person(care_service.screening_records(lo=ctx.lo, hi=ctx.hi, start=p.start, end=p.end,
                                                             kind=f["kind"]), f"screened_{f['kind']}")


def _elderly(ctx: Context, f: dict[str, Any]) -> list[Values | None]:
    if _fresh(ctx, "checks") and f["age_min"] in tallies.elderly_ages():
        series = {kind: tallies.elderly_series(f["age_min"], kind) for kind in ("month", "quarter", "year")}
        got = _tallied_months(ctx, list(series.values()))
        out: list[Values | None] = []
        for p in ctx.periods:
            name, last = series[p.kind], yyyymm(p.end)
            out.append({unit: n for (s, unit, ym), n in got.items() if s == name and ym == last and n})
        return out
    return cast("list[Values | None]", care_service.elderly_checked(  # counts are ints: Values
        session=ctx.session, lo=ctx.lo, hi=ctx.hi, periods=ctx.periods, age_min=f["age_min"]))


def _elderly_records(ctx: Context, f: dict[str, Any], p: Period) -> listings.Listing:
    """The residents checked, once each (the figure counts people: two checks in a year are one)."""
    return listings.per_person(care_service.elderly_check_records(lo=ctx.lo, hi=ctx.hi, start=p.start, end=p.end,
                                                                 age_min=f["age_min"]), "checked_annual_65")


def _elderly_tcm(ctx: Context, f: dict[str, Any]) -> list[Values | None]:
    """Counted from care.elderly's records (one form per old resident a year: no running tally)."""
    return cast("list[Values | None]", care_service.elderly_tcm_served(  # counts are ints: Values
        session=ctx.session, lo=ctx.lo, hi=ctx.hi, periods=ctx.periods, age_min=f["age_min"]))


def _elderly_tcm_records(ctx: Context, f: dict[str, Any], p: Period) -> listings.Listing:
    """The residents with a TCM form, once each (two forms in a year are one person served)."""
    return listings.per_person(care_service.elderly_tcm_records(lo=ctx.lo, hi=ctx.hi, start=p.start, end=p.end,
                                                               age_min=f["age_min"]), "tcm_served")


def _referrals(ctx: Context, f: dict[str, Any]) -> list[Values | None]:
    by_month = ctx.once(("referrals", f["direction"]), lambda: care_service.referral_counts_by_month(
        session=ctx.session, lo=ctx.lo, hi=ctx.hi, start=ctx.start, end=ctx.end, direction=f["direction"]))
    return _month_sums(ctx, by_month)


def _referral_records(ctx: Context, f: dict[str, Any], p: Period) -> listings.Listing:
    """The referrals the figure counts, each in the village the patient lived in on its (local) day."""
    return listings.Rows([
        {"key": r["referral_id"], "id": r["id"], "name": r["name"], "id_number": r["id_number"],
         "village_code": r["village_code"], "date": r["requested_at"], "facility": r["facility"],
         "detail": r["detail"], "quantity": None}
        for r in care_service.referral_rows(session=ctx.session, lo=ctx.lo, hi=ctx.hi, start=p.start, end=p.end,
                                            direction=f["direction"])])


# --- notifiable-disease case reports ----------------------------------------------------------------
def _case_reports(ctx: Context, f: dict[str, Any]) -> list[Values | None]:
    by_month = ctx.once(("case_reports", f["timeliness"]), lambda: surveillance_service.case_report_counts_by_month(
        session=ctx.session, lo=ctx.lo, hi=ctx.hi, start=ctx.start, end=ctx.end, timeliness=f["timeliness"]))
    return _month_sums(ctx, by_month)


def _case_report_records(ctx: Context, f: dict[str, Any], p: Period) -> listings.Listing:
    return listings.keyed(surveillance_service.case_report_records(lo=ctx.lo, hi=ctx.hi, start=p.start, end=p.end,
                                                                   timeliness=f["timeliness"]),
                          listings.CASE_REPORT_KEY)


def _case_onsets(ctx: Context, f: dict[str, Any]) -> list[Values | None]:
    by_month = ctx.once(("case_onsets", f["classes"]), lambda: surveillance_service.case_onset_counts_by_month(
        session=ctx.session, lo=ctx.lo, hi=ctx.hi, start=ctx.start, end=ctx.end, classes=f["classes"]))
    return list(_month_sums(ctx, by_month))


def _case_onset_records(ctx: Context, f: dict[str, Any], p: Period) -> listings.Listing:
    return listings.keyed(surveillance_service.case_onset_records(lo=ctx.lo, hi=ctx.hi, start=p.start, end=p.end,
                                                                  classes=f["classes"]),
                          listings.CASE_REPORT_KEY)


# --- maternal health (care.maternal: counted from the records, per village of the delivery) ---------
def _maternal(which: str) -> Callable[[Context, dict[str, Any]], list[Values | None]]:
    def compute(ctx: Context, f: dict[str, Any]) -> list[Values | None]:
        by_month = ctx.once(("maternal", which), lambda: care_service.maternal_counts(
            session=ctx.session, lo=ctx.lo, hi=ctx.hi, start=ctx.start, end=ctx.end, which=which))
        return list(_month_sums(ctx, by_month))
    return compute


def _maternal_records(which: str) -> Callable[[Context, dict[str, Any], Period], listings.Listing]:
    def listing(ctx: Context, f: dict[str, Any], p: Period) -> listings.Listing:
        return care_service.maternal_records(lo=ctx.lo, hi=ctx.hi, start=p.start, end=p.end, which=which)
    return listing


# --- child health 0–6 (care.childcare: counted from the records, per village of the period's last day) -------
def _childcare(which: str) -> Callable[[Context, dict[str, Any]], list[Values | None]]:
    def compute(ctx: Context, f: dict[str, Any]) -> list[Values | None]:
        return [cast("Values", care_service.childcare_counts(session=ctx.session, lo=ctx.lo, hi=ctx.hi,
                                                             start=p.start, end=p.end, which=which))
                for p in ctx.periods]
    return compute


def _childcare_records(which: str) -> Callable[[Context, dict[str, Any], Period], listings.Listing]:
    def listing(ctx: Context, f: dict[str, Any], p: Period) -> listings.Listing:
        return listings.Rows(care_service.childcare_records(session=ctx.session, lo=ctx.lo, hi=ctx.hi,
                                                            start=p.start, end=p.end, which=which))
    return listing


# --- family-doctor contracts (care.contracts: counted from the records) ----------------------------
def _contract_stock(which: str) -> Callable[[Context, dict[str, Any]], list[Values | None]]:
    def compute(ctx: Context, f: dict[str, Any]) -> list[Values | None]:
        kind = "key_contracted" if which == "contracted" and f.get("key") else which
        return [cast("Values", ctx.once(("contracts", kind, p.end), partial(
            care_service.contract_stock, session=ctx.session, lo=ctx.lo, hi=ctx.hi, on=p.end, which=kind)))
            for p in ctx.periods]
    return compute


def _contract_flow(which: str) -> Callable[[Context, dict[str, Any]], list[Values | None]]:
    def compute(ctx: Context, f: dict[str, Any]) -> list[Values | None]:
        by_month = ctx.once(("contracts", which), lambda: care_service.contract_counts(
            session=ctx.session, lo=ctx.lo, hi=ctx.hi, start=ctx.start, end=ctx.end, which=which))
        return list(_month_sums(ctx, by_month))
    return compute


def _contract_records(which: str) -> Callable[[Context, dict[str, Any], Period], listings.Listing]:
    def listing(ctx: Context, f: dict[str, Any], p: Period) -> listings.Listing:
        kind = "key_contracted" if which == "contracted" and f.get("key") else which
        return care_service.contract_records(lo=ctx.lo, hi=ctx.hi, start=p.start, end=p.end, which=kind)
    return listing
# --- severe mental illness (care.mental: counted from the records, per patient's current village) ---------
def _mental(which: str) -> Callable[[Context, dict[str, Any]], list[Values | None]]:
    def compute(ctx: Context, f: dict[str, Any]) -> list[Values | None]:
        return [cast("Values", care_service.mental_counts(session=ctx.session, lo=ctx.lo, hi=ctx.hi, start=p.start,
                                                          end=p.end, which=which)) for p in ctx.periods]
    return compute


def _mental_records(which: str) -> Callable[[Context, dict[str, Any], Period], listings.Listing]:
    def listing(ctx: Context, f: dict[str, Any], p: Period) -> listings.Listing:
        return care_service.mental_records(lo=ctx.lo, hi=ctx.hi, start=p.start, end=p.end, which=which)
    return listing


def _mental_estimated(ctx: Context, f: dict[str, Any]) -> list[Values | None]:
    """Estimated patients: 常住人口 (resident_population) × the prevalence of care/data/mental.yaml (‰)."""
    rate = Decimal(str(care_service.mental_rules().prevalence_per_1000)) / 1000
    return [None if values is None else {code: Decimal(n) * rate for code, n in values.items()}
            for values in _resident_population(ctx, f)]


# --- settlement -------------------------------------------------------------------------------------
def _settlement(ctx: Context, f: dict[str, Any]) -> list[Values | None]:
    if _fresh(ctx, "settle"):  # fen in the tallies
        return _month_sums(ctx, {(unit, ym): Decimal(n).scaleb(-2) for (_s, unit, ym), n in
                                 _tallied_months(ctx, [f"settle:{f['payer']}"]).items()})
    every = ctx.once(("settlement",), lambda: settlement_service.amounts_by_month_all(
        session=ctx.session, lo=ctx.lo, hi=ctx.hi, start=ctx.start, end=ctx.end))
    return _month_sums(ctx, every[f["payer"]])


def _settlement_records(ctx: Context, f: dict[str, Any], p: Period) -> listings.Listing:
    """The entries booked in the period that the payer paid something on (a zero adds nothing to the total:
    not listed): a settlement made in it, or one reversed in it with its amount negated (settlement.counts)."""
    entries = settlement_service.settlement_records(lo=ctx.lo, hi=ctx.hi, start=p.start, end=p.end,
                                                    payer=f["payer"]).subquery("entries")
    return (select(entries.c.id, entries.c.name, entries.c.id_number, entries.c.village_code, entries.c.date,
                   entries.c.facility, entries.c.detail, entries.c.settlement_id.label("key"),
                   entries.c.detail.label("quantity"))
            .where(entries.c.detail != 0))


# --- the registry -----------------------------------------------------------------------------------
_AGE_MIN = Filter("age_min", "int", min=0, max=150)
_AGE_MAX = Filter("age_max", "int", min=0, max=150)
_SEX = Filter("sex", "choice", ("male", "female"))
_PROGRAM = Filter("program", "choice", ("hypertension", "diabetes"), required=True)
_VACCINE = Filter("vaccine", "choice", immunization_service.VACCINE_CODES)
_VACCINE_REQUIRED = Filter("vaccine", "choice", immunization_service.VACCINE_CODES, required=True)
_DOSE = Filter("dose", "int", min=1, max=9, required=True)
_SCREENING = Filter("kind", "choice", ("cervical", "breast", "prenatal"), required=True)

MEASURES: dict[str, Measure] = {m.name: m for m in (
    Measure("population", "stock", (_AGE_MIN, _AGE_MAX, _SEX), _population, _population_records,
            attribution="reference_residence"),
    # 常住人口: the statistics office's year-end figure where entered (indicators.population), else the
    # registry's count; its records are the registry's (an entered figure has no named people behind it).
    Measure("resident_population", "stock", (), _resident_population, _population_records,
            attribution="reference_residence"),
    Measure("births", "flow", (), _births, _births_records),
    Measure("beds", "stock", (Filter("kind", "choice", ("open", "approved"), default="open"),), _beds,
            _facility_records, at="facility", attribution="facility"),
    Measure("physicians", "stock", (Filter("include_assistant", "bool", default=True),), _physicians,
            _facility_records, at="facility", attribution="facility"),
    Measure("chronic_under_management", "stock", (_PROGRAM,), _chronic("under_management"),
            _chronic_records("under_management"), attribution="reference_village"),
    Measure("chronic_managed", "stock", (_PROGRAM,), _chronic("managed"), _chronic_records("managed"),
            attribution="reference_village"),
    Measure("chronic_controlled", "stock", (_PROGRAM,), _chronic("controlled"),
            _chronic_records("controlled"), attribution="reference_village"),
    Measure("vaccination_doses", "flow", (_VACCINE,), _doses, _doses_records),
    Measure("children_eligible", "stock", (_VACCINE_REQUIRED, _DOSE), _coverage(0), _coverage_records("eligible"),
            attribution="reference_residence"),
    Measure("children_vaccinated", "stock", (_VACCINE_REQUIRED, _DOSE), _coverage(1),
            _coverage_records("vaccinated"), attribution="reference_residence"),
    Measure("children_vaccinated_timely", "stock", (_VACCINE_REQUIRED, _DOSE), _coverage(2),
            _coverage_records("timely"), attribution="reference_residence"),
    Measure("outpatient_visits", "flow", (Filter("tier", "choice", ("any", "primary"), default="any"),), _visits,
            _visits_records),
    Measure("inpatient_stays", "flow", (Filter("where", "choice", ("any", "in_county"), default="any"),), _stays,
            _stays_records),
    Measure("screenings", "flow", (_SCREENING,), _screenings, _screening_records),
    Measure("screened_women", "flow", (_SCREENING,), _screened, _screened_records),
    Measure("elderly_checked", "flow", (Filter("age_min", "int", min=0, max=150, default=65),), _elderly,
            _elderly_records, attribution="reference_residence"),
    # Residents 65+ with a 中医体质辨识 form in the period (care.elderly), where they live on its last day.
    Measure("elderly_tcm_served", "flow", (Filter("age_min", "int", min=0, max=150, default=65),), _elderly_tcm,
            _elderly_tcm_records, attribution="reference_residence"),
    # 传染病报告卡 by the reporting facility's org unit and the month reported (报告及时率: those in time).
    Measure("case_reports", "flow", (Filter("timeliness", "choice", surveillance_service.TIMELINESS, default="any"),),
            _case_reports, _case_report_records, at="facility", attribution="facility"),
    # Cases by onset date in the patient's village (on the card): the numerator of 报告发病率 (per 100,000).
    Measure("case_onsets", "flow", (Filter("classes", "choice", surveillance_service.CLASS_FILTERS, default="any"),),
            _case_onsets, _case_onset_records),
    # 活产数 of the deliveries recorded in care.maternal (twins: 2), and the women delivered of a live birth who
    # were booked before 13 weeks (早孕建册) or visited at home after the birth (产后访视).
    Measure("maternal_live_births", "flow", (), _maternal("live_births"), _maternal_records("live_births")),
    Measure("maternal_booked_early", "flow", (), _maternal("early_booked"), _maternal_records("early_booked")),
    Measure("maternal_postpartum_visited", "flow", (), _maternal("postpartum_visited"),
            _maternal_records("postpartum_visited")),
    # Children of care.childcare, by where they lived, active, on the period's last day: born in the period and of
    # them visited as newborns (新生儿访视); aged 0–6 and of them checked in the period or checked at every check
    # whose window closed in it (儿童健康管理率, 儿童系统管理率).
    *(Measure(f"child_{w}", "flow", (), _childcare(w), _childcare_records(w), attribution="reference_residence")
      for w in ("born", "newborn_visited", "eligible", "checked", "system_managed")),
    # Family-doctor contracts (care.contracts): residents with a contract covering the period's last day (key:
    # of a key population only), the key populations that day, and the contracts whose term ended in the
    # period (due) and of them those renewed.
    Measure("contracted", "stock", (Filter("key", "bool", default=False),), _contract_stock("contracted"),
            _contract_records("contracted"), attribution="reference_residence"),
    Measure("contract_key_population", "stock", (), _contract_stock("key_population"),
            _contract_records("key_population"), attribution="reference_residence"),
    Measure("contracts_due", "flow", (), _contract_flow("due"), _contract_records("due")),
    Measure("contracts_renewed", "flow", (), _contract_flow("renewed"), _contract_records("renewed")),
    # 产妇数 (women delivered, live birth or stillbirth) and those with a prenatal screening recorded during the
    # pregnancy (LMP to delivery): 产前筛查率 counted from the screening records against the deliveries.
    Measure("maternal_delivered", "flow", (), _maternal("delivered"), _maternal_records("delivered")),
    Measure("maternal_prenatal_screened", "flow", (), _maternal("prenatal_screened"),
            _maternal_records("prenatal_screened")),
    Measure("referrals", "flow", (Filter("direction", "choice", ("up", "down"), required=True),), _referrals,
            _referral_records),
    Measure("settlement_amount", "flow", (Filter("payer", "choice", settlement_service.PAYERS, required=True),),
            _settlement, _settlement_records, money=True, attribution="settlement_village"),
    # TB patients (one per treatment) notified in the period, of them visited at home (管理率); ended cured or
    # completed in the period, of them with ≥ 90 % of the doses due taken (规则服药率): surveillance.tb.
    Measure("tb_notified", "flow", (), _tb("notified"), _tb_records("notified")),
    Measure("tb_managed", "flow", (), _tb("managed"), _tb_records("managed")),
    Measure("tb_completed", "flow", (), _tb("completed"), _tb_records("completed")),
    Measure("tb_regular", "flow", (), _tb("regular"), _tb_records("regular")),
    # Severe mental illness (care.mental): patients registered (登记在册) on the period's last day, of them managed
    # (a follow-up in the period), managed to the norm (⌈4 × months ÷ 12⌉ follow-ups), taking their medication
    # regularly and stable at the latest follow-up; and the patients estimated from the population. Their
    # drill-downs name patients: mental:read only.
    *(Measure(f"mental_{w}", "flow", (), _mental(w), _mental_records(w), attribution="current_residence",
              drill_permission="mental:read") for w in ("registered", "managed", "standard", "regular", "stable")),
    Measure("mental_estimated", "stock", (), _mental_estimated, _population_records,
            attribution="reference_residence", drill_permission="mental:read"),
)}


def get(name: str) -> Measure | None:
    return MEASURES.get(name)
