"""The demo county: its map, its scaled capacity, and the residents a build writes.

One small county is built once for the module (in a transaction rolled back at the end); the same seed
is built twice more and another seed once, each inside a savepoint, to check determinism.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import savepoint_sessions
from weijian.accounts import service as accounts_service
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.commands import build
from weijian.core.errors import InvalidInput, InvalidState
from weijian.core.identifiers import (
    division_level,
    parse_id_number,
    township_kind,
    village_kind,
)
from weijian.demo import builder, census
from weijian.demo import county as county_mod
from weijian.orgunits.models import Facility, FacilityCapacity, OrgUnit
from weijian.residents import service as residents_service
from weijian.residents.models import Household, Resident, ResidentGroup

N = 2000
SEED = 7
REF = builder.reference_date()  # the data file's date, passed to every build: the same county each time
TOWNSHIPS = {
    "温泉镇": "town", "南河镇": "town", "红山镇": "town", "金家铺镇": "town", "石头咀镇": "town",
    "草盘地镇": "town", "雷家店镇": "town", "杨柳湾镇": "town",
    "孔家坊乡": "township", "方家咀乡": "township", "陶家河乡": "township",
}


def _snapshot(session: Session) -> list[tuple]:
    return list(session.execute(
        select(Resident.id_number, Resident.name, Resident.birth_date, Resident.village_code,
               Resident.relation_to_head, Resident.phone, Resident.insurance_scheme, Household.number)
        .join(Household, Household.id == Resident.household_id).order_by(Resident.id)))


@pytest.fixture(scope="module")
def built(engine):
    """(session, summary, snapshots): the county built with SEED, plus snapshots of two more builds
    with SEED and one with SEED + 1 (each rolled back to a savepoint)."""
    conn = engine.connect()
    trans = conn.begin()
    session = savepoint_sessions(conn)()
    snapshots = []
    try:
        for seed in (SEED, SEED + 1):
            nested = session.begin_nested()
            # The residents as the builder draws them: the immunization part adds newborns through the bundle
            # (tests/demo/test_immunization_demo.py); care and settlements have their own modules too.
            builder.build(session=session, residents=N, seed=seed, care=False, immunization=False, reference=REF)
            snapshots.append(_snapshot(session))
            nested.rollback()
        summary = builder.build(session=session, residents=N, seed=SEED, care=False, immunization=False,
                                reference=REF)
        snapshots.append(_snapshot(session))
        yield session, summary, snapshots
    finally:
        session.close()
        trans.rollback()
        conn.close()


@pytest.fixture()
def db(built) -> Session:
    return built[0]


def _residents(db: Session) -> list[Resident]:
    return list(db.scalars(select(Resident).order_by(Resident.id)))


# --- the map (pure) --------------------------------------------------------------------------------
def test_map_has_yingshans_townships_with_codes_in_the_statistics_office_ranges():
    c = county_mod.load()
    assert (c.county.code, c.county.name) == ("421124000000", "英山县")
    assert {t.name: t.kind for t in c.townships} == TOWNSHIPS
    for t in c.townships:
        assert division_level(t.code) == "township" and t.code.startswith("421124")
        assert township_kind(t.code) == TOWNSHIPS[t.name]
        assert (100 <= int(t.code[6:9]) <= 199) if t.kind == "town" else (200 <= int(t.code[6:9]) <= 399)


def test_map_has_236_villages_with_names_unique_in_their_township():
    c = county_mod.load()
    assert len(c.villages) == 236
    by_township = defaultdict(list)
    for v in c.villages:
        assert division_level(v.code) == "village"
        assert village_kind(v.code) == v.kind
        assert v.code[:9] == v.parent_code[:9]
        by_township[v.parent_code].append(v.name)
    assert set(by_township) == {t.code for t in c.townships}
    for names in by_township.values():
        assert len(names) == len(set(names))
    seat = [v for v in c.villages if v.parent_code == "421124100000"]
    assert max(len(v) for v in by_township.values()) == len(seat), "the county seat has the most villages"
    assert sum(v.kind == "residents_committee" for v in seat) >= 3, "the county seat has communities"


def test_facilities_are_the_county_hospitals_a_centre_per_township_and_a_clinic_per_village():
    c = county_mod.load()
    types = Counter(f.type for f in c.facilities)
    assert types == {"county_general": 1, "county_tcm": 1, "county_mch": 1, "cdc": 1,
                     "township_centre": 11, "village_clinic": 236}
    lead = [f for f in c.facilities if f.community_role == "lead"]
    assert [(f.name, f.type, f.grade) for f in lead] == [("英山县人民医院", "county_general", "level3")]
    names = {f.name for f in c.facilities}
    assert {"英山县中医医院", "英山县妇幼保健院", "温泉镇中心卫生院", "陶家河乡卫生院"} <= names
    assert all(f.name == c.unit(f.orgunit_code).name + "卫生室" for f in c.facilities if f.type == "village_clinic")


# --- capacity scaled to any size (pure) ------------------------------------------------------------
@pytest.mark.parametrize("residents", [10_000, 33_333, 40_000, 123_457, 400_000])
def test_beds_and_physicians_per_1000_are_yingshans_reported_figures(residents):
    allocation = county_mod.allocate_capacity(residents)
    beds = sum(c.beds_open for c in allocation.values())
    physicians = sum(c.licensed for c in allocation.values())
    assert abs(beds * 1000 / residents - 7.62) <= 0.05
    assert abs(physicians * 1000 / residents - 3.16) <= 0.05


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=2_000_000))
def test_capacity_totals_are_the_reported_rates_rounded_to_whole_beds_and_physicians(residents):
    # Below about 10,000 residents whole beds cannot come within 0.05 per 1,000 of 7.62: the totals
    # are then the nearest whole numbers.
    allocation = county_mod.allocate_capacity(residents)
    beds = sum(c.beds_open for c in allocation.values())
    physicians = sum(c.licensed for c in allocation.values())
    assert abs(beds - 7.62 * residents / 1000) <= 0.5
    assert abs(physicians - 3.16 * residents / 1000) <= 0.5
    assert all(c.beds_approved >= c.beds_open >= 0 and c.physicians >= 0 and c.assistant_physicians >= 0
               for c in allocation.values())


def test_shares_go_to_the_county_hospital_first_and_village_clinics_have_no_beds():
    c = county_mod.load()
    allocation = county_mod.allocate_capacity(400_000)
    beds = sum(x.beds_open for x in allocation.values())
    physicians = sum(x.licensed for x in allocation.values())
    assert 0.38 <= allocation["county_general"].beds_open / beds <= 0.42
    assert 0.13 <= allocation["county_tcm"].beds_open / beds <= 0.17
    assert 0.06 <= allocation["county_mch"].beds_open / beds <= 0.10
    assert allocation["cdc"].beds_open == 0
    clinics = [allocation[f.key] for f in c.facilities if f.type == "village_clinic"]
    assert all(x.beds_open == 0 and x.physicians == 0 for x in clinics)
    assert 0 < sum(x.assistant_physicians for x in clinics) < 0.15 * physicians


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=10**6),
       st.lists(st.floats(min_value=0.01, max_value=100), min_size=1, max_size=40))
def test_largest_remainder_splits_a_total_exactly(total, weights):
    parts = county_mod.largest_remainder(total, weights)
    assert sum(parts) == total
    s = sum(weights)
    assert all(abs(p - total * w / s) < 1 for p, w in zip(parts, weights, strict=True))


# --- the built county --------------------------------------------------------------------------------
def test_built_county_has_11_townships_236_villages_and_the_summary_says_so(db, built):
    summary = built[1]
    levels = dict(db.execute(select(OrgUnit.level, func.count()).group_by(OrgUnit.level)).all())
    assert levels == {"county": 1, "township": 11, "village": 236}
    assert (summary.townships, summary.villages, summary.facilities, summary.residents) == (11, 236, 251, N)
    assert summary.households == db.scalar(select(func.count()).select_from(Household))
    names = {u.name: u.code for u in db.scalars(select(OrgUnit).where(OrgUnit.level == "township"))}
    assert set(names) == set(TOWNSHIPS)


def test_capacity_is_written_for_every_facility_now_and_a_year_before(db, built):
    summary = built[1]
    facilities = list(db.scalars(select(Facility)))
    assert sum(f.beds_open for f in facilities) == summary.beds == county_mod.capacity_totals(N)[0]
    assert sum(f.physicians + f.assistant_physicians for f in facilities) == summary.physicians
    days = Counter(db.scalars(select(FacilityCapacity.as_of)))
    assert days == {date(2025, 12, 31): len(facilities), date(2024, 12, 31): len(facilities)}
    current = {c.facility_id: c for c in db.scalars(select(FacilityCapacity)
                                                    .where(FacilityCapacity.as_of == date(2025, 12, 31)))}
    assert all(current[f.id].beds_open == f.beds_open and current[f.id].physicians == f.physicians
               for f in facilities)


def test_same_seed_builds_the_same_residents_and_another_seed_does_not(built):
    first, other_seed, again = built[2]
    assert len(first) == N
    assert first == again
    assert [r[:2] for r in first] != [r[:2] for r in other_seed]


def test_every_identity_number_is_valid_unique_and_matches_birth_date_and_sex(db):
    residents = _residents(db)
    numbers = [r.id_number for r in residents]
    assert len(set(numbers)) == len(numbers) == N
    for r in residents:
        parsed = parse_id_number(r.id_number)
        assert parsed.normalized == r.id_number
        assert (parsed.birth_date, parsed.sex) == (r.birth_date, r.sex)
    divisions = Counter(n[:6] for n in numbers)
    assert divisions["421124"] / N > 0.9
    assert len(divisions) > 1, "some residents were born elsewhere"


def test_birth_dates_are_never_after_the_reference_date(db):
    latest = db.scalar(select(func.max(Resident.birth_date)))
    assert latest <= builder.reference_date() < clock.today()


def test_ages_follow_the_census_pyramid(db):
    ref = builder.reference_date()
    ages = [census.age_on(r.birth_date, ref) for r in _residents(db)]
    for g in census.age_groups():
        share = sum(g.lo <= a <= g.hi for a in ages) / N
        assert abs(share - g.share) < 2 / N, g.label
    males = sum(r.sex == "male" for r in _residents(db))
    assert 0.49 <= males / N <= 0.53
    assert 0.21 <= census.share_between(60) <= 0.27, "a rural county is older than the nation (18.7 %)"


def test_every_household_has_exactly_one_head_and_its_members_live_in_its_village(db):
    households = {h.id: h for h in db.scalars(select(Household))}
    heads = Counter()
    for r in _residents(db):
        assert r.household_id in households
        assert r.village_code == households[r.household_id].village_code
        heads[r.household_id] += r.relation_to_head == "head"
    assert set(heads.values()) == {1}
    assert len(heads) == len(households)
    numbers = [h.number for h in households.values()]
    assert len(set(numbers)) == len(numbers)
    assert all(h.number.startswith(h.village_code) and h.address for h in households.values())


def test_households_have_a_realistic_size_and_consistent_ages(db):
    members = defaultdict(list)
    for r in _residents(db):
        members[r.household_id].append(r)
    assert 2.4 <= N / len(members) <= 3.0
    ref = builder.reference_date()
    for group in members.values():
        head = next(r for r in group if r.relation_to_head == "head")
        h_age = census.age_on(head.birth_date, ref)
        assert h_age >= 18 or len(group) == 1 or all(r.relation_to_head in ("head", "other") for r in group)
        for r in group:
            age = census.age_on(r.birth_date, ref)
            if r.relation_to_head == "spouse":
                assert abs(age - h_age) <= 10 and r.sex != head.sex
            elif r.relation_to_head == "parent":
                assert 18 <= age - h_age <= 45
            elif r.relation_to_head in ("son", "daughter"):
                assert 16 <= h_age - age <= 50
            elif r.relation_to_head == "grandchild":
                assert h_age - age >= 40


def test_children_mostly_share_the_householders_surname_and_know_their_mother(db):
    residents = {r.id: r for r in _residents(db)}
    heads = {r.household_id: r for r in residents.values() if r.relation_to_head == "head"}
    children = [r for r in residents.values() if r.relation_to_head in ("son", "daughter")
                and heads[r.household_id].sex == "male"]
    same = sum(r.name[0] == heads[r.household_id].name[0] for r in children)
    assert same / len(children) > 0.9
    with_mother = [r for r in children if r.mother_id]
    assert len(with_mother) / len(children) > 0.7
    for r in with_mother:
        mother = residents[r.mother_id]
        assert mother.sex == "female" and mother.household_id == r.household_id
        assert 17 <= (r.birth_date - mother.birth_date).days / 365.25 <= 51


def test_name_keys_are_the_residents_services_pinyin(db):
    for r in _residents(db)[:400]:
        assert (r.name_initials, r.name_pinyin) == residents_service.pinyin_keys(r.name)
        assert 2 <= len(r.name) <= 4


def test_most_adults_have_a_valid_mobile_and_children_none(db):
    ref = builder.reference_date()
    adults = [r for r in _residents(db) if 18 <= census.age_on(r.birth_date, ref) < 70]
    assert sum(r.phone is not None for r in adults) / len(adults) > 0.85
    for r in _residents(db):
        if r.phone:
            assert len(r.phone) == 11 and r.phone[0] == "1" and r.phone[1] in "3456789" and r.phone.isdigit()
        if census.age_on(r.birth_date, ref) < 16:
            assert r.phone is None


def test_insurance_and_special_groups_come_at_plausible_rates(db):
    residents = _residents(db)
    schemes = Counter(r.insurance_scheme for r in residents)
    assert schemes["resident"] / N > 0.9
    assert 0.02 <= schemes["employee"] / N <= 0.07
    assert schemes["none"] / N <= 0.03
    groups = Counter(db.scalars(select(ResidentGroup.group)))
    assert 0.04 <= groups["lifted_from_poverty"] / N <= 0.13
    assert 0.01 <= groups["min_living"] / N <= 0.06
    assert groups["monitored"] / N <= 0.03
    assert 1 <= groups["extreme_poverty"] <= 0.015 * N
    assert set(groups) <= set(residents_service.groups())


def test_the_65_and_over_group_is_exactly_the_residents_aged_65_at_the_reference_date(db):
    ref = builder.reference_date()
    elderly = set(db.scalars(select(ResidentGroup.resident_id).where(ResidentGroup.group == "elderly_65")))
    assert elderly == {r.id for r in _residents(db) if census.age_on(r.birth_date, ref) >= 65}
    assert 0.14 <= len(elderly) / N <= 0.22


@pytest.mark.parametrize(("username", "role", "scope_level"), [
    ("cunyi", "village_doctor", "village"), ("xiangzhen", "township_doctor", "township"),
    ("xianyi", "county_doctor", "county"), ("weijianju", "bureau_admin", "county"), ("jikong", "cdc_staff", "county"), ("admin", "sysadmin", "county"),
    ("anquan", "security_admin", "county"), ("shenji", "audit_admin", "county"),
])
def test_demo_users_log_in_with_the_demo_password_and_their_roles_scope(db, username, role, scope_level):
    password, _, village = builder.demo_users()
    nested = db.begin_nested()
    try:
        user = accounts_service.authenticate(session=db, username=username, password=password)
        assert user.role == role
        # Demo accounts keep the printed password and need no second factor (never in production).
        assert user.is_demo and not user.must_change_password
        unit = db.get(OrgUnit, user.orgunit_code)
        assert unit.level == scope_level == accounts_service.roles()[role]["scope_level"]
        if role == "village_doctor":
            assert unit.code == village
            assert db.get(Facility, user.facility_id).orgunit_code == village
        if role == "township_doctor":
            assert unit.name == "温泉镇"
        if role == "county_doctor":
            assert db.get(Facility, user.facility_id).name == "英山县人民医院"
    finally:
        nested.rollback()


def test_demo_village_has_residents_to_search_for(db):
    _, _, village = builder.demo_users()
    assert db.scalar(select(func.count()).select_from(Resident).where(Resident.village_code == village)) > 0


def test_a_resident_registered_after_the_build_gets_a_fresh_id(db):
    nested = db.begin_nested()
    try:
        _, _, village = builder.demo_users()
        r = residents_service.create(session=db, actor=Actor.system("test"), resident_in=build(residents_service.ResidentCreate, dict(
            name="测试新生", sex="female", birth_date="2026-01-02", village_code=village)))
        assert r.id > db.scalar(select(func.max(Resident.id)).where(Resident.id != r.id))
    finally:
        nested.rollback()


def test_building_into_a_database_that_is_not_empty_is_refused(db):
    with pytest.raises(InvalidState):
        builder.build(session=db, residents=100, seed=1)


def test_a_county_without_residents_is_refused(db):
    # Uses the module's connection: on SQLite a second connection would wait for its write lock.
    before = db.scalar(select(func.count()).select_from(OrgUnit))
    with pytest.raises(InvalidInput) as exc:
        builder.build(session=db, residents=0, seed=1)
    assert exc.value.field == "residents"
    assert db.scalar(select(func.count()).select_from(OrgUnit)) == before
