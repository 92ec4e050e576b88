"""Indicator values as a formatted xlsx workbook: Chinese (or English) headers, org-unit name and code,
period, numerator, denominator, value, target and status, with a bold header, column widths, number
formats, frozen header and status fills."""
from __future__ import annotations

from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from weijian.core import excel
from weijian.indicators.definitions import definitions

COLUMNS = ("indicator", "unit", "orgunit_name", "orgunit", "level", "period", "numerator", "denominator", "value",
           "target", "status")
WIDTHS = {"indicator": 34, "unit": 12, "orgunit_name": 18, "orgunit": 15, "level": 8, "period": 9,
          "numerator": 14, "denominator": 14, "value": 12, "target": 10, "status": 8}
FILLS = {"green": "C6EFCE", "amber": "FFEB9C", "red": "FFC7CE"}


def workbook(values: list[Any], tr: Any, approved: dict[tuple[str, str, str], str] | None = None) -> bytes:
    """`approved`: (indicator, org unit, period) → the approval's note (已审核数 X，现记录数 Y，审核后更正 N 条),
    shown in a last column when any value is of an approved period."""
    defs = definitions().indicators
    wb = Workbook()
    ws = wb.active
    ws.title = tr("indicators.export.sheet")
    excel.append(ws, [tr(f"indicators.columns.{c}") for c in COLUMNS]
                 + ([tr("indicators.approval.approved")] if approved else []))
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for row, v in enumerate(values, start=2):  # ws.max_row per row would walk the sheet: quadratic
        ind = defs[v.indicator]
        status = tr(f"indicators.status.{v.status}") if v.status else ""
        excel.append(ws, [ind.name(tr.locale), ind.unit(tr.locale), v.orgunit_name, v.orgunit,
                   tr(f"indicators.levels.{v.level}"), v.period, v.numerator, v.denominator, v.value, v.target,
                   status] + ([approved.get((v.indicator, v.orgunit, str(v.period)), "")] if approved else []))
        money = ind.money
        fmt = "0" if ind.decimals == 0 else "0." + "0" * ind.decimals
        ws.cell(row, 7).number_format = "#,##0.00" if money else "#,##0"
        ws.cell(row, 8).number_format = "#,##0"
        ws.cell(row, 9).number_format = ("#,##0" if ind.decimals == 0 else "#,##0." + "0" * ind.decimals) \
            if ind.denominator is None else fmt
        ws.cell(row, 10).number_format = "0.##"
        ws.cell(row, 4).number_format = "@"
        if v.status in FILLS:
            ws.cell(row, 11).fill = PatternFill("solid", start_color=FILLS[v.status], end_color=FILLS[v.status])
    for i, c in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = WIDTHS[c]
    width = len(COLUMNS) + (1 if approved else 0)
    if approved:
        ws.column_dimensions[get_column_letter(width)].width = 40
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(width)}{len(values) + 1}"
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


# --- the drill-down: the records behind one figure ---------------------------------------------------
DRILL_WIDTHS = {"name": 14, "id_number": 22, "village_code": 15, "village_name": 16, "date": 12, "facility": 22,
                "detail": 30}


def drill_workbook(ind: Any, unit_name: str, unit_code: str, period: str, figure: Any,
                   sheets: list[tuple[str, list[str], list[dict[str, Any]], int]], tr: Any) -> bytes:
    """One sheet per list (counted; missing for a rate): a title line naming the indicator, the org unit
    (name and code), the period and the figure, then the rows under Chinese headers; a list cut at the
    export's limit says how many rows it has in all. Every cell through core.excel (formulas escaped)."""
    from weijian.indicators.service import cell_text

    wb = Workbook()
    wb.remove(wb.active)
    for which, columns, rows, total in sheets:
        ws = wb.create_sheet(tr(f"indicators.drill.lists.{which}"))
        value = "—" if figure is None or figure.value is None else f"{figure.value}{ind.unit(tr.locale)}"
        excel.append(ws, [tr("indicators.drill.export_title", indicator=ind.name(tr.locale), unit=unit_name,
                             code=unit_code, period=period, value=value)])
        excel.append(ws, [tr(f"indicators.drill.help.{which}"),
                          tr("indicators.drill.export_total", total=total, shown=len(rows))])
        excel.append(ws, ["#", *[tr(f"indicators.columns.{c}") for c in columns]])
        for cell in ws[3]:
            cell.font = Font(bold=True)
        for n, r in enumerate(rows, start=1):
            excel.append(ws, [n, *[cell_text(r, c, tr) for c in columns]])
        for i, c in enumerate(columns, start=2):
            ws.column_dimensions[get_column_letter(i)].width = DRILL_WIDTHS.get(c, 14)
            if c in ("id_number", "village_code"):
                for row in ws.iter_rows(min_row=4, min_col=i, max_col=i):
                    row[0].number_format = "@"
            if c == "date":
                for row in ws.iter_rows(min_row=4, min_col=i, max_col=i):
                    row[0].number_format = "yyyy-mm-dd"
        ws.freeze_panes = "A4"
    out = BytesIO()
    wb.save(out)
    return out.getvalue()
