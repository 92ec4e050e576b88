"""The demo built on a later reference date (as `weijian demo-data` does on today's date): ages, the care
and the children's vaccinations are taken on it and run up to it (no one seen before birth, nothing dated
after the reference), and every child's history is accepted by the engine."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests.conftest import savepoint_sessions
from weijian.care.models import Encounter
from weijian.core import clock
from weijian.core.errors import InvalidInput
from weijian.demo import builder
from weijian.demo import care as demo_care
from weijian.immunization.models import Vaccination
from weijian.immunization.recall import queries as recall
from weijian.immunization.schedule import engine
from weijian.residents.models import Resident

N = 1500
SEED = 3
LATER = date(2026, 10, 14)  # a Wednesday, months after the data file's 2026-06-30 (and before today)


@pytest.fixture(scope="module")
def db(engine):
    conn = engine.connect()
    trans = conn.begin()
    session = savepoint_sessions(conn)()
    try:
        summary = builder.build(session=session, residents=N, seed=SEED, reference=LATER)
        session.info["summary"] = summary
        yield session
    finally:
        session.close()
        trans.rollback()
        conn.close()


def test_residents_are_born_up_to_the_reference_date(db):
    latest = db.scalar(select(func.max(Resident.birth_date)))
    assert builder.reference_date() < latest <= LATER


def test_care_runs_up_to_the_reference_date_and_no_one_is_seen_before_birth(db):
    care = db.info["summary"].care
    assert (care.first, care.last) == demo_care.window(LATER) == (date(2024, 10, 15), LATER)
    first, last = db.execute(select(func.min(Encounter.start_date), func.max(Encounter.start_date))).one()
    assert (first, last) == (care.first, LATER)
    seen_before_birth = db.scalar(select(func.count()).select_from(Encounter)
                                  .join(Resident, Resident.id == Encounter.resident_id)
                                  .where(Encounter.start_date < Resident.birth_date))
    assert seen_before_birth == 0


def test_vaccinations_run_up_to_the_reference_date_and_the_engine_accepts_every_history(db):
    births = dict(db.execute(select(Resident.id, Resident.birth_date)
                             .where(Resident.birth_date > date(LATER.year - 18, LATER.month, LATER.day))).tuples().all())
    given: dict[int, list[engine.GivenDose]] = defaultdict(list)
    for rid, code, n, day in db.execute(select(Vaccination.resident_id, Vaccination.vaccine, Vaccination.dose,
                                               Vaccination.date)):
        given[rid].append(engine.GivenDose(code, n, day))
    latest = max(g.date for h in given.values() for g in h)
    assert builder.reference_date() < latest <= LATER
    overdue = 0
    for rid, birth in births.items():
        rows = engine.due(birth, given.get(rid, []), LATER)  # InvalidInput for a bad history
        overdue += sum(r.status == engine.OVERDUE for r in rows)
    # A living county: most children are up to date on the reference date, not everyone due since July overdue.
    children = sum(1 for b in births.values() if (LATER - b).days < 7 * 365)
    assert overdue < children * 0.5, (overdue, children)


def test_the_weeks_recall_list_on_the_reference_date_has_children_due(db):
    from weijian.core.actor import Actor
    r = recall.recall_list(session=db, actor=Actor.system("t"), week_start=LATER, orgunit_code=None)
    assert r.children and any(d.status == engine.DUE for c in r.children for d in c.doses)


@pytest.mark.parametrize("reference", [date(2025, 12, 31), clock.today() + timedelta(days=1)])
def test_a_reference_date_before_the_data_files_or_after_today_is_refused(db, reference):
    with pytest.raises(InvalidInput) as exc:
        builder.build(session=db, residents=100, seed=1, reference=reference)
    assert exc.value.field == "reference_date"


def test_the_running_tallies_count_the_whole_demo_county(db):
    """The demo is written in bulk with the tallies suspended, then counted once: they must agree with
    the records, and be in use (fresh) for the dashboard."""
    from weijian.core import tallies

    assert tallies.fresh(db) == set(tallies.sources())
    assert tallies.check(db) == []
