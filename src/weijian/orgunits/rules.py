"""Facility types and grades (data/facility_types.yaml): the one facility classification — care tier,
settlement level, primary care, the care a type provides — that referrals, settlement, the health record and
the figures read, and the labels and codes of types and grades. Loaded and validated at start.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, NoReturn

import yaml

REFERENCE_FILE = Path(__file__).resolve().parent / "data" / "facility_types.yaml"
TIERS = ("village", "township", "county")  # facility types' care tiers (data/facility_types.yaml)
SETTLEMENT_LEVELS = ("township", "county")
CARE_KINDS = ("outpatient", "inpatient", "day_surgery")  # what a facility type provides (care.records' types)


@dataclass(frozen=True)
class Choice:
    code: str
    zh: str
    en: str
    aliases: tuple[str, ...] = ()
    # Facility types only (see the data file): the care tier, the settlement level, primary care.
    tier: str | None = None
    settlement_level: str | None = None
    primary_care: bool = False
    provides: tuple[str, ...] = ()  # encounter types always provided
    with_beds: tuple[str, ...] = ()  # encounter types provided while the facility has open beds

    def label(self, locale: str) -> str:
        return self.en if locale == "en" else self.zh


@dataclass(frozen=True)
class Reference:
    version: int
    types: dict[str, Choice]
    grades: dict[str, Choice]


@lru_cache(maxsize=1)
def reference() -> Reference:
    """Facility types and grades from data/facility_types.yaml, validated (ValueError naming the file)."""
    data = yaml.safe_load(REFERENCE_FILE.read_text(encoding="utf-8")) or {}

    def fail(msg: str) -> NoReturn:
        raise ValueError(f"{REFERENCE_FILE}: {msg}")

    if not isinstance(data.get("version"), int):
        fail("`version` must be an integer")
    out: dict[str, dict[str, Choice]] = {}
    for section, required in (("types", "other"), ("grades", "ungraded")):
        entries = data.get(section)
        if not isinstance(entries, dict) or not entries:
            fail(f"`{section}` must be a non-empty mapping")
        choices: dict[str, Choice] = {}
        seen_labels: set[str] = set()
        for code, spec in entries.items():
            if not isinstance(code, str) or not re.match(r"^[a-z0-9_]{1,16}$", code):
                fail(f"{section}: code {code!r} must be lower-case letters, digits or _ (at most 16)")
            if not isinstance(spec, dict) or not spec.get("zh") or not spec.get("en"):
                fail(f"{section}.{code} needs both `zh` and `en` labels")
            aliases = tuple(str(a) for a in spec.get("aliases") or ())
            for label in (spec["zh"], *aliases):
                if label in seen_labels:
                    fail(f"{section}.{code}: label {label!r} is used twice")
                seen_labels.add(label)
            extra: dict[str, Any] = {}
            if section == "types":
                for key, allowed in (("tier", TIERS), ("settlement_level", SETTLEMENT_LEVELS)):
                    if key not in spec or spec[key] not in (*allowed, None):
                        fail(f"types.{code}.{key} must be one of {', '.join(allowed)} or null")
                    extra[key] = spec[key]
                if not isinstance(spec.get("primary_care"), bool):
                    fail(f"types.{code}.primary_care must be true or false")
                extra["primary_care"] = spec["primary_care"]
                for key in ("provides", "with_beds"):
                    kinds = spec.get(key)
                    if not isinstance(kinds, list) or any(k not in CARE_KINDS for k in kinds):
                        fail(f"types.{code}.{key} must be a list of {', '.join(CARE_KINDS)}")
                    extra[key] = tuple(kinds)
            choices[code] = Choice(code, str(spec["zh"]), str(spec["en"]), aliases, **extra)
        if required not in choices:
            fail(f"`{section}` must include `{required}`")
        out[section] = choices
    return Reference(version=data["version"], types=out["types"], grades=out["grades"])


def facility_tier(facility_type: str | None) -> str | None:
    """The care tier (village, township, county) of a facility type; None: not a care tier."""
    choice = reference().types.get(facility_type or "")
    return choice.tier if choice else None


def settlement_level(facility_type: str | None) -> str | None:
    """The policy level (township, county) a stay at a facility of this type settles at; None: by grade."""
    choice = reference().types.get(facility_type or "")
    return choice.settlement_level if choice else None


def care_provided(facility_type: str | None, beds_open: int | None) -> tuple[str, ...]:
    """The encounter types (CARE_KINDS) a facility of this type records: those it always provides, and
    while it has open beds (`beds_open` > 0) those its type provides with beds. Unknown type: none."""
    choice = reference().types.get(facility_type or "")
    if choice is None:
        return ()
    return choice.provides + (choice.with_beds if (beds_open or 0) > 0 else ())


def primary_care_types() -> tuple[str, ...]:
    """The facility types that are primary care (基层医疗卫生机构), in the data file's order."""
    return tuple(c.code for c in reference().types.values() if c.primary_care)


def type_labels(locale: str) -> dict[str, str]:
    return {c.code: c.label(locale) for c in reference().types.values()}


def grade_labels(locale: str) -> dict[str, str]:
    return {c.code: c.label(locale) for c in reference().grades.values()}


def _choice_code(choices: dict[str, Choice], value: Any) -> str | None:
    """The code for a code, its Chinese label or an alias; None when unknown."""
    v = str(value or "").strip()
    if v in choices:
        return v
    return next((c.code for c in choices.values() if v == c.zh or v in c.aliases), None)


def type_code(value: Any) -> str | None:
    return _choice_code(reference().types, value)


def grade_code(value: Any) -> str | None:
    return _choice_code(reference().grades, value)
