"""Recall and coverage pages: the week's list (table, print page, download link), the worklist section,
the coverage table with red/amber/green against the target and the chart's data; bad choices re-render
the form with the error beside the field."""
from __future__ import annotations

import json
import re
from datetime import UTC

import pytest

from tests import factories as f
from tests.immunization import recall_setup as rs


@pytest.fixture()
def village(session):
    f.make_county(session)
    return rs.make_village(session)


@pytest.fixture()
def login(client, session):
    def _as(role: str = "village_doctor", unit: str = f.VILLAGE_A1) -> None:
        client.headers.update(f.token_headers(session, f.make_user(session, role, unit)))
    return _as


def test_village_doctor_sees_the_weeks_list_of_their_village(client, village, login):
    login()
    res = client.get("/immunization/recall", params={"week": "2026-11-25"})
    assert res.status_code == 200, res.text
    html = res.text
    assert 'href="/immunization/recall"' in html and 'href="/immunization/coverage"' in html  # nav
    assert html.count('data-testid="recall-child"') == 4 and "孙悦" not in html
    assert html.count('data-testid="recall-dose"') == 4
    assert 'data-vaccine="MMR" data-dose="1" data-status="overdue" data-refusal="refused"' in html
    assert "李芳（母亲）" in html and "13900000002" in html
    assert "2026-11-23 至 2026-11-29" in html
    assert f"/api/v1/immunization/recall?week=2026-11-23&amp;village={f.VILLAGE_A1}&amp;format=xlsx" in html
    assert 'data-action="print"' in html and "/static/css/immunization-recall-list.css" in html
    assert "@media print" in client.get("/static/css/immunization-recall-list.css").text


def test_print_page_is_a_bare_printable_list(client, village, login):
    login()
    res = client.get("/immunization/recall/print", params={"week": "2026-11-23", "village": f.VILLAGE_A1})
    assert res.status_code == 200
    assert 'data-testid="recall-print-page"' in res.text and "mainnav" not in res.text
    assert "/static/css/immunization-recall-print.css" in res.text and res.text.count('data-testid="recall-dose"') == 4
    assert "size: A4 landscape" in client.get("/static/css/immunization-recall-print.css").text


def test_bad_week_rerenders_the_form_with_the_error(client, village, login):
    login()
    res = client.get("/immunization/recall", params={"week": "2026-02-30"})
    assert res.status_code == 422
    assert 'data-testid="error-week"' in res.text and "不是有效的周次" in res.text
    assert 'value="2026-02-30"' in res.text  # the input is kept


def test_another_village_is_refused(client, village, login):
    login()
    assert client.get("/immunization/recall", params={"week": "2026-11-23", "village": f.VILLAGE_A2}).status_code == 403


def test_county_doctor_chooses_a_village_or_point_first(client, village, login):
    login("county_doctor", f.COUNTY)
    res = client.get("/immunization/recall")
    assert res.status_code == 200 and 'data-testid="recall-needs-choice"' in res.text
    assert "温泉镇卫生院接种门诊" in res.text  # the point is offered
    res = client.get("/immunization/recall", params={"week": "2026-11-23", "point": village.point.id})
    assert res.text.count('data-testid="recall-child"') == 5


def test_worklist_page_lists_this_weeks_children(client, village, login, time_machine):
    from datetime import datetime

    time_machine.move_to(datetime(2026, 11, 24, 2, 0, tzinfo=UTC), tick=False)
    login()
    res = client.get("/immunization/worklist")
    assert res.status_code == 200
    assert 'data-testid="worklist-recall"' in res.text and res.text.count('data-testid="recall-child"') == 4


def test_care_worklist_shows_the_weeks_children_of_the_doctors_own_village(client, village, login,
                                                                            time_machine):
    from datetime import datetime

    time_machine.move_to(datetime(2026, 11, 24, 2, 0, tzinfo=UTC), tick=False)
    login()
    res = client.get("/care/worklist")
    assert res.status_code == 200, res.text
    html = res.text
    assert 'data-testid="worklist-recall"' in html and "2026-11-23 – 2026-11-29" in html
    assert "王小明" in html and html.count('data-testid="recall-child"') == 4
    assert "孙悦" not in html  # due too, but in village A2
    assert 'data-testid="worklist-empty"' not in html


@pytest.fixture()
def coverage_data(session):
    """MMR1 by the end of 2026: A1 9 of 10 children (90 %: green), A2 17 of 20 (85 %: amber),
    B1 1 of 2 (50 %: red); township A 26/30 = 86.7 % (amber), county 27/32 = 84.4 % (red)."""
    f.make_county(session)
    for village, n, vaccinated in ((f.VILLAGE_A1, 10, 9), (f.VILLAGE_A2, 20, 17), (f.VILLAGE_B1, 2, 1)):
        for k in range(n):
            c = f.make_resident(session, name="测试", sex="male", birth_date="2024-05-01", village_code=village)
            if k < vaccinated:
                rs.give(session, c, "MMR", 1, "2025-01-10")


def test_coverage_page_colours_against_the_target(client, coverage_data, login):
    login("bureau_admin", f.COUNTY)
    res = client.get("/immunization/coverage", params={"period": "2026", "dose": "MMR:1"})
    assert res.status_code == 200, res.text
    html = res.text
    rags = dict(re.findall(r'data-code="(\d+)"[^>]*>.*?data-testid="coverage-value" data-rag="(\w*)"', html, re.S))
    assert rags == {f.COUNTY: "red", f.TOWN_A: "amber", f.VILLAGE_A1: "green", f.VILLAGE_A2: "amber",
                    f.TOWN_B: "red", f.VILLAGE_B1: "red"}
    assert "84.4%" in html and "86.7%" in html
    chart = json.loads(re.search(r"data-chart='([^']*)'", html).group(1).replace("&#34;", '"'))
    assert [(c["code"], round(c["value"], 1), c["rag"]) for c in chart] == [(f.TOWN_A, 86.7, "amber"),
                                                                            (f.TOWN_B, 50.0, "red")]
    assert "/static/vendor/echarts.min.js" in html
    assert 'data-testid="coverage-matrix"' in html


def test_coverage_page_bad_period_is_shown_beside_the_field(client, coverage_data, login):
    login("bureau_admin", f.COUNTY)
    res = client.get("/immunization/coverage", params={"period": "2026-13"})
    assert res.status_code == 422 and 'data-testid="error-period"' in res.text


def test_coverage_page_with_a_dose_number_that_is_no_number_answers_the_page(client, coverage_data, login):
    # Found by the API fuzzer (tests/security): "MMR:²" passes str.isdigit() but not int(), a 500.
    login("bureau_admin", f.COUNTY)
    for dose in ("MMR:²", "MMR:" + "9" * 5000):
        res = client.get("/immunization/coverage", params={"period": "2026", "dose": dose})
        assert res.status_code == 200 and "疫苗" in res.text, dose
