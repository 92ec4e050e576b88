"""The newborn "one thing" (出生"一件事"): one form at the delivery hospital registers the newborn as a
resident (linked to the mother, her household and village), issues the birth medical certificate number,
records the birth doses (HepB 1, BCG 1) from the point's stock, opens the vaccination certificate with the
child's whole schedule, and starts the hand-offs to household registration, insurance enrolment and the
social-security card. All of it in one savepoint: a refusal anywhere leaves nothing behind.

Choices (no national text fixes these for weijian):
- The child's name may be left blank: the provisional name is the mother's name + 之子 / 之女 (as delivery
  wards write it until the parents choose one); the record is updated later through the residents pages.
- The relation to the householder follows the mother's: the head's or spouse's child is a son/daughter;
  a daughter's or daughter-in-law's child a grandchild; a parent's child a sibling; else "other".
- Birth medical certificate number (出生医学证明编号): a letter and 9 digits. Real numbers are pre-printed
  on forms the provincial commission hands out in blocks; until a hospital types its form's number, weijian
  issues a stand-in from the county's per-year sequence: BIRTH_CERTIFICATE_LETTER + 2-digit year + 7-digit
  sequence, so it keeps the form's shape whatever the facility (the facility is on the registration).
- Vaccination certificate number (预防接种证编号): 18 digits shaped like the child codes of the
  immunization information systems: 6-digit county + 4-digit point id + 4-digit birth year + 4-digit
  sequence per point and year.
- A birth dose not given (refused, contraindicated — e.g. BCG for a very low birth weight — or deferred)
  is recorded as a refusal with its reason instead of a vaccination.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import SQLColumnExpression, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.commands import build
from weijian.core.db import like_prefix
from weijian.core.errors import Conflict, ErrorCollector, FieldError, InvalidInput, InvalidState, NotFound
from weijian.core.i18n import translate
from weijian.core.identifiers import parse_id_number
from weijian.immunization.models import (
    BirthRegistration,
    Handoff,
    VaccinationCertificate,
    VaccinationPoint,
    VaccineLot,
)
from weijian.immunization.newborn.queries import (
    BIRTH_DOSES,
    DEPARTMENTS,
    MOTHER_AGE_RANGE,
    PERMISSION,
    age_on,
    check_department,
    delivery_point,
    next_status,
    scoped_birth,
)
from weijian.immunization.newborn.schemas import HandoffStatusIn, NewbornCreate
from weijian.immunization.records import service as records
from weijian.immunization.records.schemas import RefusalCreate, VaccinationCreate
from weijian.immunization.schedule import due
from weijian.immunization.stock import queries as stock_queries
from weijian.orgunits import service as orgunits_service
from weijian.residents import access
from weijian.residents import service as residents_service
from weijian.residents.models import Resident

# Where a birth dose goes and how (Vaccination.site / .route): HepB in the right deltoid muscle, BCG
# intradermally over the left deltoid.
DOSE_SITES = {"HepB": ("right_deltoid", "im"), "BCG": ("left_deltoid", "id")}
BIRTH_CERTIFICATE_LETTER = "W"
WEIGHT_RANGE = (300, 7000)  # grams
WEEKS_RANGE = (20, 45)
MAX_AGE_DAYS = 365  # a birth is registered within its first year
_E = "immunization.newborn.errors."
# The residents' field names under the form's.
_FORM_FIELD = {"name": "child_name", "village_code": "mother_id_number", "household_number": "mother_id_number",
               "relation_to_head": "mother_id_number"}


# --- the checked registration -------------------------------------------------------------------------
@dataclass
class DoseInput:
    vaccine: str
    lot: VaccineLot | None
    on: date | None
    skip_reason: str | None


@dataclass
class NewbornData:
    mother: Resident
    name: str
    sex: str
    born_at: datetime  # UTC
    birth_date: date  # local (Asia/Shanghai)
    birth_weight_g: int
    gestational_weeks: int
    birth_certificate_number: str | None
    doses: list[DoseInput]
    resident_values: dict[str, Any]


def child_relation(mother_relation: str | None, sex: str) -> str:
    """The newborn's relation to the householder, from the mother's (module docstring)."""
    if mother_relation in ("head", "spouse"):
        return "son" if sex == "male" else "daughter"
    if mother_relation in ("daughter", "daughter_in_law", "son_in_law", "son"):
        return "grandchild"
    if mother_relation == "parent":
        return "sibling"
    return "other"


def provisional_name(mother_name: str, sex: str) -> str:
    """"<mother>之子" / "<mother>之女": the pattern is data (the locale file), always in Chinese."""
    key = "provisional_name_son" if sex == "male" else "provisional_name_daughter"
    return translate(f"immunization.newborn.{key}", "zh_CN", mother=mother_name)[:50]


def _required(errs: ErrorCollector, name: str, value: Any) -> None:
    if value is None:
        errs.add(name, _E + "required")


def _count(errs: ErrorCollector, name: str, value: int | str | None, lo: int, hi: int) -> int | None:
    """A count of the form within lo … hi (the command keeps the text of one that is no number)."""
    if value is None:
        errs.add(name, _E + "required")
        return None
    if isinstance(value, str):
        errs.add(name, _E + "not_a_number")
        return None
    if not lo <= value <= hi:
        errs.add(name, _E + "out_of_range", min=lo, max=hi)
        return None
    return value


def _mother_field(newborn_in: NewbornCreate) -> str:
    return "mother_id" if newborn_in.mother_id is not None else "mother_id_number"


def _find_mother(session: Session, newborn_in: NewbornCreate, actor: Actor, errs: ErrorCollector) -> Resident | None:
    field_name = _mother_field(newborn_in)
    if newborn_in.mother_id is None and newborn_in.mother_id_number is None:
        errs.add("mother_id_number", _E + "mother_required")
        return None
    if newborn_in.mother_id is not None:
        where = Resident.id == newborn_in.mother_id
    else:
        try:
            parsed = parse_id_number(newborn_in.mother_id_number, field="mother_id_number")
        except InvalidInput as exc:
            errs.extend(exc)
            return None
        where = Resident.id_number == parsed.normalized
    found = session.scalar(select(Resident).where(where))
    if found is None:
        errs.add(field_name, _E + "mother_unknown")
        return None
    if access.basis_for(actor, found.village_code) is None:
        errs.add(field_name, _E + "mother_out_of_scope")
        return None
    # The scoped, audited read of the mother's record (the registration reads it to copy her household).
    mother = residents_service.get(session=session, resident_id=found.id, actor=actor, basis="newborn_registration")
    if mother.status != "active":
        errs.add(field_name, _E + "mother_inactive", status=f"@residents.status.{mother.status}")
        return None
    if mother.sex != "female":
        errs.add(field_name, _E + "mother_not_female")
        return None
    return mother


def validate(*, session: Session, newborn_in: NewbornCreate, actor: Actor, point: VaccinationPoint,
             today: date | None = None) -> NewbornData:
    """Check the form against the records, today and itself; InvalidInput lists every bad field (nothing is
    written)."""
    today = today or clock.today()
    errs = ErrorCollector()
    mother = _find_mother(session, newborn_in, actor, errs)
    sex = newborn_in.sex
    _required(errs, "sex", sex)

    birth_day, birth_time = newborn_in.birth_date, newborn_in.birth_time
    _required(errs, "birth_date", birth_day)
    _required(errs, "birth_time", birth_time)
    born_at = None
    if birth_day is not None:
        if birth_day > today:
            errs.add("birth_date", _E + "birth_in_future", today=today.isoformat())
        elif (today - birth_day).days > MAX_AGE_DAYS:
            errs.add("birth_date", _E + "birth_too_old", days=MAX_AGE_DAYS)
        elif birth_time is not None:
            born_at = datetime.combine(birth_day, birth_time, clock.zone())
            if birth_day == today and born_at > clock.local_now() + timedelta(minutes=5):
                errs.add("birth_time", _E + "birth_in_future", today=today.isoformat())
                born_at = None
        if mother is not None:
            age = age_on(mother.birth_date, birth_day)
            if not MOTHER_AGE_RANGE[0] <= age <= MOTHER_AGE_RANGE[1]:
                errs.add(_mother_field(newborn_in), _E + "mother_age", age=age, min=MOTHER_AGE_RANGE[0],
                         max=MOTHER_AGE_RANGE[1])

    weight = _count(errs, "birth_weight_g", newborn_in.birth_weight_g, *WEIGHT_RANGE)
    weeks = _count(errs, "gestational_weeks", newborn_in.gestational_weeks, *WEEKS_RANGE)

    number = newborn_in.birth_certificate_number
    in_use = select(BirthRegistration.id).where(BirthRegistration.birth_certificate_number == number)
    if number is not None and session.scalar(in_use):
        errs.add("birth_certificate_number", _E + "birth_certificate_taken", number=number)

    doses = [_dose(session, newborn_in, code, point, birth_day, today, errs) for code in BIRTH_DOSES]

    name = newborn_in.child_name or ""
    if not name and mother is not None and sex is not None:
        name = provisional_name(mother.name, sex)
    household = mother.household if mother is not None else None
    resident_values: dict[str, Any] = {
        "name": name, "sex": sex, "birth_date": birth_day, "id_number": None, "phone": None,
        "village_code": mother.village_code if mother is not None else "", "insurance_scheme": "none",
        "household_number": household.number if household is not None else None,
        "relation_to_head": child_relation(mother.relation_to_head, sex) if household is not None and sex else None,
    }
    # The child's own fields by the residents' rules, reported under the form's names (with the mother
    # unknown, only the name is the child's own to report).
    try:
        residents_service.validate(resident_values, today=today, session=session)
    except InvalidInput as exc:
        taken = {e.field for e in errs.errors}
        for e in exc.errors:
            form_field = _FORM_FIELD.get(e.field, e.field)
            if form_field in taken or (mother is None and (e.field != "name" or not name)):
                continue  # a blank name is the provisional one, once the mother is known
            taken.add(form_field)
            errs.errors.append(FieldError(form_field, e.reason_key, e.params))
    errs.raise_if_any()
    return NewbornData(mother=mother, name=name, sex=sex, born_at=born_at.astimezone(UTC),
                       birth_date=birth_day, birth_weight_g=weight, gestational_weeks=weeks,
                       birth_certificate_number=number, doses=doses, resident_values=resident_values)


def _dose(session: Session, newborn_in: NewbornCreate, code: str, point: VaccinationPoint, birth_day: date | None,
          today: date, errs: ErrorCollector) -> DoseInput:
    prefix = code.lower()
    lot_field, date_field = f"{prefix}_lot_id", f"{prefix}_date"
    lot_id, on, skip = newborn_in.dose(code)
    if skip is not None:
        if lot_id is not None:
            errs.add(lot_field, _E + "lot_and_skip")
        return DoseInput(code, None, on or birth_day, skip)
    if lot_id is None:
        errs.add(lot_field, _E + "lot_required")
        return DoseInput(code, None, None, None)
    on = on or birth_day
    if on is not None and birth_day is not None and on < birth_day:
        errs.add(date_field, _E + "dose_before_birth")
        on = None
    elif on is not None and on > today:
        errs.add(date_field, _E + "dose_in_future", today=today.isoformat())
        on = None
    lot = session.get(VaccineLot, lot_id)
    if lot is None:
        errs.add(lot_field, _E + "lot_unknown")
        return DoseInput(code, None, on, None)
    if lot.vaccine != code:
        errs.add(lot_field, _E + "lot_wrong_vaccine", lot=lot.lot_number,
                 vaccine=f"@immunization.vaccines.{lot.vaccine}", expected=f"@immunization.vaccines.{code}")
        return DoseInput(code, None, on, None)
    if on is not None and lot.expiry_date < on:
        errs.add(lot_field, _E + "lot_expired", lot=lot.lot_number, expiry=lot.expiry_date.isoformat(),
                 date=on.isoformat())
    if stock_queries.balance(session=session, point_id=point.id, lot_id=lot.id) < 1:
        errs.add(lot_field, _E + "no_stock", lot=lot.lot_number, point=point.name)
    return DoseInput(code, lot, on, None)


# --- numbers ------------------------------------------------------------------------------------------
def _next_sequence(session: Session, column: SQLColumnExpression[str | None], prefix: str, width: int) -> int:
    last = session.scalar(select(func.max(column)).where(column.like(like_prefix(prefix), escape="\\"),
                                                          func.length(column) == len(prefix) + width))
    return int(last[len(prefix):]) + 1 if last else 1


def next_birth_certificate_number(*, session: Session, year: int) -> str:
    prefix = f"{BIRTH_CERTIFICATE_LETTER}{year % 100:02d}"
    seq = _next_sequence(session, BirthRegistration.birth_certificate_number, prefix, 7)
    if seq > 9_999_999:
        raise InvalidInput("birth_certificate_number", _E + "birth_certificate_needed")
    return f"{prefix}{seq:07d}"


def next_certificate_number(*, session: Session, point: VaccinationPoint, birth_year: int) -> str:
    prefix = f"{point.serves_orgunit_code[:6]}{point.id:04d}{birth_year:04d}"
    seq = _next_sequence(session, VaccinationCertificate.number, prefix, 4)
    if point.id >= 10000 or seq > 9999:
        raise InvalidState(_E + "certificate_numbers_exhausted")
    return f"{prefix}{seq:04d}"


def register_newborn(*, session: Session, newborn_in: NewbornCreate, actor: Actor,
                     today: date | None = None) -> BirthRegistration:
    """The whole bundle, in one savepoint: nothing is kept when any part is refused (the form's fields:
    NewbornCreate)."""
    actor.require(PERMISSION)
    facility, point = delivery_point(session=session, actor=actor)
    today = today or clock.today()
    try:
        with session.begin_nested():
            data = validate(session=session, newborn_in=newborn_in, actor=actor, point=point, today=today)
            birth = _write(session, data, actor, facility, point, today)
    except IntegrityError:
        # Two desks took the same number (or the last dose of a lot) at once: the other one's stands.
        raise Conflict(_E + "concurrent_change") from None
    return birth


def _write(session: Session, data: NewbornData, actor: Actor, facility: Any, point: VaccinationPoint,
           today: date) -> BirthRegistration:
    mother = data.mother
    try:
        # A birth is a new person: twins share the provisional name (母亲名+之女), the birth date and the
        # household, so the desk does not stop at the probable-duplicate warning (residents.service).
        resident_in = build(residents_service.ResidentCreate, data.resident_values, confirm_probable_duplicate=True)
        child = residents_service.create(session=session, resident_in=resident_in, actor=actor)
    except InvalidInput as exc:
        raise InvalidInput(errors=[FieldError(_FORM_FIELD.get(e.field, e.field), e.reason_key, e.params)
                                   for e in exc.errors]) from None
    child.mother_id = mother.id
    number = data.birth_certificate_number or next_birth_certificate_number(
        session=session, year=data.birth_date.year)
    birth = BirthRegistration(child_id=child.id, mother_id=mother.id, facility_id=facility.id,
                              birth_certificate_number=number, born_at=data.born_at,
                              birth_weight_g=data.birth_weight_g, gestational_weeks=data.gestational_weeks,
                              created_by=actor.username)
    session.add(birth)
    session.flush()
    for dose in data.doses:
        _birth_dose(session, child, dose, data, point, actor, today)
    due.refresh_child(session=session, resident_id=child.id, on=today)
    certificate = VaccinationCertificate(
        resident_id=child.id, number=next_certificate_number(session=session, point=point,
                                                             birth_year=data.birth_date.year),
        issued_on=today, point_id=point.id)
    session.add(certificate)
    session.flush()
    household = mother.household
    village = orgunits_service.get(session=session, code=child.village_code)
    head = household.head if household is not None else None
    for department in DEPARTMENTS:
        packet = _packet(department, birth=birth, child=child, mother=mother, facility=facility,
                         village_name=village.name if village else child.village_code,
                         household_number=household.number if household else None,
                         address=household.address if household else None,
                         head_name=head.name if head is not None else None)
        session.add(Handoff(birth_id=birth.id, department=department, status="pending",
                            packet=json.dumps(packet, ensure_ascii=False, sort_keys=True)))
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="birth_registration",
                           entity_id=birth.id, resident_id=child.id,
                           basis=access.basis_for(actor, child.village_code) or "county",
                           detail={"mother_id": mother.id, "birth_certificate_number": number,
                                   "certificate": certificate.number,
                                   "doses": [d.vaccine for d in data.doses if d.skip_reason is None]})
    session.refresh(birth, attribute_names=["handoffs"])
    return birth


def _birth_dose(session: Session, child: Resident, dose: DoseInput, data: NewbornData, point: VaccinationPoint,
                actor: Actor, today: date) -> None:
    """Dose 1 of a birth vaccine through the vaccination records (lot, stock taken, audit), or the reason it
    was not given as a refusal; their refusals are reported under this form's field names."""
    prefix = dose.vaccine.lower()
    fields_map = {"given_at": f"{prefix}_date", "date": f"{prefix}_date", "lot_id": f"{prefix}_lot_id",
                  "reason": f"{prefix}_skip_reason"}
    try:
        if dose.skip_reason is not None:
            refusal = build(RefusalCreate, resident_id=child.id, vaccine=dose.vaccine, dose=1,
                            date=dose.on or data.birth_date, reason=dose.skip_reason)
            records.record_refusal(session=session, refusal_in=refusal, actor=actor, today=today)
            return
        if dose.on == data.birth_date:
            at = data.born_at  # at birth: within the first 24 hours, as the schedule asks
        else:
            at = min(datetime.combine(dose.on, time(9, 0), clock.zone()).astimezone(UTC), clock.now())
        site, route = DOSE_SITES[dose.vaccine]
        given = build(VaccinationCreate, resident_id=child.id, vaccine=dose.vaccine, dose=1, given_at=at, site=site,
                      route=route, lot_id=dose.lot.id, point_id=point.id)
        records.record_vaccination(session=session, vaccination_in=given, actor=actor, today=today)
    except InvalidInput as exc:
        raise InvalidInput(errors=[FieldError(fields_map.get(e.field, f"{prefix}_lot_id"), e.reason_key, e.params)
                                   for e in exc.errors]) from None


# --- hand-off packets ---------------------------------------------------------------------------------
def _packet(department: str, *, birth: BirthRegistration, child: Resident, mother: Resident, facility: Any,
            village_name: str, household_number: str | None, address: str | None,
            head_name: str | None) -> dict[str, Any]:
    """What each department needs from the registration (keys are translated as column heads)."""
    born_local = birth.born_at.astimezone(clock.zone())
    common = {
        "birth_certificate_number": birth.birth_certificate_number,
        "child_name": child.name,
        "child_sex": child.sex,
        "birth_date": born_local.date().isoformat(),
    }
    guardian = {"guardian_name": mother.name, "guardian_id_number": mother.id_number,
                "guardian_relation": "mother", "guardian_phone": mother.phone}
    if department == "household_registration":
        return {**common, "born_at": born_local.strftime("%Y-%m-%d %H:%M"), "birth_place": facility.name,
                "mother_name": mother.name, "mother_id_number": mother.id_number,
                "household_number": household_number, "householder_name": head_name,
                "relation_to_head": child.relation_to_head, "village_name": village_name, "address": address}
    if department == "insurance":
        return {**common, **guardian, "insurance_scheme": "resident", "village_name": village_name,
                "address": address}
    # social_security_card: the card carries the identity number the household registration gives.
    return {**common, **guardian, "mailing_address": address, "village_name": village_name,
            "id_number_from": "household_registration"}


# --- hand-offs ------------------------------------------------------------------------------------------
def set_handoff_status(*, session: Session, birth_id: int, department: str, handoff_in: HandoffStatusIn,
                       actor: Actor) -> Handoff:
    """Move a hand-off one step on: pending → sent → done. Never back, never a step skipped."""
    actor.require(PERMISSION)
    check_department(department)
    status = handoff_in.status
    birth, child = scoped_birth(session=session, birth_id=birth_id, actor=actor)
    handoff = next((h for h in birth.handoffs if h.department == department), None)
    if handoff is None:
        raise NotFound(_E + "handoff_not_found", birth_id=birth_id, department=department)
    if next_status(handoff.status) != status:
        raise InvalidState(_E + "handoff_transition", current=f"@immunization.newborn.status.{handoff.status}",
                           status=f"@immunization.newborn.status.{status}")
    before = handoff.status
    handoff.status = status
    handoff.updated_at = clock.now()
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="update", entity_type="birth_handoff",
                           entity_id=handoff.id, resident_id=child.id,
                           basis=access.basis_for(actor, child.village_code) or "county",
                           detail={"department": department, "from": before, "to": status})
    return handoff
