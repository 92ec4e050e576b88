"""Bulk import of residents from a county roster (居民花名册, xlsx or csv): read every row, validate it
and the file as a whole, build the households, then write everything in bulk (driver executemany of plain
rows on SQLite, COPY on PostgreSQL) and bring the running tallies up to date once for the file.

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

import functools
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from time import perf_counter
from typing import Any, ParamSpec, TypeVar

from openpyxl import Workbook
from sqlalchemy import Column, func, or_, select, text, tuple_
from sqlalchemy import Table as SqlTable
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.core import clock, excel, tallies
from weijian.core.actor import Actor
from weijian.core.errors import FieldError, InvalidInput
from weijian.core.i18n import DEFAULT_LOCALE, Translator, translate
from weijian.residents import access, history
from weijian.residents import service as residents_service
from weijian.residents.importer.reading import Table, columns, read_table, text_of
from weijian.residents.importer.rows import (
    HouseholdPlan,
    PlannedHousehold,
    Row,
    check_duplicate_ids,
    chunks,
    load_villages,
    parse_row,
    registered_residents,
)
from weijian.residents.models import Household, Resident, ResidentGroup, ResidentResidence

P = ParamSpec("P")
R = TypeVar("R")
CHUNK = 5000  # rows per executemany call, and keys per IN (...) look-up
DUPLICATE_CHUNK = 1000  # rows per probable-duplicate query: 7 values a row, under SQLite's 32,766


# --- results -------------------------------------------------------------------------------------
@dataclass
class ImportResult:
    file_name: str
    rows: int = 0  # data rows read (blank rows are not counted)
    created: int = 0
    unchanged: int = 0  # already registered: matched by identity number, left as they are
    invalid: int = 0
    households_created: int = 0
    # New rows imported although a registered record in the importer's scope may be the same person (as
    # residents.service.probable_duplicates decides: the same name, and the same sex and birth date, or
    # phone, or household): (row, that record's id). They are imported (the number is new), named in the
    # report of probable duplicates, and show on the review list. `matched_on`: what each pair shares.
    probable_duplicates: list[tuple[int, int]] = field(default_factory=list)
    matched_on: dict[tuple[int, int], tuple[str, ...]] = field(default_factory=dict)
    duplicates_report_path: Path | None = None
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


def _probable_duplicates(session: Session, actor: Actor, rows: list[Row]
                         ) -> list[tuple[int, int, tuple[str, ...]]]:
    """(row, registered id, what matched) for each new row that `residents.service.probable_duplicates`
    would warn about: an active record in the actor's scope with the row's name and its sex and birth
    date, or its phone, or its (registered) household. One query per chunk of rows, the three pairings as
    tuple IN lists, so only the candidates come back."""
    out: list[tuple[int, int, tuple[str, ...]]] = []
    for chunk in chunks([r for r in rows if r.data is not None], DUPLICATE_CHUNK):
        by_name: dict[str, list[Row]] = {}
        for r in chunk:
            by_name.setdefault(r.data.name, []).append(r)
        alternatives = [tuple_(Resident.name, Resident.sex, Resident.birth_date).in_(
            sorted({(r.data.name, r.data.sex, r.data.birth_date) for r in chunk}))]
        phones = sorted({(r.data.name, r.data.phone) for r in chunk if r.data.phone})
        if phones:
            alternatives.append(tuple_(Resident.name, Resident.phone).in_(phones))
        homes = sorted({(r.data.name, h) for r in chunk if (h := _registered_household(r)) is not None})
        if homes:
            alternatives.append(tuple_(Resident.name, Resident.household_id).in_(homes))
        stmt = (select(Resident).where(or_(*alternatives), Resident.status == "active", access.visible(actor))
                .order_by(Resident.id))
        for resident in session.scalars(stmt):
            for r in by_name.get(resident.name, ()):
                on = residents_service.matched_on(resident, r.data.sex, r.data.birth_date, r.data.phone,
                                                  _registered_household(r))
                if len(on) > 1:  # more than the name
                    out.append((r.number, resident.id, on))
    return sorted(out)


def _registered_household(row: Row) -> int | None:
    """The id of the registered household a new row joins (a new household has nobody to compare with)."""
    h = row.household
    return h.db_id if h is not None and not h.is_new else None


# --- the import ------------------------------------------------------------------------------------
def _cyclic_gc_paused(fn: Callable[P, R]) -> Callable[P, R]:
    """Run `fn` with Python's cyclic garbage collector off (on again after, if it was on): an import keeps
    a few objects per row alive until it ends, and the collector's passes over them all, which find
    nothing to free, cost a tenth or more of a large roster's time. Reference counting still frees what
    the import drops; cycles made meanwhile (by it or other threads) wait for the next pass."""
    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        was_on = gc.isenabled()
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            if was_on:
                gc.enable()
    return run


@_cyclic_gc_paused
def import_file(*, session: Session, path: Path | str, actor: Actor, skip_invalid: bool = False,
                report_path: Path | str | None = None, locale: str = DEFAULT_LOCALE,
                today: date | None = None, file_name: str | None = None,
                duplicates_report_path: Path | str | None = None) -> ImportResult:
    """Import a roster. Flushes, never commits: the caller's unit of work is the one transaction.

    `report_path`: where to write the error report (refused) or the rejected rows (skip_invalid);
    default: beside the file; `duplicates_report_path`: where the rows imported as probable duplicates of
    registered records are listed (written only when there are some). `file_name`: the name to log, when
    `path` is a temporary upload.
    """
    actor.require("resident:import")
    path = Path(path)
    today = today or clock.today()
    result = ImportResult(file_name=file_name or path.name)
    started = perf_counter()

    table = read_table(path)
    villages = load_villages(session=session, actor=actor)
    head_ids: dict[str, str | InvalidInput] = {}
    rows = [parse_row(n, cells, table.field_index, villages, today, head_ids) for n, cells in table.rows]
    result.rows = len(rows)
    check_duplicate_ids(rows)
    registered = registered_residents(session, {r.id_number for r in rows if r.id_number}
                                       | {r.head_id for r in rows if r.head_id})
    for r in rows:
        r.existing = r.id_number in registered
        known = registered.get(r.id_number) if r.id_number else None
        if known is not None and r.data is not None and known.name != r.data.name:
            # The number is someone else's on record: a conflict to resolve, never "unchanged". The name
            # on record is shown as 张* (the row's importer may not see that record).
            r.error("id_number", "residents.import.errors.id_number_other_name",
                    registered=known.name[:1] + "*" * (len(known.name) - 1), name=r.data.name)
    households = HouseholdPlan(session, rows, registered)
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
    likely = _probable_duplicates(session, actor, good_new)
    result.probable_duplicates = [(row, rid) for row, rid, _ in likely]
    result.matched_on = {(row, rid): on for row, rid, on in likely}
    with _sqlite_page_cache(session):
        result.households_created = _insert_households(session, households.new_households())
        result.created = _insert_residents(session, good_new)
    accounts_service.audit(
        session=session, actor=actor, action="import", entity_type="resident_import",
        entity_id=result.file_name[:64], basis=residents_service.scope_basis(actor),
        detail={"file": result.file_name, "rows": result.rows, "created": result.created,
                "unchanged": result.unchanged, "invalid": result.invalid,
                "probable_duplicates": [rid for _, rid in result.probable_duplicates],
                "households_created": result.households_created, "skip_invalid": skip_invalid},
    )
    result.seconds["write"] = perf_counter() - started
    if bad:
        result.error_report_path = _report_path(path, report_path, "residents.import.report.file_rejected", locale)
        write_rejected_rows(result.error_report_path, table, bad, locale)
    if likely:
        result.duplicates_report_path = _report_path(
            path, duplicates_report_path, "residents.import.report.file_duplicates", locale)
        write_duplicates_report(result.duplicates_report_path, table, {r.number: r for r in good_new}, likely,
                                locale)
    return result


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


# Plain tuples straight through the driver (executemany on SQLite, COPY on PostgreSQL): SQLAlchemy's per-row
# parameter processing cost as much again as the INSERT itself. The new ids are then read back by one range
# read of the primary key above the largest id before the insert (RETURNING costs a third more on SQLite,
# and ordered RETURNING falls back to one INSERT per row there).
def _write_rows(conn: Connection, table: SqlTable, cols: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """Insert `rows` (values in `cols`' order, as the models take them) into `table`. Each value goes
    through its column type's bind processor, as a Core INSERT sends it (dates as ISO text on SQLite, times
    as naive UTC): memoized per column, since a roster repeats its dates and the write time is one value."""
    dialect = conn.dialect
    processors: list[tuple[int, Any, dict[Any, Any]]] = [
        (i, p, {}) for i, c in enumerate(cols) if (p := table.c[c].type.bind_processor(dialect))]
    if processors:
        out = []
        for row in rows:
            values = list(row)
            for i, process, seen in processors:
                v = values[i]
                done = seen.get(v, _MISSING)
                if done is _MISSING:
                    done = seen[v] = process(v)
                values[i] = done
            out.append(tuple(values))
        rows = out
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in cols)
    if dialect.name == "postgresql":
        with conn.connection.driver_connection.cursor() as cursor, \
                cursor.copy(f"COPY {quote(table.name)} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join(["?"] * len(cols))
    for chunk in chunks(rows, CHUNK):
        conn.exec_driver_sql(f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})", chunk)


_MISSING = object()


def _new_ids(conn: Connection, key: Column[Any], id_col: Column[Any], above: int, wanted: set[Any]) -> dict[Any, int]:
    """key -> id of the rows just inserted (keys `wanted`, ids above `above`). A row of another writer in
    that range has a key outside `wanted` (the keys are unique) and is left out; a key not found there (a
    table whose ids were written by hand beyond its sequence) is looked up by its key."""
    found = {k: i for k, i in conn.execute(select(key, id_col).where(id_col > above)) if k in wanted}
    missing = sorted(wanted - found.keys())
    for chunk in chunks(missing, CHUNK):
        found.update(conn.execute(select(key, id_col).where(key.in_(chunk))).tuples().all())
    return found


def _max_id(conn: Connection, id_col: Column[Any]) -> int:
    return conn.execute(select(func.coalesce(func.max(id_col), 0))).scalar_one()


def _insert_households(session: Session, households: list[PlannedHousehold]) -> int:
    conn = session.connection()
    now = clock.now()
    table = Household.__table__
    above = _max_id(conn, table.c.id)
    _write_rows(conn, table, ("number", "village_code", "address", "created_at"),
                [(h.number, h.village_code, h.address, now) for h in households])
    ids = _new_ids(conn, table.c.number, table.c.id, above, {h.number for h in households})
    for h in households:
        h.db_id = ids[h.number]
    return len(households)


_RESIDENT_COLUMNS = ("id_number", "name", "name_initials", "name_pinyin", "sex", "birth_date", "phone",
                     "village_code", "household_id", "relation_to_head", "insurance_scheme", "status",
                     "merged_into_id", "mother_id", "created_at", "updated_at")


def _insert_residents(session: Session, rows: list[Row]) -> int:
    conn = session.connection()
    now = clock.now()
    table = Resident.__table__
    pinyin: dict[str, tuple[str, str]] = {}
    params = []
    for r in rows:
        d = r.data
        keys = pinyin.get(d.name)
        if keys is None:
            keys = pinyin[d.name] = residents_service.pinyin_keys(d.name)
        household = r.household if r.household is not None and r.household.db_id is not None else None
        params.append((
            d.id_number, d.name, keys[0], keys[1], d.sex, d.birth_date, d.phone, d.village_code,
            household.db_id if household else None,
            (d.relation_to_head or ("head" if r.is_head else None)) if household else None,
            d.insurance_scheme, "active", None, None, now, now))
    above = _max_id(conn, table.c.id)
    _write_rows(conn, table, _RESIDENT_COLUMNS, params)
    ids = _new_ids(conn, table.c.id_number, table.c.id, above, {p[0] for p in params})
    # Written outside the ORM's flush: their residence history (one open row each) ...
    history.open_missing(conn, ids.values())
    grouped = [(ids[r.data.id_number], g) for r in rows for g in r.data.groups]
    if grouped:
        _write_rows(conn, ResidentGroup.__table__, ("resident_id", "group"), grouped)
    # ... and the running tallies, once for the whole file, of the sources a new resident counts in by
    # itself (the population, births, coverage; not visits or doses: a new resident has none).
    tallies.apply_for(session, ids.values(), names=tallies.counting_new(Resident, ResidentResidence, ResidentGroup))
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
    return text_of(cells[pos]) if pos is not None and pos < len(cells) else ""


def reason_text(error: FieldError, locale: str) -> str:
    return translate(error.reason_key, locale, **error.params)


def write_error_report(path: Path, table: Table, bad: list[Row], locale: str) -> None:
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


def write_duplicates_report(path: Path, table: Table, rows: dict[int, Row],
                            likely: list[tuple[int, int, tuple[str, ...]]], locale: str) -> None:
    """One line per imported row and registered record that may be one person: the row, its name and
    identity number, the record's number, and what they share (a clerk checks them on the review list)."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(translate("residents.import.report.sheet_duplicates", locale))
    excel.append(ws, [translate(f"residents.import.report.{k}", locale)
                      for k in ("row", "name", "id_number", "record", "matched_on")])
    label = Translator(locale).field
    separator = translate("residents.import.list_separator", locale)
    for number, rid, on in likely:
        row = rows[number]
        excel.append(ws, [number, _cell_text(table, row.cells, "name"), row.id_number, rid,
                          separator.join(label(f) for f in on)])
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)


def write_rejected_rows(path: Path, table: Table, bad: list[Row], locale: str) -> None:
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
