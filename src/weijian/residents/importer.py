"""Bulk import of residents from a county roster (居民花名册, xlsx or csv): read every row, validate it
and the file as a whole, build the households, then write everything with a few bulk INSERTs.

Rules the import keeps:
- All or nothing by default: one bad row and nothing is written; an error report (row, column, value,
  reason) is written instead and `ImportRefused` is raised. With `skip_invalid=True` the good rows are
  imported and the bad ones are copied, with their reasons, to a workbook the user can fix and re-import.
- Rows whose identity number is already registered are matched, never written: they are counted as
  `unchanged`. The record in weijian may have been corrected since the county's spreadsheet was made,
  so a roster never overwrites it (changes go through the record's edit form, one audited update at a
  time). Importing the same file twice therefore creates nothing the second time.
- Every row needs an identity number: it is what makes a re-import idempotent (a newborn not yet
  numbered is registered through the form).
- A row's 户主身份证号 names its household. The householder (与户主关系 = 户主; 户主身份证号 = own number
  or blank) may be in the file or already registered; a new household is numbered "H" + the
  householder's identity number unless the 户号 column gives a number.
- One audit event for the whole import (action "import", entity type "resident_import").
"""
from __future__ import annotations

import contextlib
import csv
import io
import re
from collections.abc import Generator, Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from time import perf_counter
from typing import IO, Any

import yaml
from openpyxl import Workbook
from openpyxl.reader.excel import ExcelReader
from openpyxl.utils import column_index_from_string
from openpyxl.utils.datetime import from_excel, from_ISO8601
from openpyxl.xml.constants import SHARED_STRINGS
from openpyxl.xml.functions import iterparse
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.core import clock, excel, tallies
from weijian.core.actor import Actor
from weijian.core.errors import FieldError, InvalidInput
from weijian.core.i18n import DEFAULT_LOCALE, translate
from weijian.core.identifiers import parse_id_number
from weijian.orgunits import service as orgunits_service
from weijian.residents import service as residents_service
from weijian.residents.models import Household, Resident, ResidentGroup

COLUMNS_FILE = Path(__file__).resolve().parent / "data" / "import_columns.yaml"
CHUNK = 5000  # rows per INSERT call; each is sent in pages of 1000 (SQLAlchemy insertmanyvalues)
IN_CHUNK = 5000  # values per IN (...) look-up: under SQLite's and PostgreSQL's parameter limits
HEADER_SCAN_ROWS = 10  # a title row or two above the header row is common in county exports
_HEADER_JUNK = re.compile(r"[\s\u3000*\uff0a]+")
_DATE = re.compile(r"^(\d{4})\D{1,2}(\d{1,2})\D{1,2}(\d{1,2})\D?(?:\s.*)?$")
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_VILLAGE_CODE = re.compile(r"^\d{12}$")
_XLSX_MAGIC = b"PK\x03\x04"
_XLS_MAGIC = b"\xd0\xcf\x11\xe0"
_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_ROW, _V, _T, _SI, _R = _NS + "row", _NS + "v", _NS + "t", _NS + "si", _NS + "r"
_COLUMN_DIGITS = "0123456789"


# --- results -------------------------------------------------------------------------------------
@dataclass
class ImportResult:
    file_name: str
    rows: int = 0  # data rows read (blank rows are not counted)
    created: int = 0
    unchanged: int = 0  # already registered: matched by identity number, left as they are
    invalid: int = 0
    households_created: int = 0
    # all-or-nothing: the error report; skip_invalid: the workbook of rows left out (None when none)
    error_report_path: Path | None = None
    errors: list[FieldError] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # read_validate, write: for benchmarks


class ImportRefused(InvalidInput):
    """The file has bad rows and the import was all-or-nothing: nothing was written."""

    def __init__(self, result: ImportResult) -> None:
        super().__init__(errors=result.errors)
        self.message_key = "residents.import.refused"
        self.params = {"invalid": result.invalid, "rows": result.rows}
        self.result = result


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
    return _HEADER_JUNK.sub("", _text(value))


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
    with closing(_xlsx_rows(path) if _is_xlsx(path) else _csv_rows(path)) as raw_rows:
        for number, cells in raw_rows:
            if header_at is not None:
                if not _blank(cells):
                    data.append((number, cells))
            elif not _blank(cells):
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
    return Table([_text(h) for h in headers], header_at, data, index)


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
                                     {"column": _text(cell)}))
        index[name] = pos
    missing = [c.header for c in columns() if c.required and c.field not in index]
    if missing:
        found = [_text(h) for h in headers if _text(h)]
        errors.insert(0, FieldError("file", "residents.import.errors.header_missing",
                                    {"columns": _listing(missing), "found": _listing(found)}))
    if errors:
        raise InvalidInput(errors=errors)
    return index


def _listing(items: Iterable[Any], locale: str = DEFAULT_LOCALE) -> str:
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


def _xlsx_rows(path: Path) -> Generator[tuple[int, tuple[Any, ...]]]:
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


def _blank(cells: tuple) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def _text(value: Any) -> str:
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


def _date(value: Any) -> Any:
    """A date from an Excel date, 'YYYY-MM-DD', 'YYYY/MM/DD', 'YYYY.M.D', 'YYYY年M月D日', 'YYYYMMDD' or
    an Excel serial number; anything else is returned as text for validate() to refuse."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 10000101 <= value <= 99991231:
            value = str(int(value))
        elif 0 < value < 2958466:  # Excel serial days (up to 9999-12-31)
            return from_excel(value).date()
    text = _text(value)
    m = _DATE_COMPACT.match(text) or _DATE.match(text)
    if m:
        try:
            return date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            return text
    return text


# --- villages ------------------------------------------------------------------------------------
@dataclass
class Villages:
    codes: set[str]
    in_scope: set[str]
    by_name: dict[str, list[str]]  # village name, and township name + village name -> codes

    def resolve(self, raw: str) -> tuple[str, FieldError | None]:
        """(code, error): a 12-digit code as it is; a name mapped to its code when unique."""
        if not raw or _VILLAGE_CODE.match(raw):
            return raw, None
        found = self.by_name.get(_HEADER_JUNK.sub("", raw), [])
        if len(found) == 1:
            return found[0], None
        if len(found) > 1:
            return raw, FieldError("village", "residents.import.errors.village_ambiguous", {"name": raw})
        return raw, None  # validate() reports it as unknown


def load_villages(*, session: Session, actor: Actor) -> Villages:
    townships = {u.code: u.name for u in orgunits_service.list_orgunits(session=session, level="township")}
    codes: set[str] = set()
    by_name: dict[str, list[str]] = {}
    for unit in orgunits_service.list_orgunits(session=session, level="village"):
        codes.add(unit.code)
        by_name.setdefault(_HEADER_JUNK.sub("", unit.name), []).append(unit.code)
        town = townships.get(unit.parent_code or "")
        if town:
            by_name.setdefault(_HEADER_JUNK.sub("", town + unit.name), []).append(unit.code)
    in_scope = {c for c in codes if orgunits_service.in_scope(scope_code=actor.scope_code, code=c)}
    return Villages(codes, in_scope, by_name)


# --- rows ------------------------------------------------------------------------------------------
@dataclass
class _Household:
    number: str
    village_code: str
    address: str | None = None
    db_id: int | None = None  # set for a registered household, and for a new one once inserted
    head_row: _Row | None = None  # the householder's row, when in the file
    is_new: bool = False


@dataclass
class _Row:
    number: int
    cells: tuple
    data: residents_service.ResidentData | None = None
    id_number: str | None = None  # normalized; known even when another field of the row is bad
    head_id: str | None = None
    is_head: bool = False
    relation_given: bool = False
    household_number: str | None = None
    errors: list[FieldError] = field(default_factory=list)
    existing: bool = False
    household: _Household | None = None

    def error(self, fld: str, key: str, **params: Any) -> None:
        self.errors.append(FieldError(fld, key, params, row=self.number))


_VALIDATE_FIELD = {"village_code": "village"}  # validate() field -> import column field


def _parse_row(number: int, cells: tuple, index: dict[str, int], villages: Villages, today: date,
               head_ids: dict[str, str | InvalidInput]) -> _Row:
    padded = cells + (None,) * (max(index.values()) + 1 - len(cells))

    def cell(name: str) -> Any:
        pos = index.get(name)
        return None if pos is None else padded[pos]

    row = _Row(number, cells)
    raw_village, village_error = villages.resolve(_text(cell("village")))
    if village_error:
        row.errors.append(FieldError(village_error.field, village_error.reason_key, village_error.params,
                                     row=number))
    raw_id = cell("id_number")
    id_lossy = isinstance(raw_id, float) and abs(raw_id) >= 2 ** 53
    values = {
        "name": _text(cell("name")), "sex": _text(cell("sex")), "birth_date": _date(cell("birth_date")),
        "id_number": "" if id_lossy else _text(raw_id), "phone": _text(cell("phone")),
        "village_code": raw_village, "insurance_scheme": _text(cell("insurance_scheme")),
        "groups": _text(cell("groups")), "relation_to_head": _text(cell("relation_to_head")),
        "household_number": _text(cell("household_number")), "address": _text(cell("address")),
    }
    try:
        row.data = residents_service.validate(values, today=today, known_villages=villages.codes)
    except InvalidInput as exc:
        for e in exc.errors:
            if e.field == "village_code" and village_error:
                continue  # already said why: the name is ambiguous
            row.errors.append(FieldError(_VALIDATE_FIELD.get(e.field, e.field), e.reason_key, e.params,
                                         row=number))
    if row.data is not None:
        row.id_number = row.data.id_number
        relation = row.data.relation_to_head
    else:
        if values["id_number"]:
            with contextlib.suppress(InvalidInput):
                row.id_number = parse_id_number(values["id_number"], today=today).normalized
        raw_relation = values["relation_to_head"]
        relation = residents_service.relation_code(raw_relation) if raw_relation else None
    if id_lossy:
        row.error("id_number", "residents.import.errors.id_number_as_number")
    elif not values["id_number"]:
        row.error("id_number", "core.errors.id_number.required")
    if row.data is not None and row.data.village_code not in villages.in_scope:
        row.error("village", "residents.errors.village_out_of_scope")

    raw_head = _text(cell("head_id_number"))
    if raw_head:
        # A household's members repeat its householder's number: parse each number once.
        parsed = head_ids.get(raw_head)
        if parsed is None:
            try:
                parsed = parse_id_number(raw_head, field="head_id_number", today=today).normalized
            except InvalidInput as exc:
                parsed = exc
            head_ids[raw_head] = parsed
        if isinstance(parsed, InvalidInput):
            row.errors.extend(FieldError(e.field, e.reason_key, e.params, row=number) for e in parsed.errors)
        else:
            row.head_id = parsed
    row.household_number = values["household_number"] or None
    row.relation_given = bool(values["relation_to_head"])
    head_is_self = row.head_id is not None and row.head_id == row.id_number
    if relation == "head":
        row.is_head = True
        if raw_head and row.head_id is not None and row.id_number is not None and not head_is_self:
            row.error("head_id_number", "residents.import.errors.head_id_not_self")
    elif head_is_self:
        if relation is None and not row.relation_given:
            row.is_head = True  # 户主身份证号 = own number and no relation written: the householder
        else:
            row.error("relation_to_head", "residents.import.errors.relation_not_head")
    elif row.relation_given and not raw_head and not row.household_number:
        row.error("head_id_number", "residents.import.errors.head_id_required")
    if row.is_head and row.id_number:
        row.head_id = row.id_number
    return row


# --- the import ------------------------------------------------------------------------------------
def import_file(*, session: Session, path: Path | str, actor: Actor, skip_invalid: bool = False,
                report_path: Path | str | None = None, locale: str = DEFAULT_LOCALE,
                today: date | None = None, file_name: str | None = None) -> ImportResult:
    """Import a roster. Flushes, never commits: the caller's unit of work is the one transaction.

    `report_path`: where to write the error report (refused) or the rejected rows (skip_invalid);
    default: beside the file. `file_name`: the name to log, when `path` is a temporary upload.
    """
    actor.require("resident:import")
    path = Path(path)
    today = today or clock.today()
    result = ImportResult(file_name=file_name or path.name)
    started = perf_counter()

    table = read_table(path)
    villages = load_villages(session=session, actor=actor)
    head_ids: dict[str, str | InvalidInput] = {}
    rows = [_parse_row(n, cells, table.field_index, villages, today, head_ids) for n, cells in table.rows]
    result.rows = len(rows)
    _check_duplicate_ids(rows)
    registered = _registered_residents(session, {r.id_number for r in rows if r.id_number}
                                       | {r.head_id for r in rows if r.head_id})
    for r in rows:
        r.existing = r.id_number in registered
    households = _HouseholdPlan(session, rows, registered)
    households.place_heads()
    households.place_members()

    bad = [r for r in rows if r.errors]
    result.invalid = len(bad)
    # Errors name the column as the file's header says it (身份证号码 if that is what the user wrote).
    result.errors = [FieldError(_column_label(table, e.field), e.reason_key, e.params, row=e.row)
                     for r in bad for e in r.errors]
    result.seconds["read_validate"] = perf_counter() - started
    if bad and not skip_invalid:
        result.error_report_path = _report_path(path, report_path, "residents.import.report.file_errors", locale)
        write_error_report(result.error_report_path, table, bad, locale)
        raise ImportRefused(result)

    started = perf_counter()
    good_new = [r for r in rows if not r.errors and not r.existing]
    result.unchanged = sum(1 for r in rows if not r.errors and r.existing)
    with _sqlite_page_cache(session):
        result.households_created = _insert_households(session, households.new_households())
        result.created = _insert_residents(session, good_new)
    accounts_service.audit(
        session=session, actor=actor, action="import", entity_type="resident_import",
        entity_id=result.file_name[:64], basis=residents_service.scope_basis(actor),
        detail={"file": result.file_name, "rows": result.rows, "created": result.created,
                "unchanged": result.unchanged, "invalid": result.invalid,
                "households_created": result.households_created, "skip_invalid": skip_invalid},
    )
    result.seconds["write"] = perf_counter() - started
    if bad:
        result.error_report_path = _report_path(path, report_path, "residents.import.report.file_rejected", locale)
        write_rejected_rows(result.error_report_path, table, bad, locale)
    return result


def _check_duplicate_ids(rows: list[_Row]) -> None:
    by_id: dict[str, list[_Row]] = {}
    for r in rows:
        if r.id_number:
            by_id.setdefault(r.id_number, []).append(r)
    for same in by_id.values():
        if len(same) > 1:
            numbers = _listing(r.number for r in same)
            for r in same:
                r.error("id_number", "residents.import.errors.id_number_duplicate_in_file", rows=numbers)


@dataclass(frozen=True)
class _Registered:
    id: int
    household_id: int | None
    relation_to_head: str | None


def _chunks(values: list, size: int) -> Iterable[list]:
    for i in range(0, len(values), size):
        yield values[i:i + size]


def _registered_residents(session: Session, id_numbers: set[str]) -> dict[str, _Registered]:
    """Residents already registered under these identity numbers: a few IN look-ups, not one per row."""
    out: dict[str, _Registered] = {}
    for chunk in _chunks(sorted(id_numbers), IN_CHUNK):
        stmt = select(Resident.id_number, Resident.id, Resident.household_id, Resident.relation_to_head) \
            .where(Resident.id_number.in_(chunk))
        for id_number, rid, household_id, relation in session.execute(stmt):
            out[id_number] = _Registered(rid, household_id, relation)
    return out


class _HouseholdPlan:
    """Which household each row belongs to: one of the file's householders' (new, or registered when the
    householder is) or one already registered; and the checks that go with it."""

    def __init__(self, session: Session, rows: list[_Row], registered: dict[str, _Registered]) -> None:
        self.session = session
        self.rows = rows
        self.registered = registered
        self.by_head: dict[str, _Household] = {}
        self.by_number: dict[str, _Household] = {}
        self.head_rows: dict[str, _Row] = {r.id_number: r for r in rows if r.is_head and r.id_number}
        self.file_ids: set[str] = {r.id_number for r in rows if r.id_number}
        numbers = {r.household_number for r in rows if r.household_number}
        numbers |= {"H" + r.id_number for r in self.head_rows.values()}
        ids = {reg.household_id for reg in registered.values() if reg.household_id}
        self.db = self._load_households(numbers, ids)

    def _load_households(self, numbers: set[str], ids: set[int]) -> dict[str | int, _Household]:
        found: dict[int, _Household] = {}
        stmt = select(Household.id, Household.number, Household.village_code, Household.address)
        for chunk in _chunks(sorted(numbers), IN_CHUNK):
            for hid, number, village, address in self.session.execute(stmt.where(Household.number.in_(chunk))):
                found[hid] = _Household(number, village, address, db_id=hid)
        for chunk in _chunks(sorted(ids), IN_CHUNK):
            for hid, number, village, address in self.session.execute(stmt.where(Household.id.in_(chunk))):
                found[hid] = _Household(number, village, address, db_id=hid)
        self.db_with_head: set[int] = set()
        for chunk in _chunks(sorted(found), IN_CHUNK):
            self.db_with_head.update(self.session.scalars(
                select(Resident.household_id).where(Resident.household_id.in_(chunk),
                                                    Resident.relation_to_head == "head")))
        out: dict[str | int, _Household] = {}
        for hid, h in found.items():
            out[hid] = h
            out[h.number] = h
        return out

    def place_heads(self) -> None:
        claimed: dict[str, list[_Row]] = {}
        for row in self.head_rows.values():
            reg = self.registered.get(row.id_number)
            if reg is not None:
                # A registered householder keeps their household; members in the file join it.
                is_head = reg.household_id is not None and reg.relation_to_head == "head"
                household = self.db.get(reg.household_id) if is_head else None
                if household is not None:
                    if row.household_number and row.household_number != household.number:
                        row.error("household_number", "residents.import.errors.household_number_mismatch",
                                  number=household.number)
                    household.head_row = row
                    self.by_head[row.id_number] = household
                    self.by_number.setdefault(household.number, household)
                continue
            number = row.household_number or "H" + row.id_number
            claimed.setdefault(number, []).append(row)
        for number, heads in claimed.items():
            if len(heads) > 1:
                numbers = _listing(r.number for r in heads)
                for r in heads:
                    r.error("relation_to_head", "residents.import.errors.two_heads", rows=numbers)
            head = heads[0]
            existing = self.db.get(number)
            if existing is not None:
                where = "household_number" if head.household_number else "relation_to_head"
                if existing.db_id in self.db_with_head:
                    head.error(where, "residents.errors.household_has_head")
                elif head.data is not None and existing.village_code != head.data.village_code:
                    head.error("village", "residents.errors.household_other_village")
                household = existing
                household.head_row = head
            else:
                village = head.data.village_code if head.data else ""
                household = _Household(number, village, head.data.address if head.data else None,
                                       head_row=head, is_new=True)
            for r in heads:
                self.by_head[r.id_number] = household
                r.household = household
            self.by_number[number] = household

    def place_members(self) -> None:
        for row in self.rows:
            if row.is_head or (not row.head_id and not row.household_number):
                continue
            household = self._member_household(row)
            if household is None:
                continue
            head = household.head_row
            if head is not None and head is not row and head.errors:
                row.error("head_id_number" if row.head_id else "household_number",
                          "residents.import.errors.head_row_invalid", head_row=head.number)
            if row.household_number and row.household_number != household.number:
                row.error("household_number", "residents.import.errors.household_number_mismatch",
                          number=household.number)
            if row.data is not None and household.village_code and row.data.village_code != household.village_code:
                row.error("village", "residents.import.errors.village_not_household")
            row.household = household

        for row in self.head_rows.values():
            if row.household is None and row.id_number in self.by_head:
                row.household = self.by_head[row.id_number]

    def _member_household(self, row: _Row) -> _Household | None:
        if row.head_id:
            if row.head_id in self.by_head:
                return self.by_head[row.head_id]
            reg = self.registered.get(row.head_id)
            if reg is not None and reg.relation_to_head == "head" and reg.household_id in self.db:
                household = self.db[reg.household_id]
                self.by_head[row.head_id] = household
                return household
            if row.head_id in self.file_ids or reg is not None:
                # The person is in the file or registered, but not as the householder of a household.
                row.error("head_id_number", "residents.import.errors.head_not_householder", id=row.head_id)
                return None
            row.error("head_id_number", "residents.import.errors.head_not_found", id=row.head_id)
            return None
        household = self.by_number.get(row.household_number) or self.db.get(row.household_number)
        if household is None:
            row.error("household_number", "residents.import.errors.household_not_found",
                      number=row.household_number)
        return household

    def new_households(self) -> list[_Household]:
        """New households whose householder's row is good: the ones to insert."""
        seen: dict[str, _Household] = {}
        for h in self.by_head.values():
            if h.is_new and h.head_row is not None and not h.head_row.errors:
                seen[h.number] = h
        return list(seen.values())


# --- writes --------------------------------------------------------------------------------------------
@contextmanager
def _sqlite_page_cache(session: Session, kib: int = 65536) -> Iterator[None]:
    """On SQLite, a larger page cache while the rows go in: 100,000 rows inserted into nine indexes in
    random order thrash the default 2 MB cache (a third of the write time). Nothing to do elsewhere."""
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    before = session.execute(text("PRAGMA cache_size")).scalar()
    session.execute(text(f"PRAGMA cache_size = -{int(kib)}"))
    yield
    session.execute(text(f"PRAGMA cache_size = {int(before)}"))


# Plain executemany INSERTs, then one IN look-up per chunk for the new ids: RETURNING costs a third more
# on SQLite (and ordered RETURNING falls back to one INSERT per row there).
def _insert_households(session: Session, households: list[_Household]) -> int:
    now = clock.now()
    for chunk in _chunks(households, CHUNK):
        session.execute(insert(Household), [{"number": h.number, "village_code": h.village_code,
                                             "address": h.address, "created_at": now} for h in chunk])
        by_number = {h.number: h for h in chunk}
        for number, hid in session.execute(select(Household.number, Household.id)
                                           .where(Household.number.in_(list(by_number)))):
            by_number[number].db_id = hid
    return len(households)


def _insert_residents(session: Session, rows: list[_Row]) -> int:
    now = clock.now()
    pinyin: dict[str, tuple[str, str]] = {}
    for chunk in _chunks(rows, CHUNK):
        params = []
        for r in chunk:
            d = r.data
            keys = pinyin.get(d.name)
            if keys is None:
                keys = pinyin[d.name] = residents_service.pinyin_keys(d.name)
            household = r.household if r.household is not None and r.household.db_id is not None else None
            params.append({
                "id_number": d.id_number, "name": d.name, "name_initials": keys[0], "name_pinyin": keys[1],
                "sex": d.sex, "birth_date": d.birth_date, "phone": d.phone, "village_code": d.village_code,
                "household_id": household.db_id if household else None,
                "relation_to_head": (d.relation_to_head or ("head" if r.is_head else None)) if household else None,
                "insurance_scheme": d.insurance_scheme, "status": "active", "created_at": now, "updated_at": now,
            })
        session.execute(insert(Resident), params)
        ids = dict(session.execute(select(Resident.id_number, Resident.id)
                                   .where(Resident.id_number.in_([p["id_number"] for p in params]))).tuples().all())
        # Written outside the ORM's flush: the running tallies (population, births, coverage) count them here.
        tallies.apply_for(session, ids.values())
        grouped = {r.data.id_number: r.data.groups for r in chunk if r.data.groups}
        if grouped:
            session.execute(insert(ResidentGroup), [{"resident_id": ids[id_number], "group": g}
                                                    for id_number, groups in grouped.items() for g in groups])
    return len(rows)


# --- reports ---------------------------------------------------------------------------------------------
def _report_path(source: Path, given: Path | str | None, key: str, locale: str) -> Path:
    if given is not None:
        return Path(given)
    return source.with_name(translate(key, locale, stem=source.stem))


def _column_label(table: Table, fld: str) -> str:
    pos = table.field_index.get(fld)
    if pos is not None and pos < len(table.headers) and table.headers[pos]:
        return table.headers[pos]
    return next((c.header for c in columns() if c.field == fld), fld)


def _cell_text(table: Table, cells: tuple, fld: str) -> str:
    pos = table.field_index.get(fld)
    return _text(cells[pos]) if pos is not None and pos < len(cells) else ""


def reason_text(error: FieldError, locale: str) -> str:
    return translate(error.reason_key, locale, **error.params)


def write_error_report(path: Path, table: Table, bad: list[_Row], locale: str) -> None:
    """One line per problem: row number (as Excel shows it), column, the value, the reason."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(translate("residents.import.report.sheet_errors", locale))
    excel.append(ws, [translate(f"residents.import.report.{k}", locale) for k in ("row", "column", "value", "reason")])
    for row in sorted(bad, key=lambda r: r.number):
        for e in row.errors:
            excel.append(ws, [row.number, _column_label(table, e.field), _cell_text(table, row.cells, e.field),
                       reason_text(e, locale)])
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)


def write_rejected_rows(path: Path, table: Table, bad: list[_Row], locale: str) -> None:
    """The bad rows as they were, plus a reason column: fix them here and import this file again."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(translate("residents.import.report.sheet_rejected", locale))
    excel.append(ws, [*table.headers, translate("residents.import.report.reason_column", locale)])
    width = len(table.headers)
    for row in sorted(bad, key=lambda r: r.number):
        cells = list(row.cells[:width]) + [None] * (width - len(row.cells))
        reasons = translate("residents.import.report.reason_separator", locale).join(
            translate("residents.import.report.reason_item", locale, column=_column_label(table, e.field),
                      reason=reason_text(e, locale)) for e in row.errors)
        excel.append(ws, [*cells, reasons])
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
