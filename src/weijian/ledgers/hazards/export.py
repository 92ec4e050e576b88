"""The three ledgers as xlsx, in the column layout of the county's sweep (序号, 单位, …; weijian's reading of
the reports' ledgers: VERIFY against the county's template). Every cell through core.excel (formulas
escaped)."""
from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from typing import Any

from openpyxl import Workbook

from weijian.core.excel import append
from weijian.ledgers.hazards.queries import LedgerRow
from weijian.ledgers.hazards.rules import rules

# view → the columns (locale keys under ledgers.hazards.columns) in the county's order.
COLUMNS = {
    "problems": ("no", "facility", "category", "inspected_on", "inspector", "location", "description", "severity",
                 "standard", "deadline", "responsible_person", "responsible_leader", "status", "overdue_days"),
    "persons": ("no", "facility", "responsible_leader", "responsible_person", "description", "deadline",
                "standard", "status", "overdue_days"),
    "completion": ("no", "facility", "description", "standard", "deadline", "measures", "done_on", "verified_by",
                   "verified_on", "on_time"),
    "overdue": ("no", "facility", "responsible_leader", "responsible_person", "description", "deadline",
                "overdue_days", "status"),
}


def cell(row: LedgerRow, column: str, no: int, tr: Callable[..., str], locale: str) -> Any:
    p, latest, accepted = row.problem, row.latest, row.accepted
    values: dict[str, Callable[[], Any]] = {
        "no": lambda: no,
        "facility": lambda: row.facility_name,
        "category": lambda: rules().categories[row.inspection.category].text(locale)
        if row.inspection.category in rules().categories else row.inspection.category,
        "inspected_on": lambda: row.inspection.inspected_on,
        "inspector": lambda: row.inspection.inspector,
        "location": lambda: p.location,
        "description": lambda: p.description,
        "severity": lambda: rules().severities[p.severity].text(locale) if p.severity in rules().severities
        else p.severity,
        "standard": lambda: p.standard,
        "deadline": lambda: p.deadline,
        "responsible_person": lambda: p.responsible_person,
        "responsible_leader": lambda: p.responsible_leader,
        "status": lambda: tr(f"ledgers.hazards.statuses.{p.status}"),
        "overdue_days": lambda: row.days_overdue or None,
        "measures": lambda: (accepted or latest).measures if (accepted or latest) else None,
        "done_on": lambda: (accepted or latest).done_on if (accepted or latest) else None,
        "verified_by": lambda: accepted.verified_by if accepted else None,
        "verified_on": lambda: accepted.verified_on if accepted else None,
        "on_time": lambda: None if row.on_time is None else tr("ledgers.hazards.labels." +
                                                                 ("on_time" if row.on_time else "late")),
    }
    return values[column]()


def workbook(rows: list[LedgerRow], view: str, tr: Callable[..., str], locale: str, today: date) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = tr(f"ledgers.hazards.views.{view}")[:31]
    append(ws, [tr(f"ledgers.hazards.views.{view}") + f"（{today.isoformat()}）"])
    append(ws, [tr(f"ledgers.hazards.columns.{c}") for c in COLUMNS[view]])
    for no, row in enumerate(rows, start=1):
        append(ws, [cell(row, c, no, tr, locale) for c in COLUMNS[view]])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
