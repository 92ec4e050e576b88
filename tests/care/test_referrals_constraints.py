"""Database constraints behind two service checks (issue 14 item 13): one live downward referral per upward
referral, one active registration per resident and programme. Held by partial unique indexes, so a second
row is refused even when it bypasses the service (two requests racing past its check, an import); the same
tests run on PostgreSQL (WEIJIAN_TEST_DATABASE_URL)."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.exc import IntegrityError

from tests.care import referrals_setup as rs
from tests.care.referrals_setup import NOW
from weijian.care.models import ChronicRegistration, Referral


@pytest.fixture()
def w(session):
    return rs.build(session)


def _insert_fails(session, row) -> bool:
    savepoint = session.begin_nested()
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        savepoint.rollback()
        return True
    savepoint.commit()
    return False


def _registration(w, status: str = "active") -> ChronicRegistration:
    return ChronicRegistration(resident_id=w.people["zhang"].id, program="hypertension",
                               registered_on=date(2025, 1, 1), source="manual", status=status)


def _downward(w, parent: Referral, status: str = "requested") -> Referral:
    return Referral(resident_id=parent.resident_id, direction="down", from_facility_id=w.fac["town_a"].id,
                    to_facility_id=w.fac["clinic_a1"].id, reason="康复随访", diagnosis="I10", status=status,
                    requested_at=NOW, parent_id=parent.id)


def test_a_resident_cannot_hold_two_active_registrations_of_one_programme(session, w):
    """Issue 14 item 13: two active registrations of one programme are stopped by a unique constraint."""
    assert not _insert_fails(session, _registration(w))
    assert _insert_fails(session, _registration(w))


def test_a_closed_registration_does_not_block_a_new_active_one(session, w):
    assert not _insert_fails(session, _registration(w, status="closed"))
    assert not _insert_fails(session, _registration(w, status="closed"))
    assert not _insert_fails(session, _registration(w))


def test_one_upward_referral_cannot_have_two_live_downward_referrals(session, w):
    """Issue 14 item 13: two downward referrals of one referral are stopped by a unique constraint."""
    parent = rs.refer(session, w)
    assert not _insert_fails(session, _downward(w, parent))
    assert _insert_fails(session, _downward(w, parent, status="accepted"))


def test_a_cancelled_or_rejected_downward_referral_may_be_followed_by_another(session, w):
    parent = rs.refer(session, w)
    assert not _insert_fails(session, _downward(w, parent, status="cancelled"))
    assert not _insert_fails(session, _downward(w, parent, status="rejected"))
    assert not _insert_fails(session, _downward(w, parent))
