"""Severe mental illness routes and pages: register a patient, follow up, read with the basis named; a
doctor of another village answers 404 and the refused read is in the audit log naming the patient; a
county doctor (care:read, no mental:read) is refused; the resident's record timeline hides the diagnosis
from a reader without mental:read; a refused form keeps the input."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from tests import factories as f
from weijian.accounts.models import AuditEvent
from weijian.care.mental.models import MentalPatient
from weijian.care.models import Diagnosis, Encounter
from weijian.core import clock

BASE = "/api/v1/care/mental"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture()
def county(session):
    return f.make_county(session)


@pytest.fixture()
def doctor(session, county):
    return f.token_headers(session, f.make_user(session, "village_doctor", f.VILLAGE_A1))


@pytest.fixture()
def person(session, county):
    return f.make_resident(session, name="精卫甲", birth_date=date(1985, 2, 2))


def _register(client, headers, person, **over):
    today = clock.today()
    body = {"resident_id": person.id, "disease": "bipolar", "icd10": "F31.9",
            "diagnosed_on": (today - timedelta(days=200)).isoformat(), "consent": True, "consent_signer": "patient",
            "consent_signer_name": "精卫甲", "consent_on": today.isoformat(), "risk_grade": 0, **over}
    return client.post(f"{BASE}/patients", headers=headers, json=body)


def test_a_patient_is_registered_followed_up_and_read_with_its_basis(client, session, doctor, person):
    r = _register(client, doctor, person)
    assert r.status_code == 201, r.text
    body = r.json()
    today = clock.today()
    assert (body["basis"], body["consent"], body["rule_version"]) == ("mental_team_village", True, 1)
    fu = client.post(f"{BASE}/patients/{body['id']}/follow-ups", headers=doctor,
                     json={"date": today.isoformat(), "risk_grade": 2, "symptoms": "gone", "insight": "recovered",
                           "social_function": "good", "adherence": "regular"})
    assert fu.status_code == 201, fu.text
    assert (fu.json()["class"], fu.json()["next_visit_on"]) == ("basically_stable",
                                                                 (today + timedelta(days=14)).isoformat())
    listed = client.get(f"{BASE}/register", headers=doctor).json()
    assert [(i["id"], i["class"], i["due_status"]) for i in listed["items"]] == [(body["id"], "basically_stable",
                                                                                  "upcoming")]


def test_a_read_without_a_basis_is_refused_and_audited_naming_the_patient(client, session, doctor, person):
    pid = _register(client, doctor, person).json()["id"]
    other = f.token_headers(session, f.make_user(session, "village_doctor", f.VILLAGE_A2))
    res = client.get(f"{BASE}/patients/{pid}", headers=other)
    assert res.status_code == 404 and "精卫甲" not in res.text
    refusal = session.scalars(select(AuditEvent).where(AuditEvent.action == "refused",
                                                       AuditEvent.entity_type == "mental_patient")).one()
    assert (refusal.basis, refusal.resident_id, refusal.entity_id) == ("refused", person.id, str(pid))
    reads = session.scalars(select(AuditEvent).where(AuditEvent.action == "read",
                                                     AuditEvent.entity_type == "mental_patient")).all()
    assert {e.basis for e in reads} == {"mental_team_village"}  # only the own doctor's read after registering
    county_doctor = f.token_headers(session, f.make_user(session, "county_doctor", f.COUNTY))
    assert client.get(f"{BASE}/patients/{pid}", headers=county_doctor).status_code == 403
    assert client.get("/care/mental", headers=county_doctor).status_code == 403


def test_a_refused_registration_form_keeps_the_input_and_writes_nothing(client, session, doctor, person):
    client.headers.update(doctor)
    token = CSRF.search(client.get("/care/mental/new").text).group(1)
    res = client.post("/care/mental/new", data={"csrf_token": token, "resident_id": str(person.id),
                                                "disease": "schizophrenia", "icd10": "F31.9",
                                                "diagnosed_on": "2025-01-01", "registered_on": clock.today().isoformat(),
                                                "risk_grade": "0", "consent": "false", "no_consent_reason": ""})
    assert res.status_code == 422
    assert 'data-testid="error-icd10"' in res.text and 'data-testid="error-no_consent_reason"' in res.text
    assert 'value="F31.9"' in res.text
    assert session.scalar(select(MentalPatient.id)) is None


def test_the_record_timeline_hides_the_diagnosis_from_a_reader_without_mental_read(client, session, doctor, person):
    today = clock.today()
    session.add(Encounter(resident_id=person.id, type="outpatient", start_date=today - timedelta(days=3),
                          primary_diagnosis="F20.0", diagnoses=[Diagnosis(seq=1, code="F20.0")],
                          outside_facility_name="县精神卫生中心", created_by="test"))
    session.flush()
    county_doctor = f.token_headers(session, f.make_user(session, "county_doctor", f.COUNTY))
    hidden = client.get(f"/api/v1/residents/{person.id}/timeline", headers=county_doctor)
    assert hidden.status_code == 200, hidden.text
    text = hidden.text
    assert "F20" not in text and "精神分裂" not in text
    shown = client.get(f"/api/v1/residents/{person.id}/timeline", headers=doctor)
    assert "F20.0" in shown.text
    enc_id = hidden.json()["items"][0]["entity_id"]
    for url in (f"/residents/{person.id}", f"/care/encounters/{enc_id}", f"/api/v1/encounters/{enc_id}"):
        page = client.get(url, headers=county_doctor)
        assert page.status_code == 200, (url, page.text[:300])
        assert "F20" not in page.text and "精神分裂" not in page.text, url
    assert "F20.0" in client.get(f"/care/encounters/{enc_id}", headers=doctor).text
    # Nor on the forms about the visit: the void and discharge forms name it hidden, and the correction form
    # (which shows and sends back every code) is refused: the patient's own team corrects it.
    for url in (f"/care/encounters/{enc_id}/void", f"/care/encounters/{enc_id}/discharge"):
        page = client.get(url, headers=county_doctor)
        assert page.status_code == 200 and "F20" not in page.text and "精神分裂" not in page.text, url
    refused = client.get(f"/care/encounters/{enc_id}/correct", headers=county_doctor)
    assert refused.status_code == 403 and "F20" not in refused.text and "无权查看的诊断" in refused.text
    assert client.get(f"/care/encounters/{enc_id}/correct", headers=doctor).status_code == 200


def test_the_worklist_lists_follow_ups_overdue_first_only_for_holders(client, session, doctor, county):
    today = clock.today()
    rows = []
    for name, nxt in (("精卫乙", today + timedelta(days=3)), ("精卫丙", today - timedelta(days=10)),
                      ("精卫丁", today + timedelta(days=40))):
        r = f.make_resident(session, name=name, birth_date=date(1980, 1, 1))
        p = MentalPatient(resident_id=r.id, disease="schizophrenia", icd10="F20.9",
                          diagnosed_on=today - timedelta(days=500), registered_on=today - timedelta(days=400),
                          consent=True, consent_signer="patient", consent_signer_name=name,
                          consent_on=today - timedelta(days=400), risk_grade=0, status="active", rule_version=1,
                          next_visit_on=nxt, created_by="test")
        session.add(p)
        rows.append(p)
    session.flush()
    page = client.get("/care/worklist", headers=doctor)
    assert page.status_code == 200, page.text
    section = page.text[page.text.index('data-testid="worklist-mental"'):]
    assert section.index("精卫丙") < section.index("精卫乙") and "精卫丁" not in section
    other_town = f.token_headers(session, f.make_user(session, "township_doctor", f.TOWN_B))
    other = client.get("/care/worklist", headers=other_town)
    assert 'data-testid="worklist-mental"' not in other.text


def test_the_patient_page_names_the_basis_and_a_refused_follow_up_keeps_the_input(client, session, doctor, person):
    pid = _register(client, doctor, person, consent=False, consent_signer=None, consent_signer_name=None,
                    consent_on=None, no_consent_reason="家属外出").json()["id"]
    client.headers.update(doctor)
    page = client.get(f"/care/mental/patients/{pid}")
    assert page.status_code == 200
    assert "本村责任医生（严重精神障碍）" in page.text and 'data-testid="consent-form"' in page.text
    token = CSRF.search(page.text).group(1)
    res = client.post(f"/care/mental/patients/{pid}/follow-ups", data={
        "csrf_token": token, "date": clock.today().isoformat(), "risk_grade": "1", "symptoms": "present",
        "insight": "partial", "social_function": "fair", "adherence": "intermittent", "note": "家属陪同"})
    assert res.status_code == 422 and 'data-testid="error-consent"' in res.text and 'value="家属陪同"' in res.text
    res = client.post(f"/care/mental/patients/{pid}/consent", data={
        "csrf_token": token, "consent_signer": "guardian", "consent_signer_name": "精卫父",
        "consent_on": clock.today().isoformat()}, follow_redirects=False)
    assert res.status_code == 303
    assert session.get(MentalPatient, pid).consent is True
    listed = client.get("/care/mental")
    assert listed.status_code == 200 and "精卫甲" in listed.text
