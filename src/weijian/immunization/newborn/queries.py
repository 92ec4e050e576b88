"""Reads of the newborn bundle: the delivery point a user registers at and its birth-dose lots, one
registration (the child's certificate and schedule, the hand-offs), the latest registrations, one
department's hand-offs, and the export of their packets (xlsx, JSON). Every read of a child is in the
reader's scope (residents.access) and logged; outside it a registration does not exist for the reader.
"""
from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from weijian.accounts import service as accounts_service
from weijian.core import clock, excel
from weijian.core.actor import Actor
from weijian.core.errors import Forbidden, InvalidInput, NotFound
from weijian.core.hooks import Hook
from weijian.core.i18n import Translator
from weijian.immunization.models import (
    BirthRegistration,
    Handoff,
    Refusal,
    Vaccination,
    VaccinationCertificate,
    VaccinationPoint,
    VaccineLot,
)
from weijian.immunization.schedule import engine
from weijian.immunization.stock import queries as stock_queries
from weijian.orgunits import service as orgunits_service
from weijian.residents import access
from weijian.residents.models import Resident

PERMISSION = "newborn:register"
DEPARTMENTS = ("household_registration", "insurance", "social_security_card")
STATUSES = ("pending", "sent", "done")
_NEXT = {"pending": "sent", "sent": "done"}
# Facility types that deliver babies: county hospitals and township centres (where they still deliver).
DELIVERY_TYPES = ("county_general", "county_mch", "county_tcm", "township_centre")
BIRTH_DOSES = ("HepB", "BCG")
MOTHER_AGE_RANGE = (12, 55)  # a check on typing the wrong woman's number, not a medical rule
_E = "immunization.newborn.errors."
# maternal_delivery(session=, mother_id=, born_on=, birth_id=) -> the id of the mother's pregnancy whose
# delivery this birth is, or None (care.maternal.service.delivery_for_newborn, provided by weijian.wiring:
# immunization does not depend on care). The newborn's page links to it.
maternal_delivery: Hook[Callable[..., Any]] = Hook("immunization.newborn.maternal_delivery")


@dataclass(frozen=True)
class NewbornOfMother:
    birth_id: int
    child_id: int
    child_name: str
    born_on: date


def newborns_of_mother(*, session: Session, mother_id: int, born_on: date) -> list[NewbornOfMother]:
    """The birth registrations (出生"一件事") of a mother's babies born on `born_on` or the day after (county
    time: a delivery recorded on the evening's date, a baby registered past midnight) — twins are two. No
    access check here: the caller has read the mother's delivery (care.maternal's page, through wiring)."""
    rows = session.execute(select(BirthRegistration.id, BirthRegistration.child_id, BirthRegistration.born_at,
                                  Resident.name)
                           .join(Resident, Resident.id == BirthRegistration.child_id)
                           .where(BirthRegistration.mother_id == mother_id)
                           .order_by(BirthRegistration.born_at, BirthRegistration.id)).all()
    out = []
    for bid, cid, born_at, name in rows:
        day = clock.local_date(born_at)
        if 0 <= (day - born_on).days <= 1:
            out.append(NewbornOfMother(bid, cid, name, day))
    return out


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


# --- the delivery point -------------------------------------------------------------------------------
def delivery_point(*, session: Session, actor: Actor) -> tuple[Any, VaccinationPoint]:
    """(the actor's facility, its vaccination point): a newborn is registered where it was delivered,
    by a facility that delivers and vaccinates (its point gives the birth doses from its stock)."""
    actor.require(PERMISSION)
    facility = (orgunits_service.get_facility(session=session, facility_id=actor.facility_id)
                if actor.facility_id is not None else None)
    if facility is None or facility.type not in DELIVERY_TYPES:
        raise Forbidden(_E + "not_delivery_facility")
    point = stock_queries.point_of_facility(session=session, facility_id=facility.id)
    if point is None or not point.active:
        raise Forbidden(_E + "no_vaccination_point", facility=facility.name)
    return facility, point


def birth_dose_lots(*, session: Session, point_id: int, on: date) -> dict[str, list[tuple[VaccineLot, int]]]:
    """For each birth dose, (lot, doses on hand) of the lots the point has in stock and not expired on `on`,
    first expiry first (the form's selects; the first is the one to use)."""
    return {code: stock_queries.available_lots(session=session, point_id=point_id, vaccine=code, on=on)
            for code in BIRTH_DOSES}


# --- reads ----------------------------------------------------------------------------------------------
@dataclass
class RegistrationView:
    birth: BirthRegistration
    child: Resident
    mother: Resident
    facility_name: str
    certificate: VaccinationCertificate | None
    vaccinations: list[Vaccination]
    refusals: list[Refusal]
    schedule: list[engine.DoseStatus]
    handoffs: list[Handoff]
    as_of: date
    given: dict[tuple[str, int], Vaccination] = field(default_factory=dict)


def scoped_birth(*, session: Session, birth_id: int, actor: Actor) -> tuple[BirthRegistration, Resident]:
    row = session.execute(
        select(BirthRegistration, Resident).join(Resident, Resident.id == BirthRegistration.child_id)
        .where(BirthRegistration.id == birth_id,
               access.visible(actor))
        .options(selectinload(BirthRegistration.handoffs))).first()
    if row is None:
        raise NotFound(_E + "not_found", birth_id=birth_id)
    return row[0], row[1]


def get_registration(*, session: Session, birth_id: int, actor: Actor, today: date | None = None,
                     overdue_rule: engine.OverdueRule | str | None = None) -> RegistrationView:
    """One registration with the child's certificate and schedule; logged as a read of the child.
    `overdue_rule`: settings.immunization_overdue_rule."""
    actor.require(PERMISSION)
    birth, child = scoped_birth(session=session, birth_id=birth_id, actor=actor)
    mother = session.get(Resident, birth.mother_id)
    facility = orgunits_service.get_facility(session=session, facility_id=birth.facility_id)
    view = certificate_view(session=session, child=child, today=today, overdue_rule=overdue_rule)
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="birth_registration",
                           entity_id=birth.id, resident_id=child.id,
                           basis=access.basis_for(actor, child.village_code) or "county")
    return RegistrationView(birth=birth, child=child, mother=mother, facility_name=facility.name if facility else "",
                            handoffs=sorted(birth.handoffs, key=lambda h: DEPARTMENTS.index(h.department)
                                            if h.department in DEPARTMENTS else 99), **view)


def certificate_view(*, session: Session, child: Resident, today: date | None = None,
                     overdue_rule: engine.OverdueRule | str | None = None) -> dict[str, Any]:
    """The printable certificate: its number, the doses given and the engine's row for every dose of the
    schedule (given / due / overdue / upcoming) on `today`. The caller has read (and logged) the child."""
    as_of = today or clock.today()
    certificate = session.scalar(select(VaccinationCertificate).where(VaccinationCertificate.resident_id == child.id))
    vaccinations = list(session.scalars(select(Vaccination).where(Vaccination.resident_id == child.id)
                                        .order_by(Vaccination.date, Vaccination.vaccine, Vaccination.dose)))
    refusals = list(session.scalars(select(Refusal).where(Refusal.resident_id == child.id)
                                    .order_by(Refusal.date, Refusal.id)))
    given = [engine.GivenDose(v.vaccine, v.dose, v.date) for v in vaccinations if v.date <= as_of]
    schedule = [r for r in engine.due(child.birth_date, given, max(as_of, child.birth_date),
                                      overdue_rule=engine.OverdueRule.of(overdue_rule))
                if r.status != engine.NOT_APPLICABLE]
    return {"certificate": certificate, "vaccinations": vaccinations, "refusals": refusals, "schedule": schedule,
            "as_of": as_of, "given": {(v.vaccine, v.dose): v for v in vaccinations}}


def list_registrations(*, session: Session, actor: Actor, limit: int = 50) -> list[tuple[BirthRegistration, Resident]]:
    """The latest registrations in the actor's scope (newest first); logged as one list read."""
    actor.require(PERMISSION)
    rows = list(session.execute(
        select(BirthRegistration, Resident).join(Resident, Resident.id == BirthRegistration.child_id)
        .where(access.visible(actor))
        .order_by(BirthRegistration.born_at.desc(), BirthRegistration.id.desc()).limit(max(1, min(limit, 500)))
        .options(selectinload(BirthRegistration.handoffs))).tuples())
    accounts_service.audit(session=session, actor=actor, action="list", entity_type="birth_registration",
                           basis=access.scope_basis(actor), detail={"count": len(rows)},
                           shown=[child.id for _, child in rows])
    return rows


def next_status(status: str) -> str | None:
    """The one status a hand-off may move to from `status` (None when done)."""
    return _NEXT.get(status)


def check_department(department: str) -> None:
    if department not in DEPARTMENTS:
        raise InvalidInput("department", _E + "department_unknown", value=department)


def check_status(status: str, field_name: str = "status") -> None:
    if status not in STATUSES:
        raise InvalidInput(field_name, _E + "status_unknown", value=status)


@dataclass
class HandoffRow:
    handoff: Handoff
    birth: BirthRegistration
    child: Resident

    @property
    def packet(self) -> dict[str, Any]:
        return json.loads(self.handoff.packet or "{}")


def list_handoffs(*, session: Session, actor: Actor, department: str, status: str | None = None,
                  limit: int = 500) -> list[HandoffRow]:
    """One department's hand-offs in the actor's scope (oldest birth first), optionally of one status."""
    actor.require(PERMISSION)
    check_department(department)
    conds = [Handoff.department == department, access.visible(actor)]
    if status:
        check_status(status)
        conds.append(Handoff.status == status)
    rows = session.execute(
        select(Handoff, BirthRegistration, Resident)
        .join(BirthRegistration, BirthRegistration.id == Handoff.birth_id)
        .join(Resident, Resident.id == BirthRegistration.child_id)
        .where(*conds).order_by(BirthRegistration.born_at, Handoff.id).limit(max(1, min(limit, 5000)))).tuples()
    out = [HandoffRow(h, b, c) for h, b, c in rows]
    accounts_service.audit(session=session, actor=actor, action="list", entity_type="birth_handoff",
                           basis=access.scope_basis(actor),
                           detail={"department": department, "status": status, "count": len(out)},
                           shown=[r.child.id for r in out])
    return out


# --- export -----------------------------------------------------------------------------------------------
@dataclass
class PacketExport:
    department: str
    status: str
    packets: list[dict[str, Any]]  # each with the registration id and the hand-off's packet

    def columns(self) -> list[str]:
        keys: list[str] = ["registration_id"]
        for p in self.packets:
            keys += [k for k in p if k not in keys]
        return keys


def export_packets(*, session: Session, department: str, actor: Actor, status: str = "pending") -> PacketExport:
    """Every packet of one department in one status, for sending (identity numbers in full: the
    department needs them, so the export needs resident:read_identity and is logged per child)."""
    actor.require(PERMISSION)
    actor.require("resident:read_identity")
    check_department(department)
    check_status(status)
    rows = session.execute(
        select(Handoff, BirthRegistration, Resident)
        .join(BirthRegistration, BirthRegistration.id == Handoff.birth_id)
        .join(Resident, Resident.id == BirthRegistration.child_id)
        .where(Handoff.department == department, Handoff.status == status,
               access.visible(actor))
        .order_by(BirthRegistration.born_at, Handoff.id)).tuples()
    packets = []
    for handoff, birth, child in rows:
        packets.append({"registration_id": birth.id, **json.loads(handoff.packet or "{}")})
        accounts_service.audit(session=session, actor=actor, action="export", entity_type="birth_handoff",
                               entity_id=handoff.id, resident_id=child.id,
                               basis=access.basis_for(actor, child.village_code) or "county",
                               detail={"department": department, "status": status})
    return PacketExport(department, status, packets)


_CODED = {"child_sex": "residents.sex.", "relation_to_head": "residents.relations.",
          "guardian_relation": "immunization.newborn.guardian.", "insurance_scheme": "residents.schemes.",
          "id_number_from": "immunization.newborn.departments."}


def packet_value(key: str, value: Any, tr: Translator) -> Any:
    """A packet's value as a person reads it (coded values translated)."""
    if value is None:
        return ""
    prefix = _CODED.get(key)
    return tr(prefix + str(value)) if prefix else value


def packets_json(export: PacketExport) -> str:
    """The export as JSON: {department, status, count, packets} (values as stored: codes, ISO dates)."""
    return json.dumps({"department": export.department, "status": export.status, "count": len(export.packets),
                       "packets": export.packets}, ensure_ascii=False)


def packets_xlsx(export: PacketExport, tr: Translator) -> bytes:
    """The export as one xlsx sheet: a heading row in the reader's language, one row per newborn."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(tr(f"immunization.newborn.departments.{export.department}")[:31])
    cols = export.columns()
    excel.append(ws, [tr(f"immunization.newborn.packet.{c}") for c in cols])
    for p in export.packets:
        excel.append(ws, [packet_value(c, p.get(c), tr) for c in cols])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
