"""Org units and facilities: the registry's writes and rules, and — re-exported from `rules` and `queries` —
what every other domain reads of it (the facility classification, the scope rules, org units, facilities).

The registry is not personal data: any logged-in user with `orgunit:read` sees the whole county; writes
need `orgunit:write` and stay inside the actor's scope. Facility capacity (beds, physicians) is kept as
dated snapshots so indicators for a past year use that year's figures.
"""
from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import ErrorCollector, Forbidden
from weijian.core.identifiers import division_level, division_range, township_kind, village_kind
from weijian.orgunits.models import Facility, FacilityCapacity, OrgUnit
from weijian.orgunits.queries import (
    CAPACITY_FIELDS,
    LEVELS,
    CapacityTotals,
    TreeNode,
    capacity_as_of,
    capacity_as_of_dates,
    capacity_history,
    find_node,
    get,
    get_facility,
    get_facility_or_raise,
    get_or_raise,
    in_scope,
    list_facilities,
    list_orgunits,
    scope_condition,
    subtree_condition,
    tree,
)
from weijian.orgunits.rules import (
    CARE_KINDS,
    REFERENCE_FILE,
    SETTLEMENT_LEVELS,
    TIERS,
    Choice,
    Reference,
    care_provided,
    facility_tier,
    grade_code,
    grade_labels,
    primary_care_types,
    reference,
    settlement_level,
    type_code,
    type_labels,
)
from weijian.orgunits.schemas import (
    COMMUNITY_ROLES,
    MAX_COUNT,
    URBAN_RURAL_CLASSES,
    CapacityRecord,
    FacilityCreate,
    FacilityUpdate,
    OrgUnitCreate,
    OrgUnitUpdate,
)

PARENT_LEVEL = {"township": "county", "village": "township"}
_FACILITY_CODE = re.compile(r"^[0-9A-Za-z-]{1,32}$")
_E = "orgunits.errors."


# --- org units ------------------------------------------------------------------------------------
def create_orgunit(*, session: Session, orgunit_in: OrgUnitCreate, actor: Actor) -> OrgUnit:
    """Add a county, township or village. The level and kind follow from the 12-digit code; a missing
    parent_code is derived from the code (bulk loads). Refusals name the field; nothing is written."""
    actor.require("orgunit:write")
    errs = ErrorCollector()
    code = orgunit_in.code
    level = division_level(code)
    if not in_scope(scope_code=actor.scope_code, code=code):
        errs.add("code", _E + "out_of_scope")
    elif get(session=session, code=code) is not None:
        errs.add("code", _E + "orgunit_code_taken", code=code)
    if orgunit_in.level is not None and orgunit_in.level != level:
        errs.add("level", _E + "level_mismatch", level=f"@orgunits.levels.{level}")
    _check_parent(session, code, level, orgunit_in.parent_code, errs)
    errs.raise_if_any()
    kind = {"county": None, "township": township_kind(code), "village": village_kind(code)}[level]
    unit = OrgUnit(code=code, name=orgunit_in.name, level=level, kind=kind,
                   parent_code=None if level == "county" else _expected_parent(code, level),
                   urban_rural_class=orgunit_in.urban_rural_class)
    session.add(unit)
    session.flush()
    return unit


def _expected_parent(code: str, level: str) -> str:
    return code[:6] + "000000" if level == "township" else code[:9] + "000"


def _check_parent(session: Session, code: str, level: str, given: str | None, errs: ErrorCollector) -> None:
    if level == "county":
        if given:
            errs.add("parent_code", _E + "county_has_no_parent")
        return
    parent_code = given or _expected_parent(code, level)
    parent = get(session=session, code=parent_code)
    if parent is None:
        errs.add("parent_code", _E + "parent_unknown", code=parent_code)
    elif parent.level != PARENT_LEVEL[level]:
        errs.add("parent_code", _E + "parent_level", level=f"@orgunits.levels.{PARENT_LEVEL[level]}")
    elif parent_code != _expected_parent(code, level):
        errs.add("parent_code", _E + "parent_prefix", code=code, parent=parent_code)


def update_orgunit(*, session: Session, code: str, orgunit_in: OrgUnitUpdate, actor: Actor) -> OrgUnit:
    """Change an org unit's name or urban–rural class (its code, level and parent are its identity)."""
    actor.require("orgunit:write")
    unit = get_or_raise(session=session, code=code)
    if not in_scope(scope_code=actor.scope_code, code=code):
        raise Forbidden(_E + "out_of_scope")
    for name, value in orgunit_in.model_dump(exclude_unset=True).items():
        setattr(unit, name, value)
    session.flush()
    return unit


# --- facilities -----------------------------------------------------------------------------------
def create_facility(*, session: Session, facility_in: FacilityCreate, actor: Actor) -> Facility:
    """Register a facility and its first capacity snapshot (dated `as_of`, default today)."""
    actor.require("orgunit:write")
    clean, as_of = _validate_facility(session, facility_in.model_dump(), current=None, actor=actor)
    figures = {k: clean.pop(k) for k in CAPACITY_FIELDS}
    facility = Facility(**clean, **figures)
    session.add(facility)
    session.flush()
    _record_capacity(session, facility, figures, as_of)
    return facility


def update_facility(*, session: Session, facility_id: int, facility_in: FacilityUpdate, actor: Actor) -> Facility:
    """Change the fields given of a facility. Capacity figures (or `as_of` alone) write the snapshot of
    `as_of` (default today); the facility's own figures follow its latest snapshot."""
    actor.require("orgunit:write")
    facility = get_facility_or_raise(session=session, facility_id=facility_id)
    if not in_scope(scope_code=actor.scope_code, code=facility.orgunit_code):
        raise Forbidden(_E + "out_of_scope")
    given = facility_in.model_dump(exclude_unset=True)
    clean, as_of = _validate_facility(session, given, current=facility, actor=actor)
    figures = {k: clean.pop(k) for k in CAPACITY_FIELDS if k in clean}
    for k, v in clean.items():
        setattr(facility, k, v)
    if figures or "as_of" in given:
        _record_capacity(session, facility, figures, as_of)
    session.flush()
    return facility


def record_capacity(*, session: Session, facility_id: int, capacity_in: CapacityRecord, actor: Actor) -> Facility:
    """Record beds and physicians as of a date (e.g. last year's year-end figures)."""
    values = {**capacity_in.model_dump(exclude_unset=True), "as_of": capacity_in.as_of or clock.today()}
    return update_facility(session=session, facility_id=facility_id,
                           facility_in=FacilityUpdate.model_validate(values), actor=actor)


def _validate_facility(session: Session, values: dict[str, Any], *, current: Facility | None,
                       actor: Actor) -> tuple[dict[str, Any], date]:
    """The checks the command leaves to the service — the code, type, grade and figures as sent, and the
    database's (a taken code, the org unit, the county's one lead) — all before anything is written, so
    that every refusal is reported at once. On create every field is given (defaults included)."""
    errs = ErrorCollector()
    out: dict[str, Any] = {k: values[k] for k in ("name", "community_role") if k in values}
    if "code" in values:
        code = values["code"] or ""
        if not code:
            errs.add("code", _E + "facility_code_required")
        elif not _FACILITY_CODE.match(code):
            errs.add("code", _E + "facility_code_format")
        else:
            other = session.scalar(select(Facility).where(Facility.code == code))
            if other is not None and other is not current:
                errs.add("code", _E + "facility_code_taken", code=code)
        out["code"] = code
    if "type" in values:
        raw = values["type"]
        out["type"] = type_code(raw)
        if not raw:
            errs.add("type", _E + "type_required")
        elif out["type"] is None:
            errs.add("type", _E + "type_unknown", value=raw)
    if "grade" in values:
        raw = values["grade"]
        out["grade"] = grade_code(raw) if raw else "ungraded"
        if out["grade"] is None:
            errs.add("grade", _E + "grade_unknown", value=raw)
    if "orgunit_code" in values:
        unit_code = values["orgunit_code"]
        if get(session=session, code=unit_code) is None:
            errs.add("orgunit_code", _E + "orgunit_unknown", code=unit_code)
        elif not in_scope(scope_code=actor.scope_code, code=unit_code):
            errs.add("orgunit_code", _E + "out_of_scope")
        out["orgunit_code"] = unit_code
    for name in CAPACITY_FIELDS:
        if name in values:
            out[name] = _count(values[name], name, errs)
    as_of = values.get("as_of") or clock.today()
    if as_of > clock.today():
        errs.add("as_of", _E + "as_of_future")

    # One lead hospital per county: checked on the facility as it will be after this change.
    role = out.get("community_role", current.community_role if current else "none")
    unit_code = out.get("orgunit_code", current.orgunit_code if current else "")
    if role == "lead" and re.match(r"^\d{12}$", unit_code or "") and "orgunit_code" not in {
            e.field for e in errs.errors}:
        lo, hi = division_range(unit_code[:6] + "000000")
        stmt = select(Facility).where(Facility.community_role == "lead", Facility.orgunit_code >= lo,
                                      Facility.orgunit_code <= hi)
        if current is not None:
            stmt = stmt.where(Facility.id != current.id)
        other = session.scalars(stmt.limit(1)).first()
        if other is not None:
            errs.add("community_role", _E + "lead_taken", name=other.name)
    errs.raise_if_any()
    return out, as_of


def _count(raw: int | str | None, name: str, errs: ErrorCollector) -> int:
    """A figure as sent (an int from JSON, text from a form), checked here beside the database's checks."""
    if isinstance(raw, int):
        n = raw
    else:
        text = (raw or "").strip()
        if not text:
            errs.add(name, _E + "count_required")
            return 0
        if not re.match(r"^[+-]?\d+$", text):
            errs.add(name, _E + "count_invalid")
            return 0
        n = int(text)  # at most FIGURE_DIGITS digits (the command)
    if n < 0:
        errs.add(name, _E + "count_negative")
    elif n > MAX_COUNT:
        errs.add(name, _E + "count_too_large", max=MAX_COUNT)
    return n


def _record_capacity(session: Session, facility: Facility, figures: dict[str, int], as_of: date) -> None:
    """Upsert the snapshot of `as_of` (fields not given keep the figures in effect on that date), then
    make the facility's own figures those of its latest snapshot."""
    base_row = session.scalars(
        select(FacilityCapacity).where(FacilityCapacity.facility_id == facility.id,
                                       FacilityCapacity.as_of <= as_of)
        .order_by(FacilityCapacity.as_of.desc()).limit(1)).first()
    base = base_row if base_row is not None else facility
    new = {name: figures.get(name, getattr(base, name)) for name in CAPACITY_FIELDS}
    if base_row is not None and base_row.as_of == as_of:
        row = base_row
        for k, v in new.items():
            setattr(row, k, v)
    else:
        row = FacilityCapacity(facility_id=facility.id, as_of=as_of, **new)
        session.add(row)
    session.flush()
    latest = session.scalar(select(func.max(FacilityCapacity.as_of))
                            .where(FacilityCapacity.facility_id == facility.id))
    if latest == as_of:
        for k, v in new.items():
            setattr(facility, k, v)
        session.flush()


__all__ = [
    "CAPACITY_FIELDS", "CARE_KINDS", "COMMUNITY_ROLES", "LEVELS", "MAX_COUNT", "PARENT_LEVEL", "REFERENCE_FILE",
    "SETTLEMENT_LEVELS", "TIERS", "URBAN_RURAL_CLASSES", "CapacityRecord", "CapacityTotals", "Choice",
    "FacilityCreate", "FacilityUpdate", "OrgUnitCreate", "OrgUnitUpdate", "Reference", "TreeNode",
    "capacity_as_of", "capacity_as_of_dates", "care_provided", "capacity_history", "create_facility", "create_orgunit",
    "facility_tier", "find_node", "get", "get_facility", "get_facility_or_raise", "get_or_raise", "grade_code",
    "grade_labels", "in_scope", "list_facilities", "list_orgunits", "primary_care_types", "record_capacity",
    "reference", "scope_condition", "settlement_level", "subtree_condition", "tree", "type_code", "type_labels",
    "update_facility", "update_orgunit",
]
