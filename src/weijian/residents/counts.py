"""Resident counts for the indicators domain: population by village as of dates (one query, one column
per date), births by village and month, and the residents behind such a count (for drill-downs).

Counting rules (decided here): a resident counts in the population of a village on a date when the
residence history (residents.history) has them living there, active (not deceased or moved out), on that
date, the record is not a merged duplicate, and they were born on or before the date; age is in completed
years on the date. A move or a death counts from its effective date: a population of 2025 is the same
before and after a move in 2026. A birth counts in the month of its birth date, in the village the child
lived in on that day, whatever the record's status now, except merged records (duplicates).
"""
from __future__ import annotations

from datetime import date
from itertools import accumulate

from sqlalchemy import ColumnElement, Select, SQLColumnExpression, and_, case, func, literal, null, select
from sqlalchemy.orm import Session

from weijian.core.periods import yyyymm_of
from weijian.residents.history import lived_on
from weijian.residents.models import Resident, ResidentResidence


def years_before(d: date, years: int) -> date:
    """The same day `years` years earlier (29 February → 28 February)."""
    try:
        return d.replace(year=d.year - years)
    except ValueError:
        return d.replace(year=d.year - years, day=28)


def age_condition(birth: SQLColumnExpression[date], on: date, age_min: int | None,
                  age_max: int | None) -> ColumnElement[bool]:
    """Aged age_min..age_max (inclusive, completed years) on `on`, as a condition on a birth-date column."""
    conds = [birth <= on]
    if age_min:
        conds.append(birth <= years_before(on, age_min))
    if age_max is not None:
        conds.append(birth > years_before(on, age_max + 1))
    return and_(*conds)


def population(*, session: Session, lo: str, hi: str, dates: list[date], age_min: int | None = None,
               age_max: int | None = None, sex: str | None = None) -> list[dict[str, int]]:
    """For each date, village code → active residents of that age (and sex) on the date, in one query."""
    return population_groups(session=session, lo=lo, hi=hi, dates=dates, groups=[(age_min, age_max, sex)])[0]


def population_groups(*, session: Session, lo: str, hi: str, dates: list[date],
                      groups: list[tuple[int | None, int | None, str | None]]) -> list[list[dict[str, int]]]:
    """population() for several (age_min, age_max, sex) groups at once; result[g][d] is village → count.

    Every group × date is a range of birth dates (bottom, top]; all their bounds, sorted, cut the birth
    dates into buckets, and ONE grouped query counts the active residents per (village, sex, bucket) —
    the bucket found by a nested CASE halving the bounds (a few comparisons a row, not one per bound:
    a CASE column per group and date was several times slower, reading the 400,000 rows into Python ~3x
    slower). A range's count is then a sum of buckets."""
    R, H = Resident, ResidentResidence
    ranges = []  # per group, per date: (top, bottom | None, sex)
    for age_min, age_max, sex in groups:
        ranges.append([(years_before(d, age_min) if age_min else d,
                        years_before(d, age_max + 1) if age_max is not None else None, sex) for d in dates])
    # One grouped query per distinct date (who lived where differs by date), each cutting the birth dates
    # by the bounds of that date's ranges only.
    running: dict[date, dict[tuple[str, str], list[int]]] = {}
    index: dict[date, dict[date, int]] = {}
    for d in sorted(set(dates)):
        cuts = sorted({b for per in ranges for (top, bottom, _s), on in zip(per, dates, strict=True) if on == d
                       for b in (top, bottom) if b is not None})
        bucket = _bucket(R.birth_date, cuts, 0, len(cuts))  # = number of cuts before the birth date
        stmt = (select(H.village_code, R.sex, bucket, func.count())
                .select_from(H).join(R, R.id == H.resident_id)
                .where(H.valid_from <= d, H.valid_to > d, H.status == "active", R.status != "merged",
                       H.village_code >= lo, H.village_code <= hi, R.birth_date <= d)
                .group_by(H.village_code, R.sex, bucket))
        # running[d][(village, sex)][j]: residents born on or before cuts[j]
        per_bucket: dict[tuple[str, str], list[int]] = {}
        for village, sex, k, n in session.execute(stmt):
            per_bucket.setdefault((village, sex), [0] * (len(cuts) + 1))[int(k)] += int(n)
        running[d] = {key: list(accumulate(counts)) for key, counts in per_bucket.items()}
        index[d] = {c: j for j, c in enumerate(cuts)}
    out: list[list[dict[str, int]]] = []
    for per in ranges:
        per_date = []
        for (top, bottom, sex), d in zip(per, dates, strict=True):
            counts: dict[str, int] = {}
            at = index[d]
            for (village, s), upto in running[d].items():
                if sex and s != sex:
                    continue
                n = upto[at[top]] - (upto[at[bottom]] if bottom is not None else 0)
                if n > 0:
                    counts[village] = counts.get(village, 0) + n
            per_date.append(counts)
        out.append(per_date)
    return out


def _bucket(column: SQLColumnExpression[date], cuts: list[date], lo: int, hi: int) -> ColumnElement[int]:
    """The number of cuts[lo:hi] before the column's value, plus lo (cuts sorted), as nested CASEs."""
    if lo >= hi:
        return literal(lo)
    mid = (lo + hi) // 2
    return case((column <= cuts[mid], _bucket(column, cuts, lo, mid)), else_=_bucket(column, cuts, mid + 1, hi))


def births_by_month(*, session: Session, lo: str, hi: str, start: date, end: date) -> dict[tuple[str, int], int]:
    """(village code, yyyymm) → residents born that month, by the village they lived in on the day of
    their birth (merged duplicates left out)."""
    R, H = Resident, ResidentResidence
    ym = yyyymm_of(R.birth_date)
    stmt = (select(H.village_code, ym, func.count())
            .select_from(R).join(H, lived_on(H, R.id, R.birth_date))
            .where(R.status != "merged", R.birth_date >= start, R.birth_date <= end,
                   H.village_code >= lo, H.village_code <= hi)
            .group_by(H.village_code, ym))
    return {(v, int(m)): int(n) for v, m, n in session.execute(stmt)}


def population_records(*, on: date, lo: str, hi: str, age_min: int | None = None, age_max: int | None = None,
                       sex: str | None = None, born_from: date | None = None) -> Select:
    """The residents behind population() (or births when `born_from` is given: born from it to `on`):
    a statement of (resident id, name, id number, village code, date = birth date, facility, detail = sex),
    the village being where they lived on `on` (for births: on the day of their birth)."""
    R, H = Resident, ResidentResidence
    if born_from is not None:
        conds = [R.status != "merged", R.birth_date >= born_from, R.birth_date <= on]
        where = lived_on(H, R.id, R.birth_date)
    else:
        conds = [R.status != "merged", H.status == "active", age_condition(R.birth_date, on, age_min, age_max)]
        where = lived_on(H, R.id, on)
        if sex:
            conds.append(R.sex == sex)
    return (select(R.id, R.name, R.id_number, H.village_code, R.birth_date.label("date"),
                   null().label("facility"), R.sex.label("detail"))
            .select_from(R).join(H, where)
            .where(H.village_code >= lo, H.village_code <= hi, *conds))
