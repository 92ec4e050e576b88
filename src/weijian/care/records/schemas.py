"""Commands and answers of the health record: the strict commands its writes take (STYLE 14) — an encounter
with its diagnoses, a discharge, a health check with its measures, a screening — and the API's answers.

A command refuses a value of the wrong shape (an unknown type, a date that is none, a cost below zero or
past the fen, a measurement outside its range) in the record's own words; what needs the resident, the
facility or several fields together (a date after today or before birth, the costs' order, the blood
pressure's pair, a screening's result for its kind) the service checks with ErrorCollector.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from weijian.care import icd10
from weijian.care.models import Encounter, HealthCheck, Screening
from weijian.core import clock
from weijian.core.bounds import BoundedDate, Id64
from weijian.core.commands import Command, Money, refuse

_E = "care.records.errors."

ENCOUNTER_TYPES = ("outpatient", "inpatient", "day_surgery")
HEALTH_CHECK_KINDS = ("general", "annual_65")
SCREENING_RESULTS = {"cervical": ("negative", "abnormal", "positive"),
                     "breast": ("negative", "abnormal", "positive"),
                     "prenatal": ("low_risk", "high_risk")}
SCREENING_KINDS = tuple(SCREENING_RESULTS)
ANNUAL_CHECK_AGE = 65
MAX_DIAGNOSES = 20
NOTE_MAX = 500
TENTH = Decimal("0.1")
# (field, lowest, highest) of the health-check measurements: beyond these a value is a typing error.
MEASURE_RANGES: dict[str, tuple[Decimal, Decimal] | tuple[int, int]] = {
    "height_cm": (Decimal("30"), Decimal("250")),
    "weight_kg": (Decimal("1"), Decimal("300")),
    "sbp": (50, 300),
    "dbp": (30, 200),
    "fasting_glucose": (Decimal("1.0"), Decimal("35.0")),
}
OUT_OF_RANGE = _E + "out_of_range"
BLOOD_PRESSURE_PAIR = _E + "blood_pressure_pair"

EncounterType = Literal["outpatient", "inpatient", "day_surgery"]
HealthCheckKind = Literal["general", "annual_65"]
ScreeningKind = Literal["cervical", "breast", "prenatal"]


# --- value types ----------------------------------------------------------------------------------
def _day(value: Any) -> Any:
    """ISO text (`/` accepted, as typed on a form) or a datetime (an aware one as its county day) as a date;
    anything else is left to pydantic."""
    if isinstance(value, datetime):
        return clock.local_date(value) if value.tzinfo else value.date()
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip().replace("/", "-"))
        except ValueError:
            raise refuse("core.errors.validation.date_parsing") from None
    return value


# A date of the record: 1900-01-01 … 2100-12-31, "not a date" in the words the record's forms always used.
RecordDate = Annotated[BoundedDate, BeforeValidator(_day)]

# Money's refusals in the record's own words (the keys its forms and API have always answered with).
_MONEY_KEYS = {"core.errors.validation.money_negative": _E + "money_negative",
               "core.errors.validation.money_fen": _E + "money_fen"}


def _record_money_keys(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    try:
        return handler(value)
    except ValidationError as exc:
        kind = str(exc.errors()[0]["type"])
        if kind in _MONEY_KEYS:
            raise refuse(_MONEY_KEYS[kind]) from None
        raise


# An amount in yuan to the fen (core.commands.Money), refused with the record's keys.
Cost = Annotated[Money, WrapValidator(_record_money_keys)]


def _range(name: str) -> Callable[[Any], Any]:
    low, high = MEASURE_RANGES[name]

    def check(value: Any) -> Any:
        if not low <= value <= high:
            raise refuse(OUT_OF_RANGE, low=str(low), high=str(high))
        if isinstance(value, Decimal):
            return value.quantize(TENTH, rounding=ROUND_HALF_UP)
        return value
    return check


def _plain_number(value: Any) -> Any:
    return value.strip().replace(",", "") if isinstance(value, str) else value


# The measurements, each within MEASURE_RANGES (a decimal one to one decimal, half up).
HeightCm = Annotated[Decimal, BeforeValidator(_plain_number), AfterValidator(_range("height_cm"))]
WeightKg = Annotated[Decimal, BeforeValidator(_plain_number), AfterValidator(_range("weight_kg"))]
Glucose = Annotated[Decimal, BeforeValidator(_plain_number), AfterValidator(_range("fasting_glucose"))]
Systolic = Annotated[int, BeforeValidator(_plain_number), AfterValidator(_range("sbp"))]
Diastolic = Annotated[int, BeforeValidator(_plain_number), AfterValidator(_range("dbp"))]


def _code_of(allowed: tuple[str, ...], key: str) -> Callable[[Any], Any]:
    """A before-validator refusing a code outside `allowed` with the record's key (value=the code)."""
    def check(value: Any) -> Any:
        text = value.strip() if isinstance(value, str) else value
        if text not in allowed:
            raise refuse(key, value=str(text))
        return text
    return check


def comma_list(value: Any) -> Any:
    """One comma-separated string (the CLI's, a spreadsheet's) is a list too."""
    if isinstance(value, str):
        return value.replace("，", ",").split(",")
    return value


def _no_blank_codes(value: list[str]) -> list[str]:
    # Blank inputs are dropped first, so that an error on diagnoses[i] names the i-th code given.
    return [c for c in value if c]


# ICD-10 codes as given, first = primary: a list, or one comma-separated string; blanks dropped.
Diagnoses = Annotated[list[str], BeforeValidator(comma_list), AfterValidator(_no_blank_codes)]


# --- commands -------------------------------------------------------------------------------------
class EncounterCreate(Command):
    """An outpatient visit, an inpatient admission (or a whole stay, with `end_date`) or a day surgery."""

    resident_id: Id64
    type: Annotated[EncounterType, BeforeValidator(_code_of(ENCOUNTER_TYPES, _E + "encounter_type_unknown"))]
    facility_id: Id64 | None = None  # default: the caller's facility
    outside_facility_name: str | None = Field(None, max_length=100)  # outside the county (county-level callers)
    department: str | None = Field(None, max_length=50)
    clinician_name: str | None = Field(None, max_length=64)  # default: the caller's name
    start_date: RecordDate  # visit or admission date
    end_date: RecordDate | None = None  # a whole stay recorded at once; day surgery: the discharge date
    diagnoses: Diagnoses = []  # ICD-10, first = primary (checked against the code list by the service)
    note: str | None = Field(None, max_length=NOTE_MAX)
    total_cost: Cost = Decimal("0.00")
    in_policy_cost: Cost = Decimal("0.00")



class DischargeIn(Command):
    """The end of an inpatient stay, with the final bill when it is known. `end_date` is required, but the
    service says so, after the stay's scope and state: a stay outside the caller's scope answers 404
    whatever the body, exactly as a missing one."""

    end_date: RecordDate | None = None
    total_cost: Cost | None = None  # None: the costs recorded at admission stay
    in_policy_cost: Cost | None = None
    note: str | None = Field(None, max_length=NOTE_MAX)


REASON_MAX = 500
CORRECTABLE = ("encounter", "health_check", "screening")  # the entries a correction or a void names


class VoidIn(Command):
    """Void an entry recorded in error (a visit, a stay, a check, a screening): it stays in the record,
    marked, and counts in no figure. The reason is required, but the service says so after the entry's
    scope (as DischargeIn's end date): an entry outside the caller's scope answers 404 whatever the body."""

    reason: str | None = Field(None, max_length=REASON_MAX)


class EncounterCorrection(Command):
    """Correct an encounter: the values given replace those recorded (a field left out stays); the reason is
    required (checked by the service after the scope, as VoidIn's). The type, the patient and the facility
    are not corrected: void the entry and record it again. An optional value is cleared by an explicit null
    (CLEARABLE; a blank on the page's form); a null for any other field changes nothing."""

    CLEARABLE: ClassVar[tuple[str, ...]] = ("department", "clinician_name", "note")

    reason: str | None = Field(None, max_length=REASON_MAX)
    department: str | None = Field(None, max_length=50)
    clinician_name: str | None = Field(None, max_length=64)
    start_date: RecordDate | None = None
    end_date: RecordDate | None = None
    diagnoses: Diagnoses | None = None
    note: str | None = Field(None, max_length=NOTE_MAX)
    total_cost: Cost | None = None
    in_policy_cost: Cost | None = None



class _Measures(Command):
    """A health check's measurements (MEASURE_RANGES), each optional."""

    height_cm: HeightCm | None = None
    weight_kg: WeightKg | None = None
    sbp: Systolic | None = None
    dbp: Diastolic | None = None
    fasting_glucose: Glucose | None = None


class HealthCheckCorrection(_Measures):
    """Correct a health check: the values given replace those recorded (a field left out stays; BMI follows
    height and weight); the reason is required (checked by the service after the scope). The patient and the
    facility are not corrected: void the check and record it again. A measurement or the note is cleared by
    an explicit null (CLEARABLE); a null date or kind changes nothing."""

    CLEARABLE: ClassVar[tuple[str, ...]] = (*MEASURE_RANGES, "note")

    reason: str | None = Field(None, max_length=REASON_MAX)
    date: RecordDate | None = None
    kind: Annotated[HealthCheckKind, BeforeValidator(
        _code_of(HEALTH_CHECK_KINDS, _E + "health_check_kind_unknown"))] | None = None
    note: str | None = Field(None, max_length=NOTE_MAX)


class ScreeningCorrection(Command):
    """Correct a screening: its date, kind, result or note (a field left out stays), with a required reason;
    the result's fit to the kind and the kind's to the woman's age are checked again by the service. The
    note is cleared by an explicit null (CLEARABLE)."""

    CLEARABLE: ClassVar[tuple[str, ...]] = ("note",)

    reason: str | None = Field(None, max_length=REASON_MAX)
    date: RecordDate | None = None
    kind: Annotated[ScreeningKind, BeforeValidator(
        _code_of(SCREENING_KINDS, _E + "screening_kind_unknown"))] | None = None
    result: str | None = Field(None, max_length=16)
    note: str | None = Field(None, max_length=NOTE_MAX)


def unpaired_pressure(sbp_given: bool, dbp_given: bool) -> str | None:
    """The field missing of a blood pressure given by half (its two values are measured together), or None."""
    if sbp_given == dbp_given:
        return None
    return "dbp" if sbp_given else "sbp"


def _detail(error: Mapping[str, Any]) -> InitErrorDetails:
    return {"type": PydanticCustomError(str(error["type"]), str(error["msg"]), error.get("ctx")),
            "loc": tuple(error["loc"]), "input": error.get("input")}


class HealthCheckCreate(_Measures):
    """A health check (健康体检); `annual_65` is the yearly check of residents aged 65 and over."""

    resident_id: Id64
    facility_id: Id64 | None = None
    date: RecordDate
    kind: Annotated[HealthCheckKind, BeforeValidator(
        _code_of(HEALTH_CHECK_KINDS, _E + "health_check_kind_unknown"))] = "general"
    note: str | None = Field(None, max_length=NOTE_MAX)

    @model_validator(mode="wrap")
    @classmethod
    def _pair_beside_bad_values(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        """The blood pressure's pair is the service's check, beside those that need the resident; but when
        other values are refused already, it is named with them here, so that the form shows every
        problem at once (as it always did). A value refused only for its range still counts as given."""
        try:
            return handler(data)
        except ValidationError as exc:
            errors = exc.errors()
            if not isinstance(data, Mapping):
                raise
            failed = {e["loc"][0] for e in errors if e["loc"] and e["type"] != OUT_OF_RANGE}
            given = {k: not _absent(data.get(k)) and k not in failed for k in ("sbp", "dbp")}
            missing = unpaired_pressure(given["sbp"], given["dbp"])
            if missing is None or missing in failed:
                raise
            raise ValidationError.from_exception_data(exc.title, [
                *map(_detail, errors),
                {"type": refuse(BLOOD_PRESSURE_PAIR), "loc": (missing,), "input": None}]) from None


def _absent(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class ScreeningCreate(Command):
    """A screening: cervical or breast cancer (两癌筛查) or prenatal (产前筛查), women only; the result's
    fit to the kind is checked by the service (beside the resident's sex)."""

    resident_id: Id64
    facility_id: Id64 | None = None
    date: RecordDate
    kind: Annotated[ScreeningKind, BeforeValidator(_code_of(SCREENING_KINDS, _E + "screening_kind_unknown"))]
    result: str  # negative | abnormal | positive; prenatal: low_risk | high_risk
    note: str | None = Field(None, max_length=NOTE_MAX)


# --- output -------------------------------------------------------------------------------------
class DiagnosisOut(BaseModel):
    seq: int
    code: str
    name: str


class EncounterOut(BaseModel):
    id: int
    resident_id: int
    type: str
    facility_id: int | None
    outside_facility_name: str | None
    department: str | None
    clinician_name: str | None
    start_date: date
    end_date: date | None
    ward_days: int | None
    primary_diagnosis: str | None
    diagnoses: list[DiagnosisOut]
    note: str | None
    total_cost: Decimal
    in_policy_cost: Decimal
    created_at: datetime
    voided_at: datetime | None = None
    void_reason: str | None = None
    corrected_at: datetime | None = None
    correction_reason: str | None = None
    # On a new encounter: its notifiable diagnoses, each with the link to a case report (传染病报告卡) prefilled.
    case_report_prompts: list[dict[str, Any]] = []

    @classmethod
    def of(cls, e: Encounter, locale: str | None = None) -> EncounterOut:
        diagnoses = []
        for d in e.diagnoses:
            entry = icd10.get(d.code)
            diagnoses.append(DiagnosisOut(seq=d.seq, code=d.code, name=entry.name(locale) if entry else d.code))
        return cls(id=e.id, resident_id=e.resident_id, type=e.type, facility_id=e.facility_id,
                   outside_facility_name=e.outside_facility_name, department=e.department,
                   clinician_name=e.clinician_name, start_date=e.start_date, end_date=e.end_date,
                   ward_days=e.ward_days, primary_diagnosis=e.primary_diagnosis, diagnoses=diagnoses, note=e.note,
                   total_cost=e.total_cost, in_policy_cost=e.in_policy_cost, created_at=e.created_at,
                   voided_at=e.voided_at, void_reason=e.void_reason, corrected_at=e.corrected_at,
                   correction_reason=e.correction_reason)


class HealthCheckOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    resident_id: int
    facility_id: int | None
    date: date
    kind: str
    height_cm: Decimal | None
    weight_kg: Decimal | None
    bmi: Decimal | None
    sbp: int | None
    dbp: int | None
    fasting_glucose: Decimal | None
    note: str | None
    created_at: datetime
    voided_at: datetime | None = None
    void_reason: str | None = None
    corrected_at: datetime | None = None
    correction_reason: str | None = None

    @classmethod
    def of(cls, c: HealthCheck) -> HealthCheckOut:
        return cls.model_validate(c)


class ScreeningOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    resident_id: int
    facility_id: int | None
    date: date
    kind: str
    result: str
    note: str | None
    created_at: datetime
    voided_at: datetime | None = None
    void_reason: str | None = None
    corrected_at: datetime | None = None
    correction_reason: str | None = None

    @classmethod
    def of(cls, s: Screening) -> ScreeningOut:
        return cls.model_validate(s)


class TimelineItemOut(BaseModel):
    date: date
    kind: str
    summary: str
    link: str | None
    facility_id: int | None
    facility_name: str | None
    entity_id: int | None
    data: dict[str, Any]


class TimelineOut(BaseModel):
    resident_id: int
    items: list[TimelineItemOut]
    page: int
    page_size: int
    has_next: bool
    basis: str


class Icd10Out(BaseModel):
    code: str
    name: str
    name_zh: str
    name_en: str
    chapter: str
    chronic: str | None

    @classmethod
    def of(cls, e: icd10.Icd10Code, locale: str | None = None) -> Icd10Out:
        return cls(code=e.code, name=e.name(locale), name_zh=e.name_zh, name_en=e.name_en, chapter=e.chapter,
                   chronic=e.chronic)


class FigureChildOut(BaseModel):
    figure: str
    orgunit: str
    period: str
    numerator: int
    denominator: int
    value: float | None


class FigureOut(FigureChildOut):
    children: list[FigureChildOut]
