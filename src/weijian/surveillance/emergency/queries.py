"""Reads of public-health emergencies: events in the actor's scope (by the event's org unit) with their
timeline and report delay, teams with members, deployments and their count in a date range, drills, and the
reserve with its expiry flags. Emergency records hold no personal data: the reads are not audited."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import InvalidInput, NotFound
from weijian.orgunits import service as orgunits_service
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

_E = "surveillance.emergency.errors."


def report_hours(event: EmergencyEvent) -> float:
    """Hours from the discovery (none recorded: the occurrence) to the report — the 2 hours of 突发公共卫生事件
    应急条例 Art. 20 run from the discovery."""
    return round((event.reported_at - (event.discovered_at or event.occurred_at)).total_seconds() / 3600, 2)


def reported_late(event: EmergencyEvent) -> bool:
    start = event.discovered_at or event.occurred_at
    return event.reported_at - start > timedelta(hours=rules().report_limit_hours)


def list_events(*, session: Session, actor: Actor, status: str | None = None) -> list[EmergencyEvent]:
    stmt = select(EmergencyEvent).where(orgunits_service.scope_condition(EmergencyEvent.orgunit_code, actor))
    if status:
        stmt = stmt.where(EmergencyEvent.status == status)
    return list(session.scalars(stmt.order_by(EmergencyEvent.occurred_at.desc(), EmergencyEvent.id.desc())))


def get_event(*, session: Session, event_id: int, actor: Actor) -> EmergencyEvent:
    """The event, or NotFound (one outside the actor's scope answers as a missing one)."""
    event = session.get(EmergencyEvent, event_id)
    if event is None or not orgunits_service.in_scope(scope_code=actor.scope_code, code=event.orgunit_code):
        raise NotFound(_E + "event_not_found", event_id=event_id)
    return event


def timeline(*, session: Session, event_id: int) -> list[TimelineEntry]:
    return list(session.scalars(select(TimelineEntry).where(TimelineEntry.event_id == event_id)
                                .order_by(TimelineEntry.at, TimelineEntry.id)))


def list_teams(*, session: Session) -> list[ResponseTeam]:
    return list(session.scalars(select(ResponseTeam).order_by(ResponseTeam.name)))


def get_team(*, session: Session, team_id: int) -> ResponseTeam:
    team = session.get(ResponseTeam, team_id)
    if team is None:
        raise NotFound(_E + "team_not_found", team_id=team_id)
    return team


def members(*, session: Session, team_ids: list[int]) -> dict[int, list[TeamMember]]:
    out: dict[int, list[TeamMember]] = {t: [] for t in team_ids}
    for m in session.scalars(select(TeamMember).where(TeamMember.team_id.in_(team_ids)).order_by(TeamMember.id)):
        out[m.team_id].append(m)
    return out


def list_deployments(*, session: Session, date_from: date | None = None, date_to: date | None = None,
                     event_id: int | None = None) -> list[Deployment]:
    stmt = select(Deployment)
    if date_from is not None:
        stmt = stmt.where(Deployment.deployed_on >= date_from)
    if date_to is not None:
        stmt = stmt.where(Deployment.deployed_on <= date_to)
    if event_id is not None:
        stmt = stmt.where(Deployment.event_id == event_id)
    return list(session.scalars(stmt.order_by(Deployment.deployed_on, Deployment.id)))


@dataclass(frozen=True)
class Summary:
    date_from: date
    date_to: date
    batches: int
    people: int


def check_range(date_from: date | None, date_to: date | None) -> tuple[date, date]:
    """The range asked for (both ends inclusive); refused naming the field when an end is missing or the range
    runs backwards."""
    if date_from is None:
        raise InvalidInput("from", "core.errors.validation.missing")
    if date_to is None:
        raise InvalidInput("to", "core.errors.validation.missing")
    if date_to < date_from:
        raise InvalidInput("to", _E + "range_backwards")
    return date_from, date_to


def deployment_summary(*, session: Session, date_from: date | None, date_to: date | None) -> Summary:
    """Batches sent and people in them, deployed from `date_from` to `date_to` inclusive."""
    first, last = check_range(date_from, date_to)
    batches, people = session.execute(
        select(func.count(Deployment.id), func.coalesce(func.sum(Deployment.people), 0))
        .where(Deployment.deployed_on >= first, Deployment.deployed_on <= last)).one()
    return Summary(first, last, int(batches), int(people))


def event_deployments(*, session: Session, event_id: int) -> tuple[int, int]:
    batches, people = session.execute(
        select(func.count(Deployment.id), func.coalesce(func.sum(Deployment.people), 0))
        .where(Deployment.event_id == event_id)).one()
    return int(batches), int(people)


def list_drills(*, session: Session) -> list[Drill]:
    return list(session.scalars(select(Drill).order_by(Drill.held_on.desc(), Drill.id.desc())))


def supply_flag(supply: ReserveSupply, today: date) -> str | None:
    """expired (past its expiry date), expiring (within data/emergency.yaml's expiring_days), else None."""
    if supply.expiry_date is None:
        return None
    if supply.expiry_date < today:
        return "expired"
    if supply.expiry_date <= today + timedelta(days=rules().expiring_days):
        return "expiring"
    return None


def list_supplies(*, session: Session, today: date | None = None) -> list[tuple[ReserveSupply, str | None]]:
    """Every reserve item with its flag, the soonest expiry first."""
    day = today or clock.today()
    rows = session.scalars(select(ReserveSupply).order_by(ReserveSupply.expiry_date.is_(None),
                                                           ReserveSupply.expiry_date, ReserveSupply.item))
    return [(s, supply_flag(s, day)) for s in rows]
