"""The demo county's care (demo/care.py), built on the data file's reference date 2026-06-30 (a reference
in mid-year: the 24 months from 2024-07-01): counts scaled to the number of residents and the months, the
shares the issue asks for, rules every row keeps, and determinism. tests/demo/test_current_demo.py builds
one on a December reference date and checks the worklist, recall list and pages on it.

One small county is built once for the module (in a transaction rolled back at the end); the same seed
is built once more and another seed once, each inside a savepoint, to check determinism. Every test
reads through that one connection (a second connection would wait for the module's write lock).
"""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import savepoint_sessions
from weijian.care import icd10
from weijian.care.chronic import service as chronic
from weijian.care.models import (
    ChronicRegistration,
    Diagnosis,
    Encounter,
    FollowUp,
    HealthCheck,
    Referral,
    Screening,
    Teleconsultation,
)
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.demo import builder
from weijian.demo import care as demo_care
from weijian.demo.census import age_on
from weijian.orgunits.models import Facility
from weijian.residents.models import Resident

N = 2000
SEED = 5
REFERENCE = builder.reference_date()
FIRST, LAST = demo_care.window(REFERENCE)  # 2024-07-01 .. 2026-06-30
MID = FIRST + timedelta(days=(LAST - FIRST).days // 2)  # the day ages are weighted on
YEAR = demo_care.last_full_year(REFERENCE)  # 2025: a whole calendar year inside the window
YEAR_START, YEAR_END = date(YEAR, 1, 1), date(YEAR, 12, 31)
TIER = {"village_clinic": 1, "township_centre": 2, "community_centre": 2, "county_general": 3, "county_tcm": 3,
        "county_mch": 3}
STATES = {"requested", "accepted", "rejected", "arrived", "completed", "cancelled"}


# Columns left out of the comparison: the build's time, and user ids (PostgreSQL's sequences do not roll
# back with a savepoint; the clinician's name is compared instead).
VOLATILE = {"created_at", "clinician_id", "from_clinician_id", "requester_id", "specialist_id"}


def _snapshot(session: Session) -> dict[str, list[tuple]]:
    """Every care row but its volatile columns."""
    def rows(model) -> list[tuple]:
        cols = [c for c in model.__table__.c if c.name not in VOLATILE]
        return [tuple(r) for r in session.execute(select(*cols).order_by(model.id))]

    return {m.__tablename__: rows(m) for m in (Encounter, Diagnosis, ChronicRegistration, FollowUp, HealthCheck,
                                               Screening, Referral, Teleconsultation)}


@pytest.fixture(scope="module")
def built(engine):
    """(session, summary, snapshots): the county built with SEED, plus snapshots of one more build with
    SEED and one with SEED + 1 (each rolled back to a savepoint)."""
    conn = engine.connect()
    trans = conn.begin()
    session = savepoint_sessions(conn)()
    snapshots = []
    try:
        for seed in (SEED, SEED + 1):
            nested = session.begin_nested()
            builder.build(session=session, residents=N, seed=seed, immunization=False, reference=REFERENCE)
            snapshots.append(_snapshot(session))
            nested.rollback()
        summary = builder.build(session=session, residents=N, seed=SEED, immunization=False, reference=REFERENCE)
        snapshots.append(_snapshot(session))
        yield session, summary, snapshots
    finally:
        session.close()
        trans.rollback()
        conn.close()


@pytest.fixture()
def db(built) -> Session:
    return built[0]


@pytest.fixture()
def residents(db) -> dict[int, Resident]:
    return {r.id: r for r in db.scalars(select(Resident))}


@pytest.fixture()
def tiers(db) -> dict[int, int]:
    return {f.id: TIER.get(f.type, 0) for f in db.scalars(select(Facility))}


def _encounters(db: Session, kind: str | None = None) -> list[Encounter]:
    stmt = select(Encounter).order_by(Encounter.id)
    if kind:
        stmt = stmt.where(Encounter.type == kind)
    return list(db.scalars(stmt))


# --- counts ----------------------------------------------------------------------------------------
def test_the_window_is_the_24_months_that_end_on_the_reference_date(built):
    care = built[1].care
    assert (care.first, care.last) == (FIRST, LAST) == (date(2024, 7, 1), REFERENCE)
    assert demo_care.window(date(2026, 12, 7)) == (date(2024, 12, 8), date(2026, 12, 7))
    assert demo_care.window(date(2028, 2, 29)) == (date(2026, 3, 1), date(2028, 2, 29))
    assert (YEAR, demo_care.last_full_year(date(2026, 12, 31))) == (2025, 2026)


def test_counts_are_the_issues_yearly_figures_for_two_years_scaled_to_the_number_of_residents(db, built):
    care = built[1].care
    kinds = Counter(e.type for e in _encounters(db))
    # 40,000 residents, a year: ~100,000 visits, 6,000 stays, some hundreds of referrals; 4,000 hypertension
    # patients (people: the same number whatever the months).
    assert kinds["outpatient"] == care.outpatient and 2 * 2.4 * N <= care.outpatient <= 2 * 2.6 * N
    assert kinds["inpatient"] == care.inpatient and 2 * 0.14 * N <= care.inpatient <= 2 * 0.16 * N
    assert kinds["day_surgery"] == care.day_surgery > 0
    programs = Counter(db.scalars(select(ChronicRegistration.program)))
    assert programs["hypertension"] == care.hypertension == round(0.1 * N)
    assert 0.03 * N <= programs["diabetes"] == care.diabetes <= 0.045 * N
    directions = Counter(db.scalars(select(Referral.direction)))
    assert directions["up"] == care.referrals_up and directions["down"] == care.referrals_down
    assert 2 * 0.005 * N <= care.referrals_up + care.referrals_down <= 2 * 0.02 * N  # 200–800 a year for 40,000
    assert care.teleconsultations == len(list(db.scalars(select(Teleconsultation.id)))) > 0
    # The whole year inside the window has a year's worth.
    year = Counter(e.type for e in _encounters(db) if YEAR_START <= e.start_date <= YEAR_END)
    assert 2.3 * N <= year["outpatient"] <= 2.7 * N and 0.13 * N <= year["inpatient"] <= 0.17 * N


def test_planned_counts_are_the_yearly_rates_times_the_months_and_scale_linearly():
    year, window = demo_care.planned_counts(40_000, months=12), demo_care.planned_counts(40_000)
    assert year["outpatient"] == 100_000 and year["inpatient"] == 6_000 and year["hypertension"] == 4_000
    assert window["outpatient"] == 200_000 and window["inpatient"] == 12_000 and window["hypertension"] == 4_000
    large = demo_care.planned_counts(400_000)
    for kind, count in window.items():
        assert large[kind] == 10 * count, kind


def test_primary_care_share_of_outpatient_visits_is_near_65_percent(db, tiers):
    visits = _encounters(db, "outpatient")
    primary = sum(tiers[e.facility_id] in (1, 2) for e in visits)
    assert all(e.facility_id is not None for e in visits)
    assert 0.60 <= primary / len(visits) <= 0.70


def test_county_retention_rate_of_inpatient_stays_is_near_90_percent(db, tiers):
    stays = _encounters(db, "inpatient")
    outside = [e for e in stays if e.facility_id is None]
    assert all(e.outside_facility_name for e in outside)
    assert all(tiers[e.facility_id] in (2, 3) for e in stays if e.facility_id is not None)
    assert 0.85 <= 1 - len(outside) / len(stays) <= 0.95


def test_small_children_and_the_elderly_visit_more_often(db, residents):
    visits = Counter(e.resident_id for e in _encounters(db, "outpatient"))
    per_band: dict[str, list[int]] = defaultdict(list)
    for r in residents.values():
        age = age_on(r.birth_date, MID)
        band = "child" if 0 <= age <= 4 else "young" if 15 <= age <= 34 else "elder" if age >= 65 else None
        if band:
            per_band[band].append(visits.get(r.id, 0))
    mean = {b: sum(v) / len(v) for b, v in per_band.items()}
    assert mean["child"] > 1.5 * mean["young"] and mean["elder"] > 1.5 * mean["young"]


# --- rules every row keeps --------------------------------------------------------------------------
def test_every_diagnosis_code_is_in_the_icd10_list(db):
    written = (set(db.scalars(select(Diagnosis.code))) | set(db.scalars(select(Encounter.primary_diagnosis)))
               | set(db.scalars(select(Referral.diagnosis))))
    assert written and written <= demo_care.codes_used()
    for code in demo_care.codes_used():
        assert icd10.get(code) is not None and icd10.get(code).code == code, code


def test_each_encounter_has_its_primary_diagnosis_first(db):
    firsts = {d.encounter_id: d.code for d in db.scalars(select(Diagnosis).where(Diagnosis.seq == 1))}
    for e in _encounters(db):
        assert firsts[e.id] == e.primary_diagnosis


def test_records_span_the_window_and_nothing_is_dated_after_the_reference_date(db):
    visits = [e.start_date for e in _encounters(db, "outpatient")]
    assert (min(visits), max(visits)) == (FIRST, LAST)
    for model, column in ((Encounter, Encounter.start_date), (Encounter, Encounter.end_date),
                          (FollowUp, FollowUp.date), (HealthCheck, HealthCheck.date), (Screening, Screening.date),
                          (ChronicRegistration, ChronicRegistration.closed_on)):
        first, last = db.execute(select(func.min(column), func.max(column))).one()
        assert first >= FIRST and last <= LAST, (model.__tablename__, column.key, first, last)
    # Follow-ups, checks and stays up to the last days.
    assert db.scalar(select(func.max(FollowUp.date))) >= LAST - timedelta(days=3)
    assert db.scalar(select(func.max(Encounter.end_date))) >= LAST - timedelta(days=7)
    cutoff = clock.at(LAST)  # what has a time happened before the reference day began
    for r in db.scalars(select(Referral)):
        assert max(t for t in (r.requested_at, r.responded_at, r.arrived_at, r.completed_at) if t) < cutoff
    for c in db.scalars(select(Teleconsultation)):
        assert c.requested_at < cutoff and (c.answered_at is None or c.answered_at < cutoff)
        assert c.scheduled_at is None or clock.local_date(c.scheduled_at) <= LAST  # an appointment: today at the latest


def test_discharge_is_on_or_after_admission_and_stays_last_3_to_12_days(db):
    for e in _encounters(db):
        assert FIRST <= e.start_date <= LAST
        if e.type == "inpatient":
            assert e.end_date is not None and e.end_date >= e.start_date
            assert 3 <= (e.end_date - e.start_date).days <= 12
            assert e.end_date <= REFERENCE
        elif e.type == "day_surgery":
            assert e.end_date == e.start_date
        else:
            assert e.end_date is None


def test_no_one_is_seen_before_birth(db, residents):
    for e in _encounters(db):
        assert e.start_date >= residents[e.resident_id].birth_date


def test_costs_are_to_the_fen_with_in_policy_within_the_total(db):
    bounds = {"outpatient": (30, 300), "inpatient": (2000, 30000), "day_surgery": (1500, 8000)}
    for e in _encounters(db):
        for amount in (e.total_cost, e.in_policy_cost):
            assert isinstance(amount, Decimal) and amount == amount.quantize(Decimal("0.01"))
        lo, hi = bounds[e.type]
        assert lo <= e.total_cost <= hi
        assert e.in_policy_cost <= e.total_cost
        assert Decimal("0.84") <= e.in_policy_cost / e.total_cost <= Decimal("0.95")


# --- chronic patients ---------------------------------------------------------------------------------
def test_chronic_patients_are_adults_35_and_over_more_often_the_older(db, residents):
    regs = list(db.scalars(select(ChronicRegistration)))
    ages = [age_on(residents[r.resident_id].birth_date, MID) for r in regs]
    assert min(ages) >= 35
    assert all(age_on(residents[r.resident_id].birth_date, r.registered_on) >= 35 for r in regs)
    ht = Counter(age_on(residents[r.resident_id].birth_date, MID) // 10 for r in regs
                 if r.program == "hypertension")
    people = Counter(age_on(r.birth_date, MID) // 10 for r in residents.values())
    rate = {decade: ht[decade] / people[decade] for decade in (3, 4, 5, 6) if people[decade]}
    assert rate[3] < rate[4] < rate[5] < rate[6]
    assert len({(r.resident_id, r.program) for r in regs}) == len(regs), "one registration per programme"


def test_follow_ups_are_within_the_window_after_registration_and_never_in_the_future(db):
    regs = {r.id: r for r in db.scalars(select(ChronicRegistration))}
    follow_ups = list(db.scalars(select(FollowUp)))
    assert follow_ups
    assert len({(f.registration_id, f.date) for f in follow_ups}) == len(follow_ups), "one a day"
    for f in follow_ups:
        reg = regs[f.registration_id]
        assert f.resident_id == reg.resident_id
        assert f.date <= REFERENCE and FIRST <= f.date <= LAST
        assert f.date > reg.registered_on
        assert reg.closed_on is None or f.date < reg.closed_on


def test_follow_ups_are_mostly_four_a_calendar_year_and_mostly_in_control(db, residents):
    regs = {r.id: r for r in db.scalars(select(ChronicRegistration).where(ChronicRegistration.program
                                                                         == "hypertension"))}
    face_to_face: Counter[int] = Counter()
    latest: dict[int, FollowUp] = {}
    for f in db.scalars(select(FollowUp).order_by(FollowUp.date, FollowUp.id)):
        if f.registration_id not in regs:
            continue
        # 规范 第三版: < 140/90, from 65 < 150/90 (care/data/chronic_programs.yaml).
        limit = 150 if age_on(residents[f.resident_id].birth_date, f.date) >= 65 else 140
        assert f.in_control == (f.sbp < limit and f.dbp < 90)
        if f.method != "phone" and YEAR_START <= f.date <= YEAR_END:
            face_to_face[f.registration_id] += 1
        latest[f.registration_id] = f
    managed = [r for r in regs.values() if r.status == "active"]
    full_year = [r for r in managed if r.registered_on < YEAR_START]
    four = sum(face_to_face[r.id] >= 4 for r in full_year) / len(full_year)
    assert 0.6 <= four <= 0.85
    controlled = sum(r.id in latest and latest[r.id].in_control for r in managed) / len(managed)
    # 60 % of patients mostly in control (care.yaml), and a recheck two weeks after a visit out of control
    # often finds control: the latest follow-up is in control for about three in four (0.755 with this
    # generator; the bound was 0.75 before the arrival visits shifted its random stream).
    assert 0.55 <= controlled <= 0.8


def test_10_to_20_percent_of_chronic_patients_are_overdue_on_the_mid_year_reference_date(db):
    """Status "overdue" of the worklist (care.chronic.schedule), on 2026-06-30; "due" is not counted."""
    items = chronic.due_follow_ups(session=db, actor=Actor.system("test"), as_of=REFERENCE)
    status = Counter(i.status for i in items)
    assert 0.10 <= status["overdue"] / len(items) <= 0.20, status
    assert max(i.last_follow_up for i in items if i.last_follow_up) >= REFERENCE - timedelta(days=3)


def test_diabetes_follow_ups_are_in_control_below_7_mmol(db):
    rows = list(db.execute(select(FollowUp.fasting_glucose, FollowUp.in_control)
                           .join(ChronicRegistration, ChronicRegistration.id == FollowUp.registration_id)
                           .where(ChronicRegistration.program == "diabetes")))
    assert rows
    assert all(g is not None and inc == (g < Decimal("7.0")) for g, inc in rows)


def test_registrations_in_the_window_come_from_a_visit_with_the_programmes_diagnosis(db):
    regs = list(db.scalars(select(ChronicRegistration).where(ChronicRegistration.registered_on >= FIRST)))
    assert regs and all(r.registered_on <= LAST - timedelta(days=30) for r in regs)
    for r in regs:
        assert r.source == "diagnosis" and r.encounter_id is not None
        visit = db.get(Encounter, r.encounter_id)
        assert visit.resident_id == r.resident_id and visit.start_date == r.registered_on
        assert icd10.chronic_program(visit.primary_diagnosis) == r.program


# --- checks and screenings ---------------------------------------------------------------------------
def test_about_70_percent_of_residents_65_and_over_have_their_annual_check_each_year(db, residents):
    checks = list(db.scalars(select(HealthCheck).where(HealthCheck.kind == "annual_65")))
    elderly = [r for r in residents.values() if age_on(r.birth_date, YEAR_END) >= 65]
    in_year = {c.resident_id for c in checks if YEAR_START <= c.date <= YEAR_END}
    assert 0.6 <= len(in_year) / len(elderly) <= 0.8
    assert len({(c.resident_id, c.date.year) for c in checks}) == len(checks), "one a calendar year"
    for c in checks:
        assert age_on(residents[c.resident_id].birth_date, c.date) >= 65
        assert FIRST <= c.date <= LAST
        height = float(c.height_cm) / 100
        assert abs(float(c.bmi) - float(c.weight_kg) / height ** 2) < 0.06


def test_two_cancer_screening_is_for_women_35_to_64_and_prenatal_for_mothers(db, residents):
    mothers = {r.mother_id for r in residents.values() if r.mother_id}
    kinds = Counter()
    for s in db.scalars(select(Screening)):
        kinds[s.kind] += 1
        person = residents[s.resident_id]
        assert person.sex == "female" and FIRST <= s.date <= LAST
        if s.kind in ("cervical", "breast"):
            assert 35 <= age_on(person.birth_date, s.date) <= 64
            assert s.result in ("negative", "abnormal", "positive")
        else:  # a mother's, or of a pregnancy under way on the reference date (its screening weeks have come)
            assert s.kind == "prenatal"
            assert s.resident_id in mothers or s.date > REFERENCE - timedelta(days=180)
            assert s.result in ("low_risk", "high_risk")
    assert kinds["cervical"] == kinds["breast"] > 0 and kinds["prenatal"] > 0
    # Every third year: at most one 两癌筛查 of a woman in 24 months.
    cervical = Counter(s.resident_id for s in db.scalars(select(Screening).where(Screening.kind == "cervical")))
    assert set(cervical.values()) == {1}


# --- referrals and consultations ---------------------------------------------------------------------
def _tier_to(r: Referral, tiers: dict[int, int]) -> int:
    return 4 if r.to_facility_id is None else tiers[r.to_facility_id]


def test_referral_directions_match_the_tiers(db, tiers):
    referrals = list(db.scalars(select(Referral)))
    assert {r.direction for r in referrals} == {"up", "down"}
    for r in referrals:
        origin, target = tiers[r.from_facility_id], _tier_to(r, tiers)
        assert origin in (1, 2, 3) and target in (1, 2, 3, 4)
        assert (target > origin) if r.direction == "up" else (target < origin), r.id
        assert r.out_of_county == (r.to_facility_id is None) == bool(r.outside_facility_name)


def test_out_of_county_referrals_leave_from_the_county_hospital_only(db, tiers):
    """Filing rules (医保发〔2022〕22号 经办规程 第八条): a patient goes out of the county through the county's
    referral institution; care/data/referrals.yaml `out_of_county_from_tiers: [county]`."""
    out = [r for r in db.scalars(select(Referral)) if r.out_of_county]
    assert out
    assert {tiers[r.from_facility_id] for r in out} == {3}


def test_referrals_are_in_every_state_with_times_in_order(db):
    referrals = list(db.scalars(select(Referral)))
    for direction in ("up", "down"):
        assert {r.status for r in referrals if r.direction == direction} == STATES
    for r in referrals:
        assert r.requested_at.tzinfo is not None and r.reason and r.summary
        times = [t for t in (r.requested_at, r.responded_at, r.arrived_at, r.completed_at) if t is not None]
        assert times == sorted(times)
        assert (r.responded_at is None) == (r.status == "requested")
        assert (r.arrived_at is not None) == (r.status in ("arrived", "completed"))
        assert (r.completed_at is not None) == (r.status == "completed")
        assert bool(r.reject_reason) == (r.status == "rejected")


def test_open_referrals_were_asked_in_the_days_before_the_reference_date(db):
    """Upward ones in its last `open_days` days; downward ones are the latest after a stay (the referral
    desk then shows some overdue, some not yet)."""
    requested = list(db.scalars(select(Referral).where(Referral.status == "requested")))
    assert {r.direction for r in requested} == {"up", "down"}
    open_days = demo_care.load()["referrals"]["open_days"]
    for r in requested:
        assert r.requested_at < clock.at(REFERENCE)
        if r.direction == "up":
            assert clock.at(REFERENCE - timedelta(days=open_days)) <= r.requested_at


def test_completed_upward_referrals_lead_to_the_stay_and_downward_ones_return_them(db, tiers):
    by_id = {r.id: r for r in db.scalars(select(Referral))}
    linked = {e.referral_id: e for e in _encounters(db, "inpatient") if e.referral_id}
    assert linked
    for rid, stay in linked.items():
        r = by_id[rid]
        assert r.direction == "up" and r.status in ("arrived", "completed") and r.resident_id == stay.resident_id
        assert r.to_facility_id == stay.facility_id and r.diagnosis == stay.primary_diagnosis
    for r in by_id.values():
        if r.parent_id is not None:
            parent = by_id[r.parent_id]
            assert r.direction == "down" and parent.direction == "up" and parent.status == "completed"
            assert parent.resident_id == r.resident_id and r.from_facility_id == parent.to_facility_id


def test_every_patient_who_arrived_on_a_referral_has_the_receiving_facilitys_encounter(db):
    """Issue 14 item 13 (a referral pathway that keeps the patient): arrival links or records the receiving
    facility's encounter (care.referrals.arrive), so the demo's arrived and completed referrals each have
    one, there, for that patient, from the day of arrival, and no encounter is linked to two referrals."""
    encounters = [e for e in _encounters(db) if e.referral_id is not None]
    by_referral = Counter(e.referral_id for e in encounters)
    assert set(by_referral.values()) == {1}
    linked = {e.referral_id: e for e in encounters}
    arrived = [r for r in db.scalars(select(Referral)) if r.status in ("arrived", "completed")
               and r.to_facility_id is not None]
    assert {r.direction for r in arrived} == {"up", "down"} and {r.status for r in arrived} == {"arrived",
                                                                                                "completed"}
    for r in arrived:
        e = linked[r.id]
        assert (e.resident_id, e.facility_id) == (r.resident_id, r.to_facility_id)
        assert e.start_date >= clock.local_date(r.requested_at)


def test_teleconsultations_go_from_primary_care_to_a_county_department_with_extracts(db, tiers):
    consultations = list(db.scalars(select(Teleconsultation)))
    assert consultations
    for c in consultations:
        assert tiers[c.from_facility_id] in (1, 2) and tiers[c.to_facility_id] == 3 and c.department
        assert (c.opinion is not None) == (c.status == "answered") == (c.answered_at is not None)
        for extract in json.loads(c.extracts):
            e = db.get(Encounter, extract["encounter_id"])
            assert e.resident_id == c.resident_id and e.start_date.isoformat() == extract["date"]


# --- determinism ----------------------------------------------------------------------------------------
def test_the_same_seed_builds_the_same_care(built):
    first, other, again = built[2]
    assert first == again
    assert first["encounters"] != other["encounters"]
