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
  issues a stand-in from a per-facility, per-year sequence: BIRTH_CERTIFICATE_LETTER + 2-digit year +
  3-digit facility id + 4-digit sequence (facilities with ids from 1000 must type the number).
- Vaccination certificate number (预防接种证编号): 18 digits shaped like the child codes of the
  immunization information systems: 6-digit county + 4-digit point id + 4-digit birth year + 4-digit
  sequence per point and year.
- A birth dose not given (refused, contraindicated — e.g. BCG for a very low birth weight — or deferred)
  is recorded as a refusal with its reason instead of a vaccination.
"""
from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import SQLColumnExpression, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from weijian.accounts import service as accounts_service
from weijian.core import clock, excel
from weijian.core.actor import Actor
from weijian.core.bounds import MAX_DATE, MIN_DATE, date_in_range, whole_number
from weijian.core.commands import build
from weijian.core.db import like_prefix
from weijian.core.errors import Conflict, ErrorCollector, FieldError, Forbidden, InvalidInput, InvalidState, NotFound
from weijian.core.i18n import Translator, translate
from weijian.core.identifiers import parse_id_number
from weijian.immunization import stock
from weijian.immunization.models import (
    BirthRegistration,
    Handoff,
    Refusal,
    Vaccination,
    VaccinationCertificate,
    VaccinationPoint,
    VaccineLot,
)
from weijian.immunization.records import service as records
from weijian.immunization.records.schemas import RefusalCreate, VaccinationCreate
from weijian.immunization.schedule import due, engine
from weijian.orgunits import service as orgunits_service
from weijian.residents import service as residents_service
from weijian.residents.models import Resident

PERMISSION = "newborn:register"
DEPARTMENTS = ("household_registration", "insurance", "social_security_card")
STATUSES = ("pending", "sent", "done")
_NEXT = {"pending": "sent", "sent": "done"}
# Facility types that deliver babies: county hospitals and township centres (where they still deliver).
DELIVERY_TYPES = ("county_general", "county_mch", "county_tcm", "township_centre")
BIRTH_DOSES = ("HepB", "BCG")
SKIP_REASONS = ("refused", "contraindication", "temporary_deferral")
# Where a birth dose goes and how (Vaccination.site / .route): HepB in the right deltoid muscle, BCG
# intradermally over the left deltoid.
DOSE_SITES = {"HepB": ("right_deltoid", "im"), "BCG": ("left_deltoid", "id")}
BIRTH_CERTIFICATE_LETTER = "W"
BIRTH_CERTIFICATE_RE = re.compile(r"^[A-Z]\d{9}$")
WEIGHT_RANGE = (300, 7000)  # grams
WEEKS_RANGE = (20, 45)
MAX_AGE_DAYS = 365  # a birth is registered within its first year
MOTHER_AGE_RANGE = (12, 55)  # a check on typing the wrong woman's number, not a medical rule
_E = "immunization.newborn.errors."


# --- form data --------------------------------------------------------------------------------------
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


def _text(values: dict[str, Any], key: str) -> str:
    raw = values.get(key)
    return "" if raw is None else str(raw).strip()


def _int(values: dict[str, Any], key: str, errs: ErrorCollector, *, required: bool = True,
         lo: int | None = None, hi: int | None = None) -> int | None:
    raw = values.get(key)
    text = "" if raw is None else str(raw).strip()
    if not text:
        if required:
            errs.add(key, _E + "required")
        return None
    if isinstance(raw, bool) or not re.fullmatch(r"\d{1,9}", text):
        errs.add(key, _E + "not_a_number")
        return None
    value = int(text)
    if lo is not None and hi is not None and not lo <= value <= hi:
        errs.add(key, _E + "out_of_range", min=lo, max=hi)
        return None
    return value


def _date(values: dict[str, Any], key: str, errs: ErrorCollector, *, required: bool = True) -> date | None:
    raw = values.get(key)
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    text = "" if raw is None else str(raw).strip()
    if not text:
        if required:
            errs.add(key, _E + "required")
        return None
    try:
        value = date.fromisoformat(text.replace("/", "-"))
    except ValueError:
        errs.add(key, _E + "date_invalid", value=text)
        return None
    if not date_in_range(value):
        errs.add(key, "core.errors.validation.date_out_of_range", min=MIN_DATE.isoformat(), max=MAX_DATE.isoformat())
        return None
    return value


def _time(values: dict[str, Any], key: str, errs: ErrorCollector) -> time | None:
    raw = values.get(key)
    if isinstance(raw, time):
        return raw
    text = "" if raw is None else str(raw).strip()
    if not text:
        errs.add(key, _E + "required")
        return None
    m = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", text)
    if m is None or int(m.group(1)) > 23 or int(m.group(2)) > 59 or int(m.group(3) or 0) > 59:
        errs.add(key, _E + "time_invalid", value=text)
        return None
    return time(int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _mother_field(values: dict[str, Any]) -> str:
    return "mother_id" if _text(values, "mother_id") else "mother_id_number"


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


# --- the delivery point -------------------------------------------------------------------------------
def delivery_point(*, session: Session, actor: Actor) -> tuple[Any, VaccinationPoint]:
    """(the actor's facility, its vaccination point): a newborn is registered where it was delivered,
    by a facility that delivers and vaccinates (its point gives the birth doses from its stock)."""
    actor.require(PERMISSION)
    facility = (orgunits_service.get_facility(session=session, facility_id=actor.facility_id)
                if actor.facility_id is not None else None)
    if facility is None or facility.type not in DELIVERY_TYPES:
        raise Forbidden(_E + "not_delivery_facility")
    point = stock.point_of_facility(session=session, facility_id=facility.id)
    if point is None or not point.active:
        raise Forbidden(_E + "no_vaccination_point", facility=facility.name)
    return facility, point


def birth_dose_lots(*, session: Session, point_id: int, on: date) -> dict[str, list[tuple[VaccineLot, int]]]:
    """For each birth dose, (lot, doses on hand) of the lots the point has in stock and not expired on `on`,
    first expiry first (the form's selects; the first is the one to use)."""
    return {code: stock.available_lots(session=session, point_id=point_id, vaccine=code, on=on)
            for code in BIRTH_DOSES}


# --- validation ---------------------------------------------------------------------------------------
def _find_mother(session: Session, values: dict[str, Any], actor: Actor, errs: ErrorCollector
                 ) -> Resident | None:
    raw_id = values.get("mother_id")
    id_text = "" if raw_id is None else str(raw_id).strip()
    number = _text(values, "mother_id_number")
    field_name = "mother_id" if id_text else "mother_id_number"
    if not id_text and not number:
        errs.add("mother_id_number", _E + "mother_required")
        return None
    if id_text:
        mother_id = whole_number(id_text)
        if mother_id is None:
            errs.add("mother_id", _E + "not_a_number")
            return None
        where = Resident.id == mother_id
    else:
        try:
            parsed = parse_id_number(number, field="mother_id_number")
        except InvalidInput as exc:
            errs.extend(exc)
            return None
        where = Resident.id_number == parsed.normalized
    found = session.scalar(select(Resident).where(where))
    if found is None:
        errs.add(field_name, _E + "mother_unknown")
        return None
    if residents_service.access_basis(actor, found.village_code) is None:
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


def validate(*, session: Session, values: dict[str, Any], actor: Actor, point: VaccinationPoint,
             today: date | None = None) -> NewbornData:
    """Check every field of the form; InvalidInput lists every bad one (nothing is written)."""
    today = today or clock.today()
    errs = ErrorCollector()
    mother = _find_mother(session, values, actor, errs)

    sex = _text(values, "sex") or None
    if sex is None:
        errs.add("sex", _E + "required")
    elif sex not in residents_service.SEXES:
        errs.add("sex", _E + "sex_invalid")
        sex = None

    birth_day = _date(values, "birth_date", errs)
    birth_time = _time(values, "birth_time", errs)
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
                errs.add(_mother_field(values), _E + "mother_age", age=age, min=MOTHER_AGE_RANGE[0],
                         max=MOTHER_AGE_RANGE[1])

    weight = _int(values, "birth_weight_g", errs, lo=WEIGHT_RANGE[0], hi=WEIGHT_RANGE[1])
    weeks = _int(values, "gestational_weeks", errs, lo=WEEKS_RANGE[0], hi=WEEKS_RANGE[1])

    number = _text(values, "birth_certificate_number").upper() or None
    if number is not None:
        if not BIRTH_CERTIFICATE_RE.match(number):
            errs.add("birth_certificate_number", _E + "birth_certificate_format")
        elif session.scalar(select(BirthRegistration.id)
                            .where(BirthRegistration.birth_certificate_number == number)):
            errs.add("birth_certificate_number", _E + "birth_certificate_taken", number=number)
    elif actor.facility_id is not None and actor.facility_id >= 1000:
        errs.add("birth_certificate_number", _E + "birth_certificate_needed")

    doses = [_dose(session, values, code, point, birth_day, today, errs) for code in BIRTH_DOSES]

    name = _text(values, "child_name")
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


_FORM_FIELD = {"name": "child_name", "village_code": "mother_id_number", "household_number": "mother_id_number",
               "relation_to_head": "mother_id_number"}


def _dose(session: Session, values: dict[str, Any], code: str, point: VaccinationPoint, birth_day: date | None,
          today: date, errs: ErrorCollector) -> DoseInput:
    prefix = code.lower()
    lot_field, date_field, skip_field = f"{prefix}_lot_id", f"{prefix}_date", f"{prefix}_skip_reason"
    skip = _text(values, skip_field) or None
    lot_text = _text(values, lot_field)
    if skip is not None:
        if skip not in SKIP_REASONS:
            errs.add(skip_field, _E + "skip_reason_invalid")
        elif lot_text:
            errs.add(lot_field, _E + "lot_and_skip")
        on = _date(values, date_field, errs, required=False) or birth_day
        return DoseInput(code, None, on, skip)
    if not lot_text:
        errs.add(lot_field, _E + "lot_required")
        return DoseInput(code, None, None, None)
    lot_id = whole_number(lot_text)
    if lot_id is None:
        errs.add(lot_field, _E + "not_a_number")
        return DoseInput(code, None, None, None)
    on = _date(values, date_field, errs, required=False) or birth_day
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
    if stock.balance(session=session, point_id=point.id, lot_id=lot.id) < 1:
        errs.add(lot_field, _E + "no_stock", lot=lot.lot_number, point=point.name)
    return DoseInput(code, lot, on, None)


# --- numbers ------------------------------------------------------------------------------------------
def _next_sequence(session: Session, column: SQLColumnExpression[str | None], prefix: str, width: int) -> int:
    last = session.scalar(select(func.max(column)).where(column.like(like_prefix(prefix), escape="\\"),
                                                          func.length(column) == len(prefix) + width))
    return int(last[len(prefix):]) + 1 if last else 1


def next_birth_certificate_number(*, session: Session, facility_id: int, year: int) -> str:
    prefix = f"{BIRTH_CERTIFICATE_LETTER}{year % 100:02d}{facility_id:03d}"
    seq = _next_sequence(session, BirthRegistration.birth_certificate_number, prefix, 4)
    if facility_id >= 1000 or seq > 9999:
        raise InvalidInput("birth_certificate_number", _E + "birth_certificate_needed")
    return f"{prefix}{seq:04d}"


def next_certificate_number(*, session: Session, point: VaccinationPoint, birth_year: int) -> str:
    prefix = f"{point.serves_orgunit_code[:6]}{point.id:04d}{birth_year:04d}"
    seq = _next_sequence(session, VaccinationCertificate.number, prefix, 4)
    if point.id >= 10000 or seq > 9999:
        raise InvalidState(_E + "certificate_numbers_exhausted")
    return f"{prefix}{seq:04d}"


# --- register -----------------------------------------------------------------------------------------
def register_newborn(*, session: Session, values: dict[str, Any], actor: Actor,
                     today: date | None = None) -> BirthRegistration:
    """The whole bundle, in one savepoint: nothing is kept when any part is refused. `values` holds the
    form's fields (mother_id or mother_id_number, child_name, sex, birth_date, birth_time, birth_weight_g,
    gestational_weeks, birth_certificate_number, and per birth dose <code>_lot_id, <code>_date,
    <code>_skip_reason with code hepb / bcg)."""
    actor.require(PERMISSION)
    facility, point = delivery_point(session=session, actor=actor)
    today = today or clock.today()
    try:
        with session.begin_nested():
            data = validate(session=session, values=values, actor=actor, point=point, today=today)
            birth = _write(session, data, actor, facility, point, today)
    except IntegrityError:
        # Two desks took the same number (or the last dose of a lot) at once: the other one's stands.
        raise Conflict(_E + "concurrent_change") from None
    return birth


def _write(session: Session, data: NewbornData, actor: Actor, facility: Any, point: VaccinationPoint,
           today: date) -> BirthRegistration:
    mother = data.mother
    try:
        resident_in = build(residents_service.ResidentCreate, data.resident_values)
        child = residents_service.create(session=session, resident_in=resident_in, actor=actor)
    except InvalidInput as exc:
        raise InvalidInput(errors=[FieldError(_FORM_FIELD.get(e.field, e.field), e.reason_key, e.params)
                                   for e in exc.errors]) from None
    child.mother_id = mother.id
    number = data.birth_certificate_number or next_birth_certificate_number(
        session=session, facility_id=facility.id, year=data.birth_date.year)
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
                           basis=residents_service.access_basis(actor, child.village_code) or "county",
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


# --- reads ----------------------------------------------------------------------------------------------
@dataclass
class RegistrationView:
    birth: BirthRegistration
    child: Resident
    mother: Resident
    facility_name: str
    certificate: VaccinationCertificate | None
    vaccinations: list[Vaccination]
    refusals: list[Refusal]
    schedule: list[engine.DoseStatus]
    handoffs: list[Handoff]
    as_of: date
    given: dict[tuple[str, int], Vaccination] = field(default_factory=dict)


def _scoped_birth(session: Session, birth_id: int, actor: Actor) -> tuple[BirthRegistration, Resident]:
    row = session.execute(
        select(BirthRegistration, Resident).join(Resident, Resident.id == BirthRegistration.child_id)
        .where(BirthRegistration.id == birth_id,
               orgunits_service.scope_condition(Resident.village_code, actor))
        .options(selectinload(BirthRegistration.handoffs))).first()
    if row is None:
        raise NotFound(_E + "not_found", birth_id=birth_id)
    return row[0], row[1]


def get_registration(*, session: Session, birth_id: int, actor: Actor, today: date | None = None,
                     overdue_rule: engine.OverdueRule | str | None = None) -> RegistrationView:
    """One registration with the child's certificate and schedule; logged as a read of the child.
    `overdue_rule`: settings.immunization_overdue_rule."""
    actor.require(PERMISSION)
    birth, child = _scoped_birth(session, birth_id, actor)
    mother = session.get(Resident, birth.mother_id)
    facility = orgunits_service.get_facility(session=session, facility_id=birth.facility_id)
    view = certificate_view(session=session, child=child, today=today, overdue_rule=overdue_rule)
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="birth_registration",
                           entity_id=birth.id, resident_id=child.id,
                           basis=residents_service.access_basis(actor, child.village_code) or "county")
    return RegistrationView(birth=birth, child=child, mother=mother, facility_name=facility.name if facility else "",
                            handoffs=sorted(birth.handoffs, key=lambda h: DEPARTMENTS.index(h.department)
                                            if h.department in DEPARTMENTS else 99), **view)


def certificate_view(*, session: Session, child: Resident, today: date | None = None,
                     overdue_rule: engine.OverdueRule | str | None = None) -> dict[str, Any]:
    """The printable certificate: its number, the doses given and the engine's row for every dose of the
    schedule (given / due / overdue / upcoming) on `today`. The caller has read (and logged) the child."""
    as_of = today or clock.today()
    certificate = session.scalar(select(VaccinationCertificate).where(VaccinationCertificate.resident_id == child.id))
    vaccinations = list(session.scalars(select(Vaccination).where(Vaccination.resident_id == child.id)
                                        .order_by(Vaccination.date, Vaccination.vaccine, Vaccination.dose)))
    refusals = list(session.scalars(select(Refusal).where(Refusal.resident_id == child.id)
                                    .order_by(Refusal.date, Refusal.id)))
    given = [engine.GivenDose(v.vaccine, v.dose, v.date) for v in vaccinations if v.date <= as_of]
    schedule = [r for r in engine.due(child.birth_date, given, max(as_of, child.birth_date),
                                      overdue_rule=engine.OverdueRule.of(overdue_rule))
                if r.status != engine.NOT_APPLICABLE]
    return {"certificate": certificate, "vaccinations": vaccinations, "refusals": refusals, "schedule": schedule,
            "as_of": as_of, "given": {(v.vaccine, v.dose): v for v in vaccinations}}


def list_registrations(*, session: Session, actor: Actor, limit: int = 50) -> list[tuple[BirthRegistration, Resident]]:
    """The latest registrations in the actor's scope (newest first); logged as one list read."""
    actor.require(PERMISSION)
    rows = list(session.execute(
        select(BirthRegistration, Resident).join(Resident, Resident.id == BirthRegistration.child_id)
        .where(orgunits_service.scope_condition(Resident.village_code, actor))
        .order_by(BirthRegistration.born_at.desc(), BirthRegistration.id.desc()).limit(max(1, min(limit, 500)))
        .options(selectinload(BirthRegistration.handoffs))).tuples())
    accounts_service.audit(session=session, actor=actor, action="list", entity_type="birth_registration",
                           basis=residents_service.scope_basis(actor), detail={"count": len(rows)},
                           shown=[child.id for _, child in rows])
    return rows


def next_status(status: str) -> str | None:
    """The one status a hand-off may move to from `status` (None when done)."""
    return _NEXT.get(status)


def _check_department(department: str) -> None:
    if department not in DEPARTMENTS:
        raise InvalidInput("department", _E + "department_unknown", value=department)


def _check_status(status: str, field_name: str = "status") -> None:
    if status not in STATUSES:
        raise InvalidInput(field_name, _E + "status_unknown", value=status)


@dataclass
class HandoffRow:
    handoff: Handoff
    birth: BirthRegistration
    child: Resident

    @property
    def packet(self) -> dict[str, Any]:
        return json.loads(self.handoff.packet or "{}")


def list_handoffs(*, session: Session, actor: Actor, department: str, status: str | None = None,
                  limit: int = 500) -> list[HandoffRow]:
    """One department's hand-offs in the actor's scope (oldest birth first), optionally of one status."""
    actor.require(PERMISSION)
    _check_department(department)
    conds = [Handoff.department == department, orgunits_service.scope_condition(Resident.village_code, actor)]
    if status:
        _check_status(status)
        conds.append(Handoff.status == status)
    rows = session.execute(
        select(Handoff, BirthRegistration, Resident)
        .join(BirthRegistration, BirthRegistration.id == Handoff.birth_id)
        .join(Resident, Resident.id == BirthRegistration.child_id)
        .where(*conds).order_by(BirthRegistration.born_at, Handoff.id).limit(max(1, min(limit, 5000)))).tuples()
    out = [HandoffRow(h, b, c) for h, b, c in rows]
    accounts_service.audit(session=session, actor=actor, action="list", entity_type="birth_handoff",
                           basis=residents_service.scope_basis(actor),
                           detail={"department": department, "status": status, "count": len(out)},
                           shown=[r.child.id for r in out])
    return out


def set_handoff_status(*, session: Session, birth_id: int, department: str, status: str, actor: Actor) -> Handoff:
    """Move a hand-off one step on: pending → sent → done. Never back, never a step skipped."""
    actor.require(PERMISSION)
    _check_department(department)
    _check_status(status)
    birth, child = _scoped_birth(session, birth_id, actor)
    handoff = next((h for h in birth.handoffs if h.department == department), None)
    if handoff is None:
        raise NotFound(_E + "handoff_not_found", birth_id=birth_id, department=department)
    if _NEXT.get(handoff.status) != status:
        raise InvalidState(_E + "handoff_transition", current=f"@immunization.newborn.status.{handoff.status}",
                           status=f"@immunization.newborn.status.{status}")
    before = handoff.status
    handoff.status = status
    handoff.updated_at = clock.now()
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="update", entity_type="birth_handoff",
                           entity_id=handoff.id, resident_id=child.id,
                           basis=residents_service.access_basis(actor, child.village_code) or "county",
                           detail={"department": department, "from": before, "to": status})
    return handoff


# --- export -----------------------------------------------------------------------------------------------
@dataclass
class PacketExport:
    department: str
    status: str
    packets: list[dict[str, Any]]  # each with the registration id and the hand-off's packet

    def columns(self) -> list[str]:
        keys: list[str] = ["registration_id"]
        for p in self.packets:
            keys += [k for k in p if k not in keys]
        return keys


def export_packets(*, session: Session, department: str, actor: Actor, status: str = "pending") -> PacketExport:
    """Every packet of one department in one status, for sending (identity numbers in full: the
    department needs them, so the export needs resident:read_identity and is logged per child)."""
    actor.require(PERMISSION)
    actor.require("resident:read_identity")
    _check_department(department)
    _check_status(status)
    rows = session.execute(
        select(Handoff, BirthRegistration, Resident)
        .join(BirthRegistration, BirthRegistration.id == Handoff.birth_id)
        .join(Resident, Resident.id == BirthRegistration.child_id)
        .where(Handoff.department == department, Handoff.status == status,
               orgunits_service.scope_condition(Resident.village_code, actor))
        .order_by(BirthRegistration.born_at, Handoff.id)).tuples()
    packets = []
    for handoff, birth, child in rows:
        packets.append({"registration_id": birth.id, **json.loads(handoff.packet or "{}")})
        accounts_service.audit(session=session, actor=actor, action="export", entity_type="birth_handoff",
                               entity_id=handoff.id, resident_id=child.id,
                               basis=residents_service.access_basis(actor, child.village_code) or "county",
                               detail={"department": department, "status": status})
    return PacketExport(department, status, packets)


_CODED = {"child_sex": "residents.sex.", "relation_to_head": "residents.relations.",
          "guardian_relation": "immunization.newborn.guardian.", "insurance_scheme": "residents.schemes.",
          "id_number_from": "immunization.newborn.departments."}


def packet_value(key: str, value: Any, tr: Translator) -> Any:
    """A packet's value as a person reads it (coded values translated)."""
    if value is None:
        return ""
    prefix = _CODED.get(key)
    return tr(prefix + str(value)) if prefix else value


def packets_json(export: PacketExport) -> str:
    """The export as JSON: {department, status, count, packets} (values as stored: codes, ISO dates)."""
    return json.dumps({"department": export.department, "status": export.status, "count": len(export.packets),
                       "packets": export.packets}, ensure_ascii=False)


def packets_xlsx(export: PacketExport, tr: Translator) -> bytes:
    """The export as one xlsx sheet: a heading row in the reader's language, one row per newborn."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(tr(f"immunization.newborn.departments.{export.department}")[:31])
    cols = export.columns()
    excel.append(ws, [tr(f"immunization.newborn.packet.{c}") for c in cols])
    for p in export.packets:
        excel.append(ws, [packet_value(c, p.get(c), tr) for c in cols])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
