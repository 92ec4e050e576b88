"""Dashboard pages on the hand-made county of tests/indicators/world.py: the overview against targets, the
sorted comparison and its chart data, the monthly trend, the village table sorted by the server, the
printable report, the Excel download, and the drill-down to masked, paginated records; bad choices
re-render the form with the error beside the field.

Figures worked out by hand from world.py (2025):
  population: A1 4, A2 2, B1 3 → TOWN_A 6, TOWN_B 3, county 9; month ends: Jan–Mar 7, Apr–Jul 8, Aug–Dec 9.
  65+ health check (≥ 60 %, amber 50): checked / 65+ — A1 1/1, A2 1/1, B1 0/1 → TOWN_A 2/2 = 100 %,
    TOWN_B 0/1 = 0 %, county 2/3 = 66.67 % (green).
  primary-care share (≥ 65 %, amber 60): A1 3/4 = 75 %, A2 0/1 = 0 % → TOWN_A 3/5 = 60.00 % (amber;
    the mean of its villages' rates would be 37.5 %); TOWN_B no visits (no value); county 3/5 = 60.00 %.
  hypertension 规范管理率 (≥ 60 %, amber 50): county 1/3 = 33.33 % (red).
  basic insurance paid: 1,000.50 + 2,000 = 3,000.50.
"""
from __future__ import annotations

import json
import re
from html import unescape
from io import BytesIO

import pytest

from tests import factories as f
from tests.indicators import world


@pytest.fixture()
def w(session):
    return world.build(session)


@pytest.fixture()
def login(client, session):
    def _as(role: str = "bureau_admin", unit: str = f.COUNTY) -> None:
        client.headers.update(f.token_headers(session, f.make_user(session, role, unit)))
    return _as


def _rows(html: str, testid: str, attr: str) -> dict[str, str]:
    """Each table row with data-testid=`testid`, keyed by its `attr` attribute, in page order."""
    out: dict[str, str] = {}
    for m in re.finditer(rf'<tr data-testid="{testid}" {attr}="([^"]+)"[^>]*>(.*?)</tr>', html, re.S):
        out[m.group(1)] = m.group(2)
    return out


def _text(fragment: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", fragment))).strip()


def _value(fragment: str, indicator: str | None = None) -> tuple[str, str]:
    """(shown value, status) of a row's value cell (of one indicator in the village table)."""
    which = re.escape(indicator) if indicator else r"\w+"
    m = re.search(r'<td class="num (rag-\w+)" data-testid="value" data-indicator="' + which
                  + r'" data-status="(\w*)">(.*?)</td>', fragment, re.S)
    assert m, fragment
    return _text(m.group(3)), m.group(2)


def _chart(html: str, testid: str) -> list[dict]:
    m = re.search(rf'data-testid="{testid}" data-chart=\'([^\']*)\'', html)
    assert m, f"no {testid}"
    return json.loads(unescape(m.group(1)))


# --- overview ---------------------------------------------------------------------------------------
def test_overview_shows_each_figure_against_its_target_in_red_amber_green(client, w, login):
    login()
    res = client.get("/indicators", params={"period": "2025"})
    assert res.status_code == 200, res.text
    html = res.text
    assert '<a href="/indicators" class="active">指标</a>' in html  # nav, for stats:read
    rows = _rows(html, "overview-row", "data-indicator")
    assert _value(rows["elderly_health_check_rate"]) == ("66.67%", "green")
    assert ">2<" in rows["elderly_health_check_rate"] and ">3<" in rows["elderly_health_check_rate"]
    assert "≥ 60%" in rows["elderly_health_check_rate"] and "达标" in rows["elderly_health_check_rate"]
    assert _value(rows["primary_care_share"]) == ("60.00%", "amber")
    assert _value(rows["hypertension_management_rate"]) == ("33.33%", "red")
    assert "未达标" in rows["hypertension_management_rate"]
    assert _value(rows["population_total"]) == ("9人", "")
    assert _value(rows["settlement_basic"]) == ("3,000.50元", "")
    # Grouped by category, in the definitions' order.
    assert html.index(">资源配置<") < html.index(">人口<") < html.index(">医保结算<")
    tally = re.search(r'data-testid="overview-tally">(.*?)</p>', html, re.S).group(1)
    greens = sum(1 for r in rows.values() if 'data-status="green"' in r)
    assert f'data-status="green">达标 {greens}</span>' in tally and greens >= 1
    # Every figure links to its records; the table downloads and prints.
    assert ('href="/indicators/drill?indicator=elderly_health_check_rate&amp;orgunit=421124000000&amp;period=2025"'
            in rows["elderly_health_check_rate"])
    assert 'href="/indicators/export.xlsx?period=2025&amp;orgunit=421124000000&amp;view=overview"' in html
    assert 'href="/indicators/print?period=2025&amp;orgunit=421124000000&amp;view=overview"' in html


def test_a_townships_rate_is_its_summed_counts_not_the_mean_of_its_villages(client, w, login):
    login()
    html = client.get("/indicators", params={"period": "2025", "orgunit": f.TOWN_A}).text
    row = _rows(html, "overview-row", "data-indicator")["primary_care_share"]
    assert _value(row) == ("60.00%", "amber")  # 3 / 5, where (75 % + 0 %) / 2 would be 37.5 %
    assert "温泉镇 · 2025" in html


def test_overview_can_show_one_category(client, w, login):
    login()
    html = client.get("/indicators", params={"period": "2025", "category": "population"}).text
    assert set(_rows(html, "overview-row", "data-indicator")) == {
        "population_total", "population_0_6", "population_7_17", "population_18_64", "population_65_plus"}


def test_the_overview_defaults_to_the_current_year(client, w, login, time_machine):
    """The rule of every page (core.periods.default_period): the current year on the county's calendar, its
    figures to date — not the last complete year."""
    from datetime import datetime

    from weijian.core import clock

    time_machine.move_to(datetime(2025, 12, 30, 10, tzinfo=clock.zone()), tick=False)
    login()
    html = client.get("/indicators").text
    assert 'name="period" value="2025"' in html
    assert _value(_rows(html, "overview-row", "data-indicator")["population_total"]) == ("9人", "")
    time_machine.move_to(datetime(2026, 3, 1, 10, tzinfo=clock.zone()), tick=False)
    login()  # a new token: the first one has expired by March
    assert 'name="period" value="2026"' in client.get("/indicators").text


# --- comparison and trend ---------------------------------------------------------------------------
def test_compare_lists_the_townships_best_first_with_the_chart_data(client, w, login):
    login()
    res = client.get("/indicators/compare", params={"period": "2025", "indicator": "elderly_health_check_rate"})
    assert res.status_code == 200, res.text
    html = res.text
    rows = _rows(html, "compare-row", "data-code")
    assert list(rows) == [f.TOWN_A, f.TOWN_B]
    assert _value(rows[f.TOWN_A]) == ("100.00%", "green") and _value(rows[f.TOWN_B]) == ("0.00%", "red")
    own = re.search(r'data-testid="compare-own"[^>]*>(.*?)</tr>', html, re.S).group(1)
    assert _value(own) == ("66.67%", "green")
    chart = _chart(html, "compare-chart")
    assert [(p["name"], p["value"], p["status"]) for p in chart] == [("温泉镇", 100.0, "green"), ("南河镇", 0.0, "red")]
    assert chart[0]["href"] == f"/indicators/drill?indicator=elderly_health_check_rate&orgunit={f.TOWN_A}&period=2025"
    assert 'data-target="60.0"' in html and "/static/vendor/echarts.min.js" in html


def test_compare_puts_units_without_a_value_last(client, w, login):
    login()
    html = client.get("/indicators/compare", params={"period": "2025", "indicator": "primary_care_share"}).text
    rows = _rows(html, "compare-row", "data-code")
    assert list(rows) == [f.TOWN_A, f.TOWN_B]
    assert _value(rows[f.TOWN_B]) == ("—", "")
    assert [p["value"] for p in _chart(html, "compare-chart")] == [60.0, None]


def test_compare_puts_the_lowest_first_when_the_target_is_a_ceiling(monkeypatch):
    from decimal import Decimal

    from weijian.indicators import pages
    from weijian.indicators.service import IndicatorValue

    def value(code: str, v: str | None) -> IndicatorValue:
        return IndicatorValue("x", code, code, "township", "2025", 1, 1, None if v is None else Decimal(v), None, None)

    children = [value("A", "5"), value("B", None), value("C", "1.5"), value("D", "12")]
    monkeypatch.setattr(pages, "_compute", lambda session, actor, **kw: children if kw.get("level") else [])
    choice = pages.Choice(view="compare", period="2025", orgunit=f.COUNTY, indicator="x")
    meta = pages.Meta(id="x", name="x", category="care", unit="‰", decimals=1, target_text="≤ 3‰", target_value=3.0,
                      source="", has_denominator=True, lower_is_better=True)
    rows, _own = pages.compare_values(None, None, choice, "county", meta)
    assert [r.orgunit for r in rows] == ["C", "A", "D", "B"]
    meta.lower_is_better = False
    rows, _own = pages.compare_values(None, None, choice, "county", meta)
    assert [r.orgunit for r in rows] == ["D", "A", "C", "B"]


def test_compare_of_a_township_shows_its_villages(client, w, login):
    login()
    html = client.get("/indicators/compare", params={"period": "2025", "orgunit": f.TOWN_A,
                                                      "indicator": "primary_care_share"}).text
    rows = _rows(html, "compare-row", "data-code")
    assert list(rows) == [f.VILLAGE_A1, f.VILLAGE_A2]
    assert _value(rows[f.VILLAGE_A1]) == ("75.00%", "green") and _value(rows[f.VILLAGE_A2]) == ("0.00%", "red")


def test_trend_shows_each_month_of_the_period(client, w, login):
    login()
    res = client.get("/indicators/trend", params={"period": "2025", "indicator": "population_total"})
    assert res.status_code == 200, res.text
    rows = _rows(res.text, "trend-row", "data-period")
    assert list(rows) == [f"2025{m:02d}" for m in range(1, 13)]
    assert [_value(rows[m])[0] for m in ("202503", "202504", "202507", "202508", "202512")] == [
        "7人", "8人", "8人", "9人", "9人"]
    chart = _chart(res.text, "trend-chart")
    assert [p["name"] for p in chart][:2] == ["202501", "202502"] and chart[11]["value"] == 9.0
    assert 'href="/indicators/drill?indicator=population_total&amp;orgunit=421124000000&amp;period=202504"' in res.text


def test_trend_of_a_rate_that_needs_a_quarter_shows_the_quarters(client, w, login):
    login()
    res = client.get("/indicators/trend", params={"period": "2025", "indicator": "hypertension_management_rate"})
    assert res.status_code == 200, res.text
    assert list(_rows(res.text, "trend-row", "data-period")) == ["2025Q1", "2025Q2", "2025Q3", "2025Q4"]
    assert 'data-testid="trend-by-quarter"' in res.text
    monthly = client.get("/indicators/trend", params={"period": "2025", "indicator": "population_total"}).text
    assert 'data-testid="trend-by-quarter"' not in monthly


# --- village table ----------------------------------------------------------------------------------
def test_village_table_is_sorted_by_the_server_on_the_chosen_column(client, w, login):
    login()
    params = {"period": "2025", "indicators": ["elderly_health_check_rate", "population_total"]}
    res = client.get("/indicators/villages", params={**params, "sort": "population_total", "dir": "desc"})
    assert res.status_code == 200, res.text
    rows = _rows(res.text, "village-row", "data-code")
    assert list(rows) == [f.VILLAGE_A1, f.VILLAGE_B1, f.VILLAGE_A2]  # 4, 3, 2 residents
    assert _value(rows[f.VILLAGE_B1], "elderly_health_check_rate") == ("0.00%", "red")
    assert _value(rows[f.VILLAGE_A1], "elderly_health_check_rate") == ("100.00%", "green")
    assert "南河镇" in rows[f.VILLAGE_B1]  # the township column
    # The header links flip the order; the form keeps the choice.
    assert ('href="/indicators/villages?period=2025&amp;orgunit=421124000000&amp;indicators=elderly_health_check_rate'
            '&amp;indicators=population_total&amp;sort=population_total&amp;dir=asc"') in res.text
    assert 'value="population_total" checked' in res.text and 'value="population_0_6" >' in res.text
    asc = client.get("/indicators/villages", params={**params, "sort": "population_total", "dir": "asc"}).text
    assert list(_rows(asc, "village-row", "data-code")) == [f.VILLAGE_A2, f.VILLAGE_B1, f.VILLAGE_A1]
    by_rate = client.get("/indicators/villages", params={**params, "sort": "elderly_health_check_rate"}).text
    assert list(_rows(by_rate, "village-row", "data-code")) == [f.VILLAGE_A1, f.VILLAGE_A2, f.VILLAGE_B1]


def test_village_table_of_a_township_lists_only_its_villages(client, w, login):
    login()
    html = client.get("/indicators/villages", params={"period": "2025", "orgunit": f.TOWN_B,
                                                       "indicators": "population_total"}).text
    assert list(_rows(html, "village-row", "data-code")) == [f.VILLAGE_B1]


def test_village_table_without_a_choice_shows_indicators_with_targets(client, w, login):
    from weijian.indicators import pages, service

    login()
    html = client.get("/indicators/villages", params={"period": "2025"}).text
    targeted = [i.id for i in service.list_indicators() if i.target is not None][:pages.DEFAULT_VILLAGE_COLUMNS]
    row = _rows(html, "village-row", "data-code")[f.VILLAGE_A1]
    assert re.findall(r'data-testid="value" data-indicator="(\w+)"', row) == targeted


# --- print and Excel --------------------------------------------------------------------------------
def test_print_page_is_the_same_table_bare_on_a4_landscape(client, w, login):
    login()
    res = client.get("/indicators/print", params={"view": "villages", "period": "2025",
                                                   "indicators": "population_total", "sort": "population_total"})
    assert res.status_code == 200, res.text
    html = res.text
    assert 'data-testid="indicators-print-page"' in html and "mainnav" not in html
    # Styles and the print button's code are static files (the CSP allows nothing inline).
    assert '/static/css/indicators-print.css' in html and 'data-action="print"' in html
    assert "size: A4 landscape" in client.get("/static/css/indicators-print.css").text
    assert "window.print()" in client.get("/static/app.js").text
    assert list(_rows(html, "village-row", "data-code")) == [f.VILLAGE_A1, f.VILLAGE_B1, f.VILLAGE_A2]
    assert "/indicators/drill" not in html  # figures print as text
    overview = client.get("/indicators/print", params={"view": "overview", "period": "2025"}).text
    assert _value(_rows(overview, "overview-row", "data-indicator")["elderly_health_check_rate"]) == ("66.67%", "green")


def test_excel_download_holds_the_tables_figures(client, w, login):
    from openpyxl import load_workbook

    login()
    res = client.get("/indicators/export.xlsx", params={"view": "compare", "period": "2025",
                                                         "indicator": "elderly_health_check_rate"})
    assert res.status_code == 200, res.text
    assert res.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert 'filename="indicators-compare-421124000000-2025.xlsx"' in res.headers["content-disposition"]
    ws = load_workbook(BytesIO(res.content)).active
    values = [[c.value for c in row] for row in ws.iter_rows()]
    header = values[0]
    assert "分子" in header and "分母" in header and "单位代码" in header
    codes = [row[header.index("单位代码")] for row in values[1:]]
    assert codes == [f.COUNTY, f.TOWN_A, f.TOWN_B]  # the unit itself, then the table's order
    county = values[1]
    assert (county[header.index("分子")], county[header.index("分母")]) == (2, 3)


def test_excel_download_of_the_village_table_follows_its_order(client, w, login):
    from openpyxl import load_workbook

    login()
    res = client.get("/indicators/export.xlsx", params={"view": "villages", "period": "2025",
                                                         "indicators": "population_total", "sort": "population_total"})
    ws = load_workbook(BytesIO(res.content)).active
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    code = rows[0].index("单位代码")
    assert [r[code] for r in rows[1:]] == [f.VILLAGE_A1, f.VILLAGE_B1, f.VILLAGE_A2]


# --- drill-down -------------------------------------------------------------------------------------
def test_drill_down_lists_the_records_behind_the_numerator_with_masked_ids(client, w, login):
    login()
    res = client.get("/indicators/drill", params={"indicator": "population_65_plus", "orgunit": f.COUNTY,
                                                   "period": "2025"})
    assert res.status_code == 200, res.text
    html = res.text
    assert html.count('data-testid="drill-row"') == 3  # elder, turning, grandma
    for key in ("elder", "turning", "grandma"):
        number = w.residents[key].id_number
        assert number not in html
    masked = re.findall(r'data-testid="drill-id-number">([^<]*)<', html)
    assert len(masked) == 3 and all("*" in m for m in masked)
    assert "<th>身份证号</th>" in html and "共 3 条记录" in html
    assert "drill-pager" not in html  # one page


def test_drill_down_shows_the_detail_codes_in_words(client, w, login):
    login()
    html = client.get("/indicators/drill", params={"indicator": "elderly_health_check_rate", "orgunit": f.COUNTY,
                                                    "period": "2025"}).text
    cells = re.findall(r"<td[^>]*>([^<]*)</td></tr>", html)  # the last column of each row: 说明
    assert sorted(cells) == ["本期老年人年度体检 1 次", "本期老年人年度体检 2 次"]  # turning; the elder, checked twice


def test_drill_down_pages_through_the_records(client, w, login, monkeypatch):
    from weijian.indicators import pages

    monkeypatch.setattr(pages, "DRILL_PAGE_SIZE", 4)
    login()
    params = {"indicator": "population_total", "orgunit": f.COUNTY, "period": "2025"}
    first = client.get("/indicators/drill", params=params).text
    assert first.count('data-testid="drill-row"') == 4 and "第 1 / 3 页" in first
    assert 'href="/indicators/drill?indicator=population_total&amp;orgunit=421124000000&amp;period=2025&amp;list=counted&amp;page=2"' in first
    last = client.get("/indicators/drill", params={**params, "page": 3}).text
    assert last.count('data-testid="drill-row"') == 1 and "第 3 / 3 页" in last and "drill-next" not in last


# --- scope, errors, language ------------------------------------------------------------------------
def test_village_doctor_sees_own_village_and_cannot_choose_another(client, w, login):
    login("village_doctor", f.VILLAGE_A1)
    html = client.get("/indicators", params={"period": "2025"}).text
    assert 'href="/indicators"' in html  # nav, for clinicians too
    assert _value(_rows(html, "overview-row", "data-indicator")["population_total"]) == ("4人", "")
    assert f'value="{f.VILLAGE_B1}"' not in html  # not offered
    res = client.get("/indicators", params={"period": "2025", "orgunit": f.VILLAGE_B1})
    assert res.status_code == 422 and 'data-testid="error-orgunit"' in res.text
    assert "overview-row" not in res.text
    drill = client.get("/indicators/drill", params={"indicator": "population_total", "orgunit": f.VILLAGE_B1,
                                                     "period": "2025"})
    assert drill.status_code == 422 and w.residents["teen"].name not in drill.text
    # A village has nothing below it to compare.
    cmp = client.get("/indicators/compare", params={"period": "2025", "indicator": "population_total"})
    assert cmp.status_code == 200 and 'data-testid="no-children"' in cmp.text


def test_bad_choices_rerender_the_form_with_the_error_beside_the_field(client, w, login):
    login()
    res = client.get("/indicators", params={"period": "2025Q5"})
    assert res.status_code == 422
    assert 'data-testid="error-period"' in res.text and "2025Q5" in res.text and 'value="2025Q5"' in res.text
    res = client.get("/indicators/compare", params={"period": "2025", "indicator": "no_such_thing"})
    assert res.status_code == 422 and 'data-testid="error-indicator"' in res.text and "no_such_thing" in res.text
    res = client.get("/indicators/villages", params={"period": "2025", "indicators": ["population_total", "nope"]})
    assert res.status_code == 422 and 'data-testid="error-indicators"' in res.text
    res = client.get("/indicators/villages", params={"period": "2025", "orgunit": f.VILLAGE_A1})
    assert res.status_code == 422 and 'data-testid="error-orgunit"' in res.text
    res = client.get("/indicators", params={"period": "2025", "orgunit": "999999999999"})
    assert res.status_code == 422 and 'data-testid="error-orgunit"' in res.text
    assert client.get("/indicators/print", params={"view": "pie"}).status_code == 422
    assert client.get("/indicators/export.xlsx", params={"view": "overview", "period": "20x5"}).status_code == 422


def test_pages_need_a_log_in(client, w):
    res = client.get("/indicators", follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"].startswith("/login")


def test_english_labels_on_request(client, w, login):
    login()
    html = client.get("/indicators", params={"period": "2025", "lang": "en"}).text
    assert "Health indicators" in html and "Resident population" in html and "Export to Excel" in html
    assert "Health-check coverage of residents aged 65+" in html


def test_the_dashboard_warns_when_the_tallies_drift_or_are_not_checked(client, session, w, login):
    """Issue 15 item 15: drift between the tallies and the records shows on the dashboard (from the daily
    `weijian indicators tallies check`), and so does a check that stopped running (two days)."""
    from datetime import timedelta

    from weijian.core import clock
    from weijian.core import tallies as core_tallies

    login()
    first = core_tallies.record_check(session, problems=[], kind="check")
    assert 'data-testid="tally-health"' not in client.get("/indicators", params={"period": "2025"}).text
    drift = core_tallies.record_check(session, problems=["enc: enc:outpatient_all m202502 x: tallied 0, counted 1"])
    html = client.get("/indicators", params={"period": "2025"}).text
    assert 'data-testid="tally-health"' in html and "1 处与记录不一致" in html
    clean = core_tallies.record_check(session, problems=[])
    first.checked_at = drift.checked_at = clock.now() - timedelta(days=4)
    clean.checked_at = clock.now() - timedelta(days=3, hours=1)  # the daily job stopped three days ago
    session.flush()
    html = client.get("/indicators", params={"period": "2025"}).text
    assert "统计核对已 3 天未运行" in html
