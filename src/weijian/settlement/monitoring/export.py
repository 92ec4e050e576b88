"""The poverty-risk list as a workbook (xlsx): one row per flagged person with the figures the page shows and
their review status; identity numbers masked, every cell through core.excel (no text starts a formula)."""
from __future__ import annotations

import io
from functools import partial

from openpyxl import Workbook
from openpyxl.styles import Font

from weijian.core import clock, excel
from weijian.core.i18n import translate
from weijian.core.identifiers import mask_id_number
from weijian.settlement.monitoring.queries import AtRisk, RiskList

COLUMNS = ("name", "id_number", "village", "category", "groups", "household_income", "stays_cost",
           "outpatient_bills", "outpatient_fund", "outpatient_cost", "total", "threshold", "basis", "status",
           "status_note", "status_by", "status_at")
MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _row(a: AtRisk, locale: str, group_labels: dict[str, str]) -> list[object]:
    t = partial(translate, locale=locale)
    return [a.name, mask_id_number(a.id_number), a.village_name, t(f"settlement.monitoring.category.{a.category}"),
            "、".join(group_labels.get(g, g) for g in a.groups),
            None if a.household_income is None else float(a.household_income), float(a.stays_cost),
            float(a.outpatient_bills), float(a.outpatient_fund), float(a.outpatient_cost), float(a.total),
            float(a.threshold), t(f"settlement.monitoring.basis.{a.basis}"),
            t(f"settlement.monitoring.status.{a.status}"), a.status_note, a.status_by,
            a.status_at.astimezone(clock.zone()).strftime("%Y-%m-%d %H:%M") if a.status_at else None]


def risk_xlsx(results: list[RiskList], *, locale: str, group_labels: dict[str, str]) -> bytes:
    """The pages of one list as a sheet: a title row (the window), the header, one row per person."""
    t = partial(translate, locale=locale)
    wb = Workbook()
    ws = wb.create_sheet(index=0)
    wb.remove(wb.worksheets[1])  # the default sheet (a new sheet is typed as a worksheet, the default is not)
    ws.title = t("settlement.monitoring.sheet")[:31]
    first = results[0]
    excel.append(ws, [t("settlement.monitoring.window", start=first.window_start.isoformat(),
                        end=first.as_of.isoformat())])
    ws["A1"].font = Font(bold=True, size=13)
    excel.append(ws, [t(f"settlement.monitoring.columns.{c}") for c in COLUMNS])
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for result in results:
        for a in result.items:
            excel.append(ws, _row(a, locale, group_labels))
    for row in ws.iter_rows(min_row=3, min_col=6, max_col=12):
        for cell in row:
            cell.number_format = "#,##0.00"
    ws.freeze_panes = "B3"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
