"""Family-doctor contracting's writes and reads on hand-made data: teams, signing and its refusals (an end
before the start, a second current contract, a resident outside the actor's scope, a team not serving the
village), renewal linked to the previous contract, ending with a reason, the key populations derived from the
records, the roster and the renewals due, audit, and the merge mover.

The key populations are those of 国医改办发〔2016〕1号 (老年人, 孕产妇, 儿童, 残疾人, 高血压, 糖尿病, 结核病,
严重精神障碍) and 国卫基层发〔2018〕35号 (贫困人口), as ../shared/domain/public-health.md §1 quotes them."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from tests import factories as f
from weijian.accounts import service as accounts_service
from weijian.accounts.models import AuditEvent
from weijian.care import worklist
from weijian.care.contracts import keypop, queries, service
from weijian.care.contracts.models import FamilyDoctorContract
from weijian.care.contracts.schemas import ContractEnd, ContractRenew, ContractSign, TeamCreate
from weijian.care.maternal.models import Pregnancy
from weijian.core.actor import Actor
from weijian.core.commands import build
from weijian.core.errors import InvalidInput, InvalidState, NotFound
from weijian.residents import service as residents_service

TODAY = date(2026, 7, 1)


@pytest.fixture()
def county(session):
    return f.make_county(session)


@pytest.fixture()
def doctor(session, county):
    return accounts_service.actor_for(f.make_user(session, "village_doctor", f.VILLAGE_A1))


@pytest.fixture()
def team(session, county):
    cmd = build(TeamCreate, {"name": "温泉镇第一团队", "villages": [f.VILLAGE_A1, f.VILLAGE_A2], "members": [
        {"role": "township_doctor", "staff_name": "王医生"}, {"role": "village_doctor", "staff_name": "李村医"},
        {"role": "nurse", "staff_name": "张护士"}, {"role": "public_health", "staff_name": "赵公卫"}]})
    return service.create_team(session=session, team_in=cmd, actor=Actor.system("test"))


@pytest.fixture()
def resident(session, county):
    return f.make_resident(session, name="签约甲", birth_date=date(1980, 5, 5))


def refused(exc: pytest.ExceptionInfo) -> dict[str, str]:
    return {e.field: e.reason_key.rsplit(".", 1)[-1] for e in exc.value.errors}


def sign(session, actor, resident, team, **over):
    values = {"resident_id": resident.id, "team_id": team.id, "signed_on": "2026-03-01", **over}
    return service.sign(session=session, contract_in=build(ContractSign, values), actor=actor, today=TODAY)


# --- signing ----------------------------------------------------------------------------------------
def test_a_contract_runs_a_year_from_its_start_and_is_audited(session, doctor, team, resident):
    c = sign(session, doctor, resident, team)
    assert (c.start_date, c.end_date, c.status, c.package) == (date(2026, 3, 1), date(2027, 2, 28), "signed", "basic")
    event = session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "family_doctor_contract")).one()
    assert event.action == "create" and event.basis == "own_village" and event.resident_id == resident.id


def test_an_end_before_the_start_is_refused_naming_the_field(session, doctor, team, resident):
    with pytest.raises(InvalidInput) as exc:
        sign(session, doctor, resident, team, start_date="2026-03-10", end_date="2026-03-09")
    assert refused(exc) == {"end_date": "end_before_start"}
    assert session.scalar(select(func.count()).select_from(FamilyDoctorContract)) == 0


def test_a_second_current_contract_is_refused_and_the_database_holds_it_too(session, doctor, team, resident):
    first = sign(session, doctor, resident, team)
    with pytest.raises(InvalidInput) as exc:
        sign(session, doctor, resident, team, signed_on="2026-04-01")
    assert refused(exc) == {"resident_id": "already_contracted"}
    # Past the service (two requests racing, an import): the partial unique index refuses it.
    nested = session.begin_nested()
    session.add(FamilyDoctorContract(resident_id=resident.id, team_id=team.id, package="basic", signed_on=TODAY,
                                     start_date=TODAY, end_date=date(2027, 6, 30), status="signed"))
    with pytest.raises(IntegrityError):
        session.flush()
    nested.rollback()
    assert session.scalars(select(FamilyDoctorContract.id)).all() == [first.id]


def test_a_resident_outside_the_actors_village_is_refused_as_if_missing(session, doctor, team):
    other = f.make_resident(session, name="外村乙", village_code=f.VILLAGE_B1)
    with pytest.raises(InvalidInput) as exc:
        sign(session, doctor, other, team)
    assert refused(exc) == {"resident_id": "resident_not_found"}  # the same answer as a missing resident


def test_a_team_not_serving_the_village_an_unknown_package_and_a_future_signing_are_refused(session, county, team):
    other = f.make_resident(session, name="外村丙", village_code=f.VILLAGE_B1)
    with pytest.raises(InvalidInput) as exc:
        sign(session, Actor.system("test"), other, team, package="gold", signed_on="2026-07-02")
    assert refused(exc) == {"team_id": "team_not_serving", "package": "package_unknown", "signed_on": "signed_future"}


def test_a_team_needs_villages_in_the_actors_scope(session, doctor, county):
    cmd = build(TeamCreate, {"name": "越界团队", "villages": [f.VILLAGE_B1], "members": [{"role": "nurse"}]})
    with pytest.raises(InvalidInput) as exc:
        service.create_team(session=session, team_in=cmd, actor=doctor)
    assert refused(exc) == {"villages": "village_out_of_scope", "members.0.staff_name": "member_unnamed"}


# --- renewal and ending -----------------------------------------------------------------------------
def test_a_renewal_continues_the_day_after_the_end_and_links_the_previous(session, doctor, team, resident):
    c = sign(session, doctor, resident, team, signed_on="2025-07-15")
    assert c.end_date == date(2026, 7, 14)
    new = service.renew(session=session, contract_id=c.id, renew_in=build(ContractRenew, {"package": "chronic"}),
                        actor=doctor, today=TODAY)
    assert (new.start_date, new.end_date, new.status, new.previous_id, new.package) == (
        date(2026, 7, 15), date(2027, 7, 14), "renewed", c.id, "chronic")
    assert (c.status, c.end_reason, c.ended_on) == ("ended", "renewed", date(2026, 7, 14))


def test_a_lapsed_contract_renews_from_the_signing_day(session, doctor, team, resident):
    c = sign(session, doctor, resident, team, signed_on="2025-05-01")  # ended 2026-04-30
    new = service.renew(session=session, contract_id=c.id, renew_in=build(ContractRenew, {}), actor=doctor, today=TODAY)
    assert (new.start_date, c.ended_on) == (TODAY, date(2026, 4, 30))


def test_a_renewal_more_than_30_days_early_or_90_days_late_is_refused(session, doctor, team, resident):
    c = sign(session, doctor, resident, team)  # ends 2027-02-28
    with pytest.raises(InvalidInput) as exc:
        service.renew(session=session, contract_id=c.id, renew_in=build(ContractRenew, {}), actor=doctor, today=TODAY)
    assert refused(exc) == {"signed_on": "renew_too_early"}
    old = f.make_resident(session, name="签约丁", birth_date=date(1970, 1, 1))
    lapsed = sign(session, doctor, old, team, signed_on="2025-01-01")  # ended 2025-12-31: 182 days before TODAY
    with pytest.raises(InvalidInput) as exc:
        service.renew(session=session, contract_id=lapsed.id, renew_in=build(ContractRenew, {}), actor=doctor,
                      today=TODAY)
    assert refused(exc) == {"signed_on": "renew_too_late"}


def test_ending_needs_a_day_within_the_term_and_a_reason(session, doctor, team, resident):
    c = sign(session, doctor, resident, team)
    with pytest.raises(InvalidInput) as exc:
        service.end(session=session, contract_id=c.id, end_in=build(ContractEnd, {"ended_on": "2026-02-28"}),
                    actor=doctor, today=TODAY)
    assert refused(exc) == {"ended_on": "end_before_start", "reason": "missing"}
    with pytest.raises(InvalidInput) as exc:
        service.end(session=session, contract_id=c.id, end_in=build(ContractEnd, {"ended_on": "2026-06-01",
                                                                                  "reason": "renewed"}),
                    actor=doctor, today=TODAY)
    assert refused(exc) == {"reason": "reason_unknown"}
    service.end(session=session, contract_id=c.id, end_in=build(ContractEnd, {"ended_on": "2026-06-01",
                                                                              "reason": "moved_out"}),
                actor=doctor, today=TODAY)
    assert (c.status, c.ended_on, c.end_reason) == ("ended", date(2026, 6, 1), "moved_out")
    with pytest.raises(InvalidState):
        service.end(session=session, contract_id=c.id, end_in=build(ContractEnd, {"ended_on": "2026-06-02",
                                                                                  "reason": "other"}),
                    actor=doctor, today=TODAY)
    assert sign(session, doctor, resident, team, signed_on="2026-06-02").status == "signed"  # a new one now


def test_a_contract_outside_the_scope_answers_not_found(session, county, team):
    other = f.make_resident(session, name="外村戊", village_code=f.VILLAGE_A2)
    c = sign(session, Actor.system("test"), other, team)
    doctor = accounts_service.actor_for(f.make_user(session, "village_doctor", f.VILLAGE_A1))
    with pytest.raises(NotFound):
        queries.get_contract(session=session, actor=doctor, contract_id=c.id, as_of=TODAY)


# --- key populations, roster, renewals due ----------------------------------------------------------
def test_key_populations_come_from_the_records(session, county):
    on = TODAY
    old = f.make_resident(session, name="老人", birth_date=date(1961, 7, 1))  # 65 on TODAY
    young = f.make_resident(session, name="未满", birth_date=date(1961, 7, 2))  # 64
    child = f.make_resident(session, name="儿童", birth_date=date(2019, 7, 2))  # 6 until 2026-07-01 … 6 today
    seven = f.make_resident(session, name="七岁", birth_date=date(2019, 7, 1))  # 7 today: not 0–6
    hyp = f.make_chronic_patient(session, registered_on=date(2025, 1, 1), name="高血压", birth_date=date(1970, 1, 1))
    mother = f.make_resident(session, name="孕妇", sex="female", birth_date=date(1995, 1, 1))
    session.add(Pregnancy(resident_id=mother.id, lmp=date(2026, 4, 1), edd=date(2027, 1, 6),
                          registered_on=date(2026, 5, 1), booked_weeks=4, status="open"))
    poor = f.make_resident(session, name="脱贫", birth_date=date(1980, 1, 1), groups=["lifted_from_poverty", "disabled"])
    tb = f.make_tb_patient(session, start=date(2026, 6, 1), name="结核", birth_date=date(1975, 1, 1))
    session.flush()
    ids = [old.id, young.id, child.id, seven.id, hyp.resident_id, mother.id, poor.id, tb.resident_id]
    got = keypop.of_residents(session, ids, on)
    assert got[old.id] == ["elderly_65"] and got[young.id] == [] and got[child.id] == ["children_0_6"]
    assert got[seven.id] == [] and got[hyp.resident_id] == ["hypertension"] and got[mother.id] == ["pregnant"]
    assert got[poor.id] == ["disabled", "poverty"] and got[tb.resident_id] == ["tb"]
    assert keypop.of_residents(session, [tb.resident_id], date(2026, 5, 31))[tb.resident_id] == []


def test_the_roster_lists_key_populations_first_signed_or_not(session, doctor, team):
    old = f.make_resident(session, name="老人甲", birth_date=date(1950, 1, 1))
    plain = f.make_resident(session, name="青年乙", birth_date=date(1990, 1, 1))
    signed_old = f.make_resident(session, name="老人丙", birth_date=date(1951, 1, 1))
    sign(session, doctor, signed_old, team)
    rows = queries.roster(session=session, actor=doctor, as_of=TODAY, village_codes=[f.VILLAGE_A1, f.VILLAGE_B1])
    assert [r.resident_id for r in rows] == [old.id, signed_old.id, plain.id]
    assert [r.state for r in rows] == [None, "active", None]
    key = queries.roster(session=session, actor=doctor, as_of=TODAY, village_codes=[f.VILLAGE_A1], key_only=True,
                         signed="no")
    assert [r.resident_id for r in key] == [old.id]
    event = session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "contract_roster")
                            .order_by(AuditEvent.id.desc())).first()
    assert event is not None and event.action == "list"


def test_renewals_due_list_lapsed_first_then_by_end(session, doctor, team):
    a = f.make_resident(session, name="到期甲", birth_date=date(1980, 1, 1))
    b = f.make_resident(session, name="过期乙", birth_date=date(1980, 1, 2))
    c = f.make_resident(session, name="未到丙", birth_date=date(1980, 1, 3))
    ca = sign(session, doctor, a, team, signed_on="2025-07-20")  # ends 2026-07-19: due
    cb = sign(session, doctor, b, team, signed_on="2025-06-20")  # ended 2026-06-19: lapsed
    sign(session, doctor, c, team, signed_on="2026-01-01")  # ends 2026-12-31: not yet
    rows = queries.due_renewals(session=session, actor=doctor, as_of=TODAY)
    assert [(r.contract.id, r.state) for r in rows] == [(cb.id, "lapsed"), (ca.id, "due")]


def test_the_worklist_shows_the_renewals_of_the_doctors_village(session, doctor, team, resident):
    c = sign(session, doctor, resident, team, signed_on="2025-07-20")
    w = worklist.worklist(session=session, actor=doctor, now=datetime(2026, 7, 1, 4, 0, tzinfo=UTC),
                          with_recall=False)
    assert w.renewals is not None and [r.contract.id for r in w.renewals] == [c.id]


# --- merge ------------------------------------------------------------------------------------------
def test_a_merge_keeps_the_survivors_current_contract_and_ends_the_other(session, doctor, team, resident):
    twin = f.make_resident(session, name="签约甲", birth_date=date(1980, 5, 5), id_number=None)
    kept = sign(session, doctor, resident, team)
    other = sign(session, doctor, twin, team, signed_on="2026-04-01")
    residents_service.merge(session=session, survivor_id=resident.id, merged_id=twin.id, reason="重复建档",
                            actor=Actor.system("test"))
    session.refresh(other)
    assert other.resident_id == resident.id and other.status == "ended" and other.end_reason == "merged"
    assert queries.current_contract(session, resident.id).id == kept.id
