"""Elderly care pages: the residents 65+ due this year, a resident's year with the self-care and TCM forms
(refused with the error beside the field and the input kept), the print page with the guidance of the
constitutions identified, and the village doctor's worklist section."""
from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from tests import factories as f
from weijian.care.elderly.models import ElderlyAssessment, TcmAssessment
from weijian.care.models import HealthCheck
from weijian.core import clock

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture()
def county(session):
    return f.make_county(session)


@pytest.fixture()
def login(client, session, county):
    client.headers.update(f.token_headers(session, f.make_user(session, "village_doctor", f.VILLAGE_A1)))


def csrf(client, url: str) -> str:
    res = client.get(url)
    assert res.status_code == 200, res.text
    return CSRF.search(res.text).group(1)


def test_the_tcm_form_refuses_unanswered_questions_keeping_the_answers(client, session, login):
    elder = f.make_resident(session, name="老人丁", birth_date=date(1947, 7, 7))
    url = f"/care/elderly/residents/{elder.id}"
    token = csrf(client, url)
    data = {"csrf_token": token, "date": clock.today().isoformat(), **{f"q{n}": "2" for n in range(1, 33)}}
    res = client.post(f"{url}/tcm", data=data)
    assert res.status_code == 422
    assert 'data-testid="error-answers"' in res.text and "第 33 题未填写" in res.text
    assert 'name="q1" value="2" checked' in res.text
    assert session.scalar(select(func.count()).select_from(TcmAssessment)) == 0
    ok = client.post(f"{url}/tcm", data={**data, "q33": "2", "guidance": ["diet", "exercise"]},
                     follow_redirects=False)
    assert ok.status_code == 303
    t = session.scalars(select(TcmAssessment)).one()
    assert t.guidance == "diet,exercise"
    printed = client.get(f"/care/elderly/tcm/{t.id}/print")
    assert printed.status_code == 200 and "中医体质辨识结果与保健指导" in printed.text
    # Every answer 2: 平和 2 + 4·4 = 18, each biased 8 (≤8): 平和质 是 — its guidance printed.
    assert 'data-testid="guidance-balanced"' in printed.text and "饮食调养" in printed.text


def test_the_self_care_form_scores_and_refuses_a_level_not_on_the_form(client, session, login):
    elder = f.make_resident(session, name="老人戊", birth_date=date(1946, 6, 6))
    session.add(HealthCheck(resident_id=elder.id, date=clock.today(), kind="annual_65"))
    session.flush()
    url = f"/care/elderly/residents/{elder.id}"
    assert "尚未记录生活自理能力评估" in client.get(url).text
    token = csrf(client, url)
    data = {"csrf_token": token, "date": clock.today().isoformat(), "eating": "mild", "grooming": "independent",
            "dressing": "independent", "toileting": "independent", "activity": "independent",
            "test_ecg": "normal"}
    res = client.post(f"{url}/self-care", data=data)
    assert res.status_code == 422 and 'data-testid="error-eating"' in res.text
    ok = client.post(f"{url}/self-care", data={**data, "eating": "dependent"}, follow_redirects=False)
    assert ok.status_code == 303
    a = session.scalars(select(ElderlyAssessment)).one()
    assert (a.total, a.band) == (5, "mild")
    page = client.get(url).text
    assert 'data-testid="band">轻度依赖' in page and "心电图：正常" in page
    assert "已记录生活自理能力评估" in page and a.health_check_id is not None


def test_the_due_page_and_the_worklist_list_residents_65_plus_without_this_years_service(client, session, login):
    f.make_resident(session, name="待服务老人", birth_date=date(1950, 1, 1))
    f.make_resident(session, name="邻村老人", birth_date=date(1950, 1, 1), village_code=f.VILLAGE_B1)
    f.make_resident(session, name="年轻人", birth_date=date(1990, 1, 1))
    page = client.get("/care/elderly").text
    assert "待服务老人" in page and "邻村老人" not in page and "年轻人" not in page
    html = client.get("/care/worklist").text
    section = html[html.index('data-testid="worklist-elderly"'):]
    section = section[:section.index("</section>")]
    assert section.count('data-testid="elderly-row"') == 1 and "健康体检、生活自理能力评估、中医体质辨识" in section


def test_the_resident_record_links_to_the_elderly_page_from_65(client, session, login):
    elder = f.make_resident(session, name="老人己", birth_date=date(1950, 1, 1))
    young = f.make_resident(session, name="青年", birth_date=date(1990, 1, 1))
    assert f'href="/care/elderly/residents/{elder.id}"' in client.get(f"/residents/{elder.id}").text
    assert 'data-testid="elderly-link"' not in client.get(f"/residents/{young.id}").text
