"""早孕建册率 and 产后访视率 on a small hand-made world, worked by hand from public-health.md §2's formulas
(国家基本公共卫生服务规范（第三版）as quoted there): 早孕建册率 = 产妇 booked and first checked before 13 weeks ÷
live births; 产后访视率 = women visited within 28 days after discharge ÷ live births. Both are counted in the
village the woman lived in on the delivery's day; the drill-down lists exactly the women counted."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests import factories as f
from weijian.care.maternal import service
from weijian.care.maternal.schemas import AntenatalVisitCreate, DeliveryRecord, PostpartumVisitCreate, PregnancyRegister
from weijian.core.actor import Actor
from weijian.core.commands import build
from weijian.indicators import service as indicators

SYSTEM = Actor.system("test")
TODAY = date(2026, 6, 30)


def _woman(session, village, *, lmp, registered, visit1, delivered, outcome="live_birth", live=1, discharged=None,
           home=None, reason=None):
    r = f.make_resident(session, sex="female", birth_date=date(1994, 2, 2), village_code=village)
    p = service.register_pregnancy(session=session, actor=SYSTEM, today=TODAY, pregnancy_in=build(
        PregnancyRegister, {"resident_id": r.id, "lmp": lmp, "registered_on": registered}))
    service.record_antenatal(session=session, pregnancy_id=p.id, actor=SYSTEM, today=TODAY, visit_in=build(
        AntenatalVisitCreate, {"number": 1, "date": visit1, "out_of_window_reason": reason}))
    service.record_delivery(session=session, pregnancy_id=p.id, actor=SYSTEM, today=TODAY, delivery_in=build(
        DeliveryRecord, {"delivered_on": delivered, "outcome": outcome, "live_births": live,
                         "discharged_on": discharged}))
    if home:
        service.record_postpartum(session=session, pregnancy_id=p.id, actor=SYSTEM, today=TODAY, visit_in=build(
            PostpartumVisitCreate, {"kind": "home", "date": home}))
    return p


@pytest.fixture()
def w(session):
    f.make_county(session)
    # A: booked at 6 weeks, one baby, visited 5 days after discharge: counted in both numerators.
    a = _woman(session, f.VILLAGE_A1, lmp="2025-06-01", registered="2025-07-15", visit1="2025-07-15",
               delivered="2026-03-08", discharged="2026-03-10", home="2026-03-15")
    # B: booked at 15 weeks (late), twins, visited 34 days after discharge (past 28): in neither numerator,
    # two live births in the denominator.
    b = _woman(session, f.VILLAGE_A1, lmp="2025-06-10", registered="2025-09-25", visit1="2025-09-25",
               delivered="2026-03-20", live=2, discharged="2026-03-22", home="2026-04-25", reason="外出返乡后建册")
    # C: a stillbirth: no live birth, counted nowhere.
    _woman(session, f.VILLAGE_A1, lmp="2025-06-01", registered="2025-07-10", visit1="2025-07-10",
           delivered="2026-02-01", outcome="stillbirth", live=0)
    # D: another township's village, booked early, not visited.
    d = _woman(session, f.VILLAGE_B1, lmp="2025-08-01", registered="2025-09-01", visit1="2025-09-01",
               delivered="2026-05-01")
    return {"a": a, "b": b, "d": d}


def _fig(session, indicator, orgunit=None, period="2026"):
    values = indicators.compute(session=session, actor=SYSTEM, indicator_ids=[indicator], period=period,
                                orgunit=orgunit)
    return next(v for v in values if orgunit is None or v.orgunit == orgunit)


def test_early_booking_rate_counts_women_over_live_births(session, w):
    county = _fig(session, "early_booking_rate")
    assert (county.numerator, county.denominator, county.value) == (2, 4, Decimal("50.00"))
    town = _fig(session, "early_booking_rate", f.TOWN_A)
    assert (town.numerator, town.denominator, town.value) == (1, 3, Decimal("33.33"))


def test_postpartum_visit_rate_counts_home_visits_within_28_days_of_discharge(session, w):
    county = _fig(session, "postpartum_visit_rate")
    assert (county.numerator, county.denominator, county.value) == (1, 4, Decimal("25.00"))
    march = _fig(session, "postpartum_visit_rate", period="202603")
    assert (march.numerator, march.denominator) == (1, 3)


def test_the_drill_down_lists_the_women_counted(session, w):
    page = indicators.drilldown(session=session, actor=SYSTEM, indicator_id="early_booking_rate", orgunit=None,
                                period="2026")
    assert page.total == 2
    assert sorted(r["date"] for r in page.rows) == [date(2026, 3, 8), date(2026, 5, 1)]
    visited = indicators.drilldown(session=session, actor=SYSTEM, indicator_id="postpartum_visit_rate",
                                   orgunit=None, period="2026")
    assert [r["date"] for r in visited.rows] == [date(2026, 3, 8)]


def _screen(session, p, on, *, voided=False):
    from weijian.care.models import Screening
    from weijian.core import clock

    s = Screening(resident_id=p.resident_id, date=date.fromisoformat(on), kind="prenatal", result="low_risk",
                  created_by="test", voided_at=clock.now() if voided else None)
    session.add(s)
    session.flush()


def test_prenatal_screening_rate_counts_delivered_women_screened_during_the_pregnancy(session, w):
    """public-health.md §2 (妇幼卫生年报): 产前筛查率 = women screened ÷ women who delivered. The women delivered in
    2026 are A, B, C (a stillbirth is a delivery) and D: 4. A was screened at 16 weeks (2025-09-21, between her
    LMP 2025-06-01 and her delivery): counted; B's only screening is voided: not; C's was before her LMP
    (2025-05-01, another pregnancy): not; D's is after her delivery: not. 1 ÷ 4 = 25 %; the drill-down's
    missing list is B, C and D."""
    _screen(session, w["a"], "2025-09-21")
    _screen(session, w["b"], "2025-10-01", voided=True)
    c = next(p for p in service.register(session=session, actor=SYSTEM, as_of=TODAY, status="delivered")
             if p.pregnancy.outcome == "stillbirth").pregnancy
    _screen(session, c, "2025-05-01")
    _screen(session, w["d"], "2026-05-20")
    county = _fig(session, "prenatal_screening_delivered_rate")
    assert (county.numerator, county.denominator, county.value) == (1, 4, Decimal("25.00"))
    counted = indicators.drilldown(session=session, actor=SYSTEM, indicator_id="prenatal_screening_delivered_rate",
                                   orgunit=None, period="2026")
    assert [r["resident_id"] for r in counted.rows] == [w["a"].resident_id]
    missing = indicators.drilldown(session=session, actor=SYSTEM, indicator_id="prenatal_screening_delivered_rate",
                                   orgunit=None, period="2026", which="missing")
    assert sorted(r["resident_id"] for r in missing.rows) == sorted(
        [w["b"].resident_id, c.resident_id, w["d"].resident_id])
