"""The demo's public-health emergency and zoonoses (issue 16 parts 6–7): one past event (a food-poisoning
cluster at a village banquet, grade IV, reported within the 2 hours, with its timeline and two deployments),
two response teams with members, a drill, the reserve (some items expiring) and a brucellosis screening
campaign in two villages. Written through the services (a handful of rows), dated before `reference`."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.commands import build as command
from weijian.orgunits.models import OrgUnit
from weijian.surveillance.emergency import service as emergency
from weijian.surveillance.emergency.schemas import (
    DeploymentCreate,
    DrillCreate,
    EventClose,
    EventCreate,
    MemberCreate,
    SupplyCreate,
    TeamCreate,
    TimelineCreate,
)
from weijian.surveillance.zoonoses import service as zoonoses
from weijian.surveillance.zoonoses.schemas import CampaignCreate

ACTOR = Actor.system("demo")


@dataclass(frozen=True)
class EmergencySummary:
    events: int
    deployments: int
    people_deployed: int
    campaigns: int


def _at(day: date, hour: int, minute: int = 0) -> str:
    return datetime.combine(day, time(hour, minute), tzinfo=clock.zone()).isoformat()


def build(*, session: Session, reference: date) -> EmergencySummary:
    """Write the demo's emergency records (the county's org units must exist); flushes, never commits."""
    villages = list(session.scalars(select(OrgUnit).where(OrgUnit.level == "village").order_by(OrgUnit.code)
                                    .limit(2)))
    town = session.get(OrgUnit, villages[0].parent_code) if villages else None
    if town is None:
        return EmergencySummary(0, 0, 0, 0)
    day = reference - timedelta(days=75)
    event = emergency.create_event(session=session, actor=ACTOR, event_in=command(EventCreate, {
        "title": f"{villages[0].name}婚宴食物中毒", "kind": "food_poisoning", "grade": "IV",
        "occurred_at": _at(day, 19, 30), "discovered_at": _at(day, 20, 40),
        "reported_at": _at(day, 21, 55), "orgunit_code": town.code,
        "summary": "婚宴后 46 人出现腹痛、腹泻、呕吐，无死亡病例；疑为凉拌菜受污染。"}))
    for hours, text in ((1.6, "县疾控中心接报，启动Ⅳ级响应"), (2.5, "流调队到达现场，封存剩余食品"),
                        (4.0, "县人民医院收治 12 人，其余门诊观察"), (30.0, "采样检出副溶血性弧菌"),
                        (96.0, "最后一例出院")):
        emergency.add_timeline(session=session, event_id=event.id, actor=ACTOR, entry_in=command(TimelineCreate, {
            "at": (event.occurred_at + timedelta(hours=hours)).isoformat(), "entry": text}))
    teams = []
    for name, specialty, members in (
            ("县疾控中心流行病学调查队", "流行病学调查", (("王建国", "队长"), ("刘芳", "流调"), ("陈磊", "检验"))),
            ("县人民医院医疗救治队", "医疗救治", (("张敏", "队长"), ("赵强", "内科"), ("孙丽", "护理")))):
        team = emergency.create_team(session=session, actor=ACTOR,
                                     team_in=command(TeamCreate, {"name": name, "specialty": specialty}))
        for person, role in members:
            emergency.add_member(session=session, team_id=team.id, actor=ACTOR,
                                 member_in=command(MemberCreate, {"name": person, "role": role}))
        teams.append(team)
    people = 0
    for team, n, task in ((teams[0], 6, "流行病学调查、采样"), (teams[1], 9, "现场救治与转运")):
        emergency.create_deployment(session=session, actor=ACTOR, deployment_in=command(DeploymentCreate, {
            "deployed_on": day.isoformat(), "destination": villages[0].name, "people": n, "task": task,
            "team_id": team.id, "event_id": event.id}))
        people += n
    emergency.close_event(session=session, event_id=event.id, actor=ACTOR,
                          close_in=command(EventClose, {"closed_at": _at(day + timedelta(days=5), 17)}))
    emergency.create_drill(session=session, actor=ACTOR, drill_in=command(DrillCreate, {
        "held_on": (reference - timedelta(days=160)).isoformat(), "scenario": "学校聚集性呕吐腹泻疫情处置桌面推演",
        "participants": 42, "team_id": teams[0].id}))
    for item, quantity, unit, days in (("医用防护口罩", 5000, "只", 40), ("医用防护服", 800, "套", 400),
                                       ("含氯消毒片", 120, "瓶", 20), ("口服补液盐", 600, "袋", 700),
                                       ("担架", 12, "副", None)):
        emergency.create_supply(session=session, actor=ACTOR, supply_in=command(SupplyCreate, {
            "item": item, "quantity": quantity, "unit": unit, "location": "县疾控中心应急物资库",
            "expiry_date": (reference + timedelta(days=days)).isoformat() if days is not None else None}))
    campaigns = 0
    for village, screened, positives in zip(villages, (312, 276), (4, 1), strict=False):
        zoonoses.create_campaign(session=session, actor=ACTOR, campaign_in=command(CampaignCreate, {
            "disease": "brucellosis", "village_code": village.code,
            "screened_on": (reference - timedelta(days=40)).isoformat(), "screened": screened,
            "positives": positives, "method": "rbt", "note": "养殖户及屠宰从业人员"}))
        campaigns += 1
    return EmergencySummary(1, 2, people, campaigns)
