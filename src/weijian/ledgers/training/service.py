"""Writes of training and outreach: recording a session (ledger:write, in a township or village of the
actor's scope). Every bad field is named at once, and nothing is written.

What other modules use of this area is importable from here: `rollup` (people trained by township and
project), `list_sessions`."""
from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import ErrorCollector
from weijian.ledgers.equipment.service import check_orgunit
from weijian.ledgers.training.models import TrainingSession
from weijian.ledgers.training.queries import RollupRow, list_sessions, projects, rollup, township_of
from weijian.ledgers.training.schemas import SessionCreate

_E = "ledgers.training.errors."
_MISSING = "core.errors.validation.missing"


def record_session(*, session: Session, session_in: SessionCreate, actor: Actor,
                   today: dt.date | None = None) -> TrainingSession:
    """Record a session. Refused, naming the field: the day, org unit, project or people trained missing;
    an org unit that is no township or village of the scope; a day in the future."""
    actor.require("ledger:write")
    today = today or clock.today()
    cmd = session_in
    errs = ErrorCollector()
    for name in ("held_on", "orgunit_code", "project", "trained"):
        if getattr(cmd, name) is None:
            errs.add(name, _MISSING)
    check_orgunit(session, errs, actor, cmd.orgunit_code, "orgunit_code", _E)
    if cmd.held_on is not None and cmd.held_on > today:
        errs.add("held_on", _E + "in_future")
    errs.raise_if_any()
    row = TrainingSession(held_on=cmd.held_on, orgunit_code=cmd.orgunit_code, project=cmd.project, topic=cmd.topic,
                          place=cmd.place, trained=cmd.trained, organizer=cmd.organizer, note=cmd.note,
                          recorded_by=actor.username)
    session.add(row)
    session.flush()
    return row


__all__ = ["RollupRow", "list_sessions", "projects", "record_session", "rollup", "township_of"]
