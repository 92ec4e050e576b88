"""Counts of severe mental illness management for the indicators domain, per village (the patient's current
village, as TB's are) and period, and the records behind them.

Definitions (public-health.md §6; 国家基本公共卫生服务规范 第三版 工作指标 from secondary copies — VERIFY):
- registered (登记在册): patients registered on or before the period's last day and not closed before it;
- managed (在管): of them, those with at least one follow-up in the period;
- standard (规范管理): of them, those with at least ⌈follow_ups_per_year (4) × months of the period ÷ 12⌉
  follow-ups in the period (a year: 4; a quarter: 1 — weijian's pro-rating of "每年至少随访4次", VERIFY);
- regular (规律服药): registered patients whose latest follow-up in the period found the medication taken
  regularly (规律);
- stable (病情稳定): managed patients whose latest follow-up in the period was classified stable.
"""
from __future__ import annotations

import math
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, exists, func, literal, null, or_, select
from sqlalchemy.orm import Session, aliased

from weijian.care.mental import rules
from weijian.care.mental.models import MentalFollowUp, MentalPatient
from weijian.residents.models import Resident

WHICH = ("registered", "managed", "standard", "regular", "stable")


def required_follow_ups(start: date, end: date) -> int:
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    return max(1, math.ceil(rules.rules().follow_ups_per_year * months / 12))


def _latest_in_period(start: date, end: date) -> Any:
    """The condition "F is the patient's latest follow-up in the period"."""
    F2 = aliased(MentalFollowUp)
    return and_(MentalFollowUp.patient_id == MentalPatient.id, MentalFollowUp.date >= start,
                MentalFollowUp.date <= end,
                ~exists().where(F2.patient_id == MentalFollowUp.patient_id, F2.date <= end,
                                or_(F2.date > MentalFollowUp.date,
                                    and_(F2.date == MentalFollowUp.date, F2.id > MentalFollowUp.id))))


def _conditions(which: str, start: date, end: date) -> list[Any]:
    P, F = MentalPatient, MentalFollowUp
    conds: list[Any] = [P.registered_on <= end, or_(P.status == "active", P.closed_on > end)]
    in_period = [F.patient_id == P.id, F.date >= start, F.date <= end]
    if which == "registered":
        pass
    elif which == "managed":
        conds.append(exists().where(*in_period))
    elif which == "standard":
        n = select(func.count(F.id)).where(*in_period).correlate(P).scalar_subquery()
        conds.append(n >= required_follow_ups(start, end))
    elif which == "regular":
        conds.append(exists().where(_latest_in_period(start, end), F.adherence == "regular"))
    elif which == "stable":
        conds.append(exists().where(_latest_in_period(start, end), F.klass == "stable"))
    else:
        raise ValueError(which)
    return conds


def mental_records(*, lo: str, hi: str, start: date, end: date, which: str) -> Select[Any]:
    """The patients behind mental_counts (the listing's nine columns: key = the registration, id = the
    resident, village = the current one, date = the registration day, detail = the disease)."""
    P, R = MentalPatient, Resident
    return (select(P.id.label("key"), R.id.label("id"), R.name.label("name"), R.id_number.label("id_number"),
                   R.village_code.label("village_code"), P.registered_on.label("date"), null().label("facility"),
                   P.disease.label("detail"), literal(1).label("quantity"))
            .select_from(P).join(R, R.id == P.resident_id)
            .where(R.village_code >= lo, R.village_code <= hi, *_conditions(which, start, end)))


def mental_counts(*, session: Session, lo: str, hi: str, start: date, end: date, which: str) -> dict[str, int]:
    """village → the number of patients `which` counts in the period. One query."""
    sub = mental_records(lo=lo, hi=hi, start=start, end=end, which=which).subquery("mental")
    return {v: int(n) for v, n in session.execute(select(sub.c.village_code, func.count())
                                                  .group_by(sub.c.village_code)).tuples()}
