"""Treat first, pay later: eligibility, waivers at admission, the balance a waived stay's share becomes,
payments, reversal, and the ledger by facility with overdue balances on top."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests import factories as f
from tests.settlement.settle_setup import build, counts
from weijian.core import commands
from weijian.core.actor import Actor
from weijian.core.errors import Conflict, InvalidInput, InvalidState
from weijian.settlement.models import Balance, DepositWaiver
from weijian.settlement.paylater import queries as paylater_queries
from weijian.settlement.paylater import rules as paylater_rules
from weijian.settlement.paylater import service as paylater
from weijian.settlement.paylater.schemas import PaymentIn, WaiverIn
from weijian.settlement.settle import service as settle
from weijian.settlement.settle.schemas import PendingIn, ReverseIn, SettleIn

D = Decimal
SYSTEM = Actor.system("test")


def _waived_settled(session, w, person, facility_key="county", total="20000.00", end=date(2024, 3, 10)):
    stay = f.make_stay(session, person, w.facilities[facility_key], end_date=None, start_date=end - timedelta(days=4),
                       total=total)
    paylater.grant_waiver(session=session, actor=w.actors["county"], waiver_in=WaiverIn(encounter_id=stay.id))
    stay.end_date = end
    session.flush()
    return settle.settle_encounter(session=session, actor=w.actors["county"],
                                   settle_in=SettleIn(encounter_id=stay.id), today=end)


def test_rules_file_names_known_groups_and_facility_types() -> None:
    rules = paylater_rules.paylater_rules()
    assert "min_living" in rules.groups and "county_general" in rules.facility_types and rules.days_until_due > 0
    with pytest.raises(ValueError, match="groups"):
        paylater_rules.parse_rules({"groups": ["rich"], "facility_types": ["county_general"], "days_until_due": 30})
    with pytest.raises(ValueError, match="days_until_due"):
        paylater_rules.parse_rules({"groups": ["min_living"], "facility_types": ["county_general"], "days_until_due": 0})


def test_waived_stay_share_becomes_a_balance_due_after_the_period(session: Session) -> None:
    w = build(session)
    person = f.make_resident(session, groups=["低保"])
    s = _waived_settled(session, w, person)
    balance = session.scalar(select(Balance).where(Balance.settlement_id == s.id))
    assert s.pay_later is True
    assert (balance.amount, balance.status, balance.facility_id) == (s.patient_pays, "outstanding", w.facilities["county"].id)
    assert balance.due_date == date(2024, 3, 10) + timedelta(days=paylater_rules.paylater_rules().days_until_due)


def test_ineligible_resident_or_facility_is_refused_and_nothing_stored(session: Session) -> None:
    w = build(session)
    ordinary = f.make_resident(session)
    poor = f.make_resident(session)
    poor_stay_outside = f.make_stay(session, f.make_resident(session, groups=["特困"]), None, end_date=None)
    stay = f.make_stay(session, ordinary, w.facilities["county"], end_date=None)
    before = counts(session)
    with pytest.raises(InvalidInput) as exc:
        paylater.grant_waiver(session=session, actor=w.actors["county"], waiver_in=WaiverIn(encounter_id=stay.id))
    assert exc.value.field == "resident_id"
    with pytest.raises(InvalidInput) as exc:
        paylater.grant_waiver(session=session, actor=w.actors["county"],
                              waiver_in=WaiverIn(encounter_id=poor_stay_outside.id))
    assert exc.value.field == "facility_id"
    assert counts(session) == before and session.scalar(select(DepositWaiver.id)) is None
    assert poor is not None


def test_waiver_only_once_and_only_before_discharge(session: Session) -> None:
    w = build(session)
    person = f.make_resident(session, groups=["特困"])
    stay = f.make_stay(session, person, w.facilities["county"], end_date=None)
    paylater.grant_waiver(session=session, actor=w.actors["county"], waiver_in=WaiverIn(encounter_id=stay.id))
    with pytest.raises(Conflict):
        paylater.grant_waiver(session=session, actor=w.actors["county"], waiver_in=WaiverIn(encounter_id=stay.id))
    done = f.make_stay(session, person, w.facilities["county"])
    with pytest.raises(InvalidState):
        paylater.grant_waiver(session=session, actor=w.actors["county"], waiver_in=WaiverIn(encounter_id=done.id))


def test_payments_close_the_balance_and_cannot_exceed_what_is_owed(session: Session) -> None:
    w = build(session)
    s = _waived_settled(session, w, f.make_resident(session, groups=["低保"]))
    balance = session.scalar(select(Balance).where(Balance.settlement_id == s.id))
    owed = balance.amount
    with pytest.raises(InvalidInput) as exc:
        paylater.record_payment(session=session, actor=w.actors["county"], balance_id=balance.id,
                                payment_in=commands.build(PaymentIn, {"amount": str(owed + 1)}))
    assert exc.value.field == "amount" and balance.paid_amount == D("0.00")
    for bad in ("0", "-5", "1.234", "abc"):
        with pytest.raises(InvalidInput):
            paylater.record_payment(session=session, actor=w.actors["county"], balance_id=balance.id,
                                payment_in=commands.build(PaymentIn, {"amount": bad}))
    paylater.record_payment(session=session, actor=w.actors["county"], balance_id=balance.id,
                                payment_in=commands.build(PaymentIn, {"amount": "100.00"}))
    assert (balance.paid_amount, balance.status) == (D("100.00"), "outstanding")
    paylater.record_payment(session=session, actor=w.actors["county"], balance_id=balance.id,
                                payment_in=commands.build(PaymentIn, {"amount": str(owed - 100)}))
    assert (balance.paid_amount, balance.status) == (owed, "paid") and balance.paid_at is not None
    with pytest.raises(InvalidState):
        paylater.record_payment(session=session, actor=w.actors["county"], balance_id=balance.id,
                                payment_in=commands.build(PaymentIn, {"amount": "1"}))


def test_reversal_cancels_the_balance_and_moves_later_ones_keeping_payments(session: Session) -> None:
    w = build(session)
    person = f.make_resident(session, groups=["低保"])
    first = _waived_settled(session, w, person, total="60000.00", end=date(2024, 2, 1))
    second = _waived_settled(session, w, person, total="60000.00", end=date(2024, 4, 1))
    b2 = session.scalar(select(Balance).where(Balance.settlement_id == second.id))
    paylater.record_payment(session=session, actor=w.actors["county"], balance_id=b2.id,
                                payment_in=commands.build(PaymentIn, {"amount": "50.00"}))
    result = settle.reverse(session=session, actor=w.actors["county"], settlement_id=first.id,
                            reverse_in=ReverseIn(reason="测试"))
    b1 = session.scalar(select(Balance).where(Balance.settlement_id == first.id))
    moved = session.scalar(select(Balance).where(Balance.settlement_id == result.resettled[0].id))
    assert (b1.status, b2.status) == ("cancelled", "cancelled")
    assert (moved.amount, moved.paid_amount, moved.due_date) == (result.resettled[0].patient_pays, D("50.00"), b2.due_date)


def test_ledger_lists_overdue_balances_first_with_totals_by_facility(session: Session) -> None:
    w = build(session)
    late = _waived_settled(session, w, f.make_resident(session, groups=["低保"], name="逾期者"), end=date(2024, 1, 5))
    fresh = _waived_settled(session, w, f.make_resident(session, groups=["低保"], name="未到期"), end=date(2024, 6, 1))
    other = _waived_settled(session, w, f.make_resident(session, groups=["低保"]), facility_key="town_a",
                            end=date(2024, 6, 2))
    today = date(2024, 6, 10)
    ledger = paylater_queries.balances_ledger(session=session, actor=w.actors["bureau"], today=today)
    ids = [r.balance.settlement_id for r in ledger.rows]
    assert ids[0] == late.id and ledger.rows[0].overdue and ledger.rows[0].days_overdue > 0
    assert set(ids) == {late.id, fresh.id, other.id}
    county = next(t for t in ledger.facilities if t.facility_id == w.facilities["county"].id)
    assert (county.outstanding_count, county.overdue_count) == (2, 1)
    assert county.overdue == late.patient_pays
    assert ledger.facilities[0].facility_id == w.facilities["county"].id  # overdue money first
    only = paylater_queries.balances_ledger(session=session, actor=w.actors["bureau"], today=today,
                           facility_id=w.facilities["town_a"].id)
    assert [r.balance.settlement_id for r in only.rows] == [other.id]
    scoped = paylater_queries.balances_ledger(session=session, actor=w.actors["town_b"], today=today)
    assert scoped.rows == [] and scoped.facilities == []


def test_settle_pending_opens_balances_for_waived_stays(session: Session) -> None:
    w = build(session)
    person = f.make_resident(session, groups=["低保"])
    stay = f.make_stay(session, person, w.facilities["town_a"], end_date=None, start_date=date(2024, 3, 1))
    paylater.grant_waiver(session=session, actor=w.actors["town_a"], waiver_in=WaiverIn(encounter_id=stay.id))
    stay.end_date = date(2024, 3, 6)
    session.flush()
    assert settle.settle_pending(session=session, actor=SYSTEM,
                                 pending_in=PendingIn(year=2024), on_discharge_date=True) == 1
    balance = session.scalar(select(Balance).where(Balance.resident_id == person.id))
    assert balance.due_date == date(2024, 3, 6) + timedelta(days=paylater_rules.paylater_rules().days_until_due)
