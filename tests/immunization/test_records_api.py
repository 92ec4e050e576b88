"""The vaccination-record, AEFI and stock API: doses through JSON with the stock taken, refusals naming the
field in Chinese with nothing changed, the child's schedule with statuses, scope (404 / 403) and audit."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.immunization.records_setup import (
    SYSTEM,
    audits,
    born_on,
    county_today,
    headers,
    make_child,
    qty,
    record_historical,
    snapshot,
    world,  # noqa: F401
)
from weijian.immunization.models import Vaccination

URL = "/api/v1/immunization/vaccinations"


def test_a_dose_is_recorded_through_the_api_and_the_stock_taken(client, session, world):
    w = world
    res = client.post(URL, json={"resident_id": w.child.id, "vaccine": "HepB", "dose": 2, "site": "right_deltoid"},
                      headers=headers(session, w.vaccinator))
    assert res.status_code == 201, res.text
    body = res.json()
    assert (body["vaccine"], body["vaccine_name"], body["dose"], body["date"]) == ("HepB", "乙肝疫苗", 2,
                                                                                  county_today().isoformat())
    assert (body["lot_id"], body["lot_number"], body["route"], body["point_id"]) == (
        w.hepb_soon.id, w.hepb_soon.lot_number, "im", w.point_a.id)
    assert qty(session, w.point_a, w.hepb_soon) == 4


def test_a_refused_dose_names_the_field_in_chinese_and_changes_nothing(client, session, world):
    w = world
    auth = headers(session, w.vaccinator)
    before = snapshot(session)
    res = client.post(URL, json={"resident_id": w.child.id, "vaccine": "HepB", "dose": 2, "site": "right_deltoid",
                                 "lot_id": w.hepb_expired.id}, headers=auth)
    assert res.status_code == 422
    error = res.json()["error"]
    assert error["field"] == "lot_id" and error["message"].startswith("疫苗批号: ") and "过期" in error["message"]
    res = client.post(URL, json={"resident_id": w.child.id, "vaccine": "HepB", "dose": 1, "site": "right_deltoid"},
                      headers=auth)
    assert res.status_code == 422 and res.json()["error"]["field"] == "dose"
    assert "不能重复登记" in res.json()["error"]["message"]
    res = client.post(URL, json={"resident_id": w.child.id, "vaccine": "HepB", "dose": 2, "site": "oral",
                                 "lot_id": w.hepb_expired.id}, headers={**auth, "Accept-Language": "en"})
    assert res.status_code == 422 and res.json()["error"]["field"] == "site"
    assert res.json()["error"]["message"].startswith("Site:")
    assert snapshot(session) == before


def test_a_dose_before_its_earliest_date_is_refused_naming_given_at(client, session, world):
    w = world
    child = make_child(session, born=county_today() - timedelta(days=7))
    res = client.post(URL, json={"resident_id": child.id, "vaccine": "HepB", "dose": 2, "site": "right_deltoid"},
                      headers=headers(session, w.vaccinator))
    assert res.status_code == 422 and res.json()["error"]["field"] == "given_at"
    assert "最早可接种日期" in res.json()["error"]["message"]
    assert session.scalar(select(Vaccination.id).where(Vaccination.resident_id == child.id,
                                                       Vaccination.dose == 2)) is None


def test_the_childs_record_lists_the_schedule_with_statuses_and_is_audited(client, session, world):
    w = world
    res = client.get(f"/api/v1/residents/{w.child.id}/vaccinations", headers=headers(session, w.village_doctor))
    assert res.status_code == 200, res.text
    body = res.json()
    rows = {(r["vaccine"], r["dose"]): r for r in body["schedule"]}
    assert rows[("HepB", 1)]["status"] == "given" and rows[("HepB", 1)]["given_date"] == born_on().isoformat()
    assert rows[("HepB", 2)]["status"] == "due" and rows[("HepB", 2)]["status_label"] == "应种"
    assert {(v["vaccine"], v["source"]) for v in body["vaccinations"]} == {("HepB", "historical"),
                                                                          ("BCG", "historical")}
    assert body["edition"].startswith("nip-")
    assert audits(session, entity_type="vaccinations", resident_id=w.child.id)


def test_a_child_outside_the_scope_answers_404(client, session, world):
    w = world
    auth = headers(session, w.vaccinator_b)
    assert client.get(f"/api/v1/residents/{w.child.id}/vaccinations", headers=auth).status_code == 404
    res = client.post(URL, json={"resident_id": w.child.id, "vaccine": "HepB", "dose": 2, "site": "right_deltoid"},
                      headers=auth)
    assert res.status_code == 404


def test_historical_dose_and_refusal_through_the_api(client, session, world):
    w = world
    auth = headers(session, w.village_doctor)
    res = client.post(URL + "/historical", json={"resident_id": w.child.id, "vaccine": "HepB", "dose": 2,
                                                 "date": (born_on() + timedelta(days=35)).isoformat()}, headers=auth)
    assert res.status_code == 201 and res.json()["source"] == "historical"
    res = client.post("/api/v1/immunization/refusals", json={"resident_id": w.child.id, "vaccine": "IPV", "dose": 1,
                                                             "date": county_today().isoformat(), "reason": "why"},
                      headers=auth)
    assert res.status_code == 422 and res.json()["error"]["field"] == "reason"


def test_aefi_is_reported_and_listed_for_the_county(client, session, world):
    w = world
    v = record_historical(session=session, resident_id=w.child.id, vaccine="HepB", dose=2,
                                  date=county_today() - timedelta(days=2), actor=SYSTEM)
    res = client.post("/api/v1/immunization/aefi", json={"vaccination_id": v.id, "onset_date": county_today().isoformat(),
                                                         "symptoms": "接种部位红肿", "severity": "mild"},
                      headers=headers(session, w.vaccinator))
    assert res.status_code == 201, res.text
    res = client.post("/api/v1/immunization/aefi", json={"vaccination_id": v.id, "onset_date": "2000-01-01",
                                                         "symptoms": "x", "severity": "mild"},
                      headers=headers(session, w.vaccinator))
    assert res.status_code == 422 and res.json()["error"]["field"] == "onset_date"
    listed = client.get("/api/v1/immunization/aefi", headers=headers(session, w.county_doctor))
    assert listed.status_code == 200
    [row] = listed.json()
    assert (row["resident_id"], row["vaccine"], row["symptoms"]) == (w.child.id, "HepB", "接种部位红肿")
    assert client.get("/api/v1/immunization/aefi", headers=headers(session, w.vaccinator)).status_code == 403
    bad = client.get("/api/v1/immunization/aefi", params={"period": "2025Q7"}, headers=headers(session, w.bureau))
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "period"


# --- stock --------------------------------------------------------------------------------------
def test_points_list_says_which_the_caller_keeps(client, session, world):
    w = world
    res = client.get("/api/v1/immunization/points", headers=headers(session, w.vaccinator))
    assert res.status_code == 200
    assert {p["id"]: p["manageable"] for p in res.json()} == {w.point_a.id: True, w.point_b.id: False}


def test_stock_of_a_point_with_totals_and_flags(client, session, world):
    w = world
    auth = headers(session, w.vaccinator)
    res = client.get(f"/api/v1/immunization/points/{w.point_a.id}/stock", headers=auth)
    assert res.status_code == 200
    body = res.json()
    assert body["totals"] == {"HepB": 25, "BCG": 10, "IPV": 10}
    assert {r["lot"]["id"]: r["expired"] for r in body["rows"]}[w.hepb_expired.id] is True
    flags = client.get(f"/api/v1/immunization/points/{w.point_a.id}/flags", headers=auth).json()
    # The world's two-month-old (TOWN_A) needs DTaP1 (2 months since 2025) this week or next; point A has none.
    assert [(fl["kind"], fl["level"], fl["vaccine"], fl["lot_id"]) for fl in flags] == [
        ("low_stock", "red", "DTaP", None), ("expired", "red", "HepB", w.hepb_expired.id)]
    assert client.get(f"/api/v1/immunization/points/{w.point_b.id}/stock", headers=auth).status_code == 403
    county = client.get("/api/v1/immunization/stock", headers=headers(session, w.county_doctor)).json()
    assert county["totals"]["HepB"] == 35
    assert client.get("/api/v1/immunization/stock", headers=headers(session, w.village_doctor)).status_code == 403


def test_receipt_wastage_transfer_and_adjustment_through_the_api(client, session, world):
    w = world
    auth = headers(session, w.vaccinator)
    base = f"/api/v1/immunization/points/{w.point_a.id}"
    res = client.post(base + "/receipts", json={"quantity": 50, "lot": {
        "vaccine": "DTaP", "product": "吸附无细胞百白破联合疫苗", "manufacturer": "武汉某生物", "lot_number": "D2026",
        "expiry_date": (county_today() + timedelta(days=400)).isoformat()}}, headers=auth)
    assert res.status_code == 201, res.text
    lot_id = res.json()["lot_id"]
    res = client.post(base + "/wastage", json={"lot_id": lot_id, "quantity": 2, "reason": "broken"}, headers=auth)
    assert res.status_code == 201 and res.json()["quantity"] == -2
    res = client.post(base + "/transfers", json={"lot_id": lot_id, "quantity": 10, "to_point": w.point_b.id},
                      headers=auth)
    assert res.status_code == 201 and [m["kind"] for m in res.json()] == ["transfer_out", "transfer_in"]
    res = client.post(base + "/adjustments", json={"lot_id": lot_id, "quantity": -39, "reason": "盘亏"}, headers=auth)
    assert res.status_code == 422
    error = res.json()["error"]
    assert error["field"] == "quantity" and "库存不足" in error["message"] and "38" in error["message"]
    stock_a = client.get(base + "/stock", headers=auth).json()
    assert stock_a["totals"]["DTaP"] == 38
    moves = client.get(base + "/movements", headers=auth).json()
    assert [m["kind"] for m in moves][:3] == ["transfer_out", "wastage", "receipt"]


def test_suggested_lot_is_the_first_to_expire(client, session, world):
    w = world
    res = client.get(f"/api/v1/immunization/points/{w.point_a.id}/suggested-lot", params={"vaccine": "HepB"},
                     headers=headers(session, w.vaccinator))
    assert res.status_code == 200 and res.json()["id"] == w.hepb_soon.id
