"""JSON routes of the early-warning signals under /api/v1/surveillance/signals: list, read, the time to verify
and to respond, and the lifecycle (verify, respond, close)."""
from __future__ import annotations

from datetime import date, timedelta

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from weijian.accounts.deps import ActorDep, require
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.bounds import Id64
from weijian.core.web import SessionDep, TranslatorDep
from weijian.surveillance.signals import queries, service
from weijian.surveillance.signals.queries import SignalItem
from weijian.surveillance.signals.schemas import CloseIn, RespondIn, SignalOut, SignalPage, TimelinessOut, VerifyIn

router = APIRouter(prefix="/api/v1/surveillance", tags=["surveillance"])


def out(item: SignalItem) -> SignalOut:
    return SignalOut.of(item.signal, overdue=item.overdue, case_report_ids=item.case_report_ids,
                        hours_to_verify=item.hours_to_verify, hours_to_respond=item.hours_to_respond)


def _one(session: Session, actor: Actor, signal_id: int, locale: str) -> SignalOut:
    return out(queries.get(session=session, signal_id=signal_id, actor=actor, locale=locale))


@router.get("/signals", response_model=SignalPage)
def list_signals(session: SessionDep, tr: TranslatorDep, view: str = "open", disease: str | None = None,
                 orgunit: str | None = None, actor: Actor = Depends(require("signal:read"))) -> SignalPage:
    items = queries.list_signals(session=session, actor=actor, view=view, disease=disease, orgunit=orgunit,
                                 locale=tr.locale)
    return SignalPage(items=[out(i) for i in items], total=len(items))


@router.get("/signals/timeliness", response_model=TimelinessOut)
def signal_timeliness(session: SessionDep, start: date | None = None, end: date | None = None,
                      actor: Actor = Depends(require("signal:read"))) -> TimelinessOut:
    end = end or clock.today()
    start = start or end - timedelta(days=29)
    return TimelinessOut.of(queries.timeliness(session=session, actor=actor, start=start, end=end))


@router.get("/signals/{signal_id}", response_model=SignalOut)
def read_signal(signal_id: Id64, session: SessionDep, tr: TranslatorDep, actor: ActorDep) -> SignalOut:
    return _one(session, actor, signal_id, tr.locale)


@router.post("/signals/{signal_id}/verify", response_model=SignalOut)
def verify_signal(signal_id: Id64, body: VerifyIn, session: SessionDep, tr: TranslatorDep,
                  actor: Actor = Depends(require("signal:verify"))) -> SignalOut:
    service.verify(session=session, signal_id=signal_id, verify_in=body, actor=actor)
    return _one(session, actor, signal_id, tr.locale)


@router.post("/signals/{signal_id}/respond", response_model=SignalOut)
def respond_signal(signal_id: Id64, body: RespondIn, session: SessionDep, tr: TranslatorDep,
                   actor: Actor = Depends(require("signal:verify"))) -> SignalOut:
    service.respond(session=session, signal_id=signal_id, respond_in=body, actor=actor)
    return _one(session, actor, signal_id, tr.locale)


@router.post("/signals/{signal_id}/close", response_model=SignalOut)
def close_signal(signal_id: Id64, session: SessionDep, tr: TranslatorDep, body: CloseIn | None = None,
                 actor: Actor = Depends(require("signal:verify"))) -> SignalOut:
    service.close(session=session, signal_id=signal_id, close_in=body or CloseIn(), actor=actor)
    return _one(session, actor, signal_id, tr.locale)
