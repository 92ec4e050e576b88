"""Who a diagnosis or a screening fits (data/record_rules.yaml, its sources in its header): the patient's sex
and age on the day. Loaded and validated once; `diagnosis_misfit` and `screening_misfit` name the rule a
patient does not meet."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, NoReturn

import yaml

from weijian.care.records.schemas import SCREENING_KINDS

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "record_rules.yaml"
SEXES = ("male", "female")
_CATEGORY = re.compile(r"^[A-Z]\d{2}$")


@dataclass(frozen=True)
class Fit:
    """Who an entry fits: a sex (or any), completed years age_min..age_max (None: unbounded), and the locale
    key of the rule (care.records.rules.<rule>) that says so."""

    rule: str
    sex: str | None = None
    age_min: int | None = None
    age_max: int | None = None

    def misfit(self, sex: str, age: int) -> str | None:
        """"sex" or "age" when a patient of this sex and age does not fit; None when they do."""
        if self.sex is not None and sex != self.sex:
            return "sex"
        if (self.age_min is not None and age < self.age_min) or (self.age_max is not None and age > self.age_max):
            return "age"
        return None


@dataclass(frozen=True)
class Rules:
    version: int
    diagnoses: tuple[tuple[str, str, Fit], ...]  # (first category, last category, fit)
    screenings: dict[str, Fit]


def _fit(where: str, spec: Any, fail: Any) -> Fit:
    if not isinstance(spec, dict) or not isinstance(spec.get("rule"), str):
        fail(f"{where} needs a `rule` (the locale key naming its source)")
    sex = spec.get("sex")
    if sex is not None and sex not in SEXES:
        fail(f"{where}.sex must be one of {', '.join(SEXES)}")
    ages = []
    for key in ("age_min", "age_max"):
        value = spec.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 150):
            fail(f"{where}.{key} must be a whole number of years, 0 to 150")
        ages.append(value)
    if ages[0] is not None and ages[1] is not None and ages[0] > ages[1]:
        fail(f"{where}: age_min is above age_max")
    return Fit(rule=spec["rule"], sex=sex, age_min=ages[0], age_max=ages[1])


def load(path: Path = DATA_FILE) -> Rules:
    """Read and validate a rules file (ValueError naming the file and the entry)."""
    def fail(msg: str) -> NoReturn:
        raise ValueError(f"{path.name}: {msg}")

    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data.get("version"), int):
        fail("`version` must be an integer")
    ranges: list[tuple[str, str, Fit]] = []
    for i, spec in enumerate(data.get("diagnoses") or []):
        fit = _fit(f"diagnoses[{i}]", spec, fail)
        codes = spec.get("codes")
        if not isinstance(codes, list) or not codes:
            fail(f"diagnoses[{i}].codes must be a list of ICD-10 categories or ranges")
        for text in codes:
            first, _, last = str(text).partition("-")
            last = last or first
            if not (_CATEGORY.match(first) and _CATEGORY.match(last)) or first > last:
                fail(f"diagnoses[{i}].codes: {text!r} is not a category (D06) or a range (O00-O99)")
            ranges.append((first, last, fit))
    screenings = data.get("screenings")
    if not isinstance(screenings, dict) or set(screenings) != set(SCREENING_KINDS):
        fail(f"`screenings` must give each of {', '.join(SCREENING_KINDS)}")
    fits = {kind: _fit(f"screenings.{kind}", spec, fail) for kind, spec in screenings.items()}
    for kind, fit in fits.items():
        if fit.sex != "female":
            fail(f"screenings.{kind}: the record's screenings are of women (sex: female)")
    return Rules(version=data["version"], diagnoses=tuple(ranges), screenings=fits)


@lru_cache(maxsize=1)
def rules() -> Rules:
    """The rules of data/record_rules.yaml (validated on first use; the composition root loads them at start)."""
    return load(DATA_FILE)


def diagnosis_fits(code: str) -> list[Fit]:
    """The rules a diagnosis (an ICD-10 code of the list, e.g. O80.0) must meet: those whose ranges hold its
    category."""
    category = code[:3]
    return [fit for first, last, fit in rules().diagnoses if first <= category <= last]


def diagnosis_misfit(code: str, sex: str, age: int) -> tuple[str, Fit] | None:
    """("sex" | "age", the rule) of the first rule a patient of this sex and age does not meet for `code`."""
    for fit in diagnosis_fits(code):
        problem = fit.misfit(sex, age)
        if problem:
            return problem, fit
    return None


def screening_fit(kind: str) -> Fit:
    return rules().screenings[kind]
