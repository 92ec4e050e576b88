"""Settlement totals for the indicators domain: amounts paid by each payer per village (the patient's
village at settlement) and month of settlement, live settlements only (status `settled`: reversed and
superseded rows are history), in one grouped query; and the settlements behind a total."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Select, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from weijian.core.periods import month_case
from weijian.orgunits.models import Facility
from weijian.residents.models import Resident
from weijian.settlement.models import Settlement

PAYERS = ("basic", "critical_illness", "assistance", "patient", "total")


def payer_column(payer: str) -> InstrumentedAttribute[Decimal]:
    return Settlement.total if payer == "total" else getattr(Settlement, f"{payer}_pays")


def amounts_by_month(*, session: Session, lo: str, hi: str, start: date, end: date, payer: str
                     ) -> dict[tuple[str, int], Decimal]:
    """(village, yyyymm of settled_on) → the payer's amounts (yuan, Decimal)."""
    return amounts_by_month_all(session=session, lo=lo, hi=hi, start=start, end=end)[payer]


def amounts_by_month_all(*, session: Session, lo: str, hi: str, start: date, end: date
                         ) -> dict[str, dict[tuple[str, int], Decimal]]:
    """amounts_by_month for every payer (PAYERS) in one grouped query."""
    S = Settlement
    ym = month_case(S.settled_on, start, end)
    stmt = (select(S.village_code, ym, *(func.sum(payer_column(p)) for p in PAYERS))
            .where(S.status == "settled", S.settled_on >= start, S.settled_on <= end,
                   S.village_code >= lo, S.village_code <= hi)
            .group_by(S.village_code, ym))
    out: dict[str, dict[tuple[str, int], Decimal]] = {p: {} for p in PAYERS}
    for v, m, *amounts in session.execute(stmt):
        for p, a in zip(PAYERS, amounts, strict=True):
            out[p][(v, int(m))] = Decimal(str(a or 0)).quantize(Decimal("0.01"))
    return out


def settlement_records(*, lo: str, hi: str, start: date, end: date, payer: str) -> Select:
    S, R = Settlement, Resident
    return (select(R.id, R.name, R.id_number, S.village_code, S.settled_on.label("date"),
                   Facility.name.label("facility"), payer_column(payer).label("detail"))
            .select_from(S).join(R, R.id == S.resident_id).outerjoin(Facility, Facility.id == S.facility_id)
            .where(S.status == "settled", S.settled_on >= start, S.settled_on <= end,
                   S.village_code >= lo, S.village_code <= hi))
