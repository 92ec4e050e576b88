"""TB patient management's pages and the village doctor's worklist: the TB section (doses due today, the first
visit due — red once past its 72 hours —, follow-ups due), the one-click dose (htmx), the register, the
forms (errors beside the fields, the input kept, nothing written) and the scope."""
from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests import factories as f
from weijian.accounts import service as accounts_service
from weijian.care import worklist
from weijian.core import clock
from weijian.surveillance.tb.models import TbDose, TbSuspect, TbTreatment

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture()
def county(session):
    return f.make_county(session)


@pytest.fixture()
def login(client, session, county):
    def _as(role: str = "village_doctor", unit: str = f.VILLAGE_A1) -> None:
        client.headers.update(f.token_headers(session, f.make_user(session, role, unit)))
    return _as


def csrf(client, url: str) -> str:
    res = client.get(url)
    assert res.status_code == 200, res.text
    return CSRF.search(res.text).group(1)


def test_the_worklist_shows_doses_due_the_first_visit_overdue_and_follow_ups_due(session, county):
    """规范: the first home visit within 72 hours of the notice; the village doctor watches each dose."""
    today = clock.today()
    late = f.make_tb_patient(session, start=today - timedelta(days=4), name="结核甲")  # notified 4 days ago
    fresh = f.make_tb_patient(session, start=today, notified_at=clock.now() - timedelta(hours=1), name="结核乙")
    old = f.make_tb_patient(session, start=today - timedelta(days=45), name="结核丙")
    f.make_tb_patient(session, start=today - timedelta(days=4), name="邻镇结核", village_code=f.VILLAGE_B1)
    actor = accounts_service.actor_for(f.make_user(session, "village_doctor", f.VILLAGE_A1))
    tb = worklist.worklist(session=session, actor=actor, with_recall=False).tb
    assert {i.treatment_id for i in tb.doses} == {late.id, fresh.id, old.id}
    visits = {i.treatment_id: i.overdue for i in tb.first_visits}
    assert visits == {late.id: True, fresh.id: False, old.id: True}
    assert tb.first_visits[-1].treatment_id == fresh.id  # overdue first
    # medical-worker supervision: monthly, the first 30 days after the start
    assert [(i.treatment_id, i.due, i.overdue) for i in tb.follow_ups] == [
        (old.id, today - timedelta(days=15), True)]


def test_a_dose_is_recorded_from_the_worklist_in_one_click(client, session, login):
    today = clock.today()
    t = f.make_tb_patient(session, start=today - timedelta(days=4), name="结核丁")
    login()
    page = client.get("/care/worklist")
    assert page.status_code == 200
    html = page.text
    assert 'data-testid="worklist-tb"' in html and "结核丁" in html and 'data-testid="dose-take"' in html
    assert 'class="overdue-row"' in html  # the first visit, notified 4 days ago at noon, is past its 72 hours
    token = CSRF.search(html).group(1)
    hx = {"HX-Request": "true", "X-CSRF-Token": token}
    # the one click: the button posts today's date and "taken" (its hx-vals) to the dose route
    button = re.search(r'data-testid="dose-take" hx-post="([^"]+)" hx-vals=\'([^\']+)\'', html)
    assert button.group(1) == f"/surveillance/tb/treatments/{t.id}/doses"
    sent = json.loads(button.group(2))
    assert sent == {"date": today.isoformat(), "taken": "true"}
    res = client.post(button.group(1), data=sent, headers=hx)
    assert res.status_code == 200 and 'data-testid="dose-taken"' in res.text
    assert session.scalars(select(TbDose.taken).where(TbDose.treatment_id == t.id)).all() == [True]
    again = client.post(f"/surveillance/tb/treatments/{t.id}/doses",
                        data={"date": today.isoformat(), "taken": "true"}, headers=hx)
    assert again.status_code == 422 and "已记录服药" in again.text
    assert session.scalar(select(func.count()).select_from(TbDose)) == 1
    assert 'data-testid="dose-taken"' in client.get("/care/worklist").text


def test_the_register_and_the_treatment_page_show_the_dose_card(client, session, login):
    today = clock.today()
    t = f.make_tb_patient(session, start=today - timedelta(days=2), name="结核戊",
                          doses=[(today - timedelta(days=2), True), (today - timedelta(days=1), False)])
    f.make_tb_patient(session, start=today, name="邻镇患者", village_code=f.VILLAGE_B1)
    login()
    html = client.get("/surveillance/tb").text
    assert "肺结核患者登记" in html and "结核戊" in html and "邻镇患者" not in html
    assert 'href="/surveillance/tb"' in html  # the nav entry
    page = client.get(f"/surveillance/tb/treatments/{t.id}").text
    assert 'data-testid="tb-dose-card"' in page and "已服 1 次 / 应服 3 次" in page
    assert page.count('data-testid="card-day"') == 3
    other = session.scalar(select(TbTreatment.id).where(TbTreatment.id != t.id))
    assert client.get(f"/surveillance/tb/treatments/{other}").status_code == 404


def test_a_refused_treatment_form_keeps_the_input_and_writes_nothing(client, session, login):
    resident = f.make_resident(session, name="结核己")
    login()
    token = csrf(client, f"/surveillance/tb/register?resident_id={resident.id}")
    future = (clock.today() + timedelta(days=2)).isoformat()
    res = client.post("/surveillance/tb/register", data={
        "csrf_token": token, "resident_id": str(resident.id), "notified_at": f"{future}T09:00",
        "start_date": future, "regimen": "2HRZE/4HR", "supervisor_kind": "family", "supervisor_name": "患者之妻"})
    assert res.status_code == 422
    assert 'data-testid="error-start_date"' in res.text and 'data-testid="error-notified_at"' in res.text
    assert 'value="患者之妻"' in res.text
    assert session.scalar(select(func.count()).select_from(TbTreatment)) == 0
    ok = client.post("/surveillance/tb/register", data={
        "csrf_token": token, "resident_id": str(resident.id), "notified_at": f"{clock.today().isoformat()}T00:00",
        "start_date": clock.today().isoformat(), "regimen": "2HRZE/4HR", "supervisor_kind": "family",
        "supervisor_name": "患者之妻", "drug_resistant": "true"}, follow_redirects=False)
    assert ok.status_code == 303
    t = session.scalars(select(TbTreatment)).one()
    assert t.drug_resistant is True and t.supervisor_kind == "family"


def test_a_suspect_is_referred_from_the_form_and_its_result_recorded(client, session, login):
    resident = f.make_resident(session, name="咳嗽者")
    login()
    token = csrf(client, "/surveillance/tb/suspects/new")
    bad = client.post("/surveillance/tb/suspects/new", data={
        "csrf_token": token, "resident_id": str(resident.id), "referred_on": clock.today().isoformat(),
        "referred_to": "县结核病定点医院"})
    assert bad.status_code == 422 and 'data-testid="error-symptoms"' in bad.text
    assert 'value="县结核病定点医院"' in bad.text
    ok = client.post("/surveillance/tb/suspects/new", data={
        "csrf_token": token, "resident_id": str(resident.id), "symptoms": ["cough_2w", "fever"],
        "referred_on": clock.today().isoformat(), "referred_to": "县结核病定点医院"}, follow_redirects=False)
    assert ok.status_code == 303
    s = session.scalars(select(TbSuspect)).one()
    assert s.symptoms == "cough_2w,fever"
    assert "咳嗽者" in client.get("/surveillance/tb").text
    done = client.post(f"/surveillance/tb/suspects/{s.id}/result", data={
        "csrf_token": token, "result": "confirmed", "result_on": clock.today().isoformat()}, follow_redirects=False)
    session.refresh(s)
    assert done.status_code == 303 and s.result == "confirmed"


def test_follow_up_and_outcome_forms(client, session, login):
    today = clock.today()
    t = f.make_tb_patient(session, start=today - timedelta(days=5), name="随访者")
    login()
    token = csrf(client, f"/surveillance/tb/treatments/{t.id}")
    bad = client.post(f"/surveillance/tb/treatments/{t.id}/follow-ups", data={
        "csrf_token": token, "date": (today - timedelta(days=9)).isoformat(), "findings": "咳嗽减轻"})
    assert bad.status_code == 422 and 'data-testid="error-date"' in bad.text and "咳嗽减轻" in bad.text
    ok = client.post(f"/surveillance/tb/treatments/{t.id}/follow-ups", data={
        "csrf_token": token, "date": today.isoformat(), "findings": "咳嗽减轻"}, follow_redirects=False)
    assert ok.status_code == 303
    out = client.post(f"/surveillance/tb/treatments/{t.id}/outcome", data={
        "csrf_token": token, "outcome": "lost", "outcome_on": today.isoformat()}, follow_redirects=False)
    assert out.status_code == 303
    page = client.get(f"/surveillance/tb/treatments/{t.id}").text
    assert "丢失" in page and 'data-testid="tb-outcome-form"' not in page
