"""The county clock (core/clock.py) is the only source of "today" and "now", and its day is the county's.

China is UTC+8 without daylight saving: from 16:00 to 24:00 UTC the county is already on the next day.
"""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from weijian.core import clock
from weijian.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
UTC = UTC

# Reading the system clock, or making the county's zone by hand, anywhere but core/clock.py.
FORBIDDEN = re.compile(
    r"date\.today\(|datetime\.now\(|datetime\.utcnow\(|datetime\.today\(|time\.localtime\(|time\.gmtime\("
    r"|time\.strftime\(|ZoneInfo\(|timezone\(timedelta\(hours=8|\butcnow\b|local_today\b")
# Tests, benchmarks and scripts may not read the server's calendar either (datetime.now(<zone>) aside:
# a benchmark may time-stamp its results).
FORBIDDEN_OUTSIDE_SRC = re.compile(r"date\.today\(|datetime\.now\(\)|datetime\.utcnow\(|time\.localtime\(")


def _offenders(folder: str, pattern: re.Pattern[str]) -> list[str]:
    out = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        if path == ROOT / "src/weijian/core/clock.py" or path == Path(__file__).resolve():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                out.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    return out


def test_nothing_in_src_reads_the_system_clock_but_the_county_clock():
    assert _offenders("src", FORBIDDEN) == []


@pytest.mark.parametrize("folder", ["tests", "bench", "scripts"])
def test_tests_benchmarks_and_scripts_do_not_read_the_servers_calendar(folder):
    assert _offenders(folder, FORBIDDEN_OUTSIDE_SRC) == []


def test_the_forbidden_pattern_catches_each_way_of_reading_the_clock():
    for line in ("x = date.today()", "datetime.now()", "datetime.now(timezone.utc)", "datetime.utcnow()",
                 "time.localtime()", 'ZoneInfo("Asia/Shanghai")', "timezone(timedelta(hours=8))",
                 "from weijian.core.db import utcnow"):
        assert FORBIDDEN.search(line), line
    assert not FORBIDDEN.search("clock.today()") and not FORBIDDEN.search("clock.now()")


@pytest.mark.parametrize(("utc", "county_day"), [
    (datetime(2026, 12, 6, 15, 59, 59, tzinfo=UTC), date(2026, 12, 6)),
    (datetime(2026, 12, 6, 16, 0, tzinfo=UTC), date(2026, 12, 7)),
    (datetime(2026, 12, 6, 20, 30, tzinfo=UTC), date(2026, 12, 7)),
    (datetime(2026, 12, 6, 23, 59, tzinfo=UTC), date(2026, 12, 7)),
    (datetime(2026, 12, 7, 0, 0, tzinfo=UTC), date(2026, 12, 7)),
])
def test_today_is_the_county_day_at_every_hour_of_the_utc_day(time_machine, utc, county_day):
    time_machine.move_to(utc, tick=False)
    assert clock.today() == county_day
    assert clock.now() == utc and clock.now().tzinfo == UTC
    assert clock.local_now().utcoffset() == timedelta(hours=8)


def test_day_bounds_are_county_midnights_in_utc():
    lo, hi = clock.day_bounds(date(2026, 12, 7))
    assert (lo, hi) == (datetime(2026, 12, 6, 16, tzinfo=UTC), datetime(2026, 12, 7, 16, tzinfo=UTC))
    assert clock.day_bounds(date(2026, 12, 1), date(2026, 12, 31))[1] == datetime(2026, 12, 31, 16, tzinfo=UTC)
    assert clock.at(date(2026, 12, 7), time(8, 30)) == datetime(2026, 12, 7, 0, 30, tzinfo=UTC)
    assert clock.local_date(datetime(2026, 12, 6, 16, 0, tzinfo=UTC)) == date(2026, 12, 7)
    assert clock.format_local(datetime(2026, 12, 6, 16, 5, tzinfo=UTC)) == "2026-12-07 00:05"
    assert clock.format_local(None) == ""


def test_the_zone_is_a_setting_and_an_unknown_zone_is_refused(time_machine):
    time_machine.move_to(datetime(2026, 12, 6, 20, 30, tzinfo=UTC), tick=False)
    try:
        clock.configure(Settings(timezone="Asia/Urumqi").timezone)  # UTC+6
        assert clock.today() == date(2026, 12, 7) and clock.local_now().hour == 2
        clock.configure("UTC")
        assert clock.today() == date(2026, 12, 6)
    finally:
        clock.configure(clock.DEFAULT_TIMEZONE)
    with pytest.raises(ValueError, match="time zone"):
        Settings(timezone="Mars/Olympus")


def test_the_app_and_the_cli_take_the_zone_from_the_settings(time_machine, db_settings):
    from typer.testing import CliRunner

    from weijian.app import create_app
    from weijian.cli import app as cli

    time_machine.move_to(datetime(2026, 12, 6, 20, 30, tzinfo=UTC), tick=False)
    try:
        create_app(db_settings.model_copy(update={"timezone": "UTC"}))
        assert clock.today() == date(2026, 12, 6)
        result = CliRunner().invoke(cli, ["residents", "check-id", "11010519491231002X"],
                                    env={"WEIJIAN_TIMEZONE": "Asia/Shanghai",
                                         "WEIJIAN_DATABASE_URL": db_settings.database_url})
        assert result.exit_code == 0, result.output
        assert clock.today() == date(2026, 12, 7)
    finally:
        clock.configure(clock.DEFAULT_TIMEZONE)
