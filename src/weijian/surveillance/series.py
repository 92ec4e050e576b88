"""A daily count file (`date,count`, one line a day, missing days zero) read into a mapping date → count;
every bad line is named by its number, as the user sees it in an editor (1 = the first line)."""
from __future__ import annotations

import csv
import io
from datetime import date

from weijian.core.errors import FieldError, InvalidInput

FIELD = "counts"
HEADER = ("date", "count")
_E = "surveillance.errors.counts."
MAX_COUNT = 10_000_000


def parse_counts(text: str) -> dict[date, int]:
    """The counts of a `date,count` file (a header line `date,count` is optional); InvalidInput naming each bad
    line: a bad date, a count that is not a whole number, a negative count, a date given twice."""
    errors: list[FieldError] = []
    out: dict[date, int] = {}
    seen: dict[date, int] = {}
    for number, cells in enumerate(csv.reader(io.StringIO(text.lstrip("\ufeff"))), start=1):
        cells = [c.strip() for c in cells]
        if not any(cells):
            continue
        if number == 1 and tuple(c.lower() for c in cells) == HEADER:
            continue
        if len(cells) != 2:
            errors.append(FieldError(FIELD, _E + "columns", {"line": number, "found": len(cells)}, row=number))
            continue
        raw_date, raw_count = cells
        try:
            day = date.fromisoformat(raw_date)
        except ValueError:
            errors.append(FieldError(FIELD, _E + "bad_date", {"line": number, "value": raw_date}, row=number))
            continue
        try:
            count = int(raw_count)
        except ValueError:
            errors.append(FieldError(FIELD, _E + "bad_count", {"line": number, "value": raw_count}, row=number))
            continue
        if count < 0:
            errors.append(FieldError(FIELD, _E + "negative_count", {"line": number, "value": raw_count},
                                     row=number))
            continue
        if count > MAX_COUNT:
            errors.append(FieldError(FIELD, _E + "too_large", {"line": number, "value": raw_count,
                                                              "max": MAX_COUNT}, row=number))
            continue
        if day in seen:
            errors.append(FieldError(FIELD, _E + "duplicate_date", {"line": number, "value": raw_date,
                                                                   "first": seen[day]}, row=number))
            continue
        seen[day] = number
        out[day] = count
    if errors:
        raise InvalidInput(errors=errors)
    if not out:
        raise InvalidInput(FIELD, _E + "empty")
    return out
