"""Input bounds shared by every route and service (issue 12, part 7): ids fit the INTEGER id columns (32 bits
on PostgreSQL), page numbers a signed 64-bit integer, dates lie in 1900-01-01 … 2100-12-31, text carries no
lone surrogate or control character (tab and newline only in multi-line fields) and has a maximum length by
field — all defined here, once.
A value out of bounds is refused with a field error (422), never a 500 from the database.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError
from starlette.requests import Request

from weijian.core.errors import ErrorCollector, InvalidInput

# Every id column is INTEGER: 64 bits on SQLite, 32 on PostgreSQL, where a larger id made the query fail (a 500,
# found by the API fuzzer, tests/security). No county comes near 2**31 rows.
MAX_ID = 2**31 - 1
MAX_PAGE = (2**63 - 1) // 10_000  # so that (page - 1) * page_size, the query's OFFSET, still fits in 64 bits
MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(2100, 12, 31)

# Maximum length of each text field, by its name in forms, JSON bodies and query strings.
TEXT_MAX: dict[str, int] = {
    "name": 50, "full_name": 50, "resident_name": 50, "mother_name": 50, "father_name": 50, "child_name": 50,
    "guardian_name": 50, "username": 50,
    "address": 200, "phone": 20, "id_number": 18, "mother_id_number": 18, "father_id_number": 18,
    "household_number": 32, "reason": 500, "title": 200,
    "note": 2000, "notes": 2000, "detail": 2000, "answer": 2000, "question": 2000, "summary": 2000,
    "findings": 2000, "advice": 2000, "description": 2000, "outcome": 2000, "result_detail": 2000,
    "diagnosis_text": 2000, "treatment": 2000, "measures": 2000,
}
DEFAULT_TEXT_MAX = 2000  # any other text field
MULTILINE = {"note", "notes", "detail", "answer", "question", "summary", "findings", "advice", "description",
             "outcome", "reason", "address", "result_detail", "diagnosis_text", "treatment", "measures"}
# Not stored, and checked by their own handlers: the log-in's return path (made safe there), passwords.
UNCHECKED = {"next", "password", "new_password", "current_password", "csrf_token"}
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x1f\x7f]")
_CONTROL_MULTILINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tab, newline and CR allowed


def _check_id(value: int) -> int:
    if not 1 <= value <= MAX_ID:
        raise PydanticCustomError("id_out_of_range", "out of range", {"max": MAX_ID})
    return value


def _check_page(value: int) -> int:
    if not 1 <= value <= MAX_PAGE:
        raise PydanticCustomError("page_out_of_range", "out of range", {"max": MAX_PAGE})
    return value


def _check_date(value: date) -> date:
    if not MIN_DATE <= value <= MAX_DATE:
        raise PydanticCustomError("date_out_of_range", "out of range",
                                  {"min": MIN_DATE.isoformat(), "max": MAX_DATE.isoformat()})
    return value


# `resident_id: Id64` in a path or query (or a command model): 1 … MAX_ID, else 422 naming the field.
Id64 = Annotated[int, AfterValidator(_check_id)]
PageNo = Annotated[int, AfterValidator(_check_page)]
BoundedDate = Annotated[date, AfterValidator(_check_date)]


def _check_year(value: int) -> int:
    if not MIN_DATE.year <= value <= MAX_DATE.year:
        raise PydanticCustomError("year_out_of_range", "out of range",
                                  {"min": MIN_DATE.year, "max": MAX_DATE.year})
    return value


Year = Annotated[int, AfterValidator(_check_year)]


def whole_number(text: Any, maximum: int = MAX_ID) -> int | None:
    """A positive whole number typed as text (an id or a page number from a form or a query string): its value
    when written in decimal digits (full-width ones too, as int() reads them) within 1 … `maximum`, else None.
    `str.isdigit()` alone lets through "²", which int() refuses, and numbers past the id columns or int()'s
    4,300 digits."""
    text = str(text if text is not None else "").strip()
    if not text.isdecimal() or len(text) > len(str(maximum)):
        return None
    value = int(text)
    return value if 1 <= value <= maximum else None


def date_in_range(value: date) -> bool:
    return MIN_DATE <= value <= MAX_DATE


def text_problem(name: str, value: str) -> tuple[str, dict[str, Any]] | None:
    """(reason key, params) when `value` may not be stored in the field `name`, else None."""
    leaf = name.rsplit(".", 1)[-1].split("[", 1)[0]
    if _SURROGATE.search(value):
        return "core.errors.validation.text_invalid_character", {}
    control = _CONTROL_MULTILINE if leaf in MULTILINE else _CONTROL
    if control.search(value):
        return "core.errors.validation.text_control_character", {}
    limit = TEXT_MAX.get(leaf, DEFAULT_TEXT_MAX)
    if len(value) > limit:
        return "core.errors.validation.string_too_long", {"max_length": limit}
    return None


def check_text(errs: ErrorCollector, name: str, value: Any) -> None:
    """Add a field error to `errs` when a text value is out of bounds (services' validate functions)."""
    if isinstance(value, str):
        problem = text_problem(name, value)
        if problem:
            errs.add(name, problem[0], **problem[1])


def check_values(values: Any, prefix: str = "") -> None:
    """Every string in a decoded JSON body, form or query (nested lists and objects too): raise InvalidInput
    naming each field out of bounds."""
    errs = ErrorCollector()
    for name, value in _walk(values, prefix):
        check_text(errs, name, value)
    errs.raise_if_any()


def _walk(value: Any, name: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for k, v in value.items():
            key = str(k)
            if _SURROGATE.search(key):
                yield name or "body", key
            yield from _walk(v, f"{name}.{key}" if name else key)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, f"{name}[{i}]")
    elif isinstance(value, str):
        yield name or "body", value


__all__ = ["BoundedDate", "Id64", "InvalidInput", "MAX_DATE", "MAX_ID", "MAX_PAGE", "MIN_DATE", "PageNo", "TEXT_MAX",
           "Year", "check_text", "check_values", "date_in_range", "text_problem", "whole_number"]


# --- every request ---------------------------------------------------------------------------------
async def check_request(request: Request) -> None:
    """App-wide dependency (create_app): every string of the query, a JSON body or a form is checked
    before any route reads it. Under /api the length limits apply too. A page's form is left to the
    page where the page reads it as a command (`core.web.form_command`: the command checks the same
    bounds on every text it takes, and the page re-renders the form beside the input); any other page
    form is checked here, lengths aside."""
    api = request.url.path.startswith("/api/")
    values: dict[str, Any] = {k: v for k, v in request.query_params.multi_items()}
    ctype = request.headers.get("content-type", "")
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        if ctype.startswith("application/json"):
            raw = await request.body()
            try:
                values["__body__"] = json.loads(raw) if raw else None
            except ValueError:
                values["__body__"] = None  # FastAPI answers 422 json_invalid itself
        elif ctype.startswith("application/x-www-form-urlencoded") or ctype.startswith("multipart/form-data"):
            form = await request.form()
            if api or not _reads_a_command(request):
                values["__form__"] = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    errs = ErrorCollector()
    for name, value in _walk(values, ""):
        name = name.replace("__body__.", "").replace("__form__.", "").replace("__body__", "body")
        if name in UNCHECKED:
            continue
        problem = text_problem(name, value)
        if problem and (api or problem[0] != "core.errors.validation.string_too_long"):
            errs.add(name, problem[0], **problem[1])
    errs.raise_if_any()


def _reads_a_command(request: Request) -> bool:
    """Whether the route's handler reads its form through `form_command` (it names it in its code)."""
    code = getattr(request.scope.get("endpoint"), "__code__", None)
    return code is not None and "form_command" in code.co_names
