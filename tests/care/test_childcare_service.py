"""Child health management's writes and reads: a check with its z-scores and the 体弱儿 cases it opens and
closes, the refusals naming their field (a child over 6, a date before birth or in the future, outside the
window without a reason, implausible measurements), the due list (overdue first), scope and audit, the merge
mover, on hand-made data. Windows are hand-worked in test_childcare_rules.py."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from tests import factories as f
from weijian.accounts import service as accounts_service
from weijian.accounts.models import AuditEvent
from weijian.care.childcare import service
from weijian.care.childcare.models import ChildCheck, FrailChild
from weijian.care.childcare.schemas import ChildCheckCreate, FrailClose
from weijian.core.actor import Actor
from weijian.core.commands import build
from weijian.core.errors import InvalidInput, InvalidState, NotFound
from weijian.residents import service as residents_service

TODAY = date(2026, 12, 6)
BIRTH = date(2026, 1, 15)


@pytest.fixture()
def county(session):
    return f.make_county(session)


@pytest.fixture()
def doctor(session, county):
    return accounts_service.actor_for(f.make_user(session, "village_doctor", f.VILLAGE_A1))


@pytest.fixture()
def boy(session, county):
    return f.make_resident(session, name="男孩甲", sex="male", birth_date=BIRTH)


def refused(exc: pytest.ExceptionInfo) -> dict[str, str]:
    return {e.field: e.reason_key.rsplit(".", 1)[-1] for e in exc.value.errors}


def record(session, actor, child, check, on, **over):
    cmd = build(ChildCheckCreate, {"resident_id": child.id, "check": check, "date": on.isoformat(), **over})
    return service.record_check(session=session, check_in=cmd, actor=actor, today=TODAY)


def test_a_check_stores_its_who_z_scores_and_is_audited(session, doctor, boy):
    c = record(session, doctor, boy, "m3", date(2026, 4, 20), weight_kg="6.4", length_cm="61.4", head_cm="40.5")
    assert (c.age_months, c.frail) == (3, None)
    assert float(c.z_wfa) == pytest.approx(-0.08, abs=0.02) and float(c.z_lhfa) == pytest.approx(-0.17, abs=0.02)
    event = session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "child_check")).one()
    assert event.action == "create" and event.basis == "own_village" and event.resident_id == boy.id


def test_low_weight_and_anaemia_open_cases_and_a_later_normal_check_closes_them(session, doctor, boy):
    c6 = record(session, doctor, boy, "m6", date(2026, 7, 15), weight_kg="6.2", length_cm="65.0",
                haemoglobin_g_l="104")
    assert c6.frail == "underweight,anaemia"
    cases = {x.reason: x for x in session.scalars(select(FrailChild))}
    assert set(cases) == {"underweight", "anaemia"} and cases["underweight"].severity == "moderate"
    assert all(x.status == "open" and x.opened_check_id == c6.id for x in cases.values())
    # m8 weighs normal but measures no haemoglobin: the weight case closes, the anaemia case stays open.
    c8 = record(session, doctor, boy, "m8", date(2026, 9, 20), weight_kg="8.6", length_cm="70.6")
    session.refresh(cases["underweight"])
    session.refresh(cases["anaemia"])
    assert (cases["underweight"].status, cases["underweight"].closed_check_id) == ("closed", c8.id)
    assert cases["anaemia"].status == "open"
    listed = service.frail_list(session=session, actor=doctor, village_code=f.VILLAGE_A1)
    assert [r.case.reason for r in listed] == ["anaemia"]


def test_a_case_is_closed_by_hand_with_a_note_once(session, doctor, boy):
    record(session, doctor, boy, "m6", date(2026, 7, 15), haemoglobin_g_l="100")
    case = session.scalars(select(FrailChild)).one()
    with pytest.raises(InvalidInput) as exc:
        service.close_frail(session=session, frail_id=case.id, actor=doctor, today=TODAY,
                            close_in=build(FrailClose, {"closed_on": "2026-07-01", "note": "转上级"}))
    assert refused(exc) == {"closed_on": "closed_before_opened"}
    service.close_frail(session=session, frail_id=case.id, actor=doctor, today=TODAY,
                        close_in=build(FrailClose, {"closed_on": "2026-08-01", "note": "转上级"}))
    assert case.status == "closed" and case.closed_note == "转上级"
    with pytest.raises(InvalidState):
        service.close_frail(session=session, frail_id=case.id, actor=doctor, today=TODAY,
                            close_in=build(FrailClose, {"closed_on": "2026-08-02", "note": "again"}))


def test_a_child_of_seven_is_refused_naming_the_date(session, doctor, county):
    older = f.make_resident(session, sex="female", birth_date=date(2019, 12, 6))
    with pytest.raises(InvalidInput) as exc:
        record(session, doctor, older, "y6", date(2026, 12, 6), out_of_window_reason="补查")
    assert refused(exc) == {"date": "child_over_six"}
    # the day before the 7th birthday is still 0～6
    record(session, doctor, older, "y6", date(2026, 12, 5), out_of_window_reason="补查")


def test_dates_before_birth_or_in_the_future_are_refused(session, doctor, boy):
    with pytest.raises(InvalidInput) as exc:
        record(session, doctor, boy, "newborn", date(2026, 1, 14))
    assert refused(exc) == {"date": "check_before_birth"}
    with pytest.raises(InvalidInput) as exc:
        record(session, doctor, boy, "m12", date(2026, 12, 7))
    assert refused(exc) == {"date": "check_future"}


def test_outside_the_window_needs_a_reason_which_is_kept(session, doctor, boy):
    with pytest.raises(InvalidInput) as exc:
        record(session, doctor, boy, "m3", date(2026, 5, 16))  # window 2026-03-31 … 2026-05-15
    assert refused(exc) == {"out_of_window_reason": "out_of_window"}
    c = record(session, doctor, boy, "m3", date(2026, 5, 16), out_of_window_reason="外出务工返乡")
    assert c.out_of_window_reason == "外出务工返乡"
    inside = record(session, doctor, boy, "m6", date(2026, 7, 15), out_of_window_reason="不需要")
    assert inside.out_of_window_reason is None


def test_implausible_measurements_unknown_or_repeated_checks_are_refused_together(session, doctor, boy):
    record(session, doctor, boy, "m3", date(2026, 4, 20))
    with pytest.raises(InvalidInput) as exc:
        record(session, doctor, boy, "m3", date(2026, 4, 21), weight_kg="60", length_cm="12",
               haemoglobin_g_l="900", hearing="maybe")
    assert refused(exc) == {"check": "check_already", "weight_kg": "implausible", "length_cm": "implausible",
                            "haemoglobin_g_l": "implausible", "hearing": "hearing_unknown"}
    with pytest.raises(InvalidInput) as exc:
        record(session, doctor, boy, "m4", date(2026, 5, 20))
    assert refused(exc) == {"check": "check_unknown"}
    assert session.scalar(select(func.count()).select_from(ChildCheck)) == 1


def test_a_child_outside_the_scope_is_refused_and_the_attempt_audited(session, doctor, county):
    other = f.make_resident(session, sex="male", birth_date=BIRTH, village_code=f.VILLAGE_B1)
    with pytest.raises(InvalidInput) as exc:
        record(session, doctor, other, "m3", date(2026, 4, 20))
    assert refused(exc)["resident_id"] == "resident_not_found"
    with pytest.raises(NotFound):
        service.get_child(session=session, resident_id=other.id, actor=doctor)


def test_the_due_list_puts_overdue_first_and_skips_checks_missed_before_a_later_one(session, doctor, county):
    late = f.make_resident(session, name="甲", sex="male", birth_date=date(2026, 5, 20))  # m6 ended 2026-12-19
    recent = f.make_resident(session, name="乙", sex="female", birth_date=date(2026, 11, 25))  # newborn overdue
    done = f.make_resident(session, name="丙", sex="male", birth_date=date(2025, 12, 20))
    record(session, doctor, done, "m12", date(2026, 12, 5))  # older misses stay missed; m18 not open yet
    rows = service.due_children(session=session, actor=doctor, as_of=TODAY)
    assert [(r.name, r.check.check, r.check.status) for r in rows] == [
        ("乙", "newborn", "overdue"), ("甲", "m6", "due")]
    assert late.id in {r.resident_id for r in rows} and recent.id in {r.resident_id for r in rows}
    event = session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "child_checks_due")).one()
    assert event.action == "list"


def test_a_merge_moves_checks_and_cases_and_renames_a_duplicate_check(session, doctor, county):
    a = f.make_resident(session, name="重复乙", sex="male", birth_date=BIRTH)
    b = f.make_resident(session, name="重复乙", sex="male", birth_date=BIRTH, id_number=None)
    record(session, doctor, a, "m3", date(2026, 4, 20))
    dup = record(session, doctor, b, "m3", date(2026, 4, 22))
    record(session, doctor, b, "m6", date(2026, 7, 15), haemoglobin_g_l="100")
    residents_service.merge(session=session, survivor_id=a.id, merged_id=b.id, reason="重复建档",
                            actor=Actor.system("test"))
    session.refresh(dup)
    assert (dup.resident_id, dup.check_code) == (a.id, "xm3")
    assert set(session.scalars(select(ChildCheck.check_code).where(ChildCheck.resident_id == a.id))) == {
        "m3", "xm3", "m6"}
    assert session.scalar(select(FrailChild.resident_id)) == a.id


def test_an_unmerge_gives_the_checks_and_cases_back_with_their_codes(session, doctor, county):
    a = f.make_resident(session, name="重复丙", sex="male", birth_date=BIRTH)
    b = f.make_resident(session, name="重复丙", sex="male", birth_date=BIRTH, id_number=None)
    record(session, doctor, a, "m6", date(2026, 7, 15), haemoglobin_g_l="100")
    dup = record(session, doctor, b, "m6", date(2026, 7, 16), haemoglobin_g_l="101")
    merge = residents_service.merge(session=session, survivor_id=a.id, merged_id=b.id, reason="重复建档",
                                    actor=Actor.system("test"))
    closed = session.scalars(select(FrailChild).where(FrailChild.opened_check_id == dup.id)).one()
    assert closed.status == "closed"  # two open anaemia cases: the survivor's kept
    residents_service.unmerge(session=session, merge_id=merge.id, reason="并非同一人", actor=Actor.system("test"))
    session.refresh(dup)
    session.refresh(closed)
    assert (dup.resident_id, dup.check_code) == (b.id, "m6")
    assert (closed.resident_id, closed.status) == (b.id, "open")
