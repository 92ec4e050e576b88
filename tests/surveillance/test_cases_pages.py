"""Case-report pages: the prompt on a saved notifiable diagnosis, the prefilled form, a refused form shown
again with the input kept and the field named, the card's page with its history and actions, the list."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests import factories as f
from tests.surveillance import cases_setup as cs
from weijian.core import clock
from weijian.surveillance.models import CaseReport

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture()
def w(session):
    return cs.build(session)


@pytest.fixture()
def login(client, session, w):
    def _as(who: str) -> None:
        client.headers.pop("Authorization", None)
        client.headers.update(f.token_headers(session, w.users[who]))
    return _as


def _local(moment) -> str:
    return clock.format_local(moment, "%Y-%m-%dT%H:%M")


def test_a_notifiable_diagnosis_offers_the_card_prefilled_and_the_card_is_made(client, session, w, login):
    zhang = w.people["zhang"]
    login("village")
    page = client.get(f"/residents/{zhang.id}/encounters/new")
    token = CSRF.search(page.text).group(1)
    res = client.post(f"/residents/{zhang.id}/encounters/new", follow_redirects=False, data={
        "csrf_token": token, "type": "outpatient", "start_date": clock.today().isoformat(),
        "facility_id": str(w.fac["clinic_a1"].id), "diagnoses": ["B05.9"]})
    assert res.status_code == 303, res.text
    encounter = client.get(res.headers["location"])
    assert 'data-testid="case-report-prompt"' in encounter.text and "填写传染病报告卡" in encounter.text
    href = re.search(r'href="(/surveillance/case-reports/new\?[^"]+)"', encounter.text).group(1).replace("&amp;", "&")
    form = client.get(href)
    assert form.status_code == 200
    assert 'value="B05.9"' in form.text and re.search(r'<option value="measles"\s+selected', form.text)
    encounter_id = re.search(r'name="encounter_id" value="(\d+)"', form.text).group(1)
    now = clock.now()
    sent = {"csrf_token": CSRF.search(form.text).group(1), "encounter_id": encounter_id, "disease": "measles",
            "icd10": "B05.9", "classification": "clinical",
            "onset_date": (clock.local_date(now) + timedelta(days=1)).isoformat(),
            "diagnosed_at": _local(now - timedelta(hours=1)), "reported_at": _local(now)}
    res = client.post(f"/surveillance/case-reports/new?resident_id={zhang.id}", data=sent, follow_redirects=False)
    assert res.status_code == 422
    assert 'data-testid="error-onset_date"' in res.text and 'value="B05.9"' in res.text  # the input kept
    assert session.scalar(select(func.count()).select_from(CaseReport)) == 0
    sent["onset_date"] = (clock.local_date(now) - timedelta(days=3)).isoformat()
    res = client.post(f"/surveillance/case-reports/new?resident_id={zhang.id}", data=sent, follow_redirects=False)
    assert res.status_code == 303, res.text
    card = client.get(res.headers["location"])
    assert card.status_code == 200 and "麻疹" in card.text and 'data-testid="revise-form"' in card.text
    again = client.get(f"/care/encounters/{encounter_id}")
    assert "已填报传染病报告卡" in again.text


def test_a_backward_revision_without_a_reason_comes_back_naming_it(client, session, w, login):
    card = cs.report(session, w, classification="confirmed")
    login("village")
    page = client.get(f"/surveillance/case-reports/{card.id}")
    token = CSRF.search(page.text).group(1)
    res = client.post(f"/surveillance/case-reports/{card.id}/revise",
                      data={"csrf_token": token, "classification": "suspected"}, follow_redirects=False)
    assert res.status_code == 422 and 'data-testid="error-reason"' in res.text
    res = client.post(f"/surveillance/case-reports/{card.id}/revise", follow_redirects=False,
                      data={"csrf_token": token, "classification": "suspected", "reason": "复核抗体阴性"})
    assert res.status_code == 303
    page = client.get(f"/surveillance/case-reports/{card.id}")
    assert "复核抗体阴性" in page.text and "疑似病例" in page.text
    res = client.post(f"/surveillance/case-reports/{card.id}/delete", data={"csrf_token": token, "reason": ""},
                      follow_redirects=False)
    assert res.status_code == 422 and 'data-testid="error-reason"' in res.text


def test_the_list_shows_the_cards_in_scope_only(client, session, w, login):
    cs.report(session, w)
    cs.report(session, w, "town_b", resident_id=w.people["zhao"].id)
    login("village")
    page = client.get("/surveillance/case-reports")
    assert page.status_code == 200
    assert "张三" in page.text and "赵六" not in page.text
    assert len(re.findall('data-testid="case-report-row"', page.text)) == 1


def test_the_revise_form_sent_as_shown_changes_only_what_was_changed(client, session, w, login):
    card = cs.report(session, w, diagnosed_at=(clock.now() - timedelta(hours=3, seconds=17)).isoformat())
    login("village")
    page = client.get(f"/surveillance/case-reports/{card.id}")
    token = CSRF.search(page.text).group(1)
    shown = {name: re.search(rf'name="{name}"[^>]*value="([^"]*)"', page.text).group(1)
             for name in ("icd10", "onset_date", "diagnosed_at")}
    res = client.post(f"/surveillance/case-reports/{card.id}/revise", follow_redirects=False,
                      data={"csrf_token": token, "classification": "confirmed", "disease": "influenza", **shown})
    assert res.status_code == 303, res.text
    session.refresh(card)
    [rev] = card.revisions
    assert (rev.before, rev.after) == ('{"classification": "clinical"}', '{"classification": "confirmed"}')
