"""The demo county's case reports (传染病报告卡): a few hundred over the five years up to the reference date,
of influenza, hand, foot and mouth disease, mumps and brucellosis, each at the ages and delays it should have,
and last autumn's measles cluster — three children of one township with onsets within 14 days — which the
daily counts (surveillance.daily_counts, the early-warning run's input) show."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.conftest import savepoint_sessions
from weijian.core import clock
from weijian.demo import builder
from weijian.demo import surveillance as demo_surveillance
from weijian.residents.models import Resident
from weijian.surveillance import rules
from weijian.surveillance import service as surveillance
from weijian.surveillance.models import CaseReport
from weijian.surveillance.timeliness import report_delay

N = 2000
SEED = 11


@pytest.fixture(scope="module")
def built(engine):
    conn = engine.connect()
    trans = conn.begin()
    session = savepoint_sessions(conn)()
    try:
        summary = builder.build(session=session, residents=N, seed=SEED, immunization=False, settlement=False)
        yield session, summary
    finally:
        session.close()
        trans.rollback()


def test_a_few_hundred_cards_of_the_plausible_diseases_over_five_years(built):
    session, summary = built
    s = summary.surveillance
    cards = list(session.scalars(select(CaseReport).order_by(CaseReport.id)))
    assert len(cards) == s.cards and 200 <= s.cards <= 450
    by_disease = Counter(c.disease for c in cards)
    assert set(by_disease) == {"influenza", "hfmd", "mumps", "brucellosis", "measles"}
    assert by_disease["influenza"] > by_disease["hfmd"] > by_disease["mumps"] > by_disease["brucellosis"] >= 5
    assert all(s.first <= c.onset_date <= s.last for c in cards)
    born = {rid: day for rid, day in session.execute(select(Resident.id, Resident.birth_date))}
    for c in cards:
        if c.disease == "hfmd":
            assert (c.onset_date - born[c.resident_id]).days < 6 * 366
        disease = rules.edition_on(clock.local_date(c.diagnosed_at)).by_code(c.disease)
        delay = report_delay(disease, diagnosed=c.diagnosed_at, reported=c.reported_at, icd10=c.icd10)
        assert (c.late, c.limit_hours) == (delay.late, delay.limit_hours) and c.onset_date <= clock.local_date(c.diagnosed_at)
    assert 0 < s.late < 0.15 * s.cards


def test_last_autumns_measles_cluster_is_three_children_of_one_township_within_14_days(built):
    session, summary = built
    s = summary.surveillance
    measles = list(session.scalars(select(CaseReport).where(CaseReport.disease == "measles")))
    assert len(measles) == 3 and {c.township_code for c in measles} == {s.measles_township}
    onsets = sorted(c.onset_date for c in measles)
    assert (onsets[-1] - onsets[0]).days < 14 and onsets[0].month in (9, 10, 11)
    assert onsets[0] == demo_surveillance.last_autumn(summary.surveillance.last)
    counts = surveillance.daily_counts(session=session, start=onsets[0] - timedelta(days=1),
                                       end=onsets[-1] + timedelta(days=1))
    assert sum(counts[("measles", s.measles_township)].values()) == 3

