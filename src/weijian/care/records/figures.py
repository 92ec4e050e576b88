"""Two graded-care figures computed from the encounters, for an org unit and a period:

- county retention rate (县域内住院人次占比): inpatient stays of the county's residents at facilities inside
  the county ÷ all inpatient stays of the county's residents (a stay outside the county has no facility_id,
  only an outside_facility_name);
- primary-care share of outpatient visits (基层诊疗量占比): visits at township- and village-tier facilities
  (township_centre, community_centre, village_clinic) ÷ all visits at facilities inside the county.

Counting rules (decided here):
- A stay or a visit belongs to the period of its date (a stay: its admission date), and to the org unit of
  the patient's village, for both figures. The county hospitals are registered at the county's own code, so
  counting visits where the facility sits would give every township a share of 100% by construction;
  counting them where the patient lives says where each township's people are treated. For the county
  itself both readings count the same visits (every patient in the record is a resident of the county).
- Roll-up: counts are taken per village; a township's or the county's numerator and denominator are the
  sums over its villages, and its value is their quotient (never an average of the villages' rates).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, case, func, select, true
from sqlalchemy.orm import Session

from weijian.care.models import Encounter
from weijian.core.actor import Actor
from weijian.core.errors import InvalidInput
from weijian.core.identifiers import division_level, division_range
from weijian.core.periods import Period, parse_period
from weijian.orgunits import service as orgunits_service
from weijian.residents import access

# Joined for the patient's village (see the module note); the residents service has no aggregate query.
from weijian.residents.models import Resident

COUNTY_RETENTION = "county_retention_rate"
PRIMARY_CARE_SHARE = "primary_care_share"
FIGURES = (COUNTY_RETENTION, PRIMARY_CARE_SHARE)
PRIMARY_TYPES = orgunits_service.primary_care_types()  # orgunits/data/facility_types.yaml
VALUE_DIGITS = 4


@dataclass
class Figure:
    """One figure for one org unit and period; `children` are the same figure for each unit directly
    below (townships of a county, villages of a township), whose counts sum to this one's."""

    figure: str
    orgunit: str
    period: str
    numerator: int = 0
    denominator: int = 0
    children: list[Figure] = field(default_factory=list)

    @property
    def value(self) -> float | None:
        """numerator ÷ denominator to four decimals; None when there is nothing to divide by."""
        return round(self.numerator / self.denominator, VALUE_DIGITS) if self.denominator else None

    def as_dict(self, *, children: bool = True) -> dict:
        out = {"figure": self.figure, "orgunit": self.orgunit, "period": self.period,
               "numerator": self.numerator, "denominator": self.denominator, "value": self.value}
        if children:
            out["children"] = [c.as_dict(children=False) for c in self.children]
        return out


def _target(session: Session, actor: Actor, orgunit: str | None) -> str:
    """The org unit asked for (the actor's scope by default), refused outside the actor's scope."""
    actor.require("stats:read")
    return access.orgunit_target(session=session, actor=actor, orgunit=orgunit).code


def _county_facilities(session: Session, code: str) -> tuple[list[int], list[int]]:
    """(every facility of the county `code` lies in, those of the primary tiers): a few hundred ids."""
    county = code[:6] + "000000"
    facilities = orgunits_service.list_facilities(session=session, under=county)
    return [f.id for f in facilities], [f.id for f in facilities if f.type in PRIMARY_TYPES]


def _by_village(session: Session, code: str, period: Period, kind: str, numerator_cond: ColumnElement[bool],
                denominator_cond: ColumnElement[bool]) -> dict[str, tuple[int, int]]:
    """village code → (numerator, denominator) of the encounters of `kind` dated in the period."""
    lo, hi = division_range(code)
    stmt = (select(Resident.village_code,
                   func.count(case((numerator_cond, 1))),
                   func.count())
            .select_from(Encounter).join(Resident, Resident.id == Encounter.resident_id)
            .where(Encounter.type == kind, Encounter.start_date >= period.start, Encounter.start_date <= period.end,
                   Encounter.voided_at.is_(None),
                   Resident.village_code >= lo, Resident.village_code <= hi, denominator_cond)
            .group_by(Resident.village_code))
    return {village: (int(num), int(den)) for village, num, den in session.execute(stmt)}


def _roll_up(session: Session, name: str, code: str, period: Period, counts: dict[str, tuple[int, int]]) -> Figure:
    figure = Figure(name, code, period.code)
    level = division_level(code)
    children: dict[str, Figure] = {}
    if level != "village":
        for unit in orgunits_service.list_orgunits(session=session, parent_code=code):
            children[unit.code] = Figure(name, unit.code, period.code)
    for village, (num, den) in counts.items():
        figure.numerator += num
        figure.denominator += den
        if level == "village":
            continue
        child_code = village[:9] + "000" if level == "county" else village
        child = children.setdefault(child_code, Figure(name, child_code, period.code))
        child.numerator += num
        child.denominator += den
    figure.children = [children[k] for k in sorted(children)]
    return figure


def county_retention_rate(*, session: Session, actor: Actor, period: str | Period,
                          orgunit: str | None = None) -> Figure:
    """县域内住院人次占比 of the residents of `orgunit` (default: the actor's scope) in `period`."""
    code = _target(session, actor, orgunit)
    p = period if isinstance(period, Period) else parse_period(period)
    in_county, _ = _county_facilities(session, code)
    counts = _by_village(session, code, p, "inpatient", Encounter.facility_id.in_(in_county), true())
    return _roll_up(session, COUNTY_RETENTION, code, p, counts)


def primary_care_share(*, session: Session, actor: Actor, period: str | Period,
                       orgunit: str | None = None) -> Figure:
    """基层诊疗量占比 of the outpatient visits of the residents of `orgunit` (default: the actor's scope)
    at the county's facilities in `period`."""
    code = _target(session, actor, orgunit)
    p = period if isinstance(period, Period) else parse_period(period)
    in_county, primary = _county_facilities(session, code)
    counts = _by_village(session, code, p, "outpatient", Encounter.facility_id.in_(primary),
                         Encounter.facility_id.in_(in_county))
    return _roll_up(session, PRIMARY_CARE_SHARE, code, p, counts)


def compute(*, session: Session, actor: Actor, figure: str, period: str | Period,
            orgunit: str | None = None) -> Figure:
    """A figure by name (FIGURES)."""
    if figure == COUNTY_RETENTION:
        return county_retention_rate(session=session, actor=actor, period=period, orgunit=orgunit)
    if figure == PRIMARY_CARE_SHARE:
        return primary_care_share(session=session, actor=actor, period=period, orgunit=orgunit)
    raise InvalidInput("figure", "care.records.errors.figure_unknown", value=figure)


__all__ = ["FIGURES", "Figure", "compute", "county_retention_rate", "primary_care_share"]
