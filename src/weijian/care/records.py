"""The health record's own entries: encounters (outpatient visit, inpatient stay with its discharge, day
surgery), health checks and screenings; and the resident's timeline, one list newest first of these and of
whatever other care areas add (follow-ups, referrals, consultation opinions): each declares its
`TimelineSource`, and the composition root (weijian.wiring) adds them with `add_timeline_source`.

Who may write here (decided for the care domain):
- the `care:write` permission, and the resident inside the actor's org-unit scope (the residents rules), or
  received by the actor's facility on an open referral or consultation (referrals.access_basis_for);
- at the actor's own facility (Actor.facility_id, the default when none is given). A user scoped to the whole
  county, and the system, may name any facility inside their scope, and only they may record an encounter
  outside the county (no facility_id, `outside_facility_name` given): such stays reach the county through
  insurance settlement and discharge letters, not through a village or township desk.
Every write and every read is audited with its basis, in the caller's transaction.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select, union
from sqlalchemy.orm import Session, selectinload

from weijian.accounts import service as accounts_service
from weijian.care import icd10
from weijian.care.models import Diagnosis, Encounter, HealthCheck, Screening
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.bounds import MAX_ID
from weijian.core.errors import ErrorCollector, InvalidInput, InvalidState, NotFound
from weijian.core.hooks import Hook, NotWired
from weijian.core.i18n import Translator
from weijian.core.identifiers import division_level
from weijian.core.values import parse_date
from weijian.orgunits import service as orgunits_service
from weijian.residents import access

# Read for the scope checks and the figures' joins only (village, sex, birth date); the residents service
# offers no look-up that does not itself log a read of the resident, and these checks are not reads.

ENCOUNTER_TYPES = ("outpatient", "inpatient", "day_surgery")
HEALTH_CHECK_KINDS = ("general", "annual_65")
SCREENING_RESULTS = {"cervical": ("negative", "abnormal", "positive"),
                     "breast": ("negative", "abnormal", "positive"),
                     "prenatal": ("low_risk", "high_risk")}
SCREENING_KINDS = tuple(SCREENING_RESULTS)
ANNUAL_CHECK_AGE = 65
MAX_DIAGNOSES = 20
MAX_MONEY = Decimal("9999999999.99")  # Numeric(12, 2)
FEN = Decimal("0.01")
TENTH = Decimal("0.1")
NOTE_MAX = 500
# (field, lowest, highest) of the health-check measurements: beyond these a value is a typing error.
MEASURE_RANGES = {
    "height_cm": (Decimal("30"), Decimal("250")),
    "weight_kg": (Decimal("1"), Decimal("300")),
    "sbp": (50, 300),
    "dbp": (30, 200),
    "fasting_glucose": (Decimal("1.0"), Decimal("35.0")),
}
MAX_PAGE_SIZE = 200


def age_on(birth_date: date, day: date) -> int:
    """Whole years completed on `day` (周岁)."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def is_county_level(actor: Actor) -> bool:
    """The system, or a user whose scope is a whole county: may record at any facility of the scope."""
    return actor.scope_code is None or division_level(actor.scope_code) == "county"


# --- value parsing (forms send strings, the API sends typed values) ---------------------------------
def _text(values: dict[str, Any], name: str, errs: ErrorCollector, max_length: int) -> str | None:
    text = str(values.get(name) or "").strip()
    if len(text) > max_length:
        errs.add(name, "core.errors.validation.string_too_long", max_length=max_length)
        return None
    return text or None


def _date(values: dict[str, Any], name: str, errs: ErrorCollector, *, required: bool) -> date | None:
    raw = values.get(name)
    if isinstance(raw, datetime):
        return raw.date()
    return parse_date(raw, name, errs, required=required)


def _decimal(values: dict[str, Any], name: str, errs: ErrorCollector) -> Decimal | None:
    raw = values.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        errs.add(name, "core.errors.validation.decimal_parsing")
        return None
    try:
        value = Decimal(str(raw).strip().replace(",", ""))
    except InvalidOperation:
        errs.add(name, "core.errors.validation.decimal_parsing")
        return None
    if not value.is_finite():
        errs.add(name, "core.errors.validation.decimal_parsing")
        return None
    return value


def _int(values: dict[str, Any], name: str, errs: ErrorCollector) -> int | None:
    raw = values.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        errs.add(name, "core.errors.validation.int_parsing")
        return None
    if isinstance(raw, int):
        return raw
    try:
        value = int(str(raw).strip())
    except ValueError:
        errs.add(name, "core.errors.validation.int_parsing")
        return None
    if abs(value) > MAX_ID:  # past the id columns (32 bits on PostgreSQL)
        errs.add(name, "core.errors.validation.less_than_equal", le=str(MAX_ID))
        return None
    return value


def _money(values: dict[str, Any], name: str, errs: ErrorCollector) -> Decimal:
    value = _decimal(values, name, errs)
    if value is None:
        return Decimal("0.00")
    if value < 0:
        errs.add(name, "care.records.errors.money_negative")
    elif value > MAX_MONEY:
        errs.add(name, "core.errors.validation.less_than_equal", le=str(MAX_MONEY))
    elif value != value.quantize(FEN):
        errs.add(name, "care.records.errors.money_fen")
    # quantize() raises past Decimal's 28 digits: an amount refused above is not rounded.
    return value.quantize(FEN, rounding=ROUND_HALF_UP) if 0 <= value <= MAX_MONEY else Decimal("0.00")


def _not_future(day: date | None, name: str, today: date, errs: ErrorCollector) -> None:
    if day is not None and day > today:
        errs.add(name, "care.records.errors.date_future", today=today.isoformat())


def _in_range(value: Any, name: str, errs: ErrorCollector) -> bool:
    low, high = MEASURE_RANGES[name]
    if value is not None and not (low <= value <= high):
        errs.add(name, "care.records.errors.out_of_range", low=str(low), high=str(high))
        return False
    return value is not None


# --- access -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ResidentFacts:
    """What the care rules need of a resident, and why the actor may see them."""

    id: int
    name: str
    sex: str
    birth_date: date
    village_code: str
    status: str
    basis: str


def _resident(session: Session, actor: Actor, resident_id: Any) -> ResidentFacts:
    """The resident if the actor may see their health record (scope first, then a received referral or
    consultation: residents.access); NotFound otherwise, exactly as for a missing id."""
    try:
        rid = int(resident_id)
    except (TypeError, ValueError):
        raise InvalidInput("resident_id", "core.errors.validation.int_parsing") from None
    row, basis = access.resident_in_scope(session=session, actor=actor, resident_id=rid, shared=True)
    return ResidentFacts(row.id, row.name, row.sex, row.birth_date, row.village_code, row.status, basis)


def resident_for_care(*, session: Session, resident_id: Any, actor: Actor, write: bool = False) -> ResidentFacts:
    """The resident a care form is about (name, sex, age), if the actor may read (or write) their health
    record; logged as a read of the resident."""
    actor.require("care:write" if write else "care:read")
    facts = _resident(session, actor, resident_id)
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="resident",
                           entity_id=facts.id, resident_id=facts.id, basis=facts.basis)
    return facts


def _writable_resident(session: Session, actor: Actor, resident_id: Any) -> ResidentFacts:
    actor.require("care:write")
    if resident_id is None or str(resident_id).strip() == "":
        raise InvalidInput("resident_id", "core.errors.validation.missing")
    facts = _resident(session, actor, resident_id)
    if facts.status == "merged":
        raise InvalidState("care.records.errors.resident_merged")
    return facts


@dataclass
class Place:
    facility: Any  # orgunits' Facility, or None outside the county
    outside_name: str | None


def _place(session: Session, actor: Actor, values: dict[str, Any], errs: ErrorCollector, *,
           outside_allowed: bool) -> Place:
    """Where the care was given: the actor's own facility unless a county-level actor names another (or,
    for encounters, a facility outside the county)."""
    facility_id = _int(values, "facility_id", errs)
    outside = _text(values, "outside_facility_name", errs, 100) if outside_allowed else None
    county = is_county_level(actor)
    if facility_id is None and outside:
        if not county:
            errs.add("outside_facility_name", "care.records.errors.outside_county_level_only")
        return Place(None, outside)
    if facility_id is None and "facility_id" not in {e.field for e in errs.errors}:
        facility_id = actor.facility_id
        if facility_id is None:
            errs.add("facility_id", "care.records.errors.facility_required")
            return Place(None, None)
    if facility_id is None:
        return Place(None, None)
    facility = orgunits_service.get_facility(session=session, facility_id=facility_id)
    if facility is None:
        errs.add("facility_id", "care.records.errors.facility_unknown", facility_id=facility_id)
        return Place(None, None)
    if county:
        if not orgunits_service.in_scope(scope_code=actor.scope_code, code=facility.orgunit_code):
            errs.add("facility_id", "care.records.errors.facility_out_of_scope", facility=facility.name)
    elif facility.id != actor.facility_id:
        errs.add("facility_id", "care.records.errors.facility_not_own", facility=facility.name)
    if outside:
        errs.add("outside_facility_name", "care.records.errors.outside_with_facility")
    return Place(facility, None)


def _clinician_name(session: Session, actor: Actor, values: dict[str, Any], errs: ErrorCollector) -> str | None:
    name = _text(values, "clinician_name", errs, 64)
    if name:
        return name
    user = accounts_service.get(session=session, user_id=actor.user_id) if actor.user_id is not None else None
    return user.full_name if user is not None else actor.username


# --- encounters -------------------------------------------------------------------------------------
def _diagnoses(raw: Any, errs: ErrorCollector) -> list[str]:
    """Listed codes of `raw` (a list, or one comma-separated string), primary first; errors name the
    position: diagnoses[1] is the second code."""
    if isinstance(raw, str):
        raw = [p for p in raw.replace("，", ",").split(",")]
    items = [str(c or "").strip() for c in (raw or [])]
    items = [c for c in items if c]
    if not items:
        errs.add("diagnoses", "care.records.errors.diagnosis_required")
        return []
    if len(items) > MAX_DIAGNOSES:
        errs.add("diagnoses", "care.records.errors.too_many_diagnoses", max=MAX_DIAGNOSES)
        return []
    codes: list[str] = []
    for i, text in enumerate(items):
        name = f"diagnoses[{i}]"
        try:
            entry = icd10.require(text, field=name)
        except InvalidInput as exc:
            errs.extend(exc)
            continue
        if entry.code in codes:
            errs.add(name, "care.records.errors.diagnosis_duplicate", code=entry.code)
            continue
        codes.append(entry.code)
    return codes


def create_encounter(*, session: Session, values: dict[str, Any], actor: Actor,
                     today: date | None = None) -> Encounter:
    """Record an outpatient visit, an inpatient admission (or a whole stay, when `end_date` is given) or a
    day surgery. Keys: resident_id, type, facility_id | outside_facility_name, department, clinician_name,
    start_date, end_date, diagnoses (ICD-10, first = primary), note, total_cost, in_policy_cost.

    A diagnosis that belongs to a chronic-disease programme registers the patient for it (the chronic area
    does nothing when they are already registered)."""
    today = today or clock.today()
    resident = _writable_resident(session, actor, values.get("resident_id"))
    errs = ErrorCollector()
    kind = str(values.get("type") or "").strip()
    if not kind:
        errs.add("type", "core.errors.validation.missing")
    elif kind not in ENCOUNTER_TYPES:
        errs.add("type", "care.records.errors.encounter_type_unknown", value=kind)
    place = _place(session, actor, values, errs, outside_allowed=True)
    department = _text(values, "department", errs, 50)
    clinician = _clinician_name(session, actor, values, errs)
    start = _date(values, "start_date", errs, required=True)
    end = _date(values, "end_date", errs, required=False)
    _not_future(start, "start_date", today, errs)
    if start is not None and start < resident.birth_date:
        errs.add("start_date", "care.records.errors.before_birth", birth_date=resident.birth_date.isoformat())
    if kind == "outpatient":
        end = None  # a visit has one date
    elif kind == "day_surgery" and start is not None:
        end = end or start
        if end > start + timedelta(days=1):
            errs.add("end_date", "care.records.errors.day_surgery_too_long")
    if start is not None and end is not None and end < start:
        errs.add("end_date", "care.records.errors.discharge_before_admission", start_date=start.isoformat())
    _not_future(end, "end_date", today, errs)
    codes = _diagnoses(values.get("diagnoses"), errs)
    note = _text(values, "note", errs, NOTE_MAX)
    total = _money(values, "total_cost", errs)
    in_policy = _money(values, "in_policy_cost", errs)
    if not {"total_cost", "in_policy_cost"} & {e.field for e in errs.errors} and in_policy > total:
        errs.add("in_policy_cost", "care.records.errors.in_policy_exceeds_total")
    errs.raise_if_any()

    encounter = Encounter(
        resident_id=resident.id, facility_id=place.facility.id if place.facility else None,
        outside_facility_name=place.outside_name, type=kind, department=department,
        clinician_id=actor.user_id, clinician_name=clinician, start_date=start, end_date=end,
        primary_diagnosis=codes[0], note=note, total_cost=total, in_policy_cost=in_policy,
        created_by=actor.username,
        diagnoses=[Diagnosis(seq=i, code=code) for i, code in enumerate(codes, start=1)],
    )
    session.add(encounter)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="encounter",
                           entity_id=encounter.id, resident_id=resident.id, basis=resident.basis,
                           detail={"type": kind, "facility_id": encounter.facility_id})
    _register_chronic(session, actor, encounter, codes)
    if kind != "outpatient" and end is not None:  # a stay recorded whole: its discharge is saved now
        _run_discharge_hooks(session, actor, encounter)
    return encounter


def _register_chronic(session: Session, actor: Actor, encounter: Encounter, codes: list[str]) -> None:
    programs = list(dict.fromkeys(p for p in (icd10.chronic_program(c) for c in codes) if p))
    if not programs:
        return
    for program in programs:
        chronic_from_diagnosis(session=session, resident_id=encounter.resident_id, program=program,
                               on=encounter.start_date, encounter_id=encounter.id, facility_id=encounter.facility_id,
                               actor=actor)


# register_from_diagnosis(session=, resident_id=, program=, on=, encounter_id=, facility_id=, actor=): put
# the patient on the chronic program a diagnosis names (chronic.register_from_diagnosis, provided by the root).
chronic_from_diagnosis: Hook[Callable[..., Any]] = Hook("care.records.chronic_from_diagnosis")


def _encounter_in_scope(session: Session, actor: Actor, encounter_id: int) -> tuple[Encounter, ResidentFacts]:
    encounter = session.scalar(select(Encounter).where(Encounter.id == encounter_id)
                               .options(selectinload(Encounter.diagnoses)))
    if encounter is None:
        raise NotFound("care.records.errors.encounter_not_found", encounter_id=encounter_id)
    try:
        resident = _resident(session, actor, encounter.resident_id)
    except NotFound:
        # Outside the scope the encounter does not exist for the actor, as a resident does not.
        raise NotFound("care.records.errors.encounter_not_found", encounter_id=encounter_id) from None
    return encounter, resident


def get_encounter(*, session: Session, encounter_id: int, actor: Actor) -> Encounter:
    """One encounter with its diagnoses, logged as a read of the resident's record."""
    actor.require("care:read")
    encounter, resident = _encounter_in_scope(session, actor, encounter_id)
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="encounter",
                           entity_id=encounter.id, resident_id=resident.id, basis=resident.basis)
    return encounter


def list_encounters(*, session: Session, resident_id: int, actor: Actor, type: str | None = None,
                    limit: int = 100) -> list[Encounter]:
    """A resident's encounters, newest first (at most `limit`), logged as one read."""
    actor.require("care:read")
    if type is not None and type not in ENCOUNTER_TYPES:
        raise InvalidInput("type", "care.records.errors.encounter_type_unknown", value=type)
    resident = _resident(session, actor, resident_id)
    stmt = (select(Encounter).where(Encounter.resident_id == resident.id)
            .order_by(Encounter.start_date.desc(), Encounter.id.desc()).limit(max(1, min(limit, 500)))
            .options(selectinload(Encounter.diagnoses)))
    if type is not None:
        stmt = stmt.where(Encounter.type == type)
    items = list(session.scalars(stmt))
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="encounter",
                           resident_id=resident.id, basis=resident.basis,
                           detail={"type": type, "count": len(items)})
    return items


def discharge(*, session: Session, encounter_id: int, end_date: Any, actor: Actor,
              total_cost: Any = None, in_policy_cost: Any = None, note: Any = None,
              today: date | None = None) -> Encounter:
    """Close an inpatient stay on `end_date` (not before the admission, not in the future), with the final
    costs when given; the rules of writing apply as for recording it."""
    today = today or clock.today()
    actor.require("care:write")
    encounter, resident = _encounter_in_scope(session, actor, encounter_id)
    if encounter.type != "inpatient":
        raise InvalidState("care.records.errors.discharge_not_inpatient")
    if encounter.end_date is not None:
        raise InvalidState("care.records.errors.already_discharged", end_date=encounter.end_date.isoformat())
    errs = ErrorCollector()
    if encounter.facility_id is None:
        if not is_county_level(actor):
            errs.add("facility_id", "care.records.errors.outside_county_level_only")
    else:
        _place(session, actor, {"facility_id": encounter.facility_id}, errs, outside_allowed=False)
    values = {"end_date": end_date, "total_cost": total_cost, "in_policy_cost": in_policy_cost, "note": note}
    end = _date(values, "end_date", errs, required=True)
    if end is not None and end < encounter.start_date:
        errs.add("end_date", "care.records.errors.discharge_before_admission",
                 start_date=encounter.start_date.isoformat())
    _not_future(end, "end_date", today, errs)
    total = _money(values, "total_cost", errs) if _given(total_cost) else encounter.total_cost
    in_policy = _money(values, "in_policy_cost", errs) if _given(in_policy_cost) else encounter.in_policy_cost
    if not {"total_cost", "in_policy_cost"} & {e.field for e in errs.errors} and in_policy > total:
        errs.add("in_policy_cost", "care.records.errors.in_policy_exceeds_total")
    text = _text(values, "note", errs, NOTE_MAX)
    errs.raise_if_any()
    encounter.end_date = end
    encounter.total_cost, encounter.in_policy_cost = total, in_policy
    if text:
        encounter.note = text
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="discharge", entity_type="encounter",
                           entity_id=encounter.id, resident_id=resident.id, basis=resident.basis,
                           detail={"end_date": end.isoformat(), "ward_days": encounter.ward_days})
    _run_discharge_hooks(session, actor, encounter)
    return encounter


# --- what other domains do at discharge -------------------------------------------------------------
# hook(session=, encounter=, actor=): runs after a stay is discharged, in the discharge's transaction
# (settlement settles the stay's bill). Care does not import those domains: the composition root
# (weijian.wiring) registers their hooks at start, and a discharge before that fails (NotWired).
DischargeHook = Callable[..., Any]
_DISCHARGE_HOOKS: dict[str, DischargeHook] = {}


def register_discharge_hook(name: str, hook: DischargeHook) -> None:
    """Run `hook` after every discharge (registering a name again replaces it)."""
    _DISCHARGE_HOOKS[name] = hook


def discharge_hooks() -> dict[str, DischargeHook]:
    """The hooks registered, by name."""
    return dict(_DISCHARGE_HOOKS)


def _run_discharge_hooks(session: Session, actor: Actor, encounter: Encounter) -> None:
    if not _DISCHARGE_HOOKS:
        raise NotWired("care.records: no discharge hook registered (settlement): weijian.wiring.wire() was not called")
    for hook in list(_DISCHARGE_HOOKS.values()):
        hook(session=session, encounter=encounter, actor=actor)


def _given(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


# --- health checks and screenings -------------------------------------------------------------------
def bmi(height_cm: Decimal | None, weight_kg: Decimal | None) -> Decimal | None:
    """Body-mass index, kg/m², to one decimal (half up); None without both measurements."""
    if height_cm is None or weight_kg is None or height_cm <= 0:
        return None
    metres = Decimal(height_cm) / 100
    return (Decimal(weight_kg) / (metres * metres)).quantize(TENTH, rounding=ROUND_HALF_UP)


def create_health_check(*, session: Session, values: dict[str, Any], actor: Actor,
                        today: date | None = None) -> HealthCheck:
    """Record a health check (健康体检). Keys: resident_id, facility_id, date, kind (general | annual_65, the
    yearly check of residents aged 65 and over), height_cm, weight_kg, sbp, dbp, fasting_glucose, note.
    BMI is computed from height and weight; at least one measurement is required."""
    today = today or clock.today()
    resident = _writable_resident(session, actor, values.get("resident_id"))
    errs = ErrorCollector()
    place = _place(session, actor, values, errs, outside_allowed=False)
    day = _date(values, "date", errs, required=True)
    _not_future(day, "date", today, errs)
    if day is not None and day < resident.birth_date:
        errs.add("date", "care.records.errors.before_birth", birth_date=resident.birth_date.isoformat())
    kind = str(values.get("kind") or "general").strip()
    if kind not in HEALTH_CHECK_KINDS:
        errs.add("kind", "care.records.errors.health_check_kind_unknown", value=kind)
    elif kind == "annual_65" and day is not None and age_on(resident.birth_date, day) < ANNUAL_CHECK_AGE:
        errs.add("kind", "care.records.errors.annual_65_too_young", age=age_on(resident.birth_date, day),
                 min_age=ANNUAL_CHECK_AGE)
    measures: dict[str, Any] = {}
    for name in ("height_cm", "weight_kg", "fasting_glucose"):
        value = _decimal(values, name, errs)
        # quantize() raises past Decimal's 28 digits: a value out of range is not rounded.
        measures[name] = value.quantize(TENTH, rounding=ROUND_HALF_UP) if _in_range(value, name, errs) else None
    for name in ("sbp", "dbp"):
        measures[name] = _int(values, name, errs)
        _in_range(measures[name], name, errs)
    if (measures["sbp"] is None) != (measures["dbp"] is None):
        missing = "dbp" if measures["dbp"] is None else "sbp"
        if missing not in {e.field for e in errs.errors}:
            errs.add(missing, "care.records.errors.blood_pressure_pair")
    elif measures["sbp"] is not None and measures["sbp"] <= measures["dbp"]:
        errs.add("dbp", "care.records.errors.dbp_not_below_sbp")
    bad = {e.field for e in errs.errors}
    if all(v is None for v in measures.values()) and not bad & set(measures):
        errs.add("height_cm", "care.records.errors.no_measurement")
    note = _text(values, "note", errs, NOTE_MAX)
    errs.raise_if_any()
    check = HealthCheck(
        resident_id=resident.id, facility_id=place.facility.id if place.facility else None, date=day, kind=kind,
        bmi=bmi(measures["height_cm"], measures["weight_kg"]), note=note, created_by=actor.username, **measures)
    session.add(check)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="health_check",
                           entity_id=check.id, resident_id=resident.id, basis=resident.basis,
                           detail={"kind": kind, "facility_id": check.facility_id})
    return check


def create_screening(*, session: Session, values: dict[str, Any], actor: Actor,
                     today: date | None = None) -> Screening:
    """Record a screening: cervical or breast cancer (两癌筛查) or prenatal (产前筛查), women only. Keys:
    resident_id, facility_id, date, kind, result (negative | abnormal | positive; prenatal: low_risk |
    high_risk), note."""
    today = today or clock.today()
    resident = _writable_resident(session, actor, values.get("resident_id"))
    errs = ErrorCollector()
    place = _place(session, actor, values, errs, outside_allowed=False)
    day = _date(values, "date", errs, required=True)
    _not_future(day, "date", today, errs)
    if day is not None and day < resident.birth_date:
        errs.add("date", "care.records.errors.before_birth", birth_date=resident.birth_date.isoformat())
    kind = str(values.get("kind") or "").strip()
    result = str(values.get("result") or "").strip()
    if not kind:
        errs.add("kind", "core.errors.validation.missing")
    elif kind not in SCREENING_RESULTS:
        errs.add("kind", "care.records.errors.screening_kind_unknown", value=kind)
    else:
        if resident.sex != "female":
            errs.add("kind", "care.records.errors.screening_women_only", kind=f"@care.records.screening.{kind}")
        if not result:
            errs.add("result", "core.errors.validation.missing")
        elif result not in SCREENING_RESULTS[kind]:
            errs.add("result", "care.records.errors.screening_result_unknown", value=result,
                     kind=f"@care.records.screening.{kind}")
    note = _text(values, "note", errs, NOTE_MAX)
    errs.raise_if_any()
    screening = Screening(resident_id=resident.id, facility_id=place.facility.id if place.facility else None,
                          date=day, kind=kind, result=result, note=note, created_by=actor.username)
    session.add(screening)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="screening",
                           entity_id=screening.id, resident_id=resident.id, basis=resident.basis,
                           detail={"kind": kind, "facility_id": screening.facility_id})
    return screening


def _read_one(session: Session, actor: Actor, model: type[Any], entity_type: str, entity_id: int,
              not_found: str) -> Any:
    actor.require("care:read")
    row: Any = session.get(model, entity_id)
    if row is None:
        raise NotFound(not_found, id=entity_id)
    try:
        resident = _resident(session, actor, row.resident_id)
    except NotFound:
        raise NotFound(not_found, id=entity_id) from None
    accounts_service.audit(session=session, actor=actor, action="read", entity_type=entity_type,
                           entity_id=row.id, resident_id=resident.id, basis=resident.basis)
    return row


def get_health_check(*, session: Session, health_check_id: int, actor: Actor) -> HealthCheck:
    return _read_one(session, actor, HealthCheck, "health_check", health_check_id,
                     "care.records.errors.health_check_not_found")


def get_screening(*, session: Session, screening_id: int, actor: Actor) -> Screening:
    return _read_one(session, actor, Screening, "screening", screening_id, "care.records.errors.screening_not_found")


# --- timeline ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TimelineItem:
    """One row of a resident's timeline. `summary` is already in the reader's language; `data` holds the
    row's values for the API (JSON-serializable)."""

    date: date
    kind: str  # a registered kind; its label is care.timeline.kinds.<kind> in the area's catalog
    summary: str
    link: str | None = None
    facility_id: int | None = None
    facility_name: str | None = None
    entity_id: int | None = None
    at: datetime | None = None  # orders rows of one day (created_at)
    data: dict[str, Any] = field(default_factory=dict)


# fetch(session=, resident_id=, kinds=frozenset of its own kinds asked for, facility_id=None | id,
#       limit=n, tr=Translator) -> at most `limit` TimelineItems of those kinds, newest first. It reads
# without auditing and without checking access: `timeline` has done both for the resident.
TimelineFetch = Callable[..., list[TimelineItem]]


@dataclass(frozen=True)
class TimelineSource:
    name: str
    kinds: tuple[str, ...]
    fetch: TimelineFetch
    label_keys: dict[str, str]  # kind → i18n key of its label


_SOURCES: dict[str, TimelineSource] = {}
# Names a filter may use for several kinds at once.
KIND_GROUPS = {"encounter": ENCOUNTER_TYPES}


def timeline_source(name: str, kinds: Iterable[str], fetch: TimelineFetch,
                    label_keys: dict[str, str] | None = None) -> TimelineSource:
    """A source of timeline rows, declared by the area that owns them. `kinds` are the values of
    TimelineItem.kind it returns; `label_keys` maps each to the i18n key of its label (default
    care.timeline.kinds.<kind>)."""
    kinds = tuple(kinds)
    labels = {k: (label_keys or {}).get(k, f"care.timeline.kinds.{k}") for k in kinds}
    return TimelineSource(name, kinds, fetch, labels)


def add_timeline_source(source: TimelineSource) -> None:
    """Add a source to the timeline (the composition root does, at start). Adding a name again replaces
    it; a kind another source already shows is refused."""
    taken = {k: s.name for s in _SOURCES.values() if s.name != source.name for k in s.kinds}
    clash = [k for k in source.kinds if k in taken or k in KIND_GROUPS]
    if clash:
        raise ValueError(f"timeline kinds already registered: {clash}")
    _SOURCES[source.name] = source


def register_timeline_source(name: str, kinds: Iterable[str], fetch: TimelineFetch,
                             label_keys: dict[str, str] | None = None) -> None:
    """`add_timeline_source(timeline_source(...))`."""
    add_timeline_source(timeline_source(name, kinds, fetch, label_keys))


def timeline_sources() -> dict[str, TimelineSource]:
    """The sources added, by name, in the order added."""
    return dict(_SOURCES)


def timeline_kinds() -> list[tuple[str, str]]:
    """(kind, label key) of every kind the timeline can show, in registration order."""
    if not _SOURCES:
        raise NotWired("care.records: no timeline source added: weijian.wiring.wire() was not called")
    return [(k, s.label_keys[k]) for s in _SOURCES.values() for k in s.kinds]


@dataclass
class TimelinePage:
    items: list[TimelineItem]
    page: int
    page_size: int
    has_next: bool
    basis: str
    facilities: list[tuple[int, str]]  # the facilities the resident's record names, for the filter
    kinds: list[tuple[str, str]]


def _expand_types(types: Iterable[str] | str | None) -> frozenset[str] | None:
    if types is None:
        return None
    if isinstance(types, str):
        types = [t for t in types.split(",")]
    asked = [t.strip() for t in types if t and t.strip()]
    if not asked:
        return None
    known = {k for k, _ in timeline_kinds()}
    out: set[str] = set()
    for t in asked:
        if t in KIND_GROUPS:
            out.update(KIND_GROUPS[t])
        elif t in known:
            out.add(t)
        else:
            raise InvalidInput("types", "care.records.errors.timeline_type_unknown", value=t)
    return frozenset(out)


def timeline(*, session: Session, resident_id: int, actor: Actor, types: Iterable[str] | str | None = None,
             facility_id: int | None = None, page: int = 1, page_size: int = 50,
             locale: str | None = None) -> TimelinePage:
    """The resident's health record as one list, newest first: encounters, health checks, screenings and
    the rows other care areas register, filtered by kind (`types`: kinds, or "encounter" for all three
    encounter types) and facility. Logged as one read of the record, with its basis (the actor's scope, or
    "referral" / "teleconsultation" when the actor's facility receives one for this resident)."""
    actor.require("care:read")
    page = max(1, int(page or 1))
    page_size = max(1, min(MAX_PAGE_SIZE, int(page_size or 50)))
    wanted = _expand_types(types)
    resident = _resident(session, actor, resident_id)
    tr = Translator(locale or "zh_CN")
    limit = page * page_size + 1
    rows: list[TimelineItem] = []
    for source in list(_SOURCES.values()):
        kinds = frozenset(source.kinds) if wanted is None else frozenset(source.kinds) & wanted
        if kinds:
            rows.extend(source.fetch(session=session, resident_id=resident.id, kinds=kinds,
                                     facility_id=facility_id, limit=limit, tr=tr))
    rows.sort(key=lambda r: (r.date, r.at or datetime.min.replace(tzinfo=UTC), r.entity_id or 0),
              reverse=True)
    start = (page - 1) * page_size
    items = rows[start:start + page_size]
    facilities = _record_facilities(session, resident.id, items)
    names = dict(facilities)
    items = [i if i.facility_name or i.facility_id is None else replace(i, facility_name=names.get(i.facility_id))
             for i in items]
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="health_record",
                           entity_id=resident.id, resident_id=resident.id, basis=resident.basis,
                           detail={"types": sorted(wanted) if wanted else None, "facility_id": facility_id,
                                   "page": page})
    return TimelinePage(items=items, page=page, page_size=page_size, has_next=len(rows) > start + page_size,
                        basis=resident.basis, facilities=facilities, kinds=timeline_kinds())


def _record_facilities(session: Session, resident_id: int, items: list[TimelineItem]) -> list[tuple[int, str]]:
    ids = set(session.scalars(union(*(
        select(m.facility_id).where(m.resident_id == resident_id, m.facility_id.is_not(None))
        for m in (Encounter, HealthCheck, Screening)))))
    ids.update(i.facility_id for i in items if i.facility_id is not None)
    # A resident's record names a handful of facilities; each is one primary-key look-up.
    found = [orgunits_service.get_facility(session=session, facility_id=i) for i in ids]
    return [(f.id, f.name) for f in sorted((f for f in found if f is not None), key=lambda f: f.code)]


def _diagnosis_text(code: str | None, tr: Translator) -> str:
    entry = icd10.get(code)
    return f"{code} {entry.name(tr.locale)}" if entry else (code or "")


def _encounter_rows(*, session: Session, resident_id: int, kinds: frozenset[str], facility_id: int | None,
                    limit: int, tr: Translator) -> list[TimelineItem]:
    stmt = (select(Encounter).where(Encounter.resident_id == resident_id, Encounter.type.in_(sorted(kinds)))
            .order_by(Encounter.start_date.desc(), Encounter.created_at.desc(), Encounter.id.desc()).limit(limit)
            .options(selectinload(Encounter.diagnoses)))
    if facility_id is not None:
        stmt = stmt.where(Encounter.facility_id == facility_id)
    out = []
    for e in session.scalars(stmt):
        codes = [d.code for d in e.diagnoses]
        parts = [_diagnosis_text(e.primary_diagnosis, tr)]
        if len(codes) > 1:
            parts.append(tr("care.records.timeline.more_diagnoses", n=len(codes) - 1))
        if e.department:
            parts.append(e.department)
        if e.type == "inpatient":
            parts.append(tr("care.records.timeline.ward_days", days=e.ward_days) if e.end_date
                         else tr("care.records.timeline.admitted"))
        if e.clinician_name:
            parts.append(e.clinician_name)
        out.append(TimelineItem(
            date=e.start_date, kind=e.type, summary=" · ".join(parts), link=f"/care/encounters/{e.id}",
            facility_id=e.facility_id, facility_name=e.outside_facility_name, entity_id=e.id, at=e.created_at,
            data={"diagnoses": codes, "end_date": e.end_date.isoformat() if e.end_date else None,
                  "ward_days": e.ward_days, "total_cost": str(e.total_cost), "department": e.department,
                  "outside_county": e.facility_id is None}))
    return out


def health_check_summary(c: HealthCheck, tr: Translator) -> str:
    parts = [tr(f"care.records.health_check.kinds.{c.kind}")]
    if c.height_cm is not None:
        parts.append(tr("care.records.timeline.height", value=c.height_cm))
    if c.weight_kg is not None:
        parts.append(tr("care.records.timeline.weight", value=c.weight_kg))
    if c.bmi is not None:
        parts.append(tr("care.records.timeline.bmi", value=c.bmi))
    if c.sbp is not None:
        parts.append(tr("care.records.timeline.bp", sbp=c.sbp, dbp=c.dbp))
    if c.fasting_glucose is not None:
        parts.append(tr("care.records.timeline.glucose", value=c.fasting_glucose))
    return " · ".join(parts)


def _health_check_rows(*, session: Session, resident_id: int, kinds: frozenset[str], facility_id: int | None,
                       limit: int, tr: Translator) -> list[TimelineItem]:
    stmt = (select(HealthCheck).where(HealthCheck.resident_id == resident_id)
            .order_by(HealthCheck.date.desc(), HealthCheck.created_at.desc(), HealthCheck.id.desc()).limit(limit))
    if facility_id is not None:
        stmt = stmt.where(HealthCheck.facility_id == facility_id)
    return [TimelineItem(date=c.date, kind="health_check", summary=health_check_summary(c, tr),
                         facility_id=c.facility_id, entity_id=c.id, at=c.created_at,
                         data={"kind": c.kind, "bmi": str(c.bmi) if c.bmi is not None else None,
                               "sbp": c.sbp, "dbp": c.dbp})
            for c in session.scalars(stmt)]


def _screening_rows(*, session: Session, resident_id: int, kinds: frozenset[str], facility_id: int | None,
                    limit: int, tr: Translator) -> list[TimelineItem]:
    stmt = (select(Screening).where(Screening.resident_id == resident_id)
            .order_by(Screening.date.desc(), Screening.created_at.desc(), Screening.id.desc()).limit(limit))
    if facility_id is not None:
        stmt = stmt.where(Screening.facility_id == facility_id)
    return [TimelineItem(date=s.date, kind="screening",
                         summary=tr("care.records.timeline.screening",
                                    kind=tr(f"care.records.screening.{s.kind}"),
                                    result=tr(f"care.records.screening.results.{s.result}")),
                         facility_id=s.facility_id, entity_id=s.id, at=s.created_at,
                         data={"kind": s.kind, "result": s.result})
            for s in session.scalars(stmt)]


# This module's own rows (the root adds them first, so that they come first among the kinds).
TIMELINE_SOURCES = (timeline_source("encounters", ENCOUNTER_TYPES, _encounter_rows),
                    timeline_source("health_checks", ("health_check",), _health_check_rows),
                    timeline_source("screenings", ("screening",), _screening_rows))


# --- forms --------------------------------------------------------------------------------------------
def facility_choices(*, session: Session, actor: Actor) -> list[tuple[int, str]]:
    """(id, name) of the facilities the actor may record at: their own, or — for a county-level actor —
    every facility of their scope."""
    if is_county_level(actor):
        under = actor.scope_code
        return [(f.id, f.name) for f in orgunits_service.list_facilities(session=session, under=under)]
    own = orgunits_service.get_facility(session=session, facility_id=actor.facility_id) if actor.facility_id else None
    return [(own.id, own.name)] if own is not None else []
