"""A referral pathway that keeps the patient (issue 14 item 13): arrival links or records the receiving
facility's encounter; the receiving facility keeps reading what it recorded after completion and may refer
the patient onward.

Source: 国务院办公厅关于推进分级诊疗制度建设的指导意见 (国办发〔2015〕70号) asks for 双向转诊 with 上下联动 and
continuity of records between tiers; it sets no data rules, so what "keeps the patient" means here (an
encounter per arrival, reading after discharge, onward referral) is the issue's reading, not a quotation."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.care import referrals_setup as rs
from tests.care.referrals_setup import NOW, refer
from weijian.care.models import Encounter, Referral
from weijian.care.records import service as records
from weijian.care.referrals import service as referrals_service
from weijian.care.referrals.schemas import ArriveIn, CompleteIn, ReferralCreate
from weijian.core import clock
from weijian.core.commands import build
from weijian.core.errors import InvalidInput


@pytest.fixture()
def w(session):
    return rs.build(session)


def _accepted(session, w) -> Referral:
    """赵六 of 南岭村 (town B) referred by his village doctor up to 温泉镇卫生院 (town A, outside its scope)."""
    referral = refer(session, w, "village_b", resident_id=w.people["zhao"].id, to_facility_id=w.fac["town_a"].id)
    referrals_service.accept(session=session, referral_id=referral.id, actor=w.actors["town"], now=NOW)
    return referral


def _arrive(session, w, referral, **values) -> Referral:
    return referrals_service.arrive(session=session, referral_id=referral.id, actor=w.actors["town"],
                                    action_in=build(ArriveIn, values), now=NOW + timedelta(hours=3))


def test_arrival_records_the_receiving_facilitys_encounter_linked_to_the_referral(session, w):
    """Issue 14 item 13: arrival creates the receiving facility's encounter (an admission on an upward
    referral, the referral's diagnosis), linked to the referral and named in the arrival's audit."""
    referral = _arrive(session, w, _accepted(session, w))
    [stay] = session.query(Encounter).filter(Encounter.referral_id == referral.id).all()
    assert (stay.facility_id, stay.resident_id, stay.type, stay.primary_diagnosis, stay.start_date) == (
        w.fac["town_a"].id, w.people["zhao"].id, "inpatient", "I10", clock.local_date(NOW + timedelta(hours=3)))
    [event] = rs.audits(session, entity_type="referral", entity_id=str(referral.id), action="arrive")
    detail = json.loads(event.detail)
    assert detail["encounter_id"] == stay.id and detail["encounter_created"] is True


def test_arrival_as_a_visit_when_asked(session, w):
    referral = _arrive(session, w, _accepted(session, w), encounter_type="outpatient")
    [visit] = session.query(Encounter).filter(Encounter.referral_id == referral.id).all()
    assert visit.type == "outpatient"


def test_arrival_links_the_encounter_already_recorded_at_the_receiving_facility(session, w):
    referral = _accepted(session, w)
    visit = rs.visit(session, w.people["zhao"], w.fac["town_a"], clock.local_date(NOW), "I10")
    before = session.query(Encounter).count()
    _arrive(session, w, referral, encounter_id=visit.id)
    assert visit.referral_id == referral.id and session.query(Encounter).count() == before


@pytest.mark.parametrize("whose", ["other_facility", "other_patient", "before_referral"])
def test_arrival_refuses_an_encounter_that_is_not_this_patients_here(session, w, whose):
    referral = _accepted(session, w)
    on = clock.local_date(NOW)
    encounter = {
        "other_facility": lambda: rs.visit(session, w.people["zhao"], w.fac["clinic_b1"], on, "I10"),
        "other_patient": lambda: rs.visit(session, w.people["zhang"], w.fac["town_a"], on, "I10"),
        "before_referral": lambda: rs.visit(session, w.people["zhao"], w.fac["town_a"], on - timedelta(days=3), "I10"),
    }[whose]()
    with pytest.raises(InvalidInput) as caught:
        _arrive(session, w, referral, encounter_id=encounter.id)
    assert {e.field for e in caught.value.errors} == {"encounter_id"}
    assert referral.status == "accepted" and encounter.referral_id is None


def test_arrival_refuses_an_unknown_type_of_care(session, w):
    with pytest.raises(InvalidInput) as caught:
        build(ArriveIn, {"encounter_type": "day_surgery"})
    assert {e.field for e in caught.value.errors} == {"encounter_type"}


def test_the_receiving_facility_reads_what_it_recorded_after_completion(session, w):
    """Issue 14 item 13: after the referral is completed the receiving facility (outside the patient's
    scope) still reads the record it added to."""
    referral = _arrive(session, w, _accepted(session, w))
    [stay] = session.query(Encounter).filter(Encounter.referral_id == referral.id).all()
    referrals_service.complete(session=session, referral_id=referral.id, actor=w.actors["town"],
                               complete_in=build(CompleteIn, discharge_summary="血压平稳，出院"),
                               now=NOW + timedelta(days=5))
    assert records.get_encounter(session=session, encounter_id=stay.id, actor=w.actors["town"]).id == stay.id


def test_the_receiving_facility_may_refer_the_patient_onward(session, w):
    """Issue 14 item 13: the facility that received the patient may refer onward (here up to the county)."""
    _arrive(session, w, _accepted(session, w))
    onward = referrals_service.create(session=session, actor=w.actors["town"], now=NOW + timedelta(hours=4),
                                      referral_in=build(ReferralCreate, dict(
                                          resident_id=w.people["zhao"].id, direction="up",
                                          to_facility_id=w.fac["county"].id, reason="需要专科治疗",
                                          diagnosis="I10")))
    assert (onward.from_facility_id, onward.to_facility_id, onward.status) == (
        w.fac["town_a"].id, w.fac["county"].id, "requested")
    [event] = rs.audits(session, entity_type="referral", entity_id=str(onward.id), action="create")
    assert event.basis == "referral"


def test_a_facility_that_only_was_asked_cannot_refer_the_patient_onward(session, w):
    from weijian.core.errors import NotFound

    _accepted(session, w)  # accepted, not arrived
    with pytest.raises(NotFound):
        referrals_service.create(session=session, actor=w.actors["town"], now=NOW, referral_in=build(
            ReferralCreate, dict(resident_id=w.people["zhao"].id, direction="up",
                                 to_facility_id=w.fac["county"].id, reason="需要专科治疗", diagnosis="I10")))


def test_a_completed_referral_on_which_nothing_was_recorded_gives_no_access(session, w):
    referral = _accepted(session, w)
    referral.status = "completed"  # an older referral, arrived before arrivals recorded an encounter
    session.flush()
    from weijian.care.referrals import queries as referrals_queries

    assert referrals_queries.access_basis_for(session=session, actor=w.actors["town"],
                                              resident_id=w.people["zhao"].id) is None


def test_after_completion_the_receiving_facility_reads_but_records_nothing_new(session, w):
    """Issue 14 item 13: the access a referral gave ends with the referral. After completion the receiving
    facility (outside the patient's scope) reads what it recorded, on the basis "referral_record" (audited as
    such), and a new encounter there is refused: further care goes through a new referral from home."""
    from weijian.accounts.models import AuditEvent
    from weijian.care.records.schemas import EncounterCreate
    from weijian.core.errors import Forbidden

    referral = _arrive(session, w, _accepted(session, w))
    [stay] = session.query(Encounter).filter(Encounter.referral_id == referral.id).all()
    visit = dict(resident_id=w.people["zhao"].id, type="outpatient", start_date=clock.local_date(NOW),
                 diagnoses=["I10"])
    records.create_encounter(session=session, actor=w.actors["town"], encounter_in=build(EncounterCreate, visit))
    referrals_service.complete(session=session, referral_id=referral.id, actor=w.actors["town"],
                               complete_in=build(CompleteIn, discharge_summary="血压平稳，出院"),
                               now=NOW + timedelta(days=5))
    before = session.query(Encounter).count()
    with pytest.raises(Forbidden) as caught:
        records.create_encounter(session=session, actor=w.actors["town"],
                                 encounter_in=build(EncounterCreate, visit))
    assert caught.value.message_key == "care.records.errors.referral_completed_read_only"
    assert session.query(Encounter).count() == before
    records.get_encounter(session=session, encounter_id=stay.id, actor=w.actors["town"])
    last = session.query(AuditEvent).filter(AuditEvent.action == "read").order_by(AuditEvent.id.desc()).first()
    assert last is not None and last.basis == "referral_record"
