"""JSON routes of maternal health management under /api/v1/care/maternal: the pregnancy register,
registering a pregnancy, one pregnancy (with its windows), its antenatal visits, risk grading, delivery and
postpartum visits. A pregnancy outside the caller's scope answers 404, exactly as a missing one."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from weijian.accounts.deps import require
from weijian.care.maternal import queries, rules, service
from weijian.care.maternal.schemas import (
    AntenatalVisitCreate,
    AntenatalVisitOut,
    DeliveryRecord,
    PostpartumVisitCreate,
    PostpartumVisitOut,
    PregnancyDetail,
    PregnancyOut,
    PregnancyRegister,
    RegisterOut,
    RegisterRowOut,
    RiskGrade,
    WindowOut,
)
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.bounds import BoundedDate, Id64
from weijian.core.errors import InvalidInput
from weijian.core.web import SessionDep

router = APIRouter(prefix="/api/v1/care/maternal", tags=["care: maternal health"])


def pregnancy_visible(pregnancy_id: Id64, session: SessionDep, actor: Actor = Depends(require("care:write"))) -> int:
    """The pregnancy in the path, looked up before the body is read: one outside the caller's scope answers
    404 exactly as a missing one, whatever the body."""
    queries.pregnancy_in_scope(session=session, actor=actor, pregnancy_id=pregnancy_id)
    return pregnancy_id


def _out(p: queries.PregnancyView | None = None, *, row: queries.RegisterRow | None = None) -> PregnancyOut:
    if row is not None:
        return PregnancyOut.of(row.pregnancy, needs_referral=row.needs_referral, resident_name=row.resident_name,
                               village_code=row.village_code)
    assert p is not None
    return PregnancyOut.of(p.pregnancy, needs_referral=p.needs_referral, resident_name=p.resident.name,
                           village_code=p.resident.village_code)


def _detail(view: queries.PregnancyView) -> PregnancyDetail:
    return PregnancyDetail(**_out(view).model_dump(),
                           windows=[WindowOut(visit=w.visit, start=w.start, end=w.end, status=w.status,
                                              done_on=w.done_on) for w in view.windows],
                           antenatal_visits=[AntenatalVisitOut.of(v) for v in view.antenatal],
                           postpartum_visits=[PostpartumVisitOut.of(v) for v in view.postpartum])


@router.get("/register", response_model=RegisterOut)
def register(session: SessionDep, actor: Actor = Depends(require("care:read")), as_of: BoundedDate | None = None,
             village: str | None = Query(None, max_length=12), status: str = Query("open", max_length=16),
             next_status: list[str] | None = Query(None)) -> RegisterOut:
    """The pregnancy register: pregnancies in scope with their next antenatal window not done (overdue,
    due, upcoming), the colour and whether a referral is still needed."""
    as_of = as_of or clock.today()
    items = queries.register(session=session, actor=actor, as_of=as_of, village_code=village, status=status)
    counts = {s: sum(1 for i in items if i.next and i.next.status == s) for s in ("overdue", "due", "upcoming")}
    shown = [i for i in items if not next_status or (i.next and i.next.status in next_status)]
    return RegisterOut(as_of=as_of, counts=counts, items=[RegisterRowOut(
        pregnancy=_out(row=i), weeks=i.weeks, days=i.days, next_visit=i.next.visit if i.next else None,
        next_status=i.next.status if i.next else None, next_from=i.next.start if i.next else None,
        next_to=i.next.end if i.next else None) for i in shown])


@router.post("/pregnancies", response_model=PregnancyDetail, status_code=201)
def create_pregnancy(body: PregnancyRegister, session: SessionDep,
                     actor: Actor = Depends(require("care:write"))) -> PregnancyDetail:
    if body.registered_on is None:  # the API's default (a form must name the date)
        body = body.model_copy(update={"registered_on": clock.today()})
    p = service.register_pregnancy(session=session, pregnancy_in=body, actor=actor)
    return _detail(queries.get_pregnancy(session=session, pregnancy_id=p.id, actor=actor))


@router.get("/pregnancies/{pregnancy_id}", response_model=PregnancyDetail)
def read_pregnancy(pregnancy_id: Id64, session: SessionDep, actor: Actor = Depends(require("care:read")),
                   as_of: BoundedDate | None = None) -> PregnancyDetail:
    return _detail(queries.get_pregnancy(session=session, pregnancy_id=pregnancy_id, actor=actor, as_of=as_of))


@router.post("/pregnancies/{pregnancy_id}/antenatal-visits", response_model=AntenatalVisitOut, status_code=201)
def create_antenatal(body: AntenatalVisitCreate, session: SessionDep, actor: Actor = Depends(require("care:write")),
                     pregnancy_id: int = Depends(pregnancy_visible)) -> AntenatalVisitOut:
    return AntenatalVisitOut.of(service.record_antenatal(session=session, pregnancy_id=pregnancy_id,
                                                         visit_in=body, actor=actor))


@router.post("/pregnancies/{pregnancy_id}/risk", response_model=PregnancyDetail)
def grade(body: RiskGrade, session: SessionDep, actor: Actor = Depends(require("care:write")),
          pregnancy_id: int = Depends(pregnancy_visible)) -> PregnancyDetail:
    service.grade_risk(session=session, pregnancy_id=pregnancy_id, grade_in=body, actor=actor)
    return _detail(queries.get_pregnancy(session=session, pregnancy_id=pregnancy_id, actor=actor))


@router.post("/pregnancies/{pregnancy_id}/delivery", response_model=PregnancyDetail)
def delivery(body: DeliveryRecord, session: SessionDep, actor: Actor = Depends(require("care:write")),
             pregnancy_id: int = Depends(pregnancy_visible)) -> PregnancyDetail:
    service.record_delivery(session=session, pregnancy_id=pregnancy_id, delivery_in=body, actor=actor)
    return _detail(queries.get_pregnancy(session=session, pregnancy_id=pregnancy_id, actor=actor))


@router.post("/pregnancies/{pregnancy_id}/postpartum-visits", response_model=PostpartumVisitOut, status_code=201)
def create_postpartum(body: PostpartumVisitCreate, session: SessionDep,
                      actor: Actor = Depends(require("care:write")),
                      pregnancy_id: int = Depends(pregnancy_visible)) -> PostpartumVisitOut:
    return PostpartumVisitOut.of(service.record_postpartum(session=session, pregnancy_id=pregnancy_id,
                                                           visit_in=body, actor=actor))


@router.get("/schedule", response_model=dict)
def schedule(lmp: BoundedDate, actor: Actor = Depends(require("care:read")),
             as_of: BoundedDate | None = None) -> dict:
    """The EDD and the five windows of an LMP (no record read): the CLI's answer."""
    on = as_of or clock.today()
    problem = rules.lmp_problem(lmp, on)
    if problem:
        raise InvalidInput("lmp", "care.maternal.errors." + problem[0], **problem[1])
    return {"edd": rules.edd(lmp).isoformat(),
            "visits": [{"visit": w.visit, "from": w.start.isoformat(), "to": w.end.isoformat(), "status": w.status}
                       for w in rules.schedule(lmp, on)]}
