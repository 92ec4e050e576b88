"""Reads of training and outreach: the sessions in the actor's scope, and the roll-up of sessions and people
trained (人次) by township and project over a period."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from weijian.core.actor import Actor
from weijian.ledgers.training.models import TrainingSession
from weijian.orgunits import service as orgunits_service
from weijian.orgunits.models import OrgUnit

MAX_LIST = 500


def township_of(code: str) -> str:
    """The township (乡级, 9 digits + 000) a township or village code lies in."""
    return code[:9] + "000"


def list_sessions(*, session: Session, actor: Actor, date_from: dt.date | None = None,
                  date_to: dt.date | None = None, project: str | None = None) -> list[TrainingSession]:
    actor.require("ledger:read")
    t = TrainingSession
    stmt = select(t).where(orgunits_service.scope_condition(t.orgunit_code, actor))
    if date_from is not None:
        stmt = stmt.where(t.held_on >= date_from)
    if date_to is not None:
        stmt = stmt.where(t.held_on <= date_to)
    if project:
        stmt = stmt.where(t.project == project)
    return list(session.scalars(stmt.order_by(t.held_on.desc(), t.id.desc()).limit(MAX_LIST)))


def projects(*, session: Session, actor: Actor) -> list[str]:
    """The project names used in the scope (for the form's suggestions and the filter)."""
    t = TrainingSession
    return list(session.scalars(select(t.project).where(orgunits_service.scope_condition(t.orgunit_code, actor))
                                .group_by(t.project).order_by(t.project)))


@dataclass(frozen=True)
class RollupRow:
    township_code: str
    township_name: str
    project: str
    sessions: int
    trained: int


def rollup(*, session: Session, actor: Actor, date_from: dt.date | None = None,
           date_to: dt.date | None = None) -> list[RollupRow]:
    """Sessions and people trained (人次) per township and project, in the actor's scope, held from
    `date_from` to `date_to` (both included)."""
    actor.require("ledger:read")
    t = TrainingSession
    stmt = (select(t.orgunit_code, t.project, func.count(t.id), func.sum(t.trained))
            .where(orgunits_service.scope_condition(t.orgunit_code, actor)).group_by(t.orgunit_code, t.project))
    if date_from is not None:
        stmt = stmt.where(t.held_on >= date_from)
    if date_to is not None:
        stmt = stmt.where(t.held_on <= date_to)
    sums: dict[tuple[str, str], list[int]] = {}
    for code, project, n, trained in session.execute(stmt):
        cell = sums.setdefault((township_of(code), project), [0, 0])
        cell[0] += int(n)
        cell[1] += int(trained or 0)
    names = dict(session.execute(select(OrgUnit.code, OrgUnit.name)
                                 .where(OrgUnit.code.in_({c for c, _ in sums}))).tuples().all())
    return [RollupRow(c, names.get(c, c), p, *sums[(c, p)]) for c, p in sorted(sums)]
