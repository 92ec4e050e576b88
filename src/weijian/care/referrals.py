"""Two-way referral (双向转诊): a referral up or down the care tiers, the receiving facility's answer under an
optimistic lock, the downward referral back home after an upward one, overdue rules, the desk inbox, the
access a referral gives to a resident's record, and the referral-count figure.

States: requested → accepted | rejected → arrived (接诊) → completed (discharge summary); the sender may cancel
while requested. Only the receiving facility answers; for a referral outside the county (no receiver in the
system) the sending facility records the outside hospital's answer.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from sqlalchemy import ColumnElement, Select, and_, case, false, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from weijian.accounts import service as accounts_service
from weijian.care import icd10
from weijian.care.models import Diagnosis, Encounter, Referral, Teleconsultation
from weijian.care.records import service as records
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.bounds import MAX_ID
from weijian.core.errors import Conflict, ErrorCollector, Forbidden, InvalidInput, InvalidState, NotFound, RulesInvalid
from weijian.core.i18n import DEFAULT_LOCALE, Translator, translate
from weijian.core.identifiers import division_level, division_range
from weijian.core.periods import parse_period
from weijian.orgunits import service as orgunits_service
from weijian.orgunits.models import Facility
from weijian.residents import service as residents_service

# The referral lists show whose referral it is and are scoped by the resident's village: a join, read only.
from weijian.residents.models import Resident

RULES_FILE = Path(__file__).resolve().parent / "data" / "referrals.yaml"
TIER_NAMES = ("village", "township", "county", "beyond")
DIRECTIONS = ("up", "down")
URGENCIES = ("routine", "urgent")
STATUSES = ("requested", "accepted", "rejected", "arrived", "completed", "cancelled")
OPEN_STATUSES = ("requested", "accepted", "arrived")  # the receiver still has work to do
# Referrals that were made and not withdrawn or refused: what the referral-count figure counts.
COUNTED_STATUSES = ("requested", "accepted", "arrived", "completed")
EXTRACT_LIMIT = 5  # encounters taken into a clinical summary when none are chosen
MAX_PAGE_SIZE = 100
TEXT_MAX = 2000
NAME_MAX = 100
DEPARTMENT_MAX = 50


# --- rules (data/referrals.yaml) -----------------------------------------------------------------
RulesError = RulesInvalid  # the rules file is malformed: the one rules-file error (core.errors)


@dataclass(frozen=True)
class Rules:
    version: int
    tiers: dict[str, int]  # tier name → rank (village 1 … beyond 4)
    facility_tiers: dict[str, str]  # facility type → tier name
    response_hours: dict[str, int]  # urgency → hours before a request is overdue
    consult_from: tuple[str, ...]
    consult_to: tuple[str, ...]
    worklist_reply_days: int

    def response_limit(self, urgency: str) -> timedelta:
        return timedelta(hours=self.response_hours.get(urgency, self.response_hours["routine"]))

    def tier_name(self, rank: int | None) -> str | None:
        return next((name for name, r in self.tiers.items() if r == rank), None)


def load_rules(path: Path = RULES_FILE) -> Rules:
    """Read and validate the rules file; RulesError names what is wrong."""
    def fail(reason: str) -> RulesInvalid:
        return RulesInvalid.one(path.name, "file", reason)

    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    tiers = data.get("tiers") or {}
    if set(tiers) != set(TIER_NAMES):
        raise fail(f"tiers must name exactly {', '.join(TIER_NAMES)}")
    if sorted(tiers.values()) != list(range(1, len(TIER_NAMES) + 1)) or \
            [tiers[n] for n in TIER_NAMES] != sorted(tiers.values()):
        raise fail("tiers must rank village 1, township 2, county 3, beyond 4")
    if "facility_tiers" in data:
        raise fail("facility_tiers: each facility type's tier is in orgunits/data/facility_types.yaml")
    # The tier of each facility type is the org-unit registry's (one facility classification).
    facility_tiers = {code: t for code in orgunits_service.reference().types
                      if (t := orgunits_service.facility_tier(code)) is not None}
    hours = dict(data.get("response_hours") or {})
    if set(hours) != set(URGENCIES):
        raise fail(f"response_hours must give {', '.join(URGENCIES)}")
    for urgency, h in hours.items():
        if not isinstance(h, int) or h <= 0:
            raise fail(f"response_hours.{urgency} must be a positive whole number of hours")
    consult = data.get("consultation") or {}
    consult_from = tuple(consult.get("from_tiers") or ())
    consult_to = tuple(consult.get("to_tiers") or ())
    if not consult_from or not consult_to or not set(consult_from + consult_to) <= set(tiers) - {"beyond"}:
        raise fail("consultation.from_tiers and to_tiers must list village, township or county")
    days = data.get("worklist_reply_days", 7)
    if not isinstance(days, int) or days < 0:
        raise fail("worklist_reply_days must be a whole number of days")
    return Rules(version=int(data.get("version") or 0), tiers=dict(tiers), facility_tiers=facility_tiers,
                 response_hours=hours, consult_from=consult_from, consult_to=consult_to,
                 worklist_reply_days=days)


@lru_cache(maxsize=1)
def rules() -> Rules:
    return load_rules(RULES_FILE)


def tier_of(facility_type: str | None) -> int | None:
    """The care tier (1 village … 3 county) of a facility type; None for cdc/other."""
    name = rules().facility_tiers.get(facility_type or "")
    return rules().tiers[name] if name else None


def tier_label_key(rank: int | None) -> str:
    return f"@care.referrals.tiers.{rules().tier_name(rank) or 'none'}"


# --- small helpers shared with teleconsult ---------------------------------------------------------
def as_int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        return None
    return number if abs(number) <= MAX_ID else None  # past the id columns the database refuses it


def as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in ("1", "true", "on", "yes")


def clean_text(value: Any) -> str:
    return str(value or "").strip()


def text_field(values: dict[str, Any], name: str, errs: ErrorCollector, *, required: bool,
               max_length: int = TEXT_MAX) -> str | None:
    text = clean_text(values.get(name))
    if not text:
        if required:
            errs.add(name, "core.errors.validation.missing")
        return None
    if len(text) > max_length:
        errs.add(name, "care.referrals.errors.too_long", max=max_length)
        return None
    return text


def urgency_field(values: dict[str, Any], errs: ErrorCollector) -> str:
    urgency = clean_text(values.get("urgency")) or "routine"
    if urgency not in URGENCIES:
        errs.add("urgency", "care.referrals.errors.urgency_unknown", value=urgency)
        return "routine"
    return urgency


def actor_facility(session: Session, actor: Actor) -> Facility:
    """The facility the actor works at; Forbidden when the user has none (a clinician's actions need one)."""
    if actor.facility_id is None:
        raise Forbidden("care.referrals.errors.no_facility")
    return orgunits_service.get_facility_or_raise(session=session, facility_id=actor.facility_id)


def facility_names(session: Session, ids: set[int | None]) -> dict[int, str]:
    out: dict[int, str] = {}
    for fid in ids:
        if fid is not None and (fac := orgunits_service.get_facility(session=session, facility_id=fid)):
            out[fid] = fac.name
    return out


def resident_in_scope(session: Session, actor: Actor, resident_id: int | None, *,
                      field: str = "resident_id") -> tuple[Resident, str]:
    """(resident, basis) for a resident the actor's org-unit scope covers; NotFound otherwise, as a missing
    record (a record outside the scope does not exist for the user)."""
    resident = session.get(Resident, resident_id) if resident_id is not None else None
    basis = residents_service.access_basis(actor, resident.village_code) if resident is not None else None
    if resident is None or basis is None:
        raise NotFound("residents.errors.not_found", resident_id=resident_id)
    if resident.status == "merged":
        raise InvalidInput(field, "care.referrals.errors.resident_merged")
    return resident, basis


# --- clinical summary from the record -------------------------------------------------------------
def record_extract(*, session: Session, resident_id: int, encounter_ids: list[int] | None = None,
                   limit: int = EXTRACT_LIMIT) -> list[dict[str, Any]]:
    """The resident's encounters as attached to a referral or consultation, newest first: the chosen ones,
    or the latest `limit`. Each: encounter_id, date, end_date, type, facility, department, diagnoses
    [{code, name}], note. InvalidInput on `encounter_ids` if one is not this resident's."""
    stmt = select(Encounter).where(Encounter.resident_id == resident_id)
    if encounter_ids:
        wanted = sorted(set(encounter_ids))
        stmt = stmt.where(Encounter.id.in_(wanted))
    stmt = stmt.order_by(Encounter.start_date.desc(), Encounter.id.desc())
    if not encounter_ids:
        stmt = stmt.limit(limit)
    encounters = list(session.scalars(stmt))
    if encounter_ids and len(encounters) != len(set(encounter_ids)):
        missing = sorted(set(encounter_ids) - {e.id for e in encounters})
        raise InvalidInput("encounter_ids", "care.referrals.errors.encounter_not_of_resident",
                           ids=", ".join(map(str, missing)))
    names = facility_names(session, {e.facility_id for e in encounters})
    diagnoses: dict[int, list[str]] = {}
    if encounters:
        for d in session.scalars(select(Diagnosis).where(Diagnosis.encounter_id.in_([e.id for e in encounters]))
                                 .order_by(Diagnosis.encounter_id, Diagnosis.seq)):
            diagnoses.setdefault(d.encounter_id, []).append(d.code)
    out = []
    for e in encounters:
        codes = diagnoses.get(e.id) or ([e.primary_diagnosis] if e.primary_diagnosis else [])
        out.append({
            "encounter_id": e.id, "date": e.start_date.isoformat(),
            "end_date": e.end_date.isoformat() if e.end_date else None, "type": e.type,
            "facility": names.get(e.facility_id) if e.facility_id else e.outside_facility_name,
            "department": e.department,
            "diagnoses": [{"code": c, "name": (icd10.get(c).name_zh if icd10.get(c) else c)} for c in codes],
            "note": e.note,
        })
    return out


def summary_text(note: str | None, extract: list[dict[str, Any]]) -> str | None:
    """The clinician's note followed by the record extract, one encounter a line. Written in the record's
    language (the default locale): it is part of a clinical document, not of the screen."""
    lines = [note] if note else []
    if extract:
        if lines:
            lines.append("")
        lines.append(translate("care.referrals.summary.from_record", DEFAULT_LOCALE))
        for e in extract:
            kind = translate(f"care.referrals.encounter_types.{e['type']}", DEFAULT_LOCALE)
            dx = "；".join(f"{d['code']} {d['name']}" for d in e["diagnoses"])
            parts = [e["date"], kind, e["facility"] or "", e["department"] or "", dx]
            lines.append(" ".join(p for p in parts if p))
    return "\n".join(lines) or None


# --- what a referral or consultation form offers ----------------------------------------------------
@dataclass
class FormResident:
    """The resident a referral or consultation form is about, and the encounters it would attach."""

    id: int
    name: str
    sex: str
    birth_date: date
    village_code: str
    extract: list[dict[str, Any]]


def form_resident(*, session: Session, actor: Actor, resident_id: Any, limit: int = 10) -> FormResident:
    """The resident (in the actor's scope) and their latest encounters, for a form: logged as a read."""
    resident, basis = resident_in_scope(session, actor, as_int(resident_id))
    extract = record_extract(session=session, resident_id=resident.id, limit=limit)
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="resident",
                           entity_id=resident.id, resident_id=resident.id, basis=basis,
                           detail={"for": "referral_form", "encounters": [e["encounter_id"] for e in extract]})
    return FormResident(resident.id, resident.name, resident.sex, resident.birth_date, resident.village_code,
                        extract)


def target_facilities(*, session: Session, actor: Actor, village_code: str | None = None,
                      tiers: tuple[str, ...] | None = None) -> list[tuple[str, list[tuple[int, str]]]]:
    """(tier name, [(facility id, name)]) a referral (or consultation: `tiers`) from the actor's facility may
    go to: other tiers than the actor's own; of the village clinics, only those of the resident's township
    (a county has hundreds)."""
    own = tier_of(actor_facility(session, actor).type)
    township = None
    if village_code:
        unit = orgunits_service.get(session=session, code=village_code)
        township = unit.parent_code if unit is not None else None
    groups: dict[str, list[tuple[int, str]]] = {}
    for fac in orgunits_service.list_facilities(session=session):
        rank = tier_of(fac.type)
        name = rules().tier_name(rank)
        if rank is None or (tiers is None and rank == own) or (tiers is not None and name not in tiers):
            continue
        if name == "village" and (township is None or not orgunits_service.in_scope(scope_code=township,
                                                                                    code=fac.orgunit_code)):
            continue
        groups.setdefault(name, []).append((fac.id, fac.name))
    return [(name, groups[name]) for name in TIER_NAMES if name in groups]


def default_direction(*, session: Session, actor: Actor) -> str:
    """What a new referral from the actor's facility most often is: down from the county, up otherwise."""
    return "down" if tier_of(actor_facility(session, actor).type) == rules().tiers["county"] else "up"


# --- create ---------------------------------------------------------------------------------------
def create(*, session: Session, values: dict[str, Any], actor: Actor, now: datetime | None = None) -> Referral:
    """Refer a resident from the actor's facility to another facility (and department) or outside the county.

    values: resident_id, direction (up|down), to_facility_id, to_department, out_of_county,
    outside_facility_name, reason, diagnosis (ICD-10), urgency (routine|urgent), summary (the clinician's
    note; the latest encounters of the record are appended). The direction must match the tiers."""
    actor.require("referral:create")
    return _create(session=session, values=values, actor=actor, now=now or clock.now(), parent=None)


def _create(*, session: Session, values: dict[str, Any], actor: Actor, now: datetime,
            parent: Referral | None) -> Referral:
    from_facility = actor_facility(session, actor)
    from_tier = tier_of(from_facility.type)
    if from_tier is None:
        raise Forbidden("care.referrals.errors.not_care_facility_actor")
    errs = ErrorCollector()
    resident_id = as_int(values.get("resident_id")) if parent is None else parent.resident_id
    if resident_id is None:
        errs.add("resident_id", "core.errors.validation.missing")
    direction = clean_text(values.get("direction")) if parent is None else "down"
    if not direction:
        errs.add("direction", "core.errors.validation.missing")
    elif direction not in DIRECTIONS:
        errs.add("direction", "care.referrals.errors.direction_unknown", value=direction)
    out_of_county = as_bool(values.get("out_of_county")) and parent is None
    to_facility = None
    to_tier: int | None = None
    outside_name = None
    raw_to = values.get("to_facility_id")
    if parent is not None and raw_to in (None, ""):
        raw_to = parent.from_facility_id  # back to the facility that sent the patient up
    if out_of_county:
        if raw_to not in (None, ""):
            errs.add("to_facility_id", "care.referrals.errors.out_of_county_with_facility")
        outside_name = text_field(values, "outside_facility_name", errs, required=True, max_length=NAME_MAX)
        to_tier = rules().tiers["beyond"]
    else:
        to_id = as_int(raw_to)
        if to_id is None:
            errs.add("to_facility_id", "core.errors.validation.missing" if raw_to in (None, "")
                     else "care.referrals.errors.facility_unknown", value=raw_to)
        else:
            to_facility = orgunits_service.get_facility(session=session, facility_id=to_id)
            if to_facility is None:
                errs.add("to_facility_id", "care.referrals.errors.facility_unknown", value=to_id)
            else:
                to_tier = tier_of(to_facility.type)
                if to_tier is None:
                    errs.add("to_facility_id", "care.referrals.errors.not_care_facility", name=to_facility.name)
    if to_tier is not None:
        if to_tier == from_tier:
            errs.add("to_facility_id", "care.referrals.errors.same_tier", tier=tier_label_key(to_tier))
        elif direction in DIRECTIONS:
            expected = "up" if to_tier > from_tier else "down"
            if direction != expected:
                errs.add("direction", "care.referrals.errors.direction_mismatch",
                         direction=f"@care.referrals.directions.{direction}",
                         expected=f"@care.referrals.directions.{expected}",
                         from_tier=tier_label_key(from_tier), to_tier=tier_label_key(to_tier))
    department = text_field(values, "to_department", errs, required=False, max_length=DEPARTMENT_MAX)
    reason = text_field(values, "reason", errs, required=True)
    diagnosis = None
    try:
        diagnosis = icd10.require(values.get("diagnosis"), field="diagnosis").code
    except InvalidInput as exc:
        errs.extend(exc)
    urgency = urgency_field(values, errs)
    note = text_field(values, "summary", errs, required=False)
    errs.raise_if_any()

    if parent is None:
        resident, basis = resident_in_scope(session, actor, resident_id)
    else:
        resident, basis = session.get(Resident, resident_id), "referral"
        if to_facility is not None and not _serves_home(session, to_facility, resident.village_code):
            raise InvalidInput("to_facility_id", "care.referrals.errors.not_home_facility", name=to_facility.name)
    extract = record_extract(session=session, resident_id=resident.id)
    referral = Referral(
        resident_id=resident.id, direction=direction, from_facility_id=from_facility.id,
        from_clinician_id=actor.user_id, from_clinician_name=_clinician_name(session, actor),
        to_facility_id=to_facility.id if to_facility is not None else None, to_department=department,
        out_of_county=out_of_county, outside_facility_name=outside_name, reason=reason, diagnosis=diagnosis,
        urgency=urgency, summary=summary_text(note, extract), status="requested", requested_at=now,
        parent_id=parent.id if parent is not None else None,
    )
    session.add(referral)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="referral",
                           entity_id=referral.id, resident_id=resident.id, basis=basis,
                           detail={"direction": direction, "to_facility_id": referral.to_facility_id,
                                   "out_of_county": out_of_county, "parent_id": referral.parent_id,
                                   "record_extract": [e["encounter_id"] for e in extract]})
    return referral


def _clinician_name(session: Session, actor: Actor) -> str:
    user = accounts_service.get(session=session, user_id=actor.user_id) if actor.user_id else None
    return user.full_name if user is not None else actor.username


def _serves_home(session: Session, facility: Facility, village_code: str) -> bool:
    """Whether a facility is at the resident's village or the village's township."""
    unit = orgunits_service.get(session=session, code=village_code)
    return facility.orgunit_code in {village_code, unit.parent_code if unit is not None else None}


def create_downward(*, session: Session, referral_id: int, values: dict[str, Any], actor: Actor,
                    now: datetime | None = None) -> Referral:
    """After a completed upward referral, the facility that received it refers the patient back down to the
    home village or township (by default the facility that sent them up) for rehabilitation and follow-up.
    values: to_facility_id (optional), to_department, reason, diagnosis (defaults to the upward one's),
    urgency, summary (e.g. the discharge advice)."""
    actor.require("referral:create")
    parent = _load(session, referral_id, actor)
    if parent.out_of_county or actor.facility_id is None or parent.to_facility_id != actor.facility_id:
        raise Forbidden("care.referrals.errors.not_receiver")
    if parent.direction != "up" or parent.status != "completed":
        raise InvalidState("care.referrals.errors.downward_needs_completed_upward")
    taken = session.scalar(select(Referral.id).where(Referral.parent_id == parent.id,
                                                     Referral.status.not_in(("rejected", "cancelled"))))
    if taken is not None:
        raise Conflict("care.referrals.errors.downward_exists", referral_id=taken)
    values = dict(values)
    values.setdefault("diagnosis", parent.diagnosis)
    if not clean_text(values.get("diagnosis")):
        values["diagnosis"] = parent.diagnosis
    if not clean_text(values.get("summary")) and parent.discharge_summary:
        values["summary"] = parent.discharge_summary
    return _create(session=session, values=values, actor=actor, now=now or clock.now(), parent=parent)


# --- the receiver's answer, the sender's cancel -----------------------------------------------------
def _load(session: Session, referral_id: int, actor: Actor) -> Referral:
    # populate_existing: the status is checked on the row as it is now, not on an object read earlier in
    # this session; the version read here is the one the UPDATE must still find. A referral the actor may
    # not see answers exactly as a missing one (404) for every verb, as `get` does: no existence oracle.
    referral = session.get(Referral, referral_id, populate_existing=True)
    if referral is None or not _is_visible(session, referral_id, actor):
        raise NotFound("care.referrals.errors.not_found", referral_id=referral_id)
    return referral


def _is_visible(session: Session, referral_id: int, actor: Actor) -> bool:
    return session.scalar(select(Referral.id).join(Resident, Resident.id == Referral.resident_id)
                          .where(Referral.id == referral_id, _visible(actor))) is not None


def _answering_facility(referral: Referral) -> int | None:
    # Outside the county nobody receives in weijian: the sender records what the outside hospital did.
    return referral.from_facility_id if referral.out_of_county else referral.to_facility_id


def _for_receiver(session: Session, referral_id: int, actor: Actor) -> Referral:
    actor.require("referral:respond")
    referral = _load(session, referral_id, actor)
    if actor.facility_id is None or actor.facility_id != _answering_facility(referral):
        raise Forbidden("care.referrals.errors.not_receiver")
    return referral


def _require_status(referral: Referral, *, action: str, allowed_from: tuple[str, ...], to_status: str) -> None:
    if referral.status not in allowed_from:
        if referral.status == to_status:
            raise Conflict("care.referrals.errors.already", status=f"@care.referrals.statuses.{to_status}")
        raise InvalidState("care.referrals.errors.bad_transition",
                           status=f"@care.referrals.statuses.{referral.status}",
                           action=f"@care.referrals.actions.{action}")


def _transition(session: Session, referral: Referral, *, action: str, allowed_from: tuple[str, ...],
                to_status: str, actor: Actor, version: int | None, apply: Callable[[Referral], None],
                detail: dict[str, Any] | None = None) -> Referral:
    """Move a referral to `to_status` if its current status allows `action`, under the optimistic lock: the
    UPDATE matches only the version this session read, so of two simultaneous answers exactly one lands and
    the other gets Conflict."""
    _require_status(referral, action=action, allowed_from=allowed_from, to_status=to_status)
    if version is not None and version != referral.version:
        raise Conflict("care.referrals.errors.stale_version")
    savepoint = session.begin_nested()
    apply(referral)
    referral.status = to_status
    try:
        session.flush()
    except StaleDataError:
        savepoint.rollback()
        raise Conflict("care.referrals.errors.concurrent_change", action=f"@care.referrals.actions.{action}") from None
    savepoint.commit()
    accounts_service.audit(session=session, actor=actor, action=action, entity_type="referral",
                           entity_id=referral.id, resident_id=referral.resident_id, basis="referral",
                           detail=detail)
    return referral


def accept(*, session: Session, referral_id: int, actor: Actor, now: datetime | None = None,
           version: int | None = None) -> Referral:
    """The receiving facility takes the patient. `version`: the version the user saw (optional)."""
    referral = _for_receiver(session, referral_id, actor)
    now = now or clock.now()

    def apply(r: Referral) -> None:
        r.responded_at, r.responded_by = now, actor.username

    return _transition(session, referral, action="accept", allowed_from=("requested",), to_status="accepted",
                       actor=actor, version=version, apply=apply)


def reject(*, session: Session, referral_id: int, reason: str | None, actor: Actor,
           now: datetime | None = None, version: int | None = None) -> Referral:
    """The receiving facility refuses, with a reason the sender reads."""
    referral = _for_receiver(session, referral_id, actor)
    _require_status(referral, action="reject", allowed_from=("requested",), to_status="rejected")
    errs = ErrorCollector()
    text = text_field({"reject_reason": reason}, "reject_reason", errs, required=True)
    errs.raise_if_any()
    now = now or clock.now()

    def apply(r: Referral) -> None:
        r.responded_at, r.responded_by, r.reject_reason = now, actor.username, text

    return _transition(session, referral, action="reject", allowed_from=("requested",), to_status="rejected",
                       actor=actor, version=version, apply=apply)


def arrive(*, session: Session, referral_id: int, actor: Actor, now: datetime | None = None,
           version: int | None = None) -> Referral:
    """The patient has arrived and been received (接诊). Outside the county, this records the stay there."""
    referral = _for_receiver(session, referral_id, actor)
    now = now or clock.now()

    def apply(r: Referral) -> None:
        r.arrived_at = now

    _transition(session, referral, action="arrive", allowed_from=("accepted",), to_status="arrived",
                actor=actor, version=version, apply=apply)
    if referral.out_of_county:
        _record_outside_stay(session, referral, actor, now)
    return referral


def _record_outside_stay(session: Session, referral: Referral, actor: Actor, now: datetime) -> None:
    """An inpatient stay outside the county (no facility_id), linked to the referral: the county retention rate
    (care.records.figures) counts it against the county. Discharged when the referral is completed."""
    stay = Encounter(resident_id=referral.resident_id, facility_id=None,
                     outside_facility_name=referral.outside_facility_name, type="inpatient",
                     start_date=clock.local_date(now), primary_diagnosis=referral.diagnosis,
                     note=referral.reason, referral_id=referral.id, created_by=actor.username,
                     diagnoses=[Diagnosis(seq=1, code=referral.diagnosis)] if referral.diagnosis else [])
    session.add(stay)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="encounter",
                           entity_id=stay.id, resident_id=referral.resident_id, basis="referral",
                           detail={"referral_id": referral.id, "outside_facility_name": stay.outside_facility_name})


def complete(*, session: Session, referral_id: int, discharge_summary: str | None, actor: Actor,
             now: datetime | None = None, version: int | None = None) -> Referral:
    """Care at the receiving facility is over (discharged), with a discharge summary."""
    referral = _for_receiver(session, referral_id, actor)
    _require_status(referral, action="complete", allowed_from=("arrived",), to_status="completed")
    errs = ErrorCollector()
    text = text_field({"discharge_summary": discharge_summary}, "discharge_summary", errs, required=True)
    errs.raise_if_any()
    now = now or clock.now()

    def apply(r: Referral) -> None:
        r.completed_at, r.discharge_summary = now, text

    _transition(session, referral, action="complete", allowed_from=("arrived",), to_status="completed",
                actor=actor, version=version, apply=apply)
    if referral.out_of_county:
        for stay in session.scalars(select(Encounter).where(Encounter.referral_id == referral.id,
                                                            Encounter.facility_id.is_(None),
                                                            Encounter.end_date.is_(None))):
            stay.end_date = max(stay.start_date, clock.local_date(now))
        session.flush()
    return referral


def cancel(*, session: Session, referral_id: int, actor: Actor, now: datetime | None = None,
           version: int | None = None) -> Referral:
    """The sending facility withdraws a referral nobody has answered yet."""
    actor.require("referral:create")
    referral = _load(session, referral_id, actor)
    if actor.facility_id is None or actor.facility_id != referral.from_facility_id:
        raise Forbidden("care.referrals.errors.not_sender")
    now = now or clock.now()

    def apply(r: Referral) -> None:
        r.responded_at, r.responded_by = now, actor.username

    return _transition(session, referral, action="cancel", allowed_from=("requested",), to_status="cancelled",
                       actor=actor, version=version, apply=apply)


def allowed_actions(referral: Referral, actor: Actor) -> list[str]:
    """What the actor may do with a referral now (the pages show these buttons; the service decides)."""
    out: list[str] = []
    here = actor.facility_id
    if here is not None and here == _answering_facility(referral) and actor.can("referral:respond"):
        out += {"requested": ["accept", "reject"], "accepted": ["arrive"],
                "arrived": ["complete"]}.get(referral.status, [])
    if here is not None and actor.can("referral:create"):
        if referral.status == "requested" and here == referral.from_facility_id:
            out.append("cancel")
        if referral.direction == "up" and referral.status == "completed" and not referral.out_of_county \
                and here == referral.to_facility_id:
            out.append("downward")
    return out


# --- overdue --------------------------------------------------------------------------------------
def deadline(referral: Referral | Teleconsultation) -> datetime:
    """When an unanswered request becomes overdue."""
    return referral.requested_at + rules().response_limit(referral.urgency)


def is_overdue(referral: Referral | Teleconsultation, now: datetime) -> bool:
    """Still waiting for an answer (requested) after its urgency's limit (2 h urgent, 24 h routine)."""
    return referral.status == "requested" and now > deadline(referral)


def overdue_condition(model: type[Referral] | type[Teleconsultation],
                      now: datetime) -> ColumnElement[bool]:
    """The SQL form of is_overdue for `model`'s rows."""
    return and_(model.status == "requested", or_(*(
        and_(model.urgency == urgency, model.requested_at < now - timedelta(hours=hours))
        for urgency, hours in rules().response_hours.items())))


# --- reads ----------------------------------------------------------------------------------------
@dataclass
class ReferralItem:
    """A referral as lists and pages show it."""

    referral: Referral
    resident_name: str
    village_code: str
    from_facility: str
    to_facility: str  # the facility's name, or the outside hospital's
    overdue: bool
    deadline: datetime

    @property
    def id(self) -> int:
        return self.referral.id


class Page(NamedTuple):
    items: list[Any]
    total: int
    page: int
    page_size: int

    @property
    def has_next(self) -> bool:
        return self.page * self.page_size < self.total


def _items(session: Session, rows: list[tuple[Referral, str, str]], now: datetime) -> list[ReferralItem]:
    names = facility_names(session, {r.from_facility_id for r, *_ in rows} | {r.to_facility_id for r, *_ in rows})
    return [ReferralItem(referral=r, resident_name=name, village_code=village,
                         from_facility=names.get(r.from_facility_id, ""),
                         to_facility=(r.outside_facility_name or "") if r.out_of_county
                         else names.get(r.to_facility_id, ""),
                         overdue=is_overdue(r, now), deadline=deadline(r))
            for r, name, village in rows]


def _visible(actor: Actor) -> ColumnElement[bool]:
    """Referrals an actor may see: sent or received by their facility, or of a resident in their scope."""
    conds = [orgunits_service.scope_condition(Resident.village_code, actor)]
    if actor.facility_id is not None:
        conds += [Referral.from_facility_id == actor.facility_id, Referral.to_facility_id == actor.facility_id]
    return or_(*conds)


def _base() -> Select[tuple[Referral, str, str]]:
    return select(Referral, Resident.name, Resident.village_code).join(Resident, Resident.id == Referral.resident_id)


def _read_basis(actor: Actor, village_code: str) -> str:
    """The actor's scope when it covers the resident; otherwise the referral itself (sent or received)."""
    return residents_service.access_basis(actor, village_code) or "referral"


def get(*, session: Session, referral_id: int, actor: Actor, now: datetime | None = None) -> ReferralItem:
    """One referral with its clinical summary: a read of the resident's record, audited."""
    actor.require("referral:read")
    row = session.execute(_base().where(Referral.id == referral_id, _visible(actor))).tuples().first()
    if row is None:
        raise NotFound("care.referrals.errors.not_found", referral_id=referral_id)
    referral, _, village = row
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="referral",
                           entity_id=referral.id, resident_id=referral.resident_id,
                           basis=_read_basis(actor, village))
    return _items(session, [row], now or clock.now())[0]


def children(*, session: Session, referral_id: int) -> list[Referral]:
    """The downward referrals made back from an upward one (part of a referral already read)."""
    return list(session.scalars(select(Referral).where(Referral.parent_id == referral_id).order_by(Referral.id)))


def list_referrals(*, session: Session, actor: Actor, box: str | None = None, status: str | None = None,
                   direction: str | None = None, resident_id: int | None = None, page: int = 1,
                   page_size: int = 20, now: datetime | None = None) -> Page:
    """Referrals the actor may see, newest first. box: "sent" (by the actor's facility), "received" (by it),
    or None (also those of residents in the actor's scope: a township's patients). Logged as one search."""
    actor.require("referral:read")
    errs = ErrorCollector()
    if box not in (None, "", "sent", "received"):
        errs.add("box", "care.referrals.errors.box_unknown", value=box)
    if status not in (None, "") and status not in STATUSES:
        errs.add("status", "care.referrals.errors.status_unknown", value=status)
    if direction not in (None, "") and direction not in DIRECTIONS:
        errs.add("direction", "care.referrals.errors.direction_unknown", value=direction)
    page_size = _page_size(page_size, errs)
    errs.raise_if_any()
    page = max(1, int(page or 1))
    conds = [_visible(actor)]
    if box == "sent":
        conds.append(Referral.from_facility_id == actor.facility_id if actor.facility_id else false())
    elif box == "received":
        conds.append(Referral.to_facility_id == actor.facility_id if actor.facility_id else false())
    if status:
        conds.append(Referral.status == status)
    if direction:
        conds.append(Referral.direction == direction)
    if resident_id is not None:
        conds.append(Referral.resident_id == resident_id)
    total = session.scalar(select(func.count()).select_from(
        select(Referral.id).join(Resident, Resident.id == Referral.resident_id).where(*conds).subquery())) or 0
    rows = list(session.execute(_base().where(*conds).order_by(Referral.requested_at.desc(), Referral.id.desc())
                                .offset((page - 1) * page_size).limit(page_size)).tuples())
    accounts_service.audit(session=session, actor=actor, action="search", entity_type="referral",
                           resident_id=resident_id, basis=residents_service.scope_basis(actor),
                           detail={"box": box, "status": status, "direction": direction, "page": page,
                                   "total": total}, shown=[r.resident_id for r, *_ in rows])
    return Page(_items(session, rows, now or clock.now()), total, page, page_size)


def _page_size(page_size: Any, errs: ErrorCollector) -> int:
    size = as_int(page_size) or 20
    if not 1 <= size <= MAX_PAGE_SIZE:
        errs.add("page_size", "care.referrals.errors.page_size", max=MAX_PAGE_SIZE)
    return size


@dataclass
class Inbox:
    page: Page
    overdue: int  # overdue referrals in the whole inbox, not only this page


def inbox(*, session: Session, actor: Actor, now: datetime | None = None, page: int = 1,
          page_size: int = 50) -> Inbox:
    """The referral desk: open referrals to the actor's facility: overdue ones first, then those waiting for an
    answer, then accepted and arrived ones; within each, urgent before routine, oldest first. Logged as one
    read."""
    actor.require("referral:respond")
    now = now or clock.now()
    errs = ErrorCollector()
    page_size = _page_size(page_size, errs)
    errs.raise_if_any()
    page = max(1, int(page or 1))
    if actor.facility_id is None:
        return Inbox(Page([], 0, page, page_size), 0)
    conds = [Referral.to_facility_id == actor.facility_id, Referral.status.in_(OPEN_STATUSES)]
    overdue = overdue_condition(Referral, now)
    order = (case((overdue, 0), (Referral.status == "requested", 1), else_=2),
             case((Referral.urgency == "urgent", 0), else_=1), Referral.requested_at, Referral.id)
    counts = session.execute(select(func.count(), func.count(case((overdue, 1))))
                             .select_from(Referral).where(*conds)).one()
    rows = list(session.execute(_base().where(*conds).order_by(*order)
                                .offset((page - 1) * page_size).limit(page_size)).tuples())
    items = _items(session, rows, now)
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="referral_inbox",
                           basis="referral", detail={"page": page, "total": counts[0], "overdue": counts[1]},
                           shown=[i.referral.resident_id for i in items])
    return Inbox(Page(items, counts[0], page, page_size), counts[1])


def downward_for_worklist(*, session: Session, actor: Actor, now: datetime | None = None,
                          limit: int = 200) -> list[ReferralItem]:
    """Open downward referrals to the actor's facility: follow-up tasks on the worklist, oldest first."""
    if actor.facility_id is None:
        return []
    rows = list(session.execute(_base().where(
        Referral.to_facility_id == actor.facility_id, Referral.direction == "down",
        Referral.status.in_(OPEN_STATUSES)).order_by(Referral.requested_at, Referral.id).limit(limit)).tuples())
    return _items(session, rows, now or clock.now())


# --- access given by a referral or consultation ----------------------------------------------------
def access_basis_for(*, session: Session, actor: Actor, resident_id: int) -> str | None:
    """"referral" when the actor's facility receives an open referral of the resident, else
    "teleconsultation" for an open consultation it was asked for, else None. Lets the receiving facility
    read the resident's record outside its org-unit scope."""
    if actor.facility_id is None:
        return None
    if session.scalar(select(Referral.id).where(
            Referral.resident_id == resident_id, Referral.to_facility_id == actor.facility_id,
            Referral.status.in_(OPEN_STATUSES)).limit(1)) is not None:
        return "referral"
    if session.scalar(select(Teleconsultation.id).where(
            Teleconsultation.resident_id == resident_id, Teleconsultation.to_facility_id == actor.facility_id,
            Teleconsultation.status.in_(("requested", "scheduled"))).limit(1)) is not None:
        return "teleconsultation"
    return None


# --- figure: upward and downward referral counts -----------------------------------------------------
def referral_counts(*, session: Session, actor: Actor, period: str, orgunit: str) -> dict[str, Any]:
    """Upward and downward referrals of the residents of an org unit (by the resident's village; a township or
    the county sums its villages) requested in a period (Asia/Shanghai days), and their ratio
    value = upward ÷ downward (None when there is no downward referral). Cancelled and rejected referrals
    are not counted; referrals outside the county are upward and are also given apart."""
    actor.require("stats:read")
    p = parse_period(period)
    code = clean_text(orgunit)
    try:
        division_level(code)
    except InvalidInput:
        raise InvalidInput("orgunit", "core.errors.division.format") from None
    if orgunits_service.get(session=session, code=code) is None:
        raise InvalidInput("orgunit", "care.referrals.errors.orgunit_unknown", code=code)
    if not orgunits_service.in_scope(scope_code=actor.scope_code, code=code):
        raise Forbidden("care.referrals.errors.orgunit_out_of_scope", code=code)
    lo, hi = division_range(code)
    start, end = clock.day_bounds(p.start, p.end)
    rows = session.execute(
        select(Referral.direction, Referral.out_of_county, func.count())
        .join(Resident, Resident.id == Referral.resident_id)
        .where(Resident.village_code >= lo, Resident.village_code <= hi,
               Referral.requested_at >= start, Referral.requested_at < end,
               Referral.status.in_(COUNTED_STATUSES))
        .group_by(Referral.direction, Referral.out_of_county)).all()
    up = sum(n for d, _, n in rows if d == "up")
    down = sum(n for d, _, n in rows if d == "down")
    outside = sum(n for d, o, n in rows if d == "up" and o)
    return {"figure": "referrals", "orgunit": code, "period": p.code, "numerator": up, "denominator": down,
            "value": round(up / down, 4) if down else None, "upward": up, "downward": down,
            "out_of_county": outside, "definition": "upward / downward"}


# --- the resident's timeline (care.records) ---------------------------------------------------------
def _timeline_rows(*, session: Session, resident_id: int, kinds: frozenset[str], facility_id: int | None,
                   limit: int, tr: Translator) -> list:
    stmt = (select(Referral).where(Referral.resident_id == resident_id)
            .order_by(Referral.requested_at.desc(), Referral.id.desc()).limit(limit))
    if facility_id is not None:
        stmt = stmt.where(or_(Referral.from_facility_id == facility_id, Referral.to_facility_id == facility_id))
    found = list(session.scalars(stmt))
    names = facility_names(session, {r.from_facility_id for r in found} | {r.to_facility_id for r in found})
    out = []
    for r in found:
        to = r.outside_facility_name if r.out_of_county else names.get(r.to_facility_id, "")
        dx = icd10.get(r.diagnosis)
        summary = tr("care.referrals.timeline.summary", direction=tr(f"care.referrals.directions.{r.direction}"),
                     source=names.get(r.from_facility_id, ""), target=to or "",
                     diagnosis=f"{r.diagnosis} {dx.name(tr.locale)}" if dx else (r.diagnosis or ""),
                     status=tr(f"care.referrals.statuses.{r.status}"))
        out.append(records.TimelineItem(
            date=clock.local_date(r.requested_at), kind="referral", summary=summary,
            link=f"/care/referrals/{r.id}", facility_id=r.from_facility_id, entity_id=r.id, at=r.requested_at,
            data={"direction": r.direction, "status": r.status, "from_facility_id": r.from_facility_id,
                  "to_facility_id": r.to_facility_id, "out_of_county": r.out_of_county, "diagnosis": r.diagnosis,
                  "urgency": r.urgency}))
    return out


# The rows this area adds to the resident's timeline (added by the composition root, weijian.wiring).
TIMELINE = records.timeline_source("referrals", ("referral",), _timeline_rows,
                                   {"referral": "care.referrals.timeline.kind"})
