"""The health record's writes: encounters (outpatient visit, inpatient stay with its discharge, day surgery),
health checks and screenings, each from its typed command (schemas); and what other domains do at
discharge. Other care areas import this module (`from weijian.care.records import service as records`): it
also offers the record's reads (queries) and the timeline's registry (timeline) under their own names.

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

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.care import icd10
from weijian.care.models import Diagnosis, Encounter, HealthCheck, Screening
from weijian.care.records import rules as record_rules
from weijian.care.records.queries import (
    READ_ONLY_BASIS,
    ResidentFacts,
    diagnosis_hidden,
    encounter_in_scope,
    facility_choices,
    get_encounter,
    get_health_check,
    get_screening,
    is_county_level,
    list_encounters,
    other_live_codes,
    recorded_here,
    resident_facts,
    resident_for_care,
    stay_overlapping,
)
from weijian.care.records.schemas import (
    ANNUAL_CHECK_AGE,
    CORRECTABLE,
    ENCOUNTER_TYPES,
    HEALTH_CHECK_KINDS,
    MAX_DIAGNOSES,
    MEASURE_RANGES,
    SCREENING_KINDS,
    SCREENING_RESULTS,
    TENTH,
    DischargeIn,
    EncounterCorrection,
    EncounterCreate,
    HealthCheckCorrection,
    HealthCheckCreate,
    ScreeningCorrection,
    ScreeningCreate,
    VoidIn,
    unpaired_pressure,
)
from weijian.care.records.timeline import (
    KIND_GROUPS,
    MAX_PAGE_SIZE,
    TIMELINE_SOURCES,
    TimelineFetch,
    TimelineItem,
    TimelinePage,
    TimelineSource,
    add_timeline_source,
    health_check_summary,
    register_timeline_source,
    timeline,
    timeline_kinds,
    timeline_source,
    timeline_sources,
)
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import ErrorCollector, Forbidden, InvalidInput, InvalidState, NotFound
from weijian.core.hooks import Hook, NotWired
from weijian.orgunits import service as orgunits_service


def age_on(birth_date: date, day: date) -> int:
    """Whole years completed on `day` (周岁)."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def _not_future(day: date | None, name: str, today: date, errs: ErrorCollector) -> None:
    if day is not None and day > today:
        errs.add(name, "care.records.errors.date_future", today=today.isoformat())


def _not_before_birth(day: date, name: str, resident: ResidentFacts, errs: ErrorCollector) -> None:
    if day < resident.birth_date:
        errs.add(name, "care.records.errors.before_birth", birth_date=resident.birth_date.isoformat())


def _writable_resident(session: Session, actor: Actor, resident_id: int, walk_in: bool = False) -> ResidentFacts:
    actor.require("care:write")
    facts = resident_facts(session=session, actor=actor, resident_id=resident_id, walk_in=walk_in)
    if facts.status == "merged":
        raise InvalidState("care.records.errors.resident_merged")
    if facts.basis == READ_ONLY_BASIS:  # a completed referral: the receiving facility reads, adds nothing
        raise Forbidden("care.records.errors.referral_completed_read_only")
    return facts


@dataclass
class Place:
    facility: Any  # orgunits' Facility, or None outside the county
    outside_name: str | None


def _place(session: Session, actor: Actor, facility_id: int | None, outside: str | None,
           errs: ErrorCollector) -> Place:
    """Where the care was given: the actor's own facility unless a county-level actor names another (or,
    for encounters, a facility outside the county)."""
    county = is_county_level(actor)
    if facility_id is None and outside:
        if not county:
            errs.add("outside_facility_name", "care.records.errors.outside_county_level_only")
        return Place(None, outside)
    if facility_id is None:
        facility_id = actor.facility_id
        if facility_id is None:
            errs.add("facility_id", "care.records.errors.facility_required")
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


def _recorded_place(session: Session, actor: Actor, facility_id: int | None, errs: ErrorCollector) -> None:
    """The actor may change what was recorded there: their own facility (a county-level actor: any of
    their scope), or — outside the county — only a county-level actor."""
    if facility_id is None:
        if not is_county_level(actor):
            errs.add("facility_id", "care.records.errors.outside_county_level_only")
    else:
        _place(session, actor, facility_id, None, errs)


def _clinician_name(session: Session, actor: Actor, given: str | None) -> str | None:
    if given:
        return given
    user = accounts_service.get(session=session, user_id=actor.user_id) if actor.user_id is not None else None
    return user.full_name if user is not None else actor.username


# --- encounters -------------------------------------------------------------------------------------
def _diagnoses(items: list[str], errs: ErrorCollector) -> list[str]:
    """The codes given, read against the ICD-10 list, primary first; errors name the position:
    diagnoses[1] is the second code."""
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


def _diagnoses_fit(codes: list[str], given: list[str], resident: ResidentFacts, day: date,
                   errs: ErrorCollector) -> None:
    """Each diagnosis fits the patient's sex and age on the day (record_rules.yaml: ICD-10 chapter XV
    and the one-sex blocks); the error names the code's position as given."""
    if day < resident.birth_date:
        return  # refused already, and an age before birth is no age
    age = age_on(resident.birth_date, day)
    for i, text in enumerate(given):
        entry = icd10.get(text)
        if entry is None or entry.code not in codes:
            continue
        found = record_rules.diagnosis_misfit(entry.code, resident.sex, age)
        if found is None:
            continue
        problem, fit = found
        rule = f"@care.records.rules.{fit.rule}"
        if problem == "sex":
            errs.add(f"diagnoses[{i}]", "care.records.errors.diagnosis_sex", code=entry.code,
                     sex=f"@care.records.sex.{fit.sex}", rule=rule)
        else:
            errs.add(f"diagnoses[{i}]", "care.records.errors.diagnosis_age", code=entry.code, age=age,
                     age_min=fit.age_min if fit.age_min is not None else 0,
                     age_max=fit.age_max if fit.age_max is not None else 150, rule=rule)


def _provided(place: Place, encounter_type: str, errs: ErrorCollector) -> None:
    """A facility records only the care its type provides (orgunits' facility_types.yaml): a village clinic
    no inpatient stay or day surgery unless it has open beds. Outside the county: not known, not checked."""
    facility = place.facility
    if facility is None:
        return
    if encounter_type not in orgunits_service.care_provided(facility.type, facility.beds_open):
        errs.add("type", "care.records.errors.type_not_provided", type=f"@care.records.type.{encounter_type}",
                 facility=facility.name)


def _no_overlapping_stay(session: Session, resident_id: int, start: date, end: date | None,
                         errs: ErrorCollector, *, other_than: int | None = None) -> None:
    """A patient lies in one bed at a time: an inpatient stay may not overlap another (not voided) of the same
    patient, wherever it was. A stay occupies [admission, discharge) — a discharge and an admission on one
    day (a transfer) do not overlap; a stay without a discharge runs on; a same-day stay occupies its day."""
    clash = stay_overlapping(session=session, resident_id=resident_id, start=start, end=end, other_than=other_than)
    if clash is not None:
        errs.add("start_date", "care.records.errors.stay_overlaps", start_date=clash.start_date.isoformat(),
                 end_date=clash.end_date.isoformat() if clash.end_date else "…",
                 facility=clash.outside_facility_name or _facility_name(session, clash.facility_id))


def _facility_name(session: Session, facility_id: int | None) -> str:
    facility = orgunits_service.get_facility(session=session, facility_id=facility_id) if facility_id else None
    return facility.name if facility is not None else ""


def _costs_in_order(total: Decimal, in_policy: Decimal, errs: ErrorCollector) -> None:
    if in_policy > total:
        errs.add("in_policy_cost", "care.records.errors.in_policy_exceeds_total")


def create_encounter(*, session: Session, encounter_in: EncounterCreate, actor: Actor,
                     today: date | None = None) -> Encounter:
    """Record an outpatient visit, an inpatient admission (or a whole stay, when `end_date` is given) or a
    day surgery (EncounterCreate: at the caller's facility unless another is named, diagnoses in ICD-10,
    first = primary).

    A diagnosis that belongs to a chronic-disease programme registers the patient for it (the chronic area
    does nothing when they are already registered)."""
    today = today or clock.today()
    cmd = encounter_in
    # A walk-in from a neighbouring village has a visit recorded by the village doctor (basis walk_in).
    resident = _writable_resident(session, actor, cmd.resident_id, walk_in=cmd.type == "outpatient")
    errs = ErrorCollector()
    place = _place(session, actor, cmd.facility_id, cmd.outside_facility_name, errs)
    clinician = _clinician_name(session, actor, cmd.clinician_name)
    start, end = cmd.start_date, cmd.end_date
    _not_future(start, "start_date", today, errs)
    _not_before_birth(start, "start_date", resident, errs)
    if cmd.type == "outpatient":
        end = None  # a visit has one date
    elif cmd.type == "day_surgery":
        end = end or start
        if end > start + timedelta(days=1):
            errs.add("end_date", "care.records.errors.day_surgery_too_long")
    if end is not None and end < start:
        errs.add("end_date", "care.records.errors.discharge_before_admission", start_date=start.isoformat())
    _not_future(end, "end_date", today, errs)
    _provided(place, cmd.type, errs)
    if cmd.type == "inpatient" and not any(e.field in ("start_date", "end_date") for e in errs.errors):
        _no_overlapping_stay(session, resident.id, start, end, errs)
    codes = _diagnoses(cmd.diagnoses, errs)
    _diagnoses_fit(codes, cmd.diagnoses, resident, start, errs)
    _costs_in_order(cmd.total_cost, cmd.in_policy_cost, errs)
    errs.raise_if_any()

    encounter = Encounter(
        resident_id=resident.id, facility_id=place.facility.id if place.facility else None,
        outside_facility_name=place.outside_name, type=cmd.type, department=cmd.department,
        clinician_id=actor.user_id, clinician_name=clinician, start_date=start, end_date=end,
        primary_diagnosis=codes[0], note=cmd.note, total_cost=cmd.total_cost, in_policy_cost=cmd.in_policy_cost,
        created_by=actor.username,
        diagnoses=[Diagnosis(seq=i, code=code) for i, code in enumerate(codes, start=1)],
    )
    session.add(encounter)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="encounter",
                           entity_id=encounter.id, resident_id=resident.id, basis=resident.basis,
                           detail={"type": cmd.type, "facility_id": encounter.facility_id})
    _register_chronic(actor, encounter, codes, session=session)
    if cmd.type != "outpatient" and end is not None:  # a stay recorded whole: its discharge is saved now
        _run_discharge_hooks(session, actor, encounter)
    return encounter


def _register_chronic(actor: Actor, encounter: Encounter, codes: list[str], *, session: Session) -> None:
    programs = list(dict.fromkeys(p for p in (icd10.chronic_program(c) for c in codes) if p))
    for program in programs:
        chronic_from_diagnosis(session=session, resident_id=encounter.resident_id, program=program,
                               on=encounter.start_date, encounter_id=encounter.id, facility_id=encounter.facility_id,
                               actor=actor)


# register_from_diagnosis(session=, resident_id=, program=, on=, encounter_id=, facility_id=, actor=): put
# the patient on the chronic program a diagnosis names (chronic.register_from_diagnosis, provided by the root).
chronic_from_diagnosis: Hook[Callable[..., Any]] = Hook("care.records.chronic_from_diagnosis")

# case_report_prompts(session=, encounter_id=, resident_id=, codes=, on=, locale=) -> [{icd10, disease, name,
# hours, href, report_id}]: the notifiable diagnoses of an encounter, each with the link to its case report
# (传染病报告卡) prefilled (surveillance.case_report_prompts, provided by the root).
case_report_prompts: Hook[Callable[..., list[dict[str, Any]]]] = Hook("care.records.case_report_prompts")


def discharge(*, session: Session, encounter_id: int, discharge_in: DischargeIn, actor: Actor,
              today: date | None = None) -> Encounter:
    """Close an inpatient stay on `end_date` (not before the admission, not in the future), with the final
    costs when given; the rules of writing apply as for recording it."""
    today = today or clock.today()
    actor.require("care:write")
    cmd = discharge_in
    encounter, resident = encounter_in_scope(session=session, actor=actor, encounter_id=encounter_id)
    if encounter.type != "inpatient":
        raise InvalidState("care.records.errors.discharge_not_inpatient")
    if encounter.end_date is not None:
        raise InvalidState("care.records.errors.already_discharged", end_date=encounter.end_date.isoformat())
    if encounter.voided_at is not None:
        raise InvalidState("care.records.errors.already_voided",
                           voided_on=clock.local_date(encounter.voided_at).isoformat())
    errs = ErrorCollector()
    _recorded_place(session, actor, encounter.facility_id, errs)
    end = cmd.end_date
    if end is None:
        errs.add("end_date", "core.errors.validation.missing")
    elif end < encounter.start_date:
        errs.add("end_date", "care.records.errors.discharge_before_admission",
                 start_date=encounter.start_date.isoformat())
    _not_future(end, "end_date", today, errs)
    total = cmd.total_cost if cmd.total_cost is not None else encounter.total_cost
    in_policy = cmd.in_policy_cost if cmd.in_policy_cost is not None else encounter.in_policy_cost
    _costs_in_order(total, in_policy, errs)
    errs.raise_if_any()
    assert end is not None  # refused above when missing
    encounter.end_date = end
    encounter.total_cost, encounter.in_policy_cost = total, in_policy
    if cmd.note:
        encounter.note = cmd.note
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


# --- health checks and screenings -------------------------------------------------------------------
def bmi(height_cm: Decimal | None, weight_kg: Decimal | None) -> Decimal | None:
    """Body-mass index, kg/m², to one decimal (half up); None without both measurements."""
    if height_cm is None or weight_kg is None or height_cm <= 0:
        return None
    metres = Decimal(height_cm) / 100
    return (Decimal(weight_kg) / (metres * metres)).quantize(TENTH, rounding=ROUND_HALF_UP)


def _check_health_check(day: date, kind: str, measures: dict[str, Any], resident: ResidentFacts, today: date,
                        errs: ErrorCollector) -> None:
    """The rules of a health check, recorded or corrected: its date, `annual_65` only from 65, the blood
    pressure as a pair (diastolic below systolic), at least one measurement."""
    _not_future(day, "date", today, errs)
    _not_before_birth(day, "date", resident, errs)
    if kind == "annual_65" and age_on(resident.birth_date, day) < ANNUAL_CHECK_AGE:
        errs.add("kind", "care.records.errors.annual_65_too_young", age=age_on(resident.birth_date, day),
                 min_age=ANNUAL_CHECK_AGE)
    sbp, dbp = measures.get("sbp"), measures.get("dbp")
    missing = unpaired_pressure(sbp is not None, dbp is not None)
    if missing:
        errs.add(missing, "care.records.errors.blood_pressure_pair")
    elif sbp is not None and dbp is not None and sbp <= dbp:
        errs.add("dbp", "care.records.errors.dbp_not_below_sbp")
    if all(v is None for v in measures.values()):
        errs.add("height_cm", "care.records.errors.no_measurement")


def create_health_check(*, session: Session, health_check_in: HealthCheckCreate, actor: Actor,
                        today: date | None = None) -> HealthCheck:
    """Record a health check (健康体检, HealthCheckCreate): `annual_65` only for a resident aged 65 or more
    on the day, the blood pressure as a pair, at least one measurement. BMI is computed from height and
    weight."""
    today = today or clock.today()
    cmd = health_check_in
    resident = _writable_resident(session, actor, cmd.resident_id)
    errs = ErrorCollector()
    place = _place(session, actor, cmd.facility_id, None, errs)
    day = cmd.date
    measures = {name: getattr(cmd, name) for name in MEASURE_RANGES}
    _check_health_check(day, cmd.kind, measures, resident, today, errs)
    errs.raise_if_any()
    check = HealthCheck(
        resident_id=resident.id, facility_id=place.facility.id if place.facility else None, date=day,
        kind=cmd.kind, bmi=bmi(cmd.height_cm, cmd.weight_kg), note=cmd.note, created_by=actor.username,
        **measures)
    session.add(check)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="health_check",
                           entity_id=check.id, resident_id=resident.id, basis=resident.basis,
                           detail={"kind": cmd.kind, "facility_id": check.facility_id})
    return check


def _check_screening(day: date, kind: str, result: str, resident: ResidentFacts, today: date,
                     errs: ErrorCollector) -> None:
    """The rules of a screening, recorded or corrected: its date, women only, the age its programme screens
    (record_rules.yaml), a result of its kind."""
    _not_future(day, "date", today, errs)
    _not_before_birth(day, "date", resident, errs)
    label = f"@care.records.screening.{kind}"
    fit = record_rules.screening_fit(kind)
    if resident.sex != "female":
        errs.add("kind", "care.records.errors.screening_women_only", kind=label)
    elif day >= resident.birth_date and fit.misfit(resident.sex, age_on(resident.birth_date, day)):
        # 两癌: 35-64 周岁 (NHC 2022 screening plans); prenatal: 育龄 15-49 (record_rules.yaml)
        errs.add("kind", "care.records.errors.screening_age", kind=label,
                 age=age_on(resident.birth_date, day), age_min=fit.age_min if fit.age_min is not None else 0,
                 age_max=fit.age_max if fit.age_max is not None else 150, rule=f"@care.records.rules.{fit.rule}")
    if result not in SCREENING_RESULTS[kind]:
        errs.add("result", "care.records.errors.screening_result_unknown", value=result, kind=label)


def create_screening(*, session: Session, screening_in: ScreeningCreate, actor: Actor,
                     today: date | None = None) -> Screening:
    """Record a screening (ScreeningCreate): cervical or breast cancer (两癌筛查) or prenatal (产前筛查),
    women only, with a result of its kind (negative | abnormal | positive; prenatal: low_risk | high_risk)."""
    today = today or clock.today()
    cmd = screening_in
    resident = _writable_resident(session, actor, cmd.resident_id)
    errs = ErrorCollector()
    place = _place(session, actor, cmd.facility_id, None, errs)
    _check_screening(cmd.date, cmd.kind, cmd.result, resident, today, errs)
    errs.raise_if_any()
    screening = Screening(resident_id=resident.id, facility_id=place.facility.id if place.facility else None,
                          date=cmd.date, kind=cmd.kind, result=cmd.result, note=cmd.note, created_by=actor.username)
    session.add(screening)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="screening",
                           entity_id=screening.id, resident_id=resident.id, basis=resident.basis,
                           detail={"kind": cmd.kind, "facility_id": screening.facility_id})
    return screening


# --- corrections and voids ------------------------------------------------------------------------
_MODELS: dict[str, type[Any]] = {"encounter": Encounter, "health_check": HealthCheck, "screening": Screening}
_NOT_FOUND = {"encounter": "care.records.errors.encounter_not_found",
              "health_check": "care.records.errors.health_check_not_found",
              "screening": "care.records.errors.screening_not_found"}


def _changeable(session: Session, actor: Actor, entry_kind: str, entry_id: int) -> tuple[Any, ResidentFacts]:
    """The entry and its patient, if the actor may change it: care:write, the patient in their scope (as to
    read it), recorded at their own facility (a county-level actor: any of their scope; outside the county:
    county-level only), and not voided. NotFound / Forbidden-as-InvalidInput / InvalidState otherwise."""
    actor.require("care:write")
    if entry_kind not in CORRECTABLE:
        raise InvalidInput("kind", "care.records.errors.correct_kind_unknown", value=entry_kind)
    row: Any = session.get(_MODELS[entry_kind], entry_id)
    params = {"encounter_id": entry_id} if entry_kind == "encounter" else {"id": entry_id}
    if row is None:
        raise NotFound(_NOT_FOUND[entry_kind], **params)
    try:
        resident = resident_facts(session=session, actor=actor, resident_id=row.resident_id,
                                  walk_in=recorded_here(actor, row))
    except NotFound:
        raise NotFound(_NOT_FOUND[entry_kind], **params) from None
    if row.voided_at is not None:
        raise InvalidState("care.records.errors.already_voided", voided_on=clock.local_date(row.voided_at).isoformat())
    errs = ErrorCollector()
    _recorded_place(session, actor, row.facility_id, errs)
    errs.raise_if_any()
    return row, resident


def _reason_given(reason: str | None, errs: ErrorCollector) -> None:
    """A void or a correction says why (named with the other refused fields, so the form shows them all)."""
    if not reason:
        errs.add("reason", "core.errors.validation.missing")


def _settled(entry_kind: str, row: Any) -> bool:
    """A stay discharged (inpatient, day surgery) has been settled at discharge (settlement's hook): its
    dates and costs are settlement's now, and they are not corrected here."""
    return entry_kind == "encounter" and row.type != "outpatient" and row.end_date is not None


# live_settlement(session=, encounter_id=) -> the stay's live settlement (id, settled_on) or None — never
# settled, or reversed (冲销): settlement.live_settlement, provided by the root.
live_settlement: Hook[Callable[..., Any]] = Hook("care.records.live_settlement")
# chronic_basis_voided(session=, resident_id=, program=, encounter_id=, on=, actor=) -> the registration
# closed, or None: the chronic registration this encounter's diagnosis made loses its only basis (provided by
# the root from care.chronic's service).
chronic_basis_voided: Hook[Callable[..., Any]] = Hook("care.records.chronic_basis_voided")


def _not_settled(session: Session, entry_kind: str, row: Any) -> None:
    """A settled stay is voided only once its settlement is reversed (冲销, settlement's stay page): the
    insurers' money and the patient's year of accumulations rest on it."""
    if entry_kind != "encounter" or row.type == "outpatient" or row.end_date is None:
        return
    settlement = live_settlement(session=session, encounter_id=row.id)
    if settlement is not None:
        raise InvalidState("care.records.errors.settled_stay_not_voided", settlement_id=settlement.id,
                           settled_on=settlement.settled_on.isoformat())


def _programs(codes: list[str]) -> list[str]:
    return list(dict.fromkeys(p for p in (icd10.chronic_program(c) for c in codes) if p))


def _basis_lost(session: Session, actor: Actor, encounter: Encounter, lost_codes: list[str],
                on: date) -> list[int]:
    """The chronic programmes of `lost_codes` (the diagnoses a void or a correction takes off this encounter)
    that no other live encounter of the patient carries: their registration made from a diagnosis has lost
    the 确诊 it rests on, and care.chronic closes it (the hook). The registrations closed, by id."""
    programs = [p for p in _programs(lost_codes) if p not in _programs([d.code for d in encounter.diagnoses])
                or encounter.voided_at is not None]
    if not programs:
        return []
    others = other_live_codes(session=session, resident_id=encounter.resident_id, other_than=encounter.id)
    still = set(_programs(others))
    closed = []
    for program in (p for p in programs if p not in still):
        registration = chronic_basis_voided(session=session, resident_id=encounter.resident_id, program=program,
                                            encounter_id=encounter.id, on=on, actor=actor)
        if registration is not None:
            closed.append(registration.id)
    return closed


@dataclass(frozen=True)
class Voided:
    """What a void did: the entry, and the chronic registrations it closed (by id) as 诊断更正."""

    entry: Any
    chronic_closed: tuple[int, ...] = ()


def void_entry(*, session: Session, entry_kind: str, entry_id: int, void_in: VoidIn, actor: Actor,
               now: datetime | None = None) -> Voided:
    """Void an entry recorded in error (`entry_kind`: encounter | health_check | screening) with a reason: it
    stays in the record, marked, and leaves every figure and tally (they follow in the same flush).

    A settled stay is refused, naming its settlement, until the settlement is reversed (冲销). An encounter
    whose diagnosis was the only one on record of a chronic programme (hypertension, type 2 diabetes) takes
    the registration made from it along: the 规范 manages 已确诊 patients ("对已确诊的原发性高血压患者纳入
    高血压患者健康管理"), and a diagnosis recorded in error confirms nothing, so the registration is closed
    as 诊断更正 (its follow-ups kept, closed, never deleted); a registration made by hand, or one another live
    encounter's diagnosis still bears, stays (care.chronic decides which, through the hook). A correction that
    takes the diagnosis off the encounter does the same (correct_encounter)."""
    row, resident = _changeable(session, actor, entry_kind, entry_id)
    errs = ErrorCollector()
    _reason_given(void_in.reason, errs)
    errs.raise_if_any()
    _not_settled(session, entry_kind, row)
    moment = now or clock.now()
    row.voided_at = moment
    row.voided_by = actor.username
    row.void_reason = void_in.reason
    session.flush()
    closed = (_basis_lost(session, actor, row, [d.code for d in row.diagnoses], clock.local_date(moment))
              if entry_kind == "encounter" else [])
    accounts_service.audit(session=session, actor=actor, action="void", entity_type=entry_kind, entity_id=row.id,
                           resident_id=resident.id, basis=resident.basis,
                           detail={"reason": void_in.reason, **({"chronic_closed": closed} if closed else {})})
    return Voided(row, tuple(closed))


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else str(value) if isinstance(value, Decimal) else value


def correct_encounter(*, session: Session, encounter_id: int, correction_in: EncounterCorrection, actor: Actor,
                      today: date | None = None, now: datetime | None = None) -> Encounter:
    """Correct an encounter (EncounterCorrection: the values given replace those recorded) with a reason,
    under the rules of recording it: dates, the stay's overlap with the patient's other stays, the
    diagnoses against the list and the patient's sex and age, the costs' order. A discharged stay keeps its
    dates and costs (settled). The audit log keeps the values before and after; the tallies follow."""
    today = today or clock.today()
    cmd = correction_in
    encounter, resident = _changeable(session, actor, "encounter", encounter_id)
    errs = ErrorCollector()
    _reason_given(cmd.reason, errs)
    given = _given(cmd)
    if _settled("encounter", encounter):
        for name in ("start_date", "end_date", "total_cost", "in_policy_cost"):
            if name in given and given[name] != getattr(encounter, name):
                errs.add(name, "care.records.errors.settled_stay_fixed")
    start = given.get("start_date") or encounter.start_date
    end = given.get("end_date", encounter.end_date)
    if encounter.type == "outpatient":
        end = None
    _not_future(start, "start_date", today, errs)
    _not_before_birth(start, "start_date", resident, errs)
    _not_future(end, "end_date", today, errs)
    if end is not None and end < start:
        errs.add("end_date", "care.records.errors.discharge_before_admission", start_date=start.isoformat())
    if encounter.type == "day_surgery" and end is not None and end > start + timedelta(days=1):
        errs.add("end_date", "care.records.errors.day_surgery_too_long")
    if encounter.type == "inpatient" and not any(e.field in ("start_date", "end_date") for e in errs.errors):
        _no_overlapping_stay(session, resident.id, start, end, errs, other_than=encounter.id)
    codes = [d.code for d in encounter.diagnoses]
    if given.get("diagnoses") is not None:
        codes = _diagnoses(given["diagnoses"], errs)
        _diagnoses_fit(codes, given["diagnoses"], resident, start, errs)
    elif "start_date" in given:  # the same diagnoses on another day: the patient's age may differ
        _diagnoses_fit(codes, codes, resident, start, errs)
    total = given["total_cost"] if given.get("total_cost") is not None else encounter.total_cost
    in_policy = given["in_policy_cost"] if given.get("in_policy_cost") is not None else encounter.in_policy_cost
    _costs_in_order(total, in_policy, errs)
    errs.raise_if_any()

    after = {"start_date": start, "end_date": end, "department": given.get("department", encounter.department),
             "clinician_name": given.get("clinician_name", encounter.clinician_name),
             "note": given.get("note", encounter.note), "total_cost": total, "in_policy_cost": in_policy}
    before = {k: getattr(encounter, k) for k in after}
    before["diagnoses"] = [d.code for d in encounter.diagnoses]
    after["diagnoses"] = codes

    def new_diagnoses(changed: set[str]) -> None:
        if "diagnoses" in changed:
            encounter.diagnoses = [Diagnosis(seq=i, code=code) for i, code in enumerate(codes, start=1)]
            encounter.primary_diagnosis = codes[0]

    changed = _corrected(session, actor, encounter, "encounter", resident, cmd.reason, before, after, now,
                         also=new_diagnoses)
    if "diagnoses" in changed:
        _register_chronic(actor, encounter, [c for c in codes if c not in before["diagnoses"]], session=session)
        # a diagnosis corrected away is one recorded in error, as a void's (void_entry)
        _basis_lost(session, actor, encounter, [c for c in before["diagnoses"] if c not in codes],
                    clock.local_date(encounter.corrected_at or clock.now()))
    return encounter


def _corrected(session: Session, actor: Actor, row: Any, entry_kind: str, resident: ResidentFacts, reason: str | None,
               before: dict[str, Any], after: dict[str, Any], now: datetime | None,
               also: Callable[[set[str]], None] | None = None) -> set[str]:
    """Write a correction's new values (those that differ; `also` writes what is not a column, the
    encounter's diagnoses), who, when and why, and audit the values before and after; InvalidState when
    nothing differs. Returns the names changed."""
    changed = {k for k in after if after[k] != before[k]}
    if not changed:
        raise InvalidState("care.records.errors.correction_changes_nothing")
    for name in changed - {"diagnoses"}:
        setattr(row, name, after[name])
    if also is not None:
        also(changed)
    row.corrected_at, row.corrected_by, row.correction_reason = now or clock.now(), actor.username, reason
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="correct", entity_type=entry_kind, entity_id=row.id,
                           resident_id=resident.id, basis=resident.basis,
                           detail={"reason": reason, "before": {k: _plain(before[k]) for k in sorted(changed)},
                                   "after": {k: _plain(after[k]) for k in sorted(changed)}})
    return changed


@dataclass
class _Correcting:
    """A correction under way: the entry, its patient, the errors so far (the reason's), the values after."""

    row: Any
    resident: ResidentFacts
    errs: ErrorCollector
    after: dict[str, Any]


def _given(cmd: Any) -> dict[str, Any]:
    """A correction's values: those the command sets, a null only for a field it may clear (CLEARABLE: an
    optional value; a null date, type or cost would otherwise erase what the record needs)."""
    clearable = getattr(cmd, "CLEARABLE", ())
    return {k: getattr(cmd, k) for k in cmd.model_fields_set
            if k != "reason" and (getattr(cmd, k) is not None or k in clearable)}


def settled_stay(encounter: Encounter) -> bool:
    """A stay whose dates and costs are settlement's (discharged): its correction form shows them fixed."""
    return _settled("encounter", encounter)


def _correcting(session: Session, actor: Actor, entry_kind: str, entry_id: int, cmd: Any,
                fields: tuple[str, ...]) -> _Correcting:
    """The entry if the actor may change it, the reason checked, and `fields` after the correction: the
    values the command gives (a field left out, or blank on a form, stays as recorded)."""
    row, resident = _changeable(session, actor, entry_kind, entry_id)
    errs = ErrorCollector()
    _reason_given(cmd.reason, errs)
    given = _given(cmd)
    return _Correcting(row, resident, errs, {k: given.get(k, getattr(row, k)) for k in fields})


def correct_health_check(*, session: Session, health_check_id: int, correction_in: HealthCheckCorrection,
                         actor: Actor, today: date | None = None, now: datetime | None = None) -> HealthCheck:
    """Correct a health check (HealthCheckCorrection: the values given replace those recorded) with a reason,
    under the rules of recording it; BMI follows. Audited with the values before and after; the tallies
    (the 65+ annual checks) follow in the same flush."""
    c = _correcting(session, actor, "health_check", health_check_id, correction_in,
                    ("date", "kind", *MEASURE_RANGES, "note"))
    after = c.after
    _check_health_check(after["date"], after["kind"], {k: after[k] for k in MEASURE_RANGES}, c.resident,
                        today or clock.today(), c.errs)
    c.errs.raise_if_any()
    after["bmi"] = bmi(after["height_cm"], after["weight_kg"])
    _corrected(session, actor, c.row, "health_check", c.resident, correction_in.reason,
               {k: getattr(c.row, k) for k in after}, after, now)
    return c.row


def correct_screening(*, session: Session, screening_id: int, correction_in: ScreeningCorrection, actor: Actor,
                      today: date | None = None, now: datetime | None = None) -> Screening:
    """Correct a screening (ScreeningCorrection) with a reason, under the rules of recording it (women only,
    the programme's ages, a result of its kind); audited with the values before and after; the screening
    counts follow."""
    c = _correcting(session, actor, "screening", screening_id, correction_in, ("date", "kind", "result", "note"))
    after = c.after
    _check_screening(after["date"], after["kind"], after["result"], c.resident, today or clock.today(), c.errs)
    c.errs.raise_if_any()
    _corrected(session, actor, c.row, "screening", c.resident, correction_in.reason,
               {k: getattr(c.row, k) for k in after}, after, now)
    return c.row


__all__ = [
    "ANNUAL_CHECK_AGE", "CORRECTABLE", "ENCOUNTER_TYPES", "HEALTH_CHECK_KINDS", "KIND_GROUPS", "MAX_DIAGNOSES",
    "MAX_PAGE_SIZE", "MEASURE_RANGES", "READ_ONLY_BASIS", "SCREENING_KINDS", "SCREENING_RESULTS", "TIMELINE_SOURCES",
    "DischargeHook",
    "EncounterCorrection", "Place", "ResidentFacts", "TimelineFetch", "TimelineItem", "TimelinePage",
    "TimelineSource", "VoidIn", "Voided", "HealthCheckCorrection", "ScreeningCorrection", "add_timeline_source",
    "age_on",
    "bmi", "case_report_prompts", "chronic_basis_voided", "chronic_from_diagnosis", "correct_encounter",
    "correct_health_check",
    "correct_screening", "diagnosis_hidden", "live_settlement", "settled_stay",
    "create_encounter", "create_health_check", "create_screening", "discharge", "discharge_hooks", "facility_choices",
    "get_encounter", "get_health_check", "get_screening", "health_check_summary", "is_county_level",
    "list_encounters", "register_discharge_hook", "register_timeline_source", "resident_facts", "resident_for_care",
    "stay_overlapping", "timeline", "timeline_kinds", "timeline_source", "timeline_sources", "void_entry",
]
