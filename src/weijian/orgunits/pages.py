"""HTML pages of the registry: the org-unit tree with facilities and totals, one org unit, facility forms."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from weijian.accounts.deps import require
from weijian.core import clock, nav
from weijian.core.actor import Actor
from weijian.core.bounds import BoundedDate, Id64
from weijian.core.errors import InvalidInput
from weijian.core.i18n import Translator
from weijian.core.web import (
    SessionDep,
    TranslatorDep,
    form_command,
    form_errors,
    form_values,
    refused,
    render,
    verify_csrf,
)
from weijian.orgunits import service as orgunits_service
from weijian.orgunits.models import Facility
from weijian.orgunits.schemas import FacilityCreate, FacilityUpdate

router = APIRouter(dependencies=[Depends(verify_csrf)])
# This module's entries of the main navigation (added by the composition root, weijian.wiring).
NAV = (
    nav.NavItem("/orgunits", "orgunits.nav", "orgunit:read", 20),
)

Reader = Depends(require("orgunit:read"))
Writer = Depends(require("orgunit:write"))
FORM_FIELDS = ("code", "name", "type", "grade", "orgunit_code", "community_role",
               *orgunits_service.CAPACITY_FIELDS, "as_of")


def _labels(locale: str) -> dict:
    return {"type_labels": orgunits_service.type_labels(locale),
            "grade_labels": orgunits_service.grade_labels(locale)}


@router.get("/orgunits")
def tree_page(request: Request, session: SessionDep, tr: TranslatorDep, actor: Actor = Reader) -> Response:
    roots = orgunits_service.tree(session=session)
    return render(request, "orgunits/tree.html", {
        "roots": roots, "can_write": actor.can("orgunit:write"), **_labels(tr.locale)})


@router.get("/orgunits/{code}")
def orgunit_page(code: str, request: Request, session: SessionDep, tr: TranslatorDep,
                 as_of: BoundedDate | None = None, actor: Actor = Reader) -> Response:
    unit = orgunits_service.get_or_raise(session=session, code=code)
    node = orgunits_service.tree(session=session, root_code=code)[0]
    parent = orgunits_service.get(session=session, code=unit.parent_code) if unit.parent_code else None
    capacity = (orgunits_service.capacity_as_of(session=session, as_of=as_of, scope_code=code)
                if as_of else None)
    return render(request, "orgunits/detail.html", {
        "node": node, "unit": unit, "parent": parent, "as_of": as_of, "capacity": capacity,
        "can_write": actor.can("orgunit:write"), **_labels(tr.locale)})


def _form_context(session: Session, tr: Translator, values: dict[str, Any], errors: dict[str, str],
                  facility: Facility | None = None) -> dict[str, Any]:
    history = (orgunits_service.capacity_history(session=session, facility_id=facility.id)
               if facility is not None else [])
    return {"values": values, "errors": errors, "facility": facility, "history": history,
            "orgunits": orgunits_service.list_orgunits(session=session),
            "roles": orgunits_service.COMMUNITY_ROLES, **_labels(tr.locale)}


@router.get("/facilities/new")
def new_facility_page(request: Request, session: SessionDep, tr: TranslatorDep, orgunit: str = "",
                      actor: Actor = Writer) -> Response:
    values = {"orgunit_code": orgunit, "grade": "ungraded", "community_role": "none",
              "as_of": clock.today().isoformat(), **{k: "0" for k in orgunits_service.CAPACITY_FIELDS}}
    return render(request, "orgunits/facility_form.html", _form_context(session, tr, values, {}))


@router.post("/facilities/new")
async def create_facility_page(request: Request, session: SessionDep, tr: TranslatorDep,
                               actor: Actor = Writer) -> Response:
    values = await form_values(request)
    try:
        facility_in = await form_command(request, FacilityCreate)
        facility = orgunits_service.create_facility(session=session, facility_in=facility_in, actor=actor)
    except InvalidInput as exc:
        refused(session)
        return render(request, "orgunits/facility_form.html",
                      _form_context(session, tr, values, form_errors(exc, tr)), status_code=422)
    return RedirectResponse(f"/orgunits/{facility.orgunit_code}", status_code=303)


@router.get("/facilities/{facility_id}/edit")
def edit_facility_page(facility_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                       actor: Actor = Writer) -> Response:
    facility = orgunits_service.get_facility_or_raise(session=session, facility_id=facility_id)
    values = {k: "" if getattr(facility, k) is None else str(getattr(facility, k))
              for k in FORM_FIELDS if k != "as_of"}
    values["as_of"] = clock.today().isoformat()
    return render(request, "orgunits/facility_form.html", _form_context(session, tr, values, {}, facility))


@router.post("/facilities/{facility_id}/edit")
async def update_facility_page(facility_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                               actor: Actor = Writer) -> Response:
    facility = orgunits_service.get_facility_or_raise(session=session, facility_id=facility_id)
    values = await form_values(request)
    try:
        facility_in = await form_command(request, FacilityUpdate)
        orgunits_service.update_facility(session=session, facility_id=facility_id, facility_in=facility_in,
                                         actor=actor)
    except InvalidInput as exc:
        refused(session)
        return render(request, "orgunits/facility_form.html",
                      _form_context(session, tr, values, form_errors(exc, tr), facility), status_code=422)
    return RedirectResponse(f"/orgunits/{facility.orgunit_code}", status_code=303)
