"""The tallies behind the indicators' big measures (core.tallies keeps them in step with every write):

Attribution (issue 15 item 13): a tally keyed by village counts an event in the village the person lived
in ON THE EVENT'S DATE, and a stock in the village they lived in at the month's end, from the residence
history (residents.history): a move, a death or a move out of the county changes the months from its
effective date on, never the months before it.

- `enc`: outpatient visits and inpatient stays per village of the patient's residence on the day the
  visit or stay began, and that month (the four care.counts.ENCOUNTER_COUNTERS);
- `dose`: vaccination doses per village of the child on the dose's day and month, one series per vaccine;
- `people`: births per village of the child on its birth day and month (merged duplicates left out), and
  the population bands the indicator file uses (residents living in the village, active, at the month's
  end, as residents.counts counts them) as +1 in the first month at whose end a resident is in the band
  and lives there active, -1 in the first month at whose end they no longer are;
- `cov`: for each (vaccine, dose) whose coverage the indicator file reports: children eligible,
  vaccinated and vaccinated on time, as of each month's end, as +1/-1 in the months a child enters and
  leaves each — under the schedule edition in force at that month's end (immunization.counts gives the
  same numbers by reading every child's history), in the village the child lived in, active, at that
  month's end (the residence history: a move splits the months between the two villages);
- `checks`: elderly health checks per village the person lived in, active, at the period's end (the 65+
  population they are counted against), and screenings per village on the screening's day.

Every count here is also made the slow way by the measures' own queries; `weijian indicators tallies
check` and the tests compare the two.
"""
from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections import Counter
from collections.abc import Sequence
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Select, SQLColumnExpression, bindparam, func, select
from sqlalchemy.engine import Connection

from weijian.care.models import Encounter
from weijian.care.service import ENCOUNTER_COUNTERS, PRIMARY_TYPES, encounter_counter_columns
from weijian.core import tallies
from weijian.core.errors import InvalidInput
from weijian.core.periods import month_end, yyyymm, yyyymm_of
from weijian.immunization.models import Vaccination
from weijian.immunization.service import (
    VACCINE_CODES,
    add_months,
    edition_files,
    edition_for,
    editions,
    latest_birth,
    series_dates,
    slot_span,
    slots,
)
from weijian.orgunits.models import Facility
from weijian.residents.models import Resident
from weijian.residents.service import (
    OPEN_END,
    ResidentResidence,
    active_runs,
    lived_on,
    stays_of,
    village_on,
    years_before,
)
from weijian.settlement.service import PAYERS, payer_column

VERSION = 1
COUNTERS = ENCOUNTER_COUNTERS
LAST_MONTH_END = date(2100, 12, 31)


def _people(column: SQLColumnExpression[int], everyone: bool) -> list[ColumnElement[bool]]:
    """The condition "one of the people counted" (bound at execution: the statements are built once —
    their building cost more than running them for one person, at every write)."""
    return [] if everyone else [column.in_(bindparam("people", expanding=True))]


def _params(ids: Sequence[int] | None) -> dict:
    return {} if ids is None else {"people": list(ids)}


# --- visits and stays -------------------------------------------------------------------------------
@lru_cache(maxsize=2)
def _encounters_stmt(everyone: bool) -> Select[Any]:
    E, H = Encounter, ResidentResidence
    ym = yyyymm_of(E.start_date)
    return (select(H.village_code, ym, *encounter_counter_columns())
            .select_from(E).join(H, lived_on(H, E.resident_id, E.start_date))
            .where(E.type.in_(("outpatient", "inpatient")), E.voided_at.is_(None), *_people(E.resident_id, everyone))
            .group_by(H.village_code, ym))


def count_encounters(conn: Connection, ids: Sequence[int] | None) -> Counter:
    out: Counter = Counter()
    for village, m, *ns in conn.execute(_encounters_stmt(ids is None), _params(ids)):
        for name, n in zip(COUNTERS, ns, strict=True):
            if n:
                out[(f"enc:{name}", village, int(m))] += int(n)
    return out


# --- doses ------------------------------------------------------------------------------------------
@lru_cache(maxsize=2)
def _doses_stmt(everyone: bool) -> Select[Any]:
    V, H = Vaccination, ResidentResidence
    ym = yyyymm_of(V.date)
    return (select(H.village_code, ym, V.vaccine, func.count())
            .select_from(V).join(H, lived_on(H, V.resident_id, V.date))
            .where(*_people(V.resident_id, everyone)).group_by(H.village_code, ym, V.vaccine))


def count_doses(conn: Connection, ids: Sequence[int] | None) -> Counter:
    out: Counter = Counter()
    for village, m, code, n in conn.execute(_doses_stmt(ids is None), _params(ids)):
        out[(dose_series(code), village, int(m))] += int(n)
        out[("dose:_all", village, int(m))] += int(n)  # every vaccine: one series to read, not ~25
    return out


def dose_series(code: str) -> str:
    """One series per vaccine of the schedule; codes it does not know (old imports) under `dose:_other`."""
    return f"dose:{code}" if code in VACCINE_CODES else "dose:_other"




# --- births and population --------------------------------------------------------------------------
Band = tuple[int | None, int | None, str | None]  # age_min, age_max, sex


def band_series(band: Band) -> str:
    age_min, age_max, sex = band
    return f"people:pop:{age_min or 0}-{'' if age_max is None else age_max}-{sex or ''}"


@lru_cache(maxsize=1)
def bands() -> tuple[Band, ...]:
    """The population groups the indicator file uses (a new one makes the tallies stale until rebuilt)."""
    from weijian.indicators.definitions import definitions

    found: dict[Band, None] = {}
    for ind in definitions().indicators.values():
        for term in (ind.numerator, ind.denominator):
            if term is not None and term.measure in ("population", "resident_population"):
                f = term.filter_dict
                found[(f.get("age_min"), f.get("age_max"), f.get("sex"))] = None
    return tuple(found)


def reaches(birth: date, years: int) -> int:
    """yyyymm of the first month at whose end a person born on `birth` is `years` old (completed years,
    as residents.counts.age_condition: born on or before the same day `years` earlier)."""
    if not years:
        return yyyymm(birth)
    if birth.month != 2 or birth.day != 29:  # the month of the birthday (only 29 February can fall later)
        return (birth.year + years) * 100 + birth.month
    y, m = birth.year + years, birth.month
    end = month_end(y, m)
    if years_before(end, years) >= birth:
        return y * 100 + m
    return y * 100 + m + 1 if m < 12 else (y + 1) * 100 + 1


@lru_cache(maxsize=2)
def _people_stmt(everyone: bool) -> Select[Any]:
    R = Resident
    return select(R.id, R.birth_date, R.sex, R.status).where(*_people(R.id, everyone))


def count_people(conn: Connection, ids: Sequence[int] | None) -> Counter:
    """Births in the village of the birth day; each band as +1/-1 over the months at whose end the person
    is in the band AND lives in the village, active (a residence row from `from` to `to` covers the
    month ends of yyyymm(from) up to, not including, yyyymm(to))."""
    out: Counter = Counter()
    wanted = [(band_series(b), b) for b in bands()]
    stmt = _people_stmt(ids is None)
    people = conn.execute(stmt, _params(ids)).all()
    stays = stays_of(conn, None if ids is None else [p[0] for p in people])
    for rid, birth, sex, status in people:
        if birth is None or status == "merged":
            continue
        mine = stays.get(rid, ())
        born_in = village_on(mine, birth)
        if born_in is not None:
            out[("people:births", born_in[0], yyyymm(birth))] += 1
        for start, end, village, lived in mine:
            if lived != "active":
                continue
            first, stop = yyyymm(start), None if end == OPEN_END else yyyymm(end)
            for series, (age_min, age_max, want_sex) in wanted:
                if want_sex and sex != want_sex:
                    continue
                enter = max(reaches(birth, age_min or 0), first)
                leave = reaches(birth, age_max + 1) if age_max is not None else None
                if stop is not None and (leave is None or stop < leave):
                    leave = stop
                if leave is not None and leave <= enter:
                    continue
                out[(series, village, enter)] += 1
                if leave is not None:
                    out[(series, village, leave)] -= 1
    return out


# --- coverage ---------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def coverage_slots() -> tuple[tuple[str, int], ...]:
    """The (vaccine, dose) pairs whose coverage the indicator file reports."""
    from weijian.indicators.definitions import definitions

    found: dict[tuple[str, int], None] = {}
    for ind in definitions().indicators.values():
        for term in (ind.numerator, ind.denominator):
            if term is not None and term.measure in ("children_eligible", "children_vaccinated",
                                                     "children_vaccinated_timely"):
                f = term.filter_dict
                found[(f["vaccine"], f["dose"])] = None
    return tuple(found)


def cov_series(vaccine: str, dose: int, which: str) -> str:
    return f"cov:{vaccine}:{dose}:{which}"


@lru_cache(maxsize=4)
def _plan(wanted: tuple[tuple[str, int], ...]) -> tuple[list[date], list[str], list[tuple]]:
    """Every month end from the first edition on, and per run of month ends under one edition: its
    series of each vaccine code, the oldest birth date still followed at each end, and per wanted slot
    (series, position, alternative, its position, complete-before age, last eligible birth per end)."""

    first = editions()[0].effective_from
    ends = [month_end(y, m) for y in range(first.year, LAST_MONTH_END.year + 1) for m in range(1, 13)
            if (y, m) >= (first.year, first.month)]
    runs: list[tuple] = []
    i = 0
    while i < len(ends):
        try:
            edition = edition_for(ends[i])
        except InvalidInput:
            i += 1
            continue
        j = i
        while j < len(ends) and edition.in_force(ends[j]):
            j += 1
        seg = ends[i:j]
        fu = edition.follow_until
        oldests = [add_months(e, -fu.months) - timedelta(days=fu.days) for e in seg]
        chosen = []
        for s in slots(edition):
            if (s.vaccine, s.dose) in wanted:
                chosen.append(((s.vaccine, s.dose), s.series.id, s.position - 1,
                               s.alternative.id if s.alternative else None, s.alternative_count - 1,
                               s.complete_before, [latest_birth(e, s.complete_before) for e in seg]))
        runs.append((i, j, {code: sr.id for code, sr in edition.series_of_code.items()}, oldests, chosen))
        i = j
    return ends, [e.isoformat() for e in ends], runs


@lru_cache(maxsize=2)
def _coverage_stmts(everyone: bool) -> tuple[Select[Any], ...]:
    R, V = Resident, Vaccination
    # Every status but merged: where and whether a child counts (active) is read from the residence history.
    where = [R.status != "merged", R.birth_date > bindparam("oldest"), *_people(R.id, everyone)]
    doses_where = [V.resident_id.in_(select(R.id).where(*where))] if everyone else _people(V.resident_id, False)
    # A dose that counts for nothing (invalid_reason: before the minimum age or interval, within 28 days of
    # a live vaccine) covers no slot, as immunization.figures counts it.
    return (select(R.id, R.village_code, R.birth_date).where(*where),
            select(V.resident_id, V.vaccine, V.date).where(*doses_where, V.invalid_reason.is_(None)))


def count_coverage(conn: Connection, ids: Sequence[int] | None) -> Counter:
    wanted = coverage_slots()
    out: Counter = Counter()
    if not wanted:
        return out
    ends, end_texts, runs = _plan(wanted)
    months = [yyyymm(e) for e in ends]
    n = len(ends)
    oldest_followed = min(min(oldests) for _i, _j, _s, oldests, _c in runs) if runs else ends[0]
    children_stmt, doses_stmt = _coverage_stmts(ids is None)
    params = {**_params(ids), "oldest": oldest_followed}
    children = conn.execute(children_stmt, params).all()
    if not children:
        return out
    histories: dict[int, list[tuple[str, str]]] = {}
    for rid, code, day in conn.execute(doses_stmt, params):
        histories.setdefault(rid, []).append((code, day.isoformat()))
    stays = stays_of(conn, None if ids is None else [c[0] for c in children])
    for rid, _village, birth in children:
        lived = active_runs(stays.get(rid, ()), ends)
        if not lived:
            continue
        history = histories.get(rid, ())
        for i0, _i1, series_of, oldests, chosen in runs:
            first_end = max(i0, bisect_left(ends, birth))
            stop = i0 + bisect_left(oldests, birth)  # born after the oldest followed
            if first_end >= stop or not chosen:
                continue
            dates = series_dates(history, series_of)
            for (vaccine, dose), sid, k, alt, m, late, eligible_by in chosen:
                span = slot_span(birth, dates, first_end, stop, eligible_by, i0, (sid, k, alt, m),
                                 (late.months, late.days), end_texts)
                if span is None:
                    continue
                first, given, timely = span
                e_series = cov_series(vaccine, dose, "e")
                for village, a0, b0 in lived:  # cut by the rows of the residence history
                    a, b = max(first, a0), min(stop, b0)
                    if a >= b:
                        continue
                    out[(e_series, village, months[a])] += 1
                    if b < n:
                        out[(e_series, village, months[b])] -= 1
                    if given is None or max(given, a0) >= b:
                        continue
                    g = max(given, a0)
                    for w in ("v", "t") if timely else ("v",):
                        out[(cov_series(vaccine, dose, w), village, months[g])] += 1
                        if b < n:
                            out[(cov_series(vaccine, dose, w), village, months[b])] -= 1
    return out


# --- health checks and screenings -------------------------------------------------------------------
@lru_cache(maxsize=1)
def elderly_ages() -> tuple[int, ...]:
    """The age_min values of the elderly-check measure the indicator file uses (default 65)."""
    from weijian.indicators.definitions import definitions

    found: dict[int, None] = {}
    for ind in definitions().indicators.values():
        for term in (ind.numerator, ind.denominator):
            if term is not None and term.measure == "elderly_checked":
                found[term.filter_dict.get("age_min", 65)] = None
    return tuple(found)


def elderly_series(age_min: int, kind: str) -> str:
    """People checked (each once) in a month (kind m), quarter (q) or year (y), keyed by its last month."""
    return f"checks:elderly:{age_min}:{kind[0]}"


def _period_ends(d: date) -> tuple[tuple[str, date], ...]:
    """The last day of the month, quarter and year of `d`."""
    return (("month", month_end(d.year, d.month)), ("quarter", month_end(d.year, (d.month - 1) // 3 * 3 + 3)),
            ("year", date(d.year, 12, 31)))


@lru_cache(maxsize=2)
def _checks_stmts(everyone: bool) -> tuple[Select[Any], ...]:
    from weijian.care.models import HealthCheck, Screening

    H, S, R = HealthCheck, Screening, Resident
    ym = yyyymm_of(S.date)  # one expression in SELECT and GROUP BY (PostgreSQL compares their parameters)
    L = ResidentResidence
    return ((select(R.id, R.birth_date, H.date).join(R, R.id == H.resident_id)
             .where(H.kind == "annual_65", H.voided_at.is_(None), R.status != "merged",
                    *_people(H.resident_id, everyone))),
            (select(L.village_code, ym, S.kind, func.count()).select_from(S).join(L, lived_on(L, S.resident_id, S.date))
             .where(S.voided_at.is_(None), *_people(S.resident_id, everyone)).group_by(L.village_code, ym, S.kind)))


def count_checks(conn: Connection, ids: Sequence[int] | None) -> Counter:
    """Elderly health checks as care.counts.elderly_checked counts them (annual_65 checks of residents
    aged age_min+ on the period's last day and living there, active, on that day; each person once a
    period) and screenings by kind (care.counts.screening_counts)."""
    out: Counter = Counter()
    ages = elderly_ages()
    seen: set[tuple[str, str, int, int]] = set()
    checks_stmt, screenings_stmt = _checks_stmts(ids is None)
    if ages:
        checks = conn.execute(checks_stmt, _params(ids)).all()
        stays = stays_of(conn, None if ids is None else sorted({c[0] for c in checks}))
        for rid, birth, day in checks:
            mine = stays.get(rid, ())
            for kind, end in _period_ends(day):
                where = village_on(mine, end)
                if where is None or where[1] != "active":
                    continue
                for age_min in ages:
                    if birth <= years_before(end, age_min):
                        seen.add((elderly_series(age_min, kind), where[0], yyyymm(end), rid))
        for series, village, key, _rid in seen:
            out[(series, village, key)] += 1
    for village, m, kind, n in conn.execute(screenings_stmt, _params(ids)):
        out[(f"checks:screen:{kind}", village, int(m))] += int(n)
    return out


# --- settlements ------------------------------------------------------------------------------------
def count_settlements(conn: Connection, ids: Sequence[int] | None) -> Counter:
    """What each payer paid, in fen, per village of the settlement and month booked: each settlement in
    the month settled, and negated in the month it stopped counting (reversed_on), as
    settlement.counts.amounts_by_month books them."""
    from decimal import ROUND_HALF_UP, Decimal

    from weijian.settlement.models import Settlement as S

    out: Counter = Counter()
    stmt = (select(S.village_code, S.settled_on, S.reversed_on, *(payer_column(p) for p in PAYERS))
            .where(*_people(S.resident_id, ids is None)))
    for village, day, reversed_on, *amounts in conn.execute(stmt, _params(ids)):
        for payer, amount in zip(PAYERS, amounts, strict=True):
            if amount:
                fen = int((Decimal(str(amount)) * 100).to_integral_value(ROUND_HALF_UP))
                out[(f"settle:{payer}", village, yyyymm(day))] += fen
                if reversed_on is not None:
                    out[(f"settle:{payer}", village, yyyymm(reversed_on))] -= fen
    return Counter({k: v for k, v in out.items() if v})  # a row settled and reversed in one month nets to 0


@lru_cache(maxsize=1)
def _schedule_fingerprint() -> str:
    """The schedule editions' files (a digest must not depend on the process: no repr of sets)."""
    return tallies.digest(sorted((p.name, hashlib.sha256(p.read_bytes()).hexdigest()) for p in edition_files()))


@lru_cache(maxsize=8)
def _code(name: str) -> str:
    """The counting code of a source: this module (its count function and the statements it runs) and the
    functions of other areas it counts with (core.tallies.code_digest)."""
    import sys

    helpers: dict[str, tuple[Any, ...]] = {
        "enc": (encounter_counter_columns, lived_on), "dose": (lived_on,),
        "people": (years_before, stays_of, village_on),
        "cov": (series_dates, slot_span, slots, edition_for, add_months, latest_birth, stays_of, active_runs),
        "checks": (lived_on, stays_of, village_on),
        "settle": (payer_column,),
    }
    return tallies.code_digest(sys.modules[__name__], *helpers[name])


# --- the sources (registered with core.tallies by the composition root, weijian.wiring) --------------
_LOCK = (select(Resident.id).where(Resident.id.in_(bindparam("people", expanding=True))).order_by(Resident.id)
         .with_for_update())


def lock_people(conn: Connection, ids: list[int]) -> None:
    """Lock the people's rows (PostgreSQL), so two transactions changing one person's records cannot both
    count from the same "before"."""
    conn.execute(_LOCK, {"people": ids})


def sources() -> tuple[tallies.Source, ...]:
    """Every source of the indicators' tallies."""
    from weijian.care.models import HealthCheck, Screening
    from weijian.settlement.models import Settlement

    moved = tallies.Watch(Resident, "id", frozenset({"village_code"}), new_counts=False)
    # The residence history is written with its resident (residents.history, in the same flush): this
    # watch makes a bulk UPDATE or DELETE of it outside the tally-aware path refused, as of residents.
    lived = tallies.Watch(ResidentResidence, "resident_id", new_counts=False)
    return (
        tallies.Source(
            name="enc", count=count_encounters,
            watches=(tallies.Watch(Encounter, "resident_id"), moved, lived),
            fingerprint=lambda: tallies.digest(VERSION, PRIMARY_TYPES, COUNTERS, _code("enc")),
            recount_on=((Facility, frozenset({"type"})),)),
        tallies.Source(
            name="dose", count=count_doses,
            watches=(tallies.Watch(Vaccination, "resident_id"), moved, lived),
            fingerprint=lambda: tallies.digest(VERSION, VACCINE_CODES, "_all", _code("dose"))),
        tallies.Source(
            name="people", count=count_people,
            watches=(tallies.Watch(Resident, "id", frozenset({"village_code", "status", "birth_date", "sex"})), lived),
            fingerprint=lambda: tallies.digest(VERSION, bands(), _code("people"))),
        tallies.Source(
            name="cov", count=count_coverage,
            watches=(tallies.Watch(Vaccination, "resident_id"),
                     tallies.Watch(Resident, "id", frozenset({"village_code", "status", "birth_date"})), lived),
            fingerprint=lambda: tallies.digest(VERSION, coverage_slots(), _schedule_fingerprint(), _code("cov"))),
        tallies.Source(
            name="checks", count=count_checks,
            watches=(tallies.Watch(HealthCheck, "resident_id"), tallies.Watch(Screening, "resident_id"),
                     tallies.Watch(Resident, "id", frozenset({"village_code", "status", "birth_date"}),
                                   new_counts=False), lived),
            fingerprint=lambda: tallies.digest(VERSION, elderly_ages(), _code("checks"))),
        tallies.Source(
            name="settle", count=count_settlements, watches=(tallies.Watch(Settlement, "resident_id"),),
            fingerprint=lambda: tallies.digest(VERSION, PAYERS, "fen", _code("settle"))),
    )
