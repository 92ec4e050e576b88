"""先诊疗后付费 (treat first, pay later): deposit waivers at admission for eligible residents at designated
in-county facilities (rules in data/paylater.yaml), the outstanding balance a waived stay's final share
becomes at settlement, payments against it, and the ledger of balances by facility, overdue ones on top.

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

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import case, func, insert, select
from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import Conflict, InvalidInput, InvalidState, NotFound
from weijian.orgunits import service as orgunits_service
from weijian.residents import service as residents_service
from weijian.settlement.models import ZERO, Balance, DepositWaiver, Settlement

RULES_FILE = Path(__file__).resolve().parent / "data" / "paylater.yaml"
FEN = Decimal("0.01")
_E = "settlement.paylater.errors."


@dataclass(frozen=True)
class Rules:
    groups: tuple[str, ...]
    facility_types: frozenset[str]
    days_until_due: int


def parse_rules(data: Any, source: str = "") -> Rules:
    """Validate the pay-later rules (ValueError naming the file and key: a broken data file stops start-up)."""
    def fail(key: str, msg: str) -> None:
        raise ValueError(f"{source}: {key}: {msg}")

    if not isinstance(data, dict):
        fail("file", "must be a mapping")
    unknown = set(data) - {"version", "groups", "facility_types", "days_until_due"}
    if unknown:
        fail(", ".join(sorted(unknown)), "unknown key")
    known_groups = set(residents_service.groups())
    groups = data.get("groups")
    if not isinstance(groups, list) or not groups:
        fail("groups", "must be a non-empty list")
    for g in groups:
        if g not in known_groups:
            fail("groups", f"unknown resident group {g!r}")
    types = data.get("facility_types")
    known_types = set(orgunits_service.reference().types)
    if not isinstance(types, list) or not types:
        fail("facility_types", "must be a non-empty list")
    for t in types:
        if t not in known_types:
            fail("facility_types", f"unknown facility type {t!r}")
    days = data.get("days_until_due")
    if not isinstance(days, int) or isinstance(days, bool) or days <= 0:
        fail("days_until_due", "must be a positive whole number of days")
    return Rules(groups=tuple(groups), facility_types=frozenset(types), days_until_due=days)


@lru_cache(maxsize=1)
def rules() -> Rules:
    return parse_rules(yaml.safe_load(RULES_FILE.read_text(encoding="utf-8")), str(RULES_FILE))


# --- eligibility and waivers -------------------------------------------------------------------------
def eligible_group(groups: Any) -> str | None:
    """The first of the resident's groups (codes) that makes them eligible, in the file's order."""
    held = set(groups)
    return next((g for g in rules().groups if g in held), None)


def grant_waiver(*, session: Session, actor: Actor, encounter_id: int) -> DepositWaiver:
    """Admit without a deposit: record the waiver for an open stay of an eligible resident at a designated
    facility. Refused (naming why) otherwise; a second waiver for one stay is a Conflict."""
    from weijian.care.models import Encounter
    from weijian.residents.models import ResidentGroup
    from weijian.settlement.settle import STAY_TYPES, _stays_statement, access_basis

    actor.require("care:write")
    row = session.execute(_stays_statement().where(Encounter.id == encounter_id)).first()
    basis = access_basis(actor, row.village_code, row.facility_id) if row is not None else None
    if row is None or basis is None:
        raise NotFound("settlement.settle.errors.stay_not_found", encounter_id=encounter_id)
    if row.type not in STAY_TYPES:
        raise InvalidState("settlement.settle.errors.not_a_stay")
    if row.end_date is not None:
        raise InvalidState(_E + "already_discharged")
    if session.scalar(select(DepositWaiver.id).where(DepositWaiver.encounter_id == row.id)):
        raise Conflict(_E + "already_waived")
    facility = orgunits_service.get_facility(session=session, facility_id=row.facility_id) if row.facility_id else None
    if facility is None or facility.type not in rules().facility_types:
        raise InvalidInput("facility_id", _E + "facility_not_designated",
                           facility=facility.name if facility else "-")
    groups = session.scalars(select(ResidentGroup.group).where(ResidentGroup.resident_id == row.resident_id))
    group = eligible_group(groups)
    if group is None:
        raise InvalidInput("resident_id", _E + "not_eligible",
                           groups="、".join(f"@residents.groups.{g}" for g in rules().groups))
    waiver = DepositWaiver(encounter_id=row.id, resident_id=row.resident_id, facility_id=facility.id,
                           basis_group=group, granted_by=actor.username)
    session.add(waiver)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="deposit_waiver",
                           entity_id=waiver.id, resident_id=row.resident_id, basis=basis,
                           detail={"encounter_id": row.id, "group": group})
    return waiver


def waiver_for(*, session: Session, encounter_id: int) -> DepositWaiver | None:
    return session.scalar(select(DepositWaiver).where(DepositWaiver.encounter_id == encounter_id))


def waived_encounters(*, session: Session, encounter_ids: Any) -> set[int]:
    """Of `encounter_ids` (a list or a subquery), those admitted without a deposit."""
    return set(session.scalars(select(DepositWaiver.encounter_id).where(DepositWaiver.encounter_id.in_(encounter_ids))))


# --- balances: opened, cancelled, moved by settlement --------------------------------------------------
def _balance_values(settlement_id: int, resident_id: int, facility_id: int, amount: Decimal, settled_on: date,
                    paid: Decimal = ZERO) -> dict[str, Any]:
    paid = min(paid, amount)
    done = paid >= amount
    return dict(settlement_id=settlement_id, resident_id=resident_id, facility_id=facility_id, amount=amount,
                paid_amount=paid, due_date=settled_on + timedelta(days=rules().days_until_due),
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
def _balance_in_scope(session: Session, actor: Actor, balance_id: Any) -> tuple[Balance, Settlement, str]:
    from weijian.settlement.settle import access_basis

    try:
        bid = int(balance_id)
    except (TypeError, ValueError):
        raise InvalidInput("balance_id", "core.errors.validation.int_parsing") from None
    found = session.execute(select(Balance, Settlement).join(Settlement, Settlement.id == Balance.settlement_id)
                            .where(Balance.id == bid)).first()
    basis = access_basis(actor, found[1].village_code, found[0].facility_id) if found is not None else None
    if found is None or basis is None:
        raise NotFound(_E + "balance_not_found", balance_id=bid)
    return found[0], found[1], basis


def parse_amount(raw: Any, name: str = "amount") -> Decimal:
    text = str(raw if raw is not None else "").strip().replace(",", "")
    if not text:
        raise InvalidInput(name, "core.errors.validation.missing")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InvalidInput(name, "settlement.errors.not_amount") from None
    # adjusted() first: quantize() raises past 28 digits.
    if not value.is_finite() or value.adjusted() >= 10 or value != value.quantize(FEN):
        raise InvalidInput(name, "settlement.errors.not_amount")
    if value <= 0:
        raise InvalidInput(name, _E + "amount_not_positive")
    return value.quantize(FEN)


def record_payment(*, session: Session, actor: Actor, balance_id: Any, amount: Any) -> Balance:
    """The patient pays (part of) an outstanding balance; paid in full, it is closed."""
    actor.require("settlement:write")
    balance, settlement, basis = _balance_in_scope(session, actor, balance_id)
    value = parse_amount(amount)
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


@dataclass(frozen=True)
class LedgerRow:
    balance: Balance
    resident_name: str
    id_number: str | None
    facility_name: str
    overdue: bool
    owed: Decimal
    days_overdue: int


@dataclass(frozen=True)
class FacilityTotals:
    facility_id: int
    facility_name: str
    outstanding_count: int
    outstanding: Decimal
    overdue_count: int
    overdue: Decimal


@dataclass(frozen=True)
class Ledger:
    rows: list[LedgerRow]
    facilities: list[FacilityTotals]
    today: date


def ledger(*, session: Session, actor: Actor, facility_id: int | None = None, status: str | None = "outstanding",
           today: date | None = None, limit: int = 500) -> Ledger:
    """Balances in the actor's scope: totals by facility (outstanding, overdue), and the balances of one
    facility (or all), overdue ones on top (longest overdue first), then by due date. `status`:
    outstanding (default) | paid | cancelled | None (all). Logged as one read."""
    from weijian.residents.models import Resident
    from weijian.settlement.settle import _scope

    actor.require("settlement:read")
    if status is not None and status not in ("outstanding", "paid", "cancelled"):
        raise InvalidInput("status", _E + "status_unknown", value=status)
    today = today or clock.today()
    scope = _scope(actor, Settlement.village_code, Balance.facility_id)
    base = select(Balance).join(Settlement, Settlement.id == Balance.settlement_id).where(scope)
    overdue_expr = (Balance.status == "outstanding") & (Balance.due_date < today)
    owed = Balance.amount - Balance.paid_amount
    totals_stmt = (base.with_only_columns(
        Balance.facility_id,
        func.sum(case((Balance.status == "outstanding", 1), else_=0)),
        func.sum(case((Balance.status == "outstanding", owed), else_=0)),
        func.sum(case((overdue_expr, 1), else_=0)),
        func.sum(case((overdue_expr, owed), else_=0)))
        .group_by(Balance.facility_id))
    names = {f.id: f.name for f in orgunits_service.list_facilities(session=session)}
    facilities = sorted(
        (FacilityTotals(fid, names.get(fid, str(fid)), int(n or 0), Decimal(a or 0).quantize(FEN), int(on or 0),
                        Decimal(oa or 0).quantize(FEN))
         for fid, n, a, on, oa in session.execute(totals_stmt)),
        key=lambda t: (-t.overdue, -t.outstanding, t.facility_name))
    stmt = (select(Balance, Resident.name, Resident.id_number).join(Settlement, Settlement.id == Balance.settlement_id)
            .join(Resident, Resident.id == Balance.resident_id).where(scope))
    if facility_id is not None:
        stmt = stmt.where(Balance.facility_id == int(facility_id))
    if status is not None:
        stmt = stmt.where(Balance.status == status)
    stmt = stmt.order_by(case((overdue_expr, 0), else_=1), Balance.due_date, Balance.id).limit(max(1, min(limit, 2000)))
    rows = []
    for b, name, id_number in session.execute(stmt):
        late = b.status == "outstanding" and b.due_date < today
        rows.append(LedgerRow(b, name, id_number, names.get(b.facility_id, str(b.facility_id)), late,
                              b.amount - b.paid_amount, (today - b.due_date).days if late else 0))
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="settlement_balance",
                           basis=residents_service.scope_basis(actor),
                           detail={"facility_id": facility_id, "status": status, "count": len(rows)},
                           shown=[r.balance.resident_id for r in rows])
    return Ledger(rows=rows, facilities=facilities, today=today)


def balance_for(*, session: Session, settlement_id: int) -> Balance | None:
    """The balance of a settlement (no audit: shown with a settlement already read)."""
    return session.scalar(select(Balance).where(Balance.settlement_id == settlement_id))
