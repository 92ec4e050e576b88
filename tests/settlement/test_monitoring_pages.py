"""Poverty-risk page: the flagged residents with masked identity numbers, which threshold applied, their
settlements; the day and area chosen in the form (a bad one shown beside the field); bureau only."""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from tests import factories as f
from tests.care import records_setup as rs
from weijian.core.identifiers import mask_id_number
from weijian.residents.models import Household


@pytest.fixture()
def world(session):
    w = rs.build(session)
    poor = f.make_resident(session, name="甲低保", groups=["低保"])
    lifted = f.make_resident(session, name="乙脱贫", groups=["脱贫"], household_number="421124100201X001",
                             relation_to_head="head")
    session.get(Household, lifted.household_id).annual_income = Decimal("6000")
    f.make_settlement(session, poor, w.facilities["county"], stay_date=date(2025, 5, 1), total="60000.00",
                      basic_pays="48000.00")  # own 12,000
    f.make_settlement(session, lifted, None, stay_date=date(2025, 8, 1), total="20000.00",
                      basic_pays="16000.00", pay_later=True)  # own 4,000 > 50 % of 6,000
    w.people.update(poor=poor, lifted=lifted)
    return w


def test_the_bureau_sees_the_flagged_residents_with_masked_numbers(client, session, world):
    f.page_login(client, world.users["bureau"].username)
    res = client.get("/settlement/poverty-risk", params={"as_of": "2025-12-31"})
    assert res.status_code == 200, res.text
    html = res.text
    assert "防止因病返贫监测" in html and 'href="/settlement/poverty-risk"' in html
    assert html.count('data-testid="risk-row"') == 2 and html.index("甲低保") < html.index("乙脱贫")
    assert world.people["poor"].id_number not in html and mask_id_number(world.people["poor"].id_number) in html
    assert "¥12,000.00" in html and "¥3,000.00" in html and "家庭收入比例" in html and "固定金额" in html
    assert "统计期间：2025-01-01 至 2025-12-31" in html and "超过监测线 2 人" in html
    assert html.count('data-testid="risk-settlement"') == 2 and "先诊疗后付费" in html and "县外" in html


def test_without_a_day_the_list_opens_on_today_in_the_county(client, session, world, time_machine):
    # The 12 months to today (the rule of every page's default period), not to the latest settlement.
    time_machine.move_to(datetime(2026, 5, 31, 17, 0, tzinfo=UTC), tick=False)  # 1 June in the county
    f.page_login(client, world.users["bureau"].username)
    html = client.get("/settlement/poverty-risk").text
    assert 'value="2026-06-01"' in html and html.count('data-testid="risk-row"') == 1  # the August stay


def test_a_bad_day_or_area_is_shown_beside_its_field(client, session, world):
    f.page_login(client, world.users["bureau"].username)
    res = client.get("/settlement/poverty-risk", params={"as_of": "2025-02-30"})
    assert res.status_code == 422 and 'data-testid="error-as_of"' in res.text and 'value="2025-02-30"' in res.text
    res = client.get("/settlement/poverty-risk", params={"orgunit": "42112"})
    assert res.status_code == 422 and 'data-testid="error-orgunit"' in res.text


def test_an_area_narrows_the_list(client, session, world):
    f.page_login(client, world.users["bureau"].username)
    html = client.get("/settlement/poverty-risk", params={"as_of": "2025-12-31", "orgunit": f.TOWN_B}).text
    assert 'data-testid="risk-none"' in html


def test_clinicians_do_not_see_the_page(client, session, world):
    f.page_login(client, world.users["county"].username)
    assert client.get("/settlement/poverty-risk").status_code == 403
    assert 'href="/settlement/poverty-risk"' not in client.get("/").text


@pytest.mark.parametrize("page", ["²", "9" * 25, "9" * 5000])
def test_a_page_number_that_is_no_number_shows_the_first_page(client, session, world, page):
    # Found by the API fuzzer (tests/security): "²" passes str.isdigit() but not int(), a 500.
    f.page_login(client, world.users["bureau"].username)
    res = client.get("/settlement/poverty-risk", params={"as_of": "2025-12-31", "page": page})
    assert res.status_code == 200 and res.text.count('data-testid="risk-row"') == 2
