"""A current demo (issue 11): the county built on 2026-12-07 with the county clock on that day, as
`weijian demo-data` builds it today. Its records span exactly the 24 months before the reference date and
nothing is dated after it; on the reference date the worklist shows a living county (a minority of chronic
patients overdue, follow-ups up to the last days) and the recall list of the reference week has children;
and each page's default period — the current year (core.periods.default_period) — shows figures.

A reference in mid-year (the data file's 2026-06-30) is built by test_care_demo.py, which checks the same
window rules and overdue share there. One county for the module, in a transaction rolled back at the end;
the clock stays on the reference date for the whole module (the build refuses a reference after today).
"""
from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from html import unescape

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests import factories as f
from tests.demo import rolled_back_session
from weijian.accounts import service as accounts_service
from weijian.care import worklist
from weijian.care.childcare.models import ChildCheck
from weijian.care.chronic import service as chronic
from weijian.care.models import (
    ChronicRegistration,
    Encounter,
    FollowUp,
    HealthCheck,
    Referral,
    Screening,
    Teleconsultation,
)
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.demo import builder
from weijian.demo import care as demo_care
from weijian.immunization.models import Vaccination
from weijian.immunization.recall import queries as recall
from weijian.indicators.definitions import definitions
from weijian.residents.models import Resident
from weijian.settlement.models import Balance, Settlement

N = 3000
SEED = 1  # the demo village (龙庄村) has a child under 7 in this county: the recall list has someone to show
REFERENCE = date(2026, 12, 7)  # a Monday
NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # 10:00 in the county
FIRST = date(2024, 12, 8)
TOWNSHIP, VILLAGE = "421124100000", "421124100201"  # the demo township and village doctors'


@pytest.fixture(scope="module")
def built(engine):
    with time_machine.travel(NOW, tick=False), rolled_back_session(engine) as session:
        assert clock.today() == REFERENCE
        summary = builder.build(session=session, residents=N, seed=SEED, reference=REFERENCE)
        yield session, summary


@pytest.fixture()
def db(built) -> Session:
    return built[0]


def _actor(db: Session, username: str) -> Actor:
    return accounts_service.actor_for(accounts_service.get_by_username(session=db, username=username))


# --- the window -------------------------------------------------------------------------------------------
def test_records_span_exactly_the_24_months_before_the_reference_date_and_nothing_after_it(db, built):
    summary = built[1]
    assert demo_care.window(REFERENCE) == (FIRST, REFERENCE)
    assert (summary.care.first, summary.care.last) == (summary.settlement.first, summary.settlement.last) \
        == (FIRST, REFERENCE)
    for kind in ("outpatient", "inpatient", "day_surgery"):
        first, last = db.execute(select(func.min(Encounter.start_date), func.max(Encounter.start_date))
                                 .where(Encounter.type == kind)).one()
        assert FIRST <= first <= FIRST + timedelta(days=31) and REFERENCE - timedelta(days=31) <= last <= REFERENCE
        if kind == "outpatient":
            assert (first, last) == (FIRST, REFERENCE)
    dated = [Encounter.end_date, FollowUp.date, HealthCheck.date, Screening.date, ChronicRegistration.closed_on,
             Settlement.settled_on, Vaccination.date, Resident.birth_date]
    for column in dated:
        assert (db.scalar(select(func.max(column))) or REFERENCE) <= REFERENCE, column
    for column in (Encounter.start_date, FollowUp.date, HealthCheck.date, Screening.date, Settlement.settled_on):
        assert db.scalar(select(func.min(column))) >= FIRST, column
    # The latest of each kind in the last days: a current county.
    assert db.scalar(select(func.max(FollowUp.date))) >= REFERENCE - timedelta(days=2)
    assert db.scalar(select(func.max(Encounter.end_date))) >= REFERENCE - timedelta(days=7)
    assert db.scalar(select(func.max(Vaccination.date))) >= REFERENCE - timedelta(days=2)
    cutoff = clock.at(REFERENCE)  # the start of the reference day: what has a time happened before it
    assert db.scalar(select(func.max(Referral.requested_at))) < cutoff
    assert db.scalar(select(func.max(Referral.completed_at))) < cutoff
    assert db.scalar(select(func.max(Teleconsultation.answered_at))) < cutoff


def test_every_stay_is_discharged_and_settled_and_the_latest_balances_are_not_due_yet(db, built):
    stays = db.scalar(select(func.count()).select_from(Encounter).where(Encounter.type != "outpatient"))
    assert db.scalar(select(func.count()).select_from(Encounter).where(Encounter.type != "outpatient",
                                                                      Encounter.end_date.is_(None))) == 0
    assert built[1].settlement.settled == stays and built[1].settlement.pending == 0
    owed = list(db.scalars(select(Balance).where(Balance.status == "outstanding")))
    assert any(b.due_date < REFERENCE for b in owed) and any(b.due_date >= REFERENCE for b in owed)


def test_the_current_years_prenatal_screenings_include_the_pregnancies_under_way(db):
    """Screened women of the year ÷ births of the year (the indicator's rate) near the data file's 90 %, not
    short of the women due after the reference date."""
    year = (date(2026, 1, 1), REFERENCE)
    screened = db.scalar(select(func.count(Screening.resident_id.distinct())).where(
        Screening.kind == "prenatal", Screening.date.between(*year)))
    births = db.scalar(select(func.count()).select_from(Resident).where(Resident.birth_date.between(*year)))
    assert 0.7 <= screened / births <= 1.1, (screened, births)


# --- the worklist -----------------------------------------------------------------------------------------
def test_10_to_20_percent_of_chronic_patients_are_overdue_on_the_reference_date(db):
    """Counted: status "overdue" (care.chronic.schedule: more than `overdue_grace_days` past the due date,
    3 months after the last face-to-face follow-up); "due" (due within two weeks) is not counted."""
    # The generator's share sits near a fifth (20.2 % at 40,000 residents on 2026-12-07): the county's ~400
    # patients within 10–22 % (a binomial spread of about ±2 points); a township has ~90, so a wider band.
    for scope, lo, hi in ((None, 0.10, 0.22), (TOWNSHIP, 0.05, 0.25)):
        items = chronic.due_follow_ups(session=db, actor=Actor.system("test", scope_code=scope), as_of=REFERENCE)
        status = Counter(i.status for i in items)
        assert len(items) > 50 and lo <= status["overdue"] / len(items) <= hi, (scope, status)
        assert status["ok"] > status["due"] > 0
    # Up to date means seen in the last months: the latest face-to-face follow-ups run up to the last days.
    latest = max(i.last_follow_up for i in items if i.last_follow_up)
    assert latest >= REFERENCE - timedelta(days=3)


def test_the_township_doctors_worklist_shows_the_overdue_and_due_patients_and_this_weeks_children(db):
    work = worklist.worklist(session=db, actor=_actor(db, "xiangzhen"), now=NOW)
    assert work.today == REFERENCE
    status = Counter(i.status for i in work.follow_ups)
    assert set(status) == {"overdue", "due"} and status["overdue"] > 0
    assert work.recall is not None and work.recall.children


def test_the_village_doctors_single_task_list_gathers_every_package_urgent_and_overdue_first(db):
    """care.worklist.tasks (issue 17 part 7): the demo village's doctor has chronic follow-ups, contracts to
    renew and mental-health follow-ups (the demo makes sure of these in her village) and TB work in one list,
    ordered urgent, then overdue, then due."""
    work = worklist.worklist(session=db, actor=_actor(db, "cunyi"), now=NOW)
    tasks = worklist.tasks(work)
    assert {"chronic", "contract", "mental"} <= {t.programme for t in tasks}
    assert len({t.programme for t in tasks}) >= 4
    order = {"urgent": 0, "overdue": 1, "due": 2}
    ranks = [order[t.status] for t in tasks]
    assert ranks == sorted(ranks) and "overdue" in {t.status for t in tasks}
    village = _actor(db, "cunyi").scope_code
    assert {t.village_code for t in tasks} == {village}


def test_most_children_under_7_have_checks_up_to_the_reference_date_and_some_are_due_this_week(db):
    kids = db.scalar(select(func.count()).select_from(Resident).where(
        Resident.status == "active", Resident.birth_date > date(2019, 12, 7)))
    checked = db.scalar(select(func.count(func.distinct(ChildCheck.resident_id))))
    assert kids and checked >= 0.8 * kids
    assert db.scalar(select(func.max(ChildCheck.date))) <= REFERENCE
    work = worklist.worklist(session=db, actor=_actor(db, "xiangzhen"), now=NOW)
    assert work.children and {r.check.status for r in work.children} == {"overdue", "due"}


def test_the_township_doctors_worklist_shows_urgent_referrals_first(db):
    """紧急转诊 (规范 第三版: 收缩压≥180mmHg和（或）舒张压≥110mmHg … 须在处理后紧急转诊, 2周内主动随访转诊情况): the demo
    township has patients whose latest follow-up, in the last week, called for one (the demo village's first;
    in this small county it has one patient); the worklist lists them first, before the overdue and due."""
    work = worklist.worklist(session=db, actor=_actor(db, "xiangzhen"), now=NOW)
    urgent = [i.urgent for i in work.follow_ups]
    assert sum(urgent) >= 2 and urgent == sorted(urgent, reverse=True), urgent
    assert any(i.status == "overdue" for i in work.follow_ups)
    for item in (i for i in work.follow_ups if i.urgent):
        latest = db.scalar(select(FollowUp).where(FollowUp.registration_id == item.registration_id)
                           .order_by(FollowUp.date.desc()).limit(1))
        assert latest.refer_reason == "urgent" and (latest.sbp >= 180 or latest.dbp >= 110
                                                    or latest.fasting_glucose >= Decimal("16.7"))


def test_follow_ups_carry_the_national_record_forms_fields_as_the_form_would_take_them(db):
    """Each follow-up has 体重 and 体质指数, 心率, 服药依从性 and the rest of the record form (症状, 生活方式指导,
    用药情况); a 2型糖尿病 one also 足背动脉搏动, 主食, 低血糖反应 and, for some, 糖化血红蛋白 with its 检查日期 and
    胰岛素 — values the follow-up command accepts, in the combinations the service accepts; a hypertension one
    none of the diabetes form's fields."""
    from weijian.care.chronic.schemas import FollowUpCreate
    from weijian.core.commands import build

    rows = db.execute(select(FollowUp, ChronicRegistration.program)
                      .join(ChronicRegistration, ChronicRegistration.id == FollowUp.registration_id)).all()
    assert len(rows) > 500
    diabetes_only = ("foot_pulse", "staple_food_g", "hypoglycaemia", "hba1c", "insulin_type")
    seen: Counter[str] = Counter()
    for fu, program in rows:
        assert None not in (fu.weight_kg, fu.bmi, fu.heart_rate, fu.adherence, fu.record)
        record = chronic.FollowUpRecord.model_validate_json(fu.record)
        assert abs(fu.bmi - fu.weight_kg / (record.height_cm / 100) ** 2) < Decimal("0.1")
        values = record.model_dump(exclude_none=True, exclude={"target_bmi"})
        build(FollowUpCreate, date=fu.date, method=fu.method, sbp=fu.sbp, dbp=fu.dbp,
              fasting_glucose=fu.fasting_glucose, weight_kg=fu.weight_kg, heart_rate=fu.heart_rate,
              adherence=fu.adherence, **values)
        codes = {c.code for c in chronic.get_program(program).symptoms}
        assert set(record.symptoms) <= codes and record.symptoms
        if program == "hypertension":
            assert all(getattr(record, name) is None for name in diabetes_only)
            continue
        assert record.foot_pulse is not None and record.staple_food_g is not None and record.hypoglycaemia
        assert (record.foot_pulse_side is None) == (record.foot_pulse == "normal")
        assert (record.hba1c is None) == (record.hba1c_date is None)
        assert record.hba1c_date is None or record.hba1c_date <= fu.date
        assert (record.insulin_type is None) == (record.insulin_dose is None)
        seen.update(name for name in diabetes_only if getattr(record, name) is not None)
        seen["diabetes"] += 1
    assert 0.1 <= seen["hba1c"] / seen["diabetes"] <= 0.4 and 0 < seen["insulin_type"] < seen["diabetes"], seen
    assert {r[0].adherence for r in rows} == {"regular", "intermittent", "none"}


# --- the recall list --------------------------------------------------------------------------------------
def test_the_recall_list_of_the_reference_week_has_children_for_the_county_and_the_demo_village(db):
    county = recall.recall_list(session=db, actor=Actor.system("test"), week_start=REFERENCE)
    assert county.week_start == REFERENCE and len(county.children) > 10
    under7 = db.scalar(select(func.count()).select_from(Resident).where(
        Resident.village_code == VILLAGE, Resident.birth_date > date(2019, 12, 7)))
    assert under7 > 0, "the demo village of this county has no young child to list"
    village = worklist.worklist(session=db, actor=_actor(db, "cunyi"), now=NOW).recall
    assert village is not None and village.area_code == VILLAGE and village.children
    assert {c.village_code for c in village.children} == {VILLAGE}


# --- each page's default period ------------------------------------------------------------------------------
@pytest.fixture()
def client(built, db_settings, engine):
    from weijian.app import create_app

    app = create_app(db_settings, engine=engine)
    app.state.sessionmaker = app.state.read_sessionmaker = sessionmaker(
        bind=built[0].connection(), join_transaction_mode="create_savepoint", expire_on_commit=False)
    with TestClient(app, base_url="http://testserver") as c:
        c.headers.update(f.token_headers(built[0], accounts_service.get_by_username(session=built[0],
                                                                                  username="weijianju")))
        yield c


def _cells(html: str, testid: str) -> list[str]:
    return [re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", m))).strip()
            for m in re.findall(rf'data-testid="{testid}"[^>]*>(.*?)</td>', html, re.S)]


def test_each_pages_default_period_is_the_current_year_and_shows_figures(client):
    overview = client.get("/indicators")
    assert overview.status_code == 200, overview.text
    assert 'name="period" value="2026"' in overview.text
    values = _cells(overview.text, "value")
    assert len(values) == len(definitions().indicators) and all(v and v != "—" for v in values), values

    rates = client.get("/care/chronic/rates")
    assert rates.status_code == 200 and 'value="2026"' in rates.text
    management, control = _cells(rates.text, "management-rate"), _cells(rates.text, "control-rate")
    assert management and management[0] not in ("", "—") and control[0] not in ("", "—")

    budget = client.get("/settlement/budget")
    assert budget.status_code == 200 and 'data-year="2026"' in budget.text
    spent = re.search(r'data-testid="budget-spent">¥([\d,.]+)<', budget.text).group(1)
    assert float(spent.replace(",", "")) > 0 and 'data-testid="budget-amount">¥' in budget.text
    assert 'data-outcome="surplus"' in budget.text

    risk = client.get("/settlement/poverty-risk")  # the 12 months to today
    assert risk.status_code == 200 and 'value="2026-12-07"' in risk.text

    coverage = client.get("/immunization/coverage")
    assert coverage.status_code == 200 and 'value="2026"' in coverage.text
    rates_shown = _cells(coverage.text, "coverage-value")
    assert rates_shown and rates_shown[0] not in ("", "—")


# --- family-doctor contracts ------------------------------------------------------------------------------
def test_about_40_percent_are_contracted_key_populations_more_and_some_are_due_this_month(db, built):
    """demo/contracts.py: a team for every village; ~70 % of the key populations and ~25 % of the others
    contracted on the reference date (≈ 40 % overall); some due to renew within 30 days; the demo village's
    village doctor (cunyi) sees her team's renewals on the worklist."""
    from weijian.care.contracts import queries as contracts_queries
    from weijian.care.contracts.counts import contract_stock
    from weijian.care.contracts.models import ContractTeam

    summary = built[1].contracts
    assert summary.teams == db.scalar(select(func.count()).select_from(ContractTeam)) == built[1].villages
    people = db.scalar(select(func.count()).select_from(Resident).where(Resident.status == "active"))
    contracted = sum(contract_stock(session=db, lo="0", hi="9", on=REFERENCE, which="contracted").values())
    key = sum(contract_stock(session=db, lo="0", hi="9", on=REFERENCE, which="key_population").values())
    key_contracted = sum(contract_stock(session=db, lo="0", hi="9", on=REFERENCE, which="key_contracted").values())
    assert 0.33 <= contracted / people <= 0.50, (contracted, people)
    assert key_contracted / key >= 0.6 > (contracted - key_contracted) / (people - key), (key_contracted, key)
    assert summary.due > 0 and summary.lapsed > 0
    work = worklist.worklist(session=db, actor=_actor(db, "cunyi"), now=NOW, with_recall=False)
    assert work.renewals and {r.state for r in work.renewals} == {"due", "lapsed"}
    mine = contracts_queries.due_renewals(session=db, actor=_actor(db, "cunyi"), as_of=REFERENCE, audit=False)
    assert all(r.village_code == VILLAGE for r in mine)
# --- health education -------------------------------------------------------------------------------------
def test_health_education_runs_up_to_the_reference_date_with_some_facilities_behind(db):
    """Activities of last year and this year up to the reference date, none after it; most facilities keep
    the calendar's pace, some (the demo village's clinic among them) are behind on a kind."""
    from weijian.care.education import service as education_service
    from weijian.care.education.models import EducationActivity

    assert db.scalar(select(func.max(EducationActivity.date))) <= REFERENCE
    assert db.scalar(select(func.min(EducationActivity.date))) >= date(REFERENCE.year - 1, 1, 1)
    rows = education_service.completion(session=db, actor=Actor.system("test"), year=REFERENCE.year,
                                        as_of=REFERENCE)
    behind = [r for r in rows if r.behind]
    assert 0 < len(behind) < len(rows) / 2, (len(behind), len(rows))
    village = education_service.completion(session=db, actor=_actor(db, "cunyi"), year=REFERENCE.year,
                                           as_of=REFERENCE)
    assert len(village) == 1 and village[0].behind > 0


def test_deliveries_are_the_registrys_births_screened_and_linked_to_their_newborns(db):
    """The demo's deliveries of the last year are first its own births (the mother delivered on the child's
    birthday), so the care demo's prenatal screenings (weeks 16–20, ~90 % of mothers) count against them:
    产前筛查率（按分娩产妇） of the year is near 90 %, and a delivery lists its newborn's registration."""
    from weijian.care.maternal import queries as maternal_queries
    from weijian.care.maternal.models import Pregnancy
    from weijian.indicators import service as indicators_service

    value = indicators_service.compute(session=db, actor=Actor.system("test"),
                                       indicator_ids=["prenatal_screening_delivered_rate"], period=str(REFERENCE.year),
                                       orgunit=None)[0]
    assert value.denominator > 0 and 70 <= value.value <= 100, value
    delivered = list(db.scalars(select(Pregnancy).where(Pregnancy.status == "delivered",
                                                        Pregnancy.delivered_on >= REFERENCE - timedelta(days=60))))
    assert any(maternal_queries.newborns(db, p) for p in delivered)
