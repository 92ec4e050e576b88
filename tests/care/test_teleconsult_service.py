"""Remote consultation rules: asked by a village or township clinician of a county department with record
extracts; scheduled by that county facility; answered by the assigned specialist into the record; overdue as
referrals are; every read audited."""
from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.care import referrals_setup as rs
from tests.care.referrals_setup import NOW
from weijian.care import worklist
from weijian.care.models import Teleconsultation
from weijian.care.records import service as records
from weijian.care.teleconsult import queries as teleconsult_queries
from weijian.care.teleconsult import service as teleconsult_service
from weijian.care.teleconsult.schemas import AnswerIn, ConsultationRequest, ScheduleIn
from weijian.core.commands import build
from weijian.core.errors import Conflict, Forbidden, InvalidInput, InvalidState, NotFound


@pytest.fixture()
def w(session):
    return rs.build(session)


def ask(session, w, asker: str = "village", now: datetime = NOW, **over):
    values = dict(resident_id=w.people["zhang"].id, to_facility_id=w.fac["county"].id, department="心内科",
                  question="血压控制不佳，是否调整用药？", urgency="routine")
    values.update(over)
    return teleconsult_service.request(session=session, consultation_in=build(ConsultationRequest, values), actor=w.actors[asker], now=now)


def scheduled(session, w, **over):
    c = ask(session, w, **over)
    teleconsult_service.schedule(session=session, consultation_id=c.id, actor=w.actors["county"], now=NOW,
                         schedule_in=build(ScheduleIn, {"specialist_id": w.users["county2"].id,
                                 "scheduled_at": NOW + timedelta(hours=5)}))
    return c


def test_a_village_doctor_asks_a_county_department_with_record_extracts(session, w):
    older = rs.visit(session, w.people["zhang"], w.fac["town_a"], date(2025, 3, 1), "E11.9")
    c = ask(session, w, encounter_ids=[older.id])
    assert (c.status, c.department, c.requested_at, c.from_facility_id) == (
        "requested", "心内科", NOW, w.fac["clinic_a1"].id)
    [extract] = json.loads(c.extracts)
    assert (extract["encounter_id"], extract["date"], extract["facility"]) == (older.id, "2025-03-01", "温泉镇卫生院")
    assert extract["diagnoses"][0]["code"] == "E11.9"
    latest = ask(session, w)  # none chosen: the latest encounters
    assert [e["date"] for e in json.loads(latest.extracts)] == ["2025-06-01", "2025-03-01"]
    [event, *_] = rs.audits(session, entity_type="teleconsultation", action="create")
    assert (event.resident_id, event.basis) == (w.people["zhang"].id, "own_village")


def test_consultations_go_from_primary_care_to_a_county_facility_only(session, w):
    with pytest.raises(Forbidden):  # the county does not ask itself
        ask(session, w, "county", to_facility_id=w.fac["tcm"].id)
    for target in ("town_a", "cdc"):
        with pytest.raises(InvalidInput) as caught:
            ask(session, w, to_facility_id=w.fac[target].id)
        assert caught.value.field == "to_facility_id"
    with pytest.raises(InvalidInput) as caught:
        ask(session, w, department="", question=" ", urgency="now")
    assert {e.field for e in caught.value.errors} == {"department", "question", "urgency"}
    other = rs.visit(session, w.people["li"], w.fac["clinic_a1"], date(2025, 6, 2), "J18.9")
    with pytest.raises(InvalidInput) as caught:  # someone else's encounter
        ask(session, w, encounter_ids=[other.id])
    assert caught.value.field == "encounter_ids"
    with pytest.raises(NotFound):
        ask(session, w, resident_id=w.people["zhao"].id)
    assert rs.count(session, Teleconsultation) == 0


def test_the_county_facility_assigns_one_of_its_specialists_and_a_time(session, w):
    c = ask(session, w)
    with pytest.raises(Forbidden):  # another county hospital
        teleconsult_service.schedule(session=session, consultation_id=c.id, actor=w.actors["tcm"],
                             schedule_in=build(ScheduleIn, {"specialist_id": w.users["tcm"].id, "scheduled_at": NOW}))
    with pytest.raises(InvalidInput) as caught:  # a doctor of another hospital
        teleconsult_service.schedule(session=session, consultation_id=c.id, actor=w.actors["county"],
                             schedule_in=build(ScheduleIn, {"specialist_id": w.users["tcm"].id, "scheduled_at": NOW}))
    assert caught.value.field == "specialist_id"
    with pytest.raises(InvalidInput) as caught:
        teleconsult_service.schedule(session=session, consultation_id=c.id, actor=w.actors["county"],
                             schedule_in=build(ScheduleIn, {"specialist_username": w.users["county2"].username,
                                     "scheduled_at": "2025-06-29T08:00"}))  # Beijing time, before the request
    assert caught.value.field == "scheduled_at"
    assert c.status == "requested"
    teleconsult_service.schedule(session=session, consultation_id=c.id, actor=w.actors["county"],
                         schedule_in=build(ScheduleIn, {"specialist_username": w.users["county2"].username,
                                 "scheduled_at": "2025-06-30T15:00"}))
    assert (c.status, c.specialist_id, c.specialist_name) == ("scheduled", w.users["county2"].id,
                                                              w.users["county2"].full_name)
    assert c.scheduled_at == datetime(2025, 6, 30, 7, 0, tzinfo=UTC)


def test_the_assigned_specialists_opinion_is_written_into_the_record(session, w):
    c = scheduled(session, w)
    with pytest.raises(Forbidden):  # not the specialist assigned
        teleconsult_service.answer(session=session, consultation_id=c.id, answer_in=build(AnswerIn, opinion="加用氨氯地平"), actor=w.actors["county"])
    with pytest.raises(InvalidInput):
        teleconsult_service.answer(session=session, consultation_id=c.id, answer_in=build(AnswerIn, opinion=" "), actor=w.actors["county2"])
    teleconsult_service.answer(session=session, consultation_id=c.id, answer_in=build(AnswerIn, opinion="加用氨氯地平 5mg 每日一次，两周后复查血压"),
                       actor=w.actors["county2"], now=NOW + timedelta(hours=6))
    assert (c.status, c.answered_at) == ("answered", NOW + timedelta(hours=6))
    page = records.timeline(session=session, resident_id=w.people["zhang"].id, actor=w.actors["village"],
                            types="teleconsultation")
    [row] = page.items
    assert row.summary.startswith("心内科 " + w.users["county2"].full_name + "：加用氨氯地平")
    assert row.link == f"/care/consultations/{c.id}" and row.date == date(2025, 6, 30)
    reply = worklist.worklist(session=session, actor=w.actors["village"], now=NOW + timedelta(days=1)).replies
    assert [i.id for i in reply] == [c.id]
    later = worklist.worklist(session=session, actor=w.actors["village"], now=NOW + timedelta(days=8)).replies
    assert later == []  # older than the worklist's reply days
    with pytest.raises(Conflict):
        teleconsult_service.answer(session=session, consultation_id=c.id, answer_in=build(AnswerIn, opinion="再次"), actor=w.actors["county2"])


def test_an_answer_needs_a_schedule_and_only_the_requester_cancels(session, w):
    c = ask(session, w)
    with pytest.raises(InvalidState):
        teleconsult_service.answer(session=session, consultation_id=c.id, answer_in=build(AnswerIn, opinion="意见"), actor=w.actors["county"])
    with pytest.raises(NotFound):  # another village's clinic may not even see it: as if missing (issue 12)
        teleconsult_service.cancel(session=session, consultation_id=c.id, actor=w.actors["village_b"])
    teleconsult_service.cancel(session=session, consultation_id=c.id, actor=w.actors["village"])
    assert c.status == "cancelled"
    with pytest.raises(InvalidState):
        teleconsult_service.schedule(session=session, consultation_id=c.id, actor=w.actors["county"],
                             schedule_in=build(ScheduleIn, {"specialist_id": w.users["county2"].id, "scheduled_at": NOW}))


@pytest.mark.parametrize("urgency,hours", [("urgent", 2), ("routine", 24)])
def test_an_unscheduled_consultation_is_overdue_just_after_its_limit(session, w, urgency, hours):
    from weijian.care.referrals import rules as referrals_rules

    c = ask(session, w, urgency=urgency)
    limit = NOW + timedelta(hours=hours)
    assert not referrals_rules.is_overdue(c, limit) and referrals_rules.is_overdue(c, limit + timedelta(seconds=1))
    inbox = teleconsult_queries.list_consultations(session=session, actor=w.actors["county"], box="received",
                                           now=limit + timedelta(seconds=1))
    assert [i.overdue for i in inbox.items] == [True]


def test_reading_a_consultation_is_audited_and_the_receiver_sees_it(session, w):
    c = ask(session, w, "village_b", resident_id=w.people["zhao"].id)
    item = teleconsult_queries.get(session=session, consultation_id=c.id, actor=w.actors["county"])
    assert item.resident_name == "赵六" and item.extracts == []
    events = rs.audits(session, entity_type="teleconsultation", action="read")
    assert [(e.resident_id, e.basis) for e in events] == [(w.people["zhao"].id, "county")]
    with pytest.raises(NotFound):
        teleconsult_queries.get(session=session, consultation_id=c.id, actor=w.actors["village"])
    received = teleconsult_queries.list_consultations(session=session, actor=w.actors["county"], box="received")
    assert [i.id for i in received.items] == [c.id]
    assert teleconsult_queries.list_consultations(session=session, actor=w.actors["tcm"], box="received").total == 0
