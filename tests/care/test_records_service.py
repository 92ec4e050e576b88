"""The health-record service: encounters, discharge, health checks, screenings and the timeline. Every
refusal names its field and changes nothing; every write and read is audited with its basis."""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests.care import records_setup as rs
from tests.care.records_setup import TODAY, visit
from weijian.care.models import ChronicRegistration, Encounter, Referral
from weijian.care.records import service as records
from weijian.care.records import timeline as record_timeline
from weijian.core.actor import Actor
from weijian.core.errors import Forbidden, InvalidInput, InvalidState, NotFound


@pytest.fixture()
def w(session):
    return rs.build(session)


def record(session, w, actor="village", resident="man", **over):
    values = visit(resident_id=w.people[resident].id, **over)
    return rs.create_encounter(session=session, values=values, actor=w.actors[actor], today=TODAY)


def refused(db, exc_type, fn, **kwargs):
    """Call fn(**kwargs), expect exc_type, and check that nothing was written."""
    before = rs.counts(db)
    with pytest.raises(exc_type) as info, db.begin_nested():
        fn(**kwargs)
    assert rs.counts(db) == before
    return info.value


def fields(exc: InvalidInput) -> dict[str, str]:
    return {e.field: e.reason_key for e in exc.errors}


# --- encounters -----------------------------------------------------------------------------------
def test_outpatient_visit_is_recorded_at_the_own_facility_with_diagnoses_primary_first(session, w):
    e = record(session, w, diagnoses=["i10", "E11.900", "J06.9"], department="全科", note="头晕三天")
    assert (e.type, e.facility_id, e.start_date, e.end_date) == ("outpatient", w.facilities["clinic_a1"].id,
                                                                 date(2025, 6, 1), None)
    assert e.primary_diagnosis == "I10"
    assert [(d.seq, d.code) for d in e.diagnoses] == [(1, "I10"), (2, "E11.9"), (3, "J06.9")]
    assert (e.total_cost, e.in_policy_cost) == (Decimal("35.50"), Decimal("30.00"))
    assert (e.clinician_id, e.clinician_name, e.created_by) == (w.users["village"].id, "李村医",
                                                                w.users["village"].username)
    [event] = rs.audit_events(session, w.people["man"].id, "create", "encounter")
    assert (event.entity_id, event.basis, event.username) == (str(e.id), "own_village", w.users["village"].username)


def test_inpatient_stay_is_admitted_then_discharged_with_ward_days(session, w):
    stay = record(session, w, actor="township", type="inpatient", start_date="2025-06-10", diagnoses=["J18.9"])
    assert stay.end_date is None and stay.ward_days is None
    rs.discharge(session=session, encounter_id=stay.id, end_date="2025-06-17", total_cost="4520.80",
                      in_policy_cost="3900.00", actor=w.actors["township"], today=TODAY)
    assert (stay.end_date, stay.ward_days, stay.total_cost) == (date(2025, 6, 17), 7, Decimal("4520.80"))
    [event] = rs.audit_events(session, w.people["man"].id, "discharge")
    assert (event.entity_id, event.basis) == (str(stay.id), "own_township")


def test_same_day_discharge_counts_one_ward_day(session, w):
    stay = record(session, w, actor="township", type="inpatient", start_date="2025-06-10", diagnoses=["J18.9"])
    rs.discharge(session=session, encounter_id=stay.id, end_date=date(2025, 6, 10), actor=w.actors["township"],
                      today=TODAY)
    assert stay.ward_days == 1


def test_discharge_before_admission_is_refused_and_changes_nothing(session, w):
    stay = record(session, w, actor="township", type="inpatient", start_date="2025-06-10", diagnoses=["J18.9"])
    exc = refused(session, InvalidInput, rs.discharge, session=session, encounter_id=stay.id,
                  end_date="2025-06-09", total_cost="100", actor=w.actors["township"], today=TODAY)
    assert fields(exc) == {"end_date": "care.records.errors.discharge_before_admission"}
    session.refresh(stay)
    assert stay.end_date is None and stay.total_cost == Decimal("35.50")


def test_a_whole_stay_recorded_at_once_cannot_end_before_it_starts(session, w):
    exc = refused(session, InvalidInput, rs.create_encounter, session=session, actor=w.actors["township"],
                  values=visit(resident_id=w.people["man"].id, type="inpatient", start_date="2025-06-10",
                               end_date="2025-06-01"), today=TODAY)
    assert fields(exc) == {"end_date": "care.records.errors.discharge_before_admission"}


def test_a_stay_is_discharged_once_and_only_a_stay_is_discharged(session, w):
    stay = record(session, w, actor="township", type="inpatient", start_date="2025-06-10")
    rs.discharge(session=session, encounter_id=stay.id, end_date="2025-06-12", actor=w.actors["township"],
                      today=TODAY)
    exc = refused(session, InvalidState, rs.discharge, session=session, encounter_id=stay.id,
                  end_date="2025-06-13", actor=w.actors["township"], today=TODAY)
    assert exc.message_key == "care.records.errors.already_discharged"
    visit_ = record(session, w)
    exc = refused(session, InvalidState, rs.discharge, session=session, encounter_id=visit_.id,
                  end_date="2025-06-13", actor=w.actors["village"], today=TODAY)
    assert exc.message_key == "care.records.errors.discharge_not_inpatient"


def test_a_date_in_the_future_is_refused(session, w):
    exc = refused(session, InvalidInput, rs.create_encounter, session=session, actor=w.actors["village"],
                  values=visit(resident_id=w.people["man"].id, start_date="2025-07-01"), today=TODAY)
    assert fields(exc) == {"start_date": "care.records.errors.date_future"}
    stay = record(session, w, actor="township", type="inpatient", start_date="2025-06-10")
    exc = refused(session, InvalidInput, rs.discharge, session=session, encounter_id=stay.id,
                  end_date="2025-07-01", actor=w.actors["township"], today=TODAY)
    assert fields(exc) == {"end_date": "care.records.errors.date_future"}


def test_a_date_before_birth_is_refused(session, w):
    exc = refused(session, InvalidInput, rs.create_encounter, session=session, actor=w.actors["village"],
                  values=visit(resident_id=w.people["man"].id, start_date="1969-01-01"), today=TODAY)
    assert fields(exc) == {"start_date": "care.records.errors.before_birth"}


def test_an_unknown_icd10_code_is_refused_naming_its_position(session, w):
    exc = refused(session, InvalidInput, rs.create_encounter, session=session, actor=w.actors["village"],
                  values=visit(resident_id=w.people["man"].id, diagnoses=["I10", "X99.9"]), today=TODAY)
    assert fields(exc) == {"diagnoses[1]": "care.errors.icd10_unknown"}
    assert exc.errors[0].params == {"code": "X99.9"}


def test_diagnoses_are_required_and_not_repeated(session, w):
    exc = refused(session, InvalidInput, rs.create_encounter, session=session, actor=w.actors["village"],
                  values=visit(resident_id=w.people["man"].id, diagnoses=["", " "]), today=TODAY)
    assert fields(exc) == {"diagnoses": "care.records.errors.diagnosis_required"}
    exc = refused(session, InvalidInput, rs.create_encounter, session=session, actor=w.actors["village"],
                  values=visit(resident_id=w.people["man"].id, diagnoses=["I10", "i10"]), today=TODAY)
    assert fields(exc) == {"diagnoses[1]": "care.records.errors.diagnosis_duplicate"}


def test_every_bad_field_is_reported_at_once(session, w):
    exc = refused(session, InvalidInput, rs.create_encounter, session=session, actor=w.actors["village"],
                  values={"resident_id": w.people["man"].id, "type": "ward_round", "start_date": "2025-13-01",
                          "diagnoses": ["I10"], "total_cost": "abc", "in_policy_cost": "-1"}, today=TODAY)
    assert fields(exc) == {"type": "care.records.errors.encounter_type_unknown",
                           "start_date": "core.errors.validation.date_parsing",
                           "total_cost": "core.errors.validation.decimal_parsing",
                           "in_policy_cost": "care.records.errors.money_negative"}


def test_in_policy_cost_cannot_exceed_the_total_and_money_is_to_the_fen(session, w):
    exc = refused(session, InvalidInput, rs.create_encounter, session=session, actor=w.actors["village"],
                  values=visit(resident_id=w.people["man"].id, total_cost="100.00", in_policy_cost="100.01"),
                  today=TODAY)
    assert fields(exc) == {"in_policy_cost": "care.records.errors.in_policy_exceeds_total"}
    exc = refused(session, InvalidInput, rs.create_encounter, session=session, actor=w.actors["village"],
                  values=visit(resident_id=w.people["man"].id, total_cost="10.005"), today=TODAY)
    assert fields(exc) == {"total_cost": "care.records.errors.money_fen"}


def test_a_resident_outside_the_scope_does_not_exist_for_the_writer(session, w):
    exc = refused(session, NotFound, rs.create_encounter, session=session, actor=w.actors["village"],
                  values=visit(resident_id=w.people["other_town"].id), today=TODAY)
    assert exc.message_key == "residents.errors.not_found"
    stay = record(session, w, actor="county", resident="other_town", type="inpatient", start_date="2025-06-01")
    refused(session, NotFound, rs.discharge, session=session, encounter_id=stay.id, end_date="2025-06-02",
            actor=w.actors["township"], today=TODAY)
    assert stay.end_date is None


def test_writing_needs_care_write(session, w):
    refused(session, Forbidden, rs.create_encounter, session=session, actor=w.actors["bureau"],
            values=visit(resident_id=w.people["man"].id), today=TODAY)


def test_a_clinician_records_only_at_their_own_facility(session, w):
    exc = refused(session, InvalidInput, rs.create_encounter, session=session, actor=w.actors["village"],
                  values=visit(resident_id=w.people["man"].id, facility_id=w.facilities["centre_a"].id), today=TODAY)
    assert fields(exc) == {"facility_id": "care.records.errors.facility_not_own"}
    exc = refused(session, InvalidInput, rs.create_encounter, session=session, actor=w.actors["township"],
                  values=visit(resident_id=w.people["man"].id, outside_facility_name="武汉协和医院"), today=TODAY)
    assert fields(exc) == {"outside_facility_name": "care.records.errors.outside_county_level_only"}


def test_a_user_without_a_facility_cannot_record(session, w):
    from tests import factories as f
    from weijian.accounts import service as accounts_service

    actor = accounts_service.actor_for(f.make_user(session, "village_doctor", f.VILLAGE_A1))
    exc = refused(session, InvalidInput, rs.create_encounter, session=session, actor=actor,
                  values=visit(resident_id=w.people["man"].id), today=TODAY)
    assert fields(exc) == {"facility_id": "care.records.errors.facility_required"}


def test_a_county_level_user_records_at_any_facility_of_the_county_or_outside_it(session, w):
    e = record(session, w, actor="county", facility_id=w.facilities["centre_b"].id, resident="other_town")
    assert e.facility_id == w.facilities["centre_b"].id
    stay = record(session, w, actor="county", type="inpatient", start_date="2025-05-01", end_date="2025-05-09",
                  outside_facility_name="华中科技大学同济医学院附属协和医院")
    assert (stay.facility_id, stay.outside_facility_name, stay.ward_days) == (
        None, "华中科技大学同济医学院附属协和医院", 8)
    exc = refused(session, InvalidInput, rs.create_encounter, session=session, actor=w.actors["county"],
                  values=visit(resident_id=w.people["man"].id, facility_id=999999), today=TODAY)
    assert fields(exc) == {"facility_id": "care.records.errors.facility_unknown"}


def test_a_day_surgery_ends_within_a_day(session, w):
    e = record(session, w, actor="county", type="day_surgery", start_date="2025-06-02", diagnoses=["K40.9"])
    assert e.end_date == date(2025, 6, 2)
    exc = refused(session, InvalidInput, rs.create_encounter, session=session, actor=w.actors["county"],
                  values=visit(resident_id=w.people["man"].id, type="day_surgery", start_date="2025-06-02",
                               end_date="2025-06-04"), today=TODAY)
    assert fields(exc) == {"end_date": "care.records.errors.day_surgery_too_long"}


def test_a_merged_record_takes_no_new_care(session, w):
    from weijian.residents import service as residents_service

    residents_service.merge(session=session, survivor_id=w.people["man"].id, merged_id=w.people["elder"].id,
                            reason="重复建档", actor=Actor.system("test"), confirm_different_id_numbers=True)
    refused(session, InvalidState, rs.create_encounter, session=session, actor=w.actors["village"],
            values=visit(resident_id=w.people["elder"].id), today=TODAY)


def test_a_chronic_diagnosis_registers_the_patient_once(session, w):
    record(session, w, diagnoses=["J06.9", "I10"], start_date="2025-05-01")
    record(session, w, diagnoses=["I10", "E11.9"], start_date="2025-06-01")
    rows = session.execute(select(ChronicRegistration.program, ChronicRegistration.registered_on,
                                  ChronicRegistration.source)
                           .where(ChronicRegistration.resident_id == w.people["man"].id)
                           .order_by(ChronicRegistration.program)).all()
    assert [tuple(r) for r in rows] == [("diabetes", date(2025, 6, 1), "diagnosis"),
                                        ("hypertension", date(2025, 5, 1), "diagnosis")]


def test_a_refused_encounter_registers_no_one(session, w):
    refused(session, InvalidInput, rs.create_encounter, session=session, actor=w.actors["village"],
            values=visit(resident_id=w.people["man"].id, diagnoses=["I10"], start_date="2030-01-01"), today=TODAY)
    assert session.scalar(select(func.count()).select_from(ChronicRegistration)) == 0


def test_encounters_are_read_in_scope_and_audited(session, w):
    e = record(session, w)
    assert records.get_encounter(session=session, encounter_id=e.id, actor=w.actors["township"]).id == e.id
    [event] = rs.audit_events(session, w.people["man"].id, "read", "encounter")
    assert (event.entity_id, event.basis) == (str(e.id), "own_township")
    with pytest.raises(NotFound):
        records.get_encounter(session=session, encounter_id=e.id, actor=w.actors["township_b"])
    with pytest.raises(Forbidden):
        records.get_encounter(session=session, encounter_id=e.id, actor=w.actors["bureau"])


# --- health checks and screenings -----------------------------------------------------------------
def check(session, w, actor="village", resident="man", **over):
    values = {"resident_id": w.people[resident].id, "date": "2025-06-01", "height_cm": "170", "weight_kg": "65",
              "sbp": "128", "dbp": "82", "fasting_glucose": "5.6"}
    values.update(over)
    return rs.create_health_check(session=session, values=values, actor=w.actors[actor], today=TODAY)


def test_a_health_check_computes_bmi(session, w):
    c = check(session, w)
    # 65 / 1.70² = 22.49…
    assert (c.bmi, c.height_cm, c.weight_kg, c.sbp, c.dbp) == (Decimal("22.5"), Decimal("170.0"),
                                                               Decimal("65.0"), 128, 82)
    assert (c.kind, c.facility_id) == ("general", w.facilities["clinic_a1"].id)
    [event] = rs.audit_events(session, w.people["man"].id, "create", "health_check")
    assert event.basis == "own_village"
    assert records.bmi(Decimal("158"), Decimal("72.4")) == Decimal("29.0")  # 72.4 / 2.4964 = 29.001…
    assert records.bmi(None, Decimal("60")) is None


def test_the_annual_check_of_the_elderly_is_refused_for_a_younger_resident(session, w):
    assert check(session, w, resident="elder", kind="annual_65").kind == "annual_65"  # 70 on the day
    exc = refused(session, InvalidInput, rs.create_health_check, session=session, actor=w.actors["village"],
                  values={"resident_id": w.people["man"].id, "date": "2025-06-01", "kind": "annual_65",
                          "weight_kg": "70"}, today=TODAY)
    assert fields(exc) == {"kind": "care.records.errors.annual_65_too_young"}
    assert exc.errors[0].params["age"] == 55


def test_health_check_values_are_checked(session, w):
    base = {"resident_id": w.people["man"].id, "date": "2025-06-01"}
    exc = refused(session, InvalidInput, rs.create_health_check, session=session, actor=w.actors["village"],
                  values=base, today=TODAY)
    assert fields(exc) == {"height_cm": "care.records.errors.no_measurement"}
    exc = refused(session, InvalidInput, rs.create_health_check, session=session, actor=w.actors["village"],
                  values={**base, "height_cm": "17", "sbp": "130", "fasting_glucose": "x"}, today=TODAY)
    assert fields(exc) == {"height_cm": "care.records.errors.out_of_range",
                           "fasting_glucose": "core.errors.validation.decimal_parsing",
                           "dbp": "care.records.errors.blood_pressure_pair"}
    exc = refused(session, InvalidInput, rs.create_health_check, session=session, actor=w.actors["village"],
                  values={**base, "sbp": "80", "dbp": "90", "date": "2025-07-02"}, today=TODAY)
    assert fields(exc) == {"date": "care.records.errors.date_future", "dbp": "care.records.errors.dbp_not_below_sbp"}


def test_screenings_are_for_women_with_a_result_that_fits_the_kind(session, w):
    s = rs.create_screening(session=session, actor=w.actors["village"], today=TODAY,
                                 values={"resident_id": w.people["woman"].id, "date": "2025-06-01",
                                         "kind": "cervical", "result": "negative"})
    assert (s.kind, s.result, s.facility_id) == ("cervical", "negative", w.facilities["clinic_a1"].id)
    for kind in ("cervical", "breast", "prenatal"):
        exc = refused(session, InvalidInput, rs.create_screening, session=session, actor=w.actors["village"],
                      values={"resident_id": w.people["man"].id, "date": "2025-06-01", "kind": kind,
                              "result": "negative" if kind != "prenatal" else "low_risk"}, today=TODAY)
        assert fields(exc) == {"kind": "care.records.errors.screening_women_only"}
    exc = refused(session, InvalidInput, rs.create_screening, session=session, actor=w.actors["village"],
                  values={"resident_id": w.people["woman"].id, "date": "2025-06-01", "kind": "prenatal",
                          "result": "negative"}, today=TODAY)
    assert fields(exc) == {"result": "care.records.errors.screening_result_unknown"}


# --- timeline -------------------------------------------------------------------------------------
@pytest.fixture()
def history(session, w):
    """The woman's record: visits at two facilities, a stay, a health check, a screening, over three months."""
    rid = w.people["woman"].id
    out = {
        "visit_april": record(session, w, resident="woman", start_date="2025-04-02", diagnoses=["J06.9"]),
        "stay_may": record(session, w, actor="county", resident="woman", type="inpatient",
                           start_date="2025-05-10", end_date="2025-05-14", diagnoses=["K35.9"]),
        "visit_june": record(session, w, actor="township", resident="woman", start_date="2025-06-20",
                             diagnoses=["I10", "E11.9"]),
        "check": rs.create_health_check(session=session, actor=w.actors["village"], today=TODAY, values={
            "resident_id": rid, "date": "2025-06-05", "height_cm": "160", "weight_kg": "64"}),
        "screening": rs.create_screening(session=session, actor=w.actors["village"], today=TODAY, values={
            "resident_id": rid, "date": "2025-05-20", "kind": "breast", "result": "abnormal"}),
    }
    return out


def kinds_of(page) -> list[tuple[str, str]]:
    return [(i.date.isoformat(), i.kind) for i in page.items]


def test_the_timeline_lists_everything_newest_first(session, w, history):
    page = records.timeline(session=session, resident_id=w.people["woman"].id, actor=w.actors["village"])
    own = [k for k in kinds_of(page) if k[1] in ("outpatient", "inpatient", "health_check", "screening")]
    assert own == [("2025-06-20", "outpatient"), ("2025-06-05", "health_check"), ("2025-05-20", "screening"),
                   ("2025-05-10", "inpatient"), ("2025-04-02", "outpatient")]
    june = next(i for i in page.items if i.kind == "outpatient")
    assert june.summary.startswith("I10 原发性高血压") and "另 1 项诊断" in june.summary
    assert (june.link, june.facility_name) == (f"/care/encounters/{history['visit_june'].id}", "温泉镇中心卫生院")
    stay = next(i for i in page.items if i.kind == "inpatient")
    assert "住院 4 天" in stay.summary and stay.data["ward_days"] == 4
    check_row = next(i for i in page.items if i.kind == "health_check")
    assert "BMI 25.0" in check_row.summary
    assert "乳腺癌筛查：异常/可疑" in next(i for i in page.items if i.kind == "screening").summary
    assert {name for _, name in page.facilities} == {"东冲村卫生室", "英山县人民医院", "温泉镇中心卫生院"}


def test_the_timeline_filters_by_type_and_facility(session, w, history):
    rid = w.people["woman"].id
    actor = w.actors["village"]
    page = records.timeline(session=session, resident_id=rid, actor=actor, types="encounter")
    assert kinds_of(page) == [("2025-06-20", "outpatient"), ("2025-05-10", "inpatient"),
                              ("2025-04-02", "outpatient")]
    page = records.timeline(session=session, resident_id=rid, actor=actor, types=["health_check", "screening"])
    assert kinds_of(page) == [("2025-06-05", "health_check"), ("2025-05-20", "screening")]
    page = records.timeline(session=session, resident_id=rid, actor=actor,
                            facility_id=w.facilities["clinic_a1"].id)
    own = [k for k in kinds_of(page) if k[1] in ("outpatient", "health_check", "screening")]
    assert own == [("2025-06-05", "health_check"), ("2025-05-20", "screening"), ("2025-04-02", "outpatient")]
    page = records.timeline(session=session, resident_id=rid, actor=actor, types="outpatient",
                            facility_id=w.facilities["centre_a"].id)
    assert kinds_of(page) == [("2025-06-20", "outpatient")]
    with pytest.raises(InvalidInput) as info:
        records.timeline(session=session, resident_id=rid, actor=actor, types="x-ray")
    assert info.value.field == "types"


def test_the_timeline_pages(session, w, history):
    rid = w.people["woman"].id
    first = records.timeline(session=session, resident_id=rid, actor=w.actors["village"], types="encounter",
                             page_size=2)
    second = records.timeline(session=session, resident_id=rid, actor=w.actors["village"], types="encounter",
                              page_size=2, page=2)
    assert (first.has_next, second.has_next) == (True, False)
    assert kinds_of(first) + kinds_of(second) == [("2025-06-20", "outpatient"), ("2025-05-10", "inpatient"),
                                                  ("2025-04-02", "outpatient")]


def test_reading_the_timeline_is_audited_once_with_its_basis(session, w, history):
    rid = w.people["woman"].id
    records.timeline(session=session, resident_id=rid, actor=w.actors["township"], types="encounter")
    [event] = rs.audit_events(session, rid, "read", "health_record")
    assert (event.basis, event.username, event.entity_id) == ("own_township", w.users["township"].username, str(rid))
    assert '"encounter"' not in (event.detail or "") and "outpatient" in event.detail


def test_the_timeline_outside_the_scope_is_not_found_and_not_logged(session, w, history):
    rid = w.people["woman"].id
    with pytest.raises(NotFound):
        records.timeline(session=session, resident_id=rid, actor=w.actors["township_b"])
    with pytest.raises(Forbidden):
        records.timeline(session=session, resident_id=rid, actor=w.actors["bureau"])
    assert rs.audit_events(session, rid, "read", "health_record") == []


def test_the_receiving_facility_of_an_open_referral_reads_the_timeline(session, w, history):
    rid = w.people["woman"].id
    referral = Referral(resident_id=rid, direction="up", from_facility_id=w.facilities["clinic_a1"].id,
                        to_facility_id=w.facilities["centre_b"].id, reason="会诊", status="requested",
                        requested_at=datetime(2025, 6, 21, tzinfo=UTC))
    session.add(referral)
    session.flush()
    page = records.timeline(session=session, resident_id=rid, actor=w.actors["township_b"], types="encounter")
    assert page.basis == "referral" and len(page.items) == 3
    [event] = rs.audit_events(session, rid, "read", "health_record")
    assert event.basis == "referral"
    referral.status = "completed"
    session.flush()
    with pytest.raises(NotFound):
        records.timeline(session=session, resident_id=rid, actor=w.actors["township_b"])


def test_other_care_areas_add_rows_through_a_registered_source(session, w, history):
    def fetch(*, session, resident_id, kinds, facility_id, limit, tr):
        return [records.TimelineItem(date=date(2025, 6, 10), kind="test_note", summary=f"note for {resident_id}")]

    records.register_timeline_source("test_source", ("test_note",), fetch)
    try:
        rid = w.people["woman"].id
        page = records.timeline(session=session, resident_id=rid, actor=w.actors["village"],
                                types=["test_note", "outpatient"])
        assert kinds_of(page) == [("2025-06-20", "outpatient"), ("2025-06-10", "test_note"),
                                  ("2025-04-02", "outpatient")]
        assert page.items[1].summary == f"note for {rid}"
        with pytest.raises(ValueError):
            records.register_timeline_source("another", ("test_note",), fetch)
    finally:
        record_timeline._SOURCES.pop("test_source", None)


def test_encounters_other_areas_wrote_show_on_the_timeline(session, w):
    """A stay outside the county written by the referral area shows its outside facility's name."""
    stay = Encounter(resident_id=w.people["man"].id, facility_id=None, outside_facility_name="武汉同济医院",
                     type="inpatient", start_date=date(2025, 6, 1), primary_diagnosis="I21.9")
    session.add(stay)
    session.flush()
    page = records.timeline(session=session, resident_id=w.people["man"].id, actor=w.actors["village"],
                            types="inpatient")
    assert [(i.kind, i.facility_name, i.data["outside_county"]) for i in page.items] == [
        ("inpatient", "武汉同济医院", True)]
    assert session.scalar(select(func.count()).select_from(Encounter)) == 1
