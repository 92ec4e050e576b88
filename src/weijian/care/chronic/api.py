"""JSON routes of chronic-disease management under /api/v1/care: registrations (list, create, read, close),
follow-ups (create, list), the due/overdue worklist, and the 规范管理率 / 控制率 figures. A registration
outside the caller's scope answers 404, exactly as a missing one."""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Query

from weijian.accounts.deps import ActorDep, require
from weijian.care.chronic import queries, service
from weijian.care.chronic.rules import STATUSES
from weijian.care.chronic.schemas import (
    ChronicClose,
    ChronicRegister,
    DueItemOut,
    DueListOut,
    FigureOut,
    FollowUpCreate,
    FollowUpOut,
    RegistrationDetail,
    RegistrationOut,
    RegistrationPage,
)
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.bounds import BoundedDate, Id64, PageNo
from weijian.core.disclosure import Disclosure, disclosure_for
from weijian.core.errors import Forbidden
from weijian.core.web import SessionDep

router = APIRouter(prefix="/api/v1/care", tags=["care: chronic disease"])


def figure_reader(actor: ActorDep) -> Actor:
    """Figures are counts, not records: statistics staff and clinicians may read them (within scope)."""
    if not (actor.can("stats:read") or actor.can("care:read")):
        raise Forbidden("core.errors.forbidden_permission", permission="stats:read")
    return actor


def registration_visible(registration_id: Id64, session: SessionDep, actor: ActorDep) -> int:
    """The registration in the path, looked up before the body is read: one outside the caller's scope
    answers 404 exactly as a missing one, whatever the body (FastAPI calls dependencies before it validates
    the body). Declared after the permission, which is checked first."""
    queries.registration_in_scope(session=session, actor=actor, registration_id=registration_id)
    return registration_id


def _detail(view: queries.RegistrationView) -> RegistrationDetail:
    base = RegistrationOut.of(view.registration, resident_name=view.resident.name,
                              village_code=view.resident.village_code)
    return RegistrationDetail(**base.model_dump(), last_follow_up=view.last_follow_up, next_due=view.next_due,
                              due_status=view.status, follow_ups=[FollowUpOut.of(f) for f in view.follow_ups])


# --- registrations ------------------------------------------------------------------------------
@router.get("/chronic/registrations", response_model=RegistrationPage)
def list_registrations(session: SessionDep, actor: Actor = Depends(require("care:read")),
                       program: str | None = Query(None, max_length=16),
                       status: str | None = Query("active", max_length=16),
                       village: str | None = Query(None, max_length=12),
                       resident_id: Id64 | None = None,
                       page: PageNo = 1, page_size: int = Query(50, ge=1, le=200)) -> RegistrationPage:
    rows, total = queries.list_registrations(session=session, actor=actor, program=program, status=status or None,
                                             village_code=village, resident_id=resident_id, page=page,
                                             page_size=page_size)
    return RegistrationPage(items=[RegistrationOut.of(r.registration, resident_name=r.resident_name,
                                                      village_code=r.village_code) for r in rows],
                            total=total, page=page, page_size=page_size)


@router.post("/chronic/registrations", response_model=RegistrationDetail, status_code=201)
def create_registration(body: ChronicRegister, session: SessionDep,
                        actor: Actor = Depends(require("care:write"))) -> RegistrationDetail:
    if body.registered_on is None:  # the API's default (a form must name the date)
        body = body.model_copy(update={"registered_on": clock.today()})
    registration = service.register(session=session, registration_in=body, actor=actor)
    return _detail(queries.get_registration(session=session, registration_id=registration.id, actor=actor))


@router.get("/chronic/registrations/{registration_id}", response_model=RegistrationDetail)
def read_registration(registration_id: Id64, session: SessionDep,
                      actor: Actor = Depends(require("care:read"))) -> RegistrationDetail:
    return _detail(queries.get_registration(session=session, registration_id=registration_id, actor=actor))


@router.post("/chronic/registrations/{registration_id}/close", response_model=RegistrationDetail)
def close_registration(body: ChronicClose, session: SessionDep, actor: Actor = Depends(require("care:write")),
                       registration_id: int = Depends(registration_visible)) -> RegistrationDetail:
    service.close(session=session, registration_id=registration_id, close_in=body, actor=actor)
    return _detail(queries.get_registration(session=session, registration_id=registration_id, actor=actor))


# --- follow-ups ---------------------------------------------------------------------------------
@router.post("/chronic/registrations/{registration_id}/follow-ups", response_model=FollowUpOut, status_code=201)
def create_follow_up(body: FollowUpCreate, session: SessionDep, actor: Actor = Depends(require("care:write")),
                     registration_id: int = Depends(registration_visible)) -> FollowUpOut:
    follow_up = service.record_follow_up(session=session, registration_id=registration_id, follow_up_in=body,
                                         actor=actor)
    return FollowUpOut.of(follow_up)


@router.get("/chronic/registrations/{registration_id}/follow-ups", response_model=list[FollowUpOut])
def list_follow_ups(registration_id: Id64, session: SessionDep,
                    actor: Actor = Depends(require("care:read"))) -> list[FollowUpOut]:
    return [FollowUpOut.of(f) for f in queries.list_follow_ups(session=session, registration_id=registration_id,
                                                              actor=actor)]


# --- worklist -----------------------------------------------------------------------------------
@router.get("/chronic/due", response_model=DueListOut)
def due(session: SessionDep, actor: Actor = Depends(require("care:read")), as_of: BoundedDate | None = None,
        village: str | None = Query(None, max_length=12), program: str | None = Query(None, max_length=16),
        status: list[str] | None = Query(None)) -> DueListOut:
    """Every patient under management in scope with the next follow-up date and status (overdue first);
    `status` (repeatable) keeps only some statuses; the counts are over all statuses."""
    as_of = as_of or clock.today()
    items = queries.due_follow_ups(session=session, actor=actor, as_of=as_of, village_code=village, program=program)
    counts = Counter(i.status for i in items)
    shown = [i for i in items if not status or i.status in status]
    return DueListOut(as_of=as_of, counts={s: counts.get(s, 0) for s in STATUSES},
                      items=[_due_item(i, disclosure_for(actor)) for i in shown])


def _due_item(i: queries.DueItem, shown: Disclosure) -> DueItemOut:
    values = {k: getattr(i, k) for k in DueItemOut.model_fields if k != "birth_year"}
    return DueItemOut(**{**values, "birth_year": i.birth_date.year, "birth_date": shown.birth_date(i.birth_date),
                         "phone": shown.phone(i.phone)})


# --- figures ------------------------------------------------------------------------------------
def _figure(name: str) -> Callable[..., dict[str, Any]]:
    def route(session: SessionDep, actor: Actor = Depends(figure_reader), period: str = Query(..., max_length=7),
              orgunit: str | None = Query(None, max_length=12)) -> dict:
        return queries.figure(session=session, name=name, period=period, orgunit_code=orgunit, actor=actor)

    route.__name__ = name
    route.__doc__ = (f"{name}: numerator ÷ denominator for the org unit (default: your scope) and a year or "
                     "quarter, with the same for each unit directly below.")
    return route


for _name in queries.FIGURES:
    router.add_api_route(f"/figures/{_name}", _figure(_name), methods=["GET"], response_model=FigureOut)
