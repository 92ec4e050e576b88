"""Counts of the elderly's TCM health management for the indicators domain: residents aged 65+ on the
period's last day with a 中医体质辨识 form in the period (each counted once), by where they lived, active, on
that day — the population 老年人中医药健康管理率 divides by (as care.counts.elderly_checked counts the
checks) — and the forms behind them. Counted from the records (one query per period; no running tally:
one form per old resident a year)."""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Select, func, literal, select
from sqlalchemy.orm import Session

from weijian.care.elderly.models import TcmAssessment
from weijian.core.periods import Period
from weijian.orgunits.models import Facility
from weijian.residents.models import Resident, ResidentResidence

# Joined for the resident's village: the residents service has no aggregate query (as in care.counts).
from weijian.residents.service import lived_on, years_before


def tcm_served(*, session: Session, lo: str, hi: str, periods: list[Period], age_min: int = 65
               ) -> list[dict[str, int]]:
    """For each period, village → residents aged `age_min`+ on its last day with a TCM form in it."""
    T, R, L = TcmAssessment, Resident, ResidentResidence
    out: list[dict[str, int]] = []
    for p in periods:
        stmt = (select(L.village_code, func.count(func.distinct(T.resident_id)))
                .select_from(T).join(L, lived_on(L, T.resident_id, p.end)).join(R, R.id == T.resident_id)
                .where(T.date >= p.start, T.date <= p.end, L.status == "active", R.status != "merged",
                       R.birth_date <= years_before(p.end, age_min), L.village_code >= lo, L.village_code <= hi)
                .group_by(L.village_code))
        out.append({v: int(n) for v, n in session.execute(stmt) if n})
    return out


def tcm_records(*, lo: str, hi: str, start: date, end: date, age_min: int = 65) -> Select[Any]:
    """The forms behind tcm_served: of residents living, active, in [lo, hi] on `end` (there)."""
    T, R, F, L = TcmAssessment, Resident, Facility, ResidentResidence
    return (select(R.id, R.name, R.id_number, L.village_code, T.date.label("date"), F.name.label("facility"),
                   func.coalesce(T.main, literal("")).label("detail"))
            .select_from(T).join(R, R.id == T.resident_id).join(L, lived_on(L, T.resident_id, end))
            .outerjoin(F, F.id == T.facility_id)
            .where(T.date >= start, T.date <= end, L.status == "active", R.status != "merged",
                   R.birth_date <= years_before(end, age_min), L.village_code >= lo, L.village_code <= hi))
