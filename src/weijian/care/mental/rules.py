"""The rules of severe mental illness management, as data: data/mental.yaml (国家基本公共卫生服务规范 第三版,
严重精神障碍患者管理服务规范; 严重精神障碍管理治疗工作规范 2018年版) loaded and validated at first use (`rules()`),
and the pure parts: the disease a diagnosis code belongs to, a follow-up's class from its answers (分类干预)
and the next visit that class calls for."""
from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

RULES_FILE = Path(__file__).resolve().parent.parent / "data" / "mental.yaml"
PATIENT_STATUSES = ("active", "closed")
# A follow-up's due status on a day: not due yet (upcoming), due within `DUE_SOON_DAYS`, or past its day.
DUE_STATUSES = ("overdue", "due", "upcoming")
DUE_SOON_DAYS = 7


@dataclass(frozen=True)
class Choice:
    code: str
    zh: str
    en: str

    def label(self, locale: str) -> str:
        return self.en if locale == "en" else self.zh


@dataclass(frozen=True)
class Disease(Choice):
    icd10: tuple[str, ...] = ()


@dataclass(frozen=True)
class Klass(Choice):
    rank: int = 0
    next: str = "stable_months"
    refer: bool = False


@dataclass(frozen=True)
class Rules:
    version: int
    follow_ups_per_year: int
    stable_months: int
    recheck_days: int
    follow_up_needs_consent: bool
    prevalence_per_1000: float
    diseases: dict[str, Disease]
    risk_grades: dict[int, Choice]
    classes: dict[str, Klass]
    symptoms: dict[str, Choice]
    insight: dict[str, Choice]
    social_function: dict[str, Choice]
    adherence: dict[str, Choice]
    consent_signers: dict[str, Choice]


class RulesInvalid(ValueError):
    """mental.yaml does not hold together (raised at first use: the application does not start)."""


def _choices(raw: list[dict[str, Any]]) -> dict[str, Choice]:
    return {str(c["code"]): Choice(str(c["code"]), str(c["zh"]), str(c["en"])) for c in raw}


_ANSWERS = {"symptoms": ("gone", "present", "marked"), "insight": ("recovered", "partial", "absent"),
            "social_function": ("good", "fair", "poor"), "adherence": ("regular", "intermittent", "none")}


def load_rules(path: Path = RULES_FILE) -> Rules:
    """Read and check the file: the risk grades exactly 0–5, the three classes, each answer list with the
    codes the classification reads, no ICD-10 prefix under two diseases."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    try:
        diseases = {str(d["code"]): Disease(str(d["code"]), str(d["zh"]), str(d["en"]),
                                            icd10=tuple(str(c) for c in d["icd10"])) for d in data["diseases"]}
        grades = {int(g["grade"]): Choice(str(g["grade"]), str(g["zh"]), str(g["en"])) for g in data["risk_grades"]}
        classes = {str(c["code"]): Klass(str(c["code"]), str(c["zh"]), str(c["en"]), rank=i, next=str(c["next"]),
                                         refer=bool(c.get("refer"))) for i, c in enumerate(data["classes"])}
        out = Rules(version=int(data["version"]), follow_ups_per_year=int(data["follow_ups_per_year"]),
                    stable_months=int(data["stable_months"]), recheck_days=int(data["recheck_days"]),
                    follow_up_needs_consent=bool(data["follow_up_needs_consent"]),
                    prevalence_per_1000=float(data["prevalence_per_1000"]), diseases=diseases, risk_grades=grades,
                    classes=classes, symptoms=_choices(data["symptoms"]), insight=_choices(data["insight"]),
                    social_function=_choices(data["social_function"]), adherence=_choices(data["adherence"]),
                    consent_signers=_choices(data["consent_signers"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise RulesInvalid(f"{path.name}: {exc!r}") from None
    if sorted(grades) != [0, 1, 2, 3, 4, 5]:
        raise RulesInvalid(f"{path.name}: risk grades must be 0–5")
    if list(classes) != ["stable", "basically_stable", "unstable"]:
        raise RulesInvalid(f"{path.name}: classes must be stable, basically_stable, unstable")
    for name, codes in _ANSWERS.items():
        if tuple(getattr(out, name)) != codes:
            raise RulesInvalid(f"{path.name}: {name} must be {codes}")
    for c in classes.values():
        if c.next not in ("stable_months", "recheck_days"):
            raise RulesInvalid(f"{path.name}: class {c.code}: next must name stable_months or recheck_days")
    prefixes = [p for d in diseases.values() for p in d.icd10]
    if len(prefixes) != len(set(prefixes)) or len(diseases) != 6:
        raise RulesInvalid(f"{path.name}: six diseases, each ICD-10 prefix under one")
    return out


@lru_cache(maxsize=1)
def rules() -> Rules:
    return load_rules()


def disease_of(icd10_code: str | None) -> str | None:
    """The managed disease a diagnosis code belongs to (its 3-character category among a disease's
    prefixes: F20.0 → schizophrenia), or None."""
    if not icd10_code:
        return None
    head = icd10_code.strip().upper()[:3]
    for d in rules().diseases.values():
        if head in d.icd10:
            return d.code
    return None


def is_sensitive(icd10_code: str | None) -> bool:
    """A diagnosis of one of the six diseases: shown only to holders of mental:read."""
    return disease_of(icd10_code) is not None


def classify(*, risk_grade: int, symptoms: str, insight: str, social_function: str,
             severe_adverse_reaction: bool, severe_physical_illness: bool) -> str:
    """分类干预 of one follow-up (规范 第三版): unstable when the risk is 3–5, the symptoms marked, insight
    absent, a serious drug reaction or a serious physical illness; else basically stable when the risk is
    1–2 or symptoms, insight or social function is poor; else stable (risk 0, symptoms gone, insight
    recovered, function fair or good)."""
    if risk_grade >= 3 or symptoms == "marked" or insight == "absent" or severe_adverse_reaction \
            or severe_physical_illness:
        return "unstable"
    if risk_grade >= 1 or symptoms == "present" or insight == "partial" or social_function == "poor":
        return "basically_stable"
    return "stable"


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` calendar months later (the month's last day when it has no such day)."""
    m = day.month - 1 + months
    year, month = day.year + m // 12, m % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def next_visit(klass: str, on: dt.date) -> dt.date:
    """The next follow-up the class calls for: stable 3 months later, basically stable and unstable
    within 2 weeks (the 14th day)."""
    r = rules()
    if r.classes[klass].next == "stable_months":
        return add_months(on, r.stable_months)
    return on + dt.timedelta(days=r.recheck_days)


def due_status(next_on: dt.date | None, as_of: dt.date) -> str | None:
    """overdue after the next visit's day, due from a week before it, else upcoming (None: no date)."""
    if next_on is None:
        return None
    if as_of > next_on:
        return "overdue"
    return "due" if (next_on - as_of).days <= DUE_SOON_DAYS else "upcoming"


def labels(locale: str) -> dict[str, Any]:
    r = rules()
    return {"diseases": {d.code: d.label(locale) for d in r.diseases.values()},
            "risk_grades": {g: c.label(locale) for g, c in r.risk_grades.items()},
            "classes": {c.code: c.label(locale) for c in r.classes.values()},
            "symptoms": {c.code: c.label(locale) for c in r.symptoms.values()},
            "insight": {c.code: c.label(locale) for c in r.insight.values()},
            "social_function": {c.code: c.label(locale) for c in r.social_function.values()},
            "adherence": {c.code: c.label(locale) for c in r.adherence.values()},
            "consent_signers": {c.code: c.label(locale) for c in r.consent_signers.values()}}
