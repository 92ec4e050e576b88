"""API shapes shared by settlement's areas: money as text with two decimals ("4080.00"), so an amount stays
exact for any reader and no float ever carries one."""
from __future__ import annotations

from decimal import Decimal


def money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


__all__ = ["money"]
