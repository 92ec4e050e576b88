"""Poverty-risk monitoring: residents of the monitored groups whose own costs in the last 12 months (the
patient's share of live settlements + outpatient bills) exceed the threshold — the fixed amount, or a share
of the household's recorded income when lower — listed highest first, scoped, audited per person shown."""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests import factories as f
from tests.care import records_setup as rs
from weijian.accounts.models import AuditEvent
from weijian.care.models import Encounter
from weijian.core.actor import Actor
from weijian.core.errors import Forbidden, InvalidInput
from weijian.residents.models import Household
from weijian.settlement.monitoring import queries as monitoring
from weijian.settlement.monitoring import rules as monitoring_rules

D = Decimal
AS_OF = date(2025, 12, 31)
AMOUNT, SHARE = D("10000"), D("0.5")


def outpatient(session, resident, day: date, total: str, facility=None) -> None:
    session.add(Encounter(resident_id=resident.id, facility_id=facility.id if facility else None, type="outpatient",
                          start_date=day, total_cost=D(total), in_policy_cost=D(total), created_by="test"))
    session.flush()


def income(session, resident, amount: str) -> None:
    session.get(Household, resident.household_id).annual_income = D(amount)
    session.flush()


# The line of ordinary residents these tests use (not the data file's): 50 % of a rural income of 70,000,
# so 戊普通's 30,000 stays below it; test_monitoring_ordinary.py holds the ordinary residents' rule.
RULES = monitoring_rules.parse_rules({"groups": ["extreme_poverty", "min_living", "poverty_relapse",
                                                 "lifted_from_poverty", "monitored"],
                                      "ordinary": {"income_share": 0.5, "rural_income": {2024: 70000}}})


@pytest.fixture()
def world(session, monkeypatch):
    """Patients' own shares (total − 80 % basic) by hand:
    - 低保 A: two stays, own 2,000 + 9,000 = 11,000 > 10,000                     → flagged (amount)
    - 脱贫 B: own 3,000 + outpatient 600 = 3,600; household income 7,000: 50 % = 3,500 → flagged (income share)
    - 监测户 C: own 9,000 + outpatient 900 = 9,900, no income recorded              → not flagged
    - 特困 D: own exactly 10,000 (not above)                                      → not flagged
    - ordinary E (no monitored group): own 30,000, below the ordinary line 35,000   → not flagged
    - 返贫致贫 F: own 12,000 but 13 months ago, and a reversed stay in the window     → not flagged
    - 低保 G in town B: own 15,000                                                → flagged (amount)
    - 低保 H: own 20,000 but deceased                                             → not listed
    - 脱贫 J: own 8,000 + outpatient 2,500 (one visit outside the window) = 10,500 → flagged (amount)"""
    w = rs.build(session)
    monkeypatch.setattr(monitoring, "monitoring_rules", lambda: RULES)
    fac = w.facilities
    mk = f.make_resident
    people = {
        "A": mk(session, name="甲低保", groups=["低保"]),
        "B": mk(session, name="乙脱贫", groups=["lifted_from_poverty"], household_number="421124100201B001",
                relation_to_head="head"),
        "C": mk(session, name="丙监测", groups=["monitored"], household_number="421124100201C001", relation_to_head="head"),
        "D": mk(session, name="丁特困", groups=["extreme_poverty"]),
        "E": mk(session, name="戊普通"),
        "F": mk(session, name="己返贫", groups=["poverty_relapse"]),
        "G": mk(session, name="庚南岭", groups=["min_living", "elderly_65"], village_code=f.VILLAGE_B1),
        "H": mk(session, name="辛已故", groups=["min_living"]),
        "J": mk(session, name="壬门诊", groups=["lifted_from_poverty"], village_code=f.VILLAGE_A2),
    }
    own = lambda amount: dict(total=str(amount * 5), basic_pays=str(amount * 4))  # noqa: E731 - patient pays 1/5
    f.make_settlement(session, people["A"], fac["county"], stay_date=date(2025, 2, 1), **own(2000))
    f.make_settlement(session, people["A"], None, stay_date=date(2025, 11, 1), **own(9000))
    f.make_settlement(session, people["B"], fac["centre_a"], stay_date=date(2025, 6, 1), **own(3000))
    outpatient(session, people["B"], date(2025, 7, 1), "600.00", fac["county"])  # no outpatient pooling there
    income(session, people["B"], "7000")
    f.make_settlement(session, people["C"], fac["county"], stay_date=date(2025, 5, 1), **own(9000))
    outpatient(session, people["C"], date(2025, 8, 1), "900.00")
    f.make_settlement(session, people["D"], fac["tcm"], stay_date=date(2025, 4, 1), **own(10000))
    f.make_settlement(session, people["E"], fac["county"], stay_date=date(2025, 4, 1), **own(30000))
    f.make_settlement(session, people["F"], fac["county"], stay_date=date(2024, 11, 30), **own(12000))
    f.make_settlement(session, people["F"], fac["county"], stay_date=date(2025, 3, 1), status="reversed", **own(12000))
    f.make_settlement(session, people["G"], fac["centre_b"], stay_date=date(2025, 9, 1), **own(15000))
    f.make_settlement(session, people["H"], fac["county"], stay_date=date(2025, 9, 1), **own(20000))
    people["H"].status = "deceased"
    f.make_settlement(session, people["J"], fac["county"], stay_date=date(2025, 1, 1), **own(8000))
    outpatient(session, people["J"], date(2025, 1, 1), "2500.00")
    outpatient(session, people["J"], date(2024, 12, 31), "5000.00")  # the day before the window
    session.flush()
    w.people.update(people)
    return w


def flagged(result: monitoring.RiskList) -> list[tuple[str, Decimal, str]]:
    return [(a.name, a.total, a.basis) for a in result.items]


def test_residents_of_monitored_groups_above_their_threshold_are_listed_highest_first(session, world):
    result = monitoring.at_risk(session=session, actor=world.actors["bureau"], threshold=AMOUNT, income_share=SHARE,
                                as_of=AS_OF)
    assert flagged(result) == [("庚南岭", D("15000.00"), "amount"), ("甲低保", D("11000.00"), "amount"),
                               ("壬门诊", D("10500.00"), "amount"), ("乙脱贫", D("3600.00"), "income_share")]
    assert result.total == 4 and result.window_start == date(2025, 1, 1)
    b = result.items[3]
    assert (b.stays_cost, b.outpatient_cost, b.household_income, b.threshold) == (
        D("3000.00"), D("600.00"), D("7000.00"), D("3500.00"))
    assert result.items[0].groups == ["min_living"]  # monitored groups only
    # The settlements behind it, newest first; the reversed one and the old one are not there.
    a = result.items[1]
    assert [(s.stay_date, s.facility_name, s.patient_pays) for s in a.settlements] == [
        (date(2025, 11, 1), None, D("9000.00")), (date(2025, 2, 1), "英山县人民医院", D("2000.00"))]
    assert a.settlements[0].fund_pays == D("36000.00") and a.id_number == world.people["A"].id_number
    # Monitored residents in scope: A B C D F G J (H is deceased, E in no monitored group).
    assert result.monitored == 7


def test_the_window_moves_with_the_day_asked(session, world):
    result = monitoring.at_risk(session=session, actor=world.actors["bureau"], threshold=AMOUNT, income_share=SHARE,
                                as_of=date(2025, 11, 29))
    # F's stay of 30 Nov 2024 is inside (12,000); A's of 1 Nov 2025 too; J's visit of 31 Dec 2024 counts.
    assert [name for name, *_ in flagged(result)] == ["壬门诊", "庚南岭", "己返贫", "甲低保", "乙脱贫"]
    assert flagged(result)[0][1] == D("15500.00")


def test_a_lower_fixed_amount_or_share_changes_who_is_flagged(session, world):
    result = monitoring.at_risk(session=session, actor=world.actors["bureau"], threshold=D("9000"),
                                income_share=D("0.6"), as_of=AS_OF)
    # C (9,900) and D (10,000) are now above 9,000; B's threshold is 60 % of 7,000 = 4,200 > 3,600.
    assert [name for name, *_ in flagged(result)] == ["庚南岭", "甲低保", "壬门诊", "丁特困", "丙监测"]


def test_the_threshold_is_the_income_share_only_when_lower():
    assert monitoring.effective_threshold(AMOUNT, SHARE, None) == (AMOUNT, "amount")
    assert monitoring.effective_threshold(AMOUNT, SHARE, D("30000")) == (AMOUNT, "amount")
    assert monitoring.effective_threshold(AMOUNT, SHARE, D("12345.67")) == (D("6172.84"), "income_share")


def test_scope_and_area_limit_the_list(session, world):
    town_b = Actor(user_id=None, username="tb", role="x", scope_code=f.TOWN_B,
                   permissions=frozenset({"poverty_risk:read"}))
    result = monitoring.at_risk(session=session, actor=town_b, threshold=AMOUNT, income_share=SHARE, as_of=AS_OF)
    assert [name for name, *_ in flagged(result)] == ["庚南岭"] and result.monitored == 1
    bureau = world.actors["bureau"]
    village = monitoring.at_risk(session=session, actor=bureau, threshold=AMOUNT, income_share=SHARE, as_of=AS_OF,
                                 orgunit=f.VILLAGE_A2)
    assert [name for name, *_ in flagged(village)] == ["壬门诊"]
    with pytest.raises(InvalidInput) as caught:
        monitoring.at_risk(session=session, actor=town_b, threshold=AMOUNT, income_share=SHARE, orgunit=f.TOWN_A)
    assert caught.value.field == "orgunit"


def test_bad_settings_or_paging_are_refused_naming_each(session, world):
    with pytest.raises(InvalidInput) as caught:
        monitoring.at_risk(session=session, actor=world.actors["bureau"], threshold=D("0"), income_share=D("1.5"),
                           page=0, page_size=500, orgunit="12ab")
    assert {e.field for e in caught.value.errors} == {"threshold", "income_share", "page", "page_size", "orgunit"}


def test_only_holders_of_the_permission_see_the_list(session, world):
    for who in ("village", "township", "county"):
        with pytest.raises(Forbidden):
            monitoring.at_risk(session=session, actor=world.actors[who], threshold=AMOUNT, income_share=SHARE)


def test_each_resident_shown_is_audited_and_pages_split_the_list(session, world):
    bureau = world.actors["bureau"]
    start = session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)) or 0
    page2 = monitoring.at_risk(session=session, actor=bureau, threshold=AMOUNT, income_share=SHARE, as_of=AS_OF,
                               page=2, page_size=3)
    assert [a.name for a in page2.items] == ["乙脱贫"] and page2.total == 4 and page2.pages == 2
    events = list(session.scalars(select(AuditEvent).where(AuditEvent.id > start)))
    assert [(e.action, e.entity_type, e.resident_id, e.basis) for e in events] == [
        ("read", "poverty_risk", world.people["B"].id, "county")]


def test_the_list_defaults_to_the_12_months_to_today_in_the_county(session, world, time_machine):
    # 31 December in the county while the server's UTC calendar still says the 30th.
    time_machine.move_to(datetime(2025, 12, 30, 18, 0, tzinfo=UTC), tick=False)
    result = monitoring.at_risk(session=session, actor=world.actors["bureau"], threshold=AMOUNT, income_share=SHARE)
    assert (result.as_of, result.window_start) == (AS_OF, date(2025, 1, 1))
    assert [name for name, _total, _basis in flagged(result)] == ["庚南岭", "甲低保", "壬门诊", "乙脱贫"]


def test_the_monitored_groups_are_resident_groups():
    assert set(monitoring_rules.monitored_groups()) == {"extreme_poverty", "min_living", "poverty_relapse",
                                                  "lifted_from_poverty", "monitored"}


def test_a_voided_outpatient_visit_is_no_cost_of_the_patient(session, world):
    """Issue 14 item 12: a voided entry counts in no figure. J's 2,500 visit voided (recorded in error) leaves
    8,000, below the threshold: J is no longer flagged."""
    visit = session.scalar(select(Encounter).where(Encounter.resident_id == world.people["J"].id,
                                                   Encounter.start_date == date(2025, 1, 1)))
    visit.voided_at, visit.voided_by, visit.void_reason = datetime(2025, 2, 1, tzinfo=UTC), "test", "误登记"
    session.flush()
    result = monitoring.at_risk(session=session, actor=world.actors["bureau"], threshold=AMOUNT, income_share=SHARE,
                                as_of=AS_OF)
    assert "壬门诊" not in [name for name, *_ in flagged(result)]
