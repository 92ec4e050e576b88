"""The clinician's worklist for today (a village doctor's first page): chronic-disease follow-ups due or
overdue (care.chronic), downward referrals received as follow-up tasks, consultation replies, and this
week's children due for a vaccination (immunization's recall list, when that package is installed)."""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.care import referrals, teleconsult
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.residents import service as residents_service

FOLLOW_UP_STATUSES = ("overdue", "due")


@dataclass
class Worklist:
    today: date
    follow_ups: list[Any] | None  # chronic.DueItem rows; None when the chronic area is not installed
    downward: list[referrals.ReferralItem] = field(default_factory=list)
    replies: list[teleconsult.ConsultationItem] = field(default_factory=list)
    # immunization.recall.RecallList of this week; None when immunization is not installed, the actor may
    # not read it, or the actor's area is wider than a township
    recall: Any | None = None

    @property
    def empty(self) -> bool:
        return not (self.follow_ups or self.downward or self.replies or (self.recall is not None
                                                                          and self.recall.children))


def _due_follow_ups() -> Callable[..., list[Any]] | None:
    try:
        chronic = importlib.import_module("weijian.care.chronic")
    except ModuleNotFoundError as exc:
        if exc.name != "weijian.care.chronic":
            raise
        return None
    return getattr(chronic, "due_follow_ups", None)


def _worklist_recall() -> Callable[..., Any] | None:
    # care does not depend on immunization (both sit on residents): the section appears when it is installed
    try:
        immunization = importlib.import_module("weijian.immunization.service")
    except ModuleNotFoundError as exc:
        if exc.name not in ("weijian.immunization", "weijian.immunization.service"):
            raise
        return None
    return getattr(immunization, "worklist_recall", None)


def worklist(*, session: Session, actor: Actor, now: datetime | None = None, with_recall: bool = True,
             overdue_rule: Any = None) -> Worklist:
    """Today's work of the actor (Asia/Shanghai day of `now`): each section only as far as the actor's
    permissions reach. The referral and consultation sections are logged here as one read; the chronic area
    and the recall list log their own. `overdue_rule`: the installation's immunization overdue rule
    (settings.immunization_overdue_rule), for the recall section."""
    now = now or clock.now()
    today = clock.local_date(now)
    follow_ups = None
    due = _due_follow_ups()
    if due is not None and actor.can("care:read"):
        follow_ups = [i for i in due(session=session, actor=actor, as_of=today)
                      if getattr(i, "status", None) in FOLLOW_UP_STATUSES]
    downward = referrals.downward_for_worklist(session=session, actor=actor, now=now) \
        if actor.can("referral:respond") else []
    replies = teleconsult.replies_for_worklist(session=session, actor=actor, now=now) \
        if actor.can("consult:request") else []
    recall = None
    recall_of = _worklist_recall() if with_recall else None
    if recall_of is not None and actor.can("immunization:read"):
        recall = recall_of(session=session, actor=actor, today=today, overdue_rule=overdue_rule)
    if downward or replies:
        accounts_service.audit(session=session, actor=actor, action="list", entity_type="worklist",
                               basis=residents_service.scope_basis(actor),
                               detail={"as_of": today.isoformat(),
                                       "referrals": [i.referral.id for i in downward],
                                       "consultations": [i.consultation.id for i in replies]},
                               shown=[i.referral.resident_id for i in downward]
                               + [i.consultation.resident_id for i in replies])
    return Worklist(today=today, follow_ups=follow_ups, downward=downward, replies=replies, recall=recall)
