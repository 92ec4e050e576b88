"""The drill-down equals the figure (issue 15 item 12, issue 19's drill-down points), on the hand-made
county of tests/indicators/world.py: each list names exactly what the figure counts — only the children
vaccinated in time for a timeliness rate, the beds in force in the period for capacity, each woman once
for prenatal screening — and a rate also lists who is missing (denominator minus numerator), with an
Excel download and a printed form of both lists. tests/indicators/test_drill_county.py holds every
indicator of the definitions file to its figure on a generated county."""
from __future__ import annotations

import json
import re
from datetime import date
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tests import factories as f
from tests.indicators import world
from tests.indicators.test_service import capacity_county  # noqa: F401 (a fixture)
from weijian.accounts.models import AuditEvent
from weijian.core import tallies as core_tallies
from weijian.core.actor import Actor
from weijian.core.errors import InvalidInput
from weijian.indicators import service

SYSTEM = Actor.system("test")


@pytest.fixture(params=["tallies", "records"])
def w(request, session, monkeypatch):
    """The world, its figures read from the running tallies or counted from the records: the lists must
    agree with both."""
    if request.param == "records":
        monkeypatch.setattr(core_tallies, "fresh", lambda session: set())
    return world.build(session)


def drill(session, indicator, which="counted", orgunit=None, period="2025", **kw):
    return service.drilldown(session=session, actor=SYSTEM, indicator_id=indicator, orgunit=orgunit, period=period,
                             which=which, page_size=200, **kw)


def figure(session, indicator, orgunit=None, period="2025"):
    rows = service.compute(session=session, actor=SYSTEM, indicator_ids=[indicator], period=period, orgunit=orgunit)
    return rows[0]


def ids(page) -> list[int]:
    return sorted(r["resident_id"] for r in page.rows)


def test_every_measure_says_what_one_row_of_its_list_is():
    """A rate lists who is missing only when numerator and denominator count the same thing: a new measure
    must say what it counts (indicators.records.COUNTS), and have a records listing."""
    from weijian.indicators import measures
    from weijian.indicators.records import COUNTS

    assert set(measures.MEASURES) <= set(COUNTS)
    assert all(m.records is not None for m in measures.MEASURES.values())
    lists = {i.id: service.drill_lists(i) for i in service.list_indicators() if i.denominator is not None}
    assert {i for i, got in lists.items() if "missing" not in got} == {
        "beds_per_1000", "physicians_per_1000", "prenatal_screening_rate",
        # women over live births (twins count twice): no "who is missing" list
        "early_booking_rate", "postpartum_visit_rate",
        # cases over the population: the residents who did not fall ill are no list
        "notifiable_incidence_ab", "notifiable_incidence",
        # patients over the population they are estimated from
        "mental_management_rate"}


# --- immunization: timeliness and coverage ---------------------------------------------------------
def test_timeliness_lists_only_the_children_vaccinated_in_time(session, w):
    """国家免疫规划疫苗儿童免疫程序及说明（2021年版）(国家卫生健康委员会, 2021), 程序表: 乙肝疫苗第1剂
    "出生时" — the 说明 asks it "在出生后24小时内" (transcribed here: given within 24 hours of birth is in
    time). The child (born 2020-03-01) had it on its birthday: in time; baby_a (born 2025-04-10) two days
    later: vaccinated, not in time; baby_b and the teen (followed until 18): not vaccinated. Today's
    drill-down lists every vaccinated child under the timeliness rate."""
    r = w.residents
    fig = figure(session, "timely_hepb1")
    assert (fig.numerator, fig.denominator) == (1, 4)
    counted = drill(session, "timely_hepb1")
    assert ids(counted) == [r["child"].id] and counted.total == fig.numerator
    assert counted.rows[0]["date"] == date(2020, 3, 1)
    missing = drill(session, "timely_hepb1", "missing")
    assert ids(missing) == sorted([r["baby_a"].id, r["baby_b"].id, r["teen"].id]) and missing.total == fig.denominator - fig.numerator


def test_coverage_lists_the_vaccinated_and_who_is_missing(session, w):
    """Same schedule (2021年版): every child past the dose's age counts in the denominator; vaccinated
    whenever the dose is recorded by the period's end."""
    r = w.residents
    fig = figure(session, "coverage_hepb1")
    assert (fig.numerator, fig.denominator) == (2, 4)
    assert ids(drill(session, "coverage_hepb1")) == sorted([r["child"].id, r["baby_a"].id])
    assert ids(drill(session, "coverage_hepb1", "missing")) == sorted([r["baby_b"].id, r["teen"].id])
    # MMR1 (before 12 months, 2021年版: 8月龄): the babies are not yet of age; the teen is missing.
    assert ids(drill(session, "coverage_mmr1")) == [r["child"].id]
    assert ids(drill(session, "coverage_mmr1", "missing")) == [r["teen"].id]


# --- capacity: the beds in force in the period ------------------------------------------------------
# capacity_county (tests/indicators/test_service.py): the township centre of TOWN_A had 40 open beds from
# 2024-06-30 and 60 from 2025-06-30; the county hospital 100 since 2024-01-01.


def test_capacity_lists_the_beds_in_force_on_the_periods_last_day(session, capacity_county):
    """indicators.yaml beds_per_1000 (实有床位 at the period's end, each facility's snapshot): for 2024 the
    township centre had 40 beds (60 only from mid-2025) — today's drill-down shows its current 60."""
    for period, beds in (("2024", {"温泉镇卫生院": 40, "英山县人民医院": 100}),
                         ("2025", {"温泉镇卫生院": 60, "英山县人民医院": 100})):
        page = drill(session, "beds_per_1000", period=period)
        assert {r["name"]: r["quantity"] for r in page.rows} == beds
        assert page.quantity == figure(session, "beds_per_1000", period=period).numerator == sum(beds.values())
    page = drill(session, "beds_per_1000", period="2024")
    assert "missing" not in page.lists  # beds and residents are not one kind: no "who is missing"
    with pytest.raises(InvalidInput) as err:
        drill(session, "beds_per_1000", "missing")
    assert err.value.errors[0].field == "list"


def test_a_facility_whose_history_begins_later_is_not_listed(session, capacity_county):
    page = drill(session, "physicians_per_1000", period="2023")
    assert page.total == 0 and figure(session, "physicians_per_1000", period="2023").numerator == 0


# --- people counted once ----------------------------------------------------------------------------
def test_prenatal_screening_lists_each_woman_once(session, w):
    """../shared/domain/indicators.md and public-health.md (MCH annual report): 产前筛查率 = women screened ÷
    women who delivered; the woman with two prenatal screenings is one woman — today she shows twice."""
    page = drill(session, "prenatal_screening_rate")
    assert ids(page) == [w.residents["woman"].id] and page.total == figure(session, "prenatal_screening_rate").numerator
    assert page.rows[0]["quantity"] == 2 and page.per == "person"
    assert page.lists == ("counted",)  # births are children, the numerator women: no "who is missing"


def test_elderly_checks_list_each_person_once_and_who_is_missing(session, w):
    """国家基本公共卫生服务规范（第三版）老年人健康管理 工作指标, as ../shared/domain/public-health.md transcribes
    it: people who received health management ÷ residents 65+ in the year — a person, not a check (the
    elder, checked twice, is one); the missing are the 65+ residents without an annual check (grandma had
    only a general one)."""
    r = w.residents
    counted = drill(session, "elderly_health_check_rate")
    assert ids(counted) == sorted([r["elder"].id, r["turning"].id])
    assert {row["resident_id"]: row["quantity"] for row in counted.rows} == {r["elder"].id: 2, r["turning"].id: 1}
    assert ids(drill(session, "elderly_health_check_rate", "missing")) == [r["grandma"].id]


def test_chronic_rates_list_the_patients_managed_and_those_not(session, w):
    """国家基本公共卫生服务规范（第三版）高血压患者健康管理 工作指标 (as ../shared/domain/clinical-norms.md
    transcribes it): 规范管理率 = 按照规范要求进行高血压患者健康管理的人数 ÷ 年内已管理的高血压患者人数; 控制率 =
    年内最近一次随访血压达标人数 ÷ 年内已管理的患者人数. The elder is managed; the adult (two follow-ups) and
    grandma (by phone) are not; the adult's latest visit is out of control."""
    r = w.residents
    assert ids(drill(session, "hypertension_management_rate")) == [r["elder"].id]
    assert ids(drill(session, "hypertension_management_rate", "missing")) == sorted([r["adult"].id, r["grandma"].id])
    assert ids(drill(session, "hypertension_control_rate", "missing")) == [r["adult"].id]


def test_care_rates_list_the_records_left_out(session, w):
    """County retention: the stay outside the county is the one missing; primary-care share: the visits
    at the county hospital."""
    missing = drill(session, "county_retention_rate", "missing")
    assert [(r["resident_id"], r["date"]) for r in missing.rows] == [(w.residents["grandma"].id, date(2025, 9, 9))]
    assert missing.rows[0]["facility"] == "武汉协和医院"
    visits = drill(session, "primary_care_share", "missing")
    assert sorted(r["date"] for r in visits.rows) == [date(2025, 3, 1), date(2025, 6, 1)]


def test_money_lists_add_up_to_the_figure(session, w):
    page = drill(session, "settlement_basic")
    assert page.total == 2 and page.summed and page.quantity == figure(session, "settlement_basic").numerator


def test_a_month_of_a_chronic_rate_has_no_figure_and_no_records(session, w):
    assert figure(session, "hypertension_management_rate", period="202503").numerator is None
    assert drill(session, "hypertension_management_rate", period="202503").total == 0


def test_the_missing_list_is_audited_like_the_counted_one(session, w):
    drill(session, "coverage_hepb1", "missing")
    event = session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "indicator_records")).one()
    assert (event.action, event.entity_id) == ("list", "coverage_hepb1")
    assert json.loads(event.detail)["list"] == "missing" and json.loads(event.detail)["total"] == 2


# --- the page ---------------------------------------------------------------------------------------
@pytest.fixture()
def login(client, session):
    def _as(role: str = "bureau_admin", unit: str = f.COUNTY) -> None:
        client.headers.update(f.token_headers(session, f.make_user(session, role, unit)))
    return _as


def _cells(html: str, testid: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(rf'data-testid="{testid}">(.*?)</td>', html, re.S)]


def test_the_page_says_in_words_names_the_facility_and_links_to_the_record(client, session, w, login):
    """issue 19: "说明" showed a bare "4", "机构" was blank and names did not link."""
    registration = f.make_chronic_patient(session, "hypertension", date(2024, 1, 1),
                                          follow_ups=[(d, 130, 80, None) for d in (date(2025, 2, 1), date(2025, 5, 1),
                                                                                   date(2025, 8, 1), date(2025, 11, 1))],
                                          village_code=f.VILLAGE_A2)
    registration.facility_id = w.facilities["clinic_a2"].id
    session.flush()
    login()
    html = client.get("/indicators/drill", params={"indicator": "hypertension_management_rate", "orgunit": f.COUNTY,
                                                    "period": "2025"}).text
    assert set(_cells(html, "drill-detail")) == {"本期面对面随访 4 次"}
    assert w.facilities["clinic_a2"].name in _cells(html, "drill-facility")  # the registration's clinic
    assert f'href="/residents/{registration.resident_id}"' in html
    assert 'data-testid="drill-list-missing"' in html and "未计入（2）" in html  # adult, grandma
    missing = client.get("/indicators/drill", params={"indicator": "hypertension_management_rate",
                                                       "orgunit": f.COUNTY, "period": "2025", "list": "missing"})
    assert missing.status_code == 200 and missing.text.count('data-testid="drill-row"') == 2
    assert "分母 4 − 分子 2 = 2" in missing.text


def test_the_page_names_vaccine_doses_and_whether_in_time(client, w, login):
    login()
    html = client.get("/indicators/drill", params={"indicator": "coverage_hepb1", "orgunit": f.COUNTY,
                                                    "period": "2025"}).text
    assert set(_cells(html, "drill-detail")) == {"乙肝疫苗第1剂 · 及时接种", "乙肝疫苗第1剂 · 已接种（未及时）"}


def test_an_unknown_list_rerenders_the_form_naming_the_field(client, w, login):
    login()
    res = client.get("/indicators/drill", params={"indicator": "population_total", "orgunit": f.COUNTY,
                                                   "period": "2025", "list": "missing"})
    assert res.status_code == 422 and 'data-testid="error-list"' in res.text and "明细“missing”无效" in res.text


def test_excel_holds_both_lists_with_headers_and_formulas_escaped(client, session, w, login):
    w.residents["baby_b"].name = "=HYPERLINK(\"http://x\")"
    session.flush()
    login()
    res = client.get("/indicators/drill/export.xlsx", params={"indicator": "coverage_hepb1", "orgunit": f.COUNTY,
                                                               "period": "2025"})
    assert res.status_code == 200 and res.headers["content-type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(BytesIO(res.content))
    assert wb.sheetnames == ["已计入", "未计入"]
    counted, missing = wb["已计入"], wb["未计入"]
    assert "乙肝疫苗第1剂接种率" in counted["A1"].value and f.COUNTY in counted["A1"].value
    assert [c.value for c in counted[3]][:3] == ["#", "姓名", "身份证号"]
    assert counted.max_row == 3 + 2 and missing.max_row == 3 + 2
    assert "'=HYPERLINK(\"http://x\")" in [row[1].value for row in missing.iter_rows(min_row=4)]  # never run
    assert all("*" in (row[2].value or "*") for row in counted.iter_rows(min_row=4))  # masked numbers
    event = session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "indicator_records",
                                                     AuditEvent.action == "export")).one()
    assert json.loads(event.detail)["lists"] == ["counted", "missing"]


def test_print_shows_both_lists_without_links(client, w, login):
    login()
    res = client.get("/indicators/drill/print", params={"indicator": "elderly_health_check_rate",
                                                         "orgunit": f.COUNTY, "period": "2025"})
    assert res.status_code == 200
    html = res.text
    assert 'data-testid="drill-print-counted"' in html and 'data-testid="drill-print-missing"' in html
    assert html.count('data-testid="drill-row"') == 3 and "/residents/" not in html
    assert w.residents["grandma"].id_number not in html


def test_print_cuts_a_long_list_and_says_so(client, w, login, monkeypatch):
    from weijian.indicators import pages

    monkeypatch.setattr(pages, "PRINT_MAX_ROWS", 2)
    login()
    html = client.get("/indicators/drill/print", params={"indicator": "population_total", "orgunit": f.COUNTY,
                                                          "period": "2025"}).text
    assert html.count('data-testid="drill-row"') == 2 and "仅打印前 2 条（共 9 条）" in html


def test_a_village_doctor_cannot_export_another_village(client, w, login):
    login("village_doctor", f.VILLAGE_A1)
    res = client.get("/indicators/drill/export.xlsx", params={"indicator": "population_total",
                                                               "orgunit": f.VILLAGE_B1, "period": "2025"})
    assert res.status_code == 422 and w.residents["teen"].name not in res.text


def test_the_api_lists_who_is_missing(client, session, w):
    client.headers.update(f.token_headers(session, f.make_user(session, "bureau_admin", f.COUNTY)))
    res = client.get("/api/v1/indicators/coverage_hepb1/records", params={"period": "2025", "list": "missing"})
    assert res.status_code == 200, res.text
    body = res.json()
    assert (body["list"], body["lists"], body["total"], body["per"]) == ("missing", ["counted", "missing"], 2, "person")
    assert sorted(r["resident_id"] for r in body["rows"]) == sorted([w.residents["baby_b"].id, w.residents["teen"].id])
    bad = client.get("/api/v1/indicators/population_total/records", params={"period": "2025", "list": "missing"})
    assert bad.status_code == 422 and "list" in bad.text
