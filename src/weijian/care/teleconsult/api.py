"""JSON routes of remote consultation under /api/v1/care/consultations: ask, schedule, answer, cancel, read
and list."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from weijian.accounts.deps import ActorDep, require
from weijian.care.referrals.queries import MAX_PAGE_SIZE
from weijian.care.teleconsult import queries, service
from weijian.care.teleconsult.schemas import (
    AnswerIn,
    ConsultationAction,
    ConsultationListItem,
    ConsultationOut,
    ConsultationPage,
    ConsultationRequest,
    ScheduleIn,
)
from weijian.core.actor import Actor
from weijian.core.bounds import Id64, PageNo
from weijian.core.web import SessionDep

router = APIRouter(prefix="/api/v1/care", tags=["referrals"])
PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]


def _out(session: Session, actor: Actor, consultation_id: Id64) -> ConsultationOut:
    return ConsultationOut.of(queries.get(session=session, consultation_id=consultation_id, actor=actor))


@router.post("/consultations", response_model=ConsultationOut, status_code=201)
def request_consultation(body: ConsultationRequest, session: SessionDep,
                         actor: Actor = Depends(require("consult:request"))) -> ConsultationOut:
    consultation = service.request(session=session, consultation_in=body, actor=actor)
    return _out(session, actor, consultation.id)


@router.get("/consultations", response_model=ConsultationPage)
def list_consultations(session: SessionDep, actor: ActorDep,
                       box: str | None = Query(None, description="sent | received; none: all the caller may see"),
                       status: str | None = None, resident_id: Id64 | None = None, page: PageNo = 1,
                       page_size: PageSize = 20) -> ConsultationPage:
    result = queries.list_consultations(session=session, actor=actor, box=box, status=status,
                                        resident_id=resident_id, page=page, page_size=page_size)
    return ConsultationPage(items=[ConsultationListItem.of(i) for i in result.items], total=result.total,
                            page=result.page, page_size=result.page_size)


@router.get("/consultations/{consultation_id}", response_model=ConsultationOut)
def read_consultation(consultation_id: Id64, session: SessionDep, actor: ActorDep) -> ConsultationOut:
    return _out(session, actor, consultation_id)


@router.post("/consultations/{consultation_id}/schedule", response_model=ConsultationOut)
def schedule_consultation(consultation_id: Id64, body: ScheduleIn, session: SessionDep,
                          actor: Actor = Depends(require("consult:answer"))) -> ConsultationOut:
    service.schedule(session=session, consultation_id=consultation_id, schedule_in=body, actor=actor)
    return _out(session, actor, consultation_id)


@router.post("/consultations/{consultation_id}/answer", response_model=ConsultationOut)
def answer_consultation(consultation_id: Id64, body: AnswerIn, session: SessionDep,
                        actor: Actor = Depends(require("consult:answer"))) -> ConsultationOut:
    service.answer(session=session, consultation_id=consultation_id, answer_in=body, actor=actor)
    return _out(session, actor, consultation_id)


@router.post("/consultations/{consultation_id}/cancel", response_model=ConsultationOut)
def cancel_consultation(consultation_id: Id64, session: SessionDep, body: ConsultationAction | None = None,
                        actor: Actor = Depends(require("consult:request"))) -> ConsultationOut:
    service.cancel(session=session, consultation_id=consultation_id, actor=actor, action_in=body)
    return _out(session, actor, consultation_id)
