"""A small county for the referral and consultation tests: a facility per care tier, a clinician at each, a
bureau user, and residents in two towns' villages with an encounter on record."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests import factories as f
from weijian.accounts import service as accounts_service
from weijian.accounts.models import AuditEvent
from weijian.care.models import Diagnosis, Encounter
from weijian.care.referrals import service as referrals_service
from weijian.care.referrals.schemas import CompleteIn, DownwardCreate, ReferralCreate
from weijian.core import commands
from weijian.core.actor import Actor

NOW = datetime(2025, 6, 30, 2, 0, tzinfo=UTC)  # 10:00 in Beijing


@dataclass
class World:
    fac: dict[str, Any]
    users: dict[str, Any]
    actors: dict[str, Actor]
    people: dict[str, Any]


def build(session: Session) -> World:
    f.make_county(session)
    fac = f.make_care_facilities(session)
    users, actors = {}, {}
    for key, facility in (("village", fac["clinic_a1"]), ("village_b", fac["clinic_b1"]), ("town", fac["town_a"]),
                          ("town_b", fac["town_b"]), ("county", fac["county"]), ("tcm", fac["tcm"])):
        users[key], actors[key] = f.make_clinician(session, facility)
    users["county2"], actors["county2"] = f.make_clinician(session, fac["county"])
    users["bureau"] = f.make_user(session, "bureau_admin", f.COUNTY)
    actors["bureau"] = accounts_service.actor_for(users["bureau"])
    people = {
        "zhang": f.make_resident(session, name="张三", village_code=f.VILLAGE_A1),
        # 李四 becomes a hypertension patient in some tests: an adult of the programme's ages (35+ in 2024), not
        # the random age of a fresh identity number.
        "li": f.make_resident(session, name="李四", village_code=f.VILLAGE_A1, birth_date=date(1970, 3, 1)),
        "wang": f.make_resident(session, name="王五", village_code=f.VILLAGE_A2),
        "zhao": f.make_resident(session, name="赵六", village_code=f.VILLAGE_B1),
    }
    visit(session, people["zhang"], fac["clinic_a1"], date(2025, 6, 1), "I10")
    return World(fac, users, actors, people)


def visit(session: Session, resident, facility, on: date, code: str,
          type_: str = "outpatient") -> Encounter:
    encounter = Encounter(resident_id=resident.id, facility_id=facility.id, type=type_, start_date=on,
                          primary_diagnosis=code, diagnoses=[Diagnosis(seq=1, code=code)])
    session.add(encounter)
    session.flush()
    return encounter


def up_values(w: World, **over) -> dict[str, Any]:
    """A valid upward referral of 张三 from the village clinic to the township centre."""
    values = dict(resident_id=w.people["zhang"].id, direction="up", to_facility_id=w.fac["town_a"].id,
                  reason="血压控制不佳", diagnosis="I10", urgency="routine")
    values.update(over)
    return values


def refer(session: Session, w: World, sender: str = "village", now: datetime = NOW,
          **over):
    return referrals_service.create(session=session, referral_in=commands.build(ReferralCreate, up_values(w, **over)), actor=w.actors[sender], now=now)


def audits(session: Session, **where) -> list[AuditEvent]:
    stmt = select(AuditEvent).order_by(AuditEvent.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(AuditEvent, key) == value)
    return list(session.scalars(stmt))


def count(session: Session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def referred_down(session: Session, w: World):
    """张三 referred up to the county hospital, discharged after 7 days, and referred back down home."""
    up = refer(session, w, to_facility_id=w.fac["county"].id, diagnosis="I63.9", reason="疑似脑梗死")
    county = w.actors["county"]
    referrals_service.accept(session=session, referral_id=up.id, actor=county, now=NOW)
    referrals_service.arrive(session=session, referral_id=up.id, actor=county, now=NOW)
    referrals_service.complete(session=session, referral_id=up.id, actor=county, now=NOW + timedelta(days=7),
                               complete_in=commands.build(CompleteIn, discharge_summary="病情稳定，回村康复"))
    return referrals_service.create_downward(session=session, referral_id=up.id, actor=county,
                                             downward_in=commands.build(DownwardCreate, {"reason": "康复期随访"}),
                                             now=NOW + timedelta(days=7))
