"""A downward referral puts a dated follow-up on the receiving village doctor's worklist (issue 14 item 13).

Source of the date: 国家基本公共卫生服务规范（第三版）(原国家卫生计生委, 2017), 高血压患者健康管理服务规范 and
2型糖尿病患者健康管理服务规范, as read in a copy (360docs.net/doc/404502669.html): "对于紧急转诊者，乡镇卫生院、
村卫生室、社区卫生服务中心（站）应在2周内主动随访转诊情况". 2周 = 14 days, transcribed here (not read from
referrals.yaml). The text is written for a referral up; applying it to the return down is weijian's reading."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests import factories as f
from tests.care import referrals_setup as rs
from tests.care.referrals_setup import NOW, refer
from weijian.care import worklist
from weijian.care.referrals import service as referrals_service
from weijian.care.referrals.schemas import CompleteIn, DownwardCreate
from weijian.core import clock
from weijian.core.commands import build

TWO_WEEKS = timedelta(days=14)  # "2周内主动随访"


@pytest.fixture()
def w(session):
    return rs.build(session)


@pytest.fixture()
def login(client, session, w):
    def _as(who: str) -> None:
        client.headers.pop("Authorization", None)
        client.headers.update(f.token_headers(session, w.users[who]))
    return _as


def _referred_down(session, w):
    up = refer(session, w, to_facility_id=w.fac["county"].id, diagnosis="I63.9", reason="疑似脑梗死")
    county = w.actors["county"]
    referrals_service.accept(session=session, referral_id=up.id, actor=county, now=NOW)
    referrals_service.arrive(session=session, referral_id=up.id, actor=county, now=NOW)
    referrals_service.complete(session=session, referral_id=up.id, actor=county, now=NOW + timedelta(days=7),
                               complete_in=build(CompleteIn, discharge_summary="病情稳定，回村康复"))
    return referrals_service.create_downward(session=session, referral_id=up.id, actor=county,
                                             downward_in=build(DownwardCreate, {"reason": "康复期随访"}),
                                             now=NOW + timedelta(days=7))


def test_a_downward_referral_puts_a_follow_up_due_within_two_weeks_on_the_village_worklist(session, w):
    """规范（第三版）: "应在2周内主动随访转诊情况" — the follow-up is dated 14 days after the referral down."""
    down = _referred_down(session, w)
    [item] = worklist.worklist(session=session, actor=w.actors["village"], now=NOW + timedelta(days=8)).downward
    assert item.id == down.id
    assert item.follow_up_due == clock.local_date(down.requested_at) + TWO_WEEKS
    assert item.follow_up_overdue is False


def test_the_follow_up_is_overdue_the_day_after_the_two_weeks(session, w):
    down = _referred_down(session, w)
    due_day_end = down.requested_at + TWO_WEEKS
    on_time = worklist.worklist(session=session, actor=w.actors["village"], now=due_day_end).downward
    late = worklist.worklist(session=session, actor=w.actors["village"],
                             now=due_day_end + timedelta(days=1)).downward
    assert [i.follow_up_overdue for i in on_time] == [False]
    assert [i.follow_up_overdue for i in late] == [True]


def test_the_worklist_page_and_api_show_the_follow_up_date(client, session, w, login):
    down = _referred_down(session, w)
    due = (clock.local_date(down.requested_at) + TWO_WEEKS).isoformat()
    login("village")
    html = client.get("/care/worklist").text
    assert 'data-testid="follow-up-due"' in html and due in html and "随访截止日期" in html
    body = client.get("/api/v1/care/worklist").json()
    assert [r["follow_up_due"] for r in body["downward_referrals"]] == [due]
