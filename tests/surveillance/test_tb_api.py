"""TB patient management's JSON routes: register a treatment, record doses, the first visit, a follow-up and
the outcome; refusals are 4xx naming the field (never a 5xx); outside the scope is 404; the worklist; a
bureau user without care:read is refused."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests import factories as f
from weijian.core import clock
from weijian.surveillance.tb.models import TbDose, TbTreatment

BASE = "/api/v1/surveillance/tb"


@pytest.fixture()
def county(session):
    return f.make_county(session)


@pytest.fixture()
def doctor(session, county):
    return f.token_headers(session, f.make_user(session, "village_doctor", f.VILLAGE_A1))


def test_a_treatment_is_registered_dosed_visited_and_closed(client, session, doctor):
    resident = f.make_resident(session, name="接口患者")
    today = clock.today()
    start = today - timedelta(days=2)
    r = client.post(f"{BASE}/treatments", headers=doctor, json={
        "resident_id": resident.id, "notified_at": clock.at(start).isoformat(), "start_date": start.isoformat(),
        "regimen": "mdr_short", "drug_resistant": True, "supervisor_kind": "medical", "supervisor_name": "村医"})
    assert r.status_code == 201, r.text
    body = r.json()
    tid = body["id"]
    assert body["planned_months"] == 9 and body["drug_resistant"] is True and body["doses_due"] == 3
    assert body["first_visit"]["done_at"] is None
    assert client.post(f"{BASE}/treatments/{tid}/doses", headers=doctor,
                       json={"date": start.isoformat()}).status_code == 201
    twice = client.post(f"{BASE}/treatments/{tid}/doses", headers=doctor, json={"date": start.isoformat()})
    assert twice.status_code == 422 and twice.json()["error"]["field"] == "date"
    future = client.post(f"{BASE}/treatments/{tid}/doses", headers=doctor,
                         json={"date": (today + timedelta(days=1)).isoformat()})
    assert future.status_code == 422 and future.json()["error"]["errors"][0]["reason"].endswith("date_future")
    assert client.post(f"{BASE}/treatments/{tid}/first-visit", headers=doctor,
                       json={"found": True}).json()["done_at"] is not None
    assert client.post(f"{BASE}/treatments/{tid}/follow-ups", headers=doctor,
                       json={"date": today.isoformat(), "findings": "好转"}).status_code == 201
    closed = client.post(f"{BASE}/treatments/{tid}/outcome", headers=doctor,
                         json={"outcome": "failed", "outcome_on": today.isoformat()})
    assert closed.status_code == 200 and closed.json()["outcome"] == "failed"
    again = client.post(f"{BASE}/treatments/{tid}/outcome", headers=doctor,
                        json={"outcome": "cured", "outcome_on": today.isoformat()})
    assert 400 <= again.status_code < 500
    assert session.scalar(select(func.count()).select_from(TbDose)) == 1


def test_a_bad_body_names_its_field_and_outside_the_scope_is_404(client, session, doctor):
    resident = f.make_resident(session)
    r = client.post(f"{BASE}/treatments", headers=doctor, json={
        "resident_id": resident.id, "notified_at": "not a time", "start_date": "2026-01-01",
        "regimen": "nonsense", "supervisor_kind": "medical", "supervisor_name": "村医"})
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["error"]["errors"]} == {"notified_at", "regimen"}
    far = f.make_tb_patient(session, start=clock.today(), village_code=f.VILLAGE_B1)
    assert client.get(f"{BASE}/treatments/{far.id}", headers=doctor).status_code == 404
    assert client.post(f"{BASE}/treatments/{far.id}/doses", headers=doctor,
                       json={"date": clock.today().isoformat()}).status_code == 404
    assert session.scalar(select(func.count()).select_from(TbTreatment)) == 1


def test_the_worklist_and_the_register(client, session, doctor):
    mine = f.make_tb_patient(session, start=clock.today() - timedelta(days=1), name="名单患者")
    f.make_tb_patient(session, start=clock.today(), village_code=f.VILLAGE_B1)
    w = client.get(f"{BASE}/worklist", headers=doctor).json()
    assert [i["treatment_id"] for i in w["doses_due"]] == [mine.id]
    assert w["doses_due"][0]["dose_today"] is None
    listed = client.get(f"{BASE}/treatments", headers=doctor).json()
    assert listed["total"] == 1 and listed["items"][0]["resident_name"] == "名单患者"
    bureau = f.token_headers(session, f.make_user(session, "bureau_admin", f.COUNTY))
    assert client.get(f"{BASE}/treatments", headers=bureau).status_code == 403
