"""Issue 12, parts 1 and 2: server-side sessions (no built-in secret, logout/deactivation/password change end
them at once, idle and absolute expiry, Secure cookies, id rotation), log-in throttling, password rules,
must-change, password age, and the TOTP second factor."""
from __future__ import annotations

import base64
import json
import os
import stat
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests.conftest import savepoint_sessions
from tests.factories import (
    COUNTY,
    PASSWORD,
    VILLAGE_A1,
    csrf_from,
    make_county,
    make_user,
    page_login,
    set_up_totp,
    token_headers,
    totp_code,
)
from weijian.accounts import cli as accounts_cli
from weijian.accounts import second_factor
from weijian.accounts import service as accounts_service
from weijian.accounts.models import ApiToken, AuditEvent, LoginThrottle, User, UserSession
from weijian.accounts.schemas import UserCreate
from weijian.cli import app as cli_app
from weijian.core import keys
from weijian.core.commands import build
from weijian.core.errors import InvalidInput
from weijian.core.settings import Settings
from weijian.core.web import SESSION_COOKIE

UTC = UTC
OLD_BUILT_IN_SECRET = "development-only-secret-change-me"


@pytest.fixture()
def county(session):
    return make_county(session)


@pytest.fixture()
def frozen(time_machine):
    """The clock stopped at a fixed moment; `frozen.shift(minutes=...)` moves it on."""
    start = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
    time_machine.move_to(start, tick=False)

    class _Clock:
        now = start

        def shift(self, **delta) -> None:
            self.now = self.now + timedelta(**delta)
            time_machine.move_to(self.now, tick=False)

    return _Clock()


def _count(session, model, *where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where))


def _post_login(client, username: str, password: str):
    token = csrf_from(client.get("/login").text)
    return client.post("/login", data={"username": username, "password": password, "next": "/",
                                       "csrf_token": token}, follow_redirects=False)


def _logged_in(client) -> bool:
    return client.get("/", follow_redirects=False).status_code == 200


def _logout(client) -> None:
    token = csrf_from(client.get("/").text)
    assert client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303


# --- the key ----------------------------------------------------------------------------------------
def test_without_a_configured_key_the_first_start_writes_a_random_one_with_mode_0600(tmp_path):
    settings = Settings(environment="test", key_dir=tmp_path / "var")
    key = keys.session_key(settings)
    path = tmp_path / "var" / keys.SESSION_KEY_FILE
    assert path.exists() and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert len(key) >= keys.MIN_KEY_BYTES and key != OLD_BUILT_IN_SECRET.encode()
    assert keys.session_key(settings) == key  # the next start reads the same key


def test_a_key_shorter_than_32_bytes_is_refused(tmp_path):
    with pytest.raises(ValidationError, match="at least 32 bytes"):
        Settings(environment="test", secret_key="x" * 31)
    (tmp_path / keys.SESSION_KEY_FILE).write_text("too-short\n")
    with pytest.raises(keys.KeyError_, match="at least 32 bytes"):
        keys.session_key(Settings(environment="test", key_dir=tmp_path))


def test_a_cookie_forged_with_the_old_built_in_secret_is_refused(client, session, county):
    from itsdangerous import TimestampSigner

    admin = make_user(session, "sysadmin", COUNTY)
    # What opened /users and /audit before: Starlette's signed-cookie session, signed by hand.
    payload = base64.b64encode(json.dumps({"uid": admin.id, "csrf": "x"}).encode())
    forged = TimestampSigner(OLD_BUILT_IN_SECRET).sign(payload).decode()
    client.cookies.set(SESSION_COOKIE, forged)
    r = client.get("/users", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert client.get("/api/v1/auth/me").status_code == 401


# --- sessions ---------------------------------------------------------------------------------------
def test_the_cookie_carries_only_a_random_id_stored_hashed_and_rotated_at_log_in(client, session, county):
    user = make_user(session, "village_doctor", VILLAGE_A1)
    client.get("/login")
    before = client.cookies.get(SESSION_COOKIE)
    r = _post_login(client, user.username, PASSWORD)
    after = client.cookies.get(SESSION_COOKIE)
    assert r.status_code == 303 and after and after != before
    set_cookie = r.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=lax" in set_cookie and "secure" not in set_cookie
    row = session.scalar(select(UserSession).where(UserSession.user_id == user.id))
    assert row.token_hash != after and len(row.token_hash) == 64  # only the SHA-256 is stored
    assert row.ip == "testclient" and row.user_agent
    # The visitor's earlier id opens nothing.
    client.cookies.set(SESSION_COOKIE, before)
    assert not _logged_in(client)


def test_logout_ends_the_session_at_once(client, session, county):
    user = make_user(session, "village_doctor", VILLAGE_A1)
    page_login(client, user.username)
    old = client.cookies.get(SESSION_COOKIE)
    _logout(client)
    client.cookies.set(SESSION_COOKIE, old)  # replay the cookie of before the log-out
    assert not _logged_in(client)
    assert client.get("/api/v1/auth/me").status_code == 401


def test_deactivation_ends_sessions_and_tokens_at_once(client, session, county):
    admin = make_user(session, "sysadmin", COUNTY)
    user = make_user(session, "village_doctor", VILLAGE_A1)
    page_login(client, user.username)
    headers = token_headers(session, user)
    accounts_service.deactivate(session=session, actor=accounts_service.actor_for(admin), user_id=user.id)
    assert not _logged_in(client)
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    assert _count(session, UserSession, UserSession.user_id == user.id, UserSession.revoked_at.is_(None)) == 0
    assert _count(session, ApiToken, ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)) == 0


def test_a_password_reset_by_an_administrator_ends_sessions_and_tokens_at_once(client, session, county):
    admin = make_user(session, "sysadmin", COUNTY)
    user = make_user(session, "village_doctor", VILLAGE_A1)
    page_login(client, user.username)
    headers = token_headers(session, user)
    accounts_service.set_password(session=session, actor=accounts_service.actor_for(admin), user_id=user.id,
                                  password="Another-pass-42")
    assert not _logged_in(client)
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401


def test_changing_ones_own_password_ends_the_other_sessions_and_keeps_this_one(app, client, session, county):
    from fastapi.testclient import TestClient

    user = make_user(session, "village_doctor", VILLAGE_A1)
    with TestClient(app, base_url="http://testserver") as other:
        page_login(other, user.username)
        page_login(client, user.username)
        headers = token_headers(session, user)
        page = client.get("/account/password")
        r = client.post("/account/password", data={"current_password": PASSWORD, "password": "New-password-77",
                                                   "password_again": "New-password-77",
                                                   "csrf_token": csrf_from(page.text)}, follow_redirects=False)
        assert r.status_code == 303, r.text
        assert _logged_in(client)
        assert not _logged_in(other)
        assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    assert _count(session, AuditEvent, AuditEvent.action == "password_changed", AuditEvent.user_id == user.id) == 1


def test_a_session_ends_after_the_idle_time_out(client, session, county, frozen):
    user = make_user(session, "village_doctor", VILLAGE_A1)
    page_login(client, user.username)
    frozen.shift(minutes=29)
    assert _logged_in(client)  # a request: "last seen" moves on
    frozen.shift(minutes=29)
    assert _logged_in(client)
    frozen.shift(minutes=31)
    assert not _logged_in(client)


def test_a_session_ends_after_its_absolute_lifetime_however_busy(client, session, county, frozen):
    user = make_user(session, "village_doctor", VILLAGE_A1)
    page_login(client, user.username)
    for _ in range(11 * 3 + 2):  # a request every 20 minutes for 11 h 40 min
        frozen.shift(minutes=20)
        assert _logged_in(client)
    frozen.shift(minutes=21)  # 12 h 1 min after the log-in
    assert not _logged_in(client)


def test_last_seen_is_written_at_most_once_a_minute(client, session, county, frozen):
    user = make_user(session, "village_doctor", VILLAGE_A1)
    page_login(client, user.username)
    row = session.scalar(select(UserSession).where(UserSession.user_id == user.id))
    first = row.last_seen_at
    frozen.shift(seconds=30)
    assert _logged_in(client)
    session.refresh(row)
    assert row.last_seen_at == first
    frozen.shift(seconds=40)
    assert _logged_in(client)
    session.refresh(row)
    assert row.last_seen_at == frozen.now


def test_cookies_are_secure_over_https_by_setting_or_from_a_trusted_proxy(app, client, session, county):
    user = make_user(session, "village_doctor", VILLAGE_A1)
    settings = app.state.settings
    try:
        app.state.settings = settings.model_copy(update={"trusted_proxies": "testclient"})
        client.get("/login", headers={"X-Forwarded-Proto": "https"})
        r = _post_login_with(client, user.username, {"X-Forwarded-Proto": "https"})
        assert "secure" in r.headers["set-cookie"].lower()
        app.state.settings = settings.model_copy(update={"trusted_proxies": "10.0.0.1"})
        r = _post_login_with(client, user.username, {"X-Forwarded-Proto": "https"})
        assert "secure" not in r.headers["set-cookie"].lower()  # an untrusted peer's header is ignored
        app.state.settings = settings.model_copy(update={"cookie_secure": True})
        r = _post_login_with(client, user.username, {})
        assert "secure" in r.headers["set-cookie"].lower()
    finally:
        app.state.settings = settings


def _post_login_with(client, username: str, headers: dict[str, str]):
    token = csrf_from(client.get("/login", headers=headers).text)
    return client.post("/login", headers=headers, follow_redirects=False,
                       data={"username": username, "password": PASSWORD, "next": "/", "csrf_token": token})


# --- throttling ---------------------------------------------------------------------------------------
def _fail(client, username: str, times: int) -> None:
    for _ in range(times):
        assert _post_login(client, username, "Wrong-password-1").status_code == 401


def test_the_sixth_attempt_after_five_failures_is_refused_429_even_with_the_right_password(client, session,
                                                                                           county, frozen):
    user = make_user(session, "village_doctor", VILLAGE_A1)
    _fail(client, user.username, 5)
    r = _post_login(client, user.username, PASSWORD)
    assert r.status_code == 429
    assert 14 * 60 < int(r.headers["retry-after"]) <= 15 * 60
    assert "锁定" in r.text
    locks = session.scalars(select(AuditEvent).where(AuditEvent.action == "lockout")).all()
    assert {e.entity_id for e in locks} == {f"user:{user.username}", "ip:testclient"}
    # The API answers the same for the account.
    r = client.post("/api/v1/auth/token", json={"username": user.username, "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    # The lock lifts by itself after 15 minutes, audited.
    frozen.shift(minutes=15, seconds=1)
    assert _post_login(client, user.username, PASSWORD).status_code == 303
    unlocks = session.scalars(select(AuditEvent).where(AuditEvent.action == "unlock")).all()
    assert {json.loads(e.detail)["by"] for e in unlocks} == {"time"}


def test_failures_spread_beyond_the_window_do_not_lock(client, session, county, frozen):
    user = make_user(session, "village_doctor", VILLAGE_A1)
    _fail(client, user.username, 4)
    frozen.shift(minutes=16)
    _fail(client, user.username, 4)
    assert _post_login(client, user.username, PASSWORD).status_code == 303


def test_one_address_trying_many_accounts_is_locked(client, session, county):
    user = make_user(session, "village_doctor", VILLAGE_A1)
    for n in range(5):
        assert _post_login(client, f"nobody{n}", "Wrong-password-1").status_code == 401
    assert _post_login(client, user.username, PASSWORD).status_code == 429


def test_an_api_client_is_locked_too(client, session, county):
    user = make_user(session, "village_doctor", VILLAGE_A1)
    for _ in range(5):
        r = client.post("/api/v1/auth/token", json={"username": user.username, "password": "Wrong-password-1"})
        assert r.status_code == 401
    r = client.post("/api/v1/auth/token", json={"username": user.username, "password": PASSWORD})
    assert r.status_code == 429 and "retry-after" in r.headers


def test_the_security_administrator_lifts_a_lock_from_the_page(app, client, session, county):
    from fastapi.testclient import TestClient

    user = make_user(session, "village_doctor", VILLAGE_A1)
    security = make_user(session, "security_admin", COUNTY)
    _fail(client, user.username, 5)  # locks the account name and the address (the test client's)
    accounts_service.unlock(session=session, actor=accounts_service.actor_for(security), kind="ip", key="testclient")
    with TestClient(app, base_url="http://testserver") as admin_client:
        page_login(admin_client, security.username)
        page = admin_client.get("/security")
        assert page.status_code == 200 and user.username in page.text
        r = admin_client.post("/security/unlock", data={"kind": "user", "key": user.username,
                                                        "csrf_token": csrf_from(page.text)}, follow_redirects=False)
        assert r.status_code == 303
    assert _post_login(client, user.username, PASSWORD).status_code == 303
    by_admin = session.scalars(select(AuditEvent).where(AuditEvent.action == "unlock",
                                                        AuditEvent.user_id == security.id)).all()
    assert {e.entity_id for e in by_admin} == {"ip:testclient", f"user:{user.username}"}


def test_weijian_users_unlock_lifts_a_lock(client, session, connection, county, monkeypatch):
    user = make_user(session, "village_doctor", VILLAGE_A1)
    _fail(client, user.username, 5)
    factory = savepoint_sessions(connection)
    monkeypatch.setattr(accounts_cli, "_sessionmaker", lambda: factory)
    runner = CliRunner()
    assert runner.invoke(cli_app, ["users", "unlock", user.username]).exit_code == 0
    assert runner.invoke(cli_app, ["users", "unlock", "testclient", "--address"]).exit_code == 0
    assert _post_login(client, user.username, PASSWORD).status_code == 303
    assert _count(session, AuditEvent, AuditEvent.action == "unlock", AuditEvent.username == "cli") == 2


def test_unknown_users_cost_one_password_verification_like_known_ones(session, county, monkeypatch):
    user = make_user(session, "village_doctor", VILLAGE_A1)
    calls = []
    real = accounts_service.verify_password
    monkeypatch.setattr(accounts_service, "verify_password", lambda h, p: calls.append(h) or real(h, p))
    for name in (user.username, "no.such.user"):
        creds = accounts_service.credentials(session=session, username=name)
        assert accounts_service.password_matches(creds, "Wrong-password-1") is None
    assert len(calls) == 2 and calls[0] != calls[1]  # one argon2 verification each, the unknown one on a dummy


# --- password rules, must-change, age ---------------------------------------------------------------
@pytest.mark.parametrize(("password", "rule"), [
    ("Ab1!efgh", "accounts.errors.password_too_short"),
    ("abcdefghijkl", "accounts.errors.password_classes"),
    ("abcdefgh-jkl", "accounts.errors.password_classes"),
    ("x-wang.li-2026", "accounts.errors.password_has_username"),
])
def test_weak_passwords_are_refused_naming_the_rule(session, county, password, rule):
    with pytest.raises(InvalidInput) as caught:
        accounts_service.create(session=session, username="wang.li", password=password, full_name="王丽",
                                role="village_doctor", orgunit_code=VILLAGE_A1)
    assert rule in {e.reason_key for e in caught.value.errors}


def test_the_rules_are_shown_by_name_on_the_users_page(client, session, county):
    admin = make_user(session, "sysadmin", COUNTY)
    page_login(client, admin.username)
    token = csrf_from(client.get("/users").text)
    r = client.post("/users", data={"username": "li.si", "password": "alllowercase", "role": "village_doctor",
                                    "orgunit_code": VILLAGE_A1, "csrf_token": token})
    assert r.status_code == 422 and "至少 3 类" in r.text


def test_an_account_made_by_an_administrator_must_change_its_password_at_first_log_in(client, session, county):
    admin = make_user(session, "sysadmin", COUNTY)
    accounts_service.register_user(session=session, actor=accounts_service.actor_for(admin), user_in=build(UserCreate, {
        "username": "zhao.liu", "password": "Initial-pass-1", "full_name": "赵六", "role": "village_doctor",
        "orgunit_code": VILLAGE_A1}))
    assert _post_login(client, "zhao.liu", "Initial-pass-1").status_code == 303
    r = client.get("/residents", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/account/password")
    # The API gives no token until then.
    r = client.post("/api/v1/auth/token", json={"username": "zhao.liu", "password": "Initial-pass-1"})
    assert r.status_code == 403
    page = client.get("/account/password")
    assert "请先设置您自己的密码" in page.text
    r = client.post("/account/password", data={"current_password": "Initial-pass-1", "password": "Initial-pass-1",
                                               "password_again": "Initial-pass-1", "csrf_token": csrf_from(page.text)})
    assert r.status_code == 422  # the same one again
    r = client.post("/account/password", data={"current_password": "Initial-pass-1", "password": "My-own-pass-9",
                                               "password_again": "My-own-pass-9", "csrf_token": csrf_from(page.text)},
                    follow_redirects=False)
    assert r.status_code == 303
    assert _logged_in(client)


def test_a_password_older_than_the_age_setting_must_be_changed(client, session, county, frozen):
    user = make_user(session, "village_doctor", VILLAGE_A1)
    frozen.shift(days=91)
    assert _post_login(client, user.username, PASSWORD).status_code == 303
    r = client.get("/", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/account/password")
    assert "有效期" in client.get("/account/password").text


# --- the second factor -------------------------------------------------------------------------------
def test_an_administrator_without_a_second_factor_gets_nothing_but_its_set_up(client, session, county):
    admin = make_user(session, "sysadmin", COUNTY)
    assert _post_login(client, admin.username, PASSWORD).status_code == 303
    for path in ("/", "/users", "/residents"):
        r = client.get(path, follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, "/account/totp")
    assert client.get("/api/v1/auth/me").status_code == 401
    page = client.get("/account/totp")
    assert page.status_code == 200 and "<svg" in page.text  # the QR code, drawn here
    r = client.post("/api/v1/auth/token", json={"username": admin.username, "password": PASSWORD})
    assert r.status_code == 403
    set_up_totp(client)
    assert client.get("/users").status_code == 200


def test_a_user_with_a_second_factor_needs_the_code_and_a_code_is_good_once(client, session, county, frozen):
    admin = make_user(session, "sysadmin", COUNTY)
    page_login(client, admin.username)  # sets it up
    _logout(client)
    r = _post_login(client, admin.username, PASSWORD)
    assert r.headers["location"].startswith("/login/totp")
    assert client.get("/users", follow_redirects=False).headers["location"] == "/login/totp"
    form = csrf_from(client.get("/login/totp").text)
    assert client.post("/login/totp", data={"code": "000000", "csrf_token": form}).status_code == 401
    code = totp_code(client, admin.username)
    assert client.post("/login/totp", data={"code": code, "csrf_token": form},
                       follow_redirects=False).status_code == 303
    assert client.get("/users").status_code == 200
    _logout(client)
    _post_login(client, admin.username, PASSWORD)
    form = csrf_from(client.get("/login/totp").text)
    r = client.post("/login/totp", data={"code": code, "csrf_token": form})  # replayed
    assert r.status_code == 401 and "已使用" in r.text
    assert _count(session, AuditEvent, AuditEvent.action == "login_failed",
                  AuditEvent.detail.like('%second_factor%')) == 2


def test_the_token_route_needs_the_code_of_a_user_with_a_second_factor(client, session, county, frozen):
    user = make_user(session, "village_doctor", VILLAGE_A1)  # not required for the role, but set up
    page_login(client, user.username)
    set_up_totp(client)
    body = {"username": user.username, "password": PASSWORD}
    assert client.post("/api/v1/auth/token", json=body).status_code == 401
    frozen.shift(seconds=30)
    code = totp_code(client, user.username)
    assert client.post("/api/v1/auth/token", json={**body, "totp": code}).status_code == 200
    assert client.post("/api/v1/auth/token", json={**body, "totp": code}).status_code == 401  # replayed


def test_a_forged_set_up_form_is_refused(client, session, county):
    user = make_user(session, "village_doctor", VILLAGE_A1)
    page_login(client, user.username)
    page = client.get("/account/totp")
    secret = second_factor.new_secret()
    r = client.post("/account/totp", data={"secret": secret, "signature": "0" * 64, "csrf_token": csrf_from(page.text),
                                           "code": second_factor.code_at(secret)})
    assert r.status_code == 403
    assert session.get(User, user.id).totp_secret is None


def test_the_security_administrator_resets_a_second_factor_and_its_sessions_end(app, client, session, county):
    user = make_user(session, "sysadmin", COUNTY)
    security = make_user(session, "security_admin", COUNTY)
    page_login(client, user.username)
    session.refresh(user)
    assert user.totp_secret
    accounts_service.reset_second_factor(session=session, actor=accounts_service.actor_for(security), user_id=user.id)
    assert not _logged_in(client)
    session.refresh(user)
    assert user.totp_secret is None
    assert _count(session, AuditEvent, AuditEvent.action == "totp_reset", AuditEvent.user_id == security.id) == 1


def test_demo_accounts_keep_their_password_and_need_no_second_factor_but_never_in_production(app, client, session,
                                                                                            county):
    accounts_service.create(session=session, username="demo.admin", password="demo-1234", full_name="演示",
                            role="sysadmin", orgunit_code=COUNTY, demo=True)
    assert _post_login(client, "demo.admin", "demo-1234").status_code == 303
    assert client.get("/users").status_code == 200
    _logout(client)
    settings = app.state.settings
    try:
        app.state.settings = settings.model_copy(update={"environment": "production"})
        assert _post_login(client, "demo.admin", "demo-1234").status_code == 401
    finally:
        app.state.settings = settings


def test_the_throttle_counts_are_kept_per_account_name_and_address(session, county):
    accounts_service.record_failed_attempt(session=session, username="Some.One", ip="10.1.2.3", via="page")
    rows = {(r.kind, r.key): r.failures for r in session.scalars(select(LoginThrottle))}
    assert rows == {("user", "some.one"): 1, ("ip", "10.1.2.3"): 1}


def test_a_second_factor_form_with_non_ascii_input_is_refused_not_a_server_error(client, session, county, frozen):
    # Found by the API fuzzer (tests/security): compare_digest raised TypeError on non-ASCII text (a 500), and
    # "²²²²²²" passed str.isdigit() as a six-digit code.
    user = make_user(session, "village_doctor", VILLAGE_A1)
    page_login(client, user.username)
    page = client.get("/account/totp").text
    r = client.post("/account/totp", data={"secret": "JBSWY3DPEHPK3PXP", "signature": "偽造", "code": "123456",
                                           "csrf_token": csrf_from(page)})
    assert 400 <= r.status_code < 500
    secret = set_up_totp(client)
    assert second_factor.matching_step(secret, "²" * 6, last_step=None) is None
    _logout(client)
    _post_login(client, user.username, PASSWORD)
    r = client.post("/login/totp", data={"code": "²" * 6, "csrf_token": csrf_from(client.get("/login/totp").text)})
    assert r.status_code == 401
