"""Settlement JSON routes: settle, read, reverse, a resident's list, pending batch, waiver, ledger, pay."""
from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from tests import factories as f
from tests.settlement.settle_setup import build, counts


def test_settle_read_and_reverse_through_the_api(client, session: Session) -> None:
    w = build(session)
    person = f.make_resident(session)
    a = f.make_stay(session, person, w.facilities["town_a"], end_date=date(2024, 2, 1), total="5000.00")
    b = f.make_stay(session, person, w.facilities["town_a"], end_date=date(2024, 3, 1), total="5000.00")
    h = f.token_headers(session, w.users["county"])
    r = client.post("/api/v1/settlement/settlements", json={"encounter_id": a.id}, headers=h)
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["amounts"]["basic_pays"] == "4080.00" and first["amounts"]["patient_pays"] == "920.00"
    assert first["after"]["basic_paid"] == "4080.00"
    second = client.post("/api/v1/settlement/settlements", json={"encounter_id": b.id}, headers=h).json()
    assert second["before"]["basic_paid"] == "4080.00" and second["seq"] == 2
    assert client.get(f"/api/v1/settlement/settlements/{first['id']}", headers=h).json()["status"] == "settled"
    r = client.post(f"/api/v1/settlement/settlements/{first['id']}/reverse", json={"reason": "录入错误"}, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["reversed"]["status"] == "reversed"
    assert [s["before"]["basic_paid"] for s in body["resettled"]] == ["0.00"]
    listed = client.get(f"/api/v1/settlement/residents/{person.id}/settlements", headers=h).json()
    assert [s["encounter_id"] for s in listed] == [b.id]


def test_refused_settlement_answers_422_naming_the_field_and_stores_nothing(client, session: Session) -> None:
    w = build(session)
    odd = f.make_facility(session, name="某疗养院", type="other", grade="ungraded", orgunit_code=f.COUNTY)
    stay = f.make_stay(session, f.make_resident(session), odd)
    h = f.token_headers(session, w.users["county"])
    before = counts(session)
    r = client.post("/api/v1/settlement/settlements", json={"encounter_id": stay.id}, headers=h)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_input" and "某疗养院" in r.json()["error"]["message"]
    assert counts(session)[:3] == before[:3]


def test_outside_scope_is_404_and_without_permission_403(client, session: Session) -> None:
    w = build(session)
    stay = f.make_stay(session, f.make_resident(session), w.facilities["county"])
    r = client.post("/api/v1/settlement/settlements", json={"encounter_id": stay.id},
                    headers=f.token_headers(session, w.users["town_b"]))
    assert r.status_code == 404
    r = client.post("/api/v1/settlement/settlements", json={"encounter_id": stay.id},
                    headers=f.token_headers(session, w.users["bureau"]))
    assert r.status_code == 403


def test_pending_waiver_ledger_and_payment(client, session: Session) -> None:
    w = build(session)
    person = f.make_resident(session, groups=["低保"])
    stay = f.make_stay(session, person, w.facilities["county"], end_date=None, total="20000.00")
    h = f.token_headers(session, w.users["county"])
    assert client.post(f"/api/v1/settlement/encounters/{stay.id}/waiver", headers=h).status_code == 201
    stay.end_date = date(2024, 3, 10)
    session.flush()
    assert client.post("/api/v1/settlement/pending", json={"year": 2024}, headers=h).json() == {"settled": 1}
    ledger = client.get("/api/v1/settlement/balances", headers=h).json()
    assert len(ledger["rows"]) == 1 and ledger["facilities"][0]["outstanding_count"] == 1
    row = ledger["rows"][0]
    assert row["id_number_masked"] != person.id_number
    r = client.post(f"/api/v1/settlement/balances/{row['balance']['id']}/payments", json={"amount": "10"}, headers=h)
    assert r.status_code == 200 and r.json()["paid_amount"] == "10.00"
    r = client.post(f"/api/v1/settlement/balances/{row['balance']['id']}/payments", json={"amount": "-1"}, headers=h)
    assert r.status_code == 422 and "amount" in r.text
