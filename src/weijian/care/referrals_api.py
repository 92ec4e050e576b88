"""JSON routes of two-way referral and remote consultation under /api/v1/care: referrals and their answers,
the desk inbox, consultations, the worklist, and the referral-count figure."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from weijian.accounts.deps import ActorDep, require
from weijian.care import referrals, teleconsult, worklist
from weijian.care.referrals_schemas import (
    ActionIn,
    AnswerIn,
    CompleteIn,
    ConsultationIn,
    ConsultationListItem,
    ConsultationOut,
    ConsultationPage,
    DownwardIn,
    FollowUpDue,
    InboxOut,
    ReferralFigure,
    ReferralIn,
    ReferralListItem,
    ReferralOut,
    ReferralPage,
    RejectIn,
    ScheduleIn,
    WorklistOut,
)
from weijian.core.actor import Actor
from weijian.core.bounds import Id64, PageNo
from weijian.core.web import SessionDep

router = APIRouter(prefix="/api/v1/care", tags=["referrals"])


# --- referrals ------------------------------------------------------------------------------------
def _out(session: Session, actor: Actor, referral_id: Id64) -> ReferralOut:
    return ReferralOut.of(referrals.get(session=session, referral_id=referral_id, actor=actor))


@router.post("/referrals", response_model=ReferralOut, status_code=201)
def create_referral(body: ReferralIn, session: SessionDep,
                    actor: Actor = Depends(require("referral:create"))) -> ReferralOut:
    referral = referrals.create(session=session, values=body.model_dump(), actor=actor)
    return _out(session, actor, referral.id)


@router.get("/referrals", response_model=ReferralPage)
def list_referrals(session: SessionDep, actor: Actor = Depends(require("referral:read")),
                   box: str | None = Query(None, description="sent | received; none: all the caller may see"),
                   status: str | None = None, direction: str | None = None, resident_id: Id64 | None = None,
                   page: PageNo = 1, page_size: int = Query(20, ge=1, le=referrals.MAX_PAGE_SIZE)
                   ) -> ReferralPage:
    result = referrals.list_referrals(session=session, actor=actor, box=box, status=status, direction=direction,
                                      resident_id=resident_id, page=page, page_size=page_size)
    return ReferralPage(items=[ReferralListItem.of(i) for i in result.items], total=result.total,
                        page=result.page, page_size=result.page_size)


@router.get("/referrals/inbox", response_model=InboxOut)
def referral_inbox(session: SessionDep, actor: Actor = Depends(require("referral:respond")),
                   page: PageNo = 1,
                   page_size: int = Query(50, ge=1, le=referrals.MAX_PAGE_SIZE)) -> InboxOut:
    """Open referrals to the caller's facility, overdue ones first."""
    box = referrals.inbox(session=session, actor=actor, page=page, page_size=page_size)
    return InboxOut(items=[ReferralListItem.of(i) for i in box.page.items], total=box.page.total,
                    overdue=box.overdue, page=box.page.page, page_size=box.page.page_size)


@router.get("/referrals/{referral_id}", response_model=ReferralOut)
def read_referral(referral_id: Id64, session: SessionDep,
                  actor: Actor = Depends(require("referral:read"))) -> ReferralOut:
    return _out(session, actor, referral_id)


@router.post("/referrals/{referral_id}/accept", response_model=ReferralOut)
def accept_referral(referral_id: Id64, session: SessionDep, body: ActionIn | None = None,
                    actor: Actor = Depends(require("referral:respond"))) -> ReferralOut:
    referrals.accept(session=session, referral_id=referral_id, actor=actor, version=body.version if body else None)
    return _out(session, actor, referral_id)


@router.post("/referrals/{referral_id}/reject", response_model=ReferralOut)
def reject_referral(referral_id: Id64, body: RejectIn, session: SessionDep,
                    actor: Actor = Depends(require("referral:respond"))) -> ReferralOut:
    referrals.reject(session=session, referral_id=referral_id, reason=body.reason, actor=actor,
                     version=body.version)
    return _out(session, actor, referral_id)


@router.post("/referrals/{referral_id}/arrive", response_model=ReferralOut)
def arrive_referral(referral_id: Id64, session: SessionDep, body: ActionIn | None = None,
                    actor: Actor = Depends(require("referral:respond"))) -> ReferralOut:
    referrals.arrive(session=session, referral_id=referral_id, actor=actor, version=body.version if body else None)
    return _out(session, actor, referral_id)


@router.post("/referrals/{referral_id}/complete", response_model=ReferralOut)
def complete_referral(referral_id: Id64, body: CompleteIn, session: SessionDep,
                      actor: Actor = Depends(require("referral:respond"))) -> ReferralOut:
    referrals.complete(session=session, referral_id=referral_id, discharge_summary=body.discharge_summary,
                       actor=actor, version=body.version)
    return _out(session, actor, referral_id)


@router.post("/referrals/{referral_id}/cancel", response_model=ReferralOut)
def cancel_referral(referral_id: Id64, session: SessionDep, body: ActionIn | None = None,
                    actor: Actor = Depends(require("referral:create"))) -> ReferralOut:
    referrals.cancel(session=session, referral_id=referral_id, actor=actor, version=body.version if body else None)
    return _out(session, actor, referral_id)


@router.post("/referrals/{referral_id}/downward", response_model=ReferralOut, status_code=201)
def create_downward(referral_id: Id64, body: DownwardIn, session: SessionDep,
                    actor: Actor = Depends(require("referral:create"))) -> ReferralOut:
    """A downward referral back to the home village or township after this (completed, upward) referral."""
    referral = referrals.create_downward(session=session, referral_id=referral_id,
                                         values=body.model_dump(exclude_none=True), actor=actor)
    return _out(session, actor, referral.id)


# --- consultations --------------------------------------------------------------------------------
def _consultation(session: Session, actor: Actor, consultation_id: Id64) -> ConsultationOut:
    return ConsultationOut.of(teleconsult.get(session=session, consultation_id=consultation_id, actor=actor))


@router.post("/consultations", response_model=ConsultationOut, status_code=201)
def request_consultation(body: ConsultationIn, session: SessionDep,
                         actor: Actor = Depends(require("consult:request"))) -> ConsultationOut:
    consultation = teleconsult.request(session=session, values=body.model_dump(), actor=actor)
    return _consultation(session, actor, consultation.id)


@router.get("/consultations", response_model=ConsultationPage)
def list_consultations(session: SessionDep, actor: ActorDep,
                       box: str | None = Query(None, description="sent | received; none: all the caller may see"),
                       status: str | None = None, resident_id: Id64 | None = None, page: PageNo = 1,
                       page_size: int = Query(20, ge=1, le=referrals.MAX_PAGE_SIZE)) -> ConsultationPage:
    result = teleconsult.list_consultations(session=session, actor=actor, box=box, status=status,
                                            resident_id=resident_id, page=page, page_size=page_size)
    return ConsultationPage(items=[ConsultationListItem.of(i) for i in result.items], total=result.total,
                            page=result.page, page_size=result.page_size)


@router.get("/consultations/{consultation_id}", response_model=ConsultationOut)
def read_consultation(consultation_id: Id64, session: SessionDep, actor: ActorDep) -> ConsultationOut:
    return _consultation(session, actor, consultation_id)


@router.post("/consultations/{consultation_id}/schedule", response_model=ConsultationOut)
def schedule_consultation(consultation_id: Id64, body: ScheduleIn, session: SessionDep,
                          actor: Actor = Depends(require("consult:answer"))) -> ConsultationOut:
    teleconsult.schedule(session=session, consultation_id=consultation_id, actor=actor, version=body.version,
                         values=body.model_dump(exclude={"version"}))
    return _consultation(session, actor, consultation_id)


@router.post("/consultations/{consultation_id}/answer", response_model=ConsultationOut)
def answer_consultation(consultation_id: Id64, body: AnswerIn, session: SessionDep,
                        actor: Actor = Depends(require("consult:answer"))) -> ConsultationOut:
    teleconsult.answer(session=session, consultation_id=consultation_id, opinion=body.opinion, actor=actor,
                       version=body.version)
    return _consultation(session, actor, consultation_id)


@router.post("/consultations/{consultation_id}/cancel", response_model=ConsultationOut)
def cancel_consultation(consultation_id: Id64, session: SessionDep, body: ActionIn | None = None,
                        actor: Actor = Depends(require("consult:request"))) -> ConsultationOut:
    teleconsult.cancel(session=session, consultation_id=consultation_id, actor=actor,
                       version=body.version if body else None)
    return _consultation(session, actor, consultation_id)


# --- worklist, figure -----------------------------------------------------------------------------
@router.get("/worklist", response_model=WorklistOut)
def read_worklist(session: SessionDep, actor: Actor = Depends(require("worklist:read"))) -> WorklistOut:
    w = worklist.worklist(session=session, actor=actor, with_recall=False)  # the recall list has its own API
    follow_ups = None if w.follow_ups is None else [
        FollowUpDue(registration_id=i.registration_id, resident_id=i.resident_id, resident_name=i.resident_name,
                    program=i.program, last_follow_up=i.last_follow_up, next_due=i.next_due, status=i.status)
        for i in w.follow_ups]
    return WorklistOut(today=w.today, follow_ups=follow_ups,
                       downward_referrals=[ReferralListItem.of(i) for i in w.downward],
                       consultation_replies=[ConsultationListItem.of(i) for i in w.replies])


@router.get("/figures/referrals", response_model=ReferralFigure)
def referral_figure(session: SessionDep, actor: Actor = Depends(require("stats:read")),
                    period: str = Query(..., description="2025, 2025Q1 or 202503"),
                    orgunit: str = Query(..., description="12-digit code of a village, township or the county")
                    ) -> ReferralFigure:
    """Upward and downward referrals of an org unit's residents in a period; value = upward ÷ downward."""
    return ReferralFigure(**referrals.referral_counts(session=session, actor=actor, period=period, orgunit=orgunit))
