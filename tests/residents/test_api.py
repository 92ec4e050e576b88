"""The resident API: scope answers 404, identity numbers masked in lists and by permission in a record,
errors name the field in Chinese, nothing changes on a refusal."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from tests import factories as f
from weijian.accounts.models import AuditEvent
from weijian.residents.models import Resident


@pytest.fixture()
def headers(session, county):
    def _for(role: str, unit: str) -> dict[str, str]:
        return f.token_headers(session, f.make_user(session, role, unit))
    return _for


@pytest.fixture()
def people(session, county):
    return {
        "a1": f.make_resident(session, name="张三", phone="13900001111", household_number="H1",
                              relation_to_head="head"),
        "a1b": f.make_resident(session, name="张小三", household_number="H1", relation_to_head="son"),
        "b1": f.make_resident(session, name="张无忌", village_code=f.VILLAGE_B1, household_number="H2"),
    }


def reads(session, resident_id: int) -> int:
    return session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "read", AuditEvent.resident_id == resident_id))


def test_search_lists_only_the_scope_with_identity_numbers_masked(client, session, people, headers):
    res = client.get("/api/v1/residents", params={"q": "张"}, headers=headers("village_doctor", f.VILLAGE_A1))
    assert res.status_code == 200
    body = res.json()
    assert [i["name"] for i in body["items"]] == ["张三", "张小三"]
    assert (body["total"], body["total_capped"], body["page"]) == (2, False, 1)
    item = body["items"][0]
    full = people["a1"].id_number
    assert item["id_number_masked"] == full[:6] + "*" * 8 + full[-4:]
    assert full not in res.text and "13900001111" not in res.text
    assert (item["village_name"], item["household_number"], item["phone_masked"]) == ("东冲村", "H1", "139****1111")
    assert item["age"] >= 0 and "id_number" not in item


def test_search_pages_and_filters_by_village(client, session, people, headers):
    h = headers("county_doctor", f.COUNTY)
    res = client.get("/api/v1/residents", params={"q": "张", "page": 2, "page_size": 1}, headers=h)
    assert [i["name"] for i in res.json()["items"]] == ["张小三"]
    res = client.get("/api/v1/residents", params={"village": f.VILLAGE_B1}, headers=h)
    assert [i["name"] for i in res.json()["items"]] == ["张无忌"]
    res = client.get("/api/v1/residents", params={"page_size": 1000}, headers=h)
    assert res.status_code == 422 and res.json()["error"]["field"] == "page_size"


def test_record_shows_the_full_identity_number_only_with_the_permission(client, session, people, headers):
    rid, full = people["a1"].id, people["a1"].id_number
    doctor = client.get(f"/api/v1/residents/{rid}", headers=headers("village_doctor", f.VILLAGE_A1)).json()
    assert (doctor["id_number"], doctor["id_number_masked"]) == (full, False)
    admin = client.get(f"/api/v1/residents/{rid}", headers=headers("bureau_admin", f.COUNTY)).json()
    assert (admin["id_number"], admin["id_number_masked"]) == (full[:6] + "*" * 8 + full[-4:], True)
    assert admin["household"]["number"] == "H1" and admin["village_name"] == "东冲村"


def test_record_read_is_audited(client, session, people, headers):
    rid = people["a1"].id
    client.get(f"/api/v1/residents/{rid}", headers=headers("township_doctor", f.TOWN_A))
    ev = session.scalar(select(AuditEvent).where(AuditEvent.action == "read", AuditEvent.resident_id == rid))
    assert ev.basis == "own_township" and ev.role == "township_doctor"


def test_out_of_scope_record_is_404_like_a_missing_one_and_not_audited(client, session, people, headers):
    h = headers("village_doctor", f.VILLAGE_A1)
    rid = people["b1"].id
    out = client.get(f"/api/v1/residents/{rid}", headers=h)
    missing = client.get(f"/api/v1/residents/{rid + 999}", headers=h)
    assert out.status_code == missing.status_code == 404
    assert out.json()["error"]["code"] == missing.json()["error"]["code"] == "not_found"
    assert "张无忌" not in out.text
    assert reads(session, rid) == 0


def test_reading_needs_a_log_in(client, people):
    assert client.get(f"/api/v1/residents/{people['a1'].id}").status_code == 401


def test_create_returns_the_record_and_refusals_name_the_field_in_chinese(client, session, county, headers):
    h = headers("village_doctor", f.VILLAGE_A1)
    idn = f.new_id_number(date(1970, 6, 1), male=True)
    res = client.post("/api/v1/residents", headers=h,
                      json={"name": "王五", "id_number": idn, "village_code": f.VILLAGE_A1, "groups": ["低保"]})
    assert res.status_code == 201, res.text
    assert (res.json()["sex"], res.json()["birth_date"], res.json()["groups"]) == ("male", "1970-06-01", ["min_living"])

    before = session.scalar(select(func.count()).select_from(Resident))
    res = client.post("/api/v1/residents", headers=h,
                      json={"name": "王六", "id_number": idn, "village_code": f.VILLAGE_A1})
    assert res.status_code == 422
    err = res.json()["error"]
    assert err["field"] == "id_number" and err["message"].startswith("身份证号")
    bad = idn[:17] + ("0" if idn[17] != "0" else "1")
    res = client.post("/api/v1/residents", headers=h, json={
        "name": "王七", "id_number": bad, "village_code": "421124100299", "birth_date": "2999-01-01"})
    fields = {e["field"] for e in res.json()["error"]["errors"]}
    assert {"id_number", "village_code", "birth_date"} <= fields
    assert session.scalar(select(func.count()).select_from(Resident)) == before


def test_create_needs_the_write_permission(client, session, county, headers):
    res = client.post("/api/v1/residents", headers=headers("bureau_admin", f.COUNTY),
                      json={"name": "王五", "id_number": f.new_id_number(), "village_code": f.VILLAGE_A1})
    assert res.status_code == 403


def test_patch_changes_only_what_is_sent(client, session, people, headers):
    r = people["a1"]
    res = client.patch(f"/api/v1/residents/{r.id}", headers=headers("village_doctor", f.VILLAGE_A1),
                       json={"phone": "13700002222"})
    assert res.status_code == 200, res.text
    assert (res.json()["phone"], res.json()["name"], res.json()["household"]["number"]) == ("13700002222", "张三", "H1")


def test_patch_refusal_changes_nothing(client, session, people, headers):
    r = people["a1"]
    res = client.patch(f"/api/v1/residents/{r.id}", headers=headers("village_doctor", f.VILLAGE_A1),
                       json={"phone": "13700002222", "birth_date": "2999-01-01"})
    assert res.status_code == 422 and res.json()["error"]["field"] == "birth_date"
    session.expire_all()
    assert session.get(Resident, r.id).phone == "13900001111"


def test_patch_out_of_scope_is_404(client, session, people, headers):
    res = client.patch(f"/api/v1/residents/{people['b1'].id}", headers=headers("village_doctor", f.VILLAGE_A1),
                       json={"phone": "13700002222"})
    assert res.status_code == 404


def test_household_lists_members_and_is_scoped(client, session, people, headers):
    h = headers("village_doctor", f.VILLAGE_A1)
    res = client.get(f"/api/v1/households/{people['a1'].household_id}", headers=h)
    assert res.status_code == 200
    body = res.json()
    assert [m["name"] for m in body["members"]] == ["张三", "张小三"]
    assert body["head_id"] == people["a1"].id
    assert people["a1"].id_number not in res.text
    assert client.get(f"/api/v1/households/{people['b1'].household_id}", headers=h).status_code == 404


def test_merge_through_the_api(client, session, people, headers):
    kept = people["a1"]
    dup = f.make_resident(session, name="张三", id_number=None, sex="male", birth_date=kept.birth_date,
                         confirm_probable_duplicate=True)
    h = headers("sysadmin", f.COUNTY)
    assert client.post(f"/api/v1/residents/{kept.id}/merge", headers=headers("village_doctor", f.VILLAGE_A1),
                       json={"merged_id": dup.id, "reason": "重复"}).status_code == 403
    res = client.post(f"/api/v1/residents/{kept.id}/merge", headers=h, json={"merged_id": dup.id, "reason": "重复"})
    assert res.status_code == 201, res.text
    assert (res.json()["survivor_id"], res.json()["merged_id"]) == (kept.id, dup.id)
    record = client.get(f"/api/v1/residents/{kept.id}", headers=h).json()
    assert [m["merged_id"] for m in record["merged"]] == [dup.id]
    assert client.get(f"/api/v1/residents/{dup.id}", headers=h).json()["merged_into_id"] == kept.id
    again = client.post(f"/api/v1/residents/{kept.id}/merge", headers=h, json={"merged_id": dup.id, "reason": "重复"})
    assert again.status_code == 409


def test_merge_of_different_identity_numbers_needs_confirmation(client, session, people, headers):
    h = headers("sysadmin", f.COUNTY)
    kept, other = people["a1"], people["a1b"]
    res = client.post(f"/api/v1/residents/{kept.id}/merge", headers=h, json={"merged_id": other.id, "reason": "重复"})
    assert res.status_code == 422 and res.json()["error"]["field"] == "confirm_different_id_numbers"
    res = client.post(f"/api/v1/residents/{kept.id}/merge", headers=h,
                      json={"merged_id": other.id, "reason": "号码录入错误", "confirm_different_id_numbers": True})
    assert res.status_code == 201
