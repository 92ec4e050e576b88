"""Pages of the early-warning signals: today's and the open ones with the overdue ones in red, a signal's page
with the actions its state allows (a refused form comes back with the input kept), and the epidemic curve
by township (ECharts from /static, the figures in a table)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests import factories as f
from tests.surveillance import signals_setup as s
from weijian.core import clock
from weijian.surveillance.signals import service
from weijian.surveillance.signals.models import Signal

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture()
def w(session, client):
    f.make_county(session)
    admin = f.make_user(session, "cdc_staff", f.COUNTY)
    service.run(session=session, as_of=s.AS_OF, days=1, actor=s.CDC, now=clock.now() - timedelta(hours=30),
                counts=s.Provider({("plague", f.TOWN_A): {s.AS_OF: 1}}))
    service.run(session=session, as_of=s.AS_OF, days=1, actor=s.CDC,
                counts=s.Provider({("cholera", f.TOWN_B): {s.AS_OF: 1}}))
    session.flush()
    client.headers.update(f.token_headers(session, admin))
    return {s.disease_code: s for s in session.scalars(select(Signal))}


def test_the_list_flags_the_overdue_verification_in_red_first(client, w):
    page = client.get("/surveillance/signals")
    assert page.status_code == 200
    rows = re.findall(r'<tr data-testid="signal-row" data-id="(\d+)" data-state="new"( class="overdue")?', page.text)
    assert rows == [(str(w["plague"].id), ' class="overdue"'), (str(w["cholera"].id), "")]
    assert "鼠疫" in page.text and "温泉镇" in page.text and "核实超时" in page.text
    assert 'data-testid="timeliness"' in page.text


def test_a_signal_is_verified_from_its_page_and_a_refusal_keeps_the_input(client, session, w):
    sid = w["plague"].id
    page = client.get(f"/surveillance/signals/{sid}")
    assert 'data-testid="form-verify"' in page.text and 'data-testid="form-close"' not in page.text
    token = CSRF.search(page.text).group(1)
    res = client.post(f"/surveillance/signals/{sid}/verify",
                      data={"csrf_token": token, "outcome": "false", "note": "", "version": "1"})
    assert res.status_code == 422 and 'data-testid="error-note"' in res.text
    assert 'value="false" checked' in res.text
    assert session.get(Signal, sid, populate_existing=True).state == "new"
    res = client.post(f"/surveillance/signals/{sid}/verify", follow_redirects=False,
                      data={"csrf_token": token, "outcome": "true", "version": "1"})
    assert res.status_code == 303
    page = client.get(f"/surveillance/signals/{sid}")
    assert 'data-testid="form-respond"' in page.text and "核实为真" in page.text
    res = client.post(f"/surveillance/signals/{sid}/respond", follow_redirects=False,
                      data={"csrf_token": token, "notes": "现场流调\n第二行", "measures": "隔离",
                            "case_report_ids": "5, 6"})
    assert res.status_code == 303
    page = client.get(f"/surveillance/signals/{sid}").text
    assert "5, 6" in page and "第二行" in page and 'data-testid="form-close"' in page
    res = client.post(f"/surveillance/signals/{sid}/bogus", data={"csrf_token": token})
    assert res.status_code == 404


def test_a_refused_move_in_the_wrong_state_says_why(client, w):
    sid = w["cholera"].id
    token = CSRF.search(client.get(f"/surveillance/signals/{sid}").text).group(1)
    res = client.post(f"/surveillance/signals/{sid}/close", data={"csrf_token": token})
    assert res.status_code == 409 and 'data-testid="message"' in res.text


def test_the_epidemic_curve_by_township_loads_echarts_from_static(client, w, monkeypatch):
    provider = s.Provider({("plague", f.TOWN_A): {s.AS_OF: 1, s.days_before(2): 3},
                           ("plague", f.COUNTY): {s.AS_OF: 1, s.days_before(2): 3},
                           ("plague", f.VILLAGE_A1): {s.AS_OF: 1}, ("cholera", f.TOWN_B): {s.AS_OF: 1}})
    monkeypatch.setattr(service, "daily_counts", provider)
    start = s.days_before(6).isoformat()
    page = client.get(f"/surveillance/curve?disease=plague&start={start}&end={s.AS_OF.isoformat()}")
    assert page.status_code == 200
    assert '<script src="/static/vendor/echarts.min.js"></script>' in page.text and "cdn" not in page.text.lower()
    rows = re.findall(r'data-testid="curve-row" data-code="(\d+)"', page.text)
    assert rows == [f.TOWN_A, f.COUNTY]  # townships, then the county; no village line
    assert provider.calls == [(s.days_before(6), s.AS_OF)]
    bad = client.get("/surveillance/curve?disease=plague&start=2026-13-01")
    assert bad.status_code == 422 and 'data-testid="error-start"' in bad.text
