"""Settling real stays through the database: the worked example, accumulations across stored stays,
reversal and re-settlement, refusals that store nothing, the batch, scope, audit and the discharge hook."""
from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from tests import factories as f
from tests.conftest import ON_POSTGRES
from tests.settlement.settle_setup import build, counts
from weijian.accounts.models import AuditEvent
from weijian.care import service as care_service
from weijian.care.records.schemas import DischargeIn
from weijian.core import commands
from weijian.core import tallies as core_tallies
from weijian.core.actor import Actor
from weijian.core.db import make_sessionmaker
from weijian.core.errors import Conflict, Forbidden, InvalidInput, InvalidState, NotFound
from weijian.settlement.models import Settlement, SettlementYear
from weijian.settlement.paylater import queries as paylater_queries
from weijian.settlement.settle import engine
from weijian.settlement.settle import queries as settle_queries
from weijian.settlement.settle import service as settle
from weijian.settlement.settle.rules import get_policy
from weijian.settlement.settle.schemas import PendingIn, ReverseIn, SettleIn

D = Decimal
SYSTEM = Actor.system("test")
POLICY = get_policy("huanggang-resident-2022")


def _year(session: Session, resident_id: int, year: int = 2024) -> SettlementYear:
    return session.scalar(select(SettlementYear).where(SettlementYear.resident_id == resident_id,
                                                       SettlementYear.year == year))


def test_worked_example_township_stay_is_stored_with_its_breakdown(session: Session) -> None:
    w = build(session)
    person = f.make_resident(session)
    stay = f.make_stay(session, person, w.facilities["town_a"], total="5000.00")
    s = settle.settle_encounter(session=session, actor=w.actors["town_a"], settle_in=SettleIn(encounter_id=stay.id))
    assert (s.level, s.policy_id, s.basic_pays, s.patient_pays) == ("township", POLICY.id, D("4080.00"), D("920.00"))
    assert (s.deductible, s.seq, s.status, s.before_basic_paid, s.after_basic_paid) == (
        D("200.00"), 1, "settled", D("0.00"), D("4080.00"))
    assert _year(session, person.id).basic_paid == D("4080.00")


def test_worked_example_level3_stay_out_of_county_adds_critical_illness(session: Session) -> None:
    w = build(session)
    person = f.make_resident(session)
    stay = f.make_stay(session, person, None, total="150000.00")
    s = settle.settle_encounter(session=session, actor=w.actors["county"], settle_in=SettleIn(encounter_id=stay.id))
    assert (s.level, s.in_county) == ("city", False)
    assert (s.basic_pays, s.critical_illness_pays, s.patient_pays) == (D("89460.00"), D("30651.00"), D("29889.00"))
    assert s.after_in_policy_share == D("60540.00")


def test_basic_cap_is_reached_mid_year_across_stored_stays(session: Session) -> None:
    w = build(session)
    person = f.make_resident(session)
    stays = [f.make_stay(session, person, None, end_date=date(2024, m, 1), total="150000.00") for m in (2, 5, 9)]
    rows = [settle.settle_encounter(session=session, actor=w.actors["county"],
                                    settle_in=SettleIn(encounter_id=s.id)) for s in stays]
    assert [r.basic_pays for r in rows] == [D("89460.00"), D("60540.00"), D("0.00")]
    assert [r.seq for r in rows] == [1, 2, 3]
    expected = engine.settle_year(POLICY, None, [engine.Stay(s.end_date, "city", s.total_cost, s.in_policy_cost)
                                                for s in stays])
    assert [r.patient_pays for r in rows] == [e.patient_pays for e in expected]
    year = _year(session, person.id)
    assert (year.basic_paid, year.stays, year.last_seq) == (D("150000.00"), 3, 3)
    assert year.critical_illness_paid == expected[-1].after.critical_illness_paid


def test_group_terms_apply_to_a_low_income_resident(session: Session) -> None:
    w = build(session)
    person = f.make_resident(session, groups=["低保"])
    stay = f.make_stay(session, person, w.facilities["county"], total="40000.00")
    s = settle.settle_encounter(session=session, actor=w.actors["county"], settle_in=SettleIn(encounter_id=stay.id))
    expected, _ = engine.settle_stay(POLICY, "min_living", engine.Stay(stay.end_date, "county", D("40000.00"),
                                                                       D("40000.00")))
    assert s.benefit_group == "min_living"
    assert s.assistance_pays == expected.assistance_pays > 0
    assert s.patient_pays == expected.patient_pays


def test_downward_referral_waives_the_deductible(session: Session) -> None:
    w = build(session)
    person = f.make_resident(session)
    stay = f.make_stay(session, person, w.facilities["town_a"], total="5000.00", referral_direction="down")
    s = settle.settle_encounter(session=session, actor=w.actors["town_a"], settle_in=SettleIn(encounter_id=stay.id))
    assert (s.downward_referral, s.deductible, s.basic_pays) == (True, D("0.00"), D("4250.00"))


def test_uninsured_resident_is_settled_as_self_pay(session: Session) -> None:
    w = build(session)
    person = f.make_resident(session, insurance_scheme="none")
    stay = f.make_stay(session, person, w.facilities["county"], total="3000.00", in_policy="2500.00")
    s = settle.settle_encounter(session=session, actor=w.actors["county"], settle_in=SettleIn(encounter_id=stay.id))
    assert (s.policy_id, s.scheme, s.patient_pays, s.basic_pays, s.out_of_policy) == (
        "self-pay", "none", D("3000.00"), D("0.00"), D("500.00"))
    assert _year(session, person.id).basic_paid == D("0.00")


def test_refused_stay_stores_nothing(session: Session) -> None:
    w = build(session)
    person = f.make_resident(session)
    odd = f.make_facility(session, name="某疗养院", type="other", grade="ungraded", orgunit_code=f.COUNTY)
    stay = f.make_stay(session, person, odd, total="1000.00")
    before = counts(session)
    with pytest.raises(InvalidInput) as exc:
        settle.settle_encounter(session=session, actor=w.actors["county"], settle_in=SettleIn(encounter_id=stay.id))
    assert exc.value.field == "facility_id"
    assert counts(session) == before


def test_bill_with_in_policy_above_total_is_refused_naming_the_field(session: Session) -> None:
    w = build(session)
    person = f.make_resident(session)
    stay = f.make_stay(session, person, w.facilities["county"], total="1000.00", in_policy="1200.00")
    before = counts(session)
    with pytest.raises(InvalidInput) as exc:
        settle.settle_encounter(session=session, actor=w.actors["county"], settle_in=SettleIn(encounter_id=stay.id))
    assert exc.value.field == "in_policy_cost"
    assert counts(session) == before


def test_stay_not_discharged_or_a_visit_cannot_be_settled(session: Session) -> None:
    w = build(session)
    person = f.make_resident(session)
    open_stay = f.make_stay(session, person, w.facilities["county"], end_date=None)
    visit = f.make_stay(session, person, w.facilities["county"], type="outpatient")
    for enc in (open_stay, visit):
        with pytest.raises(InvalidState):
            settle.settle_encounter(session=session, actor=w.actors["county"], settle_in=SettleIn(encounter_id=enc.id))


def test_a_stay_cannot_be_settled_twice(session: Session) -> None:
    w = build(session)
    person = f.make_resident(session)
    stay = f.make_stay(session, person, w.facilities["county"])
    settle.settle_encounter(session=session, actor=w.actors["county"], settle_in=SettleIn(encounter_id=stay.id))
    with pytest.raises(Conflict):
        settle.settle_encounter(session=session, actor=w.actors["county"], settle_in=SettleIn(encounter_id=stay.id))


def test_reversal_restores_accumulations_exactly_and_resettles_later_stays(session: Session) -> None:
    w = build(session)
    person = f.make_resident(session, groups=["特困"])
    stays = [f.make_stay(session, person, None, end_date=date(2024, m, 1), total=t)
             for m, t in ((2, "120000.00"), (5, "90000.00"), (9, "60000.00"))]
    rows = [settle.settle_encounter(session=session, actor=w.actors["county"],
                                    settle_in=SettleIn(encounter_id=s.id)) for s in stays]
    year_before_first = {k: getattr(rows[0], f"before_{k}") for k in settle_queries.ACC_FIELDS}

    result = settle.reverse(session=session, actor=w.actors["county"], settlement_id=rows[0].id,
                            reverse_in=ReverseIn(reason="费用录入错误"))
    assert result.reversed.status == "reversed" and result.reversed.reversal_reason == "费用录入错误"
    assert [r.status for r in rows[1:]] == ["superseded", "superseded"]
    assert [n.replaces_id for n in result.resettled] == [rows[1].id, rows[2].id]
    assert [n.seq for n in result.resettled] == [2, 3]
    # The same as if the first stay had never been settled.
    expected = engine.settle_year(POLICY, "extreme_poverty",
                                  [engine.Stay(s.end_date, "city", s.total_cost, s.in_policy_cost) for s in stays[1:]])
    assert [n.patient_pays for n in result.resettled] == [e.patient_pays for e in expected]
    assert {k: getattr(result.resettled[0], f"before_{k}") for k in settle_queries.ACC_FIELDS} == year_before_first
    year = _year(session, person.id)
    assert {k: getattr(year, k) for k in settle_queries.ACC_FIELDS} == {
        k: getattr(expected[-1].after, k) for k in settle_queries.ACC_FIELDS}
    assert year.stays == 2
    assert core_tallies.check(session, ["settle"]) == []  # the indicators' payer totals follow

    # Reversing every live settlement brings the year back to zero, exactly.
    for n in result.resettled[::-1]:
        settle.reverse(session=session, actor=w.actors["county"], settlement_id=n.id, reverse_in=ReverseIn(reason="测试"))
    year = _year(session, person.id)
    assert all(getattr(year, k) == D("0.00") for k in settle_queries.ACC_FIELDS) and year.stays == 0


def test_reversed_stay_can_be_settled_again_and_comes_last(session: Session) -> None:
    w = build(session)
    person = f.make_resident(session)
    a = f.make_stay(session, person, w.facilities["county"], end_date=date(2024, 2, 1), total="8000.00")
    b = f.make_stay(session, person, w.facilities["county"], end_date=date(2024, 4, 1), total="6000.00")
    first = settle.settle_encounter(session=session, actor=w.actors["county"], settle_in=SettleIn(encounter_id=a.id))
    settle.settle_encounter(session=session, actor=w.actors["county"], settle_in=SettleIn(encounter_id=b.id))
    settle.reverse(session=session, actor=w.actors["county"], settlement_id=first.id,
                   reverse_in=ReverseIn(reason="补录费用"))
    again = settle.settle_encounter(session=session, actor=w.actors["county"], settle_in=SettleIn(encounter_id=a.id))
    assert again.seq == 3 and again.status == "settled"
    with pytest.raises(InvalidState):
        settle.reverse(session=session, actor=w.actors["county"], settlement_id=first.id,
                       reverse_in=ReverseIn(reason="再次"))


def test_reversal_needs_a_reason(session: Session) -> None:
    w = build(session)
    person = f.make_resident(session)
    s = settle.settle_encounter(session=session, actor=w.actors["county"],
                                settle_in=SettleIn(encounter_id=f.make_stay(session, person, w.facilities["county"]).id))
    with pytest.raises(InvalidInput) as exc:
        settle.reverse(session=session, actor=w.actors["county"], settlement_id=s.id,
                       reverse_in=commands.build(ReverseIn, {"reason": "  "}))
    assert exc.value.field == "reason"
    assert s.status == "settled"


def test_settle_pending_settles_each_persons_year_in_discharge_order(session: Session) -> None:
    w = build(session)
    people = [f.make_resident(session), f.make_resident(session, groups=["低保"], village_code=f.VILLAGE_B1)]
    stays = {p.id: [f.make_stay(session, p, fac, end_date=date(2024, m, 3), total=t)
                    for m, fac, t in ((9, None, "90000.00"), (3, w.facilities["county"], "30000.00"),
                                      (6, w.facilities["town_b"], "4000.00"))] for p in people}
    f.make_stay(session, people[0], w.facilities["county"], end_date=None)  # still admitted: not settled
    f.make_stay(session, people[0], w.facilities["county"], end_date=date(2023, 12, 30))  # another year
    assert settle.settle_pending(session=session, actor=SYSTEM, pending_in=PendingIn(year=2024)) == 6
    for p, group in zip(people, (None, "min_living"), strict=True):
        rows = list(session.scalars(select(Settlement).where(Settlement.resident_id == p.id).order_by(Settlement.seq)))
        ordered = sorted(stays[p.id], key=lambda s: s.end_date)
        assert [r.encounter_id for r in rows] == [s.id for s in ordered]
        level = {None: "city", w.facilities["county"].id: "county", w.facilities["town_b"].id: "township"}
        expected = engine.settle_year(POLICY, group, [engine.Stay(s.end_date, level[s.facility_id], s.total_cost,
                                                                  s.in_policy_cost) for s in ordered])
        assert [r.patient_pays for r in rows] == [e.patient_pays for e in expected]
        assert _year(session, p.id).in_policy_share == expected[-1].after.in_policy_share
    assert settle.settle_pending(session=session, actor=SYSTEM, pending_in=PendingIn(year=2024)) == 0
    audits = session.scalars(select(AuditEvent).where(AuditEvent.action == "settle")).all()
    assert len(audits) == 6 and {a.resident_id for a in audits} == {p.id for p in people}


def test_settle_pending_continues_a_year_already_begun(session: Session) -> None:
    w = build(session)
    person = f.make_resident(session)
    a = f.make_stay(session, person, None, end_date=date(2024, 1, 5), total="150000.00")
    settle.settle_encounter(session=session, actor=w.actors["county"], settle_in=SettleIn(encounter_id=a.id))
    b = f.make_stay(session, person, None, end_date=date(2024, 2, 5), total="150000.00")
    assert settle.settle_pending(session=session, actor=SYSTEM, pending_in=PendingIn(year=2024)) == 1
    row = session.scalar(select(Settlement).where(Settlement.encounter_id == b.id))
    assert (row.seq, row.basic_pays, row.after_basic_paid) == (2, D("60540.00"), D("150000.00"))


def test_settle_pending_keeps_to_the_actors_scope_and_skips_refused_stays(session: Session) -> None:
    w = build(session)
    mine = f.make_resident(session)
    other = f.make_resident(session, village_code=f.VILLAGE_B1)
    odd = f.make_facility(session, name="某疗养院", type="other", grade="ungraded", orgunit_code=f.COUNTY)
    f.make_stay(session, mine, w.facilities["town_a"])
    refused = f.make_stay(session, mine, odd)
    f.make_stay(session, other, w.facilities["town_b"])
    assert settle.settle_pending(session=session, actor=w.actors["town_a"], pending_in=PendingIn(year=2024)) == 1
    assert session.scalar(select(Settlement).where(Settlement.encounter_id == refused.id)) is None
    assert settle.settle_pending(session=session, actor=SYSTEM,
                                 pending_in=PendingIn(year=2024, village_code=f.VILLAGE_B1)) == 1


def test_settle_pending_can_date_settlements_on_discharge(session: Session) -> None:
    w = build(session)
    person = f.make_resident(session)
    stay = f.make_stay(session, person, w.facilities["county"], end_date=date(2024, 7, 9))
    settle.settle_pending(session=session, actor=SYSTEM, pending_in=PendingIn(year=2024), on_discharge_date=True)
    assert session.scalar(select(Settlement.settled_on).where(Settlement.encounter_id == stay.id)) == date(2024, 7, 9)


def test_settlements_outside_the_scope_do_not_exist_for_the_actor(session: Session) -> None:
    w = build(session)
    person = f.make_resident(session)  # village A1, town A
    stay = f.make_stay(session, person, w.facilities["county"])
    with pytest.raises(NotFound):
        settle.settle_encounter(session=session, actor=w.actors["town_b"], settle_in=SettleIn(encounter_id=stay.id))
    s = settle.settle_encounter(session=session, actor=w.actors["county"], settle_in=SettleIn(encounter_id=stay.id))
    with pytest.raises(NotFound):
        settle_queries.get(session=session, actor=w.actors["town_b"], settlement_id=s.id)
    assert settle_queries.get(session=session, actor=w.actors["bureau"], settlement_id=s.id).id == s.id
    with pytest.raises(Forbidden):
        settle.settle_encounter(session=session, actor=w.actors["bureau"], settle_in=SettleIn(encounter_id=stay.id))
    with pytest.raises(Forbidden):
        settle_queries.get(session=session, actor=w.actors["village"], settlement_id=s.id)


def test_stay_at_the_actors_own_facility_may_be_settled_there(session: Session) -> None:
    w = build(session)
    visitor = f.make_resident(session, village_code=f.VILLAGE_B1)  # town B, treated at town A's centre
    stay = f.make_stay(session, visitor, w.facilities["town_a"])
    s = settle.settle_encounter(session=session, actor=w.actors["town_a"], settle_in=SettleIn(encounter_id=stay.id))
    event = session.scalar(select(AuditEvent).where(AuditEvent.entity_type == "settlement",
                                                    AuditEvent.entity_id == str(s.id)))
    assert event.basis == "own_facility" and event.action == "settle"
    assert [x.id for x in settle_queries.list_for_resident(session=session, actor=w.actors["town_a"],
                                                   resident_id=visitor.id)] == [s.id]


def test_every_settlement_and_read_is_audited(session: Session) -> None:
    w = build(session)
    person = f.make_resident(session)
    s = settle.settle_encounter(session=session, actor=w.actors["county"],
                                settle_in=SettleIn(encounter_id=f.make_stay(session, person, w.facilities["county"]).id))
    settle_queries.get(session=session, actor=w.actors["bureau"], settlement_id=s.id)
    settle_queries.list_for_resident(session=session, actor=w.actors["county"], resident_id=person.id)
    settle.reverse(session=session, actor=w.actors["county"], settlement_id=s.id, reverse_in=ReverseIn(reason="测试"))
    events = session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "settlement",
                                                      AuditEvent.resident_id == person.id)
                             .order_by(AuditEvent.id)).all()
    assert [(e.action, e.username) for e in events] == [
        ("settle", w.users["county"].username), ("read", w.users["bureau"].username),
        ("read", w.users["county"].username), ("reverse", w.users["county"].username)]


def test_discharge_settles_the_stay_in_the_same_transaction(session: Session) -> None:
    w = build(session)
    person = f.make_resident(session)
    stay = f.make_stay(session, person, w.facilities["county"], end_date=None, start_date=date(2024, 5, 1))
    bill = commands.build(DischargeIn, {"end_date": "2024-05-08", "total_cost": "5000.00",
                                        "in_policy_cost": "5000.00"})
    care_service.discharge(session=session, encounter_id=stay.id, discharge_in=bill, actor=w.actors["county"],
                           today=date(2024, 5, 8))
    s = session.scalar(select(Settlement).where(Settlement.encounter_id == stay.id))
    assert s is not None and s.level == "county" and s.basic_pays == D("3375.00")


def test_discharge_by_someone_who_may_not_settle_leaves_the_stay_pending(session: Session) -> None:
    w = build(session)
    person = f.make_resident(session)
    stay = f.make_stay(session, person, w.facilities["clinic_a1"], end_date=None, start_date=date(2024, 5, 1))
    bill = commands.build(DischargeIn, {"end_date": "2024-05-03"})
    care_service.discharge(session=session, encounter_id=stay.id, discharge_in=bill, actor=w.actors["village"],
                           today=date(2024, 5, 8))
    assert session.scalar(select(Settlement).where(Settlement.encounter_id == stay.id)) is None
    assert settle.settle_pending(session=session, actor=SYSTEM, pending_in=PendingIn(year=2024)) == 1


@pytest.mark.skipif(not ON_POSTGRES, reason="two concurrent transactions: PostgreSQL")
def test_concurrent_settlements_of_one_person_do_not_both_pass(engine, monkeypatch) -> None:
    """Two windows settle two stays of one person at once: the second to commit is refused with a
    Conflict, so the year's accumulations never miss a stay. Uses its own county code: data is committed."""
    from weijian.orgunits.models import OrgUnit

    county, town, village = "429006000000", "429006100000", "429006100201"
    with make_sessionmaker(engine, expire_on_commit=True)() as s:
        s.add_all([OrgUnit(code=county, name="并发县", level="county"),
                   OrgUnit(code=town, name="并发镇", level="township", parent_code=county),
                   OrgUnit(code=village, name="并发村", level="village", parent_code=town)])
        s.flush()
        fac = f.make_facility(s, name="并发县医院", type="county_general", orgunit_code=county)
        person = f.make_resident(s, village_code=village)
        a = f.make_stay(s, person, fac, end_date=date(2023, 3, 1), total="20000.00")
        b = f.make_stay(s, person, fac, end_date=date(2023, 4, 1), total="20000.00")
        first = settle.settle_encounter(session=s, actor=SYSTEM, settle_in=SettleIn(encounter_id=f.make_stay(
            s, person, fac, end_date=date(2023, 1, 1), total="1000.00").id))
        assert first.seq == 1
        ids, person_id, fac_id = (a.id, b.id), person.id, fac.id
        s.commit()
    try:
        _race_two_settlements(engine, monkeypatch, ids, person_id)
    finally:  # the rows were committed: remove them, so later tests (the demo's) find an empty county
        _remove_committed(engine, person_id, fac_id, (village, town, county))


def _remove_committed(engine, person_id: int, fac_id: int, codes: tuple[str, ...]) -> None:
    from weijian.care.models import Diagnosis, Encounter
    from weijian.orgunits.models import Facility, FacilityCapacity, OrgUnit
    from weijian.residents.models import Household, Resident, ResidentGroup
    from weijian.settlement.models import Balance, DepositWaiver

    with make_sessionmaker(engine, expire_on_commit=True)() as s:
        # Deleted outside the ORM: the running tallies are told (as any bulk write must).
        with core_tallies.bulk_write(s, [person_id]):
            stays = select(Encounter.id).where(Encounter.resident_id == person_id)
            s.execute(delete(Balance).where(Balance.resident_id == person_id))
            s.execute(delete(DepositWaiver).where(DepositWaiver.resident_id == person_id))
            s.execute(update(Settlement).where(Settlement.resident_id == person_id).values(replaces_id=None))
            s.execute(delete(Settlement).where(Settlement.resident_id == person_id))
            s.execute(delete(SettlementYear).where(SettlementYear.resident_id == person_id))
            s.execute(delete(Diagnosis).where(Diagnosis.encounter_id.in_(stays)))
            s.execute(delete(Encounter).where(Encounter.resident_id == person_id))
            household = s.scalar(select(Resident.household_id).where(Resident.id == person_id))
            s.execute(delete(ResidentGroup).where(ResidentGroup.resident_id == person_id))
            s.execute(delete(Resident).where(Resident.id == person_id))
        if household is not None:
            s.execute(delete(Household).where(Household.id == household))
        s.execute(delete(FacilityCapacity).where(FacilityCapacity.facility_id == fac_id))
        s.execute(delete(Facility).where(Facility.id == fac_id))
        for code in codes:  # children before parents
            s.execute(delete(OrgUnit).where(OrgUnit.code == code))
        s.commit()


def _race_two_settlements(engine, monkeypatch, ids: tuple[int, int], person_id: int) -> None:
    results: dict[int, object] = {}
    both_have_read = threading.Barrier(2)
    look_up_waiver = paylater_queries.waiver_for

    def waiver_after_both_read(**kw):
        # Called after the year row is read and the stay computed, before anything is written: both
        # windows have read the same accumulations when either writes.
        both_have_read.wait(timeout=10)
        return look_up_waiver(**kw)

    monkeypatch.setattr(paylater_queries, "waiver_for", waiver_after_both_read)

    def run(i: int) -> None:
        with make_sessionmaker(engine, expire_on_commit=True)() as s:
            try:
                settle.settle_encounter(session=s, actor=SYSTEM, settle_in=SettleIn(encounter_id=ids[i]))
                s.commit()
                results[i] = "ok"
            except Conflict as exc:
                s.rollback()
                results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(type(r).__name__ if not isinstance(r, str) else r for r in results.values()) == ["Conflict", "ok"]
    with make_sessionmaker(engine, expire_on_commit=True)() as s:
        year = s.scalar(select(SettlementYear).where(SettlementYear.resident_id == person_id))
        live = s.scalars(select(Settlement).where(Settlement.resident_id == person_id,
                                                  Settlement.status == "settled").order_by(Settlement.seq)).all()
        assert (year.stays, year.last_seq, len(live)) == (2, 2, 2)
        assert year.in_policy_share == live[-1].after_in_policy_share
