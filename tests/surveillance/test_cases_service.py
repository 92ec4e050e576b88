"""Case reports (传染病报告卡), the service: a card's delay judged against the disease's limit, every bad input
refused naming its field with nothing written, revisions (订正) keeping the previous values, deletion only with
a reason, duplicates merged into the card kept, the daily counts, the scope, the prompt from a diagnosis and
the resident merge."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests import factories as f
from tests.surveillance import cases_setup as cs
from weijian.care.records import service as records
from weijian.care.records.schemas import EncounterCreate
from weijian.core import clock, commands
from weijian.core.actor import Actor
from weijian.core.errors import Forbidden, InvalidInput, InvalidState, NotFound
from weijian.residents import service as residents_service
from weijian.surveillance import service as surveillance
from weijian.surveillance.cases import queries, service
from weijian.surveillance.cases.schemas import CaseReportDelete, CaseReportDuplicate, CaseReportRevise
from weijian.surveillance.models import CaseReport, CaseReportRevision


@pytest.fixture()
def w(session):
    return cs.build(session)


def _fields(exc: InvalidInput) -> set[str]:
    return {e.field for e in exc.errors}


def _count(session, model=CaseReport) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_card_is_late_past_its_diseases_limit(session, w):
    """传染病信息报告管理规范 (卫生部 2006): "甲类传染病 … 应于2小时内 … 网络报告"; "其他乙、丙类传染病病人、疑似
    病人 … 在诊断后 … 24小时内进行网络报告". Influenza (丙类) 3 hours after the diagnosis is in time; cholera
    (甲类) 3 hours after is late; a class C card 25 hours after is late; exactly at the limit is in time."""
    now = clock.now()
    flu = cs.report(session, w, now=now)
    assert (flu.disease, flu.limit_hours, flu.delay_hours, flu.late) == ("influenza", 24, Decimal("3.00"), False)
    cholera = cs.report(session, w, now=now, disease="cholera", icd10="A00.1", classification="suspected")
    assert (cholera.limit_hours, cholera.late) == (2, True)
    old = now - timedelta(hours=25)
    late_flu = cs.report(session, w, now=now, diagnosed_at=old.isoformat(),
                         onset_date=clock.local_date(old).isoformat())
    assert (late_flu.delay_hours, late_flu.late) == (Decimal("25.00"), True)
    edge = now - timedelta(hours=24)
    at_limit = cs.report(session, w, now=now, diagnosed_at=edge.isoformat(),
                         onset_date=clock.local_date(edge).isoformat())
    assert at_limit.late is False
    assert (flu.township_code, flu.village_code, flu.facility_id) == (f.TOWN_A, f.VILLAGE_A1, w.fac["clinic_a1"].id)


def test_the_disease_is_found_from_the_icd10_code(session, w):
    card = cs.report(session, w, disease=None, icd10="B05.9")
    assert card.disease == "measles"


@pytest.mark.parametrize(("over", "field"), [
    # 发病日期晚于诊断日期
    ({"onset_date": "+2"}, "onset_date"),
    # a disease not on the list
    ({"disease": "common_cold", "icd10": None}, "disease"),
    # an ICD-10 code that notifies nothing, or another disease than the one chosen
    ({"icd10": "J06.9"}, "icd10"),
    ({"icd10": "B05"}, "icd10"),
    # a report time before the diagnosis
    ({"reported_at": "-5h"}, "reported_at"),
    ({"classification": "probable"}, "classification"),
    ({"classification": None}, "classification"),
    ({"diagnosed_at": "+3h"}, "diagnosed_at"),
])
def test_bad_input_is_refused_naming_the_field_and_writes_nothing(session, w, over, field):
    now = clock.now()
    given = dict(over)
    if given.get("onset_date") == "+2":
        given["onset_date"] = (clock.today() + timedelta(days=2)).isoformat()
        given["diagnosed_at"] = (now - timedelta(hours=1)).isoformat()
    if given.get("reported_at") == "-5h":
        given["reported_at"] = (now - timedelta(hours=5)).isoformat()  # diagnosed 3 hours ago
    if given.get("diagnosed_at") == "+3h":
        given["diagnosed_at"] = (now + timedelta(hours=3)).isoformat()
    with pytest.raises(InvalidInput) as exc:
        cs.report(session, w, now=now, **given)
    assert field in _fields(exc.value)
    assert _count(session) == 0


def test_an_onset_after_the_diagnosis_day_is_refused(session, w):
    """The issue: "Onset after diagnosis … refused, naming the field"."""
    now = clock.now()
    diagnosed = now - timedelta(days=3)
    with pytest.raises(InvalidInput) as exc:
        cs.report(session, w, now=now, diagnosed_at=diagnosed.isoformat(),
                  onset_date=(clock.local_date(diagnosed) + timedelta(days=1)).isoformat())
    assert [(e.field, e.reason_key) for e in exc.value.errors] == [
        ("onset_date", "surveillance.cases.errors.onset_after_diagnosis")]
    assert _count(session) == 0


def test_a_patient_outside_the_scope_is_named_as_unknown(session, w):
    with pytest.raises(InvalidInput) as exc:
        cs.report(session, w, resident_id=w.people["zhao"].id)  # 南岭村, town B
    assert _fields(exc.value) == {"resident_id"}


def test_an_encounter_of_another_patient_is_refused(session, w):
    other = cs.rs.visit(session, w.people["wang"], w.fac["clinic_a1"], clock.today(), "J10.1")
    with pytest.raises(InvalidInput) as exc:
        cs.report(session, w, encounter_id=other.id)
    assert _fields(exc.value) == {"encounter_id"}


def _revise(session, w, card, who="village", **values):
    return service.revise(session=session, report_id=card.id, revise_in=commands.build(CaseReportRevise, values),
                          actor=w.actors[who])


def test_a_revision_keeps_the_previous_values_and_a_backward_move_needs_a_reason(session, w):
    card = cs.report(session, w, classification="suspected")
    _revise(session, w, card, classification="confirmed")
    assert card.classification == "confirmed"
    with pytest.raises(InvalidInput) as exc:  # 确诊 → 疑似 without a reason
        _revise(session, w, card, classification="suspected")
    assert _fields(exc.value) == {"reason"}
    with pytest.raises(InvalidInput) as exc:  # 排除 without a reason
        _revise(session, w, card, classification="excluded")
    assert _fields(exc.value) == {"reason"}
    _revise(session, w, card, classification="excluded", reason="核酸检测阴性")
    history = [(r.kind, r.before, r.after, r.reason) for r in session.scalars(
        select(CaseReportRevision).where(CaseReportRevision.report_id == card.id).order_by(CaseReportRevision.id))]
    assert history == [("revise", '{"classification": "suspected"}', '{"classification": "confirmed"}', None),
                       ("revise", '{"classification": "confirmed"}', '{"classification": "excluded"}', "核酸检测阴性")]


def test_a_revision_is_checked_as_a_new_card_is(session, w):
    card = cs.report(session, w)
    with pytest.raises(InvalidInput) as exc:
        _revise(session, w, card, onset_date=(clock.today() + timedelta(days=1)).isoformat())
    assert _fields(exc.value) == {"onset_date"}
    with pytest.raises(InvalidInput) as exc:
        _revise(session, w, card, disease="common_cold")
    assert _fields(exc.value) == {"disease"}
    with pytest.raises(InvalidInput) as exc:  # the diagnosis may not move after the report
        _revise(session, w, card, diagnosed_at=(clock.now() + timedelta(minutes=1)).isoformat())
    assert "diagnosed_at" in _fields(exc.value)
    earlier = clock.now() - timedelta(hours=30)
    _revise(session, w, card, diagnosed_at=earlier.isoformat(), onset_date=clock.local_date(earlier).isoformat())
    assert card.late is True  # the delay is judged again from the revised diagnosis time


def test_only_the_reporting_facility_or_a_reviewer_changes_a_card(session, w):
    card = cs.report(session, w)
    with pytest.raises(Forbidden):  # the township centre sees the card (its scope) but did not report it
        _revise(session, w, card, who="town", classification="confirmed")
    reviewer = Actor(user_id=None, username="cdc", role="cdc_staff", scope_code=f.COUNTY,
                     permissions=frozenset({"case:read", "case:review"}))
    service.revise(session=session, report_id=card.id, actor=reviewer,
                   revise_in=commands.build(CaseReportRevise, {"classification": "confirmed"}))
    assert card.classification == "confirmed"


def test_deletion_needs_a_reason_and_ends_the_cards_changes(session, w):
    card = cs.report(session, w)
    with pytest.raises(InvalidInput) as exc:
        service.delete(session=session, report_id=card.id, delete_in=commands.build(CaseReportDelete, {}),
                       actor=w.actors["village"])
    assert _fields(exc.value) == {"reason"} and card.status == "active"
    service.delete(session=session, report_id=card.id, delete_in=commands.build(CaseReportDelete, {"reason": "误报"}),
                   actor=w.actors["village"])
    assert (card.status, card.delete_reason) == ("deleted", "误报")
    with pytest.raises(InvalidState):
        _revise(session, w, card, classification="confirmed")


def _dup(session, w, card, target_id, who="village"):
    return service.mark_duplicate(session=session, report_id=card.id, actor=w.actors[who],
                                  duplicate_in=commands.build(CaseReportDuplicate, {"duplicate_of": target_id}))


def test_a_duplicate_is_merged_into_the_card_kept_and_counted_once(session, w):
    first = cs.report(session, w)
    second = cs.report(session, w, who="town")  # the township centre reports the same case again
    day = first.onset_date
    assert queries.daily_counts(session=session, start=day, end=day)[("influenza", f.TOWN_A)] == {day: 2}
    with pytest.raises(InvalidInput) as exc:
        _dup(session, w, second, second.id, who="town")
    assert _fields(exc.value) == {"duplicate_of"}
    other = cs.report(session, w, resident_id=w.people["wang"].id)
    with pytest.raises(InvalidInput):  # another patient's card
        _dup(session, w, second, other.id, who="town")
    _dup(session, w, second, first.id, who="town")
    assert second.duplicate_of == first.id
    # 张三's case once (the duplicate left out) and 王五's
    assert queries.daily_counts(session=session, start=day, end=day)[("influenza", f.TOWN_A)] == {day: 2}
    with pytest.raises(InvalidInput):  # a card merged into another cannot be the one kept
        _dup(session, w, other, second.id)


def test_daily_counts_by_township_and_county_leave_out_excluded_deleted_and_duplicates(session, w):
    now = clock.now()
    a = cs.report(session, w, now=now)
    b = cs.report(session, w, now=now, resident_id=w.people["wang"].id)
    c = cs.report(session, w, now=now, resident_id=w.people["li"].id, classification="excluded")
    zhao = cs.report(session, w, "town_b", now=now, resident_id=w.people["zhao"].id)
    day = a.onset_date
    service.delete(session=session, report_id=b.id, actor=w.actors["village"],
                   delete_in=commands.build(CaseReportDelete, {"reason": "重复录入"}))
    counts = surveillance.daily_counts(session=session, start=day - timedelta(days=3), end=day)
    assert counts == {("influenza", f.TOWN_A): {day: 1}, ("influenza", f.TOWN_B): {day: 1},
                      ("influenza", f.COUNTY): {day: 2}}
    assert queries.daily_counts(session=session, start=day + timedelta(days=1), end=day + timedelta(days=9)) == {}
    assert c.classification == "excluded" and zhao.township_code == f.TOWN_B


def test_a_card_outside_the_scope_does_not_exist_for_the_user(session, w):
    zhao = cs.report(session, w, "town_b", resident_id=w.people["zhao"].id)
    mine = cs.report(session, w)
    with pytest.raises(NotFound):
        queries.get(session=session, report_id=zhao.id, actor=w.actors["village"])
    listed = queries.list_reports(session=session, actor=w.actors["village"])
    assert [i.id for i in listed.items] == [mine.id]
    bureau = queries.list_reports(session=session, actor=w.actors["bureau"])
    assert {i.id for i in bureau.items} == {mine.id, zhao.id}


def test_a_notifiable_diagnosis_prompts_a_card_prefilled_and_then_links_to_it(session, w):
    today = clock.today()
    encounter = records.create_encounter(session=session, actor=w.actors["village"], encounter_in=commands.build(
        EncounterCreate, {"resident_id": w.people["zhang"].id, "type": "outpatient", "start_date": today.isoformat(),
                          "diagnoses": ["J10.1", "I10"]}))
    prompts = records.case_report_prompts(session=session, encounter_id=encounter.id,
                                          resident_id=w.people["zhang"].id, codes=["J10.1", "I10"], on=today,
                                          locale="zh_CN")
    assert [(p["icd10"], p["disease"], p["name"], p["hours"], p["report_id"]) for p in prompts] == [
        ("J10.1", "influenza", "流行性感冒", 24, None)]
    assert f"encounter_id={encounter.id}" in prompts[0]["href"] and "icd10=J10.1" in prompts[0]["href"]
    card = cs.report(session, w, encounter_id=encounter.id)
    again = records.case_report_prompts(session=session, encounter_id=encounter.id, resident_id=card.resident_id,
                                        codes=["J10.1"], on=today, locale="zh_CN")
    assert again[0]["report_id"] == card.id and again[0]["href"] == f"/surveillance/case-reports/{card.id}"


def test_a_resident_merge_moves_the_cards(session, w):
    twin = f.make_resident(session, name="张三", village_code=f.VILLAGE_A1, id_number=None)
    card = cs.report(session, w, resident_id=twin.id)
    residents_service.merge(session=session, survivor_id=w.people["zhang"].id, merged_id=twin.id, reason="重复建档",
                            actor=Actor.system("test"))
    session.refresh(card)
    assert card.resident_id == w.people["zhang"].id


def test_report_timeliness_is_an_indicator_by_the_reporting_facility_and_month(session, w):
    """传染病信息报告管理规范 (卫生部 2006): 甲类 "应于2小时内", 其他乙、丙类 "诊断后 … 24小时内进行网络报告";
    报告及时率 = cards within their limit ÷ cards (weijian's reading of the rate). Two cards of the village
    clinic in time, one of the township centre late (25 hours), one deleted and one 排除 (not counted): the
    village 2/2, the township (its villages included) and the county 2/3."""
    from weijian.indicators import service as indicators

    now = clock.now()
    cs.report(session, w, now=now)
    cs.report(session, w, now=now, resident_id=w.people["wang"].id)
    old = now - timedelta(hours=25)
    cs.report(session, w, "town", now=now, resident_id=w.people["li"].id, diagnosed_at=old.isoformat(),
              onset_date=clock.local_date(old).isoformat())
    gone = cs.report(session, w, now=now, resident_id=w.people["li"].id, disease="mumps", icd10="B26.9")
    service.delete(session=session, report_id=gone.id, actor=w.actors["village"],
                   delete_in=commands.build(CaseReportDelete, {"reason": "误报"}))
    cs.report(session, w, now=now, resident_id=w.people["li"].id, disease="mumps", icd10="B26.9",
              classification="excluded")
    period = f"{clock.local_date(now).year}{clock.local_date(now).month:02d}"
    system = Actor.system("test")

    def fig(orgunit):
        [row] = indicators.compute(session=session, actor=system, indicator_ids=["case_report_timeliness"],
                                   period=period, orgunit=orgunit)
        return row.numerator, row.denominator, row.value

    assert fig(f.VILLAGE_A1) == (2, 2, Decimal("100.0"))
    assert fig(f.TOWN_A) == (2, 3, Decimal("66.7"))
    assert fig(f.COUNTY) == (2, 3, Decimal("66.7"))
    missing = indicators.drilldown(session=session, actor=system, indicator_id="case_report_timeliness",
                                   orgunit=f.TOWN_A, period=period, which="missing")
    assert [r["resident_id"] for r in missing.rows] == [w.people["li"].id]


def test_reported_incidence_per_100000_counts_cases_by_onset_in_the_patients_village(session, w):
    """中国卫生健康统计年鉴's 法定报告传染病发病率 is "每10万人口": cases ÷ population × 100,000. In 2025: two measles
    cases (class B) of villages A1 and A2 (township A), an influenza case (class C) of A1, a measles case of B1,
    and a measles card marked 排除 and a deleted one (not cases). 甲乙类: A1 1, township A 2, B1 1, county 3;
    all classes: A1 2, township A 3, county 4."""
    from weijian.indicators import service as indicators

    when = dict(diagnosed_at="2025-06-10T08:00", onset_date="2025-06-09")
    measles = dict(disease="measles", icd10="B05.9", **when)
    cs.report(session, w, **measles)
    cs.report(session, w, resident_id=w.people["wang"].id, **measles)
    cs.report(session, w, **when)  # influenza
    cs.report(session, w, "town_b", resident_id=w.people["zhao"].id, **measles)
    cs.report(session, w, resident_id=w.people["li"].id, classification="excluded", **measles)
    gone = cs.report(session, w, resident_id=w.people["li"].id, **measles)
    service.delete(session=session, report_id=gone.id, actor=w.actors["village"],
                   delete_in=commands.build(CaseReportDelete, {"reason": "误报"}))
    system = Actor.system("test")

    def fig(indicator, orgunit):
        [row] = indicators.compute(session=session, actor=system, indicator_ids=[indicator], period="2025",
                                   orgunit=orgunit)
        return row

    for indicator, expected in (
            ("notifiable_incidence_ab", {f.VILLAGE_A1: 1, f.TOWN_A: 2, f.VILLAGE_B1: 1, f.COUNTY: 3}),
            ("notifiable_incidence", {f.VILLAGE_A1: 2, f.TOWN_A: 3, f.VILLAGE_B1: 1, f.COUNTY: 4})):
        for orgunit, cases in expected.items():
            row = fig(indicator, orgunit)
            assert row.numerator == cases, (indicator, orgunit)
            assert row.denominator and row.value == round(Decimal(cases) * 100000 / Decimal(row.denominator), 2)
    rows = indicators.drilldown(session=session, actor=system, indicator_id="notifiable_incidence_ab",
                                orgunit=f.COUNTY, period="2025")
    assert rows.total == 3


def test_a_carrier_card_only_for_a_disease_whose_carriers_are_reported(session, w):
    """传染病信息报告管理规范: "其他乙、丙类传染病病人、疑似病人和规定报告的传染病病原携带者 … 24小时内进行网络报告" —
    carriers are reported only of the diseases named for it (霍乱、脊髓灰质炎, the 2015 edition as recalled: VERIFY).
    A cholera carrier is a card; an influenza carrier is refused naming the classification, and nothing is
    written; a card revised to carrier of influenza is refused too."""
    cholera = cs.report(session, w, disease="cholera", icd10="A00.1", classification="carrier")
    assert cholera.classification == "carrier"
    before = _count(session)
    with pytest.raises(InvalidInput) as exc:
        cs.report(session, w, classification="carrier")
    assert _fields(exc.value) == {"classification"}
    assert exc.value.errors[0].reason_key == "surveillance.cases.errors.carrier_not_reported"
    assert _count(session) == before
    flu = cs.report(session, w)
    with pytest.raises(InvalidInput) as exc:
        _revise(session, w, flu, classification="carrier")
    assert _fields(exc.value) == {"classification"}
