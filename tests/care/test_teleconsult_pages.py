"""Consultation pages: the request form from the resident's record with the encounters to attach, the county
side's schedule form and the specialist's answer form, the desk's consultation inbox."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests import factories as f
from tests.care import referrals_setup as rs
from weijian.care.models import Teleconsultation

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture()
def w(session):
    return rs.build(session)


@pytest.fixture()
def login(client, session, w):
    def _as(who: str) -> None:
        client.headers.pop("Authorization", None)
        client.headers.update(f.token_headers(session, w.users[who]))
    return _as


def test_request_schedule_and_answer_through_the_pages(client, session, w, login):
    zhang = w.people["zhang"]
    login("village")
    assert f'href="/care/consultations/new?resident_id={zhang.id}"' in client.get(f"/residents/{zhang.id}").text
    page = client.get(f"/care/consultations/new?resident_id={zhang.id}")
    assert page.status_code == 200 and "申请远程会诊" in page.text
    assert "温泉镇卫生院" not in page.text and "英山县人民医院" in page.text  # county hospitals only
    token = CSRF.search(page.text).group(1)
    encounter_id = re.search(r'name="encounter_ids" value="(\d+)"', page.text).group(1)
    form = {"csrf_token": token, "to_facility_id": str(w.fac["county"].id), "department": "",
            "question": "血压控制不佳", "urgency": "routine", "encounter_ids": encounter_id}
    res = client.post(f"/care/consultations/new?resident_id={zhang.id}", data=form)
    assert res.status_code == 422 and 'data-testid="error-department"' in res.text and "血压控制不佳" in res.text
    res = client.post(f"/care/consultations/new?resident_id={zhang.id}", data={**form, "department": "心内科"},
                      follow_redirects=False)
    assert res.status_code == 303
    c = session.scalar(select(Teleconsultation))
    assert '"encounter_id": ' + encounter_id in c.extracts

    login("county")
    desk = client.get("/care/referrals/desk").text
    assert 'data-testid="consultation-inbox"' in desk and f'href="/care/consultations/{c.id}"' in desk
    detail = client.get(f"/care/consultations/{c.id}").text
    assert 'data-testid="form-schedule"' in detail and "2025-06-01 门诊" in detail
    token = CSRF.search(detail).group(1)
    res = client.post(f"/care/consultations/{c.id}/schedule", data={
        "csrf_token": token, "specialist_username": w.users["county2"].username, "scheduled_at": ""})
    assert res.status_code == 422 and 'data-testid="error-scheduled_at"' in res.text
    res = client.post(f"/care/consultations/{c.id}/schedule", follow_redirects=False, data={
        "csrf_token": token, "specialist_username": w.users["county2"].username,
        "scheduled_at": "2031-03-01T10:00"})
    assert res.status_code == 303
    assert 'data-testid="form-answer"' not in client.get(f"/care/consultations/{c.id}").text  # not the specialist

    login("county2")
    detail = client.get(f"/care/consultations/{c.id}").text
    assert 'data-testid="form-answer"' in detail and "2031-03-01 10:00" in detail
    res = client.post(f"/care/consultations/{c.id}/answer", follow_redirects=False,
                      data={"csrf_token": CSRF.search(detail).group(1), "opinion": "加用氨氯地平"})
    assert res.status_code == 303
    login("village")
    assert "加用氨氯地平" in client.get(f"/care/consultations/{c.id}").text
    assert 'data-testid="reply-row"' in client.get("/care/worklist").text


def test_a_consultations_page_offers_exactly_the_actions_the_service_allows(client, session, w, login):
    from datetime import timedelta

    from tests.care.referrals_setup import NOW
    from weijian.care.teleconsult import service as teleconsult_service
    from weijian.care.teleconsult.schemas import AnswerIn, ConsultationRequest, ScheduleIn
    from weijian.core.commands import build

    c = teleconsult_service.request(session=session, actor=w.actors["village"], now=NOW, consultation_in=build(
        ConsultationRequest, resident_id=w.people["zhang"].id, to_facility_id=w.fac["county"].id,
        department="心内科", question="是否调整用药"))
    steps = [
        None,
        lambda: teleconsult_service.schedule(session=session, consultation_id=c.id, actor=w.actors["county"],
                                             schedule_in=build(ScheduleIn, specialist_id=w.users["county2"].id,
                                                               scheduled_at=NOW + timedelta(hours=5))),
        lambda: teleconsult_service.answer(session=session, consultation_id=c.id, actor=w.actors["county2"],
                                           answer_in=build(AnswerIn, opinion="维持")),
    ]
    seen = set()
    for step in steps:
        if step is not None:
            step()
        session.refresh(c)
        for who in ("village", "county", "county2"):
            allowed = teleconsult_service.allowed_actions(c, w.actors[who])
            login(who)
            html = client.get(f"/care/consultations/{c.id}").text
            assert re.findall(r'data-action="(\w+)"', html) == allowed, (c.status, who)
            seen.update(allowed)
    assert seen == {"schedule", "answer", "cancel"}
