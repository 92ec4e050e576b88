"""The daily early-warning run and the signal lifecycle (issue 16, parts 3–4): each signal stored once with its
method and figures, re-runs add nothing, verification within a limit, refusals that name the field or the
state and change nothing."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests import factories as f
from tests.surveillance import signals_setup as s
from weijian.accounts.models import AuditEvent
from weijian.core import clock
from weijian.core.errors import Conflict, Forbidden, InvalidInput, InvalidState, NotFound, RulesInvalid
from weijian.surveillance import detection, rules
from weijian.surveillance.signals import queries, service
from weijian.surveillance.signals.models import Signal, SignalCase
from weijian.surveillance.signals.schemas import CloseIn, RespondIn, VerifyIn


def _run(session, provider, *, days=1, as_of=s.AS_OF, now=None):
    return service.run(session=session, as_of=as_of, days=days, counts=provider, actor=s.CDC, now=now)


def _signals(session):
    return list(session.scalars(select(Signal).order_by(Signal.disease_code, Signal.orgunit_code, Signal.method,
                                                        Signal.signal_date)))


def test_a_rerun_of_the_same_days_adds_nothing(session):
    provider = s.Provider({("plague", f.TOWN_A): {s.AS_OF: 1}, ("plague", f.COUNTY): {s.AS_OF: 1},
                           ("measles", f.TOWN_A): {s.days_before(3): 1, s.AS_OF: 1}})
    first = _run(session, provider, days=7)
    assert (first.signals_found, first.signals_new) == (3, 3)
    again = _run(session, provider, days=7)
    assert (again.signals_found, again.signals_new) == (3, 0)
    assert session.scalar(select(func.count()).select_from(Signal)) == 3
    # A later day's run adds only that day's new signals.
    provider.counts[("plague", f.TOWN_A)][s.AS_OF + timedelta(days=1)] = 1
    later = _run(session, provider, days=7, as_of=s.AS_OF + timedelta(days=1))
    assert later.signals_new == 2  # plague at TOWN_A that day; measles' 14-day cluster still holds 2 cases
    assert {(x.disease_code, x.method, x.signal_date) for x in _signals(session)
            if x.signal_date > s.AS_OF} == {("plague", "fixed", s.AS_OF + timedelta(days=1)),
                                           ("measles", "cluster", s.AS_OF + timedelta(days=1))}


def test_a_signal_is_stored_with_its_method_figures_and_verification_limit(session):
    now = clock.now()
    _run(session, s.Provider({("plague", f.TOWN_A): {s.AS_OF: 1}}), now=now)
    [sig] = _signals(session)
    assert (sig.disease_code, sig.orgunit_code, sig.method, sig.signal_date) == ("plague", f.TOWN_A, "fixed", s.AS_OF)
    assert (sig.value, sig.threshold, sig.state) == (1.0, 1.0, "new")
    figures = json.loads(sig.figures)
    assert figures["params"] == {"threshold": 1} and figures["counts"][-1] == 1
    assert figures["counts_to"] == s.AS_OF.isoformat()
    # diseases.yaml: signal_verify_hours 24 (VERIFY), from the time the run found the signal.
    assert sig.verify_due_at == now + timedelta(hours=24)
    event = session.scalar(select(AuditEvent).where(AuditEvent.entity_type == "surveillance_signals"))
    assert event is not None and event.action == "run"


def test_measles_clusters_are_looked_for_in_townships_not_in_the_county(session):
    # diseases.yaml: measles cluster {cases: 2, days: 14, level: township}.
    two = {s.days_before(13): 1, s.AS_OF: 1}
    _run(session, s.Provider({("measles", f.TOWN_A): two, ("measles", f.COUNTY): two}))
    assert [(x.orgunit_code, x.method) for x in _signals(session)] == [(f.TOWN_A, "cluster")]
    # 14 days back is outside the window: no cluster.
    session.execute(Signal.__table__.delete())
    _run(session, s.Provider({("measles", f.TOWN_A): {s.days_before(14): 1, s.AS_OF: 1}}))
    assert _signals(session) == []


def test_only_the_last_days_are_evaluated(session):
    provider = s.Provider({("plague", f.TOWN_A): {s.days_before(9): 1}})
    assert _run(session, provider, days=7).signals_found == 0
    assert _run(session, provider, days=10).signals_new == 1


def test_the_counts_are_asked_once_with_the_history_the_moving_percentile_needs(session):
    provider = s.Provider({})
    _run(session, provider, days=3)
    [(start, end)] = provider.calls
    since = s.days_before(2)
    assert end == s.AS_OF
    # CIDARS: the same, previous and next 7-day windows of each of the previous 5 years.
    assert start <= detection.years_before(since, 5) - timedelta(days=13)


def test_the_run_stores_exactly_the_moving_percentile_and_ears_signals_of_the_detection_functions(session):
    # hepatitis: moving_percentile px 90 and EARS (diseases.yaml); a weekly pattern over six years and a burst.
    start = detection.years_before(s.AS_OF, 6)
    counts = {start + timedelta(days=i): (i * 7919) % 3 for i in range((s.AS_OF - start).days + 1)}
    for k in range(5):
        counts[s.days_before(k)] = 6
    _run(session, s.Provider({("hepatitis", f.TOWN_A): counts}), days=10)
    stored = {(x.method, x.signal_date) for x in _signals(session)}
    disease = rules.edition_on(s.AS_OF).by_code("hepatitis")
    since = s.days_before(9)
    expected = set()
    for step in service.plan(disease):
        rows = detection.detect(step.method, counts, since=since, signals_only=True, **step.params)
        expected |= {(r.method, r.date) for r in rows}
    assert stored == expected and {m for m, _ in stored} >= {"moving-percentile", "ears-c1"}


def test_a_run_with_bad_days_or_before_the_list_is_refused_naming_the_field(session):
    with pytest.raises(InvalidInput) as exc:
        _run(session, s.Provider({}), days=0)
    assert exc.value.field == "days"
    with pytest.raises(InvalidInput) as exc:
        service.run(session=session, as_of=s.AS_OF.replace(year=2001), days=1, counts=s.Provider({}), actor=s.CDC)
    assert exc.value.field == "as_of"
    with pytest.raises(Forbidden):
        service.run(session=session, as_of=s.AS_OF, days=1, counts=s.Provider({}), actor=s.READER)


@pytest.fixture()
def signal(session):
    _run(session, s.Provider({("plague", f.TOWN_A): {s.AS_OF: 1}}))
    return _signals(session)[0]


def test_a_true_signal_is_verified_responded_to_and_closed(session, signal):
    service.verify(session=session, signal_id=signal.id, verify_in=VerifyIn(outcome="true"), actor=s.CDC)
    assert signal.state == "verified_true" and signal.verified_by == "cdc_li" and signal.verified_at is not None
    service.respond(session=session, signal_id=signal.id, actor=s.CDC,
                    respond_in=RespondIn(notes="现场流调：1例输入病例", case_report_ids=[41, 42]))
    service.respond(session=session, signal_id=signal.id, actor=s.CDC,
                    respond_in=RespondIn(measures="隔离治疗，密切接触者医学观察", case_report_ids=["42, 43"]))
    assert signal.state == "responding" and signal.measures.startswith("隔离")
    assert sorted(session.scalars(select(SignalCase.case_report_id).where(SignalCase.signal_id == signal.id))) == \
        [41, 42, 43]
    service.close(session=session, signal_id=signal.id, close_in=CloseIn(), actor=s.CDC)
    assert signal.state == "closed" and signal.closed_by == "cdc_li"
    actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.entity_type == "surveillance_signal")
                                   .order_by(AuditEvent.id)))
    assert actions == ["verify", "respond", "respond", "close"]
    item = queries.get(session=session, signal_id=signal.id, actor=s.CDC)
    assert item.hours_to_verify is not None and item.hours_to_respond is not None and item.case_report_ids == [41, 42, 43]


def test_a_false_signal_needs_a_note_and_can_be_closed(session, signal):
    with pytest.raises(InvalidInput) as exc:
        service.verify(session=session, signal_id=signal.id, verify_in=VerifyIn(outcome="false"), actor=s.CDC)
    assert exc.value.field == "note" and signal.state == "new" and signal.verified_at is None
    service.verify(session=session, signal_id=signal.id, verify_in=VerifyIn(outcome="false", note="重复报告"),
                   actor=s.CDC)
    assert signal.state == "verified_false"
    with pytest.raises(InvalidState):
        service.respond(session=session, signal_id=signal.id, respond_in=RespondIn(notes="x"), actor=s.CDC)
    service.close(session=session, signal_id=signal.id, close_in=CloseIn(), actor=s.CDC)
    assert signal.state == "closed"


def test_refusals_name_the_field_or_the_state_and_change_nothing(session, signal):
    with pytest.raises(InvalidInput) as exc:
        service.verify(session=session, signal_id=signal.id, verify_in=VerifyIn(), actor=s.CDC)
    assert exc.value.field == "outcome"
    with pytest.raises(InvalidInput) as exc:
        service.verify(session=session, signal_id=signal.id, verify_in=VerifyIn(outcome="maybe"), actor=s.CDC)
    assert exc.value.field == "outcome"
    with pytest.raises(InvalidState):
        service.close(session=session, signal_id=signal.id, close_in=CloseIn(), actor=s.CDC)
    with pytest.raises(InvalidState):
        service.respond(session=session, signal_id=signal.id, respond_in=RespondIn(notes="x"), actor=s.CDC)
    with pytest.raises(Conflict):
        service.verify(session=session, signal_id=signal.id, verify_in=VerifyIn(outcome="true", version=99),
                       actor=s.CDC)
    with pytest.raises(Forbidden):
        service.verify(session=session, signal_id=signal.id, verify_in=VerifyIn(outcome="true"), actor=s.READER)
    assert (signal.state, signal.verified_at, signal.version) == ("new", None, 1)
    service.verify(session=session, signal_id=signal.id, verify_in=VerifyIn(outcome="true"), actor=s.CDC)
    with pytest.raises(InvalidState):
        service.verify(session=session, signal_id=signal.id, verify_in=VerifyIn(outcome="true"), actor=s.CDC)
    with pytest.raises(InvalidInput) as exc:
        service.respond(session=session, signal_id=signal.id, respond_in=RespondIn(), actor=s.CDC)
    assert exc.value.field == "notes"
    service.respond(session=session, signal_id=signal.id, respond_in=RespondIn(notes="流调中"), actor=s.CDC)
    with pytest.raises(InvalidInput) as exc:  # a true signal is closed once its measures are recorded
        service.close(session=session, signal_id=signal.id, close_in=CloseIn(), actor=s.CDC)
    assert exc.value.field == "measures" and signal.state == "responding"


def test_a_signal_outside_the_scope_answers_as_a_missing_one(session, signal):
    with pytest.raises(NotFound):
        queries.get(session=session, signal_id=signal.id, actor=s.TOWN_B_ONLY)
    with pytest.raises(NotFound):
        service.verify(session=session, signal_id=signal.id, verify_in=VerifyIn(outcome="true"),
                       actor=s.TOWN_B_ONLY)
    assert queries.list_signals(session=session, actor=s.TOWN_B_ONLY) == []


def test_an_unverified_signal_past_its_limit_is_overdue_and_listed_first(session):
    now = clock.now()
    _run(session, s.Provider({("plague", f.TOWN_A): {s.AS_OF: 1}}), now=now - timedelta(hours=30))
    _run(session, s.Provider({("cholera", f.TOWN_A): {s.AS_OF: 1}}), now=now)
    items = queries.list_signals(session=session, actor=s.CDC, now=now)
    assert [(i.signal.disease_code, i.overdue) for i in items] == [("plague", True), ("cholera", False)]
    later = queries.list_signals(session=session, actor=s.CDC, now=now + timedelta(hours=25))
    assert all(i.overdue for i in later)


def test_the_share_verified_within_the_limit(session):
    now = clock.now()
    t0 = now - timedelta(hours=48)
    provider = s.Provider({("plague", f.TOWN_A): {s.AS_OF: 1}, ("plague", f.TOWN_B): {s.AS_OF: 1},
                           ("cholera", f.TOWN_A): {s.AS_OF: 1}, ("cholera", f.TOWN_B): {s.AS_OF: 1}})
    _run(session, provider, now=t0)
    by = {(x.disease_code, x.orgunit_code): x for x in _signals(session)}
    service.verify(session=session, signal_id=by[("plague", f.TOWN_A)].id, verify_in=VerifyIn(outcome="true"),
                   actor=s.CDC, now=t0 + timedelta(hours=3))  # within 24 h
    service.verify(session=session, signal_id=by[("plague", f.TOWN_B)].id, verify_in=VerifyIn(outcome="true"),
                   actor=s.CDC, now=t0 + timedelta(hours=30))  # late
    # cholera at TOWN_A: still new, 48 h on: overdue. cholera at TOWN_B: verified just in time.
    service.verify(session=session, signal_id=by[("cholera", f.TOWN_B)].id,
                   verify_in=VerifyIn(outcome="false", note="误报"), actor=s.CDC, now=t0 + timedelta(hours=24))
    day = clock.local_date(t0)
    t = queries.timeliness(session=session, actor=s.CDC, start=day, end=day, now=now)
    assert (t.signals, t.due, t.within_limit, t.overdue) == (4, 4, 2, 1)
    assert t.share_within_limit == 0.5 and t.median_hours_to_verify == 24.0
    by_unit = dict((code, (due, within)) for code, due, within in
                   queries.count_by_unit(session=session, start=day, end=day))
    assert by_unit == {f.TOWN_A: (2, 1), f.TOWN_B: (2, 1)}


def test_the_verification_limit_is_data_with_a_per_disease_override(tmp_path):
    # diseases.yaml: signal_verify_hours 24 for every disease (VERIFY in its header); an entry may set its own.
    assert {d.signal_verify_hours for d in rules.disease_list().diseases} == {24}
    text = rules.DATA_FILE.read_text(encoding="utf-8")
    text = text.replace("{code: plague, zh: 鼠疫, en: Plague, class: A, icd10: [A20], report_limit_hours: 2,",
                        "{code: plague, zh: 鼠疫, en: Plague, class: A, icd10: [A20], report_limit_hours: 2, "
                        "signal_verify_hours: 2,")
    path = tmp_path / "diseases.yaml"
    path.write_text(text.replace("signal_verify_hours: 24\n", "signal_verify_hours: 12\n"), encoding="utf-8")
    loaded = {d.code: d.signal_verify_hours for d in rules.load(path).diseases}
    assert loaded["plague"] == 2 and loaded["cholera"] == 12
    path.write_text(text.replace("signal_verify_hours: 24\n", "signal_verify_hours: 0\n"), encoding="utf-8")
    with pytest.raises(RulesInvalid) as exc:
        rules.load(path)
    assert [e.field for e in exc.value.errors] == ["signal_verify_hours"]
