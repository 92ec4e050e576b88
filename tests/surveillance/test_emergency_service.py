"""Public-health emergencies, the service: the 2-hour report (kept and flagged, not refused), every bad field
named at once with nothing written, the timeline, closing, teams, deployments counted over a date range, the
reserve's expiry flags, and the scope of an event (its org unit)."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests import factories as f
from weijian.accounts import service as accounts_service
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.commands import build
from weijian.core.errors import Forbidden, InvalidInput, InvalidState, NotFound
from weijian.surveillance.emergency import queries, service
from weijian.surveillance.emergency.models import Deployment, EmergencyEvent, ReserveSupply
from weijian.surveillance.emergency.rules import rules
from weijian.surveillance.emergency.schemas import (
    DeploymentCreate,
    EventClose,
    EventCreate,
    MemberCreate,
    SupplyCreate,
    TeamCreate,
    TimelineCreate,
)


@pytest.fixture()
def bureau(session):
    f.make_county(session)
    return accounts_service.actor_for(f.make_user(session, "bureau_admin", f.COUNTY))


def _event(session, actor, **over):
    occurred = clock.now() - timedelta(days=3)
    values = {"title": "温泉镇婚宴食物中毒", "kind": "food_poisoning", "grade": "IV",
              "occurred_at": occurred.isoformat(), "reported_at": (occurred + timedelta(hours=1)).isoformat(),
              "orgunit_code": f.TOWN_A, **over}
    return service.create_event(session=session, event_in=build(EventCreate, values), actor=actor)


def _fields(exc) -> set[str]:
    return {e.field for e in exc.value.errors}


def test_the_report_limit_is_two_hours_as_the_regulation_says():
    """突发公共卫生事件应急条例 第二十条: "突发事件监测机构、医疗卫生机构和有关单位发现有本条例第十九条规定情形
    之一的，应当在2小时内向所在地县级人民政府卫生行政主管部门报告". Grades: 国家突发公共卫生事件应急预案 1.3,
    特别重大（Ⅰ级）、重大（Ⅱ级）、较大（Ⅲ级）和一般（Ⅳ级）."""
    assert rules().report_limit_hours == 2
    assert tuple(rules().grades) == ("I", "II", "III", "IV")


def test_a_report_after_two_hours_is_kept_and_flagged_late_and_one_within_is_not(session, bureau):
    occurred = clock.now() - timedelta(days=1)
    in_time = _event(session, bureau, occurred_at=occurred.isoformat(),
                     reported_at=(occurred + timedelta(hours=2)).isoformat())
    late = _event(session, bureau, title="迟报", occurred_at=occurred.isoformat(),
                  reported_at=(occurred + timedelta(hours=2, minutes=1)).isoformat())
    assert queries.reported_late(in_time) is False and queries.report_hours(in_time) == 2.0
    assert queries.reported_late(late) is True and queries.report_hours(late) == 2.02


def test_the_two_hours_run_from_the_discovery_when_one_is_recorded(session, bureau):
    """Art. 20 counts from the discovery (发现…应当在2小时内…报告): an event found 3 hours after it occurred and
    reported 1.5 hours later is in time; a discovery before the event is refused."""
    occurred = clock.now() - timedelta(days=1)
    event = _event(session, bureau, occurred_at=occurred.isoformat(),
                   discovered_at=(occurred + timedelta(hours=3)).isoformat(),
                   reported_at=(occurred + timedelta(hours=4, minutes=30)).isoformat())
    assert queries.report_hours(event) == 1.5 and queries.reported_late(event) is False
    with pytest.raises(InvalidInput) as exc:
        _event(session, bureau, occurred_at=occurred.isoformat(),
               discovered_at=(occurred - timedelta(hours=1)).isoformat(),
               reported_at=(occurred - timedelta(hours=2)).isoformat())
    assert _fields(exc) == {"discovered_at", "reported_at"}


def test_a_bad_event_names_every_field_and_writes_nothing(session, bureau):
    occurred = clock.now() - timedelta(hours=5)
    with pytest.raises(InvalidInput) as exc:
        _event(session, bureau, title="", grade="V", kind="flood", orgunit_code="421124999000",
               occurred_at=occurred.isoformat(), reported_at=(occurred - timedelta(hours=1)).isoformat())
    assert _fields(exc) == {"title", "grade", "kind", "orgunit_code", "reported_at"}
    assert session.scalar(select(func.count(EmergencyEvent.id))) == 0


def test_a_time_that_is_not_a_time_is_named(session, bureau):
    with pytest.raises(InvalidInput) as exc:
        _event(session, bureau, occurred_at="昨天下午")
    assert _fields(exc) == {"occurred_at"}


def test_an_event_in_the_future_is_refused(session, bureau):
    later = clock.now() + timedelta(hours=3)
    with pytest.raises(InvalidInput) as exc:
        _event(session, bureau, occurred_at=later.isoformat(), reported_at=later.isoformat())
    assert _fields(exc) == {"occurred_at", "reported_at"}


def test_an_event_outside_the_scope_does_not_exist_for_the_user(session, bureau):
    event = _event(session, bureau, orgunit_code=f.TOWN_B)
    town_a = Actor(user_id=None, username="town", role="test", scope_code=f.TOWN_A,
                   permissions=frozenset({"emergency:read", "emergency:write"}))
    with pytest.raises(NotFound):
        queries.get_event(session=session, event_id=event.id, actor=town_a)
    assert event.id not in {e.id for e in queries.list_events(session=session, actor=town_a)}
    with pytest.raises(InvalidInput) as exc:
        _event(session, town_a, orgunit_code=f.TOWN_B)
    assert _fields(exc) == {"orgunit_code"}


def test_the_timeline_is_in_time_order_and_refuses_an_entry_before_the_event(session, bureau):
    event = _event(session, bureau)
    for hours, text in ((5, "流调完成"), (1, "接报，派出流调队")):
        service.add_timeline(session=session, event_id=event.id, actor=bureau,
                             entry_in=build(TimelineCreate, {"at": (event.occurred_at + timedelta(hours=hours))
                                                             .isoformat(), "entry": text}))
    assert [t.entry for t in queries.timeline(session=session, event_id=event.id)] == ["接报，派出流调队", "流调完成"]
    with pytest.raises(InvalidInput) as exc:
        service.add_timeline(session=session, event_id=event.id, actor=bureau,
                             entry_in=build(TimelineCreate, {"at": (event.occurred_at - timedelta(hours=1))
                                                             .isoformat()}))
    assert _fields(exc) == {"at", "entry"}


def test_an_event_is_closed_once(session, bureau):
    event = _event(session, bureau)
    service.close_event(session=session, event_id=event.id, close_in=EventClose(), actor=bureau)
    assert event.status == "closed" and event.closed_at is not None
    with pytest.raises(InvalidState):
        service.close_event(session=session, event_id=event.id, close_in=EventClose(), actor=bureau)


def test_deployments_in_a_range_count_batches_and_people_both_ends_included(session, bureau):
    first, last = date(2026, 1, 1), date(2026, 6, 30)
    days = [first + timedelta(days=7 * i) for i in range(26)] + [last]
    people = [68] * 26 + [58]  # 27 batches, 1,826 people
    for day, n in zip(days, people, strict=True):
        service.create_deployment(session=session, actor=bureau, deployment_in=build(DeploymentCreate, {
            "deployed_on": day.isoformat(), "destination": "温泉镇", "people": n, "task": "流调"}))
    for day in (first - timedelta(days=1), last + timedelta(days=1)):
        service.create_deployment(session=session, actor=bureau, deployment_in=build(DeploymentCreate, {
            "deployed_on": day.isoformat(), "destination": "南河镇", "people": 500, "task": "支援"}))
    summary = queries.deployment_summary(session=session, date_from=first, date_to=last)
    assert (summary.batches, summary.people) == (27, 1826)
    with pytest.raises(InvalidInput) as exc:
        queries.deployment_summary(session=session, date_from=last, date_to=first)
    assert _fields(exc) == {"to"}


def test_a_deployment_of_nobody_or_to_an_unknown_team_is_refused_naming_the_field(session, bureau):
    with pytest.raises(InvalidInput) as exc:
        build(DeploymentCreate, {"people": "0"})
    assert _fields(exc) == {"people"}
    with pytest.raises(InvalidInput) as exc:
        service.create_deployment(session=session, actor=bureau, deployment_in=build(DeploymentCreate, {
            "deployed_on": clock.today().isoformat(), "people": 3, "task": "x", "team_id": 987654}))
    assert _fields(exc) == {"destination", "team_id"}
    assert session.scalar(select(func.count(Deployment.id))) == 0


def test_a_member_is_a_user_or_a_name_and_has_a_role(session, bureau):
    team = service.create_team(session=session, team_in=build(TeamCreate, {"name": "县疾控流调队"}), actor=bureau)
    doctor = f.make_user(session, "county_doctor", f.COUNTY, full_name="周医生")
    by_user = service.add_member(session=session, team_id=team.id, actor=bureau,
                                 member_in=build(MemberCreate, {"user_id": doctor.id, "role": "队长"}))
    by_name = service.add_member(session=session, team_id=team.id, actor=bureau,
                                 member_in=build(MemberCreate, {"name": "李检验", "role": "检验"}))
    assert (by_user.name, by_name.user_id) == ("周医生", None)
    with pytest.raises(InvalidInput) as exc:
        service.add_member(session=session, team_id=team.id, actor=bureau, member_in=MemberCreate())
    assert _fields(exc) == {"name", "role"}
    with pytest.raises(InvalidInput) as exc:
        service.create_team(session=session, team_in=build(TeamCreate, {"name": "县疾控流调队"}), actor=bureau)
    assert _fields(exc) == {"name"}


def test_the_reserve_flags_expired_and_expiring_items(session, bureau):
    today = clock.today()
    window = rules().expiring_days
    for item, expiry in (("口罩", today - timedelta(days=1)), ("防护服", today + timedelta(days=window)),
                         ("消毒剂", today + timedelta(days=window + 1)), ("担架", None)):
        service.create_supply(session=session, actor=bureau, supply_in=build(SupplyCreate, {
            "item": item, "quantity": 10, "unit": "件", "expiry_date": expiry.isoformat() if expiry else None}))
    flags = {s.item: flag for s, flag in queries.list_supplies(session=session)}
    assert flags == {"口罩": "expired", "防护服": "expiring", "消毒剂": None, "担架": None}
    with pytest.raises(InvalidInput) as exc:
        service.create_supply(session=session, actor=bureau, supply_in=build(SupplyCreate, {"quantity": "-1"}))
    assert _fields(exc) == {"quantity"}
    assert session.scalar(select(func.count(ReserveSupply.id))) == 4


def test_writing_needs_emergency_write(session, bureau):
    doctor = accounts_service.actor_for(f.make_user(session, "county_doctor", f.COUNTY))
    assert doctor.can("emergency:read") and not doctor.can("emergency:write")
    with pytest.raises(Forbidden):
        _event(session, doctor)
