"""JSON routes of the org-unit registry under /api/v1: org units, the tree, facilities, capacity."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from weijian.accounts.deps import require
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.bounds import BoundedDate, Id64
from weijian.core.web import SessionDep, request_locale
from weijian.orgunits import service as orgunits_service
from weijian.orgunits.models import Facility, OrgUnit
from weijian.orgunits.schemas import (
    CapacityOut,
    CapacityReportOut,
    ChildCapacityOut,
    FacilityCreate,
    FacilityDetailOut,
    FacilityOut,
    FacilityUpdate,
    OrgUnitCreate,
    OrgUnitDetailOut,
    OrgUnitOut,
    OrgUnitUpdate,
    TreeNodeOut,
)

# A broken reference file stops the application at start, not at the first request.
orgunits_service.reference()

router = APIRouter(prefix="/api/v1", tags=["orgunits"])
Reader = Depends(require("orgunit:read"))
Writer = Depends(require("orgunit:write"))


def _facility_out(f: Facility, locale: str, model: type[FacilityOut] = FacilityOut, **extra: object) -> FacilityOut:
    return model.model_validate({
        **{k: getattr(f, k) for k in FacilityOut.model_fields if hasattr(f, k)},
        "type_label": orgunits_service.type_labels(locale).get(f.type, f.type),
        "grade_label": orgunits_service.grade_labels(locale).get(f.grade or "", f.grade or ""),
        **extra,
    }, from_attributes=True)


def _tree_out(node: orgunits_service.TreeNode, locale: str) -> TreeNodeOut:
    u = node.unit
    return TreeNodeOut(code=u.code, name=u.name, level=u.level, kind=u.kind,
                       facilities=[_facility_out(f, locale) for f in node.facilities],
                       totals=CapacityOut(**node.totals.as_dict()),
                       children=[_tree_out(c, locale) for c in node.children])


@router.get("/orgunits", response_model=list[OrgUnitOut])
def list_orgunits(session: SessionDep, level: str | None = None, parent: str | None = None,
                  actor: Actor = Reader) -> list[OrgUnit]:
    return orgunits_service.list_orgunits(session=session, level=level, parent_code=parent)


@router.get("/orgunits/tree", response_model=list[TreeNodeOut])
def orgunit_tree(request: Request, session: SessionDep, actor: Actor = Reader) -> list[TreeNodeOut]:
    locale = request_locale(request)
    return [_tree_out(n, locale) for n in orgunits_service.tree(session=session)]


@router.get("/orgunits/{code}", response_model=OrgUnitDetailOut)
def get_orgunit(code: str, request: Request, session: SessionDep, actor: Actor = Reader) -> OrgUnitDetailOut:
    unit = orgunits_service.get_or_raise(session=session, code=code)
    node = orgunits_service.tree(session=session, root_code=code)[0]
    locale = request_locale(request)
    parent = orgunits_service.get(session=session, code=unit.parent_code) if unit.parent_code else None
    return OrgUnitDetailOut(
        **OrgUnitOut.model_validate(unit).model_dump(),
        parent=OrgUnitOut.model_validate(parent) if parent else None,
        children=[OrgUnitOut.model_validate(c.unit) for c in node.children],
        facilities=[_facility_out(f, locale) for f in node.facilities],
        totals=CapacityOut(**node.totals.as_dict()),
    )


@router.post("/orgunits", response_model=OrgUnitOut, status_code=201)
def create_orgunit(body: OrgUnitCreate, session: SessionDep, actor: Actor = Writer) -> OrgUnit:
    return orgunits_service.create_orgunit(session=session, orgunit_in=body, actor=actor)


@router.patch("/orgunits/{code}", response_model=OrgUnitOut)
def update_orgunit(code: str, body: OrgUnitUpdate, session: SessionDep, actor: Actor = Writer) -> OrgUnit:
    return orgunits_service.update_orgunit(session=session, code=code, orgunit_in=body, actor=actor)


@router.get("/orgunits/{code}/capacity", response_model=CapacityReportOut)
def orgunit_capacity(code: str, session: SessionDep, as_of: BoundedDate | None = None,
                     actor: Actor = Reader) -> CapacityReportOut:
    """Beds and physicians of an org unit and each of its children, from the figures in effect on `as_of`."""
    unit = orgunits_service.get_or_raise(session=session, code=code)
    as_of = as_of or clock.today()
    totals = orgunits_service.capacity_as_of(session=session, as_of=as_of, scope_code=code)
    children = orgunits_service.list_orgunits(session=session, parent_code=code)
    return CapacityReportOut(
        orgunit_code=unit.code, as_of=as_of, totals=CapacityOut(**totals[unit.code].as_dict()),
        children=[ChildCapacityOut(code=c.code, name=c.name, level=c.level,
                                   totals=CapacityOut(**totals[c.code].as_dict())) for c in children],
    )


@router.get("/facilities", response_model=list[FacilityOut])
def list_facilities(request: Request, session: SessionDep, orgunit_code: str | None = None,
                    type: str | None = None, under: str | None = None, actor: Actor = Reader) -> list[FacilityOut]:
    locale = request_locale(request)
    rows = orgunits_service.list_facilities(session=session, orgunit_code=orgunit_code, type=type, under=under)
    return [_facility_out(f, locale) for f in rows]


@router.get("/facilities/{facility_id}", response_model=FacilityDetailOut)
def get_facility(facility_id: Id64, request: Request, session: SessionDep, actor: Actor = Reader) -> FacilityOut:
    f = orgunits_service.get_facility_or_raise(session=session, facility_id=facility_id)
    history = orgunits_service.capacity_history(session=session, facility_id=facility_id)
    return _facility_out(f, request_locale(request), FacilityDetailOut, capacity_history=history)


@router.post("/facilities", response_model=FacilityOut, status_code=201)
def create_facility(body: FacilityCreate, request: Request, session: SessionDep,
                    actor: Actor = Writer) -> FacilityOut:
    f = orgunits_service.create_facility(session=session, facility_in=body, actor=actor)
    return _facility_out(f, request_locale(request))


@router.patch("/facilities/{facility_id}", response_model=FacilityOut)
def update_facility(facility_id: Id64, body: FacilityUpdate, request: Request, session: SessionDep,
                    actor: Actor = Writer) -> FacilityOut:
    f = orgunits_service.update_facility(session=session, facility_id=facility_id, facility_in=body, actor=actor)
    return _facility_out(f, request_locale(request))
