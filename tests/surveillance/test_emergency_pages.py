"""Public-health emergencies on the web and the command line: the bureau records an event on the page and
sees it flagged late; a refused form comes back with the input kept and the fields named (422, nothing
stored); the county doctor reads but does not write; the deployments' count over a date range on the page,
in the API and from `weijian surveillance deployments`."""
from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests import factories as f
from tests.conftest import savepoint_sessions
from weijian.cli import app as cli_app
from weijian.core import clock
from weijian.surveillance.emergency import cli as emergency_cli
from weijian.surveillance.emergency.models import Deployment, EmergencyEvent


@pytest.fixture()
def users(session):
    f.make_county(session)
    return {"bureau": f.make_user(session, "bureau_admin", f.COUNTY),
            "doctor": f.make_user(session, "county_doctor", f.COUNTY),
            "village": f.make_user(session, "village_doctor", f.VILLAGE_A1)}


def _csrf(client) -> str:
    return f.csrf_from(client.get("/surveillance/emergency").text)


def test_the_bureau_records_an_event_reported_late_and_sees_the_flag(client, session, users):
    f.page_login(client, users["bureau"].username)
    occurred = clock.local_now().replace(second=0, microsecond=0) - timedelta(days=1)
    form = {"csrf_token": _csrf(client), "title": "温泉镇婚宴食物中毒", "kind": "food_poisoning", "grade": "IV",
            "occurred_at": occurred.strftime("%Y-%m-%dT%H:%M"),
            "reported_at": (occurred + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"), "orgunit_code": f.TOWN_A}
    res = client.post("/surveillance/emergency/events", data=form, follow_redirects=False)
    assert res.status_code == 303, res.text
    page = client.get(res.headers["location"])
    assert page.status_code == 200
    assert "温泉镇婚宴食物中毒" in page.text and 'data-testid="late"' in page.text and "3.0 小时" in page.text
    assert "一般（Ⅳ级）" in page.text


def test_a_refused_event_form_keeps_the_input_names_the_fields_and_stores_nothing(client, session, users):
    f.page_login(client, users["bureau"].username)
    csrf = _csrf(client)
    # A value that is not a time is refused by the form's command, before the service looks at the rest.
    res = client.post("/surveillance/emergency/events",
                      data={"csrf_token": csrf, "title": "不明原因发热聚集", "occurred_at": "昨天"})
    assert res.status_code == 422 and 'data-testid="error-occurred_at"' in res.text
    assert 'value="不明原因发热聚集"' in res.text and 'value="昨天"' in res.text
    form = {"csrf_token": csrf, "title": "不明原因发热聚集", "grade": "V", "occurred_at": "2026-01-05T08:00",
            "orgunit_code": "421124999000"}
    res = client.post("/surveillance/emergency/events", data=form)
    assert res.status_code == 422 and 'value="不明原因发热聚集"' in res.text
    for name in ("grade", "kind", "reported_at", "orgunit_code"):
        assert f'data-testid="error-{name}"' in res.text, name
    assert session.scalar(select(func.count(EmergencyEvent.id))) == 0


def test_the_county_doctor_reads_the_page_but_may_not_write_and_the_village_doctor_sees_nothing(client, session,
                                                                                               users):
    f.page_login(client, users["doctor"].username)
    page = client.get("/surveillance/emergency")
    assert page.status_code == 200 and 'data-testid="event-form"' not in page.text
    headers = f.token_headers(session, users["doctor"])
    assert client.post("/api/v1/surveillance/emergency/events", json={}, headers=headers).status_code == 403
    f.page_login(client, users["village"].username)
    assert client.get("/surveillance/emergency").status_code == 403


def test_the_deployments_in_a_range_on_the_page_in_the_api_and_from_the_command_line(client, session, connection,
                                                                                     users, monkeypatch):
    headers = f.token_headers(session, users["bureau"])
    for day, people in ((date(2026, 3, 1), 1200), (date(2026, 3, 31), 626), (date(2026, 4, 1), 99)):
        res = client.post("/api/v1/surveillance/emergency/deployments", headers=headers,
                          json={"deployed_on": day.isoformat(), "destination": "温泉镇", "people": people,
                                "task": "医疗救治"})
        assert res.status_code == 201, res.text
    res = client.get("/api/v1/surveillance/emergency/deployments/summary", headers=headers,
                     params={"from": "2026-03-01", "to": "2026-03-31"})
    assert res.json() == {"date_from": "2026-03-01", "date_to": "2026-03-31", "batches": 2, "people": 1826}
    bad = client.get("/api/v1/surveillance/emergency/deployments/summary", headers=headers,
                     params={"from": "2026-03-31", "to": "2026-03-01"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "to"

    f.page_login(client, users["bureau"].username)
    page = client.get("/surveillance/emergency", params={"from": "2026-03-01", "to": "2026-03-31"})
    assert 'data-batches="2" data-people="1826"' in page.text and "1,826 人次" in page.text

    session.commit()
    monkeypatch.setattr(emergency_cli, "_sessionmaker", lambda: savepoint_sessions(connection))
    out = CliRunner().invoke(cli_app, ["surveillance", "deployments", "--from", "2026-03-01", "--to", "2026-04-01",
                                       "--format", "json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output) == {"from": "2026-03-01", "to": "2026-04-01", "batches": 3, "people": 1925}
    refused = CliRunner().invoke(cli_app, ["surveillance", "deployments", "--from", "2026-03-01", "--to", "3月"])
    assert refused.exit_code == 2 and "  to：应为日期" in refused.output
    assert session.scalar(select(func.count(Deployment.id))) == 3


def test_an_event_page_shows_its_timeline_and_a_refused_entry_keeps_the_text(client, session, users):
    headers = f.token_headers(session, users["bureau"])
    occurred = clock.now() - timedelta(days=2)
    res = client.post("/api/v1/surveillance/emergency/events", headers=headers, json={
        "title": "学校诺如病毒聚集", "kind": "infectious_outbreak", "grade": "IV", "occurred_at": occurred.isoformat(),
        "reported_at": (occurred + timedelta(minutes=90)).isoformat(), "orgunit_code": f.TOWN_B})
    assert res.status_code == 201 and res.json()["reported_late"] is False and res.json()["report_hours"] == 1.5
    event_id = res.json()["id"]
    entry = client.post(f"/api/v1/surveillance/emergency/events/{event_id}/timeline", headers=headers,
                        json={"at": (occurred + timedelta(hours=4)).isoformat(), "entry": "停课消毒"})
    assert entry.status_code == 201 and [t["entry"] for t in entry.json()["timeline"]] == ["停课消毒"]
    f.page_login(client, users["bureau"].username)
    page = client.get(f"/surveillance/emergency/events/{event_id}")
    assert "停课消毒" in page.text and 'data-testid="in-time"' in page.text
    csrf = f.csrf_from(page.text)
    res = client.post(f"/surveillance/emergency/events/{event_id}/timeline",
                      data={"csrf_token": csrf, "entry": "补充采样"})
    assert res.status_code == 422 and "补充采样" in res.text and 'data-testid="error-at"' in res.text
