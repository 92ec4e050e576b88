"""Typed commands (core.commands) and the page form helper (core.web.form_command): one mapping from a bad value
to a field error, whether the value came as JSON, a form or the CLI."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from pydantic import field_validator

from weijian.core.bounds import BoundedDate, Id64
from weijian.core.commands import Command, Money, build, refuse
from weijian.core.errors import InvalidInput
from weijian.core.web import form_command, install_error_handlers


class VisitIn(Command):
    resident_id: Id64
    visit_date: BoundedDate
    name: str
    note: str | None = None
    fee: Money = Decimal("0.00")
    codes: list[str] = []
    kind: str = "routine"

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        if value not in ("routine", "urgent"):
            raise refuse("care.referrals.errors.urgency_unknown")
        return value


def _errors(exc: pytest.ExceptionInfo[InvalidInput]) -> dict[str, str]:
    return {e.field: e.reason_key for e in exc.value.errors}


def test_every_bad_field_is_named_at_once() -> None:
    with pytest.raises(InvalidInput) as exc:
        build(VisitIn, {"resident_id": "0", "visit_date": "2026-13-01", "fee": "1.234", "kind": "soon"})
    assert _errors(exc) == {
        "resident_id": "core.errors.validation.id_out_of_range",
        "visit_date": "core.errors.validation.date_from_datetime_parsing",
        "name": "core.errors.validation.missing",
        "fee": "core.errors.validation.money_fen",
        "kind": "care.referrals.errors.urgency_unknown",
    }


def test_blank_text_is_no_value_and_text_is_stripped() -> None:
    visit = build(VisitIn, {"resident_id": "7", "visit_date": "2026-03-10", "name": "  张三 ", "note": "   ",
                            "fee": "1,234.5"})
    assert (visit.resident_id, visit.visit_date, visit.name, visit.note) == (7, date(2026, 3, 10), "张三", None)
    assert visit.fee == Decimal("1234.50")
    with pytest.raises(InvalidInput) as exc:
        build(VisitIn, {"resident_id": "7", "visit_date": "2026-03-10", "name": "   "})
    assert _errors(exc) == {"name": "core.errors.validation.missing"}


@pytest.mark.parametrize(("value", "reason"), [
    ("a" * 51, "core.errors.validation.string_too_long"),  # core.bounds: a name has at most 50 characters
    ("张\x07三", "core.errors.validation.text_control_character"),
    ("张\ud800", "core.errors.validation.text_invalid_character"),
])
def test_text_bounds_apply_by_field_name(value: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        build(VisitIn, {"resident_id": 1, "visit_date": "2026-03-10", "name": value})
    assert _errors(exc) == {"name": reason}


def test_money_refuses_negative_and_past_the_column() -> None:
    for fee, reason in (("-1", "core.errors.validation.money_negative"),
                        ("10000000000", "core.errors.validation.less_than_equal"),
                        ("NaN", "core.errors.validation.decimal_parsing")):
        with pytest.raises(InvalidInput) as exc:
            build(VisitIn, {"resident_id": 1, "visit_date": "2026-03-10", "name": "x", "fee": fee})
        assert _errors(exc) == {"fee": reason}, fee


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(InvalidInput) as exc:
        build(VisitIn, {"resident_id": 1, "visit_date": "2026-03-10", "name": "x", "status": "done"})
    assert _errors(exc) == {"status": "core.errors.validation.extra_forbidden"}


def _app() -> FastAPI:
    app = FastAPI()
    app.state.settings = SimpleNamespace(default_locale="zh_CN")
    install_error_handlers(app)

    @app.post("/form")
    async def page(request: Request) -> JSONResponse:
        try:
            visit = await form_command(request, VisitIn, resident_id=9)
        except InvalidInput as exc:  # a page re-renders its form with these (core.web.form_errors)
            return JSONResponse({e.field: e.reason_key for e in exc.errors}, status_code=422)
        return JSONResponse(visit.model_dump(mode="json"))

    @app.post("/api/v1/visits")
    def api(body: VisitIn) -> JSONResponse:
        return JSONResponse(body.model_dump(mode="json"))

    return app


def test_form_and_api_give_the_same_field_errors() -> None:
    client = TestClient(_app())
    form = client.post("/form", data={"visit_date": "x", "name": "", "csrf_token": "t", "submit": "1"})
    api = client.post("/api/v1/visits", json={"resident_id": 9, "visit_date": "x", "name": ""})
    assert api.status_code == 422
    api_errors = {e["field"]: e["reason"] for e in api.json()["error"]["errors"]}
    assert api_errors["name"] == "core.errors.validation.missing"
    assert set(api_errors) == {"visit_date", "name"}
    assert form.status_code == 422
    assert form.json() == api_errors


def test_form_takes_lists_for_list_fields_and_path_values_on_top() -> None:
    client = TestClient(_app())
    got = client.post("/form", data={"resident_id": "1", "visit_date": "2026-03-10", "name": "李四",
                                     "codes": ["I10", "", "E11"], "csrf_token": "t"})
    assert got.status_code == 200, got.text
    assert got.json()["resident_id"] == 9  # the path's value, not the form's
    assert got.json()["codes"] == ["I10", "E11"]
