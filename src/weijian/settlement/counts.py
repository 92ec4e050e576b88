"""Settlement totals for the indicators domain: amounts paid by each payer per village (the patient's
village at settlement) and month of settlement, live settlements only (status `settled`: reversed and
superseded rows are history), in one grouped query; and the settlements behind a total."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Select, extract, func, select
from sqlalchemy.orm import Session

from weijian.orgunits.models import Facility
from weijian.residents.models import Resident
from weijian.settlement.models import Settlement

PAYERS = ("basic", "critical_illness", "assistance", "patient", "total")


def _column(payer: str):  # noqa: ANN202
    return Settlement.total if payer == "total" else getattr(Settlement, f"{payer}_pays")


def amounts_by_month(*, session: Session, lo: str, hi: str, start: date, end: date, payer: str
                     ) -> dict[tuple[str, int], Decimal]:
    """(village, yyyymm of settled_on) → the payer's amounts (yuan, Decimal)."""
    S = Settlement
    ym = extract("year", S.settled_on) * 100 + extract("month", S.settled_on)
    stmt = (select(S.village_code, ym, func.sum(_column(payer)))
            .where(S.status == "settled", S.settled_on >= start, S.settled_on <= end,
                   S.village_code >= lo, S.village_code <= hi)
            .group_by(S.village_code, ym))
    return {(v, int(m)): Decimal(str(a or 0)).quantize(Decimal("0.01")) for v, m, a in session.execute(stmt)}


def settlement_records(*, lo: str, hi: str, start: date, end: date, payer: str) -> Select:
    S, R = Settlement, Resident
    return (select(R.id, R.name, R.id_number, S.village_code, S.settled_on.label("date"),
                   Facility.name.label("facility"), _column(payer).label("detail"))
            .select_from(S).join(R, R.id == S.resident_id).outerjoin(Facility, Facility.id == S.facility_id)
            .where(S.status == "settled", S.settled_on >= start, S.settled_on <= end,
                   S.village_code >= lo, S.village_code <= hi))
