"""Referral pages: the desk (overdue on top in red, accept and reject in one htmx click), the referral form
from the resident's record (errors beside the fields, input kept), a referral's page, the village doctor's
worklist, the township's list, and the navigation entries. All in Chinese, all scoped, reads audited."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests import factories as f
from tests.care import referrals_setup as rs
from weijian.care.models import Referral
from weijian.care.referrals import service as referrals_service
from weijian.care.referrals.schemas import CompleteIn, DownwardCreate
from weijian.core.commands import build

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture()
def w(session):
    return rs.build(session)


@pytest.fixture()
def login(client, session, w):
    """Use the test client as one of the world's users (bearer token, which pages accept too)."""
    def _as(who: str) -> None:
        client.headers.pop("Authorization", None)
        client.headers.update(f.token_headers(session, w.users[who]))
    return _as


def csrf(client, url: str) -> str:
    res = client.get(url)
    assert res.status_code == 200, res.text
    return CSRF.search(res.text).group(1)


def now() -> datetime:
    return datetime.now(UTC)


def test_the_desk_shows_overdue_referrals_on_top_in_red(client, session, w, login):
    fresh = rs.refer(session, w, to_facility_id=w.fac["county"].id, urgency="urgent", now=now())
    late = rs.refer(session, w, to_facility_id=w.fac["county"].id, urgency="routine",
                    now=now() - timedelta(hours=25))
    login("county")
    html = client.get("/care/referrals/desk").text
    assert "转诊接诊台" in html and 'href="/care/referrals/desk"' in html
    rows = re.findall(r'<tr id="referral-(\d+)" data-testid="desk-row" class="([^"]*)"', html)
    assert [int(r[0]) for r in rows] == [late.id, fresh.id]
    assert rows[0][1] == "overdue" and rows[1][1] == ""
    assert "已超时" in html and "有 1 张转诊单已超时未答复" in html
    assert [e.entity_type for e in rs.audits(session, action="read")][-1] == "referral_inbox"


def test_accept_in_one_click_returns_the_row(client, session, w, login):
    referral = rs.refer(session, w, to_facility_id=w.fac["county"].id, now=now())
    login("county")
    token = csrf(client, "/care/referrals/desk")
    res = client.post(f"/care/referrals/{referral.id}/accept", data={"version": "1"},
                      headers={"HX-Request": "true", "X-CSRF-Token": token})
    assert res.status_code == 200
    assert res.text.lstrip().startswith(f'<tr id="referral-{referral.id}"') and "<html" not in res.text
    assert "已接收" in res.text and 'data-testid="arrive"' in res.text
    session.refresh(referral)
    assert referral.status == "accepted"
    again = client.post(f"/care/referrals/{referral.id}/accept", data={"version": "1"},
                        headers={"HX-Request": "true", "X-CSRF-Token": token})
    assert again.status_code == 200 and 'data-testid="row-message"' in again.text
    assert "不能重复操作" in again.text


def test_reject_asks_a_reason(client, session, w, login):
    referral = rs.refer(session, w, to_facility_id=w.fac["county"].id, now=now())
    login("county")
    token = csrf(client, "/care/referrals/desk")
    res = client.post(f"/care/referrals/{referral.id}/reject", data={"version": "1", "text": ""},
                      headers={"HX-Request": "true", "X-CSRF-Token": token})
    assert "必填" in res.text and referral.status == "requested"
    res = client.post(f"/care/referrals/{referral.id}/reject", data={"version": "1", "text": "床位已满"},
                      headers={"HX-Request": "true", "X-CSRF-Token": token})
    session.refresh(referral)
    assert res.status_code == 200 and (referral.status, referral.reject_reason) == ("rejected", "床位已满")


def test_a_user_of_another_facility_is_refused_and_nothing_changes(client, session, w, login):
    referral = rs.refer(session, w, to_facility_id=w.fac["county"].id, now=now())
    login("tcm")
    token = csrf(client, "/care/referrals/desk")
    res = client.post(f"/care/referrals/{referral.id}/accept", data={"csrf_token": token, "version": "1"})
    assert res.status_code == 403 and "只有转入机构才能处理这张转诊单" in res.text
    session.refresh(referral)
    assert (referral.status, referral.version) == ("requested", 1)


def test_the_referral_form_from_the_record_keeps_input_and_names_errors(client, session, w, login):
    zhang = w.people["zhang"]
    login("village")
    record = client.get(f"/residents/{zhang.id}").text
    assert f'href="/care/referrals/new?resident_id={zhang.id}"' in record
    page = client.get(f"/care/referrals/new?resident_id={zhang.id}")
    assert page.status_code == 200 and "填写转诊单" in page.text and "东冲村卫生室" in page.text
    assert "2025-06-01 门诊" in page.text  # the record extract to be attached
    assert "英山县人民医院" in page.text and "南岭村卫生室" not in page.text  # village clinics of other towns left out
    token = CSRF.search(page.text).group(1)
    form = {"csrf_token": token, "direction": "down", "to_facility_id": str(w.fac["county"].id),
            "reason": "胸痛", "diagnoses": "I20.0", "urgency": "urgent"}
    res = client.post(f"/care/referrals/new?resident_id={zhang.id}", data=form)
    assert res.status_code == 422 and 'data-testid="error-direction"' in res.text
    assert "转诊方向与机构层级不符" in res.text and ">胸痛</textarea>" in res.text
    assert session.scalar(select(Referral.id)) is None
    res = client.post(f"/care/referrals/new?resident_id={zhang.id}", data={**form, "direction": "up"},
                      follow_redirects=False)
    assert res.status_code == 303
    referral = session.scalar(select(Referral))
    assert res.headers["location"] == f"/care/referrals/{referral.id}"
    assert (referral.direction, referral.urgency, referral.diagnosis) == ("up", "urgent", "I20.0")
    detail = client.get(res.headers["location"]).text
    assert "上转转诊单" in detail and 'data-testid="form-cancel"' in detail


def test_the_referral_page_offers_the_receivers_next_step(client, session, w, login):
    referral = rs.refer(session, w, to_facility_id=w.fac["county"].id, now=now())
    login("county")
    html = client.get(f"/care/referrals/{referral.id}").text
    assert 'data-testid="form-accept"' in html and 'data-testid="form-reject"' in html
    assert "健康档案摘要" in html  # the clinical summary
    token = CSRF.search(html).group(1)
    res = client.post(f"/care/referrals/{referral.id}/accept", data={"csrf_token": token, "version": "1"},
                      follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"] == f"/care/referrals/{referral.id}"
    res = client.post(f"/care/referrals/{referral.id}/accept", data={"csrf_token": token, "version": "1"})
    assert res.status_code == 409 and "不能重复操作" in res.text
    client.post(f"/care/referrals/{referral.id}/arrive", data={"csrf_token": token})
    res = client.post(f"/care/referrals/{referral.id}/complete", data={"csrf_token": token, "text": ""})
    assert res.status_code == 422 and "出院小结" in res.text
    client.post(f"/care/referrals/{referral.id}/complete", data={"csrf_token": token, "text": "好转出院"})
    html = client.get(f"/care/referrals/{referral.id}").text
    assert 'data-testid="downward-link"' in html
    page = client.get(f"/care/referrals/{referral.id}/downward")
    assert page.status_code == 200 and "下转回基层" in page.text
    res = client.post(f"/care/referrals/{referral.id}/downward", follow_redirects=False,
                      data={"csrf_token": token, "to_facility_id": str(w.fac["clinic_a1"].id), "reason": "康复",
                            "diagnoses": "I20.0", "urgency": "routine"})
    assert res.status_code == 303, res.text
    assert 'data-testid="downward-link"' not in client.get(f"/care/referrals/{referral.id}").text


def test_the_village_worklist_shows_the_patient_referred_back(client, session, w, login):
    up = rs.refer(session, w, to_facility_id=w.fac["county"].id)
    county = w.actors["county"]
    for step in (referrals_service.accept, referrals_service.arrive):
        step(session=session, referral_id=up.id, actor=county)
    referrals_service.complete(session=session, referral_id=up.id, complete_in=build(CompleteIn, discharge_summary="出院"), actor=county)
    referrals_service.create_downward(session=session, referral_id=up.id, downward_in=build(DownwardCreate, {"reason": "回村康复随访"}), actor=county)
    f.make_chronic_patient(session, resident=w.people["li"], registered_on=datetime(2024, 1, 1).date())
    login("village")
    html = client.get("/care/worklist").text
    assert "今日工作" in html and 'href="/care/worklist"' in html
    assert html.count('data-testid="downward-row"') == 1 and "回村康复随访" in html and "张三" in html
    assert 'data-testid="worklist-follow-ups"' in html and "李四" in html  # chronic follow-up overdue
    assert html.index('href="/care/worklist"') < html.index('href="/residents"')  # first in the nav
    # The single list of every package's tasks on top, overdue first; filtered by programme.
    assert 'data-testid="worklist-tasks"' in html and html.index("worklist-tasks") < html.index("worklist-downward")
    rows = re.findall(r'data-testid="task-row" data-programme="(\w+)" data-status="(\w+)"', html)
    assert {"referral", "chronic"} <= {p for p, _ in rows}
    ranks = [{"urgent": 0, "overdue": 1, "due": 2}[s] for _, s in rows]
    assert ranks == sorted(ranks)
    only = client.get("/care/worklist", params={"programme": "chronic"}).text
    assert set(re.findall(r'data-testid="task-row" data-programme="(\w+)"', only)) == {"chronic"}
    assert client.get("/care/worklist", params={"programme": "nonsense", "page": "9"}).status_code == 200
    login("village_b")
    assert 'data-testid="downward-row"' not in client.get("/care/worklist").text


def test_the_township_page_lists_its_patients_referrals(client, session, w, login):
    rs.refer(session, w)
    rs.refer(session, w, "village_b", resident_id=w.people["zhao"].id, to_facility_id=w.fac["town_b"].id)
    login("town")
    html = client.get("/care/referrals").text
    assert "双向转诊" in html and html.count('data-testid="referral-row"') == 1 and "张三" in html
    assert "赵六" not in html
    assert client.get("/care/referrals", params={"box": "sent"}).text.count('data-testid="referral-row"') == 0
    login("bureau")
    assert client.get("/care/referrals").status_code == 403
    assert 'href="/care/referrals/desk"' not in client.get("/").text


def test_a_receiving_facility_number_past_64_bits_is_named_beside_its_field(client, session, w, login):
    # as_int() handed ids past 64 bits to the database (a 500), like the fields the API fuzzer found.
    zhang = w.people["zhang"]
    login("village")
    token = CSRF.search(client.get(f"/care/referrals/new?resident_id={zhang.id}").text).group(1)
    res = client.post(f"/care/referrals/new?resident_id={zhang.id}", data={
        "csrf_token": token, "direction": "up", "to_facility_id": "9" * 25, "reason": "胸痛", "diagnoses": "I20.0"})
    assert res.status_code == 422 and 'data-testid="error-to_facility_id"' in res.text
    assert session.scalar(select(Referral.id)) is None


def _offered(html: str) -> list[str]:
    return re.findall(r'data-action="(\w+)"', html)


def test_the_pages_offer_exactly_the_actions_the_service_allows(client, session, w, login):
    """The desk row and the referral's page take their buttons from referrals.service.allowed_actions: at each
    step of a referral, for the receiver and for the sender, what a page offers is what the service allows."""
    referral = rs.refer(session, w, to_facility_id=w.fac["county"].id, now=now())
    county, village = w.actors["county"], w.actors["village"]
    steps = [
        ("requested", None),
        ("accepted", lambda: referrals_service.accept(session=session, referral_id=referral.id, actor=county)),
        ("arrived", lambda: referrals_service.arrive(session=session, referral_id=referral.id, actor=county)),
        ("completed", lambda: referrals_service.complete(session=session, referral_id=referral.id, actor=county,
                                                         complete_in=build(CompleteIn, discharge_summary="出院"))),
    ]
    seen = set()
    for status, step in steps:
        if step is not None:
            step()
        session.refresh(referral)
        assert referral.status == status
        for who, actor in (("county", county), ("village", village)):
            allowed = referrals_service.allowed_actions(referral, actor)
            login(who)
            assert _offered(client.get(f"/care/referrals/{referral.id}").text) == allowed, (status, who)
            seen.update(allowed)
        login("county")
        desk = client.get("/care/referrals/desk").text
        row = re.search(rf'<tr id="referral-{referral.id}".*?</tr>', desk, re.S)
        if status == "completed":
            assert row is None  # closed: off the desk
        else:
            assert _offered(row.group(0)) == referrals_service.allowed_actions(referral, county), status
    assert seen == {"accept", "reject", "arrive", "complete", "cancel", "downward"}
    cancelled = rs.refer(session, w, to_facility_id=w.fac["county"].id, now=now())
    login("village")
    assert _offered(client.get(f"/care/referrals/{cancelled.id}").text) == ["cancel"]


def test_the_worklist_page_and_api_show_the_follow_up_date(client, session, w, login):
    """规范（第三版）: "应在2周内主动随访转诊情况" (see tests/care/test_referrals_worklist.py)."""
    from tests.care.test_referrals_worklist import TWO_WEEKS
    from weijian.core import clock

    down = rs.referred_down(session, w)
    due = (clock.local_date(down.requested_at) + TWO_WEEKS).isoformat()
    login("village")
    html = client.get("/care/worklist").text
    assert 'data-testid="follow-up-due"' in html and due in html and "随访截止日期" in html
    body = client.get("/api/v1/care/worklist").json()
    assert [r["follow_up_due"] for r in body["downward_referrals"]] == [due]


def test_arrival_on_the_referral_page_offers_the_patients_encounters_here_and_links_the_one_chosen(
        client, session, w, login):
    """Issue 14 item 13: the receiving clinician links the visit already recorded for the patient (or records
    a new one). The form offers only what arrival accepts (this facility's, not voided, not linked, not
    before the request); a refused choice is named and the form keeps the type chosen."""
    from weijian.care.models import Encounter
    from weijian.core import clock

    referral = rs.refer(session, w, to_facility_id=w.fac["county"].id, now=now())
    county = w.actors["county"]
    referrals_service.accept(session=session, referral_id=referral.id, actor=county)
    today = clock.local_date(now())
    here = rs.visit(session, w.people["zhang"], w.fac["county"], today, "I10")
    voided = rs.visit(session, w.people["zhang"], w.fac["county"], today, "I10")
    voided.voided_at, voided.voided_by, voided.void_reason = now(), "x", "录错患者"
    before = rs.visit(session, w.people["zhang"], w.fac["county"], today - timedelta(days=2), "I10")
    elsewhere = rs.visit(session, w.people["zhang"], w.fac["town_a"], today, "I10")
    session.flush()
    login("county")
    html = client.get(f"/care/referrals/{referral.id}").text
    offered = re.search(r'data-testid="arrival-encounter">(.*?)</select>', html, re.S).group(1)
    assert f'value="{here.id}"' in offered
    for e in (voided, before, elsewhere):
        assert f'value="{e.id}"' not in offered
    token = CSRF.search(html).group(1)
    res = client.post(f"/care/referrals/{referral.id}/arrive",
                      data={"csrf_token": token, "version": str(referral.version), "encounter_id": str(voided.id),
                            "encounter_type": "outpatient"})
    assert res.status_code == 422 and "已作废" in res.text
    assert re.search(r'<option value="outpatient" selected>', res.text)
    assert session.get(Referral, referral.id).status == "accepted"
    res = client.post(f"/care/referrals/{referral.id}/arrive", follow_redirects=False,
                      data={"csrf_token": token, "version": str(referral.version), "encounter_id": str(here.id)})
    assert res.status_code == 303, res.text
    session.expire_all()
    assert session.get(Referral, referral.id).status == "arrived"
    assert session.get(Encounter, here.id).referral_id == referral.id
    linked = re.search(r'data-testid="linked-encounters">(.*?)</td>', client.get(f"/care/referrals/{referral.id}").text,
                       re.S).group(1)
    assert f"就诊记录号 {here.id}" in linked and "门诊" in linked
