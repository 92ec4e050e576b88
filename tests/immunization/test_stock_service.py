"""Vaccine stock: every change moves a balance and writes a movement; stock never goes negative (the
service names `quantity`, the guarded UPDATE holds under a race, the CHECK is the last line); FEFO; the
flags; a point's stock is kept only by users whose scope holds it."""
from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from tests import factories as f
from tests.immunization.records_setup import at, county_today, qty, snapshot, world  # noqa: F401
from weijian.core.commands import build
from weijian.core.db import make_sessionmaker
from weijian.core.errors import Forbidden, InvalidInput
from weijian.immunization.models import StockBalance, StockMovement, VaccinationPoint, VaccineLot
from weijian.immunization.stock import queries as stock_queries
from weijian.immunization.stock import service as stock_service
from weijian.immunization.stock.schemas import (
    AdjustmentCreate,
    LotCreate,
    PointCreate,
    ReceiptCreate,
    TransferCreate,
    WastageCreate,
)
from weijian.orgunits.models import Facility, OrgUnit


# The writes with their commands built from plain values, as a form or the API sends them.
def receive(*, session, point_id, actor, lot, **values):
    """A lot id, or the lot's fields (its own command, its fields named as the form names them)."""
    if isinstance(lot, dict):
        values["lot"] = build(LotCreate, lot)
    else:
        values["lot_id"] = lot
    return stock_service.receive(session=session, point_id=point_id, receipt_in=build(ReceiptCreate, values),
                                 actor=actor)


def waste(*, session, point_id, actor, **values):
    return stock_service.waste(session=session, point_id=point_id, wastage_in=build(WastageCreate, values),
                               actor=actor)


def transfer(*, session, from_point, actor, **values):
    return stock_service.transfer(session=session, from_point=from_point,
                                  transfer_in=build(TransferCreate, values), actor=actor)


def adjust(*, session, point_id, actor, **values):
    return stock_service.adjust(session=session, point_id=point_id, adjustment_in=build(AdjustmentCreate, values),
                                actor=actor)


def create_point(*, session, actor, **values):
    return stock_service.create_point(session=session, point_in=build(PointCreate, values), actor=actor)


def refused(db, fn, field: str, key: str | None = None, **kwargs):
    before = snapshot(db)
    with pytest.raises(InvalidInput) as exc:
        fn(**kwargs)
    assert exc.value.field == field, exc.value.errors
    if key is not None:
        assert exc.value.errors[0].reason_key.endswith(key), exc.value.errors
    assert snapshot(db) == before
    return exc.value


def moves(session, point) -> list[tuple[str, int]]:
    return [(m.kind, m.quantity) for m in session.scalars(
        select(StockMovement).where(StockMovement.point_id == point.id).order_by(StockMovement.id))]


# --- receipts ---------------------------------------------------------------------------------------
def test_receipt_adds_to_the_balance_and_writes_a_movement(session, world):
    w = world
    m = receive(session=session, point_id=w.point_a.id, lot=w.hepb_late.id, quantity=30, actor=w.vaccinator,
                      note="县疾控配送")
    assert (m.kind, m.quantity, m.recorded_by, m.note) == ("receipt", 30, w.vaccinator.username, "县疾控配送")
    assert qty(session, w.point_a, w.hepb_late) == 50
    fresh = f.make_vaccine_lot(session, "DTaP")
    receive(session=session, point_id=w.point_a.id, lot=fresh.id, quantity="12", actor=w.vaccinator)
    assert qty(session, w.point_a, fresh) == 12
    assert moves(session, w.point_a) == [("receipt", 30), ("receipt", 12)]


def test_receipt_of_a_new_lot_creates_it_and_the_same_lot_is_found_again(session, world):
    w = world
    lot = {"vaccine": "MMR", "product": "麻腮风联合减毒活疫苗", "manufacturer": "北京某生物", "lot_number": "202601A",
           "expiry_date": (county_today() + timedelta(days=300)).isoformat()}
    receive(session=session, point_id=w.point_a.id, lot=lot, quantity=10, actor=w.vaccinator)
    receive(session=session, point_id=w.point_a.id, lot=dict(lot), quantity=5, actor=w.vaccinator)
    [made] = session.scalars(select(VaccineLot).where(VaccineLot.lot_number == "202601A")).all()
    assert qty(session, w.point_a, made) == 15
    changed = {**lot, "expiry_date": (county_today() + timedelta(days=200)).isoformat()}
    refused(session, receive, "expiry_date", "lot_expiry_differs", session=session, point_id=w.point_a.id,
            lot=changed, quantity=5, actor=w.vaccinator)


def test_a_lot_must_name_a_schedule_vaccine_and_all_its_fields(session, world):
    w = world
    before = snapshot(session)
    with pytest.raises(InvalidInput) as exc:
        receive(session=session, point_id=w.point_a.id, quantity=5, actor=w.vaccinator,
                      lot={"vaccine": "Flu", "product": "", "manufacturer": "某厂", "lot_number": "X1",
                           "expiry_date": "2027-02-30"})
    assert {e.field for e in exc.value.errors} == {"vaccine", "product", "expiry_date"}
    assert snapshot(session) == before


def test_an_expired_lot_cannot_be_received(session, world):
    w = world
    refused(session, receive, "lot_id", "lot_expired", session=session, point_id=w.point_a.id,
            lot=w.hepb_expired.id, quantity=5, actor=w.vaccinator)
    refused(session, receive, "expiry_date", "lot_expired", session=session, point_id=w.point_a.id,
            actor=w.vaccinator, quantity=5,
            lot={"vaccine": "HepB", "product": "乙肝疫苗", "manufacturer": "某厂", "lot_number": "OLD1",
                 "expiry_date": (county_today() - timedelta(days=1)).isoformat()})


@pytest.mark.parametrize("bad", [0, -3, "three", "", None, 2_000_000])
def test_a_receipt_needs_a_positive_whole_quantity(session, world, bad):
    w = world
    refused(session, receive, "quantity", None, session=session, point_id=w.point_a.id, lot=w.hepb_late.id,
            quantity=bad, actor=w.vaccinator)


# --- never negative ---------------------------------------------------------------------------------
def test_wastage_takes_doses_and_more_than_on_hand_is_refused(session, world):
    w = world
    m = waste(session=session, point_id=w.point_a.id, lot_id=w.hepb_expired.id, quantity=3, reason="expired",
                    actor=w.vaccinator)
    assert (m.kind, m.quantity, m.note) == ("wastage", -3, "expired")
    assert qty(session, w.point_a, w.hepb_expired) == 0
    exc = refused(session, waste, "quantity", "stock_insufficient", session=session, point_id=w.point_a.id,
                  lot_id=w.hepb_soon.id, quantity=6, reason="broken", actor=w.vaccinator)
    assert exc.errors[0].params == {"available": 5, "requested": 6}
    refused(session, waste, "reason", "wastage_reason_unknown", session=session, point_id=w.point_a.id,
            lot_id=w.hepb_soon.id, quantity=1, reason="lost", actor=w.vaccinator)


def test_the_guarded_update_refuses_what_the_check_let_through(session, world, monkeypatch):
    """Another transaction took the doses between our check and our UPDATE: the UPDATE matches no row."""
    w = world
    monkeypatch.setattr(stock_queries, "balance", lambda **kwargs: 1_000)  # the check sees a stale, larger balance
    with pytest.raises(InvalidInput) as exc:
        waste(session=session, point_id=w.point_a.id, lot_id=w.hepb_soon.id, quantity=6, reason="broken",
                    actor=w.vaccinator)
    assert exc.value.field == "quantity"
    monkeypatch.undo()
    assert qty(session, w.point_a, w.hepb_soon) == 5
    assert moves(session, w.point_a) == []


def test_the_database_refuses_a_negative_balance(session, world):
    w = world
    with pytest.raises(IntegrityError), session.begin_nested():
        session.execute(update(StockBalance).where(StockBalance.point_id == w.point_a.id,
                                                   StockBalance.lot_id == w.hepb_soon.id)
                        .values(quantity=StockBalance.quantity - 6))
    assert qty(session, w.point_a, w.hepb_soon) == 5


def test_two_concurrent_uses_of_the_last_dose_cannot_both_succeed(engine):
    """Two transactions on two connections race for the last dose: one gets it, the other is refused (or,
    on SQLite, fails to write); the balance ends at 0, never -1."""
    tag = uuid.uuid4().hex[:6]
    town = f"4211{int(tag, 16) % 50 + 50:02d}100000"  # a county of its own (the test county is 421124)
    factory = lambda: make_sessionmaker(engine)()  # noqa: E731
    with factory() as s:
        s.add(OrgUnit(code=town[:6] + "000000", name=f"并发县{tag}", level="county", kind=None, parent_code=None))
        s.flush()
        s.add(OrgUnit(code=town, name=f"并发镇{tag}", level="township", kind="town", parent_code=town[:6] + "000000"))
        s.flush()
        fac = Facility(code=f"C{tag}", name=f"并发卫生院{tag}", type="township_centre", orgunit_code=town)
        s.add(fac)
        s.flush()
        point = VaccinationPoint(facility_id=fac.id, name="并发接种点", serves_orgunit_code=town, active=True,
                                 min_days_of_stock=14)
        lot = VaccineLot(vaccine="HepB", product="乙肝疫苗", manufacturer=f"并发{tag}", lot_number=f"R{tag}",
                         expiry_date=county_today() + timedelta(days=100))
        s.add_all([point, lot])
        s.flush()
        s.add(StockBalance(point_id=point.id, lot_id=lot.id, quantity=1))
        s.commit()
        pid, lid = point.id, lot.id
    first, second = factory(), factory()
    outcomes: list[str] = []
    try:
        stock_service.take(first, pid, lid, 1)  # holds the row (PostgreSQL) or the write lock (SQLite) until commit

        def race() -> None:
            try:
                stock_service.take(second, pid, lid, 1)
                second.commit()
                outcomes.append("taken")
            except InvalidInput as exc:
                outcomes.append("refused:" + exc.field)
                second.rollback()
            except DBAPIError:
                outcomes.append("write failed")
                second.rollback()

        thread = threading.Thread(target=race)
        thread.start()
        thread.join(timeout=1.0)  # the second waits for the first
        first.commit()
        thread.join(timeout=60)
        assert outcomes and outcomes[0] != "taken", outcomes
        if engine.dialect.name == "postgresql":
            assert outcomes == ["refused:quantity"]
        with factory() as s:
            assert stock_queries.balance(session=s, point_id=pid, lot_id=lid) == 0
    finally:
        first.close()
        second.close()
        with engine.begin() as conn:
            conn.execute(delete(StockBalance).where(StockBalance.point_id == pid))
            conn.execute(delete(VaccinationPoint).where(VaccinationPoint.id == pid))
            conn.execute(delete(VaccineLot).where(VaccineLot.id == lid))
            conn.execute(delete(Facility).where(Facility.code == f"C{tag}"))
            conn.execute(delete(OrgUnit).where(OrgUnit.code == town))
            conn.execute(delete(OrgUnit).where(OrgUnit.code == town[:6] + "000000"))


# --- transfers and adjustments ----------------------------------------------------------------------
def test_transfer_moves_doses_with_two_movements(session, world):
    w = world
    out, into = transfer(session=session, from_point=w.point_a.id, to_point=w.point_b.id, lot_id=w.hepb_late.id,
                               quantity=8, actor=w.vaccinator, note="支援南河")
    assert (out.kind, out.quantity, out.point_id, out.counterpart_point_id) == ("transfer_out", -8, w.point_a.id,
                                                                               w.point_b.id)
    assert (into.kind, into.quantity, into.point_id, into.counterpart_point_id) == ("transfer_in", 8, w.point_b.id,
                                                                                   w.point_a.id)
    assert qty(session, w.point_a, w.hepb_late) == 12 and qty(session, w.point_b, w.hepb_late) == 8


def test_transfer_refusals_name_their_field_and_move_nothing(session, world):
    w = world
    kwargs = dict(session=session, from_point=w.point_a.id, lot_id=w.hepb_late.id, actor=w.vaccinator)
    refused(session, transfer, "quantity", "stock_insufficient", to_point=w.point_b.id, quantity=21, **kwargs)
    refused(session, transfer, "to_point", "transfer_same_point", to_point=w.point_a.id, quantity=1, **kwargs)
    refused(session, transfer, "to_point", "point_unknown", to_point=999_999, quantity=1, **kwargs)
    with pytest.raises(Forbidden):
        transfer(**{**kwargs, "from_point": w.point_b.id}, to_point=w.point_a.id, quantity=1)


def test_adjustment_corrects_a_count_but_not_below_zero(session, world):
    w = world
    adjust(session=session, point_id=w.point_a.id, lot_id=w.ipv.id, quantity=+2, reason="盘盈",
                 actor=w.vaccinator)
    adjust(session=session, point_id=w.point_a.id, lot_id=w.ipv.id, quantity="-5", reason="盘亏",
                 actor=w.vaccinator)
    assert qty(session, w.point_a, w.ipv) == 7
    kwargs = dict(session=session, point_id=w.point_a.id, lot_id=w.ipv.id, actor=w.vaccinator)
    refused(session, adjust, "quantity", "stock_insufficient", quantity=-8, reason="盘亏", **kwargs)
    refused(session, adjust, "quantity", "quantity_zero", quantity=0, reason="盘点", **kwargs)
    refused(session, adjust, "reason", "missing", quantity=1, reason=" ", **kwargs)


# --- who keeps which stock --------------------------------------------------------------------------
def test_only_users_whose_scope_holds_the_point_keep_its_stock(session, world):
    w = world
    with pytest.raises(Forbidden):
        receive(session=session, point_id=w.point_a.id, lot=w.hepb_late.id, quantity=1, actor=w.vaccinator_b)
    with pytest.raises(Forbidden):  # no stock:manage
        receive(session=session, point_id=w.point_a.id, lot=w.hepb_late.id, quantity=1, actor=w.village_doctor)
    receive(session=session, point_id=w.point_b.id, lot=w.hepb_late.id, quantity=1, actor=w.county_doctor)
    assert {p.id for p in stock_queries.managed_points(session=session, actor=w.vaccinator)} == {w.point_a.id}
    assert {p.id for p in stock_queries.managed_points(session=session, actor=w.county_doctor)} == {w.point_a.id,
                                                                                          w.point_b.id}


def test_balances_per_point_and_county_wide(session, world):
    w = world
    mine = stock_queries.balances(session=session, actor=w.vaccinator)
    assert {r.point_id for r in mine} == {w.point_a.id}
    county = stock_queries.balances(session=session, actor=w.county_doctor)
    assert {r.point_id for r in county} == {w.point_a.id, w.point_b.id}
    totals = stock_queries.totals_by_vaccine(county, today=county_today())
    assert totals == {"HepB": 20 + 5 + 10, "BCG": 10, "IPV": 10}  # the expired lot left out
    only_b = stock_queries.balances(session=session, actor=w.county_doctor, point_id=w.point_b.id)
    assert [(r.lot.id, r.quantity) for r in only_b] == [(w.hepb_at_b.id, 10)]
    with pytest.raises(Forbidden):
        stock_queries.balances(session=session, actor=w.vaccinator, point_id=w.point_b.id)


def test_a_point_is_made_of_a_facility_once(session, world):
    w = world
    fac = f.make_facility(session, name="县妇幼保健院", type="county_mch", orgunit_code=f.COUNTY)
    point = create_point(session=session, facility_id=fac.id, actor=w.county_doctor, min_days_of_stock=10)
    assert (point.name, point.serves_orgunit_code, point.min_days_of_stock) == ("县妇幼保健院", f.COUNTY, 10)
    with pytest.raises(InvalidInput) as exc:
        create_point(session=session, facility_id=fac.id, actor=w.county_doctor)
    assert exc.value.field == "facility_id"
    with pytest.raises(InvalidInput) as exc:  # a township user cannot open a point serving the county
        create_point(session=session, facility_id=f.make_facility(session).id, actor=w.vaccinator,
                           serves_orgunit_code=f.COUNTY)
    assert exc.value.field == "serves_orgunit_code"


# --- first expiry, first out ------------------------------------------------------------------------
def test_fefo_suggests_the_unexpired_lot_in_stock_that_expires_first(session, world):
    w = world
    assert stock_queries.suggest_lot(session=session, point_id=w.point_a.id, vaccine="HepB", on=county_today()).id == w.hepb_soon.id
    f.make_vaccine_lot(session, "HepB", w.point_a, 0, expiry_date=county_today() + timedelta(days=3))  # empty: skipped
    sooner = f.make_vaccine_lot(session, "HepB", w.point_a, 2, expiry_date=county_today() + timedelta(days=10))
    assert stock_queries.suggest_lot(session=session, point_id=w.point_a.id, vaccine="HepB", on=county_today()).id == sooner.id
    # On a later day the lots expired by then are passed over.
    later = county_today() + timedelta(days=41)
    assert stock_queries.suggest_lot(session=session, point_id=w.point_a.id, vaccine="HepB", on=later).id == w.hepb_late.id
    assert stock_queries.suggest_lot(session=session, point_id=w.point_a.id, vaccine="MMR", on=county_today()) is None
    assert stock_queries.suggest_lot(session=session, point_id=w.point_b.id, vaccine="IPV", on=county_today()) is None


# --- flags ------------------------------------------------------------------------------------------
def _flags(session, point):
    return {(fl.kind, fl.vaccine, fl.lot.id if fl.lot else None): fl for fl in
            stock_queries.flags(session=session, point_id=point.id, today=county_today())}


def test_lots_expired_or_expiring_within_30_days_are_flagged(session, world):
    w = world
    in_5 = f.make_vaccine_lot(session, "DTaP", w.point_a, 4, expiry_date=county_today() + timedelta(days=5))
    in_30 = f.make_vaccine_lot(session, "DTaP", w.point_a, 4, expiry_date=county_today() + timedelta(days=30))
    in_31 = f.make_vaccine_lot(session, "DTaP", w.point_a, 4, expiry_date=county_today() + timedelta(days=31))
    f.make_vaccine_lot(session, "DTaP", w.point_a, 0, expiry_date=county_today() + timedelta(days=2))  # none left: no flag
    flags = _flags(session, w.point_a)
    assert flags[("expired", "HepB", w.hepb_expired.id)].level == "red"
    assert flags[("expiring", "DTaP", in_5.id)].level == "red"
    amber = flags[("expiring", "DTaP", in_30.id)]
    assert (amber.level, amber.days_left) == ("amber", 30)
    assert ("expiring", "DTaP", in_31.id) not in flags
    assert {k for k in flags if k[0] != "low_stock"} == {("expired", "HepB", w.hepb_expired.id),
                                                         ("expiring", "DTaP", in_5.id), ("expiring", "DTaP", in_30.id)}
    assert stock_queries.flags(session=session, point_id=w.point_a.id, today=county_today())[0].level == "red"


def _use(session, point, lot, n: int, day):
    for _ in range(n):
        session.add(StockMovement(point_id=point.id, lot_id=lot.id, kind="use", quantity=-1, at=at(day, 10)))
    session.flush()


def test_stock_below_the_points_days_of_use_is_flagged(session, world):
    w = world
    # IPV: 60 doses used in the last 30 days = 2 a day; 10 on hand last 5 days: under half of 14 → red
    _use(session, w.point_a, w.ipv, 60, county_today() - timedelta(days=3))
    # BCG: 15 used = 0.5 a day; 10 on hand = 20 days ≥ 14 → no flag
    _use(session, w.point_a, w.bcg, 15, county_today() - timedelta(days=29))
    # HepB: used 300 doses, but 31 days ago: outside the window
    _use(session, w.point_a, w.hepb_late, 300, county_today() - timedelta(days=30))
    flags = _flags(session, w.point_a)
    low = flags[("low_stock", "IPV", None)]
    assert (low.quantity, low.daily_use, low.days_of_stock, low.min_days, low.level) == (10, 2.0, 5.0, 14, "red")
    assert ("low_stock", "BCG", None) not in flags and ("low_stock", "HepB", None) not in flags
    # 20 on hand last 10 days: under 14, not under 7 → amber
    receive(session=session, point_id=w.point_a.id, lot=w.ipv.id, quantity=10, actor=w.vaccinator)
    amber = _flags(session, w.point_a)[("low_stock", "IPV", None)]
    assert (amber.days_of_stock, amber.level) == (10.0, "amber")
