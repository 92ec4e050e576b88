"""The elderly's annual service, writes and reads: a self-care assessment linked to the year's health check
with the auxiliary tests, a TCM form scored and stored with its rule version; the refusals (a form with
unanswered questions, an answer out of 1–5, a resident under 65, a date in the future), scope, audit, the
residents due this year and the merge mover, on hand-made data."""
from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select

from tests import factories as f
from weijian.accounts import service as accounts_service
from weijian.accounts.models import AuditEvent
from weijian.care.elderly import service
from weijian.care.elderly.models import ElderlyAssessment, TcmAssessment
from weijian.care.elderly.schemas import SelfCareCreate, TcmCreate
from weijian.care.models import HealthCheck
from weijian.core.actor import Actor
from weijian.core.commands import build
from weijian.core.errors import InvalidInput, NotFound
from weijian.residents import service as residents_service

TODAY = date(2026, 7, 1)
LEVELS = {"eating": "independent", "grooming": "mild", "dressing": "independent", "toileting": "mild",
          "activity": "moderate"}  # 0 + 1 + 0 + 1 + 5 = 7: 轻度依赖


@pytest.fixture()
def county(session):
    return f.make_county(session)


@pytest.fixture()
def doctor(session, county):
    return accounts_service.actor_for(f.make_user(session, "village_doctor", f.VILLAGE_A1))


@pytest.fixture()
def elder(session, county):
    return f.make_resident(session, name="老人甲", sex="male", birth_date=date(1950, 3, 3))


def refused(exc: pytest.ExceptionInfo) -> dict[str, str]:
    return {e.field: e.reason_key.rsplit(".", 1)[-1] for e in exc.value.errors}


def self_care(session, actor, resident, **over):
    values = {"resident_id": resident.id, "date": "2026-06-20", **LEVELS, **over}
    return service.record_self_care(session=session, assessment_in=build(SelfCareCreate, values), actor=actor,
                                    today=TODAY)


def tcm(session, actor, resident, answers=None, **over):
    values = {"resident_id": resident.id, "date": "2026-06-20", "answers": answers or [1] * 33,
              "guidance": ["emotion", "diet"], **over}
    return service.record_tcm(session=session, tcm_in=build(TcmCreate, values), actor=actor, today=TODAY)


def annual_check(session, resident, on: date, **over):
    check = HealthCheck(resident_id=resident.id, date=on, kind="annual_65", **over)
    session.add(check)
    session.flush()
    return check


def test_a_self_care_assessment_is_scored_banded_and_linked_to_the_years_check(session, doctor, elder):
    annual_check(session, elder, date(2025, 6, 1))  # last year's: not linked
    check = annual_check(session, elder, date(2026, 6, 10))
    a = self_care(session, doctor, elder, tests={"blood_routine": {"result": "normal"},
                                                 "ecg": {"result": "abnormal", "note": "ST 段改变"}})
    assert (a.total, a.band, a.activity, a.rule_version) == (7, "mild", 5, 1)
    assert a.health_check_id == check.id
    assert json.loads(a.tests)["ecg"] == {"result": "abnormal", "note": "ST 段改变"}
    event = session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "elderly_assessment")).one()
    assert event.resident_id == elder.id and event.basis


def test_a_self_care_assessment_refuses_a_missing_or_impossible_level_and_a_bad_test(session, doctor, elder):
    with pytest.raises(InvalidInput) as exc:
        self_care(session, doctor, elder, eating="mild", grooming=None,
                  tests={"xray": {"result": "normal"}, "ecg": {"result": "fine"}})
    assert refused(exc) == {"eating": "level_not_on_form", "grooming": "missing", "tests": "test_unknown",
                            "tests.ecg": "test_result_unknown"}
    assert session.scalar(select(func.count()).select_from(ElderlyAssessment)) == 0


def test_a_health_check_of_another_year_or_resident_is_refused(session, doctor, elder):
    other = f.make_resident(session, birth_date=date(1949, 1, 1))
    old = annual_check(session, elder, date(2025, 6, 1))
    theirs = annual_check(session, other, date(2026, 6, 1))
    for check in (old, theirs):
        with pytest.raises(InvalidInput) as exc:
            self_care(session, doctor, elder, health_check_id=check.id)
        assert refused(exc) == {"health_check_id": "health_check_not_this_year"}


def test_a_resident_under_65_and_a_date_in_the_future_are_refused(session, doctor, county):
    young = f.make_resident(session, birth_date=date(1961, 7, 2))  # 64 on 2026-06-20, 65 only on 2026-07-02
    with pytest.raises(InvalidInput) as exc:
        self_care(session, doctor, young)
    assert refused(exc) == {"resident_id": "under_65"}
    with pytest.raises(InvalidInput) as exc:
        tcm(session, doctor, young, date="2026-07-02")
    assert refused(exc) == {"date": "date_future"}
    with pytest.raises(InvalidInput) as exc:
        tcm(session, doctor, young)
    assert refused(exc) == {"resident_id": "under_65"}


def test_a_tcm_form_is_scored_and_stored_with_its_rule_version(session, doctor, elder):
    answers = [1] * 33
    answers[1], answers[2], answers[3], answers[13] = 3, 3, 2, 3  # 气虚 11: 是 (test_elderly_rules)
    t = tcm(session, doctor, elder, answers=answers)
    assert t.answers == "".join(map(str, answers)) and t.main == "qi_deficiency" and t.rule_version == 1
    assert json.loads(t.verdicts)["qi_deficiency"] == "yes" and json.loads(t.scores)["qi_deficiency"] == 11
    assert t.guidance == "emotion,diet"
    got, resident = service.get_tcm(session=session, actor=doctor, tcm_id=t.id)
    assert got.id == t.id and resident.id == elder.id


def test_a_tcm_form_with_unanswered_questions_is_refused_naming_them(session, doctor, elder):
    answers: list[int | None] = [2] * 33
    answers[4], answers[32] = None, None
    with pytest.raises(InvalidInput) as exc:
        tcm(session, doctor, elder, answers=answers)
    (e,) = exc.value.errors
    assert (e.field, e.reason_key.rsplit(".", 1)[-1], e.params["questions"]) == ("answers", "answers_unanswered",
                                                                                 "5, 33")
    with pytest.raises(InvalidInput) as exc:
        tcm(session, doctor, elder, answers=[2] * 30)
    assert exc.value.errors[0].params["questions"] == "31, 32, 33"
    assert session.scalar(select(func.count()).select_from(TcmAssessment)) == 0


def test_an_answer_outside_1_to_5_and_an_unknown_guidance_are_refused(session, doctor, elder):
    answers = [2] * 33
    answers[9], answers[20] = 6, 0
    with pytest.raises(InvalidInput) as exc:
        tcm(session, doctor, elder, answers=answers, guidance=["massage"])
    assert refused(exc) == {"answers": "answers_out_of_range", "guidance": "guidance_unknown"}
    assert exc.value.errors[0].params["questions"] == "10, 21"


def test_a_resident_outside_the_scope_is_not_found_or_refused(session, doctor, county):
    other = f.make_resident(session, birth_date=date(1950, 1, 1), village_code=f.VILLAGE_B1)
    with pytest.raises(InvalidInput) as exc:
        tcm(session, doctor, other)
    assert refused(exc) == {"resident_id": "resident_not_found"}
    t = tcm(session, Actor.system("test"), other)
    with pytest.raises(NotFound):
        service.get_tcm(session=session, actor=doctor, tcm_id=t.id)
    with pytest.raises(NotFound):
        service.record(session=session, actor=doctor, resident_id=other.id)


def test_the_due_list_names_what_each_resident_65_plus_still_lacks_this_year(session, doctor, elder):
    done = f.make_resident(session, name="老人乙", birth_date=date(1945, 1, 1))
    f.make_resident(session, name="中年人", birth_date=date(1970, 1, 1))  # under 65: not listed
    annual_check(session, done, date(2026, 3, 1))
    self_care(session, doctor, done)
    tcm(session, doctor, done)
    annual_check(session, elder, date(2026, 3, 1))
    tcm(session, doctor, elder, date="2025-12-31")  # last year's: still due
    rows = service.due(session=session, actor=doctor, as_of=TODAY)
    assert [(r.name, r.missing) for r in rows] == [("老人甲", ("self_care", "tcm"))]


def test_a_merge_moves_the_assessments_to_the_survivor(session, doctor, county):
    a = f.make_resident(session, name="重复老人", birth_date=date(1950, 1, 1))
    b = f.make_resident(session, name="重复老人", birth_date=date(1950, 1, 1), id_number=None)
    b_sc = self_care(session, doctor, b)
    b_tcm = tcm(session, doctor, b)
    residents_service.merge(session=session, survivor_id=a.id, merged_id=b.id, reason="重复建档",
                            actor=Actor.system("test"))
    session.refresh(b_sc)
    session.refresh(b_tcm)
    assert b_sc.resident_id == a.id and b_tcm.resident_id == a.id
