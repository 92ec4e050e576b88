"""Vaccination records: a dose is accepted only when the child's history accepts it (engine), the lot is
the vaccine's, unexpired that day and in stock at the point; one dose leaves the stock in the same
transaction; every refusal names its field and changes nothing; reads are scoped and audited."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from tests import factories as f
from tests.immunization.records_setup import (
    SYSTEM,
    at,
    audits,
    born_on,
    county_today,
    make_child,
    qty,
    record_historical,
    record_refusal,
    record_vaccination,
    report_aefi,
    snapshot,
    world,  # noqa: F401
)
from weijian.core.errors import Forbidden, InvalidInput, InvalidState, NotFound
from weijian.core.i18n import Translator
from weijian.immunization.models import Aefi, Refusal, StockMovement, Vaccination
from weijian.immunization.records import queries, service
from weijian.immunization.schedule import engine
from weijian.immunization.schedule.rules import add_months


def visit_time() -> datetime:
    return at(county_today(), 10)


def give(session, w, **over):
    values = dict(resident_id=w.child.id, vaccine="HepB", dose=2, given_at=visit_time(), site="right_deltoid",
                  actor=w.vaccinator)
    values.update(over)
    return record_vaccination(session=session, **values)


def refused(db, fn, field: str, key: str | None = None, **kwargs):
    """Call fn(**kwargs), expect InvalidInput naming `field` (and the reason `key`), and nothing changed."""
    before = snapshot(db)
    with pytest.raises(InvalidInput) as exc:
        fn(**kwargs)
    assert exc.value.field == field, exc.value.errors
    if key is not None:
        assert exc.value.errors[0].reason_key.endswith(key), exc.value.errors
    assert snapshot(db) == before
    return exc.value


# --- a dose given -----------------------------------------------------------------------------------
def test_dose_is_recorded_with_lot_snapshot_stock_use_and_audit(session, world):
    w = world
    v = give(session, w, lot_id=w.hepb_late.id)
    assert (v.vaccine, v.dose, v.date, v.source) == ("HepB", 2, county_today(), "recorded")
    assert (v.lot_id, v.lot_number, v.manufacturer, v.product, v.expiry_date) == (
        w.hepb_late.id, w.hepb_late.lot_number, w.hepb_late.manufacturer, w.hepb_late.product, w.hepb_late.expiry_date)
    assert (v.point_id, v.site, v.route, v.vaccinator_name) == (w.point_a.id, "right_deltoid", "im", "李接种")
    assert qty(session, w.point_a, w.hepb_late) == 19
    use = session.scalar(select(StockMovement).where(StockMovement.vaccination_id == v.id))
    assert (use.kind, use.quantity, use.point_id, use.lot_id) == ("use", -1, w.point_a.id, w.hepb_late.id)
    [event] = audits(session, entity_type="vaccination", entity_id=str(v.id))
    assert (event.action, event.resident_id, event.basis) == ("create", w.child.id, "own_township")


def test_without_a_lot_the_first_expiring_lot_in_stock_is_used(session, world):
    w = world
    v = give(session, w)
    assert v.lot_id == w.hepb_soon.id  # not the expired one, not the later one
    assert qty(session, w.point_a, w.hepb_soon) == 4 and qty(session, w.point_a, w.hepb_late) == 20


def test_expired_lot_is_refused(session, world):
    w = world
    refused(session, give, "lot_id", "lot_expired_on_day", session=session, w=w, lot_id=w.hepb_expired.id)
    assert qty(session, w.point_a, w.hepb_expired) == 3


def test_lot_the_point_has_no_stock_of_is_refused(session, world):
    w = world
    refused(session, give, "lot_id", "lot_not_in_stock", session=session, w=w, lot_id=w.hepb_at_b.id)


def test_vaccine_without_unexpired_stock_at_the_point_is_refused(session, world):
    w = world
    f.make_vaccine_lot(session, "IPV", w.point_b, 5)
    # IPV at A: its only lot emptied
    from weijian.immunization.stock import service as stock_service
    from weijian.immunization.stock.schemas import AdjustmentCreate
    stock_service.adjust(session=session, point_id=w.point_a.id, actor=w.vaccinator,
                         adjustment_in=AdjustmentCreate(lot_id=w.ipv.id, quantity=-10, reason="盘亏"))
    refused(session, give, "lot_id", "no_stock_of_vaccine", session=session, w=w, vaccine="IPV", dose=1,
            site="left_thigh")


def test_lot_of_another_vaccine_is_refused(session, world):
    w = world
    refused(session, give, "lot_id", "lot_other_vaccine", session=session, w=w, lot_id=w.ipv.id)


def test_unknown_lot_is_refused(session, world):
    w = world
    refused(session, give, "lot_id", "lot_unknown", session=session, w=w, lot_id=999_999)


def test_duplicate_dose_is_refused_naming_the_dose(session, world):
    w = world
    exc = refused(session, give, "dose", "dose_recorded", session=session, w=w, dose=1)
    assert exc.errors[0].params["date"] == born_on().isoformat()


def test_dose_2_without_dose_1_is_refused(session, world):
    w = world
    child = make_child(session, birth_doses=False)
    exc = refused(session, give, "dose", "previous_dose_missing", session=session, w=w, resident_id=child.id)
    assert exc.errors[0].params["next"] == 1


def test_dose_before_its_earliest_date_is_refused_naming_given_at(session, world):
    w = world
    young = make_child(session, born=county_today() - timedelta(days=10))  # HepB2 from 1 month (and 28 days after dose 1)
    exc = refused(session, give, "given_at", "invalid_before_min_age", session=session, w=w, resident_id=young.id)
    assert exc.errors[0].params["earliest"] == add_months(young.birth_date, 1).isoformat()


def test_early_dose_needs_a_reason_and_is_kept_with_it(session, world):
    w = world
    young = make_child(session, born=county_today() - timedelta(days=10))
    refused(session, give, "early_reason", "early_reason_required", session=session, w=w, resident_id=young.id,
            allow_early=True)
    v = give(session, w, resident_id=young.id, allow_early=True, early_reason="家长外出务工，提前接种")
    [event] = audits(session, entity_type="vaccination", entity_id=str(v.id))
    assert '"early": true' in event.detail and "提前接种" in event.detail
    rows = queries.child_schedule(session=session, resident_id=young.id, actor=w.vaccinator).rows
    row = next(r for r in rows if (r.vaccine, r.dose) == ("HepB", 2))
    # Issue 14 item 7: recorded on confirmation, but invalid (before HepB2's minimum age), not counted.
    assert row.status == engine.INVALID and row.flags == (engine.FLAG_EARLY, engine.FLAG_BEFORE_MIN_AGE)


def test_injectable_live_vaccine_within_28_days_of_another_is_refused(session, world):
    w = world
    child = make_child(session, born=county_today() - timedelta(days=300))  # 9 to 10 months: MMR1 and JE-L1 due
    record_historical(session=session, resident_id=child.id, vaccine="JE-L", dose=1,
                              date=county_today() - timedelta(days=10), actor=SYSTEM)
    f.make_vaccine_lot(session, "MMR", w.point_a, 5)
    exc = refused(session, give, "given_at", "invalid_live_within_28_days", session=session, w=w,
                  resident_id=child.id, vaccine="MMR", dose=1, site="left_deltoid")
    assert exc.errors[0].params["earliest"] == (county_today() + timedelta(days=18)).isoformat()


def _mpsv_a_child(session, w):
    """A child of 13 months whose MPSV-A1 (from 6 months) was given 40 days ago; lots of MPSV-A at point A."""
    child = make_child(session, born=county_today() - timedelta(days=400))
    record_historical(session=session, resident_id=child.id, vaccine="MPSV-A", dose=1,
                      date=county_today() - timedelta(days=40), actor=SYSTEM)
    f.make_vaccine_lot(session, "MPSV-A", w.point_a, 5)
    return child


def test_a_dose_before_the_minimum_interval_asks_to_confirm_that_it_will_not_count(session, world):
    """2021年版 说明 (流脑): "MPSV-A两剂次间隔≥3个月". MPSV-A2 40 days after dose 1 is refused naming
    given_at with "该剂次早于最小间隔，不计入有效剂次" (issue 14 item 7); confirmed, it is recorded with
    invalid_reason before_min_interval."""
    w = world
    child = _mpsv_a_child(session, w)
    exc = refused(session, give, "given_at", "invalid_before_min_interval", session=session, w=w,
                  resident_id=child.id, vaccine="MPSV-A", dose=2, site="left_deltoid")
    e = exc.errors[0]
    assert "该剂次早于最小间隔，不计入有效剂次" in Translator("zh_CN")(e.reason_key, **e.params)
    assert "before the minimum interval" in Translator("en")(e.reason_key, **e.params)
    v = give(session, w, resident_id=child.id, vaccine="MPSV-A", dose=2, site="left_deltoid", allow_early=True,
             early_reason="家长坚持")
    assert v.invalid_reason == engine.FLAG_BEFORE_MIN_INTERVAL
    first = session.scalar(select(Vaccination).where(Vaccination.resident_id == child.id,
                                                     Vaccination.vaccine == "MPSV-A", Vaccination.dose == 1))
    assert first.invalid_reason is None


def test_the_minimum_age_and_live_vaccine_messages_say_the_dose_will_not_count(session, world):
    """2021年版: "程序表所列接种时间是可接种该剂次的最小年龄" and "两种及以上注射类减毒活疫苗若未同时接种，应
    间隔不小于28天": each refusal says why the dose would not count (issue 14 item 7)."""
    tr = Translator("zh_CN")
    assert "该剂次早于最小接种月龄，不计入有效剂次" in tr(
        "immunization.records.errors.invalid_before_min_age", vaccine="HepB", dose=2, earliest="2026-01-01")
    assert "间隔不足28天，不计入有效剂次" in tr(
        "immunization.records.errors.invalid_live_within_28_days", vaccine="MMR", dose=1, earliest="2026-01-01")


def test_the_repeat_of_an_invalid_dose_is_recorded_though_the_series_is_full_by_count(session, world):
    """2021年版 说明 (流脑): "MPSV-A两剂次间隔≥3个月"; an invalid MPSV-A2 leaves slot 2 to give, so a third
    MPSV-A on the certificate is its repeat and is recorded valid (today: refused as beyond the series)."""
    w = world
    child = make_child(session, born=county_today() - timedelta(days=500))
    for n, days in ((1, 140), (2, 100)):  # 40 days apart: dose 2 counts for nothing
        record_historical(session=session, resident_id=child.id, vaccine="MPSV-A", dose=n,
                          date=county_today() - timedelta(days=days), actor=SYSTEM)
    f.make_vaccine_lot(session, "MPSV-A", w.point_a, 5)
    v = give(session, w, resident_id=child.id, vaccine="MPSV-A", dose=3, site="left_deltoid")
    assert v.invalid_reason is None
    reasons = dict(session.execute(select(Vaccination.dose, Vaccination.invalid_reason).where(
        Vaccination.resident_id == child.id, Vaccination.vaccine == "MPSV-A")).tuples().all())
    assert reasons == {1: None, 2: engine.FLAG_BEFORE_MIN_INTERVAL, 3: None}
    rows = queries.child_schedule(session=session, resident_id=child.id, actor=w.vaccinator).rows
    assert sorted((r.dose, r.status) for r in rows if r.vaccine == "MPSV-A") == [
        (1, engine.GIVEN), (2, engine.INVALID), (3, engine.GIVEN)]
    refused(session, record_historical, "dose", "dose_beyond_series", session=session, resident_id=child.id,
            vaccine="MPSV-A", dose=4, date=county_today(), actor=SYSTEM)


def test_dose_the_schedule_no_longer_gives_at_this_age_is_refused(session, world):
    w = world
    child = make_child(session, born=county_today() - timedelta(days=5 * 366), birth_doses=False)
    refused(session, give, "vaccine", "not_applicable", session=session, w=w, resident_id=child.id, vaccine="BCG",
            dose=1, site="left_deltoid")


def test_bcg_catch_up_from_3_months_needs_a_negative_tb_test(session, world):
    w = world
    child = make_child(session, born=county_today() - timedelta(days=200), birth_doses=False)
    refused(session, give, "tb_test_negative", "tb_test_required", session=session, w=w, resident_id=child.id,
            vaccine="BCG", dose=1, site="left_deltoid")
    v = give(session, w, resident_id=child.id, vaccine="BCG", dose=1, site="left_deltoid", tb_test_negative=True)
    assert (v.vaccine, v.route) == ("BCG", "id")


def test_dose_in_the_future_or_before_birth_is_refused(session, world):
    w = world
    refused(session, give, "given_at", "date_future", session=session, w=w, given_at=visit_time() + timedelta(days=1))
    refused(session, give, "given_at", "before_birth", session=session, w=w, given_at=at(born_on() - timedelta(days=3)))


def test_route_and_site_must_fit_the_vaccine(session, world):
    w = world
    refused(session, give, "route", "route_mismatch", session=session, w=w, route="sc")
    refused(session, give, "site", "site_route_mismatch", session=session, w=w, site="oral")
    refused(session, give, "site", None, session=session, w=w, site=None)


def test_several_bad_values_are_named_together(session, world):
    w = world
    before = snapshot(session)
    with pytest.raises(InvalidInput) as exc:
        give(session, w, vaccine="XYZ", dose=0, given_at="yesterday", site="nose")
    assert {e.field for e in exc.value.errors} >= {"vaccine", "dose", "given_at", "site"}
    assert snapshot(session) == before


def test_the_point_is_the_actors_facilitys_and_others_are_refused(session, world):
    w = world
    v = give(session, w)
    assert v.point_id == w.point_a.id
    refused(session, give, "point_id", "point_not_yours", session=session, w=w, dose=3, point_id=w.point_b.id)
    refused(session, give, "point_id", "no_point_for_actor", session=session, w=w, dose=3, actor=w.village_doctor)


def test_county_doctor_may_record_at_a_point_of_the_county(session, world):
    w = world
    v = give(session, w, actor=w.county_doctor, point_id=w.point_b.id)
    assert (v.point_id, v.lot_id) == (w.point_b.id, w.hepb_at_b.id)
    assert qty(session, w.point_b, w.hepb_at_b) == 9


def test_child_outside_the_scope_is_not_found_and_nothing_changes(session, world):
    w = world
    before = snapshot(session)
    with pytest.raises(NotFound):
        give(session, w, actor=w.vaccinator_b)
    assert snapshot(session) == before


def test_merged_record_takes_no_dose(session, world):
    w = world
    from weijian.residents import service as residents_service
    other = make_child(session, name="王小宝", birth_doses=False)
    residents_service.merge(session=session, survivor_id=w.child.id, merged_id=other.id, reason="重复建档",
                            confirm_different_id_numbers=True,
                            actor=SYSTEM)
    with pytest.raises(InvalidState):
        give(session, w, resident_id=other.id, dose=1)


# --- the stock moves with the dose, or not at all ---------------------------------------------------
def test_a_failure_after_the_stock_was_taken_leaves_it_unchanged(session, world, monkeypatch):
    w = world

    def broken_audit(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(service.accounts_service, "audit", broken_audit)
    before = snapshot(session)
    with pytest.raises(RuntimeError):
        give(session, w, lot_id=w.hepb_late.id)
    assert qty(session, w.point_a, w.hepb_late) == 20
    assert snapshot(session) == before


def test_the_same_dose_recorded_twice_at_once_takes_one_dose_of_stock(session, world, monkeypatch):
    w = world
    give(session, w, lot_id=w.hepb_late.id)
    # The second desk checked the history before the first one's dose was saved.
    monkeypatch.setattr(service, "_check_dose", lambda **kwargs: None)
    with pytest.raises(InvalidInput) as exc:
        give(session, w, lot_id=w.hepb_late.id)
    assert exc.value.field == "dose" and exc.value.errors[0].reason_key.endswith("dose_recorded_now")
    assert qty(session, w.point_a, w.hepb_late) == 19


def test_the_last_dose_of_a_lot_can_be_given_once(session, world):
    w = world
    last = f.make_vaccine_lot(session, "IPV", w.point_a, 1, expiry_date=county_today() + timedelta(days=2))
    give(session, w, vaccine="IPV", dose=1, site="left_thigh", lot_id=last.id)
    other = make_child(session, name="赵小宝")
    refused(session, give, "lot_id", "lot_not_in_stock", session=session, w=w, resident_id=other.id, vaccine="IPV",
            dose=1, site="left_thigh", lot_id=last.id)
    assert qty(session, w.point_a, last) == 0


# --- a dose from the paper certificate --------------------------------------------------------------
def test_historical_dose_changes_no_stock_and_may_have_been_early(session, world):
    w = world
    before = snapshot(session)
    v = record_historical(session=session, resident_id=w.child.id, vaccine="HepB", dose=2,
                                  date=born_on() + timedelta(days=20), actor=w.village_doctor, lot_number="B2020",
                                  manufacturer="某生物")
    assert (v.source, v.point_id, v.lot_id, v.lot_number) == ("historical", None, None, "B2020")
    assert snapshot(session)[4] == before[4]  # doses on hand
    row = next(r for r in queries.child_schedule(session=session, resident_id=w.child.id, actor=w.vaccinator).rows
               if (r.vaccine, r.dose) == ("HepB", 2))
    assert engine.FLAG_EARLY in row.flags


def test_historical_dose_that_cannot_be_true_is_refused_naming_date(session, world):
    w = world
    kwargs = dict(session=session, resident_id=w.child.id, vaccine="HepB", dose=2, actor=w.village_doctor)
    refused(session, record_historical, "date", "before_birth", date=born_on() - timedelta(days=1), **kwargs)
    refused(session, record_historical, "date", "date_future", date=county_today() + timedelta(days=1), **kwargs)
    refused(session, record_historical, "date", "date_parsing", date="2025-13-01", **kwargs)
    refused(session, record_historical, "dose", "dose_recorded", **{**kwargs, "dose": 1}, date=born_on())


def test_a_series_cannot_take_more_doses_than_it_has(session, world):
    child = make_child(session, born=county_today() - timedelta(days=400))
    for n, days in ((2, 40), (3, 200), (4, 300)):
        if n == 4:
            refused(session, record_historical, "dose", None, session=session, resident_id=child.id,
                    vaccine="HepB", dose=n, date=child.birth_date + timedelta(days=days), actor=SYSTEM)
        else:
            record_historical(session=session, resident_id=child.id, vaccine="HepB", dose=n,
                                      date=child.birth_date + timedelta(days=days), actor=SYSTEM)


# --- refusals ---------------------------------------------------------------------------------------
def test_refusal_is_recorded_and_audited(session, world):
    w = world
    row = record_refusal(session=session, resident_id=w.child.id, vaccine="IPV", dose=1, date=county_today(),
                                 reason="refused", note="家长暂不同意", actor=w.vaccinator)
    assert session.get(Refusal, row.id).reason == "refused"
    assert audits(session, entity_type="vaccination_refusal", entity_id=str(row.id))


def test_refusal_with_a_bad_reason_or_of_a_dose_given_is_refused(session, world):
    w = world
    kwargs = dict(session=session, resident_id=w.child.id, vaccine="IPV", dose=1, date=county_today(), actor=w.vaccinator)
    refused(session, record_refusal, "reason", "refusal_reason_unknown", reason="busy", **kwargs)
    refused(session, record_refusal, "dose", "dose_recorded",
            **{**kwargs, "vaccine": "HepB"}, reason="refused")


# --- reading the child's record ---------------------------------------------------------------------
def test_child_schedule_comes_from_the_recorded_history_and_is_audited(session, world):
    w = world
    s = queries.child_schedule(session=session, resident_id=w.child.id, actor=w.village_doctor, as_of=county_today())
    status = {(r.vaccine, r.dose): r.status for r in s.rows}
    assert status[("HepB", 1)] == status[("BCG", 1)] == engine.GIVEN
    assert status[("HepB", 2)] == engine.DUE and status[("HepB", 3)] == engine.UPCOMING
    assert [(v.vaccine, v.dose) for v in s.vaccinations] == [("BCG", 1), ("HepB", 1)]
    [event] = audits(session, entity_type="vaccinations", action="read")
    assert (event.resident_id, event.basis, event.username) == (w.child.id, "own_village", w.village_doctor.username)


def test_child_outside_the_scope_cannot_be_read(session, world):
    w = world
    with pytest.raises(NotFound):
        queries.child_schedule(session=session, resident_id=w.child.id, actor=w.vaccinator_b)
    assert not audits(session, entity_type="vaccinations")


# --- AEFI -------------------------------------------------------------------------------------------
def test_aefi_is_reported_against_a_dose_and_audited(session, world):
    w = world
    v = give(session, w)
    a = report_aefi(session=session, vaccination_id=v.id, onset_date=county_today(), symptoms="发热 38.5℃",
                            severity="mild", actor=w.village_doctor)
    assert (a.resident_id, a.status, a.severity) == (w.child.id, "reported", "mild")
    assert audits(session, entity_type="aefi", action="create")


def test_aefi_refusals_name_their_field(session, world):
    w = world
    v = record_historical(session=session, resident_id=w.child.id, vaccine="HepB", dose=2,
                                  date=county_today() - timedelta(days=5), actor=SYSTEM)
    kwargs = dict(session=session, vaccination_id=v.id, actor=w.vaccinator)
    refused(session, report_aefi, "onset_date", "onset_before_dose", onset_date=county_today() - timedelta(days=6),
            symptoms="红肿", severity="mild", **kwargs)
    refused(session, report_aefi, "onset_date", "date_future", onset_date=county_today() + timedelta(days=1),
            symptoms="红肿", severity="mild", **kwargs)
    refused(session, report_aefi, "symptoms", "missing", onset_date=county_today(), symptoms="  ", severity="mild",
            **kwargs)
    refused(session, report_aefi, "severity", "severity_unknown", onset_date=county_today(), symptoms="红肿",
            severity="fatal", **kwargs)
    with pytest.raises(NotFound):
        report_aefi(session=session, vaccination_id=v.id, onset_date=county_today(), symptoms="红肿", severity="mild",
                            actor=w.vaccinator_b)
    assert session.scalar(select(Aefi.id)) is None


def test_aefi_list_is_for_county_roles_scoped_filtered_and_audited(session, world):
    w = world
    v = record_historical(session=session, resident_id=w.child.id, vaccine="HepB", dose=2,
                                  date=county_today() - timedelta(days=40), actor=SYSTEM)
    report_aefi(session=session, vaccination_id=v.id, onset_date=county_today() - timedelta(days=39), symptoms="发热",
                        severity="moderate", actor=SYSTEM)
    rows = queries.list_aefi(session=session, actor=w.county_doctor)
    assert [(r.resident_id, r.vaccination.vaccine, r.aefi.severity) for r in rows] == [(w.child.id, "HepB", "moderate")]
    month = (county_today() - timedelta(days=39)).strftime("%Y%m")
    assert len(queries.list_aefi(session=session, actor=w.bureau, period=month)) == 1
    assert queries.list_aefi(session=session, actor=w.bureau, period="1999") == []
    with pytest.raises(InvalidInput) as exc:
        queries.list_aefi(session=session, actor=w.bureau, period="2025Q9")
    assert exc.value.field == "period"
    with pytest.raises(Forbidden):
        queries.list_aefi(session=session, actor=w.vaccinator)
    [first, *_] = audits(session, entity_type="aefi", action="list")
    assert first.username == w.county_doctor.username and f"{w.child.id}" in first.detail
