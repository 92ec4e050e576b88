"""Reads of settlement: the stays as the settlement sees them (`stays_statement`, the year's pending ones), a
settlement or a stay in the actor's scope, a resident's or a stay's settlements (audited as reads), the
facts the stay page shows, a person's year row, and the policy level of a facility.

Scope (residents.access): the resident must live inside the actor's org-unit scope, or the stay be at the
actor's own facility (basis "own_facility"); outside it a settlement or stay answers as a missing one.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Exists, Row, Select, exists, select
from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service

# Batch reads: settling a county's year (~25,000 stays) reads the stays, their residents, groups, referrals
# and year rows in a handful of queries; care and residents offer per-record look-ups only (each audited
# as a read of the record), so these tables are read here directly, as care.records reads residents.
from weijian.care.models import Encounter, Referral
from weijian.core.actor import Actor
from weijian.core.errors import InvalidInput, NotFound
from weijian.orgunits import service as orgunits_service
from weijian.residents import access
from weijian.residents.models import Resident
from weijian.settlement.models import Settlement, SettlementYear

SELF_PAY = "self-pay"
STAY_TYPES = ("inpatient", "day_surgery")
LEVEL_BY_GRADE = {"1": "township", "2": "county", "3": "city"}  # 一级 / 二级 / 三级 hospitals
OUT_OF_COUNTY_LEVEL = "city"
ACC_FIELDS = ("deductible_paid", "basic_paid", "in_policy_share", "critical_illness_paid", "assistance_paid",
              "large_expense_paid", "assistance_deductible_paid", "tilt_share", "tilt_assistance_paid")
AMOUNTS = ("total", "in_policy", "out_of_policy", "deductible", "basic_pays", "critical_illness_pays",
           "large_expense_pays", "assistance_deductible", "assistance_pays", "tilt_assistance_pays", "patient_pays")
_E = "settlement.settle.errors."


def stay_level(facility: Any) -> str:
    """The policy level of a stay at `facility` (an orgunits Facility, None outside the county)."""
    if facility is None:
        return OUT_OF_COUNTY_LEVEL
    level = orgunits_service.settlement_level(facility.type)  # orgunits/data/facility_types.yaml
    if level is None and facility.grade and facility.grade.startswith("level"):
        level = LEVEL_BY_GRADE.get(facility.grade[5:6])
    if level is None:
        raise InvalidInput("facility_id", _E + "facility_level_unknown", facility=facility.name)
    return level


def slip_number(s: Any) -> str:
    """结算单号: JS, the settlement day and the settlement's id (unique, and a re-settlement has its own)."""
    return f"JS{s.settled_on:%Y%m%d}{s.id:08d}"


def settlement_id_of_number(number: str) -> int | None:
    """The settlement id a 结算单号 (or a bare id) names; None for text that is neither."""
    text = number.strip().upper()
    if text.startswith("JS") and len(text) == 18 and text[2:].isdigit():
        return int(text[10:])
    return int(text) if text.isdigit() and text.isascii() else None


def length_of_stay(admitted: date | None, discharged: date | None) -> int | None:
    """住院天数: discharge day minus admission day (the admission day counts, the discharge day does not), at
    least 1 for a stay that ends on its first day; None while the patient is in."""
    if admitted is None or discharged is None:
        return None
    return max(1, (discharged - admitted).days)


# --- the stays -----------------------------------------------------------------------------------------
def stays_statement() -> Select[Any]:
    """Encounters with what settling them needs: the bill, the resident's village and scheme, and whether
    the stay came down by referral (paylater reads the same rows for a waiver)."""
    return (select(Encounter.id, Encounter.resident_id, Encounter.facility_id, Encounter.type, Encounter.end_date,
                   Encounter.total_cost, Encounter.in_policy_cost, Resident.village_code, Resident.insurance_scheme,
                   Referral.direction, Encounter.start_date, Encounter.primary_diagnosis,
                   Encounter.outside_facility_name, Encounter.clinician_name)
            .join(Resident, Resident.id == Encounter.resident_id)
            .outerjoin(Referral, Referral.id == Encounter.referral_id))


def live_settlement_of_encounter() -> Exists:
    return exists().where(Settlement.encounter_id == Encounter.id, Settlement.status == "settled")


def live_settlement(*, session: Session, encounter_id: int) -> Settlement | None:
    """The stay's live settlement (status settled), or None: never settled, or reversed (冲销). Not audited
    and not scoped: care asks it of a stay whose record the actor may change, to refuse voiding it."""
    return session.scalar(select(Settlement).where(Settlement.encounter_id == encounter_id,
                                                   Settlement.status == "settled").limit(1))


def stay_in_scope(session: Session, actor: Actor, encounter_id: int) -> tuple[Row[Any], str]:
    """The stay's row (stays_statement) and the actor's basis for it, or NotFound as for a missing stay."""
    row = session.execute(stays_statement().where(Encounter.id == encounter_id)).first()
    basis = access.basis_for(actor, row.village_code, facility_id=row.facility_id) if row is not None else None
    if row is None or basis is None:
        raise NotFound(_E + "stay_not_found", encounter_id=encounter_id)
    return row, basis


def pending_statement(*, actor: Actor, year: int, village_code: str | None = None) -> Select[Any]:
    """Discharged stays of `year` (by discharge date), not voided, without a live settlement, in the actor's
    scope."""
    stmt = (stays_statement()
            .where(Encounter.type.in_(STAY_TYPES), Encounter.end_date >= date(year, 1, 1),
                   Encounter.end_date <= date(year, 12, 31), ~live_settlement_of_encounter(),
                   Encounter.voided_at.is_(None),  # a stay voided (recorded in error) is not billed
                   access.visible(actor, Resident.village_code, facility=Encounter.facility_id)))
    if village_code:
        stmt = stmt.where(Resident.village_code == village_code)
    return stmt


# --- settlements ---------------------------------------------------------------------------------------
def settlement_in_scope(session: Session, actor: Actor, settlement_id: int) -> tuple[Settlement, str]:
    """The settlement and the actor's basis for it, or NotFound as for a missing one."""
    s = session.get(Settlement, settlement_id)
    basis = access.basis_for(actor, s.village_code, facility_id=s.facility_id) if s is not None else None
    if s is None or basis is None:
        raise NotFound(_E + "not_found", settlement_id=settlement_id)
    return s, basis


def get(*, session: Session, actor: Actor, settlement_id: int) -> Settlement:
    """One settlement (any status), logged as a read of the resident's record."""
    actor.require("settlement:read")
    s, basis = settlement_in_scope(session, actor, settlement_id)
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="settlement",
                           entity_id=s.id, resident_id=s.resident_id, basis=basis)
    return s


def list_for_resident(*, session: Session, actor: Actor, resident_id: int, year: int | None = None,
                      include_history: bool = False) -> list[Settlement]:
    """A resident's settlements, newest year first and in settlement order within a year (live ones only
    unless `include_history`), logged as one read. A resident outside the scope has none to show."""
    actor.require("settlement:read")
    village = session.scalar(select(Resident.village_code).where(Resident.id == resident_id))
    basis = access.basis_for(actor, village) if village is not None else None
    stmt = select(Settlement).where(Settlement.resident_id == resident_id)
    if basis is None:  # only stays at the actor's own facility, if any
        # Without one the resident answers exactly as a missing one: an empty list would tell that the id
        # exists (issue 12, part 7).
        own = actor.facility_id is not None and session.scalar(
            select(Settlement.id).where(Settlement.resident_id == resident_id,
                                        Settlement.facility_id == actor.facility_id).limit(1)) is not None
        if village is None or not own:
            raise NotFound("residents.errors.not_found", resident_id=resident_id)
        stmt, basis = stmt.where(Settlement.facility_id == actor.facility_id), "own_facility"
    if year is not None:
        stmt = stmt.where(Settlement.year == year)
    if not include_history:
        stmt = stmt.where(Settlement.status == "settled")
    items = list(session.scalars(stmt.order_by(Settlement.year.desc(), Settlement.seq, Settlement.id)))
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="settlement",
                           resident_id=resident_id, basis=basis, detail={"year": year, "count": len(items)})
    return items


def for_encounter(*, session: Session, actor: Actor, encounter_id: int) -> list[Settlement]:
    """Every settlement of one stay, oldest first (the live one, if any, is the last `settled`), logged as
    one read; NotFound when the stay is not the actor's to see."""
    actor.require("settlement:read")
    row, basis = stay_in_scope(session, actor, encounter_id)
    items = list(session.scalars(select(Settlement).where(Settlement.encounter_id == encounter_id)
                                 .order_by(Settlement.id)))
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="settlement",
                           resident_id=row.resident_id, basis=basis, detail={"encounter_id": encounter_id})
    return items


def stay_facts(*, session: Session, actor: Actor, encounter_id: int) -> dict[str, Any]:
    """What the stay page shows beside its settlements: the bill, the level it settles at (or why it
    cannot), and whether it is pending. Not audited on its own: callers read settlements with it."""
    row, _basis = stay_in_scope(session, actor, encounter_id)
    facility = orgunits_service.get_facility(session=session, facility_id=row.facility_id) if row.facility_id else None
    try:
        level, level_error = stay_level(facility), None
    except InvalidInput as exc:
        level, level_error = None, exc
    return {"encounter_id": row.id, "resident_id": row.resident_id, "type": row.type, "end_date": row.end_date,
            "start_date": row.start_date, "days": length_of_stay(row.start_date, row.end_date),
            "primary_diagnosis": row.primary_diagnosis, "outside_facility_name": row.outside_facility_name,
            "clinician_name": row.clinician_name,
            "total": row.total_cost, "in_policy": row.in_policy_cost, "facility": facility, "level": level,
            "level_error": level_error, "downward_referral": row.direction == "down", "scheme": row.insurance_scheme,
            "discharged": row.end_date is not None, "is_stay": row.type in STAY_TYPES}


def year_row(*, session: Session, resident_id: int, year: int) -> SettlementYear | None:
    """A person's running accumulations for a year (no audit: figures only, read with their settlements)."""
    return session.scalar(select(SettlementYear).where(SettlementYear.resident_id == resident_id,
                                                       SettlementYear.year == year))
