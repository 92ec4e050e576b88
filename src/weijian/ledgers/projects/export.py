"""The projects' overview as xlsx: one row per project with its 序时进度 on the day (every cell through
core.excel, formulas escaped)."""
from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date

from openpyxl import Workbook

from weijian.core.excel import append
from weijian.ledgers.projects.queries import Standing
from weijian.ledgers.projects.rules import round4, rules

COLUMNS = ("no", "category", "name", "owner", "person_in_charge", "unit", "target", "starts_on", "ends_on",
           "done", "expected_share", "actual_share", "expected_done", "status")


def workbook(rows: list[Standing], tr: Callable[..., str], locale: str, today: date) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = tr("ledgers.projects.title")[:31]
    append(ws, [tr("ledgers.projects.overview_as_of", date=today.isoformat())])
    append(ws, [tr(f"ledgers.projects.columns.{c}") for c in COLUMNS])
    cats, units = rules().categories, rules().units
    for no, s in enumerate(rows, start=1):
        p, g = s.project, s.progress
        append(ws, [no, cats[p.category].text(locale) if p.category in cats else p.category, p.name, p.owner,
                    p.person_in_charge, units[p.unit].text(locale) if p.unit in units else p.unit, float(p.target),
                    p.starts_on, p.ends_on, None if s.done is None else float(s.done),
                    round4(g.expected_share) if g else None, round4(g.actual_share) if g else None,
                    g.rounded()["expected_done"] if g else None,
                    tr(f"ledgers.projects.status.{g.status}") if g else tr("ledgers.projects.status.no_figure")])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
