"""JSON routes of training and outreach under /api/v1/ledgers/training: the sessions, recording one, and the
roll-up by township and project (ledger:read / ledger:write)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from weijian.accounts.deps import require
from weijian.core.actor import Actor
from weijian.core.bounds import BoundedDate
from weijian.core.web import SessionDep
from weijian.ledgers.training import service
from weijian.ledgers.training.models import TrainingSession
from weijian.ledgers.training.schemas import RollupOut, RollupRowOut, SessionCreate, SessionOut

router = APIRouter(prefix="/api/v1/ledgers/training", tags=["ledgers: training"])


def session_out(t: TrainingSession) -> SessionOut:
    return SessionOut.model_validate(t, from_attributes=True)


@router.get("/sessions", response_model=list[SessionOut])
def list_sessions(session: SessionDep, date_from: BoundedDate | None = Query(None, alias="from"),
                  date_to: BoundedDate | None = Query(None, alias="to"),
                  project: str | None = Query(None, max_length=100),
                  actor: Actor = Depends(require("ledger:read"))) -> list[SessionOut]:
    return [session_out(t) for t in service.list_sessions(session=session, actor=actor, date_from=date_from,
                                                          date_to=date_to, project=project)]


@router.post("/sessions", response_model=SessionOut, status_code=201)
def create_session(body: SessionCreate, session: SessionDep,
                   actor: Actor = Depends(require("ledger:write"))) -> SessionOut:
    return session_out(service.record_session(session=session, session_in=body, actor=actor))


@router.get("/rollup", response_model=RollupOut)
def rollup(session: SessionDep, date_from: BoundedDate | None = Query(None, alias="from"),
           date_to: BoundedDate | None = Query(None, alias="to"),
           actor: Actor = Depends(require("ledger:read"))) -> RollupOut:
    rows = service.rollup(session=session, actor=actor, date_from=date_from, date_to=date_to)
    by_project: dict[str, int] = {}
    for r in rows:
        by_project[r.project] = by_project.get(r.project, 0) + r.trained
    return RollupOut(date_from=date_from, date_to=date_to, by_project=by_project, total=sum(by_project.values()),
                     rows=[RollupRowOut(township_code=r.township_code, township_name=r.township_name,
                                        project=r.project, sessions=r.sessions, trained=r.trained) for r in rows])
