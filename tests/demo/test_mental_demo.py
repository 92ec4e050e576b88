"""The demo's severe mental illness patients (demo/mental.py): about 4 per 1,000 residents (the demo village's
doctor sees some whatever the draw), follow-ups up to the reference date and none after, each classified by
care.mental.rules with its next visit, a share overdue, and the demo village doctor's worklist with a patient
due this week and one overdue."""
from __future__ import annotations

from datetime import time

import pytest
from sqlalchemy import func, select

from tests.conftest import savepoint_sessions
from weijian.accounts import service as accounts_service
from weijian.accounts.models import User
from weijian.care import worklist
from weijian.care.mental import rules
from weijian.care.mental.models import MentalFollowUp, MentalPatient
from weijian.core import clock
from weijian.demo import builder
from weijian.residents.models import Resident

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


def test_about_four_patients_per_1000_residents_are_registered(built):
    db, summary, _ = built
    residents = db.scalar(select(func.count()).select_from(Resident))
    n = db.scalar(select(func.count()).select_from(MentalPatient))
    assert n == summary.mental.patients and round(residents * 4 / 1000) <= n <= round(residents * 4 / 1000) + 3


def test_follow_ups_run_up_to_the_reference_date_each_classified_by_the_rules(built):
    db, summary, reference = built
    rows = db.scalars(select(MentalFollowUp)).all()
    assert len(rows) == summary.mental.follow_ups > 0
    for f in rows[:500]:
        assert f.date <= reference
        assert f.klass == rules.classify(risk_grade=f.risk_grade, symptoms=f.symptoms, insight=f.insight,
                                         social_function=f.social_function,
                                         severe_adverse_reaction=f.severe_adverse_reaction,
                                         severe_physical_illness=f.severe_physical_illness)
        assert f.next_visit_on == rules.next_visit(f.klass, f.date)
    patients = db.scalars(select(MentalPatient)).all()
    overdue = [p for p in patients if p.next_visit_on is not None and p.next_visit_on < reference]
    assert len(overdue) == summary.mental.overdue and 0 < len(overdue) < len(patients) / 2


def test_the_demo_village_doctors_worklist_has_a_patient_due_and_one_overdue(built):
    db, _, reference = built
    user = db.scalar(select(User).where(User.username == "cunyi"))
    got = worklist.worklist(session=db, actor=accounts_service.actor_for(user),
                            now=clock.at(reference, time(9)), with_recall=False)
    assert got.mental is not None
    statuses = [i.due_status for i in got.mental]
    assert "overdue" in statuses and "due" in statuses
    assert statuses == sorted(statuses, key=lambda s: s != "overdue")  # overdue first
