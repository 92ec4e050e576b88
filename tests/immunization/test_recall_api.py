"""Recall list and figures through the JSON API: contents, scope (403 for another village), the xlsx
download, and bad input answered 422 naming the field in Chinese."""
from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from tests import factories as f
from tests.immunization import recall_setup as rs

URL = "/api/v1/immunization/recall"


@pytest.fixture()
def village(session):
    f.make_county(session)
    return rs.make_village(session)


@pytest.fixture()
def login(client, session):
    def _as(role: str = "village_doctor", unit: str = f.VILLAGE_A1) -> None:
        client.headers.update(f.token_headers(session, f.make_user(session, role, unit)))
    return _as


def test_recall_list_json(client, village, login):
    login()
    res = client.get(URL, params={"week": "2026-11-23", "village": f.VILLAGE_A1})
    assert res.status_code == 200, res.text
    body = res.json()
    assert (body["week_start"], body["week_end"], body["area_name"]) == ("2026-11-23", "2026-11-29", "东冲村")
    assert (body["doses"], body["due"], body["overdue"], body["refusals"], body["children_checked"]) == (4, 3, 1, 1, 5)
    kids = {c["name"]: c for c in body["children"]}
    assert set(kids) == {"王小明", "张乐", "陈小宝", "刘错"}
    a = kids["王小明"]
    assert (a["guardian_name"], a["guardian_phone"], a["guardian_relation"]) == ("李芳", "13900000002", "mother")
    assert [(d["vaccine"], d["dose"], d["status"], d["earliest_date"], d["latest_date"]) for d in a["doses"]] == [
        ("IPV", 1, "due", "2026-11-25", "2027-09-24"), ("DTaP", 1, "due", "2026-11-25", "2027-09-24")]
    c = kids["陈小宝"]["doses"][0]
    assert (c["status"], c["refusal_reason"], c["refusal_date"]) == ("overdue", "refused", "2026-03-01")
    assert kids["刘错"]["history_errors"][0]["reason"] == "immunization.errors.before_previous_dose"


def test_recall_list_by_point_for_a_township_doctor(client, village, login):
    login("township_doctor", f.TOWN_A)
    res = client.get(URL, params={"week": "2026-W48", "point": village.point.id})
    assert res.status_code == 200, res.text
    assert {c["name"] for c in res.json()["children"]} == {"王小明", "张乐", "陈小宝", "刘错", "孙悦"}


def test_another_village_is_forbidden(client, village, login):
    login()
    res = client.get(URL, params={"week": "2026-11-23", "village": f.VILLAGE_A2})
    assert res.status_code == 403
    assert res.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize(("params", "field", "words"), [
    ({"week": "2026-13-01"}, "week", "周次"),
    ({"week": "2026-11-23", "village": "421124100299"}, "village", "不存在"),
    ({"week": "2026-11-23", "point": "999999"}, "point", "接种点"),
    ({"week": "2026-11-23", "format": "pdf"}, "format", "json 或 xlsx"),
])
def test_bad_input_is_422_naming_the_field(client, village, login, params, field, words):
    login()
    res = client.get(URL, params=params)
    assert res.status_code == 422, res.text
    error = res.json()["error"]
    assert error["field"] == field and words in error["message"]


def test_recall_needs_a_login(client, village):
    assert client.get(URL, params={"week": "2026-11-23"}).status_code == 401


def test_xlsx_download(client, village, login):
    login()
    res = client.get(URL, params={"week": "2026-11-23", "village": f.VILLAGE_A1, "format": "xlsx"})
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert "attachment" in res.headers["content-disposition"]
    ws = load_workbook(io.BytesIO(res.content)).active
    assert [c.value for c in ws[2]] == ["村", "儿童姓名", "性别", "出生日期", "监护人", "联系电话", "疫苗", "剂次",
                                        "状态", "应种日期", "最迟日期"]
    assert [row[1].value for row in ws.iter_rows(min_row=3)] == ["刘错", "张乐", "王小明", "王小明", "陈小宝"]


def test_recall_list_is_audited_once_per_request(client, session, village, login):
    from sqlalchemy import func, select

    from weijian.accounts.models import AuditEvent

    login()
    client.get(URL, params={"week": "2026-11-23"})
    assert session.scalar(select(func.count()).select_from(AuditEvent)
                          .where(AuditEvent.entity_type == "recall_list")) == 1


# --- figures --------------------------------------------------------------------------------------
def test_figures_endpoints(client, session, login):
    f.make_county(session)
    point = rs.make_point(session)
    a = f.make_resident(session, name="甲", sex="male", birth_date="2025-01-10")
    rs.give(session, a, "MMR", 1, "2025-09-10", point)
    f.make_resident(session, name="乙", sex="male", birth_date="2025-02-10", village_code=f.VILLAGE_B1)
    login("bureau_admin", f.COUNTY)
    cov = client.get("/api/v1/immunization/figures/coverage",
                     params={"period": "2026", "vaccine": "MMR", "dose": "1", "level": "township"})
    assert cov.status_code == 200, cov.text
    assert {(r["orgunit"], r["numerator"], r["denominator"], r["value"]) for r in cov.json()} == {
        (f.TOWN_A, 1, 1, 1.0), (f.TOWN_B, 0, 1, 0.0)}
    assert {r["target"] for r in cov.json()} == {0.9}
    tim = client.get("/api/v1/immunization/figures/timeliness",
                     params={"period": "2026", "vaccine": "MMR", "dose": "1", "level": "county"})
    assert [(r["numerator"], r["denominator"], r["value"]) for r in tim.json()] == [(1, 2, 0.5)]
    doses = client.get("/api/v1/immunization/figures/doses", params={"period": "2025"})
    assert [(r["vaccine"], r["period"], r["orgunit"], r["point_id"], r["value"]) for r in doses.json()] == [
        ("MMR", "202509", f.TOWN_A, point.id, 1)]


@pytest.mark.parametrize(("path", "params", "field"), [
    ("coverage", {"period": "2026-01"}, "period"),
    ("timeliness", {"period": "2026", "vaccine": "ABC"}, "vaccine"),
    ("coverage", {"period": "2026", "vaccine": "MMR", "dose": "9"}, "dose"),
    ("coverage", {"period": "2026", "level": "nation"}, "level"),
    ("doses", {"period": "x"}, "period"),
    ("doses", {}, "period"),
])
def test_figures_bad_input_is_422_naming_the_field(client, session, login, path, params, field):
    f.make_county(session)
    login("bureau_admin", f.COUNTY)
    res = client.get(f"/api/v1/immunization/figures/{path}", params=params)
    assert res.status_code == 422, res.text
    assert res.json()["error"]["field"] == field
