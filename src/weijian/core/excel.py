"""Cells written to every xlsx and csv export (issue 12, part 7; OWASP ASVS V1.2.10): a text value that a
spreadsheet would read as a formula — starting with `=`, `+`, `-`, `@`, a tab or a carriage return — is
written as text with a leading `'`, so `=HYPERLINK(…)` in an address shows as typed and never runs."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from openpyxl.worksheet.worksheet import Worksheet

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\x00")


def safe_cell(value: Any) -> Any:
    """The value to write: numbers, dates and None unchanged; text that could start a formula prefixed."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in values]


def append(ws: Worksheet, values: Iterable[Any]) -> None:
    """`ws.append(values)` for every export: each cell through `safe_cell`."""
    ws.append(safe_row(values))
