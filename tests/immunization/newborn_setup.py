"""Shared set-up of the newborn-bundle tests: the test county with a delivery hospital (the county MCH
hospital, a vaccination point with HepB and BCG lots in stock, one expired lot and one out of stock), a
county doctor there, and a mother in a household."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests import factories as f
from weijian.accounts import service as accounts_service
from weijian.accounts.models import AuditEvent
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.immunization.models import (
    BirthRegistration,
    Handoff,
    Refusal,
    StockBalance,
    StockMovement,
    Vaccination,
    VaccinationCertificate,
    VaccinationPoint,
    VaccineLot,
)
from weijian.residents.models import Household, Resident


def county_today() -> date:
    """The county's today, read when a test asks for it: a module-level day read at import went stale when the
    suite ran across the county's midnight."""
    return clock.today()
def born_on() -> date:
    return county_today() - timedelta(days=1)


@dataclass
class Setup:
    facility: Any
    point: VaccinationPoint
    user: Any
    actor: Actor
    lots: dict[str, VaccineLot]  # HepB, BCG, HepB_expired, HepB_empty, BCG_other
    mother: Resident
    head: Resident


def make_point(session: Session, facility, serves: str = f.TOWN_A, name: str | None = None) -> VaccinationPoint:
    point = VaccinationPoint(facility_id=facility.id, name=name or f"{facility.name}产科接种室",
                             serves_orgunit_code=serves, active=True, min_days_of_stock=14)
    session.add(point)
    session.flush()
    return point


_lot_seq = iter(range(1, 10_000))


def make_lot(session: Session, point: VaccinationPoint | None, vaccine: str, quantity: int = 10,
             expiry: date | None = None, manufacturer: str = "测试生物制品有限公司") -> VaccineLot:
    lot = VaccineLot(vaccine=vaccine, product=f"测试{vaccine}疫苗", manufacturer=manufacturer,
                     lot_number=f"T{next(_lot_seq):06d}", expiry_date=expiry or county_today() + timedelta(days=365),
                     doses_per_vial=1)
    session.add(lot)
    session.flush()
    if point is not None:
        session.add(StockBalance(point_id=point.id, lot_id=lot.id, quantity=quantity))
        session.flush()
    return lot


def build(session: Session) -> Setup:
    f.make_county(session)
    facility = f.make_facility(session, name="英山县妇幼保健院", type="county_mch", orgunit_code=f.COUNTY)
    point = make_point(session, facility)
    lots = {
        "HepB": make_lot(session, point, "HepB", 10),
        "BCG": make_lot(session, point, "BCG", 10),
        "HepB_expired": make_lot(session, point, "HepB", 10, expiry=county_today() - timedelta(days=10)),
        "HepB_empty": make_lot(session, point, "HepB", 0),
        "BCG_elsewhere": make_lot(session, None, "BCG"),
    }
    user = f.make_user(session, "county_doctor", f.COUNTY, facility_id=facility.id, full_name="王助产")
    actor = accounts_service.actor_for(user)
    head = f.make_resident(session, name="张大山", sex="male", birth_date=date(1990, 5, 1), household_number="H100",
                           relation_to_head="head", address="温泉镇东冲村1组1号")
    mother = f.make_resident(session, name="李红", sex="female", birth_date=date(1995, 3, 2),
                             household_number="H100", relation_to_head="spouse", phone="13900002222")
    return Setup(facility, point, user, actor, lots, mother, head)


def form(s: Setup, **over: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "mother_id_number": s.mother.id_number, "child_name": "", "sex": "male",
        "birth_date": born_on().isoformat(), "birth_time": "08:30", "birth_weight_g": "3300", "gestational_weeks": "39",
        "hepb_lot_id": str(s.lots["HepB"].id), "bcg_lot_id": str(s.lots["BCG"].id),
    }
    values.update(over)
    return values


COUNTED = (Resident, Household, BirthRegistration, Handoff, Vaccination, VaccinationCertificate, Refusal,
           StockMovement, AuditEvent)


def counts(session: Session) -> dict[str, Any]:
    out: dict[str, Any] = {m.__tablename__: session.scalar(select(func.count()).select_from(m)) for m in COUNTED}
    out["stock"] = sorted(session.execute(select(StockBalance.point_id, StockBalance.lot_id, StockBalance.quantity)
                                          ).tuples())
    return out
