"""The rules of TB patient management as data (data/tb.yaml, its header names the source and what is VERIFY):
the first visit's hours, the follow-up intervals by supervisor kind and phase, the regular-medication share,
and the code lists (symptoms, results, regimens, supervisor kinds, outcomes). Loaded once and checked."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import yaml

RULES_FILE = Path(__file__).resolve().parent / "data" / "tb.yaml"


@dataclass(frozen=True)
class Choice:
    code: str
    names: dict[str, str]
    months: int | None = None  # a regimen's planned course

    def label(self, locale: str) -> str:
        return self.names.get(locale) or self.names["zh_CN"]


@dataclass(frozen=True)
class Rules:
    version: int
    first_visit_hours: int
    tries_before_report: int
    intensive_months: int
    intervals: dict[str, dict[str, int]]  # supervisor kind → phase → days
    grace_days: int
    regular_share: Decimal
    completed_outcomes: tuple[str, ...]
    symptoms: dict[str, Choice]
    suspect_results: dict[str, Choice]
    regimens: dict[str, Choice]
    supervisor_kinds: dict[str, Choice]
    outcomes: dict[str, Choice]

    def labels(self, table: str, locale: str) -> dict[str, str]:
        return {c.code: c.label(locale) for c in getattr(self, table).values()}


def _choices(data: dict[str, Any], key: str) -> dict[str, Choice]:
    rows = data.get(key)
    if not isinstance(rows, list) or not rows:
        raise ValueError(f"{key}: a non-empty list is needed")
    out: dict[str, Choice] = {}
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or not row.get("code") or not row.get("zh_CN") or not row.get("en"):
            raise ValueError(f"{key}[{i}]: code, zh_CN and en are needed")
        months = row.get("months")
        if key == "regimens" and (not isinstance(months, int) or not 1 <= months <= 36):
            raise ValueError(f"{key}[{i}].months: a whole number of months from 1 to 36 is needed")
        out[str(row["code"])] = Choice(str(row["code"]), {"zh_CN": str(row["zh_CN"]), "en": str(row["en"])},
                                       months if key == "regimens" else None)
    return out


def load_rules(path: Path = RULES_FILE) -> Rules:
    """The rules file checked; ValueError naming the key that is wrong."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    try:
        fv, fu = data["first_visit"], data["follow_up"]
        intervals = {kind: {phase: int(fu[kind][phase]) for phase in ("intensive", "continuation")}
                     for kind in ("medical", "family")}
        share = Decimal(str(data["regular_share"]))
        rules = Rules(version=int(data["version"]), first_visit_hours=int(fv["within_hours"]),
                      tries_before_report=int(fv["tries_before_report"]),
                      intensive_months=int(fu["intensive_phase_months"]), intervals=intervals,
                      grace_days=int(fu["grace_days"]), regular_share=share,
                      completed_outcomes=tuple(data["completed_outcomes"]),
                      symptoms=_choices(data, "symptoms"), suspect_results=_choices(data, "suspect_results"),
                      regimens=_choices(data, "regimens"), supervisor_kinds=_choices(data, "supervisor_kinds"),
                      outcomes=_choices(data, "outcomes"))
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{path.name}: missing or malformed key {exc}") from None
    if not Decimal(0) < share <= Decimal(1):
        raise ValueError("regular_share: a share above 0 and at most 1 is needed")
    if set(rules.supervisor_kinds) != set(intervals):
        raise ValueError("supervisor_kinds: the kinds of follow_up (medical, family) are needed")
    odd = [c for c in rules.completed_outcomes if c not in rules.outcomes]
    if odd:
        raise ValueError(f"completed_outcomes: not an outcome: {odd}")
    return rules


@cache
def rules() -> Rules:
    return load_rules()


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later (the month's last day where it has fewer days)."""
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise AssertionError(day)


def follow_up_interval(*, start: dt.date, on: dt.date, supervisor_kind: str) -> int:
    """Days until the next follow-up after one on `on`: by the supervisor kind and the phase on that day."""
    r = rules()
    phase = "intensive" if on < add_months(start, r.intensive_months) else "continuation"
    return r.intervals[supervisor_kind][phase]
