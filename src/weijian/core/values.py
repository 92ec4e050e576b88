"""Parsing of raw form/API values into typed ones, collecting errors by field (shared by the domains)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from weijian.core import clock
from weijian.core.bounds import MAX_DATE, MIN_DATE, date_in_range
from weijian.core.errors import ErrorCollector


def parse_date(raw: Any, name: str, errs: ErrorCollector, *, required: bool = True) -> date | None:
    """A date from a date, a datetime (an aware one as its county day) or ISO text (`/` accepted);
    a missing or bad value is added to `errs` under `name` and gives None."""
    if isinstance(raw, datetime):
        return clock.local_date(raw) if raw.tzinfo else raw.date()
    if isinstance(raw, date):
        return raw
    text = str(raw or "").strip()
    if not text:
        if required:
            errs.add(name, "core.errors.validation.missing")
        return None
    try:
        value = date.fromisoformat(text.replace("/", "-"))
    except ValueError:
        errs.add(name, "core.errors.validation.date_parsing")
        return None
    if not date_in_range(value):
        errs.add(name, "core.errors.validation.date_out_of_range", min=MIN_DATE.isoformat(), max=MAX_DATE.isoformat())
        return None
    return value
