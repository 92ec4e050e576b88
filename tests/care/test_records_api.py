"""The health-record API: refusals name the field in Chinese and change nothing, a record outside the
caller's scope answers 404, the timeline is ordered, filtered and audited."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests import factories as f
from tests.care import records_setup as rs
from weijian.core import clock


@pytest.fixture()
def w(session):
    return rs.build(session)


@pytest.fixture()
def h(session, w):
    return {k: f.token_headers(session, u) for k, u in w.users.items()}


def county_today() -> date:
    """The county's today, read when a test asks for it: a module-level day read at import went stale when the
    suite ran across the county's midnight."""
    return clock.today()
def visit_day() -> str:
    return (county_today() - timedelta(days=10)).isoformat()


def post_visit(client, h, w, who="village", resident="man", **over):
    body = {"resident_id": w.people[resident].id, "type": "outpatient", "start_date": visit_day(),
            "diagnoses": ["J06.9"], "total_cost": "35.50", "in_policy_cost": 30}
    body.update(over)
    return client.post("/api/v1/encounters", json=body, headers=h[who])


def test_an_outpatient_visit_is_recorded_and_read_back(client, session, w, h):
    res = post_visit(client, h, w, diagnoses=["I10", "E11.9"], department="全科")
    assert res.status_code == 201, res.text
    body = res.json()
    assert (body["type"], body["facility_id"], body["start_date"], body["primary_diagnosis"]) == (
        "outpatient", w.facilities["clinic_a1"].id, visit_day(), "I10")
    assert body["diagnoses"] == [{"seq": 1, "code": "I10", "name": "原发性高血压"},
                                 {"seq": 2, "code": "E11.9", "name": "2型糖尿病，不伴有并发症"}]
    assert (body["total_cost"], body["in_policy_cost"]) == ("35.50", "30.00")
    res = client.get(f"/api/v1/encounters/{body['id']}", headers=h["township"])
    assert res.status_code == 200 and res.json()["id"] == body["id"]
    res = client.get("/api/v1/encounters", params={"resident_id": w.people["man"].id}, headers=h["county"])
    assert [e["id"] for e in res.json()] == [body["id"]]
    assert client.get(f"/api/v1/encounters/{body['id']}", headers=h["township_b"]).status_code == 404


def test_an_unknown_icd10_code_is_refused_naming_its_position(client, session, w, h):
    before = rs.counts(session)
    res = post_visit(client, h, w, diagnoses=["I10", "ZZZ"])
    assert res.status_code == 422
    error = res.json()["error"]
    assert error["field"] == "diagnoses[1]"
    assert error["errors"][0]["message"] == "诊断编码“ZZZ”不在 ICD-10 编码表中"
    assert rs.counts(session) == before


def test_a_future_date_is_refused(client, session, w, h):
    before = rs.counts(session)
    res = post_visit(client, h, w, start_date=(county_today() + timedelta(days=1)).isoformat())
    assert res.status_code == 422 and res.json()["error"]["field"] == "start_date"
    assert "不能晚于今天" in res.json()["error"]["message"]
    assert rs.counts(session) == before


def test_a_resident_outside_the_scope_answers_404_and_nothing_changes(client, session, w, h):
    before = rs.counts(session)
    res = post_visit(client, h, w, resident="other_town")
    assert res.status_code == 404
    assert rs.counts(session) == before
    assert post_visit(client, h, w, who="bureau").status_code == 403
    assert rs.counts(session) == before


def test_a_stay_is_discharged_and_a_discharge_before_admission_is_refused(client, session, w, h):
    admitted = (county_today() - timedelta(days=5)).isoformat()
    res = post_visit(client, h, w, who="township", type="inpatient", start_date=admitted, diagnoses=["J18.9"])
    stay = res.json()
    assert (stay["end_date"], stay["ward_days"]) == (None, None)
    before = rs.counts(session)
    res = client.patch(f"/api/v1/encounters/{stay['id']}/discharge", headers=h["township"],
                       json={"end_date": (county_today() - timedelta(days=6)).isoformat(), "total_cost": "900"})
    assert res.status_code == 422
    assert res.json()["error"]["field"] == "end_date" and "出院日期不能早于入院日期" in res.json()["error"]["message"]
    assert rs.counts(session) == before
    res = client.patch(f"/api/v1/encounters/{stay['id']}/discharge", headers=h["township"],
                       json={"end_date": county_today().isoformat(), "total_cost": "900", "in_policy_cost": "800"})
    assert res.status_code == 200, res.text
    assert (res.json()["end_date"], res.json()["ward_days"], res.json()["total_cost"]) == (county_today().isoformat(), 5,
                                                                                           "900.00")
    again = client.patch(f"/api/v1/encounters/{stay['id']}/discharge", headers=h["township"],
                         json={"end_date": county_today().isoformat()})
    assert again.status_code == 409
    other = client.patch(f"/api/v1/encounters/{stay['id']}/discharge", headers=h["township_b"],
                         json={"end_date": county_today().isoformat()})
    assert other.status_code == 404


def test_health_checks_compute_bmi_and_refuse_the_annual_check_for_the_young(client, session, w, h):
    res = client.post("/api/v1/health-checks", headers=h["village"], json={
        "resident_id": w.people["elder"].id, "date": visit_day(), "kind": "annual_65", "height_cm": 165, "weight_kg": "70.5",
        "sbp": 150, "dbp": 92, "fasting_glucose": "6.1"})
    assert res.status_code == 201, res.text
    assert (res.json()["bmi"], res.json()["kind"]) == ("25.9", "annual_65")  # 70.5 / 1.65² = 25.89…
    assert client.get(f"/api/v1/health-checks/{res.json()['id']}", headers=h["township"]).status_code == 200
    before = rs.counts(session)
    res = client.post("/api/v1/health-checks", headers=h["village"], json={
        "resident_id": w.people["man"].id, "date": visit_day(), "kind": "annual_65", "weight_kg": 70})
    assert res.status_code == 422 and res.json()["error"]["field"] == "kind"
    assert rs.counts(session) == before


def test_screenings_are_for_women(client, session, w, h):
    res = client.post("/api/v1/screenings", headers=h["village"], json={
        "resident_id": w.people["woman"].id, "date": visit_day(), "kind": "prenatal", "result": "high_risk"})
    assert res.status_code == 201 and res.json()["result"] == "high_risk"
    before = rs.counts(session)
    res = client.post("/api/v1/screenings", headers=h["village"], json={
        "resident_id": w.people["man"].id, "date": visit_day(), "kind": "breast", "result": "negative"})
    assert res.status_code == 422 and res.json()["error"]["field"] == "kind"
    assert "只适用于女性" in res.json()["error"]["message"] and "乳腺癌筛查" in res.json()["error"]["message"]
    assert rs.counts(session) == before


def test_the_timeline_is_newest_first_filtered_and_audited(client, session, w, h):
    rid = w.people["woman"].id
    days = [(county_today() - timedelta(days=n)).isoformat() for n in (30, 20, 10)]
    post_visit(client, h, w, resident="woman", start_date=days[0])
    post_visit(client, h, w, who="township", resident="woman", start_date=days[2])
    client.post("/api/v1/health-checks", headers=h["village"],
                json={"resident_id": rid, "date": days[1], "weight_kg": 55})
    res = client.get(f"/api/v1/residents/{rid}/timeline", headers=h["village"])
    assert res.status_code == 200
    body = res.json()
    assert [(i["date"], i["kind"]) for i in body["items"]] == [(days[2], "outpatient"), (days[1], "health_check"),
                                                               (days[0], "outpatient")]
    assert body["basis"] == "own_village" and body["has_next"] is False
    assert body["items"][0]["facility_name"] == "温泉镇中心卫生院"
    res = client.get(f"/api/v1/residents/{rid}/timeline", headers=h["village"],
                     params={"types": "outpatient", "facility_id": w.facilities["clinic_a1"].id})
    assert [(i["date"], i["kind"]) for i in res.json()["items"]] == [(days[0], "outpatient")]
    res = client.get(f"/api/v1/residents/{rid}/timeline", headers=h["village"], params={"types": "xray"})
    assert res.status_code == 422 and res.json()["error"]["field"] == "types"
    assert len(rs.audit_events(session, rid, "read", "health_record")) == 2
    assert client.get(f"/api/v1/residents/{rid}/timeline", headers=h["township_b"]).status_code == 404
    assert client.get(f"/api/v1/residents/{rid}/timeline", headers=h["bureau"]).status_code == 403
    assert len(rs.audit_events(session, rid, "read", "health_record")) == 2


def test_the_timeline_speaks_english_when_asked(client, session, w, h):
    post_visit(client, h, w, diagnoses=["I10"])
    res = client.get(f"/api/v1/residents/{w.people['man'].id}/timeline", params={"types": "encounter"},
                     headers={**h["village"], "Accept-Language": "en"})
    assert res.json()["items"][0]["summary"].startswith("I10 Essential (primary) hypertension")


def test_icd10_search_by_code_chinese_name_and_pinyin_initials(client, session, w, h):
    for q in ("I10", "高血压", "gxy"):
        res = client.get("/api/v1/icd10", params={"q": q}, headers=h["village"])
        assert res.status_code == 200
        assert res.json()[0]["code"] == "I10" and res.json()[0]["name"] == "原发性高血压"
    assert res.json()[0]["chronic"] == "hypertension"
    assert client.get("/api/v1/icd10", params={"q": "I10"}).status_code == 401


def test_figure_routes(client, session, w, h):
    post_visit(client, h, w)
    res = client.get("/api/v1/care/figures/primary_care_share", params={"period": str(county_today().year)},
                     headers=h["bureau"])
    assert res.status_code == 200, res.text
    body = res.json()
    assert {k: body[k] for k in ("figure", "orgunit", "period", "numerator", "denominator", "value")} == {
        "figure": "primary_care_share", "orgunit": f.COUNTY, "period": str(county_today().year), "numerator": 1,
        "denominator": 1, "value": 1.0}
    assert [c["orgunit"] for c in body["children"]] == [f.TOWN_A, f.TOWN_B]
    res = client.get("/api/v1/care/figures/county_retention_rate",
                     params={"period": str(county_today().year), "orgunit": f.TOWN_B}, headers=h["bureau"])
    assert res.status_code == 200 and (res.json()["denominator"], res.json()["value"]) == (0, None)
    res = client.get("/api/v1/care/figures/county_retention_rate", params={"period": "2025-1"}, headers=h["bureau"])
    assert res.status_code == 422 and res.json()["error"]["field"] == "period"
    res = client.get("/api/v1/care/figures/county_retention_rate", params={"period": "2025"}, headers=h["village"])
    assert res.status_code == 403
