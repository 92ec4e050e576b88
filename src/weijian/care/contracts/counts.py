"""Contract counts for the indicators domain, each in one grouped query, and the records behind them.

Definitions (public-health.md §1: no official formula found — VERIFY; these are its working definitions):
- 签约 (contracted, a stock): residents living in the village on the day (the residence history), active
  then, with a contract covering the day (start ≤ day ≤ end, not ended before it) — 签约率 divides it by
  the population counted the same way (indicators' `population`);
- 重点人群 (key_population, a stock): those residents belonging to a key population on the day (keypop.py),
  and of them the contracted (key_contracted) — 重点人群签约率;
- 续约 (a flow, by the month of the contract's last day and the village on that day): contracts whose term
  ended in the period (due: those ended early — moved out, died, asked — or closed by a merge are not due),
  and of them those renewed (renewed: a renewal links to them) — 续约率.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, and_, cast, exists, func, literal, null, or_, select
from sqlalchemy.orm import Session

from weijian.care.contracts import keypop
from weijian.care.contracts.models import ContractTeam, FamilyDoctorContract
from weijian.core.periods import month_case
from weijian.residents.models import Resident, ResidentResidence
from weijian.residents.service import lived_on

STOCKS = ("contracted", "key_contracted", "key_population")
FLOWS = ("due", "renewed")
WHICH = STOCKS + FLOWS


def covering(c: Any, day: date) -> ColumnElement[bool]:
    """The contract `c` (the class or an alias) runs on `day`."""
    return and_(c.start_date <= day, c.end_date >= day, or_(c.ended_on.is_(None), c.ended_on >= day))


def _stock_conditions(which: str, on: date) -> list[ColumnElement[bool]]:
    C, R = FamilyDoctorContract, Resident
    conds: list[ColumnElement[bool]] = []
    if which in ("contracted", "key_contracted"):
        conds.append(exists().where(C.resident_id == R.id, covering(C, on)))
    if which in ("key_contracted", "key_population"):
        conds.append(keypop.any_condition(R.id, R.birth_date, on))
    return conds


def _due_condition(which: str) -> ColumnElement[bool]:
    C = FamilyDoctorContract
    due = or_(C.status != "ended", C.end_reason == "renewed", C.ended_on >= C.end_date)
    due = and_(due, or_(C.end_reason.is_(None), C.end_reason != "merged"))
    return and_(due, C.end_reason == "renewed") if which == "renewed" else due


def contract_stock(*, session: Session, lo: str, hi: str, on: date, which: str) -> dict[str, int]:
    """village → residents living there, active, on `on` who are contracted / key-population and contracted
    / key-population (which). One query."""
    R, H = Resident, ResidentResidence
    stmt = (select(H.village_code, func.count()).select_from(H).join(R, R.id == H.resident_id)
            .where(H.valid_from <= on, H.valid_to > on, H.status == "active", R.status != "merged", R.birth_date <= on,
                   H.village_code >= lo, H.village_code <= hi, *_stock_conditions(which, on))
            .group_by(H.village_code))
    return {v: int(n) for v, n in session.execute(stmt) if n}


def contract_counts(*, session: Session, lo: str, hi: str, start: date, end: date, which: str
                    ) -> dict[tuple[str, int], int]:
    """(village on the last day, yyyymm of the last day) → contracts due to renew (which = due) or renewed
    (renewed) whose term ended between start and end. One query."""
    C, H = FamilyDoctorContract, ResidentResidence
    ym = month_case(C.end_date, start, end)
    stmt = (select(H.village_code, ym, func.count()).select_from(C).join(H, lived_on(H, C.resident_id, C.end_date))
            .where(C.end_date >= start, C.end_date <= end, _due_condition(which),
                   H.village_code >= lo, H.village_code <= hi)
            .group_by(H.village_code, ym))
    return {(v, int(m)): int(n) for v, m, n in session.execute(stmt) if n}


def contract_records(*, lo: str, hi: str, start: date, end: date, which: str) -> Select[Any]:
    """The rows behind the figures: residents (stocks, on `end`: id, name, id number, village, date = the
    contract's start or the birth date, facility = the team, detail, key = the resident, no quantity) or
    contracts (flows: date = the last day, key = the contract)."""
    R, H, C, T = Resident, ResidentResidence, FamilyDoctorContract, ContractTeam
    if which in STOCKS:
        on = end
        start_of = (select(C.start_date).where(C.resident_id == R.id, covering(C, on)).order_by(C.id).limit(1)
                    .correlate(R).scalar_subquery())
        team_of = (select(T.name).join(C, C.team_id == T.id).where(C.resident_id == R.id, covering(C, on))
                   .order_by(C.id).limit(1).correlate(R).scalar_subquery())
        return (select(R.id, R.name, R.id_number, H.village_code, func.coalesce(start_of, R.birth_date).label("date"),
                       team_of.label("facility"), literal(which).label("detail"), R.id.label("key"),
                       cast(null(), Integer).label("quantity"))
                .select_from(R).join(H, lived_on(H, R.id, on))
                .where(H.status == "active", R.status != "merged", R.birth_date <= on,
                       H.village_code >= lo, H.village_code <= hi, *_stock_conditions(which, on)))
    return (select(R.id, R.name, R.id_number, H.village_code, C.end_date.label("date"), T.name.label("facility"),
                   literal(which).label("detail"), C.id.label("key"), cast(null(), Integer).label("quantity"))
            .select_from(C).join(R, R.id == C.resident_id).join(H, lived_on(H, C.resident_id, C.end_date))
            .join(T, T.id == C.team_id)
            .where(C.end_date >= start, C.end_date <= end, _due_condition(which),
                   H.village_code >= lo, H.village_code <= hi))
