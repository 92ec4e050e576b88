"""Remote consultation (远程会诊): a village or township clinician asks a county facility's department about a
resident, with extracts of the record attached; the county side assigns a specialist and a time; the
specialist's opinion is written back into the resident's record (the answered consultation is a record entry).

States: requested → scheduled → answered; the requesting facility may cancel while requested. A request not
scheduled within its urgency's limit (care/data/referrals.yaml) is overdue, as for referrals.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, case, false, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from weijian.accounts import service as accounts_service
from weijian.care import referrals
from weijian.care.models import Teleconsultation
from weijian.care.records import service as records
from weijian.care.referrals import Page, as_int, clean_text, facility_names, text_field, urgency_field
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.bounds import MAX_DATE, MIN_DATE, date_in_range
from weijian.core.errors import Conflict, ErrorCollector, Forbidden, InvalidState, NotFound
from weijian.core.i18n import Translator
from weijian.orgunits import service as orgunits_service
from weijian.residents import service as residents_service
from weijian.residents.models import Resident

STATUSES = ("requested", "scheduled", "answered", "cancelled")
OPEN_STATUSES = ("requested", "scheduled")
MAX_EXTRACTS = 20


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


# --- request --------------------------------------------------------------------------------------
def request(*, session: Session, values: dict[str, Any], actor: Actor, now: datetime | None = None) -> Teleconsultation:
    """Ask a county facility's department. values: resident_id, to_facility_id, department, question, urgency,
    encounter_ids (the encounters to attach; the latest ones when none are chosen)."""
    actor.require("consult:request")
    now = now or clock.now()
    rules = referrals.rules()
    facility = referrals.actor_facility(session, actor)
    if rules.tier_name(referrals.tier_of(facility.type)) not in rules.consult_from:
        raise Forbidden("care.teleconsult.errors.requester_tier")
    errs = ErrorCollector()
    resident_id = as_int(values.get("resident_id"))
    if resident_id is None:
        errs.add("resident_id", "core.errors.validation.missing")
    raw_to = values.get("to_facility_id")
    to_id = as_int(raw_to)
    to_facility = None
    if to_id is None:
        errs.add("to_facility_id", "core.errors.validation.missing" if raw_to in (None, "")
                 else "care.referrals.errors.facility_unknown", value=raw_to)
    else:
        to_facility = orgunits_service.get_facility(session=session, facility_id=to_id)
        if to_facility is None:
            errs.add("to_facility_id", "care.referrals.errors.facility_unknown", value=to_id)
        elif rules.tier_name(referrals.tier_of(to_facility.type)) not in rules.consult_to:
            errs.add("to_facility_id", "care.teleconsult.errors.to_tier", name=to_facility.name)
    department = text_field(values, "department", errs, required=True, max_length=referrals.DEPARTMENT_MAX)
    question = text_field(values, "question", errs, required=True)
    urgency = urgency_field(values, errs)
    encounter_ids = _ids(values.get("encounter_ids"), errs)
    errs.raise_if_any()
    resident, basis = referrals.resident_in_scope(session, actor, resident_id)
    extract = referrals.record_extract(session=session, resident_id=resident.id, encounter_ids=encounter_ids)
    consultation = Teleconsultation(
        resident_id=resident.id, from_facility_id=facility.id, requester_id=actor.user_id,
        requester_name=referrals._clinician_name(session, actor), to_facility_id=to_facility.id,
        department=department, urgency=urgency, question=question,
        extracts=json.dumps(extract, ensure_ascii=False), status="requested", requested_at=now,
    )
    session.add(consultation)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="teleconsultation",
                           entity_id=consultation.id, resident_id=resident.id, basis=basis,
                           detail={"to_facility_id": to_facility.id, "department": department,
                                   "record_extract": [e["encounter_id"] for e in extract]})
    return consultation


def _ids(raw: Any, errs: ErrorCollector) -> list[int] | None:
    if raw in (None, "", []):
        return None
    items = raw if isinstance(raw, (list, tuple)) else str(raw).replace("，", ",").split(",")
    out = []
    for item in items:
        if str(item).strip() == "":
            continue
        n = as_int(item)
        if n is None:
            errs.add("encounter_ids", "care.teleconsult.errors.encounter_ids", value=item)
            return None
        out.append(n)
    if len(out) > MAX_EXTRACTS:
        errs.add("encounter_ids", "care.teleconsult.errors.too_many_extracts", max=MAX_EXTRACTS)
        return None
    return out or None


# --- the county side: schedule and answer ------------------------------------------------------------
def _load(session: Session, consultation_id: int, actor: Actor) -> Teleconsultation:
    # One the actor may not see answers exactly as a missing one (404) for every verb, as `get` does.
    consultation = session.get(Teleconsultation, consultation_id, populate_existing=True)
    visible = consultation is not None and session.scalar(
        select(Teleconsultation.id).join(Resident, Resident.id == Teleconsultation.resident_id)
        .where(Teleconsultation.id == consultation_id, _visible(actor))) is not None
    if not visible:
        raise NotFound("care.teleconsult.errors.not_found", consultation_id=consultation_id)
    return consultation


def _for_receiver(session: Session, consultation_id: int, actor: Actor) -> Teleconsultation:
    actor.require("consult:answer")
    consultation = _load(session, consultation_id, actor)
    if actor.facility_id is None or actor.facility_id != consultation.to_facility_id:
        raise Forbidden("care.teleconsult.errors.not_receiver")
    return consultation


def _save(session: Session, consultation: Teleconsultation, *, action: str, allowed_from: tuple[str, ...],
          to_status: str, actor: Actor, version: int | None, changes: dict[str, Any]) -> Teleconsultation:
    """Apply `changes` and the new status under the optimistic lock (see referrals._transition)."""
    if consultation.status not in allowed_from:
        if consultation.status == to_status:
            raise Conflict("care.referrals.errors.already", status=f"@care.teleconsult.statuses.{to_status}")
        raise InvalidState("care.teleconsult.errors.bad_transition",
                           status=f"@care.teleconsult.statuses.{consultation.status}",
                           action=f"@care.teleconsult.actions.{action}")
    if version is not None and version != consultation.version:
        raise Conflict("care.referrals.errors.stale_version")
    savepoint = session.begin_nested()
    for key, value in changes.items():
        setattr(consultation, key, value)
    consultation.status = to_status
    try:
        session.flush()
    except StaleDataError:
        savepoint.rollback()
        raise Conflict("care.referrals.errors.concurrent_change",
                       action=f"@care.teleconsult.actions.{action}") from None
    savepoint.commit()
    accounts_service.audit(session=session, actor=actor, action=action, entity_type="teleconsultation",
                           entity_id=consultation.id, resident_id=consultation.resident_id,
                           basis="teleconsultation")
    return consultation


def schedule(*, session: Session, consultation_id: int, values: dict[str, Any], actor: Actor,
             now: datetime | None = None, version: int | None = None) -> Teleconsultation:
    """The county facility assigns a specialist (specialist_id, or specialist_username) of its own staff and a
    time (scheduled_at, timezone-aware; not before the request). Re-scheduling is allowed until answered."""
    consultation = _for_receiver(session, consultation_id, actor)
    errs = ErrorCollector()
    specialist = None
    sid, uname = as_int(values.get("specialist_id")), clean_text(values.get("specialist_username"))
    if sid is None and not uname:
        errs.add("specialist_id", "core.errors.validation.missing")
    else:
        specialist = (accounts_service.get(session=session, user_id=sid) if sid is not None
                      else accounts_service.get_by_username(session=session, username=uname))
        field = "specialist_id" if sid is not None else "specialist_username"
        if specialist is None or not specialist.is_active:
            errs.add(field, "care.teleconsult.errors.specialist_unknown", value=sid if sid is not None else uname)
            specialist = None
        elif specialist.facility_id != consultation.to_facility_id or \
                "consult:answer" not in accounts_service.role_permissions(specialist.role):
            errs.add(field, "care.teleconsult.errors.specialist_not_here", name=specialist.full_name)
            specialist = None
    when = values.get("scheduled_at")
    if isinstance(when, str) and when.strip():
        try:
            when = datetime.fromisoformat(when.strip())
        except ValueError:
            errs.add("scheduled_at", "care.teleconsult.errors.scheduled_at_invalid")
            when = None
        if when is not None and not date_in_range(when.date()):
            errs.add("scheduled_at", "core.errors.validation.date_out_of_range", min=MIN_DATE.isoformat(),
                     max=MAX_DATE.isoformat())
            when = None
        if when is not None and when.tzinfo is None:  # a time typed on a page is Beijing time
            when = when.replace(tzinfo=clock.zone())
    elif not isinstance(when, datetime):
        if not any(e.field == "scheduled_at" for e in errs.errors):
            errs.add("scheduled_at", "core.errors.validation.missing")
        when = None
    if isinstance(when, datetime):
        if when.tzinfo is None:
            when = when.replace(tzinfo=clock.zone())
        if when < consultation.requested_at - timedelta(minutes=1):
            errs.add("scheduled_at", "care.teleconsult.errors.scheduled_before_request")
    errs.raise_if_any()
    return _save(session, consultation, action="schedule", allowed_from=("requested", "scheduled"),
                 to_status="scheduled", actor=actor, version=version,
                 changes={"specialist_id": specialist.id, "specialist_name": specialist.full_name,
                          "scheduled_at": when})


def answer(*, session: Session, consultation_id: int, opinion: str | None, actor: Actor,
           now: datetime | None = None, version: int | None = None) -> Teleconsultation:
    """The assigned specialist writes the opinion; it becomes part of the resident's record."""
    consultation = _for_receiver(session, consultation_id, actor)
    if consultation.status == "scheduled" and consultation.specialist_id != actor.user_id:
        raise Forbidden("care.teleconsult.errors.not_specialist", name=consultation.specialist_name or "")
    errs = ErrorCollector()
    text = text_field({"opinion": opinion}, "opinion", errs, required=True, max_length=4000)
    errs.raise_if_any()
    return _save(session, consultation, action="answer", allowed_from=("scheduled",), to_status="answered",
                 actor=actor, version=version, changes={"opinion": text, "answered_at": now or clock.now()})


def cancel(*, session: Session, consultation_id: int, actor: Actor, now: datetime | None = None,
           version: int | None = None) -> Teleconsultation:
    """The requesting facility withdraws a request the county has not scheduled yet."""
    actor.require("consult:request")
    consultation = _load(session, consultation_id, actor)
    if actor.facility_id is None or actor.facility_id != consultation.from_facility_id:
        raise Forbidden("care.teleconsult.errors.not_requester")
    return _save(session, consultation, action="cancel", allowed_from=("requested",), to_status="cancelled",
                 actor=actor, version=version, changes={})


# --- reads ----------------------------------------------------------------------------------------
def _require_read(actor: Actor) -> None:
    """Those who ask for consultations and those who answer them read them."""
    if not (actor.can("consult:request") or actor.can("consult:answer")):
        actor.require("consult:request")


def _visible(actor: Actor) -> ColumnElement[bool]:
    conds = [orgunits_service.scope_condition(Resident.village_code, actor)]
    if actor.facility_id is not None:
        conds += [Teleconsultation.from_facility_id == actor.facility_id,
                  Teleconsultation.to_facility_id == actor.facility_id]
    return or_(*conds)


def _base() -> Select[tuple[Teleconsultation, str, str]]:
    return (select(Teleconsultation, Resident.name, Resident.village_code)
            .join(Resident, Resident.id == Teleconsultation.resident_id))


def _items(session: Session, rows: list, now: datetime) -> list[ConsultationItem]:
    names = facility_names(session, {c.from_facility_id for c, *_ in rows} | {c.to_facility_id for c, *_ in rows})
    return [ConsultationItem(consultation=c, resident_name=name, village_code=village,
                             from_facility=names.get(c.from_facility_id, ""),
                             to_facility=names.get(c.to_facility_id, ""),
                             overdue=referrals.is_overdue(c, now), deadline=referrals.deadline(c))
            for c, name, village in rows]


def get(*, session: Session, consultation_id: int, actor: Actor, now: datetime | None = None) -> ConsultationItem:
    """One consultation with its record extracts and opinion: a read of the resident's record, audited."""
    _require_read(actor)
    row = session.execute(_base().where(Teleconsultation.id == consultation_id, _visible(actor))).tuples().first()
    if row is None:
        raise NotFound("care.teleconsult.errors.not_found", consultation_id=consultation_id)
    consultation, _, village = row
    basis = residents_service.access_basis(actor, village) or "teleconsultation"
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="teleconsultation",
                           entity_id=consultation.id, resident_id=consultation.resident_id, basis=basis)
    return _items(session, [row], now or clock.now())[0]


def list_consultations(*, session: Session, actor: Actor, box: str | None = None, status: str | None = None,
                       resident_id: int | None = None, open_only: bool = False, page: int = 1, page_size: int = 20,
                       now: datetime | None = None) -> Page:
    """Consultations the actor may see. box: "sent" (asked by the actor's facility), "received" (asked of it:
    overdue first, then waiting, then scheduled, then the rest; urgent first, oldest first), or None (newest
    first); `open_only`: requested or scheduled. Logged as one search."""
    _require_read(actor)
    now = now or clock.now()
    errs = ErrorCollector()
    if box not in (None, "", "sent", "received"):
        errs.add("box", "care.referrals.errors.box_unknown", value=box)
    if status not in (None, "") and status not in STATUSES:
        errs.add("status", "care.referrals.errors.status_unknown", value=status)
    page_size = referrals._page_size(page_size, errs)
    errs.raise_if_any()
    page = max(1, int(page or 1))
    conds = [_visible(actor)]
    if box == "sent":
        conds.append(Teleconsultation.from_facility_id == actor.facility_id if actor.facility_id else false())
    elif box == "received":
        conds.append(Teleconsultation.to_facility_id == actor.facility_id if actor.facility_id else false())
    if status:
        conds.append(Teleconsultation.status == status)
    if resident_id is not None:
        conds.append(Teleconsultation.resident_id == resident_id)
    if open_only:
        conds.append(Teleconsultation.status.in_(OPEN_STATUSES))
    if box == "received":
        overdue = referrals.overdue_condition(Teleconsultation, now)
        order: tuple[Any, ...] = (case((overdue, 0), (Teleconsultation.status == "requested", 1),
                      (Teleconsultation.status == "scheduled", 2), else_=3),
                 case((Teleconsultation.urgency == "urgent", 0), else_=1),
                 Teleconsultation.requested_at, Teleconsultation.id)
    else:
        order = (Teleconsultation.requested_at.desc(), Teleconsultation.id.desc())
    total = session.scalar(select(func.count()).select_from(
        select(Teleconsultation.id).join(Resident, Resident.id == Teleconsultation.resident_id)
        .where(*conds).subquery())) or 0
    rows = list(session.execute(_base().where(*conds).order_by(*order)
                                .offset((page - 1) * page_size).limit(page_size)).tuples())
    accounts_service.audit(session=session, actor=actor, action="search", entity_type="teleconsultation",
                           resident_id=resident_id, basis=residents_service.scope_basis(actor),
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
    since = now - timedelta(days=referrals.rules().worklist_reply_days)
    rows = list(session.execute(_base().where(
        Teleconsultation.from_facility_id == actor.facility_id,
        or_(Teleconsultation.status == "scheduled",
            (Teleconsultation.status == "answered") & (Teleconsultation.answered_at >= since)))
        .order_by(Teleconsultation.answered_at.desc(), Teleconsultation.scheduled_at, Teleconsultation.id)
        .limit(limit)).tuples())
    return _items(session, rows, now)


def allowed_actions(consultation: Teleconsultation, actor: Actor) -> list[str]:
    """What the actor may do with a consultation now (the pages show these buttons; the service decides)."""
    out = []
    if actor.can("consult:answer") and actor.facility_id is not None and \
            actor.facility_id == consultation.to_facility_id:
        if consultation.status in ("requested", "scheduled"):
            out.append("schedule")
        if consultation.status == "scheduled" and consultation.specialist_id == actor.user_id:
            out.append("answer")
    if consultation.status == "requested" and actor.can("consult:request") and \
            actor.facility_id is not None and actor.facility_id == consultation.from_facility_id:
        out.append("cancel")
    return out


def _timeline_rows(*, session: Session, resident_id: int, kinds: frozenset[str], facility_id: int | None,
                   limit: int, tr: Translator) -> list:
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
