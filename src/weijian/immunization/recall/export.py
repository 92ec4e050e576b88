"""The recall list as a workbook (通知单, xlsx) and the texts the list shows (a dose's status, a vaccine's
label, the guardian): shared by the export, the pages' table and the worklist."""
from __future__ import annotations

import io
from datetime import date
from functools import partial

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from weijian.core import excel
from weijian.core.disclosure import MASKED, Disclosure
from weijian.core.i18n import translate
from weijian.immunization.recall.queries import RecallChild, RecallDose, RecallList

XLSX_COLUMNS = ("village", "child", "sex", "birth_date", "guardian", "phone", "vaccine", "dose", "status",
                "due_date", "latest_date")
_WIDTHS = (14, 10, 6, 12, 10, 14, 20, 6, 22, 12, 12)
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def status_text(d: RecallDose, locale: str) -> str:
    """The dose's status as the list shows it: 应种 / 逾期未种, with a refusal's reason and date."""
    text = translate(f"immunization.status.{d.status}", locale)
    if d.refusal_reason:
        reason = translate(f"immunization.recall.refusal.{d.refusal_reason}", locale)
        text += " · " + translate("immunization.recall.refusal_on", locale, reason=reason,
                                   date=d.refusal_date.isoformat() if d.refusal_date else "")
    return text


def recall_xlsx(recall: RecallList, *, locale: str = "zh_CN", disclosure: Disclosure = MASKED) -> Workbook:
    """The list as a formatted workbook: a title row, the header (村, 儿童姓名, 性别, 出生日期, 监护人, 联系电话,
    疫苗, 剂次, 状态, 应种日期, 最迟日期), one row per dose with the child's columns on each row (so the
    sheet sorts and filters), children banded, ready to print (landscape, one page wide, header repeated)."""
    t = partial(translate, locale=locale)
    wb = Workbook()
    ws = wb.active
    ws.title = t("immunization.recall.sheet")[:31]
    area = recall.point_name or recall.area_name
    excel.append(ws, [t("immunization.recall.sheet_title", area=area, start=recall.week_start.isoformat(),
                 end=recall.week_end.isoformat())])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(XLSX_COLUMNS))
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center")
    excel.append(ws, [t(f"immunization.recall.columns.{c}") for c in XLSX_COLUMNS])
    thin = Side(style="thin", color="999999")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    head_fill = PatternFill("solid", fgColor="DDE6F0")
    band_fill = PatternFill("solid", fgColor="F3F6F9")
    for cell in ws[2]:
        cell.font = Font(bold=True)
        cell.fill = head_fill
        cell.border = border
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for k, child in enumerate(recall.children):
        sex = translate(f"residents.sex.{child.sex}", locale)
        guardian = guardian_text(child, locale)
        born = child.birth_date if disclosure.full else child.birth_date.year
        base = [child.village_name, child.name, sex, born, guardian, disclosure.phone(child.guardian_phone) or ""]
        lines = [[*base, vaccine_label(d.vaccine, locale), d.dose, status_text(d, locale), d.earliest_date,
                  d.latest_date] for d in child.doses]
        if child.history_errors:
            lines.append([*base, "", None, t("immunization.recall.history_error"), None, None])
        for line in lines:
            excel.append(ws, line)
            for cell in ws[ws.max_row]:
                cell.border = border
                if k % 2:
                    cell.fill = band_fill
                if isinstance(cell.value, date):
                    cell.number_format = "yyyy-mm-dd"
                    cell.alignment = Alignment(horizontal="center")
            ws.cell(row=ws.max_row, column=6).number_format = "@"  # a phone number is text, not a number
    for i, width in enumerate(_WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A3"
    if ws.max_row > 2:
        ws.auto_filter.ref = f"A2:{get_column_letter(len(XLSX_COLUMNS))}{ws.max_row}"
    ws.print_title_rows = "1:2"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    return wb


def workbook_bytes(wb: Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def vaccine_label(code: str, locale: str) -> str:
    """The vaccine's name with its code: 乙肝疫苗（HepB）."""
    return translate("immunization.recall.with_code", locale,
                     name=translate(f"immunization.vaccines.{code}", locale), code=code)


def guardian_text(child: RecallChild, locale: str) -> str:
    """The guardian's name with how they were found: 王芳（母亲）."""
    if not child.guardian_name:
        return ""
    if not child.guardian_relation:
        return child.guardian_name
    return translate("immunization.recall.with_relation", locale, name=child.guardian_name,
                     relation=translate(f"immunization.recall.relations.{child.guardian_relation}", locale))
