"""The four severe mental illness rates (public-health.md §6; 国家基本公共卫生服务规范 第三版 工作指标 as its
secondary copies give them, VERIFY): 管理率 = managed ÷ (常住人口 × 4.5‰), 规范管理率 = managed to the norm (≥ 4
follow-ups in a year) ÷ registered, 规律服药率 = regular at the latest follow-up ÷ registered, 稳定率 = stable at
the latest follow-up ÷ managed — hand-counted from four patients; the drill-down names patients and needs
mental:read (a bureau user, who sees the figures, is refused it)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests import factories as f
from weijian.accounts import service as accounts_service
from weijian.care.mental import service
from weijian.care.mental.schemas import FollowUpCreate, PatientRegister
from weijian.core.actor import Actor
from weijian.core.commands import build
from weijian.core.errors import Forbidden
from weijian.indicators import service as indicators

SYSTEM = Actor.system()
TODAY = date(2027, 1, 15)


def _patient(session, village, visits, adherence="regular", last=None):
    r = f.make_resident(session, village_code=village, birth_date=date(1975, 1, 1))
    p = service.register_patient(session=session, actor=SYSTEM, today=TODAY, patient_in=build(PatientRegister, {
        "resident_id": r.id, "disease": "schizophrenia", "icd10": "F20.9", "diagnosed_on": "2024-05-01",
        "registered_on": "2025-01-05", "consent": True, "consent_signer": "guardian", "consent_signer_name": "家属",
        "consent_on": "2025-01-05"}))
    for i, day in enumerate(visits):
        answers = last if (last and i == len(visits) - 1) else {}
        service.record_follow_up(session=session, patient_id=p.id, actor=SYSTEM, today=TODAY,
                                 follow_up_in=build(FollowUpCreate, {
                                     "date": day, "risk_grade": 0, "symptoms": "gone", "insight": "recovered",
                                     "social_function": "good", "adherence": adherence, **answers}))
    return r


@pytest.fixture()
def w(session):
    f.make_county(session)
    quarterly = ["2026-01-10", "2026-04-10", "2026-07-10", "2026-10-10"]
    # A: four follow-ups, regular, stable at the last: in every numerator.
    a = _patient(session, f.VILLAGE_A1, quarterly)
    # B: four follow-ups, the last intermittent and basically stable (risk 1).
    b = _patient(session, f.VILLAGE_A1, quarterly, last={"adherence": "intermittent", "risk_grade": 1})
    # C: two follow-ups: managed, not to the norm; regular and stable.
    c = _patient(session, f.VILLAGE_A1, ["2026-03-01", "2026-09-01"])
    # D: registered, never followed up in 2026: only in the registered count.
    d = _patient(session, f.VILLAGE_A1, [])
    return {"a": a, "b": b, "c": c, "d": d}


def _fig(session, indicator, period="2026"):
    values = indicators.compute(session=session, actor=SYSTEM, indicator_ids=[indicator], period=period,
                                orgunit=f.VILLAGE_A1)
    return next(v for v in values if v.orgunit == f.VILLAGE_A1)


def test_the_norm_and_medication_rates_divide_by_the_registered(session, w):
    standard = _fig(session, "mental_standard_management_rate")
    assert (standard.numerator, standard.denominator, standard.value) == (2, 4, Decimal("50.00"))
    regular = _fig(session, "mental_regular_medication_rate")
    assert (regular.numerator, regular.denominator, regular.value) == (2, 4, Decimal("50.00"))


def test_the_stable_rate_divides_by_the_managed(session, w):
    stable = _fig(session, "mental_stable_rate")
    assert (stable.numerator, stable.denominator, stable.value) == (2, 3, Decimal("66.67"))


def test_the_management_rate_divides_by_the_estimated_patients(session, w):
    fig = _fig(session, "mental_management_rate")
    # The village's registry counts these four people (and nobody else): 4 × 4.5‰ = 0.018 estimated.
    assert fig.numerator == 3 and Decimal(fig.denominator) == Decimal("0.0180")


def test_the_drill_down_lists_the_patients_and_needs_mental_read(session, w):
    page = indicators.drilldown(session=session, actor=SYSTEM, indicator_id="mental_standard_management_rate",
                                orgunit=f.VILLAGE_A1, period="2026")
    assert sorted(r["resident_id"] for r in page.rows) == sorted([w["a"].id, w["b"].id])
    missing = indicators.drilldown(session=session, actor=SYSTEM, indicator_id="mental_standard_management_rate",
                                   orgunit=f.VILLAGE_A1, period="2026", which="missing")
    assert sorted(r["resident_id"] for r in missing.rows) == sorted([w["c"].id, w["d"].id])
    bureau = accounts_service.actor_for(f.make_user(session, "bureau_admin", f.COUNTY))
    assert _fig(session, "mental_stable_rate").value is not None  # the figure itself is for every reader
    with pytest.raises(Forbidden):
        indicators.drilldown(session=session, actor=bureau, indicator_id="mental_stable_rate", orgunit=f.VILLAGE_A1,
                             period="2026")
