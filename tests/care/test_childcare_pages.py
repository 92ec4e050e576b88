"""Child health pages: a child's schedule and checks, the check form refused with the error beside the field
and the input kept, the 体弱儿 list, and the village doctor's worklist listing children's checks overdue or due
(overdue first)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import func, select

from tests import factories as f
from weijian.care.childcare.models import ChildCheck, FrailChild
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


def test_a_refused_check_keeps_the_input_and_names_the_field_then_is_recorded(client, session, login):
    today = clock.today()
    child = f.make_resident(session, name="幼儿乙", sex="male", birth_date=today - relativedelta(months=6))
    url = f"/care/childcare/children/{child.id}"
    token = csrf(client, url)
    assert "检查计划" in client.get(url).text
    res = client.post(f"{url}/checks", data={"csrf_token": token, "check": "m3", "date": today.isoformat(),
                                             "weight_kg": "7.1", "findings": "发育良好"})
    assert res.status_code == 422
    assert 'data-testid="error-out_of_window_reason"' in res.text and "发育良好" in res.text
    assert session.scalar(select(func.count()).select_from(ChildCheck)) == 0
    ok = client.post(f"{url}/checks", data={"csrf_token": token, "check": "m3", "date": today.isoformat(),
                                            "weight_kg": "7.1", "haemoglobin_g_l": "95",
                                            "out_of_window_reason": "外出返乡"}, follow_redirects=False)
    assert ok.status_code == 303
    page = client.get(url).text
    assert 'data-testid="check-row"' in page and 'data-testid="frail-case"' in page and "growth-chart" in page
    frail = client.get("/care/childcare/frail").text
    assert frail.count('data-testid="frail-row"') == 1 and "贫血" in frail
    case = session.scalars(select(FrailChild)).one()
    closed = client.post(f"/care/childcare/frail/{case.id}/close",
                         data={"csrf_token": token, "closed_on": today.isoformat(), "note": ""})
    assert closed.status_code == 422 and 'data-testid="error-note"' in closed.text


def test_the_village_doctors_worklist_lists_childrens_checks_overdue_first(client, session, login):
    today = clock.today()
    f.make_resident(session, name="逾期婴儿", sex="female", birth_date=today - timedelta(days=10))  # newborn late
    f.make_resident(session, name="到期幼儿", sex="male", birth_date=today - relativedelta(months=12))
    f.make_resident(session, name="邻村幼儿", sex="male", birth_date=today - relativedelta(months=12),
                    village_code=f.VILLAGE_A2)
    html = client.get("/care/worklist").text
    section = html[html.index('data-testid="worklist-childcare"'):]
    section = section[:section.index("</section>")]
    assert section.count('data-testid="child-due-row"') == 2
    assert section.index("逾期婴儿") < section.index("到期幼儿") and "邻村幼儿" not in section
    assert "新生儿家庭访视" in section and "12月龄" in section
