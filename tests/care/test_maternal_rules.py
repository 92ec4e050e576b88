"""The antenatal schedule of 孕产妇健康管理, worked by hand from the 规范's weeks (not from our data file).

国家基本公共卫生服务规范（第三版）孕产妇健康管理服务规范 (as ../shared/domain/public-health.md §2 transcribes
it): "孕13周前为孕妇建立《母子健康手册》，并进行第1次产前检查"; 孕16–20周, 孕21–24周 (2nd and 3rd); 孕28–36周,
孕37–40周 (4th and 5th). Issue 17: a window "a–b weeks" runs from LMP + 7a days to LMP + 7b + 6 days and
"before 13 weeks" from the LMP to LMP + 90 days; EDD = LMP + 280 days."""
from __future__ import annotations

from datetime import date

import pytest

from weijian.care.maternal import rules
from weijian.care.maternal.rules import edd, gestation, grade, in_window, lmp_problem, schedule

LMP = date(2026, 3, 1)
# Worked on a calendar: March 31 days, April 30, May 31, June 30, July 31, August 31, September 30, October 31.
WINDOWS = [
    (1, date(2026, 3, 1), date(2026, 5, 30)),    # LMP .. LMP+90 (12w6d)
    (2, date(2026, 6, 21), date(2026, 7, 25)),   # LMP+112 (16w0d) .. LMP+146 (20w6d)
    (3, date(2026, 7, 26), date(2026, 8, 22)),   # LMP+147 (21w0d) .. LMP+174 (24w6d)
    (4, date(2026, 9, 13), date(2026, 11, 14)),  # LMP+196 (28w0d) .. LMP+258 (36w6d)
    (5, date(2026, 11, 15), date(2026, 12, 12)), # LMP+259 (37w0d) .. LMP+286 (40w6d)
]


def test_edd_is_lmp_plus_280_days():
    """LMP 2026-03-01 + 280 days = 2026-12-06 (Naegele's month+9 day+7 would give 12-08: weijian uses 280)."""
    assert edd(LMP) == date(2026, 12, 6)
    assert edd(date(2025, 12, 25)) == date(2026, 10, 1)  # across a year end: 6 + 274 days later


def test_the_five_windows_from_the_lmp():
    got = [(w.visit, w.start, w.end) for w in schedule(LMP, as_of=LMP)]
    assert got == WINDOWS


def test_window_limits_are_whole_weeks_of_gestation():
    """Visit 2 opens on 16w0d and closes on 20w6d; 12w6d is the last day 'before 13 weeks'."""
    assert gestation(LMP, date(2026, 6, 21)) == (16, 0)
    assert gestation(LMP, date(2026, 7, 25)) == (20, 6)
    assert gestation(LMP, date(2026, 5, 30)) == (12, 6)
    assert in_window(1, LMP, date(2026, 5, 30)) and not in_window(1, LMP, date(2026, 5, 31))
    assert not in_window(2, LMP, date(2026, 6, 20)) and in_window(2, LMP, date(2026, 6, 21))
    assert in_window(5, LMP, date(2026, 12, 12)) and not in_window(5, LMP, date(2026, 12, 13))


@pytest.mark.parametrize(("as_of", "expected"), [
    (date(2026, 3, 1), ["due", "upcoming", "upcoming", "upcoming", "upcoming"]),
    (date(2026, 5, 30), ["due", "upcoming", "upcoming", "upcoming", "upcoming"]),
    (date(2026, 5, 31), ["overdue", "upcoming", "upcoming", "upcoming", "upcoming"]),
    (date(2026, 7, 26), ["overdue", "overdue", "due", "upcoming", "upcoming"]),
    (date(2026, 12, 13), ["overdue"] * 5),
])
def test_status_of_each_window_on_a_day(as_of, expected):
    assert [w.status for w in schedule(LMP, as_of)] == expected


def test_a_recorded_visit_is_done_from_its_day_on():
    done = {1: date(2026, 4, 20), 2: date(2026, 7, 1)}
    on_the_day = schedule(LMP, date(2026, 7, 1), done)
    assert [w.status for w in on_the_day][:3] == ["done", "done", "upcoming"]
    assert on_the_day[0].done_on == date(2026, 4, 20)
    before = schedule(LMP, date(2026, 6, 30), done)  # the 2nd is not done yet on the day before
    assert [w.status for w in before][:2] == ["done", "due"]


def test_an_lmp_in_the_future_or_over_44_weeks_ago_is_refused():
    on = date(2026, 12, 1)
    assert lmp_problem(date(2026, 12, 2), on) is not None
    assert lmp_problem(date(2026, 12, 2), on)[0] == "lmp_future"
    assert lmp_problem(on, on) is None
    assert lmp_problem(date(2026, 1, 27), on) is None  # exactly 44 weeks (308 days)
    assert lmp_problem(date(2026, 1, 26), on)[0] == "lmp_too_old"


def test_the_grade_is_the_highest_colour_with_purple_alongside():
    """孕产妇妊娠风险评估与管理工作规范: 绿 低风险 … 红 高风险; 紫 传染性疾病 is combined with another colour;
    橙 and 红 are referred."""
    assert grade([]) == rules.Grade("green", False, False)
    assert grade(["twins"]) == rules.Grade("yellow", False, False)
    assert grade(["twins", "placenta_praevia"]) == rules.Grade("orange", False, True)
    assert grade(["syphilis"]) == rules.Grade("green", True, False)
    assert grade(["syphilis", "heart_disease_severe", "twins"]) == rules.Grade("red", True, True)


def test_the_rules_file_holds_together():
    r = rules.load_rules()
    assert [v.number for v in r.visits] == [1, 2, 3, 4, 5]
    assert list(r.colours) == ["green", "yellow", "orange", "red"]
    assert "VERIFY" in rules.RULES_FILE.read_text(encoding="utf-8")
