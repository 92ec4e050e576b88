"""JSON routes of public-health emergencies under /api/v1/surveillance/emergency: events (with the timeline
and the report delay), close, teams and members, deployments and their count in a date range, drills, the
reserve. Read with emergency:read, written with emergency:write."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from weijian.accounts.deps import require
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.bounds import BoundedDate, Id64
from weijian.core.web import SessionDep
from weijian.surveillance.emergency import queries, service
from weijian.surveillance.emergency.models import EmergencyEvent, ResponseTeam
from weijian.surveillance.emergency.rules import rules
from weijian.surveillance.emergency.schemas import (
    DeploymentCreate,
    DeploymentOut,
    DeploymentSummary,
    DrillCreate,
    DrillOut,
    EventClose,
    EventCreate,
    EventOut,
    MemberCreate,
    SupplyCreate,
    SupplyOut,
    TeamCreate,
    TeamMemberOut,
    TeamOut,
    TimelineCreate,
    TimelineOut,
)

router = APIRouter(prefix="/api/v1/surveillance/emergency", tags=["surveillance"])
Reader = Depends(require("emergency:read"))
Writer = Depends(require("emergency:write"))


def event_out(session: Session, event: EmergencyEvent, *, with_timeline: bool = False) -> EventOut:
    batches, people = queries.event_deployments(session=session, event_id=event.id)
    entries = queries.timeline(session=session, event_id=event.id) if with_timeline else []
    return EventOut(id=event.id, title=event.title, kind=event.kind, grade=event.grade,
                    occurred_at=event.occurred_at, discovered_at=event.discovered_at,
                    reported_at=event.reported_at,
                    report_hours=queries.report_hours(event), report_limit_hours=rules().report_limit_hours,
                    reported_late=queries.reported_late(event), orgunit_code=event.orgunit_code,
                    status=event.status, closed_at=event.closed_at, summary=event.summary,
                    timeline=[TimelineOut(id=t.id, at=t.at, entry=t.entry, recorded_by=t.recorded_by)
                              for t in entries],
                    deployments=batches, people_deployed=people)


def team_out(session: Session, team: ResponseTeam) -> TeamOut:
    found = queries.members(session=session, team_ids=[team.id])[team.id]
    return TeamOut(id=team.id, name=team.name, specialty=team.specialty,
                   members=[TeamMemberOut(id=m.id, user_id=m.user_id, name=m.name, role=m.role) for m in found])


@router.get("/events", response_model=list[EventOut])
def list_events(session: SessionDep, status: str | None = Query(None, description="open | closed"),
                actor: Actor = Reader) -> list[EventOut]:
    return [event_out(session, e) for e in queries.list_events(session=session, actor=actor, status=status)]


@router.post("/events", response_model=EventOut, status_code=201)
def create_event(body: EventCreate, session: SessionDep, actor: Actor = Writer) -> EventOut:
    return event_out(session, service.create_event(session=session, event_in=body, actor=actor))


@router.get("/events/{event_id}", response_model=EventOut)
def read_event(event_id: Id64, session: SessionDep, actor: Actor = Reader) -> EventOut:
    event = queries.get_event(session=session, event_id=event_id, actor=actor)
    return event_out(session, event, with_timeline=True)


@router.post("/events/{event_id}/timeline", response_model=EventOut, status_code=201)
def add_timeline(event_id: Id64, body: TimelineCreate, session: SessionDep, actor: Actor = Writer) -> EventOut:
    service.add_timeline(session=session, event_id=event_id, entry_in=body, actor=actor)
    return read_event(event_id, session, actor)


@router.post("/events/{event_id}/close", response_model=EventOut)
def close_event(event_id: Id64, session: SessionDep, body: EventClose | None = None,
                actor: Actor = Writer) -> EventOut:
    service.close_event(session=session, event_id=event_id, close_in=body or EventClose(), actor=actor)
    return read_event(event_id, session, actor)


@router.get("/teams", response_model=list[TeamOut])
def list_teams(session: SessionDep, actor: Actor = Reader) -> list[TeamOut]:
    return [team_out(session, t) for t in queries.list_teams(session=session)]


@router.post("/teams", response_model=TeamOut, status_code=201)
def create_team(body: TeamCreate, session: SessionDep, actor: Actor = Writer) -> TeamOut:
    return team_out(session, service.create_team(session=session, team_in=body, actor=actor))


@router.post("/teams/{team_id}/members", response_model=TeamOut, status_code=201)
def add_member(team_id: Id64, body: MemberCreate, session: SessionDep, actor: Actor = Writer) -> TeamOut:
    member = service.add_member(session=session, team_id=team_id, member_in=body, actor=actor)
    return team_out(session, queries.get_team(session=session, team_id=member.team_id))


def _deployment(d: object) -> DeploymentOut:
    return DeploymentOut.model_validate(d, from_attributes=True)


@router.get("/deployments", response_model=list[DeploymentOut])
def list_deployments(session: SessionDep, date_from: BoundedDate | None = Query(None, alias="from"),
                     date_to: BoundedDate | None = Query(None, alias="to"), event_id: Id64 | None = None,
                     actor: Actor = Reader) -> list[DeploymentOut]:
    rows = queries.list_deployments(session=session, date_from=date_from, date_to=date_to, event_id=event_id)
    return [_deployment(d) for d in rows]


@router.post("/deployments", response_model=DeploymentOut, status_code=201)
def create_deployment(body: DeploymentCreate, session: SessionDep, actor: Actor = Writer) -> DeploymentOut:
    return _deployment(service.create_deployment(session=session, deployment_in=body, actor=actor))


@router.get("/deployments/summary", response_model=DeploymentSummary)
def deployment_summary(session: SessionDep, date_from: BoundedDate | None = Query(None, alias="from"),
                       date_to: BoundedDate | None = Query(None, alias="to"),
                       actor: Actor = Reader) -> DeploymentSummary:
    s = queries.deployment_summary(session=session, date_from=date_from, date_to=date_to)
    return DeploymentSummary(date_from=s.date_from, date_to=s.date_to, batches=s.batches, people=s.people)


@router.get("/drills", response_model=list[DrillOut])
def list_drills(session: SessionDep, actor: Actor = Reader) -> list[DrillOut]:
    return [DrillOut.model_validate(d, from_attributes=True) for d in queries.list_drills(session=session)]


@router.post("/drills", response_model=DrillOut, status_code=201)
def create_drill(body: DrillCreate, session: SessionDep, actor: Actor = Writer) -> DrillOut:
    return DrillOut.model_validate(service.create_drill(session=session, drill_in=body, actor=actor),
                                   from_attributes=True)


def _supply(s: object, flag: str | None) -> SupplyOut:
    return SupplyOut.model_validate({**{k: getattr(s, k) for k in SupplyOut.model_fields if k != "flag"},
                                     "flag": flag})


@router.get("/supplies", response_model=list[SupplyOut])
def list_supplies(session: SessionDep, actor: Actor = Reader) -> list[SupplyOut]:
    return [_supply(s, flag) for s, flag in queries.list_supplies(session=session)]


@router.post("/supplies", response_model=SupplyOut, status_code=201)
def create_supply(body: SupplyCreate, session: SessionDep, actor: Actor = Writer) -> SupplyOut:
    supply = service.create_supply(session=session, supply_in=body, actor=actor)
    return _supply(supply, queries.supply_flag(supply, clock.today()))
