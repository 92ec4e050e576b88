"""JSON routes of child health management under /api/v1/care/childcare: the schedule of a birth date (the
CLI's answer), one child's schedule, checks and 体弱儿 cases, recording a check, the children with a check due
or overdue, the 体弱儿 list and closing a case. A child outside the caller's scope answers 404, exactly as a
missing one."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from weijian.accounts.deps import require
from weijian.care.childcare import cli, rules, service
from weijian.care.childcare.schemas import (
    ChildCheckCreate,
    ChildCheckOut,
    ChildOut,
    DueRowOut,
    FrailClose,
    FrailOut,
    ScheduleRowOut,
)
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.bounds import BoundedDate, Id64
from weijian.core.errors import InvalidInput
from weijian.core.web import SessionDep

router = APIRouter(prefix="/api/v1/care/childcare", tags=["care: child health 0-6"])
_E = "care.childcare.errors."


def child_out(view: service.ChildView) -> ChildOut:
    r = view.resident
    return ChildOut(resident_id=r.id, name=r.name, sex=r.sex, birth_date=r.birth_date, village_code=r.village_code,
                    as_of=view.as_of, age_months=rules.age_months(r.birth_date, view.as_of),
                    schedule=[ScheduleRowOut(check=s.check, age=s.age, start=s.start, end=s.end, status=s.status,
                                             done_on=s.done_on) for s in view.schedule],
                    checks=[ChildCheckOut.of(c) for c in view.checks],
                    frail=[FrailOut.of(f) for f in view.frail])


@router.get("/schedule", response_model=list[dict])
def schedule(birth_date: BoundedDate, actor: Actor = Depends(require("care:read")),
             as_of: BoundedDate | None = None,
             done: list[str] = Query([], max_length=20)) -> list[dict]:
    """Every check of a birth date's schedule with its window and status (`done`: CHECK:DATE; no record
    read): the CLI's rows."""
    on = as_of or clock.today()
    if birth_date > on:
        raise InvalidInput("birth_date", _E + "birth_future", date=on.isoformat())
    if on >= rules.seventh_birthday(birth_date):
        raise InvalidInput("birth_date", _E + "over_six", date=on.isoformat())
    given = cli.parse_done(done, birth_date, on)
    return [{"check": s.check, "age": s.age, "from": s.start.isoformat(), "to": s.end.isoformat(),
             "status": s.status} for s in rules.schedule(birth_date, on, given)]


@router.get("/children/{resident_id}", response_model=ChildOut)
def read_child(resident_id: Id64, session: SessionDep, actor: Actor = Depends(require("care:read")),
               as_of: BoundedDate | None = None) -> ChildOut:
    return child_out(service.get_child(session=session, resident_id=resident_id, actor=actor, as_of=as_of))


@router.post("/checks", response_model=ChildCheckOut, status_code=201)
def create_check(body: ChildCheckCreate, session: SessionDep,
                 actor: Actor = Depends(require("care:write"))) -> ChildCheckOut:
    return ChildCheckOut.of(service.record_check(session=session, check_in=body, actor=actor))


@router.get("/due", response_model=list[DueRowOut])
def due(session: SessionDep, actor: Actor = Depends(require("care:read")), as_of: BoundedDate | None = None,
        village: str | None = Query(None, max_length=12)) -> list[DueRowOut]:
    """Children of the caller's villages with a check overdue or due, overdue first."""
    rows = service.due_children(session=session, actor=actor, as_of=as_of or clock.today(), village_code=village)
    return [DueRowOut(resident_id=r.resident_id, name=r.name, village_code=r.village_code, birth_date=r.birth_date,
                      check=r.check.check, start=r.check.start, end=r.check.end, status=r.check.status)
            for r in rows]


@router.get("/frail", response_model=list[FrailOut])
def frail(session: SessionDep, actor: Actor = Depends(require("care:read")),
          village: str | None = Query(None, max_length=12),
          status: str = Query("open", max_length=8)) -> list[FrailOut]:
    """体弱儿 under management (or closed) in the caller's scope, by village."""
    return [FrailOut.of(r.case, resident_name=r.name, village_code=r.village_code)
            for r in service.frail_list(session=session, actor=actor, village_code=village, status=status)]


def frail_visible(frail_id: Id64, session: SessionDep, actor: Actor = Depends(require("care:write"))) -> int:
    """The case in the path, looked up before the body is read: one outside the caller's scope answers 404
    exactly as a missing one, whatever the body."""
    service.frail_resident_id(session=session, actor=actor, frail_id=frail_id)
    return frail_id


@router.post("/frail/{frail_id}/close", response_model=FrailOut)
def close(body: FrailClose, session: SessionDep, actor: Actor = Depends(require("care:write")),
          frail_id: int = Depends(frail_visible)) -> FrailOut:
    return FrailOut.of(service.close_frail(session=session, frail_id=frail_id, close_in=body, actor=actor))
