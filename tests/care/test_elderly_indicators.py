"""老年人中医药健康管理率 on a small hand-made world, worked by hand from public-health.md §5's formula
(国家基本公共卫生服务规范（第三版）as quoted there): residents 65+ served (a 中医体质辨识 form in the period,
each counted once) ÷ residents 65+, both where they live on the period's last day; the drill-down lists the
residents counted and who is missing."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests import factories as f
from weijian.care.elderly import service
from weijian.care.elderly.models import TcmAssessment
from weijian.care.elderly.schemas import TcmCreate
from weijian.core.actor import Actor
from weijian.core.commands import build
from weijian.indicators import service as indicators

SYSTEM = Actor.system("test")
TODAY = date(2026, 6, 30)


def _form(session, resident, on: str) -> None:
    service.record_tcm(session=session, actor=SYSTEM, today=TODAY, tcm_in=build(
        TcmCreate, {"resident_id": resident.id, "date": on, "answers": [2] * 33}))


@pytest.fixture()
def w(session):
    f.make_county(session)
    a = f.make_resident(session, name="甲", birth_date=date(1950, 1, 1))  # two forms: one person served
    b = f.make_resident(session, name="乙", birth_date=date(1955, 5, 5))
    c = f.make_resident(session, name="丙", birth_date=date(1948, 8, 8))  # 65+, no form: missing
    d = f.make_resident(session, name="丁", birth_date=date(1952, 2, 2), village_code=f.VILLAGE_B1)
    young = f.make_resident(session, name="戊", birth_date=date(1966, 1, 1))  # 60: in neither
    _form(session, a, "2026-02-01")
    _form(session, a, "2026-05-01")
    _form(session, b, "2026-03-01")
    _form(session, d, "2026-04-01")
    _form(session, b, "2025-11-01")  # last year's: not in 2026
    # A form of a 60-year-old (written directly: the service refuses it) is not counted.
    session.add(TcmAssessment(resident_id=young.id, date=date(2026, 3, 1), answers="2" * 33, scores="{}",
                              verdicts="{}", rule_version=1))
    session.flush()
    return {"a": a, "b": b, "c": c, "d": d}


def _fig(session, orgunit=None, period="2026"):
    values = indicators.compute(session=session, actor=SYSTEM, indicator_ids=["elderly_tcm_rate"], period=period,
                                orgunit=orgunit)
    return next(v for v in values if orgunit is None or v.orgunit == orgunit)


def test_the_tcm_rate_counts_residents_65_plus_served_once_each(session, w):
    county = _fig(session)
    assert (county.numerator, county.denominator, county.value) == (3, 4, Decimal("75.00"))
    town = _fig(session, f.TOWN_A)
    assert (town.numerator, town.denominator, town.value) == (2, 3, Decimal("66.67"))
    assert _fig(session, period="2025").numerator == 1


def test_the_drill_down_lists_the_residents_served_and_who_is_missing(session, w):
    page = indicators.drilldown(session=session, actor=SYSTEM, indicator_id="elderly_tcm_rate", orgunit=None,
                                period="2026")
    assert sorted(r["resident_id"] for r in page.rows) == sorted([w["a"].id, w["b"].id, w["d"].id])
    missing = indicators.drilldown(session=session, actor=SYSTEM, indicator_id="elderly_tcm_rate", orgunit=None,
                                   period="2026", which="missing")
    assert [r["resident_id"] for r in missing.rows] == [w["c"].id]
