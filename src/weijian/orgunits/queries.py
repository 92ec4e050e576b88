"""Reads of the registry: the scope rules every other domain applies in its queries, org units and facilities,
the tree with its subtree totals, capacity snapshots and capacity on a past date."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from types import SimpleNamespace
from typing import Any

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, exists, select
from sqlalchemy.orm import Session

from weijian.core.actor import Actor
from weijian.core.errors import InvalidInput, NotFound
from weijian.core.identifiers import division_range
from weijian.orgunits.models import Facility, FacilityCapacity, OrgUnit
from weijian.orgunits.rules import type_code

LEVELS = ("county", "township", "village")
CAPACITY_FIELDS = ("beds_approved", "beds_open", "physicians", "assistant_physicians")


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


def subtree_condition(column: SQLColumnExpression[str], code: str | None) -> ColumnElement[bool]:
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
        select(OrgUnit).where(subtree_condition(OrgUnit.code, root_code)).order_by(OrgUnit.code)).all()
    facilities = session.scalars(
        select(Facility).where(subtree_condition(Facility.orgunit_code, root_code))
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
            stmt = stmt.where(subtree_condition(Facility.orgunit_code, under))
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
                      .where(subtree_condition(Facility.orgunit_code, scope_code))).tuples()]
    parents = dict(session.execute(
        select(OrgUnit.code, OrgUnit.parent_code).where(subtree_condition(OrgUnit.code, scope_code))).tuples().all())
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
