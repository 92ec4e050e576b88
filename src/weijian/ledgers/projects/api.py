"""JSON routes of practical projects under /api/v1/ledgers/projects: the register with each project's
序时进度 (?as_of=), one project with milestones and entries, the overview by category or owner; create,
milestones, progress. Read with ledger:read, written with project:write."""
from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from weijian.accounts.deps import require
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.bounds import BoundedDate, Id64
from weijian.core.errors import InvalidInput
from weijian.core.web import SessionDep
from weijian.ledgers.projects import queries, service
from weijian.ledgers.projects.models import Project
from weijian.ledgers.projects.rules import round4
from weijian.ledgers.projects.schemas import (
    MilestoneCreate,
    MilestoneOut,
    OverviewGroup,
    ProgressCreate,
    ProgressOut,
    ProjectCreate,
    ProjectOut,
)

router = APIRouter(prefix="/api/v1/ledgers/projects", tags=["ledgers"])
Reader = Depends(require("ledger:read"))
Writer = Depends(require("project:write"))


def project_out(session: Session, s: queries.Standing, *, full: bool = False) -> ProjectOut:
    p, g = s.project, s.progress
    ms = queries.milestones(session=session, project_id=p.id) if full else []
    es = queries.entries(session=session, project_id=p.id) if full else []
    return ProjectOut(
        id=p.id, name=p.name, category=p.category, owner=p.owner, person_in_charge=p.person_in_charge, unit=p.unit,
        target=p.target, starts_on=p.starts_on, ends_on=p.ends_on, tolerance=p.tolerance, source=p.source,
        as_of=s.as_of, done=s.done, expected_share=round4(g.expected_share) if g else None,
        actual_share=round4(g.actual_share) if g else None,
        expected_done=float(g.rounded()["expected_done"]) if g else None,  # type: ignore[arg-type]
        status=g.status if g else None, colour=g.colour if g else None,
        milestones=[MilestoneOut(id=m.id, title=m.title, due_on=m.due_on, target_done=m.target_done,
                                 reached_on=m.reached_on,
                                 late=m.reached_on is None and m.due_on < s.as_of or
                                 (m.reached_on is not None and m.reached_on > m.due_on)) for m in ms],
        progress=[ProgressOut.model_validate(e, from_attributes=True) for e in es])


def _one(session: Session, project: Project, as_of: date | None = None) -> ProjectOut:
    return project_out(session, queries.standings(session=session, projects=[project], as_of=as_of)[0], full=True)


@router.get("", response_model=list[ProjectOut])
def list_projects(session: SessionDep, as_of: BoundedDate | None = None, category: str | None = None,
                  owner: str | None = None, actor: Actor = Reader) -> list[ProjectOut]:
    rows = queries.standings(session=session, projects=queries.list_projects(session=session, category=category,
                                                                            owner=owner), as_of=as_of)
    return [project_out(session, s) for s in rows]


@router.post("", response_model=ProjectOut, status_code=201)
def create_project(body: ProjectCreate, session: SessionDep, actor: Actor = Writer) -> ProjectOut:
    return _one(session, service.create(session=session, project_in=body, actor=actor))


@router.get("/overview", response_model=list[OverviewGroup])
def overview(session: SessionDep, by: str = Query("category", description="category | owner"),
             as_of: BoundedDate | None = None, actor: Actor = Reader) -> list[OverviewGroup]:
    if by not in ("category", "owner"):
        raise InvalidInput("by", "ledgers.projects.errors.by_unknown", value=by)
    rows = queries.standings(session=session, projects=queries.list_projects(session=session), as_of=as_of)
    return [OverviewGroup(**g.__dict__) for g in queries.overview(rows, by)]


@router.get("/{project_id}", response_model=ProjectOut)
def read_project(project_id: Id64, session: SessionDep, as_of: BoundedDate | None = None,
                 actor: Actor = Reader) -> ProjectOut:
    return _one(session, queries.get(session=session, project_id=project_id), as_of)


@router.post("/{project_id}/milestones", response_model=ProjectOut, status_code=201)
def add_milestone(project_id: Id64, body: MilestoneCreate, session: SessionDep, actor: Actor = Writer) -> ProjectOut:
    service.add_milestone(session=session, project_id=project_id, milestone_in=body, actor=actor)
    return _one(session, queries.get(session=session, project_id=project_id))


@router.post("/{project_id}/progress", response_model=ProjectOut, status_code=201)
def record_progress(project_id: Id64, body: ProgressCreate, session: SessionDep, actor: Actor = Writer) -> ProjectOut:
    service.record_progress(session=session, project_id=project_id, progress_in=body, actor=actor)
    return _one(session, queries.get(session=session, project_id=project_id), clock.today())
