"""Issue 14, items 12 and 14: encounters that make sense. A facility records only the care its type provides,
a patient has one inpatient stay at a time, a diagnosis, screening or check fits the patient's sex and age,
an entry is corrected or voided with a reason (audited; the figures follow), and a village doctor records a
walk-in of a neighbouring village. Each test cites the text its values come from; the values are written
here from that text, not read from weijian's data files."""
from __future__ import annotations

from datetime import date

import pytest

from tests.care import records_setup as rs
from tests.care.records_setup import record
from weijian.care.models import Encounter
from weijian.core.errors import InvalidInput


@pytest.fixture()
def w(session):
    return rs.build(session)


def refused(db, fn, **kwargs) -> dict[str, str]:
    """Call fn(**kwargs), expect InvalidInput, check nothing was written; the refused fields and reasons."""
    before = rs.counts(db)
    with pytest.raises(InvalidInput) as info, db.begin_nested():
        fn(**kwargs)
    assert rs.counts(db) == before
    return {e.field: e.reason_key for e in info.value.errors}


def refused_record(session, w, actor="village", resident="man", **over) -> dict[str, str]:
    return refused(session, lambda: record(session, w, actor=actor, resident=resident, **over))


# --- (1) what a facility type provides ------------------------------------------------------------
def test_a_village_clinic_without_beds_records_no_inpatient_stay_or_day_surgery(session, w):
    """村卫生室管理办法（试行）(国卫基层发〔2014〕33号): a village clinic gives 常见病、多发病的初级诊治 —
    outpatient care; issue 14 item 12: no inpatient stay or day surgery unless its data says it has beds."""
    assert w.facilities["clinic_a1"].beds_open == 0
    for kind, end in (("inpatient", None), ("day_surgery", "2025-06-01")):
        errors = refused_record(session, w, type=kind, end_date=end)
        assert errors == {"type": "care.records.errors.type_not_provided"}
    assert record(session, w).type == "outpatient"
    # "unless its data says it has beds" (facilities.beds_open, 实际开放床位)
    w.facilities["clinic_a1"].beds_open = 2
    session.flush()
    stay = record(session, w, type="inpatient", start_date="2025-06-01")
    assert stay.facility_id == w.facilities["clinic_a1"].id and stay.end_date is None


def test_the_refusal_names_the_facility_and_the_care_in_chinese(session, w):
    """A refusal names the field and the rule in Chinese (issue 14, "Bad input")."""
    from weijian.core.i18n import translate

    with pytest.raises(InvalidInput) as info:
        record(session, w, type="inpatient")
    error = info.value.errors[0]
    text = translate(error.reason_key, "zh_CN", **error.params)
    assert "东冲村卫生室" in text and "住院" in text


# --- (1) one inpatient stay at a time -------------------------------------------------------------
def test_an_inpatient_stay_that_overlaps_another_of_the_patient_is_refused(session, w):
    """Issue 14 item 12: overlapping inpatient stays refused — at any facility (a patient lies in one bed)."""
    record(session, w, actor="township", type="inpatient", start_date="2025-06-01", end_date="2025-06-10")
    for start, end in (("2025-06-05", "2025-06-08"), ("2025-05-28", "2025-06-02"), ("2025-06-09", None),
                       ("2025-05-20", "2025-06-20")):
        errors = refused_record(session, w, actor="county", type="inpatient", start_date=start, end_date=end)
        assert errors == {"start_date": "care.records.errors.stay_overlaps"}, (start, end)
    # A stay occupies [admission, discharge): discharged on the 10th, admitted elsewhere on the 10th.
    stay = record(session, w, actor="county", type="inpatient", start_date="2025-06-10", end_date="2025-06-12")
    assert stay.start_date == date(2025, 6, 10)
    record(session, w, actor="county", type="inpatient", start_date="2025-05-20", end_date="2025-06-01")


def test_a_stay_not_yet_discharged_blocks_a_later_admission(session, w):
    """An open stay runs on until its discharge."""
    record(session, w, actor="township", type="inpatient", start_date="2025-06-01")
    assert refused_record(session, w, actor="county", type="inpatient", start_date="2025-06-20") == {
        "start_date": "care.records.errors.stay_overlaps"}
    # an outpatient visit or a day surgery during a stay is not a second stay
    record(session, w, actor="county", start_date="2025-06-20")
    assert session.query(Encounter).filter_by(type="inpatient").count() == 1


def test_a_same_day_stay_occupies_its_day(session, w):
    record(session, w, actor="township", type="inpatient", start_date="2025-06-01", end_date="2025-06-01")
    assert refused_record(session, w, actor="county", type="inpatient", start_date="2025-06-01",
                          end_date="2025-06-03") == {"start_date": "care.records.errors.stay_overlaps"}
    record(session, w, actor="county", type="inpatient", start_date="2025-06-02", end_date="2025-06-03")
