"""Health-record pages: the section on the resident's record page, the forms (errors beside the fields,
input kept, nothing written), the discharge form, the timeline (whole page and htmx partial), the ICD-10
picker's choices, and (issue 14 item 12) correcting and voiding an entry from the record page, each with a
required reason, by the facility that recorded it; a voided row struck through with the reason, who and when,
a corrected row with its correction."""
from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest

from tests import factories as f
from tests.care import records_setup as rs
from weijian.care.models import Encounter
from weijian.care.records import service as records
from weijian.core import clock

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
def county_today() -> date:
    """The county's today, read when a test asks for it: a module-level day read at import went stale when the
    suite ran across the county's midnight."""
    return clock.today()
def visit_day() -> str:
    return (county_today() - timedelta(days=3)).isoformat()


@pytest.fixture()
def w(session):
    return rs.build(session)


@pytest.fixture()
def login(client, session, w):
    def _as(who: str = "village") -> None:
        client.headers.update(f.token_headers(session, w.users[who]))
    return _as


def csrf(client, url: str) -> str:
    res = client.get(url)
    assert res.status_code == 200, res.text
    return CSRF.search(res.text).group(1)


def test_the_record_page_has_the_health_record_section(client, w, login):
    login()
    rid = w.people["woman"].id
    html = client.get(f"/residents/{rid}").text
    assert 'data-testid="health-record"' in html and "健康记录" in html
    assert f'hx-get="/residents/{rid}/timeline"' in html and f'href="/residents/{rid}/timeline"' in html
    for href in (f"/residents/{rid}/encounters/new?type=outpatient", f"/residents/{rid}/encounters/new?type=inpatient",
                 f"/residents/{rid}/encounters/new?type=day_surgery", f"/residents/{rid}/health-checks/new",
                 f"/residents/{rid}/screenings/new"):
        assert f'href="{href}"' in html
    man = client.get(f"/residents/{w.people['man'].id}").text
    assert "登记门诊" in man and "/screenings/new" not in man  # screenings are for women


def test_a_user_without_care_read_sees_no_health_record(client, w, login):
    login("bureau")
    html = client.get(f"/residents/{w.people['woman'].id}").text
    assert "刘小花" in html and 'data-testid="health-record"' not in html


def test_a_visit_is_recorded_through_the_form(client, session, w, login):
    login()
    rid = w.people["man"].id
    page = client.get(f"/residents/{rid}/encounters/new", params={"type": "outpatient"})
    assert page.status_code == 200
    assert "王大山 · 登记门诊" in page.text and "东冲村卫生室" in page.text and 'hx-get="/care/icd10/options"' in page.text
    token = CSRF.search(page.text).group(1)
    res = client.post(f"/residents/{rid}/encounters/new", follow_redirects=False, data={
        "csrf_token": token, "type": "outpatient", "start_date": visit_day(), "diagnoses": ["", "I10", ""],
        "department": "全科", "total_cost": "20", "in_policy_cost": "15", "note": "血压偏高"})
    assert res.status_code == 303, res.text
    encounter_id = int(res.headers["location"].rsplit("/", 1)[1])
    html = client.get(res.headers["location"]).text
    assert "I10" in html and "原发性高血压" in html and "血压偏高" in html and "东冲村卫生室" in html
    [e] = records.list_encounters(session=session, resident_id=rid, actor=w.actors["village"])
    assert (e.id, e.primary_diagnosis, str(e.total_cost)) == (encounter_id, "I10", "20.00")


def test_a_refused_form_shows_the_errors_beside_the_fields_and_keeps_the_input(client, session, w, login):
    login()
    rid = w.people["man"].id
    token = csrf(client, f"/residents/{rid}/encounters/new")
    before = rs.writes(session)
    future = (county_today() + timedelta(days=2)).isoformat()
    res = client.post(f"/residents/{rid}/encounters/new", data={
        "csrf_token": token, "type": "outpatient", "start_date": future, "diagnoses": ["J06.9", "", "QQ1"],
        "department": "内科", "total_cost": "50", "in_policy_cost": "60"})
    assert res.status_code == 422
    html = res.text
    assert 'data-testid="form-errors"' in html
    assert 'data-testid="error-start_date"' in html and "不能晚于今天" in html
    # The blank input was dropped: the unknown code is the second diagnosis now, its error beside it.
    assert 'data-testid="error-diagnoses[1]"' in html and "诊断编码“QQ1”不在 ICD-10 编码表中" in html
    assert 'data-testid="error-in_policy_cost"' in html
    assert f'value="{future}"' in html and 'value="QQ1"' in html and 'value="内科"' in html
    assert 'value="J06.9"' in html and "急性上呼吸道感染" in html
    assert rs.writes(session) == before


def test_a_resident_outside_the_scope_has_no_form(client, w, login):
    login()
    assert client.get(f"/residents/{w.people['other_town'].id}/encounters/new").status_code == 404


def test_a_stay_is_discharged_through_the_form(client, session, w, login):
    login("township")
    rid = w.people["man"].id
    admitted = county_today() - timedelta(days=4)
    token = csrf(client, f"/residents/{rid}/encounters/new?type=inpatient")
    res = client.post(f"/residents/{rid}/encounters/new", follow_redirects=False, data={
        "csrf_token": token, "type": "inpatient", "start_date": admitted.isoformat(), "diagnoses": ["J18.9"]})
    assert res.status_code == 303, res.text
    url = res.headers["location"]
    page = client.get(url).text
    assert "在院" in page and f'href="{url}/discharge"' in page
    form = client.get(f"{url}/discharge")
    assert form.status_code == 200 and "办理出院" in form.text
    token = CSRF.search(form.text).group(1)
    before = rs.writes(session)
    bad = (admitted - timedelta(days=1)).isoformat()
    res = client.post(f"{url}/discharge", data={"csrf_token": token, "end_date": bad, "total_cost": "1200"})
    assert res.status_code == 422
    assert 'data-testid="error-end_date"' in res.text and "出院日期不能早于入院日期" in res.text
    assert f'value="{bad}"' in res.text and 'value="1200"' in res.text
    assert rs.writes(session) == before
    res = client.post(f"{url}/discharge", follow_redirects=False,
                      data={"csrf_token": token, "end_date": county_today().isoformat(), "total_cost": "1200"})
    assert res.status_code == 303
    page = client.get(url).text
    assert county_today().isoformat() in page and "住院 4 天" in page and "/discharge" not in page


def test_a_health_check_form_keeps_the_input_on_error(client, session, w, login):
    login()
    rid = w.people["man"].id
    page = client.get(f"/residents/{rid}/health-checks/new")
    assert page.status_code == 200 and "登记健康体检" in page.text
    token = CSRF.search(page.text).group(1)
    before = rs.writes(session)
    res = client.post(f"/residents/{rid}/health-checks/new", data={
        "csrf_token": token, "date": visit_day(), "kind": "annual_65", "height_cm": "172", "weight_kg": "80", "sbp": "135"})
    assert res.status_code == 422
    assert 'data-testid="error-kind"' in res.text and "65 岁及以上" in res.text
    assert 'data-testid="error-dbp"' in res.text and 'value="172"' in res.text
    assert rs.writes(session) == before
    res = client.post(f"/residents/{rid}/health-checks/new", follow_redirects=False, data={
        "csrf_token": token, "date": visit_day(), "kind": "general", "height_cm": "172", "weight_kg": "80", "sbp": "135",
        "dbp": "85"})
    assert res.status_code == 303 and res.headers["location"] == f"/residents/{rid}/timeline"
    assert "BMI 27.0" in client.get(res.headers["location"]).text  # 80 / 1.72² = 27.04…


def test_a_screening_form_refuses_a_man(client, session, w, login):
    login()
    rid = w.people["man"].id
    token = csrf(client, f"/residents/{rid}/screenings/new")
    res = client.post(f"/residents/{rid}/screenings/new",
                      data={"csrf_token": token, "date": visit_day(), "kind": "cervical", "result": "negative"})
    assert res.status_code == 422 and "只适用于女性" in res.text
    woman = w.people["woman"].id
    res = client.post(f"/residents/{woman}/screenings/new", follow_redirects=False,
                      data={"csrf_token": token, "date": visit_day(), "kind": "cervical", "result": "negative"})
    assert res.status_code == 303


def test_the_timeline_page_and_its_htmx_partial(client, session, w, login):
    login()
    rid = w.people["woman"].id
    for n, diagnosis in ((20, "J06.9"), (5, "K29.7")):
        rs.create_encounter(session=session, actor=w.actors["village"], values={
            "resident_id": rid, "type": "outpatient", "start_date": (county_today() - timedelta(days=n)).isoformat(),
            "diagnoses": [diagnosis]})
    rs.create_health_check(session=session, actor=w.actors["village"], values={
        "resident_id": rid, "date": (county_today() - timedelta(days=10)).isoformat(), "weight_kg": "52"})
    full = client.get(f"/residents/{rid}/timeline")
    assert full.status_code == 200 and "<html" in full.text and "刘小花" in full.text
    rows = re.findall(r'data-testid="timeline-row" data-kind="([a-z_]+)"', full.text)
    assert rows == ["outpatient", "health_check", "outpatient"]
    part = client.get(f"/residents/{rid}/timeline", params={"type": "outpatient"}, headers={"HX-Request": "true"})
    assert "<html" not in part.text
    assert re.findall(r'data-testid="timeline-row" data-kind="([a-z_]+)"', part.text) == ["outpatient", "outpatient"]
    assert 'hx-target="#timeline"' in part.text and '<option value="outpatient" selected>' in part.text
    facility = client.get(f"/residents/{rid}/timeline", params={"facility": w.facilities["centre_a"].id},
                          headers={"HX-Request": "true"})
    assert 'data-testid="timeline-empty"' in facility.text
    assert client.get(f"/residents/{w.people['other_town'].id}/timeline").status_code == 404


def test_the_icd10_picker_offers_codes_by_pinyin_initials(client, w, login):
    login()
    res = client.get("/care/icd10/options", params={"diagnoses": "gxy"}, headers={"HX-Request": "true"})
    assert res.status_code == 200 and "<html" not in res.text
    assert 'data-code="I10"' in res.text and "原发性高血压" in res.text
    none = client.get("/care/icd10/options", params={"q": "qqqqq"}).text
    assert 'data-testid="icd-no-match"' in none


def test_a_county_doctor_records_a_stay_outside_the_county_in_english(client, session, w, login):
    login("county")
    rid = w.people["other_town"].id
    page = client.get(f"/residents/{rid}/encounters/new", params={"type": "inpatient", "lang": "en"})
    assert page.status_code == 200
    assert "Record an admission" in page.text and 'data-testid="facility-select"' in page.text
    assert '<option value="outside"' in page.text and "南河镇卫生院" in page.text
    token = CSRF.search(page.text).group(1)
    start, end = (county_today() - timedelta(days=9)).isoformat(), (county_today() - timedelta(days=2)).isoformat()
    res = client.post(f"/residents/{rid}/encounters/new", follow_redirects=False, data={
        "csrf_token": token, "type": "inpatient", "facility_id": "outside", "outside_facility_name": "武汉协和医院",
        "start_date": start, "end_date": end, "diagnoses": ["I21.9"]})
    assert res.status_code == 303, res.text
    html = client.get(res.headers["location"]).text
    assert "武汉协和医院" in html and "Facility outside the county" in html and "7 ward days" in html


def test_a_timeline_facility_filter_that_is_no_id_shows_every_facility(client, w, login):
    # Found by the API fuzzer (tests/security): "²" (int() refuses it) and ids past 64 bits were 500s.
    login()
    for value in ("²", "9" * 25, "9" * 5000):
        res = client.get(f"/residents/{w.people['man'].id}/timeline", params={"facility": value})
        assert res.status_code == 200, value


def test_costs_ids_and_measures_past_any_real_value_are_refused_beside_the_field(client, session, w, login):
    # Found by the API fuzzer (tests/security): quantize() of 1e25 yuan raised InvalidOperation and a facility id
    # past 64 bits reached the database, both 500s; a height of 1e30 cm the same.
    login()
    rid = w.people["man"].id
    before = rs.writes(session)
    token = csrf(client, f"/residents/{rid}/encounters/new")
    res = client.post(f"/residents/{rid}/encounters/new", data={
        "csrf_token": token, "type": "outpatient", "start_date": visit_day(), "diagnoses": ["I10"],
        "total_cost": "9" * 25, "in_policy_cost": "1", "facility_id": "9" * 25})
    assert res.status_code == 422
    assert 'data-testid="error-total_cost"' in res.text and 'data-testid="error-facility_id"' in res.text
    res = client.post(f"/residents/{rid}/health-checks/new", data={
        "csrf_token": token, "date": visit_day(), "kind": "general", "height_cm": "1e30", "sbp": "135", "dbp": "85"})
    assert res.status_code == 422 and 'data-testid="error-height_cm"' in res.text
    assert rs.writes(session) == before


def test_a_village_doctor_records_a_walk_in_through_the_form_and_a_refusal_keeps_the_input(client, session, w,
                                                                                          login):
    """Issue 14 item 14 (walk-ins) and item 12 (a village clinic without beds admits no one), on the page."""
    login()
    neighbour = f.make_resident(session, name="钱西河", sex="male", birth_date=date(1975, 2, 2),
                                village_code=f.VILLAGE_A2)
    url = f"/residents/{neighbour.id}/encounters/new"
    token = csrf(client, url)
    res = client.post(url, follow_redirects=False, data={
        "csrf_token": token, "type": "outpatient", "start_date": visit_day(), "diagnoses": ["O80.0"], "note": "邻村来诊"})
    assert res.status_code == 422 and "O80.0" in res.text and "邻村来诊" in res.text and "女性" in res.text
    res = client.post(url, follow_redirects=False, data={
        "csrf_token": token, "type": "outpatient", "start_date": visit_day(), "diagnoses": ["J06.9"]})
    assert res.status_code == 303, res.text
    assert client.get(res.headers["location"]).status_code == 200  # the doctor reads what they recorded (walk_in)
    own = w.people["man"].id
    res = client.post(f"/residents/{own}/encounters/new", follow_redirects=False, data={
        "csrf_token": token, "type": "inpatient", "start_date": visit_day(), "diagnoses": ["J18.9"]})
    assert res.status_code == 422 and "东冲村卫生室" in res.text and "住院" in res.text


def test_a_visit_is_voided_through_the_form_with_a_reason_and_stays_marked(client, session, w, login):
    """Issue 14 item 12: an entry can be voided with a reason; a refusal keeps the form (here: no reason)."""
    login()
    visit = rs.record(session, w)
    url = f"/care/encounters/{visit.id}/void"
    assert f'href="{url}"' in client.get(f"/care/encounters/{visit.id}").text
    token = csrf(client, url)
    before = rs.writes(session)
    res = client.post(url, follow_redirects=False, data={"csrf_token": token, "reason": "   "})
    assert res.status_code == 422 and 'data-testid="void-form"' in res.text and rs.writes(session) == before
    res = client.post(url, follow_redirects=False, data={"csrf_token": token, "reason": "患者未到诊，误登记"})
    assert res.status_code == 303, res.text
    html = client.get(res.headers["location"]).text
    assert 'data-testid="voided"' in html and "患者未到诊，误登记" in html and f'href="{url}"' not in html


# --- issue 14 item 12: correct and void from the record page --------------------------------------
def timeline_rows(client, resident_id: int) -> list[str]:
    html = client.get(f"/residents/{resident_id}/timeline", headers={"HX-Request": "true"}).text
    return re.findall(r'<tr data-testid="timeline-row".*?</tr>', html, re.S)


# --- (1) encounters ---------------------------------------------------------------------------------
def test_the_record_offers_correct_and_void_only_on_the_rows_the_actor_may_change(client, session, w, login):
    """The rule of recording: only the facility that recorded an entry changes it (a county-level user, any
    of their scope)."""
    mine = rs.record(session, w)  # the village clinic's visit
    theirs = rs.record(session, w, actor="township", start_date="2025-06-02")
    login()
    rows = timeline_rows(client, w.people["man"].id)
    assert len(rows) == 2
    own = next(r for r in rows if f"/care/encounters/{mine.id}\"" in r)
    other = next(r for r in rows if f"/care/encounters/{theirs.id}\"" in r)
    assert f'href="/care/encounters/{mine.id}/correct"' in own and f'href="/care/encounters/{mine.id}/void"' in own
    assert "/correct" not in other and "/void" not in other
    page = client.get(f"/care/encounters/{theirs.id}").text
    assert 'data-testid="void-link"' not in page and 'data-testid="correct-link"' not in page


def test_an_encounter_is_corrected_through_its_form_and_shows_the_correction(client, session, w, login):
    login()
    visit = rs.record(session, w, diagnoses=["J06.9"])
    url = f"/care/encounters/{visit.id}/correct"
    form = client.get(url)
    assert form.status_code == 200 and 'value="J06.9"' in form.text and 'value="2025-06-01"' in form.text
    token = CSRF.search(form.text).group(1)
    res = client.post(url, follow_redirects=False, data={
        "csrf_token": token, "start_date": "2025-06-01", "diagnoses": ["J20.9", "", ""], "department": "全科",
        "total_cost": "35.50", "in_policy_cost": "30.00", "reason": "诊断录入错误"})
    assert res.status_code == 303, res.text
    assert res.headers["location"] == f"/care/encounters/{visit.id}?done=corrected"
    html = client.get(res.headers["location"]).text
    assert 'data-testid="done"' in html and "记录已更正" in html
    assert 'data-testid="corrected"' in html and "诊断录入错误" in html and w.users["village"].username in html
    assert "J20.9" in html
    session.expire_all()
    fixed = session.get(Encounter, visit.id)
    assert fixed.primary_diagnosis == "J20.9" and fixed.department == "全科"
    event = rs.audit_events(session, w.people["man"].id, action="correct")[-1]
    assert json.loads(event.detail)["before"]["diagnoses"] == ["J06.9"]
    [row] = timeline_rows(client, w.people["man"].id)
    assert 'data-testid="correction-note"' in row and "已更正：诊断录入错误" in row


def test_a_refused_correction_names_each_field_in_chinese_and_keeps_the_input(client, session, w, login):
    login()
    visit = rs.record(session, w, diagnoses=["J06.9"])
    url = f"/care/encounters/{visit.id}/correct"
    token = csrf(client, url)
    before = rs.writes(session)
    res = client.post(url, data={"csrf_token": token, "start_date": "2025-06-01", "diagnoses": ["O80.0"],
                                 "total_cost": "35.50", "in_policy_cost": "30.00", "reason": ""})
    assert res.status_code == 422
    html = res.text
    assert 'data-testid="error-reason"' in html
    assert 'data-testid="error-diagnoses[0]"' in html and "诊断“O80.0”只适用于女性患者" in html
    assert 'value="O80.0"' in html
    assert rs.writes(session) == before
    # a correction that changes nothing is said above the form, the input kept
    res = client.post(url, data={"csrf_token": token, "start_date": "2025-06-01", "diagnoses": ["J06.9"],
                                 "total_cost": "35.50", "in_policy_cost": "30.00", "reason": "核对"})
    assert res.status_code == 409 and 'data-testid="form-state"' in res.text and "更正没有改变任何内容" in res.text
    assert 'value="核对"' in res.text and rs.writes(session) == before


def test_a_voided_visit_is_struck_through_on_the_record_with_the_reason_who_and_when(client, session, w, login):
    login()
    visit = rs.record(session, w)
    url = f"/care/encounters/{visit.id}/void"
    token = csrf(client, url)
    res = client.post(url, follow_redirects=False, data={"csrf_token": token, "reason": "患者未到诊，误登记"})
    assert res.status_code == 303 and res.headers["location"] == f"/care/encounters/{visit.id}?done=voided"
    page = client.get(res.headers["location"]).text
    assert "记录已作废" in page and 'data-testid="void-link"' not in page
    [row] = timeline_rows(client, w.people["man"].id)
    assert 'data-voided="1"' in row and "<s>" in row
    note = re.search(r'data-testid="void-note">([^<]+)<', row).group(1)
    session.expire_all()
    voided_at = session.get(Encounter, visit.id).voided_at
    assert note == f"已作废：患者未到诊，误登记（{w.users['village'].username}，{clock.format_local(voided_at)}）"
    assert "/void" not in row and "/correct" not in row  # a voided entry is not changed again


def test_another_facility_cannot_void_or_correct_through_the_pages(client, session, w, login):
    visit = rs.record(session, w)
    login("township")
    before = rs.writes(session)
    for action, data in (("void", {"reason": "x"}), ("correct", {"reason": "x", "department": "内科"})):
        url = f"/care/encounters/{visit.id}/{action}"
        res = client.post(url, data={"csrf_token": csrf(client, url), **data})
        assert res.status_code == 422 and "只能登记本机构的诊疗记录" in res.text, action
    assert rs.writes(session) == before


def test_a_screening_and_a_health_check_are_corrected_and_voided_from_the_record(client, session, w, login):
    """Checks and screenings the same way: buttons on their rows, the recording form prefilled with the
    reason, a refusal named in Chinese beside its field with the input kept, the record's success message."""
    rid = w.people["woman"].id
    s = rs.create_screening(session=session, actor=w.actors["township"], today=rs.TODAY, values={
        "resident_id": rid, "date": "2025-06-01", "kind": "cervical", "result": "negative"})
    h = rs.create_health_check(session=session, actor=w.actors["township"], today=rs.TODAY, values={
        "resident_id": rid, "date": "2025-06-02", "kind": "general", "sbp": 128, "dbp": 82})
    login("township")
    rows = timeline_rows(client, rid)
    for path, entry in (("screenings", s), ("health-checks", h)):
        assert any(f'href="/care/{path}/{entry.id}/correct"' in r and f'href="/care/{path}/{entry.id}/void"' in r
                   for r in rows), path
    url = f"/care/screenings/{s.id}/correct"
    form = client.get(url)
    assert form.status_code == 200 and "更正记录 · 筛查" in form.text and 'data-testid="own-facility"' not in form.text
    token = CSRF.search(form.text).group(1)
    before = rs.writes(session)
    res = client.post(url, data={"csrf_token": token, "date": "2025-06-01", "kind": "cervical",
                                 "result": "low_risk", "reason": "结果录错"})
    assert res.status_code == 422
    assert 'data-testid="error-result"' in res.text and "筛查结果“low_risk”不适用于宫颈癌筛查" in res.text
    assert 'value="结果录错"' in res.text and rs.writes(session) == before
    res = client.post(url, follow_redirects=False, data={"csrf_token": token, "date": "2025-06-01",
                                                         "kind": "cervical", "result": "abnormal", "reason": "结果录错"})
    assert res.status_code == 303 and res.headers["location"] == f"/residents/{rid}/timeline?done=corrected"
    assert "记录已更正" in client.get(res.headers["location"]).text
    url = f"/care/health-checks/{h.id}/void"
    res = client.post(url, follow_redirects=False, data={"csrf_token": csrf(client, url), "reason": "重复录入"})
    assert res.status_code == 303 and res.headers["location"] == f"/residents/{rid}/timeline?done=voided"
    rows = timeline_rows(client, rid)
    [voided] = [r for r in rows if 'data-kind="health_check"' in r]
    assert "<s>" in voided and "已作废：重复录入" in voided and "/void" not in voided
    [corrected] = [r for r in rows if 'data-kind="screening"' in r]
    assert "宫颈癌筛查：异常/可疑" in corrected and "已更正：结果录错" in corrected


def test_voiding_a_settled_stay_is_refused_on_the_form_naming_the_settlement(client, session, w, login):
    """"该住院已结算，须先冲销结算后再作废": said above the form, the reason kept, the stay's settlement page linked."""
    stay = rs.record(session, w, actor="county", type="inpatient", start_date="2025-06-02", end_date="2025-06-05",
                     diagnoses=["J18.9"], total_cost="3000", in_policy_cost="2500")
    login("county")
    url = f"/care/encounters/{stay.id}/void"
    before = rs.writes(session)
    res = client.post(url, data={"csrf_token": csrf(client, url), "reason": "登记错误"})
    assert res.status_code == 409 and 'data-testid="form-state"' in res.text
    assert "该住院已结算（结算单" in res.text and "须先冲销结算后再作废" in res.text
    assert 'value="登记错误"' in res.text and f'href="/settlement/stays/{stay.id}"' in res.text
    assert rs.writes(session) == before


# --- the small things of stop 25: a void's message, clearing a value, a settled stay's fixed fields ----
def test_a_void_that_closes_a_chronic_registration_says_so(client, session, w, login):
    """The void's success message names what else it did: the registration made from the visit's diagnosis
    is closed as 诊断更正 (国家基本公共卫生服务规范（第三版）: "对已确诊的原发性高血压患者纳入高血压患者健康管理");
    a void that closes nothing says only that the entry is voided."""
    from weijian.care.models import ChronicRegistration

    login()
    visit = rs.record(session, w, diagnoses=["I10"])
    assert session.query(ChronicRegistration).filter_by(resident_id=w.people["man"].id).one().status == "active"
    url = f"/care/encounters/{visit.id}/void"
    res = client.post(url, follow_redirects=False, data={"csrf_token": csrf(client, url), "reason": "误登记"})
    assert res.status_code == 303 and res.headers["location"] == f"/care/encounters/{visit.id}?done=voided_closed"
    page = client.get(res.headers["location"]).text
    assert "记录已作废" in page and "慢病管理登记已关闭（诊断更正）" in page
    other = rs.record(session, w, diagnoses=["J06.9"], start_date="2025-06-03")
    url = f"/care/encounters/{other.id}/void"
    res = client.post(url, follow_redirects=False, data={"csrf_token": csrf(client, url), "reason": "误登记"})
    assert res.headers["location"] == f"/care/encounters/{other.id}?done=voided"
    assert "慢病管理登记已关闭" not in client.get(res.headers["location"]).text


def test_a_correction_form_clears_an_optional_value_left_blank(client, session, w, login):
    """A blank on a correction form clears what was recorded there (department, clinician, note; a health
    check's measurements): otherwise a value typed in error could never be taken off. A blank date is no
    value and changes nothing."""
    from weijian.care.models import HealthCheck

    login()
    visit = rs.record(session, w, diagnoses=["J06.9"])
    url = f"/care/encounters/{visit.id}/correct"
    token = csrf(client, url)
    res = client.post(url, follow_redirects=False, data={
        "csrf_token": token, "start_date": "2025-06-01", "diagnoses": ["J06.9"], "department": "全科",
        "note": "复诊", "reason": "补录"})
    assert res.status_code == 303, res.text
    res = client.post(url, follow_redirects=False, data={
        "csrf_token": token, "start_date": "", "diagnoses": ["J06.9"], "department": "", "note": "",
        "reason": "科室录错"})
    assert res.status_code == 303, res.text
    session.expire_all()
    fixed = session.get(Encounter, visit.id)
    assert fixed.department is None and fixed.note is None and fixed.start_date == date(2025, 6, 1)
    event = rs.audit_events(session, w.people["man"].id, action="correct")[-1]
    assert json.loads(event.detail)["before"]["department"] == "全科"
    rid = w.people["woman"].id
    h = rs.create_health_check(session=session, actor=w.actors["township"], today=rs.TODAY, values={
        "resident_id": rid, "date": "2025-06-02", "kind": "general", "sbp": 128, "dbp": 82, "weight_kg": 60})
    login("township")
    url = f"/care/health-checks/{h.id}/correct"
    assert "清空某项即删除原值" in client.get(url).text
    res = client.post(url, follow_redirects=False, data={
        "csrf_token": csrf(client, url), "date": "2025-06-02", "kind": "general", "sbp": "", "dbp": "",
        "weight_kg": "60", "reason": "血压未测，误录"})
    assert res.status_code == 303, res.text
    session.expire_all()
    check = session.get(HealthCheck, h.id)
    assert check.sbp is None and check.dbp is None and check.weight_kg is not None


def test_a_settled_stays_correction_form_shows_its_dates_and_costs_fixed_and_corrects_the_rest(
        client, session, w, login):
    """A discharged stay is settled (settlement's discharge hook): its dates and costs are settlement's. The
    form says so and shows them read-only; the department, diagnoses and note are still corrected."""
    stay = rs.record(session, w, actor="county", type="inpatient", start_date="2025-06-02", end_date="2025-06-05",
                     diagnoses=["J18.9"], total_cost="3000", in_policy_cost="2500")
    login("county")
    url = f"/care/encounters/{stay.id}/correct"
    form = client.get(url).text
    assert 'data-testid="settled-fixed"' in form and "不能在此更正" in form
    for name in ("start_date", "end_date", "total_cost", "in_policy_cost"):
        assert re.search(rf'name="{name}"[^>]*readonly', form), name
    assert not re.search(r'name="department"[^>]*readonly', form)
    token = CSRF.search(form).group(1)
    res = client.post(url, follow_redirects=False, data={
        "csrf_token": token, "start_date": "2025-06-02", "end_date": "2025-06-05", "diagnoses": ["J18.9"],
        "total_cost": "3000.00", "in_policy_cost": "2500.00", "department": "呼吸内科", "reason": "科室补录"})
    assert res.status_code == 303, res.text
    session.expire_all()
    assert session.get(Encounter, stay.id).department == "呼吸内科"
    plain = rs.record(session, w, actor="county", type="inpatient", start_date="2025-06-06",
                      diagnoses=["J18.9"], total_cost="3000", in_policy_cost="2500")
    assert 'data-testid="settled-fixed"' not in client.get(f"/care/encounters/{plain.id}/correct").text
