"""JSON routes of the early-warning signals: list with the overdue flag, read, the lifecycle, refusals (422
naming the field, 409 naming the state), the timeliness figures, and who may use them (signal:read,
signal:verify: cdc_staff; the bureau reads)."""
from __future__ import annotations

import pytest

from tests import factories as f
from tests.surveillance import signals_setup as s
from weijian.surveillance.signals import service


@pytest.fixture()
def w(session):
    f.make_county(session)
    admin = f.make_user(session, "cdc_staff", f.COUNTY)
    doctor = f.make_user(session, "township_doctor", f.TOWN_A)
    service.run(session=session, as_of=s.AS_OF, days=1, actor=s.CDC,
                counts=s.Provider({("plague", f.TOWN_A): {s.AS_OF: 1}, ("cholera", f.TOWN_B): {s.AS_OF: 2}}))
    session.flush()
    return {"admin": f.token_headers(session, admin), "doctor": f.token_headers(session, doctor)}


def test_the_list_reads_the_open_signals_with_their_names_and_figures(client, w):
    res = client.get("/api/v1/surveillance/signals", headers=w["admin"])
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["total"] == 2
    plague = next(i for i in body["items"] if i["disease_code"] == "plague")
    assert (plague["orgunit_code"], plague["method"], plague["state"], plague["overdue"]) == \
        (f.TOWN_A, "fixed", "new", False)
    assert plague["figures"]["params"] == {"threshold": 1}
    assert client.get(f"/api/v1/surveillance/signals/{plague['id']}", headers=w["admin"]).json()["id"] == plague["id"]


def test_verify_respond_close_through_the_api(client, w):
    sid = client.get("/api/v1/surveillance/signals", headers=w["admin"]).json()["items"][0]["id"]
    base = f"/api/v1/surveillance/signals/{sid}"
    res = client.post(f"{base}/verify", json={}, headers=w["admin"])
    assert res.status_code == 422 and res.json()["error"]["field"] == "outcome"
    res = client.post(f"{base}/close", json={}, headers=w["admin"])
    assert res.status_code == 409 and res.json()["error"]["code"] == "invalid_state"
    res = client.post(f"{base}/verify", json={"outcome": "true", "version": 1}, headers=w["admin"])
    assert res.status_code == 200 and res.json()["state"] == "verified_true"
    assert res.json()["hours_to_verify"] is not None
    res = client.post(f"{base}/verify", json={"outcome": "true", "version": 1}, headers=w["admin"])
    assert res.status_code == 409  # the version seen is old
    res = client.post(f"{base}/respond", json={"notes": "流调", "measures": "消杀", "case_report_ids": [7]},
                      headers=w["admin"])
    assert res.status_code == 200 and res.json()["case_report_ids"] == [7] and res.json()["state"] == "responding"
    res = client.post(f"{base}/close", headers=w["admin"])
    assert res.status_code == 200 and res.json()["state"] == "closed"
    t = client.get("/api/v1/surveillance/signals/timeliness", headers=w["admin"]).json()
    assert t["signals"] == 2 and t["within_limit"] == 1


def test_a_clinician_without_signal_permissions_is_refused(client, w):
    assert client.get("/api/v1/surveillance/signals", headers=w["doctor"]).status_code == 403
    assert client.post("/api/v1/surveillance/signals/1/verify", json={"outcome": "true"},
                       headers=w["doctor"]).status_code == 403
    assert client.get("/api/v1/surveillance/signals").status_code == 401


def test_a_missing_signal_is_404_and_a_bad_view_names_the_field(client, w):
    assert client.get("/api/v1/surveillance/signals/987654", headers=w["admin"]).status_code == 404
    res = client.get("/api/v1/surveillance/signals?view=bogus", headers=w["admin"])
    assert res.status_code == 422 and res.json()["error"]["field"] == "view"
