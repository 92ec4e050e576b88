"""Bundled-budget page: the year's figures, the ECharts chart's data and the table; the set-budget form
(errors beside the field with the input kept and nothing stored; saved → back to the year); who sees what."""
from __future__ import annotations

import json
import re
from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from tests import factories as f
from tests.care import records_setup as rs
from weijian.core import clock
from weijian.settlement.models import BundledBudget


@pytest.fixture()
def world(session):
    w = rs.build(session)
    f.make_settlement(session, w.people["man"], w.facilities["county"], stay_date=date(2025, 3, 5), total="6000.00",
                      basic_pays="4000.00")
    f.make_settlement(session, w.people["woman"], w.facilities["centre_a"], stay_date=date(2025, 3, 9),
                      total="1000.00", basic_pays="800.00")
    f.make_settlement(session, w.people["elder"], None, stay_date=date(2025, 6, 30), total="5000.00",
                      basic_pays="3000.00")
    return w


def chart_data(html: str) -> dict:
    match = re.search(r"data-chart='([^']*)'", html)
    assert match, "no chart on the page"
    return json.loads(match.group(1).replace("&#34;", '"').replace("&quot;", '"'))


def test_the_page_shows_spending_by_facility_and_month_with_the_chart(client, session, world):
    f.page_login(client, world.users["bureau"].username)
    res = client.get("/settlement/budget", params={"year": "2025"})
    assert res.status_code == 200, res.text
    html = res.text
    assert "医共体医保打包预算" in html and 'href="/settlement/budget"' in html
    assert "/static/vendor/echarts.min.js" in html
    assert 'data-testid="budget-spent">¥7,800.00<' in html
    assert html.count('data-testid="budget-row"') == 3 and "县外就医" in html and "英山县人民医院" in html
    data = chart_data(html)
    assert data["labels"][:3] == ["1月", "2月", "3月"]
    assert [s["name"] for s in data["series"]] == ["英山县人民医院", "温泉镇中心卫生院", "县外就医"]
    assert data["series"][0]["data"][2] == 4000.0 and data["series"][2]["data"][5] == 3000.0
    assert data["budget"] is None and data["cumulative"][11] == 7800.0
    assert "本年度尚未设置预算" in html


@pytest.mark.parametrize(("today", "year", "spent"), [(datetime(2025, 11, 20, 23, 30), "2025", "¥7,800.00"),
                                                       (datetime(2026, 1, 1, 0, 30), "2026", "¥0.00")])
def test_the_page_opens_on_the_current_year(client, session, world, time_machine, today, year, spent):
    # The county's day (Asia/Shanghai), whatever the server's: 2025-11-20 23:30 there is still 2025-11-20.
    time_machine.move_to(today.replace(tzinfo=clock.zone()), tick=False)
    f.page_login(client, world.users["bureau"].username)
    html = client.get("/settlement/budget").text
    assert f'name="year" value="{year}"' in html and f'data-testid="budget-spent">{spent}<' in html


def test_setting_the_budget_through_the_form(client, session, world):
    f.page_login(client, world.users["bureau"].username)
    page = client.get("/settlement/budget", params={"year": "2025"})
    token = f.csrf_from(page.text)
    bad = client.post("/settlement/budget", data={"year": "2025", "amount": "十万", "note": "试算",
                                                  "csrf_token": token})
    assert bad.status_code == 422
    assert 'data-testid="error-amount">金额格式不正确<' in bad.text and 'value="十万"' in bad.text
    assert 'value="试算"' in bad.text
    assert session.scalar(select(func.count()).select_from(BundledBudget)) == 0
    ok = client.post("/settlement/budget", data={"year": "2025", "amount": "15600", "note": "",
                                                 "csrf_token": token}, follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/settlement/budget?year=2025&saved=1"
    shown = client.get(ok.headers["location"]).text
    assert "已保存 2025 年度预算 ¥15,600.00" in shown and 'data-testid="budget-amount">¥15,600.00<' in shown
    assert chart_data(shown)["monthly_budget"] == 1300.0
    assert 'data-outcome="' in shown  # surplus or overspend against the pace so far


def test_a_bad_year_is_shown_beside_the_year_picker(client, session, world):
    f.page_login(client, world.users["bureau"].username)
    res = client.get("/settlement/budget", params={"year": "abcd"})
    assert res.status_code == 422 and "年度应为 2000 至 2100 之间的四位数" in res.text


def test_the_form_needs_the_csrf_token(client, session, world):
    f.page_login(client, world.users["bureau"].username)
    res = client.post("/settlement/budget", data={"year": "2025", "amount": "1"})
    assert res.status_code == 403
    assert session.scalar(select(func.count()).select_from(BundledBudget)) == 0


def test_statistics_users_without_the_permission_see_no_form_and_clinicians_no_page(client, session, world):
    admin = f.make_user(session, "sysadmin", f.COUNTY)
    f.page_login(client, admin.username)
    html = client.get("/settlement/budget", params={"year": "2025"}).text
    assert 'data-testid="budget-report"' in html and 'data-testid="budget-set-form"' not in html
    token = f.csrf_from(html)
    assert client.post("/settlement/budget", data={"year": "2025", "amount": "1", "csrf_token": token}).status_code == 403
    client.cookies.clear()
    f.page_login(client, world.users["county"].username)
    assert client.get("/settlement/budget").status_code == 403
    assert 'href="/settlement/budget"' not in client.get("/").text


@pytest.mark.parametrize("year", ["²", "20²5", "9" * 5000])
def test_a_year_of_other_digits_is_refused_beside_the_field(client, session, world, year):
    # Found by the API fuzzer (tests/security): "²" passes str.isdigit() but not int(), a 500.
    f.page_login(client, world.users["bureau"].username)
    page = client.get("/settlement/budget")
    res = client.post("/settlement/budget", data={"year": year, "amount": "100", "csrf_token": f.csrf_from(page.text)})
    assert res.status_code == 422 and "年度应为 2000 至 2100 之间的四位数" in res.text
    assert session.scalar(select(func.count()).select_from(BundledBudget)) == 0
