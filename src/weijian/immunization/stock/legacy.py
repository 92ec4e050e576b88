"""Stock as vaccination records called it before either had typed commands (issue 13): the raw-value parsers
and a lot look-up that takes the form's text. Only immunization.records and its pages use it; delete this
module when records takes its own commands (its helper's branch), and call stock.service / stock.queries."""
from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from weijian.core import clock
from weijian.core.bounds import MAX_DATE, MIN_DATE, date_in_range
from weijian.core.errors import ErrorCollector
from weijian.core.values import parse_date
from weijian.immunization.models import VaccineLot
from weijian.immunization.schedule import VACCINE_CODES
from weijian.immunization.stock import queries
from weijian.immunization.stock.queries import available_lots, balance, managed_points, point_of_facility, suggest_lot
from weijian.immunization.stock.service import use_dose

_E = "immunization.records.errors."


# --- values (forms send strings, the API typed values) ---------------------------------------------
def parse_int(raw: Any, name: str, errs: ErrorCollector, *, required: bool = True) -> int | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            errs.add(name, "core.errors.validation.missing")
        return None
    if isinstance(raw, bool):
        errs.add(name, "core.errors.validation.int_parsing")
        return None
    if isinstance(raw, int):
        return raw
    try:
        return int(str(raw).strip())
    except ValueError:
        errs.add(name, "core.errors.validation.int_parsing")
        return None


def parse_datetime(raw: Any, name: str, errs: ErrorCollector, *, required: bool = True) -> datetime | None:
    """A moment: a datetime or ISO text (`2025-06-01T09:30`, `2025-06-01 09:30`, with or without an offset);
    without an offset it is county time. A bare date means that day at noon (the time unknown)."""
    if isinstance(raw, datetime):
        return raw if raw.tzinfo else raw.replace(tzinfo=clock.zone())
    if isinstance(raw, date):
        return datetime.combine(raw, time(12), tzinfo=clock.zone())
    text = str(raw or "").strip()
    if not text:
        if required:
            errs.add(name, "core.errors.validation.missing")
        return None
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(12), tzinfo=clock.zone())
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        errs.add(name, "immunization.records.errors.datetime_format")
        return None
    if not date_in_range(value.date()):
        errs.add(name, "core.errors.validation.date_out_of_range", min=MIN_DATE.isoformat(), max=MAX_DATE.isoformat())
        return None
    return value if value.tzinfo else value.replace(tzinfo=clock.zone())


def parse_text(raw: Any, name: str, errs: ErrorCollector, max_length: int, *, required: bool = False) -> str | None:
    text = str(raw or "").strip()
    if not text:
        if required:
            errs.add(name, "core.errors.validation.missing")
        return None
    if len(text) > max_length:
        errs.add(name, "core.errors.validation.string_too_long", max_length=max_length)
        return None
    return text


def validate_vaccine(raw: Any, errs: ErrorCollector, name: str = "vaccine") -> str | None:
    code = str(raw or "").strip()
    if not code:
        errs.add(name, "core.errors.validation.missing")
        return None
    if code not in VACCINE_CODES:
        errs.add(name, _E + "vaccine_unknown", vaccine=code, allowed=", ".join(VACCINE_CODES))
        return None
    return code


def get_lot(*, session: Any, lot_id: Any, field: str = "lot_id") -> VaccineLot:
    """stock.queries.get_lot for a lot id as typed in a form."""
    errs = ErrorCollector()
    lid = parse_int(lot_id, field, errs)
    errs.raise_if_any()
    return queries.get_lot(session=session, lot_id=lid, field=field)


__all__ = ["available_lots", "balance", "get_lot", "managed_points", "parse_date", "parse_datetime", "parse_int",
           "parse_text", "point_of_facility", "suggest_lot", "use_dose", "validate_vaccine"]
