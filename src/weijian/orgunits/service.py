"""Org units and facilities: the registry, and the scope rules every other domain applies in its queries."""
from __future__ import annotations

from sqlalchemy import ColumnElement, and_
from sqlalchemy.orm import Session

from weijian.core.actor import Actor
from weijian.core.identifiers import division_range
from weijian.orgunits.models import OrgUnit


def get(*, session: Session, code: str) -> OrgUnit | None:
    return session.get(OrgUnit, code)


# --- scope ----------------------------------------------------------------------------------------
def in_scope(*, scope_code: str | None, code: str) -> bool:
    """Whether org unit `code` lies inside `scope_code` (a county, township or village); None: all."""
    if scope_code is None:
        return True
    lo, hi = division_range(scope_code)
    return lo <= code <= hi


def scope_condition(column, actor: Actor) -> ColumnElement[bool]:  # noqa: ANN001
    """A WHERE clause limiting a 12-digit org-unit code column to the actor's scope (index-friendly)."""
    if actor.scope_code is None:
        return and_(True)
    lo, hi = division_range(actor.scope_code)
    return and_(column >= lo, column <= hi)
