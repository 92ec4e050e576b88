"""The year-end resident population (常住人口) the statistics office publishes, entered per org unit and
year by bureau staff (`stats:write`, audited with the value before), and the figure an indicator asking
for 常住人口 uses: the entered one where there is one, else the registry's count (residents.counts, on the
period's last day) — `used` says which.

Why an entered figure: 常住人口 is the statistics office's estimate of who lives there six months or more
(public-health.md: registered or ≥ 6 months' residence); the registry counts records. The 中国卫生健康统计
年鉴 divides the per-1,000 ratios by it (its note: 每千人口床位数合计项分母系常住人口数).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import ErrorCollector, Forbidden
from weijian.core.identifiers import division_range
from weijian.indicators.models import ResidentPopulation
from weijian.indicators.schemas import PopulationSet
from weijian.orgunits import service as orgunits_service
from weijian.residents import access
from weijian.residents import service as residents_service

PERMISSION = "stats:write"
_E = "indicators.errors."


def set_population(*, session: Session, population_in: PopulationSet, actor: Actor) -> ResidentPopulation:
    """Enter (or replace) the year-end resident population of an org unit in the actor's scope for a year
    that has begun; flushed, audited with the value before."""
    actor.require(PERMISSION)
    errs = ErrorCollector()
    unit = orgunits_service.get(session=session, code=population_in.orgunit)
    if unit is None:
        errs.add("orgunit", _E + "population_orgunit_unknown", code=population_in.orgunit)
    if population_in.year > clock.today().year:
        errs.add("year", _E + "population_year_future", year=population_in.year, today=clock.today().isoformat())
    errs.raise_if_any()
    basis = access.basis_for(actor, population_in.orgunit)
    if basis is None:
        raise Forbidden(_E + "population_out_of_scope", code=population_in.orgunit)
    row = session.get(ResidentPopulation, (population_in.orgunit, population_in.year))
    before = None if row is None else row.value
    if row is None:
        row = ResidentPopulation(orgunit_code=population_in.orgunit, year=population_in.year)
        session.add(row)
    row.value, row.source = population_in.value, population_in.source
    row.entered_by, row.entered_at = actor.username, clock.now()
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="update", entity_type="resident_population",
                           entity_id=f"{population_in.orgunit}:{population_in.year}", basis=basis,
                           detail={"orgunit": population_in.orgunit, "year": population_in.year,
                                   "value": population_in.value, "before": before, "source": population_in.source})
    return row


def list_populations(*, session: Session, actor: Actor, year: int | None = None) -> list[ResidentPopulation]:
    """The entered figures in the actor's scope (of one year, or all), by year then org unit."""
    if not (actor.can("stats:read") or actor.can(PERMISSION)):
        raise Forbidden("core.errors.forbidden_permission", permission="stats:read")
    stmt = select(ResidentPopulation).where(access.visible(actor, ResidentPopulation.orgunit_code))
    if year is not None:
        stmt = stmt.where(ResidentPopulation.year == year)
    return list(session.scalars(stmt.order_by(ResidentPopulation.year, ResidentPopulation.orgunit_code)))


def entered(session: Session, lo: str, hi: str, years: set[int]) -> dict[tuple[str, int], int]:
    """(org unit, year) → the entered year-end figure, for the units lo..hi and these years."""
    if not years:
        return {}
    P = ResidentPopulation
    return {(c, y): int(v) for c, y, v in session.execute(
        select(P.orgunit_code, P.year, P.value).where(P.orgunit_code >= lo, P.orgunit_code <= hi,
                                                      P.year.in_(sorted(years))))}


@dataclass(frozen=True)
class YearEndRow:
    """One org unit's 常住人口 at a year's end: the registry's count, the entered figure (None: none), and
    which one the indicators use (`entered` | `registry`)."""

    code: str
    name: str
    level: str
    counted: int
    entered: int | None
    source: str | None

    @property
    def used(self) -> str:
        return "registry" if self.entered is None else "entered"

    @property
    def value(self) -> int:
        return self.counted if self.entered is None else self.entered


def year_end_table(*, session: Session, actor: Actor, year: int) -> list[YearEndRow]:
    """The county and its townships in the actor's scope (and villages with an entered figure): what the
    per-1,000 ratios of `year` divide by, and whether it is the statistics office's or the registry's."""
    if not (actor.can("stats:read") or actor.can(PERMISSION)):
        raise Forbidden("core.errors.forbidden_permission", permission="stats:read")
    rows = {r.orgunit_code: r for r in list_populations(session=session, actor=actor, year=year)}
    units = [u for u in orgunits_service.list_orgunits(session=session, level=None)
             if (u.level in ("county", "township") or u.code in rows) and access.basis_for(actor, u.code)]
    if not units:
        return []
    lo, hi = division_range(min(u.code for u in units))
    counts = residents_service.population(session=session, lo=lo, hi=hi, dates=[date(year, 12, 31)])[0]
    out = []
    for u in sorted(units, key=lambda u: u.code):
        ulo, uhi = division_range(u.code)
        counted = sum(n for c, n in counts.items() if ulo <= c <= uhi)
        row = rows.get(u.code)
        out.append(YearEndRow(u.code, u.name, u.level, counted, None if row is None else row.value,
                              None if row is None else row.source))
    return out
