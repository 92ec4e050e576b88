"""A small county for the health-record tests: facilities at each tier, one clinician per tier with their
facility, a bureau user, and residents of both sexes and of several ages in three villages."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests import factories as f
from weijian.accounts import service as accounts_service
from weijian.accounts.models import AuditEvent
from weijian.care.models import Diagnosis, Encounter, HealthCheck, Screening
from weijian.care.records import service as records
from weijian.care.records.schemas import DischargeIn, EncounterCreate, HealthCheckCreate, ScreeningCreate
from weijian.core import commands
from weijian.core.actor import Actor

TODAY = date(2025, 6, 30)


@dataclass
class World:
    facilities: dict[str, Any]
    users: dict[str, Any]
    actors: dict[str, Actor]
    people: dict[str, Any]


def build(session: Session) -> World:
    f.make_county(session)
    fac = {
        "clinic_a1": f.make_facility(session, name="东冲村卫生室", type="village_clinic", orgunit_code=f.VILLAGE_A1,
                                   beds_approved=0, beds_open=0),
        "centre_a": f.make_facility(session, name="温泉镇中心卫生院", type="township_centre", orgunit_code=f.TOWN_A),
        "centre_b": f.make_facility(session, name="南河镇卫生院", type="township_centre", orgunit_code=f.TOWN_B),
        "county": f.make_facility(session, name="英山县人民医院", type="county_general", orgunit_code=f.COUNTY),
        "tcm": f.make_facility(session, name="英山县中医医院", type="county_tcm", orgunit_code=f.COUNTY),
        "cdc": f.make_facility(session, name="英山县疾控中心", type="cdc", orgunit_code=f.COUNTY),
    }
    users = {
        "village": f.make_user(session, "village_doctor", f.VILLAGE_A1, facility_id=fac["clinic_a1"].id,
                               full_name="李村医"),
        "township": f.make_user(session, "township_doctor", f.TOWN_A, facility_id=fac["centre_a"].id),
        "township_b": f.make_user(session, "township_doctor", f.TOWN_B, facility_id=fac["centre_b"].id),
        "county": f.make_user(session, "county_doctor", f.COUNTY, facility_id=fac["county"].id),
        "bureau": f.make_user(session, "bureau_admin", f.COUNTY),
    }
    actors = {k: accounts_service.actor_for(u) for k, u in users.items()}
    people = {
        "man": f.make_resident(session, name="王大山", sex="male", birth_date=date(1970, 5, 1)),
        "woman": f.make_resident(session, name="刘小花", sex="female", birth_date=date(1985, 3, 8)),
        "elder": f.make_resident(session, name="陈老汉", sex="male", birth_date=date(1955, 1, 2)),
        "other_town": f.make_resident(session, name="赵南岭", sex="male", birth_date=date(1980, 1, 1),
                                      village_code=f.VILLAGE_B1),
    }
    return World(fac, users, actors, people)


def visit(**over: Any) -> dict[str, Any]:
    """An outpatient visit's values: today's date at the caller's own facility with one diagnosis."""
    values: dict[str, Any] = {"type": "outpatient", "start_date": "2025-06-01", "diagnoses": ["J06.9"],
                              "total_cost": "35.50", "in_policy_cost": "30.00"}
    values.update(over)
    return values


def record(session: Session, w: World, actor: str = "village", resident: str = "man", **over: Any) -> Encounter:
    """An outpatient visit (`visit`, changed by `over`) of one of the world's people, by one of its actors."""
    values = visit(resident_id=w.people[resident].id, **over)
    return create_encounter(session=session, values=values, actor=w.actors[actor], today=TODAY)


# The record's writes called with plain values, as a form or a script gives them: the command is built first
# (core.commands.build), so that a value of the wrong shape is refused as the page and the API refuse it.
def create_encounter(*, values: dict[str, Any], **kw: Any) -> Encounter:
    return records.create_encounter(encounter_in=commands.build(EncounterCreate, values), **kw)


def create_health_check(*, values: dict[str, Any], **kw: Any) -> HealthCheck:
    return records.create_health_check(health_check_in=commands.build(HealthCheckCreate, values), **kw)


def create_screening(*, values: dict[str, Any], **kw: Any) -> Screening:
    return records.create_screening(screening_in=commands.build(ScreeningCreate, values), **kw)


def discharge(*, end_date: Any, total_cost: Any = None, in_policy_cost: Any = None, note: Any = None,
              **kw: Any) -> Encounter:
    given = {"end_date": end_date, "total_cost": total_cost, "in_policy_cost": in_policy_cost, "note": note}
    cmd = commands.build(DischargeIn, {k: v for k, v in given.items() if v is not None})
    return records.discharge(discharge_in=cmd, **kw)


def counts(session: Session) -> tuple[int, int, int, int, int]:
    """(encounters, diagnoses, health checks, screenings, audit events): a refusal changes none of them
    (but for the event that logs the refusal itself, left out here)."""
    return (*(session.scalar(select(func.count()).select_from(m)) for m in (Encounter, Diagnosis, HealthCheck,
                                                                             Screening)),
            session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action != "refused")))


def writes(session: Session) -> tuple[int, ...]:
    """Like `counts`, but audit events of reads are left out: a page that shows a refused form again has read
    the resident (and logged that), and written nothing."""
    return (*counts(session)[:4], session.scalar(select(func.count()).select_from(AuditEvent)
                                                 .where(AuditEvent.action != "read")))


def audit_events(session: Session, resident_id: int, action: str | None = None,
                 entity_type: str | None = None) -> list[AuditEvent]:
    stmt = select(AuditEvent).where(AuditEvent.resident_id == resident_id).order_by(AuditEvent.id)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    if entity_type:
        stmt = stmt.where(AuditEvent.entity_type == entity_type)
    return list(session.scalars(stmt))
