"""The newborn API: a registration is one POST (201) or a 422 naming the field in Chinese with nothing saved;
the registration reads back with its certificate, schedule and hand-offs; hand-offs move one step on;
packets export as xlsx or JSON."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from tests import factories as f
from tests.immunization import newborn_setup as ns


@pytest.fixture()
def s(session):
    return ns.build(session)


@pytest.fixture()
def h(session, s):
    return f.token_headers(session, s.user)


def post(client, h, s, **over):
    return client.post("/api/v1/immunization/newborns", json=ns.form(s, **over), headers=h)


def test_registering_answers_201_with_the_whole_bundle(client, session, s, h):
    res = post(client, h, s, child_name="张小宝", birth_weight_g=3200)
    assert res.status_code == 201, res.text
    body = res.json()
    assert body["child"]["name"] == "张小宝" and body["child"]["household_number"] == "H100"
    assert body["child"]["relation_to_head"] == "son" and body["child"]["id_number"] is None
    assert body["mother"]["id"] == s.mother.id and body["mother"]["id_number"] == s.mother.id_number
    assert len(body["birth_certificate_number"]) == 10 and body["birth_weight_g"] == 3200
    assert body["certificate"]["number"].startswith("421124")
    assert sorted((d["vaccine"], d["dose"], d["lot_number"]) for d in body["doses"]) == sorted(
        [("BCG", 1, s.lots["BCG"].lot_number), ("HepB", 1, s.lots["HepB"].lot_number)])
    given = {(r["vaccine"], r["dose"]) for r in body["schedule"] if r["status"] == "given"}
    assert given == {("HepB", 1), ("BCG", 1)} and len(body["schedule"]) > 15
    assert [(x["department"], x["status"], x["next_status"]) for x in body["handoffs"]] == [
        ("household_registration", "pending", "sent"), ("insurance", "pending", "sent"),
        ("social_security_card", "pending", "sent")]
    again = client.get(f"/api/v1/immunization/newborns/{body['id']}", headers=h)
    assert again.status_code == 200 and again.json()["certificate"] == body["certificate"]
    listed = client.get("/api/v1/immunization/newborns", headers=h).json()
    assert [x["id"] for x in listed] == [body["id"]] and listed[0]["handoffs"]["insurance"] == "pending"


@pytest.mark.parametrize(("over", "field", "text"), [
    ({"mother_id_number": None, "mother_id": 999999}, "mother_id", "未找到该母亲"),
    ({"hepb_lot_id": "expired"}, "hepb_lot_id", "已于"),
    ({"hepb_lot_id": "empty"}, "hepb_lot_id", "没有批号"),
    ({"birth_date": "future"}, "birth_date", "晚于当前时间"),
    ({"sex": None}, "sex", "必填"),
    ({"birth_weight_g": "heavy"}, "birth_weight_g", "整数"),
])
def test_a_refusal_is_422_naming_the_field_in_chinese_and_saves_nothing(client, session, s, h, over, field, text):
    values = dict(over)
    if values.get("hepb_lot_id") == "expired":
        values["hepb_lot_id"] = s.lots["HepB_expired"].id
    if values.get("hepb_lot_id") == "empty":
        values["hepb_lot_id"] = s.lots["HepB_empty"].id
    if values.get("birth_date") == "future":
        values["birth_date"] = (ns.county_today() + timedelta(days=2)).isoformat()
    before = ns.counts(session)
    res = post(client, h, s, **values)
    assert res.status_code == 422, res.text
    error = res.json()["error"]
    assert error["field"] == field and text in error["message"], error
    assert error["errors"][0]["field_label"] != field  # a label, in Chinese
    assert ns.counts(session) == before


def test_unknown_fields_are_refused(client, s, h):
    res = post(client, h, s, father="x")
    assert res.status_code == 422 and res.json()["error"]["field"] == "father"


def test_only_delivery_facility_doctors_may_register(client, session, s):
    village = f.token_headers(session, f.make_user(session, "village_doctor", f.VILLAGE_A1))
    assert post(client, village, s).status_code == 403
    no_facility = f.token_headers(session, f.make_user(session, "county_doctor", f.COUNTY))
    res = post(client, no_facility, s)
    assert res.status_code == 403 and "助产机构" in res.json()["error"]["message"]


def test_hand_off_status_moves_one_step_and_refuses_skips_and_going_back(client, session, s, h):
    birth_id = post(client, h, s).json()["id"]
    url = f"/api/v1/immunization/newborns/{birth_id}/handoffs/insurance"
    skip = client.post(url, json={"status": "done"}, headers=h)
    assert skip.status_code == 409 and "不能改为" in skip.json()["error"]["message"]
    sent = client.post(url, json={"status": "sent"}, headers=h)
    assert sent.status_code == 200 and sent.json()["status"] == "sent" and sent.json()["next_status"] == "done"
    back = client.post(url, json={"status": "pending"}, headers=h)
    assert back.status_code == 409
    done = client.post(url, json={"status": "done"}, headers=h)
    assert done.json() | {"updated_at": None} == {"birth_id": birth_id, "department": "insurance", "status": "done",
                                                  "updated_at": None, "next_status": None}
    bad = client.post(f"/api/v1/immunization/newborns/{birth_id}/handoffs/police", json={"status": "sent"}, headers=h)
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "department"
    assert client.post("/api/v1/immunization/newborns/999999/handoffs/insurance", json={"status": "sent"},
                       headers=h).status_code == 404
    listed = client.get("/api/v1/immunization/handoffs", params={"department": "insurance"}, headers=h).json()
    assert [(x["birth_id"], x["status"]) for x in listed] == [(birth_id, "done")]
    assert client.get("/api/v1/immunization/handoffs", params={"department": "insurance", "status": "pending"},
                      headers=h).json() == []


def test_packets_export_as_xlsx_and_json(client, session, s, h):
    birth_id = post(client, h, s, child_name="张小宝").json()["id"]
    res = client.get("/api/v1/immunization/handoffs/social_security_card/export", headers=h)
    assert res.status_code == 200 and res.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    rows = list(load_workbook(io.BytesIO(res.content)).active.iter_rows(values_only=True))
    assert rows[0][0] == "登记号" and rows[1][0] == birth_id and "张小宝" in rows[1]
    body = client.get("/api/v1/immunization/handoffs/insurance/export", params={"format": "json"}, headers=h).json()
    assert body["count"] == 1 and body["packets"][0]["guardian_id_number"] == s.mother.id_number
    english = client.get("/api/v1/immunization/handoffs/insurance/export", headers={**h, "Accept-Language": "en"})
    assert list(load_workbook(io.BytesIO(english.content)).active.iter_rows(values_only=True))[0][0] == "Registration no."
    bad = client.get("/api/v1/immunization/handoffs/insurance/export", params={"format": "pdf"}, headers=h)
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "format"
    assert client.get("/api/v1/immunization/handoffs/insurance/export", params={"status": "lost"},
                      headers=h).json()["error"]["field"] == "status"


def test_a_missing_registration_answers_404_and_users_without_the_permission_403(client, session, s, h):
    birth_id = post(client, h, s).json()["id"]
    other = f.token_headers(session, f.make_user(session, "township_doctor", f.TOWN_B))
    assert client.get(f"/api/v1/immunization/newborns/{birth_id}", headers=other).status_code == 403
    assert client.get("/api/v1/immunization/newborns/999999", headers=h).status_code == 404
