"""Reads of vaccination records: the child in the actor's scope (`child_in_scope`, also the writes' check), the
child's schedule computed by the engine from the recorded history, one dose, and the CDC's AEFI list. Each
read is scoped by org unit in the query (residents.access) and audited."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import InvalidInput, InvalidState, NotFound
from weijian.core.periods import parse_period
from weijian.immunization.models import Aefi, Refusal, Vaccination, VaccinationPoint
from weijian.immunization.schedule import engine
from weijian.immunization.schedule.rules import edition_for
from weijian.residents import access

# Joined for the AEFI list's child columns (one query for the list); the child itself comes from
# residents.access.
from weijian.residents.models import Resident

_E = "immunization.records.errors."


# --- the child --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Child:
    """What the vaccination rules need of a resident, and why the actor may see them."""

    id: int
    name: str
    sex: str
    birth_date: date
    village_code: str
    status: str
    basis: str


def child_in_scope(*, session: Session, actor: Actor, resident_id: int, write: bool = False) -> Child:
    """The resident if inside the actor's scope (NotFound otherwise, exactly as for a missing id); with `write`,
    InvalidState unless the record is active (a merged or deceased child takes no dose)."""
    resident, basis = access.resident_in_scope(session=session, actor=actor, resident_id=resident_id)
    if write and resident.status != "active":
        raise InvalidState(_E + "resident_not_active", status=f"@residents.status.{resident.status}")
    return Child(resident.id, resident.name, resident.sex, resident.birth_date, resident.village_code,
                 resident.status, basis)


def history(*, session: Session, resident_id: int) -> list[Vaccination]:
    """The child's recorded doses, by date."""
    return list(session.scalars(select(Vaccination).where(Vaccination.resident_id == resident_id)
                                .order_by(Vaccination.date, Vaccination.vaccine, Vaccination.dose)))


def given_doses(doses: list[Vaccination]) -> list[engine.GivenDose]:
    return [engine.GivenDose(v.vaccine, v.dose, v.date) for v in doses]


# --- the child's record -----------------------------------------------------------------------------
@dataclass
class ChildSchedule:
    """A child's immunization record: the engine's rows from the recorded history, the history itself, the
    refusals and the AEFI reports (by vaccination id)."""

    child: Child
    as_of: date
    edition_id: str
    edition_name: str
    rows: list[engine.DoseStatus]
    vaccinations: list[Vaccination]
    refusals: list[Refusal]
    aefi: dict[int, list[Aefi]] = field(default_factory=dict)
    point_names: dict[int, str] = field(default_factory=dict)

    def due_rows(self) -> list[engine.DoseStatus]:
        return [r for r in self.rows if r.status in (engine.DUE, engine.OVERDUE)]


def child_schedule(*, session: Session, resident_id: int, actor: Actor, as_of: date | None = None,
                   overdue_rule: engine.OverdueRule | str | None = None) -> ChildSchedule:
    """The engine's rows for this child from the recorded history (and the history, refusals and AEFI),
    logged as one read of the child's vaccination record. `overdue_rule`: settings.immunization_overdue_rule."""
    actor.require("immunization:read")
    rule = engine.OverdueRule.of(overdue_rule)
    child = child_in_scope(session=session, actor=actor, resident_id=resident_id)
    as_of = as_of or clock.today()
    doses = history(session=session, resident_id=child.id)
    if as_of < child.birth_date:
        rows: list[engine.DoseStatus] = []
        edition = edition_for(child.birth_date)
    else:
        edition = edition_for(as_of)
        try:
            rows = engine.due(child.birth_date, [g for g in given_doses(doses) if g.date <= as_of], as_of,
                              overdue_rule=rule)
        except InvalidInput:
            raise InvalidState(_E + "history_invalid") from None
    refusals = list(session.scalars(select(Refusal).where(Refusal.resident_id == child.id)
                                    .order_by(Refusal.date, Refusal.id)))
    aefi: dict[int, list[Aefi]] = {}
    for a in session.scalars(select(Aefi).where(Aefi.resident_id == child.id).order_by(Aefi.onset_date, Aefi.id)):
        aefi.setdefault(a.vaccination_id, []).append(a)
    point_ids = {v.point_id for v in doses if v.point_id is not None}
    names = dict(session.execute(select(VaccinationPoint.id, VaccinationPoint.name)
                                 .where(VaccinationPoint.id.in_(point_ids))).tuples().all()) if point_ids else {}
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="vaccinations",
                           entity_id=child.id, resident_id=child.id, basis=child.basis,
                           detail={"as_of": as_of.isoformat()})
    return ChildSchedule(child, as_of, edition.id, edition.name, rows, doses, refusals, aefi, names)


def vaccination_in_scope(*, session: Session, actor: Actor, vaccination_id: int) -> tuple[Vaccination, Child]:
    """One dose and its child when the child is in the actor's scope; NotFound (of the dose) otherwise."""
    resident_id = session.scalar(select(Vaccination.resident_id).where(Vaccination.id == vaccination_id))
    if resident_id is None:
        raise NotFound(_E + "vaccination_not_found", vaccination_id=vaccination_id)
    try:
        child = child_in_scope(session=session, actor=actor, resident_id=resident_id)
    except NotFound:
        raise NotFound(_E + "vaccination_not_found", vaccination_id=vaccination_id) from None
    return session.get(Vaccination, vaccination_id), child


def get_vaccination(*, session: Session, vaccination_id: int, actor: Actor) -> tuple[Vaccination, Child]:
    """One dose and its child (scope checked; NotFound outside it), logged as a read."""
    actor.require("immunization:read")
    v, child = vaccination_in_scope(session=session, actor=actor, vaccination_id=vaccination_id)
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="vaccination",
                           entity_id=v.id, resident_id=child.id, basis=child.basis)
    return v, child


# --- AEFI -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AefiRow:
    aefi: Aefi
    vaccination: Vaccination
    resident_id: int
    resident_name: str
    village_code: str
    point_name: str | None


def list_aefi(*, session: Session, actor: Actor, period: str | None = None, limit: int = 500) -> list[AefiRow]:
    """AEFI reports for the CDC (`aefi:read`: county roles), newest onset first, inside the actor's scope;
    `period` (2025, 2025Q1, 202503) filters on the onset date. Logged as one read of the list."""
    actor.require("aefi:read")
    conds = [access.visible(actor)]
    if period:
        p = parse_period(period)
        conds.append(and_(Aefi.onset_date >= p.start, Aefi.onset_date <= p.end))
    rows = session.execute(
        select(Aefi, Vaccination, Resident.id, Resident.name, Resident.village_code, VaccinationPoint.name)
        .join(Vaccination, Vaccination.id == Aefi.vaccination_id)
        .join(Resident, Resident.id == Aefi.resident_id)
        .outerjoin(VaccinationPoint, VaccinationPoint.id == Vaccination.point_id)
        .where(*conds).order_by(Aefi.onset_date.desc(), Aefi.id.desc()).limit(max(1, min(limit, 5000)))).tuples()
    out = [AefiRow(a, v, rid, name, village, point) for a, v, rid, name, village, point in rows]
    accounts_service.audit(session=session, actor=actor, action="list", entity_type="aefi",
                           basis=access.scope_basis(actor),
                           detail={"period": period, "count": len(out)}, shown=[r.resident_id for r in out])
    return out
