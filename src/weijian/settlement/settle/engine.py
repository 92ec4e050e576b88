"""The settlement cascade (一站式结算) for one person's inpatient stays in one year: out-of-policy costs,
basic insurance (deductible, rate, annual cap), critical-illness insurance (bands on the year's
cumulative in-policy patient share; resident scheme) or 大额医疗费用补助 (the in-policy costs above the basic
fund's cap; employee scheme), medical assistance (the group's yearly 起付标准, then its rate, up to its cap),
倾斜救助 on what the year's in-policy share still weighs after those three layers, and what the patient pays.

Pure and exact: Decimal, rounded half up to the fen. The year's running totals are an immutable
`Accumulations` value carried from stay to stay, so reversing (冲销) a settled stay means settling the
stays after it again from the accumulations it started from (`reverse`).

The payers' parts add up to the bill: basic_pays + critical_illness_pays + large_expense_pays +
assistance_pays + tilt_assistance_pays + patient_pays == total, exactly. `out_of_policy`, `deductible` and
`assistance_deductible` say why the patient's part is what it is; the patient always pays at least
`out_of_policy` (assistance covers in-policy costs only), while the deductible may be covered by critical
illness or assistance.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise
from typing import Any

from weijian.core.errors import ErrorCollector, InvalidInput, InvalidState
from weijian.residents import service as residents_service
from weijian.settlement.settle.rules import FEN, Basic, LargeExpense, Policy, to_decimal

ZERO = Decimal("0.00")
PARTS = ("out_of_policy", "deductible", "basic_pays", "critical_illness_pays", "large_expense_pays",
         "assistance_deductible", "assistance_pays", "tilt_assistance_pays", "patient_pays")
PAYERS = ("basic_pays", "critical_illness_pays", "large_expense_pays", "assistance_pays", "tilt_assistance_pays")
STAY_KEYS = ("date", "level", "total", "in_policy", "downward_referral", "in_county", "referred")


def fen(amount: Decimal) -> Decimal:
    return amount.quantize(FEN, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Stay:
    """One inpatient stay's bill: `in_policy` is the part within the insurance catalogue (政策范围内)."""

    date: date
    level: str  # a key of the policy's basic.levels: township | county | city
    total: Decimal
    in_policy: Decimal
    downward_referral: bool = False  # admitted on a referral down from a higher-level facility
    in_county: bool = True  # at a facility of the county (outside it: the policy's level 3)
    referred: bool = False  # admitted on a referral (规范转诊): an out-of-county stay needs one for 倾斜救助


@dataclass(frozen=True, slots=True)
class Accumulations:
    """One person's running totals in one year, as they stand before or after a stay."""

    year: int | None = None
    deductible_paid: Decimal = ZERO  # deductibles borne so far (once a year when deductible_per is year)
    basic_paid: Decimal = ZERO  # basic fund payments, against basic.annual_cap
    in_policy_share: Decimal = ZERO  # cumulative in-policy patient share, against the critical-illness threshold
    critical_illness_paid: Decimal = ZERO
    assistance_paid: Decimal = ZERO
    large_expense_paid: Decimal = ZERO  # 大额医疗费用补助 payments, against large_expense.annual_cap
    assistance_deductible_paid: Decimal = ZERO  # borne against the assistance group's yearly 起付标准
    tilt_share: Decimal = ZERO  # in-policy share left after the three layers, of stays 倾斜救助 may cover
    tilt_assistance_paid: Decimal = ZERO
    stays: int = 0


@dataclass(frozen=True, slots=True)
class StaySplit:
    """How one stay's bill is split, and the year's accumulations before and after it."""

    stay: Stay
    out_of_policy: Decimal
    deductible: Decimal
    basic_pays: Decimal
    critical_illness_pays: Decimal
    large_expense_pays: Decimal
    assistance_deductible: Decimal
    assistance_pays: Decimal
    tilt_assistance_pays: Decimal
    patient_pays: Decimal
    before: Accumulations
    after: Accumulations

    @property
    def total(self) -> Decimal:
        return self.stay.total

    @property
    def fund_pays(self) -> Decimal:
        """What the payers other than the patient pay together (基本医保, 大病保险 or 大额补助, 医疗救助, 倾斜救助)."""
        return sum((getattr(self, name) for name in PAYERS), ZERO)

    def amounts(self) -> dict[str, Decimal]:
        return {"total": self.total, **{name: getattr(self, name) for name in PARTS}}


@dataclass(frozen=True, slots=True)
class _Terms:
    """The policy's terms for one group, worked out once per settlement run."""

    bands: tuple[tuple[Decimal, Decimal | None, Decimal], ...]  # (from, upto, rate) on the cumulative share
    ci_cap: Decimal | None
    large: LargeExpense | None
    assistance_deductible: Decimal
    assistance_rate: Decimal
    assistance_cap: Decimal | None
    tilt: tuple[Decimal, Decimal, Decimal | None] | None  # (threshold, rate, cap) when the group has 倾斜救助


# --- public API -----------------------------------------------------------------------------------
def resolve_group(group: str | None) -> str | None:
    """A resident group code from a code or a Chinese name (低保 → min_living); None for an ordinary
    resident. A known group the policy does not name gets the ordinary terms."""
    if group is None or not str(group).strip():
        return None
    code = residents_service.group_code(str(group))
    if code is None:
        raise InvalidInput("group", "settlement.errors.group_unknown", group=str(group))
    return code


def benefit_group(policy: Policy, groups: Iterable[str]) -> str | None:
    """Of a resident's groups, the one whose terms favour them most under `policy` (a resident holds a
    set of groups; a settlement applies one)."""
    tilt = policy.critical_illness.tilt if policy.critical_illness else None
    best, best_key = None, None
    for label in groups:
        code = resolve_group(label)
        a = policy.assistance.get(code) if code else None
        tilted = bool(tilt and code in tilt.groups)
        if a is None and not tilted:
            continue
        cap_key = Decimal("Infinity") if a is None or a.annual_cap is None else a.annual_cap
        key = (a.rate if a else ZERO, cap_key if a else ZERO, -a.deductible if a else -Decimal("Infinity"),
               bool(policy.assistance_tilt and code in policy.assistance_tilt.groups), tilted)
        if best_key is None or key > best_key:
            best, best_key = code, key
    return best


@dataclass(frozen=True, slots=True)
class AppliedTerms:
    """The thresholds a group's settlement actually runs on (what a slip prints)."""

    critical_illness_threshold: Decimal | None  # after the tilt for the poorest groups; None: no such layer
    assistance_deductible: Decimal | None  # the group's yearly 救助起付标准; None: no assistance for it
    tilt_threshold: Decimal | None  # 倾斜救助's; None: not for this group


def applied_terms(policy: Policy, group: str | None) -> AppliedTerms:
    code = resolve_group(group)
    t = _terms(policy, code)
    return AppliedTerms(critical_illness_threshold=t.bands[0][0] if t.bands else None,
                        assistance_deductible=t.assistance_deductible if code in policy.assistance else None,
                        tilt_threshold=t.tilt[0] if t.tilt else None)


def terms_data(policy: Policy, group: str | None, level: str) -> dict[str, Any]:
    """The terms one stay of `group` at `level` runs on, as a settlement stores them (money and rates as
    text): the level's deductible and rate, the basic cap, the critical-illness bands from the threshold
    actually applied (after the tilt for the poorest groups) or 大额医疗费用补助, the group's assistance and
    倾斜救助 — what the slip prints and what a reproduction checks the stored policy text against."""
    code = resolve_group(group)
    t = _terms(policy, code)
    lv = policy.basic.levels.get(level)
    a = policy.assistance.get(code) if code else None

    def text(d: Decimal | None) -> str | None:
        return None if d is None else format(d.normalize(), "f")

    return {
        "policy_id": policy.id, "group": code, "level": level,
        "basic": {"deductible_per": policy.basic.deductible_per, "annual_cap": text(policy.basic.annual_cap),
                  "deductible": text(lv.deductible) if lv else None, "rate": text(lv.rate) if lv else None,
                  "downward_referral_waives_deductible": policy.basic.downward_referral_waives_deductible},
        "critical_illness": None if not t.bands else {
            "threshold": text(t.bands[0][0]), "annual_cap": text(t.ci_cap),
            "bands": [[text(lo), text(up), text(rate)] for lo, up, rate in t.bands]},
        "large_expense": None if t.large is None else {"rate": text(t.large.rate),
                                                       "annual_cap": text(t.large.annual_cap)},
        "assistance": None if a is None else {"deductible": text(a.deductible), "rate": text(a.rate),
                                              "annual_cap": text(a.annual_cap)},
        "tilt": None if t.tilt is None else {"threshold": text(t.tilt[0]), "rate": text(t.tilt[1]),
                                             "annual_cap": text(t.tilt[2])},
    }


def settle_stay(policy: Policy, group: str | None, stay: Stay,
                acc: Accumulations | None = None) -> tuple[StaySplit, Accumulations]:
    """Settle one stay on top of the year's accumulations so far; returns (split, accumulations after)."""
    code = resolve_group(group)
    checked = check_stay(policy, stay, "stay")
    split = _settle(policy.basic, _terms(policy, code), checked, acc, "stay")
    return split, split.after


def settle_year(policy: Policy, group: str | None, stays: Sequence[Stay]) -> list[StaySplit]:
    """Settle one person's stays of one year, in date order (same-day stays keep their given order).
    Bad stays are refused together, each named by its position in `stays` (`stays[1].in_policy`)."""
    code = resolve_group(group)
    errors = ErrorCollector()
    checked: list[Stay] = []
    for i, stay in enumerate(stays):
        try:
            checked.append(check_stay(policy, stay, f"stays[{i}]"))
        except InvalidInput as exc:
            errors.extend(exc)
            checked.append(stay)  # keeps positions; not settled, since errors are raised below
    dated = [(i, s.date) for i, s in enumerate(checked) if isinstance(s.date, date)]
    if dated:
        year = min(d for _, d in dated).year
        for i, d in dated:
            if d.year != year and not any(e.field == f"stays[{i}].date" for e in errors.errors):
                errors.add(f"stays[{i}].date", "settlement.errors.stay_other_year", year=year)
    errors.raise_if_any()
    ordered = sorted(checked, key=lambda s: s.date)
    start = Accumulations(year=ordered[0].date.year) if ordered else Accumulations()
    return _run(policy, _terms(policy, code), start, ordered)


def settle_from(policy: Policy, group: str | None, acc: Accumulations, stays: Sequence[Stay]) -> list[StaySplit]:
    """Settle stays (already in date order) one after another, starting from `acc`."""
    code = resolve_group(group)
    errors = ErrorCollector()
    checked: list[Stay] = []
    for i, stay in enumerate(stays):
        try:
            checked.append(check_stay(policy, stay, f"stays[{i}]"))
        except InvalidInput as exc:
            errors.extend(exc)
    errors.raise_if_any()
    return _run(policy, _terms(policy, code), acc, checked)


def _run(policy: Policy, terms: _Terms, acc: Accumulations, stays: list[Stay]) -> list[StaySplit]:
    out: list[StaySplit] = []
    for i, stay in enumerate(stays):
        split = _settle(policy.basic, terms, stay, acc, f"stays[{i}]")
        out.append(split)
        acc = split.after
    return out


def reverse(policy: Policy, group: str | None, splits: Sequence[StaySplit], index: int) -> list[StaySplit]:
    """The year's settlements after reversing (冲销) `splits[index]`: earlier stays are untouched, the
    reversed stay is gone, and each later stay is settled again from the accumulations the reversed
    stay started from — the same result as if it had never been settled. Compare the later splits
    with the old ones to see which slips must be reissued."""
    if not 0 <= index < len(splits):
        raise InvalidInput("index", "settlement.errors.no_such_stay", index=index)
    for earlier, later in pairwise(splits):
        if earlier.after != later.before:
            raise InvalidState("settlement.errors.splits_not_chained")
    rest = settle_from(policy, group, splits[index].before, [s.stay for s in splits[index + 1:]])
    return [*splits[:index], *rest]


def parse_stays(raw: Any) -> list[Stay]:
    """Stays from JSON-like data (a list of objects with date, level, total, in_policy and optionally
    downward_referral); amounts may be numbers or text. Every bad value is refused at once, by path."""
    errors = ErrorCollector()
    if not isinstance(raw, list):
        raise InvalidInput("stays", "settlement.errors.stays_not_list")
    out: list[Stay] = []
    for i, item in enumerate(raw):
        path = f"stays[{i}]"
        if not isinstance(item, Mapping):
            errors.add(path, "settlement.errors.stay_not_object")
            continue
        for key in item:
            if key not in STAY_KEYS:
                errors.add(f"{path}.{key}", "settlement.errors.unknown_key", allowed=", ".join(STAY_KEYS))
        for key in STAY_KEYS[:4]:
            if item.get(key) is None:
                errors.add(f"{path}.{key}", "settlement.errors.missing")
        day = item.get("date")
        if isinstance(day, str):
            try:
                day = date.fromisoformat(day.strip())
            except ValueError:
                errors.add(f"{path}.date", "settlement.errors.date_invalid", value=day)
        elif day is not None and not isinstance(day, date):
            errors.add(f"{path}.date", "settlement.errors.date_invalid", value=str(day))
        flags = {}
        for flag, default in (("downward_referral", False), ("in_county", True), ("referred", False)):
            value = item.get(flag, default)
            if value is None:
                value = default
            if not isinstance(value, bool):
                errors.add(f"{path}.{flag}", "settlement.errors.not_bool")
            flags[flag] = value
        level = item.get("level")
        stay = Stay(date=day, level=level if isinstance(level, str) else str(level),  # type: ignore[arg-type]
                    total=item.get("total"), in_policy=item.get("in_policy"),  # type: ignore[arg-type]
                    **flags)
        _amounts(stay, path, errors)
        out.append(stay)
    errors.raise_if_any()
    return out


def check_stay(policy: Policy, stay: Stay, path: str = "stay") -> Stay:
    """The stay with amounts as Decimal fen, or InvalidInput naming each bad field under `path`."""
    errors = ErrorCollector()
    day = stay.date
    if isinstance(day, datetime):
        day = day.date()
    if not isinstance(day, date):
        errors.add(f"{path}.date", "settlement.errors.date_invalid", value=str(day))
    elif not policy.in_force(day):
        errors.add(f"{path}.date", "settlement.errors.policy_not_in_force", policy=policy.id, date=day.isoformat())
    if stay.level not in policy.basic.levels:
        errors.add(f"{path}.level", "settlement.errors.level_unknown", level=str(stay.level),
                   allowed=", ".join(policy.basic.levels))
    amounts = _amounts(stay, path, errors)
    for flag in ("downward_referral", "in_county", "referred"):
        if not isinstance(getattr(stay, flag), bool):
            errors.add(f"{path}.{flag}", "settlement.errors.not_bool")
    errors.raise_if_any()
    return Stay(date=day, level=stay.level, total=amounts["total"], in_policy=amounts["in_policy"],
                downward_referral=stay.downward_referral, in_county=stay.in_county, referred=stay.referred)


def _amounts(stay: Stay, path: str, errors: ErrorCollector) -> dict[str, Decimal]:
    """The stay's total and in-policy amount as Decimal fen; bad ones are added to `errors`."""
    amounts = {}
    for name in ("total", "in_policy"):
        value = getattr(stay, name)
        d = to_decimal(value)
        if d is None:
            if value is not None:  # a missing value is reported where the key is looked for
                errors.add(f"{path}.{name}", "settlement.errors.not_amount")
            elif f"{path}.{name}" not in {e.field for e in errors.errors}:
                errors.add(f"{path}.{name}", "settlement.errors.missing")
        elif d < 0:
            errors.add(f"{path}.{name}", "settlement.errors.negative")
        elif d != d.quantize(FEN) or d.adjusted() >= 12:
            errors.add(f"{path}.{name}", "settlement.errors.not_amount")
        else:
            amounts[name] = d.quantize(FEN)
    if len(amounts) == 2 and amounts["in_policy"] > amounts["total"]:
        errors.add(f"{path}.in_policy", "settlement.errors.in_policy_above_total")
    return amounts


# --- the cascade ----------------------------------------------------------------------------------
def _terms(policy: Policy, code: str | None) -> _Terms:
    ci = policy.critical_illness
    bands: tuple[tuple[Decimal, Decimal | None, Decimal], ...] = ()
    ci_cap = None
    if ci is not None:
        threshold, bonus, ci_cap = ci.threshold, ZERO, ci.annual_cap
        if ci.tilt is not None and code in ci.tilt.groups:
            threshold, bonus, ci_cap = fen(ci.threshold * ci.tilt.threshold_factor), ci.tilt.rate_bonus, ci.tilt.cap
        lower, built = threshold, []
        for band in ci.bands:
            built.append((lower, band.upto, band.rate + bonus))
            if band.upto is not None:
                lower = band.upto
        bands = tuple(built)
    a = policy.assistance.get(code) if code else None
    t = policy.assistance_tilt
    tilt = (t.threshold, t.rate, t.annual_cap) if t is not None and code in t.groups else None
    return _Terms(bands=bands, ci_cap=ci_cap, large=policy.large_expense,
                  assistance_deductible=a.deductible if a else ZERO, assistance_rate=a.rate if a else ZERO,
                  assistance_cap=a.annual_cap if a else None, tilt=tilt)


def _band_value(share: Decimal, bands: tuple[tuple[Decimal, Decimal | None, Decimal], ...]) -> Decimal:
    """Critical-illness benefit due, unrounded, on a cumulative in-policy patient share."""
    due = Decimal(0)
    for lower, upto, rate in bands:
        if share <= lower:
            break
        top = share if upto is None or share < upto else upto
        due += (top - lower) * rate
    return due


def _capped(amount: Decimal, cap: Decimal | None, used: Decimal) -> Decimal:
    return amount if cap is None else min(amount, max(ZERO, cap - used))


def _settle(basic: Basic, terms: _Terms, stay: Stay, acc: Accumulations | None, path: str) -> StaySplit:
    year = stay.date.year
    if acc is None or acc.year is None:
        acc = Accumulations(year=year) if acc is None else replace(acc, year=year)
    elif acc.year != year:
        raise InvalidInput(f"{path}.date", "settlement.errors.stay_other_year", year=acc.year)
    level = basic.levels[stay.level]

    # 1. Out-of-policy costs: the patient's, whatever their group.
    out_of_policy = stay.total - stay.in_policy
    # 2. Basic insurance on the in-policy costs: deductible, then the level's rate, up to the annual cap.
    if stay.downward_referral and basic.downward_referral_waives_deductible:
        due = ZERO
    elif basic.deductible_per == "year":
        due = max(ZERO, level.deductible - acc.deductible_paid)  # tops up to this level's deductible
    else:
        due = level.deductible
    deductible = min(stay.in_policy, due)
    eligible = stay.in_policy - deductible
    basic_pays = _capped(fen(eligible * level.rate), basic.annual_cap, acc.basic_paid)
    # 3a. Critical illness (resident scheme) on the rise of the year's cumulative in-policy patient share, by
    # band. The difference of the rounded band values makes a year's stays add up to the benefit on their sum.
    share = stay.in_policy - basic_pays
    cumulative = acc.in_policy_share + share
    ci_pays = ZERO
    if terms.bands:
        ci_pays = fen(_band_value(cumulative, terms.bands)) - fen(_band_value(acc.in_policy_share, terms.bands))
        ci_pays = _capped(ci_pays, terms.ci_cap, acc.critical_illness_paid)
    # 3b. 大额医疗费用补助 (employee scheme): its rate of the in-policy costs above what the basic fund's cap
    # covers — the costs whose fund payment the cap cut off (all of them once the cap is used up).
    large_pays = ZERO
    if terms.large is not None and level.rate > 0 and basic_pays < fen(eligible * level.rate):
        above = eligible - fen(basic_pays / level.rate)
        large_pays = _capped(fen(max(ZERO, above) * terms.large.rate), terms.large.annual_cap, acc.large_expense_paid)
    # 4. Medical assistance on what is left of the in-policy share: the group's yearly 起付标准 first.
    remaining = share - ci_pays - large_pays
    assistance_deductible = assistance_pays = ZERO
    if terms.assistance_rate:
        assistance_deductible = min(remaining, max(ZERO, terms.assistance_deductible - acc.assistance_deductible_paid))
        assistance_pays = _capped(fen((remaining - assistance_deductible) * terms.assistance_rate),
                                  terms.assistance_cap, acc.assistance_paid)
    # 5. 倾斜救助: on the rise above its threshold of the year's in-policy share still borne after the three
    # layers, for a stay in the county or, outside it, on a referral (规范转诊; the province is not recorded).
    tilt_pays, tilt_share = ZERO, acc.tilt_share
    if terms.tilt is not None and (stay.in_county or stay.referred):
        threshold, rate, cap = terms.tilt
        tilt_share = acc.tilt_share + remaining - assistance_pays
        tilt_pays = (fen(max(ZERO, tilt_share - threshold) * rate)
                     - fen(max(ZERO, acc.tilt_share - threshold) * rate))
        tilt_pays = _capped(tilt_pays, cap, acc.tilt_assistance_paid)
    # 6. The patient pays the rest, so the parts always add up to the total.
    patient_pays = stay.total - basic_pays - ci_pays - large_pays - assistance_pays - tilt_pays
    after = Accumulations(
        year=year,
        deductible_paid=acc.deductible_paid + deductible,
        basic_paid=acc.basic_paid + basic_pays,
        in_policy_share=cumulative,
        critical_illness_paid=acc.critical_illness_paid + ci_pays,
        assistance_paid=acc.assistance_paid + assistance_pays,
        large_expense_paid=acc.large_expense_paid + large_pays,
        assistance_deductible_paid=acc.assistance_deductible_paid + assistance_deductible,
        tilt_share=tilt_share,
        tilt_assistance_paid=acc.tilt_assistance_paid + tilt_pays,
        stays=acc.stays + 1,
    )
    return StaySplit(stay=stay, out_of_policy=out_of_policy, deductible=deductible, basic_pays=basic_pays,
                     critical_illness_pays=ci_pays, large_expense_pays=large_pays,
                     assistance_deductible=assistance_deductible, assistance_pays=assistance_pays,
                     tilt_assistance_pays=tilt_pays, patient_pays=patient_pays, before=acc, after=after)

