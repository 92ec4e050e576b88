"""Reading a roster file: the header row found and mapped to the import's columns (data/import_columns.yaml),
the data rows of the first sheet of an xlsx file or of a csv file, and a cell's text or date as counties write
them. File-level problems raise InvalidInput on the field "file"."""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Generator, Iterable
from contextlib import closing
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

import yaml
from openpyxl.reader.excel import ExcelReader
from openpyxl.utils import column_index_from_string
from openpyxl.utils.datetime import from_excel, from_ISO8601
from openpyxl.xml.constants import SHARED_STRINGS
from openpyxl.xml.functions import iterparse

from weijian.core.errors import FieldError, InvalidInput
from weijian.core.i18n import DEFAULT_LOCALE, translate

COLUMNS_FILE = Path(__file__).resolve().parent.parent / "data" / "import_columns.yaml"
HEADER_SCAN_ROWS = 10  # a title row or two above the header row is common in county exports
HEADER_JUNK = re.compile(r"[\s\u3000*\uff0a]+")  # left out when headers and village names are compared
_DATE = re.compile(r"^(\d{4})\D{1,2}(\d{1,2})\D{1,2}(\d{1,2})\D?(?:\s.*)?$")
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_XLSX_MAGIC = b"PK\x03\x04"
_XLS_MAGIC = b"\xd0\xcf\x11\xe0"
_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_ROW, _V, _T, _SI, _R = _NS + "row", _NS + "v", _NS + "t", _NS + "si", _NS + "r"
_COLUMN_DIGITS = "0123456789"


# --- columns ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    field: str
    header: str
    required: bool
    aliases: tuple[str, ...]


@lru_cache(maxsize=1)
def columns() -> tuple[Column, ...]:
    data = yaml.safe_load(COLUMNS_FILE.read_text(encoding="utf-8"))
    return tuple(Column(c["field"], c["header"], bool(c["required"]), tuple(c.get("aliases") or ()))
                 for c in data["columns"])


@lru_cache(maxsize=1)
def _header_lookup() -> dict[str, str]:
    out: dict[str, str] = {}
    for col in columns():
        for label in (col.header, *col.aliases):
            out[_clean_header(label)] = col.field
    return out


def _clean_header(value: Any) -> str:
    return HEADER_JUNK.sub("", text_of(value))


# --- reading the file ------------------------------------------------------------------------------
@dataclass
class Table:
    headers: list[str]  # the header row as written (stripped)
    header_row: int
    rows: list[tuple[int, tuple]]  # (spreadsheet row number, cell values), blank rows left out
    field_index: dict[str, int]  # field -> position in a row


def read_table(path: Path) -> Table:
    """The header row and data rows of the first sheet of an xlsx file, or of a csv file (UTF-8 with or
    without BOM, else GB18030). File-level problems raise InvalidInput on the field "file"."""
    header_at: int | None = None
    headers: tuple = ()
    scanned: list[tuple[int, tuple]] = []
    data: list[tuple[int, tuple]] = []
    with closing(xlsx_rows(path) if _is_xlsx(path) else _csv_rows(path)) as raw_rows:
        for number, cells in raw_rows:
            if header_at is not None:
                if not blank_row(cells):
                    data.append((number, cells))
            elif not blank_row(cells):
                # The header row: the first row naming at least 姓名 and 身份证号.
                scanned.append((number, cells))
                if {"name", "id_number"} <= {_header_lookup().get(_clean_header(c)) for c in cells}:
                    header_at, headers = number, cells
                elif len(scanned) >= HEADER_SCAN_ROWS:
                    break
    if header_at is None:
        if not scanned:
            raise InvalidInput("file", "residents.import.errors.empty")
        header_at, headers = scanned[0]  # no row looks like a header: say what the first row lacks
    index = _map_headers(headers)
    if not data:
        raise InvalidInput("file", "residents.import.errors.empty")
    return Table([text_of(h) for h in headers], header_at, data, index)


def _map_headers(headers: tuple) -> dict[str, int]:
    index: dict[str, int] = {}
    errors: list[FieldError] = []
    lookup = _header_lookup()
    for pos, cell in enumerate(headers):
        name = lookup.get(_clean_header(cell))
        if name is None:
            continue  # 序号, 备注, 错误原因 ...: not ours
        if name in index:
            errors.append(FieldError("file", "residents.import.errors.header_duplicate",
                                     {"column": text_of(cell)}))
        index[name] = pos
    missing = [c.header for c in columns() if c.required and c.field not in index]
    if missing:
        found = [text_of(h) for h in headers if text_of(h)]
        errors.insert(0, FieldError("file", "residents.import.errors.header_missing",
                                    {"columns": listing(missing), "found": listing(found)}))
    if errors:
        raise InvalidInput(errors=errors)
    return index


def listing(items: Iterable[Any], locale: str = DEFAULT_LOCALE) -> str:
    return translate("residents.import.list_separator", locale).join(str(i) for i in items)


def _is_xlsx(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
    except OSError:
        raise InvalidInput("file", "residents.import.errors.unreadable", file=path.name) from None
    if magic == _XLS_MAGIC:
        raise InvalidInput("file", "residents.import.errors.format", file=path.name)
    if magic == _XLSX_MAGIC:
        return True
    if path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
        raise InvalidInput("file", "residents.import.errors.unreadable", file=path.name)
    return False


class _WorkbookReader(ExcelReader):
    """openpyxl's read-only workbook loader (what `load_workbook(read_only=True)` runs), with the shared
    string table read by a lean loop: openpyxl's builds an object per string, and a county roster has two
    unique strings a row (identity number, phone) -- about 10 s of CPU for 100,000 rows."""

    def read_strings(self) -> None:
        part = self.package.find(SHARED_STRINGS)
        if part is not None:
            with self.archive.open(part.PartName[1:]) as src:
                self.shared_strings = string_table(src)


def string_table(source: IO[bytes]) -> list[str]:
    """The text of each <si>: its <t>, or its rich-text runs' <t> joined; phonetic runs left out (as
    openpyxl's read_string_table does)."""
    strings: list[str] = []
    for _event, si in iterparse(source):
        if si.tag != _SI:
            continue
        plain = si.find(_T)
        text = plain.text or "" if plain is not None else "".join(r.findtext(_T) or "" for r in si.iterfind(_R))
        strings.append(text.replace("x005F_", ""))
        si.clear()
    return strings


def xlsx_rows(path: Path) -> Generator[tuple[int, tuple[Any, ...]]]:
    try:
        reader = _WorkbookReader(path, read_only=True, data_only=True)
        reader.read()
        wb = reader.wb
    except Exception:
        raise InvalidInput("file", "residents.import.errors.unreadable", file=path.name) from None
    try:
        ws = wb.worksheets[0]
        try:
            # openpyxl's private reader parts: typed by no stub; AttributeError below is the fallback.
            open_source, strings = ws._get_source, ws._shared_strings  # type: ignore[attr-defined]
            date_styles, epoch = wb._date_formats, wb.epoch  # type: ignore[attr-defined]
        except AttributeError:  # another openpyxl: its own, slower, iteration
            # Some exporters write a wrong <dimension>; trusting it would cut rows or columns off.
            ws.reset_dimensions()
            yield from enumerate(ws.iter_rows(min_row=1, min_col=1, values_only=True), start=1)
            return
        with open_source() as source:
            yield from sheet_rows(source, strings, date_styles, epoch)
    finally:
        wb.close()


@lru_cache(maxsize=4096)
def _column_index(letters: str) -> int:
    return column_index_from_string(letters)


def sheet_rows(source: IO[bytes], strings: list, date_styles: Any, epoch: datetime) -> Iterable[tuple[int, tuple]]:
    """(row number, values) of a worksheet part, blank rows included, as openpyxl's read-only
    `iter_rows(values_only=True)` gives them. The workbook is opened by openpyxl (read_only=True), which
    also resolves shared strings and date styles; this loop over the cells is ours because openpyxl's
    costs ~0.35 ms of CPU a row (over 30 s for 100,000 rows) and this one a quarter of that."""
    expected = 1
    for _event, row in iterparse(source):
        if row.tag != _ROW:
            continue
        ref = row.get("r")
        number = int(ref) if ref else expected
        while expected < number:
            yield expected, ()
            expected += 1
        values: list[Any] = []
        for c in row:
            ref = c.get("r")
            position = _column_index(ref.rstrip(_COLUMN_DIGITS)) if ref else len(values) + 1
            while len(values) < position - 1:
                values.append(None)
            kind = c.get("t", "n")
            if kind == "inlineStr":
                value: Any = "".join(t.text or "" for t in c.iter(_T)) or None
            else:
                value = c.findtext(_V) or None
                if value is not None:
                    if kind == "s":
                        value = strings[int(value)] or None
                    elif kind == "n":
                        value = float(value) if ("." in value or "E" in value or "e" in value) else int(value)
                        if int(c.get("s", 0)) in date_styles:
                            value = from_excel(value, epoch)
                    elif kind == "b":
                        value = bool(int(value))
                    elif kind == "d":
                        value = from_ISO8601(value)
            values.append(value)
        yield number, tuple(values)
        expected = number + 1
        row.clear()


def _csv_rows(path: Path) -> Generator[tuple[int, tuple[Any, ...]]]:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InvalidInput("file", "residents.import.errors.encoding", file=path.name)
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    for number, cells in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1):
        yield number, tuple(cells)


def blank_row(cells: tuple) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def text_of(value: Any) -> str:
    if value is None:
        return ""
    if type(value) is str:
        return value.strip()
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(" ")
    return str(value).strip()


def date_of(value: Any) -> Any:
    """A date from an Excel date, 'YYYY-MM-DD', 'YYYY/MM/DD', 'YYYY.M.D', 'YYYY年M月D日', 'YYYYMMDD' or
    an Excel serial number; anything else is returned as text, for the command to refuse."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 10000101 <= value <= 99991231:
            value = str(int(value))
        elif 0 < value < 2958466:  # Excel serial days (up to 9999-12-31)
            return from_excel(value).date()
    text = text_of(value)
    m = _DATE_COMPACT.match(text) or _DATE.match(text)
    if m:
        try:
            return date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            return text
    return text

