"""A small county for the case-report tests: the care test county (tests/care/referrals_setup.py: a facility
per tier, a clinician at each, the bureau), and helpers that make a card through the service."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from tests.care import referrals_setup as rs
from weijian.core import clock, commands
from weijian.surveillance.cases import service
from weijian.surveillance.cases.schemas import CaseReportCreate

build = rs.build
World = rs.World


def values(w: rs.World, *, now: datetime | None = None, **over: Any) -> dict[str, Any]:
    """A valid card of influenza for 张三 (village A1), diagnosed three hours ago, onset the day before."""
    now = now or clock.now()
    diagnosed = now - timedelta(hours=3)
    out: dict[str, Any] = dict(resident_id=w.people["zhang"].id, disease="influenza", icd10="J10.1",
                               onset_date=(clock.local_date(diagnosed) - timedelta(days=1)).isoformat(),
                               diagnosed_at=diagnosed.isoformat(), classification="clinical")
    out.update(over)
    return {k: v for k, v in out.items() if v is not None}


def report(session: Session, w: rs.World, who: str = "village", *, now: datetime | None = None, **over: Any):
    return service.report(session=session, report_in=commands.build(CaseReportCreate, values(w, now=now, **over)),
                          actor=w.actors[who], now=now)
