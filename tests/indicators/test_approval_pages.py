"""Issue 15 item 14 on the pages and the API: the bureau approves an org unit × period from the indicators
page; a correction form of a record in it asks for the correction reason, refuses without it (input kept,
nothing written) and records the correction with it; the overview and the xlsx show 已审核数 X，现记录数 Y，
审核后更正 N 条."""
from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tests import factories as f
from tests.care import records_setup as rs
from weijian.care.models import Encounter
from weijian.core.locks import PeriodApproval, PeriodCorrection

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
OVERVIEW = f"/indicators?period=2025Q1&orgunit={f.COUNTY}&category=care"


@pytest.fixture()
def w(session):
    world = rs.build(session)
    world.visits = [rs.record(session, world, start_date=f"2025-03-{d:02d}") for d in (3, 10, 17)]
    session.flush()
    return world


@pytest.fixture()
def login(client, session, w):
    def _as(who: str = "village") -> None:
        client.headers.update(f.token_headers(session, w.users[who]))
    return _as


def csrf(client, url: str) -> str:
    res = client.get(url)
    assert res.status_code == 200, res.text
    return CSRF.search(res.text).group(1)


def approve_from_page(client, login) -> None:
    login("bureau")
    page = client.get(OVERVIEW)
    assert 'data-testid="approve-form"' in page.text, page.text[:2000]
    res = client.post("/indicators/approvals", follow_redirects=False, data={
        "csrf_token": CSRF.search(page.text).group(1), "orgunit": f.COUNTY, "period": "2025Q1", "note": "一季度"})
    assert res.status_code == 303, res.text


def test_the_bureau_approves_from_the_indicators_page_and_clinicians_see_no_button(client, session, w, login):
    login("village")
    assert 'data-testid="approve-form"' not in client.get(f"/indicators?period=2025Q1&orgunit={f.VILLAGE_A1}").text
    approve_from_page(client, login)
    [row] = session.scalars(select(PeriodApproval))
    assert (row.orgunit_code, row.period, row.note) == (f.COUNTY, "2025Q1", "一季度")
    html = client.get(OVERVIEW).text
    assert 'data-testid="approval-state"' in html and 'data-testid="approve-form"' not in html
    assert "已审核数 100.00，现记录数 100.00，审核后更正 0 条" in html


def test_a_correction_of_an_approved_record_asks_for_the_reason_and_records_it(client, session, w, login):
    approve_from_page(client, login)
    login("village")
    visit = w.visits[0]
    url = f"/care/encounters/{visit.id}/void"
    form = client.get(url)
    assert 'data-testid="period-locked"' in form.text and 'name="period_correction_reason"' in form.text
    before = rs.writes(session)
    res = client.post(url, data={"csrf_token": CSRF.search(form.text).group(1), "reason": "重复录入"})
    assert res.status_code == 422
    assert 'value="重复录入"' in res.text and 'data-testid="error-period_correction_reason"' in res.text
    assert "该期间已审核" in res.text
    assert rs.writes(session) == before
    session.expire_all()
    assert session.get(Encounter, visit.id).voided_at is None
    res = client.post(url, follow_redirects=False, data={
        "csrf_token": CSRF.search(form.text).group(1), "reason": "重复录入",
        "period_correction_reason": "经核对门诊日志，该次为重复登记"})
    assert res.status_code == 303, res.text
    [corr] = session.scalars(select(PeriodCorrection))
    assert (corr.record_id, corr.reason) == (visit.id, "经核对门诊日志，该次为重复登记")
    login("bureau")
    assert "审核后更正 1 条" in client.get(OVERVIEW).text
    xlsx = client.get(f"/indicators/export.xlsx?period=2025Q1&orgunit={f.COUNTY}&category=care")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    notes = [r[-1] for r in sheet.iter_rows(values_only=True)]
    assert any(isinstance(n, str) and "审核后更正 1 条" in n for n in notes)


def test_a_correction_form_without_approval_shows_no_reason_field(client, session, w, login):
    login("village")
    form = client.get(f"/care/encounters/{w.visits[0].id}/correct")
    assert form.status_code == 200 and 'name="period_correction_reason"' not in form.text


def test_unapprove_from_the_page_needs_a_reason(client, session, w, login):
    approve_from_page(client, login)
    [row] = session.scalars(select(PeriodApproval))
    token = csrf(client, "/indicators/approvals")
    res = client.post(f"/indicators/approvals/{row.id}/unapprove", data={"csrf_token": token, "reason": " "})
    assert res.status_code == 422 and 'data-testid="unapprove-form"' in res.text
    res = client.post(f"/indicators/approvals/{row.id}/unapprove", follow_redirects=False,
                      data={"csrf_token": token, "reason": "补报漏登"})
    assert res.status_code == 303
    session.expire_all()
    assert session.get(PeriodApproval, row.id).unapprove_reason == "补报漏登"


def test_the_api_approves_lists_and_unapproves(client, session, w, login):
    login("bureau")
    res = client.post("/api/v1/indicators/approvals", json={"orgunit": f.TOWN_A, "period": "2025Q1"})
    assert res.status_code == 201, res.text
    body = res.json()
    assert (body["orgunit"], body["period"], body["active"], body["corrections"]) == (f.TOWN_A, "2025Q1", True, 0)
    assert client.post("/api/v1/indicators/approvals", json={"orgunit": f.TOWN_A, "period": "2025Q1"}
                       ).status_code == 409
    future = client.post("/api/v1/indicators/approvals", json={"orgunit": f.TOWN_A, "period": "2099"})
    assert future.status_code == 422 and future.json()["error"]["field"] == "period"
    assert [a["id"] for a in client.get("/api/v1/indicators/approvals?active=true").json()] == [body["id"]]
    lifted = client.post(f"/api/v1/indicators/approvals/{body['id']}/unapprove", json={"reason": "补报"})
    assert lifted.status_code == 200 and lifted.json()["active"] is False
    login("village")
    assert client.post("/api/v1/indicators/approvals", json={"orgunit": f.VILLAGE_A1, "period": "2025Q1"}
                       ).status_code == 403


def test_a_historical_dose_dated_in_an_approved_month_needs_the_reason(client, session):
    """The immunization record's historical-dose form: refused with the reason field shown and the input
    kept; with a reason the dose is recorded and the correction kept."""
    from datetime import timedelta

    from tests.immunization.records_setup import build, headers
    from weijian.core import clock
    from weijian.core.periods import parse_period
    from weijian.immunization.models import Vaccination

    w = build(session)
    day = clock.today() - timedelta(days=35)  # the world's child is 70 days old: HepB2 (1 month) fits
    p = parse_period(f"{day.year}{day.month:02d}")
    session.add(PeriodApproval(orgunit_code=f.COUNTY, period=p.code, period_start=p.start, period_end=p.end,
                               approved_by="test", snapshot="{}"))
    session.flush()
    client.headers.update(headers(session, w.village_doctor))
    url = f"/residents/{w.child.id}/vaccinations"
    token = CSRF.search(client.get(url).text).group(1)
    sent = {"csrf_token": token, "vaccine": "HepB", "dose": "2", "date": day.isoformat()}
    count = session.query(Vaccination).count()
    res = client.post(f"{url}/historical", data=sent)
    assert res.status_code == 422, res.text
    assert 'data-testid="error-period_correction_reason"' in res.text and f'value="{day.isoformat()}"' in res.text
    assert session.query(Vaccination).count() == count
    res = client.post(f"{url}/historical", follow_redirects=False,
                      data={**sent, "period_correction_reason": "外地接种证补录"})
    assert res.status_code == 303, res.text
    [corr] = session.scalars(select(PeriodCorrection))
    assert (corr.table_name, corr.reason) == ("vaccinations", "外地接种证补录")


def test_the_api_correction_passes_with_a_reason_and_is_refused_without(client, session, w, login):
    login("bureau")
    assert client.post("/api/v1/indicators/approvals", json={"orgunit": f.COUNTY, "period": "2025Q1"}
                       ).status_code == 201
    login("village")
    url = f"/api/v1/encounters/{w.visits[0].id}/void"
    refused = client.post(url, json={"reason": "重复录入"})
    assert refused.status_code == 422, refused.text
    fields = [e["field"] for e in refused.json()["error"]["errors"]]
    assert fields == ["start_date", "period_correction_reason"]
    done = client.post(url, params={"period_correction_reason": "重复登记"}, json={"reason": "重复录入"})
    assert done.status_code == 200, done.text
    [corr] = session.scalars(select(PeriodCorrection))
    assert (corr.record_id, corr.reason) == (w.visits[0].id, "重复登记")


def test_a_new_visit_backdated_into_an_approved_period_comes_back_with_the_reason_field(client, session, w, login):
    session.add(PeriodApproval(orgunit_code=f.VILLAGE_A1, period="202503", period_start=rs.date(2025, 3, 1),
                               period_end=rs.date(2025, 3, 31), approved_by="test", snapshot="{}"))
    session.flush()
    login("village")
    rid = w.people["man"].id
    url = f"/residents/{rid}/encounters/new?type=outpatient"
    token = csrf(client, url)
    sent = {"csrf_token": token, "type": "outpatient", "start_date": "2025-03-20", "diagnoses": ["J06.9"],
            "facility_id": str(w.facilities["clinic_a1"].id), "total_cost": "10.00", "in_policy_cost": "10.00"}
    before = rs.writes(session)
    res = client.post(f"/residents/{rid}/encounters/new", data=sent)
    assert res.status_code == 422, res.text[:3000]
    assert 'name="period_correction_reason"' in res.text and 'value="2025-03-20"' in res.text
    assert rs.writes(session) == before
    res = client.post(f"/residents/{rid}/encounters/new", follow_redirects=False,
                      data={**sent, "period_correction_reason": "漏登补录"})
    assert res.status_code == 303, res.text[:3000]
    [corr] = session.scalars(select(PeriodCorrection))
    assert (corr.table_name, corr.reason, corr.corrected_by) == ("encounters", "漏登补录", w.users["village"].username)


def test_the_comparison_offers_an_approve_button_per_township(client, session, w, login):
    login("bureau")
    url = f"/indicators/compare?period=2025Q1&orgunit={f.COUNTY}&indicator=primary_care_share"
    page = client.get(url).text
    assert f'data-testid="approve-row-form" data-code="{f.TOWN_A}"' in page
    assert f'data-testid="approve-row-form" data-code="{f.TOWN_B}"' in page
    res = client.post("/indicators/approvals", follow_redirects=False, data={
        "csrf_token": CSRF.search(page).group(1), "orgunit": f.TOWN_A, "period": "2025Q1"})
    assert res.status_code == 303
    page = client.get(url).text
    assert f'data-testid="approve-row-form" data-code="{f.TOWN_A}"' not in page
    assert f'data-testid="approve-row-form" data-code="{f.TOWN_B}"' in page
    assert "已审核数 100.00，现记录数 100.00，审核后更正 0 条" in page
    login("village")
    assert 'data-testid="approve-row-form"' not in client.get(
        f"/indicators/compare?period=2025Q1&orgunit={f.TOWN_A}&indicator=primary_care_share").text
