"""Resident pages: search (full page and htmx partial), record, new/edit and merge forms, in Chinese, with
errors shown beside the fields and the user's input kept."""
from __future__ import annotations

import json
import re
from datetime import date

import pytest
from sqlalchemy import func, select

from tests import factories as f
from weijian.accounts.models import AuditEvent
from weijian.residents.models import Resident

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture()
def login(client, session, county):
    """Log the test client in as a new user of `role` (bearer token, which pages accept too)."""
    def _as(role: str = "village_doctor", unit: str = f.VILLAGE_A1) -> None:
        client.headers.update(f.token_headers(session, f.make_user(session, role, unit)))
    return _as


@pytest.fixture()
def people(session, county):
    return {
        "a1": f.make_resident(session, name="张三", phone="13900001111", household_number="H1",
                              relation_to_head="head", groups=["低保"]),
        "a1b": f.make_resident(session, name="张小三", household_number="H1", relation_to_head="son"),
        "b1": f.make_resident(session, name="张无忌", village_code=f.VILLAGE_B1),
    }


def csrf(client, url: str) -> str:
    res = client.get(url)
    assert res.status_code == 200, res.text
    return CSRF.search(res.text).group(1)


def rows(html: str) -> int:
    return html.count('data-testid="resident-row"')


# --- search ------------------------------------------------------------------------------------
def test_search_page_is_chinese_and_lists_the_scope_with_masked_numbers(client, people, login):
    login()
    res = client.get("/residents", params={"q": "张"})
    assert res.status_code == 200
    html = res.text
    assert "居民查询" in html and 'data-testid="resident-search"' in html and "<html" in html
    assert rows(html) == 2 and "张三" in html and "张无忌" not in html
    full = people["a1"].id_number
    assert full not in html and full[:6] + "*" * 8 + full[-4:] in html
    assert f'href="/residents/{people["a1"].id}"' in html
    assert 'href="/residents"' in html and "居民档案" in html  # the nav entry


def test_htmx_search_returns_only_the_results(client, people, login):
    login()
    res = client.get("/residents", params={"q": "zs"}, headers={"HX-Request": "true"})
    assert res.status_code == 200
    assert "<html" not in res.text and rows(res.text) == 1
    restore = client.get("/residents", params={"q": "zs"},
                         headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in restore.text


def test_search_page_pages_through_results(client, session, county, login):
    login()
    for _ in range(21):
        f.make_resident(session, name="陈一")
    first = client.get("/residents", params={"q": "陈"}).text
    assert rows(first) == 20 and "共 21 条" in first and 'href="/residents?q=%E9%99%88&page=2"' in first
    second = client.get("/residents", params={"q": "陈", "page": 2}).text
    assert rows(second) == 1 and 'data-testid="next-page"' not in second


def test_search_page_without_a_query_searches_nothing(client, session, people, login):
    login()
    res = client.get("/residents")
    assert rows(res.text) == 0 and "请输入查询条件" in res.text
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "search")) == 0


def test_search_page_needs_a_log_in(client, county):
    res = client.get("/residents", follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"].startswith("/login")


# --- record ------------------------------------------------------------------------------------
def test_record_page_shows_demographics_household_and_full_number(client, people, login):
    login()
    r = people["a1"]
    html = client.get(f"/residents/{r.id}").text
    assert 'data-testid="resident-name">张三<' in html
    assert r.id_number in html and "低保" in html and "城乡居民医保" in html and "H1" in html
    assert f'href="/residents/{people["a1b"].id}"' in html and "户主" in html
    assert "{% block" not in html


def test_record_page_masks_the_number_without_the_identity_permission(client, people, login):
    login("bureau_admin", f.COUNTY)
    r = people["a1"]
    html = client.get(f"/residents/{r.id}").text
    assert r.id_number not in html and r.id_number[:6] + "*" * 8 + r.id_number[-4:] in html


def test_out_of_scope_record_page_is_404_without_the_name_and_not_audited(client, session, people, login):
    login()
    rid = people["b1"].id
    res = client.get(f"/residents/{rid}")
    assert res.status_code == 404 and "张无忌" not in res.text and "不存在" in res.text
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "read", AuditEvent.resident_id == rid)) == 0


def test_record_page_read_is_audited(client, session, people, login):
    login()
    client.get(f"/residents/{people['a1'].id}")
    ev = session.scalar(select(AuditEvent).where(AuditEvent.action == "read",
                                                 AuditEvent.resident_id == people["a1"].id))
    assert ev.basis == "own_village"


def test_record_page_shows_merge_history_both_ways(client, session, people, login):
    from weijian.core.actor import Actor
    from weijian.residents import service

    kept = people["a1"]
    dup = f.make_resident(session, name="张三", id_number=None, sex="male", birth_date=kept.birth_date,
                         confirm_probable_duplicate=True)
    service.merge(session=session, survivor_id=kept.id, merged_id=dup.id, reason="重复建档", actor=Actor.system())
    login()
    html = client.get(f"/residents/{kept.id}").text
    assert 'data-testid="merge-history"' in html and "重复建档" in html and f'href="/residents/{dup.id}"' in html
    html = client.get(f"/residents/{dup.id}").text
    assert 'data-testid="merged-notice"' in html and f'href="/residents/{kept.id}"' in html
    assert 'data-testid="edit-link"' not in html


# --- new / edit --------------------------------------------------------------------------------
def test_new_form_offers_only_villages_in_scope(client, county, login):
    login("township_doctor", f.TOWN_A)
    html = client.get("/residents/new").text
    assert "新建居民档案" in html and "东冲村" in html and "西河村" in html and "南岭村" not in html
    assert 'name="groups" value="min_living"' in html and "低保" in html


def test_new_form_creates_and_redirects_to_the_record(client, session, county, login):
    login()
    token = csrf(client, "/residents/new")
    idn = f.new_id_number(date(1988, 8, 8), male=False)
    res = client.post("/residents/new", follow_redirects=False, data={
        "csrf_token": token, "name": "刘丽", "id_number": idn, "village_code": f.VILLAGE_A1,
        "insurance_scheme": "resident", "groups": ["min_living", "disabled"], "phone": "13600001234"})
    assert res.status_code == 303, res.text
    r = session.scalar(select(Resident).where(Resident.id_number == idn))
    assert res.headers["location"] == f"/residents/{r.id}"
    assert (r.name, r.sex, r.birth_date, r.group_codes) == ("刘丽", "female", date(1988, 8, 8), ["disabled", "min_living"])


def test_new_form_rerenders_with_field_errors_and_input_kept(client, session, county, login):
    login()
    token = csrf(client, "/residents/new")
    good = f.new_id_number(date(1988, 8, 8))
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    before = session.scalar(select(func.count()).select_from(Resident))
    res = client.post("/residents/new", data={
        "csrf_token": token, "name": "刘丽", "id_number": bad, "village_code": f.VILLAGE_A1,
        "phone": "12345", "groups": ["disabled"], "household_number": "H77", "birth_date": "2999-01-01"})
    assert res.status_code == 422
    html = res.text
    assert "身份证号校验位错误" in html and "联系电话格式不正确" in html and "出生日期不能晚于今天" in html
    assert 'data-testid="error-id_number"' in html and 'data-testid="error-phone"' in html
    assert 'value="刘丽"' in html and f'value="{bad}"' in html and 'value="H77"' in html
    assert re.search(r'value="disabled"\s+checked', html)
    assert re.search(rf'value="{f.VILLAGE_A1}"\s+selected', html)
    assert session.scalar(select(func.count()).select_from(Resident)) == before


def test_new_form_refuses_a_duplicate_number_and_leaves_no_household(client, session, county, login):
    from weijian.residents.models import Household

    login()
    existing = f.make_resident(session, household_number="H5", relation_to_head="head")
    token = csrf(client, "/residents/new")
    res = client.post("/residents/new", data={
        "csrf_token": token, "name": "刘丽", "id_number": f.new_id_number(), "village_code": f.VILLAGE_A1,
        "household_number": "H5", "relation_to_head": "head"})
    assert res.status_code == 422 and "该户已有户主" in res.text
    res = client.post("/residents/new", data={
        "csrf_token": token, "name": "刘丽", "id_number": existing.id_number, "village_code": f.VILLAGE_A1,
        "household_number": "H6"})
    assert res.status_code == 422 and "该身份证号已登记" in res.text
    assert session.scalar(select(Household).where(Household.number == "H6")) is None


def test_forms_refuse_a_post_without_the_csrf_token(client, session, county, login):
    login()
    res = client.post("/residents/new", data={"name": "刘丽", "village_code": f.VILLAGE_A1})
    assert res.status_code == 403


def test_edit_form_is_prefilled_and_saves(client, session, people, login):
    login()
    r = people["a1"]
    html = client.get(f"/residents/{r.id}/edit").text
    assert "修改居民档案" in html and 'value="张三"' in html and 'value="13900001111"' in html
    assert re.search(r'value="min_living"\s+checked', html)
    token = CSRF.search(html).group(1)
    data = {"csrf_token": token, "name": "张叁", "id_number": r.id_number, "village_code": f.VILLAGE_A1,
            "insurance_scheme": "employee", "phone": "13900001111", "household_number": "H1",
            "relation_to_head": "head", "groups": ["min_living"]}
    res = client.post(f"/residents/{r.id}/edit", data=data, follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"] == f"/residents/{r.id}"
    session.expire_all()
    assert (r.name, r.insurance_scheme) == ("张叁", "employee")


def test_edit_form_rerenders_errors_and_changes_nothing(client, session, people, login):
    login()
    r = people["a1"]
    token = csrf(client, f"/residents/{r.id}/edit")
    res = client.post(f"/residents/{r.id}/edit", data={
        "csrf_token": token, "name": "张叁", "id_number": r.id_number, "village_code": f.VILLAGE_A1,
        "sex": "female", "birth_date": "1900-01-01"})
    assert res.status_code == 422
    assert "性别与身份证号不一致" in res.text and "出生日期与身份证号不一致" in res.text and 'value="张叁"' in res.text
    session.expire_all()
    assert session.get(Resident, r.id).name == "张三"


def test_edit_form_records_a_move_with_its_date_and_keeps_a_refused_date(client, session, people, login):
    """Issue 15 item 13: a move is kept with the day it took effect (figures before it do not change)."""
    from datetime import date

    from weijian.residents.models import OPEN_END, ResidentResidence

    login("township_doctor", f.TOWN_A)  # a move inside the township: both villages in scope
    r = people["a1"]
    html = client.get(f"/residents/{r.id}/edit").text
    assert 'name="effective_on"' in html and 'name="status"' in html
    data = {"csrf_token": CSRF.search(html).group(1), "name": "张三", "id_number": r.id_number,
            "village_code": f.VILLAGE_A2, "insurance_scheme": r.insurance_scheme, "phone": "13900001111",
            "groups": ["min_living"], "status": "active", "effective_on": "2099-01-01",
            "household_number": ""}  # a household belongs to one village: the mover leaves it
    bad = client.post(f"/residents/{r.id}/edit", data=data)
    assert bad.status_code == 422
    assert "迁移或死亡日期不能晚于今天" in bad.text and 'value="2099-01-01"' in bad.text
    data.update(csrf_token=csrf(client, f"/residents/{r.id}/edit"), effective_on="2025-03-01")
    res = client.post(f"/residents/{r.id}/edit", data=data, follow_redirects=False)
    assert res.status_code == 303, res.text
    rows = session.execute(select(ResidentResidence.valid_from, ResidentResidence.valid_to,
                                  ResidentResidence.village_code)
                           .where(ResidentResidence.resident_id == r.id).order_by(ResidentResidence.valid_from)).all()
    assert [tuple(x)[1:] for x in rows] == [(date(2025, 3, 1), f.VILLAGE_A1), (OPEN_END, f.VILLAGE_A2)]


def test_edit_form_corrects_a_village_entered_wrongly_and_refuses_a_date_with_it(client, session, people, login):
    """Issue 15 item 13: a village entered wrongly is corrected, not moved — the residence history keeps one
    row, in the right village since always (past figures change with it), and the update is audited as a
    correction; a date of a move sent with it is refused naming the field, the form keeping what was sent."""
    from weijian.residents.models import OPEN_END, SINCE_ALWAYS, ResidentResidence

    login("township_doctor", f.TOWN_A)
    r = people["a1"]
    html = client.get(f"/residents/{r.id}/edit").text
    assert 'name="correction"' in html
    data = {"csrf_token": CSRF.search(html).group(1), "name": "张三", "id_number": r.id_number,
            "village_code": f.VILLAGE_A2, "insurance_scheme": r.insurance_scheme, "phone": "13900001111",
            "groups": ["min_living"], "status": "active", "effective_on": "2025-03-01", "correction": "1",
            "household_number": ""}
    bad = client.post(f"/residents/{r.id}/edit", data=data)
    assert bad.status_code == 422
    assert "更正录错不是迁移，不填迁移或死亡日期" in bad.text and 'value="2025-03-01"' in bad.text
    assert 'name="correction" value="1" checked' in bad.text
    session.expire_all()
    assert session.get(Resident, r.id).village_code == f.VILLAGE_A1
    data.update(csrf_token=csrf(client, f"/residents/{r.id}/edit"), effective_on="")
    res = client.post(f"/residents/{r.id}/edit", data=data, follow_redirects=False)
    assert res.status_code == 303, res.text
    rows = session.execute(select(ResidentResidence.valid_from, ResidentResidence.valid_to,
                                  ResidentResidence.village_code)
                           .where(ResidentResidence.resident_id == r.id)).all()
    assert [tuple(x) for x in rows] == [(SINCE_ALWAYS, OPEN_END, f.VILLAGE_A2)]
    audit = session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "resident",
                                                     AuditEvent.action == "update", AuditEvent.resident_id == r.id)).all()
    assert [json.loads(a.detail or "{}").get("correction") for a in audit] == [True]


def test_edit_of_an_out_of_scope_record_is_404(client, people, login):
    login()
    assert client.get(f"/residents/{people['b1'].id}/edit").status_code == 404


# --- merge -------------------------------------------------------------------------------------
def test_merge_form_needs_the_merge_permission(client, county, login):
    login()
    assert client.get("/residents/merge").status_code == 403


def test_merge_form_merges_and_redirects_to_the_kept_record(client, session, people, login):
    login("sysadmin", f.COUNTY)
    kept = people["a1"]
    dup = f.make_resident(session, name="张三", id_number=None, sex="male", birth_date=kept.birth_date,
                         confirm_probable_duplicate=True)
    token = csrf(client, f"/residents/merge?survivor={kept.id}")
    res = client.post("/residents/merge", follow_redirects=False, data={
        "csrf_token": token, "survivor_id": str(kept.id), "merged_id": str(dup.id), "reason": "重复建档"})
    assert res.status_code == 303 and res.headers["location"] == f"/residents/{kept.id}"
    session.expire_all()
    assert session.get(Resident, dup.id).status == "merged"


def test_merge_form_rerenders_errors_beside_the_fields(client, session, people, login):
    login("sysadmin", f.COUNTY)
    kept, other = people["a1"], people["a1b"]
    token = csrf(client, "/residents/merge")
    res = client.post("/residents/merge", data={
        "csrf_token": token, "survivor_id": str(kept.id), "merged_id": "abc", "reason": "重复"})
    assert res.status_code == 422 and 'data-testid="error-merged_id"' in res.text and 'value="重复"' in res.text
    res = client.post("/residents/merge", data={
        "csrf_token": token, "survivor_id": str(kept.id), "merged_id": str(other.id), "reason": "重复"})
    assert res.status_code == 422 and "两份档案的身份证号不同" in res.text
    res = client.post("/residents/merge", data={
        "csrf_token": token, "survivor_id": str(kept.id), "merged_id": str(kept.id + 999), "reason": "重复"})
    assert res.status_code == 404 and 'data-testid="error-merged_id"' in res.text
    session.expire_all()
    assert session.get(Resident, other.id).status == "active"


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_pages_have_no_untranslated_keys(client, session, people, login, lang):
    login("sysadmin", f.COUNTY)
    rid = people["a1"].id
    for url in (f"/residents?q=zs&lang={lang}", f"/residents/{rid}?lang={lang}", f"/residents/new?lang={lang}",
                f"/residents/{rid}/edit?lang={lang}", f"/residents/merge?lang={lang}"):
        html = client.get(url).text
        assert not re.search(r">\s*(residents|fields|app)\.[a-z_.]+", html), (url, html)
    assert "Find a resident" in client.get("/residents?lang=en").text


@pytest.mark.parametrize("value", ["²", "9" * 25, "9" * 5000])
def test_merge_form_names_a_record_number_that_is_no_id(client, session, people, login, value):
    # Found by the API fuzzer (tests/security): "²" passes str.isdigit() but not int(), and 5,000 digits pass
    # neither int()'s limit: 500s.
    login("bureau_admin", f.COUNTY)
    token = csrf(client, "/residents/merge")
    res = client.post("/residents/merge", data={
        "csrf_token": token, "survivor_id": value, "merged_id": str(people["a1b"].id), "reason": "重复"})
    assert res.status_code == 422 and 'data-testid="error-survivor_id"' in res.text
    assert session.get(Resident, people["a1b"].id).status == "active"
