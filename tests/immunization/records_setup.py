"""Shared set-up of the vaccination-record and stock tests: the test county with two township vaccination
points (A serves TOWN_A, B serves TOWN_B), lots in stock, the users who act on them, and a two-month-old
child in VILLAGE_A1 whose birth doses (HepB1, BCG) were copied from the certificate.

Import the `world` fixture into a test module: `from tests.immunization.records_setup import world  # noqa`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests import factories as f
from weijian.accounts import service as accounts_service
from weijian.accounts.models import AuditEvent
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.commands import build as command
from weijian.immunization.models import StockBalance, StockMovement, Vaccination, VaccinationPoint, VaccineLot
from weijian.immunization.records import service
from weijian.immunization.records.schemas import AefiReport, HistoricalDose, RefusalCreate, VaccinationCreate
from weijian.immunization.stock import queries as stock_queries


def county_today() -> date:
    """The county's today, read when a test asks for it: a module-level day read at import went stale when the
    suite ran across the county's midnight."""
    return clock.today()
def born_on() -> date:
    """The world child's birth day, 70 days before today: HepB2 (from 1 month) is due; IPV1 (from 2 months) too."""
    return county_today() - timedelta(days=70)
SYSTEM = Actor.system("test")


def at(day: date, hour: int = 9) -> datetime:
    """`day` at `hour` county time (never in the future: today's times are moved to now at the latest)."""
    moment = datetime.combine(day, time(hour), tzinfo=clock.zone())
    now = clock.local_now()
    return min(moment, now)


@dataclass
class World:
    facility_a: Any
    facility_b: Any
    point_a: VaccinationPoint
    point_b: VaccinationPoint
    hepb_late: VaccineLot  # expires in 200 days, 20 doses at A
    hepb_soon: VaccineLot  # expires in 40 days, 5 doses at A: first expiry first out
    hepb_expired: VaccineLot  # expired yesterday, 3 doses at A
    hepb_at_b: VaccineLot  # 10 doses at B only
    ipv: VaccineLot  # 10 doses at A
    bcg: VaccineLot  # 10 doses at A
    vaccinator: Actor  # township doctor at facility A (point A)
    vaccinator_b: Actor  # township doctor at facility B
    village_doctor: Actor  # VILLAGE_A1, no point
    county_doctor: Actor  # county scope, stock:manage, aefi:read; works at the county hospital (no point)
    bureau: Actor
    child: Any  # born born_on() in VILLAGE_A1, HepB1 and BCG given at birth (historical)


def actor(session: Session, role: str, unit: str, facility: Any = None, **over) -> Actor:
    user = f.make_user(session, role, unit, facility_id=facility.id if facility is not None else None, **over)
    return accounts_service.actor_for(user)


# --- the writes, called with plain values (the command built as a page or the CLI builds it) ----------------
def record_vaccination(*, session: Session, actor: Actor, today: date | None = None, **values: Any) -> Any:
    return service.record_vaccination(session=session, vaccination_in=command(VaccinationCreate, values), actor=actor,
                                      today=today)


def record_historical(*, session: Session, actor: Actor, today: date | None = None, **values: Any) -> Any:
    return service.record_historical(session=session, historical_in=command(HistoricalDose, values), actor=actor,
                                     today=today)


def record_refusal(*, session: Session, actor: Actor, today: date | None = None, **values: Any) -> Any:
    return service.record_refusal(session=session, refusal_in=command(RefusalCreate, values), actor=actor, today=today)


def report_aefi(*, session: Session, actor: Actor, today: date | None = None, **values: Any) -> Any:
    return service.report_aefi(session=session, aefi_in=command(AefiReport, values), actor=actor, today=today)


def make_child(session: Session, born: date | None = None, village: str = f.VILLAGE_A1, birth_doses: bool = True,
               **over):
    born = born or born_on()
    child = f.make_resident(session, name=over.pop("name", "王小宝"), birth_date=born, village_code=village, **over)
    if birth_doses:
        for code in ("HepB", "BCG"):
            record_historical(session=session, resident_id=child.id, vaccine=code, dose=1, date=born, actor=SYSTEM)
    return child


def build(session: Session) -> World:
    f.make_county(session)
    fa = f.make_facility(session, name="温泉镇卫生院", type="township_centre", orgunit_code=f.TOWN_A)
    fb = f.make_facility(session, name="南河镇卫生院", type="township_centre", orgunit_code=f.TOWN_B)
    county_hospital = f.make_facility(session, name="英山县人民医院", type="county_general", orgunit_code=f.COUNTY)
    pa = f.make_vaccination_point(session, fa)
    pb = f.make_vaccination_point(session, fb)
    w = World(
        facility_a=fa, facility_b=fb, point_a=pa, point_b=pb,
        hepb_late=f.make_vaccine_lot(session, "HepB", pa, 20, expiry_date=county_today() + timedelta(days=200)),
        hepb_soon=f.make_vaccine_lot(session, "HepB", pa, 5, expiry_date=county_today() + timedelta(days=40)),
        hepb_expired=f.make_vaccine_lot(session, "HepB", pa, 3, expiry_date=county_today() - timedelta(days=1)),
        hepb_at_b=f.make_vaccine_lot(session, "HepB", pb, 10, expiry_date=county_today() + timedelta(days=100)),
        ipv=f.make_vaccine_lot(session, "IPV", pa, 10),
        bcg=f.make_vaccine_lot(session, "BCG", pa, 10),
        vaccinator=actor(session, "township_doctor", f.TOWN_A, fa, full_name="李接种"),
        vaccinator_b=actor(session, "township_doctor", f.TOWN_B, fb),
        village_doctor=actor(session, "village_doctor", f.VILLAGE_A1),
        county_doctor=actor(session, "county_doctor", f.COUNTY, county_hospital),
        bureau=actor(session, "bureau_admin", f.COUNTY),
        child=None,
    )
    w.child = make_child(session)
    return w


@pytest.fixture()
def world(session):
    return build(session)


# --- looking at what happened -----------------------------------------------------------------------
def qty(session: Session, point: VaccinationPoint, lot: VaccineLot) -> int:
    session.expire_all()
    return stock_queries.balance(session=session, point_id=point.id, lot_id=lot.id)


def count(session: Session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def snapshot(session: Session) -> tuple[int, ...]:
    """Rows and doses that any refused write must leave as they were."""
    total = session.scalar(select(func.coalesce(func.sum(StockBalance.quantity), 0)))
    return (count(session, Vaccination), count(session, StockMovement), count(session, AuditEvent),
            count(session, VaccineLot), int(total))


def audits(session: Session, **where: Any) -> list[AuditEvent]:
    stmt = select(AuditEvent).order_by(AuditEvent.id)
    for k, v in where.items():
        stmt = stmt.where(getattr(AuditEvent, k) == v)
    return list(session.scalars(stmt))


def headers(session: Session, who: Actor) -> dict[str, str]:
    """Bearer-token headers of the user behind an Actor (the API and the pages accept them)."""
    return f.token_headers(session, accounts_service.get(session=session, user_id=who.user_id))
