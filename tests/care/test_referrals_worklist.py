"""A downward referral puts a dated follow-up on the receiving village doctor's worklist (issue 14 item 13).

Source of the date: 国家基本公共卫生服务规范（第三版）(原国家卫生计生委, 2017), 高血压患者健康管理服务规范 and
2型糖尿病患者健康管理服务规范, as read in a copy (360docs.net/doc/404502669.html): "对于紧急转诊者，乡镇卫生院、
村卫生室、社区卫生服务中心（站）应在2周内主动随访转诊情况". 2周 = 14 days, transcribed here (not read from
referrals.yaml). The text is written for a referral up; applying it to the return down is weijian's reading."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.care import referrals_setup as rs
from tests.care.referrals_setup import NOW
from weijian.care import worklist
from weijian.core import clock

TWO_WEEKS = timedelta(days=14)  # "2周内主动随访"


@pytest.fixture()
def w(session):
    return rs.build(session)


def test_a_downward_referral_puts_a_follow_up_due_within_two_weeks_on_the_village_worklist(session, w):
    """规范（第三版）: "应在2周内主动随访转诊情况" — the follow-up is dated 14 days after the referral down."""
    down = rs.referred_down(session, w)
    [item] = worklist.worklist(session=session, actor=w.actors["village"], now=NOW + timedelta(days=8)).downward
    assert item.id == down.id
    assert item.follow_up_due == clock.local_date(down.requested_at) + TWO_WEEKS
    assert item.follow_up_overdue is False


def test_the_follow_up_is_overdue_the_day_after_the_two_weeks(session, w):
    down = rs.referred_down(session, w)
    due_day_end = down.requested_at + TWO_WEEKS
    on_time = worklist.worklist(session=session, actor=w.actors["village"], now=due_day_end).downward
    late = worklist.worklist(session=session, actor=w.actors["village"],
                             now=due_day_end + timedelta(days=1)).downward
    assert [i.follow_up_overdue for i in on_time] == [False]
    assert [i.follow_up_overdue for i in late] == [True]
