"""Org units and facilities: the registry, and the scope rules every other domain applies in its queries.

The registry is not personal data: any logged-in user with `orgunit:read` sees the whole county; writes
need `orgunit:write` and stay inside the actor's scope. Facility capacity (beds, physicians) is kept as
dated snapshots so indicators for a past year use that year's figures.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import yaml
from sqlalchemy import ColumnElement, SQLColumnExpression, and_, exists, func, select
from sqlalchemy.orm import Session

from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.bounds import MAX_DATE, MIN_DATE, date_in_range
from weijian.core.errors import ErrorCollector, Forbidden, InvalidInput, NotFound
from weijian.core.identifiers import division_level, division_range, township_kind, village_kind
from weijian.orgunits.models import Facility, FacilityCapacity, OrgUnit

REFERENCE_FILE = Path(__file__).resolve().parent / "data" / "facility_types.yaml"
LEVELS = ("county", "township", "village")
TIERS = ("village", "township", "county")  # facility types' care tiers (data/facility_types.yaml)
SETTLEMENT_LEVELS = ("township", "county")
PARENT_LEVEL = {"township": "county", "village": "township"}
COMMUNITY_ROLES = ("lead", "member", "none")
# NBS urban–rural classification codes (城乡分类代码).
URBAN_RURAL_CLASSES = ("111", "112", "121", "122", "123", "210", "220")
CAPACITY_FIELDS = ("beds_approved", "beds_open", "physicians", "assistant_physicians")
FACILITY_FIELDS = ("code", "name", "type", "grade", "orgunit_code", "community_role", *CAPACITY_FIELDS,
                   "as_of")
ORGUNIT_FIELDS = ("code", "name", "level", "parent_code", "urban_rural_class")
ORGUNIT_EDITABLE = ("name", "urban_rural_class")
# A ceiling well above any county's figures, and inside a 32-bit INTEGER column.
MAX_COUNT = 100_000
_FACILITY_CODE = re.compile(r"^[0-9A-Za-z-]{1,32}$")


# --- reference data (facility types, grades) -----------------------------------------------------
@dataclass(frozen=True)
class Choice:
    code: str
    zh: str
    en: str
    aliases: tuple[str, ...] = ()
    # Facility types only (see the data file): the care tier, the settlement level, primary care.
    tier: str | None = None
    settlement_level: str | None = None
    primary_care: bool = False

    def label(self, locale: str) -> str:
        return self.en if locale == "en" else self.zh


@dataclass(frozen=True)
class Reference:
    version: int
    types: dict[str, Choice]
    grades: dict[str, Choice]


@lru_cache(maxsize=1)
def reference() -> Reference:
    """Facility types and grades from data/facility_types.yaml, validated (ValueError naming the file)."""
    data = yaml.safe_load(REFERENCE_FILE.read_text(encoding="utf-8")) or {}

    def fail(msg: str) -> None:
        raise ValueError(f"{REFERENCE_FILE}: {msg}")

    if not isinstance(data.get("version"), int):
        fail("`version` must be an integer")
    out: dict[str, dict[str, Choice]] = {}
    for section, required in (("types", "other"), ("grades", "ungraded")):
        entries = data.get(section)
        if not isinstance(entries, dict) or not entries:
            fail(f"`{section}` must be a non-empty mapping")
        choices: dict[str, Choice] = {}
        seen_labels: set[str] = set()
        for code, spec in entries.items():
            if not isinstance(code, str) or not re.match(r"^[a-z0-9_]{1,16}$", code):
                fail(f"{section}: code {code!r} must be lower-case letters, digits or _ (at most 16)")
            if not isinstance(spec, dict) or not spec.get("zh") or not spec.get("en"):
                fail(f"{section}.{code} needs both `zh` and `en` labels")
            aliases = tuple(str(a) for a in spec.get("aliases") or ())
            for label in (spec["zh"], *aliases):
                if label in seen_labels:
                    fail(f"{section}.{code}: label {label!r} is used twice")
                seen_labels.add(label)
            extra: dict[str, Any] = {}
            if section == "types":
                for key, allowed in (("tier", TIERS), ("settlement_level", SETTLEMENT_LEVELS)):
                    if key not in spec or spec[key] not in (*allowed, None):
                        fail(f"types.{code}.{key} must be one of {', '.join(allowed)} or null")
                    extra[key] = spec[key]
                if not isinstance(spec.get("primary_care"), bool):
                    fail(f"types.{code}.primary_care must be true or false")
                extra["primary_care"] = spec["primary_care"]
            choices[code] = Choice(code, str(spec["zh"]), str(spec["en"]), aliases, **extra)
        if required not in choices:
            fail(f"`{section}` must include `{required}`")
        out[section] = choices
    return Reference(version=data["version"], types=out["types"], grades=out["grades"])


def facility_tier(facility_type: str | None) -> str | None:
    """The care tier (village, township, county) of a facility type; None: not a care tier."""
    choice = reference().types.get(facility_type or "")
    return choice.tier if choice else None


def settlement_level(facility_type: str | None) -> str | None:
    """The policy level (township, county) a stay at a facility of this type settles at; None: by grade."""
    choice = reference().types.get(facility_type or "")
    return choice.settlement_level if choice else None


def primary_care_types() -> tuple[str, ...]:
    """The facility types that are primary care (基层医疗卫生机构), in the data file's order."""
    return tuple(c.code for c in reference().types.values() if c.primary_care)


def type_labels(locale: str) -> dict[str, str]:
    return {c.code: c.label(locale) for c in reference().types.values()}


def grade_labels(locale: str) -> dict[str, str]:
    return {c.code: c.label(locale) for c in reference().grades.values()}


def _choice_code(choices: dict[str, Choice], value: Any) -> str | None:
    """The code for a code, its Chinese label or an alias; None when unknown."""
    v = str(value or "").strip()
    if v in choices:
        return v
    return next((c.code for c in choices.values() if v == c.zh or v in c.aliases), None)


def type_code(value: Any) -> str | None:
    return _choice_code(reference().types, value)


def grade_code(value: Any) -> str | None:
    return _choice_code(reference().grades, value)


# --- scope ----------------------------------------------------------------------------------------
def in_scope(*, scope_code: str | None, code: str) -> bool:
    """Whether org unit `code` lies inside `scope_code` (a county, township or village); None: all."""
    if scope_code is None:
        return True
    lo, hi = division_range(scope_code)
    return lo <= code <= hi


def scope_condition(column: SQLColumnExpression[str], actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause limiting a 12-digit org-unit code column to the actor's scope (index-friendly)."""
    if actor.scope_code is None:
        return and_(True)
    lo, hi = division_range(actor.scope_code)
    return and_(column >= lo, column <= hi)


def _subtree_condition(column: SQLColumnExpression[str], code: str | None) -> ColumnElement[bool]:
    if code is None:
        return and_(True)
    lo, hi = division_range(code)
    return and_(column >= lo, column <= hi)


# --- org units: reads -----------------------------------------------------------------------------
def get(*, session: Session, code: str) -> OrgUnit | None:
    return session.get(OrgUnit, code)


def get_or_raise(*, session: Session, code: str) -> OrgUnit:
    unit = get(session=session, code=code)
    if unit is None:
        raise NotFound("orgunits.errors.orgunit_not_found", code=code)
    return unit


def list_orgunits(*, session: Session, level: str | None = None, parent_code: str | None = None) -> list[OrgUnit]:
    if level is not None and level not in LEVELS:
        raise InvalidInput("level", "orgunits.errors.level_unknown", level=level)
    stmt = select(OrgUnit).order_by(OrgUnit.code)
    if level is not None:
        stmt = stmt.where(OrgUnit.level == level)
    if parent_code is not None:
        stmt = stmt.where(OrgUnit.parent_code == parent_code)
    return list(session.scalars(stmt))


@dataclass
class CapacityTotals:
    beds_approved: int = 0
    beds_open: int = 0
    physicians: int = 0
    assistant_physicians: int = 0
    facilities: int = 0

    def add(self, other: Any) -> None:
        """Add a facility, a snapshot or another total (anything with the four capacity attributes)."""
        for name in CAPACITY_FIELDS:
            setattr(self, name, getattr(self, name) + (getattr(other, name) or 0))
        self.facilities += other.facilities if isinstance(other, CapacityTotals) else 1

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in (*CAPACITY_FIELDS, "facilities")}


@dataclass
class TreeNode:
    """An org unit with its children and facilities; `totals` cover the whole subtree (current figures)."""

    unit: OrgUnit
    children: list[TreeNode] = field(default_factory=list)
    facilities: list[Facility] = field(default_factory=list)
    totals: CapacityTotals = field(default_factory=CapacityTotals)

    @property
    def own_totals(self) -> CapacityTotals:
        t = CapacityTotals()
        for f in self.facilities:
            t.add(f)
        return t


def tree(*, session: Session, root_code: str | None = None) -> list[TreeNode]:
    """County → townships → villages with their facilities and subtree totals, in two queries.

    Returns the roots (counties, or the unit `root_code`), children ordered by code."""
    units = session.scalars(
        select(OrgUnit).where(_subtree_condition(OrgUnit.code, root_code)).order_by(OrgUnit.code)).all()
    facilities = session.scalars(
        select(Facility).where(_subtree_condition(Facility.orgunit_code, root_code))
        .order_by(Facility.orgunit_code, Facility.code)).all()
    nodes = {u.code: TreeNode(unit=u) for u in units}
    for f in facilities:
        if f.orgunit_code in nodes:
            nodes[f.orgunit_code].facilities.append(f)
    roots: list[TreeNode] = []
    for u in units:  # ordered by code, so children come out ordered too
        parent = nodes.get(u.parent_code) if u.parent_code and u.code != root_code else None
        (parent.children if parent is not None else roots).append(nodes[u.code])
    for root in roots:
        _sum_subtree(root)
    return roots


def _sum_subtree(node: TreeNode) -> CapacityTotals:
    total = node.own_totals
    for child in node.children:
        total.add(_sum_subtree(child))
    node.totals = total
    return total


def find_node(roots: list[TreeNode], code: str) -> TreeNode | None:
    stack = list(roots)
    while stack:
        node = stack.pop()
        if node.unit.code == code:
            return node
        stack.extend(node.children)
    return None


# --- org units: writes ----------------------------------------------------------------------------
def create_orgunit(*, session: Session, values: dict[str, Any], actor: Actor) -> OrgUnit:
    """Add a county, township or village. The level and kind follow from the 12-digit code; a missing
    parent_code is derived from the code (bulk loads). Refusals name the field; nothing is written."""
    actor.require("orgunit:write")
    errs = ErrorCollector()
    _refuse_unknown_keys(values, ORGUNIT_FIELDS, errs)
    code = str(values.get("code") or "").strip()
    level = None
    try:
        level = division_level(code)
    except InvalidInput as exc:
        errs.extend(exc)
    if level is not None:
        if not in_scope(scope_code=actor.scope_code, code=code):
            errs.add("code", "orgunits.errors.out_of_scope")
        elif get(session=session, code=code) is not None:
            errs.add("code", "orgunits.errors.orgunit_code_taken", code=code)
        given_level = str(values.get("level") or "").strip()
        if given_level and given_level != level:
            errs.add("level", "orgunits.errors.level_mismatch", level=f"@orgunits.levels.{level}")
        _check_parent(session, code, level, values.get("parent_code"), errs)
    name = _clean_name(values.get("name"), errs)
    urban_rural = _clean_urban_rural(values.get("urban_rural_class"), errs)
    errs.raise_if_any()
    assert level is not None
    kind = {"county": None, "township": township_kind(code), "village": village_kind(code)}[level]
    unit = OrgUnit(code=code, name=name, level=level, kind=kind,
                   parent_code=None if level == "county" else _expected_parent(code, level),
                   urban_rural_class=urban_rural)
    session.add(unit)
    session.flush()
    return unit


def _expected_parent(code: str, level: str) -> str:
    return code[:6] + "000000" if level == "township" else code[:9] + "000"


def _check_parent(session: Session, code: str, level: str, raw: Any, errs: ErrorCollector) -> None:
    parent_code = str(raw or "").strip()
    if level == "county":
        if parent_code:
            errs.add("parent_code", "orgunits.errors.county_has_no_parent")
        return
    parent_code = parent_code or _expected_parent(code, level)
    parent = get(session=session, code=parent_code)
    if parent is None:
        errs.add("parent_code", "orgunits.errors.parent_unknown", code=parent_code)
    elif parent.level != PARENT_LEVEL[level]:
        errs.add("parent_code", "orgunits.errors.parent_level", level=f"@orgunits.levels.{PARENT_LEVEL[level]}")
    elif parent_code != _expected_parent(code, level):
        errs.add("parent_code", "orgunits.errors.parent_prefix", code=code, parent=parent_code)


def update_orgunit(*, session: Session, code: str, values: dict[str, Any], actor: Actor) -> OrgUnit:
    """Change an org unit's name or urban–rural class (its code, level and parent are its identity)."""
    actor.require("orgunit:write")
    unit = get_or_raise(session=session, code=code)
    if not in_scope(scope_code=actor.scope_code, code=code):
        raise Forbidden("orgunits.errors.out_of_scope")
    errs = ErrorCollector()
    _refuse_unknown_keys(values, ORGUNIT_EDITABLE, errs, key="orgunits.errors.field_not_editable")
    changes: dict[str, Any] = {}
    if "name" in values:
        changes["name"] = _clean_name(values["name"], errs)
    if "urban_rural_class" in values:
        changes["urban_rural_class"] = _clean_urban_rural(values["urban_rural_class"], errs)
    errs.raise_if_any()
    for k, v in changes.items():
        setattr(unit, k, v)
    session.flush()
    return unit


def _clean_name(raw: Any, errs: ErrorCollector) -> str:
    name = str(raw or "").strip()
    if not name:
        errs.add("name", "orgunits.errors.name_required")
    elif len(name) > 100:
        errs.add("name", "orgunits.errors.name_too_long", max=100)
    return name


def _clean_urban_rural(raw: Any, errs: ErrorCollector) -> str | None:
    value = str(raw or "").strip() or None
    if value is not None and value not in URBAN_RURAL_CLASSES:
        errs.add("urban_rural_class", "orgunits.errors.urban_rural_unknown", value=value)
    return value


def _refuse_unknown_keys(values: dict[str, Any], allowed: tuple[str, ...], errs: ErrorCollector,
                         key: str = "orgunits.errors.unknown_field") -> None:
    for k in values:
        if k not in allowed:
            errs.add(str(k), key)


# --- facilities: reads ----------------------------------------------------------------------------
def get_facility(*, session: Session, facility_id: int) -> Facility | None:
    return session.get(Facility, facility_id)


def get_facility_or_raise(*, session: Session, facility_id: int) -> Facility:
    facility = get_facility(session=session, facility_id=facility_id)
    if facility is None:
        raise NotFound("orgunits.errors.facility_not_found", facility_id=facility_id)
    return facility


def list_facilities(*, session: Session, orgunit_code: str | None = None, type: str | None = None,
                    under: str | None = None) -> list[Facility]:
    """Facilities of one org unit (`orgunit_code`), of a whole subtree (`under`), of one type."""
    stmt = select(Facility).order_by(Facility.orgunit_code, Facility.code)
    if orgunit_code is not None:
        stmt = stmt.where(Facility.orgunit_code == orgunit_code)
    if under is not None:
        try:
            stmt = stmt.where(_subtree_condition(Facility.orgunit_code, under))
        except InvalidInput:
            raise InvalidInput("under", "core.errors.division.format") from None
    if type is not None:
        code = type_code(type)
        if code is None:
            raise InvalidInput("type", "orgunits.errors.type_unknown", value=type)
        stmt = stmt.where(Facility.type == code)
    return list(session.scalars(stmt))


def capacity_history(*, session: Session, facility_id: int) -> list[FacilityCapacity]:
    return list(session.scalars(select(FacilityCapacity).where(FacilityCapacity.facility_id == facility_id)
                                .order_by(FacilityCapacity.as_of)))


# --- facilities: writes ---------------------------------------------------------------------------
def create_facility(*, session: Session, values: dict[str, Any], actor: Actor) -> Facility:
    """Register a facility and its first capacity snapshot (dated `as_of`, default today)."""
    actor.require("orgunit:write")
    clean, as_of = _validate_facility(session, values, current=None, actor=actor)
    figures = {k: clean.pop(k) for k in CAPACITY_FIELDS}
    facility = Facility(**clean, **figures)
    session.add(facility)
    session.flush()
    _record_capacity(session, facility, figures, as_of)
    return facility


def update_facility(*, session: Session, facility_id: int, values: dict[str, Any], actor: Actor) -> Facility:
    """Change some of a facility's fields. Capacity figures (or `as_of` alone) write the snapshot of
    `as_of` (default today); the facility's own figures follow its latest snapshot."""
    actor.require("orgunit:write")
    facility = get_facility_or_raise(session=session, facility_id=facility_id)
    if not in_scope(scope_code=actor.scope_code, code=facility.orgunit_code):
        raise Forbidden("orgunits.errors.out_of_scope")
    clean, as_of = _validate_facility(session, values, current=facility, actor=actor)
    figures = {k: clean.pop(k) for k in CAPACITY_FIELDS if k in clean}
    for k, v in clean.items():
        setattr(facility, k, v)
    if figures or "as_of" in values:
        _record_capacity(session, facility, figures, as_of)
    session.flush()
    return facility


def record_capacity(*, session: Session, facility_id: int, figures: dict[str, Any], as_of: date | None,
                    actor: Actor) -> Facility:
    """Record beds and physicians as of a date (e.g. last year's year-end figures)."""
    return update_facility(session=session, facility_id=facility_id,
                           values={**figures, "as_of": as_of or clock.today()}, actor=actor)


def _validate_facility(session: Session, values: dict[str, Any], *, current: Facility | None,
                       actor: Actor) -> tuple[dict[str, Any], date]:
    """Every field checked before anything is written; on create missing fields take defaults."""
    creating = current is None
    errs = ErrorCollector()
    _refuse_unknown_keys(values, FACILITY_FIELDS, errs)
    out: dict[str, Any] = {}

    def given(name: str) -> bool:
        return name in values

    if creating or given("code"):
        code = str(values.get("code") or "").strip()
        if not code:
            errs.add("code", "orgunits.errors.facility_code_required")
        elif not _FACILITY_CODE.match(code):
            errs.add("code", "orgunits.errors.facility_code_format")
        else:
            other = session.scalar(select(Facility).where(Facility.code == code))
            if other is not None and other is not current:
                errs.add("code", "orgunits.errors.facility_code_taken", code=code)
        out["code"] = code
    if creating or given("name"):
        out["name"] = _clean_name(values.get("name"), errs)
    if creating or given("type"):
        raw = values.get("type")
        code = type_code(raw)
        if not str(raw or "").strip():
            errs.add("type", "orgunits.errors.type_required")
        elif code is None:
            errs.add("type", "orgunits.errors.type_unknown", value=raw)
        out["type"] = code
    if creating or given("grade"):
        raw = values.get("grade")
        code = grade_code(raw) if str(raw or "").strip() else "ungraded"
        if code is None:
            errs.add("grade", "orgunits.errors.grade_unknown", value=raw)
        out["grade"] = code
    if creating or given("orgunit_code"):
        unit_code = str(values.get("orgunit_code") or "").strip()
        if not unit_code:
            errs.add("orgunit_code", "orgunits.errors.orgunit_required")
        elif get(session=session, code=unit_code) is None:
            errs.add("orgunit_code", "orgunits.errors.orgunit_unknown", code=unit_code)
        elif not in_scope(scope_code=actor.scope_code, code=unit_code):
            errs.add("orgunit_code", "orgunits.errors.out_of_scope")
        out["orgunit_code"] = unit_code
    if creating or given("community_role"):
        role = str(values.get("community_role") or "").strip() or "none"
        if role not in COMMUNITY_ROLES:
            errs.add("community_role", "orgunits.errors.community_role_unknown", value=role)
        out["community_role"] = role
    for name in CAPACITY_FIELDS:
        if given(name):
            out[name] = _count(values[name], name, errs)
        elif creating:
            out[name] = 0
    as_of = _as_of(values.get("as_of"), errs)

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
            errs.add("community_role", "orgunits.errors.lead_taken", name=other.name)
    errs.raise_if_any()
    return out, as_of


def _count(raw: Any, name: str, errs: ErrorCollector) -> int:
    if isinstance(raw, bool):
        errs.add(name, "orgunits.errors.count_invalid")
        return 0
    if isinstance(raw, int):
        n = raw
    else:
        text = str(raw if raw is not None else "").strip()
        if not text:
            errs.add(name, "orgunits.errors.count_required")
            return 0
        if not re.match(r"^[+-]?\d+$", text):
            errs.add(name, "orgunits.errors.count_invalid")
            return 0
        if len(text) > len(str(MAX_COUNT)) + 1:  # int() refuses 4,300 digits and more: a 500
            errs.add(name, "orgunits.errors.count_too_large", max=MAX_COUNT)
            return 0
        n = int(text)
    if n < 0:
        errs.add(name, "orgunits.errors.count_negative")
    elif n > MAX_COUNT:
        errs.add(name, "orgunits.errors.count_too_large", max=MAX_COUNT)
    return n


def _as_of(raw: Any, errs: ErrorCollector) -> date:
    today = clock.today()
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return today
    if isinstance(raw, date):
        value = raw
    else:
        try:
            value = date.fromisoformat(str(raw).strip().replace("/", "-"))
        except ValueError:
            errs.add("as_of", "orgunits.errors.as_of_invalid")
            return today
    if not date_in_range(value):
        errs.add("as_of", "core.errors.validation.date_out_of_range", min=MIN_DATE.isoformat(),
                 max=MAX_DATE.isoformat())
        return today
    if value > today:
        errs.add("as_of", "orgunits.errors.as_of_future")
    return value


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


# --- capacity as of a date ------------------------------------------------------------------------
def capacity_as_of(*, session: Session, as_of: date, scope_code: str | None = None) -> dict[str, CapacityTotals]:
    """Beds and physicians per org unit (each unit's whole subtree) from each facility's latest snapshot
    on or before `as_of`. A facility with no snapshot by then is not counted, except one with no history
    at all (loaded straight into the table), which counts with its current figures.

    Every org unit inside `scope_code` (all when None) is in the result, with zeros where it has none."""
    return capacity_as_of_dates(session=session, dates=[as_of], scope_code=scope_code)[as_of]


def capacity_as_of_dates(*, session: Session, dates: list[date], scope_code: str | None = None
                         ) -> dict[date, dict[str, CapacityTotals]]:
    """capacity_as_of for several dates, reading the snapshots once (a year's twelve month ends)."""
    fc = FacilityCapacity
    snapshots: dict[int, list] = {}
    # Plain objects, not result rows: CapacityTotals.add reads four attributes of each, many times.
    for fid, as_of, *figures in session.execute(
            select(fc.facility_id, fc.as_of, *(getattr(fc, n) for n in CAPACITY_FIELDS))
            .where(fc.as_of <= max(dates)).order_by(fc.facility_id, fc.as_of)).tuples():
        snapshots.setdefault(fid, []).append(
            SimpleNamespace(as_of=as_of, **dict(zip(CAPACITY_FIELDS, figures, strict=True))))
    facilities = [SimpleNamespace(id=fid, orgunit_code=code, dated=dated,
                                  **dict(zip(CAPACITY_FIELDS, figures, strict=True)))
                  for fid, code, dated, *figures in session.execute(
                      select(Facility.id, Facility.orgunit_code, exists().where(fc.facility_id == Facility.id),
                             *(getattr(Facility, n) for n in CAPACITY_FIELDS))
                      .where(_subtree_condition(Facility.orgunit_code, scope_code))).tuples()]
    parents = dict(session.execute(
        select(OrgUnit.code, OrgUnit.parent_code).where(_subtree_condition(OrgUnit.code, scope_code))).tuples().all())
    out: dict[date, dict[str, CapacityTotals]] = {}
    for as_of in dates:
        totals = {code: CapacityTotals() for code in parents}
        for f in facilities:
            if f.dated:  # the latest snapshot on or before the date; none yet: not counted
                row = None
                for snap in snapshots.get(f.id, ()):
                    if snap.as_of > as_of:
                        break
                    row = snap
                if row is None:
                    continue
            else:  # no history at all: its current figures
                row = f
            code = f.orgunit_code
            seen = set()
            while code is not None and code in totals and code not in seen:
                seen.add(code)
                totals[code].add(row)
                code = parents.get(code)
        out[as_of] = totals
    return out
