"""The demo's emergency (demo/emergency.py): one past food-poisoning event of grade IV, reported in time,
closed, with its timeline and two deployments; two teams; a drill; the reserve with items expiring; a
brucellosis screening in two villages."""
from __future__ import annotations

from datetime import timedelta

from tests import factories as f
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.demo import emergency as demo_emergency
from weijian.surveillance.emergency import queries
from weijian.surveillance.zoonoses import queries as zoonoses_queries


def test_the_demo_has_one_past_event_with_its_timeline_deployments_teams_drill_reserve_and_screening(session):
    f.make_county(session)
    today = clock.today()
    summary = demo_emergency.build(session=session, reference=today)
    actor = Actor.system("test")
    [event] = queries.list_events(session=session, actor=actor)
    assert (event.kind, event.grade, event.status) == ("food_poisoning", "IV", "closed")
    assert not queries.reported_late(event) and clock.local_date(event.occurred_at) < today
    assert len(queries.timeline(session=session, event_id=event.id)) >= 3
    assert queries.event_deployments(session=session, event_id=event.id) == (2, summary.people_deployed)
    assert len(queries.list_teams(session=session)) == 2 and len(queries.list_drills(session=session)) == 1
    flags = [flag for _, flag in queries.list_supplies(session=session, today=today)]
    assert "expiring" in flags
    day = clock.local_date(event.occurred_at)
    assert queries.deployment_summary(session=session, date_from=day - timedelta(days=1),
                                      date_to=day).batches == 2
    rows = zoonoses_queries.by_village(session=session, actor=actor)
    assert [(r.disease, r.campaigns) for r in rows] == [("brucellosis", 1), ("brucellosis", 1)]
