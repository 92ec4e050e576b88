"""Immunization figures for a period: doses given (by vaccine, point, township and month), coverage and the
timely vaccination rate per vaccine dose, per village with township and county roll-ups, against the
90 % target. Plain service functions returning rows {orgunit, period, numerator, denominator, value}:
the indicator measures of the indicators issue.

Definitions (decided here; domain reference: shared/domain/immunization.md, indicators.md):
- Children: residents of the area whose record is active (alive, not moved out or merged), born by the
  period's last day and under the edition's follow-up age (18 years) on it. The area is the child's
  village of residence.
- The doses: every dose slot of the default series of the schedule edition in force on the period's last
  day, named by its vaccine code and that code's dose number (polio slot 3 = bOPV dose 1). A child "has"
  slot k when k doses the series accepts were given by the period's end (doses fill slots in date order,
  as in the engine: a DT given under the 2021 edition fills DTaP slot 5 of 2025). A dose that counts for
  nothing (`invalid_reason` set on write: before the minimum age or interval, or within 28 days of another
  injectable live vaccine, by the edition of its day) fills no slot and counts neither for coverage nor
  for timeliness (issue 14 item 7). For a series with an
  alternative (JE-L / JE-I, HepA-L / HepA-I) a child also has slot k of the default when it has as many
  doses of the alternative as that variant schedules up to the slot's recommended age (JE-L 1 ⇐ JE-I 2,
  JE-L 2 ⇐ JE-I 3, HepA-L 1 ⇐ HepA-I 1); the earlier of the two dates counts.
- Eligible age: the child has reached the dose's complete-before age by the period's last day.
- Coverage = eligible children who have the dose by the period's end ÷ eligible children.
- Timely vaccination rate = eligible children whose dose was given before the day it counts as late ÷
  eligible children. That day is, by default, the complete-before age (the domain reference: no single
  official definition; the window is a setting, WEIJIAN_IMMUNIZATION_TIMELY_RULE: `complete_before` or
  `recommended+30d` = the recommended date + 30 days).
- Doses given: vaccination records dated in the period, counted by vaccine code, vaccination point (None:
  recorded without one, e.g. from a paper certificate), the township of the child's residence and month.
- Roll-up: counts are taken per village; a township's and the county's numerator and denominator are the
  sums over their villages and the value their quotient, never an average of rates.
- Scope: the actor's org unit, applied in the queries (statistics staff see their whole scope).

Speed: one grouped query returns each child of the area once, with their doses as one text; the slots are
filled and counted per village in memory, each birth date's cut-offs computed once. (Ranking the doses
with a window function in SQL took four times as long on SQLite for a 400,000-resident county.)
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import ColumnElement, Row, SQLColumnExpression, String, and_, cast, extract, func, select
from sqlalchemy.orm import Session

from weijian.core.actor import Actor
from weijian.core.errors import Forbidden, InvalidInput
from weijian.core.identifiers import division_range
from weijian.core.periods import Period, parse_period
from weijian.immunization.models import Vaccination, VaccinationPoint
from weijian.immunization.schedule.engine import OverdueRule
from weijian.immunization.schedule.rules import VACCINE_CODES, Age, Edition, Series, add_months, edition_for
from weijian.orgunits.models import OrgUnit
from weijian.residents import access

# Joined for the child's village and birth date (see the module note); residents has no aggregate query.
from weijian.residents.models import Resident

TARGET = Decimal("0.90")
AMBER_BAND = Decimal("0.05")  # within 5 points below the target: amber; further below: red
VALUE_DIGITS = Decimal("0.0001")
LEVELS = ("county", "township", "village")
_E = "immunization.recall.errors."


# --- rows -----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RateRow:
    """One measure for one org unit and period: numerator ÷ denominator."""

    measure: str  # coverage | timeliness
    vaccine: str
    dose: int
    orgunit: str
    orgunit_name: str
    level: str
    period: str
    numerator: int
    denominator: int

    @property
    def value(self) -> Decimal | None:
        if not self.denominator:
            return None
        return (Decimal(self.numerator) / Decimal(self.denominator)).quantize(VALUE_DIGITS, ROUND_HALF_UP)

    @property
    def meets_target(self) -> bool | None:
        v = self.value
        return None if v is None else v >= TARGET

    @property
    def rag(self) -> str | None:
        """red / amber / green against the target (None: no eligible children)."""
        v = self.value
        if v is None:
            return None
        return "green" if v >= TARGET else "amber" if v >= TARGET - AMBER_BAND else "red"

    def as_dict(self) -> dict:
        v = self.value
        return {"measure": self.measure, "vaccine": self.vaccine, "dose": self.dose, "orgunit": self.orgunit,
                "orgunit_name": self.orgunit_name, "level": self.level, "period": self.period,
                "numerator": self.numerator, "denominator": self.denominator,
                "value": float(v) if v is not None else None, "target": float(TARGET),
                "meets_target": self.meets_target}


@dataclass(frozen=True, slots=True)
class DosesRow:
    """Doses given of one vaccine at one point to children of one township in one month."""

    vaccine: str
    point_id: int | None
    point_name: str | None
    orgunit: str  # the township of the children's residence
    orgunit_name: str
    period: str  # the month, YYYYMM
    value: int

    def as_dict(self) -> dict:
        return {"vaccine": self.vaccine, "point_id": self.point_id, "point_name": self.point_name,
                "orgunit": self.orgunit, "orgunit_name": self.orgunit_name, "level": "township",
                "period": self.period, "numerator": self.value, "denominator": None, "value": self.value}


@dataclass(frozen=True, slots=True)
class Slot:
    """A dose figures are given for: slot `position` (1-based) of the default series `series`."""

    vaccine: str
    dose: int
    series: Series
    position: int
    recommended: Age
    complete_before: Age
    alternative: Series | None = None  # the other variant, and how many of its doses stand for this slot
    alternative_count: int = 0


# --- input ----------------------------------------------------------------------------------------
def _period(value: str | Period) -> Period:
    return value if isinstance(value, Period) else parse_period(value, field="period")


def _rule(value: OverdueRule | str | None, field: str = "timely_rule") -> OverdueRule:
    if isinstance(value, OverdueRule):
        return value
    try:
        return OverdueRule.parse(value)
    except InvalidInput:
        raise InvalidInput(field, "immunization.errors.overdue_rule_format", value=value) from None


def _area(session: Session, actor: Actor, orgunit: str | None) -> str | None:
    """The org unit asked for (the actor's scope by default; None: a system actor's whole installation),
    refused outside the actor's scope (residents.access)."""
    if not (actor.can("stats:read") or actor.can("immunization:read")):
        raise Forbidden("core.errors.forbidden_permission", permission="immunization:read")
    if not (orgunit or "").strip() and actor.scope_code is None:
        return None
    return access.orgunit_target(session=session, actor=actor, orgunit=orgunit).code


def _age_key(a: Age) -> tuple[int, int]:
    return (a.months * 31 + a.days, a.months)


def slots(edition: Edition) -> list[Slot]:
    """Every dose figures are given for, in schedule order (see the module note)."""
    out: list[Slot] = []
    for group in edition.groups:
        default = group[0]
        numbers: dict[str, int] = {}
        for k, d in enumerate(default.doses, start=1):
            numbers[d.vaccine] = numbers.get(d.vaccine, 0) + 1
            alt, alt_n = None, 0
            for other in group[1:]:
                n = sum(1 for od in other.doses if _age_key(od.recommended) <= _age_key(d.recommended))
                if n:
                    alt, alt_n = other, n
                    break
            out.append(Slot(d.vaccine, numbers[d.vaccine], default, k, d.recommended, d.complete_before, alt, alt_n))
    return out


def choose_slots(edition: Edition, vaccine: str | None, dose: int | str | None) -> list[Slot]:
    """The slots asked for: all, one vaccine's, or one dose; InvalidInput naming vaccine or dose."""
    every = slots(edition)
    vaccine = (vaccine or "").strip() or None
    if vaccine is None:
        if dose not in (None, ""):
            raise InvalidInput("vaccine", _E + "vaccine_required")
        return every
    if vaccine not in VACCINE_CODES:
        raise InvalidInput("vaccine", _E + "vaccine_unknown", value=vaccine, allowed=", ".join(VACCINE_CODES))
    chosen = [s for s in every if s.vaccine == vaccine]
    if not chosen:
        raise InvalidInput("vaccine", _E + "vaccine_not_measured", value=vaccine,
                           allowed=", ".join(dict.fromkeys(s.vaccine for s in every)))
    if dose in (None, ""):
        return chosen
    try:
        n = int(str(dose).strip())
    except ValueError:
        raise InvalidInput("dose", _E + "dose_invalid", value=str(dose)) from None
    one = [s for s in chosen if s.dose == n]
    if not one:
        raise InvalidInput("dose", _E + "dose_unknown", vaccine=vaccine, value=str(dose), max=len(chosen))
    return one


def latest_birth(end: date, age: Age) -> date:
    """The last birth date at which a child has reached `age` by `end` (Age.after(birth) <= end)."""
    b = add_months(end - timedelta(days=age.days), -age.months)
    while age.after(b + timedelta(days=1)) <= end:
        b += timedelta(days=1)
    while age.after(b) > end:
        b -= timedelta(days=1)
    return b


def _date_text(dialect: str, column: SQLColumnExpression[date]) -> ColumnElement[str]:
    """A date column as ISO text (YYYY-MM-DD), which sorts and compares as the dates do."""
    return func.to_char(column, "YYYY-MM-DD") if dialect == "postgresql" else cast(column, String)


def _children(actor: Actor, area: str | None, end: date, edition: Edition) -> ColumnElement[bool]:
    oldest = add_months(end, -edition.follow_until.months) - timedelta(days=edition.follow_until.days)
    conds = [Resident.status == "active", Resident.birth_date <= end, Resident.birth_date > oldest,
             access.visible(actor)]
    if area is not None:
        lo, hi = division_range(area)
        conds += [Resident.village_code >= lo, Resident.village_code <= hi]
    return and_(*conds)


# --- coverage and timeliness ----------------------------------------------------------------------
def children_and_histories(session: Session, where: ColumnElement[bool], end: date,
                           codes: list[str]) -> tuple[dict[int, str], Sequence[Row[Any]]]:
    """(resident id → "HepB:2025-06-01,BCG:2025-06-02,…" of the valid doses of `codes` by `end`, the children
    (id, village, birth date)) of the children matching `where`. Two queries rather than one outer join:
    the doses, selected by IN (children), come in resident order and group without a sort."""
    entry = Vaccination.vaccine + ":" + _date_text(session.get_bind().dialect.name, Vaccination.date)
    conn = session.connection()
    histories = dict(conn.execute(
        select(Vaccination.resident_id, func.aggregate_strings(entry, ","))
        .where(Vaccination.resident_id.in_(select(Resident.id).where(where)), Vaccination.date <= end,
               Vaccination.vaccine.in_(codes), Vaccination.invalid_reason.is_(None))
        .group_by(Vaccination.resident_id)).tuples().all())
    children = conn.execute(select(Resident.id, Resident.village_code, Resident.birth_date).where(where)).all()
    return histories, children


def _per_village(session: Session, actor: Actor, area: str | None, period: Period, chosen: list[Slot],
                 rule: OverdueRule, edition: Edition) -> dict[str, list[list[int]]]:
    """village → [eligible per slot, vaccinated per slot, timely per slot].

    One grouped query gives each child of the area its doses (by the period's end) as one text,
    "HepB:2025-06-01,BCG:2025-06-02,…", another the children; the slots are then filled in memory: per series
    the dates in order, slot k being the k-th. Dates stay ISO text (they compare as dates) and each birth
    date's cut-offs are worked out once (a county's children share a few thousand birth dates)."""
    end = period.end
    where = _children(actor, area, end, edition)
    series_of = {code: s.id for code, s in edition.series_of_code.items()}
    wanted = {s.series.id for s in chosen} | {s.alternative.id for s in chosen if s.alternative}
    codes = sorted(code for code, sid in series_of.items() if sid in wanted)
    histories, children = children_and_histories(session, where, end, codes)
    rows = ((village, birth, histories.get(rid)) for rid, village, birth in children)

    eligible_by = [latest_birth(end, s.complete_before) for s in chosen]
    if rule.days_after_recommended is None:
        late = [(s.complete_before.months, s.complete_before.days) for s in chosen]
    else:
        late = [(s.recommended.months, s.recommended.days + rule.days_after_recommended) for s in chosen]
    plan = [(s.series.id, s.position - 1, s.alternative.id if s.alternative else None, s.alternative_count - 1)
            for s in chosen]
    cuts: dict[date, tuple[tuple, ...]] = {}
    out: dict[str, list[list[int]]] = {}
    n = len(chosen)
    for village, birth, doses in rows:
        due = cuts.get(birth)
        if due is None:  # the slots this birth date is eligible for, each with the first day it is late
            due = cuts[birth] = tuple(
                (i, *plan[i], (add_months(birth, late[i][0]) + timedelta(days=late[i][1])).isoformat())
                for i in range(n) if birth <= eligible_by[i])
        acc = out.get(village)
        if acc is None:
            acc = out[village] = [[0] * n, [0] * n, [0] * n]
        if not due:
            continue
        eligible, vaccinated, timely = acc
        dates: dict[str, list[str]] = {}
        if doses:
            for item in doses.split(","):
                sid = series_of.get(item[:item.index(":")])
                if sid is not None:
                    got = dates.get(sid)
                    if got is None:
                        dates[sid] = [item[-10:]]
                    else:
                        got.append(item[-10:])
            for got in dates.values():
                got.sort()
        get = dates.get
        for i, sid, k, alt, m, cut in due:
            eligible[i] += 1
            got = get(sid)
            day = got[k] if got is not None and len(got) > k else None
            if alt is not None:
                other = get(alt)
                if other is not None and len(other) > m and (day is None or other[m] < day):
                    day = other[m]
            if day is not None:
                vaccinated[i] += 1
                if day < cut:
                    timely[i] += 1
    return out


def rates(*, session: Session, actor: Actor, period: str | Period, vaccine: str | None = None,
          dose: int | str | None = None, orgunit: str | None = None, level: str | None = None,
          timely_rule: OverdueRule | str | None = None) -> dict[str, list[RateRow]]:
    """Coverage and timeliness rows ({"coverage": [...], "timeliness": [...]}) for each dose asked for
    (default: every dose), for the org unit (default: the actor's scope) and every unit below it, or only
    the units of `level`. Villages without children of eligible age show 0 ÷ 0 (value None)."""
    p = _period(period)
    if level not in (None, "") and level not in LEVELS:
        raise InvalidInput("level", _E + "level_unknown", value=level, allowed=", ".join(LEVELS))
    rule = _rule(timely_rule)
    area = _area(session, actor, orgunit)
    edition = edition_for(p.end)
    chosen = choose_slots(edition, vaccine, dose)
    counts = _per_village(session, actor, area, p, chosen, rule, edition)
    units = _units(session, actor, area)
    totals: dict[str, list[list[int]]] = {code: [[0, 0, 0] for _ in chosen] for code in units}
    for village, (eligible, vaccinated, timely) in counts.items():
        for code in _ancestors(village, units):
            acc = totals[code]
            for i in range(len(chosen)):
                acc[i][0] += eligible[i]
                acc[i][1] += vaccinated[i]
                acc[i][2] += timely[i]
    out: dict[str, list[RateRow]] = {"coverage": [], "timeliness": []}
    for code in sorted(units, key=lambda c: (LEVELS.index(units[c][1]), c)):
        name, unit_level = units[code]
        if level and unit_level != level:
            continue
        for i, s in enumerate(chosen):
            e, v, t = totals[code][i]
            out["coverage"].append(RateRow("coverage", s.vaccine, s.dose, code, name, unit_level, p.code, v, e))
            out["timeliness"].append(RateRow("timeliness", s.vaccine, s.dose, code, name, unit_level, p.code, t, e))
    return out


def coverage(**kwargs: Any) -> list[RateRow]:  # the arguments of rates()
    """Coverage rows (see rates())."""
    return rates(**kwargs)["coverage"]


def timeliness(**kwargs: Any) -> list[RateRow]:
    """Timely vaccination rate rows (see rates())."""
    return rates(**kwargs)["timeliness"]


def _units(session: Session, actor: Actor, area: str | None) -> dict[str, tuple[str, str]]:
    """code → (name, level) of the org unit and every unit below it, inside the actor's scope."""
    conds = [access.visible(actor, OrgUnit.code)]
    if area is not None:
        lo, hi = division_range(area)
        conds += [OrgUnit.code >= lo, OrgUnit.code <= hi]
    return {code: (name, lvl) for code, name, lvl in
            session.execute(select(OrgUnit.code, OrgUnit.name, OrgUnit.level).where(and_(*conds)))}


def _ancestors(village: str, units: dict[str, tuple[str, str]]) -> list[str]:
    """The village, its township and its county, as far as they are among `units`."""
    return [c for c in (village, village[:9] + "000", village[:6] + "000000") if c in units]


# --- doses given ----------------------------------------------------------------------------------
def doses_given(*, session: Session, actor: Actor, period: str | Period, orgunit: str | None = None,
                vaccine: str | None = None) -> list[DosesRow]:
    """Doses given in the period by vaccine, point, township (of the child's residence) and month."""
    p = _period(period)
    area = _area(session, actor, orgunit)
    if vaccine not in (None, "") and vaccine not in VACCINE_CODES:
        raise InvalidInput("vaccine", _E + "vaccine_unknown", value=vaccine, allowed=", ".join(VACCINE_CODES))
    town = func.substr(Resident.village_code, 1, 9)
    year, month = extract("year", Vaccination.date), extract("month", Vaccination.date)
    conds = [Vaccination.date >= p.start, Vaccination.date <= p.end,
             access.visible(actor)]
    if area is not None:
        lo, hi = division_range(area)
        conds += [Resident.village_code >= lo, Resident.village_code <= hi]
    if vaccine:
        conds.append(Vaccination.vaccine == vaccine)
    rows = session.execute(
        select(Vaccination.vaccine, Vaccination.point_id, town, year, month, func.count())
        .join(Resident, Resident.id == Vaccination.resident_id).where(and_(*conds))
        .group_by(Vaccination.vaccine, Vaccination.point_id, town, year, month)).all()
    points = dict(session.execute(select(VaccinationPoint.id, VaccinationPoint.name)).tuples().all())
    towns = {t + "000" for _v, _p, t, *_ in rows}
    names = dict(session.execute(select(OrgUnit.code, OrgUnit.name).where(OrgUnit.code.in_(towns))).tuples().all()) \
        if towns else {}
    order = {code: i for i, code in enumerate(VACCINE_CODES)}
    out = [DosesRow(v, pid, points.get(pid), t + "000", names.get(t + "000", t + "000"),
                    f"{int(y):04d}{int(m):02d}", int(n)) for v, pid, t, y, m, n in rows]
    out.sort(key=lambda r: (r.period, r.orgunit, r.point_name or "", order.get(r.vaccine, 99)))
    return out
