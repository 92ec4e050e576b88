"""Recall lists: contents for a village and a week (due, overdue, upcoming left out, refusals shown, the
guardian rule, bad histories), the area choices and the actor's scope, the audit event, the xlsx export,
and the shortcut that skips the engine for complete histories."""
from __future__ import annotations

import io
import json
import random
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tests import factories as f
from tests.immunization import recall_setup as rs
from weijian.accounts import service as accounts_service
from weijian.accounts.models import AuditEvent
from weijian.core.actor import Actor
from weijian.core.disclosure import FULL
from weijian.core.errors import Forbidden, InvalidInput
from weijian.immunization.recall import export, screening
from weijian.immunization.recall import queries as recall
from weijian.immunization.schedule import engine
from weijian.immunization.schedule.rules import edition_for


@pytest.fixture()
def village(session):
    f.make_county(session)
    return rs.make_village(session)


def doctor(session, scope: str = f.VILLAGE_A1, role: str = "village_doctor") -> Actor:
    return accounts_service.actor_for(f.make_user(session, role=role, orgunit_code=scope))


def listed(r: recall.RecallList) -> dict[str, list[tuple]]:
    return {c.name: [(d.vaccine, d.dose, d.status, d.earliest_date, d.overdue_date, d.refusal_reason, d.refusal_date)
                     for d in c.doses] for c in r.children}


# --- contents -------------------------------------------------------------------------------------
def test_village_list_has_the_due_and_overdue_doses_worked_out_by_hand(session, village):
    r = recall.recall_list(session=session, actor=doctor(session), week_start=rs.WEEK, village_code=f.VILLAGE_A1)
    assert (r.week_start, r.week_end, r.area_code, r.area_name) == (rs.WEEK, rs.WEEK_END, f.VILLAGE_A1, "东冲村")
    assert listed(r) == {
        "王小明": [("IPV", 1, "due", date(2026, 11, 25), date(2027, 9, 25), None, None),
                ("DTaP", 1, "due", date(2026, 11, 25), date(2027, 9, 25), None, None)],
        "张乐": [("HepB", 2, "due", date(2026, 11, 10), date(2027, 10, 10), None, None)],
        "陈小宝": [("MMR", 1, "overdue", date(2026, 3, 1), date(2026, 6, 1), "refused", date(2026, 3, 1))],
        "刘错": [],
    }
    # A, B, C, D, H: the children under 18 of the village (not the 19-year-old, not the one moved out).
    assert r.children_checked == 5
    assert (r.dose_count, r.count("due"), r.count("overdue"), r.refusal_count) == (4, 3, 1, 1)


def test_children_are_ordered_by_village_then_name(session, village):
    r = recall.recall_list(session=session, actor=Actor.system("t"), week_start=rs.WEEK, orgunit_code=f.TOWN_A)
    assert [(c.village_code, c.name) for c in r.children] == sorted((c.village_code, c.name) for c in r.children)
    assert [c.village_code for c in r.children][-1] == f.VILLAGE_A2


def test_a_dose_whose_earliest_date_is_after_the_week_is_not_listed(session, village):
    r = recall.recall_list(session=session, actor=doctor(session), week_start=rs.WEEK)
    names = {c.name for c in r.children}
    assert "赵一" not in names  # HepB2 from 2026-12-01
    # The next week D's HepB2 is due.
    nxt = recall.recall_list(session=session, actor=doctor(session), week_start=rs.WEEK + timedelta(days=7))
    assert listed(nxt)["赵一"] == [("HepB", 2, "due", date(2026, 12, 1), date(2027, 11, 1), None, None)]


def test_a_dose_given_during_the_week_takes_the_child_off_the_list(session, village):
    rs.give(session, village["B"], "HepB", 2, "2026-11-24")
    r = recall.recall_list(session=session, actor=doctor(session), week_start=rs.WEEK)
    assert "张乐" not in {c.name for c in r.children}
    # ... but the list as it stood on the Monday still has her.
    before = recall.recall_list(session=session, actor=doctor(session), week_start=rs.WEEK, as_of=rs.WEEK)
    assert "张乐" in {c.name for c in before.children}


def test_an_invalid_dose_leaves_its_slot_on_the_list(session, village):
    """2021年版: "程序表所列接种时间是可接种该剂次的最小年龄" (乙肝第2剂 1月龄). B's HepB at 10 days counts for
    nothing (issue 14 item 7): she stays on the list with the slot still to give, numbered as the next
    dose on her certificate (HepB 3), due from 1 month as before."""
    rs.give(session, village["B"], "HepB", 2, "2026-10-20")
    r = recall.recall_list(session=session, actor=doctor(session), week_start=rs.WEEK)
    assert listed(r)["张乐"] == [("HepB", 3, "due", date(2026, 11, 10), date(2027, 10, 10), None, None)]


def test_any_day_names_its_week(session, village):
    r = recall.recall_list(session=session, actor=doctor(session), week_start=date(2026, 11, 27))
    assert (r.week_start, r.week_end) == (rs.WEEK, rs.WEEK_END)
    assert recall.parse_week("2026-W48") == rs.WEEK
    assert recall.parse_week("2026-11-29") == rs.WEEK


def test_history_the_engine_refuses_is_listed_with_its_error(session, village):
    r = recall.recall_list(session=session, actor=doctor(session), week_start=rs.WEEK)
    child = next(c for c in r.children if c.name == "刘错")
    assert child.doses == []
    assert [e.reason_key for e in child.history_errors] == ["immunization.errors.before_previous_dose"]


def test_guardian_is_the_mother_then_the_householder_then_the_youngest_adult_with_a_phone(session, village):
    r = recall.recall_list(session=session, actor=doctor(session), week_start=rs.WEEK)
    guardians = {c.name: (c.guardian_name, c.guardian_phone, c.guardian_relation) for c in r.children}
    assert guardians["王小明"] == ("李芳", "13900000002", "mother")
    assert guardians["张乐"] == ("张德", "13900000003", "head")
    assert guardians["陈小宝"] == ("陈军", "13900000005", "household")


def test_a_mother_without_a_phone_is_named_when_nobody_in_the_household_has_one(session, village):
    for key in ("chen_grandmother", "chen_father"):
        village[key].phone = None
    session.flush()
    r = recall.recall_list(session=session, actor=doctor(session), week_start=rs.WEEK)
    c = next(c for c in r.children if c.name == "陈小宝")
    assert (c.guardian_name, c.guardian_phone, c.guardian_relation) == ("周丽", None, "mother")


def test_the_householder_before_the_mother_when_she_has_no_phone(session, village):
    village["wang_mother"].phone = None
    session.flush()
    r = recall.recall_list(session=session, actor=doctor(session), week_start=rs.WEEK)
    c = next(c for c in r.children if c.name == "王小明")
    assert (c.guardian_name, c.guardian_phone, c.guardian_relation) == ("王强", "13900000001", "head")


def test_a_temporary_deferral_is_shown_with_its_reason(session, village):
    rs.refuse(session, village["B"], "HepB", 2, "2026-11-20", reason="temporary_deferral")
    r = recall.recall_list(session=session, actor=doctor(session), week_start=rs.WEEK)
    assert listed(r)["张乐"] == [("HepB", 2, "due", date(2026, 11, 10), date(2027, 10, 10), "temporary_deferral",
                                date(2026, 11, 20))]
    # A refusal of another dose does not mark this one.
    assert listed(r)["王小明"][0][5] is None


def test_overdue_rule_setting_changes_what_is_overdue(session, village):
    # 30 days after the recommended date: B's HepB2 (recommended 2026-11-10) is overdue from 2026-12-10.
    r = recall.recall_list(session=session, actor=doctor(session), week_start=rs.WEEK + timedelta(days=14),
                           overdue_rule="recommended+30d")
    assert listed(r)["张乐"][0][:3] == ("HepB", 2, "overdue")


# --- areas and scope ------------------------------------------------------------------------------
def test_point_list_covers_the_area_it_serves(session, village):
    town_doctor = doctor(session, f.TOWN_A, "township_doctor")
    r = recall.recall_list(session=session, actor=town_doctor, week_start=rs.WEEK, point_id=village.point.id)
    assert (r.point_id, r.point_name, r.area_code) == (village.point.id, "温泉镇卫生院接种门诊", f.TOWN_A)
    assert {c.name for c in r.children} == {"王小明", "张乐", "陈小宝", "刘错", "孙悦"}
    e = next(c for c in r.children if c.name == "孙悦")
    assert [(d.vaccine, d.dose, d.status) for d in e.doses] == [
        ("HepB", 1, "overdue"), ("BCG", 1, "overdue"), ("IPV", 1, "due"), ("DTaP", 1, "due"), ("MPSV-A", 1, "due")]
    assert e.village_name == "西河村"


def test_village_doctor_gets_only_their_village_of_a_township_point(session, village):
    r = recall.recall_list(session=session, actor=doctor(session), week_start=rs.WEEK, point_id=village.point.id)
    assert {c.village_code for c in r.children} == {f.VILLAGE_A1}


def test_village_doctor_without_an_area_gets_their_village(session, village):
    r = recall.recall_list(session=session, actor=doctor(session), week_start=rs.WEEK)
    assert {c.village_code for c in r.children} == {f.VILLAGE_A1}
    assert r.area_code == f.VILLAGE_A1


def test_another_village_is_refused(session, village):
    with pytest.raises(Forbidden):
        recall.recall_list(session=session, actor=doctor(session), week_start=rs.WEEK, village_code=f.VILLAGE_A2)


def test_a_point_serving_another_township_is_refused(session, village):
    other = rs.make_point(session, serves=f.TOWN_B, name="南河镇卫生院接种门诊")
    with pytest.raises(Forbidden):
        recall.recall_list(session=session, actor=doctor(session), week_start=rs.WEEK, point_id=other.id)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"village_code": "421124100299"}, "village"),
    ({"village_code": f.TOWN_A}, "village"),
    ({"village_code": "12345"}, "village"),
    ({"point_id": 999999}, "point"),
    ({"point_id": "abc"}, "point"),
    ({"orgunit_code": "421124999000"}, "orgunit"),
])
def test_unknown_area_is_refused_naming_the_field(session, village, kwargs, field):
    with pytest.raises(InvalidInput) as exc:
        recall.recall_list(session=session, actor=Actor.system("t"), week_start=rs.WEEK, **kwargs)
    assert exc.value.field == field


def test_village_and_point_together_are_refused(session, village):
    with pytest.raises(InvalidInput) as exc:
        recall.recall_list(session=session, actor=Actor.system("t"), week_start=rs.WEEK,
                           village_code=f.VILLAGE_A1, point_id=village.point.id)
    assert exc.value.field == "point"


@pytest.mark.parametrize("text", ["", "2026-13-01", "next week", "2026-W54", "26-11-23"])
def test_malformed_week_is_refused(text):
    with pytest.raises(InvalidInput) as exc:
        recall.parse_week(text)
    assert exc.value.field == "week"


def test_list_needs_the_immunization_permission(session, village):
    actor = Actor(user_id=None, username="x", role="x", scope_code=f.VILLAGE_A1, permissions=frozenset({"resident:read"}))
    with pytest.raises(Forbidden):
        recall.recall_list(session=session, actor=actor, week_start=rs.WEEK)


# --- audit ----------------------------------------------------------------------------------------
def test_list_is_audited_as_one_read_with_its_basis(session, village):
    actor = doctor(session)
    before = session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)) or 0
    r = recall.recall_list(session=session, actor=actor, week_start=rs.WEEK, village_code=f.VILLAGE_A1)
    events = session.scalars(select(AuditEvent).where(AuditEvent.id > before)).all()
    assert [(e.action, e.entity_type, e.entity_id, e.basis, e.username) for e in events] == [
        ("read", "recall_list", f.VILLAGE_A1, "own_village", actor.username)]
    detail = json.loads(events[0].detail)
    assert detail["week"] == "2026-11-23"
    assert detail["shown"] == sorted(c.resident_id for c in r.children)


def test_point_list_audit_names_the_point_and_the_township_basis(session, village):
    actor = doctor(session, f.TOWN_A, "township_doctor")
    recall.recall_list(session=session, actor=actor, week_start=rs.WEEK, point_id=village.point.id)
    e = session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "recall_list")).one()
    assert (e.entity_id, e.basis) == (f"point:{village.point.id}", "own_township")


# --- export ---------------------------------------------------------------------------------------
def test_xlsx_has_the_chinese_headers_and_one_row_per_dose(session, village):
    r = recall.recall_list(session=session, actor=doctor(session), week_start=rs.WEEK)
    wb = load_workbook(io.BytesIO(export.workbook_bytes(export.recall_xlsx(r, disclosure=FULL))))
    ws = wb.active
    assert "东冲村" in ws["A1"].value and "2026-11-23" in ws["A1"].value
    assert [c.value for c in ws[2]] == ["村", "儿童姓名", "性别", "出生日期", "监护人", "联系电话", "疫苗", "剂次",
                                        "状态", "应种日期", "最迟日期"]
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=3)]
    as_dates = lambda v: v.date() if hasattr(v, "date") else v  # noqa: E731
    rows = [[as_dates(v) for v in row] for row in rows]
    assert rows == [
        ["东冲村", "刘错", "女", date(2026, 1, 10), None, None, None, None, "接种记录有误，请核对后更正", None, None],
        ["东冲村", "张乐", "女", date(2026, 10, 10), "张德（户主）", "13900000003", "乙肝疫苗（HepB）", 2, "应种",
         date(2026, 11, 10), date(2027, 10, 9)],
        ["东冲村", "王小明", "男", date(2026, 9, 25), "李芳（母亲）", "13900000002", "脊灰灭活疫苗（IPV）", 1, "应种",
         date(2026, 11, 25), date(2027, 9, 24)],
        ["东冲村", "王小明", "男", date(2026, 9, 25), "李芳（母亲）", "13900000002", "百白破疫苗（DTaP）", 1, "应种",
         date(2026, 11, 25), date(2027, 9, 24)],
        ["东冲村", "陈小宝", "男", date(2025, 6, 1), "陈军（家庭成员）", "13900000005", "麻腮风疫苗（MMR）", 1,
         "逾期未种 · 拒种（2026-03-01）", date(2026, 3, 1), date(2026, 5, 31)],
    ]
    assert ws.freeze_panes == "A3"
    assert ws.page_setup.orientation == "landscape"


def test_xlsx_headers_follow_the_locale(session, village):
    r = recall.recall_list(session=session, actor=doctor(session), week_start=rs.WEEK)
    ws = export.recall_xlsx(r, locale="en", disclosure=FULL).active
    assert [c.value for c in ws[2]][:2] == ["Village", "Child"]


# --- the shortcut for complete histories ----------------------------------------------------------
def on_time_history(birth: date, until: date) -> list[engine.GivenDose]:
    """Every dose given on the first day it may be given, day by day as the engine says, up to `until`."""
    given: list[engine.GivenDose] = []
    day = birth
    while day <= until:
        pending = [r for r in engine.due(birth, given, day)
                   if r.status in (engine.DUE, engine.OVERDUE, engine.UPCOMING)]
        now = [r for r in pending if r.earliest_date <= day]
        if now:
            given += [engine.GivenDose(r.vaccine, r.dose, day) for r in now]
            continue
        if not pending:
            break
        day = min(r.earliest_date for r in pending)
    return given


def schedule_history(birth: date, on: date) -> list[engine.GivenDose]:
    """Every dose of the default series of the edition in force on `on`, given at its recommended age."""
    out = []
    for group in edition_for(on).groups:
        numbers: dict[str, int] = {}
        for d in group[0].doses:
            numbers[d.vaccine] = numbers.get(d.vaccine, 0) + 1
            out.append(engine.GivenDose(d.vaccine, numbers[d.vaccine], d.recommended.after(birth)))
    return out


def test_a_complete_history_is_recognised_and_the_engine_agrees():
    birth, on = date(2016, 3, 15), date(2026, 11, 29)
    history = schedule_history(birth, on)
    edition = edition_for(on)
    assert screening.is_complete(edition, birth, history)
    assert {r.status for r in engine.due(birth, history, on)} == {engine.GIVEN}
    assert not screening.is_complete(edition, birth, history[:-1])
    # The alternative followed instead of the default: JE-I's four doses in place of JE-L's two.
    je_i = [g for g in history if g.vaccine != "JE-L"] + [
        engine.GivenDose("JE-I", 1, date(2016, 11, 15)), engine.GivenDose("JE-I", 2, date(2016, 11, 25)),
        engine.GivenDose("JE-I", 3, date(2018, 3, 15)), engine.GivenDose("JE-I", 4, date(2022, 3, 15))]
    assert screening.is_complete(edition, birth, je_i)
    assert {r.status for r in engine.due(birth, je_i, on)} == {engine.GIVEN}
    assert not screening.is_complete(edition, birth, je_i[:-1])


def test_is_complete_never_hides_a_dose_the_engine_would_list():
    rng = random.Random(4)
    on = date(2026, 11, 29)
    edition = edition_for(on)
    complete = 0
    for k in range(80):
        if k % 2:
            birth = on - timedelta(days=rng.randint(0, (on - date(2021, 2, 23)).days))
            history = on_time_history(birth, on)
        else:
            birth = on - timedelta(days=rng.randint(7 * 365, 17 * 365))
            history = schedule_history(birth, on)
        if rng.random() < 0.5:
            history = [g for g in history if rng.random() < 0.95]
        try:
            rows = engine.due(birth, history, on)
        except InvalidInput:
            continue
        if screening.is_complete(edition, birth, history):
            complete += 1
            assert all(r.status in (engine.GIVEN, engine.NOT_APPLICABLE) for r in rows), (birth, history)
    assert complete >= 10  # the check above ran on enough complete histories to mean something


def test_a_child_with_a_complete_history_is_not_listed(session):
    f.make_county(session)
    birth = date(2016, 3, 15)
    child = rs.person(session, "周全", "female", birth.isoformat(), "A1-H9", "head")
    for g in schedule_history(birth, rs.WEEK_END):
        rs.give(session, child, g.vaccine, g.dose, g.date)
    r = recall.recall_list(session=session, actor=Actor.system("t"), week_start=rs.WEEK, village_code=f.VILLAGE_A1)
    assert r.children == [] and r.children_checked == 1


def test_worklist_recall_is_this_weeks_list_for_a_village_doctor_only(session, village):
    r = recall.worklist_recall(session=session, actor=doctor(session), today=date(2026, 11, 25))
    assert r is not None and r.week_start == rs.WEEK and "王小明" in {c.name for c in r.children}
    county = doctor(session, f.COUNTY, "county_doctor")
    assert recall.worklist_recall(session=session, actor=county, today=date(2026, 11, 25)) is None


def test_child_statuses_runs_the_engine_for_every_child_of_the_area(session, village):
    actor = doctor(session)
    out = recall.child_statuses(session=session, actor=actor, as_of=rs.WEEK_END)
    ids = {village[k].id for k in ("A", "B", "C", "D", "H")}
    assert set(out) == ids
    assert out[village["A"].id] == engine.due(date(2026, 9, 25), [
        engine.GivenDose("HepB", 1, date(2026, 9, 25)), engine.GivenDose("BCG", 1, date(2026, 9, 26)),
        engine.GivenDose("HepB", 2, date(2026, 10, 26))], rs.WEEK_END)
    assert isinstance(out[village["H"].id], InvalidInput)
    young = recall.child_statuses(session=session, actor=actor, as_of=rs.WEEK_END, born_after=date(2026, 9, 1))
    assert set(young) == {village[k].id for k in ("A", "B", "D")}
    events = session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "child_statuses")).all()
    assert len(events) == 2


def test_the_sql_screen_finds_exactly_the_complete_histories(session):
    """The aggregate query that skips complete children agrees with is_complete child by child."""
    f.make_county(session)
    rng = random.Random(11)
    on = rs.WEEK_END
    edition = edition_for(on)
    expected = {}
    for k in range(40):
        if k % 3 == 0:
            birth = on - timedelta(days=rng.randint(0, (on - date(2021, 2, 23)).days))
            history = on_time_history(birth, on)
        else:
            birth = on - timedelta(days=rng.randint(7 * 365, 17 * 365))
            history = schedule_history(birth, on)
        if k % 4 == 1:
            history = history[:-1]
        elif k % 4 == 2:  # JE-I as well as the default JE-L: the engine decides which is followed
            history = history + [engine.GivenDose("JE-I", 1, on - timedelta(days=3))]
        elif k == 3:  # the DT of the 2021 edition in place of DTaP dose 5
            history = [g for g in history if (g.vaccine, g.dose) != ("DTaP", 5)] + [
                engine.GivenDose("DT", 1, history[-1].date)]
        child = rs.person(session, "筛查", "male", birth.isoformat(), f"S-{k}", "head")
        for g in history:
            rs.give(session, child, g.vaccine, g.dose, g.date)
        expected[child.id] = bool(history) and screening.is_complete(edition, birth, history)
    found = screening.complete_among(session, list(expected), on, edition)
    assert found == {rid for rid, complete in expected.items() if complete}
    assert 8 <= len(found) < len(expected)  # both kinds are there
