"""The demo's TB patients (demo/tb.py): about one under treatment per 2,500 residents, doses up to the day
before the reference date and none after, follow-ups at the rules' intervals, treatments ended with an
outcome, and the demo village doctor's worklist with doses due today and one first visit due."""
from __future__ import annotations

from datetime import time, timedelta

import pytest
from sqlalchemy import func, select

from tests.conftest import savepoint_sessions
from weijian.accounts import service as accounts_service
from weijian.accounts.models import User
from weijian.core import clock
from weijian.demo import builder
from weijian.residents.models import Resident
from weijian.surveillance.tb import service as tb
from weijian.surveillance.tb.models import TbDose, TbFirstVisit, TbFollowUp, TbTreatment

N = 5000
SEED = 7


@pytest.fixture(scope="module")
def built(engine):
    reference = clock.today()
    conn = engine.connect()
    trans = conn.begin()
    session = savepoint_sessions(conn)()
    try:
        summary = builder.build(session=session, residents=N, seed=SEED, immunization=False, settlement=False,
                                reference=reference)
        yield session, summary, reference
    finally:
        session.close()
        trans.rollback()
        conn.close()


def test_about_one_patient_per_2500_residents_is_under_treatment(built):
    db, summary, _ = built
    active = db.scalar(select(func.count()).select_from(Resident).where(Resident.status == "active"))
    under = db.scalar(select(func.count()).select_from(TbTreatment).where(TbTreatment.outcome.is_(None)))
    assert under == summary.tb.under_treatment == max(2, round(active / 2500))
    ended = db.scalars(select(TbTreatment).where(TbTreatment.outcome.is_not(None))).all()
    assert len(ended) == summary.tb.ended >= 1
    assert all(t.outcome in tb.rules().outcomes and t.outcome_on >= t.start_date for t in ended)


def test_doses_run_from_the_start_to_the_day_before_the_reference_date(built):
    db, summary, reference = built
    rows = db.execute(select(TbDose.date, TbTreatment.start_date, TbTreatment.outcome_on)
                      .join(TbTreatment, TbTreatment.id == TbDose.treatment_id)).all()
    assert len(rows) == summary.tb.doses > 0
    assert all(start <= on < reference and (end is None or on <= end) for on, start, end in rows)
    for t in db.scalars(select(TbTreatment).where(TbTreatment.outcome.is_(None))):
        n = db.scalar(select(func.count()).select_from(TbDose).where(TbDose.treatment_id == t.id))
        assert n == (reference - t.start_date).days  # every day up to yesterday recorded
    fus = db.execute(select(TbFollowUp.date, TbFollowUp.next_due)).all()
    assert fus and all(d < reference and nd > d for d, nd in fus)


def test_the_demo_village_doctor_has_doses_due_today_and_a_first_visit_due(built):
    db, summary, reference = built
    assert summary.tb.first_visits_due == 1
    user = db.scalars(select(User).where(User.username == "cunyi")).one()
    actor = accounts_service.actor_for(user)
    w = tb.worklist_section(session=db, actor=actor, now=clock.at(reference, time(10)))
    assert len(w.doses) >= 2 and all(i.dose_today is None for i in w.doses)
    assert [i.overdue for i in w.first_visits] == [False]
    visit = db.scalars(select(TbFirstVisit).where(TbFirstVisit.done_at.is_(None))).one()
    t = db.get(TbTreatment, visit.treatment_id)
    assert visit.due_at == t.notified_at + timedelta(hours=72)
