"""County retention rate and primary-care share on a hand-made data set, with the answers worked out by hand
below: per village, rolled up to townships and the county as summed numerators over summed denominators."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests import factories as f
from tests.care import records_setup as rs
from weijian.care.records import figures
from weijian.core.actor import Actor
from weijian.core.errors import Forbidden, InvalidInput

TODAY = date(2025, 12, 31)


@pytest.fixture()
def data(session):
    w = rs.build(session)
    system = Actor.system("test")
    fac = w.facilities
    people = {
        "r1": w.people["man"],  # village A1 (town A)
        "r2": w.people["woman"],  # village A1
        "r3": f.make_resident(session, name="孙西河", village_code=f.VILLAGE_A2),  # village A2 (town A)
        "r4": w.people["other_town"],  # village B1 (town B)
    }

    def enc(who: str, kind: str, day: str, where: str | None, outside: str | None = None) -> None:
        values = {"resident_id": people[who].id, "type": kind, "start_date": day, "diagnoses": ["J06.9"],
                  "facility_id": fac[where].id if where else None, "outside_facility_name": outside}
        if kind == "inpatient":  # discharged two days later: a patient has one stay at a time (issue 14)
            values["end_date"] = (date.fromisoformat(day) + timedelta(days=2)).isoformat()
        rs.create_encounter(session=session, values=values, actor=system, today=TODAY)

    # Inpatient stays (admission date decides the period).
    enc("r1", "inpatient", "2025-03-01", "county")
    enc("r1", "inpatient", "2025-04-01", None, "武汉协和医院")
    enc("r2", "inpatient", "2025-05-01", "centre_a")
    enc("r3", "inpatient", "2025-06-01", None, "武汉同济医院")
    enc("r3", "inpatient", "2025-07-01", None, "黄冈市中心医院")
    enc("r4", "inpatient", "2025-02-01", "county")
    enc("r4", "inpatient", "2025-08-01", "tcm")
    enc("r4", "inpatient", "2025-09-01", None, "武汉协和医院")
    enc("r1", "inpatient", "2024-12-31", "county")  # previous year
    enc("r2", "day_surgery", "2025-03-03", "county")  # not an inpatient stay
    # Outpatient visits.
    for day in ("2025-01-05", "2025-02-05", "2025-03-05"):
        enc("r1", "outpatient", day, "clinic_a1")
    enc("r1", "outpatient", "2025-04-05", "county")
    enc("r2", "outpatient", "2025-05-05", "centre_a")
    enc("r2", "outpatient", "2025-06-05", "county")
    enc("r3", "outpatient", "2025-07-05", "clinic_a1")  # a neighbouring village's clinic still counts
    enc("r3", "outpatient", "2025-08-05", None, "武汉协和医院")  # outside the county: in neither count
    enc("r4", "outpatient", "2025-01-10", "centre_b")
    enc("r4", "outpatient", "2025-02-10", "centre_b")
    enc("r4", "outpatient", "2025-03-10", "tcm")
    enc("r4", "outpatient", "2025-04-10", "tcm")
    enc("r4", "outpatient", "2025-05-10", "cdc")  # a county facility, not a primary one
    enc("r1", "outpatient", "2024-12-20", "clinic_a1")  # previous year
    return w


def numbers(fig) -> tuple[int, int, float | None]:
    return fig.numerator, fig.denominator, fig.value


def test_county_retention_rate_by_hand(session, data):
    bureau = data.actors["bureau"]
    # Stays of 2025 in the county / all stays of 2025:
    #   village A1: r1 county hospital, r1 outside, r2 township centre → 2 / 3
    #   village A2: r3 outside twice                                     → 0 / 2
    #   town A = A1 + A2                                                → 2 / 5 = 0.4 (not the mean 0.3333)
    #   village B1: r4 county hospital, TCM hospital, outside           → 2 / 3
    #   county = 4 / 8 = 0.5
    county = figures.county_retention_rate(session=session, actor=bureau, period="2025")
    assert (county.figure, county.orgunit, county.period) == ("county_retention_rate", f.COUNTY, "2025")
    assert numbers(county) == (4, 8, 0.5)
    assert [(c.orgunit, *numbers(c)) for c in county.children] == [(f.TOWN_A, 2, 5, 0.4), (f.TOWN_B, 2, 3, 0.6667)]
    town = figures.county_retention_rate(session=session, actor=bureau, period="2025", orgunit=f.TOWN_A)
    assert numbers(town) == (2, 5, 0.4)
    assert [(c.orgunit, *numbers(c)) for c in town.children] == [(f.VILLAGE_A1, 2, 3, 0.6667),
                                                                 (f.VILLAGE_A2, 0, 2, 0.0)]
    village = figures.county_retention_rate(session=session, actor=bureau, period="2025", orgunit=f.VILLAGE_B1)
    assert numbers(village) == (2, 3, 0.6667) and village.children == []
    # First quarter: r1's county-hospital stay of 1 March and r4's of 1 February; 31 December 2024 is out.
    q1 = figures.county_retention_rate(session=session, actor=bureau, period="2025Q1")
    assert numbers(q1) == (2, 2, 1.0)
    assert numbers(figures.county_retention_rate(session=session, actor=bureau, period="202410")) == (0, 0, None)


def test_primary_care_share_by_hand(session, data):
    bureau = data.actors["bureau"]
    # Visits of 2025 at township/village facilities / all visits at the county's facilities:
    #   village A1: r1 clinic ×3 + county hospital, r2 township centre + county hospital → 4 / 6
    #   village A2: r3 clinic (the outside visit is in neither)                         → 1 / 1
    #   town A = 5 / 7 = 0.7143
    #   village B1: r4 township centre ×2, TCM ×2, CDC                                 → 2 / 5 = 0.4
    #   county = 7 / 12 = 0.5833
    county = figures.primary_care_share(session=session, actor=bureau, period="2025")
    assert (county.figure, *numbers(county)) == ("primary_care_share", 7, 12, 0.5833)
    assert [(c.orgunit, *numbers(c)) for c in county.children] == [(f.TOWN_A, 5, 7, 0.7143), (f.TOWN_B, 2, 5, 0.4)]
    town = figures.primary_care_share(session=session, actor=bureau, period="2025", orgunit=f.TOWN_A)
    assert [(c.orgunit, *numbers(c)) for c in town.children] == [(f.VILLAGE_A1, 4, 6, 0.6667),
                                                                 (f.VILLAGE_A2, 1, 1, 1.0)]
    # First quarter: r1 clinic ×3, r4 township centre ×2, r4 TCM once (20 December 2024 is out) → 5 / 6.
    assert numbers(figures.primary_care_share(session=session, actor=bureau, period="2025Q1")) == (5, 6, 0.8333)


def test_figures_need_statistics_permission_and_stay_in_scope(session, data):
    with pytest.raises(Forbidden):
        figures.county_retention_rate(session=session, actor=data.actors["county"], period="2025")
    town_statistician = Actor(user_id=None, username="t", role="bureau_admin", scope_code=f.TOWN_A,
                              permissions=frozenset({"stats:read"}))
    assert numbers(figures.primary_care_share(session=session, actor=town_statistician, period="2025")) == (5, 7, 0.7143)
    with pytest.raises(Forbidden):
        figures.primary_care_share(session=session, actor=town_statistician, period="2025", orgunit=f.TOWN_B)


def test_bad_period_or_org_unit_is_refused_naming_the_field(session, data):
    bureau = data.actors["bureau"]
    with pytest.raises(InvalidInput) as info:
        figures.county_retention_rate(session=session, actor=bureau, period="2025-01")
    assert info.value.field == "period"
    for code in ("4211", "421199000000"):
        with pytest.raises(InvalidInput) as info:
            figures.primary_care_share(session=session, actor=bureau, period="2025", orgunit=code)
        assert info.value.field == "orgunit"
    with pytest.raises(InvalidInput) as info:
        figures.compute(session=session, actor=bureau, figure="bed_rate", period="2025")
    assert info.value.field == "figure"
