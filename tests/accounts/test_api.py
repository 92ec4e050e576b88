"""/api/v1/auth and /api/v1/audit; and the rule that every other /api/v1 route needs credentials."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.routing import iter_route_contexts
from sqlalchemy import func, select

from tests.factories import COUNTY, PASSWORD, VILLAGE_A1, make_county, make_user, page_login, token_headers
from weijian.accounts import service as accounts_service
from weijian.accounts.models import ApiToken, AuditEvent
from weijian.core import clock
from weijian.core.actor import Actor

UTC = UTC
TOKEN_ROUTE = ("POST", "/api/v1/auth/token")


@pytest.fixture()
def county(session):
    return make_county(session)


def _failed_logins(session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "login_failed"))


# --- tokens ---------------------------------------------------------------------------------------
def test_token_for_json_credentials_opens_the_api(client, session, county):
    user = make_user(session, "village_doctor", VILLAGE_A1)
    r = client.post("/api/v1/auth/token", json={"username": user.username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer"
    assert datetime.fromisoformat(body["expires_at"]) > datetime.now(UTC)
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["username"] == user.username
    assert "resident:read" in me.json()["permissions"]
    logins = session.scalars(select(AuditEvent).where(AuditEvent.action == "login")).all()
    assert [(e.user_id, e.basis) for e in logins] == [(user.id, "authentication")]


def test_token_for_form_credentials(client, session, county):
    user = make_user(session, "village_doctor", VILLAGE_A1)
    r = client.post("/api/v1/auth/token", data={"username": user.username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    assert r.json()["access_token"]


def test_bad_credentials_get_401_with_the_error_body_and_are_audited(client, session, county):
    user = make_user(session, "village_doctor", VILLAGE_A1)
    before = _failed_logins(session)
    r = client.post("/api/v1/auth/token", json={"username": user.username, "password": "wrong-password"})
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    error = r.json()["error"]
    assert error["code"] == "unauthorized"
    assert error["message"] == "用户名或密码错误"
    assert _failed_logins(session) == before + 1
    assert session.scalar(select(func.count()).select_from(ApiToken)) == 0


def test_missing_password_is_a_422_naming_the_field(client, county):
    r = client.post("/api/v1/auth/token", json={"username": "someone"})
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "password"


def test_expired_token_gets_401(client, session, county):
    user = make_user(session, "village_doctor", VILLAGE_A1)
    headers = token_headers(session, user)
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    for row in session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)):
        row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    session.flush()
    r = client.get("/api/v1/auth/me", headers=headers)
    assert r.status_code == 401
    assert r.json()["error"]["message_key"] == "accounts.errors.token_invalid"


def test_inactive_user_gets_no_token_and_their_old_token_stops_working(client, session, county):
    user = make_user(session, "village_doctor", VILLAGE_A1)
    headers = token_headers(session, user)
    user.is_active = False
    session.flush()
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    r = client.post("/api/v1/auth/token", json={"username": user.username, "password": PASSWORD})
    assert r.status_code == 401


def test_revoked_token_gets_401(client, session, county):
    user = make_user(session, "village_doctor", VILLAGE_A1)
    headers = token_headers(session, user)
    assert client.delete("/api/v1/auth/token", headers=headers).status_code == 204
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401


def test_log_in_cookie_reads_the_api_but_cannot_write_to_it(client, session, county):
    user = make_user(session, "village_doctor", VILLAGE_A1)
    page_login(client, user.username)
    assert client.get("/api/v1/auth/me").status_code == 200
    assert client.delete("/api/v1/auth/token").status_code == 401


# --- every /api/v1 route needs credentials --------------------------------------------------------
def _api_routes(app) -> list[tuple[str, str]]:
    """(method, path) of every /api/v1 endpoint, through included routers; path parameters get a dummy."""
    out = set()
    for route in iter_route_contexts(app.routes):
        path = route.path or ""
        if not path.startswith("/api/v1/"):
            continue
        concrete = re.sub(r"\{[^}:]+(:[^}]+)?\}", "1", path)
        for method in route.methods or ():
            if method != "HEAD" and (method, path) != TOKEN_ROUTE:
                out.add((method, concrete))
    return sorted(out)


def test_every_api_route_but_the_token_route_refuses_anonymous_requests(app, client):
    routes = _api_routes(app)
    # The walk must see the routes it guards (an empty walk would pass vacuously).
    assert ("GET", "/api/v1/auth/me") in routes
    assert ("GET", "/api/v1/audit") in routes
    assert TOKEN_ROUTE not in routes
    refused = {f"{m} {p}": client.request(m, p).status_code for m, p in routes}
    assert {k: v for k, v in refused.items() if v != 401} == {}


def test_every_api_route_refuses_a_made_up_token(app, client):
    headers = {"Authorization": "Bearer not-a-real-token"}
    refused = {f"{m} {p}": client.request(m, p, headers=headers).status_code for m, p in _api_routes(app)}
    assert {k: v for k, v in refused.items() if v != 401} == {}


# --- audit ----------------------------------------------------------------------------------------
def test_audit_api_needs_audit_read(client, session, county):
    doctor = make_user(session, "county_doctor", COUNTY)
    assert client.get("/api/v1/audit", headers=token_headers(session, doctor)).status_code == 403


def test_audit_api_filters_by_user_resident_and_date(client, session, county):
    admin = make_user(session, "bureau_admin", COUNTY)
    doctor = make_user(session, "village_doctor", VILLAGE_A1)
    actor = accounts_service.actor_for(doctor)
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="resident", entity_id=41,
                           resident_id=41, basis="own_village")
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="resident", entity_id=42,
                           resident_id=42, basis="own_village")
    accounts_service.audit(session=session, actor=Actor.system("x"), action="read", entity_type="resident",
                           entity_id=41, resident_id=41, basis="system")
    headers = token_headers(session, admin)
    today = clock.local_date(datetime.now(UTC))

    r = client.get("/api/v1/audit", headers=headers,
                   params={"user": doctor.username, "resident_id": 41, "date_from": today.isoformat(),
                           "date_to": today.isoformat()})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 1
    (item,) = body["items"]
    assert (item["username"], item["resident_id"], item["basis"]) == (doctor.username, 41, "own_village")

    yesterday = (today - timedelta(days=1)).isoformat()
    r = client.get("/api/v1/audit", headers=headers, params={"user": str(doctor.id), "date_to": yesterday})
    assert r.json()["total"] == 0


def test_audit_api_pages_newest_first(client, session, county):
    admin = make_user(session, "bureau_admin", COUNTY)
    actor = accounts_service.actor_for(admin)
    ids = [accounts_service.audit(session=session, actor=actor, action="read", entity_type="resident",
                                  resident_id=5, basis="statistics").id for _ in range(3)]
    r = client.get("/api/v1/audit", headers=token_headers(session, admin),
                   params={"resident_id": 5, "page": 1, "page_size": 2})
    body = r.json()
    assert (body["total"], body["page"], body["page_size"]) == (3, 1, 2)
    assert [i["id"] for i in body["items"]] == [ids[2], ids[1]]


def test_audit_api_refuses_a_backwards_date_range(client, session, county):
    admin = make_user(session, "bureau_admin", COUNTY)
    r = client.get("/api/v1/audit", headers=token_headers(session, admin),
                   params={"date_from": "2025-03-10", "date_to": "2025-03-01"})
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "date_to"


@pytest.mark.parametrize(("params", "field"), [
    ({"resident_id": str(2**64)}, "resident_id"), ({"page": str(2**64)}, "page"),
    ({"date_from": "0001-01-01"}, "date_from"), ({"date_to": "9999-12-31"}, "date_to"),
])
def test_audit_api_refuses_values_out_of_bounds_naming_the_field(client, session, county, params, field):
    admin = make_user(session, "bureau_admin", COUNTY)
    r = client.get("/api/v1/audit", headers=token_headers(session, admin), params=params)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field


@pytest.mark.parametrize("user", ["²", "9" * 25])
def test_audit_user_filter_that_is_no_id_matches_by_name_only(client, session, county, user):
    # Found by the API fuzzer (tests/security): "²" passes str.isdigit() but not int(), and an id past 64 bits
    # reached the database: 500s, on the API and the audit page.
    admin = make_user(session, "bureau_admin", COUNTY)
    headers = token_headers(session, admin)
    accounts_service.audit(session=session, actor=accounts_service.actor_for(admin), action="read",
                           entity_type="resident", resident_id=5, basis="statistics")
    r = client.get("/api/v1/audit", headers=headers, params={"user": user})
    assert r.status_code == 200 and r.json()["total"] == 0
    assert client.get("/audit", headers=headers, params={"user": user}).status_code == 200
