"""The demo county's immunization: 14 vaccination points, lots and stock that add up, every child's history
accepted by the engine with about 95 % of doses on time and none outside birth..reference date, a few
children behind and a few refusals, AEFI, certificates for children under 7, and newborns registered
through the bundle with hand-offs in various states. Built once for the module (rolled back at the end);
the same seed is built again, and another seed once, inside savepoints, to check determinism."""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import savepoint_sessions
from weijian.demo import builder
from weijian.demo import immunization as demo_imm
from weijian.immunization.models import (
    Aefi,
    BirthRegistration,
    Handoff,
    Refusal,
    StockBalance,
    StockMovement,
    Vaccination,
    VaccinationCertificate,
    VaccinationPoint,
    VaccineLot,
)
from weijian.immunization.schedule import engine
from weijian.immunization.stock import queries as stock_queries
from weijian.orgunits.models import Facility
from weijian.residents.models import Resident

N = 3000
SEED = 11
REF = builder.reference_date()


def _snapshot(session: Session) -> list[tuple]:
    return list(session.execute(
        select(Vaccination.resident_id, Vaccination.vaccine, Vaccination.dose, Vaccination.date, Vaccination.source,
               Vaccination.lot_number, Vaccination.point_id).order_by(Vaccination.id)))


@pytest.fixture(scope="module")
def built(engine):
    """(session, summary, snapshots of the same seed twice and of another seed)."""
    conn = engine.connect()
    trans = conn.begin()
    session = savepoint_sessions(conn)()
    snapshots = []
    try:
        for seed in (SEED, SEED + 1):
            nested = session.begin_nested()
            builder.build(session=session, residents=N, seed=seed, care=False, reference=REF)
            snapshots.append(_snapshot(session))
            nested.rollback()
        summary = builder.build(session=session, residents=N, seed=SEED, care=False, reference=REF)
        snapshots.append(_snapshot(session))
        yield session, summary.immunization, snapshots
    finally:
        session.close()
        trans.rollback()
        conn.close()


@pytest.fixture(scope="module")
def histories(built):
    """Per child under 18 (newborns of the bundle included): (birth date, [GivenDose])."""
    db = built[0]
    births = dict(db.execute(select(Resident.id, Resident.birth_date).where(
        Resident.birth_date > date(REF.year - 18, REF.month, REF.day))).tuples().all())
    given: dict[int, list[engine.GivenDose]] = defaultdict(list)
    for rid, code, n, day in db.execute(select(Vaccination.resident_id, Vaccination.vaccine, Vaccination.dose,
                                               Vaccination.date)):
        given[rid].append(engine.GivenDose(code, n, day))
    return {rid: (birth, given.get(rid, [])) for rid, birth in births.items()}


def test_the_same_seed_builds_the_same_histories_and_another_seed_does_not(built):
    first, other, again = built[2]
    assert first == again and len(first) > 10_000
    assert first != other


def test_there_are_14_points_serving_their_townships(built):
    db = built[0]
    points = db.execute(select(VaccinationPoint, Facility).join(Facility, Facility.id == VaccinationPoint.facility_id)
                        ).tuples().all()
    assert len(points) == built[1].points == 14
    types = Counter(f.type for _p, f in points)
    assert types == {"township_centre": 11, "county_mch": 1, "county_general": 1, "cdc": 1}
    seat = next(f.orgunit_code for _p, f in points if f.type == "township_centre" and f.name.endswith("中心卫生院"))
    for p, f in points:
        assert p.serves_orgunit_code == (f.orgunit_code if f.type == "township_centre" else seat)
        assert p.name.startswith(f.name) and p.active


def test_every_history_is_accepted_by_the_engine_and_about_95_percent_of_doses_are_on_time(histories):
    on_time = total = 0
    for birth, given in histories.values():
        for row in engine.due(birth, given, REF):  # refuses a bad history (InvalidInput)
            if row.status == engine.GIVEN:
                total += 1
                on_time += row.given_date < row.overdue_date
    assert total > 10_000
    assert 0.92 <= on_time / total <= 0.98, on_time / total


def test_no_dose_is_before_birth_or_after_the_reference_date(histories):
    for birth, given in histories.values():
        assert all(birth <= g.date <= REF for g in given)


def test_most_children_are_up_to_date_and_a_few_are_behind(histories, built):
    behind = 0
    for birth, given in histories.values():
        rows = engine.due(birth, given, REF)
        behind += any(r.status == engine.OVERDUE for r in rows)
    assert 0 < behind < 0.12 * len(histories)
    assert built[1].behind > 0


def test_older_doses_are_copied_from_paper_and_newer_ones_recorded_with_a_lot(built):
    db = built[0]
    start = demo_imm.load()["system_start"]
    rows = db.execute(select(Vaccination, VaccineLot).outerjoin(VaccineLot, VaccineLot.id == Vaccination.lot_id)).all()
    sources = Counter(v.source for v, _lot in rows)
    assert sources["historical"] > 0 and sources["recorded"] > 0
    for v, lot in rows:
        if v.source == "historical":
            assert v.date < start and v.lot_id is None
        else:
            assert v.date >= start and lot is not None and lot.vaccine == v.vaccine
            assert lot.expiry_date >= v.date, "a lot used after its expiry"
            assert (v.lot_number, v.manufacturer, v.expiry_date) == (lot.lot_number, lot.manufacturer, lot.expiry_date)
            assert v.point_id is not None and v.vaccinator_name and v.site and v.route


def test_stock_never_goes_negative_and_the_movements_add_up_to_the_balances(built):
    db = built[0]
    balances = {(b.point_id, b.lot_id): b.quantity for b in db.scalars(select(StockBalance))}
    assert balances and min(balances.values()) >= 0
    running: dict[tuple[int, int], int] = defaultdict(int)
    for m in db.scalars(select(StockMovement).order_by(StockMovement.at, StockMovement.id)):
        running[m.point_id, m.lot_id] += m.quantity
        assert running[m.point_id, m.lot_id] >= 0, m
    assert dict(running) == {k: v for k, v in balances.items() if v or k in running}
    uses = db.execute(select(StockMovement, Vaccination).join(Vaccination, Vaccination.id == StockMovement.vaccination_id)
                      .where(StockMovement.kind == "use")).tuples().all()
    assert uses and all((v.point_id, v.lot_id) == (m.point_id, m.lot_id) for m, v in uses)


def test_some_lots_expire_within_30_days_and_some_points_run_low(built):
    db = built[0]
    kinds = Counter(f.kind for p in db.scalars(select(VaccinationPoint)) for f in stock_queries.flags(
        session=db, point_id=p.id, today=REF))
    assert kinds["expiring"] > 0 and kinds["low_stock"] > 0 and kinds["expired"] == 0
    held = db.execute(select(VaccineLot.expiry_date).join(StockBalance, StockBalance.lot_id == VaccineLot.id)
                      .where(StockBalance.quantity > 0)).scalars().all()
    assert min(held) > REF and any(day <= REF + timedelta(days=30) for day in held)


def test_a_few_refusals_and_aefi_reports(built):
    db, summary = built[0], built[1]
    refusals = db.scalars(select(Refusal)).all()
    assert refusals and summary.refusals <= len(refusals) < 0.02 * summary.children + 5
    for r in refusals:
        assert not db.scalar(select(Vaccination.id).where(Vaccination.resident_id == r.resident_id,
                                                          Vaccination.vaccine == r.vaccine,
                                                          Vaccination.dose == r.dose))
    aefi = db.execute(select(Aefi, Vaccination).join(Vaccination, Vaccination.id == Aefi.vaccination_id)).tuples().all()
    assert len(aefi) == summary.aefi >= 3
    for a, v in aefi:
        assert a.resident_id == v.resident_id and v.source == "recorded" and v.date <= a.onset_date <= REF
        assert a.severity in ("mild", "moderate", "severe")


def test_children_under_7_hold_a_certificate(built):
    db = built[0]
    under7 = set(db.scalars(select(Resident.id).where(Resident.birth_date > date(REF.year - 7, REF.month, REF.day))))
    holders = list(db.execute(select(VaccinationCertificate.resident_id, VaccinationCertificate.number)).tuples())
    assert {rid for rid, _n in holders} == under7
    assert len({n for _rid, n in holders}) == len(holders) and all(len(n) == 18 for _r, n in holders)


def test_newborns_are_registered_through_the_bundle_with_hand_offs_in_various_states(built):
    db, summary = built[0], built[1]
    births = db.scalars(select(BirthRegistration)).all()
    assert len(births) == summary.newborns >= 3
    for b in births:
        child = db.get(Resident, b.child_id)
        mother = db.get(Resident, b.mother_id)
        assert child.mother_id == mother.id and child.household_id == mother.household_id and child.id_number is None
        assert REF - timedelta(days=60) <= child.birth_date < REF
        doses = {v.vaccine for v in db.scalars(select(Vaccination).where(Vaccination.resident_id == child.id))}
        skipped = {r.vaccine for r in db.scalars(select(Refusal).where(Refusal.resident_id == child.id))}
        assert doses | skipped == {"HepB", "BCG"} and "HepB" in doses
        assert db.scalar(select(VaccinationCertificate.id).where(VaccinationCertificate.resident_id == child.id))
    states = Counter(h.status for h in db.scalars(select(Handoff)))
    assert sum(states.values()) == 3 * len(births) and len(states) >= 2
    drawn = db.scalar(select(func.count()).select_from(Resident)) - len(births)
    assert drawn == N
