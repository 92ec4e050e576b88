"""The by-village screening summary as an xlsx workbook (every cell through core.excel: a village name or
note that starts like a formula is written as text)."""
from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from weijian.core import excel
from weijian.core.i18n import Translator
from weijian.surveillance.zoonoses.queries import VillageSummary
from weijian.surveillance.zoonoses.rules import zoonoses

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
COLUMNS = ("village_code", "village_name", "disease", "campaigns", "screened", "positives", "positive_rate",
           "exposures")


def summary_xlsx(rows: list[VillageSummary], tr: Translator) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert isinstance(ws, Worksheet)
    ws.title = tr("surveillance.zoonoses.summary_sheet")
    excel.append(ws, [tr(f"surveillance.zoonoses.columns.{c}") for c in COLUMNS])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r in rows:
        excel.append(ws, [r.village_code, r.village_name, zoonoses().disease_name(r.disease, tr.locale),
                          r.campaigns, r.screened, r.positives, r.positive_rate, r.exposures])
    for row in ws.iter_rows(min_row=2, min_col=1, max_col=1):
        row[0].number_format = "@"
    for row in ws.iter_rows(min_row=2, min_col=7, max_col=7):
        row[0].number_format = "0.00%"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
