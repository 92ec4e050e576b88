"""The low-stock flag looks ahead (issue 14 item 10): the doses due this week and next among the children a
vaccination point serves, per vaccine, against the usable (unexpired) doses on hand there.

The schedule values below are transcribed from the official text, not read from our data file:
国家免疫规划疫苗儿童免疫程序及说明（2021年版）(国家卫生健康委, 2021), its table (麻腮风 MMR at 8 and 18 months,
乙脑减毒活疫苗 JE-L at 8 months, 脊灰灭活疫苗 IPV at 2 and 3 months) and its notes: "程序表所列接种时间是可接种该剂
次的最小年龄" (the table age is the minimum age); MMR dose 1 complete before 12 months and dose 2 before 24 months
(推荐完成时间); polio doses "两剂次间隔不小于28天"; "两种及以上注射类减毒活疫苗如果未同时接种，应间隔不小于28天
进行接种". (The 2025 DTaP change, in force today, leaves these vaccines as they were.)

The window is this week and next: weeks run Monday to Sunday, as on the recall list, so it ends on the Sunday
of next week, 7 to 13 days from today. Each child's figures are worked by hand in its comment; the children's
dates stay clear of the window's ends (except the two IPV children, who sit on its last day and the day after)
so the tests hold on any day of the week.
"""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests import factories as f
from tests.immunization.records_setup import SYSTEM, at, county_today, headers, record_historical, world  # noqa: F401
from tests.immunization.test_stock_service import receive
from weijian.core import clock
from weijian.immunization.models import StockMovement
from weijian.immunization.schedule.rules import add_months
from weijian.immunization.stock import queries as stock_queries


def this_monday() -> date:
    return county_today() - timedelta(days=county_today().weekday())
def window_end() -> date:
    """The Sunday of next week."""
    return this_monday() + timedelta(days=13)


def months_before(day: date, months: int) -> date:
    return add_months(day, -months)


def child(session, born: date, village: str, *doses: tuple[str, int, date], name: str = "测试儿童"):
    """A child with doses copied from the certificate (through the service: its next-due row is kept)."""
    c = f.make_resident(session, name=name, birth_date=born, village_code=village)
    for vaccine, n, day in doses:
        record_historical(session=session, resident_id=c.id, vaccine=vaccine, dose=n, date=day, actor=SYSTEM)
    return c


@pytest.fixture()
def mmr_point(session, world):
    """A village clinic's point serving VILLAGE_A2, its MMR stock (3 usable doses in vials of 2; 10 expired)
    and nine children (seven in its village, one moved out, one in another village)."""
    clinic = f.make_facility(session, name="西河村卫生室", type="village_clinic", orgunit_code=f.VILLAGE_A2)
    point = f.make_vaccination_point(session, clinic)
    lot = f.make_vaccine_lot(session, "MMR", point, 3, doses_per_vial=2, expiry_date=county_today() + timedelta(days=200))
    f.make_vaccine_lot(session, "MMR", point, 10, expiry_date=county_today() - timedelta(days=3))  # expired: not usable
    a2 = f.VILLAGE_A2
    # m1: 8 months and 10 days old, no MMR: MMR1 is due (from 8 months, not overdue before 12) → 1
    born = months_before(county_today() - timedelta(days=10), 8)
    child(session, born, a2, ("HepB", 1, born), name="甲")
    # m2: 8 months old in 2 to 5 days: MMR1 becomes due within the window (which ends 7 days away at least) → 1
    child(session, months_before(county_today() + timedelta(days=5), 8), a2, name="乙")
    # m3: 8 months old in 17 to 20 days: after the window (which ends 13 days away at most) → 0
    child(session, months_before(county_today() + timedelta(days=20), 8), a2, name="丙")
    # m4: 18 months and 10 days old, MMR1 at 8 months: MMR2 due (from 18 months; 28 days after MMR1) → 1
    born = months_before(county_today() - timedelta(days=10), 18)
    child(session, born, a2, ("MMR", 1, add_months(born, 8)), name="丁")
    # m5: 25 months old, MMR1 at 8 months, no MMR2: overdue (complete before 24 months), givable now → 1
    born = months_before(county_today(), 25)
    child(session, born, a2, ("MMR", 1, add_months(born, 8)), name="戊")
    # m6: 9 months and 5 days old, JE-L (live, injectable) given yesterday: MMR1 only 28 days after it, 27 days
    # from today, after the window → 0
    born = months_before(county_today() - timedelta(days=5), 9)
    child(session, born, a2, ("JE-L", 1, county_today() - timedelta(days=1)), name="己")
    # m7: 30 months old, both MMR doses given → 0
    born = months_before(county_today(), 30)
    child(session, born, a2, ("MMR", 1, add_months(born, 8)), ("MMR", 2, add_months(born, 18)), name="庚")
    # m8: MMR1 due, but moved out of the village → 0
    gone = child(session, months_before(county_today() - timedelta(days=10), 8), a2, name="辛")
    gone.status = "moved_out"
    # m9: MMR1 due, but in VILLAGE_A1 (another point's area; so is the world's two-month-old) → 0
    child(session, months_before(county_today() - timedelta(days=10), 8), f.VILLAGE_A1, name="壬")
    session.flush()
    return point, lot


def test_the_doses_due_this_week_and_next_are_counted_per_vaccine(session, mmr_point):
    """MMR due in the two weeks at the point: m1 + m2 + m4 + m5 = 4 (see the fixture for each child). 2021 说明:
    the table age is the minimum age; MMR1 before 12 months, MMR2 before 24 months; live injectables 28 days
    apart unless given the same day."""
    point, _lot = mmr_point
    due = stock_queries.doses_due(session=session, point_id=point.id, today=county_today())
    assert (due.today, due.until) == (county_today(), window_end())
    assert stock_queries.lookahead_end(county_today()) == window_end()
    assert due.doses["MMR"] == 4
    # m6 (JE-L given yesterday) needs no JE-L in the window; m1, m2, m3 (8 months by then at most 20 days
    # away: m3 not) need JE-L1, m4 (18 months) and m5 (25 months) too, m7 (30 months) too: JE-L1 from 8
    # months, no dose given → m1, m2, m4, m5, m7 = 5
    assert due.doses["JE-L"] == 5


def test_fewer_usable_doses_than_due_in_two_weeks_is_flagged_and_says_both_numbers(session, world, mmr_point):
    """4 MMR doses due this week and next (see the fixture), 3 usable doses on hand (the 10 expired ones do not
    count; a balance counts doses, not vials of 2): flagged, amber (not under half of 4). One dose more (4 on
    hand, not fewer than 4): no flag."""
    point, lot = mmr_point
    low = {fl.vaccine: fl for fl in stock_queries.flags(session=session, point_id=point.id, today=county_today())
           if fl.kind == "low_stock"}
    mmr = low["MMR"]
    assert (mmr.quantity, mmr.due_soon, mmr.due_until, mmr.reasons, mmr.level) == (
        3, 4, window_end(), (stock_queries.LOW_DUE,), "amber")
    assert mmr.daily_use is None and mmr.days_of_stock is None  # no dose used lately: not the reason
    receive(session=session, point_id=point.id, lot=lot.id, quantity=1, actor=world.vaccinator)
    low = {fl.vaccine for fl in stock_queries.flags(session=session, point_id=point.id, today=county_today())
           if fl.kind == "low_stock"}
    assert "MMR" not in low


def test_a_flag_driven_by_both_numbers_names_both(session, world, mmr_point):
    """Beside the 4 doses due, 60 MMR doses used in the last 30 days (2 a day): 6 on hand after a receipt of 3
    last 3 days, under half of the point's 14 days → red, for both reasons; 6 is not fewer than 4 due, so
    with the receipt only the days drive it."""
    point, lot = mmr_point
    for _ in range(60):
        session.add(StockMovement(point_id=point.id, lot_id=lot.id, kind="use", quantity=-1,
                                  at=at(county_today() - timedelta(days=2), 10)))
    session.flush()
    mmr = next(fl for fl in stock_queries.flags(session=session, point_id=point.id, today=county_today())
               if fl.kind == "low_stock" and fl.vaccine == "MMR")
    assert (mmr.quantity, mmr.due_soon, mmr.daily_use, mmr.days_of_stock, mmr.level) == (3, 4, 2.0, 1.5, "red")
    assert mmr.reasons == (stock_queries.LOW_DUE, stock_queries.LOW_USE)
    receive(session=session, point_id=point.id, lot=lot.id, quantity=3, actor=world.vaccinator)
    mmr = next(fl for fl in stock_queries.flags(session=session, point_id=point.id, today=county_today())
               if fl.kind == "low_stock" and fl.vaccine == "MMR")
    assert (mmr.quantity, mmr.reasons, mmr.days_of_stock, mmr.level) == (6, (stock_queries.LOW_USE,), 3.0, "red")


def test_a_dose_becoming_due_on_the_windows_last_day_counts_and_the_day_after_does_not(session, world):
    """IPV2 is due 28 days after IPV1 at the soonest (2021 说明, 脊灰疫苗: "两剂次间隔不小于28天"; the 3-month age
    long past for these 5-month-olds). IPV1 given 28 days before the window's last day → IPV2 due on that
    day: counted; given 27 days before → due the day after the window: not counted. No IPV on hand: red."""
    clinic = f.make_facility(session, name="北山村卫生室", type="village_clinic", orgunit_code=f.VILLAGE_B1)
    point = f.make_vaccination_point(session, clinic)
    born = months_before(county_today(), 5)
    child(session, born, f.VILLAGE_B1, ("IPV", 1, window_end() - timedelta(days=28)), name="子")
    child(session, born, f.VILLAGE_B1, ("IPV", 1, window_end() - timedelta(days=27)), name="丑")
    due = stock_queries.doses_due(session=session, point_id=point.id, today=county_today())
    assert due.doses.get("IPV") == 1
    ipv = next(fl for fl in stock_queries.flags(session=session, point_id=point.id, today=county_today())
               if fl.kind == "low_stock" and fl.vaccine == "IPV")
    assert (ipv.quantity, ipv.due_soon, ipv.level) == (0, 1, "red")


def test_the_stock_page_and_the_api_say_which_number_drove_the_flag(client, session, world, mmr_point):
    """The page: "未来两周应种 4 剂，库存 3 剂" (4 MMR doses due this week and next, 3 usable on hand: see the
    fixture); the API: the same numbers and the reason."""
    point, _lot = mmr_point
    client.headers.update(headers(session, world.vaccinator))
    html = client.get("/immunization/stock", params={"point_id": point.id}).text
    assert "麻腮风疫苗 库存不足：未来两周应种 4 剂，库存 3 剂" in html
    # The page counts from the clock's today (a day after county_today() when the suite runs across midnight; the
    # children's dates keep their margins): its window ends on the Sunday after that day's next Monday.
    today = clock.today()
    assert f"至 {(today - timedelta(days=today.weekday()) + timedelta(days=13)).isoformat()}" in html
    flags = client.get(f"/api/v1/immunization/points/{point.id}/flags", params={"today": county_today().isoformat()},
                       headers=headers(session, world.vaccinator))
    mmr = next(fl for fl in flags.json() if fl["kind"] == "low_stock" and fl["vaccine"] == "MMR")
    assert (mmr["quantity"], mmr["due_soon"], mmr["due_until"], mmr["reasons"]) == (
        3, 4, window_end().isoformat(), ["due_soon"])
