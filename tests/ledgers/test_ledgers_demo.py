"""The demo's ledgers (demo/ledgers.py) on the test county: inspections of the township centres and county
hospitals with problems overdue on the reference day (the escalation list is not empty), nothing dated after
it, and 20 practical projects in the 6 categories with milestones, some behind and some ahead."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from tests import factories as f
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.demo import ledgers as demo_ledgers
from weijian.ledgers.hazards import queries as hazard_queries
from weijian.ledgers.hazards.models import Inspection, Problem, Rectification
from weijian.ledgers.projects import queries as project_queries
from weijian.ledgers.projects.models import Milestone, ProgressEntry
from weijian.ledgers.projects.rules import rules


def test_the_demo_has_overdue_problems_and_projects_behind_and_ahead(session):
    f.make_county(session)
    f.make_care_facilities(session)
    reference = clock.today() - timedelta(days=3)
    summary = demo_ledgers.build(session=session, seed=1, reference=reference)
    assert summary.inspections == 4  # two township centres, the county general and TCM hospitals
    assert summary.problems >= 4 and summary.overdue >= 1 and summary.projects == 20
    assert session.scalar(select(func.max(Inspection.inspected_on))) <= reference
    assert session.scalar(select(func.max(Rectification.done_on))) <= reference
    assert session.scalar(select(func.max(ProgressEntry.as_of))) <= reference
    overdue = hazard_queries.escalations(session=session, actor=Actor.system(), today=reference)
    assert sum(e.overdue for e in overdue) == summary.overdue
    assert session.scalar(select(func.count(Problem.id)).where(Problem.status == "open")) >= 1
    projects = project_queries.list_projects(session=session)
    assert {p.category for p in projects} == set(rules().categories)
    assert session.scalar(select(func.count(Milestone.id))) == 4 * 20
    statuses = {s.progress.status for s in project_queries.standings(session=session, projects=projects,
                                                                      as_of=reference) if s.progress}
    assert {"behind", "ahead"} <= statuses
