"""The overdue rule is the installation's setting (WEIJIAN_IMMUNIZATION_OVERDUE_RULE): the child's record (page
and API), the recall list (page and API), the worklists and the newborn's certificate judge by it.

Child B of the recall data (张乐, b. 2026-10-10, HepB1 and BCG given): HepB2 is recommended at one month,
2026-11-10. On 2026-11-24 it is `due` by the default rule (overdue from 12 months) and `overdue` by
`recommended+7d` (from 2026-11-17)."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tests import factories as f
from tests.immunization import recall_setup as rs

TODAY = date(2026, 11, 24)


@pytest.fixture()
def village(session, client, time_machine):
    f.make_county(session)
    v = rs.make_village(session)
    client.headers.update(f.token_headers(session, f.make_user(session, "village_doctor", f.VILLAGE_A1)))
    time_machine.move_to(datetime(2026, 11, 24, 2, 0, tzinfo=UTC), tick=False)
    return v


@pytest.fixture()
def rule(app, monkeypatch):
    """Set the installation's overdue rule (as the environment variable would at start)."""
    def _set(text: str) -> None:
        monkeypatch.setattr(app.state, "settings", app.state.settings.model_copy(
            update={"immunization_overdue_rule": text}))
    return _set


def hepb2(rows: list[dict]) -> str:
    return next(r["status"] for r in rows if (r["vaccine"], r["dose"]) == ("HepB", 2))


def test_the_child_record_api_follows_the_setting(client, village, rule):
    url = f"/api/v1/residents/{village['B'].id}/vaccinations"
    assert hepb2(client.get(url, params={"as_of": TODAY.isoformat()}).json()["schedule"]) == "due"
    rule("recommended+7d")
    assert hepb2(client.get(url, params={"as_of": TODAY.isoformat()}).json()["schedule"]) == "overdue"


def test_the_child_record_page_follows_the_setting(client, village, rule):
    url = f"/residents/{village['B'].id}/vaccinations"
    assert 'data-testid="status-HepB-2">应种' in client.get(url).text
    rule("recommended+7d")
    html = client.get(url).text
    assert 'data-testid="status-HepB-2">逾期' in html


def test_the_recall_list_api_follows_the_setting(client, village, rule):
    def status() -> str:
        body = client.get("/api/v1/immunization/recall", params={"week": TODAY.isoformat()}).json()
        child = next(c for c in body["children"] if c["name"] == "张乐")
        return child["doses"][0]["status"]
    assert status() == "due"
    rule("recommended+7d")
    assert status() == "overdue"


def test_both_worklists_follow_the_setting(client, village, rule):
    mark = 'data-vaccine="HepB" data-dose="2" data-status="{}"'
    for url in ("/care/worklist", "/immunization/worklist"):
        assert mark.format("due") in client.get(url).text, url
    rule("recommended+7d")
    for url in ("/care/worklist", "/immunization/worklist"):
        assert mark.format("overdue") in client.get(url).text, url
