"""TB patient management's rules (国家基本公共卫生服务规范（第三版）《肺结核患者健康管理服务规范》): the suspect
referral, the treatment registered from the designated hospital's notice with the first visit due 72 hours
later, supervised doses, follow-ups and the outcome — every refusal naming its field and writing nothing —
scope and audit, the merge mover, and the rules file."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from tests import factories as f
from weijian.accounts import service as accounts_service
from weijian.accounts.models import AuditEvent
from weijian.core.actor import Actor
from weijian.core.commands import build
from weijian.core.errors import InvalidInput, InvalidState, NotFound
from weijian.residents import service as residents_service
from weijian.surveillance.tb import rules as tb_rules
from weijian.surveillance.tb import service as tb
from weijian.surveillance.tb.models import TbDose, TbFirstVisit, TbFollowUp, TbSuspect, TbTreatment
from weijian.surveillance.tb.schemas import (
    DoseRecord,
    FirstVisitRecord,
    FollowUpCreate,
    OutcomeRecord,
    SuspectCreate,
    SuspectResult,
    TreatmentCreate,
)

DAY = date(2026, 3, 10)
NOW = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)  # 16:00 in the county


@pytest.fixture()
def county(session):
    return f.make_county(session)


@pytest.fixture()
def doctor(session, county):
    return accounts_service.actor_for(f.make_user(session, "village_doctor", f.VILLAGE_A1))


def refused(exc: pytest.ExceptionInfo) -> dict[str, str]:
    return {e.field: e.reason_key.rsplit(".", 1)[-1] for e in exc.value.errors}


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def treatment_cmd(resident_id: int, **over) -> TreatmentCreate:
    values = {"resident_id": resident_id, "notified_at": "2026-03-09T09:00", "start_date": "2026-03-08",
              "regimen": "2HRZE/4HR", "supervisor_kind": "medical", "supervisor_name": "村医王"}
    return build(TreatmentCreate, {**values, **over})


def started(session, doctor, start: date = date(2026, 3, 1), **over) -> TbTreatment:
    resident = f.make_resident(session, birth_date=date(1980, 1, 1))
    return tb.register_treatment(session=session, treatment_in=treatment_cmd(
        resident.id, start_date=start.isoformat(), notified_at=f"{start.isoformat()}T10:00", **over),
        actor=doctor, now=NOW)


# --- the rules file -----------------------------------------------------------------------------------
def test_rules_file_names_its_source_and_marks_what_is_unverified():
    text = tb_rules.RULES_FILE.read_text(encoding="utf-8")
    header = text.split("version:")[0]
    assert "国家基本公共卫生服务规范（第三版）" in header and "肺结核患者健康管理服务规范" in header
    assert "VERIFY" in header and "72小时内" in header and "90%以上" in header
    assert all(word in header.split("VERIFY", 1)[1] for word in ("follow_up", "regular_share", "已管理的", "outcome"))
    r = tb.rules()
    assert r.first_visit_hours == 72 and r.tries_before_report == 2
    assert set(r.outcomes) == {"cured", "completed", "failed", "died", "lost"}


def test_a_broken_rules_file_is_refused_naming_the_key(tmp_path):
    bad = tb_rules.RULES_FILE.read_text(encoding="utf-8").replace('regular_share: "0.90"', 'regular_share: "1.5"')
    path = tmp_path / "tb.yaml"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(ValueError, match="regular_share"):
        tb_rules.load_rules(path)


# --- suspects -----------------------------------------------------------------------------------------
def test_a_suspect_is_referred_with_symptoms_and_the_result_recorded_once(session, doctor):
    """规范 (筛查及推介转诊): 咳嗽、咳痰≥2周, 咯血、血痰, 或发热、盗汗、胸痛或不明原因消瘦 — refer to the
    designated hospital."""
    resident = f.make_resident(session)
    s = tb.refer_suspect(session=session, suspect_in=build(SuspectCreate, resident_id=resident.id,
                                                           symptoms=["cough_2w", "night_sweats"],
                                                           referred_on="2026-03-01", referred_to="县结核病定点医院"),
                         actor=doctor, today=DAY)
    assert s.symptoms == "cough_2w,night_sweats" and s.result == "pending"
    with pytest.raises(InvalidInput) as exc:
        tb.record_suspect_result(session=session, suspect_id=s.id, result_in=build(
            SuspectResult, result="confirmed", result_on="2026-02-28"), actor=doctor, today=DAY)
    assert refused(exc) == {"result_on": "before_referral"}
    tb.record_suspect_result(session=session, suspect_id=s.id, result_in=build(
        SuspectResult, result="confirmed", result_on="2026-03-05"), actor=doctor, today=DAY)
    with pytest.raises(InvalidState):
        tb.record_suspect_result(session=session, suspect_id=s.id, result_in=build(
            SuspectResult, result="excluded", result_on="2026-03-06"), actor=doctor, today=DAY)


def test_a_suspect_needs_a_symptom_and_a_day_not_in_the_future(session, doctor):
    resident = f.make_resident(session)
    with pytest.raises(InvalidInput) as exc:
        tb.refer_suspect(session=session, suspect_in=build(SuspectCreate, resident_id=resident.id, symptoms=[],
                                                           referred_on="2026-03-11", referred_to="县医院"),
                         actor=doctor, today=DAY)
    assert refused(exc) == {"symptoms": "symptoms_required", "referred_on": "date_future"}
    with pytest.raises(InvalidInput) as exc:
        build(SuspectCreate, resident_id=resident.id, symptoms=["sneezing"], referred_on="2026-03-01",
              referred_to="县医院")
    assert refused(exc) == {"symptoms": "code_unknown"}
    assert count(session, TbSuspect) == 0


# --- treatment and the first visit --------------------------------------------------------------------
def test_registering_a_treatment_opens_the_first_visit_due_72_hours_after_the_notice(session, doctor):
    """规范 (第一次入户随访): "乡镇卫生院、村卫生室要在72小时内访视患者"."""
    resident = f.make_resident(session)
    t = tb.register_treatment(session=session, treatment_in=treatment_cmd(resident.id), actor=doctor, now=NOW)
    visit = session.scalar(select(TbFirstVisit).where(TbFirstVisit.treatment_id == t.id))
    # 2026-03-09 09:00 in the county is 01:00 UTC; 72 hours later
    assert t.notified_at == datetime(2026, 3, 9, 1, 0, tzinfo=UTC)
    assert visit.due_at == datetime(2026, 3, 12, 1, 0, tzinfo=UTC)
    assert t.planned_months == 6 and t.outcome is None


def test_a_treatment_is_refused_naming_each_field(session, doctor):
    resident = f.make_resident(session)
    other = f.make_resident(session, village_code=f.VILLAGE_B1)
    with pytest.raises(InvalidInput) as exc:
        tb.register_treatment(session=session, treatment_in=treatment_cmd(
            resident.id, notified_at="2026-03-11T09:00", start_date="2026-03-12"), actor=doctor, now=NOW)
    assert refused(exc) == {"notified_at": "date_future", "start_date": "date_future"}
    with pytest.raises(InvalidInput) as exc:  # outside the village doctor's scope: as if missing
        tb.register_treatment(session=session, treatment_in=treatment_cmd(other.id), actor=doctor, now=NOW)
    assert refused(exc) == {"resident_id": "resident_not_found"}
    tb.register_treatment(session=session, treatment_in=treatment_cmd(resident.id), actor=doctor, now=NOW)
    with pytest.raises(InvalidInput) as exc:
        tb.register_treatment(session=session, treatment_in=treatment_cmd(resident.id), actor=doctor, now=NOW)
    assert refused(exc) == {"resident_id": "treatment_under_way"}
    assert count(session, TbTreatment) == 1


def test_a_suspect_not_confirmed_is_no_basis_for_a_treatment(session, doctor):
    resident = f.make_resident(session)
    s = tb.refer_suspect(session=session, suspect_in=build(SuspectCreate, resident_id=resident.id,
                                                           symptoms=["cough_2w"], referred_on="2026-03-01",
                                                           referred_to="县医院"), actor=doctor, today=DAY)
    with pytest.raises(InvalidInput) as exc:
        tb.register_treatment(session=session, treatment_in=treatment_cmd(resident.id, suspect_id=s.id),
                              actor=doctor, now=NOW)
    assert refused(exc) == {"suspect_id": "suspect_not_confirmed"}


def test_two_failed_first_visits_are_to_be_reported_and_a_done_visit_is_final(session, doctor):
    """规范: "若72小时内2次访视均未见到患者，则将访视结果向上级专业机构报告"."""
    t = started(session, doctor)
    for _ in range(2):
        tb.record_first_visit(session=session, treatment_id=t.id, visit_in=build(FirstVisitRecord, found=False),
                              actor=doctor, now=NOW)
    visit = session.scalar(select(TbFirstVisit).where(TbFirstVisit.treatment_id == t.id))
    assert visit.tries == 2 and visit.done_at is None
    from weijian.surveillance.tb.schemas import FirstVisitOut
    assert FirstVisitOut.of(visit).report_up is True
    with pytest.raises(InvalidInput) as exc:
        tb.record_first_visit(session=session, treatment_id=t.id, visit_in=build(
            FirstVisitRecord, found=True, at="2026-02-28T10:00"), actor=doctor, now=NOW)
    assert refused(exc) == {"at": "before_notice"}
    tb.record_first_visit(session=session, treatment_id=t.id, visit_in=build(FirstVisitRecord, found=True),
                          actor=doctor, now=NOW)
    assert visit.done_at == NOW
    with pytest.raises(InvalidState):
        tb.record_first_visit(session=session, treatment_id=t.id, visit_in=build(FirstVisitRecord, found=True),
                              actor=doctor, now=NOW)


# --- doses --------------------------------------------------------------------------------------------
def dose(session, doctor, t, on: str, taken: bool = True, today: date = DAY):
    return tb.record_dose(session=session, treatment_id=t.id, dose_in=build(DoseRecord, date=on, taken=taken),
                          actor=doctor, today=today)


def test_a_dose_is_refused_before_the_start_in_the_future_and_twice_a_day(session, doctor):
    """规范 (督导服药): the supervisor records each dose on the 服药卡; one record a day."""
    t = started(session, doctor, start=date(2026, 3, 1))
    with pytest.raises(InvalidInput) as exc:
        dose(session, doctor, t, "2026-02-28")
    assert refused(exc) == {"date": "before_start"}
    with pytest.raises(InvalidInput) as exc:
        dose(session, doctor, t, "2026-03-11")
    assert refused(exc) == {"date": "date_future"}
    dose(session, doctor, t, "2026-03-10", taken=False)
    with pytest.raises(InvalidInput) as exc:
        dose(session, doctor, t, "2026-03-10")
    assert refused(exc) == {"date": "dose_twice"}
    assert session.scalars(select(TbDose.taken)).all() == [False]


def test_no_dose_after_the_outcome_and_no_outcome_before_a_dose(session, doctor):
    t = started(session, doctor, start=date(2026, 3, 1))
    dose(session, doctor, t, "2026-03-05")
    with pytest.raises(InvalidInput) as exc:
        tb.record_outcome(session=session, treatment_id=t.id, outcome_in=build(
            OutcomeRecord, outcome="died", outcome_on="2026-03-04"), actor=doctor, today=DAY)
    assert refused(exc) == {"outcome_on": "before_last_record"}
    with pytest.raises(InvalidInput) as exc:
        tb.record_outcome(session=session, treatment_id=t.id, outcome_in=build(
            OutcomeRecord, outcome="died", outcome_on="2026-02-27"), actor=doctor, today=DAY)
    assert refused(exc) == {"outcome_on": "before_start"}
    tb.record_outcome(session=session, treatment_id=t.id, outcome_in=build(
        OutcomeRecord, outcome="died", outcome_on="2026-03-06"), actor=doctor, today=DAY)
    with pytest.raises(InvalidInput) as exc:
        dose(session, doctor, t, "2026-03-07")
    assert refused(exc) == {"date": "after_outcome"}
    with pytest.raises(InvalidState):
        tb.record_outcome(session=session, treatment_id=t.id, outcome_in=build(
            OutcomeRecord, outcome="cured", outcome_on="2026-03-08"), actor=doctor, today=DAY)
    with pytest.raises(InvalidInput) as exc:
        build(OutcomeRecord, outcome="transferred", outcome_on="2026-03-08")
    assert refused(exc) == {"outcome": "code_unknown"}


# --- follow-ups ---------------------------------------------------------------------------------------
def test_the_next_follow_up_is_due_after_the_supervisor_kinds_interval(session, doctor):
    """public-health.md §7 (规范, VERIFY): family supervision every 10 days in the intensive phase (2 months),
    monthly after; a medical worker at least monthly."""
    family = started(session, doctor, start=date(2026, 1, 1), supervisor_kind="family")
    fu = tb.record_follow_up(session=session, treatment_id=family.id, follow_up_in=build(
        FollowUpCreate, date="2026-02-01"), actor=doctor, today=DAY)
    assert fu.next_due == date(2026, 2, 11)
    later = tb.record_follow_up(session=session, treatment_id=family.id, follow_up_in=build(
        FollowUpCreate, date="2026-03-02"), actor=doctor, today=DAY)  # continuation phase from 03-01
    assert later.next_due == date(2026, 4, 1)
    medical = started(session, doctor, start=date(2026, 1, 1))
    with pytest.raises(InvalidInput) as exc:
        tb.record_follow_up(session=session, treatment_id=medical.id, follow_up_in=build(
            FollowUpCreate, date="2026-02-01", next_due="2026-03-15"), actor=doctor, today=DAY)
    assert refused(exc) == {"next_due": "next_too_late"}
    tb.record_follow_up(session=session, treatment_id=medical.id, follow_up_in=build(
        FollowUpCreate, date="2026-02-01", next_due="2026-02-20"), actor=doctor, today=DAY)
    with pytest.raises(InvalidInput) as exc:
        tb.record_follow_up(session=session, treatment_id=medical.id, follow_up_in=build(
            FollowUpCreate, date="2026-02-01"), actor=doctor, today=DAY)
    assert refused(exc) == {"date": "follow_up_twice"}
    assert count(session, TbFollowUp) == 3


# --- scope, audit, merge ------------------------------------------------------------------------------
def test_a_treatment_outside_the_scope_is_not_found_and_reads_are_audited(session, doctor):
    system = Actor.system("test")
    far = f.make_resident(session, village_code=f.VILLAGE_B1)
    t = tb.register_treatment(session=session, treatment_in=treatment_cmd(far.id), actor=system, now=NOW)
    with pytest.raises(NotFound):
        tb.get_treatment(session=session, actor=doctor, treatment_id=t.id)
    with pytest.raises(NotFound):
        dose(session, doctor, t, "2026-03-09")
    mine = started(session, doctor)
    view = tb.get_treatment(session=session, actor=doctor, treatment_id=mine.id, as_of=date(2026, 3, 3))
    assert view.doses_due == 3 and view.doses_taken == 0
    event = session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "tb_treatment",
                                                     AuditEvent.action == "read")).one()
    assert event.resident_id == mine.resident_id and event.basis == "own_village"


def test_a_merge_moves_the_suspects_and_treatments(session, doctor):
    system = Actor.system("test")
    survivor = f.make_resident(session, name="合并甲")
    merged = f.make_resident(session, name="合并甲", id_number=None)
    t = tb.register_treatment(session=session, treatment_in=treatment_cmd(merged.id), actor=system, now=NOW)
    residents_service.merge(session=session, survivor_id=survivor.id, merged_id=merged.id, reason="重复建档",
                            actor=system)
    session.flush()
    assert session.get(TbTreatment, t.id).resident_id == survivor.id


def test_the_dose_card_counts_missing_days_as_not_taken(session, doctor):
    t = started(session, doctor, start=date(2026, 3, 1))
    dose(session, doctor, t, "2026-03-01")
    dose(session, doctor, t, "2026-03-02", taken=False)
    view = tb.get_treatment(session=session, actor=doctor, treatment_id=t.id, as_of=date(2026, 3, 4))
    assert (view.doses_due, view.doses_taken) == (4, 1)
    assert view.card == [(date(2026, 3, 4), None), (date(2026, 3, 3), None), (date(2026, 3, 2), False),
                         (date(2026, 3, 1), True)]
