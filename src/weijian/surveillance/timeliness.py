"""Reporting timeliness of one case: the delay from diagnosis to report against the disease's limit
(传染病信息报告管理规范: 2 hours for class A and the diseases managed as class A, 24 hours for the others)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from weijian.core.errors import InvalidInput
from weijian.surveillance.rules import Disease


@dataclass(frozen=True, slots=True)
class Delay:
    disease: str
    limit_hours: int
    delay_hours: float  # rounded to the hundredth of an hour; `late` is judged on the exact delay
    late: bool


def report_delay(disease: Disease, *, diagnosed: datetime, reported: datetime, icd10: str | None = None) -> Delay:
    """The delay of a report made at `reported` of a case diagnosed at `diagnosed` (both aware). A report
    exactly at the limit is in time ("2小时内"); a report before the diagnosis is refused, naming `reported`."""
    if diagnosed.tzinfo is None or reported.tzinfo is None:
        raise ValueError("diagnosed and reported must be timezone-aware")
    if reported < diagnosed:
        raise InvalidInput("reported", "surveillance.errors.reported_before_diagnosed",
                           reported=reported.isoformat(), diagnosed=diagnosed.isoformat())
    limit = disease.limit_hours(icd10)
    delay = reported - diagnosed
    return Delay(disease.code, limit, round(delay.total_seconds() / 3600, 2), delay > timedelta(hours=limit))
