"""JSON routes of two-way referral under /api/v1/care: referrals and their answers, the desk inbox, the
worklist, and the referral-count figure."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from weijian.accounts.deps import require
from weijian.care import worklist
from weijian.care.referrals import queries, service
from weijian.care.referrals.schemas import (
    ActionIn,
    ArriveIn,
    CompleteIn,
    DownwardCreate,
    FollowUpDue,
    InboxOut,
    ReferralCreate,
    ReferralFigure,
    ReferralListItem,
    ReferralOut,
    ReferralPage,
    RejectIn,
    WorklistOut,
    WorklistTask,
)
from weijian.care.teleconsult.schemas import ConsultationListItem
from weijian.core.actor import Actor
from weijian.core.bounds import Id64, PageNo
from weijian.core.errors import InvalidInput
from weijian.core.web import SessionDep

router = APIRouter(prefix="/api/v1/care", tags=["referrals"])
PageSize = Annotated[int, Query(ge=1, le=queries.MAX_PAGE_SIZE)]


def _out(session: Session, actor: Actor, referral_id: Id64) -> ReferralOut:
    return ReferralOut.of(queries.get(session=session, referral_id=referral_id, actor=actor))


@router.post("/referrals", response_model=ReferralOut, status_code=201)
def create_referral(body: ReferralCreate, session: SessionDep,
                    actor: Actor = Depends(require("referral:create"))) -> ReferralOut:
    referral = service.create(session=session, referral_in=body, actor=actor)
    return _out(session, actor, referral.id)


@router.get("/referrals", response_model=ReferralPage)
def list_referrals(session: SessionDep, actor: Actor = Depends(require("referral:read")),
                   box: str | None = Query(None, description="sent | received; none: all the caller may see"),
                   status: str | None = None, direction: str | None = None, resident_id: Id64 | None = None,
                   page: PageNo = 1, page_size: PageSize = 20) -> ReferralPage:
    result = queries.list_referrals(session=session, actor=actor, box=box, status=status, direction=direction,
                                    resident_id=resident_id, page=page, page_size=page_size)
    return ReferralPage(items=[ReferralListItem.of(i) for i in result.items], total=result.total,
                        page=result.page, page_size=result.page_size)


@router.get("/referrals/inbox", response_model=InboxOut)
def referral_inbox(session: SessionDep, actor: Actor = Depends(require("referral:respond")),
                   page: PageNo = 1, page_size: PageSize = 50) -> InboxOut:
    """Open referrals to the caller's facility, overdue ones first."""
    box = queries.inbox(session=session, actor=actor, page=page, page_size=page_size)
    return InboxOut(items=[ReferralListItem.of(i) for i in box.page.items], total=box.page.total,
                    overdue=box.overdue, page=box.page.page, page_size=box.page.page_size)


@router.get("/referrals/{referral_id}", response_model=ReferralOut)
def read_referral(referral_id: Id64, session: SessionDep,
                  actor: Actor = Depends(require("referral:read"))) -> ReferralOut:
    return _out(session, actor, referral_id)


@router.post("/referrals/{referral_id}/accept", response_model=ReferralOut)
def accept_referral(referral_id: Id64, session: SessionDep, body: ActionIn | None = None,
                    actor: Actor = Depends(require("referral:respond"))) -> ReferralOut:
    service.accept(session=session, referral_id=referral_id, actor=actor, action_in=body)
    return _out(session, actor, referral_id)


@router.post("/referrals/{referral_id}/reject", response_model=ReferralOut)
def reject_referral(referral_id: Id64, body: RejectIn, session: SessionDep,
                    actor: Actor = Depends(require("referral:respond"))) -> ReferralOut:
    service.reject(session=session, referral_id=referral_id, reject_in=body, actor=actor)
    return _out(session, actor, referral_id)


@router.post("/referrals/{referral_id}/arrive", response_model=ReferralOut)
def arrive_referral(referral_id: Id64, session: SessionDep, body: ArriveIn | None = None,
                    actor: Actor = Depends(require("referral:respond"))) -> ReferralOut:
    service.arrive(session=session, referral_id=referral_id, actor=actor, action_in=body)
    return _out(session, actor, referral_id)


@router.post("/referrals/{referral_id}/complete", response_model=ReferralOut)
def complete_referral(referral_id: Id64, body: CompleteIn, session: SessionDep,
                      actor: Actor = Depends(require("referral:respond"))) -> ReferralOut:
    service.complete(session=session, referral_id=referral_id, complete_in=body, actor=actor)
    return _out(session, actor, referral_id)


@router.post("/referrals/{referral_id}/cancel", response_model=ReferralOut)
def cancel_referral(referral_id: Id64, session: SessionDep, body: ActionIn | None = None,
                    actor: Actor = Depends(require("referral:create"))) -> ReferralOut:
    service.cancel(session=session, referral_id=referral_id, actor=actor, action_in=body)
    return _out(session, actor, referral_id)


@router.post("/referrals/{referral_id}/downward", response_model=ReferralOut, status_code=201)
def create_downward(referral_id: Id64, body: DownwardCreate, session: SessionDep,
                    actor: Actor = Depends(require("referral:create"))) -> ReferralOut:
    """A downward referral back to the home village or township after this (completed, upward) referral."""
    referral = service.create_downward(session=session, referral_id=referral_id, downward_in=body, actor=actor)
    return _out(session, actor, referral.id)


# --- worklist, figure -----------------------------------------------------------------------------
@router.get("/worklist", response_model=WorklistOut)
def read_worklist(session: SessionDep, actor: Actor = Depends(require("worklist:read")),
                  programme: str | None = Query(None, description=", ".join(worklist.PROGRAMMES)),
                  village: str | None = Query(None, pattern=r"^\d{12}$", description="a village's 12-digit code"),
                  page: int = Query(1, ge=1, le=10_000), size: int = Query(50, ge=1, le=200)) -> WorklistOut:
    if programme is not None and programme not in worklist.PROGRAMMES:
        raise InvalidInput("programme", "care.referrals.errors.programme_unknown", value=programme,
                           known=", ".join(worklist.PROGRAMMES))
    w = worklist.worklist(session=session, actor=actor, with_recall=False)  # the recall list has its own API
    every = [t for t in worklist.tasks(w) if (programme is None or t.programme == programme)
             and (village is None or t.village_code == village)]
    shown = every[(page - 1) * size:page * size]
    follow_ups = None if w.follow_ups is None else [
        FollowUpDue(registration_id=i.registration_id, resident_id=i.resident_id, resident_name=i.resident_name,
                    program=i.program, last_follow_up=i.last_follow_up, next_due=i.next_due, status=i.status,
                    urgent=i.urgent)
        for i in w.follow_ups]
    return WorklistOut(today=w.today, follow_ups=follow_ups,
                       downward_referrals=[ReferralListItem.of(i) for i in w.downward],
                       consultation_replies=[ConsultationListItem.of(i) for i in w.replies],
                       tasks=[WorklistTask(**vars(t)) for t in shown], tasks_total=len(every))


@router.get("/figures/referrals", response_model=ReferralFigure)
def referral_figure(session: SessionDep, actor: Actor = Depends(require("stats:read")),
                    period: str = Query(..., description="2025, 2025Q1 or 202503"),
                    orgunit: str = Query(..., description="12-digit code of a village, township or the county")
                    ) -> ReferralFigure:
    """Upward and downward referrals of an org unit's residents in a period; value = upward ÷ downward."""
    return ReferralFigure(**queries.referral_counts(session=session, actor=actor, period=period, orgunit=orgunit))
