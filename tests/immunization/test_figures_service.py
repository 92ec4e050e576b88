"""Immunization figures: coverage and the timely vaccination rate per vaccine dose with roll-up by summed
numerators and denominators (on a data set where averaging rates would give other answers), the
alternatives and mixed series, the timeliness setting, the SQL date arithmetic, doses given by vaccine,
point, township and month, scope and bad input."""
from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest

from tests import factories as f
from tests.immunization import recall_setup as rs
from weijian.accounts import service as accounts_service
from weijian.core.actor import Actor
from weijian.core.errors import Forbidden, InvalidInput
from weijian.immunization import figures
from weijian.immunization.schedule import due

SYSTEM = Actor.system("t")


def child(session, birth: str, village: str = f.VILLAGE_A1, status: str = "active", **over):
    r = f.make_resident(session, name="测试儿童", sex="male", birth_date=birth, village_code=village, **over)
    if status != "active":
        r.status = status
        session.flush()
    return r


@pytest.fixture()
def county(session):
    """MMR dose 1 (complete before 12 months), period 2026 (eligible: born by 2025-12-31), by hand:

    village A1: m1 (b. 2025-03-10, MMR1 2025-11-20: timely), m2 (b. 2025-01-05, 2025-12-01: timely),
                m3 (b. 2024-06-15, 2025-07-01: late), m4 (b. 2025-12-31, none: eligible on the last day)
                → eligible 4, vaccinated 3, timely 2. Not counted: m5 (b. 2026-01-15, too young, though
                vaccinated), m7 (moved out), an adult.
    village A2: n1 (b. 2024-09-01; MMR1 2027-01-05, after the period) → 1, 0, 0.
    village B1: b1 (b. 2025-05-05, 2026-01-10), b2 (b. 2023-02-28, 2024-02-27: the day before its first
                birthday, 2024-02-28), b3 (b. 2018-04-01, 2019-01-10) → 3, 3, 3.
    Township A 5, 3, 2 → 60 % (the villages' rates 75 % and 0 % average 37.5 %); township B 100 %;
    county 8, 6, 5 → 75 % coverage, 62.5 % timely (townships' rates would average 80 %).
    """
    f.make_county(session)
    p = {}
    p["m1"] = child(session, "2025-03-10")
    rs.give_all(session, p["m1"], [("MMR", 1, "2025-11-20"), ("JE-I", 1, "2025-11-10"), ("JE-I", 2, "2025-11-20"),
                                   ("IPV", 1, "2025-05-10"), ("IPV", 2, "2025-06-10"), ("IPV", 3, "2025-07-10")])
    p["m2"] = child(session, "2025-01-05")
    rs.give_all(session, p["m2"], [("MMR", 1, "2025-12-01"), ("JE-I", 1, "2025-09-10"),
                                   ("IPV", 1, "2025-03-05"), ("IPV", 2, "2025-04-05"), ("bOPV", 1, "2025-05-05")])
    p["m3"] = child(session, "2024-06-15")
    rs.give_all(session, p["m3"], [("MMR", 1, "2025-07-01"), ("JE-L", 1, "2025-07-01"), ("IPV", 1, "2024-08-15")])
    p["m4"] = child(session, "2025-12-31")
    p["m5"] = child(session, "2026-01-15")
    rs.give(session, p["m5"], "MMR", 1, "2026-09-20")
    p["m7"] = child(session, "2025-02-01", status="moved_out")
    rs.give(session, p["m7"], "MMR", 1, "2025-10-01")
    p["adult"] = child(session, "2000-01-01")
    p["n1"] = child(session, "2024-09-01", village=f.VILLAGE_A2)
    rs.give(session, p["n1"], "MMR", 1, "2027-01-05")
    p["b1"] = child(session, "2025-05-05", village=f.VILLAGE_B1)
    rs.give(session, p["b1"], "MMR", 1, "2026-01-10")
    p["b2"] = child(session, "2023-02-28", village=f.VILLAGE_B1)
    rs.give(session, p["b2"], "MMR", 1, "2024-02-27")
    p["b3"] = child(session, "2018-04-01", village=f.VILLAGE_B1)
    rs.give_all(session, p["b3"], [("MMR", 1, "2019-01-10"), ("DTaP", 1, "2018-07-01"), ("DTaP", 2, "2018-08-01"),
                                   ("DTaP", 3, "2018-09-01"), ("DTaP", 4, "2019-10-01"), ("DT", 1, "2024-04-10")])
    return p


def table(rows: list[figures.RateRow]) -> dict[str, tuple[int, int, Decimal | None]]:
    return {r.orgunit: (r.numerator, r.denominator, r.value) for r in rows}


def test_mmr1_coverage_rolls_up_by_summed_numerators_and_denominators(session, county):
    rows = figures.coverage(session=session, actor=SYSTEM, period="2026", vaccine="MMR", dose=1)
    assert table(rows) == {
        f.COUNTY: (6, 8, Decimal("0.7500")),
        f.TOWN_A: (3, 5, Decimal("0.6000")),
        f.TOWN_B: (3, 3, Decimal("1.0000")),
        f.VILLAGE_A1: (3, 4, Decimal("0.7500")),
        f.VILLAGE_A2: (0, 1, Decimal("0.0000")),
        f.VILLAGE_B1: (3, 3, Decimal("1.0000")),
    }
    assert {r.period for r in rows} == {"2026"} and {(r.vaccine, r.dose) for r in rows} == {("MMR", 1)}
    by = {r.orgunit: r for r in rows}
    assert (by[f.COUNTY].rag, by[f.TOWN_B].rag, by[f.VILLAGE_A2].meets_target) == ("red", "green", False)


def test_mmr1_timeliness_counts_doses_given_before_the_complete_before_age(session, county):
    rows = figures.timeliness(session=session, actor=SYSTEM, period="2026", vaccine="MMR", dose=1)
    assert table(rows) == {
        f.COUNTY: (5, 8, Decimal("0.6250")),
        f.TOWN_A: (2, 5, Decimal("0.4000")),
        f.TOWN_B: (3, 3, Decimal("1.0000")),
        f.VILLAGE_A1: (2, 4, Decimal("0.5000")),
        f.VILLAGE_A2: (0, 1, Decimal("0.0000")),
        f.VILLAGE_B1: (3, 3, Decimal("1.0000")),
    }


def test_timeliness_window_is_a_setting(session, county):
    # recommended (8 months) + 30 days: m1 2025-11-10 + 30 = 2025-12-10 (given 11-20: timely); m2 2025-09-05 + 30
    # = 2025-10-05 (given 12-01: late); m3 late.
    rows = figures.timeliness(session=session, actor=SYSTEM, period="2026", vaccine="MMR", dose=1,
                              orgunit=f.VILLAGE_A1, timely_rule="recommended+30d")
    assert table(rows) == {f.VILLAGE_A1: (1, 4, Decimal("0.2500"))}


def test_level_and_orgunit_choose_the_rows(session, county):
    rows = figures.coverage(session=session, actor=SYSTEM, period="2026", vaccine="MMR", dose=1, level="township")
    assert set(table(rows)) == {f.TOWN_A, f.TOWN_B}
    rows = figures.coverage(session=session, actor=SYSTEM, period="2026", vaccine="MMR", dose=1, orgunit=f.TOWN_A)
    assert set(table(rows)) == {f.TOWN_A, f.VILLAGE_A1, f.VILLAGE_A2}


def test_an_earlier_period_counts_doses_and_ages_by_its_own_end(session, county):
    # 2025: eligible born by 2024-12-31: m3, n1, b2, b3; vaccinated by 2025-12-31: m3, b2, b3.
    rows = figures.coverage(session=session, actor=SYSTEM, period="2025", vaccine="MMR", dose=1, level="county")
    assert table(rows) == {f.COUNTY: (3, 4, Decimal("0.7500"))}


def test_alternative_series_counts_for_the_default_dose(session, county):
    # JE-L dose 1 in A1: m1 through JE-I doses 1 and 2 (timely), m3 JE-L1 (late); m2 has JE-I dose 1 only.
    cov = figures.coverage(session=session, actor=SYSTEM, period="2026", vaccine="JE-L", dose=1, orgunit=f.VILLAGE_A1)
    tim = figures.timeliness(session=session, actor=SYSTEM, period="2026", vaccine="JE-L", dose=1, orgunit=f.VILLAGE_A1)
    assert table(cov)[f.VILLAGE_A1][:2] == (2, 4)
    assert table(tim)[f.VILLAGE_A1][:2] == (1, 4)


def test_a_series_slot_is_filled_by_any_code_the_series_accepts(session, county):
    # bOPV dose 1 is polio slot 3: m1 (three IPV) and m2 (IPV, IPV, bOPV) have it, m3 (one IPV) does not.
    cov = figures.coverage(session=session, actor=SYSTEM, period="2026", vaccine="bOPV", dose=1, orgunit=f.VILLAGE_A1)
    assert table(cov)[f.VILLAGE_A1][:2] == (2, 4)
    # DTaP dose 5 (from 2025) is filled by the DT given under the 2021 edition; only b3 is 7 years old.
    cov = figures.coverage(session=session, actor=SYSTEM, period="2026", vaccine="DTaP", dose=5, level="county")
    tim = figures.timeliness(session=session, actor=SYSTEM, period="2026", vaccine="DTaP", dose=5, level="county")
    assert table(cov)[f.COUNTY][:2] == (1, 1) and table(tim)[f.COUNTY][:2] == (1, 1)


def test_every_dose_of_the_schedule_without_a_vaccine(session, county):
    rows = figures.coverage(session=session, actor=SYSTEM, period="2026", level="county")
    doses = [(r.vaccine, r.dose) for r in rows]
    assert doses[:4] == [("HepB", 1), ("HepB", 2), ("HepB", 3), ("BCG", 1)]
    assert ("MMR", 2) in doses and ("JE-L", 2) in doses and ("HepA-L", 1) in doses and ("JE-I", 1) not in doses
    assert table([r for r in rows if (r.vaccine, r.dose) == ("MMR", 1)])[f.COUNTY] == (6, 8, Decimal("0.7500"))


def test_scope_limits_the_figures_and_another_township_is_refused(session, county):
    actor = accounts_service.actor_for(f.make_user(session, role="township_doctor", orgunit_code=f.TOWN_A))
    rows = figures.coverage(session=session, actor=actor, period="2026", vaccine="MMR", dose=1)
    assert table(rows) == {f.TOWN_A: (3, 5, Decimal("0.6000")), f.VILLAGE_A1: (3, 4, Decimal("0.7500")),
                           f.VILLAGE_A2: (0, 1, Decimal("0.0000"))}
    with pytest.raises(Forbidden):
        figures.coverage(session=session, actor=actor, period="2026", orgunit=f.TOWN_B)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"period": "2026-11"}, "period"),
    ({"period": "26"}, "period"),
    ({"period": "2026", "vaccine": "XYZ"}, "vaccine"),
    ({"period": "2026", "vaccine": "JE-I", "dose": 1}, "vaccine"),
    ({"period": "2026", "vaccine": "MMR", "dose": 3}, "dose"),
    ({"period": "2026", "vaccine": "MMR", "dose": "x"}, "dose"),
    ({"period": "2026", "dose": 1}, "vaccine"),
    ({"period": "2026", "level": "province"}, "level"),
    ({"period": "2026", "orgunit": "421124999000"}, "orgunit"),
    ({"period": "2026", "orgunit": "abc"}, "orgunit"),
    ({"period": "2026", "timely_rule": "soon"}, "timely_rule"),
])
def test_bad_input_is_refused_naming_the_field(session, county, kwargs, field):
    with pytest.raises(InvalidInput) as exc:
        figures.rates(session=session, actor=SYSTEM, **kwargs)
    assert exc.value.field == field


def test_rag_bands():
    row = lambda n: figures.RateRow("coverage", "MMR", 1, "x", "x", "village", "2026", n, 100)  # noqa: E731
    assert [row(n).rag for n in (90, 89, 85, 84)] == ["green", "amber", "amber", "red"]
    assert figures.RateRow("coverage", "MMR", 1, "x", "x", "village", "2026", 0, 0).rag is None


def test_latest_birth_is_the_last_birth_date_that_has_reached_the_age():
    from weijian.immunization.schedule.rules import parse_age
    rng = random.Random(2)
    for _ in range(300):
        end = date(2020, 1, 1) + timedelta(days=rng.randint(0, 3000))
        age = parse_age(rng.choice(["1d", "3m", "12m", "18m", "24m", "3y", "7y", "1m10d"]))
        b = figures.latest_birth(end, age)
        assert age.after(b) <= end < age.after(b + timedelta(days=1))


def test_a_dose_on_the_day_the_age_is_reached_is_late_also_at_a_month_end(session):
    # Born on 29 February: 12 months later is 28 February 2025 (no 29th), the first day MMR1 is late.
    f.make_county(session)
    on_time = child(session, "2024-02-29")
    rs.give(session, on_time, "MMR", 1, "2025-02-27")
    late = child(session, "2024-02-29")
    rs.give(session, late, "MMR", 1, "2025-02-28")
    rows = figures.timeliness(session=session, actor=SYSTEM, period="2025", vaccine="MMR", dose=1,
                              level="county")
    assert table(rows) == {f.COUNTY: (1, 2, Decimal("0.5000"))}
    # ... and a child born on 31 January is late from 31 January: eligible from then, not before.
    jan = child(session, "2025-01-31")
    rs.give(session, jan, "MMR", 1, "2026-01-30")
    assert table(figures.coverage(session=session, actor=SYSTEM, period="202601", vaccine="MMR", dose=1,
                                  level="county")) == {f.COUNTY: (3, 3, Decimal("1.0000"))}
    assert table(figures.coverage(session=session, actor=SYSTEM, period="2025", vaccine="MMR", dose=1,
                                  level="county")) == {f.COUNTY: (2, 2, Decimal("1.0000"))}
    assert table(figures.timeliness(session=session, actor=SYSTEM, period="202601", vaccine="MMR", dose=1,
                                    level="county")) == {f.COUNTY: (2, 3, Decimal("0.6667"))}


def test_an_invalid_dose_counts_neither_for_coverage_nor_for_timeliness(session):
    """2021年版: "程序表所列接种时间是可接种该剂次的最小年龄" (MMR 8月龄). An MMR at 7 months counts for
    nothing (issue 14 item 7): x (b. 2025-01-10, MMR 2025-08-20 only) is not covered for MMR1; y (the
    same, then MMR 2025-10-01 on the certificate: the repeat) is covered and timely. The judgement is the
    one stored by the engine on write (here `refresh_due`, which runs on every write)."""
    f.make_county(session)
    x = child(session, "2025-01-10")
    rs.give(session, x, "MMR", 1, "2025-08-20")
    y = child(session, "2025-01-10")
    rs.give_all(session, y, [("MMR", 1, "2025-08-20"), ("MMR", 2, "2025-10-01")])
    due.refresh_due(session=session, on=date(2026, 12, 31), resident_ids=[x.id, y.id])
    cov = figures.coverage(session=session, actor=SYSTEM, period="2026", vaccine="MMR", dose=1, level="county")
    tim = figures.timeliness(session=session, actor=SYSTEM, period="2026", vaccine="MMR", dose=1, level="county")
    assert table(cov)[f.COUNTY][:2] == (1, 2) and table(tim)[f.COUNTY][:2] == (1, 2)


# --- doses given ----------------------------------------------------------------------------------
@pytest.fixture()
def doses(session):
    f.make_county(session)
    pa = rs.make_point(session, serves=f.TOWN_A, name="温泉镇接种门诊")
    pb = rs.make_point(session, serves=f.TOWN_B, name="南河镇接种门诊")
    x = child(session, "2026-02-01")
    rs.give_all(session, x, [("HepB", 1, "2026-03-05"), ("HepB", 2, "2026-04-05")], pa)
    rs.give(session, x, "BCG", 1, "2026-03-06")  # no point: from a paper certificate
    y = child(session, "2026-03-01", village=f.VILLAGE_A2)
    rs.give(session, y, "HepB", 1, "2026-03-20", pa)
    z = child(session, "2026-03-10", village=f.VILLAGE_B1)
    rs.give(session, z, "HepB", 1, "2026-03-15", pa)
    rs.give(session, z, "BCG", 1, "2026-04-01", pb)
    w = child(session, "2025-12-31")
    rs.give(session, w, "HepB", 1, "2025-12-31", pa)  # outside 2026
    rs.give(session, w, "HepB", 2, "2027-01-01", pa)  # outside 2026
    return pa, pb


def test_doses_given_by_vaccine_point_township_and_month(session, doses):
    rows = figures.doses_given(session=session, actor=SYSTEM, period="2026")
    got = sorted((r.period, r.orgunit, r.point_name or "", r.vaccine, r.value) for r in rows)
    assert got == sorted([
        ("202603", f.TOWN_A, "温泉镇接种门诊", "HepB", 2),
        ("202603", f.TOWN_A, "", "BCG", 1),
        ("202604", f.TOWN_A, "温泉镇接种门诊", "HepB", 1),
        ("202603", f.TOWN_B, "温泉镇接种门诊", "HepB", 1),
        ("202604", f.TOWN_B, "南河镇接种门诊", "BCG", 1),
    ])
    assert {r.orgunit_name for r in rows} == {"温泉镇", "南河镇"}
    assert sum(r.value for r in figures.doses_given(session=session, actor=SYSTEM, period="202603")) == 4
    assert [r.value for r in figures.doses_given(session=session, actor=SYSTEM, period="2026Q2", vaccine="BCG")] == [1]


def test_doses_given_keeps_to_the_actors_scope(session, doses):
    actor = accounts_service.actor_for(f.make_user(session, role="village_doctor", orgunit_code=f.VILLAGE_A1))
    rows = figures.doses_given(session=session, actor=actor, period="2026")
    assert sum(r.value for r in rows) == 3  # x's three doses; y (A2) and z (B1) are outside
    with pytest.raises(InvalidInput) as exc:
        figures.doses_given(session=session, actor=SYSTEM, period="2026M3")
    assert exc.value.field == "period"
