"""The due/overdue engine: from a child's birth date and the doses given, the state of every dose of the
schedule on a date. Pure: no database, no clock; the schedule editions are data (schedule/rules.py).

Rules (the schedule file's header names the sources):
- The edition in force on `as_of` decides the doses. Doses given under an earlier edition count: each
  given dose fills the next slot of the series that accepts its code, in date order, so a series is
  never restarted and only missing doses remain (a DT given under 2021 fills DTaP slot 5 of 2025).
- An alternative (JE-L / JE-I, HepA-L / HepA-I): the child follows the variant it has started (the one
  given most recently, if both); with neither started, the file's default. Doses given of the other
  variant are still listed, as given.
- earliest_date = the latest of: the recommended date (birth + recommended age); the previous dose of the
  series + its minimum interval; each `after` rule (e.g. MPSV-AC dose 1 ≥ 12 months after MPSV-A dose 2).
  When that previous dose is not given yet, it counts from the day it can be given at the soonest (its
  earliest date, or as_of if that is past): so in a late child only the first missing dose of a series
  is due now, and the next ones follow at their intervals (catch-up). For an injectable live
  vaccine, a window (d, d + 28 days) after any injectable live vaccine given on day d is closed: the
  earliest date is where the dose may be given from, without a closed day between it and as_of
  (so a live vaccine given today allows the others today, then not for 28 days).
- Catch-up forms (data, the 2021 说明's 补种 rules): a series' `catch_up` (DTP: a dose still to give on or
  after the 6th birthday is DT, the series complete at 3 doses, or one DT more after 3 or 4 DTaP unless a
  DT was given, by the form's intervals; none from 12 years); an `after` rule's `if_not_given` (MPSV-AC 1
  from 24 months, 3 months after a single MPSV-A, when MPSV-A 2 is no longer given); a series'
  `older_sequence` (polio: a child born before 2019-10-01 is given 1 IPV, then bOPV). The doses still to
  give follow them; of the doses given, one of the catch-up vaccine given within the catch-up ages is
  judged by the form's intervals (a DT at 6 years), the others by the slots' own rules.
- status: given (in the history); not_applicable (missing, and no longer given: from the dose's
  catch-up age limit — BCG from 4 years, MPSV-A from 24 months — or from 18 years, or when it could not
  be given before that limit); overdue (as_of on or after overdue_date); upcoming (earliest_date after
  as_of); due (otherwise). An overdue dose may also not be givable yet (a late child's DTaP3 waiting for
  DTaP2): overdue wins, since the child is late either way.
- overdue_date: birth + the dose's complete-before age, or with OverdueRule(days_after_recommended=N),
  the recommended date + N days.
- flags: "tb_test_required" (a BCG dose to be given from 3 months needs a negative TB test first),
  "early" (a given dose given before its earliest date).
- invalid: a dose given before its earliest date (the minimum age, the minimum interval from the previous
  valid dose, or within 28 days of another injectable live vaccine not given the same day) is listed with
  status invalid, flags ("early", the reason), and fills no slot: it is not counted, the next interval
  does not start from it, and the slot stays to give (due again from its earliest date); its repeat may
  be recorded even when the series is full by count (the certificate numbers run on: DTaP 5 after an
  invalid DTaP 2 fills slot 4). Each dose is judged by the edition in force when it was given: one given
  before the edition in force on as_of took effect keeps the judgement of its own edition (a 2021 DTaP3
  at 5 months stays valid under 2025, flagged early by today's; a 2024 MMR at 7 months stays invalid,
  though today's edition would ask the same). The 2021 text
  makes the table age the minimum age ("程序表所列接种时间是可接种该剂次的最小年龄"); that an earlier dose
  does not count is weijian's reading (no national sentence found), as issue 14 item 7 asks.

Many children at once: `due_many` (one edition and plan for all; the rows of a series not started shared
per birth date). The recall list asks only for the doses still to give (`pending_only`) and gives the
judgement stored with the doses (`judged`), so the doses given are not judged again nor shown; for many
children at once, `pending_many`. Property tests (tests/immunization/test_engine.py) hold them all equal to
`due`'s answer.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from operator import itemgetter
from typing import Any, NamedTuple, NoReturn

from weijian.core.errors import FieldError, InvalidInput
from weijian.immunization.schedule.rules import Age, Edition, add_months, edition_for, editions

GIVEN = "given"
DUE = "due"
OVERDUE = "overdue"
UPCOMING = "upcoming"
NOT_APPLICABLE = "not_applicable"
INVALID = "invalid"  # given, but before its earliest date: not counted, the slot is still to give
STATUSES = (GIVEN, DUE, OVERDUE, UPCOMING, NOT_APPLICABLE, INVALID)

FLAG_TB_TEST = "tb_test_required"
FLAG_EARLY = "early"
# Why an invalid dose is invalid (one of these beside FLAG_EARLY).
FLAG_BEFORE_MIN_AGE = "before_min_age"
FLAG_BEFORE_MIN_INTERVAL = "before_min_interval"
FLAG_LIVE_28_DAYS = "live_within_28_days"
LIVE_GAP = timedelta(days=28)
_E = "immunization.errors."


class GivenDose(NamedTuple):
    vaccine: str  # code: HepB, BCG, IPV, bOPV, DTaP, DT, MMR, JE-L, JE-I, MPSV-A, MPSV-AC, HepA-L, HepA-I
    dose: int  # dose number of this vaccine code (1-based), as on the vaccination certificate
    date: date


class DoseStatus(NamedTuple):
    vaccine: str
    dose: int
    status: str  # one of STATUSES
    recommended_date: date
    earliest_date: date | None  # None only when not_applicable
    overdue_date: date
    given_date: date | None
    flags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class OverdueRule:
    """When a missing dose counts as overdue: None = from the dose's complete-before age (the default);
    N = from its recommended date + N days."""

    days_after_recommended: int | None = None

    @classmethod
    def parse(cls, text: str | None) -> OverdueRule:
        """`complete_before` (or empty) | `recommended+30d` (also `recommended+30`)."""
        value = (text or "").strip()
        if value in ("", "complete_before"):
            return COMPLETE_BEFORE
        m = re.fullmatch(r"recommended\s*\+\s*(\d{1,4})d?", value)
        if m is None:
            raise InvalidInput("overdue_rule", _E + "overdue_rule_format", value=value)
        return cls(int(m.group(1)))

    @classmethod
    def of(cls, value: OverdueRule | str | None) -> OverdueRule:
        """A rule as given, or parsed from its text (a setting); None: the default."""
        return value if isinstance(value, OverdueRule) else cls.parse(value)

    def __str__(self) -> str:
        n = self.days_after_recommended
        return "complete_before" if n is None else f"recommended+{n}d"


COMPLETE_BEFORE = OverdueRule()


# --- compiled schedule: the per-edition work done once --------------------------------------------
# The engine runs for every child of a county at once (the issue asks for 30,000 children in under a
# second), so the schedule is compiled to plain tuples, and the dates that depend only on the birth
# date are kept per birth date (many children share one).


class _Plan(NamedTuple):
    edition: Edition
    # groups → series (id, slots); a slot: (code, default dose number, recommended (m, d), overdue (m, d),
    # catch-up limit (m, d) | None, TB-test age (m, d) | None, interval months, interval days | None,
    # after rules, injectable live, order)
    groups: tuple[tuple[tuple[str, tuple[tuple[Any, ...], ...]], ...], ...]
    follow: tuple[int, int]
    live: frozenset[str]
    codes: dict[str, tuple[str, int]]  # vaccine code → (series id, number of slots)
    series_of: dict[str, str]  # vaccine code → series id
    sizes: dict[str, int]  # series id → number of slots
    referenced: frozenset[str]  # series some `after` rule points to (their dates are kept while computing)
    mixed: frozenset[str]  # series accepting several codes (their dose numbers are counted per code)
    code_info: dict[str, tuple[str, bool, bool]]  # vaccine code → (series id, injectable live, series mixed)
    # series id → its catch-up form (rules.CatchUp): (from (m, d), until (m, d), vaccine, doses, per slot the
    # minimum interval (months, days) from the dose before)
    catch_ups: dict[str, tuple[Any, ...]]
    older: dict[str, tuple[date, tuple[str, ...]]]  # series id → (born before, the code of each slot)
    # series whose doses still to give depend on more than the birth date when none is given: an `after`
    # rule (another series' doses), an injectable live vaccine (the 28-day windows of the live doses given)
    tied: frozenset[str]
    live_series: frozenset[str]


_plans: dict[int, _Plan] = {}
_statics: dict[tuple[int, int | None, date], tuple[Any, ...]] = {}
_STATIC_CACHE_MAX = 100_000


def _months_days(age: Age) -> tuple[int, int]:
    return (age.months, age.days)


def _compile(edition: Edition) -> _Plan:
    order = 0
    groups = []
    for group in edition.groups:
        compiled = []
        for series in group:
            slots = []
            numbers: dict[str, int] = {}
            for d in series.doses:
                numbers[d.vaccine] = numbers.get(d.vaccine, 0) + 1
                iv = d.min_interval
                ivm, ivd = (iv.months, timedelta(days=iv.days)) if iv else (0, None)
                after = tuple((a.series, a.slot, a.interval.months, timedelta(days=a.interval.days),
                               None if a.if_not_given is None else (
                                   _months_days(a.if_not_given[0]), a.if_not_given[1].months,
                                   timedelta(days=a.if_not_given[1].days)))
                              for a in d.after)
                slots.append((d.vaccine, numbers[d.vaccine], _months_days(d.recommended),
                              _months_days(d.complete_before),
                              _months_days(d.catch_up_until) if d.catch_up_until else None,
                              _months_days(d.tb_test_from) if d.tb_test_from else None,
                              ivm, ivd, after, d.live_injectable, order))
                order += 1
            compiled.append((series.id, tuple(slots)))
        groups.append(tuple(compiled))
    if order >= 1024:
        raise ValueError(f"{edition.id}: more than 1024 dose slots")  # the sort key packs the order
    codes = {code: (s.id, len(s.doses)) for code, s in edition.series_of_code.items()}
    referenced = frozenset(a.series for s in edition.series.values() for d in s.doses for a in d.after)
    mixed = frozenset(s.id for s in edition.series.values() if len(s.accepts) > 1)
    plan = _Plan(edition, tuple(groups), _months_days(edition.follow_until), edition.live_injectable, codes,
                 {code: sid for code, (sid, _n) in codes.items()},
                 {sid: len(s.doses) for sid, s in edition.series.items()}, referenced, mixed,
                 {code: (sid, code in edition.live_injectable, sid in mixed) for code, (sid, _n) in codes.items()},
                 {sid: (_months_days(cu.from_age), _months_days(cu.until), cu.vaccine, cu.doses,
                        tuple((iv.months, timedelta(days=iv.days)) if iv else (0, timedelta(0)) for iv in cu.intervals))
                  for sid, s in edition.series.items() if (cu := s.catch_up) is not None},
                 {sid: s.older_sequence for sid, s in edition.series.items() if s.older_sequence is not None},
                 frozenset(s.id for s in edition.series.values() if any(d.after for d in s.doses)),
                 frozenset(s.id for s in edition.series.values() if any(d.live_injectable for d in s.doses)))
    _plans[id(edition)] = plan
    return plan


_ZERO = timedelta(0)


def _static(plan: _Plan, birth: date, n: int | None) -> tuple[Any, ...]:
    """The plan with each slot's birth-dependent dates filled in: per group, per series (id, slots),
    a slot being (code, default number, recommended date, its sort key, overdue date, no-longer-given
    date, TB-test date | None, interval months, interval days (0 when none), after rules | None,
    injectable live, order)."""
    key = (id(plan.edition), n, birth)
    out = _statics.get(key)
    if out is not None:
        return out
    if len(_statics) >= _STATIC_CACHE_MAX:
        _statics.clear()
    month_dates: dict[int, date] = {}  # the schedule uses a few ages in months, shared by many slots

    def at(age: tuple[int, int]) -> date:
        months, days = age
        base = month_dates.get(months)
        if base is None:
            base = month_dates[months] = add_months(birth, months)
        return base + timedelta(days=days) if days else base

    follow = at(plan.follow)
    after_n = timedelta(days=n) if n is not None else None
    groups = []
    for group in plan.groups:
        compiled = []
        for sid, slots in group:
            filled = []
            for code, number, rec_age, cb_age, limit_age, tb_age, ivm, ivd, after, live, order in slots:
                rec = at(rec_age)
                overdue = at(cb_age) if after_n is None else rec + after_n
                limit = follow if limit_age is None else min(follow, at(limit_age))
                tb = at(tb_age) if tb_age is not None else None
                if after:
                    after = tuple(a if a[4] is None else (*a[:4], (at(a[4][0]), a[4][1], a[4][2])) for a in after)
                filled.append((code, number, rec, rec.toordinal() << 10 | order, overdue, limit, tb,
                               ivm, ivd if ivd is not None else _ZERO, after or None, live, order))
            compiled.append((sid, tuple(filled)))
        groups.append(tuple(compiled))
    out = tuple(groups)
    _statics[key] = out
    return out


# --- the history ----------------------------------------------------------------------------------
_by_date_then_dose = itemgetter(2, 1, 0)  # date, dose number, code: the same order whatever the input's


class _Refused(Exception):
    pass


def _check(plan: _Plan, birth: date, given: Sequence[GivenDose], as_of: date
           ) -> tuple[dict[str, list[GivenDose]], list[date], list[GivenDose]]:
    """(the doses per series id, in the order they fill its slots; the dates of injectable live doses,
    ascending; the doses in date order). A bad history goes to _refuse, which names every bad entry."""
    code_info = plan.code_info
    out: dict[str, list[GivenDose]] = {}
    live_dates: list[date] = []
    ordered: list[GivenDose] = []
    if not given:
        return out, live_dates, ordered
    try:
        ordered = sorted(given, key=_by_date_then_dose)
        if ordered[0][2] < birth or ordered[-1][2] > as_of:
            raise _Refused
        last: dict[str, int] = {}
        for g in ordered:
            sid, is_live, mixed = code_info[g[0]]
            entries = out.get(sid)
            if entries is None:
                entries = out[sid] = []
            # In date order each code's doses run 1, 2, 3…: this refuses a dose given twice, one
            # without the dose before it, or one before it. (A value that is no date fails the sort
            # or the comparisons above with TypeError.) A series of one code counts its entries.
            if mixed:
                n = last.get(g[0], 0) + 1
                last[g[0]] = n
            else:
                n = len(entries) + 1
            if g[1] != n:
                raise _Refused
            entries.append(g)
            if is_live:
                live_dates.append(g[2])
        # More doses than a series has slots is no refusal here: a dose that counts for nothing (invalid)
        # fills no slot, so its repeat is one more dose. The due loop refuses the doses left over.
    except (_Refused, KeyError, TypeError, ValueError, IndexError):
        _refuse(plan, birth, given, as_of)
    return out, live_dates, ordered


def _entry(g: GivenDose) -> str:
    d = g[2]
    return f"{g[0]}:{g[1]}:{d.isoformat() if isinstance(d, date) else d}"


def _refuse(plan: _Plan, birth: date, given: Sequence[GivenDose], as_of: date,
            surplus: Sequence[GivenDose] = ()) -> NoReturn:
    """Raise InvalidInput with every bad entry of the history, each named `given[i]`; `surplus`: the doses
    the due loop found beyond a series' slots once the invalid ones were set aside."""
    errors: list[FieldError] = []
    seen: dict[tuple[str, int], int] = {}
    for i, g in enumerate(given):
        field = f"given[{i}]"
        code, n, d = g
        info = plan.codes.get(code)
        if info is None:
            errors.append(FieldError(field, _E + "unknown_vaccine", {"entry": _entry(g), "vaccine": code}))
            continue
        sid, size = info
        if type(n) is not int or n < 1:
            errors.append(FieldError(field, _E + "dose_beyond_series",
                                     {"entry": _entry(g), "vaccine": code, "max": size}))
            continue
        if type(d) is not date:
            errors.append(FieldError(field, _E + "given_date_invalid", {"entry": _entry(g)}))
            continue
        if d < birth:
            errors.append(FieldError(field, _E + "given_before_birth",
                                     {"entry": _entry(g), "birth_date": birth.isoformat()}))
            continue
        if d > as_of:
            errors.append(FieldError(field, _E + "given_after_as_of",
                                     {"entry": _entry(g), "as_of": as_of.isoformat()}))
            continue
        if (code, n) in seen:
            errors.append(FieldError(field, _E + "given_twice",
                                     {"entry": _entry(g), "other": f"given[{seen[code, n]}]"}))
            continue
        seen[code, n] = i
    for (code, n), i in seen.items():
        if n == 1:
            continue
        j = seen.get((code, n - 1))
        if j is None:
            errors.append(FieldError(f"given[{i}]", _E + "previous_dose_missing",
                                     {"entry": _entry(given[i]), "vaccine": code, "previous": n - 1}))
        elif given[i][2] < given[j][2]:
            errors.append(FieldError(f"given[{i}]", _E + "before_previous_dose",
                                     {"entry": _entry(given[i]), "vaccine": code, "previous": n - 1,
                                      "previous_date": given[j][2].isoformat()}))
    for g in surplus:  # a series full of valid doses takes no more (an invalid one makes room for its repeat)
        i = next(i for i, h in enumerate(given) if h[0] == g[0] and h[1] == g[1] and h[2] == g[2])
        sid, size = plan.codes[g[0]]
        if g[1] > size:
            errors.append(FieldError(f"given[{i}]", _E + "dose_beyond_series",
                                     {"entry": _entry(g), "vaccine": g[0], "max": size}))
        else:
            errors.append(FieldError(f"given[{i}]", _E + "series_full",
                                     {"entry": _entry(g), "series": sid, "max": size}))
    if not errors:  # what the quick check disliked is no rule of ours: a value of the wrong kind
        errors = [FieldError(f"given[{i}]", _E + "given_date_invalid", {"entry": _entry(g)})
                  for i, g in enumerate(given) if type(g[2]) is not date] or [
                  FieldError("given", _E + "given_invalid", {})]
    errors.sort(key=lambda e: int(e.field[6:-1]) if e.field.startswith("given[") else -1)
    raise InvalidInput(errors=errors)


def _after(e: date, after: tuple[Any, ...], done: dict[str, tuple[list[date | None], int]], given: bool,
           t: date) -> date:
    """`e` moved past the `after` rules: for a dose given, only doses given count; for one still to
    give, doses still to give count from the day they can be given at the soonest. When the dose a rule
    points to is no longer given (for a dose given: was not given) and the rule has an `if_not_given`
    form, that form replaces the dose's recommended date: from its age, and after the last dose of that
    series given (`t`: the date the series' own interval allows)."""
    for sid, slot, months, days, alt in after:
        marks, n_given = done.get(sid, _NOTHING_DONE)
        if slot < len(marks) and (slot < n_given or not given) and marks[slot] is not None:
            d = (_add_months(marks[slot], months) if months else marks[slot]) + days
            if d > e:
                e = d
        elif alt is not None and (slot >= n_given if given else slot < len(marks) and marks[slot] is None):
            frm, lm, ld = alt
            e = t if t > frm else frm
            if n_given:
                last = marks[n_given - 1]
                if last is not None:
                    d = (_add_months(last, lm) if lm else last) + ld
                    if d > e:
                        e = d
    return e


def _live_windows(live_dates: list[date], as_of: date) -> tuple[dict[date, date | None], date | None, bool]:
    """The 28-day rule, made lookups. A live vaccine may be given on day t unless another was given
    on a day d with d < t < d + 28. Scanning the windows in date order and moving `e` past each one
    that lies between it and the day it is (to be) given comes to:
    - for a dose given on day g: e ≥ (the last live day before g) + 28 — `ends[g]`;
    - for a dose still to give: e ≥ (the last live day before as_of) + 28 — `before`; and when a live
      vaccine was given on as_of itself, a dose not givable today waits until as_of + 28 — `today`."""
    ends: dict[date, date | None] = {}
    end: date | None = None
    for d in live_dates:  # ascending
        if d not in ends:
            ends[d] = end
            end = d + LIVE_GAP
    today = live_dates[-1] == as_of
    return ends, ends[as_of] if today else end, today


_NOTHING_DONE: tuple[list[date | None], int] = ([], 0)


def _catch_up_window(plan: _Plan, sid: str, birth: date
                     ) -> tuple[str, date, date, tuple[tuple[int, timedelta], ...]] | None:
    """The series' catch-up form for judging the doses given: (its vaccine, from, until (dates), per slot
    the minimum interval from the dose before), or None. A dose of that vaccine given from the catch-up age
    on, before its end, is a catch-up dose: it is judged by the form's intervals, not its slot's (the 2021
    说明: from 6 years, DT dose 2 at least 1 month after dose 1, dose 3 at least 6 months after dose 2)."""
    cu = plan.catch_ups.get(sid)
    if cu is None:
        return None
    return cu[2], _at(birth, cu[0]), _at(birth, cu[1]), cu[4]


# months → (date → that date plus those months): nested, so a lookup builds no key tuple.
_month_sums: dict[int, dict[date, date]] = {}
_month_sums_size = 0


def _at(birth: date, age: tuple[int, int]) -> date:
    months, days = age
    d = _add_months(birth, months) if months else birth
    return d + timedelta(days=days) if days else d


def _add_months(d: date, months: int) -> date:
    """add_months, remembered: the same few intervals are added to the same dates over and over."""
    try:
        return _month_sums[months][d]
    except KeyError:
        return _remember_months(d, months)


def _remember_months(d: date, months: int) -> date:
    global _month_sums_size
    if _month_sums_size >= _STATIC_CACHE_MAX:
        _month_sums.clear()
        _month_sums_size = 0
    table = _month_sums.get(months)
    if table is None:
        table = _month_sums[months] = {}
    out = table[d] = add_months(d, months)
    _month_sums_size += 1
    return out


# --- doses given under an earlier edition ----------------------------------------------------------
# Each dose is judged by the edition in force when it was given. A series both editions define alike
# (the same codes, ages, intervals, `after` rules and live vaccines) is judged alike, so its doses are
# judged in the main walk; only the doses of the series that changed (2021 → 2025: DTaP and DT) are
# walked again under the earlier edition, given doses only (cheap: a few doses per child).


class _Earlier(NamedTuple):
    plan: _Plan  # the edition in force the day before the later one took effect
    later: Edition
    same: frozenset[str]  # series ids both editions judge alike
    codes: frozenset[str]  # the codes judged by the earlier edition (the other series, and those they refer to)
    walk: tuple[tuple[int, int], ...]  # where those series are in the earlier plan's groups, in its order
    live: bool  # whether one of them is an injectable live vaccine (the 28-day windows are needed)
    deeper: bool  # whether an edition was in force before this earlier one


_earlier: dict[tuple[int, int], _Earlier] = {}
_NO_SERIES: frozenset[str] = frozenset()
_NO_REASONS: dict[tuple[str, int], str] = {}


def _judging(plan: _Plan) -> dict[str, tuple[Any, ...]]:
    return {sid: (tuple((c[0], c[2], c[6], c[7], c[8], c[9]) for c in slots), plan.live)
            for group in plan.groups for sid, slots in group}


def _earlier_of(plan: _Plan, schedules: Sequence[Edition] | None) -> _Earlier | None:
    """The edition in force the day before `plan`'s took effect, compiled and compared (None: none was)."""
    if schedules is None:  # the shipped editions (read once per process): the answer is kept per edition
        shipped = editions()
        kept = _earlier_shipped.get(id(plan.edition))
        if kept is not None and kept[0] is plan.edition and kept[1] is shipped:
            return kept[2]
        found = _find_earlier(plan, None)
        _earlier_shipped[id(plan.edition)] = (plan.edition, shipped, found)
        return found
    return _find_earlier(plan, schedules)


_earlier_shipped: dict[int, tuple[Edition, tuple[Edition, ...], _Earlier | None]] = {}


def _find_earlier(plan: _Plan, schedules: Sequence[Edition] | None) -> _Earlier | None:
    day = plan.edition.effective_from - timedelta(days=1)
    for earlier in reversed(schedules if schedules is not None else editions()):
        if earlier.in_force(day):
            break
    else:
        return None  # no edition before: the doses given then are judged by none
    key = (id(plan.edition), id(earlier))
    out = _earlier.get(key)
    if out is not None and out.plan.edition is earlier and out.later is plan.edition:
        return out
    eplan = _plans.get(id(earlier))
    if eplan is None or eplan.edition is not earlier:
        eplan = _compile(earlier)
    a, b = _judging(eplan), _judging(plan)
    refers = {sid: {x[0] for c in slots for x in (c[4] or ())} for sid, (slots, _live) in a.items()}
    other = {sid for sid in a if b.get(sid) != a[sid]} | {sid for sid in b if sid not in a}
    grown = True
    while grown:  # a series referring to one judged otherwise is judged otherwise, and what it refers to is read
        more = {sid for sid in a if refers[sid] & other} | {r for sid in other for r in refers.get(sid, ())}
        grown = not more <= other
        other |= more
    codes = frozenset(code for code, sid in eplan.series_of.items() if sid in other) | frozenset(
        code for code, sid in plan.series_of.items() if sid in other)
    walk = tuple((gi, si) for gi, group in enumerate(eplan.groups) for si, (sid, _slots) in enumerate(group)
                 if sid in other)
    out = _earlier[key] = _Earlier(eplan, plan.edition, frozenset(a.keys() - other), codes, walk,
                                   any(code in eplan.live for code in codes),
                                   _earlier_of(eplan, schedules) is not None)
    return out


def _judged_before(plan: _Plan, birth: date, ordered: Sequence[GivenDose], schedules: Sequence[Edition] | None
                   ) -> tuple[date, frozenset[str], dict[tuple[str, int], str]]:
    """For the doses given before `plan`'s edition took effect (`ordered`: the history in _check's order,
    date, dose, code): (from which day the series in `same` are judged by `plan` itself, those series,
    (code, dose) → why it is invalid for the others, each judged by the edition in force when it was given)."""
    judged_from = plan.edition.effective_from
    earlier = _earlier_of(plan, schedules)
    if earlier is None:
        return judged_from, _NO_SERIES, {}
    eplan = earlier.plan
    since = eplan.edition.effective_from
    day = judged_from - timedelta(days=1)
    codes, deeper = earlier.codes, earlier.deeper
    subset = [g for g in ordered if g[2] <= day and (g[0] in codes or (deeper and g[2] < since))]
    if not subset:
        return since, earlier.same, {}
    # The history passed the check under the later edition; here it is only sorted into the earlier one's
    # series (a code it does not know: the history is judged by none).
    by_series: dict[str, list[GivenDose]] = {}
    series_of = eplan.series_of
    for g in subset:  # in date order, as `ordered`
        sid = series_of.get(g[0])
        if sid is None:
            return since, earlier.same, {}
        entries = by_series.get(sid)
        if entries is None:
            by_series[sid] = [g]
        else:
            entries.append(g)
    inner_from, inner_same, inner = since, _NO_SERIES, _NO_REASONS
    walk = earlier.walk
    if deeper and min(g[2] for g in subset) < since:  # some given under an edition earlier still
        inner_from, inner_same, inner = _judged_before(eplan, birth, subset, schedules)
        walk = tuple((gi, si) for gi, group in enumerate(eplan.groups) for si in range(len(group)))
    ends: dict[date, date | None] = {}
    if earlier.live or walk is not earlier.walk:
        live = [g[2] for g in ordered if g[2] <= day and g[0] in eplan.live]  # ascending, as `ordered`
        if live:
            ends = _live_windows(live, day)[0]
    out: dict[tuple[str, int], str] = {}
    done: dict[str, tuple[list[date | None], int]] = {}
    # The earlier edition's slots filled for the birth date (kept per birth date, as the later edition's are):
    # the overdue rule plays no part in judging a dose given.
    groups = _static(eplan, birth, None)
    for gi, si in walk:
        sid, slots = groups[gi][si]
        entries = by_series.get(sid)
        if not entries:
            continue
        cu_window = _catch_up_window(eplan, sid, birth)
        marks: list[date | None] | None = [] if sid in eplan.referenced else None
        prev, k = date.min, 0
        for code, n, gd in entries:
            if k >= len(slots):
                break
            (_c, _n, rec, _rk, _od, _l, _tb, ivm, ivd, after, is_live, _order) = slots[k]
            reason = None
            if gd >= since or (gd >= inner_from and sid in inner_same):
                if cu_window is not None and code == cu_window[0] and cu_window[1] <= gd < cu_window[2]:
                    ivm, ivd = cu_window[3][k]  # a catch-up dose (DT from 6 years): the catch-up's interval
                t = (_add_months(prev, ivm) if ivm else prev) + ivd
                e = t if t > rec else rec
                if after is not None:
                    e = _after(e, after, done, True, t)
                w = ends[gd] if is_live else None
                if w is not None and e < w:
                    e = w
                if gd < e:
                    reason = (FLAG_BEFORE_MIN_AGE if gd < rec else
                              FLAG_LIVE_28_DAYS if w is not None and gd < w else FLAG_BEFORE_MIN_INTERVAL)
            else:
                reason = inner.get((code, n))
            if reason is not None:
                out[code, n] = reason
                continue
            if marks is not None:
                marks.append(gd)
            prev, k = gd, k + 1
        if marks is not None:
            done[sid] = (marks, k)
    return since, earlier.same, out


# --- the engine -----------------------------------------------------------------------------------
_NO_HISTORY: dict[str, list[GivenDose]] = {}
_TB = (FLAG_TB_TEST,)
_EARLY = (FLAG_EARLY,)
_LAST = (date.max.toordinal() + 1) << 10


def due(birth_date: date, given: Sequence[GivenDose], as_of: date, *,
        overdue_rule: OverdueRule = COMPLETE_BEFORE,
        schedules: Sequence[Edition] | None = None, judged: Mapping[tuple[str, int], str] | None = None,
        pending_only: bool = False) -> list[DoseStatus]:
    """Every dose of the edition in force on `as_of`, with its status and dates, ordered by earliest
    date, then schedule order (not_applicable doses last). InvalidInput names each bad entry.

    For lists of what is still to give (the recall list): `pending_only` leaves out the doses given and
    the invalid ones (the other rows are the same, in the same order); `judged`, the judgement stored
    with the doses when they were written ((vaccine, dose) → reason for each dose of `given` that
    counts for nothing, as this engine judged it: vaccinations.invalid_reason), is taken as it is
    instead of judging the doses again (with `pending_only`, the valid doses then only fill their slots).
    A caller passes `judged` only for the very history it was judged on."""
    if birth_date > as_of:
        raise InvalidInput("birth_date", _E + "birth_after_as_of", birth_date=birth_date.isoformat(),
                           as_of=as_of.isoformat())
    plan = _plan_for(as_of, schedules)
    return _due(plan, _static(plan, birth_date, overdue_rule.days_after_recommended), birth_date, given, as_of,
                schedules, None, judged, pending_only)


def due_many(children: Iterable[tuple[date, Sequence[GivenDose]]], as_of: date, *,
             overdue_rule: OverdueRule = COMPLETE_BEFORE,
             schedules: Sequence[Edition] | None = None) -> Iterator[list[DoseStatus] | InvalidInput]:
    """`due` for many children (birth date, doses given) on one date, in their order: each child's rows,
    or the InvalidInput `due` would raise for it, one child at a time (a county's answers are not all
    kept at once). The same answer as `due` child by child (a property test holds them equal), cheaper:
    the edition and its compiled plan are found once, and the rows of a series a child has not started,
    which depend on nothing but the birth date when no rule ties them to another series or to a live
    vaccine given, are made once per birth date and shared."""
    return _many(((birth, given, None) for birth, given in children), as_of, overdue_rule, schedules, False)


def pending_many(children: Iterable[tuple[date, Sequence[GivenDose], Mapping[tuple[str, int], str] | None]],
                 as_of: date, *, overdue_rule: OverdueRule = COMPLETE_BEFORE,
                 schedules: Sequence[Edition] | None = None) -> Iterator[list[DoseStatus] | InvalidInput]:
    """The recall list's engine: for many children (birth date, doses given, the judgement stored with them
    or None), what `due(birth, given, as_of, judged=judged, pending_only=True)` answers for each, in their
    order (a property test holds them equal), with due_many's savings (the plan found once, the rows of a
    series not started shared per birth date)."""
    return _many(children, as_of, overdue_rule, schedules, True)


def _many(children: Iterable[tuple[date, Sequence[GivenDose], Mapping[tuple[str, int], str] | None]], as_of: date,
          overdue_rule: OverdueRule, schedules: Sequence[Edition] | None, pending_only: bool
          ) -> Iterator[list[DoseStatus] | InvalidInput]:
    plan = _plan_for(as_of, schedules)
    n = overdue_rule.days_after_recommended
    # The rows of a series not started are the same with or without the doses given (pending_only) and
    # whatever judgement of them is passed: nothing of the history enters them.
    unstarted: dict[tuple[date, str], tuple[Any, ...]] = {}
    statics: dict[date, tuple[Any, ...]] = {}
    for birth, given, judged in children:
        groups = statics.get(birth)
        if groups is None:
            if birth > as_of:
                yield InvalidInput("birth_date", _E + "birth_after_as_of", birth_date=birth.isoformat(),
                                   as_of=as_of.isoformat())
                continue
            groups = statics[birth] = _static(plan, birth, n)
        try:
            rows = _due(plan, groups, birth, given, as_of, schedules, unstarted, judged, pending_only)
        except InvalidInput as exc:
            yield exc
        else:
            yield rows


def _plan_for(as_of: date, schedules: Sequence[Edition] | None) -> _Plan:
    edition = edition_for(as_of, schedules)
    plan = _plans.get(id(edition))
    if plan is None or plan.edition is not edition:
        plan = _compile(edition)
    return plan


def _due(plan: _Plan, groups: tuple[Any, ...], birth_date: date, given: Sequence[GivenDose], as_of: date,
         schedules: Sequence[Edition] | None, unstarted: dict[tuple[date, str], tuple[Any, ...]] | None,
         judged: Mapping[tuple[str, int], str] | None = None, pending_only: bool = False) -> list[DoseStatus]:
    """`due` with the plan and the birth date's slots found: `unstarted` (or None) keeps, per (birth date,
    series), the rows and marks of a series not started whose rows depend on the birth date alone;
    `judged` (or None: judge them here): (vaccine, dose) → why it is invalid, for every dose of `given`
    that counts for nothing, as judged before; `pending_only`: only the doses still to give (and those
    no longer given), not the doses given."""
    edition = plan.edition
    ends: dict[date, date | None] = {}
    before, today, as_of_28 = None, False, as_of + LIVE_GAP
    live_dates: list[date] = []
    if given:
        by_series, live_dates, ordered = _check(plan, birth_date, given, as_of)
        if live_dates:
            ends, before, today = _live_windows(live_dates, as_of)
    else:
        by_series, ordered = _NO_HISTORY, []
    referenced, mixed = plan.referenced, plan.mixed
    # Rows by their sort key (earliest date, then schedule order: unique), sorted at the end.
    keyed: dict[int, DoseStatus] = {}
    # Only doses given while this edition was in force are judged by it: one given earlier followed the
    # edition of its day (the 2021 DTaP3 at 5 months stays valid under 2025's 6 months); still flagged early.
    judged_from = edition.effective_from
    live_from, same, old_invalid = judged_from, _NO_SERIES, None
    if judged is None and given and ordered[0][2] < judged_from:  # doses given under an earlier edition
        live_from, same, old_invalid = _judged_before(plan, birth_date, ordered, schedules)
    quick = judged is not None and pending_only  # the doses given only fill their slots: nothing to judge or show
    surplus: list[GivenDose] = []
    invalid: list[tuple[int, date, DoseStatus]] = []  # invalid doses, merged in by earliest date at the end
    new = tuple.__new__
    # series → (per slot: the date given, or to give from; how many given), for `after` rules
    done: dict[str, tuple[list[date | None], int]] = {}
    for group in groups:
        chosen = group[0][0]
        if len(group) > 1:  # an alternative: the variant given most recently, else the default
            latest = None
            for sid, _slots in group:
                entries = by_series.get(sid)
                if entries and (latest is None or entries[-1][2] > latest):
                    chosen, latest = sid, entries[-1][2]
        for sid, slots in group:
            entries = by_series.get(sid)
            if sid != chosen and not entries:
                continue
            marks: list[date | None] | None = None
            if sid in referenced:
                marks = []
                done[sid] = (marks, len(entries) if entries else 0)
            prev = date.min  # the first slot's interval is 0: date.min never binds
            k = 0
            counts: dict[str, int] | None = None
            spoilt = False  # an invalid dose in this series: numbers of the doses to give follow the certificate
            if entries:
                n_slots = len(slots)
                cu_window = _catch_up_window(plan, sid, birth_date) if sid in plan.catch_ups else None
                for i, (code, n, gd) in enumerate(entries):  # the doses given, slot by slot; an invalid one fills none
                    if k >= n_slots:
                        surplus.extend(entries[i:])
                        break
                    if quick:
                        if (code, n) in judged:  # type: ignore[operator]
                            spoilt = True
                        else:
                            if marks is not None:
                                marks.append(gd)
                            prev = gd
                            k += 1
                        continue
                    (_c, _n, rec, rec_key, overdue, _l, _tb, ivm, ivd, after, live, order) = slots[k]
                    if cu_window is not None and code == cu_window[0] and cu_window[1] <= gd < cu_window[2]:
                        ivm, ivd = cu_window[3][k]  # a catch-up dose (DT from 6 years): the catch-up's interval
                    t = (_add_months(prev, ivm) if ivm else prev) + ivd
                    e = t if t > rec else rec
                    if after is not None:
                        e = _after(e, after, done, True, t)
                    w = None
                    if live:
                        w = ends[gd]
                        if w is not None and e < w:
                            e = w
                    reason = None
                    if judged is not None:
                        reason = judged.get((code, n))
                    elif gd >= judged_from or (gd >= live_from and sid in same):
                        if gd < e:
                            reason = (FLAG_BEFORE_MIN_AGE if gd < rec else
                                      FLAG_LIVE_28_DAYS if w is not None and gd < w else FLAG_BEFORE_MIN_INTERVAL)
                    elif old_invalid:
                        reason = old_invalid.get((code, n))
                    if reason is not None:
                        if not pending_only:
                            invalid.append((e.toordinal() << 10 | order, gd, new(
                                DoseStatus, (code, n, INVALID, rec, e, overdue, gd, (FLAG_EARLY, reason)))))
                        spoilt = True
                        continue
                    if marks is not None:
                        marks.append(gd)
                    prev = gd
                    k += 1
                    if not pending_only:
                        keyed[rec_key if e is rec else e.toordinal() << 10 | order] = new(
                            DoseStatus, (code, n, GIVEN, rec, e, overdue, gd, _EARLY if gd < e else ()))
                if marks is not None:
                    done[sid] = (marks, k)
                if sid != chosen or k >= n_slots:  # another variant's doses, or a series complete: no slot left
                    continue
                if spoilt or sid in mixed:
                    counts = {}
                    for g in entries:
                        counts[g[0]] = counts.get(g[0], 0) + 1
            rows_to = keyed
            shared: tuple[date, str] | None = None
            if unstarted is not None and not entries and sid not in plan.tied and not (
                    live_dates and sid in plan.live_series):
                # Not started, and tied to no other dose given: the same rows for every child born that day.
                shared = (birth_date, sid)
                hit = unstarted.get(shared)
                if hit is not None:
                    keyed.update(hit[0])
                    if marks is not None:
                        marks.extend(hit[1])
                    continue
                rows_to = {}
            na = False
            older = plan.older.get(sid) if plan.older else None
            older_codes = older[1] if older is not None and birth_date < older[0] else None
            if older_codes is not None and counts is None:
                counts = {}
                for g in entries or ():
                    counts[g[0]] = counts.get(g[0], 0) + 1
            cu = plan.catch_ups.get(sid) if plan.catch_ups else None
            if cu is not None:
                cu_from, cu_until = _at(birth_date, cu[0]), _at(birth_date, cu[1])
                cu_start, cu_given = -1, any(g[0] == cu[2] for g in entries) if entries else False
                if counts is None:
                    counts = {}
                    for g in entries or ():
                        counts[g[0]] = counts.get(g[0], 0) + 1
            for j, (code, number, rec, rec_key, overdue, limit, tb, ivm, ivd, after, live, order) in enumerate(
                    slots[k:], k):
                if older_codes is not None:
                    code = older_codes[j]
                t = (_add_months(prev, ivm) if ivm else prev) + ivd
                e = t if t > rec else rec
                if after is not None:
                    e = _after(e, after, done, False, t)
                if live:
                    if before is not None and e < before:
                        e = before
                    if today and as_of < e < as_of_28:
                        e = as_of_28
                if cu is not None and (cu_start >= 0 or (e if e > as_of else as_of) >= cu_from):
                    # Given from the catch-up age on: the catch-up form (e.g. DT from 6 years, 2021).
                    if cu_start < 0:
                        cu_start = j
                    code = cu[2]
                    if na or j >= cu[3] and (j != cu_start or cu_given):
                        na = True  # complete at that many doses (one more after them, unless one was of its vaccine)
                    else:
                        civm, civd = cu[4][j]
                        t = (_add_months(prev, civm) if civm else prev) + civd
                        rec = cu_from if cu_from > rec else rec
                        e = t if t > rec else rec
                        if cu_until < limit:
                            limit = cu_until
                        rec_key = rec.toordinal() << 10 | order
                if counts is not None:
                    number = counts.get(code, 0) + 1
                    counts[code] = number
                if na or e >= limit or as_of >= limit:
                    na = True
                    if marks is not None:
                        marks.append(None)
                    rows_to[_LAST | order] = new(DoseStatus,
                                                 (code, number, NOT_APPLICABLE, rec, None, overdue, None, ()))
                    continue
                # The next dose is chained on the day this one can be given at the soonest: not before
                # as_of, since it has not been given yet.
                if e > as_of:
                    prev = e
                    status = UPCOMING
                else:
                    prev = as_of
                    status = DUE
                if as_of >= overdue:
                    status = OVERDUE
                if marks is not None:
                    marks.append(prev)
                flags = _TB if tb is not None and prev >= tb else ()
                rows_to[rec_key if e is rec else e.toordinal() << 10 | order] = new(
                    DoseStatus, (code, number, status, rec, e, overdue, None, flags))
            if shared is not None:
                assert unstarted is not None
                unstarted[shared] = (rows_to, tuple(marks) if marks is not None else ())
                keyed.update(rows_to)
    if surplus:
        _refuse(plan, birth_date, given, as_of, surplus)
    if invalid:
        merged = sorted([(key, date.min, row) for key, row in keyed.items()] + invalid, key=itemgetter(0, 1))
        return [row for _k, _d, row in merged]
    return list(map(keyed.__getitem__, sorted(keyed)))
