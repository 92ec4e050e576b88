"""The projects' overview as xlsx: one row per project with its 序时进度 on the day, then a sheet of counts by
category and one by owner (every cell through core.excel, formulas escaped)."""
from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date

from openpyxl import Workbook

from weijian.core.excel import append
from weijian.ledgers.projects.queries import Standing, overview
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
    for by in ("category", "owner"):
        sheet = wb.create_sheet(tr(f"ledgers.projects.by_{by}")[:31])
        append(sheet, [tr(f"ledgers.projects.columns.{by}"), tr("ledgers.projects.labels.projects"),
                       *(tr(f"ledgers.projects.status.{s}") for s in ("behind", "on_track", "ahead", "no_figure"))])
        for group in overview(rows, by):
            key = cats[group.key].text(locale) if by == "category" and group.key in cats else group.key
            append(sheet, [key, group.projects, group.behind, group.on_track, group.ahead, group.no_figure])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
