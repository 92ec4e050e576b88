"""先诊疗后付费 (treat first, pay later): deposit waivers at admission for eligible residents at designated
in-county facilities (rules in data/paylater.yaml), the outstanding balance a waived stay's final share
becomes at settlement, and payments against it (the ledger of balances: paylater.queries).

Rules decided here:
- Eligible: the resident holds one of the file's groups, the stay is an inpatient or day-surgery encounter
  not yet discharged at a facility of a designated type; one waiver per stay. Granted by a user who may
  write care records at that facility (`care:write`, the resident in scope or the stay at their facility).
- The balance is the settlement's patient_pays, due `days_until_due` days after the day of settlement;
  a balance of ¥0.00 is written as paid. Reversal cancels it; a re-settled later stay's balance is
  cancelled and a new one opened for the new share, keeping what was paid (an excess is noted, to refund).
- Payments: `settlement:write` (the window that settles takes the money), positive, to the fen, not
  above what is owed.
"""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import Conflict, InvalidInput, InvalidState
from weijian.orgunits import service as orgunits_service
from weijian.residents.models import ResidentGroup
from weijian.settlement.models import ZERO, Balance, DepositWaiver, Settlement
from weijian.settlement.paylater.queries import balance_in_scope
from weijian.settlement.paylater.rules import eligible_group, paylater_rules
from weijian.settlement.paylater.schemas import PaymentIn, WaiverIn
from weijian.settlement.settle.queries import STAY_TYPES, stay_in_scope

_E = "settlement.paylater.errors."


# --- eligibility and waivers -------------------------------------------------------------------------
def grant_waiver(*, session: Session, actor: Actor, waiver_in: WaiverIn) -> DepositWaiver:
    """Admit without a deposit: record the waiver for an open stay of an eligible resident at a designated
    facility. Refused (naming why) otherwise; a second waiver for one stay is a Conflict."""
    actor.require("care:write")
    row, basis = stay_in_scope(session, actor, waiver_in.encounter_id)
    if row.type not in STAY_TYPES:
        raise InvalidState("settlement.settle.errors.not_a_stay")
    if row.end_date is not None:
        raise InvalidState(_E + "already_discharged")
    if session.scalar(select(DepositWaiver.id).where(DepositWaiver.encounter_id == row.id)):
        raise Conflict(_E + "already_waived")
    facility = orgunits_service.get_facility(session=session, facility_id=row.facility_id) if row.facility_id else None
    if facility is None or facility.type not in paylater_rules().facility_types:
        raise InvalidInput("facility_id", _E + "facility_not_designated",
                           facility=facility.name if facility else "-")
    groups = session.scalars(select(ResidentGroup.group).where(ResidentGroup.resident_id == row.resident_id))
    group = eligible_group(groups)
    if group is None:
        raise InvalidInput("resident_id", _E + "not_eligible",
                           groups="、".join(f"@residents.groups.{g}" for g in paylater_rules().groups))
    waiver = DepositWaiver(encounter_id=row.id, resident_id=row.resident_id, facility_id=facility.id,
                           basis_group=group, granted_by=actor.username)
    session.add(waiver)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="deposit_waiver",
                           entity_id=waiver.id, resident_id=row.resident_id, basis=basis,
                           detail={"encounter_id": row.id, "group": group})
    return waiver


# --- balances: opened, cancelled, moved by settlement --------------------------------------------------
def _balance_values(settlement_id: int, resident_id: int, facility_id: int, amount: Decimal, settled_on: date,
                    paid: Decimal = ZERO) -> dict[str, Any]:
    paid = min(paid, amount)
    done = paid >= amount
    return dict(settlement_id=settlement_id, resident_id=resident_id, facility_id=facility_id, amount=amount,
                paid_amount=paid, due_date=settled_on + timedelta(days=paylater_rules().days_until_due),
                status="paid" if done else "outstanding", paid_at=clock.now() if done else None)


def open_balance(*, session: Session, settlement: Settlement) -> Balance | None:
    """The balance of a pay-later settlement: its patient share, due after the rules' period."""
    if not settlement.pay_later or settlement.facility_id is None:
        return None
    balance = Balance(**_balance_values(settlement.id, settlement.resident_id, settlement.facility_id,
                                        settlement.patient_pays, settlement.settled_on))
    session.add(balance)
    session.flush()
    return balance


def open_balances(*, session: Session, settlements: list[tuple[int, dict[str, Any]]]) -> int:
    """Balances for a batch of pay-later settlements given as (id, column values)."""
    rows = [_balance_values(sid, v["resident_id"], v["facility_id"], v["patient_pays"], v["settled_on"])
            for sid, v in settlements if v["facility_id"] is not None]
    if rows:
        session.execute(insert(Balance.__table__), rows)
    return len(rows)


def cancel_balance(*, session: Session, settlement: Settlement) -> Balance | None:
    balance = session.scalar(select(Balance).where(Balance.settlement_id == settlement.id))
    if balance is not None and balance.status != "cancelled":
        balance.status = "cancelled"
        if balance.paid_amount > 0:
            balance.note = _note(balance.note, f"refund {balance.paid_amount}")
    return balance


def move_balance(*, session: Session, old: Settlement, new: Settlement) -> Balance | None:
    """A re-settled stay's balance: the old one cancelled, a new one for the new share keeping what was
    paid (anything paid above the new share is noted as a refund due)."""
    balance = session.scalar(select(Balance).where(Balance.settlement_id == old.id))
    if balance is None or balance.status == "cancelled":
        return None
    paid = balance.paid_amount
    balance.status = "cancelled"
    balance.note = _note(balance.note, f"resettled as {new.id}")
    moved = Balance(**_balance_values(new.id, new.resident_id, balance.facility_id, new.patient_pays,
                                      new.settled_on, paid))
    moved.due_date = balance.due_date  # the patient was told this date
    if paid > new.patient_pays:
        moved.note = f"refund {paid - new.patient_pays}"
    session.add(moved)
    session.flush()
    return moved


def _note(old: str | None, text: str) -> str:
    return f"{old}; {text}" if old else text


# --- payments and the ledger ---------------------------------------------------------------------------
def record_payment(*, session: Session, actor: Actor, balance_id: int, payment_in: PaymentIn) -> Balance:
    """The patient pays (part of) an outstanding balance; paid in full, it is closed."""
    actor.require("settlement:write")
    balance, settlement, basis = balance_in_scope(session, actor, balance_id)
    value = payment_in.amount
    if balance.status != "outstanding":
        raise InvalidState(_E + "balance_closed", status=f"@settlement.paylater.status.{balance.status}")
    owed = balance.amount - balance.paid_amount
    if value > owed:
        raise InvalidInput("amount", _E + "amount_above_owed", owed=f"{owed:.2f}")
    balance.paid_amount += value
    if balance.paid_amount >= balance.amount:
        balance.status, balance.paid_at = "paid", clock.now()
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="payment", entity_type="settlement_balance",
                           entity_id=balance.id, resident_id=balance.resident_id, basis=basis,
                           detail={"amount": str(value), "settlement_id": settlement.id, "status": balance.status})
    return balance


