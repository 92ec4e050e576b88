"""An accepted referral whose patient never arrives expires after referrals.yaml's arrival_days (issue 14
item 13). No national text sets the number (国办发〔2015〕70号 sets none; see the data file's header): the
tests take the days from the rules, and pin the default the county starts with, 7."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from typer.testing import CliRunner

from tests.care import referrals_setup as rs
from tests.care.referrals_setup import NOW, refer
from tests.conftest import savepoint_sessions
from weijian.care.models import Referral
from weijian.care.referrals import cli as referrals_cli
from weijian.care.referrals import queries as referrals_queries
from weijian.care.referrals import rules as referrals_rules
from weijian.care.referrals import service as referrals_service
from weijian.cli import app
from weijian.core.actor import Actor
from weijian.core.errors import InvalidState
from weijian.core.i18n import translate


@pytest.fixture()
def w(session):
    return rs.build(session)


def _accepted(session, w) -> Referral:
    referral = refer(session, w)
    referrals_service.accept(session=session, referral_id=referral.id, actor=w.actors["town"], now=NOW)
    return referral


def _days() -> timedelta:
    return timedelta(days=referrals_rules.rules().arrival_days)


def test_the_county_starts_with_seven_days_to_arrive():
    assert referrals_rules.rules().arrival_days == 7


def test_an_accepted_referral_whose_patient_did_not_arrive_in_time_cannot_be_received(session, w):
    referral = _accepted(session, w)
    with pytest.raises(InvalidState) as caught:
        referrals_service.arrive(session=session, referral_id=referral.id, actor=w.actors["town"],
                                 now=NOW + _days() + timedelta(minutes=1))
    assert caught.value.message_key == "care.referrals.errors.arrival_expired"
    assert "7 天内未到达" in translate(caught.value.message_key, "zh_CN", **caught.value.params)
    assert referral.status == "accepted"


def test_the_patient_may_arrive_on_the_last_day(session, w):
    referral = _accepted(session, w)
    referrals_service.arrive(session=session, referral_id=referral.id, actor=w.actors["town"], now=NOW + _days())
    assert referral.status == "arrived"


def test_an_expired_referral_leaves_the_desk_and_offers_no_arrival(session, w):
    referral = _accepted(session, w)
    later = NOW + _days() + timedelta(hours=1)
    assert "arrive" not in referrals_service.allowed_actions(referral, w.actors["town"], now=later)
    desk = referrals_queries.inbox(session=session, actor=w.actors["town"], now=later)
    assert referral.id not in [i.id for i in desk.page.items]
    [item] = referrals_queries.list_referrals(session=session, actor=w.actors["town"], now=later).items
    assert item.expired


def test_the_daily_job_stores_the_expiry_and_audits_it(session, w):
    late = _accepted(session, w)
    fresh = refer(session, w)
    referrals_service.accept(session=session, referral_id=fresh.id, actor=w.actors["town"], now=NOW + _days())
    done = referrals_service.expire(session=session, actor=Actor.system("cli"),
                                    now=NOW + _days() + timedelta(hours=1))
    assert [r.id for r in done] == [late.id]
    assert (late.status, fresh.status) == ("expired", "accepted")
    [event] = rs.audits(session, entity_type="referral", entity_id=str(late.id), action="expire")
    assert event.basis == "referral" and json.loads(event.detail)["reason"] == "not_arrived"


def test_the_cli_expires_and_says_how_many(session, connection, w, monkeypatch):
    late = _accepted(session, w)
    monkeypatch.setattr(referrals_cli, "_sessionmaker", lambda: savepoint_sessions(connection))
    with time_machine.travel(NOW + _days() + timedelta(hours=1), tick=False):
        result = CliRunner().invoke(app, ["referrals", "expire", "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "Expired 1 accepted referrals" in result.output and str(late.id) in result.output
    session.expire_all()
    assert session.get(Referral, late.id).status == "expired"
