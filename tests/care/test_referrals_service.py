"""Two-way referral rules: direction against the tiers, only the receiver answers, one accept wins (also
under a real race on PostgreSQL), overdue at 2 h / 24 h, the way back down onto the village worklist,
referrals outside the county, the access a referral gives, and the referral-count figure."""
from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from tests import factories as f
from tests.care import referrals_setup as rs
from tests.care.referrals_setup import NOW, refer
from weijian.care import worklist
from weijian.care.models import Encounter, Referral
from weijian.care.records import figures as figures_records
from weijian.care.referrals import queries as referrals_queries
from weijian.care.referrals import rules as referrals_rules
from weijian.care.referrals import service as referrals_service
from weijian.care.referrals.schemas import ActionIn, CompleteIn, DownwardCreate, ReferralCreate, RejectIn
from weijian.core import tallies as core_tallies
from weijian.core.actor import Actor
from weijian.core.commands import build
from weijian.core.db import make_sessionmaker
from weijian.core.errors import Conflict, Forbidden, InvalidInput, InvalidState, NotFound
from weijian.core.i18n import translate
from weijian.orgunits.models import Facility, OrgUnit
from weijian.residents.models import Resident


@pytest.fixture()
def w(session):
    return rs.build(session)


def field_of(exc: InvalidInput) -> set[str]:
    return {e.field for e in exc.errors}


# --- create ---------------------------------------------------------------------------------------
def test_upward_referral_is_requested_with_a_summary_taken_from_the_record(session, w):
    referral = refer(session, w, summary="头晕一周")
    assert (referral.status, referral.direction, referral.version) == ("requested", "up", 1)
    assert referral.from_facility_id == w.fac["clinic_a1"].id and referral.to_facility_id == w.fac["town_a"].id
    assert referral.requested_at == NOW and referral.from_clinician_name == w.users["village"].full_name
    assert referral.summary.startswith("头晕一周\n")
    assert "2025-06-01 门诊 东冲村卫生室 I10 " in referral.summary  # the encounter on record, in Chinese
    [event] = rs.audits(session, entity_type="referral", action="create")
    assert (event.resident_id, event.basis) == (w.people["zhang"].id, "own_village")


@pytest.mark.parametrize("sender,target,direction", [
    ("village", "county", "down"),   # village → county is up
    ("county", "town_a", "up"),      # county → township is down
    ("town", "clinic_a1", "up"),     # township → village is down
])
def test_a_direction_against_the_tiers_is_refused_naming_direction(session, w, sender, target,
                                                                   direction):
    before = rs.count(session, Referral)
    with pytest.raises(InvalidInput) as caught:
        refer(session, w, sender, to_facility_id=w.fac[target].id, direction=direction)
    assert field_of(caught.value) == {"direction"}
    message = translate(caught.value.errors[0].reason_key, **caught.value.errors[0].params)
    assert "应为" in message and "转诊方向与机构层级不符" in message
    assert rs.count(session, Referral) == before


def test_a_referral_within_one_tier_is_refused_naming_to_facility_id(session, w):
    with pytest.raises(InvalidInput) as caught:
        refer(session, w, "town", to_facility_id=w.fac["town_b"].id)
    assert field_of(caught.value) == {"to_facility_id"}
    assert caught.value.errors[0].reason_key == "care.referrals.errors.same_tier"
    assert rs.count(session, Referral) == 0


def test_a_facility_that_is_no_care_tier_or_unknown_is_refused(session, w):
    for target in (w.fac["cdc"].id, 999_999):
        with pytest.raises(InvalidInput) as caught:
            refer(session, w, to_facility_id=target)
        assert field_of(caught.value) == {"to_facility_id"}


def test_every_bad_field_is_named_at_once(session, w):
    with pytest.raises(InvalidInput) as caught:
        refer(session, w, direction="sideways", reason=" ", diagnosis="X99.9", urgency="soon")
    assert field_of(caught.value) == {"direction", "reason", "diagnosis", "urgency"}
    assert rs.count(session, Referral) == 0


def test_a_resident_outside_the_senders_scope_is_not_found(session, w):
    with pytest.raises(NotFound):
        refer(session, w, resident_id=w.people["zhao"].id)  # 南岭村, town B
    assert rs.count(session, Referral) == 0


def test_a_user_without_a_facility_cannot_refer(session, w):
    nobody = Actor(user_id=None, username="x", role="village_doctor", scope_code=f.VILLAGE_A1,
                   permissions=frozenset({"referral:create"}))
    with pytest.raises(Forbidden):
        referrals_service.create(session=session, referral_in=build(ReferralCreate, rs.up_values(w)), actor=nobody, now=NOW)


def test_out_of_county_referral_is_recorded_and_its_stay_counts_against_county_retention(session, w):
    with pytest.raises(InvalidInput) as caught:
        refer(session, w, "county", to_facility_id=None, out_of_county=True, outside_facility_name=" ")
    assert field_of(caught.value) == {"outside_facility_name"}
    referral = refer(session, w, "county", to_facility_id=None, out_of_county=True,
                     outside_facility_name="武汉协和医院", reason="需行介入治疗", diagnosis="I21.9")
    assert (referral.out_of_county, referral.to_facility_id, referral.direction) == (True, None, "up")
    assert referral.outside_facility_name == "武汉协和医院" and referral.reason == "需行介入治疗"
    # Nobody in the county receives it: the sending facility records what the outside hospital did.
    county = w.actors["county"]
    referrals_service.accept(session=session, referral_id=referral.id, actor=county, now=NOW)
    referrals_service.arrive(session=session, referral_id=referral.id, actor=county, now=NOW + timedelta(days=1))
    [stay] = session.scalars(select(Encounter).where(Encounter.referral_id == referral.id))
    assert (stay.type, stay.facility_id, stay.outside_facility_name) == ("inpatient", None, "武汉协和医院")
    assert stay.start_date == date(2025, 7, 1) and stay.end_date is None
    rs.visit(session, w.people["li"], w.fac["county"], date(2025, 7, 2), "J18.9", type_="inpatient")
    figure = figures_records.county_retention_rate(session=session, actor=w.actors["bureau"], period="2025",
                                                   orgunit=f.VILLAGE_A1)
    assert (figure.numerator, figure.denominator) == (1, 2)  # one stay inside, one outside the county
    referrals_service.complete(session=session, referral_id=referral.id, complete_in=build(CompleteIn, discharge_summary="术后稳定"),
                       actor=county, now=NOW + timedelta(days=6))
    assert stay.end_date == date(2025, 7, 6)


# --- answers: only the receiver, once ----------------------------------------------------------------
def test_only_the_receiving_facility_may_answer_and_nothing_changes_otherwise(session, w):
    referral = refer(session, w, to_facility_id=w.fac["county"].id)
    for outsider in ("tcm", "town", "village"):  # another county hospital, the township, the sender
        for act in (referrals_service.accept, referrals_service.arrive):
            with pytest.raises(Forbidden):
                act(session=session, referral_id=referral.id, actor=w.actors[outsider], now=NOW)
        with pytest.raises(Forbidden):
            referrals_service.reject(session=session, referral_id=referral.id, reject_in=build(RejectIn, reason="无床位"), actor=w.actors[outsider])
    session.refresh(referral)
    assert (referral.status, referral.version, referral.responded_at) == ("requested", 1, None)
    assert rs.audits(session, entity_type="referral", action="accept") == []


def test_a_referral_cannot_be_accepted_twice(session, w):
    referral = refer(session, w, to_facility_id=w.fac["county"].id)
    referrals_service.accept(session=session, referral_id=referral.id, actor=w.actors["county"], now=NOW)
    assert (referral.status, referral.version, referral.responded_by) == ("accepted", 2, w.users["county"].username)
    with pytest.raises(Conflict) as caught:
        referrals_service.accept(session=session, referral_id=referral.id, actor=w.actors["county2"], now=NOW)
    assert translate(caught.value.message_key, **caught.value.params) == "这张转诊单已是“已接收”状态，不能重复操作"
    assert referral.responded_by == w.users["county"].username and referral.version == 2


def test_an_answer_on_a_version_the_user_no_longer_sees_is_a_conflict(session, w):
    referral = refer(session, w)
    with pytest.raises(Conflict) as caught:
        referrals_service.accept(session=session, referral_id=referral.id, actor=w.actors["town"], action_in=build(ActionIn, version=7))
    assert caught.value.message_key == "care.referrals.errors.stale_version"
    assert referral.status == "requested"


def test_rejecting_needs_a_reason_and_ends_the_referral(session, w):
    referral = refer(session, w)
    with pytest.raises(InvalidInput) as caught:
        referrals_service.reject(session=session, referral_id=referral.id, reject_in=build(RejectIn, reason="  "), actor=w.actors["town"])
    assert field_of(caught.value) == {"reject_reason"} and referral.status == "requested"
    referrals_service.reject(session=session, referral_id=referral.id, reject_in=build(RejectIn, reason="本院无此专科"), actor=w.actors["town"], now=NOW)
    assert (referral.status, referral.reject_reason, referral.responded_at) == ("rejected", "本院无此专科", NOW)
    with pytest.raises(InvalidState):
        referrals_service.accept(session=session, referral_id=referral.id, actor=w.actors["town"])


def test_a_referral_goes_accepted_arrived_completed_in_that_order(session, w):
    referral = refer(session, w)
    town = w.actors["town"]
    with pytest.raises(InvalidState):
        referrals_service.arrive(session=session, referral_id=referral.id, actor=town)
    referrals_service.accept(session=session, referral_id=referral.id, actor=town, now=NOW)
    with pytest.raises(InvalidState):
        referrals_service.complete(session=session, referral_id=referral.id, complete_in=build(CompleteIn, discharge_summary="好转"), actor=town)
    referrals_service.arrive(session=session, referral_id=referral.id, actor=town, now=NOW + timedelta(hours=3))
    with pytest.raises(InvalidInput) as caught:
        referrals_service.complete(session=session, referral_id=referral.id, complete_in=build(CompleteIn, discharge_summary=""), actor=town)
    assert field_of(caught.value) == {"discharge_summary"}
    referrals_service.complete(session=session, referral_id=referral.id, complete_in=build(CompleteIn, discharge_summary="血压平稳，出院"), actor=town,
                       now=NOW + timedelta(days=5))
    assert (referral.status, referral.arrived_at, referral.completed_at) == (
        "completed", NOW + timedelta(hours=3), NOW + timedelta(days=5))
    assert [e.action for e in rs.audits(session, entity_type="referral", entity_id=str(referral.id))] == [
        "create", "accept", "arrive", "complete"]


def test_only_the_sender_cancels_and_only_while_unanswered(session, w):
    referral = refer(session, w)
    with pytest.raises(Forbidden):
        referrals_service.cancel(session=session, referral_id=referral.id, actor=w.actors["town"])
    second = refer(session, w)
    referrals_service.cancel(session=session, referral_id=second.id, actor=w.actors["village"], now=NOW)
    assert second.status == "cancelled"
    referrals_service.accept(session=session, referral_id=referral.id, actor=w.actors["town"])
    with pytest.raises(InvalidState):
        referrals_service.cancel(session=session, referral_id=referral.id, actor=w.actors["village"])


@pytest.mark.postgres_only
def test_two_simultaneous_accepts_exactly_one_wins(engine, monkeypatch):
    """Two sessions on two connections both read the referral at version 1 before either writes; the first
    UPDATE lands, the second finds no row of version 1 and is told so. Real committed rows, removed after."""
    if engine.dialect.name != "postgresql":
        pytest.skip("the race needs PostgreSQL's row locks (run with WEIJIAN_TEST_DATABASE_URL)")
    tag = uuid.uuid4().hex[:8]
    county, town, village = "421199000000", "421199100000", "421199100201"  # a county no other test uses
    with make_sessionmaker(engine, expire_on_commit=True)() as s:
        s.add_all([OrgUnit(code=county, name="竞争县", level="county"),
                   OrgUnit(code=town, name="竞争镇", level="township", parent_code=county)])
        s.flush()
        s.add(OrgUnit(code=village, name="竞争村", level="village", parent_code=town))
        clinic = Facility(code=f"RACE-V-{tag}", name="竞争村卫生室", type="village_clinic", orgunit_code=village)
        hospital = Facility(code=f"RACE-C-{tag}", name="竞争县医院", type="county_general", orgunit_code=county)
        s.add_all([clinic, hospital])
        s.flush()
        resident = Resident(name="竞争", name_initials="jz", name_pinyin="jingzheng", sex="male",
                            birth_date=date(1960, 1, 1), village_code=village, status="active")
        s.add(resident)
        s.flush()
        referral = Referral(resident_id=resident.id, direction="up", from_facility_id=clinic.id,
                            to_facility_id=hospital.id, reason="胸痛", diagnosis="I20.0", urgency="urgent",
                            status="requested", requested_at=NOW)
        s.add(referral)
        s.commit()
        ids = dict(referral=referral.id, resident=resident.id, facilities=[clinic.id, hospital.id])
    both_read = threading.Barrier(2, timeout=30)
    load = referrals_service._load

    def load_then_wait(session, referral_id, actor):
        found = load(session, referral_id, actor)
        assert found.version == 1 and found.status == "requested"
        both_read.wait()  # neither writes before both have read version 1
        return found

    monkeypatch.setattr(referrals_service, "_load", load_then_wait)

    def desk(name: str):
        actor = Actor(user_id=None, username=f"race-{name}-{tag}", role="county_doctor", scope_code=county,
                      permissions=frozenset({"referral:respond"}), facility_id=ids["facilities"][1])
        with make_sessionmaker(engine, expire_on_commit=True)() as s:
            try:
                referrals_service.accept(session=s, referral_id=ids["referral"], actor=actor, now=NOW)
                s.commit()
                return actor.username
            except Conflict as exc:
                s.rollback()
                return exc

    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            outcomes = list(pool.map(desk, ["a", "b"]))
        winners = [o for o in outcomes if isinstance(o, str)]
        losers = [o for o in outcomes if isinstance(o, Conflict)]
        assert len(winners) == 1 and len(losers) == 1, outcomes
        assert losers[0].message_key == "care.referrals.errors.concurrent_change"
        assert "没有生效" in translate(losers[0].message_key, **losers[0].params)
        with make_sessionmaker(engine, expire_on_commit=True)() as s:
            row = s.get(Referral, ids["referral"])
            assert (row.status, row.version, row.responded_by) == ("accepted", 2, winners[0])
    finally:
        with make_sessionmaker(engine, expire_on_commit=True)() as s:  # the audit events stay: the log is append-only, and names no user row
            # Deleted outside the ORM: the running tallies are told (as any bulk write must).
            with core_tallies.bulk_write(s, [ids["resident"]]):
                s.execute(delete(Referral).where(Referral.id == ids["referral"]))
                s.execute(delete(Resident).where(Resident.id == ids["resident"]))
            s.execute(delete(Facility).where(Facility.id.in_(ids["facilities"])))
            for code in (village, town, county):
                s.execute(delete(OrgUnit).where(OrgUnit.code == code))
            s.commit()


# --- overdue --------------------------------------------------------------------------------------
@pytest.mark.parametrize("urgency,hours", [("urgent", 2), ("routine", 24)])
def test_an_unanswered_referral_is_overdue_just_after_its_limit(session, w, urgency, hours):
    referral = refer(session, w, urgency=urgency)
    limit = NOW + timedelta(hours=hours)
    assert not referrals_rules.is_overdue(referral, limit)
    assert referrals_rules.is_overdue(referral, limit + timedelta(seconds=1))
    assert referrals_rules.deadline(referral) == limit
    for at, expected in ((limit, 0), (limit + timedelta(seconds=1), 1)):  # the desk agrees with the rule
        assert referrals_queries.inbox(session=session, actor=w.actors["town"], now=at).overdue == expected
    referrals_service.accept(session=session, referral_id=referral.id, actor=w.actors["town"])
    assert not referrals_rules.is_overdue(referral, limit + timedelta(days=30))  # answered: never overdue


def test_the_desk_lists_overdue_referrals_first(session, w):
    routine_old = refer(session, w, urgency="routine", now=NOW - timedelta(hours=23))  # not yet overdue
    urgent_new = refer(session, w, urgency="urgent", now=NOW - timedelta(minutes=30))
    urgent_late = refer(session, w, urgency="urgent", now=NOW - timedelta(hours=3))  # overdue
    routine_late = refer(session, w, urgency="routine", now=NOW - timedelta(hours=25))  # overdue
    answered = refer(session, w, now=NOW - timedelta(days=3))
    referrals_service.accept(session=session, referral_id=answered.id, actor=w.actors["town"])
    refer(session, w, "village", to_facility_id=w.fac["county"].id)  # to another facility: not on this desk
    box = referrals_queries.inbox(session=session, actor=w.actors["town"], now=NOW)
    assert [i.id for i in box.page.items] == [urgent_late.id, routine_late.id, urgent_new.id, routine_old.id,
                                              answered.id]
    assert [i.overdue for i in box.page.items] == [True, True, False, False, False]
    assert (box.overdue, box.page.total) == (2, 5)


# --- back down the tiers ---------------------------------------------------------------------------
def completed_upward(session, w):
    referral = refer(session, w, to_facility_id=w.fac["county"].id, diagnosis="I63.9", reason="疑似脑梗死")
    county = w.actors["county"]
    referrals_service.accept(session=session, referral_id=referral.id, actor=county, now=NOW)
    referrals_service.arrive(session=session, referral_id=referral.id, actor=county, now=NOW)
    referrals_service.complete(session=session, referral_id=referral.id, complete_in=build(CompleteIn, discharge_summary="病情稳定，回村康复"),
                       actor=county, now=NOW + timedelta(days=7))
    return referral


def test_a_downward_referral_after_an_upward_one_appears_on_the_village_doctors_worklist(session, w):
    upward = completed_upward(session, w)
    down = referrals_service.create_downward(session=session, referral_id=upward.id, actor=w.actors["county"],
                                     downward_in=build(DownwardCreate, {"reason": "康复期随访"}), now=NOW + timedelta(days=7))
    assert (down.direction, down.parent_id, down.to_facility_id) == ("down", upward.id, w.fac["clinic_a1"].id)
    assert down.diagnosis == "I63.9" and down.summary.startswith("病情稳定，回村康复")
    today = worklist.worklist(session=session, actor=w.actors["village"], now=NOW + timedelta(days=8))
    assert [i.id for i in today.downward] == [down.id]
    assert today.downward[0].from_facility == "英山县人民医院"
    other = worklist.worklist(session=session, actor=w.actors["village_b"], now=NOW + timedelta(days=8))
    assert other.downward == []
    referrals_service.accept(session=session, referral_id=down.id, actor=w.actors["village"])
    referrals_service.arrive(session=session, referral_id=down.id, actor=w.actors["village"])
    referrals_service.complete(session=session, referral_id=down.id, complete_in=build(CompleteIn, discharge_summary="已随访"), actor=w.actors["village"])
    assert worklist.worklist(session=session, actor=w.actors["village"]).downward == []  # done: off the list


def test_going_back_down_needs_a_completed_upward_referral_received_here(session, w):
    upward = refer(session, w, to_facility_id=w.fac["county"].id)
    with pytest.raises(InvalidState):
        referrals_service.create_downward(session=session, referral_id=upward.id, actor=w.actors["county"],
                                  downward_in=build(DownwardCreate, {"reason": "随访"}))
    upward = completed_upward(session, w)
    with pytest.raises(Forbidden):
        referrals_service.create_downward(session=session, referral_id=upward.id, actor=w.actors["tcm"],
                                  downward_in=build(DownwardCreate, {"reason": "随访"}))
    with pytest.raises(InvalidInput) as caught:  # 南岭村 is not the patient's home
        referrals_service.create_downward(session=session, referral_id=upward.id, actor=w.actors["county"],
                                  downward_in=build(DownwardCreate, {"reason": "随访", "to_facility_id": w.fac["clinic_b1"].id}))
    assert field_of(caught.value) == {"to_facility_id"}
    to_town = referrals_service.create_downward(session=session, referral_id=upward.id, actor=w.actors["county"],
                                        downward_in=build(DownwardCreate, {"reason": "随访", "to_facility_id": w.fac["town_a"].id}))
    assert to_town.to_facility_id == w.fac["town_a"].id
    with pytest.raises(Conflict):
        referrals_service.create_downward(session=session, referral_id=upward.id, actor=w.actors["county"],
                                  downward_in=build(DownwardCreate, {"reason": "随访"}))


# --- access and reads -------------------------------------------------------------------------------
def test_an_open_referral_or_consultation_gives_the_receiver_access(session, w):
    from weijian.care.teleconsult import service as teleconsult_service
    from weijian.care.teleconsult.schemas import ConsultationRequest

    zhao = w.people["zhao"]  # 南岭村 (town B)
    referral = refer(session, w, "village_b", resident_id=zhao.id, to_facility_id=w.fac["town_a"].id)
    assert referrals_queries.access_basis_for(session=session, actor=w.actors["town"], resident_id=zhao.id) == "referral"
    assert referrals_queries.access_basis_for(session=session, actor=w.actors["town_b"], resident_id=zhao.id) is None
    referrals_service.reject(session=session, referral_id=referral.id, reject_in=build(RejectIn, reason="转县医院"), actor=w.actors["town"])
    assert referrals_queries.access_basis_for(session=session, actor=w.actors["town"], resident_id=zhao.id) is None
    teleconsult_service.request(session=session, actor=w.actors["village_b"], now=NOW, consultation_in=build(ConsultationRequest, dict(
        resident_id=zhao.id, to_facility_id=w.fac["tcm"].id, department="针灸科", question="是否适合针灸")))
    assert referrals_queries.access_basis_for(session=session, actor=w.actors["tcm"],
                                      resident_id=zhao.id) == "teleconsultation"


def test_reading_a_referral_is_audited_and_scoped(session, w):
    referral = refer(session, w)
    item = referrals_queries.get(session=session, referral_id=referral.id, actor=w.actors["town"])
    assert (item.resident_name, item.from_facility, item.to_facility) == ("张三", "东冲村卫生室", "温泉镇卫生院")
    [event] = rs.audits(session, entity_type="referral", action="read")
    assert (event.resident_id, event.basis, event.username) == (w.people["zhang"].id, "own_township",
                                                                w.users["town"].username)
    with pytest.raises(NotFound):  # town B sees neither the resident nor the facilities
        referrals_queries.get(session=session, referral_id=referral.id, actor=w.actors["town_b"])
    page = referrals_queries.list_referrals(session=session, actor=w.actors["town_b"])
    assert page.total == 0
    assert referrals_queries.list_referrals(session=session, actor=w.actors["town"], box="received").total == 1
    assert referrals_queries.list_referrals(session=session, actor=w.actors["town"], box="sent").total == 0


def test_referrals_appear_on_the_residents_timeline(session, w):
    from weijian.care.records import service as records

    refer(session, w)
    page = records.timeline(session=session, resident_id=w.people["zhang"].id, actor=w.actors["village"])
    [row] = [i for i in page.items if i.kind == "referral"]
    assert row.summary == "上转：东冲村卫生室 → 温泉镇卫生院 · I10 原发性高血压 · 待接收"


# --- figure ---------------------------------------------------------------------------------------
def test_referral_counts_by_village_and_township_computed_by_hand(session, w):
    """Hand-made, 2025 in Beijing time. 东冲村 (A1): up 3 (one of them outside the county; a cancelled and a
    rejected one are not counted; one dated 2024-12-31 23:59 is not in the year), down 2 → 3 ÷ 2 = 1.5.
    西河村 (A2): up 2 (one at 2025-01-01 00:00 Beijing, still 2024 in UTC), down 0 → no ratio.
    Town A = A1 + A2: up 5, down 2 → 2.5.  南岭村 (B1) = town B: up 1.  County: up 6, down 2 → 3.0.
    2025Q1, town A: the 10 January and 1 January referrals → up 2, down 0."""
    zhang, li, wang, zhao = (w.people[k] for k in ("zhang", "li", "wang", "zhao"))
    jan, jun = datetime(2025, 1, 10, tzinfo=UTC), datetime(2025, 6, 1, tzinfo=UTC)
    refer(session, w, resident_id=zhang.id, now=jan)
    refer(session, w, resident_id=li.id, now=jun)
    refer(session, w, "county", resident_id=zhang.id, to_facility_id=None, out_of_county=True,
          outside_facility_name="同济医院", now=jun)
    cancelled = refer(session, w, resident_id=li.id, now=jun)
    referrals_service.cancel(session=session, referral_id=cancelled.id, actor=w.actors["village"])
    rejected = refer(session, w, resident_id=li.id, now=jun)
    referrals_service.reject(session=session, referral_id=rejected.id, reject_in=build(RejectIn, reason="无需转诊"), actor=w.actors["town"])
    for resident in (zhang, li):
        refer(session, w, "county", resident_id=resident.id, direction="down", to_facility_id=w.fac["town_a"].id,
              now=jun)
    refer(session, w, "town", resident_id=wang.id, to_facility_id=w.fac["county"].id, now=jun)
    refer(session, w, "village_b", resident_id=zhao.id, to_facility_id=w.fac["town_b"].id, now=jun)
    # 2024-12-31 15:59 UTC is 23:59 in Beijing: still 2024
    refer(session, w, resident_id=zhang.id, now=datetime(2024, 12, 31, 15, 59, tzinfo=UTC))
    # 2024-12-31 16:00 UTC is 2025-01-01 00:00 in Beijing: in 2025
    refer(session, w, "town", resident_id=wang.id, to_facility_id=w.fac["county"].id,
          now=datetime(2024, 12, 31, 16, 0, tzinfo=UTC))

    def fig(code: str) -> tuple:
        out = referrals_queries.referral_counts(session=session, actor=w.actors["bureau"], period="2025", orgunit=code)
        return out["upward"], out["downward"], out["value"], out["out_of_county"]

    assert fig(f.VILLAGE_A1) == (3, 2, 1.5, 1)
    assert fig(f.VILLAGE_A2) == (2, 0, None, 0)
    assert fig(f.TOWN_A) == (5, 2, 2.5, 1)
    assert fig(f.TOWN_B) == (1, 0, None, 0)
    assert fig(f.COUNTY) == (6, 2, 3.0, 1)
    out = referrals_queries.referral_counts(session=session, actor=w.actors["bureau"], period="2025Q1", orgunit=f.TOWN_A)
    assert (out["numerator"], out["denominator"], out["value"]) == (2, 0, None)  # Jan 10 and Jan 1


def test_the_figure_needs_statistics_permission_and_a_known_unit_in_scope(session, w):
    with pytest.raises(Forbidden):
        referrals_queries.referral_counts(session=session, actor=w.actors["village"], period="2025", orgunit=f.VILLAGE_A1)
    for bad, field in (("2025Q5", "period"), ("4211", "orgunit"), ("421124109999", "orgunit")):
        with pytest.raises(InvalidInput) as caught:
            referrals_queries.referral_counts(session=session, actor=w.actors["bureau"], period=bad if field == "period"
                                      else "2025", orgunit=bad if field == "orgunit" else f.COUNTY)
        assert caught.value.field == field


# --- rules file -----------------------------------------------------------------------------------
def test_the_rules_file_gives_the_limits_and_a_broken_one_is_refused(tmp_path: Path):
    rules = referrals_rules.rules()
    assert rules.response_hours == {"urgent": 2, "routine": 24}
    assert referrals_rules.tier_of("village_clinic") < referrals_rules.tier_of("community_centre") < referrals_rules.tier_of("county_mch")
    assert referrals_rules.tier_of("cdc") is None
    text = referrals_rules.RULES_FILE.read_text(encoding="utf-8")
    broken = tmp_path / "referrals.yaml"
    broken.write_text(text.replace("urgent: 2", "urgent: 0"), encoding="utf-8")
    with pytest.raises(referrals_rules.RulesError, match="response_hours.urgent"):
        referrals_rules.load_rules(broken)
    broken.write_text(text + "\nfacility_tiers:\n  village_clinic: beyond\n", encoding="utf-8")
    with pytest.raises(referrals_rules.RulesError, match="facility_types.yaml"):  # one classification, not two
        referrals_rules.load_rules(broken)
