"""The county clock: the one source of "today" and "now" (STYLE 18).

Times are stored in UTC; the county's day (the date on a form, a due list, a default period) is the day in
the county's time zone (`WEIJIAN_TIMEZONE`, Asia/Shanghai by default), 8 hours ahead of UTC in China, so
between 16:00 and 24:00 UTC the server's own calendar is a day behind the county's. Nothing else in
`src/` may read the system clock (a test in tests/core/test_clock.py greps for it); tests move time with
time-machine, which this module follows because it only ever asks `datetime.now(<zone>)`.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIMEZONE = "Asia/Shanghai"
UTC = UTC


def zone_named(name: str) -> tzinfo:
    """The zone of an IANA name; Asia/Shanghai without a tz database on the host is UTC+8 (China has kept
    it without daylight saving since 1991). An unknown name raises ValueError."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        if name == DEFAULT_TIMEZONE:
            return timezone(timedelta(hours=8), "CST")
        raise ValueError(f"unknown time zone {name!r}") from exc


_zone: tzinfo = zone_named(DEFAULT_TIMEZONE)


def configure(timezone_name: str) -> None:
    """Set the county's zone (create_app and the CLI call it with `Settings.timezone`)."""
    global _zone
    _zone = zone_named(timezone_name)


def zone() -> tzinfo:
    """The county's time zone."""
    return _zone


def now() -> datetime:
    """Now, timezone-aware, in UTC: what is stored."""
    return datetime.now(UTC)


def local_now() -> datetime:
    """Now on the county's wall clock."""
    return datetime.now(_zone)


def today() -> date:
    """The county's date today: the day clinicians write on their forms."""
    return datetime.now(_zone).date()


def local(moment: datetime) -> datetime:
    """An aware time on the county's wall clock (a naive one is taken as UTC, as stored)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(_zone)


def local_date(moment: datetime) -> date:
    """The county day on which an aware (or stored UTC) time falls."""
    return local(moment).date()


def at(day: date, clock_time: time = time(0)) -> datetime:
    """A county wall-clock time of `day`, as an aware UTC datetime."""
    return datetime.combine(day, clock_time, tzinfo=_zone).astimezone(UTC)


def day_bounds(first: date, last: date | None = None) -> tuple[datetime, datetime]:
    """[00:00 of `first`, 00:00 of the day after `last`) in county days, as UTC: the range of stored times
    that fall on those days."""
    return at(first), at((last or first) + timedelta(days=1))


def format_local(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored time as users read it (empty for None)."""
    return local(moment).strftime(fmt) if moment is not None else ""
