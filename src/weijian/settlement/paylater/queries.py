"""Reads of pay-later: a stay's waiver, the waived stays among many, a settlement's balance, a balance in the
actor's scope, and the ledger of balances by facility (overdue ones on top), audited as one read."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import InvalidInput, NotFound
from weijian.orgunits import service as orgunits_service
from weijian.residents import access
from weijian.residents.models import Resident
from weijian.settlement.models import Balance, DepositWaiver, Settlement

FEN = Decimal("0.01")
_E = "settlement.paylater.errors."


def waiver_for(*, session: Session, encounter_id: int) -> DepositWaiver | None:
    return session.scalar(select(DepositWaiver).where(DepositWaiver.encounter_id == encounter_id))


def waived_encounters(*, session: Session, encounter_ids: Any) -> set[int]:
    """Of `encounter_ids` (a list or a subquery), those admitted without a deposit."""
    return set(session.scalars(select(DepositWaiver.encounter_id).where(DepositWaiver.encounter_id.in_(encounter_ids))))


def balance_in_scope(session: Session, actor: Actor, balance_id: int) -> tuple[Balance, Settlement, str]:
    """The balance, its settlement and the actor's basis, or NotFound as for a missing balance."""
    found = session.execute(select(Balance, Settlement).join(Settlement, Settlement.id == Balance.settlement_id)
                            .where(Balance.id == balance_id)).first()
    basis = (access.basis_for(actor, found[1].village_code, facility_id=found[0].facility_id)
             if found is not None else None)
    if found is None or basis is None:
        raise NotFound(_E + "balance_not_found", balance_id=balance_id)
    return found[0], found[1], basis


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


def balances_ledger(*, session: Session, actor: Actor, facility_id: int | None = None,
                    status: str | None = "outstanding", today: date | None = None, limit: int = 500) -> Ledger:
    """Balances in the actor's scope: totals by facility (outstanding, overdue), and the balances of one
    facility (or all), overdue ones on top (longest overdue first), then by due date. `status`:
    outstanding (default) | paid | cancelled | None (all). Logged as one read."""
    actor.require("settlement:read")
    if status is not None and status not in ("outstanding", "paid", "cancelled"):
        raise InvalidInput("status", _E + "status_unknown", value=status)
    today = today or clock.today()
    scope = access.visible(actor, Settlement.village_code, facility=Balance.facility_id)
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
        stmt = stmt.where(Balance.facility_id == facility_id)
    if status is not None:
        stmt = stmt.where(Balance.status == status)
    stmt = stmt.order_by(case((overdue_expr, 0), else_=1), Balance.due_date, Balance.id).limit(max(1, min(limit, 2000)))
    rows = []
    for b, name, id_number in session.execute(stmt):
        late = b.status == "outstanding" and b.due_date < today
        rows.append(LedgerRow(b, name, id_number, names.get(b.facility_id, str(b.facility_id)), late,
                              b.amount - b.paid_amount, (today - b.due_date).days if late else 0))
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="settlement_balance",
                           basis=access.scope_basis(actor),
                           detail={"facility_id": facility_id, "status": status, "count": len(rows)},
                           shown=[r.balance.resident_id for r in rows])
    return Ledger(rows=rows, facilities=facilities, today=today)


def balance_for(*, session: Session, settlement_id: int) -> Balance | None:
    """The balance of a settlement (no audit: shown with a settlement already read)."""
    return session.scalar(select(Balance).where(Balance.settlement_id == settlement_id))
