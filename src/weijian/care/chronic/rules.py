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

from weijian.care import icd10
from weijian.core.errors import InvalidInput
from weijian.core.periods import Period

RULES_FILE = Path(__file__).resolve().parent.parent / "data" / "chronic_programs.yaml"
STATUSES = ("ok", "due", "overdue")  # of a patient on the worklist (`schedule`)
# 此次随访分类 of the national follow-up form, 1–4: 控制满意, 控制不满意, 不良反应, 并发症.
CLASSIFICATIONS = ("controlled", "uncontrolled", "adverse_reaction", "complication")
# Why a follow-up advises an upward referral: a new or worse complication, or the second of two consecutive
# follow-ups not controlled (or with an adverse reaction).
REFER_REASONS = ("urgent", "complication", "consecutive")
MEASURES = ("sbp", "dbp", "fasting_glucose", "height_cm", "weight_kg", "heart_rate", "hba1c", "staple_food_g")
# The parts of a record form that only some programmes' forms carry (`record_fields` of a programme), and the
# follow-up's fields of each: the 2型糖尿病患者随访服务记录表's 足背动脉搏动 (finding, side), 主食 (克/天 now /
# target), 糖化血红蛋白 (% and 检查日期), 低血糖反应 and 胰岛素 (种类, 用法和用量).
FORM_PARTS = {
    "foot_pulse": ("foot_pulse", "foot_pulse_side"),
    "staple_food": ("staple_food_g", "staple_food_target_g"),
    "hba1c": ("hba1c", "hba1c_date"),
    "hypoglycaemia": ("hypoglycaemia",),
    "insulin": ("insulin_type", "insulin_dose"),
}
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
class Finding(Choice):
    """A finding of an examination done on both sides (足背动脉搏动): `sided` when the form asks which side
    (减弱 / 消失: 双侧, 左侧 or 右侧)."""

    sided: bool = False


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
class UrgentLimit:
    """A measured value that calls for an urgent referral (紧急转诊): at or above, or at or below, a limit."""

    measure: str
    limit: Decimal
    high: bool  # True: value ≥ limit; False: value ≤ limit

    @property
    def code(self) -> str:
        return f"{self.measure}_{'high' if self.high else 'low'}"

    def holds(self, value: Decimal | int | None) -> bool:
        if value is None:
            return False
        return Decimal(value) >= self.limit if self.high else Decimal(value) <= self.limit


@dataclass(frozen=True)
class Program(Choice):
    follow_ups_per_year: int = 4
    min_age: int = 35  # 服务对象: 辖区内35岁及以上常住居民
    required: tuple[str, ...] = ()
    control: tuple[ControlRule, ...] = ()
    control_from_age: tuple[tuple[int, tuple[ControlRule, ...]], ...] = ()  # (age, rules), youngest first
    urgent_limits: tuple[UrgentLimit, ...] = ()
    urgent_signs: tuple[Choice, ...] = ()  # the danger signs of the 规范's 紧急转诊 list
    symptoms: tuple[Choice, ...] = ()  # 症状 of the national record form
    record_fields: tuple[str, ...] = ()  # parts of FORM_PARTS this programme's record form carries

    @property
    def form_fields(self) -> tuple[str, ...]:
        """The follow-up's fields of this programme's own parts of the record form (foot_pulse … insulin_dose)."""
        return tuple(f for part in self.record_fields for f in FORM_PARTS[part])

    def urgent_reasons(self, values: dict[str, Decimal | int | None], signs: tuple[str, ...] = ()) -> tuple[str, ...]:
        """Why a follow-up calls for an urgent referral: the limits reached (sbp_high, fasting_glucose_low …)
        then the danger signs noted, in the data file's order; empty when none."""
        noted = set(signs)
        return (tuple(u.code for u in self.urgent_limits if u.holds(values.get(u.measure)))
                + tuple(c.code for c in self.urgent_signs if c.code in noted))

    def control_rules(self, age: int | None = None) -> tuple[ControlRule, ...]:
        """The limits for a patient of `age` (years on the follow-up's date): the highest `control_from_age`
        at or below it, else the general ones (hypertension: 140/90; 65 and over 150/90)."""
        chosen = self.control
        for from_age, rules_ in self.control_from_age:
            if age is not None and age >= from_age:
                chosen = rules_
        return chosen

    def registers_from(self, code: str | None) -> bool:
        """A diagnosis code (any spelling icd10 reads: I11.9, i119, I10.x00) registers for this programme:
        the diagnosis list names this programme for it (icd10.csv's `chronic` column, the one list of such
        codes: I10–I13 and E11; not I15, E14)."""
        return icd10.chronic_program(code) == self.code

    def in_control(self, values: dict[str, Decimal | int | None], age: int | None = None) -> bool:
        """Every control rule for the patient's age holds (hypertension: SBP < 140 and DBP < 90, from 65
        SBP < 150 and DBP < 90; diabetes: glucose < 7.0)."""
        return all(rule.holds(values.get(rule.measure)) for rule in self.control_rules(age))

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
    recheck_days: int
    referral_follow_up_days: int
    pro_rate_new_patients: bool
    due_soon_days: int
    overdue_grace_days: int
    methods: dict[str, Method]
    measurements: dict[str, Range]
    close_reasons: dict[str, Choice]
    programs: dict[str, Program]
    estimate_from_age: int  # 健康管理率: the population counted (this age and over) …
    prevalence: dict[str, Decimal]  # … times each programme's prevalence
    salt: dict[str, Choice]  # 摄盐情况 轻/中/重
    levels: dict[str, Choice]  # 心理调整, 遵医行为: 良好/一般/差
    adherence: dict[str, Choice]  # 服药依从性: 规律/间断/不服药
    foot_pulse: dict[str, Finding]  # 足背动脉搏动: 触及正常 / 减弱 / 消失
    sides: dict[str, Choice]  # … 双侧 / 左侧 / 右侧
    hypoglycaemia: dict[str, Choice]  # 低血糖反应: 无 / 偶尔 / 频繁

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
        def control(node: Any, at: str, required: list[str]) -> tuple[ControlRule, ...]:
            out = []
            for i, rule in enumerate(node or []):
                if not isinstance(rule, dict) or rule.get("measure") not in required:
                    fail(f"{at}[{i}].measure", "must be one of the programme's required measurements")
                out.append(ControlRule(rule["measure"], number(rule.get("below"), f"{at}[{i}].below")))
            if not out:
                fail(at, "must hold at least one rule")
            return tuple(out)

        rules = control(spec.get("control"), f"{where}.control", required)
        by_age = spec.get("control_from_age") or {}
        if not isinstance(by_age, dict):
            fail(f"{where}.control_from_age", "must map an age to its rules")
        from_age = tuple(sorted((positive_int(age, f"{where}.control_from_age.{age}"),
                                 control(node, f"{where}.control_from_age.{age}", required))
                                for age, node in by_age.items()))
        urgent = spec.get("urgent") or {}
        limits: list[UrgentLimit] = []
        for i, node in enumerate(urgent.get("limits") or []):
            at = f"{where}.urgent.limits[{i}]"
            if not isinstance(node, dict) or node.get("measure") not in MEASURES:
                fail(f"{at}.measure", f"must be one of {', '.join(MEASURES)}")
            if ("at_least" in node) == ("at_most" in node):
                fail(at, "needs exactly one of at_least, at_most")
            high = "at_least" in node
            limits.append(UrgentLimit(node["measure"], number(node["at_least" if high else "at_most"], at), high))
        signs = tuple(Choice(str(c), *labels(v, f"{where}.urgent.signs.{c}"))
                      for c, v in (urgent.get("signs") or {}).items())
        symptoms = tuple(Choice(str(c), *labels(v, f"{where}.symptoms.{c}"))
                         for c, v in mapping(spec.get("symptoms"), f"{where}.symptoms").items())
        parts = spec.get("record_fields") or []
        if not isinstance(parts, list) or any(p not in FORM_PARTS for p in parts):
            fail(f"{where}.record_fields", f"must list parts among {', '.join(FORM_PARTS)}")
        if "from_diagnosis" in spec:  # one list of the codes, not two that can disagree
            fail(f"{where}.from_diagnosis", "the codes a programme registers from are icd10.csv's `chronic` column")
        programs[str(code)] = Program(str(code), zh, en, positive_int(spec.get("follow_ups_per_year"),
                                                                        f"{where}.follow_ups_per_year"),
                                      positive_int(spec.get("min_age"), f"{where}.min_age", 0),
                                      tuple(required), rules, from_age,
                                      tuple(limits), signs, symptoms, tuple(str(p) for p in parts))
    unknown = [c for c in icd10.CHRONIC_PROGRAMS if c not in programs]
    if unknown:
        fail("programs", f"icd10.csv registers diagnoses for {', '.join(unknown)}, which this file does not define")
    form = mapping(data.get("record_form"), "record_form")

    def choices(key: str) -> dict[str, Choice]:
        return {str(c): Choice(str(c), *labels(v, f"record_form.{key}.{c}"))
                for c, v in mapping(form.get(key), f"record_form.{key}").items()}

    est = mapping(data.get("estimate"), "estimate")
    prevalence = {str(k): number(v, f"estimate.prevalence.{k}")
                  for k, v in mapping(est.get("prevalence"), "estimate.prevalence").items()}
    if set(prevalence) != set(programs) or any(not 0 < v < 1 for v in prevalence.values()):
        fail("estimate.prevalence", "needs a fraction between 0 and 1 for each programme")

    return Rules(
        estimate_from_age=positive_int(est.get("population_from_age"), "estimate.population_from_age", 0),
        prevalence=prevalence,
        salt=choices("salt"), levels=choices("levels"), adherence=choices("adherence"),
        foot_pulse={c.code: Finding(c.code, c.zh, c.en, _flag(form["foot_pulse"][c.code].get("sided", False),
                                                             f"{path}: record_form.foot_pulse.{c.code}.sided"))
                    for c in choices("foot_pulse").values()},
        sides=choices("sides"), hypoglycaemia=choices("hypoglycaemia"),
        version=data["version"],
        interval_months=positive_int(fu.get("interval_months"), "follow_up.interval_months"),
        recheck_days=positive_int(fu.get("recheck_days"), "follow_up.recheck_days"),
        pro_rate_new_patients=_flag(fu.get("pro_rate_new_patients"), f"{path}: follow_up.pro_rate_new_patients"),
        referral_follow_up_days=positive_int(fu.get("referral_follow_up_days"), "follow_up.referral_follow_up_days"),
        due_soon_days=positive_int(fu.get("due_soon_days"), "follow_up.due_soon_days", 0),
        overdue_grace_days=positive_int(fu.get("overdue_grace_days"), "follow_up.overdue_grace_days", 0),
        methods=methods, measurements=measurements, close_reasons=reasons, programs=programs,
    )


def _flag(node: Any, where: str) -> bool:
    if not isinstance(node, bool):
        raise ValueError(f"{where}: must be true or false")
    return node


def required_from(period: Period, required: int, interval_months: int) -> tuple[tuple[dt.date, int], ...]:
    """(registered on or before, follow-ups required) for a patient first registered in `period`, most
    required first: k follow-ups when the k-th due date after the registration (every `interval_months`)
    falls in the period, up to `required`; a patient registered later needs 1 (pro_rate_new_patients)."""
    return tuple((add_months(period.end, -k * interval_months), k) for k in range(required, 1, -1))


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


# --- the classification of one follow-up (分类干预) -----------------------------------------------------
@dataclass(frozen=True)
class Verdict:
    """What a follow-up's values mean, by the rules of one version of the rules file."""

    classification: str  # CLASSIFICATIONS
    in_control: bool  # the measurements within the limits for the patient's age (the 控制率's test)
    refer_reason: str | None  # REFER_REASONS, or None when no referral is advised
    next_visit_on: dt.date
    rule_version: int
    urgent_reasons: tuple[str, ...] = ()  # 紧急转诊: the limits reached and danger signs noted


def classify(program: Program, values: dict[str, Decimal | int | None], *, on: dt.date, age: int,
             adverse_reaction: bool = False, complication: bool = False,
             previous: str | None = None, signs: tuple[str, ...] = ()) -> Verdict:
    """The 此次随访分类 of a follow-up on `on` and the next visit it calls for (分类干预, 规范 第三版):
    a new or worse complication → 并发症, referral; an adverse drug reaction → 不良反应; values not in
    control → 控制不满意; else 控制满意. A 2 or 3 after a previous follow-up (`previous`, its
    classification) that was 2 or 3 advises a referral too. Controlled: next visit in `interval_months`;
    otherwise in `recheck_days`; a referral is followed up in `referral_follow_up_days`. A limit of the
    规范's 紧急转诊 list reached (SBP ≥ 180 and/or DBP ≥ 110; glucose ≥ 16.7 or ≤ 3.9) or a danger sign
    noted (`signs`) calls for an urgent referral, before any other reason."""
    r = rules()
    controlled = program.in_control(values, age)
    if complication:
        kind = "complication"
    elif adverse_reaction:
        kind = "adverse_reaction"
    else:
        kind = "controlled" if controlled else "uncontrolled"
    unsettled = ("uncontrolled", "adverse_reaction")
    urgent = program.urgent_reasons(values, signs)
    refer = ("urgent" if urgent else "complication" if kind == "complication"
             else "consecutive" if kind in unsettled and previous in unsettled else None)
    if refer is not None:
        next_visit = on + dt.timedelta(days=r.referral_follow_up_days)
    elif kind == "controlled":
        next_visit = add_months(on, r.interval_months)
    else:
        next_visit = on + dt.timedelta(days=r.recheck_days)
    return Verdict(kind, controlled, refer, next_visit, r.version, urgent)


# --- the due rule of one patient -------------------------------------------------------------------
def schedule(*, registered_on: dt.date, last_follow_up: dt.date | None, as_of: dt.date,
             next_visit_on: dt.date | None = None) -> tuple[dt.date, dt.date, str]:
    """(next due date, first overdue day, status on `as_of`) for one patient: the next follow-up is due on
    the date the last face-to-face one set (`next_visit_on`: 3 months after a controlled visit, 2 weeks
    after one that was not), or `interval_months` after the last one (or the registration) when it set
    none; it is "due" from `due_soon_days` before that date and "overdue" once `overdue_grace_days` have
    passed after it."""
    r = rules()
    next_due = next_visit_on or add_months(last_follow_up or registered_on, r.interval_months)
    overdue_from = next_due + dt.timedelta(days=r.overdue_grace_days + 1)
    if as_of >= overdue_from:
        status = "overdue"
    elif as_of >= next_due - dt.timedelta(days=r.due_soon_days):
        status = "due"
    else:
        status = "ok"
    return next_due, overdue_from, status


rules()  # validated at start: a broken rules file stops the application, not a follow-up form
