"""Settlement totals for the indicators domain and the bundled budget: amounts paid by each payer per
village (the patient's village at settlement) and month, in one grouped query; and the entries behind a
total.

A reversal is booked in the month it happens (issue 15 item 9): every settlement counts in the month of its
`settled_on`, whatever became of it later, and a settlement that stopped counting (reversed, or superseded
by a re-settlement) counts again, negated, in the month of its `reversed_on` — the red-ink entry of
《会计基础工作规范》(财政部 财会字〔1996〕19号) 第五十一条: "已经登记入帐的记帐凭证，在当年内发现填写错误时，
可以用红字填写一张与原内容相同的记帐凭证……同时再用蓝字重新填制一张正确的记帐凭证" (read through a
secondary page quoting it, not the Ministry's own publication). So a month once closed keeps its figures, and
the sum over any run of months is what the live settlements of those months add up to."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import ColumnElement, Select, SQLColumnExpression, Subquery, and_, func, literal, select, union_all
from sqlalchemy.orm import InstrumentedAttribute, Session

from weijian.core.periods import month_case
from weijian.orgunits.models import Facility
from weijian.residents.models import Resident
from weijian.settlement.models import Settlement

PAYERS = ("basic", "critical_illness", "assistance", "patient", "total")
# The amounts an entry carries (signed): every payer's part and the bill.
BOOKED = ("total", "basic_pays", "critical_illness_pays", "large_expense_pays", "assistance_pays",
          "tilt_assistance_pays", "patient_pays")


def payer_column(payer: str) -> InstrumentedAttribute[Decimal]:
    """The settlement's column of a payer (PAYERS)."""
    return Settlement.total if payer == "total" else getattr(Settlement, f"{payer}_pays")


def bookings(*, start: date, end: date, lo: str, hi: str) -> Subquery:
    """The entries booked from `start` to `end` (inclusive) for villages lo..hi: one per settlement made
    then (n = 1, amounts as stored) and one per settlement that stopped counting then (n = −1, amounts
    negated), with the day booked (`booked_on`), the village, facility and in_county, the settlement's id,
    resident, settled_on and reversed_on, and the amounts of BOOKED."""
    S = Settlement

    def side(day: SQLColumnExpression[date | None], sign: int) -> Select:
        return (select(S.id.label("settlement_id"), S.resident_id, S.village_code, S.facility_id, S.in_county,
                       day.label("booked_on"), literal(sign).label("n"), S.settled_on, S.reversed_on,
                       *((getattr(S, name) if sign > 0 else -getattr(S, name)).label(name) for name in BOOKED))
                .where(day >= start, day <= end, S.village_code >= lo, S.village_code <= hi))

    return union_all(side(S.settled_on, 1), side(S.reversed_on, -1)).subquery("bookings")


def _booked_payer(b: Subquery, payer: str) -> ColumnElement[Decimal]:
    return b.c.total if payer == "total" else b.c[f"{payer}_pays"]


def amounts_by_month(*, session: Session, lo: str, hi: str, start: date, end: date, payer: str
                     ) -> dict[tuple[str, int], Decimal]:
    """(village, yyyymm booked) → the payer's amounts (yuan, Decimal)."""
    return amounts_by_month_all(session=session, lo=lo, hi=hi, start=start, end=end)[payer]


def amounts_by_month_all(*, session: Session, lo: str, hi: str, start: date, end: date
                         ) -> dict[str, dict[tuple[str, int], Decimal]]:
    """amounts_by_month for every payer (PAYERS) in one grouped query."""
    b = bookings(start=start, end=end, lo=lo, hi=hi)
    ym = month_case(b.c.booked_on, start, end)
    stmt = (select(b.c.village_code, ym, *(func.sum(_booked_payer(b, p)) for p in PAYERS))
            .group_by(b.c.village_code, ym))
    out: dict[str, dict[tuple[str, int], Decimal]] = {p: {} for p in PAYERS}
    for v, m, *amounts in session.execute(stmt):
        for p, a in zip(PAYERS, amounts, strict=True):
            out[p][(v, int(m))] = Decimal(str(a or 0)).quantize(Decimal("0.01"))
    return out


def settlement_records(*, lo: str, hi: str, start: date, end: date, payer: str) -> Select:
    """The entries behind a total: each settlement booked in the period, and each one reversed or
    superseded in it (its amount negated); a settlement both made and undone within the period adds nothing
    to its total and is left out, both its entries. So each settlement has at most one entry in a period
    (`settlement_id`, the drill-down's key)."""
    R = Resident
    b = bookings(start=start, end=end, lo=lo, hi=hi)
    undone_within = and_(b.c.settled_on >= start, b.c.reversed_on.is_not(None), b.c.reversed_on <= end)
    return (select(R.id, R.name, R.id_number, b.c.village_code, b.c.booked_on.label("date"),
                   Facility.name.label("facility"), _booked_payer(b, payer).label("detail"),
                   b.c.settlement_id)
            .select_from(b).join(R, R.id == b.c.resident_id).outerjoin(Facility, Facility.id == b.c.facility_id)
            .where(~undone_within))
