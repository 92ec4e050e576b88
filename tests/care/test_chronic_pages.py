"""Chronic-care pages: the patients under management (scoped, with due/overdue status), the registration
and follow-up forms (errors beside the fields, input kept, nothing written), and the rates table."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests import factories as f
from weijian.care.models import ChronicRegistration, FollowUp
from weijian.core import clock

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture()
def county(session):
    return f.make_county(session)


@pytest.fixture()
def login(client, session, county):
    def _as(role: str = "village_doctor", unit: str = f.VILLAGE_A1) -> None:
        client.headers.update(f.token_headers(session, f.make_user(session, role, unit)))
    return _as


def csrf(client, url: str) -> str:
    res = client.get(url)
    assert res.status_code == 200, res.text
    return CSRF.search(res.text).group(1)


def test_list_shows_the_village_patients_with_their_status(client, session, login):
    today = clock.today()
    overdue = f.make_chronic_patient(session, registered_on=today - timedelta(days=200), name="王高压")
    f.make_chronic_patient(session, program="diabetes", registered_on=today, name="李糖")
    f.make_chronic_patient(session, registered_on=today, name="赵邻村", village_code=f.VILLAGE_A2)
    login()
    res = client.get("/care/chronic")
    assert res.status_code == 200
    html = res.text
    assert "慢病管理对象" in html and 'href="/care/chronic"' in html  # title and nav entry
    assert html.count('data-testid="chronic-row"') == 2 and "赵邻村" not in html
    assert "王高压" in html and "逾期" in html and "李糖" in html
    assert f'/care/chronic/registrations/{overdue.id}' in html
    # the overdue patient first
    assert html.index("王高压") < html.index("李糖")
    only = client.get("/care/chronic", params={"status": "overdue"}).text
    assert only.count('data-testid="chronic-row"') == 1


def test_township_doctor_sees_its_villages_and_county_doctor_picks_one(client, session, login):
    today = clock.today()
    f.make_chronic_patient(session, registered_on=today, name="甲村人")
    f.make_chronic_patient(session, registered_on=today, name="乙村人", village_code=f.VILLAGE_A2)
    f.make_chronic_patient(session, registered_on=today, name="丙镇人", village_code=f.VILLAGE_B1)
    login("township_doctor", f.TOWN_A)
    html = client.get("/care/chronic").text
    assert "甲村人" in html and "乙村人" in html and "丙镇人" not in html
    client.headers.clear()
    login("county_doctor", f.COUNTY)
    html = client.get("/care/chronic").text
    assert 'data-testid="choose-village"' in html and 'data-testid="chronic-row"' not in html
    html = client.get("/care/chronic", params={"village": f.VILLAGE_B1}).text
    assert "丙镇人" in html and "甲村人" not in html


def test_registration_form_registers_and_shows_the_patient(client, session, login):
    resident = f.make_resident(session, name="孙血压", birth_date=date(1970, 1, 1))
    login()
    token = csrf(client, f"/care/chronic/register?resident_id={resident.id}")
    res = client.post("/care/chronic/register", data={"csrf_token": token, "resident_id": str(resident.id),
                                                      "program": "hypertension", "registered_on": "2025-03-01"},
                      follow_redirects=False)
    assert res.status_code == 303
    page = client.get(res.headers["location"]).text
    assert "孙血压" in page and "高血压患者健康管理" in page and "2025-03-01" in page and "手工登记" in page


def test_registration_form_rerenders_with_errors_and_input_kept(client, session, login):
    login()
    token = csrf(client, "/care/chronic/register")
    res = client.post("/care/chronic/register", data={"csrf_token": token, "resident_id": "999999",
                                                      "program": "", "registered_on": "2099-01-01"})
    assert res.status_code == 422
    html = res.text
    assert 'data-testid="error-resident_id"' in html and "不存在或不在您的管辖范围内" in html
    assert 'data-testid="error-program"' in html and 'data-testid="error-registered_on"' in html
    assert 'value="999999"' in html
    assert session.scalar(select(func.count()).select_from(ChronicRegistration)) == 0


def test_follow_up_form_records_a_follow_up(client, session, login):
    reg = f.make_chronic_patient(session, registered_on=date(2025, 1, 10))
    login()
    url = f"/care/chronic/registrations/{reg.id}"
    token = csrf(client, url)
    res = client.post(f"{url}/follow-ups", data={"csrf_token": token, "date": "2025-04-01", "method": "clinic",
                                                 "sbp": "139", "dbp": "89", "fasting_glucose": "", "note": "规律服药"},
                      follow_redirects=False)
    assert res.status_code == 303
    html = client.get(url).text
    assert html.count('data-testid="follow-up-row"') == 1 and "139/89" in html and "达标" in html
    assert "规律服药" in html


def test_follow_up_form_classifies_a_complication_and_advises_referral(client, session, login):
    """此次随访分类 4 并发症: "出现新并发症或原有并发症加重的患者，建议转诊到上级医院，二周内主动随访转诊情况"
    (规范 第三版, 分类干预): the page shows the class, the advice and the visit 2 weeks on."""
    reg = f.make_chronic_patient(session, registered_on=date(2025, 1, 10))
    login()
    url = f"/care/chronic/registrations/{reg.id}"
    res = client.post(f"{url}/follow-ups", data={"csrf_token": csrf(client, url), "date": "2025-04-01",
                                                 "method": "clinic", "sbp": "132", "dbp": "84",
                                                 "complication": "true"}, follow_redirects=False)
    assert res.status_code == 303
    html = client.get(url).text
    assert "并发症" in html and 'data-testid="refer-advised"' in html and "2025-04-15" in html


def test_an_urgent_follow_up_is_flagged_and_offers_the_upward_referral(client, session, login):
    """紧急转诊 (规范 第三版: 收缩压≥180mmHg和（或）舒张压≥110mmHg … 须在处理后紧急转诊, 2周内主动随访转诊情况): the
    registration's page flags it with the reasons and links the referral form for the patient; the worklist shows
    the patient first, marked."""
    today = clock.today()
    reg = f.make_chronic_patient(session, registered_on=today - timedelta(days=30), name="紧急王")
    f.make_chronic_patient(session, registered_on=today - timedelta(days=200), name="逾期李")
    login()
    url = f"/care/chronic/registrations/{reg.id}"
    page = client.get(url).text
    assert 'data-testid="danger-signs"' in page and "喘憋不能平卧" in page
    res = client.post(f"{url}/follow-ups", data={"csrf_token": CSRF.search(page).group(1),
                                                 "date": today.isoformat(), "method": "clinic", "sbp": "182",
                                                 "dbp": "96", "danger_signs": "vomiting"}, follow_redirects=False)
    assert res.status_code == 303, res.text
    html = client.get(url).text
    assert 'data-testid="urgent-referral"' in html and "收缩压≥180mmHg" in html and "恶心呕吐" in html
    assert f'href="/care/referrals/new?resident_id={reg.resident_id}"' in html
    listing = client.get("/care/chronic").text
    rows = re.findall(r'data-testid="chronic-row"[^>]*>', listing)
    assert 'data-urgent="true"' in rows[0] and listing.index("紧急王") < listing.index("逾期李")


def test_the_follow_up_form_carries_the_national_record_form_and_says_it_saved(client, session, login):
    """高血压患者随访服务记录表 (规范 第三版): 症状 (9 coded), 体征, 生活方式指导, 服药依从性, 用药情况 (药物名称,
    每日×次, 每次 mg), 转诊, 下次随访日期 on the form; after saving, a message with the classification and the
    next visit; a refused form keeps every value typed, the drug rows too."""
    reg = f.make_chronic_patient(session, registered_on=date(2025, 1, 10))
    login()
    url = f"/care/chronic/registrations/{reg.id}"
    page = client.get(url).text
    for words in ("鼻衄出血不止", "下肢水肿", "日吸烟量", "日饮酒量", "摄盐情况", "心理调整", "遵医行为", "服药依从性",
                  "用药情况", "转诊原因", "转诊机构及科别", "下次随访日期", "心率", "体重"):
        assert words in page, words
    form = {"csrf_token": CSRF.search(page).group(1), "date": "2025-04-01", "method": "clinic", "sbp": "150",
            "dbp": "92", "symptoms": ["headache", "oedema"], "height_cm": "170", "weight_kg": "80",
            "heart_rate": "76", "salt": "heavy", "adherence": "regular", "med_name": ["氨氯地平", ""],
            "med_times": ["1", ""], "med_mg": ["5", ""], "next_visit_on": "2025-05-01"}
    refused = client.post(f"{url}/follow-ups", data=form)
    assert refused.status_code == 422
    assert 'data-testid="error-next_visit_on"' in refused.text and 'value="氨氯地平"' in refused.text
    assert 'value="oedema" checked' in refused.text
    form["next_visit_on"] = ""
    res = client.post(f"{url}/follow-ups", data={**form, "csrf_token": CSRF.search(refused.text).group(1)},
                      follow_redirects=False)
    assert res.status_code == 303, res.text
    done = client.get(res.headers["location"]).text
    assert 'data-testid="saved"' in done and "控制不满意" in done and "2025-04-15" in done
    assert "27.7" in done and "76" in done  # 体重/体质指数/心率 shown with the follow-up
    [saved] = session.scalars(select(FollowUp)).all()
    assert (saved.heart_rate, str(saved.bmi)) == (76, "27.7") and "氨氯地平" in saved.record


def test_follow_up_in_the_future_rerenders_the_form_naming_the_date(client, session, login):
    reg = f.make_chronic_patient(session, registered_on=date(2025, 1, 10))
    login()
    url = f"/care/chronic/registrations/{reg.id}"
    token = csrf(client, url)
    future = (clock.today() + timedelta(days=3)).isoformat()
    res = client.post(f"{url}/follow-ups", data={"csrf_token": token, "date": future, "method": "clinic",
                                                 "sbp": "", "dbp": "85", "fasting_glucose": "", "note": ""})
    assert res.status_code == 422
    html = res.text
    assert 'data-testid="error-date"' in html and "日期不能晚于今天" in html
    assert 'data-testid="error-sbp"' in html and "高血压随访必须填写此项" in html
    assert f'value="{future}"' in html and 'value="85"' in html  # the input is kept
    assert session.scalar(select(func.count()).select_from(FollowUp)) == 0


def test_close_form_ends_management(client, session, login):
    reg = f.make_chronic_patient(session, registered_on=date(2025, 1, 10))
    login()
    url = f"/care/chronic/registrations/{reg.id}"
    token = csrf(client, url)
    bad = client.post(f"{url}/close", data={"csrf_token": token, "closed_on": "2024-12-01", "reason": ""})
    assert bad.status_code == 422 and 'data-testid="error-reason"' in bad.text
    assert 'data-testid="error-closed_on"' in bad.text
    ok = client.post(f"{url}/close", data={"csrf_token": token, "closed_on": "2025-06-01", "reason": "died"},
                     follow_redirects=False)
    assert ok.status_code == 303
    html = client.get(url).text
    assert "已于 2025-06-01 结案" in html and 'data-testid="follow-up-form"' not in html


def test_forms_refuse_a_post_without_the_csrf_token(client, session, login):
    reg = f.make_chronic_patient(session, registered_on=date(2025, 1, 10))
    login()
    res = client.post(f"/care/chronic/registrations/{reg.id}/follow-ups",
                      data={"date": "2025-04-01", "sbp": "130", "dbp": "80"})
    assert res.status_code == 403


def test_rates_page_shows_the_health_management_rate_and_how_each_period_is_counted(client, session, login):
    """健康管理率 = 已管理 ÷ 估算患者数 (常住成年人口 × 患病率 27.5 %, 中国居民营养与慢性病状况报告2020年); the
    page says how the estimate is made and why a quarter's 规范管理率 differs from the year's (issue 14, item 5)."""
    for _ in range(4):
        f.make_chronic_patient(session, registered_on=date(2024, 1, 1))  # 4 adults, all patients
    login("bureau_admin", f.COUNTY)
    html = client.get("/care/chronic/rates", params={"program": "hypertension", "period": "2025"}).text
    assert "健康管理率" in html and "27.5%" in html and 'data-testid="period-note"' in html
    county_row = html[html.index(f'data-code="{f.COUNTY}"'):html.index(f'data-code="{f.TOWN_A}"')]
    # 4 × 27.5 % = 1.1 → 1 estimated; 4 under management ÷ 1
    assert '<td class="num" data-testid="estimated">1</td>' in county_row
    assert "400.0%" in county_row


def test_rates_table_per_county_township_and_village(client, session, login):
    quarterly = [date(2025, 2, 1), date(2025, 5, 1), date(2025, 8, 1), date(2025, 11, 1)]
    f.make_chronic_patient(session, registered_on=date(2024, 1, 1), follow_ups=[(d, 130, 80, None) for d in quarterly])
    f.make_chronic_patient(session, registered_on=date(2024, 1, 1), follow_ups=[(date(2025, 3, 1), 150, 95, None)])
    f.make_chronic_patient(session, registered_on=date(2024, 1, 1), village_code=f.VILLAGE_B1,
                           follow_ups=[(d, 145, 85, None) for d in quarterly])
    login("bureau_admin", f.COUNTY)
    res = client.get("/care/chronic/rates", params={"program": "hypertension", "period": "2025"})
    assert res.status_code == 200
    html = res.text
    assert "慢病规范管理率与控制率" in html and "规范管理率" in html and "控制率" in html
    assert html.count('data-testid="rate-row"') == 6  # county, 2 townships, 3 villages
    county_row = html[html.index(f'data-code="{f.COUNTY}"'):html.index(f'data-code="{f.TOWN_A}"')]
    assert "66.7%" in county_row and "33.3%" in county_row  # 2 of 3 managed, 1 of 3 in control
    town_a = html[html.index(f'data-code="{f.TOWN_A}"'):html.index(f'data-code="{f.VILLAGE_A1}"')]
    assert "50.0%" in town_a
    assert 'href="/care/chronic/rates"' in html  # the bureau's nav entry


def test_rates_page_refuses_a_month_beside_the_period(client, session, login):
    login("bureau_admin", f.COUNTY)
    res = client.get("/care/chronic/rates", params={"program": "diabetes", "period": "202503"})
    assert res.status_code == 422 and 'data-testid="error-period"' in res.text and "按年或季度统计" in res.text


def test_english_labels(client, session, login):
    login()
    html = client.get("/care/chronic", params={"lang": "en"}).text
    assert "Patients under chronic-disease management" in html


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_every_label_is_translated(client, session, login, lang):
    reg = f.make_chronic_patient(session, registered_on=date(2025, 1, 10),
                                 follow_ups=[(date(2025, 4, 1), 150, 95, None, "phone")])
    login()
    for url in ("/care/chronic", f"/care/chronic/registrations/{reg.id}", "/care/chronic/register",
                f"/care/chronic/rates?period=2025&orgunit={f.VILLAGE_A1}"):
        res = client.get(url, params={"lang": lang})
        html = res.text
        assert res.status_code == 200, url
        assert "care.chronic." not in html and "fields." not in html, url


@pytest.mark.parametrize("resident_id", ["²", "9" * 25, "9" * 5000])
def test_registration_form_names_a_resident_number_that_is_no_id(client, session, login, resident_id):
    # Found by the API fuzzer (tests/security): "²" passes str.isdigit() but not int(); ids past 64 bits
    # reached the database: both 500s.
    login()
    token = csrf(client, "/care/chronic/register")
    res = client.post("/care/chronic/register", data={"csrf_token": token, "resident_id": resident_id,
                                                      "program": "hypertension", "registered_on": "2025-01-01"})
    assert res.status_code == 422 and 'data-testid="error-resident_id"' in res.text
    assert session.scalar(select(func.count()).select_from(ChronicRegistration)) == 0
