"""Reporting periods: `2025` (year), `2025Q1` (quarter), `202503` (month), and the period a page opens on."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from weijian.core.bounds import MAX_DATE, MIN_DATE
from weijian.core.errors import InvalidInput

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, SQLColumnExpression

_RE = re.compile(r"^(?P<y>\d{4})(?:Q(?P<q>[1-4])|(?P<m>0[1-9]|1[0-2]))?$")


@dataclass(frozen=True, order=True)
class Period:
    start: date
    end: date  # inclusive
    kind: str  # "year" | "quarter" | "month"
    code: str

    def contains(self, d: date) -> bool:
        return self.start <= d <= self.end


def month_end(y: int, m: int) -> date:
    return (date(y + (m == 12), m % 12 + 1, 1)) - timedelta(days=1)


def yyyymm(d: date) -> int:
    """The month of a date as the integer yyyymm (the key monthly counts are stored and summed by)."""
    return d.year * 100 + d.month


def yyyymm_of(column: SQLColumnExpression[date]) -> ColumnElement[int]:
    """yyyymm of a date column, in SQL (for a bounded range, month_case is cheaper on SQLite)."""
    from sqlalchemy import extract

    return extract("year", column) * 100 + extract("month", column)


def parse_period(code: str, *, field: str = "period") -> Period:
    m = _RE.match((code or "").strip())
    if not m:
        raise InvalidInput(field, "core.errors.period.format", value=code)
    y = int(m["y"])
    if not MIN_DATE.year <= y <= MAX_DATE.year:
        raise InvalidInput(field, "core.errors.validation.year_out_of_range", min=MIN_DATE.year, max=MAX_DATE.year)
    if m["q"]:
        q = int(m["q"])
        return Period(date(y, 3 * q - 2, 1), month_end(y, 3 * q), "quarter", f"{y}Q{q}")
    if m["m"]:
        mo = int(m["m"])
        return Period(date(y, mo, 1), month_end(y, mo), "month", f"{y}{mo:02d}")
    return Period(date(y, 1, 1), date(y, 12, 31), "year", str(y))


GRAINS = ("year", "quarter", "month")


def default_period(today: date, grain: str = "year") -> str:
    """The period a page or figure opens on when none is asked for: the current one on the county's calendar
    (pass `clock.today()`): this year, or this quarter or month where the page shows one. Every page that
    picks a default period uses this rule: the figures of a year under way are its figures to date."""
    if grain == "year":
        return str(today.year)
    if grain == "quarter":
        return f"{today.year}Q{(today.month - 1) // 3 + 1}"
    if grain == "month":
        return f"{today.year}{today.month:02d}"
    raise ValueError(f"unknown grain {grain!r} (one of {', '.join(GRAINS)})")


def months_of(period: Period) -> list[Period]:
    out, y, m = [], period.start.year, period.start.month
    while date(y, m, 1) <= period.end:
        out.append(parse_period(f"{y}{m:02d}"))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def month_case(column: SQLColumnExpression[date], start: date, end: date) -> ColumnElement[int]:
    """yyyymm of a date column known to lie in start..end, as a CASE over the month boundaries: the same
    value as year*100+month, but on SQLite comparing dates is far cheaper than strftime() over many rows."""
    from sqlalchemy import case, literal

    y, m = start.year, start.month
    whens = []
    while (y, m) < (end.year, end.month):
        ny, nm = (y + 1, 1) if m == 12 else (y, m + 1)
        whens.append((column < date(ny, nm, 1), literal(y * 100 + m)))
        y, m = ny, nm
    last = literal(end.year * 100 + end.month)
    return case(*whens, else_=last) if whens else last
