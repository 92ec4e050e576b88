"""The audit log: appending events (every read and write of a resident record, every log-in step and
administration act; the hash chain is accounts/audit_chain.py), reading it (audit:read), and keeping it
append-only in the ORM as the database's triggers do."""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import ColumnElement, event, func, or_, select
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from weijian.accounts import audit_chain, audit_words
from weijian.accounts.models import AuditEvent, AuditShown, User
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.bounds import whole_number
from weijian.core.db import is_read_only, write_after
from weijian.core.errors import ErrorCollector, InvalidState
from weijian.core.identifiers import division_level
from weijian.orgunits import service as orgunits_service


# --- writing ------------------------------------------------------------------------------------
def audit(*, session: Session, actor: Actor, action: str, entity_type: str, entity_id: Any = None,
          resident_id: int | None = None, basis: str, detail: dict[str, Any] | None = None,
          shown: Iterable[int] | None = None, survive_rollback: bool = False) -> AuditEvent | None:
    """Append one event (to the hash chain: accounts/audit_chain.py). In a write unit it is written in the
    caller's transaction, so it lands with the change it logs. A read unit writes nothing, so there — and
    with `survive_rollback`, for an attempt that is refused and rolled back — it is written when the unit
    ends, in a short write of its own, before the answer is sent (core.db.write_after); only then is no
    event returned. `shown`: the ids of the residents a list or search put on the screen (kept in the
    detail and indexed in audit_shown, so that the log answers "who saw this resident")."""
    if shown is not None:
        detail = {**(detail or {}), "shown": sorted({int(i) for i in shown if i is not None})}
    row = _audit_row(actor, action, entity_type, entity_id, resident_id, basis, detail, clock.now())
    if survive_rollback or is_read_only(session):
        write_after(session, partial(audit_chain.append, rows=[row]))
        return None
    [event] = audit_chain.append(session, [row], objects=True)
    return event


def _audit_row(actor: Actor, action: str, entity_type: str, entity_id: Any, resident_id: int | None, basis: str,
               detail: dict[str, Any] | None, at: datetime) -> dict[str, Any]:
    audit_words.check(action=action, entity_type=entity_type, basis=basis)
    return dict(at=at, user_id=actor.user_id, username=actor.username, role=actor.role, action=action,
                entity_type=entity_type, entity_id=None if entity_id is None else str(entity_id),
                resident_id=resident_id, basis=basis, ip=actor.ip,
                detail=json.dumps(detail, ensure_ascii=False, default=str) if detail else None)


def audit_many(*, session: Session, actor: Actor, action: str, entity_type: str,
               events: list[tuple[Any, int | None, str, dict[str, Any] | None]]) -> int:
    """Append one event per (entity_id, resident_id, basis, detail), flushed once: for batch jobs that
    write thousands of records in one transaction (settling a year's stays). Returns how many."""
    if not events:
        return 0
    at = clock.now()  # one executemany of plain rows: ORM objects cost ~0.7 ms each at this volume
    audit_chain.append(session, [_audit_row(actor, action, entity_type, entity_id, resident_id, basis, detail, at)
                                 for entity_id, resident_id, basis, detail in events])
    return len(events)


# --- reading (audit:read) ------------------------------------------------------------------------

# Codes the audit page offers as filters and labels (accounts.audit.actions.* / .bases.*); other codes
# are stored and shown as they are.
AUDIT_ACTIONS = audit_words.codes("action")
AUDIT_BASES = audit_words.codes("basis")
MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class Page:
    items: list[Any]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def list_audit(*, session: Session, actor: Actor, user: str | None = None, resident_id: int | None = None,
               date_from: date | None = None, date_to: date | None = None, action: str | None = None,
               page: int = 1, page_size: int = 20) -> Page:
    """Audit events, newest first. `user` is a username or a user id; dates are Asia/Shanghai days,
    both inclusive.

    audit:read is a county-level permission (roles.yaml) and the log is read whole at that level; an actor
    scoped below the county sees only events of users in its scope.
    """
    actor.require("audit:read")
    errors = ErrorCollector()
    if date_from and date_to and date_from > date_to:
        errors.add("date_to", "accounts.errors.date_range")
    if page < 1:
        errors.add("page", "core.errors.validation.greater_than_equal", ge=1)
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        errors.add("page_size", "accounts.errors.page_size", max=MAX_PAGE_SIZE)
    errors.raise_if_any()

    conds: list[ColumnElement[bool]] = []
    if actor.scope_code is not None and division_level(actor.scope_code) != "county":
        in_scope_users = select(User.id).where(orgunits_service.scope_condition(User.orgunit_code, actor))
        conds.append(AuditEvent.user_id.in_(in_scope_users))
    user = (user or "").strip()
    if user:
        by_user = AuditEvent.username == user
        if whole_number(user) is not None:
            by_user = or_(by_user, AuditEvent.user_id == whole_number(user))
        conds.append(by_user)
    if resident_id is not None:  # reads of the record, and the lists and searches that showed it
        conds.append(or_(AuditEvent.resident_id == resident_id,
                         AuditEvent.seq.in_(select(AuditShown.seq).where(AuditShown.resident_id == resident_id))))
    if date_from:
        conds.append(AuditEvent.at >= clock.at(date_from))
    if date_to:
        conds.append(AuditEvent.at < clock.at(date_to + timedelta(days=1)))
    if action:
        conds.append(AuditEvent.action == action.strip())

    total = session.scalar(select(func.count()).select_from(AuditEvent).where(*conds)) or 0
    rows = session.scalars(select(AuditEvent).where(*conds)
                           .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
                           .limit(page_size).offset((page - 1) * page_size))
    return Page(items=list(rows), total=total, page=page, page_size=page_size)


# --- the audit log is append-only ---------------------------------------------------------------
# The database refuses UPDATE and DELETE on audit_events (triggers, migration 0002); these listeners
# stop the ORM earlier, with an error that names the rule.
@event.listens_for(Session, "before_flush")
def _audit_events_are_not_changed(session: Session, _flush_context: UOWTransaction, _instances: object) -> None:
    for obj in session.deleted:
        if isinstance(obj, AuditEvent):
            raise InvalidState("accounts.errors.audit_append_only")
    for obj in session.dirty:
        if isinstance(obj, AuditEvent) and session.is_modified(obj):
            raise InvalidState("accounts.errors.audit_append_only")


@event.listens_for(Session, "do_orm_execute")
def _no_bulk_audit_changes(state: ORMExecuteState) -> None:
    if (state.is_update or state.is_delete) and any(m.class_ is AuditEvent for m in state.all_mappers):
        raise InvalidState("accounts.errors.audit_append_only")
