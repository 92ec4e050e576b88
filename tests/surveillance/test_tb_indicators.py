"""The two TB indicators, worked out by hand on a small county (国家基本公共卫生服务规范（第三版）《肺结核患者健康
管理服务规范》工作指标):

- 肺结核患者管理率 = 已管理的肺结核患者人数 ÷ 辖区同期内经上级定点医疗机构确诊并通知基层医疗卫生机构管理的肺结核
  患者人数 × 100% (weijian: "managed" = the first home visit made; "in the period" = the notice's county date);
- 肺结核患者规则服药率 = 按照要求规则服药的肺结核患者人数 ÷ 同期辖区内已完成治疗的肺结核患者人数 × 100%, where
  规则服药 = "在整个疗程中，患者在规定的服药时间实际服药次数占应服药次数的90%以上" (weijian: 90 % itself counts;
  已完成治疗 = cured or completed).

The world (year 2025):
  P1 village A1: notified 2025-03-01, visited; started 03-01, completed 03-10 — 10 doses due, 9 taken (90 %)
  P2 village A1: notified 2025-04-01, never visited; started 04-01, cured 04-10 — 10 due, 8 taken (80 %)
  P3 village A2: notified 2024-12-31 23:00 (county time: 2024), visited; died 2025-02-01 (not completed)
  P4 village B1: notified 2025-05-01, visited; completed 2026-01-05 (next year)
  P5 village A2: notified 2025-01-01 00:30 county time (2024-12-31 UTC: still 2025 by the county's day), visited
County: managed 3 of notified 4 (P1 P4 P5 of P1 P2 P4 P5) = 75.00 %; regular 1 of completed 2 (P1 of P1 P2) = 50.00 %.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from tests import factories as f
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.commands import build
from weijian.indicators import service
from weijian.surveillance.tb import service as tb
from weijian.surveillance.tb.schemas import FirstVisitRecord, OutcomeRecord

SYSTEM = Actor.system("test")
FAR = datetime(2100, 1, 1, tzinfo=UTC)


def patient(session, village: str, notified: datetime, start: date, *, visited: bool, doses=(), outcome=None):
    t = f.make_tb_patient(session, start=start, notified_at=notified, village_code=village, doses=doses)
    if visited:
        tb.record_first_visit(session=session, treatment_id=t.id, visit_in=build(
            FirstVisitRecord, found=True, at=(notified + timedelta(hours=5)).isoformat()), actor=SYSTEM, now=FAR)
    if outcome:
        tb.record_outcome(session=session, treatment_id=t.id, outcome_in=build(
            OutcomeRecord, outcome=outcome[0], outcome_on=outcome[1]), actor=SYSTEM, today=date(2100, 1, 1))
    return t


def days(start: date, n: int, missed: set[int]):
    return [(start + timedelta(days=i), i not in missed) for i in range(n)]


@pytest.fixture()
def w(session):
    f.make_county(session)
    noon = lambda d: clock.at(d) + timedelta(hours=12)  # noqa: E731
    p = {
        "P1": patient(session, f.VILLAGE_A1, noon(date(2025, 3, 1)), date(2025, 3, 1), visited=True,
                      doses=days(date(2025, 3, 1), 10, {4}), outcome=("completed", "2025-03-10")),
        "P2": patient(session, f.VILLAGE_A1, noon(date(2025, 4, 1)), date(2025, 4, 1), visited=False,
                      doses=days(date(2025, 4, 1), 10, {2, 7}), outcome=("cured", "2025-04-10")),
        "P3": patient(session, f.VILLAGE_A2, clock.at(date(2024, 12, 31)) + timedelta(hours=23), date(2025, 1, 2),
                      visited=True, outcome=("died", "2025-02-01")),
        "P4": patient(session, f.VILLAGE_B1, noon(date(2025, 5, 1)), date(2025, 5, 1), visited=True,
                      outcome=("completed", "2026-01-05")),
        "P5": patient(session, f.VILLAGE_A2, clock.at(date(2025, 1, 1)) + timedelta(minutes=30), date(2025, 1, 2),
                      visited=True),
    }
    assert p["P5"].notified_at.astimezone(UTC).date() == date(2024, 12, 31)
    return p


def figures(session, indicator, level="village"):
    rows = service.compute(session=session, actor=SYSTEM, indicator_ids=[indicator], period="2025", level=level)
    return {r.orgunit: (r.numerator, r.denominator, r.value) for r in rows}


def test_tb_management_rate_counts_the_visited_of_the_notified_by_the_county_day(session, w):
    county = figures(session, "tb_management_rate", level="county")
    assert county[f.COUNTY] == (3, 4, Decimal("75.00"))
    village = figures(session, "tb_management_rate")
    assert village[f.VILLAGE_A1][:2] == (1, 2) and village[f.VILLAGE_A2][:2] == (1, 1)
    assert village[f.VILLAGE_B1][:2] == (1, 1)


def test_tb_regular_medication_rate_counts_ninety_percent_of_the_doses_due_as_regular(session, w):
    county = figures(session, "tb_regular_medication_rate", level="county")
    assert county[f.COUNTY] == (1, 2, Decimal("50.00"))


def test_the_drill_down_lists_the_patient_not_visited(session, w):
    page = service.drilldown(session=session, actor=SYSTEM, indicator_id="tb_management_rate", orgunit=f.COUNTY,
                             period="2025", which="missing")
    assert [r["resident_id"] for r in page.rows] == [w["P2"].resident_id]
    counted = service.drilldown(session=session, actor=SYSTEM, indicator_id="tb_regular_medication_rate",
                                orgunit=f.COUNTY, period="2025")
    assert [r["resident_id"] for r in counted.rows] == [w["P1"].resident_id]


def test_a_move_after_the_year_leaves_its_figures_in_the_village_the_patients_lived_in(session, w):
    """P1 and P2 (village A1) move to village B1 on 2026-02-01, after their 2025 notices and outcomes: the 2025
    figures still count them in A1 (the village of the event's day, residence history), and the drill-down
    lists them under A1."""
    from weijian.residents import service as residents_service
    for key in ("P1", "P2"):
        residents_service.update(session=session, resident_id=w[key].resident_id, actor=SYSTEM,
                                 resident_in=build(residents_service.ResidentUpdate,
                                                   {"village_code": f.VILLAGE_B1, "effective_on": date(2026, 2, 1)}))
    session.flush()
    village = figures(session, "tb_management_rate")
    assert village[f.VILLAGE_A1][:2] == (1, 2) and village[f.VILLAGE_B1][:2] == (1, 1)
    regular = figures(session, "tb_regular_medication_rate")
    assert regular[f.VILLAGE_A1][:2] == (1, 2)
    page = service.drilldown(session=session, actor=SYSTEM, indicator_id="tb_management_rate", orgunit=f.COUNTY,
                             period="2025", which="missing")
    assert [r["village_code"] for r in page.rows] == [f.VILLAGE_A1]
