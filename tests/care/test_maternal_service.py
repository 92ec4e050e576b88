"""Maternal health management's writes and reads: registration (建册) and its refusals, the antenatal visits
(windows, order, the reason asked for outside a window), risk grading (orange and red flagged until a
referral is linked), delivery and postpartum visits, scope and audit, the merge mover, on hand-made data."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from tests import factories as f
from weijian.accounts import service as accounts_service
from weijian.accounts.models import AuditEvent
from weijian.care.maternal import queries, service
from weijian.care.maternal.models import AntenatalVisit, Pregnancy
from weijian.care.maternal.schemas import (
    AntenatalVisitCreate,
    DeliveryRecord,
    PostpartumVisitCreate,
    PregnancyRegister,
    RiskGrade,
)
from weijian.care.models import Referral
from weijian.core.actor import Actor
from weijian.core.commands import build
from weijian.core.errors import InvalidInput, InvalidState, NotFound
from weijian.residents import service as residents_service

TODAY = date(2026, 7, 1)
LMP = date(2026, 3, 1)  # windows worked by hand in test_maternal_rules.py


@pytest.fixture()
def county(session):
    return f.make_county(session)


@pytest.fixture()
def doctor(session, county):
    return accounts_service.actor_for(f.make_user(session, "village_doctor", f.VILLAGE_A1))


@pytest.fixture()
def woman(session, county):
    return f.make_resident(session, name="孕妇甲", sex="female", birth_date=date(1995, 5, 5))


def refused(exc: pytest.ExceptionInfo) -> dict[str, str]:
    return {e.field: e.reason_key.rsplit(".", 1)[-1] for e in exc.value.errors}


def register(session, actor, resident, **over):
    values = {"resident_id": resident.id, "lmp": LMP.isoformat(), "registered_on": "2026-04-10", **over}
    return service.register_pregnancy(session=session, pregnancy_in=build(PregnancyRegister, values), actor=actor,
                                      today=TODAY)


def visit(session, actor, p, number, on, **over):
    cmd = build(AntenatalVisitCreate, {"number": number, "date": on.isoformat(), **over})
    return service.record_antenatal(session=session, pregnancy_id=p.id, visit_in=cmd, actor=actor, today=TODAY)


# --- registration -----------------------------------------------------------------------------------
def test_registration_stores_the_edd_and_the_booking_week_and_is_audited(session, doctor, woman):
    p = register(session, doctor, woman)
    assert p.edd == date(2026, 12, 6) and p.status == "open" and p.risk_colour == "green"
    assert p.booked_weeks == 5  # 2026-04-10 is 40 days after the LMP: 5 weeks 5 days
    event = session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "pregnancy")).one()
    assert event.action == "create" and event.basis == "own_village" and event.resident_id == woman.id


def test_an_lmp_in_the_future_or_over_44_weeks_before_registration_is_refused(session, doctor, woman):
    with pytest.raises(InvalidInput) as exc:
        register(session, doctor, woman, lmp="2026-04-11")
    assert refused(exc) == {"lmp": "lmp_future"}
    with pytest.raises(InvalidInput) as exc:
        register(session, doctor, woman, lmp="2025-06-05")  # 309 days before 2026-04-10
    assert refused(exc) == {"lmp": "lmp_too_old"}
    assert session.scalar(select(func.count()).select_from(Pregnancy)) == 0


def test_a_man_or_a_girl_under_ten_is_refused_naming_the_resident(session, doctor, county):
    man = f.make_resident(session, sex="male", birth_date=date(1990, 1, 1))
    with pytest.raises(InvalidInput) as exc:
        register(session, doctor, man)
    assert refused(exc) == {"resident_id": "not_female"}
    girl = f.make_resident(session, sex="female", birth_date=date(2016, 6, 1))  # 9 on the LMP
    with pytest.raises(InvalidInput) as exc:
        register(session, doctor, girl)
    assert refused(exc) == {"resident_id": "age_out_of_range"}


def test_registration_dates_and_parity_are_checked_together(session, doctor, woman):
    with pytest.raises(InvalidInput) as exc:
        register(session, doctor, woman, registered_on="2026-07-02", gravidity=1, parity=1)
    assert refused(exc) == {"registered_on": "registered_future", "parity": "parity_above_gravidity"}


def test_a_second_open_pregnancy_and_a_resident_outside_the_scope_are_refused(session, doctor, woman):
    register(session, doctor, woman)
    with pytest.raises(InvalidInput) as exc:
        register(session, doctor, woman)
    assert refused(exc) == {"resident_id": "already_open"}
    other = f.make_resident(session, sex="female", birth_date=date(1995, 1, 1), village_code=f.VILLAGE_B1)
    with pytest.raises(InvalidInput) as exc:
        register(session, doctor, other)
    assert refused(exc) == {"resident_id": "resident_not_found"}


# --- antenatal visits -------------------------------------------------------------------------------
def test_a_visit_in_its_window_records_the_gestation_and_needs_no_reason(session, doctor, woman):
    p = register(session, doctor, woman)
    v = visit(session, doctor, p, 1, date(2026, 5, 30), sbp=118, dbp=76, out_of_window_reason="不需要")
    assert (v.weeks, v.days) == (12, 6) and v.out_of_window_reason is None


def test_a_visit_outside_its_window_needs_a_reason(session, doctor, woman):
    """The 2nd visit is due 孕16–20周 (2026-06-21 … 2026-07-25): on 06-20 (15w6d) it needs a reason."""
    p = register(session, doctor, woman)
    visit(session, doctor, p, 1, date(2026, 4, 10))
    with pytest.raises(InvalidInput) as exc:
        visit(session, doctor, p, 2, date(2026, 6, 20))
    assert refused(exc) == {"out_of_window_reason": "out_of_window"}
    assert "2026-06-21" in str(exc.value.errors[0].params["start"])
    v = visit(session, doctor, p, 2, date(2026, 6, 20), out_of_window_reason="外出务工提前返乡")
    assert v.out_of_window_reason == "外出务工提前返乡"


def test_visit_numbers_out_of_order_twice_or_before_the_previous_are_refused(session, doctor, woman):
    p = register(session, doctor, woman)
    with pytest.raises(InvalidInput) as exc:
        visit(session, doctor, p, 2, date(2026, 6, 25))
    assert refused(exc) == {"number": "first_visit_is_1"}
    visit(session, doctor, p, 1, date(2026, 4, 10))
    visit(session, doctor, p, 3, date(2026, 6, 30), out_of_window_reason="漏检第2次")  # a missed window stays missed
    with pytest.raises(InvalidInput) as exc:
        visit(session, doctor, p, 2, date(2026, 7, 1))
    assert refused(exc) == {"number": "visit_out_of_order"}
    with pytest.raises(InvalidInput) as exc:
        visit(session, doctor, p, 3, date(2026, 7, 1))
    assert refused(exc) == {"number": "visit_already_recorded"}
    with pytest.raises(InvalidInput) as exc:
        visit(session, doctor, p, 4, date(2026, 6, 29), out_of_window_reason="x")
    assert refused(exc) == {"date": "visit_before_previous"}
    with pytest.raises(InvalidInput) as exc:
        visit(session, doctor, p, 4, date(2026, 7, 2), out_of_window_reason="x", sbp=80, dbp=90)
    assert refused(exc) == {"date": "visit_future", "dbp": "dbp_not_below_sbp"}
    assert session.scalar(select(func.count()).select_from(AntenatalVisit)) == 2


def test_the_register_shows_the_next_window_overdue_first(session, doctor, woman):
    p = register(session, doctor, woman)
    rows = queries.register(session=session, actor=doctor, as_of=TODAY)
    assert [(r.pregnancy.id, r.next.visit, r.next.status) for r in rows] == [(p.id, 1, "overdue")]
    visit(session, doctor, p, 1, date(2026, 4, 10))
    rows = queries.register(session=session, actor=doctor, as_of=TODAY)
    assert (rows[0].next.visit, rows[0].next.status, rows[0].weeks, rows[0].days) == (2, "due", 17, 3)
    listed = session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "pregnancy_register")).all()
    assert listed and listed[-1].basis == "own_village"


# --- risk grading -----------------------------------------------------------------------------------
def _referral(session, resident, direction="up"):
    fac = f.make_facility(session)
    r = Referral(resident_id=resident.id, direction=direction, from_facility_id=fac.id, reason="高危妊娠",
                 status="requested")
    session.add(r)
    session.flush()
    return r


def test_orange_is_flagged_until_an_upward_referral_of_hers_is_linked(session, doctor, woman):
    p = register(session, doctor, woman)
    cmd = build(RiskGrade, {"graded_on": "2026-06-01", "criteria": ["twins", "placenta_praevia", "syphilis"]})
    service.grade_risk(session=session, pregnancy_id=p.id, grade_in=cmd, actor=doctor, today=TODAY)
    assert (p.risk_colour, p.risk_infectious) == ("orange", True)
    assert queries.register(session=session, actor=doctor, as_of=TODAY)[0].needs_referral
    someone_else = f.make_resident(session, sex="female", birth_date=date(1990, 1, 1))
    for wrong in (_referral(session, someone_else), _referral(session, woman, direction="down")):
        with pytest.raises(InvalidInput) as exc:
            service.grade_risk(session=session, pregnancy_id=p.id, actor=doctor, today=TODAY, grade_in=build(
                RiskGrade, {"graded_on": "2026-06-01", "criteria": ["twins"], "referral_id": wrong.id}))
        assert refused(exc) == {"referral_id": "referral_not_found"}
    up = _referral(session, woman)
    cmd = build(RiskGrade, {"graded_on": "2026-06-02", "criteria": ["placenta_praevia"], "referral_id": up.id})
    service.grade_risk(session=session, pregnancy_id=p.id, grade_in=cmd, actor=doctor, today=TODAY)
    assert p.referral_id == up.id and not queries.needs_referral(p)


def test_an_unknown_criterion_is_refused(session, doctor, woman):
    p = register(session, doctor, woman)
    with pytest.raises(InvalidInput) as exc:
        service.grade_risk(session=session, pregnancy_id=p.id, actor=doctor, today=TODAY,
                           grade_in=build(RiskGrade, {"graded_on": "2026-06-01", "criteria": ["moon"]}))
    assert refused(exc) == {"criteria": "criterion_unknown"}


# --- delivery and postpartum ------------------------------------------------------------------------
def deliver(session, actor, p, **over):
    values = {"delivered_on": "2026-06-20", "outcome": "live_birth", "live_births": 1,
              "discharged_on": "2026-06-23", **over}
    return service.record_delivery(session=session, pregnancy_id=p.id, delivery_in=build(DeliveryRecord, values),
                                   actor=actor, today=TODAY)


def test_delivery_refusals_name_their_fields(session, doctor, woman):
    p = register(session, doctor, woman)
    visit(session, doctor, p, 1, date(2026, 4, 10))
    with pytest.raises(InvalidInput) as exc:
        deliver(session, doctor, p, delivered_on="2026-04-09", discharged_on="2026-04-08", live_births=0)
    assert refused(exc) == {"delivered_on": "delivered_before_visit", "discharged_on": "discharged_before_delivery",
                            "live_births": "live_births_for_outcome"}
    assert p.status == "open"


def test_delivery_links_the_birth_registration_and_closes_the_antenatal_forms(session, doctor, woman):
    p = register(session, doctor, woman)
    deliver(session, doctor, p, birth_registration_id=42)
    assert (p.status, p.outcome, p.birth_registration_id) == ("delivered", "live_birth", 42)
    assert service.delivery_of_birth(session=session, birth_registration_id=42) is p
    assert service.delivery_of_birth(session=session, birth_registration_id=43) is None
    with pytest.raises(InvalidState):
        visit(session, doctor, p, 1, date(2026, 6, 25))


def test_postpartum_visits_and_the_42_day_window(session, doctor, woman):
    p = register(session, doctor, woman)
    with pytest.raises(InvalidState):
        service.record_postpartum(session=session, pregnancy_id=p.id, actor=doctor, today=TODAY,
                                  visit_in=build(PostpartumVisitCreate, {"kind": "home", "date": "2026-06-25"}))
    deliver(session, doctor, p, delivered_on="2026-05-01", discharged_on="2026-05-03")
    home = service.record_postpartum(session=session, pregnancy_id=p.id, actor=doctor, today=TODAY,
                                     visit_in=build(PostpartumVisitCreate, {"kind": "home", "date": "2026-05-08"}))
    assert home.days_after_discharge == 5
    with pytest.raises(InvalidInput) as exc:
        service.record_postpartum(session=session, pregnancy_id=p.id, actor=doctor, today=TODAY,
                                  visit_in=build(PostpartumVisitCreate, {"kind": "home", "date": "2026-05-09"}))
    assert refused(exc) == {"kind": "postpartum_already"}
    with pytest.raises(InvalidInput) as exc:  # day 41 after 2026-05-01
        service.record_postpartum(session=session, pregnancy_id=p.id, actor=doctor, today=TODAY,
                                  visit_in=build(PostpartumVisitCreate, {"kind": "check_42", "date": "2026-06-11"}))
    assert refused(exc) == {"date": "check_42_window"}
    service.record_postpartum(session=session, pregnancy_id=p.id, actor=doctor, today=TODAY,
                              visit_in=build(PostpartumVisitCreate, {"kind": "check_42", "date": "2026-06-12"}))


# --- scope and merge --------------------------------------------------------------------------------
def test_a_pregnancy_outside_the_scope_is_not_found(session, doctor, county):
    other = f.make_resident(session, sex="female", birth_date=date(1995, 1, 1), village_code=f.VILLAGE_B1)
    p = register(session, Actor.system("test"), other)
    with pytest.raises(NotFound):
        queries.get_pregnancy(session=session, pregnancy_id=p.id, actor=doctor)
    with pytest.raises(NotFound):
        visit(session, doctor, p, 1, date(2026, 4, 10))


def test_a_merge_moves_the_pregnancies_and_ends_the_duplicate_open_one(session, doctor, county):
    a = f.make_resident(session, name="重复甲", sex="female", birth_date=date(1995, 1, 1))
    b = f.make_resident(session, name="重复甲", sex="female", birth_date=date(1995, 1, 1), id_number=None)
    pa = register(session, doctor, a)
    pb = register(session, doctor, b, lmp="2026-03-03")
    visit(session, doctor, pb, 1, date(2026, 4, 12))
    residents_service.merge(session=session, survivor_id=a.id, merged_id=b.id, reason="重复建档",
                            actor=Actor.system("test"))
    session.refresh(pb)
    assert pb.resident_id == a.id and pb.status == "ended" and pa.status == "open"
    assert session.scalar(select(AntenatalVisit.resident_id).where(AntenatalVisit.pregnancy_id == pb.id)) == a.id
