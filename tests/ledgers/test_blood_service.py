"""Voluntary blood donation, the service: a donor is a resident in the user's scope (or, for county-level
users, a person from outside the county); every donation is checked against GB 18467-2011 (volumes, units,
the age on the day, the intervals after and before the person's other donations, 24 apheresis a year) and a
refusal names its field and writes nothing; totals, honours and the recall list; reads are audited; a
resident merge moves the donor and the intervals still see every donation of the person."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests import factories as f
from weijian.accounts import service as accounts_service
from weijian.accounts.models import AuditEvent
from weijian.core.actor import Actor
from weijian.core.commands import build
from weijian.core.errors import InvalidInput, NotFound
from weijian.core.i18n import translate
from weijian.ledgers.blood import queries, service
from weijian.ledgers.blood.models import BloodDonation, BloodDonor
from weijian.ledgers.blood.schemas import DonationCreate, DonorCreate
from weijian.residents import service as residents_service

TODAY = date(2026, 12, 8)


@pytest.fixture()
def world(session):
    f.make_county(session)
    users = {"town": f.make_user(session, "township_doctor", f.TOWN_A),
             "bureau": f.make_user(session, "bureau_admin", f.COUNTY)}
    actors = {k: accounts_service.actor_for(u) for k, u in users.items()}
    donor_resident = f.make_resident(session, name="李献血", village_code=f.VILLAGE_A1, sex="male",
                                     birth_date=date(1990, 5, 1), phone="13900001111")
    other = f.make_resident(session, name="南河居民", village_code=f.VILLAGE_B1, birth_date=date(1985, 1, 1))
    return actors, donor_resident, other


def _donor(session, actor, **values):
    return service.register_donor(session=session, donor_in=build(DonorCreate, values), actor=actor, today=TODAY)


def _give(session, actor, donor, on, kind="whole_blood", **over):
    values = {"donated_on": on.isoformat(), "kind": kind,
              **({"volume_ml": 400} if kind == "whole_blood" else {"units": 1}), **over}
    return service.record_donation(session=session, donor_id=donor.id, donation_in=build(DonationCreate, values),
                                   actor=actor, today=TODAY)


def _fields(exc) -> dict[str, str]:
    return {e.field: e.reason_key.rsplit(".", 1)[-1] for e in exc.value.errors}


def test_a_resident_donor_takes_name_sex_and_birth_from_the_record(session, world):
    actors, person, _ = world
    donor = _donor(session, actors["town"], resident_id=person.id, blood_group="O")
    assert (donor.name, donor.sex, donor.birth_date, donor.resident_id) == ("李献血", "male", date(1990, 5, 1), person.id)
    with pytest.raises(InvalidInput) as exc:
        _donor(session, actors["town"], resident_id=person.id)
    assert _fields(exc) == {"resident_id": "already_donor"}


def test_a_resident_who_died_is_not_registered_as_a_donor(session, world):
    actors, person, _ = world
    person.status = "deceased"
    session.flush()
    with pytest.raises(InvalidInput) as exc:
        _donor(session, actors["town"], resident_id=person.id)
    error = exc.value.errors[0]
    assert _fields(exc) == {"resident_id": "resident_inactive"}
    assert translate(error.reason_key, **error.params) == "该居民状态为“已死亡”，不能登记为献血者"


def test_a_resident_outside_the_scope_is_not_found(session, world):
    actors, _, other = world
    with pytest.raises(NotFound):
        _donor(session, actors["town"], resident_id=other.id)


def test_an_outside_donor_needs_a_county_user_and_reads_sex_and_birth_from_the_id_number(session, world):
    actors, _, _ = world
    number = f.new_id_number(birth=date(1988, 3, 3), male=False, division="110105")
    with pytest.raises(InvalidInput) as exc:
        _donor(session, actors["town"], name="王外县", id_number=number)
    assert _fields(exc) == {"resident_id": "outside_needs_county"}
    donor = _donor(session, actors["bureau"], name="王外县", id_number=number)
    assert (donor.sex, donor.birth_date, donor.resident_id) == ("female", date(1988, 3, 3), None)
    with pytest.raises(InvalidInput) as exc:
        _donor(session, actors["bureau"], name="王外县", id_number=number, sex="male")
    assert _fields(exc) == {"id_number": "id_number_disagrees"}
    with pytest.raises(InvalidInput) as exc:
        _donor(session, actors["bureau"])
    assert set(_fields(exc)) == {"name", "sex", "birth_date"}


def test_whole_blood_six_months_after_31_august_is_allowed_on_28_february(session, world):
    """GB 18467-2011: whole blood ≥ 6 months apart. 31 August 2025 + 6 months = 28 February 2026."""
    actors, person, _ = world
    donor = _donor(session, actors["town"], resident_id=person.id)
    _give(session, actors["town"], donor, date(2025, 8, 31))
    with pytest.raises(InvalidInput) as exc:
        _give(session, actors["town"], donor, date(2026, 2, 27))
    assert _fields(exc) == {"donated_on": "too_soon"}
    assert exc.value.errors[0].params["earliest"] == date(2026, 2, 28)
    assert _give(session, actors["town"], donor, date(2026, 2, 28)).id


def test_the_cross_kind_intervals_hold_both_ways(session, world):
    """Platelets → whole blood ≥ 4 weeks; whole blood → platelets ≥ 3 months; platelets → platelets ≥ 2 weeks."""
    actors, person, _ = world
    donor = _donor(session, actors["town"], resident_id=person.id)
    _give(session, actors["town"], donor, date(2026, 3, 1), kind="platelets")
    with pytest.raises(InvalidInput):
        _give(session, actors["town"], donor, date(2026, 3, 14), kind="platelets")   # 13 days
    _give(session, actors["town"], donor, date(2026, 3, 15), kind="platelets")       # 14 days
    with pytest.raises(InvalidInput):
        _give(session, actors["town"], donor, date(2026, 4, 11))                     # 27 days after 15 March
    _give(session, actors["town"], donor, date(2026, 4, 12))                         # 28 days
    with pytest.raises(InvalidInput) as exc:
        _give(session, actors["town"], donor, date(2026, 7, 11), kind="platelets")   # 3 months is 12 July
    assert exc.value.errors[0].params["earliest"] == date(2026, 7, 12)
    # A donation entered late, too close before one already recorded, is refused too.
    with pytest.raises(InvalidInput) as exc:
        _give(session, actors["town"], donor, date(2026, 2, 20))
    assert _fields(exc) == {"donated_on": "too_close_to_later"}
    assert session.scalar(select(func.count(BloodDonation.id)).where(BloodDonation.donor_id == donor.id)) == 3


def test_volumes_and_units_are_those_of_the_standard(session, world):
    actors, person, _ = world
    donor = _donor(session, actors["town"], resident_id=person.id)
    with pytest.raises(InvalidInput) as exc:
        _give(session, actors["town"], donor, date(2026, 1, 5), volume_ml=250)
    assert _fields(exc) == {"volume_ml": "volume_not_allowed"}
    with pytest.raises(InvalidInput) as exc:
        _give(session, actors["town"], donor, date(2026, 1, 5), kind="platelets", units=3, volume_ml=200)
    assert _fields(exc) == {"units": "units_not_allowed", "volume_ml": "volume_for_whole_blood"}
    with pytest.raises(InvalidInput) as exc:
        _give(session, actors["town"], donor, TODAY + timedelta(days=1))
    assert _fields(exc) == {"donated_on": "in_future"}


def test_the_age_limits_18_to_55_and_60_for_a_repeat_donor_without_a_reaction(session, world):
    """GB 18467-2011: 18–55 周岁; 既往无献血反应、符合健康检查要求的多次献血者主动要求再次献血的, 可延长至60周岁."""
    actors, _, _ = world
    young = f.make_resident(session, name="小青年", village_code=f.VILLAGE_A1, birth_date=date(2008, 2, 29))
    donor = _donor(session, actors["town"], resident_id=young.id)
    with pytest.raises(InvalidInput) as exc:
        _give(session, actors["town"], donor, date(2026, 2, 28))   # born on a leap day: 18 on 1 March 2026
    assert _fields(exc) == {"donated_on": "age_below"}
    _give(session, actors["town"], donor, date(2026, 3, 1))
    first_timer = f.make_resident(session, name="老张", village_code=f.VILLAGE_A1, birth_date=date(1970, 6, 1))
    late = _donor(session, actors["town"], resident_id=first_timer.id)
    with pytest.raises(InvalidInput) as exc:
        _give(session, actors["town"], late, date(2026, 6, 1))     # 56 today, never donated
    assert _fields(exc) == {"donated_on": "age_above_first"}
    _give(session, actors["town"], late, date(2026, 5, 31))        # 55 the day before
    _give(session, actors["town"], late, date(2026, 12, 1))        # a repeat donor at 56
    reacted = f.make_resident(session, name="老王", village_code=f.VILLAGE_A1, birth_date=date(1970, 1, 1))
    r_donor = _donor(session, actors["town"], resident_id=reacted.id)
    _give(session, actors["town"], r_donor, date(2025, 6, 1), adverse_reaction=True)
    with pytest.raises(InvalidInput) as exc:
        _give(session, actors["town"], r_donor, date(2026, 6, 1))
    assert _fields(exc) == {"donated_on": "age_above_reaction"}
    old = f.make_resident(session, name="老李", village_code=f.VILLAGE_A1, birth_date=date(1965, 12, 1))
    o_donor = _donor(session, actors["town"], resident_id=old.id)
    with pytest.raises(InvalidInput) as exc:
        _give(session, actors["town"], o_donor, date(2025, 6, 1))  # 59, and a first donation
    assert _fields(exc) == {"donated_on": "age_above_first"}
    session.add(BloodDonation(donor_id=o_donor.id, donated_on=date(2019, 6, 1), kind="whole_blood", volume_ml=400,
                              recorded_by="test"))                   # at 53
    session.flush()
    _give(session, actors["town"], o_donor, date(2025, 6, 1))      # 59, a repeat donor
    with pytest.raises(InvalidInput) as exc:
        _give(session, actors["town"], o_donor, date(2026, 12, 1))  # 61
    assert _fields(exc) == {"donated_on": "age_above_repeat"}


def test_the_25th_apheresis_of_a_calendar_year_is_refused(session, world):
    actors, person, _ = world
    donor = _donor(session, actors["town"], resident_id=person.id)
    for i in range(24):
        session.add(BloodDonation(donor_id=donor.id, donated_on=date(2025, 1, 1) + timedelta(days=14 * i),
                                  kind="platelets", units=1, recorded_by="test"))
    session.flush()
    with pytest.raises(InvalidInput) as exc:
        _give(session, actors["town"], donor, date(2025, 12, 30), kind="platelets")
    assert _fields(exc) == {"donated_on": "platelets_year_full"}
    assert _give(session, actors["town"], donor, date(2026, 1, 2), kind="platelets").id


def test_totals_honours_and_next_days(session, world):
    actors, person, _ = world
    donor = _donor(session, actors["town"], resident_id=person.id)
    for day in [date(y, m, 10) for y in (2022, 2023, 2024, 2025) for m in (1, 7)] + [date(2026, 1, 10)]:
        _give(session, actors["town"], donor, day)                  # 9 × 400 ml, each 6 months after the last
    _give(session, actors["town"], donor, date(2026, 6, 1), kind="platelets", units=2)
    s = queries.get_donor(session=session, actor=actors["town"], donor_id=donor.id)
    assert (s.whole_blood_ml, s.platelet_units, s.honours_count) == (3600, 2, 20)
    assert s.award is not None and s.award.code == "bronze"
    # The last whole blood on 10 January 2026: whole blood again from 10 July (later than four weeks after the
    # platelets of 1 June, 29 June); platelets from 15 June (two weeks after 1 June; later than 10 April).
    assert s.next_for("whole_blood") == date(2026, 7, 10)
    assert s.next_for("platelets") == date(2026, 6, 15)


def test_the_recall_lists_donors_eligible_again_within_the_age_limits(session, world):
    actors, person, _ = world
    due = _donor(session, actors["town"], resident_id=person.id)
    _give(session, actors["town"], due, date(2026, 5, 1))          # whole blood again from 1 November
    recent = f.make_resident(session, name="刚献过", village_code=f.VILLAGE_A2, birth_date=date(1995, 1, 1))
    not_yet = _donor(session, actors["town"], resident_id=recent.id)
    _give(session, actors["town"], not_yet, date(2026, 11, 1))     # platelets from 1 February
    aged = f.make_resident(session, name="过年龄", village_code=f.VILLAGE_A2, birth_date=date(1960, 1, 1))
    too_old = _donor(session, actors["town"], resident_id=aged.id)
    session.add(BloodDonation(donor_id=too_old.id, donated_on=date(2019, 1, 1), kind="whole_blood", volume_ml=200,
                              recorded_by="test"))
    session.flush()
    items = queries.recall(session=session, actor=actors["town"], as_of=TODAY)
    assert [(s.donor.id, s.eligible_since) for s in items] == [(due.id, date(2026, 8, 1))]
    event = session.scalar(select(AuditEvent).where(AuditEvent.entity_type == "blood_recall"))
    assert event is not None and event.action == "list"


def test_reads_are_audited_with_the_basis_and_another_township_sees_nothing(session, world):
    actors, person, _ = world
    donor = _donor(session, actors["town"], resident_id=person.id)
    outside = _donor(session, actors["bureau"], name="外县人", sex="male", birth_date=date(1980, 1, 1))
    other_town = accounts_service.actor_for(f.make_user(session, "township_doctor", f.TOWN_B))
    with pytest.raises(NotFound):
        queries.get_donor(session=session, actor=other_town, donor_id=donor.id)
    assert queries.list_donors(session=session, actor=other_town) == []
    queries.get_donor(session=session, actor=actors["town"], donor_id=donor.id)
    with pytest.raises(NotFound):
        queries.get_donor(session=session, actor=actors["town"], donor_id=outside.id)
    seen = {s.donor.id for s in queries.list_donors(session=session, actor=actors["bureau"])}
    assert seen == {donor.id, outside.id}
    events = session.execute(select(AuditEvent.action, AuditEvent.basis).where(
        AuditEvent.entity_type == "blood_donor", AuditEvent.resident_id == person.id)).all()
    assert ("read", "own_township") in [tuple(e) for e in events]


def test_a_merge_moves_the_donor_and_the_interval_sees_both_records(session, world):
    actors, person, _ = world
    twin = f.make_resident(session, name="李献血", village_code=f.VILLAGE_A1, sex="male", birth_date=date(1990, 5, 1),
                           id_number=None)
    first = _donor(session, actors["town"], resident_id=person.id)
    second = _donor(session, actors["town"], resident_id=twin.id)
    _give(session, actors["town"], first, date(2026, 6, 1))
    residents_service.merge(session=session, survivor_id=person.id, merged_id=twin.id, reason="重复建档",
                            actor=Actor.system("test"))
    session.refresh(second)
    assert second.resident_id == person.id
    with pytest.raises(InvalidInput) as exc:
        _give(session, actors["town"], second, date(2026, 9, 1))   # 3 months after 1 June on the other row
    assert _fields(exc) == {"donated_on": "too_soon"}
    assert session.scalar(select(func.count(BloodDonor.id)).where(BloodDonor.resident_id == person.id)) == 2
