"""JSON routes of child health management: a check recorded and read back with its schedule and z-scores,
refusals naming the field (a child over 6), a child outside the caller's scope answering 404, the schedule
route (the CLI's rows)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from dateutil.relativedelta import relativedelta

from tests import factories as f
from weijian.core import clock

BASE = "/api/v1/care/childcare"


@pytest.fixture()
def county(session):
    return f.make_county(session)


@pytest.fixture()
def doctor(session, county):
    return f.token_headers(session, f.make_user(session, "village_doctor", f.VILLAGE_A1))


def test_a_check_is_recorded_and_read_back_with_the_schedule(client, session, doctor):
    today = clock.today()
    child = f.make_resident(session, name="婴儿甲", sex="female", birth_date=today - relativedelta(months=3))
    r = client.post(f"{BASE}/checks", headers=doctor, json={"resident_id": child.id, "check": "m3",
                                                             "date": today.isoformat(), "weight_kg": 5.8,
                                                             "length_cm": 59.8, "head_cm": 39.5})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["check"] == "m3" and body["age_months"] == 3 and body["z_wfa"] is not None and body["frail"] == []
    read = client.get(f"{BASE}/children/{child.id}", headers=doctor).json()
    assert [s["check"] for s in read["schedule"]][:3] == ["newborn", "m1", "m3"]
    m3 = read["schedule"][2]
    assert m3["status"] == "done" and m3["done_on"] == today.isoformat() and set(m3) >= {"from", "to"}
    due = client.get(f"{BASE}/due", headers=doctor).json()
    assert child.id not in {d["resident_id"] for d in due}  # m3 done; m6 not open yet


def test_a_check_for_a_child_of_seven_names_the_date(client, session, doctor):
    today = clock.today()
    older = f.make_resident(session, sex="male", birth_date=today - relativedelta(years=7))
    r = client.post(f"{BASE}/checks", headers=doctor, json={"resident_id": older.id, "check": "y6",
                                                             "date": today.isoformat(),
                                                             "out_of_window_reason": "补查"})
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "date"


def test_a_child_outside_the_scope_answers_404(client, session, doctor):
    other = f.make_resident(session, sex="male", birth_date=clock.today() - timedelta(days=40),
                            village_code=f.VILLAGE_B1)
    assert client.get(f"{BASE}/children/{other.id}", headers=doctor).status_code == 404


def test_the_schedule_route_gives_the_cli_rows(client, session, doctor):
    r = client.get(f"{BASE}/schedule", headers=doctor, params={"birth_date": "2026-01-15", "as_of": "2026-12-06",
                                                              "done": ["m8:2026-09-20"]})
    assert r.status_code == 200, r.text
    rows = {x["check"]: x for x in r.json()}
    assert rows["m8"] == {"check": "m8", "age": "8 months", "from": "2026-08-31", "to": "2026-10-15",
                          "status": "done"}
    bad = client.get(f"{BASE}/schedule", headers=doctor, params={"birth_date": "2019-01-01", "as_of": "2026-12-06"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "birth_date"
