"""JSON routes of chronic-disease management: registrations, follow-ups, the worklist and the figures."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests import factories as f
from weijian.care.models import FollowUp
from weijian.core import clock

BASE = "/api/v1/care"


@pytest.fixture()
def county(session):
    return f.make_county(session)


@pytest.fixture()
def doctor(session, county):
    return f.token_headers(session, f.make_user(session, "village_doctor", f.VILLAGE_A1))


@pytest.fixture()
def bureau(session, county):
    return f.token_headers(session, f.make_user(session, "bureau_admin", f.COUNTY))


def test_registration_is_created_and_read(client, session, doctor):
    resident = f.make_resident(session, birth_date=date(1970, 1, 1))
    r = client.post(f"{BASE}/chronic/registrations", headers=doctor,
                    json={"resident_id": resident.id, "program": "diabetes", "registered_on": "2025-02-01"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["program"], body["source"], body["status"], body["registered_on"], body["resident_name"]) == (
        "diabetes", "manual", "active", "2025-02-01", resident.name)
    assert body["follow_ups"] == [] and body["due_status"] == "overdue"
    listed = client.get(f"{BASE}/chronic/registrations", headers=doctor).json()
    assert [i["id"] for i in listed["items"]] == [body["id"]] and listed["total"] == 1


def test_duplicate_registration_is_refused_naming_the_field_in_chinese(client, session, doctor):
    resident = f.make_resident(session, birth_date=date(1970, 1, 1))
    payload = {"resident_id": resident.id, "program": "hypertension", "registered_on": "2025-02-01"}
    assert client.post(f"{BASE}/chronic/registrations", headers=doctor, json=payload).status_code == 201
    r = client.post(f"{BASE}/chronic/registrations", headers=doctor, json=payload)
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["field"] == "program" and error["message"].startswith("管理项目:") and "高血压" in error["message"]


def test_follow_up_in_the_future_is_refused_and_nothing_is_written(client, session, doctor):
    reg = f.make_chronic_patient(session, registered_on=date(2025, 1, 10))
    tomorrow = (clock.today() + timedelta(days=1)).isoformat()
    r = client.post(f"{BASE}/chronic/registrations/{reg.id}/follow-ups", headers=doctor,
                    json={"date": tomorrow, "sbp": 130, "dbp": 80})
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "date" and r.json()["error"]["message"] == "日期: 日期不能晚于今天"
    assert session.scalar(select(func.count()).select_from(FollowUp)) == 0


def test_follow_up_without_blood_pressure_is_refused(client, session, doctor):
    reg = f.make_chronic_patient(session, registered_on=date(2025, 1, 10))
    r = client.post(f"{BASE}/chronic/registrations/{reg.id}/follow-ups", headers=doctor,
                    json={"date": "2025-03-01", "dbp": 80}, params={"lang": "en"})
    assert r.status_code == 422
    assert [(e["field"], e["message"]) for e in r.json()["error"]["errors"]] == [
        ("sbp", "Required for a hypertension follow-up")]


def test_follow_ups_are_recorded_and_listed_newest_first(client, session, doctor):
    reg = f.make_chronic_patient(session, program="diabetes", registered_on=date(2025, 1, 10))
    for day, glucose in (("2025-03-01", "6.9"), ("2025-06-01", "7.0")):
        r = client.post(f"{BASE}/chronic/registrations/{reg.id}/follow-ups", headers=doctor,
                        json={"date": day, "fasting_glucose": glucose, "method": "home"})
        assert r.status_code == 201, r.text
    listed = client.get(f"{BASE}/chronic/registrations/{reg.id}/follow-ups", headers=doctor).json()
    assert [(i["date"], i["fasting_glucose"], i["in_control"]) for i in listed] == [
        ("2025-06-01", "7.0", False), ("2025-03-01", "6.9", True)]


def test_a_follow_up_answers_its_classification_urgency_and_record_form(client, session, doctor):
    """此次随访分类, 紧急转诊 (收缩压≥180mmHg) and the record form's fields (规范 第三版) in the API's answer; a bad
    drug line is refused naming its field in Chinese."""
    reg = f.make_chronic_patient(session, registered_on=date(2025, 1, 10))
    url = f"{BASE}/chronic/registrations/{reg.id}/follow-ups"
    bad = client.post(url, headers=doctor, json={"date": "2025-03-01", "sbp": 182, "dbp": 100,
                                                 "medications": [{"name": "氨氯地平", "times_per_day": 0,
                                                                  "mg_per_dose": "5"}]})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "medications.0.times_per_day"
    r = client.post(url, headers=doctor, json={"date": "2025-03-01", "sbp": 182, "dbp": 100, "heart_rate": 88,
                                               "medications": [{"name": "氨氯地平", "times_per_day": 1,
                                                                "mg_per_dose": "5"}]})
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["classification"], body["refer_reason"], body["urgent_reasons"], body["next_visit_on"]) == (
        "uncontrolled", "urgent", ["sbp_high"], "2025-03-15")
    assert body["heart_rate"] == 88 and body["record"]["medications"][0]["name"] == "氨氯地平"
    assert body["rule_version"] >= 2


def test_registration_outside_scope_answers_404(client, session, doctor):
    reg = f.make_chronic_patient(session, registered_on=date(2025, 1, 10), village_code=f.VILLAGE_B1)
    assert client.get(f"{BASE}/chronic/registrations/{reg.id}", headers=doctor).status_code == 404
    r = client.post(f"{BASE}/chronic/registrations/{reg.id}/follow-ups", headers=doctor,
                    json={"date": "2025-03-01", "sbp": 130, "dbp": 80})
    assert r.status_code == 404


def test_registration_is_closed(client, session, doctor):
    reg = f.make_chronic_patient(session, registered_on=date(2025, 1, 10))
    r = client.post(f"{BASE}/chronic/registrations/{reg.id}/close", headers=doctor,
                    json={"closed_on": "2025-05-01", "reason": "moved_out"})
    assert r.status_code == 200 and r.json()["status"] == "closed" and r.json()["due_status"] is None
    again = client.post(f"{BASE}/chronic/registrations/{reg.id}/close", headers=doctor,
                        json={"closed_on": "2025-05-02", "reason": "moved_out"})
    assert again.status_code == 409


def test_bureau_staff_cannot_register(client, session, bureau):
    resident = f.make_resident(session, birth_date=date(1970, 1, 1))
    r = client.post(f"{BASE}/chronic/registrations", headers=bureau,
                    json={"resident_id": resident.id, "program": "diabetes"})
    assert r.status_code == 403


def test_due_list_for_the_village_doctor(client, session, doctor):
    as_of = date(2025, 6, 1)
    overdue = f.make_chronic_patient(session, registered_on=date(2025, 1, 1))
    due = f.make_chronic_patient(session, registered_on=date(2025, 3, 10))
    ok = f.make_chronic_patient(session, registered_on=date(2025, 1, 1),
                                follow_ups=[(date(2025, 5, 20), 120, 80, None)])
    f.make_chronic_patient(session, registered_on=date(2025, 1, 1), village_code=f.VILLAGE_A2)
    body = client.get(f"{BASE}/chronic/due", headers=doctor, params={"as_of": as_of.isoformat()}).json()
    assert body["counts"] == {"ok": 1, "due": 1, "overdue": 1}
    assert [(i["registration_id"], i["status"], i["next_due"]) for i in body["items"]] == [
        (overdue.id, "overdue", "2025-04-01"), (due.id, "due", "2025-06-10"), (ok.id, "ok", "2025-08-20")]
    assert body["items"][0]["days_overdue"] == 61 and body["items"][2]["last_follow_up"] == "2025-05-20"
    only = client.get(f"{BASE}/chronic/due", headers=doctor,
                      params={"as_of": as_of.isoformat(), "status": "overdue"}).json()
    assert [i["registration_id"] for i in only["items"]] == [overdue.id]


# --- figures ------------------------------------------------------------------------------------
@pytest.fixture()
def figures_data(session, county):
    quarterly = [date(2025, 2, 1), date(2025, 5, 1), date(2025, 8, 1), date(2025, 11, 1)]
    # A1: 4 visits, latest 130/80 (managed, controlled); 1 visit at 150/95 (neither)
    f.make_chronic_patient(session, registered_on=date(2024, 1, 1), follow_ups=[(d, 130, 80, None) for d in quarterly])
    f.make_chronic_patient(session, registered_on=date(2024, 1, 1), follow_ups=[(date(2025, 3, 1), 150, 95, None)])
    # B1: 4 visits, latest 145/85 (managed, not controlled)
    f.make_chronic_patient(session, registered_on=date(2024, 1, 1), village_code=f.VILLAGE_B1,
                           follow_ups=[(d, 145, 85, None) for d in quarterly])
    # diabetes in A1: 4 visits at 6.0 (managed, controlled)
    f.make_chronic_patient(session, program="diabetes", registered_on=date(2024, 1, 1),
                           follow_ups=[(d, None, None, "6.0") for d in quarterly])


@pytest.mark.parametrize(("name", "numerator", "denominator", "value"), [
    ("hypertension_management_rate", 2, 3, 0.6667),  # county: 2 of 3 with 4 visits
    ("hypertension_control_rate", 1, 3, 0.3333),  # only the 130/80 one
    ("diabetes_management_rate", 1, 1, 1.0),
    ("diabetes_control_rate", 1, 1, 1.0),
])
def test_figures_for_the_county(client, figures_data, session, bureau, name, numerator, denominator, value):
    r = client.get(f"{BASE}/figures/{name}", headers=bureau, params={"period": "2025", "orgunit": f.COUNTY})
    assert r.status_code == 200, r.text
    body = r.json()
    assert {k: body[k] for k in ("figure", "orgunit", "period", "numerator", "denominator", "value")} == {
        "figure": name, "orgunit": f.COUNTY, "period": "2025", "numerator": numerator,
        "denominator": denominator, "value": value}
    assert sum(c["denominator"] for c in body["children"]) == denominator


def test_figure_for_a_township_sums_its_villages(client, figures_data, session, bureau):
    body = client.get(f"{BASE}/figures/hypertension_management_rate", headers=bureau,
                      params={"period": "2025", "orgunit": f.TOWN_A}).json()
    assert (body["numerator"], body["denominator"], body["value"]) == (1, 2, 0.5)
    assert [(c["orgunit"], c["numerator"], c["denominator"], c["value"]) for c in body["children"]] == [
        (f.VILLAGE_A1, 1, 2, 0.5), (f.VILLAGE_A2, 0, 0, None)]


def test_figure_defaults_to_the_callers_scope_and_refuses_outside_it(client, figures_data, session, doctor):
    mine = client.get(f"{BASE}/figures/hypertension_control_rate", headers=doctor, params={"period": "2025"})
    assert mine.status_code == 200 and (mine.json()["orgunit"], mine.json()["denominator"]) == (f.VILLAGE_A1, 2)
    county = client.get(f"{BASE}/figures/hypertension_control_rate", headers=doctor,
                        params={"period": "2025", "orgunit": f.COUNTY})
    assert county.status_code == 403


def test_figure_for_a_month_is_refused_naming_the_period(client, figures_data, session, bureau):
    r = client.get(f"{BASE}/figures/diabetes_control_rate", headers=bureau,
                   params={"period": "202503", "orgunit": f.COUNTY})
    assert r.status_code == 422 and r.json()["error"]["field"] == "period"


def test_figures_need_a_log_in(client):
    assert client.get(f"{BASE}/figures/diabetes_control_rate", params={"period": "2025"}).status_code == 401


def test_the_worklist_api_flags_an_urgent_referral_and_lists_it_first(client, session, doctor):
    """紧急转诊 (规范 第三版, 高血压/2型糖尿病患者健康管理服务规范: "须在处理后紧急转诊。对于紧急转诊者…应在2周内主动随访
    转诊情况"): the worklist API says which patient's latest follow-up called for it, first, as the page does."""
    today = clock.today()
    calm = f.make_chronic_patient(session, registered_on=today - timedelta(days=200), birth_date=date(1970, 1, 1),
                                  name="甲逾期")
    urgent = f.make_chronic_patient(session, registered_on=today - timedelta(days=200), birth_date=date(1970, 1, 1),
                                    name="乙紧急")
    r = client.post(f"{BASE}/chronic/registrations/{urgent.id}/follow-ups", headers=doctor,
                    json={"date": (today - timedelta(days=1)).isoformat(), "sbp": 186, "dbp": 100})
    assert r.status_code == 201, r.text
    items = client.get(f"{BASE}/worklist", headers=doctor).json()["follow_ups"]
    assert [(i["registration_id"], i["urgent"]) for i in items] == [(urgent.id, True), (calm.id, False)]
