"""The county CDC's work on the demo's early-warning signals (demo.surveillance.work_signals): the back-run's
signals dated as the daily runs would have found them, the older ones verified and closed (last autumn's
measles cluster true and answered), the last days' left new for the signals page."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from tests.conftest import savepoint_sessions
from weijian.core import clock
from weijian.demo import builder
from weijian.demo import surveillance as demo_surveillance
from weijian.surveillance.models import CaseReport
from weijian.surveillance.signals.models import Signal, SignalCase

N = 2000
SEED = 11


@pytest.fixture(scope="module")
def december(engine):
    """A build on the last 1 December (the data file's reference is mid-year: its back-run of signals holds no
    autumn), whose 120 days of early warning hold last autumn's measles cluster."""
    today = clock.today()
    reference = date(today.year if today >= date(today.year, 12, 1) else today.year - 1, 12, 1)
    conn = engine.connect()
    trans = conn.begin()
    session = savepoint_sessions(conn)()
    try:
        builder.build(session=session, residents=N, seed=SEED, immunization=False, settlement=False,
                      reference=reference)
        yield session, reference
    finally:
        session.close()
        trans.rollback()


def test_the_cdc_verified_and_closed_the_older_signals_and_left_the_last_days_new(december):
    """The back-run's signals, as the CDC's daily work would have left them: each found the morning after its
    day, every one older than three days verified by the CDC's log-in — the measles cluster's true, answered
    with the cluster's cards linked, the others false with a note and closed — about one in ten after the
    24-hour limit; the last three days' still new; nothing dated after today."""
    session, today = december
    signals = list(session.scalars(select(Signal)))
    assert signals
    old = [s for s in signals if s.signal_date <= today - timedelta(days=demo_surveillance.OPEN_DAYS)]
    recent = [s for s in signals if s not in old]
    for s in signals:
        assert clock.local_date(s.detected_at) == min(s.signal_date + timedelta(days=1), today)
        assert s.detected_at <= clock.now()  # the last day's signal found at the build, not tomorrow morning
        assert s.verify_due_at - s.detected_at == timedelta(hours=24)
        for at in (s.verified_at, s.closed_at, s.responded_at):
            assert at is None or (s.detected_at <= at and clock.local_date(at) <= today)
    assert all(s.state == "new" and s.verified_at is None for s in recent)
    assert [(s.signal_date, s.state, s.verified_by) for s in old if s.verified_by != "jikong"] == []
    measles = [s for s in old if s.disease_code == "measles"]
    assert measles, "the autumn cluster signals"
    for s in measles:
        assert s.state in ("closed", "responding") and s.measures
        linked = set(session.scalars(select(SignalCase.case_report_id).where(SignalCase.signal_id == s.id)))
        assert linked and all(session.get(CaseReport, c).disease == "measles" for c in linked)
    others = [s for s in old if s.disease_code != "measles"]
    assert all(s.state == "closed" and s.verification_note for s in others)
    late = sum(s.verified_at > s.verify_due_at for s in old)
    assert late < 0.3 * len(old)
