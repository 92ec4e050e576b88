"""JSON routes of maternal health management: register a pregnancy, read it with its windows, record
visits, grade, deliver; refusals name the field; a pregnancy outside the caller's scope answers 404."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests import factories as f
from weijian.care.maternal.models import AntenatalVisit
from weijian.core import clock

BASE = "/api/v1/care/maternal"


@pytest.fixture()
def county(session):
    return f.make_county(session)


@pytest.fixture()
def doctor(session, county):
    return f.token_headers(session, f.make_user(session, "village_doctor", f.VILLAGE_A1))


@pytest.fixture()
def woman(session, county):
    return f.make_resident(session, name="孕妇乙", sex="female", birth_date=date(1996, 3, 3))


def test_a_pregnancy_is_registered_and_read_with_its_five_windows(client, session, doctor, woman):
    lmp = clock.today() - timedelta(days=60)
    r = client.post(f"{BASE}/pregnancies", headers=doctor, json={"resident_id": woman.id, "lmp": lmp.isoformat()})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["edd"] == (lmp + timedelta(days=280)).isoformat() and body["registered_on"] == clock.today().isoformat()
    assert [w["visit"] for w in body["windows"]] == [1, 2, 3, 4, 5]
    assert body["windows"][0] == {"visit": 1, "from": lmp.isoformat(), "to": (lmp + timedelta(days=90)).isoformat(),
                                  "status": "due", "done_on": None}
    visit = client.post(f"{BASE}/pregnancies/{body['id']}/antenatal-visits", headers=doctor,
                        json={"number": 1, "date": clock.today().isoformat(), "sbp": 110, "dbp": 70})
    assert visit.status_code == 201, visit.text
    assert (visit.json()["weeks"], visit.json()["days"]) == (8, 4)
    listed = client.get(f"{BASE}/register", headers=doctor).json()
    assert [(i["pregnancy"]["id"], i["next_visit"], i["next_status"]) for i in listed["items"]] == [
        (body["id"], 2, "upcoming")]


def test_a_visit_outside_its_window_is_refused_naming_the_reason_field(client, session, doctor, woman):
    lmp = clock.today() - timedelta(days=120)  # 17 weeks: visit 1's window closed at 12w6d
    p = client.post(f"{BASE}/pregnancies", headers=doctor, json={"resident_id": woman.id, "lmp": lmp.isoformat()})
    r = client.post(f"{BASE}/pregnancies/{p.json()['id']}/antenatal-visits", headers=doctor,
                    json={"number": 1, "date": clock.today().isoformat()})
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "out_of_window_reason"
    assert session.scalar(select(func.count()).select_from(AntenatalVisit)) == 0


def test_an_lmp_in_the_future_is_a_422_naming_lmp(client, session, doctor, woman):
    r = client.post(f"{BASE}/pregnancies", headers=doctor,
                    json={"resident_id": woman.id, "lmp": (clock.today() + timedelta(days=1)).isoformat()})
    assert r.status_code == 422 and r.json()["error"]["field"] == "lmp"


def test_a_pregnancy_in_another_village_answers_404(client, session, county):
    other = f.make_resident(session, sex="female", birth_date=date(1996, 3, 3), village_code=f.VILLAGE_B1)
    own = f.token_headers(session, f.make_user(session, "village_doctor", f.VILLAGE_B1))
    p = client.post(f"{BASE}/pregnancies", headers=own, json={"resident_id": other.id,
                                                               "lmp": (clock.today() - timedelta(days=30)).isoformat()})
    assert p.status_code == 201, p.text
    stranger = f.token_headers(session, f.make_user(session, "village_doctor", f.VILLAGE_A1))
    assert client.get(f"{BASE}/pregnancies/{p.json()['id']}", headers=stranger).status_code == 404
    assert client.post(f"{BASE}/pregnancies/{p.json()['id']}/delivery", headers=stranger,
                       json={"delivered_on": clock.today().isoformat(), "outcome": "live_birth"}).status_code == 404
