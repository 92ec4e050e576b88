"""Bundled-budget API: the year's report (money as text), setting the budget (bad values answered 422 naming
the field, in Chinese by default; nothing stored), and who may do either."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from tests import factories as f
from tests.care import records_setup as rs
from weijian.settlement.models import BundledBudget


@pytest.fixture()
def world(session):
    w = rs.build(session)
    f.make_settlement(session, w.people["man"], w.facilities["county"], stay_date=date(2025, 3, 5), total="6000.00",
                      basic_pays="4000.00")
    f.make_settlement(session, w.people["elder"], None, stay_date=date(2025, 6, 30), total="5000.00",
                      basic_pays="3000.00")
    return w


def test_the_bureau_sets_a_budget_and_reads_spending_against_it(client, session, world):
    headers = f.token_headers(session, world.users["bureau"])
    res = client.put("/api/v1/settlement/budget/2025", json={"amount": "12000.00", "note": "年度总额"}, headers=headers)
    assert res.status_code == 200, res.text
    body = res.json()
    assert (body["year"], body["budget"], body["spent"], body["stays"], body["note"]) == (
        2025, "12000.00", "7000.00", 2, "年度总额")
    assert body["counted_payers"] == ["basic_pays"] and body["county_code"] == f.COUNTY
    assert [c["key"] for c in body["columns"]] == [str(world.facilities["county"].id), "out_of_county"]
    assert body["columns"][0]["facility_id"] == world.facilities["county"].id
    assert body["months"][2]["by_column"] == {str(world.facilities["county"].id): "4000.00"}
    assert body["months"][5]["cumulative"] == "7000.00"
    read = client.get("/api/v1/settlement/budget/2025", headers=headers).json()
    assert read["budget"] == "12000.00" and read["outcome"] in ("surplus", "overspend", "balanced")
    listed = client.get("/api/v1/settlement/budgets", headers=headers).json()
    assert [(b["year"], b["amount"]) for b in listed] == [(2025, "12000.00")]


def test_a_bad_amount_is_refused_naming_the_field_in_chinese(client, session, world):
    headers = f.token_headers(session, world.users["bureau"])
    res = client.put("/api/v1/settlement/budget/2025", json={"amount": "-3"}, headers=headers)
    assert res.status_code == 422
    error = res.json()["error"]
    assert error["field"] == "amount" and error["message"] == "金额: 金额必须大于 0"
    bad_year = client.put("/api/v1/settlement/budget/20x5", json={"amount": "3"}, headers=headers)
    assert bad_year.status_code == 422 and bad_year.json()["error"]["field"] == "year"
    english = client.put("/api/v1/settlement/budget/2025", json={"amount": "1.234"},
                         headers={**headers, "Accept-Language": "en"})
    assert english.json()["error"]["message"] == "Amount: At most two decimals (fen)"
    assert session.scalar(select(func.count()).select_from(BundledBudget)) == 0


def test_clinicians_neither_set_nor_read_the_budget(client, session, world):
    for who in ("county", "township"):
        headers = f.token_headers(session, world.users[who])
        assert client.put("/api/v1/settlement/budget/2025", json={"amount": "1"}, headers=headers).status_code == 403
        assert client.get("/api/v1/settlement/budget/2025", headers=headers).status_code == 403
    assert client.get("/api/v1/settlement/budget/2025").status_code == 401
    assert session.scalar(select(func.count()).select_from(BundledBudget)) == 0


def test_an_amount_past_any_real_budget_is_refused_not_a_server_error(client, session, world):
    # Found by the API fuzzer (tests/security): quantize() of 1.8e308 raised InvalidOperation, a 500.
    headers = f.token_headers(session, world.users["bureau"])
    res = client.put("/api/v1/settlement/budget/2025", json={"amount": 1.7976931348623157e308}, headers=headers)
    assert res.status_code == 422 and res.json()["error"]["field"] == "amount"
    assert session.scalar(select(func.count()).select_from(BundledBudget)) == 0
