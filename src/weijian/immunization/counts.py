"""Immunization counts for the indicators domain: doses given per village of the child's residence and
month in one grouped query, coverage and timeliness per village (immunization.figures.rates), and the
records behind them for drill-downs."""
from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Row, Select, String, cast, func, select
from sqlalchemy.orm import Session

from weijian.core.actor import Actor
from weijian.core.periods import Period, yyyymm_of
from weijian.immunization.figures import latest_birth, rates
from weijian.immunization.models import Vaccination, VaccinationPoint
from weijian.immunization.schedule.rules import add_months, edition_for
from weijian.orgunits.models import Facility

# Joined for the child's village (as in immunization.figures); doses by the residence on their day.
from weijian.residents.models import Resident, ResidentResidence
from weijian.residents.service import Stay, active_runs, lived_on, stays_of, village_on


def doses_by_month(*, session: Session, lo: str, hi: str, start: date, end: date, vaccine: str | None = None
                   ) -> dict[tuple[str, int], int]:
    """(village, yyyymm) → doses given (vaccination records dated that month), of one vaccine or all."""
    out: dict[tuple[str, int], int] = {}
    for (village, ym, code), n in doses_by_month_and_vaccine(session=session, lo=lo, hi=hi, start=start,
                                                             end=end).items():
        if vaccine is None or code == vaccine:
            out[(village, ym)] = out.get((village, ym), 0) + n
    return out


def doses_by_month_and_vaccine(*, session: Session, lo: str, hi: str, start: date, end: date
                               ) -> dict[tuple[str, int, str], int]:
    """(village, yyyymm, vaccine) → doses given, by the village the child lived in on the dose's day (the
    residence history: a later move changes no past month): every vaccine in one grouped query."""
    V, H = Vaccination, ResidentResidence
    ym = yyyymm_of(V.date)
    stmt = (select(H.village_code, ym, V.vaccine, func.count())
            .select_from(V).join(H, lived_on(H, V.resident_id, V.date))
            .where(V.date >= start, V.date <= end, H.village_code >= lo, H.village_code <= hi)
            .group_by(H.village_code, ym, V.vaccine))
    return {(v, int(m), code): int(n) for v, m, code, n in session.execute(stmt)}


def dose_records(*, lo: str, hi: str, start: date, end: date, vaccine: str | None = None,
                 dose: int | None = None, born_by: date | None = None) -> Select:
    """Doses given in [start, end] (of a vaccine, a dose number; to children born by `born_by`):
    (resident id, name, id number, village, date, facility of the point, detail = vaccine and dose), the
    village the child lived in on the dose's day (as doses_by_month counts them)."""
    V, R, H = Vaccination, Resident, ResidentResidence
    conds = [V.date >= start, V.date <= end, H.village_code >= lo, H.village_code <= hi]
    if vaccine:
        conds.append(V.vaccine == vaccine)
    if dose:
        conds.append(V.dose == dose)
    if born_by is not None:
        conds += [R.birth_date <= born_by, R.status == "active"]
    return (select(R.id, R.name, R.id_number, H.village_code, V.date.label("date"), Facility.name.label("facility"),
                   (V.vaccine + "-" + cast(V.dose, String)).label("detail"))
            .select_from(V).join(R, R.id == V.resident_id).join(H, lived_on(H, V.resident_id, V.date))
            .outerjoin(VaccinationPoint, VaccinationPoint.id == V.point_id)
            .outerjoin(Facility, Facility.id == VaccinationPoint.facility_id)
            .where(*conds))


def coverage_by_village(*, session: Session, actor: Actor, area: str, period: Period
                        ) -> dict[tuple[str, int], dict[str, tuple[int, int, int]]]:
    """(vaccine, dose) → village → (eligible, vaccinated, timely) as of the period's end, every dose of the
    schedule at once (immunization.figures.rates, village rows)."""
    out: dict[tuple[str, int], dict[str, tuple[int, int, int]]] = {}
    result = rates(session=session, actor=actor, period=period, orgunit=area, level="village")
    for cov, tim in zip(result["coverage"], result["timeliness"], strict=True):
        if cov.denominator:
            out.setdefault((cov.vaccine, cov.dose), {})[cov.orgunit] = (cov.denominator, cov.numerator, tim.numerator)
    return out


def eligible_born_by(*, period_end: date, vaccine: str, dose: int) -> date | None:
    """The last birth date of a child eligible for the dose on `period_end` (None: no such dose)."""
    from weijian.immunization.figures import slots

    for s in slots(edition_for(period_end)):
        if s.vaccine == vaccine and s.dose == dose:
            return latest_birth(period_end, s.complete_before)
    return None


def coverage_by_period(*, session: Session, actor: Actor, area: str, periods: list[Period],
                       doses: set[tuple[str, int]]
                       ) -> list[dict[tuple[str, int], dict[str, tuple[int, int, int]]] | None]:
    """For each period: (vaccine, dose) → village → (eligible, vaccinated, timely) as of its last day — the
    numbers immunization.figures.rates gives for each period (same rules: figures._per_village, but by the
    residence history where rates reads today's village), for the
    doses asked for only, with the children and their doses read ONCE for all the periods (a year's twelve
    month ends cost one read, not twelve).

    The children are those who lived in the area, active, and under the follow-up age on some period's
    end; each period then takes those born by its end, under the age on it and living in the area, active,
    on it — counted in the village they lived in then (the residence history: a later move or death
    changes no past period) — and the doses dated by its end. A period ending before the first schedule
    edition in force gives None."""
    from sqlalchemy import and_

    from weijian.core.identifiers import division_range
    from weijian.immunization.figures import children_and_histories, slots
    from weijian.residents import access

    ends = sorted({p.end for p in periods})
    plans = {}
    wanted_series: set[str] = set()
    from weijian.core.errors import InvalidInput

    for end in list(ends):
        try:
            edition = edition_for(end)
        except InvalidInput:  # before the first edition: no figure
            ends.remove(end)
            continue
        chosen = [s for s in slots(edition) if (s.vaccine, s.dose) in doses]
        oldest = add_months(end, -edition.follow_until.months) - timedelta(days=edition.follow_until.days)
        plans[end] = (edition, chosen, oldest)
        wanted_series |= {s.series.id for s in chosen} | {s.alternative.id for s in chosen if s.alternative}
    codes = sorted({code for e, _c, _o in plans.values() for code, sr in e.series_of_code.items()
                    if sr.id in wanted_series})
    out_by_end: dict[date, dict[tuple[str, int], dict[str, list[int]]]] = {end: {} for end in ends}
    if codes and ends:
        lo, hi = division_range(area)
        last, first_oldest = ends[-1], min(o for _e, _c, o in plans.values())
        H = ResidentResidence
        lived_here = (select(H.id).where(H.resident_id == Resident.id, H.status == "active", H.village_code >= lo,
                                         H.village_code <= hi, H.valid_from <= last, H.valid_to > ends[0])
                      .exists())
        where = and_(Resident.status != "merged", Resident.birth_date <= last, Resident.birth_date > first_oldest,
                     access.visible(actor), lived_here)
        histories, children = children_and_histories(session, where, last, codes)
        stays = stays_of(session.connection(), [c[0] for c in children])
        if len({e.id for e, _c, _o in plans.values()}) == 1:
            _fill_one_edition(out_by_end, plans, children, histories, stays, lo, hi)
        else:
            _fill(out_by_end, plans, children, histories, stays, lo, hi)
    return [None if p.end not in out_by_end else
            {k: {v: (c[0], c[1], c[2]) for v, c in villages.items()} for k, villages in out_by_end[p.end].items()}
            for p in periods]


def _fill(out_by_end: dict[date, dict[tuple[str, int], dict[str, list[int]]]], plans: dict[date, Any],
          children: Sequence[Row[Any]], histories: dict[int, str], stays: dict[int, list[Stay]], lo: str,
          hi: str) -> None:
    """figures._per_village's slot filling (default timeliness rule: complete-before) for every end date at
    once: each child's history is parsed once (dates per series, in order); for an end date the k-th dose
    given by then is the k-th date when that date is on or before the end."""
    steps: list[tuple[Any, ...]] = []
    for end, (edition, chosen, oldest) in plans.items():
        steps.append((edition.id, end, oldest, [latest_birth(end, s.complete_before) for s in chosen],
                      [(s.complete_before.months, s.complete_before.days) for s in chosen],
                      [(s.series.id, s.position - 1, s.alternative.id if s.alternative else None,
                        s.alternative_count - 1) for s in chosen],
                      [(s.vaccine, s.dose) for s in chosen], end.isoformat(), {}, out_by_end[end]))
    # Each edition names its own series (a code may count towards another series in a later edition).
    series_of = {e.id: {code: sr.id for code, sr in e.series_of_code.items()} for e, _c, _o in plans.values()}
    for rid, _village, birth in children:
        pairs = history_pairs(histories.get(rid))
        parsed = {edition_id: series_dates(pairs, codes) for edition_id, codes in series_of.items()}
        mine = stays.get(rid, ())
        for edition_id, end, oldest, eligible_by, late, plan, keys, end_text, cuts, out in steps:
            if birth > end or birth <= oldest:
                continue
            lived = village_on(mine, end)
            if lived is None or lived[1] != "active" or not lo <= lived[0] <= hi:
                continue
            village = lived[0]
            dates = parsed[edition_id]
            due = cuts.get(birth)
            if due is None:
                due = cuts[birth] = tuple(
                    (keys[i], *plan[i], (add_months(birth, late[i][0]) + timedelta(days=late[i][1])).isoformat())
                    for i in range(len(plan)) if birth <= eligible_by[i])
            for key, sid, k, alt, m, cut in due:
                villages = out.get(key)
                if villages is None:
                    villages = out[key] = {}
                acc = villages.get(village)
                if acc is None:
                    acc = villages[village] = [0, 0, 0]
                acc[0] += 1
                got = dates.get(sid)
                day = got[k] if got is not None and len(got) > k and got[k] <= end_text else None
                if alt is not None:
                    other = dates.get(alt)
                    if (other is not None and len(other) > m and other[m] <= end_text
                            and (day is None or other[m] < day)):
                        day = other[m]
                if day is not None:
                    acc[1] += 1
                    if day < cut:
                        acc[2] += 1


def history_pairs(text: str | None) -> list[tuple[str, str]]:
    """A child's doses as aggregated by the coverage queries, "HepB:2025-06-01,BCG:2025-06-02,…", as
    (vaccine code, ISO date) pairs."""
    return [(item[:item.index(":")], item[-10:]) for item in text.split(",")] if text else []


def series_dates(history: Iterable[tuple[str, str]], series_of: dict[str, str]) -> dict[str, list[str]]:
    """Per series of an edition (`series_of`: vaccine code → series id), the ISO dates of a child's doses
    in order, from (vaccine code, ISO date) pairs; codes outside the edition's series are left out."""
    dates: dict[str, list[str]] = {}
    for code, day in history:
        sid = series_of.get(code)
        if sid is not None:
            dates.setdefault(sid, []).append(day)
    for got in dates.values():
        got.sort()
    return dates


def dose_day(dates: dict[str, list[str]], sid: str, k: int, alt: str | None, m: int) -> str | None:
    """The day (ISO text) a slot counts as given: the earlier of the series' k-th dose and the alternative
    series' m-th (positions from 0; `dates` sorted per series); None when neither is given."""
    got = dates.get(sid)
    day = got[k] if got is not None and len(got) > k else None
    if alt is not None:
        other = dates.get(alt)
        if other is not None and len(other) > m and (day is None or other[m] < day):
            day = other[m]
    return day


def slot_span(birth: date, dates: dict[str, list[str]], first_end: int, stop: int, eligible_by: list[date],
              offset: int, plan: tuple[str, int, str | None, int], late: tuple[int, int], end_texts: list[str]
              ) -> tuple[int, int | None, bool] | None:
    """One child and one slot along sorted end dates (`end_texts`; `eligible_by` holds the last eligible
    birth date for each end from index `offset`): the index of the first end it is eligible at (None:
    not before `stop`), of the first it counts as vaccinated at (None: not before `stop`), and whether
    that dose was on time (before the late age `late` = (months, days) after birth)."""
    first = max(first_end, offset + bisect_left(eligible_by, birth))
    if first >= stop:
        return None
    day = dose_day(dates, *plan)
    if day is None:
        return first, None, False
    given = max(first, bisect_left(end_texts, day))
    if given >= stop:
        return first, None, False
    return first, given, day < (add_months(birth, late[0]) + timedelta(days=late[1])).isoformat()


def _fill_one_edition(out_by_end: dict[date, dict[tuple[str, int], dict[str, list[int]]]], plans: dict[date, Any],
                      children: Sequence[Row[Any]], histories: dict[int, str], stays: dict[int, list[Stay]],
                      lo: str, hi: str) -> None:
    """_fill when every end date falls under the same schedule edition (a year's month ends, as a rule),
    without visiting each child once per end date: along the sorted end dates a child is eligible for a
    dose over one run of them (the follow-up age and the dose's age bounds both move forward with the
    end), and vaccinated (timely) from the first end on or after the date the dose counts from — the
    earliest of the series' k-th and the alternative's m-th dose, which is the date _fill picks for every
    end it falls on or before. Each child adds +1/-1 at the run's bounds, cut by the rows of its residence
    history (counted in the village it lived in, active, at each end); running sums give the counts."""
    ends = list(plans)
    if ends != sorted(ends):
        raise AssertionError("plans must come in date order")
    edition, chosen, _oldest = plans[ends[0]]
    oldests = [plans[e][2] for e in ends]
    end_texts = [e.isoformat() for e in ends]
    series_of = {code: sr.id for code, sr in edition.series_of_code.items()}
    slots_ = [((s.vaccine, s.dose), s.series.id, s.position - 1, s.alternative.id if s.alternative else None,
               s.alternative_count - 1, s.complete_before.months, s.complete_before.days,
               [latest_birth(e, s.complete_before) for e in ends]) for s in chosen]
    n = len(ends)
    diffs: dict[tuple[str, int], dict[str, list[list[int]]]] = {}
    for rid, _village, birth in children:
        first_end, stop = bisect_left(ends, birth), bisect_left(oldests, birth)  # birth <= end, > oldest
        if first_end >= stop:
            continue
        runs = active_runs(stays.get(rid, ()), ends, lo, hi)
        if not runs:
            continue
        dates = series_dates(history_pairs(histories.get(rid)), series_of)
        for key, sid, k, alt, m, late_months, late_days, eligible_by in slots_:
            span = slot_span(birth, dates, first_end, stop, eligible_by, 0, (sid, k, alt, m),
                             (late_months, late_days), end_texts)
            if span is None:
                continue
            first, given, timely = span
            villages = diffs.get(key)
            if villages is None:
                villages = diffs[key] = {}
            for village, i, j in runs:
                a, b = max(first, i), min(stop, j)
                if a >= b:
                    continue
                acc = villages.get(village)
                if acc is None:
                    acc = villages[village] = [[0] * (n + 1), [0] * (n + 1), [0] * (n + 1)]
                acc[0][a] += 1
                acc[0][b] -= 1
                if given is None:
                    continue
                g = max(given, i)
                if g >= b:
                    continue
                acc[1][g] += 1
                acc[1][b] -= 1
                if timely:
                    acc[2][g] += 1
                    acc[2][b] -= 1
    for key, villages in diffs.items():
        for village, (eligible, vaccinated, in_time) in villages.items():
            e = v = t = 0
            for i, end in enumerate(ends):
                e, v, t = e + eligible[i], v + vaccinated[i], t + in_time[i]
                if e:
                    out_by_end[end].setdefault(key, {})[village] = [e, v, t]
