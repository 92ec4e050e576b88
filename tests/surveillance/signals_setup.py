"""Synthetic daily counts and actors for the signal tests (the case reports are another engineer's: the run
takes its counts as an argument)."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

from tests import factories as f
from weijian.core.actor import Actor

AS_OF = date(2026, 6, 30)  # law-2025 is in force
CDC = Actor(user_id=None, username="cdc_li", role="cdc_staff", scope_code=f.COUNTY,
            permissions=frozenset({"signal:read", "signal:verify"}))
READER = Actor(user_id=None, username="reader", role="bureau_admin", scope_code=f.COUNTY,
               permissions=frozenset({"signal:read"}))
TOWN_B_ONLY = Actor(user_id=None, username="town_b", role="township_doctor", scope_code=f.TOWN_B,
                    permissions=frozenset({"signal:read", "signal:verify"}))


class Provider:
    """A counts provider with daily_counts' signature that records what it was asked."""

    def __init__(self, counts: Mapping[tuple[str, str], Mapping[date, int]]) -> None:
        self.counts = {k: dict(v) for k, v in counts.items()}
        self.calls: list[tuple[date, date]] = []

    def __call__(self, *, session, start: date, end: date):
        self.calls.append((start, end))
        return {k: {d: n for d, n in v.items() if start <= d <= end} for k, v in self.counts.items()}


def days_before(n: int, as_of: date = AS_OF) -> date:
    return as_of - timedelta(days=n)
