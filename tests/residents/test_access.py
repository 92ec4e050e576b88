"""residents.access: the one answer to "may this user see this resident, and on what basis?"."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.factories import COUNTY, TOWN_A, TOWN_B, VILLAGE_A1, VILLAGE_A2, VILLAGE_B1, make_county, make_resident
from weijian.core.actor import Actor
from weijian.core.errors import Forbidden, InvalidInput, NotFound
from weijian.residents import access
from weijian.residents.models import Resident


def _actor(scope: str | None, facility_id: int | None = None) -> Actor:
    return Actor(user_id=1, username="u", role="village_doctor", scope_code=scope, facility_id=facility_id)


@pytest.mark.parametrize(("scope", "village", "basis"), [
    (VILLAGE_A1, VILLAGE_A1, "own_village"),
    (VILLAGE_A1, VILLAGE_A2, None),  # the next village is not the village doctor's
    (TOWN_A, VILLAGE_A2, "own_township"),
    (TOWN_A, VILLAGE_B1, None),
    (COUNTY, VILLAGE_B1, "county"),
    (None, VILLAGE_B1, "system"),
])
def test_basis_follows_the_org_unit_scope(scope: str | None, village: str, basis: str | None) -> None:
    assert access.basis_for(_actor(scope), village) == basis


def test_a_stay_at_the_users_own_facility_is_a_basis_outside_the_scope() -> None:
    actor = _actor(TOWN_A, facility_id=7)
    assert access.basis_for(actor, VILLAGE_B1, facility_id=7) == "own_facility"
    assert access.basis_for(actor, VILLAGE_B1, facility_id=8) is None
    assert access.basis_for(actor, VILLAGE_A1, facility_id=7) == "own_township"  # the scope comes first


def test_a_walk_in_is_a_resident_of_another_village_of_the_village_doctors_township() -> None:
    """Issue 14 item 14: the `walk_in` basis, asked for by the health record's visit only."""
    doctor = _actor(VILLAGE_A1, facility_id=7)
    assert access.walk_in_basis(doctor, VILLAGE_A2) == "walk_in"
    assert access.walk_in_basis(doctor, VILLAGE_A1) is None  # their own village: own_village
    assert access.walk_in_basis(doctor, VILLAGE_B1) is None  # another township
    assert access.walk_in_basis(_actor(VILLAGE_A1), VILLAGE_A2) is None  # no clinic to see them at
    assert access.walk_in_basis(_actor(TOWN_A, facility_id=7), VILLAGE_A2) is None  # township: own_township
    assert access.walk_in_basis(_actor(None), VILLAGE_A2) is None


def test_the_visibility_filter_and_the_basis_agree(session) -> None:
    make_county(session)
    ids = {v: make_resident(session, village_code=v).id for v in (VILLAGE_A1, VILLAGE_A2, VILLAGE_B1)}
    for scope in (VILLAGE_A1, TOWN_A, TOWN_B, COUNTY, None):
        actor = _actor(scope)
        seen = set(session.scalars(select(Resident.id).where(Resident.id.in_(ids.values()), access.visible(actor))))
        assert seen == {rid for v, rid in ids.items() if access.basis_for(actor, v) is not None}, scope


def test_a_resident_outside_the_scope_is_not_found_unless_shared(session, monkeypatch) -> None:
    make_county(session)
    resident = make_resident(session, village_code=VILLAGE_B1)
    actor = _actor(TOWN_A, facility_id=3)
    with pytest.raises(NotFound):
        access.resident_in_scope(session=session, actor=actor, resident_id=resident.id)
    with pytest.raises(NotFound):
        access.resident_in_scope(session=session, actor=actor, resident_id=10**6)
    monkeypatch.setattr(access.shared_basis, "_impl", lambda **kw: "referral" if kw["resident_id"] == resident.id
                        else None)
    with pytest.raises(NotFound):  # a shared basis counts only where the caller asks for it
        access.resident_in_scope(session=session, actor=actor, resident_id=resident.id)
    got, basis = access.resident_in_scope(session=session, actor=actor, resident_id=resident.id, shared=True)
    assert (got.id, basis) == (resident.id, "referral")


def test_an_org_unit_target_is_checked_for_format_existence_and_scope(session) -> None:
    make_county(session)
    actor = _actor(TOWN_A)
    assert access.orgunit_target(session=session, actor=actor, orgunit=None).code == TOWN_A
    assert access.orgunit_target(session=session, actor=actor, orgunit=VILLAGE_A2).code == VILLAGE_A2
    for code, reason in (("4211", "core.errors.division.format"),
                         ("421124199000", "residents.access.orgunit_unknown")):
        with pytest.raises(InvalidInput) as exc:
            access.orgunit_target(session=session, actor=actor, orgunit=code, field="area")
        assert (exc.value.field, exc.value.errors[0].reason_key) == ("area", reason)
    with pytest.raises(Forbidden):
        access.orgunit_target(session=session, actor=actor, orgunit=TOWN_B)
    assert access.orgunit_target(session=session, actor=_actor(None), orgunit=None,
                                 default_county=True).code == COUNTY
