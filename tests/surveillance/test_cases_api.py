"""The case-report API (/api/v1/surveillance/case-reports): report, read with history, list in scope,
revise, delete, merge a duplicate; every bad input of the issue a 422 naming the field, nothing written."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests import factories as f
from tests.surveillance import cases_setup as cs
from weijian.core import clock
from weijian.surveillance.models import CaseReport

URL = "/api/v1/surveillance/case-reports"


@pytest.fixture()
def w(session):
    return cs.build(session)


@pytest.fixture()
def h(session, w):
    return lambda who: f.token_headers(session, w.users[who])


def _fields(res) -> set[str]:
    return {e["field"] for e in res.json()["error"]["errors"]}


def _count(session) -> int:
    return session.scalar(select(func.count()).select_from(CaseReport)) or 0


def test_report_read_revise_and_delete(client, session, w, h):
    res = client.post(URL, json=cs.values(w), headers=h("village"))
    assert res.status_code == 201, res.text
    card = res.json()
    assert (card["disease"], card["disease_name"], card["late"], card["limit_hours"]) == (
        "influenza", "流行性感冒", False, 24)
    assert card["facility"] == "东冲村卫生室" and card["revisions"] == []
    res = client.post(f"{URL}/{card['id']}/revise", json={"classification": "confirmed"}, headers=h("village"))
    assert res.status_code == 200, res.text
    assert res.json()["classification"] == "confirmed"
    assert [(r["kind"], r["before"], r["after"]) for r in res.json()["revisions"]] == [
        ("revise", {"classification": "clinical"}, {"classification": "confirmed"})]
    res = client.post(f"{URL}/{card['id']}/revise", json={"classification": "suspected"}, headers=h("village"))
    assert res.status_code == 422 and _fields(res) == {"reason"}
    res = client.post(f"{URL}/{card['id']}/delete", json={}, headers=h("village"))
    assert res.status_code == 422 and _fields(res) == {"reason"}
    res = client.post(f"{URL}/{card['id']}/delete", json={"reason": "误报"}, headers=h("village"))
    assert res.status_code == 200 and res.json()["status"] == "deleted"
    res = client.post(f"{URL}/{card['id']}/revise", json={"classification": "clinical"}, headers=h("village"))
    assert res.status_code == 409


@pytest.mark.parametrize(("name", "field"), [
    ("onset_after_diagnosis", "onset_date"), ("unknown_disease", "disease"),
    ("report_before_diagnosis", "reported_at"), ("bad_time", "diagnosed_at"),
])
def test_the_issues_bad_inputs_are_422_naming_the_field(client, session, w, h, name, field):
    now = clock.now()
    diagnosed = now - timedelta(days=2)
    over = {
        "onset_after_diagnosis": {"diagnosed_at": diagnosed.isoformat(),
                                  "onset_date": (clock.local_date(diagnosed) + timedelta(days=1)).isoformat()},
        "unknown_disease": {"disease": "nosuch", "icd10": None},
        "report_before_diagnosis": {"reported_at": (now - timedelta(hours=4)).isoformat()},
        "bad_time": {"diagnosed_at": "yesterday"},
    }[name]
    res = client.post(URL, json=cs.values(w, now=now, **over), headers=h("village"))
    assert res.status_code == 422, res.text
    assert field in _fields(res)
    assert _count(session) == 0


def test_a_duplicate_is_merged_and_the_lists_are_scoped(client, session, w, h):
    first = client.post(URL, json=cs.values(w), headers=h("village")).json()
    second = client.post(URL, json=cs.values(w), headers=h("town")).json()
    zhao = client.post(URL, json=cs.values(w, resident_id=w.people["zhao"].id), headers=h("town_b")).json()
    res = client.post(f"{URL}/{second['id']}/duplicate", json={"duplicate_of": first["id"]}, headers=h("town"))
    assert res.status_code == 200 and res.json()["duplicate_of"] == first["id"]
    active = client.get(URL, params={"status": "active"}, headers=h("town")).json()
    assert [i["id"] for i in active["items"]] == [first["id"]]
    assert client.get(f"{URL}/{zhao['id']}", headers=h("village")).status_code == 404
    listed = client.get(URL, headers=h("bureau")).json()
    assert {i["id"] for i in listed["items"]} == {first["id"], second["id"], zhao["id"]}
    assert client.post(URL, json=cs.values(w), headers=h("bureau")).status_code == 403  # the bureau reads; the CDC reviews


def test_saving_a_notifiable_diagnosis_answers_with_the_case_report_prompt(client, session, w, h):
    body = {"resident_id": w.people["zhang"].id, "type": "outpatient", "start_date": clock.today().isoformat(),
            "diagnoses": ["I10", "B26.9"]}
    res = client.post("/api/v1/encounters", json=body, headers=h("village"))
    assert res.status_code == 201, res.text
    [prompt] = res.json()["case_report_prompts"]
    assert (prompt["icd10"], prompt["disease"], prompt["hours"], prompt["report_id"]) == ("B26.9", "mumps", 24, None)
    assert prompt["href"].startswith("/surveillance/case-reports/new?") and "disease=mumps" in prompt["href"]
    body["diagnoses"] = ["I10"]
    assert client.post("/api/v1/encounters", json=body, headers=h("village")).json()["case_report_prompts"] == []


def test_a_patient_outside_the_scope_is_refused_naming_the_field_and_the_refusal_is_audited(client, session, w, h):
    res = client.post(URL, json=cs.values(w, resident_id=w.people["zhao"].id), headers=h("village"))
    assert res.status_code == 422 and _fields(res) == {"resident_id"}
    assert "赵六" not in res.text and _count(session) == 0
    [refusal] = cs.rs.audits(session, action="refused", entity_type="case_report")
    assert refusal.basis == "refused" and str(w.people["zhao"].id) in (refusal.detail or "")
