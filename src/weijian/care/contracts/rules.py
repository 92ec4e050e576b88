"""The rules of family-doctor contracting, as data: data/contract_packages.yaml (国医改办发〔2016〕1号 and the
2018 and 2022 guidance, as that file says) loaded and validated at first use (`rules()`), and the pure
arithmetic of a contract's term: its last day, whether it is due to renew or lapsed on a day."""
from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

RULES_FILE = Path(__file__).resolve().parent.parent / "data" / "contract_packages.yaml"
SOURCES = ("age", "chronic", "pregnancy", "tb", "group")
# A current contract's state on a day (the worklist's and the list's): running, due to renew (its end
# within renew_within_days), lapsed (its end passed, neither renewed nor ended).
STATES = ("active", "due", "lapsed")
SYSTEM_END_REASONS = ("renewed", "merged")


@dataclass(frozen=True)
class Package:
    code: str
    zh: str
    en: str
    fee: Decimal
    meant_for: tuple[str, ...]
    items_zh: tuple[str, ...]
    items_en: tuple[str, ...]

    def label(self, locale: str) -> str:
        return self.en if locale == "en" else self.zh

    def items(self, locale: str) -> tuple[str, ...]:
        return self.items_en if locale == "en" else self.items_zh


@dataclass(frozen=True)
class KeyPopulation:
    code: str
    zh: str
    en: str
    source: str  # SOURCES
    min_age: int | None = None
    max_age: int | None = None
    program: str | None = None
    groups: tuple[str, ...] = ()

    def label(self, locale: str) -> str:
        return self.en if locale == "en" else self.zh


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
    term_months: int
    renew_within_days: int
    renew_grace_days: int
    packages: dict[str, Package]
    key_populations: dict[str, KeyPopulation]
    end_reasons: dict[str, Reason]


class RulesInvalid(ValueError):
    """contract_packages.yaml does not hold together (raised at first use)."""


def load_rules(path: Path = RULES_FILE) -> Rules:
    """Read and check the file: a basic package, fees as money, key populations of a known source."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    try:
        packages = {str(p["code"]): Package(
            code=str(p["code"]), zh=str(p["zh"]), en=str(p["en"]), fee=Decimal(str(p["fee"])).quantize(Decimal("0.01")),
            meant_for=tuple(p.get("for") or ()), items_zh=tuple(p.get("items_zh") or ()),
            items_en=tuple(p.get("items_en") or ())) for p in data["packages"]}
        keys = {str(k["code"]): KeyPopulation(
            code=str(k["code"]), zh=str(k["zh"]), en=str(k["en"]), source=str(k["from"]),
            min_age=k.get("min_age"), max_age=k.get("max_age"), program=k.get("program"),
            groups=tuple(k.get("groups") or ())) for k in data["key_populations"]}
        reasons = {str(r["code"]): Reason(code=str(r["code"]), zh=str(r["zh"]), en=str(r["en"]))
                   for r in data["end_reasons"]}
        out = Rules(version=int(data["version"]), term_months=int(data["term_months"]),
                    renew_within_days=int(data["renew_within_days"]), renew_grace_days=int(data["renew_grace_days"]),
                    packages=packages, key_populations=keys, end_reasons=reasons)
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise RulesInvalid(f"{path.name}: {exc!r}") from None
    if "basic" not in packages:
        raise RulesInvalid(f"{path.name}: the basic package (basic) is missing")
    for p in packages.values():
        if p.fee < 0:
            raise RulesInvalid(f"{path.name}: package {p.code} has a negative fee")
        odd = [k for k in p.meant_for if k not in keys]
        if odd:
            raise RulesInvalid(f"{path.name}: package {p.code} is meant for unknown key populations {odd}")
    for k in keys.values():
        if k.source not in SOURCES:
            raise RulesInvalid(f"{path.name}: key population {k.code} has an unknown source {k.source}")
        if k.source == "age" and k.min_age is None and k.max_age is None:
            raise RulesInvalid(f"{path.name}: key population {k.code} needs min_age or max_age")
        if k.source == "chronic" and k.program not in ("hypertension", "diabetes"):
            raise RulesInvalid(f"{path.name}: key population {k.code} names no chronic programme")
        if k.source == "group" and not k.groups:
            raise RulesInvalid(f"{path.name}: key population {k.code} names no group")
    if set(reasons) & set(SYSTEM_END_REASONS):
        raise RulesInvalid(f"{path.name}: end reasons {SYSTEM_END_REASONS} are set by weijian, not chosen")
    if not 1 <= out.term_months <= 36 or out.renew_within_days < 0 or out.renew_grace_days < 0:
        raise RulesInvalid(f"{path.name}: term_months, renew_within_days or renew_grace_days out of range")
    return out


@lru_cache(maxsize=1)
def rules() -> Rules:
    return load_rules()


# --- the term (pure) -----------------------------------------------------------------------------------
def add_months(d: dt.date, months: int) -> dt.date:
    """The same day `months` later (31 January + 1 month → 28/29 February)."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return d.replace(year=year, month=month, day=min(d.day, calendar.monthrange(year, month)[1]))


def term_end(start: dt.date, months: int | None = None) -> dt.date:
    """The last day of a contract starting on `start`: the day before the same date `term_months` later
    (2026-03-01 → 2027-02-28)."""
    return add_months(start, rules().term_months if months is None else months) - dt.timedelta(days=1)


def state(end_date: dt.date, on: dt.date, within: int | None = None) -> str:
    """A current contract's state on `on`: lapsed after its last day, due when its last day is within
    `within` (renew_within_days) days, else active."""
    within = rules().renew_within_days if within is None else within
    if on > end_date:
        return "lapsed"
    return "due" if (end_date - on).days <= within else "active"


def package_labels(locale: str) -> dict[str, str]:
    return {p.code: p.label(locale) for p in rules().packages.values()}


def key_labels(locale: str) -> dict[str, str]:
    return {k.code: k.label(locale) for k in rules().key_populations.values()}


def reason_labels(locale: str) -> dict[str, str]:
    """The reasons a user chooses (the system's, renewed and merged, are in the locale files)."""
    return {r.code: r.label(locale) for r in rules().end_reasons.values()}


def as_dict(r: Rules, locale: str) -> dict[str, Any]:
    """The rules as the API and the CLI show them."""
    return {"version": r.version, "term_months": r.term_months, "renew_within_days": r.renew_within_days,
            "packages": [{"code": p.code, "name": p.label(locale), "fee": str(p.fee), "for": list(p.meant_for),
                          "items": list(p.items(locale))} for p in r.packages.values()],
            "key_populations": [{"code": k.code, "name": k.label(locale), "from": k.source}
                                for k in r.key_populations.values()],
            "end_reasons": [{"code": c.code, "name": c.label(locale)} for c in r.end_reasons.values()]}
