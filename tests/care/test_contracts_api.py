"""JSON routes of family-doctor contracting: a team, signing, reading, renewing and ending a contract, the
renewals due; refusals name the field; a contract or team outside the caller's scope answers 404."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests import factories as f
from weijian.care.contracts.models import FamilyDoctorContract
from weijian.core import clock

BASE = "/api/v1/care"


@pytest.fixture()
def county(session):
    return f.make_county(session)


@pytest.fixture()
def doctor(session, county):
    return f.token_headers(session, f.make_user(session, "village_doctor", f.VILLAGE_A1))


@pytest.fixture()
def team_id(client, session, county):
    admin = f.token_headers(session, f.make_user(session, "township_doctor", f.TOWN_A))
    r = client.post(f"{BASE}/contract-teams", headers=admin, json={
        "name": "温泉镇团队", "villages": [f.VILLAGE_A1],
        "members": [{"role": "township_doctor", "staff_name": "王医生"}, {"role": "nurse", "staff_name": "张护士"}]})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_a_contract_is_signed_read_and_listed(client, session, doctor, team_id):
    person = f.make_resident(session, name="签约居民", birth_date=date(1950, 1, 1))
    r = client.post(f"{BASE}/contracts", headers=doctor, json={"resident_id": person.id, "team_id": team_id})
    assert r.status_code == 201, r.text
    body = r.json()
    today = clock.today()
    assert body["start_date"] == today.isoformat() and body["status"] == "signed" and body["state"] == "active"
    assert body["key_populations"] == ["elderly_65"] and body["team_name"] == "温泉镇团队"
    assert client.get(f"{BASE}/contracts/{body['id']}", headers=doctor).json()["id"] == body["id"]
    roster = client.get(f"{BASE}/contracts", headers=doctor, params={"village": f.VILLAGE_A1}).json()
    assert roster["counts"] == {"residents": 1, "contracted": 1, "key": 1, "key_contracted": 1}
    team = client.get(f"{BASE}/contract-teams/{team_id}", headers=doctor).json()
    assert [m["role"] for m in team["members"]] == ["township_doctor", "nurse"]


def test_an_end_before_the_start_is_a_422_naming_end_date(client, session, doctor, team_id):
    person = f.make_resident(session, name="日期错")
    start = clock.today() - timedelta(days=10)
    r = client.post(f"{BASE}/contracts", headers=doctor, json={
        "resident_id": person.id, "team_id": team_id, "signed_on": start.isoformat(), "start_date": start.isoformat(),
        "end_date": (start - timedelta(days=1)).isoformat()})
    assert r.status_code == 422 and r.json()["error"]["field"] == "end_date"
    assert session.scalar(select(func.count()).select_from(FamilyDoctorContract)) == 0


def test_renew_and_end_through_the_api(client, session, doctor, team_id):
    person = f.make_resident(session, name="续约居民")
    signed = clock.today() - timedelta(days=360)
    c = client.post(f"{BASE}/contracts", headers=doctor, json={
        "resident_id": person.id, "team_id": team_id, "signed_on": signed.isoformat()}).json()
    due = client.get(f"{BASE}/contracts/due", headers=doctor).json()
    assert [(d["id"], d["state"]) for d in due] == [(c["id"], "due")]
    renewed = client.post(f"{BASE}/contracts/{c['id']}/renew", headers=doctor, json={})
    assert renewed.status_code == 201, renewed.text
    new = renewed.json()
    assert new["previous_id"] == c["id"] and new["status"] == "renewed"
    # The renewal starts after today (the day after the first term ends): ending it today is before its start;
    # and a reason is needed.
    refused = client.post(f"{BASE}/contracts/{new['id']}/end", headers=doctor, json={"ended_on": clock.today().isoformat()})
    assert refused.status_code == 422
    assert {(e["field"], e["reason"].rsplit(".", 1)[-1]) for e in refused.json()["error"]["errors"]} == {
        ("ended_on", "end_before_start"), ("reason", "missing")}
    ended = client.post(f"{BASE}/contracts/{c['id']}/end", headers=doctor,
                        json={"ended_on": clock.today().isoformat(), "reason": "moved_out"})
    assert ended.status_code == 409  # the first was ended by its renewal


def test_a_contract_outside_the_scope_is_404(client, session, county, doctor):
    other_doctor = f.token_headers(session, f.make_user(session, "village_doctor", f.VILLAGE_B1))
    team = client.post(f"{BASE}/contract-teams", headers=other_doctor, json={
        "name": "南河团队", "villages": [f.VILLAGE_B1], "members": [{"role": "nurse", "staff_name": "护士"}]}).json()
    person = f.make_resident(session, name="乙村居民", village_code=f.VILLAGE_B1)
    c = client.post(f"{BASE}/contracts", headers=other_doctor, json={"resident_id": person.id, "team_id": team["id"]})
    assert c.status_code == 201, c.text
    assert client.get(f"{BASE}/contracts/{c.json()['id']}", headers=doctor).status_code == 404
    assert client.get(f"{BASE}/contract-teams/{team['id']}", headers=doctor).status_code == 404
    assert client.post(f"{BASE}/contracts/{c.json()['id']}/end", headers=doctor,
                       json={"ended_on": clock.today().isoformat(), "reason": "other"}).status_code == 404
