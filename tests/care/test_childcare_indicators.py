"""新生儿访视率, 儿童健康管理率 and 儿童系统管理率 on a small hand-made world, worked by hand from public-health.md
§3's formulas (国家基本公共卫生服务规范（第三版）as quoted there): newborns visited ÷ live births; children 0–6
with ≥ 1 check ÷ children 0–6; children 0–6 checked at every check due (whose window closed in the period) ÷
children 0–6. Each child counted in the village lived in on the period's last day; the drill-down lists exactly
the children counted, and who is missing."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests import factories as f
from weijian.care.childcare.models import ChildCheck
from weijian.core.actor import Actor
from weijian.indicators import service as indicators

SYSTEM = Actor.system("test")


def _child(session, village, born, checks):
    r = f.make_resident(session, sex="male", birth_date=born, village_code=village)
    for code, on in checks.items():
        session.add(ChildCheck(resident_id=r.id, check_code=code, date=on, age_months=0, age_days=(on - born).days,
                               tcm_guidance=False, created_by="test"))
    session.flush()
    return r


@pytest.fixture()
def w(session):
    f.make_county(session)
    return {
        # born 2025-03-10, visited 5 days after birth; m8 (window 26 Oct – 10 Dec 2025) missed.
        "k1": _child(session, f.VILLAGE_A1, date(2025, 3, 10), {"newborn": date(2025, 3, 15), "m1": date(2025, 4, 8),
                                                               "m3": date(2025, 6, 10), "m6": date(2025, 9, 10)}),
        # born 2025-06-01, first visited after 44 days (not within 28): born, checked, not visited.
        "k2": _child(session, f.VILLAGE_A1, date(2025, 6, 1), {"newborn": date(2025, 7, 15)}),
        # 4 years old in 2025: only y4 (5 Apr – 4 Jul 2025) closes in the year, recorded: systematically managed.
        "k3": _child(session, f.VILLAGE_A1, date(2021, 5, 5), {"y4": date(2025, 5, 10)}),
        # 7 on 2025-06-01: not a child of 0–6 on the year's last day.
        "k4": _child(session, f.VILLAGE_A1, date(2018, 6, 1), {}),
        # 3 years old, nothing recorded in 2025 (m36, 17 Jan – 3 Mar 2025, missed): the one missing.
        "k5": _child(session, f.VILLAGE_A1, date(2022, 2, 1), {}),
        # another township: born 2025-08-01, visited on day 4, m1 (29–31 Aug) missed.
        "k6": _child(session, f.VILLAGE_B1, date(2025, 8, 1), {"newborn": date(2025, 8, 5)}),
    }


def _fig(session, indicator, orgunit=None, period="2025"):
    values = indicators.compute(session=session, actor=SYSTEM, indicator_ids=[indicator], period=period,
                                orgunit=orgunit)
    return next(v for v in values if orgunit is None or v.orgunit == orgunit)


def test_newborn_visit_rate_counts_visits_within_28_days_over_births(session, w):
    county = _fig(session, "newborn_visit_rate")
    assert (county.numerator, county.denominator, county.value) == (2, 3, Decimal("66.67"))
    town = _fig(session, "newborn_visit_rate", f.TOWN_A)
    assert (town.numerator, town.denominator) == (1, 2)


def test_child_health_management_rate_counts_children_checked_once_or_more(session, w):
    county = _fig(session, "child_health_management_rate")
    assert (county.numerator, county.denominator, county.value) == (4, 5, Decimal("80.00"))


def test_child_system_management_rate_needs_every_check_due_in_the_period(session, w):
    county = _fig(session, "child_system_management_rate")
    assert (county.numerator, county.denominator, county.value) == (1, 5, Decimal("20.00"))


def test_the_drill_down_lists_the_children_counted_and_who_is_missing(session, w):
    page = indicators.drilldown(session=session, actor=SYSTEM, indicator_id="child_health_management_rate",
                                orgunit=None, period="2025")
    assert sorted(r["resident_id"] for r in page.rows) == sorted(w[k].id for k in ("k1", "k2", "k3", "k6"))
    missing = indicators.drilldown(session=session, actor=SYSTEM, indicator_id="child_health_management_rate",
                                   orgunit=None, period="2025", which="missing")
    assert [r["resident_id"] for r in missing.rows] == [w["k5"].id]
