"""Chronic-disease management (慢病管理): registering hypertension and type-2 diabetes patients, their
follow-ups with the control classification, the due/overdue worklist of a village doctor, and the two
rates counties report (规范管理率, 控制率). The rules are data: data/chronic_programs.yaml (国家基本公共卫生
服务规范 第三版), loaded and validated when this module is imported.

Definitions (the norms leave them open; the data file's header says the same):
- A patient is *under management in a period* when a registration of the programme was made on or before
  the period's end and not closed before its start. Rates count patients (residents), not registrations.
- 规范管理率 = patients with at least the required face-to-face follow-ups in the period ÷ patients under
  management. The required number is `follow_ups_per_year` for a year, pro-rated for a quarter
  (4 × 3/12 = 1); a month is refused (too short: a quarterly rhythm leaves most months empty).
- 控制率 = patients whose latest follow-up in the period (any method) is in control ÷ patients under
  management. A patient with no follow-up in the period counts in the denominator only.
- A higher level's rate is its summed numerators ÷ summed denominators, never an average of rates.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session, aliased

from weijian.accounts import service as accounts_service
from weijian.care.models import ChronicRegistration, FollowUp
from weijian.care.records import service as records
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.bounds import MAX_DATE, MIN_DATE, date_in_range, whole_number
from weijian.core.errors import ErrorCollector, Forbidden, InvalidInput, InvalidState, NotFound
from weijian.core.identifiers import division_level, division_range
from weijian.core.periods import Period, parse_period
from weijian.orgunits import service as orgunits_service
from weijian.residents import service as residents_service

# The residents table is joined for the org-unit scope (the rule is applied in the query, not after).
Resident = residents_service.Resident

RULES_FILE = Path(__file__).resolve().parent / "data" / "chronic_programs.yaml"
SOURCES = ("manual", "diagnosis")
STATUSES = ("ok", "due", "overdue")
MEASURES = ("sbp", "dbp", "fasting_glucose")
NOTE_MAX = 2000
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
    required: tuple[str, ...] = ()
    control: tuple[ControlRule, ...] = ()

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


def _load_rules(path: Path) -> Rules:
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
        programs[str(code)] = Program(str(code), zh, en, positive_int(spec.get("follow_ups_per_year"),
                                                                        f"{where}.follow_ups_per_year"),
                                      tuple(required), tuple(rules))
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
    return _load_rules(RULES_FILE)


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


# --- parsing raw values (forms send text, the API sends JSON) -------------------------------------------
def _date(raw: Any, name: str, errs: ErrorCollector, *, required: bool = True) -> dt.date | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            errs.add(name, "core.errors.validation.missing")
        return None
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    try:
        value = dt.date.fromisoformat(str(raw).strip().replace("/", "-"))
    except ValueError:
        errs.add(name, "core.errors.validation.date_parsing")
        return None
    if not date_in_range(value):
        errs.add(name, "core.errors.validation.date_out_of_range", min=MIN_DATE.isoformat(), max=MAX_DATE.isoformat())
        return None
    return value


def _measure(raw: Any, name: str, errs: ErrorCollector) -> int | Decimal | None:
    """A measured value: blank → None; refused when not a number, out of the plausible range, or with
    more decimals than the instrument shows (rounding could move a value across a control limit)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    spec = rules().measurements[name]
    if isinstance(raw, bool):
        errs.add(name, _E + "measurement_invalid")
        return None
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        errs.add(name, _E + "measurement_invalid")
        return None
    if not value.is_finite():
        errs.add(name, _E + "measurement_invalid")
        return None
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > spec.decimals:
        key = "measurement_decimals" if spec.decimals else "measurement_integer"
        errs.add(name, _E + key, decimals=spec.decimals)
        return None
    if not spec.min <= value <= spec.max:
        errs.add(name, _E + "measurement_range", min=spec.min, max=spec.max, unit=spec.unit)
        return None
    return int(value) if spec.decimals == 0 else value.quantize(Decimal(1).scaleb(-spec.decimals))


def _resident_id(raw: Any, errs: ErrorCollector) -> int | None:
    text = str(raw if raw is not None else "").strip()
    if not text:
        errs.add("resident_id", "core.errors.validation.missing")
        return None
    rid = None if isinstance(raw, bool) else whole_number(text)
    if rid is None:
        errs.add("resident_id", _E + "resident_not_found", resident_id=text)
    return rid


# --- scope --------------------------------------------------------------------------------------------
def _scope(actor: Actor) -> ColumnElement[bool]:
    """The actor's org-unit scope as a condition on the resident's village."""
    if actor.scope_code is not None and division_level(actor.scope_code) == "village":
        return Resident.village_code == actor.scope_code  # an equality the (village_code, name) index answers
    return orgunits_service.scope_condition(Resident.village_code, actor)


def _basis(actor: Actor, village_code: str, default: str = "county") -> str:
    return residents_service.access_basis(actor, village_code) or default


def _registration_in_scope(session: Session, registration_id: Any, actor: Actor,
                           *, for_update: bool = False) -> tuple[ChronicRegistration, Any]:
    """A registration and its resident; NotFound when missing or outside the actor's scope (the same
    answer either way, as for residents)."""
    try:
        rid = int(registration_id)
    except (TypeError, ValueError):
        raise NotFound(_E + "registration_not_found", registration_id=registration_id) from None
    stmt = (select(ChronicRegistration, Resident).join(Resident, Resident.id == ChronicRegistration.resident_id)
            .where(ChronicRegistration.id == rid, _scope(actor)))
    if for_update:
        stmt = stmt.with_for_update(of=ChronicRegistration)
    row = session.execute(stmt).first()
    if row is None:
        raise NotFound(_E + "registration_not_found", registration_id=registration_id)
    return row[0], row[1]


def _active_registration(session: Session, resident_id: int, program: str) -> ChronicRegistration | None:
    return session.scalars(
        select(ChronicRegistration).where(ChronicRegistration.resident_id == resident_id,
                                          ChronicRegistration.program == program,
                                          ChronicRegistration.status == "active")
        .order_by(ChronicRegistration.id).limit(1)).first()


# --- registration -------------------------------------------------------------------------------------
def register(*, session: Session, resident_id: Any, program: Any, registered_on: Any, source: str = "manual",
             actor: Actor, encounter_id: int | None = None, facility_id: int | None = None,
             today: dt.date | None = None) -> ChronicRegistration:
    """Put a resident under management in a programme (by hand, or `source="diagnosis"`). Refused, naming
    the field, for a resident outside the actor's scope or not active, an unknown programme, a date in the
    future or before birth, or an active registration in the same programme already."""
    actor.require("care:write")
    today = today or clock.today()
    errs = ErrorCollector()
    rid = _resident_id(resident_id, errs)
    prog = None
    try:
        prog = get_program(program)
    except InvalidInput as exc:
        errs.extend(exc)
    if source not in SOURCES:
        errs.add("source", _E + "source_unknown", value=source)
    on = _date(registered_on, "registered_on", errs)
    resident = None
    if rid is not None:
        resident = session.scalar(select(Resident).where(Resident.id == rid, _scope(actor)))
        if resident is None:
            errs.add("resident_id", _E + "resident_not_found", resident_id=rid)
        elif resident.status != "active":
            errs.add("resident_id", _E + "resident_inactive", status=f"@residents.status.{resident.status}")
    if on is not None:
        if on > today:
            errs.add("registered_on", _E + "date_future")
        elif resident is not None and on < resident.birth_date:
            errs.add("registered_on", _E + "before_birth")
    if resident is not None and prog is not None:
        existing = _active_registration(session, resident.id, prog.code)
        if existing is not None:
            errs.add("program", _E + "already_registered", program=f"@care.chronic.programs.{prog.code}",
                     date=existing.registered_on)
    errs.raise_if_any()
    assert resident is not None and prog is not None and on is not None
    registration = ChronicRegistration(
        resident_id=resident.id, program=prog.code, registered_on=on, source=source,
        encounter_id=encounter_id, facility_id=facility_id if facility_id is not None else actor.facility_id,
        status="active")
    session.add(registration)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="chronic_registration",
                           entity_id=registration.id, resident_id=resident.id,
                           basis=_basis(actor, resident.village_code),
                           detail={"program": prog.code, "source": source})
    return registration


def register_from_diagnosis(*, session: Session, resident_id: int, program: str, on: dt.date, encounter_id: int,
                            facility_id: int | None, actor: Actor) -> ChronicRegistration:
    """Register a resident whose encounter carries a diagnosis of a programme (icd10.chronic_program).
    Idempotent: an active registration of that programme is returned unchanged. The caller (the encounter)
    has already checked the actor's access to the resident, which may rest on a referral rather than
    scope, so no scope check is repeated here."""
    actor.require("care:write")
    prog = get_program(program)
    existing = _active_registration(session, resident_id, prog.code)
    if existing is not None:
        return existing
    resident = session.get(Resident, resident_id)
    if resident is None:
        raise NotFound("residents.errors.not_found", resident_id=resident_id)
    registration = ChronicRegistration(
        resident_id=resident.id, program=prog.code, registered_on=on, source="diagnosis",
        encounter_id=encounter_id, facility_id=facility_id, status="active")
    session.add(registration)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="chronic_registration",
                           entity_id=registration.id, resident_id=resident.id,
                           basis=_basis(actor, resident.village_code, default="encounter"),
                           detail={"program": prog.code, "source": "diagnosis", "encounter_id": encounter_id})
    return registration


def close(*, session: Session, registration_id: int, closed_on: Any, reason: Any, actor: Actor,
          today: dt.date | None = None) -> ChronicRegistration:
    """End management (died, moved out, diagnosis revised …). The date may not be in the future, before the
    registration or before its last follow-up; the reason is kept in the audit log."""
    actor.require("care:write")
    today = today or clock.today()
    registration, resident = _registration_in_scope(session, registration_id, actor, for_update=True)
    if registration.status != "active":
        raise InvalidState(_E + "already_closed", date=registration.closed_on)
    errs = ErrorCollector()
    on = _date(closed_on, "closed_on", errs)
    why = str(reason or "").strip()
    if not why:
        errs.add("reason", "core.errors.validation.missing")
    elif why not in rules().close_reasons:
        errs.add("reason", _E + "reason_unknown", value=why)
    if on is not None:
        last = session.scalar(select(func.max(FollowUp.date)).where(FollowUp.registration_id == registration.id))
        if on > today:
            errs.add("closed_on", _E + "date_future")
        elif on < registration.registered_on:
            errs.add("closed_on", _E + "before_registration", date=registration.registered_on)
        elif last is not None and on < last:
            errs.add("closed_on", _E + "before_last_follow_up", date=last)
    errs.raise_if_any()
    registration.status = "closed"
    registration.closed_on = on
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="close", entity_type="chronic_registration",
                           entity_id=registration.id, resident_id=resident.id,
                           basis=_basis(actor, resident.village_code), detail={"reason": why})
    return registration


# --- follow-ups ---------------------------------------------------------------------------------------
def record_follow_up(*, session: Session, registration_id: int, date: Any, sbp: Any = None, dbp: Any = None,
                     fasting_glucose: Any = None, method: Any = "clinic", actor: Actor, note: str | None = None,
                     clinician_name: str | None = None, facility_id: int | None = None,
                     today: dt.date | None = None) -> FollowUp:
    """Record one follow-up and classify it (in control or not) by the programme's rules. Every field is
    checked before anything is written and every refusal names its field: the date (required, not in the
    future, not before the registration, not after it was closed, not a second follow-up on the same day),
    the method, and the measurements (those the programme requires must be given; all must be plausible;
    the diastolic pressure must be below the systolic)."""
    actor.require("care:write")
    today = today or clock.today()
    registration, resident = _registration_in_scope(session, registration_id, actor)
    prog = get_program(registration.program)
    errs = ErrorCollector()
    on = _date(date, "date", errs)
    if on is not None:
        if on > today:
            errs.add("date", _E + "date_future")
        elif on < registration.registered_on:
            errs.add("date", _E + "before_registration", date=registration.registered_on)
        elif registration.closed_on is not None and on > registration.closed_on:
            errs.add("date", _E + "after_closed", date=registration.closed_on)
        elif session.scalar(select(FollowUp.id).where(FollowUp.registration_id == registration.id,
                                                      FollowUp.date == on).limit(1)) is not None:
            errs.add("date", _E + "duplicate_date", date=on)
    how = str(method or "").strip() or "clinic"
    if how not in rules().methods:
        errs.add("method", _E + "method_unknown", value=how)
    values = {"sbp": _measure(sbp, "sbp", errs), "dbp": _measure(dbp, "dbp", errs),
              "fasting_glucose": _measure(fasting_glucose, "fasting_glucose", errs)}
    given = {"sbp": sbp, "dbp": dbp, "fasting_glucose": fasting_glucose}
    for name in prog.required:
        blank = given[name] is None or (isinstance(given[name], str) and not given[name].strip())
        if blank:
            errs.add(name, _E + "measurement_required", program=f"@care.chronic.programs.{prog.code}")
    if values["sbp"] is not None and values["dbp"] is not None and values["dbp"] >= values["sbp"]:
        errs.add("dbp", _E + "dbp_not_below_sbp")
    text = (note or "").strip() or None
    if text is not None and len(text) > NOTE_MAX:
        errs.add("note", "core.errors.validation.string_too_long", max_length=NOTE_MAX)
    errs.raise_if_any()
    follow_up = FollowUp(
        registration_id=registration.id, resident_id=resident.id, date=on, method=how,
        sbp=values["sbp"], dbp=values["dbp"], fasting_glucose=values["fasting_glucose"],
        in_control=prog.in_control(values),
        facility_id=facility_id if facility_id is not None else actor.facility_id,
        clinician_name=(clinician_name or actor.username)[:64], note=text)
    session.add(follow_up)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="follow_up",
                           entity_id=follow_up.id, resident_id=resident.id,
                           basis=_basis(actor, resident.village_code),
                           detail={"registration_id": registration.id, "program": prog.code})
    return follow_up


# --- reads --------------------------------------------------------------------------------------------
@dataclass
class RegistrationView:
    """A registration with its resident and follow-ups (oldest first), and the worklist figures."""

    registration: ChronicRegistration
    resident: Any
    follow_ups: list[FollowUp]
    last_follow_up: dt.date | None
    next_due: dt.date | None  # None once closed
    status: str | None


def get_registration(*, session: Session, registration_id: int, actor: Actor,
                     as_of: dt.date | None = None) -> RegistrationView:
    """One registration with its follow-ups, logged as a read of the resident's record."""
    actor.require("care:read")
    registration, resident = _registration_in_scope(session, registration_id, actor)
    follow_ups = list(session.scalars(select(FollowUp).where(FollowUp.registration_id == registration.id)
                                      .order_by(FollowUp.date, FollowUp.id)))
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="chronic_registration",
                           entity_id=registration.id, resident_id=resident.id,
                           basis=_basis(actor, resident.village_code))
    f2f = rules().face_to_face
    last = max((f.date for f in follow_ups if f.method in f2f), default=None)
    next_due = status = None
    if registration.status == "active":
        next_due, _, status = schedule(registered_on=registration.registered_on, last_follow_up=last,
                                       as_of=as_of or clock.today())
    return RegistrationView(registration, resident, follow_ups, last, next_due, status)


def list_follow_ups(*, session: Session, registration_id: int, actor: Actor) -> list[FollowUp]:
    """A registration's follow-ups, newest first (a read of the resident's record, logged)."""
    return list(reversed(get_registration(session=session, registration_id=registration_id,
                                          actor=actor).follow_ups))


@dataclass(frozen=True)
class RegistrationRow:
    registration: ChronicRegistration
    resident_name: str
    village_code: str


def list_registrations(*, session: Session, actor: Actor, program: str | None = None, status: str | None = "active",
                       village_code: str | None = None, resident_id: int | None = None, page: int = 1,
                       page_size: int = 50) -> tuple[list[RegistrationRow], int]:
    """Registrations in the actor's scope (newest first) and their count; logged as one "list" event."""
    actor.require("care:read")
    conds = [_scope(actor)]
    if program:
        conds.append(ChronicRegistration.program == get_program(program).code)
    if status:
        if status not in ("active", "closed"):
            raise InvalidInput("status", _E + "status_unknown", value=status)
        conds.append(ChronicRegistration.status == status)
    if village_code:
        conds.append(Resident.village_code == village_code)
    if resident_id is not None:
        conds.append(ChronicRegistration.resident_id == resident_id)
    page, page_size = max(1, int(page or 1)), min(200, max(1, int(page_size or 50)))
    base = select(ChronicRegistration, Resident.name, Resident.village_code).join(
        Resident, Resident.id == ChronicRegistration.resident_id).where(*conds)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.execute(base.order_by(ChronicRegistration.registered_on.desc(), ChronicRegistration.id.desc())
                           .offset((page - 1) * page_size).limit(page_size)).all()
    accounts_service.audit(session=session, actor=actor, action="list", entity_type="chronic_registration",
                           basis=residents_service.scope_basis(actor),
                           detail={k: v for k, v in {"program": program, "status": status, "village_code": village_code,
                                                     "resident_id": resident_id, "page": page}.items() if v},
                           shown=[r[0].resident_id for r in rows])
    return [RegistrationRow(r[0], r[1], r[2]) for r in rows], total


# --- the due/overdue worklist -------------------------------------------------------------------------
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


@dataclass(frozen=True)
class DueItem:
    """One patient under management on the worklist."""

    registration_id: int
    resident_id: int
    resident_name: str
    sex: str
    birth_date: dt.date
    phone: str | None
    village_code: str
    program: str
    registered_on: dt.date
    last_follow_up: dt.date | None  # the latest face-to-face follow-up on or before as_of
    next_due: dt.date
    overdue_from: dt.date  # the first day the follow-up counts as overdue
    status: str  # ok | due | overdue
    as_of: dt.date

    @property
    def days_overdue(self) -> int:
        """Days past the due date (0 while not past it)."""
        return max(0, (self.as_of - self.next_due).days)


_STATUS_ORDER = {"overdue": 0, "due": 1, "ok": 2}


def due_follow_ups(*, session: Session, actor: Actor, as_of: dt.date, village_code: str | None = None,
                   program: str | None = None, statuses: Collection[str] | None = None) -> list[DueItem]:
    """The follow-up worklist: every patient under management on `as_of` in the actor's scope (optionally
    one village, one programme, some statuses), with the last face-to-face follow-up, the next due date and
    the status (overdue first, then due, then ok; earliest due first). Residents no longer active (died,
    moved out, merged) are left out. Logged as one "list" event."""
    actor.require("care:read")
    R = ChronicRegistration
    f2f = rules().face_to_face
    if statuses is not None:
        unknown = sorted(set(statuses) - set(STATUSES))
        if unknown:
            raise InvalidInput("status", _E + "status_unknown", value=", ".join(unknown))
    last = (select(func.max(FollowUp.date))
            .where(FollowUp.registration_id == R.id, FollowUp.date <= as_of, FollowUp.method.in_(f2f))
            .correlate(R).scalar_subquery())
    conds = [_scope(actor), Resident.status == "active", R.registered_on <= as_of,
             or_(R.closed_on.is_(None), R.closed_on > as_of)]
    if village_code:
        conds.append(Resident.village_code == village_code)
    if program:
        conds.append(R.program == get_program(program).code)
    rows = session.execute(
        select(R.id, R.resident_id, R.program, R.registered_on, Resident.name, Resident.sex, Resident.birth_date,
               Resident.phone, Resident.village_code, last.label("last"))
        .join(Resident, Resident.id == R.resident_id).where(*conds)).all()
    items = []
    for row in rows:
        next_due, overdue_from, status = schedule(registered_on=row.registered_on, last_follow_up=row.last,
                                                  as_of=as_of)
        if statuses is not None and status not in statuses:
            continue
        items.append(DueItem(row.id, row.resident_id, row.name, row.sex, row.birth_date, row.phone,
                             row.village_code, row.program, row.registered_on, row.last, next_due, overdue_from,
                             status, as_of))
    items.sort(key=lambda i: (_STATUS_ORDER[i.status], i.next_due, i.resident_name, i.registration_id))
    accounts_service.audit(session=session, actor=actor, action="list", entity_type="chronic_worklist",
                           basis=residents_service.scope_basis(actor),
                           detail={k: v for k, v in {"as_of": as_of.isoformat(), "village_code": village_code,
                                                     "program": program, "count": len(items)}.items() if v},
                           shown=[i.resident_id for i in items])
    return items


# --- the rates: 规范管理率 and 控制率 ----------------------------------------------------------------
@dataclass
class RateRow:
    """One org unit's counts for a programme and period (its whole subtree)."""

    code: str
    name: str
    level: str
    depth: int
    under_management: int = 0  # the denominator of both rates
    managed: int = 0  # with the required face-to-face follow-ups (规范管理)
    controlled: int = 0  # latest follow-up in the period in control

    @property
    def management_rate(self) -> float | None:
        return ratio(self.managed, self.under_management)

    @property
    def control_rate(self) -> float | None:
        return ratio(self.controlled, self.under_management)


def ratio(numerator: int, denominator: int) -> float | None:
    """A rate as a fraction rounded to 4 places (0.8125); None when there is nothing to divide by."""
    return None if not denominator else round(numerator / denominator, 4)


@dataclass
class RatesReport:
    program: str
    period: Period
    required_follow_ups: int
    rows: list[RateRow] = field(default_factory=list)  # the unit first, then its subtree depth-first

    @property
    def root(self) -> RateRow:
        return self.rows[0]


def _orgunit(session: Session, code: Any) -> Any:
    text = str(code or "").strip()
    if not text:
        raise InvalidInput("orgunit", "core.errors.validation.missing")
    unit = orgunits_service.get(session=session, code=text) if re.match(r"^\d{12}$", text) else None
    if unit is None:
        raise InvalidInput("orgunit", _E + "orgunit_unknown", code=text)
    return unit


def management_rates(*, session: Session, program: str, period: Period | str, orgunit_code: str,
                     actor: Actor | None = None) -> RatesReport:
    """规范管理率 and 控制率 of a programme for `orgunit_code` and every unit below it, for a year or a
    quarter. One grouped query counts all villages at once; townships and the county are the sums of
    their villages' numerators and denominators. With an actor, the unit must lie inside its scope."""
    prog = get_program(program)
    if isinstance(period, str):
        period = parse_period(period)
    required = prog.required_follow_ups(period)
    unit = _orgunit(session, orgunit_code)
    if actor is not None and not orgunits_service.in_scope(scope_code=actor.scope_code, code=unit.code):
        raise Forbidden(_E + "orgunit_out_of_scope")
    counts = _village_counts(session, prog, period, unit.code, required)
    roots = orgunits_service.tree(session=session, root_code=unit.code)
    report = RatesReport(prog.code, period, required)

    def walk(node: Any, depth: int) -> RateRow:
        row = RateRow(node.unit.code, node.unit.name, node.unit.level, depth)
        report.rows.append(row)
        own = counts.get(node.unit.code, (0, 0, 0))
        row.under_management, row.managed, row.controlled = own
        for child in node.children:
            sub = walk(child, depth + 1)
            row.under_management += sub.under_management
            row.managed += sub.managed
            row.controlled += sub.controlled
        return row

    for root in roots:
        walk(root, 0)
    return report


def _village_counts(session: Session, prog: Program, period: Period, orgunit_code: str,
                    required: int) -> dict[str, tuple[int, int, int]]:
    """village code → (under management, 规范管理, in control) for all villages under `orgunit_code`, in one
    grouped query. Inside it, one row per patient under management (a patient with two registrations in
    the period counts once): the face-to-face visits in the period and the date of the latest follow-up;
    that follow-up is then looked up through the patient's registrations of the programme and the date
    (indexed) for its classification — patients are counted DISTINCT, as a patient may have had several
    registrations. Aggregates and look-ups rather than a window over every follow-up of the period; no
    join between two derived tables (SQLite scans one of them for each row of the other)."""
    R, F = ChronicRegistration, FollowUp
    lo, hi = division_range(orgunit_code)
    f2f = rules().face_to_face
    per_patient = (
        select(R.resident_id.label("resident_id"), Resident.village_code.label("village_code"),
               func.sum(case((F.method.in_(f2f), 1), else_=0)).label("visits"),
               func.max(F.date).label("last"))
        .join(Resident, Resident.id == R.resident_id)
        .outerjoin(F, and_(F.registration_id == R.id, F.date >= period.start, F.date <= period.end))
        .where(R.program == prog.code, R.registered_on <= period.end,
               or_(R.closed_on.is_(None), R.closed_on >= period.start),
               Resident.status != "merged", Resident.village_code.between(lo, hi))
        .group_by(R.resident_id, Resident.village_code)
        .subquery("per_patient"))
    latest, latest_reg = aliased(FollowUp, name="latest"), aliased(ChronicRegistration, name="latest_reg")
    patient = per_patient.c.resident_id
    stmt = (
        select(per_patient.c.village_code, func.count(patient.distinct()).label("n"),
               func.count(case((per_patient.c.visits >= required, patient)).distinct()).label("managed"),
               # Two follow-ups on the latest day (two registrations, one closed that day): in control if any.
               func.count(case((latest.in_control.is_(True), patient)).distinct()).label("controlled"))
        .select_from(per_patient)
        .outerjoin(latest_reg, and_(latest_reg.resident_id == patient, latest_reg.program == prog.code))
        .outerjoin(latest, and_(latest.registration_id == latest_reg.id, latest.date == per_patient.c.last))
        .group_by(per_patient.c.village_code))
    return {row.village_code: (int(row.n), int(row.managed), int(row.controlled)) for row in session.execute(stmt)}


# (programme, which rate) of each figure the API serves.
FIGURES = {
    "hypertension_management_rate": ("hypertension", "management"),
    "hypertension_control_rate": ("hypertension", "control"),
    "diabetes_management_rate": ("diabetes", "management"),
    "diabetes_control_rate": ("diabetes", "control"),
}


def figure(*, session: Session, name: str, period: Period | str, orgunit_code: str | None = None,
           actor: Actor | None = None) -> dict[str, Any]:
    """One figure in the shape every care figure shares — {"figure", "orgunit", "period", "numerator",
    "denominator", "value"} (value a fraction to 4 places, or None) — with `children`, the same for each
    unit directly below. The unit defaults to the actor's scope."""
    if name not in FIGURES:
        raise NotFound(_E + "figure_unknown", name=name)
    program, which = FIGURES[name]
    code = orgunit_code or (actor.scope_code if actor is not None else None)
    report = management_rates(session=session, program=program, period=period, orgunit_code=code, actor=actor)

    def shape(row: RateRow) -> dict[str, Any]:
        numerator = row.managed if which == "management" else row.controlled
        return {"figure": name, "orgunit": row.code, "period": report.period.code, "numerator": numerator,
                "denominator": row.under_management, "value": ratio(numerator, row.under_management)}

    return {**shape(report.root), "children": [shape(r) for r in report.rows if r.depth == 1]}


# --- the resident's timeline (care.records) ------------------------------------------------------------
def _timeline_rows(*, session: Session, resident_id: int, kinds: frozenset[str], facility_id: int | None,
                   limit: int, tr: Any) -> list[Any]:
    """Registrations and follow-ups as timeline rows, newest first (records.timeline has checked access
    and logged the read)."""
    out: list[records.TimelineItem] = []
    if "chronic_registration" in kinds:
        stmt = (select(ChronicRegistration).where(ChronicRegistration.resident_id == resident_id)
                .order_by(ChronicRegistration.registered_on.desc(), ChronicRegistration.id.desc()).limit(limit))
        if facility_id is not None:
            stmt = stmt.where(ChronicRegistration.facility_id == facility_id)
        for r in session.scalars(stmt):
            parts = [tr(f"care.chronic.programs.{r.program}"), tr(f"care.chronic.sources.{r.source}")]
            if r.closed_on is not None:
                parts.append(tr("care.chronic.detail.closed", date=r.closed_on.isoformat()))
            out.append(records.TimelineItem(
                date=r.registered_on, kind="chronic_registration", summary=" · ".join(parts),
                link=f"/care/chronic/registrations/{r.id}", facility_id=r.facility_id, entity_id=r.id,
                at=r.created_at, data={"program": r.program, "source": r.source, "status": r.status,
                                       "closed_on": r.closed_on.isoformat() if r.closed_on else None}))
    if "follow_up" in kinds:
        fu_stmt = (select(FollowUp, ChronicRegistration.program)
                   .join(ChronicRegistration, ChronicRegistration.id == FollowUp.registration_id)
                   .where(FollowUp.resident_id == resident_id)
                   .order_by(FollowUp.date.desc(), FollowUp.id.desc()).limit(limit))
        if facility_id is not None:
            fu_stmt = fu_stmt.where(FollowUp.facility_id == facility_id)
        methods = method_labels(tr.locale)
        for f, program in session.execute(fu_stmt).tuples():
            parts = [tr(f"care.chronic.programs.{program}"), methods.get(f.method, f.method)]
            if f.sbp is not None and f.dbp is not None:
                parts.append(tr("care.chronic.timeline.bp", sbp=f.sbp, dbp=f.dbp))
            if f.fasting_glucose is not None:
                parts.append(tr("care.chronic.timeline.glucose", value=f.fasting_glucose))
            parts.append(tr("care.chronic.control.in" if f.in_control else "care.chronic.control.out"))
            if f.clinician_name:
                parts.append(f.clinician_name)
            out.append(records.TimelineItem(
                date=f.date, kind="follow_up", summary=" · ".join(parts),
                link=f"/care/chronic/registrations/{f.registration_id}", facility_id=f.facility_id,
                entity_id=f.id, at=f.created_at,
                data={"program": program, "method": f.method, "sbp": f.sbp, "dbp": f.dbp,
                      "fasting_glucose": None if f.fasting_glucose is None else str(f.fasting_glucose),
                      "in_control": f.in_control}))
    out.sort(key=lambda i: (i.date, i.at or clock.now(), i.entity_id or 0), reverse=True)
    return out[:limit]


# The rows this area adds to the resident's timeline (added by the composition root, weijian.wiring).
TIMELINE = records.timeline_source(
    "chronic", ("chronic_registration", "follow_up"), _timeline_rows,
    label_keys={"chronic_registration": "care.chronic.timeline.registration",
                "follow_up": "care.chronic.timeline.follow_up"})

rules()  # validated at start: a broken rules file stops the application, not a follow-up form
