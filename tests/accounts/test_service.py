"""accounts.service: passwords, log-in, tokens, user administration, and the append-only audit log."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from tests.factories import (
    COUNTY,
    PASSWORD,
    TOWN_A,
    TOWN_B,
    VILLAGE_A1,
    VILLAGE_B1,
    make_audit_event,
    make_county,
    make_user,
)
from weijian.accounts import service as accounts_service
from weijian.accounts.models import ApiToken, AuditEvent
from weijian.accounts.schemas import UserCreate
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.commands import build
from weijian.core.errors import Forbidden, InvalidInput, InvalidState, NotFound, Unauthorized

UTC = UTC


@pytest.fixture()
def county(session):
    return make_county(session)


def _events(session, **where):
    stmt = select(AuditEvent).filter_by(**where).order_by(AuditEvent.id)
    return list(session.scalars(stmt))


# --- passwords and log-in -------------------------------------------------------------------------
def test_passwords_are_stored_as_argon2id_hashes():
    hashed = accounts_service.hash_password("correct-horse-9")
    assert hashed.startswith("$argon2id$")
    assert "correct-horse-9" not in hashed
    assert accounts_service.verify_password(hashed, "correct-horse-9")
    assert not accounts_service.verify_password(hashed, "correct-horse-8")
    assert not accounts_service.verify_password("not a hash", "correct-horse-9")


def test_created_user_keeps_only_the_hash(session, county):
    user = make_user(session, "village_doctor", VILLAGE_A1)
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_log_in_returns_the_user_and_audits_it(session, county):
    user = make_user(session, "township_doctor", TOWN_A)
    got = accounts_service.log_in(session=session, username=user.username, password=PASSWORD, ip="10.0.0.5",
                                  via="page")
    assert got.id == user.id
    assert got.last_login_at is not None
    (event,) = _events(session, action="login")
    assert (event.user_id, event.username, event.basis, event.ip) == (user.id, user.username,
                                                                      "authentication", "10.0.0.5")


def test_failed_log_in_is_audited_without_a_user_id(session, county):
    user = make_user(session, "village_doctor", VILLAGE_A1)
    with pytest.raises(Unauthorized):
        accounts_service.log_in(session=session, username=user.username, password="wrong-password",
                                ip=None, via="api")
    (event,) = _events(session, action="login_failed")
    assert event.user_id is None
    assert event.username == user.username
    assert event.basis == "authentication"
    assert user.last_login_at is None


def test_unknown_user_and_wrong_password_get_the_same_error(session, county):
    user = make_user(session, "village_doctor", VILLAGE_A1)
    with pytest.raises(Unauthorized) as unknown:
        accounts_service.authenticate(session=session, username="nobody", password=PASSWORD)
    with pytest.raises(Unauthorized) as wrong:
        accounts_service.authenticate(session=session, username=user.username, password="x" * 10)
    assert unknown.value.message_key == wrong.value.message_key == "accounts.errors.bad_credentials"


def test_inactive_user_cannot_log_in(session, county):
    user = make_user(session, "village_doctor", VILLAGE_A1)
    user.is_active = False
    with pytest.raises(Unauthorized):
        accounts_service.authenticate(session=session, username=user.username, password=PASSWORD)


# --- tokens ---------------------------------------------------------------------------------------
def test_token_is_stored_hashed_and_finds_its_user(session, county):
    user = make_user(session, "village_doctor", VILLAGE_A1)
    token, expires = accounts_service.issue_token(session=session, user=user, ttl_seconds=60)
    assert expires > datetime.now(UTC)
    assert session.scalar(select(ApiToken.token_hash)) != token
    assert accounts_service.user_for_token(session=session, token=token).id == user.id


def test_expired_token_is_refused(session, county):
    user = make_user(session, "village_doctor", VILLAGE_A1)
    token, _ = accounts_service.issue_token(session=session, user=user, ttl_seconds=60)
    row = session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    session.flush()
    with pytest.raises(Unauthorized):
        accounts_service.user_for_token(session=session, token=token)


def test_revoked_token_is_refused(session, county):
    user = make_user(session, "village_doctor", VILLAGE_A1)
    token, _ = accounts_service.issue_token(session=session, user=user, ttl_seconds=60)
    accounts_service.revoke_token(session=session, token=token)
    with pytest.raises(Unauthorized):
        accounts_service.user_for_token(session=session, token=token)


def test_token_of_an_inactive_user_is_refused(session, county):
    user = make_user(session, "village_doctor", VILLAGE_A1)
    token, _ = accounts_service.issue_token(session=session, user=user, ttl_seconds=60)
    user.is_active = False
    session.flush()
    with pytest.raises(Unauthorized):
        accounts_service.user_for_token(session=session, token=token)


# --- user administration --------------------------------------------------------------------------
def test_listing_users_needs_user_manage(session, county):
    doctor = make_user(session, "village_doctor", VILLAGE_A1)
    with pytest.raises(Forbidden):
        accounts_service.list_users(session=session, actor=accounts_service.actor_for(doctor))


def test_users_are_listed_within_the_actors_scope(session, county):
    in_town = make_user(session, "village_doctor", VILLAGE_A1)
    elsewhere = make_user(session, "village_doctor", VILLAGE_B1)
    town_admin = Actor(user_id=None, username="t", role="sysadmin", scope_code=TOWN_A,
                       permissions=frozenset({"user:manage"}))
    names = [u.username for u in accounts_service.list_users(session=session, actor=town_admin)]
    assert in_town.username in names
    assert elsewhere.username not in names
    with pytest.raises(NotFound):
        accounts_service.deactivate(session=session, actor=town_admin, user_id=elsewhere.id)
    assert elsewhere.is_active


def test_register_user_is_audited_as_administration(session, county):
    admin = accounts_service.actor_for(make_user(session, "sysadmin", COUNTY))
    user = accounts_service.register_user(session=session, actor=admin, user_in=build(UserCreate, {
        "username": "li.cunyi", "password": "long-enough-1", "full_name": "李村医", "role": "village_doctor",
        "orgunit_code": VILLAGE_A1}))
    (event,) = _events(session, action="create", entity_type="user")
    assert (event.entity_id, event.basis, event.user_id) == (str(user.id), "administration", admin.user_id)


def test_register_user_outside_the_actors_scope_is_refused(session, county):
    town_admin = Actor(user_id=None, username="t", role="sysadmin", scope_code=TOWN_A,
                       permissions=frozenset({"user:manage"}))
    with pytest.raises(InvalidInput) as exc:
        accounts_service.register_user(session=session, actor=town_admin, user_in=build(UserCreate, {
            "username": "x1", "password": "long-enough-1", "full_name": "", "role": "township_doctor",
            "orgunit_code": TOWN_B}))
    assert exc.value.field == "orgunit_code"
    assert accounts_service.get_by_username(session=session, username="x1") is None


def test_set_password_replaces_the_hash_and_revokes_tokens(session, county):
    admin = accounts_service.actor_for(make_user(session, "sysadmin", COUNTY))
    user = make_user(session, "village_doctor", VILLAGE_A1)
    token, _ = accounts_service.issue_token(session=session, user=user, ttl_seconds=60)
    accounts_service.set_password(session=session, actor=admin, user_id=user.id, password="brand-new-pass-1")
    assert accounts_service.verify_password(user.password_hash, "brand-new-pass-1")
    assert not accounts_service.verify_password(user.password_hash, PASSWORD)
    with pytest.raises(Unauthorized):
        accounts_service.user_for_token(session=session, token=token)
    assert len(_events(session, action="password_set")) == 1


def test_short_password_is_refused(session, county):
    admin = accounts_service.actor_for(make_user(session, "sysadmin", COUNTY))
    user = make_user(session, "village_doctor", VILLAGE_A1)
    before = user.password_hash
    with pytest.raises(InvalidInput) as exc:
        accounts_service.set_password(session=session, actor=admin, user_id=user.id, password="short")
    assert exc.value.field == "password"
    assert user.password_hash == before


def test_deactivated_user_cannot_log_in_and_the_change_is_audited(session, county):
    admin = accounts_service.actor_for(make_user(session, "sysadmin", COUNTY))
    user = make_user(session, "village_doctor", VILLAGE_A1)
    accounts_service.deactivate(session=session, actor=admin, user_id=user.id)
    assert not user.is_active
    with pytest.raises(Unauthorized):
        accounts_service.authenticate(session=session, username=user.username, password=PASSWORD)
    assert len(_events(session, action="deactivate")) == 1


def test_administrator_cannot_deactivate_themself(session, county):
    me = make_user(session, "sysadmin", COUNTY)
    with pytest.raises(InvalidState):
        accounts_service.deactivate(session=session, actor=accounts_service.actor_for(me), user_id=me.id)
    assert me.is_active


# --- reading the audit log ----------------------------------------------------------------------
def _event(session, at: datetime, username: str = "someone", user_id=None, resident_id=None,
           action: str = "read") -> AuditEvent:
    return make_audit_event(session, at=at, user_id=user_id, username=username, action=action,
                            entity_id=str(resident_id), resident_id=resident_id)


@pytest.fixture()
def auditor(session, county):
    return accounts_service.actor_for(make_user(session, "bureau_admin", COUNTY))


def test_reading_the_audit_log_needs_audit_read(session, county):
    doctor = accounts_service.actor_for(make_user(session, "county_doctor", COUNTY))
    with pytest.raises(Forbidden):
        accounts_service.list_audit(session=session, actor=doctor)


def test_audit_log_filters_by_username_or_user_id(session, auditor):
    doctor = make_user(session, "village_doctor", VILLAGE_A1)
    now = datetime.now(UTC)
    mine = _event(session, now, username=doctor.username, user_id=doctor.id, resident_id=7)
    _event(session, now, username="other", resident_id=7)
    by_name = accounts_service.list_audit(session=session, actor=auditor, user=doctor.username)
    by_id = accounts_service.list_audit(session=session, actor=auditor, user=str(doctor.id))
    assert [e.id for e in by_name.items] == [e.id for e in by_id.items] == [mine.id]


def test_audit_log_filters_by_resident_and_action(session, auditor):
    now = datetime.now(UTC)
    read7 = _event(session, now, resident_id=7)
    _event(session, now, resident_id=8)
    _event(session, now, resident_id=7, action="update")
    result = accounts_service.list_audit(session=session, actor=auditor, resident_id=7, action="read")
    assert [e.id for e in result.items] == [read7.id]


def test_audit_log_dates_are_asia_shanghai_days(session, auditor):
    # 2025-03-09 16:30 UTC is 2025-03-10 00:30 in Beijing; 15:59 UTC is still 2025-03-09 23:59 there.
    late = _event(session, datetime(2025, 3, 9, 16, 30, tzinfo=UTC), resident_id=1)
    early = _event(session, datetime(2025, 3, 9, 15, 59, tzinfo=UTC), resident_id=1)
    day10 = accounts_service.list_audit(session=session, actor=auditor, date_from=date(2025, 3, 10),
                                        date_to=date(2025, 3, 10))
    day9 = accounts_service.list_audit(session=session, actor=auditor, date_from=date(2025, 3, 9),
                                       date_to=date(2025, 3, 9))
    assert [e.id for e in day10.items] == [late.id]
    assert [e.id for e in day9.items] == [early.id]


def test_audit_log_is_newest_first_and_paginated(session, auditor):
    base = datetime(2025, 1, 1, tzinfo=UTC)
    events = [_event(session, base + timedelta(minutes=i), resident_id=99) for i in range(5)]
    first = accounts_service.list_audit(session=session, actor=auditor, resident_id=99, page=1, page_size=2)
    last = accounts_service.list_audit(session=session, actor=auditor, resident_id=99, page=3, page_size=2)
    assert (first.total, first.pages) == (5, 3)
    assert [e.id for e in first.items] == [events[4].id, events[3].id]
    assert [e.id for e in last.items] == [events[0].id]


def test_audit_date_range_backwards_is_refused(session, auditor):
    with pytest.raises(InvalidInput) as exc:
        accounts_service.list_audit(session=session, actor=auditor, date_from=date(2025, 3, 10),
                                    date_to=date(2025, 3, 1))
    assert exc.value.field == "date_to"


def test_local_time_is_beijing_time():
    shown = clock.local(datetime(2025, 3, 9, 16, 30, tzinfo=UTC))
    assert (shown.day, shown.hour, shown.utcoffset()) == (10, 0, timedelta(hours=8))


# --- append-only ----------------------------------------------------------------------------------
@pytest.fixture()
def logged(session, county):
    return accounts_service.audit(session=session, actor=Actor.system("test"), action="read",
                                  entity_type="resident", entity_id=1, resident_id=1, basis="system")


def test_orm_refuses_to_change_an_audit_event(session, logged):
    logged.action = "update"
    with pytest.raises(InvalidState):
        session.flush()


def test_orm_refuses_to_delete_an_audit_event(session, logged):
    session.delete(logged)
    with pytest.raises(InvalidState):
        session.flush()


@pytest.mark.parametrize("stmt", [update(AuditEvent).values(action="update"), delete(AuditEvent)],
                         ids=["update", "delete"])
def test_orm_bulk_statements_on_audit_events_are_refused(session, logged, stmt):
    with pytest.raises(InvalidState):
        session.execute(stmt)


@pytest.mark.parametrize("sql", ["UPDATE audit_events SET action = 'update' WHERE id = :id",
                                 "DELETE FROM audit_events WHERE id = :id"], ids=["update", "delete"])
def test_database_refuses_update_and_delete_of_audit_events(session, logged, sql):
    event_id = logged.id
    savepoint = session.begin_nested()
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(text(sql), {"id": event_id})
    savepoint.rollback()
    row = session.execute(text("SELECT action FROM audit_events WHERE id = :id"), {"id": event_id}).one()
    assert row.action == "read"
