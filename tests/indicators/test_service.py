"""Each built-in indicator held to an answer worked out by hand on tests/indicators/world.py."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests import factories as f
from tests.indicators import world
from weijian.accounts.models import AuditEvent
from weijian.core import tallies as core_tallies
from weijian.core.actor import Actor
from weijian.core.commands import build
from weijian.core.errors import Forbidden, InvalidInput, NotFound
from weijian.indicators import service
from weijian.orgunits import service as orgunits_service
from weijian.orgunits.schemas import CapacityRecord, FacilityCreate

SYSTEM = Actor.system("test")
D = Decimal


@pytest.fixture(params=["tallies", "records"])
def w(request, session, monkeypatch):
    """The world, its figures read from the running tallies (as in use) or counted from the records (as
    when the tallies are stale): every hand-worked answer below must come out of both."""
    if request.param == "records":
        monkeypatch.setattr(core_tallies, "fresh", lambda session: set())
    built = world.build(session)
    if request.param == "tallies":
        assert core_tallies.fresh(session) == set(core_tallies.sources())
    return built


def one(session, indicator, period="2025", orgunit=None, actor=SYSTEM, **kw):
    rows = service.compute(session=session, actor=actor, indicator_ids=[indicator], period=period, orgunit=orgunit,
                           **kw)
    assert len(rows) == 1, rows
    return rows[0]


def figures(session, indicator, period="2025", level="village", orgunit=None):
    rows = service.compute(session=session, actor=SYSTEM, indicator_ids=[indicator], period=period, level=level,
                           orgunit=orgunit)
    return {r.orgunit: (r.numerator, r.denominator, r.value) for r in rows}


# --- population -------------------------------------------------------------------------------------
def test_population_by_age_group_counts_active_residents_by_completed_years_at_period_end(session, w):
    assert figures(session, "population_total", level="village") == {
        f.VILLAGE_A1: (4, None, D(4)), f.VILLAGE_A2: (2, None, D(2)), f.VILLAGE_B1: (3, None, D(3))}
    assert one(session, "population_total").numerator == 9  # the deceased resident is not counted
    assert one(session, "population_0_6").numerator == 3  # child (5) and the two babies
    assert one(session, "population_7_17").numerator == 1  # teen
    assert one(session, "population_18_64").numerator == 2  # woman (25), adult (64)
    assert one(session, "population_65_plus").numerator == 3  # elder, turning (65 on 2025-12-31), grandma
    assert one(session, "population_65_plus", period="2024").numerator == 2  # turning is 64 on 2024-12-31
    assert one(session, "population_total", period="2024").numerator == 7  # no babies yet


# --- capacity ---------------------------------------------------------------------------------------
@pytest.fixture()
def capacity_county(session):
    """Two facilities with dated capacity: the township centre of TOWN_A had 40 open beds (10 + 2
    physicians) from mid-2024 and 60 from mid-2025; the county hospital 100 beds (20 + 5) since 2024.
    Residents: 4 in VILLAGE_A1 and 1 in VILLAGE_B1 in both years."""
    f.make_county(session)
    for village, n in ((f.VILLAGE_A1, 4), (f.VILLAGE_B1, 1)):
        for _ in range(n):
            f.make_resident(session, village_code=village, birth_date=date(1980, 1, 1))
    town = orgunits_service.create_facility(session=session, facility_in=build(FacilityCreate, dict(
        code="T001", name="温泉镇卫生院", type="township_centre", orgunit_code=f.TOWN_A, beds_approved=50,
        beds_open=40, physicians=10, assistant_physicians=2, as_of=date(2024, 6, 30))), actor=SYSTEM)
    orgunits_service.record_capacity(session=session, facility_id=town.id, actor=SYSTEM, capacity_in=build(
        CapacityRecord, {"beds_open": 60, "as_of": date(2025, 6, 30)}))
    orgunits_service.create_facility(session=session, facility_in=build(FacilityCreate, dict(
        code="H001", name="英山县人民医院", type="county_general", orgunit_code=f.COUNTY, beds_approved=120,
        beds_open=100, physicians=20, assistant_physicians=5, as_of=date(2024, 1, 1))), actor=SYSTEM)
    session.flush()


def test_beds_per_1000_uses_each_years_own_beds_and_population(session, capacity_county):
    # 2024: (40 + 100) × 1000 / 5 = 28000.00; 2025: (60 + 100) × 1000 / 5 = 32000.00.
    y2024, y2025 = one(session, "beds_per_1000", "2024"), one(session, "beds_per_1000", "2025")
    assert (y2024.numerator, y2024.denominator, y2024.value) == (140, 5, D("28000.00"))
    assert (y2025.numerator, y2025.denominator, y2025.value) == (160, 5, D("32000.00"))
    # Before the township centre's first snapshot (mid-2024) only the county hospital counts.
    assert one(session, "beds_per_1000", "2024Q1").numerator == 100
    # A township counts the facilities at its own code and in its villages: TOWN_A 60 × 1000 / 4.
    assert figures(session, "beds_per_1000", level="township") == {
        f.TOWN_A: (60, 4, D("15000.00")), f.TOWN_B: (0, 1, D("0.00"))}


def test_physicians_per_1000_counts_assistants_too(session, capacity_county):
    # (10 + 2 + 20 + 5) × 1000 / 5 = 7400.00
    row = one(session, "physicians_per_1000")
    assert (row.numerator, row.denominator, row.value) == (37, 5, D("7400.00"))


def test_beds_per_1000_with_seven_residents_rounds_half_up(session, capacity_county):
    for _ in range(2):
        f.make_resident(session, village_code=f.VILLAGE_B1, birth_date=date(1990, 1, 1))
    # 160 × 1000 / 7 = 22857.142857… → 22857.14
    assert one(session, "beds_per_1000").value == D("22857.14")


# --- graded care ------------------------------------------------------------------------------------
def test_primary_care_share_rolls_up_counts_not_the_mean_of_village_rates(session, w):
    villages = figures(session, "primary_care_share", level="village")
    assert villages[f.VILLAGE_A1] == (3, 4, D("75.00"))
    assert villages[f.VILLAGE_A2] == (0, 1, D("0.00"))
    assert villages[f.VILLAGE_B1] == (0, 0, None)
    town = figures(session, "primary_care_share", level="township")[f.TOWN_A]
    assert town == (3, 5, D("60.00"))  # the mean of the villages' rates would be 37.50
    row = one(session, "primary_care_share")
    assert (row.value, row.target, row.status) == (D("60.00"), D("65"), "amber")


def test_county_retention_rate_counts_stays_inside_the_county(session, w):
    assert figures(session, "county_retention_rate", level="township") == {
        f.TOWN_A: (1, 1, D("100.00")), f.TOWN_B: (1, 2, D("50.00"))}
    row = one(session, "county_retention_rate")
    assert (row.numerator, row.denominator, row.value, row.status) == (2, 3, D("66.67"), "red")


def test_referrals_count_by_the_local_day_and_leave_out_cancelled(session, w):
    assert one(session, "referrals_up").numerator == 1
    assert one(session, "referrals_up", period="202501").numerator == 1  # 2024-12-31 17:00 UTC is 1 January
    assert one(session, "referrals_up", period="2024").numerator == 0
    assert one(session, "referrals_down").numerator == 1
    assert figures(session, "referrals_down", level="township") == {
        f.TOWN_A: (0, None, D(0)), f.TOWN_B: (1, None, D(1))}


# --- chronic ----------------------------------------------------------------------------------------
def test_hypertension_management_and_control_rates(session, w):
    mgmt = one(session, "hypertension_management_rate")
    assert (mgmt.numerator, mgmt.denominator, mgmt.value, mgmt.status) == (1, 3, D("33.33"), "red")
    ctrl = one(session, "hypertension_control_rate")
    assert (ctrl.numerator, ctrl.denominator, ctrl.value, ctrl.status) == (2, 3, D("66.67"), "green")
    assert figures(session, "hypertension_management_rate", level="township")[f.TOWN_A] == (1, 2, D("50.00"))
    assert one(session, "hypertension_management_rate", orgunit=f.TOWN_A).status == "amber"


def test_diabetes_rates(session, w):
    assert (one(session, "diabetes_management_rate").value, one(session, "diabetes_control_rate").value) == (
        D("100.00"), D("100.00"))


def test_chronic_rates_have_no_value_for_a_month(session, w):
    rows = service.compute(session=session, actor=SYSTEM, indicator_ids=["hypertension_control_rate"],
                           period="2025Q1", by_month=True)
    assert [(r.period, r.numerator, r.value, r.status) for r in rows] == [
        ("202501", None, None, None), ("202502", None, None, None), ("202503", None, None, None)]


# --- public health and maternal ---------------------------------------------------------------------
def test_elderly_health_check_rate_counts_each_person_once(session, w):
    row = one(session, "elderly_health_check_rate")
    assert (row.numerator, row.denominator, row.value) == (2, 3, D("66.67"))
    assert figures(session, "elderly_health_check_rate", level="township") == {
        f.TOWN_A: (2, 2, D("100.00")), f.TOWN_B: (0, 1, D("0.00"))}


def test_prenatal_screening_rate_is_screened_women_over_births(session, w):
    row = one(session, "prenatal_screening_rate")
    assert (row.numerator, row.denominator, row.value) == (1, 2, D("50.00"))
    assert figures(session, "prenatal_screening_rate", level="village")[f.VILLAGE_B1] == (0, 1, D("0.00"))


def test_two_cancer_screening_counts(session, w):
    assert one(session, "cervical_screenings").numerator == 1  # the 2024 screening is not counted
    assert one(session, "cervical_screenings", period="2024").numerator == 1
    assert one(session, "breast_screenings").numerator == 1


# --- immunization -----------------------------------------------------------------------------------
def test_doses_given_by_vaccine(session, w):
    assert one(session, "vaccination_doses").numerator == 2
    assert one(session, "vaccination_doses_hepb").numerator == 1
    assert one(session, "vaccination_doses_dtap").numerator == 1
    assert one(session, "vaccination_doses_mmr").numerator == 0
    assert one(session, "vaccination_doses", period="2020").numerator == 2


def test_coverage_and_timeliness_of_key_doses(session, w):
    # Eligible for HepB1 (due within a day of birth): every child under 18 — child, teen and both babies.
    cov = one(session, "coverage_hepb1")
    assert (cov.numerator, cov.denominator, cov.value, cov.status) == (2, 4, D("50.00"), "red")
    tim = one(session, "timely_hepb1")  # baby_a's dose came two days late
    assert (tim.numerator, tim.denominator, tim.value) == (1, 4, D("25.00"))
    assert figures(session, "coverage_hepb1", level="village")[f.VILLAGE_A1] == (2, 2, D("100.00"))
    # MMR1 (before 12 months): the babies are not yet eligible; child vaccinated, teen not.
    mmr = one(session, "coverage_mmr1")
    assert (mmr.numerator, mmr.denominator, mmr.value, mmr.status) == (1, 2, D("50.00"), "red")
    assert one(session, "coverage_mmr1", orgunit=f.VILLAGE_A1).status == "green"


# --- settlement -------------------------------------------------------------------------------------
def test_settlement_totals_by_payer_leave_out_reversed_rows(session, w):
    assert one(session, "settlement_basic").numerator == D("3000.50")
    assert one(session, "settlement_critical_illness").numerator == D("500.00")
    assert one(session, "settlement_assistance").numerator == D("100.00")
    assert one(session, "settlement_patient").numerator == D("1099.50")
    assert one(session, "settlement_basic", orgunit=f.TOWN_A).value == D("1000.50")
    assert one(session, "settlement_basic", period="202507").numerator == D("2000.00")


# --- the computation's shape ------------------------------------------------------------------------
def test_by_month_gives_each_month_of_the_period(session, w):
    rows = service.compute(session=session, actor=SYSTEM, indicator_ids=["primary_care_share"], period="2025Q1",
                           by_month=True)
    assert [(r.period, r.numerator, r.denominator) for r in rows] == [
        ("202501", 1, 1), ("202502", 2, 2), ("202503", 0, 1)]


def test_every_built_in_indicator_computes_for_every_level(session, w):
    ids = [i.id for i in service.list_indicators()]
    for level, units in (("county", 1), ("township", 2), ("village", 3)):
        rows = service.compute(session=session, actor=SYSTEM, period="2025", level=level)
        assert len(rows) == len(ids) * units
        assert {r.level for r in rows} == {level}


def test_level_all_gives_the_unit_and_every_unit_below_it_county_first(session, w):
    rows = service.compute(session=session, actor=SYSTEM, indicator_ids=["population_total"], period="2025",
                           level="all")
    assert [(r.orgunit, r.level, r.numerator) for r in rows] == [
        (f.COUNTY, "county", 9), (f.TOWN_A, "township", 6), (f.TOWN_B, "township", 3),
        (f.VILLAGE_A1, "village", 4), (f.VILLAGE_A2, "village", 2), (f.VILLAGE_B1, "village", 3)]


def test_a_village_doctor_sees_only_own_village_and_defaults_to_it(session, w):
    user = f.make_user(session, "village_doctor", f.VILLAGE_A1)
    from weijian.accounts import service as accounts_service

    actor = accounts_service.actor_for(user)
    row = one(session, "population_total", actor=actor)
    assert (row.orgunit, row.numerator) == (f.VILLAGE_A1, 4)
    with pytest.raises(Forbidden):
        service.compute(session=session, actor=actor, period="2025", orgunit=f.TOWN_B)


def test_bad_input_is_refused_naming_the_field(session, w):
    with pytest.raises(InvalidInput) as exc:
        service.compute(session=session, actor=SYSTEM, period="2025-03")
    assert exc.value.field == "period"
    with pytest.raises(InvalidInput) as exc:
        service.compute(session=session, actor=SYSTEM, period="2025", orgunit="421124999000")
    assert exc.value.field == "orgunit"
    with pytest.raises(InvalidInput) as exc:
        service.compute(session=session, actor=SYSTEM, period="2025", orgunit="42112")
    assert exc.value.field == "orgunit"
    with pytest.raises(InvalidInput) as exc:
        service.compute(session=session, actor=SYSTEM, period="2025", orgunit=f.TOWN_A, level="county")
    assert exc.value.field == "level"
    with pytest.raises(NotFound) as nf:
        service.compute(session=session, actor=SYSTEM, period="2025", indicator_ids=["no_such_thing"])
    assert nf.value.params == {"indicator": "no_such_thing"}


def test_a_user_without_figures_permission_is_refused(session, w):
    actor = Actor(user_id=None, username="x", role="clerk", scope_code=f.COUNTY, permissions=frozenset({"orgunit:read"}))
    with pytest.raises(Forbidden):
        service.compute(session=session, actor=actor, period="2025")


# --- drill-down -------------------------------------------------------------------------------------
def test_drilldown_lists_the_numerators_records_masked_and_audited(session, w):
    page = service.drilldown(session=session, actor=SYSTEM, indicator_id="primary_care_share", orgunit=f.TOWN_A,
                             period="2025")
    assert page.total == 3  # the numerator: the elder's three visits at the village clinic
    assert [r["date"] for r in page.rows] == [date(2025, 1, 5), date(2025, 2, 5), date(2025, 2, 20)]
    assert all("*" in r["id_number"] and r["id_number"] != w.residents["elder"].id_number for r in page.rows)
    assert page.rows[0]["facility"] == "东冲村卫生室"
    event = session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "indicator_records")).one()
    assert (event.action, event.entity_id) == ("list", "primary_care_share")


def test_drilldown_pages_and_totals_match_the_figure(session, w):
    for ind in ("population_total", "elderly_health_check_rate", "referrals_up", "cervical_screenings",
                "hypertension_management_rate", "vaccination_doses", "settlement_basic", "prenatal_screening_rate"):
        page = service.drilldown(session=session, actor=SYSTEM, indicator_id=ind, orgunit=None, period="2025",
                                 page_size=2)
        figure = one(session, ind)
        # A person checked (or screened) twice is one row, as the figure counts people; money adds up.
        if ind == "settlement_basic":
            assert (page.total, page.quantity) == (2, figure.numerator)
        else:
            assert page.total == figure.numerator, ind
        assert len(page.rows) == min(2, page.total)


def test_drilldown_of_a_capacity_figure_lists_the_facilities(session, w):
    page = service.drilldown(session=session, actor=SYSTEM, indicator_id="beds_per_1000", orgunit=f.TOWN_A,
                             period="2025")
    # TOWN_A's own township centre and the clinics of its two villages (make_care_facilities: 40 open beds each)
    assert page.total == 3
    assert sorted(r["name"] for r in page.rows) == ["东冲村卫生室", "温泉镇卫生院", "西河村卫生室"]
    assert {r["quantity"] for r in page.rows} == {40} and all(r["id_number"] is None for r in page.rows)


def test_drilldown_is_scoped_to_the_actor(session, w):
    from weijian.accounts import service as accounts_service

    actor = accounts_service.actor_for(f.make_user(session, "village_doctor", f.VILLAGE_A1))
    page = service.drilldown(session=session, actor=actor, indicator_id="population_total", orgunit=None,
                             period="2025")
    assert page.total == 4 and {r["village_code"] for r in page.rows} == {f.VILLAGE_A1}
    with pytest.raises(Forbidden):
        service.drilldown(session=session, actor=actor, indicator_id="population_total", orgunit=f.VILLAGE_B1,
                          period="2025")


# --- export -----------------------------------------------------------------------------------------
def test_export_xlsx_has_chinese_headers_names_codes_and_status_fills(session, w):
    from io import BytesIO

    from openpyxl import load_workbook

    from weijian.core.i18n import Translator

    rows = service.compute(session=session, actor=SYSTEM, indicator_ids=["primary_care_share", "population_total"],
                           period="2025", level="township")
    wb = load_workbook(BytesIO(service.export_xlsx(rows, Translator("zh_CN"))))
    ws = wb.active
    header = [c.value for c in ws[1]]
    assert header[:4] == ["指标", "计量单位", "单位名称", "单位代码"] and "评价" in header
    assert ws.freeze_panes == "A2" and ws["A1"].font.bold
    first = [c.value for c in ws[2]]
    assert first[0] == "基层医疗卫生机构诊疗量占比" and first[2] == "温泉镇" and first[3] == f.TOWN_A
    assert (first[6], first[7], first[8]) == (3, 5, 60)
    assert first[10] == "接近" and ws.cell(2, 11).fill.start_color.rgb.endswith("FFEB9C")


def _coverage_agrees_with_the_immunization_figures(session, periods) -> int:
    """Eligible, vaccinated and timely children of HepB1, MMR1 and DTaP1 per village for each period, read
    by the measures for all periods at once, equal immunization.figures.rates for each period alone;
    returns how many vaccinated children were counted."""
    from weijian.immunization import service as immunization_service
    from weijian.indicators import measures

    given = 0
    for vaccine, dose in (("HepB", 1), ("MMR", 1), ("DTaP", 1)):
        ctx = measures.Context(session=session, actor=SYSTEM, area=f.COUNTY, lo="421124000000", hi="421124999999",
                               periods=periods)
        filters = {"vaccine": vaccine, "dose": dose}
        eligible = measures.MEASURES["children_eligible"].compute(ctx, filters)
        vaccinated = measures.MEASURES["children_vaccinated"].compute(ctx, filters)
        timely = measures.MEASURES["children_vaccinated_timely"].compute(ctx, filters)
        for i, p in enumerate(periods):
            theirs = immunization_service.rates(session=session, actor=SYSTEM, period=p, vaccine=vaccine, dose=dose,
                                                level="village")
            expect = {r.orgunit: (r.denominator, r.numerator) for r in theirs["coverage"] if r.denominator}
            assert {v: (n, vaccinated[i].get(v, 0)) for v, n in eligible[i].items()} == expect, (vaccine, p.code)
            assert timely[i] == {r.orgunit: r.numerator for r in theirs["timeliness"] if r.numerator}, p.code
        assert any(eligible), vaccine
        given += sum(sum(v.values()) for v in vaccinated)
    return given


def test_coverage_over_one_editions_months_agrees_with_the_immunization_figures(session, w, monkeypatch):
    """Periods under one schedule edition take the one-pass route (immunization.counts._fill_one_edition,
    not the per-end _fill): each month end and the quarter must still give what rates gives for it alone."""
    from weijian.core.periods import months_of, parse_period
    from weijian.immunization import counts as immunization_counts

    def per_end(*args):
        raise AssertionError("one edition: the one-pass route must be taken")

    monkeypatch.setattr(immunization_counts, "_fill", per_end)
    from weijian.immunization.models import Vaccination

    # Children whose figures change within the year: a dose given months after eligibility (vaccinated
    # from that month, not timely), one given on the day it stops being timely, one at birth to a child
    # who reaches 18 (leaves the follow-up) in June, and DT standing in for DTaP.
    for born, vaccine, n, on in ((date(2025, 3, 15), "HepB", 1, date(2025, 5, 20)),
                                 (date(2025, 4, 9), "HepB", 1, date(2025, 4, 10)),
                                 (date(2024, 9, 10), "MMR", 1, date(2025, 11, 5)),
                                 (date(2007, 6, 15), "HepB", 1, date(2007, 6, 15)),
                                 (date(2024, 8, 1), "DT", 1, date(2025, 2, 3))):
        kid = f.make_resident(session, village_code=f.VILLAGE_A1, birth_date=born)
        session.add(Vaccination(resident_id=kid.id, vaccine=vaccine, dose=n, date=on, source="historical"))
    session.flush()
    periods = months_of(parse_period("2025")) + [parse_period("2025Q2")]
    assert _coverage_agrees_with_the_immunization_figures(session, periods)  # some doses counted, not only eligible


def test_coverage_over_many_periods_agrees_with_the_immunization_figures(session, w):
    """The indicators read the children once for all periods (two schedule editions here); each period must
    still give exactly what immunization.figures.rates gives for it alone."""
    from weijian.core.periods import months_of, parse_period

    assert one(session, "coverage_hepb1", period="2020").value is None  # before the first schedule edition
    periods = months_of(parse_period("2025")) + [parse_period("2024Q3"), parse_period("2021")]
    _coverage_agrees_with_the_immunization_figures(session, periods)
