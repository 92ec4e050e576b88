"""JSON routes of the elderly's annual service: record a self-care assessment and a TCM form, read a
resident's year and the residents due; refusals are 422s naming the field (the unanswered questions by
number), a resident outside the caller's scope answers 404; the calculator scores without storing."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests import factories as f
from weijian.care.elderly.models import TcmAssessment
from weijian.core import clock

BASE = "/api/v1/care/elderly"
LEVELS = {"eating": "independent", "grooming": "independent", "dressing": "moderate", "toileting": "mild",
          "activity": "independent"}  # 0 + 0 + 3 + 1 + 0 = 4: 轻度依赖


@pytest.fixture()
def county(session):
    return f.make_county(session)


@pytest.fixture()
def doctor(session, county):
    return f.token_headers(session, f.make_user(session, "village_doctor", f.VILLAGE_A1))


@pytest.fixture()
def elder(session, county):
    return f.make_resident(session, name="老人丙", birth_date=date(1948, 4, 4))


def test_a_self_care_assessment_and_a_tcm_form_are_recorded_and_read_back(client, doctor, elder):
    today = clock.today()
    r = client.post(f"{BASE}/self-care", headers=doctor,
                    json={"resident_id": elder.id, "date": today.isoformat(), **LEVELS,
                          "tests": {"fasting_glucose": {"result": "abnormal", "note": "7.4"}}})
    assert r.status_code == 201, r.text
    assert (r.json()["total"], r.json()["band"]) == (4, "mild")
    t = client.post(f"{BASE}/tcm", headers=doctor,
                    json={"resident_id": elder.id, "date": today.isoformat(), "answers": [1] * 33,
                          "guidance": ["diet"]})
    assert t.status_code == 201, t.text
    assert t.json()["verdicts"]["balanced"] == "yes" and t.json()["main"] == "balanced"
    year = client.get(f"{BASE}/residents/{elder.id}", headers=doctor).json()
    assert [a["id"] for a in year["self_care"]] == [r.json()["id"]] and [x["id"] for x in year["tcm"]] == [
        t.json()["id"]]
    assert client.get(f"{BASE}/tcm/{t.json()['id']}", headers=doctor).json()["answers"] == [1] * 33
    due = client.get(f"{BASE}/due", headers=doctor).json()
    assert [(d["resident_id"], d["missing"]) for d in due] == [(elder.id, ["health_check"])]


def test_a_form_with_unanswered_questions_is_a_422_naming_them(client, session, doctor, elder):
    answers: list[int | None] = [2] * 33
    answers[6] = None
    r = client.post(f"{BASE}/tcm", headers=doctor,
                    json={"resident_id": elder.id, "date": clock.today().isoformat(), "answers": answers})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["field"] == "answers" and "7" in err["message"]
    assert session.scalar(select(func.count()).select_from(TcmAssessment)) == 0


def test_an_answer_out_of_range_a_future_date_and_a_resident_under_65_are_422s(client, session, doctor, county):
    young = f.make_resident(session, birth_date=date(1970, 1, 1))
    r = client.post(f"{BASE}/tcm", headers=doctor,
                    json={"resident_id": young.id, "date": (clock.today() + timedelta(days=1)).isoformat(),
                          "answers": [6] + [1] * 32})
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["error"]["errors"]} == {"date", "answers"}
    r = client.post(f"{BASE}/self-care", headers=doctor,
                    json={"resident_id": young.id, "date": clock.today().isoformat(), **LEVELS})
    assert r.status_code == 422 and r.json()["error"]["field"] == "resident_id"


def test_a_resident_of_another_village_answers_404(client, session, county, doctor):
    other = f.make_resident(session, birth_date=date(1950, 1, 1), village_code=f.VILLAGE_B1)
    assert client.get(f"{BASE}/residents/{other.id}", headers=doctor).status_code == 404


def test_the_calculator_scores_a_form_without_storing_it(client, session, doctor):
    r = client.post(f"{BASE}/constitution/score", headers=doctor, json={"answers": [3] * 33})
    assert r.status_code == 200
    assert r.json()["scores"]["balanced"] == 15 and r.json()["main"] is None
    assert session.scalar(select(func.count()).select_from(TcmAssessment)) == 0
    bad = client.post(f"{BASE}/constitution/score", headers=doctor, json={"answers": [3] * 32})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "answers"
