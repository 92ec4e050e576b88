"""The running tallies (core.tallies, indicators.tallies) stay equal to a fresh count of the records
through every kind of write, and the figures read from them equal the figures counted from the records."""
from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests import factories as f
from tests.indicators import world
from weijian.care.models import Encounter, HealthCheck, Screening
from weijian.core import tallies as core_tallies
from weijian.core.actor import Actor
from weijian.core.commands import build
from weijian.immunization.models import Vaccination
from weijian.indicators import service
from weijian.indicators import tallies as ind_tallies
from weijian.orgunits import service as orgunits_service
from weijian.orgunits.schemas import FacilityUpdate
from weijian.residents import service as residents_service
from weijian.residents.models import ResidentResidence

SYSTEM = Actor.system("test")


@pytest.fixture()
def w(session):
    built = world.build(session)
    assert core_tallies.fresh(session) == {"enc", "dose", "people", "cov", "checks", "settle"}
    assert core_tallies.check(session) == []
    return built


def _both(session, monkeypatch, **kw):
    """compute() read from the tallies, then counted from the records."""
    tallied = service.compute(session=session, actor=SYSTEM, **kw)
    with monkeypatch.context() as m:
        m.setattr(core_tallies, "fresh", lambda session: set())
        counted = service.compute(session=session, actor=SYSTEM, **kw)
    return tallied, counted


def test_every_kind_of_write_keeps_the_tallies_equal_to_a_fresh_count(session, w):
    r, fac = w.residents, w.facilities
    # A visit recorded, one moved to another month, one deleted.
    visit = Encounter(resident_id=r["adult"].id, facility_id=fac["clinic_a2"].id, type="outpatient",
                      start_date=date(2025, 11, 3))
    session.add(visit)
    session.flush()
    assert core_tallies.check(session) == []
    visit.start_date = date(2025, 12, 1)
    session.flush()
    assert core_tallies.check(session) == []
    session.delete(visit)
    session.flush()
    assert core_tallies.check(session) == []
    # A resident moves to another township: their visits, stays, doses and population move with them.
    residents_service.update(session=session, resident_id=r["elder"].id, resident_in=build(residents_service.ResidentUpdate, {"village_code": f.VILLAGE_B1}),
                             actor=SYSTEM)
    residents_service.update(session=session, resident_id=r["child"].id, resident_in=build(residents_service.ResidentUpdate, {"village_code": f.VILLAGE_B1}),
                             actor=SYSTEM)
    assert core_tallies.check(session) == []
    # A birth date corrected, a death, a merge, a newborn registered.
    r["teen"].birth_date = date(2009, 2, 28)
    r["woman"].status = "deceased"
    session.flush()
    assert core_tallies.check(session) == []
    twin = f.make_resident(session, village_code=f.VILLAGE_A2, birth_date=date(2025, 4, 10))
    residents_service.merge(session=session, survivor_id=r["baby_a"].id, merged_id=twin.id, reason="重复建档",
                            actor=SYSTEM, confirm_different_id_numbers=True)
    f.make_resident(session, village_code=f.VILLAGE_A2, birth_date=date(2025, 12, 30))
    assert core_tallies.check(session) == []
    # Doses: a catch-up dose, a dose re-dated, a dose deleted.
    dose = Vaccination(resident_id=r["baby_b"].id, vaccine="HepB", dose=1, date=date(2025, 9, 1), source="historical")
    session.add(dose)
    session.flush()
    dose.date = date(2025, 8, 1)
    session.flush()
    assert core_tallies.check(session) == []
    session.delete(session.scalars(select(Vaccination).where(Vaccination.resident_id == r["child"].id,
                                                             Vaccination.vaccine == "MMR")).one())
    session.flush()
    assert core_tallies.check(session) == []
    # Health checks and screenings: a second check in the quarter, a check moved to the next year, a
    # screening deleted; the woman turning 65 is not (she is 25): the adult turns 65 on 2026-01-01.
    check = HealthCheck(resident_id=r["adult"].id, facility_id=fac["clinic_a2"].id, date=date(2025, 12, 1),
                        kind="annual_65")
    session.add_all([check, HealthCheck(resident_id=r["turning"].id, facility_id=fac["clinic_a2"].id,
                                        date=date(2025, 6, 2), kind="annual_65")])
    session.flush()
    assert core_tallies.check(session) == []
    check.date = date(2026, 1, 2)
    session.delete(session.scalars(select(Screening).where(Screening.kind == "breast")).one())
    session.flush()
    assert core_tallies.check(session) == []


def test_a_facility_becoming_primary_care_recounts_the_visits(session, w, monkeypatch):
    before = service.compute(session=session, actor=SYSTEM, indicator_ids=["primary_care_share"], period="2025")[0]
    orgunits_service.update_facility(session=session, facility_id=w.facilities["county"].id,
                                     facility_in=build(FacilityUpdate, {"type": "township_centre"}), actor=SYSTEM)
    assert core_tallies.check(session) == []
    tallied, counted = _both(session, monkeypatch, indicator_ids=["primary_care_share"], period="2025")
    assert tallied == counted
    assert tallied[0].numerator == 5 and before.numerator == 3  # the county hospital's 2 visits now count


def test_a_rolled_back_write_leaves_the_tallies_as_they_were(session, w):
    before = core_tallies.months(session, None, "0", "9", 202501, 202512, prefix="enc")
    nested = session.begin_nested()
    session.add(Encounter(resident_id=w.residents["adult"].id, facility_id=w.facilities["clinic_a2"].id,
                          type="outpatient", start_date=date(2025, 5, 5)))
    session.flush()
    assert core_tallies.months(session, None, "0", "9", 202501, 202512, prefix="enc") != before
    nested.rollback()
    assert core_tallies.months(session, None, "0", "9", 202501, 202512, prefix="enc") == before
    assert core_tallies.check(session) == []


def test_a_suspended_bulk_write_is_found_by_check_and_mended_by_rebuild(session, w):
    with core_tallies.suspended(session):
        session.add(Encounter(resident_id=w.residents["adult"].id, facility_id=w.facilities["clinic_a2"].id,
                              type="outpatient", start_date=date(2025, 5, 5)))
        session.flush()
    problems = core_tallies.check(session)
    assert any("enc:outpatient_in_county m202505" in p for p in problems), problems
    core_tallies.rebuild(session, ["enc"])
    assert core_tallies.check(session) == []


def test_a_rule_change_makes_the_tallies_stale_and_the_figures_fall_back_to_the_records(session, w, monkeypatch):
    assert "people" in core_tallies.fresh(session)
    monkeypatch.setattr(ind_tallies, "bands", lambda: ((None, None, None), (0, 6, None), (15, 49, "female")))
    assert "people" not in core_tallies.fresh(session)
    got = service.compute(session=session, actor=SYSTEM, indicator_ids=["population_0_6"], period="2025")[0]
    assert got.numerator == 3  # child (5), baby_a, baby_b: counted from the records
    assert core_tallies.ensure(session) == ["people"]
    assert "people" in core_tallies.fresh(session) and core_tallies.check(session) == []


@pytest.mark.parametrize("statement", ["orm_update", "orm_delete", "table_update"])
def test_a_bulk_statement_on_a_counted_table_is_refused_outside_the_tally_aware_path(session, w, statement):
    """Issue 15 item 15: a bulk UPDATE or DELETE, which no flush sees, would leave the tallies drifting
    without a word; it is refused (as the audit log refuses them) and nothing changes."""
    from sqlalchemy import delete, update

    from weijian.core.errors import InvalidState
    from weijian.residents.models import Resident

    adult = w.residents["adult"]
    stmt = {
        "orm_update": lambda: update(Resident).where(Resident.id == adult.id).values(birth_date=date(1930, 1, 1)),
        "orm_delete": lambda: delete(Encounter).where(Encounter.resident_id == adult.id),
        "table_update": lambda: update(Vaccination.__table__).values(dose=9),
    }[statement]()
    visits = session.scalar(select(func.count()).select_from(Encounter).where(Encounter.resident_id == adult.id))
    with pytest.raises(InvalidState) as caught:
        session.execute(stmt)
    assert caught.value.message_key == "core.errors.tallies_bulk_write"
    session.expire_all()
    assert session.get(Resident, adult.id).birth_date != date(1930, 1, 1)
    assert session.scalar(select(func.count()).select_from(Encounter).where(
        Encounter.resident_id == adult.id)) == visits
    assert core_tallies.check(session) == []


def test_a_bulk_update_of_columns_no_count_reads_goes_through(session, w):
    """A resident's search keys (name_initials) count in no figure: a bulk UPDATE of them (the surnames'
    reindex) is not refused, and the tallies stay equal to a fresh count."""
    from sqlalchemy import update

    from weijian.residents.models import Resident

    adult = w.residents["adult"]
    session.execute(update(Resident).where(Resident.id == adult.id).values(name_initials="zz"))
    session.expire_all()
    assert session.get(Resident, adult.id).name_initials == "zz"
    assert core_tallies.check(session) == []


def test_the_tally_aware_bulk_path_keeps_the_tallies_equal_to_a_fresh_count(session, w):
    from sqlalchemy import update

    from weijian.residents.models import Resident

    adult = w.residents["adult"]
    with core_tallies.bulk_write(session, [adult.id]):
        session.execute(update(Resident).where(Resident.id == adult.id).values(birth_date=date(1930, 1, 1)))
    assert core_tallies.check(session) == []


def test_a_change_of_the_counting_code_makes_the_tallies_stale(session, w, monkeypatch):
    """Issue 15 item 15: the fingerprint covers the counting code, not only the data files: tallies counted
    by an older count function are not read as if the new one had counted them."""
    import inspect

    assert "cov" in core_tallies.fresh(session)
    real = inspect.getsource

    def edited(obj):
        text = real(obj)
        return text + "\n# edited" if obj is ind_tallies.series_dates else text

    ind_tallies._code.cache_clear()
    monkeypatch.setattr(core_tallies.pyinspect, "getsource", edited)
    try:
        assert "cov" not in core_tallies.fresh(session)
        assert {"enc", "dose", "people", "checks", "settle"} <= core_tallies.fresh(session)
    finally:
        ind_tallies._code.cache_clear()


def test_reaching_an_age_in_february_of_a_leap_year(session):
    assert ind_tallies.reaches(date(2020, 2, 29), 1) == 202103  # 28 Feb 2021: not yet a year old
    assert ind_tallies.reaches(date(2020, 2, 29), 4) == 202402
    assert ind_tallies.reaches(date(2019, 2, 28), 1) == 202002
    assert ind_tallies.reaches(date(2019, 12, 31), 6) == 202512
    assert ind_tallies.reaches(date(2019, 12, 31), 0) == 201912


def test_population_bands_match_the_records_on_every_month_end_over_years(session, monkeypatch):
    f.make_county(session)
    rng = random.Random(7)
    for _ in range(60):
        birth = date(1955, 1, 1) + timedelta(days=rng.randrange(0, 71 * 365))
        if rng.random() < 0.1:
            birth = date(rng.choice((1956, 1960, 2000, 2016, 2020)), 2, 29)
        person = f.make_resident(session, village_code=rng.choice((f.VILLAGE_A1, f.VILLAGE_A2, f.VILLAGE_B1)),
                                 birth_date=birth, sex=rng.choice(("male", "female")))
        # Some move once or twice and some die, on dated days (mid-month, month ends, 29 February): the
        # tallies follow the residence history as the records' count does.
        day = max(birth, date(2015, 1, 1))
        for _ in range(rng.choice((0, 0, 1, 2))):
            day = min(day + timedelta(days=rng.randrange(1, 4 * 365)), date(2026, 6, 30))
            change = ({"status": "deceased"} if rng.random() < 0.25 else
                      {"village_code": rng.choice((f.VILLAGE_A1, f.VILLAGE_A2, f.VILLAGE_B1))})
            if change.get("village_code") == person.village_code or person.status != "active":
                continue
            residents_service.update(session=session, resident_id=person.id, actor=SYSTEM, resident_in=build(
                residents_service.ResidentUpdate, {**change, "effective_on": day}))
    assert core_tallies.check(session) == []
    assert session.scalar(select(func.count()).select_from(ResidentResidence)) > 80  # 60 people, 20+ changes
    ids = ["population_total", "population_0_6", "population_7_17", "population_18_64", "population_65_plus"]
    for year in ("2016", "2020", "2024", "2025", "2026"):
        tallied, counted = _both(session, monkeypatch, indicator_ids=ids, period=year, level="all", by_month=True)
        assert tallied == counted, year


def test_coverage_matches_the_records_across_schedule_editions(session, monkeypatch):
    """Random children born 2003-2026 with random HepB, MMR, DTaP and DTP histories (some late, some
    missing, some given before the 2025 edition): eligible, vaccinated and timely per village at every
    month's end from 2020 to 2026, read from the tallies, equal the numbers counted from the records."""
    f.make_county(session)
    rng = random.Random(11)
    for _ in range(80):
        birth = date(2003, 1, 1) + timedelta(days=rng.randrange(0, 23 * 365))
        child = f.make_resident(session, village_code=rng.choice((f.VILLAGE_A1, f.VILLAGE_A2, f.VILLAGE_B1)),
                                birth_date=birth)
        for vaccine, doses, gap in (("HepB", 3, 60), ("MMR", 2, 300), ("DTaP", 4, 45), ("DTP", 1, 600)):
            day = birth + timedelta(days=rng.randrange(0, 40))
            for n in range(1, doses + 1):
                if rng.random() < 0.2:
                    break
                day += timedelta(days=rng.randrange(gap // 2, gap * 3))
                session.add(Vaccination(resident_id=child.id, vaccine=vaccine, dose=n, date=day,
                                        source="historical"))
    session.flush()
    assert core_tallies.check(session) == []
    ids = [i.id for i in service.list_indicators() if i.numerator.measure.startswith("children_")]
    assert ids
    for year in ("2020", "2021", "2024", "2025", "2026"):
        tallied, counted = _both(session, monkeypatch, indicator_ids=ids, period=year, level="all", by_month=True)
        assert tallied == counted, year
        # Before the first edition (2021-02-23) there is no figure; after it, children to count.
        assert any(v.denominator for v in tallied) == (year != "2020"), year


def test_the_whole_set_reads_the_same_from_tallies_and_records(session, w, monkeypatch):
    for period in ("2024", "2025", "2025Q3", "202512"):
        tallied, counted = _both(session, monkeypatch, period=period, level="all", by_month=period == "2025")
        assert tallied == counted, period


def test_fingerprints_are_the_same_in_every_process():
    """A fingerprint that changed with Python's string hashing would leave the tallies stale after each
    restart (every figure counted from the records again, slowly, without an error)."""
    import os
    import subprocess
    import sys

    code = ("from weijian import wiring; wiring.wire(); from weijian.core import tallies; "
            "print(sorted((n, s.fingerprint()) for n, s in tallies.sources().items()))")
    outs = {subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": seed},
                           capture_output=True, text=True, check=True).stdout for seed in ("1", "2", "3")}
    assert len(outs) == 1, outs


def test_a_dose_that_counts_for_nothing_covers_no_slot_in_the_tallies_either(session, w, monkeypatch):
    """2021年版 说明: "程序表所列接种时间是可接种该剂次的最小年龄" (MMR 8月龄). An MMR at 7 months is judged
    invalid by the engine (issue 14 item 7, stored as invalid_reason by refresh_due) and the dashboard's
    coverage, read from the tallies, leaves it out as immunization.figures does: the tallies follow the
    judgement written after the dose (a bulk statement, on the tally-aware path)."""
    from tests.immunization import recall_setup as rs
    from weijian.immunization.schedule import due

    baby = f.make_resident(session, birth_date=date(2025, 1, 10), village_code=f.VILLAGE_A1)
    dose = rs.give(session, baby, "MMR", 1, "2025-08-20")
    due.refresh_due(session=session, on=date(2025, 12, 31), resident_ids=[baby.id])
    session.refresh(dose)
    assert dose.invalid_reason is not None
    assert core_tallies.check(session) == []
    from weijian.immunization import figures

    for period in ("2025", "2026"):
        [value] = service.compute(session=session, actor=SYSTEM, indicator_ids=["coverage_mmr1"], period=period,
                                  orgunit=f.COUNTY)
        cov = figures.coverage(session=session, actor=SYSTEM, period=period, vaccine="MMR", dose=1, level="county")
        row = next(r for r in cov if r.orgunit == f.COUNTY)
        assert (value.numerator, value.denominator) == (row.numerator, row.denominator), period
