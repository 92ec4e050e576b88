"""Health education's rules, hand-worked from the 规范's own sentences (国家基本公共卫生服务规范（第三版）,
健康教育服务规范, 服务形式及要求, read in secondary copies; care/data/health_education.yaml cites them):
乡镇卫生院 "每月至少举办1次健康知识讲座" (12 a year), "每年至少开展9次公众健康咨询活动", "每2个月最少更换1次
健康教育宣传栏内容" (6), "不少于12种内容的印刷资料", "播放音像资料不少于6种"; 村卫生室 "每两个月至少举办1次健康
知识讲座" (6), the board every 2 months (6), the 12 kinds of printed material. The calendar rule is weijian's:
floor(minimum × days elapsed ÷ days in the year)."""
from __future__ import annotations

from datetime import date

from weijian.care.education import rules


def test_township_centre_minimums_are_the_norms_figures():
    r = rules.rules()
    assert {k: r.minimum("township_centre", k) for k in r.kinds} == {
        "lecture": 12, "consultation": 9, "bulletin": 6, "materials": 12, "video": 6}


def test_village_clinic_has_lectures_every_two_months_and_no_consultation_minimum():
    r = rules.rules()
    assert r.minimum("village_clinic", "lecture") == 6
    assert r.minimum("village_clinic", "bulletin") == 6
    assert r.minimum("village_clinic", "materials") == 12
    assert r.minimum("village_clinic", "consultation") is None
    assert r.minimum("county_general", "lecture") is None


def test_calendar_share_of_a_yearly_minimum():
    # 2026-12-08 is day 342 of 365: 12 × 342 = 4104 = 11 × 365 + 89 → 11 lectures; 6 × 342 = 2052 → 5 boards.
    assert rules.expected_by(12, 2026, date(2026, 12, 8)) == 11
    assert rules.expected_by(6, 2026, date(2026, 12, 8)) == 5
    # 2026-01-31 is day 31: 12 × 31 = 372 → 1 (the January lecture).
    assert rules.expected_by(12, 2026, date(2026, 1, 31)) == 1
    assert rules.expected_by(12, 2026, date(2026, 1, 30)) == 0
    # A past year is judged on the whole minimum, a future one asks nothing yet.
    assert rules.expected_by(9, 2025, date(2026, 3, 1)) == 9
    assert rules.expected_by(9, 2027, date(2026, 3, 1)) == 0


def test_states_met_on_track_behind_and_none():
    assert rules.state(12, 12, 11) == "met"
    assert rules.state(11, 12, 11) == "on_track"
    assert rules.state(10, 12, 11) == "behind"
    assert rules.state(3, None, 0) == "none"


def test_judge_a_township_centre_in_december():
    got = {k.kind: (k.done, k.minimum, k.expected, k.state) for k in rules.judge(
        "township_centre", 2026, date(2026, 12, 8), {"lecture": 11, "consultation": 6, "materials": 12})}
    assert got["lecture"] == (11, 12, 11, "on_track")
    # 9 × 342 = 3078 = 8 × 365 + 158 → 8 asked by now; 6 done is behind.
    assert got["consultation"] == (6, 9, 8, "behind")
    assert got["bulletin"] == (0, 6, 5, "behind")
    assert got["materials"] == (12, 12, 11, "met")
    assert got["video"] == (0, 6, 5, "behind")
