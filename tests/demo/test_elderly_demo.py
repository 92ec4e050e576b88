"""The demo's elderly service (demo/elderly.py): most residents 65+ with this year's annual check have the
self-care assessment (linked to that check) and a TCM form, some residents 65+ are still due, nothing is
dated after the reference date, and every stored score is what care.elderly.rules gives for its answers."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from tests.conftest import savepoint_sessions
from weijian.care.elderly import queries, rules
from weijian.care.elderly.models import ElderlyAssessment, TcmAssessment
from weijian.care.models import HealthCheck
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.demo import builder

N = 3000
SEED = 11


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


def test_most_annual_checks_carry_the_assessments_and_none_is_after_the_reference(built):
    session, summary, reference = built
    checks = session.scalar(select(func.count()).select_from(HealthCheck).where(HealthCheck.kind == "annual_65"))
    assert summary.elderly is not None and checks
    assert summary.elderly.self_care > 0.8 * session.scalar(
        select(func.count()).select_from(HealthCheck).where(HealthCheck.kind == "annual_65",
                                                            HealthCheck.date >= reference.replace(year=reference.year - 1,
                                                                                                  month=1, day=1)))
    assert session.scalar(select(func.max(ElderlyAssessment.date))) <= reference
    assert session.scalar(select(func.max(TcmAssessment.date))) <= reference
    linked = session.scalar(select(func.count()).select_from(ElderlyAssessment)
                            .where(ElderlyAssessment.health_check_id.is_(None)))
    assert linked == 0


def test_stored_scores_are_the_rules_own(built):
    session, _, _ = built
    for t in session.scalars(select(TcmAssessment).limit(200)):
        res = rules.constitution([int(c) for c in t.answers])
        assert json.loads(t.verdicts) == res.verdicts and t.main == res.main
    for a in session.scalars(select(ElderlyAssessment).limit(200)):
        assert rules.self_care(json.loads(a.levels)).total == a.total and rules.rules().band(a.total).code == a.band


def test_some_residents_65_plus_are_still_due_this_year(built):
    session, _, reference = built
    rows = queries.due(session=session, actor=Actor.system("test"), as_of=reference, limit=100_000)
    assert rows and any(r.missing == ("health_check", "self_care", "tcm") for r in rows)
