"""Writes of public-health emergencies: record an event (the report delay against the 2-hour limit is kept,
not refused: a late report is still the report), add to its timeline, close it; keep response teams and
their members; record deployments, drills and reserve supplies. Each needs emergency:write; each names every
bad field at once; nothing is written when one is refused."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import ErrorCollector, InvalidInput, InvalidState
from weijian.orgunits import service as orgunits_service
from weijian.surveillance.emergency import queries
from weijian.surveillance.emergency.models import (
    Deployment,
    Drill,
    EmergencyEvent,
    ReserveSupply,
    ResponseTeam,
    TeamMember,
    TimelineEntry,
)
from weijian.surveillance.emergency.rules import rules
from weijian.surveillance.emergency.schemas import (
    DeploymentCreate,
    DrillCreate,
    EventClose,
    EventCreate,
    MemberCreate,
    SupplyCreate,
    TeamCreate,
    TimelineCreate,
)

_E = "surveillance.emergency.errors."
_MISSING = "core.errors.validation.missing"


def _required(errs: ErrorCollector, cmd: object, *names: str) -> None:
    for name in names:
        if getattr(cmd, name) is None:
            errs.add(name, _MISSING)


def _not_future(errs: ErrorCollector, name: str, value: datetime | None, now: datetime) -> None:
    if value is not None and value > now:
        errs.add(name, _E + "in_future")


def create_event(*, session: Session, event_in: EventCreate, actor: Actor,
                 now: datetime | None = None) -> EmergencyEvent:
    actor.require("emergency:write")
    now = now or clock.now()
    cmd = event_in
    errs = ErrorCollector()
    _required(errs, cmd, "title", "kind", "grade", "occurred_at", "reported_at", "orgunit_code")
    if cmd.kind is not None and cmd.kind not in rules().kinds:
        errs.add("kind", _E + "kind_unknown", value=cmd.kind, known=", ".join(rules().kinds))
    if cmd.grade is not None and cmd.grade not in rules().grades:
        errs.add("grade", _E + "grade_unknown", value=cmd.grade)
    _not_future(errs, "occurred_at", cmd.occurred_at, now)
    _not_future(errs, "discovered_at", cmd.discovered_at, now)
    _not_future(errs, "reported_at", cmd.reported_at, now)
    if cmd.occurred_at is not None and cmd.discovered_at is not None and cmd.discovered_at < cmd.occurred_at:
        errs.add("discovered_at", _E + "discovered_before_occurred")
    start = cmd.discovered_at or cmd.occurred_at
    if start is not None and cmd.reported_at is not None and cmd.reported_at < start:
        errs.add("reported_at", _E + ("reported_before_discovered" if cmd.discovered_at else
                                      "reported_before_occurred"))
    if cmd.orgunit_code is not None:
        unit = orgunits_service.get(session=session, code=cmd.orgunit_code)
        if unit is None:
            errs.add("orgunit_code", _E + "orgunit_unknown", code=cmd.orgunit_code)
        elif not orgunits_service.in_scope(scope_code=actor.scope_code, code=unit.code):
            errs.add("orgunit_code", _E + "orgunit_out_of_scope", code=unit.code)
    errs.raise_if_any()
    assert cmd.occurred_at is not None and cmd.reported_at is not None  # checked above
    event = EmergencyEvent(title=cmd.title, kind=cmd.kind, grade=cmd.grade, occurred_at=cmd.occurred_at,
                           discovered_at=cmd.discovered_at, reported_at=cmd.reported_at,
                           orgunit_code=cmd.orgunit_code, status="open", summary=cmd.summary,
                           recorded_by=actor.username, recorded_at=now)
    session.add(event)
    session.flush()
    return event


def add_timeline(*, session: Session, event_id: int, entry_in: TimelineCreate, actor: Actor,
                 now: datetime | None = None) -> TimelineEntry:
    """An entry of the event's timeline (not before the event, not in the future)."""
    actor.require("emergency:write")
    now = now or clock.now()
    event = queries.get_event(session=session, event_id=event_id, actor=actor)
    errs = ErrorCollector()
    _required(errs, entry_in, "at", "entry")
    _not_future(errs, "at", entry_in.at, now)
    if entry_in.at is not None and entry_in.at < event.occurred_at:
        errs.add("at", _E + "before_event")
    errs.raise_if_any()
    assert entry_in.at is not None and entry_in.entry is not None
    row = TimelineEntry(event_id=event.id, at=entry_in.at, entry=entry_in.entry, recorded_by=actor.username,
                        recorded_at=now)
    session.add(row)
    session.flush()
    return row


def close_event(*, session: Session, event_id: int, close_in: EventClose, actor: Actor,
                now: datetime | None = None) -> EmergencyEvent:
    """Close an open event (响应终止) at `closed_at` (now when not given; not before the event)."""
    actor.require("emergency:write")
    now = now or clock.now()
    event = queries.get_event(session=session, event_id=event_id, actor=actor)
    if event.status == "closed":
        raise InvalidState(_E + "already_closed")
    at = close_in.closed_at or now
    if at > now:
        raise InvalidInput("closed_at", _E + "in_future")
    if at < event.occurred_at:
        raise InvalidInput("closed_at", _E + "before_event")
    event.status, event.closed_at = "closed", at
    session.flush()
    return event


# --- teams ----------------------------------------------------------------------------------------
def create_team(*, session: Session, team_in: TeamCreate, actor: Actor) -> ResponseTeam:
    actor.require("emergency:write")
    if team_in.name is None:
        raise InvalidInput("name", _MISSING)
    if session.scalar(select(ResponseTeam.id).where(ResponseTeam.name == team_in.name)) is not None:
        raise InvalidInput("name", _E + "team_name_taken", name=team_in.name)
    team = ResponseTeam(name=team_in.name, specialty=team_in.specialty)
    session.add(team)
    session.flush()
    return team


def add_member(*, session: Session, team_id: int, member_in: MemberCreate, actor: Actor) -> TeamMember:
    """A member: a user (user_id; the name is the user's full name) or a name, with a role."""
    actor.require("emergency:write")
    team = queries.get_team(session=session, team_id=team_id)
    errs = ErrorCollector()
    name = member_in.name
    if member_in.user_id is not None:
        user = accounts_service.get(session=session, user_id=member_in.user_id)
        if user is None or not user.is_active:
            errs.add("user_id", _E + "user_unknown", value=member_in.user_id)
        else:
            name = user.full_name or user.username
    elif name is None:
        errs.add("name", _MISSING)
    if member_in.role is None:
        errs.add("role", _MISSING)
    errs.raise_if_any()
    assert name is not None and member_in.role is not None
    member = TeamMember(team_id=team.id, user_id=member_in.user_id, name=name, role=member_in.role)
    session.add(member)
    session.flush()
    return member


# --- deployments, drills, supplies --------------------------------------------------------------------
def _team_and_event(session: Session, errs: ErrorCollector, actor: Actor, team_id: int | None,
                    event_id: int | None = None) -> None:
    if team_id is not None and session.get(ResponseTeam, team_id) is None:
        errs.add("team_id", _E + "team_unknown", value=team_id)
    if event_id is not None:
        event = session.get(EmergencyEvent, event_id)
        if event is None or not orgunits_service.in_scope(scope_code=actor.scope_code, code=event.orgunit_code):
            errs.add("event_id", _E + "event_unknown", value=event_id)


def create_deployment(*, session: Session, deployment_in: DeploymentCreate, actor: Actor) -> Deployment:
    """A batch of staff sent: the day, where, how many people (at least one), the task; a team and an event
    when there is one (the day not in the future)."""
    actor.require("emergency:write")
    cmd = deployment_in
    errs = ErrorCollector()
    _required(errs, cmd, "deployed_on", "destination", "people", "task")
    if cmd.deployed_on is not None and cmd.deployed_on > clock.today():
        errs.add("deployed_on", _E + "in_future")
    _team_and_event(session, errs, actor, cmd.team_id, cmd.event_id)
    errs.raise_if_any()
    row = Deployment(deployed_on=cmd.deployed_on, destination=cmd.destination, people=cmd.people, task=cmd.task,
                     team_id=cmd.team_id, event_id=cmd.event_id, recorded_by=actor.username)
    session.add(row)
    session.flush()
    return row


def create_drill(*, session: Session, drill_in: DrillCreate, actor: Actor) -> Drill:
    actor.require("emergency:write")
    cmd = drill_in
    errs = ErrorCollector()
    _required(errs, cmd, "held_on", "scenario", "participants")
    _team_and_event(session, errs, actor, cmd.team_id)
    errs.raise_if_any()
    row = Drill(held_on=cmd.held_on, scenario=cmd.scenario, participants=cmd.participants, team_id=cmd.team_id,
                recorded_by=actor.username)
    session.add(row)
    session.flush()
    return row


def create_supply(*, session: Session, supply_in: SupplyCreate, actor: Actor) -> ReserveSupply:
    actor.require("emergency:write")
    cmd = supply_in
    errs = ErrorCollector()
    _required(errs, cmd, "item", "quantity", "unit")
    errs.raise_if_any()
    row = ReserveSupply(item=cmd.item, quantity=cmd.quantity, unit=cmd.unit, expiry_date=cmd.expiry_date,
                        location=cmd.location)
    session.add(row)
    session.flush()
    return row
