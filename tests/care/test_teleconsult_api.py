"""The consultation API: request with extracts, schedule by the county facility, answer by the specialist,
refusals with the field named and nothing changed."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests import factories as f
from tests.care import referrals_setup as rs
from weijian.care.models import Teleconsultation


@pytest.fixture()
def w(session):
    return rs.build(session)


@pytest.fixture()
def h(session, w):
    return lambda who: f.token_headers(session, w.users[who])


def ask(client, w, h, **over):
    body = dict(resident_id=w.people["zhang"].id, to_facility_id=w.fac["county"].id, department="心内科",
                question="是否需要调整降压药？", urgency="urgent")
    body.update(over)
    return client.post("/api/v1/care/consultations", json=body, headers=h("village"))


def test_request_schedule_answer(client, session, w, h):
    res = ask(client, w, h)
    assert res.status_code == 201, res.text
    c = res.json()
    assert (c["status"], c["to_facility"], c["urgency"]) == ("requested", "英山县人民医院", "urgent")
    assert [e["diagnoses"][0]["code"] for e in c["extracts"]] == ["I10"]
    county, specialist = h("county"), h("county2")
    res = client.post(f"/api/v1/care/consultations/{c['id']}/schedule", headers=county,
                      json={"specialist_id": w.users["county2"].id, "scheduled_at": "2031-01-01T09:00:00+08:00"})
    assert res.status_code == 200, res.text
    assert res.json()["status"] == "scheduled" and res.json()["scheduled_at"].startswith("2031-01-01T01:00:00")
    res = client.post(f"/api/v1/care/consultations/{c['id']}/answer", headers=county, json={"opinion": "维持"})
    assert res.status_code == 403  # not the specialist assigned
    res = client.post(f"/api/v1/care/consultations/{c['id']}/answer", headers=specialist,
                      json={"opinion": "加用氨氯地平"})
    assert res.status_code == 200 and res.json()["opinion"] == "加用氨氯地平"
    replies = client.get("/api/v1/care/worklist", headers=h("village")).json()["consultation_replies"]
    assert [r["id"] for r in replies] == [c["id"]]


def test_refusals_name_the_field_and_change_nothing(client, session, w, h):
    res = ask(client, w, h, to_facility_id=w.fac["town_a"].id, question="")
    assert res.status_code == 422
    assert {e["field"] for e in res.json()["error"]["errors"]} == {"to_facility_id", "question"}
    assert "不是县级医院" in res.text
    res = client.post("/api/v1/care/consultations", headers=h("county"), json=dict(
        resident_id=w.people["zhang"].id, to_facility_id=w.fac["tcm"].id, department="内科", question="?"))
    assert res.status_code == 403  # the county answers consultations; it does not ask them
    cid = ask(client, w, h).json()["id"]
    res = client.post(f"/api/v1/care/consultations/{cid}/schedule", headers=h("tcm"),
                      json={"specialist_id": w.users["tcm"].id, "scheduled_at": "2031-01-01T09:00:00"})
    assert res.status_code == 403
    res = client.post(f"/api/v1/care/consultations/{cid}/schedule", headers=h("county"),
                      json={"specialist_username": "nobody", "scheduled_at": "not a time"})
    assert res.status_code == 422 and res.json()["error"]["field"] == "scheduled_at"
    res = client.post(f"/api/v1/care/consultations/{cid}/schedule", headers=h("county"),
                      json={"specialist_username": "nobody", "scheduled_at": "2031-01-01T09:00:00"})
    assert res.status_code == 422 and res.json()["error"]["field"] == "specialist_username"
    assert session.scalar(select(Teleconsultation.status)) == "requested"


def test_lists_and_reads_are_scoped(client, session, w, h):
    cid = ask(client, w, h).json()["id"]
    assert client.get(f"/api/v1/care/consultations/{cid}", headers=h("village_b")).status_code == 404
    assert client.get(f"/api/v1/care/consultations/{cid}", headers=h("county")).status_code == 200
    received = client.get("/api/v1/care/consultations", params={"box": "received"}, headers=h("county")).json()
    assert [i["id"] for i in received["items"]] == [cid]
    assert client.get("/api/v1/care/consultations", headers=h("tcm")).json()["total"] == 1  # county scope
    assert client.get("/api/v1/care/consultations", params={"box": "received"},
                      headers=h("tcm")).json()["total"] == 0
    assert client.get("/api/v1/care/consultations", headers=h("bureau")).status_code == 403
