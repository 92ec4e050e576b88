"""GET /api/v1/indicators…: definitions, values, records, xlsx; bad input answers 4xx naming it."""
from __future__ import annotations

from io import BytesIO

import pytest

from tests import factories as f
from tests.indicators import world


@pytest.fixture()
def bureau(session):
    world.build(session)
    return f.token_headers(session, f.make_user(session, "bureau_admin", f.COUNTY))


def test_list_indicators(client, bureau):
    resp = client.get("/api/v1/indicators", headers=bureau)
    assert resp.status_code == 200
    by_id = {i["id"]: i for i in resp.json()}
    assert by_id["beds_per_1000"]["name"] == "每千常住人口医疗卫生机构床位数"
    assert by_id["primary_care_share"]["target"] == {"op": ">=", "value": 65.0, "amber": 60.0}


def test_values_by_township_carry_the_roll_up(client, bureau):
    resp = client.get("/api/v1/indicators/primary_care_share/values",
                      params={"period": "2025", "level": "township"}, headers=bureau)
    assert resp.status_code == 200, resp.text
    rows = {r["orgunit"]: r for r in resp.json()["values"]}
    assert rows[f.TOWN_A] | {} == {"indicator": "primary_care_share", "orgunit": f.TOWN_A, "orgunit_name": "温泉镇",
                                   "level": "township", "period": "2025", "numerator": 3, "denominator": 5,
                                   "value": 60.0, "target": 65, "status": "amber"}


def test_values_by_month(client, bureau):
    resp = client.get("/api/v1/indicators/referrals_up/values", params={"period": "2025", "by_month": "true"},
                      headers=bureau)
    values = resp.json()["values"]
    assert [v["period"] for v in values][:2] == ["202501", "202502"] and len(values) == 12
    assert values[0]["numerator"] == 1 and values[0]["value"] == 1


@pytest.mark.parametrize(("url", "params", "status", "field"), [
    ("/api/v1/indicators/nope/values", {"period": "2025"}, 404, None),
    ("/api/v1/indicators/beds_per_1000/values", {"period": "2025-1"}, 422, "period"),
    ("/api/v1/indicators/beds_per_1000/values", {"period": "2025", "orgunit": "421124999000"}, 422, "orgunit"),
    ("/api/v1/indicators/beds_per_1000/values", {"period": "2025", "level": "province"}, 422, "level"),
    ("/api/v1/indicators/primary_care_share/values", {"period": "1990"}, 422, "period"),  # before the records
    ("/api/v1/indicators/primary_care_share/values", {"period": "2099"}, 422, "period"),  # not begun
])
def test_bad_input_is_a_4xx_naming_it(client, bureau, url, params, status, field):
    resp = client.get(url, params=params, headers=bureau)
    assert resp.status_code == status, resp.text
    body = resp.text
    if field:
        assert field in body
    else:
        assert "nope" in body


def test_records_are_masked_and_paginated(client, bureau):
    resp = client.get("/api/v1/indicators/population_total/records",
                      params={"period": "2025", "orgunit": f.TOWN_A, "page_size": 4, "page": 2}, headers=bureau)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["total"], len(body["rows"])) == (6, 2)
    assert all("*" in r["id_number"] for r in body["rows"])


def test_a_clinician_sees_own_scope_only(client, session, bureau):
    doctor = f.token_headers(session, f.make_user(session, "village_doctor", f.VILLAGE_A1))
    ok = client.get("/api/v1/indicators/population_total/values", params={"period": "2025"}, headers=doctor)
    assert ok.json()["values"][0]["orgunit"] == f.VILLAGE_A1
    other = client.get("/api/v1/indicators/population_total/values",
                       params={"period": "2025", "orgunit": f.VILLAGE_B1}, headers=doctor)
    assert other.status_code == 403


def test_export_xlsx_downloads_a_workbook(client, bureau):
    from openpyxl import load_workbook

    resp = client.get("/api/v1/indicators/export.xlsx",
                      params={"period": "2025", "level": "township", "indicator": ["beds_per_1000", "referrals_up"]},
                      headers=bureau)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in resp.headers["content-disposition"]
    ws = load_workbook(BytesIO(resp.content)).active
    assert ws["A1"].value == "指标" and ws.max_row == 1 + 2 * 2


def test_without_login_is_401(client):
    assert client.get("/api/v1/indicators").status_code == 401
