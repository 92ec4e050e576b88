"""Period-stable attribution (issue 15 item 13): an event counts in the village the resident lived in on
the event's day, a population (and the people counted against it) where they lived on the period's
reference date; a move or a death counts from its effective date, so a move in December 2026 leaves
2025's figures of both townships as they were. Every answer is worked by hand on tests/indicators/world.py
and must come out of the running tallies and of the records alike.

The official reading: 国家基本公共卫生服务规范（第三版）(国家卫生计生委, 2017), 老年人健康管理服务规范, 服务对象
"辖区内65岁及以上常住居民", 考核指标 "老年人健康管理率＝年内接受健康管理人数/年内辖区内65岁及以上常住居民数
×100%" — the residents of the area in that year, not those registered there today (read through
secondary copies of the 规范, not the official PDF: unverified verbatim).
"""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from tests import factories as f
from tests.indicators import world
from weijian.care.models import Encounter
from weijian.core import tallies as core_tallies
from weijian.core.actor import Actor
from weijian.core.commands import build
from weijian.core.errors import InvalidInput
from weijian.indicators import service
from weijian.residents import service as residents_service
from weijian.residents.models import ResidentResidence

SYSTEM = Actor.system("test")
MOVED_ON = date(2026, 12, 1)


@pytest.fixture(params=["tallies", "records"])
def w(request, session, monkeypatch):
    if request.param == "records":
        monkeypatch.setattr(core_tallies, "fresh", lambda session: set())
    return world.build(session)


def _update(session, resident, **changes):
    return residents_service.update(session=session, resident_id=resident.id, actor=SYSTEM,
                                    resident_in=build(residents_service.ResidentUpdate, changes))


def towns(session, indicator, period):
    rows = service.compute(session=session, actor=SYSTEM, indicator_ids=[indicator], period=period,
                           level="township")
    return {r.orgunit: (r.numerator, r.denominator) for r in rows}


def _move_elder(session, w):
    """The elder (VILLAGE_A1, TOWN_A) moves to VILLAGE_B1 (TOWN_B) on 2026-12-01; a visit at the village
    clinic of A1 on 2026-11-20 (before) and one at the township centre of B on 2026-12-03 (after)."""
    r, fac = w.residents, w.facilities
    for facility, day in ((fac["clinic_a1"], date(2026, 11, 20)), (fac["town_b"], date(2026, 12, 3))):
        session.add(Encounter(resident_id=r["elder"].id, facility_id=facility.id, type="outpatient",
                              start_date=day))
    session.flush()
    _update(session, r["elder"], village_code=f.VILLAGE_B1, effective_on=MOVED_ON)


def test_a_move_in_december_2026_leaves_2025_figures_of_both_townships_as_they_were(session, w):
    """2025 by hand (world.py): population TOWN_A 6 (A1 elder, woman, child, baby_a; A2 turning, adult),
    TOWN_B 3 (teen, grandma, baby_b); outpatient visits TOWN_A 5 (elder 4, adult 1), 3 of them primary;
    stays TOWN_A 1 of 1 in the county, TOWN_B 1 of 2; 65+ checked TOWN_A 2 of 2 (elder, turning), TOWN_B
    0 of 1 (grandma); doses TOWN_A 2 (baby_a HepB1, DTaP1)."""
    before = {i: towns(session, i, "2025") for i in (
        "population_total", "primary_care_share", "county_retention_rate", "elderly_health_check_rate",
        "vaccination_doses", "population_65_plus")}
    assert before["population_total"] == {f.TOWN_A: (6, None), f.TOWN_B: (3, None)}
    assert before["primary_care_share"][f.TOWN_A] == (3, 5)
    assert before["county_retention_rate"] == {f.TOWN_A: (1, 1), f.TOWN_B: (1, 2)}
    assert before["elderly_health_check_rate"] == {f.TOWN_A: (2, 2), f.TOWN_B: (0, 1)}
    assert before["vaccination_doses"][f.TOWN_A] == (2, None)
    _move_elder(session, w)
    for indicator, figures in before.items():
        assert towns(session, indicator, "2025") == figures, indicator
    # November 2026 is before the move: the elder lives in TOWN_A at its end and his visit counts there.
    assert towns(session, "population_total", "202611") == {f.TOWN_A: (6, None), f.TOWN_B: (3, None)}
    assert towns(session, "primary_care_share", "202611") == {f.TOWN_A: (1, 1), f.TOWN_B: (0, 0)}
    # December 2026: the visit after the move counts in TOWN_B, and so does he at the month's end.
    assert towns(session, "population_total", "202612") == {f.TOWN_A: (5, None), f.TOWN_B: (4, None)}
    assert towns(session, "primary_care_share", "202612") == {f.TOWN_A: (0, 0), f.TOWN_B: (1, 1)}
    assert core_tallies.check(session) == []


def test_a_death_counts_from_its_date_in_the_population_and_the_checks_counted_against_it(session, w):
    """Grandma (VILLAGE_B1, 67, a general check only) dies on 2025-07-01: B1 counts teen and grandma at the
    end of June 2025 (2), teen alone at the end of July (baby_b is born on 2025-08-01), teen and baby_b at
    the year's end (2, not 3); TOWN_B's 65+ at the end of 2025: none (0 of 0, no rate), of 2024: grandma
    (1). TOWN_A is untouched: 6."""
    _update(session, w.residents["grandma"], status="deceased", effective_on=date(2025, 7, 1))
    assert towns(session, "population_total", "202506")[f.TOWN_B] == (2, None)
    assert towns(session, "population_total", "202507")[f.TOWN_B] == (1, None)
    assert towns(session, "population_total", "2025") == {f.TOWN_A: (6, None), f.TOWN_B: (2, None)}
    assert towns(session, "population_65_plus", "2024")[f.TOWN_B] == (1, None)
    assert towns(session, "elderly_health_check_rate", "2025")[f.TOWN_A] == (2, 2)
    assert towns(session, "elderly_health_check_rate", "2025").get(f.TOWN_B, (0, 0)) == (0, 0)
    assert core_tallies.check(session) == []


def test_the_residence_history_keeps_each_change_with_its_effective_date(session, w):
    elder = w.residents["elder"]
    _move_elder(session, w)
    rows = session.execute(select(ResidentResidence.valid_from, ResidentResidence.valid_to,
                                  ResidentResidence.village_code, ResidentResidence.status)
                           .where(ResidentResidence.resident_id == elder.id)
                           .order_by(ResidentResidence.valid_from)).all()
    assert [tuple(r) for r in rows] == [
        (residents_service.SINCE_ALWAYS, MOVED_ON, f.VILLAGE_A1, "active"),
        (MOVED_ON, residents_service.OPEN_END, f.VILLAGE_B1, "active")]


@pytest.mark.parametrize(("effective_on", "reason"), [
    (date(2099, 1, 1), "residents.errors.effective_on_future"),
    (date(1949, 1, 1), "residents.errors.effective_on_before_birth"),
])
def test_a_move_dated_in_the_future_or_before_the_birth_is_refused_and_nothing_changes(session, w, effective_on,
                                                                                          reason):
    elder = w.residents["elder"]
    with pytest.raises(InvalidInput) as exc:
        _update(session, elder, village_code=f.VILLAGE_B1, effective_on=effective_on)
    assert [(e.field, e.reason_key) for e in exc.value.errors] == [("effective_on", reason)]
    session.expire_all()
    assert elder.village_code == f.VILLAGE_A1
    assert session.scalar(select(ResidentResidence.village_code).where(
        ResidentResidence.resident_id == elder.id, ResidentResidence.valid_to == residents_service.OPEN_END)
    ) == f.VILLAGE_A1


def test_a_change_dated_before_the_last_one_is_refused(session, w):
    _move_elder(session, w)
    with pytest.raises(InvalidInput) as exc:
        _update(session, w.residents["elder"], village_code=f.VILLAGE_A2, effective_on=date(2026, 11, 1))
    assert [(e.field, e.reason_key) for e in exc.value.errors] == [
        ("effective_on", "residents.errors.effective_on_before_last_change")]


# --- the indicator families that were still counted by the village of today (issue 15 item 13, rest) ---
# 2025 by village, by hand from world.py (numerator, denominator):
#  hypertension: A1 the elder (4 clinic follow-ups, last in control: managed, controlled), A2 the adult (2,
#    out of control: neither), B1 grandma (4 phone follow-ups, in control: controlled only); diabetes: A1
#    the elder (managed);
#  HepB1: A1 the child (on its birth day) and baby_a (two days late: vaccinated, not timely); B1 the teen
#    and baby_b, neither vaccinated; DTaP3: A1 the child, B1 the teen, neither vaccinated (baby_a too young);
#  referrals: up A1 the elder (January 2025, local day), down B1 grandma (May 2025).
A1, A2, B1 = f.VILLAGE_A1, f.VILLAGE_A2, f.VILLAGE_B1
FAMILIES_2025 = {
    "hypertension_management_rate": {A1: (1, 1), A2: (0, 1), B1: (0, 1)},
    "hypertension_control_rate": {A1: (1, 1), A2: (0, 1), B1: (1, 1)},
    "diabetes_management_rate": {A1: (1, 1)},
    "coverage_hepb1": {A1: (2, 2), B1: (0, 2)},
    "timely_hepb1": {A1: (1, 2), B1: (0, 2)},
    "coverage_dtap3": {A1: (0, 1), B1: (0, 1)},
    "referrals_up": {A1: (1, None)},
    "referrals_down": {B1: (1, None)},
}


def villages(session, indicator, period):
    rows = service.compute(session=session, actor=SYSTEM, indicator_ids=[indicator], period=period,
                           level="village")
    return {r.orgunit: (r.numerator, r.denominator) for r in rows if r.numerator or r.denominator}


def listed(session, indicator, orgunit, period):
    """list (counted, and missing for a rate) → village → the rows the drill-down gives in it."""
    got = service.drill_all(session=session, actor=SYSTEM, indicator_id=indicator, orgunit=orgunit, period=period,
                            limit=10**6)
    out: dict[str, dict[str, int]] = {}
    for which, _cols, rows, _total in got.sheets:
        for r in rows:
            out.setdefault(which, {}).setdefault(r["village_code"], 0)
            out[which][r["village_code"]] += 1
    return out


def _move_in_december(session, w):
    """The elder (hypertension and diabetes patient, the referral up) and baby_a (HepB1), both of
    VILLAGE_A1, move to VILLAGE_B1 on 2026-12-01; grandma (hypertension, the referral down) moves from
    VILLAGE_B1 to VILLAGE_A2 on the same day; the teen (B1, HepB1 and DTaP3 eligible) dies on it."""
    r = w.residents
    _update(session, r["elder"], village_code=f.VILLAGE_B1, effective_on=MOVED_ON)
    _update(session, r["baby_a"], village_code=f.VILLAGE_B1, effective_on=MOVED_ON)
    _update(session, r["grandma"], village_code=f.VILLAGE_A2, effective_on=MOVED_ON)
    _update(session, r["teen"], status="deceased", effective_on=MOVED_ON)


@pytest.mark.parametrize("indicator", list(FAMILIES_2025))
def test_a_move_in_december_2026_leaves_2025_of_every_village_as_it_was(session, w, indicator):
    """Chronic-disease management, vaccination coverage and timeliness, referrals: the 2025 figures of
    every village (FAMILIES_2025, by hand), and the villages the drill-down lists its rows in, are the same
    after the moves (and a death) of December 2026 — through the running tallies and the records alike."""
    assert villages(session, indicator, "2025") == FAMILIES_2025[indicator]
    lists = listed(session, indicator, f.COUNTY, "2025")
    assert {which: sum(n.values()) for which, n in lists.items()}.get("counted", 0) == sum(
        n for n, _d in FAMILIES_2025[indicator].values())
    _move_in_december(session, w)
    assert villages(session, indicator, "2025") == FAMILIES_2025[indicator]
    assert listed(session, indicator, f.COUNTY, "2025") == lists
    assert core_tallies.check(session) == []


def test_after_the_move_the_periods_after_it_count_in_the_new_village(session, w):
    """HepB1 on 2026-11-30, before the moves: A1 the child and baby_a (2 of 2), B1 the teen and baby_b (0 of
    2). On 2026-12-31: A1 the child (1 of 1); B1 baby_a (vaccinated) and baby_b — the teen, dead, no longer
    (1 of 2). The diabetes rate of 2026Q4 has the elder in B1, where he lives at the quarter's end (no
    follow-up in it: under management, not managed); the drill-down lists him there."""
    _move_in_december(session, w)
    assert villages(session, "coverage_hepb1", "202611") == {A1: (2, 2), B1: (0, 2)}
    assert villages(session, "coverage_hepb1", "202612") == {A1: (1, 1), B1: (1, 2)}
    assert listed(session, "coverage_hepb1", f.COUNTY, "202612") == {"counted": {A1: 1, B1: 1},
                                                                      "missing": {B1: 1}}
    assert villages(session, "diabetes_management_rate", "2026Q4") == {B1: (0, 1)}
    assert listed(session, "diabetes_management_rate", f.COUNTY, "2026Q4") == {"missing": {B1: 1}}
    assert core_tallies.check(session) == []


def test_correcting_a_village_entered_wrongly_rewrites_the_past_periods(session, w):
    """A correction is not a move: the elder was never of VILLAGE_A1 but of VILLAGE_B1 — his 2025 visits,
    his place among the hypertension patients and his referral up count in B1 (TOWN_B) afterwards, as if
    entered right from the start; the history keeps one row."""
    elder = w.residents["elder"]
    _update(session, elder, village_code=f.VILLAGE_B1, correction=True)
    assert villages(session, "hypertension_management_rate", "2025") == {A2: (0, 1), B1: (1, 2)}
    assert villages(session, "referrals_up", "2025") == {B1: (1, None)}
    assert towns(session, "population_total", "2025") == {f.TOWN_A: (5, None), f.TOWN_B: (4, None)}
    assert listed(session, "referrals_up", f.COUNTY, "2025") == {"counted": {B1: 1}}
    assert session.execute(select(ResidentResidence.valid_from, ResidentResidence.village_code).where(
        ResidentResidence.resident_id == elder.id)).all() == [(residents_service.SINCE_ALWAYS, f.VILLAGE_B1)]
    assert core_tallies.check(session) == []


def test_a_correction_after_a_move_corrects_the_move_from_its_own_day(session, w):
    """The elder moved on 2026-12-01 to VILLAGE_B1, but it was VILLAGE_A2: the correction rewrites the row
    opened by the move (from 2026-12-01), not the years before it."""
    elder = w.residents["elder"]
    _update(session, elder, village_code=f.VILLAGE_B1, effective_on=MOVED_ON)
    _update(session, elder, village_code=f.VILLAGE_A2, correction=True)
    rows = session.execute(select(ResidentResidence.valid_from, ResidentResidence.valid_to,
                                  ResidentResidence.village_code)
                           .where(ResidentResidence.resident_id == elder.id)
                           .order_by(ResidentResidence.valid_from)).all()
    assert [tuple(r) for r in rows] == [(residents_service.SINCE_ALWAYS, MOVED_ON, f.VILLAGE_A1),
                                        (MOVED_ON, residents_service.OPEN_END, f.VILLAGE_A2)]
    assert villages(session, "hypertension_management_rate", "2025")[A1] == (1, 1)


def test_a_correction_with_a_date_is_refused_and_nothing_changes(session, w):
    elder = w.residents["elder"]
    with pytest.raises(InvalidInput) as exc:
        _update(session, elder, village_code=f.VILLAGE_B1, correction=True, effective_on=MOVED_ON)
    assert [(e.field, e.reason_key) for e in exc.value.errors] == [
        ("effective_on", "residents.errors.effective_on_with_correction")]
    session.expire_all()
    assert elder.village_code == f.VILLAGE_A1


@pytest.mark.parametrize("indicator", ["primary_care_share", "county_retention_rate", "vaccination_doses",
                                       "elderly_health_check_rate", "prenatal_screening_rate", "cervical_screenings",
                                       "breast_screenings", *FAMILIES_2025])
def test_after_moves_the_drill_down_lists_each_row_in_the_village_its_figure_counts_it(session, w, indicator):
    """The drill-down of 2025 after the moves of December 2026 (and the woman, screened, and the turning
    65, checked, moving too): the rows listed in each village are as many as its numerator counts, and the
    same as before the moves (visits, doses and screenings by the village of their day; checks by the
    village at the year's end)."""
    before = listed(session, indicator, f.COUNTY, "2025")
    _move_in_december(session, w)
    for name in ("woman", "turning"):
        _update(session, w.residents[name], village_code=f.VILLAGE_B1, effective_on=MOVED_ON)
    after = listed(session, indicator, f.COUNTY, "2025")
    assert after == before
    figures = villages(session, indicator, "2025")
    assert {v: n for v, n in after.get("counted", {}).items()} == {v: n for v, (n, _d) in figures.items() if n}
