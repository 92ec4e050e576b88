"""Reads of severe mental illness management, behind strict access: only holders of `mental:read` whose
scope is the patient's own team (the village doctor of the patient's village, the township doctors of the
patient's township; a county-wide holder would be the county's mental-health staff) may read a patient's
record, and every read is audited with that basis. A read without a basis is refused (NotFound, exactly as
a missing record) and the refusal is audited naming the patient."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.care.mental import rules
from weijian.care.mental.models import MentalFollowUp, MentalPatient
from weijian.core.actor import Actor
from weijian.core.errors import InvalidInput, NotFound
from weijian.residents import access
from weijian.residents.models import Resident

_E = "care.mental.errors."
# The basis a user's org-unit scope gives, as the audit log names it for this area.
_BASES = {"own_village": "mental_team_village", "own_township": "mental_team_township",
          "county": "mental_county_staff", "system": "system"}
_ORDER = {"overdue": 0, "due": 1, "upcoming": 2, None: 3}


def basis_for(actor: Actor, village_code: str) -> str | None:
    """Why the actor may read the record of a patient of `village_code`: the patient's own team (village
    or township), the county's mental-health staff (a county-wide holder), the system; None without
    `mental:read` or outside the actor's org-unit scope (no walk-in, referral or facility basis here)."""
    if not actor.can("mental:read"):
        return None
    base = access.basis_for(actor, village_code)
    return _BASES.get(base) if base else None


def diagnosis_hidden(*, actor: Actor, code: str) -> bool:
    """records.diagnosis_hidden: a diagnosis of one of the six diseases is shown only to holders of
    mental:read (the record timeline, the encounter page and API of everyone else leave it out)."""
    return rules.is_sensitive(code) and not actor.can("mental:read")


def scope_basis(actor: Actor) -> str:
    return _BASES.get(access.scope_basis(actor), "mental_county_staff")


def patient_in_scope(*, session: Session, actor: Actor, patient_id: int, permission: str = "mental:read",
                     for_update: bool = False) -> tuple[MentalPatient, Resident, str]:
    """(patient, resident, basis) when the actor may reach the record; NotFound when missing or without a
    basis (the same answer either way), the latter audited as a refused read of the patient's record."""
    actor.require(permission)
    stmt = (select(MentalPatient, Resident).join(Resident, Resident.id == MentalPatient.resident_id)
            .where(MentalPatient.id == patient_id))
    if for_update:
        stmt = stmt.with_for_update(of=MentalPatient)
    row = session.execute(stmt).first()
    basis = basis_for(actor, row[1].village_code) if row is not None else None
    if row is None or basis is None:
        if row is not None:
            accounts_service.audit(session=session, actor=actor, action="refused", entity_type="mental_patient",
                                   entity_id=patient_id, resident_id=row[1].id, basis="refused",
                                   detail={"reason": "no_basis", "permission": permission},
                                   survive_rollback=True)
        raise NotFound(_E + "patient_not_found", patient_id=patient_id)
    return row[0], row[1], basis


@dataclass
class PatientView:
    patient: MentalPatient
    resident: Resident
    basis: str
    follow_ups: list[MentalFollowUp]
    due_status: str | None


def get_patient(*, session: Session, patient_id: int, actor: Actor, as_of: dt.date) -> PatientView:
    """One patient with the follow-ups, audited as a read with its basis."""
    p, resident, basis = patient_in_scope(session=session, actor=actor, patient_id=patient_id)
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="mental_patient",
                           entity_id=p.id, resident_id=resident.id, basis=basis)
    follow_ups = list(session.scalars(select(MentalFollowUp).where(MentalFollowUp.patient_id == p.id)
                                      .order_by(MentalFollowUp.date.desc(), MentalFollowUp.id.desc())))
    status = rules.due_status(p.next_visit_on, as_of) if p.status == "active" else None
    return PatientView(p, resident, basis, follow_ups, status)


@dataclass(frozen=True)
class RegisterRow:
    patient: MentalPatient
    resident_name: str
    village_code: str
    due_status: str | None
    needs_referral: bool


def register(*, session: Session, actor: Actor, as_of: dt.date, village_code: str | None = None,
             status: str = "active", statuses: set[str] | None = None, audit: bool = True) -> list[RegisterRow]:
    """The patients registered in the actor's scope (optionally one village), each with the due status of
    the next follow-up on `as_of`, sorted overdue, due, upcoming (a referral still needed first within each),
    then by the next visit's day. `statuses` keeps only those due statuses. Logged as one "list" event naming the
    residents shown."""
    actor.require("mental:read")
    if status not in rules.PATIENT_STATUSES:
        raise InvalidInput("status", _E + "status_unknown", value=status)
    conds = [access.visible(actor), MentalPatient.status == status]
    if village_code:
        conds.append(Resident.village_code == village_code)
    rows = session.execute(select(MentalPatient, Resident.name, Resident.village_code)
                           .join(Resident, Resident.id == MentalPatient.resident_id).where(*conds)).all()
    pending = _pending_referrals(session, [r[0].id for r in rows])
    items = []
    for p, name, village in rows:
        due = rules.due_status(p.next_visit_on, as_of) if p.status == "active" else None
        if statuses is not None and due not in statuses:
            continue
        items.append(RegisterRow(p, name, village, due, p.id in pending))
    items.sort(key=lambda i: (_ORDER[i.due_status], not i.needs_referral, i.patient.next_visit_on or dt.date.max,
                              i.resident_name, i.patient.id))
    if audit:
        accounts_service.audit(session=session, actor=actor, action="list", entity_type="mental_register",
                               basis=scope_basis(actor),
                               detail={k: v for k, v in {"as_of": as_of.isoformat(), "village_code": village_code,
                                                         "status": status, "count": len(items)}.items() if v},
                               shown=[i.patient.resident_id for i in items])
    return items


def _pending_referrals(session: Session, patient_ids: list[int]) -> set[int]:
    """Patients whose latest follow-up called for a referral (不稳定) and has none linked."""
    if not patient_ids:
        return set()
    out: set[int] = set()
    latest: dict[int, MentalFollowUp] = {}
    for f in session.scalars(select(MentalFollowUp).where(MentalFollowUp.patient_id.in_(patient_ids))
                             .order_by(MentalFollowUp.date, MentalFollowUp.id)):
        latest[f.patient_id] = f
    for pid, f in latest.items():
        if f.needs_referral and f.referral_id is None:
            out.add(pid)
    return out
