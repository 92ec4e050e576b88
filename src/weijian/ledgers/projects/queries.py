"""Reads of practical projects (a county-wide register: every holder of ledger:read sees every project, as the
bureau publishes them): each project's figure done on a day — the latest entry up to that day, or its
computed source — and its 序时进度; the overview by category and by owner."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from weijian.core import clock
from weijian.core.errors import NotFound
from weijian.ledgers.projects import sources
from weijian.ledgers.projects.models import Milestone, ProgressEntry, Project
from weijian.ledgers.projects.rules import Progress, progress

_E = "ledgers.projects.errors."


def get(*, session: Session, project_id: int) -> Project:
    row = session.get(Project, project_id)
    if row is None:
        raise NotFound(_E + "project_not_found", project_id=project_id)
    return row


def list_projects(*, session: Session, category: str | None = None, owner: str | None = None) -> list[Project]:
    stmt = select(Project)
    if category:
        stmt = stmt.where(Project.category == category)
    if owner:
        stmt = stmt.where(Project.owner == owner)
    return list(session.scalars(stmt.order_by(Project.category, Project.owner, Project.id)))


def milestones(*, session: Session, project_id: int) -> list[Milestone]:
    return list(session.scalars(select(Milestone).where(Milestone.project_id == project_id)
                                .order_by(Milestone.due_on, Milestone.id)))


def entries(*, session: Session, project_id: int) -> list[ProgressEntry]:
    return list(session.scalars(select(ProgressEntry).where(ProgressEntry.project_id == project_id)
                                .order_by(ProgressEntry.as_of, ProgressEntry.id)))


def latest_done(session: Session, project_ids: list[int], as_of: date) -> dict[int, Decimal]:
    """The latest figure entered up to `as_of` of each project (the last entry of that day wins)."""
    out: dict[int, Decimal] = {}
    if not project_ids:
        return out
    for e in session.scalars(select(ProgressEntry).where(ProgressEntry.project_id.in_(project_ids),
                                                         ProgressEntry.as_of <= as_of)
                             .order_by(ProgressEntry.as_of, ProgressEntry.id)):
        out[e.project_id] = e.done
    return out


@dataclass(frozen=True)
class Standing:
    project: Project
    as_of: date
    done: Decimal | None
    progress: Progress | None  # None: no figure yet


def standings(*, session: Session, projects: list[Project], as_of: date | None = None) -> list[Standing]:
    day = as_of or clock.today()
    entered = latest_done(session, [p.id for p in projects if not p.source], day)
    out = []
    for p in projects:
        got = (sources.done(session=session, source=p.source, as_of=day) if p.source else entered.get(p.id))
        prog = (progress(start=p.starts_on, end=p.ends_on, target=p.target, done=got, as_of=day,
                         tolerance=p.tolerance) if got is not None else None)
        out.append(Standing(p, day, got, prog))
    return out


@dataclass(frozen=True)
class Group:
    key: str
    projects: int
    behind: int
    on_track: int
    ahead: int
    no_figure: int


def overview(rows: list[Standing], by: str) -> list[Group]:
    """Counts by category or by owner (`by`), of projects behind, on track, ahead and without a figure."""
    counts: dict[str, Counter[str]] = {}
    for s in rows:
        key = s.project.category if by == "category" else s.project.owner
        counts.setdefault(key, Counter())[s.progress.status if s.progress else "no_figure"] += 1
    return [Group(k, sum(c.values()), c["behind"], c["on_track"], c["ahead"], c["no_figure"])
            for k, c in sorted(counts.items())]
