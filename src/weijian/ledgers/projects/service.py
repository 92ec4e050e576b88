"""Writes of practical projects: create a project (category, unit, owner, target, calendar, tolerance,
source), add milestones, enter progress. Each needs project:write and names every bad field at once; a
project ending before it starts, a figure above the target without a note: refused."""
from __future__ import annotations

from sqlalchemy.orm import Session

from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import ErrorCollector, InvalidInput
from weijian.ledgers.projects import queries, sources
from weijian.ledgers.projects.models import Milestone, ProgressEntry, Project
from weijian.ledgers.projects.rules import check_dates, rules
from weijian.ledgers.projects.schemas import MilestoneCreate, ProgressCreate, ProjectCreate

_E = "ledgers.projects.errors."
_MISSING = "core.errors.validation.missing"


def create(*, session: Session, project_in: ProjectCreate, actor: Actor) -> Project:
    actor.require("project:write")
    cmd = project_in
    errs = ErrorCollector()
    for name in ("name", "category", "owner", "unit", "target", "starts_on", "ends_on"):
        if getattr(cmd, name) is None:
            errs.add(name, _MISSING)
    if cmd.category is not None and cmd.category not in rules().categories:
        errs.add("category", _E + "category_unknown", value=cmd.category, known=", ".join(rules().categories))
    if cmd.unit is not None and cmd.unit not in rules().units:
        errs.add("unit", _E + "unit_unknown", value=cmd.unit, known=", ".join(rules().units))
    if cmd.target is not None and cmd.target <= 0:
        errs.add("target", _E + "target_not_positive")
    try:
        check_dates(cmd.starts_on, cmd.ends_on)
    except InvalidInput as exc:
        errs.extend(exc)
    if cmd.progress_source:
        try:
            sources.check(cmd.progress_source, "progress_source")
        except InvalidInput as exc:
            errs.extend(exc)
    errs.raise_if_any()
    row = Project(name=cmd.name, category=cmd.category, owner=cmd.owner, person_in_charge=cmd.person_in_charge,
                  unit=cmd.unit, target=cmd.target, starts_on=cmd.starts_on, ends_on=cmd.ends_on,
                  tolerance=cmd.tolerance if cmd.tolerance is not None else rules().default_tolerance,
                  source=cmd.progress_source or None, note=cmd.note, created_by=actor.username)
    session.add(row)
    session.flush()
    return row


def add_milestone(*, session: Session, project_id: int, milestone_in: MilestoneCreate, actor: Actor) -> Milestone:
    """A milestone within the project's calendar (its figure not above the target)."""
    actor.require("project:write")
    project = queries.get(session=session, project_id=project_id)
    cmd = milestone_in
    errs = ErrorCollector()
    for name in ("title", "due_on"):
        if getattr(cmd, name) is None:
            errs.add(name, _MISSING)
    if cmd.due_on is not None and not project.starts_on <= cmd.due_on <= project.ends_on:
        errs.add("due_on", _E + "outside_calendar", start=project.starts_on.isoformat(),
                 end=project.ends_on.isoformat())
    if cmd.target_done is not None and cmd.target_done > project.target:
        errs.add("target_done", _E + "milestone_above_target")
    if cmd.reached_on is not None and cmd.reached_on > clock.today():
        errs.add("reached_on", _E + "in_future")
    errs.raise_if_any()
    row = Milestone(project_id=project.id, title=cmd.title, due_on=cmd.due_on, target_done=cmd.target_done,
                    reached_on=cmd.reached_on, created_by=actor.username)
    session.add(row)
    session.flush()
    return row


def record_progress(*, session: Session, project_id: int, progress_in: ProgressCreate,
                    actor: Actor) -> ProgressEntry:
    """The figure done as of a day (none: today; not in the future, not before the start). A project whose
    figure is computed takes no entry; above the target only with a note saying why."""
    actor.require("project:write")
    project = queries.get(session=session, project_id=project_id)
    cmd = progress_in
    today = clock.today()
    day = cmd.as_of or today
    errs = ErrorCollector()
    if project.source:
        errs.add("done", _E + "computed_project", source=project.source)
    if cmd.done is None:
        errs.add("done", _MISSING)
    elif cmd.done > project.target and not cmd.note:
        errs.add("note", _E + "above_target_needs_note", target=f"{project.target.normalize():f}")
    if day > today:
        errs.add("as_of", _E + "in_future")
    elif day < project.starts_on:
        errs.add("as_of", _E + "before_start", start=project.starts_on.isoformat())
    errs.raise_if_any()
    row = ProgressEntry(project_id=project.id, as_of=day, done=cmd.done, note=cmd.note, evidence=cmd.evidence,
                        recorded_by=actor.username)
    session.add(row)
    session.flush()
    return row
