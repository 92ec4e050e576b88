"""Reads of the elderly's annual service: a resident's record for a year (health checks, self-care
assessments, TCM forms), one TCM form (for the print page), and the residents 65+ of the actor's villages
still without this year's service (the worklist's section). Scope is applied in each query
(residents.access); every read is audited with its basis."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.care.elderly.models import ElderlyAssessment, TcmAssessment
from weijian.care.models import HealthCheck
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import NotFound
from weijian.residents import access
from weijian.residents.models import Resident

_E = "care.elderly.errors."
# The parts of the year's service a resident may still be missing, in the worklist's order.
PARTS = ("health_check", "self_care", "tcm")


def audit_basis(actor: Actor, village_code: str) -> str:
    return access.basis_for(actor, village_code) or "county"


def age_on(birth_date: dt.date, day: dt.date) -> int:
    """Whole years completed on `day` (周岁)."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def years_before(day: dt.date, years: int) -> dt.date:
    """The latest birth date of someone `years` old on `day` (29 February → 28 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def resident_in_scope(*, session: Session, actor: Actor, resident_id: int) -> Resident:
    r = session.scalar(select(Resident).where(Resident.id == resident_id, access.visible(actor)))
    if r is None:
        raise NotFound(_E + "resident_not_found", resident_id=resident_id)
    return r


@dataclass
class ElderlyRecord:
    resident: Resident
    year: int
    age: int
    checks: list[HealthCheck]
    self_care: list[ElderlyAssessment]
    tcm: list[TcmAssessment]


def record(*, session: Session, actor: Actor, resident_id: int, year: int | None = None) -> ElderlyRecord:
    """A resident's annual service in `year` (default: the county's current year): the annual_65 checks not
    voided, the self-care assessments and the TCM forms, newest first; logged as a read of the record."""
    actor.require("care:read")
    r = resident_in_scope(session=session, actor=actor, resident_id=resident_id)
    today = clock.today()
    year = year or today.year
    lo, hi = dt.date(year, 1, 1), dt.date(year, 12, 31)
    checks = list(session.scalars(select(HealthCheck).where(
        HealthCheck.resident_id == r.id, HealthCheck.kind == "annual_65", HealthCheck.voided_at.is_(None),
        HealthCheck.date >= lo, HealthCheck.date <= hi).order_by(HealthCheck.date.desc(), HealthCheck.id.desc())))
    sc = list(session.scalars(select(ElderlyAssessment).where(
        ElderlyAssessment.resident_id == r.id, ElderlyAssessment.date >= lo, ElderlyAssessment.date <= hi)
        .order_by(ElderlyAssessment.date.desc(), ElderlyAssessment.id.desc())))
    tcm = list(session.scalars(select(TcmAssessment).where(
        TcmAssessment.resident_id == r.id, TcmAssessment.date >= lo, TcmAssessment.date <= hi)
        .order_by(TcmAssessment.date.desc(), TcmAssessment.id.desc())))
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="elderly_record",
                           entity_id=r.id, resident_id=r.id, basis=audit_basis(actor, r.village_code),
                           detail={"year": year})
    return ElderlyRecord(r, year, age_on(r.birth_date, min(today, hi)), checks, sc, tcm)


def get_tcm(*, session: Session, actor: Actor, tcm_id: int) -> tuple[TcmAssessment, Resident]:
    """One TCM form and its resident (NotFound when missing or out of scope); logged as a read."""
    actor.require("care:read")
    row = session.execute(select(TcmAssessment, Resident).join(Resident, Resident.id == TcmAssessment.resident_id)
                          .where(TcmAssessment.id == tcm_id, access.visible(actor))).first()
    if row is None:
        raise NotFound(_E + "tcm_not_found", tcm_id=tcm_id)
    t, r = row[0], row[1]
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="tcm_assessment",
                           entity_id=t.id, resident_id=r.id, basis=audit_basis(actor, r.village_code))
    return t, r


@dataclass(frozen=True)
class DueRow:
    resident_id: int
    name: str
    village_code: str
    age: int
    missing: tuple[str, ...]  # PARTS not done this year


def due(*, session: Session, actor: Actor, as_of: dt.date, village_code: str | None = None,
        limit: int = 200) -> list[DueRow]:
    """Active residents 65+ (on `as_of`) in the actor's scope (optionally one village) without one of this
    year's parts — the annual_65 health check, the self-care assessment, the TCM form — by village and name,
    at most `limit`; logged as one "list" event."""
    actor.require("care:read")
    lo = dt.date(as_of.year, 1, 1)
    conds = [access.visible(actor), Resident.status == "active", Resident.birth_date <= years_before(as_of, 65)]
    if village_code:
        conds.append(Resident.village_code == village_code)
    people = session.execute(select(Resident.id, Resident.name, Resident.village_code, Resident.birth_date)
                             .where(*conds).order_by(Resident.village_code, Resident.name, Resident.id)).all()
    ids = [p.id for p in people]
    done: dict[str, set[int]] = {part: set() for part in PARTS}
    for chunk in (ids[i:i + 900] for i in range(0, len(ids), 900)):
        done["health_check"].update(session.scalars(select(HealthCheck.resident_id).where(
            HealthCheck.resident_id.in_(chunk), HealthCheck.kind == "annual_65", HealthCheck.voided_at.is_(None),
            HealthCheck.date >= lo, HealthCheck.date <= as_of)))
        done["self_care"].update(session.scalars(select(ElderlyAssessment.resident_id).where(
            ElderlyAssessment.resident_id.in_(chunk), ElderlyAssessment.date >= lo, ElderlyAssessment.date <= as_of)))
        done["tcm"].update(session.scalars(select(TcmAssessment.resident_id).where(
            TcmAssessment.resident_id.in_(chunk), TcmAssessment.date >= lo, TcmAssessment.date <= as_of)))
    out: list[DueRow] = []
    for p in people:
        missing = tuple(part for part in PARTS if p.id not in done[part])
        if missing:
            out.append(DueRow(p.id, p.name, p.village_code, age_on(p.birth_date, as_of), missing))
        if len(out) >= limit:
            break
    accounts_service.audit(session=session, actor=actor, action="list", entity_type="elderly_due",
                           basis=access.scope_basis(actor),
                           detail={k: v for k, v in {"as_of": as_of.isoformat(), "village_code": village_code,
                                                     "count": len(out)}.items() if v},
                           shown=[r.resident_id for r in out])
    return out
