"""The rules of chronic-disease management, as data: data/chronic_programs.yaml (国家基本公共卫生服务规范
第三版) — the programmes, their measurements, control limits and follow-up rhythm — loaded and validated at
start (`rules()`), and the pure due rule of one patient (`schedule`)."""
from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from weijian.core.errors import InvalidInput
from weijian.core.periods import Period

RULES_FILE = Path(__file__).resolve().parent.parent / "data" / "chronic_programs.yaml"
STATUSES = ("ok", "due", "overdue")  # of a patient on the worklist (`schedule`)
MEASURES = ("sbp", "dbp", "fasting_glucose")
_E = "care.chronic.errors."


# --- the rules (data/chronic_programs.yaml) -------------------------------------------------------------
@dataclass(frozen=True)
class Choice:
    code: str
    zh: str
    en: str

    def label(self, locale: str) -> str:
        return self.en if locale == "en" else self.zh


@dataclass(frozen=True)
class Method(Choice):
    face_to_face: bool = True


@dataclass(frozen=True)
class Range:
    unit: str
    min: Decimal
    max: Decimal
    decimals: int = 0


@dataclass(frozen=True)
class ControlRule:
    measure: str
    below: Decimal

    def holds(self, value: Decimal | int | None) -> bool:
        return value is not None and Decimal(value) < self.below


@dataclass(frozen=True)
class Program(Choice):
    follow_ups_per_year: int = 4
    min_age: int = 35  # 服务对象: 辖区内35岁及以上常住居民
    from_diagnosis: tuple[str, ...] = ()  # ICD-10 categories that register a patient from a diagnosis
    required: tuple[str, ...] = ()
    control: tuple[ControlRule, ...] = ()

    def registers_from(self, code: str | None) -> bool:
        """A diagnosis code (any spelling icd10 reads: I11.9, i119, I10.x00) registers for this programme:
        its category is listed in `from_diagnosis` (I15, E14 are not)."""
        text = (code or "").strip().upper()
        return text[:3] in self.from_diagnosis

    def in_control(self, values: dict[str, Decimal | int | None]) -> bool:
        """Every control rule holds (hypertension: SBP < 140 and DBP < 90; diabetes: glucose < 7.0)."""
        return all(rule.holds(values.get(rule.measure)) for rule in self.control)

    def required_follow_ups(self, period: Period) -> int:
        """Face-to-face follow-ups a patient needs in `period` to count as 规范管理 (year: all of them;
        quarter: a quarter of them, rounded up). A month is refused (InvalidInput on `period`)."""
        months = {"year": 12, "quarter": 3}.get(period.kind)
        if months is None:
            raise InvalidInput("period", _E + "period_too_short", period=period.code)
        return math.ceil(self.follow_ups_per_year * months / 12)


@dataclass(frozen=True)
class Rules:
    version: int
    interval_months: int
    due_soon_days: int
    overdue_grace_days: int
    methods: dict[str, Method]
    measurements: dict[str, Range]
    close_reasons: dict[str, Choice]
    programs: dict[str, Program]

    @property
    def face_to_face(self) -> tuple[str, ...]:
        return tuple(m.code for m in self.methods.values() if m.face_to_face)


def load_rules(path: Path) -> Rules:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}

    def fail(where: str, msg: str) -> None:
        raise ValueError(f"{path}: {where}: {msg}")

    def mapping(node: Any, where: str) -> dict:
        if not isinstance(node, dict) or not node:
            fail(where, "must be a non-empty mapping")
        return node

    def positive_int(node: Any, where: str, minimum: int = 1) -> int:
        if not isinstance(node, int) or isinstance(node, bool) or node < minimum:
            fail(where, f"must be an integer ≥ {minimum}")
        return node

    def number(node: Any, where: str) -> Decimal:
        if not isinstance(node, (int, float)) or isinstance(node, bool):
            fail(where, "must be a number")
        return Decimal(str(node))

    def labels(spec: Any, where: str) -> tuple[str, str]:
        if not isinstance(spec, dict) or not spec.get("zh") or not spec.get("en"):
            fail(where, "needs both `zh` and `en` labels")
        return str(spec["zh"]), str(spec["en"])

    positive_int(data.get("version"), "version")
    fu = mapping(data.get("follow_up"), "follow_up")
    methods: dict[str, Method] = {}
    for code, spec in mapping(fu.get("methods"), "follow_up.methods").items():
        zh, en = labels(spec, f"follow_up.methods.{code}")
        if not isinstance(spec.get("face_to_face"), bool):
            fail(f"follow_up.methods.{code}.face_to_face", "must be true or false")
        methods[str(code)] = Method(str(code), zh, en, spec["face_to_face"])
    if not any(m.face_to_face for m in methods.values()):
        fail("follow_up.methods", "at least one method must be face to face")

    measurements: dict[str, Range] = {}
    for code, spec in mapping(data.get("measurements"), "measurements").items():
        where = f"measurements.{code}"
        if code not in MEASURES:
            fail(where, f"unknown measurement (one of {', '.join(MEASURES)})")
        lo, hi = number(spec.get("min"), f"{where}.min"), number(spec.get("max"), f"{where}.max")
        if lo >= hi:
            fail(where, "min must be below max")
        measurements[code] = Range(str(spec.get("unit") or ""), lo, hi,
                                   positive_int(spec.get("decimals", 0), f"{where}.decimals", 0))
    missing = [m for m in MEASURES if m not in measurements]
    if missing:
        fail("measurements", f"missing {', '.join(missing)}")

    reasons = {str(code): Choice(str(code), *labels(spec, f"close_reasons.{code}"))
               for code, spec in mapping(data.get("close_reasons"), "close_reasons").items()}

    programs: dict[str, Program] = {}
    for code, spec in mapping(data.get("programs"), "programs").items():
        where = f"programs.{code}"
        if not re.match(r"^[a-z][a-z0-9_]{0,15}$", str(code)):
            fail(where, "code must be lower-case letters, digits or _ (at most 16)")
        zh, en = labels(spec, where)
        required = spec.get("required")
        if not isinstance(required, list) or not required or any(r not in MEASURES for r in required):
            fail(f"{where}.required", f"must list measurements among {', '.join(MEASURES)}")
        rules = []
        for i, rule in enumerate(spec.get("control") or []):
            if not isinstance(rule, dict) or rule.get("measure") not in required:
                fail(f"{where}.control[{i}].measure", "must be one of the programme's required measurements")
            rules.append(ControlRule(rule["measure"], number(rule.get("below"), f"{where}.control[{i}].below")))
        if not rules:
            fail(f"{where}.control", "must hold at least one rule")
        codes = spec.get("from_diagnosis")
        if not isinstance(codes, list) or any(not re.match(r"^[A-Z]\d{2}$", str(c)) for c in codes):
            fail(f"{where}.from_diagnosis", "must list ICD-10 categories (a capital letter and 2 digits)")
        programs[str(code)] = Program(str(code), zh, en, positive_int(spec.get("follow_ups_per_year"),
                                                                        f"{where}.follow_ups_per_year"),
                                      positive_int(spec.get("min_age"), f"{where}.min_age", 0),
                                      tuple(str(c) for c in codes), tuple(required), tuple(rules))
    return Rules(
        version=data["version"],
        interval_months=positive_int(fu.get("interval_months"), "follow_up.interval_months"),
        due_soon_days=positive_int(fu.get("due_soon_days"), "follow_up.due_soon_days", 0),
        overdue_grace_days=positive_int(fu.get("overdue_grace_days"), "follow_up.overdue_grace_days", 0),
        methods=methods, measurements=measurements, close_reasons=reasons, programs=programs,
    )


@lru_cache(maxsize=1)
def rules() -> Rules:
    """The programmes and follow-up rules, validated (ValueError naming the file and the key)."""
    return load_rules(RULES_FILE)


def program_labels(locale: str) -> dict[str, str]:
    return {p.code: p.label(locale) for p in rules().programs.values()}


def method_labels(locale: str) -> dict[str, str]:
    return {m.code: m.label(locale) for m in rules().methods.values()}


def close_reason_labels(locale: str) -> dict[str, str]:
    return {c.code: c.label(locale) for c in rules().close_reasons.values()}


def get_program(code: Any, field: str = "program") -> Program:
    """The programme for a code; InvalidInput on `field` when it is blank or unknown."""
    text = str(code or "").strip()
    if not text:
        raise InvalidInput(field, "core.errors.validation.missing")
    program = rules().programs.get(text)
    if program is None:
        raise InvalidInput(field, _E + "program_unknown", value=text, known=", ".join(rules().programs))
    return program


def add_months(d: dt.date, months: int) -> dt.date:
    """`d` plus calendar months; a day past the target month's end falls on its last day."""
    y, m = divmod(d.month - 1 + months, 12)
    y += d.year
    last = (dt.date(y + (m == 11), (m + 1) % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(y, m + 1, min(d.day, last))


# --- the due rule of one patient -------------------------------------------------------------------
def schedule(*, registered_on: dt.date, last_follow_up: dt.date | None,
             as_of: dt.date) -> tuple[dt.date, dt.date, str]:
    """(next due date, first overdue day, status on `as_of`) for one patient: the next follow-up is due
    `interval_months` after the last face-to-face one (or the registration); it is "due" from
    `due_soon_days` before that date and "overdue" once `overdue_grace_days` have passed after it."""
    r = rules()
    next_due = add_months(last_follow_up or registered_on, r.interval_months)
    overdue_from = next_due + dt.timedelta(days=r.overdue_grace_days + 1)
    if as_of >= overdue_from:
        status = "overdue"
    elif as_of >= next_due - dt.timedelta(days=r.due_soon_days):
        status = "due"
    else:
        status = "ok"
    return next_due, overdue_from, status


rules()  # validated at start: a broken rules file stops the application, not a follow-up form
