"""Issue 15 item 14: a published period is approved per org unit (as DHIS2's data approval); a later change to
its records is refused, or recorded as a correction that the report shows; unapproving needs a reason."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from tests import factories as f
from tests.care import records_setup as rs
from tests.care.records_setup import TODAY
from weijian.care.models import Encounter
from weijian.care.records import service as records
from weijian.care.records.schemas import EncounterCorrection, VoidIn
from weijian.core import clock, commands, locks
from weijian.core.errors import Conflict, Forbidden, InvalidInput, InvalidState
from weijian.core.locks import PeriodCorrection
from weijian.indicators import approval
from weijian.indicators import service as indicators_service
from weijian.indicators.schemas import ApprovalCreate, ApprovalUnapprove


@pytest.fixture()
def w(session):
    world = rs.build(session)
    # Three visits in March 2025 at the village clinic: the figures approved for 2025Q1.
    world.visits = [rs.record(session, world, start_date=f"2025-03-{d:02d}") for d in (3, 10, 17)]
    session.flush()
    return world


def approve(session, w, orgunit=f.COUNTY, period="2025Q1", actor="bureau"):
    return approval.approve(session=session, actor=w.actors[actor],
                            approval_in=commands.build(ApprovalCreate, {"orgunit": orgunit, "period": period}))


def correct(session, w, visit, actor="village", **values):
    cmd = commands.build(EncounterCorrection, {"reason": "录入错误", **values})
    return records.correct_encounter(session=session, encounter_id=visit.id, correction_in=cmd,
                                     actor=w.actors[actor], today=TODAY)


def visits_in(session, w, period="2025Q1", orgunit=f.VILLAGE_A1):
    [v] = indicators_service.compute(session=session, actor=w.actors["bureau"], indicator_ids=["primary_care_share"],
                                     period=period, orgunit=orgunit)
    return v


def corrections(session):
    return list(session.scalars(select(PeriodCorrection).order_by(PeriodCorrection.id)))


def test_a_change_to_a_record_of_an_approved_period_is_refused_naming_the_field_and_nothing_changes(session, w):
    approve(session, w)
    before = rs.counts(session)
    with pytest.raises(InvalidInput) as info, session.begin_nested():
        correct(session, w, w.visits[0], start_date="2025-03-04")
    assert info.value.field == "start_date"
    assert info.value.message_key == "core.errors.period_approved"
    assert info.value.params == {"period": "2025Q1", "orgunit": f.COUNTY}
    session.expire_all()
    assert session.get(Encounter, w.visits[0].id).start_date.isoformat() == "2025-03-03"
    assert rs.counts(session) == before
    assert corrections(session) == []


def test_a_new_record_dated_in_an_approved_period_is_refused(session, w):
    approve(session, w, orgunit=f.TOWN_A)
    with pytest.raises(InvalidInput) as info, session.begin_nested():
        rs.record(session, w, start_date="2025-02-01")
    assert info.value.message_key == "core.errors.period_approved"
    # Outside the period, or in another township's records, it goes through.
    rs.record(session, w, start_date="2025-04-01")
    rs.record(session, w, actor="township_b", resident="other_town", start_date="2025-02-01")


def test_a_void_of_an_approved_record_is_refused_too(session, w):
    approve(session, w, orgunit=f.VILLAGE_A1, period="202503")
    with pytest.raises(InvalidInput), session.begin_nested():
        records.void_entry(session=session, entry_kind="encounter", entry_id=w.visits[1].id,
                           void_in=commands.build(VoidIn, {"reason": "重复录入"}), actor=w.actors["village"])
    session.expire_all()
    assert session.get(Encounter, w.visits[1].id).voided_at is None


def test_moving_a_record_out_of_an_approved_period_is_a_change_to_it(session, w):
    approve(session, w, period="202503")
    with pytest.raises(InvalidInput), session.begin_nested():
        correct(session, w, w.visits[2], start_date="2025-04-02")


def test_with_a_correction_reason_the_change_is_written_and_recorded_and_the_report_shows_it(session, w):
    a = approve(session, w)
    assert visits_in(session, w, orgunit=f.COUNTY).numerator == 3
    approval.allow_correction(session, w.actors["village"], "原始登记日期有误，经核对门诊日志更正")
    records.void_entry(session=session, entry_kind="encounter", entry_id=w.visits[0].id,
                       void_in=commands.build(VoidIn, {"reason": "重复录入"}), actor=w.actors["village"])
    [row] = corrections(session)
    assert (row.approval_id, row.table_name, row.record_id) == (a.id, "encounters", w.visits[0].id)
    assert row.reason == "原始登记日期有误，经核对门诊日志更正"
    assert row.corrected_by == w.actors["village"].username
    assert "voided_at" in json.loads(row.changes)
    now = visits_in(session, w, orgunit=f.COUNTY)
    assert now.numerator == 2
    shown = approval.approved_figures(session=session, values=[now])
    got = shown[("primary_care_share", f.COUNTY, "2025Q1")]
    assert (got.numerator, got.value, got.corrections) == (3, 100, 1)
    assert approval.approved_text(got, now.value, lambda key, **kw: f"{kw['approved']}/{kw['current']}/"
                                  f"{kw['corrections']}") == "100.00/100.00/1"
    [listed] = approval.list_approvals(session=session, actor=w.actors["bureau"])
    assert (listed.id, listed.corrections, listed.active) == (a.id, 1, True)


def test_a_correction_reason_needs_period_correct(session, w):
    approve(session, w)
    actor = w.actors["bureau"]
    no_correct = type(actor)(**{**actor.__dict__, "permissions": actor.permissions - {"period:correct"}})
    with pytest.raises(Forbidden):
        approval.allow_correction(session, no_correct, "更正")


def test_a_discharge_completes_a_stay_of_an_approved_period_without_a_reason(session, w):
    stay = rs.record(session, w, actor="township", type="inpatient", start_date="2025-03-20", diagnoses=["J18.9"])
    approve(session, w)
    rs.discharge(session=session, encounter_id=stay.id, end_date="2025-04-02", actor=w.actors["township"],
                 today=TODAY)
    assert corrections(session) == []


def test_unapprove_needs_a_reason_and_unlocks_the_period(session, w):
    a = approve(session, w)
    with pytest.raises(InvalidInput) as info:
        commands.build(ApprovalUnapprove, {"reason": "  "})
    assert info.value.field == "reason"
    lifted = approval.unapprove(session=session, actor=w.actors["bureau"], approval_id=a.id,
                                unapprove_in=commands.build(ApprovalUnapprove, {"reason": "村卫生室补报漏登门诊"}))
    assert (lifted.active, lifted.unapprove_reason) == (False, "村卫生室补报漏登门诊")
    correct(session, w, w.visits[0], start_date="2025-03-04")
    assert corrections(session) == []
    with pytest.raises(InvalidState):
        approval.unapprove(session=session, actor=w.actors["bureau"], approval_id=a.id,
                           unapprove_in=commands.build(ApprovalUnapprove, {"reason": "再次"}))
    approve(session, w)  # approved again after its lifting


def test_a_period_is_approved_once_and_only_once_it_has_ended(session, w):
    approve(session, w)
    with pytest.raises(Conflict):
        approve(session, w)
    with pytest.raises(InvalidInput) as info:
        approve(session, w, period="2099")
    assert (info.value.field, info.value.message_key) == ("period", "indicators.errors.period_future")
    current = str(clock.today().year)
    with pytest.raises(InvalidInput) as info:
        approve(session, w, period=current)
    assert info.value.message_key == "indicators.errors.approve_not_ended"


def test_an_approval_made_meanwhile_is_a_conflict_not_a_server_error(session, w, monkeypatch):
    """Two bureau users approving the same unit and period at once: both pass the "already approved?" read, and
    the second insert breaks the unique index. That is a Conflict (409) naming the approval kept, with the
    first approval unchanged — not an IntegrityError (500). The race is staged by hiding the first approval
    from the second call's read."""
    first = approve(session, w)
    reads = {"n": 0}
    real = session.scalar

    def blind_first_read(stmt, *args, **kwargs):
        reads["n"] += 1
        return None if reads["n"] == 1 else real(stmt, *args, **kwargs)

    monkeypatch.setattr(session, "scalar", blind_first_read)
    with pytest.raises(Conflict) as info:
        approve(session, w)
    monkeypatch.undo()
    assert info.value.message_key == "indicators.errors.approval_exists" and info.value.params["approval"] == first.id
    assert session.scalar(select(func.count()).select_from(locks.PeriodApproval)) == 1


def test_a_clinician_cannot_approve(session, w):
    with pytest.raises(Forbidden):
        approve(session, w, actor="county")
    assert session.scalar(select(func.count()).select_from(locks.PeriodApproval)) == 0


def test_the_approval_keeps_the_figures_as_approved(session, w):
    a = approve(session, w, orgunit=f.VILLAGE_A1)
    assert a.snapshot["primary_care_share"]["numerator"] == 3


def test_the_guard_reads_the_approvals_once_per_transaction(session, w, monkeypatch):
    approve(session, w, period="202503")
    rs.record(session, w, start_date="2025-05-01")  # reads and caches them
    reads = []
    real = session.connection().execute

    def counting(stmt, *a, **kw):
        if "period_approvals" in str(stmt):
            reads.append(stmt)
        return real(stmt, *a, **kw)

    monkeypatch.setattr(type(session.connection()), "execute", lambda self, stmt, *a, **kw: counting(stmt, *a, **kw))
    rs.record(session, w, start_date="2025-05-02")
    rs.record(session, w, start_date="2025-05-03")
    assert reads == []
    locks.forget(session)  # as after an approval in this session: read again, once
    rs.record(session, w, start_date="2025-05-04")
    rs.record(session, w, start_date="2025-05-05")
    assert len(reads) == 1


# --- the command line --------------------------------------------------------------------------------
@pytest.fixture()
def cli(session, connection, monkeypatch, w):
    from tests.conftest import savepoint_sessions
    from weijian.core.settings import Settings
    from weijian.indicators import cli as indicators_cli

    factory = savepoint_sessions(connection)
    monkeypatch.setattr(indicators_cli, "_sessions", lambda: (factory, Settings(environment="test")))
    return w


def run(*args):
    from typer.testing import CliRunner

    from weijian.cli import app

    return CliRunner().invoke(app, ["indicators", *args])


def test_cli_approves_lists_and_unapproves(session, cli):
    got = run("approve", "--period", "2025Q1", "--orgunit", f.TOWN_A, "--note", "一季度报表")
    assert got.exit_code == 0, got.output
    approval_id, orgunit, period = got.output.split("\t")[:3]
    assert (orgunit, period) == (f.TOWN_A, "2025Q1")
    listed = run("approvals", "--active")
    assert listed.exit_code == 0 and listed.output.startswith(f"{approval_id}\t{f.TOWN_A}\t2025Q1"), listed.output
    refused = run("approve", "--period", "2099", "--orgunit", f.TOWN_A)
    assert refused.exit_code == 2 and "period: " in refused.output
    lifted = run("unapprove", approval_id, "--reason", "补报")
    assert lifted.exit_code == 0 and "\tlifted " in lifted.output, lifted.output
    assert run("approvals", "--active").output == ""


@pytest.mark.parametrize(("period", "words"), [("1990", "没有数据"), ("2099", "尚未开始")])
def test_compute_answers_no_data_for_1990_and_refuses_a_future_period(cli, period, words):
    """Issue 15 item 14: `--period 1990` answers "no data" (not 0.0) and a period not begun is refused, each
    naming the field `period` (exit 2, nothing printed as figures)."""
    got = run("compute", "--period", period, "--indicator", "primary_care_share", "--format", "json")
    assert got.exit_code == 2
    assert got.output.startswith("period: ") and words in got.output


def test_a_stay_still_admitted_is_discharged_freely_but_not_otherwise_changed(session, w):
    stay = rs.record(session, w, actor="township", type="inpatient", start_date="2025-03-20", diagnoses=["J18.9"])
    approve(session, w)
    with pytest.raises(InvalidInput) as info, session.begin_nested():
        correct(session, w, stay, actor="township", start_date="2025-03-21")
    assert info.value.message_key == "core.errors.period_approved"
