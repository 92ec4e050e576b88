"""Log-in and log-out, CSRF, redirects, the home page per role, the language switch, audit and users pages."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from tests.factories import (
    COUNTY,
    PASSWORD,
    TOWN_A,
    VILLAGE_A1,
    csrf_from,
    make_audit_event,
    make_county,
    make_user,
    page_login,
)
from weijian.accounts import service as accounts_service
from weijian.accounts.models import AuditEvent, User
from weijian.accounts.pages import safe_next
from weijian.core.web import LANG_COOKIE

UTC = UTC


@pytest.fixture()
def county(session):
    return make_county(session)


def _count(session, model, *where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where))


def _post_login(client, username: str, password: str, next_url: str = "/"):
    token = csrf_from(client.get("/login").text)
    return client.post("/login", data={"username": username, "password": password, "next": next_url,
                                       "csrf_token": token}, follow_redirects=False)


# --- log-in ---------------------------------------------------------------------------------------
def test_login_form_carries_csrf_token_and_next(client):
    r = client.get("/login", params={"next": "/residents"})
    assert r.status_code == 200
    assert 'name="csrf_token"' in r.text
    assert 'name="next" value="/residents"' in r.text
    assert "用户登录" in r.text


def test_login_sets_the_session_and_goes_to_next(client, session, county):
    user = make_user(session, "village_doctor", VILLAGE_A1)
    r = _post_login(client, user.username, PASSWORD, next_url="/audit?user=x")
    assert r.status_code == 303
    assert r.headers["location"] == "/audit?user=x"
    home = client.get("/")
    assert home.status_code == 200
    assert user.username in home.text
    assert _count(session, AuditEvent, AuditEvent.action == "login", AuditEvent.user_id == user.id) == 1


def test_login_rotates_the_csrf_token(client, session, county):
    user = make_user(session, "village_doctor", VILLAGE_A1)
    before = csrf_from(client.get("/login").text)
    client.post("/login", data={"username": user.username, "password": PASSWORD, "csrf_token": before},
                follow_redirects=False)
    assert csrf_from(client.get("/").text) != before


def test_wrong_password_rerenders_the_form_with_the_username_and_is_audited(client, session, county):
    user = make_user(session, "village_doctor", VILLAGE_A1)
    before = _count(session, AuditEvent, AuditEvent.action == "login_failed")
    r = _post_login(client, user.username, "wrong-password")
    assert r.status_code == 401
    assert "用户名或密码错误" in r.text
    assert f'value="{user.username}"' in r.text
    assert _count(session, AuditEvent, AuditEvent.action == "login_failed", AuditEvent.user_id.is_(None),
                  AuditEvent.username == user.username) == before + 1
    assert client.get("/", follow_redirects=False).status_code == 303


def test_missing_password_is_a_422_beside_the_field(client, county):
    r = _post_login(client, "someone", "")
    assert r.status_code == 422
    assert "必填" in r.text
    assert 'value="someone"' in r.text


def test_inactive_user_cannot_log_in_and_loses_their_session(client, session, county):
    user = make_user(session, "village_doctor", VILLAGE_A1)
    page_login(client, user.username)
    user.is_active = False
    session.flush()
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert _post_login(client, user.username, PASSWORD).status_code == 401


def test_logout_clears_the_session(client, session, county):
    user = make_user(session, "village_doctor", VILLAGE_A1)
    page_login(client, user.username)
    token = csrf_from(client.get("/").text)
    r = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/login")
    assert client.get("/", follow_redirects=False).status_code == 303
    assert _count(session, AuditEvent, AuditEvent.action == "logout", AuditEvent.user_id == user.id) == 1


# --- CSRF -------------------------------------------------------------------------------------------
def test_login_without_csrf_token_is_refused_and_changes_nothing(client, session, county):
    user = make_user(session, "village_doctor", VILLAGE_A1)
    client.get("/login")
    events = _count(session, AuditEvent)
    r = client.post("/login", data={"username": user.username, "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 403
    assert _count(session, AuditEvent) == events
    session.refresh(user)
    assert user.last_login_at is None
    assert client.get("/", follow_redirects=False).status_code == 303


# "偽造": compare_digest raised TypeError on non-ASCII text, a 500 (found by the API fuzzer, tests/security).
@pytest.mark.parametrize("token", ["forged", "偽造"])
def test_post_with_a_wrong_csrf_token_is_refused(client, session, county, token):
    admin = make_user(session, "sysadmin", COUNTY)
    page_login(client, admin.username)
    users_before = _count(session, User)
    r = client.post("/users", data={"username": "csrf.victim", "password": "long-enough-1", "role": "sysadmin",
                                    "orgunit_code": COUNTY, "csrf_token": token})
    assert r.status_code == 403
    assert _count(session, User) == users_before


# --- redirects after log-in -----------------------------------------------------------------------
@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "evil",
                                    "javascript:alert(1)", "/\t/evil.example", ""])
def test_log_in_never_redirects_off_site(client, session, county, target):
    user = make_user(session, "village_doctor", VILLAGE_A1)
    r = _post_login(client, user.username, PASSWORD, next_url=target)
    assert r.status_code == 303
    assert r.headers["location"] == "/"


def test_local_paths_are_kept_as_next():
    assert safe_next("/residents/12?tab=visits") == "/residents/12?tab=visits"
    assert safe_next("//evil.example") == "/"


# --- home and navigation per role -----------------------------------------------------------------
def test_home_needs_log_in(client):
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/"


def _links(html: str) -> set[str]:
    return {href for href in ("/audit", "/users", "/security") if f'href="{href}"' in html}


@pytest.mark.parametrize(("role", "unit", "expected"), [
    ("village_doctor", VILLAGE_A1, set()),
    ("township_doctor", TOWN_A, set()),
    ("bureau_admin", COUNTY, {"/audit"}),
    ("sysadmin", COUNTY, {"/users"}),
    ("security_admin", COUNTY, {"/security"}),
    ("audit_admin", COUNTY, {"/audit"}),
])
def test_home_and_nav_show_what_the_role_may_do(client, session, county, role, unit, expected):
    user = make_user(session, role, unit)
    page_login(client, user.username)
    r = client.get("/")
    assert r.status_code == 200
    assert _links(r.text) == expected
    assert {"village_doctor": "村医", "township_doctor": "乡镇卫生院医生", "bureau_admin": "卫健局管理员",
            "sysadmin": "系统管理员", "security_admin": "安全管理员", "audit_admin": "审计管理员"}[role] in r.text


# --- language switch ------------------------------------------------------------------------------
def test_language_switch_sets_a_cookie_that_sticks(client):
    r = client.get("/login", params={"lang": "en"})
    assert "Log in" in r.text
    assert f"{LANG_COOKIE}=en" in r.headers["set-cookie"]
    assert "Log in" in client.get("/login").text  # no ?lang= now: the cookie decides
    r = client.get("/login", params={"lang": "zh_CN"})
    assert f"{LANG_COOKIE}=zh_CN" in r.headers["set-cookie"]
    assert "用户登录" in client.get("/login").text


def test_unknown_language_sets_no_cookie(client):
    r = client.get("/login", params={"lang": "fr"})
    assert LANG_COOKIE not in r.headers.get("set-cookie", "")


# --- audit page -----------------------------------------------------------------------------------
def test_audit_page_needs_audit_read(client, session, county):
    doctor = make_user(session, "county_doctor", COUNTY)
    page_login(client, doctor.username)
    assert client.get("/audit").status_code == 403


def test_audit_page_shows_beijing_time_and_chinese_labels(client, session, county):
    admin = make_user(session, "bureau_admin", COUNTY)
    make_audit_event(session, at=datetime(2025, 3, 9, 16, 30, tzinfo=UTC), username="li.cunyi", entity_id="77",
                     resident_id=77)
    page_login(client, admin.username)
    r = client.get("/audit", params={"resident_id": "77", "date_from": "2025-03-10", "date_to": "2025-03-10",
                                     "user": "", "action": ""})
    assert r.status_code == 200, r.text
    assert "2025-03-10 00:30:00" in r.text
    assert "查阅" in r.text and "本村" in r.text and "村医" in r.text
    assert "li.cunyi" in r.text


def test_audit_page_filters_by_user(client, session, county):
    admin = make_user(session, "bureau_admin", COUNTY)
    for name in ("wang.a", "zhao.b"):
        make_audit_event(session, username=name, resident_id=1)
    page_login(client, admin.username)
    r = client.get("/audit", params={"user": "wang.a"})
    assert "wang.a" in r.text
    assert "zhao.b" not in r.text


def test_audit_page_bad_filter_is_shown_beside_the_field(client, session, county):
    admin = make_user(session, "bureau_admin", COUNTY)
    page_login(client, admin.username)
    r = client.get("/audit", params={"date_from": "2025-13-45"})
    assert r.status_code == 422
    assert "应为日期" in r.text
    assert 'value="2025-13-45"' in r.text
    r = client.get("/audit", params={"date_from": "2025-03-10", "date_to": "2025-03-01"})
    assert r.status_code == 422
    assert "结束日期不能早于开始日期" in r.text
    # Beyond the columns and the calendar: field errors with the input kept, not a 500 (found by hand).
    for params, message in (({"resident_id": "99999999999999999999"}, "编号超出范围"),
                            ({"page": "9" * 30}, "页码超出范围"), ({"date_to": "0001-01-01"}, "日期应在")):
        r = client.get("/audit", params=params)
        assert r.status_code == 422 and message in r.text, params
        if "page" not in params:  # the page number is a link, not an input
            assert f'value="{next(iter(params.values()))}"' in r.text


# --- users page -----------------------------------------------------------------------------------
def test_users_page_is_for_sysadmins(client, session, county):
    admin = make_user(session, "bureau_admin", COUNTY)
    page_login(client, admin.username)
    assert client.get("/users").status_code == 403


def test_sysadmin_creates_a_user_from_the_users_page(client, session, county):
    admin = make_user(session, "sysadmin", COUNTY)
    page_login(client, admin.username)
    token = csrf_from(client.get("/users").text)
    r = client.post("/users", data={"username": "zhang.cunyi", "full_name": "张村医", "password": "long-enough-1",
                                    "role": "village_doctor", "orgunit_code": VILLAGE_A1, "phone": "",
                                    "csrf_token": token}, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/users?done=created")
    created = accounts_service.get_by_username(session=session, username="zhang.cunyi")
    assert created is not None and created.role == "village_doctor"
    assert "zhang.cunyi" in client.get("/users?done=created").text


def test_invalid_user_form_is_rerendered_with_the_input_kept(client, session, county):
    admin = make_user(session, "sysadmin", COUNTY)
    page_login(client, admin.username)
    token = csrf_from(client.get("/users").text)
    r = client.post("/users", data={"username": "wu.yisheng", "full_name": "吴医生", "password": "short",
                                    "role": "village_doctor", "orgunit_code": TOWN_A, "csrf_token": token})
    assert r.status_code == 422
    assert "密码至少 10 位" in r.text
    assert "该角色的管辖单位应为村" in r.text
    assert 'value="wu.yisheng"' in r.text and 'value="吴医生"' in r.text
    assert accounts_service.get_by_username(session=session, username="wu.yisheng") is None


def test_taken_username_is_shown_on_the_form(client, session, county):
    admin = make_user(session, "sysadmin", COUNTY)
    page_login(client, admin.username)
    token = csrf_from(client.get("/users").text)
    r = client.post("/users", data={"username": admin.username, "password": "long-enough-1",
                                    "role": "county_doctor", "orgunit_code": COUNTY, "csrf_token": token})
    assert r.status_code == 409
    assert "已被使用" in r.text


def test_sysadmin_deactivates_a_user_who_then_cannot_log_in(client, session, county):
    admin = make_user(session, "sysadmin", COUNTY)
    doctor = make_user(session, "village_doctor", VILLAGE_A1)
    page_login(client, admin.username)
    token = csrf_from(client.get("/users").text)
    r = client.post(f"/users/{doctor.id}/deactivate", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    session.refresh(doctor)
    assert not doctor.is_active


def test_sysadmin_resets_a_password(client, session, county):
    admin = make_user(session, "sysadmin", COUNTY)
    doctor = make_user(session, "village_doctor", VILLAGE_A1)
    page_login(client, admin.username)
    token = csrf_from(client.get("/users").text)
    r = client.post(f"/users/{doctor.id}/password", data={"password": "short", "csrf_token": token})
    assert r.status_code == 422 and "密码至少 10 位" in r.text
    r = client.post(f"/users/{doctor.id}/password", data={"password": "brand-new-pass-1", "csrf_token": token},
                    follow_redirects=False)
    assert r.status_code == 303
    session.refresh(doctor)
    assert accounts_service.verify_password(doctor.password_hash, "brand-new-pass-1")
