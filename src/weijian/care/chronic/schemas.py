"""Shapes of chronic-disease management: the commands every write takes (registering, a follow-up, closing;
core.commands — strict, each bad value refused naming its field with the same words as the forms), and the
API's answers (registrations, follow-ups, the worklist, the figures).

A measurement is checked against the plausible range and the instrument's decimals the rules file gives
(rules.py); what needs the database or the programme — the resident in scope, the measurements a programme
requires, the dates against the registration — is checked by the service."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field, field_validator

from weijian.care.chronic.rules import get_program, rules
from weijian.care.models import ChronicRegistration, FollowUp
from weijian.core.bounds import BoundedDate, Id64, whole_number
from weijian.core.commands import Command, refuse
from weijian.core.errors import InvalidInput

_E = "care.chronic.errors."


# --- value types ------------------------------------------------------------------------------------
def _day(raw: Any) -> Any:
    """A date as a form or JSON sends it: ISO text (2025-03-01, or 2025/03/01 as some browsers type it)."""
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, str):
        try:
            return dt.date.fromisoformat(raw.strip().replace("/", "-"))
        except ValueError:
            pass
    raise refuse("core.errors.validation.date_parsing")


# A day within core.bounds' range; text that is no date is `date_parsing`, whatever pydantic would call it.
Day = Annotated[BoundedDate, BeforeValidator(_day)]


def _resident(raw: Any) -> int:
    """A resident number as typed: anything that is no id is a resident that does not exist (in scope)."""
    rid = None if isinstance(raw, bool) else whole_number(raw)
    if rid is None:
        raise refuse(_E + "resident_not_found", resident_id=str(raw))
    return rid


def _measure(name: str) -> Callable[[Any], int | Decimal | None]:
    def check(raw: Any) -> int | Decimal | None:
        """A measured value: refused when not a number, out of the plausible range, or with more decimals than
        the instrument shows (rounding could move a value across a control limit)."""
        if raw is None:
            return None
        spec = rules().measurements[name]
        if isinstance(raw, bool) or not isinstance(raw, (str, int, float, Decimal)):
            raise refuse(_E + "measurement_invalid")
        try:
            value = Decimal(str(raw).strip())
        except InvalidOperation:
            raise refuse(_E + "measurement_invalid") from None
        if not value.is_finite():
            raise refuse(_E + "measurement_invalid")
        exponent = value.normalize().as_tuple().exponent
        if isinstance(exponent, int) and -exponent > spec.decimals:
            key = "measurement_decimals" if spec.decimals else "measurement_integer"
            raise refuse(_E + key, decimals=spec.decimals)
        if not spec.min <= value <= spec.max:
            raise refuse(_E + "measurement_range", min=str(spec.min), max=str(spec.max), unit=spec.unit)
        return int(value) if spec.decimals == 0 else value.quantize(Decimal(1).scaleb(-spec.decimals))
    return check


Systolic = Annotated[int | None, BeforeValidator(_measure("sbp"))]  # mmHg
Diastolic = Annotated[int | None, BeforeValidator(_measure("dbp"))]  # mmHg
Glucose = Annotated[Decimal | None, BeforeValidator(_measure("fasting_glucose"))]  # mmol/L, one decimal
Height = Annotated[Decimal | None, BeforeValidator(_measure("height_cm"))]  # cm, one decimal
Weight = Annotated[Decimal | None, BeforeValidator(_measure("weight_kg"))]  # kg, one decimal
HeartRate = Annotated[int | None, BeforeValidator(_measure("heart_rate"))]  # 次/分钟
HbA1c = Annotated[Decimal | None, BeforeValidator(_measure("hba1c"))]  # 糖化血红蛋白 %, one decimal
StapleFood = Annotated[int | None, BeforeValidator(_measure("staple_food_g"))]  # 主食 克/天


def _choice(table: str) -> Callable[[Any], str | None]:
    def check(raw: Any) -> str | None:
        """A code of one of the record form's choices (rules file `record_form`), or no value."""
        if raw is None:
            return None
        value = str(raw).strip()
        if value not in getattr(rules(), table):
            raise refuse(_E + "choice_unknown", value=value)
        return value
    return check


Salt = Annotated[str | None, BeforeValidator(_choice("salt"))]  # 摄盐情况 轻/中/重
Level = Annotated[str | None, BeforeValidator(_choice("levels"))]  # 心理调整, 遵医行为 良好/一般/差
Adherence = Annotated[str | None, BeforeValidator(_choice("adherence"))]  # 服药依从性
FootPulse = Annotated[str | None, BeforeValidator(_choice("foot_pulse"))]  # 足背动脉搏动 触及正常/减弱/消失
Side = Annotated[str | None, BeforeValidator(_choice("sides"))]  # 双侧/左侧/右侧
Hypoglycaemia = Annotated[str | None, BeforeValidator(_choice("hypoglycaemia"))]  # 低血糖反应 无/偶尔/频繁
Count = Annotated[int | None, Field(ge=0, le=200)]  # 支/日, 次/周
Minutes = Annotated[int | None, Field(ge=0, le=600)]  # 分钟/次
Liang = Annotated[Decimal | None, Field(ge=0, le=100, decimal_places=1)]  # 两/日 (白酒; 啤酒/10, 红酒/4, 黄酒/5)


# --- commands ---------------------------------------------------------------------------------------
class Medication(Command):
    """One line of 用药情况: the drug, 每日×次, 每次 mg."""

    name: Annotated[str, Field(max_length=50)]
    times_per_day: Annotated[int, Field(ge=1, le=12)]
    mg_per_dose: Annotated[Decimal, Field(gt=0, le=10000, decimal_places=2)]


class FollowUpRecord(BaseModel):
    """The national record form's fields kept as one JSON document (follow_ups.record), now / target."""

    symptoms: list[str] = []
    symptoms_other: str | None = None
    height_cm: Decimal | None = None
    target_weight_kg: Decimal | None = None
    target_bmi: Decimal | None = None
    smoking_per_day: int | None = None
    smoking_target: int | None = None
    drinking_liang: Decimal | None = None
    drinking_target: Decimal | None = None
    exercise_per_week: int | None = None
    exercise_minutes: int | None = None
    exercise_target_per_week: int | None = None
    exercise_target_minutes: int | None = None
    salt: str | None = None
    salt_target: str | None = None
    psychology: str | None = None
    compliance: str | None = None
    adverse_reaction_note: str | None = None
    medications: list[Medication] = []
    referral_reason: str | None = None
    referral_to: str | None = None
    # 2型糖尿病 form only
    foot_pulse: str | None = None
    foot_pulse_side: str | None = None
    staple_food_g: int | None = None
    staple_food_target_g: int | None = None
    hba1c: Decimal | None = None
    hba1c_date: dt.date | None = None
    hypoglycaemia: str | None = None
    insulin_type: str | None = None
    insulin_dose: str | None = None

class ChronicRegister(Command):
    """Put a resident under management in a programme by hand. The programme and the date may be left out
    here: the service names them missing together with what it finds in the database (the resident, an
    active registration already); the API defaults the date to today."""

    resident_id: Annotated[Id64, BeforeValidator(_resident)]
    program: str | None = None
    registered_on: Day | None = None
    facility_id: Id64 | None = None  # default: the actor's facility

    @field_validator("program")
    @classmethod
    def _program(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                get_program(value)
            except InvalidInput:
                raise refuse(_E + "program_unknown", value=value, known=", ".join(rules().programs)) from None
        return value


class FollowUpCreate(Command):
    """One follow-up of a registration. Which measurements are required depends on its programme, and the
    diastolic pressure must be below the systolic: both checked by the service."""

    date: Day
    method: str = "clinic"  # a method of the rules file (clinic | home | phone)
    sbp: Systolic = None
    dbp: Diastolic = None
    fasting_glucose: Glucose = None
    adverse_reaction: bool = False  # 药物不良反应 (有/无)
    complication: bool = False  # 新发并发症或原有并发症加重
    danger_signs: list[str] = []  # codes of the programme's 紧急转诊 signs (checked by the service)
    # The national record form (高血压患者随访服务记录表): 症状 (codes of the programme, checked by the service)
    symptoms: list[str] = []
    symptoms_other: Annotated[str | None, Field(max_length=100)] = None
    # 体征: 体重 and 体质指数 (from the height) now / target, 心率
    height_cm: Height = None
    weight_kg: Weight = None
    target_weight_kg: Weight = None
    heart_rate: HeartRate = None
    # 生活方式指导, now / target
    smoking_per_day: Count = None
    smoking_target: Count = None
    drinking_liang: Liang = None
    drinking_target: Liang = None
    exercise_per_week: Count = None
    exercise_minutes: Minutes = None
    exercise_target_per_week: Count = None
    exercise_target_minutes: Minutes = None
    salt: Salt = None
    salt_target: Salt = None
    psychology: Level = None  # 心理调整
    compliance: Level = None  # 遵医行为
    adherence: Adherence = None  # 服药依从性
    adverse_reaction_note: Annotated[str | None, Field(max_length=200)] = None  # 药物不良反应: what it was
    medications: Annotated[list[Medication], Field(max_length=10)] = []  # 用药情况
    referral_reason: Annotated[str | None, Field(max_length=200)] = None  # 转诊 原因
    referral_to: Annotated[str | None, Field(max_length=100)] = None  # 转诊 机构及科别
    # Only the 2型糖尿病患者随访服务记录表 has these (the programme's `record_fields`; the service refuses them on
    # another programme's follow-up and checks how they go together).
    foot_pulse: FootPulse = None  # 足背动脉搏动
    foot_pulse_side: Side = None  # … 减弱 / 消失 on which side
    staple_food_g: StapleFood = None  # 主食 (克/天), now
    staple_food_target_g: StapleFood = None  # … target
    hba1c: HbA1c = None  # 辅助检查: 糖化血红蛋白 (%)
    hba1c_date: Day | None = None  # … 检查日期
    hypoglycaemia: Hypoglycaemia = None  # 低血糖反应
    insulin_type: Annotated[str | None, Field(max_length=50)] = None  # 胰岛素 种类
    insulin_dose: Annotated[str | None, Field(max_length=100)] = None  # 胰岛素 用法和用量
    next_visit_on: Day | None = None  # 下次随访日期: default, and latest, the date the classification sets
    note: str | None = None
    clinician_name: str | None = None  # default: the actor's user name

    def record(self, target_bmi: Decimal | None) -> FollowUpRecord:
        """The fields kept in follow_ups.record."""
        return FollowUpRecord(**{k: getattr(self, k) for k in FollowUpRecord.model_fields if k != "target_bmi"},
                              target_bmi=target_bmi)

    @field_validator("method")
    @classmethod
    def _method(cls, value: str) -> str:
        if value not in rules().methods:
            raise refuse(_E + "method_unknown", value=value)
        return value


class ChronicClose(Command):
    """End management. The reason (a code of the rules file) is checked by the service, so that a missing or
    unknown reason is named together with a date the registration refuses."""

    closed_on: Day
    reason: str | None = None


# --- answers ----------------------------------------------------------------------------------------


class FollowUpOut(BaseModel):
    id: int
    registration_id: int
    resident_id: int
    date: dt.date
    method: str
    sbp: int | None
    dbp: int | None
    fasting_glucose: str | None  # decimal as text (mmol/L, one decimal)
    in_control: bool
    adverse_reaction: bool
    complication: bool
    classification: str  # 此次随访分类: controlled | uncontrolled | adverse_reaction | complication
    refer_reason: str | None  # urgent | complication | consecutive: an upward referral is advised
    urgent_reasons: list[str]  # 紧急转诊: limits reached (sbp_high …) and danger signs noted
    weight_kg: str | None  # decimal as text
    bmi: str | None
    heart_rate: int | None
    adherence: str | None
    record: FollowUpRecord | None  # the rest of the national record form
    next_visit_on: dt.date
    rule_version: int
    facility_id: int | None
    clinician_name: str | None
    note: str | None

    @classmethod
    def of(cls, f: FollowUp) -> FollowUpOut:
        return cls(id=f.id, registration_id=f.registration_id, resident_id=f.resident_id, date=f.date,
                   method=f.method, sbp=f.sbp, dbp=f.dbp,
                   fasting_glucose=None if f.fasting_glucose is None else str(f.fasting_glucose),
                   in_control=f.in_control, adverse_reaction=f.adverse_reaction, complication=f.complication,
                   classification=f.classification, refer_reason=f.refer_reason,
                   urgent_reasons=[c for c in (f.urgent_reasons or "").split(",") if c],
                   weight_kg=None if f.weight_kg is None else str(f.weight_kg),
                   bmi=None if f.bmi is None else str(f.bmi), heart_rate=f.heart_rate, adherence=f.adherence,
                   record=None if f.record is None else FollowUpRecord.model_validate_json(f.record),
                   next_visit_on=f.next_visit_on,
                   rule_version=f.rule_version, facility_id=f.facility_id, clinician_name=f.clinician_name,
                   note=f.note)


class RegistrationOut(BaseModel):
    id: int
    resident_id: int
    resident_name: str | None = None
    village_code: str | None = None
    program: str
    registered_on: dt.date
    source: str
    encounter_id: int | None
    facility_id: int | None
    status: str
    closed_on: dt.date | None

    @classmethod
    def of(cls, r: ChronicRegistration, *, resident_name: str | None = None,
           village_code: str | None = None) -> RegistrationOut:
        return cls(id=r.id, resident_id=r.resident_id, resident_name=resident_name, village_code=village_code,
                   program=r.program, registered_on=r.registered_on, source=r.source, encounter_id=r.encounter_id,
                   facility_id=r.facility_id, status=r.status, closed_on=r.closed_on)


class RegistrationDetail(RegistrationOut):
    last_follow_up: dt.date | None
    next_due: dt.date | None
    due_status: str | None  # ok | due | overdue; None once closed
    follow_ups: list[FollowUpOut]


class RegistrationPage(BaseModel):
    items: list[RegistrationOut]
    total: int
    page: int
    page_size: int


class DueItemOut(BaseModel):
    registration_id: int
    resident_id: int
    resident_name: str
    sex: str
    birth_year: int
    birth_date: dt.date | None  # None, and the phone masked, without resident:read_identity
    phone: str | None
    village_code: str
    program: str
    registered_on: dt.date
    last_follow_up: dt.date | None
    next_due: dt.date
    overdue_from: dt.date
    status: str
    days_overdue: int
    urgent: bool  # the latest follow-up called for an urgent referral (listed first)


class DueListOut(BaseModel):
    as_of: dt.date
    counts: dict[str, int]  # status → patients
    items: list[DueItemOut]


class FigureChildOut(BaseModel):
    figure: str
    orgunit: str
    period: str
    numerator: int
    denominator: int
    value: float | None  # a fraction (0.8125), None when the denominator is 0


class FigureOut(FigureChildOut):
    children: list[FigureChildOut]
