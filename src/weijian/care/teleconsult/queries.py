"""Reads of remote consultation: one consultation with its record extracts, the lists (the county's inbox of
requests received), the replies on the requester's worklist, and the answered consultations as rows of the
resident's record (the timeline)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, case, or_, select
from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.care.models import Teleconsultation
from weijian.care.records import service as records
from weijian.care.referrals.queries import Page, facility_names, list_conditions, page_rows
from weijian.care.referrals.rules import deadline, is_overdue, overdue_condition, rules
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import ErrorCollector, NotFound
from weijian.core.i18n import Translator
from weijian.residents import access
from weijian.residents.models import Resident

STATUSES = ("requested", "scheduled", "answered", "cancelled")
OPEN_STATUSES = ("requested", "scheduled")


@dataclass
class ConsultationItem:
    """A consultation as lists and pages show it; `extracts` is the parsed JSON attached to it."""

    consultation: Teleconsultation
    resident_name: str
    village_code: str
    from_facility: str
    to_facility: str
    overdue: bool
    deadline: datetime

    @property
    def id(self) -> int:
        return self.consultation.id

    @property
    def extracts(self) -> list[dict[str, Any]]:
        return json.loads(self.consultation.extracts) if self.consultation.extracts else []


def require_read(actor: Actor) -> None:
    """Those who ask for consultations and those who answer them read them."""
    if not (actor.can("consult:request") or actor.can("consult:answer")):
        actor.require("consult:request")


def visible(actor: Actor) -> ColumnElement[bool]:
    """Consultations an actor may see: of a resident in their scope (residents.access), or asked by or of
    their facility. Joined to the resident."""
    conds = [access.visible(actor, Resident.village_code)]
    if actor.facility_id is not None:
        conds += [Teleconsultation.from_facility_id == actor.facility_id,
                  Teleconsultation.to_facility_id == actor.facility_id]
    return or_(*conds)


def is_visible(session: Session, consultation_id: int, actor: Actor) -> bool:
    return session.scalar(
        select(Teleconsultation.id).join(Resident, Resident.id == Teleconsultation.resident_id)
        .where(Teleconsultation.id == consultation_id, visible(actor))) is not None


def _base() -> Select[tuple[Teleconsultation, str, str]]:
    return (select(Teleconsultation, Resident.name, Resident.village_code)
            .join(Resident, Resident.id == Teleconsultation.resident_id))


def _items(session: Session, rows: list[tuple[Teleconsultation, str, str]], now: datetime) -> list[ConsultationItem]:
    names = facility_names(session, {c.from_facility_id for c, *_ in rows} | {c.to_facility_id for c, *_ in rows})
    return [ConsultationItem(consultation=c, resident_name=name, village_code=village,
                             from_facility=names.get(c.from_facility_id, ""),
                             to_facility=names.get(c.to_facility_id, ""),
                             overdue=is_overdue(c, now), deadline=deadline(c))
            for c, name, village in rows]


def get(*, session: Session, consultation_id: int, actor: Actor, now: datetime | None = None) -> ConsultationItem:
    """One consultation with its record extracts and opinion: a read of the resident's record, audited."""
    require_read(actor)
    row = session.execute(_base().where(Teleconsultation.id == consultation_id, visible(actor))).tuples().first()
    if row is None:
        raise NotFound("care.teleconsult.errors.not_found", consultation_id=consultation_id)
    consultation, _, village = row
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="teleconsultation",
                           entity_id=consultation.id, resident_id=consultation.resident_id,
                           basis=access.basis_for(actor, village) or "teleconsultation")
    return _items(session, [row], now or clock.now())[0]


def list_consultations(*, session: Session, actor: Actor, box: str | None = None, status: str | None = None,
                       resident_id: int | None = None, open_only: bool = False, page: int = 1, page_size: int = 20,
                       now: datetime | None = None) -> Page:
    """Consultations the actor may see. box: "sent" (asked by the actor's facility), "received" (asked of it:
    overdue first, then waiting, then scheduled, then the rest; urgent first, oldest first), or None (newest
    first); `open_only`: requested or scheduled. Logged as one search."""
    require_read(actor)
    now = now or clock.now()
    conds = [visible(actor), *list_conditions(Teleconsultation, actor, ErrorCollector(), box=box, status=status,
                                              statuses=STATUSES, resident_id=resident_id, page_size=page_size)]
    page = max(1, page)
    if open_only:
        conds.append(Teleconsultation.status.in_(OPEN_STATUSES))
    if box == "received":
        overdue = overdue_condition(Teleconsultation, now)
        order: tuple[Any, ...] = (case((overdue, 0), (Teleconsultation.status == "requested", 1),
                                       (Teleconsultation.status == "scheduled", 2), else_=3),
                                  case((Teleconsultation.urgency == "urgent", 0), else_=1),
                                  Teleconsultation.requested_at, Teleconsultation.id)
    else:
        order = (Teleconsultation.requested_at.desc(), Teleconsultation.id.desc())
    rows, total = page_rows(session, Teleconsultation, _base(), conds, order, page=page, page_size=page_size)
    accounts_service.audit(session=session, actor=actor, action="search", entity_type="teleconsultation",
                           resident_id=resident_id, basis=access.scope_basis(actor),
                           detail={"box": box, "status": status, "page": page, "total": total},
                           shown=[c.resident_id for c, *_ in rows])
    return Page(_items(session, rows, now), total, page, page_size)


def replies_for_worklist(*, session: Session, actor: Actor, now: datetime | None = None,
                         limit: int = 200) -> list[ConsultationItem]:
    """The actor's facility's consultations that are scheduled, or answered in the last days
    (worklist_reply_days): what the requester has to read or prepare for. Newest answer first."""
    if actor.facility_id is None:
        return []
    now = now or clock.now()
    since = now - timedelta(days=rules().worklist_reply_days)
    rows = list(session.execute(_base().where(
        Teleconsultation.from_facility_id == actor.facility_id,
        or_(Teleconsultation.status == "scheduled",
            (Teleconsultation.status == "answered") & (Teleconsultation.answered_at >= since)))
        .order_by(Teleconsultation.answered_at.desc(), Teleconsultation.scheduled_at, Teleconsultation.id)
        .limit(limit)).tuples())
    return _items(session, rows, now)


def _timeline_rows(*, session: Session, resident_id: int, kinds: frozenset[str], facility_id: int | None,
                   limit: int, tr: Translator) -> list[records.TimelineItem]:
    """Answered consultations as rows of the resident's health record: the specialist's opinion, written back."""
    stmt = (select(Teleconsultation).where(Teleconsultation.resident_id == resident_id,
                                           Teleconsultation.status == "answered")
            .order_by(Teleconsultation.answered_at.desc(), Teleconsultation.id.desc()).limit(limit))
    if facility_id is not None:
        stmt = stmt.where(or_(Teleconsultation.to_facility_id == facility_id,
                              Teleconsultation.from_facility_id == facility_id))
    return [records.TimelineItem(
        date=clock.local_date(c.answered_at), kind="teleconsultation",
        summary=tr("care.teleconsult.timeline.summary", department=c.department,
                   specialist=c.specialist_name or "", opinion=_shorten(c.opinion or "")),
        link=f"/care/consultations/{c.id}", facility_id=c.to_facility_id, entity_id=c.id, at=c.answered_at,
        data={"department": c.department, "specialist": c.specialist_name, "opinion": c.opinion,
              "question": c.question, "from_facility_id": c.from_facility_id})
        for c in session.scalars(stmt)]


def _shorten(text: str, length: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= length else text[:length - 1] + "…"


# The rows this area adds to the resident's timeline (added by the composition root, weijian.wiring).
TIMELINE = records.timeline_source("teleconsultations", ("teleconsultation",), _timeline_rows,
                                   {"teleconsultation": "care.teleconsult.timeline.kind"})

