"""Issue 12, part 2b: separation of duties (三权分立) — the system, security and audit administrators."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.factories import COUNTY, VILLAGE_A1, csrf_from, make_county, make_user, page_login, token_headers
from weijian.accounts import service as accounts_service
from weijian.accounts.models import AuditEvent, User
from weijian.accounts.schemas import UserCreate
from weijian.core.commands import build
from weijian.core.errors import Forbidden

ADMIN_ROLES = {"sysadmin", "security_admin", "audit_admin"}


@pytest.fixture()
def county(session):
    return make_county(session)


def test_the_three_administrator_roles_are_declared_and_their_duties_do_not_overlap():
    roles = accounts_service.roles()
    assert accounts_service.admin_roles() == ADMIN_ROLES
    sysadmin, security, audit = (roles[r]["permissions"] for r in ("sysadmin", "security_admin", "audit_admin"))
    assert "audit:read" not in sysadmin and "audit:verify" not in sysadmin
    assert audit == {"audit:read", "audit:verify"}
    assert security == {"role:assign", "lockout:manage", "totp:reset", "key:manage"}
    assert not (sysadmin & security) and not (sysadmin & audit) and not (security & audit)


def test_nobody_holds_two_administrator_roles(session, county):
    for role in ADMIN_ROLES:
        make_user(session, role, COUNTY)
    # One role per user (a column, not a list): the database check an assessor runs.
    per_user = session.execute(select(User.id, func.count()).where(User.role.in_(ADMIN_ROLES))
                               .group_by(User.id).having(func.count() > 1)).all()
    assert per_user == []


def test_the_system_administrator_cannot_read_the_audit_log(client, session, county):
    admin = make_user(session, "sysadmin", COUNTY)
    page_login(client, admin.username)
    assert client.get("/audit").status_code == 403
    assert client.get("/api/v1/audit", headers=token_headers(session, admin)).status_code == 403
    assert client.get("/security").status_code == 403


def test_the_audit_administrator_reads_the_audit_log_and_nothing_else(client, session, county):
    auditor = make_user(session, "audit_admin", COUNTY)
    page_login(client, auditor.username)
    assert client.get("/audit").status_code == 200
    headers = token_headers(session, auditor)
    assert client.get("/api/v1/audit", headers=headers).status_code == 200
    assert client.get("/users").status_code == 403
    token = csrf_from(client.get("/audit").text)
    r = client.post("/users", data={"username": "new.one", "password": "Long-enough-1", "role": "village_doctor",
                                    "orgunit_code": VILLAGE_A1, "csrf_token": token})
    assert r.status_code == 403
    assert accounts_service.get_by_username(session=session, username="new.one") is None
    for path in ("/residents", "/security", "/api/v1/residents"):
        assert client.get(path, headers=headers).status_code == 403, path


def test_the_security_administrator_assigns_roles_but_reads_neither_audit_nor_records(client, session, county):
    security = make_user(session, "security_admin", COUNTY)
    doctor = make_user(session, "county_doctor", COUNTY)
    page_login(client, security.username)
    assert client.get("/audit").status_code == 403
    assert client.get("/users").status_code == 403
    assert client.get("/residents").status_code == 403
    page = client.get("/security")
    r = client.post(f"/security/users/{doctor.id}/role", data={"role": "audit_admin", "csrf_token": csrf_from(page.text)},
                    follow_redirects=False)
    assert r.status_code == 303
    session.refresh(doctor)
    assert doctor.role == "audit_admin"
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "role_set"))
    assert event.user_id == security.id and '"to": "audit_admin"' in event.detail


def test_the_system_administrator_creates_ordinary_users_but_gives_no_administrator_role(client, session, county):
    admin = make_user(session, "sysadmin", COUNTY)
    with pytest.raises(Forbidden):
        accounts_service.register_user(session=session, actor=accounts_service.actor_for(admin), user_in=build(UserCreate, {
            "username": "x.admin", "password": "Long-enough-1", "full_name": "", "role": "audit_admin",
            "orgunit_code": COUNTY}))
    page_login(client, admin.username)
    page = client.get("/users")
    assert 'value="audit_admin"' not in page.text and 'value="village_doctor"' in page.text
    r = client.post("/users", data={"username": "x.admin", "password": "Long-enough-1", "role": "security_admin",
                                    "orgunit_code": COUNTY, "csrf_token": csrf_from(page.text)})
    assert r.status_code == 403
