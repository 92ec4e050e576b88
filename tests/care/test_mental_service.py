"""Severe mental illness management's writes and reads: registration with the informed consent and its
refusals, follow-ups classified as the 规范 does (分类干预, worked in test_mental_rules.py) with the rule version
kept, strict access (only the patient's own team; the refused read audited naming the patient), the register
overdue first, the counts behind the four rates, the merge mover."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from tests import factories as f
from weijian.accounts import service as accounts_service
from weijian.accounts.models import AuditEvent
from weijian.care.mental import counts, queries, service
from weijian.care.mental.models import MentalFollowUp, MentalPatient
from weijian.care.mental.schemas import ConsentRecord, FollowUpCreate, PatientRegister
from weijian.core.commands import build
from weijian.core.errors import Forbidden, InvalidInput, NotFound

TODAY = date(2026, 7, 1)


@pytest.fixture()
def county(session):
    return f.make_county(session)


@pytest.fixture()
def doctor(session, county):
    return accounts_service.actor_for(f.make_user(session, "village_doctor", f.VILLAGE_A1))


@pytest.fixture()
def patient_person(session, county):
    return f.make_resident(session, name="患者甲", birth_date=date(1980, 5, 5))


def refused(exc: pytest.ExceptionInfo) -> dict[str, str]:
    return {e.field: e.reason_key.rsplit(".", 1)[-1] for e in exc.value.errors}


def register(session, actor, resident, **over):
    values = {"resident_id": resident.id, "disease": "schizophrenia", "icd10": "F20.0", "diagnosed_on": "2025-03-01",
              "registered_on": "2026-01-10", "consent": True, "consent_signer": "guardian",
              "consent_signer_name": "患者父", "consent_on": "2026-01-10", "risk_grade": 1, **over}
    return service.register_patient(session=session, patient_in=build(PatientRegister, values), actor=actor,
                                    today=TODAY)


def follow_up(session, actor, p, on, **over):
    values = {"date": on.isoformat(), "risk_grade": 0, "symptoms": "gone", "insight": "recovered",
              "social_function": "good", "adherence": "regular", **over}
    return service.record_follow_up(session=session, patient_id=p.id, follow_up_in=build(FollowUpCreate, values),
                                    actor=actor, today=TODAY)


def test_a_patient_is_registered_with_the_consent_and_the_rule_version(session, doctor, patient_person):
    p = register(session, doctor, patient_person)
    assert (p.consent, p.consent_signer, p.guardian_name, p.rule_version) == (True, "guardian", "患者父", 1)
    assert p.next_visit_on == date(2026, 1, 24)  # risk 1 at the first assessment: within 2 weeks
    event = session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "mental_patient")).one()
    assert (event.action, event.basis, event.resident_id) == ("create", "mental_team_village", patient_person.id)


def test_without_consent_the_reason_is_asked_for_and_the_patient_still_registered(session, doctor, patient_person):
    with pytest.raises(InvalidInput) as exc:
        register(session, doctor, patient_person, consent=False, consent_signer=None, consent_signer_name=None,
                 consent_on=None)
    assert refused(exc) == {"no_consent_reason": "no_consent_reason_missing"}
    p = register(session, doctor, patient_person, consent=False, no_consent_reason="家属拒绝签字")
    assert (p.consent, p.consent_signer, p.consent_on, p.no_consent_reason) == (False, None, None, "家属拒绝签字")
    assert p.next_visit_on is None  # no follow-up is due before the consent
    # 知情同意原则 (mental.yaml: 签署了知情同意书，方可开展随访管理服务): a follow-up is refused naming the consent.
    with pytest.raises(InvalidInput) as exc:
        follow_up(session, doctor, p, date(2026, 3, 10))
    assert refused(exc) == {"consent": "no_consent_no_follow_up"}
    cmd = build(ConsentRecord, {"consent_signer": "guardian", "consent_signer_name": "患者母", "consent_on": "2026-03-01"})
    service.record_consent(session=session, patient_id=p.id, consent_in=cmd, actor=doctor, today=TODAY)
    assert (p.consent, p.guardian_name, p.no_consent_reason, p.next_visit_on) == (True, "患者母", None,
                                                                                   date(2026, 3, 1))
    assert follow_up(session, doctor, p, date(2026, 3, 10)).klass == "stable"
    with pytest.raises(InvalidInput) as exc:
        service.record_consent(session=session, patient_id=p.id, consent_in=cmd, actor=doctor, today=TODAY)
    assert refused(exc) == {"consent": "consent_already"}


def test_registration_refusals_name_their_fields(session, doctor, patient_person):
    with pytest.raises(InvalidInput) as exc:
        register(session, doctor, patient_person, icd10="F32.2", diagnosed_on="2026-08-01", consent_signer=None,
                 consent_signer_name="")
    assert refused(exc) == {"icd10": "icd10_not_of_disease", "diagnosed_on": "date_future",
                            "consent_signer": "consent_signer_missing",
                            "consent_signer_name": "consent_signer_name_missing"}
    assert session.scalar(select(MentalPatient.id)) is None
    register(session, doctor, patient_person)
    with pytest.raises(InvalidInput) as exc:
        register(session, doctor, patient_person)
    assert refused(exc) == {"resident_id": "already_registered"}


def test_a_follow_up_is_classified_with_its_next_visit_and_the_referral_flag(session, doctor, patient_person):
    p = register(session, doctor, patient_person)
    stable = follow_up(session, doctor, p, date(2026, 3, 10))
    assert (stable.klass, stable.next_visit_on, stable.needs_referral, stable.rule_version) == (
        "stable", date(2026, 6, 10), False, 1)
    worse = follow_up(session, doctor, p, date(2026, 6, 12), risk_grade=3, adherence="intermittent")
    assert (worse.klass, worse.next_visit_on, worse.needs_referral) == ("unstable", date(2026, 6, 26), True)
    assert (p.klass, p.risk_grade, p.adherence, p.next_visit_on) == ("unstable", 3, "intermittent", date(2026, 6, 26))
    rows = queries.register(session=session, actor=doctor, as_of=TODAY)
    assert [(r.patient.id, r.due_status, r.needs_referral) for r in rows] == [(p.id, "overdue", True)]


def test_a_follow_up_before_the_latest_or_with_an_unknown_answer_is_refused(session, doctor, patient_person):
    p = register(session, doctor, patient_person)
    follow_up(session, doctor, p, date(2026, 3, 10))
    with pytest.raises(InvalidInput) as exc:
        follow_up(session, doctor, p, date(2026, 3, 1), adherence="sometimes")
    assert refused(exc) == {"date": "follow_up_before_latest", "adherence": "answer_unknown"}
    assert len(session.scalars(select(MentalFollowUp)).all()) == 1


def test_only_the_patients_own_team_may_read_and_a_refused_read_is_audited(session, doctor, patient_person):
    p = register(session, doctor, patient_person)
    other_village = accounts_service.actor_for(f.make_user(session, "village_doctor", f.VILLAGE_A2))
    township = accounts_service.actor_for(f.make_user(session, "township_doctor", f.TOWN_A))
    county_doctor = accounts_service.actor_for(f.make_user(session, "county_doctor", f.COUNTY))
    view = queries.get_patient(session=session, patient_id=p.id, actor=township, as_of=TODAY)
    assert view.basis == "mental_team_township"
    with pytest.raises(NotFound):
        queries.get_patient(session=session, patient_id=p.id, actor=other_village, as_of=TODAY)
    with pytest.raises(Forbidden):  # care:read, but no mental:read
        queries.get_patient(session=session, patient_id=p.id, actor=county_doctor, as_of=TODAY)
    assert queries.register(session=session, actor=other_village, as_of=TODAY) == []
    session.flush()
    # The refused read is queued to be written when the unit ends (it survives the rollback).
    from weijian.core import db
    queued = session.info.get(db.AFTER)
    assert queued, "the refused read was not queued for the audit log"


def test_the_counts_of_the_four_rates(session, doctor, patient_person):
    p = register(session, doctor, patient_person)
    other = f.make_resident(session, name="患者乙", birth_date=date(1970, 1, 1))
    q = register(session, doctor, other, disease="bipolar", icd10="F31.9")
    follow_up(session, doctor, p, date(2026, 1, 20))
    follow_up(session, doctor, p, date(2026, 3, 20), adherence="intermittent", risk_grade=1)
    follow_up(session, doctor, q, date(2026, 2, 1), risk_grade=0)
    args = {"session": session, "lo": f.VILLAGE_A1, "hi": f.VILLAGE_A1, "start": date(2026, 1, 1),
            "end": date(2026, 3, 31)}
    got = {w: counts.mental_counts(**args, which=w).get(f.VILLAGE_A1, 0) for w in counts.WHICH}
    # A quarter asks for ⌈4 × 3 ÷ 12⌉ = 1 follow-up; p's latest (20 March) is basically stable and intermittent.
    assert got == {"registered": 2, "managed": 2, "standard": 2, "regular": 1, "stable": 1}
    assert counts.required_follow_ups(date(2026, 1, 1), date(2026, 12, 31)) == 4


def test_a_merge_moves_the_registration_and_closes_a_second_active_one(session, doctor, patient_person):
    from weijian.residents import service as residents_service
    twin = f.make_resident(session, name="患者甲", birth_date=date(1980, 5, 5))
    kept = register(session, doctor, patient_person)
    moved = register(session, doctor, twin)
    follow_up(session, doctor, moved, date(2026, 2, 1))
    system = accounts_service.actor_for(f.make_user(session, "sysadmin", f.COUNTY))
    residents_service.merge(session=session, actor=system, survivor_id=patient_person.id, merged_id=twin.id,
                            reason="同一人", confirm_different_id_numbers=True)
    session.refresh(moved)
    assert (moved.resident_id, moved.status, kept.status) == (patient_person.id, "closed", "active")
    assert session.scalars(select(MentalFollowUp.resident_id)).all() == [patient_person.id]
