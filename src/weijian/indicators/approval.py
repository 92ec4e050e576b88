"""Approving a published period (DHIS2's data approval): an org unit's figures for a period that has ended are
approved by the bureau (`period:approve`) and kept as they were approved; the records they were counted
from are locked (core.locks: a later change is refused, or let through with a correction reason by a user
with `period:correct` and recorded); the report shows beside an approved figure what the records say now
and how many corrections were made since. Unapproving needs a reason.

The records guarded (GUARDED, registered by weijian.wiring): visits and stays (by their start day; a stay
still admitted is completed by its discharge without a reason), health checks, screenings, chronic
follow-ups and vaccinations, each in its patient's current village and its facility's org unit.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.care.models import Encounter, FollowUp, HealthCheck, Screening
from weijian.core import clock, locks
from weijian.core.actor import Actor
from weijian.core.errors import Conflict, InvalidInput, InvalidState, NotFound
from weijian.core.locks import PeriodApproval
from weijian.core.periods import parse_period
from weijian.immunization.models import Vaccination
from weijian.indicators import service as indicators_service
from weijian.indicators.schemas import ApprovalCreate, ApprovalUnapprove
from weijian.orgunits import service as orgunits_service
from weijian.orgunits.models import Facility
from weijian.residents import access
from weijian.residents.models import Resident

APPROVE = "period:approve"
CORRECT = locks.CORRECT
_E = "indicators.errors."


# --- the records an approval locks -------------------------------------------------------------------
def _ids(obj: Any, attr: str) -> set[int]:
    """The id in `attr` now and before this flush's change of it."""
    state = inspect(obj)
    out = {v for v in (getattr(obj, attr, None),) if v is not None}
    if attr in state.attrs:
        out |= {v for v in (state.attrs[attr].history.deleted or ()) if v is not None}
    return out


def record_units(session: Session, rows: Sequence[Any]) -> list[set[str]]:
    """Each row's org units: its patient's village (now and, when the row moves to another person, the
    one before) and its facility's org unit. Two primary-key reads for the whole flush."""
    people = [_ids(r, "resident_id") for r in rows]
    places = [_ids(r, "facility_id") if hasattr(r, "facility_id") else set() for r in rows]
    conn = session.connection()
    every_person = sorted(set().union(*people)) if people else []
    every_place = sorted(set().union(*places)) if places else []
    R, F = Resident.__table__, Facility.__table__
    villages = dict(conn.execute(select(R.c.id, R.c.village_code).where(R.c.id.in_(every_person))).tuples().all()
                    ) if every_person else {}
    units = dict(conn.execute(select(F.c.id, F.c.orgunit_code).where(F.c.id.in_(every_place))).tuples().all()
                 ) if every_place else {}
    return [{villages[p] for p in ps if p in villages} | {units[f] for f in fs if f in units}
            for ps, fs in zip(people, places, strict=True)]


DISCHARGE_SETS = frozenset({"end_date", "total_cost", "in_policy_cost", "note"})  # care.records.discharge


def _admitted(row: Any) -> bool:
    """A stay not discharged before this change, changed only as its discharge changes it: completed."""
    if locks.before(row, "type") != "inpatient" or locks.before(row, "end_date") is not None:
        return False
    state = inspect(row)
    return all(a.key in DISCHARGE_SETS for a in state.mapper.column_attrs if state.attrs[a.key].history.has_changes())


GUARDED = (
    # Linking a visit to the referral it arrived on (care.referrals) counts no visit again.
    locks.Guarded(Encounter, "start_date", record_units, was_open=_admitted, ignored=frozenset({"referral_id"})),
    locks.Guarded(HealthCheck, "date", record_units),
    locks.Guarded(Screening, "date", record_units),
    locks.Guarded(FollowUp, "date", record_units),
    locks.Guarded(Vaccination, "date", record_units),
)


# --- approving ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ApprovalView:
    id: int
    orgunit: str
    period: str
    approved_at: datetime
    approved_by: str
    note: str | None
    active: bool
    unapproved_at: datetime | None
    unapproved_by: str | None
    unapprove_reason: str | None
    corrections: int
    snapshot: dict[str, Any]


def _view(row: PeriodApproval, corrections: int) -> ApprovalView:
    return ApprovalView(row.id, row.orgunit_code, row.period, row.approved_at, row.approved_by, row.note,
                        row.unapproved_at is None, row.unapproved_at, row.unapproved_by, row.unapprove_reason,
                        corrections, json.loads(row.snapshot) if row.snapshot else {})


def _plain(x: Any) -> Any:
    return str(x) if isinstance(x, Decimal) else x


def approve(*, session: Session, actor: Actor, approval_in: ApprovalCreate) -> ApprovalView:
    """Approve the org unit's figures for a period that has ended: the figures are kept as approved (every
    indicator's numerator, denominator and value) and the period's records are locked. Audited."""
    actor.require(APPROVE)
    p = parse_period(approval_in.period)
    today = clock.today()
    if p.start > today:
        raise InvalidInput("period", _E + "period_future", period=p.code, today=today.isoformat())
    if p.end >= today:
        raise InvalidInput("period", _E + "approve_not_ended", period=p.code, end=p.end.isoformat())
    unit = access.orgunit_target(session=session, actor=actor, orgunit=approval_in.orgunit)
    found = session.scalar(select(PeriodApproval.id).where(
        PeriodApproval.orgunit_code == unit.code, PeriodApproval.period == p.code,
        PeriodApproval.unapproved_at.is_(None)))
    if found is not None:
        raise Conflict(_E + "approval_exists", period=p.code, orgunit=unit.name, approval=found)
    values = indicators_service.compute(session=session, actor=actor, period=p.code, orgunit=unit.code)
    snapshot = {v.indicator: {"numerator": _plain(v.numerator), "denominator": _plain(v.denominator),
                              "value": _plain(v.value)} for v in values if v.orgunit == unit.code}
    row = PeriodApproval(orgunit_code=unit.code, period=p.code, period_start=p.start, period_end=p.end,
                         approved_at=clock.now(), approved_by=actor.username, note=approval_in.note,
                         snapshot=json.dumps(snapshot, ensure_ascii=False, sort_keys=True))
    try:  # an approval of the same unit and period made meanwhile breaks the unique index: a conflict, no 500
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        found = session.scalar(select(PeriodApproval.id).where(
            PeriodApproval.orgunit_code == unit.code, PeriodApproval.period == p.code,
            PeriodApproval.unapproved_at.is_(None)))
        raise Conflict(_E + "approval_exists", period=p.code, orgunit=unit.name, approval=found or "") from None
    locks.forget(session)
    accounts_service.audit(session=session, actor=actor, action="approve", entity_type="period_approval",
                           entity_id=row.id, basis=access.scope_basis(actor),
                           detail={"orgunit": unit.code, "period": p.code, "note": approval_in.note})
    return _view(row, 0)


def _get(session: Session, actor: Actor, approval_id: int) -> PeriodApproval:
    row = session.get(PeriodApproval, approval_id)
    if row is None or not orgunits_service.in_scope(scope_code=actor.scope_code, code=row.orgunit_code):
        raise NotFound(_E + "approval_unknown", approval=approval_id)
    return row


def unapprove(*, session: Session, actor: Actor, approval_id: int, unapprove_in: ApprovalUnapprove) -> ApprovalView:
    """Lift an approval (its records may be changed again without a reason); the reason is kept. Audited."""
    actor.require(APPROVE)
    row = _get(session, actor, approval_id)
    if row.unapproved_at is not None:
        raise InvalidState(_E + "approval_lifted", approval=row.id,
                           on=clock.local_date(row.unapproved_at).isoformat())
    reason = unapprove_in.reason.strip()
    if not reason:
        raise InvalidInput("reason", "core.errors.validation.missing")
    row.unapproved_at, row.unapproved_by, row.unapprove_reason = clock.now(), actor.username, reason
    session.flush()
    locks.forget(session)
    accounts_service.audit(session=session, actor=actor, action="unapprove", entity_type="period_approval",
                           entity_id=row.id, basis=access.scope_basis(actor),
                           detail={"orgunit": row.orgunit_code, "period": row.period, "reason": reason})
    return _view(row, locks.corrections_count(session, [row.id]).get(row.id, 0))


def list_approvals(*, session: Session, actor: Actor, orgunit: str | None = None, period: str | None = None,
                   active_only: bool = False) -> list[ApprovalView]:
    """The approvals in the actor's scope (of one org unit and period when asked), newest first."""
    indicators_service.require_reader(actor)
    stmt = select(PeriodApproval).where(access.visible(actor, PeriodApproval.orgunit_code))
    if orgunit:
        stmt = stmt.where(PeriodApproval.orgunit_code == orgunit.strip())
    if period:
        stmt = stmt.where(PeriodApproval.period == parse_period(period).code)
    if active_only:
        stmt = stmt.where(PeriodApproval.unapproved_at.is_(None))
    rows = list(session.scalars(stmt.order_by(PeriodApproval.approved_at.desc(), PeriodApproval.id.desc())))
    counts = locks.corrections_count(session, [r.id for r in rows])
    return [_view(r, counts.get(r.id, 0)) for r in rows]


@dataclass(frozen=True)
class Approved:
    """What the report shows beside a figure of an approved (org unit, period)."""

    approval_id: int
    value: Any  # the value (or count) as approved, None when it had none
    numerator: Any
    corrections: int


def approved_figures(*, session: Session, values: Sequence[indicators_service.IndicatorValue]
                     ) -> dict[tuple[str, str, str], Approved]:
    """(indicator, org unit, period) → the approved figure, for the values whose org unit and period have an
    active approval (one read of the approvals of those units)."""
    codes = sorted({v.orgunit for v in values})
    if not codes:
        return {}
    rows = list(session.scalars(select(PeriodApproval).where(
        PeriodApproval.orgunit_code.in_(codes), PeriodApproval.unapproved_at.is_(None))))
    if not rows:
        return {}
    counts = locks.corrections_count(session, [r.id for r in rows])
    by_key = {(r.orgunit_code, r.period): r for r in rows}
    snaps = {r.id: json.loads(r.snapshot) if r.snapshot else {} for r in rows}
    out = {}
    for v in values:
        row = by_key.get((v.orgunit, str(v.period)))
        if row is None:
            continue
        snap = snaps[row.id].get(v.indicator)
        if snap is None:
            continue
        was, num = snap.get("value"), snap.get("numerator")
        out[(v.indicator, v.orgunit, str(v.period))] = Approved(
            row.id, None if was is None else Decimal(str(was)), None if num is None else Decimal(str(num)),
            counts.get(row.id, 0))
    return out


def approved_text(approved: Approved, current: Any, tr: Any) -> str:
    """已审核数 X，现记录数 Y，审核后更正 N 条 (the report's note beside an approved figure)."""
    def shown(x: Any) -> str:
        return "—" if x is None else str(x)

    return str(tr("indicators.approval.note", approved=shown(approved.value), current=shown(current),
                  corrections=approved.corrections))


def approved_notes(*, session: Session, values: Sequence[indicators_service.IndicatorValue], tr: Any
                   ) -> dict[tuple[str, str, str], str]:
    """(indicator, org unit, period) → the report's note for each value of an approved period."""
    shown = approved_figures(session=session, values=values)
    return {k: approved_text(a, v.value, tr) for v in values
            if (a := shown.get(k := (v.indicator, v.orgunit, str(v.period)))) is not None}


def active_for(*, session: Session, orgunit: str, period: str) -> ApprovalView | None:
    """The approval in force of an org unit and period, None when there is none."""
    row = session.scalar(select(PeriodApproval).where(
        PeriodApproval.orgunit_code == orgunit, PeriodApproval.period == period,
        PeriodApproval.unapproved_at.is_(None)))
    return None if row is None else _view(row, locks.corrections_count(session, [row.id]).get(row.id, 0))


def approved_units(*, session: Session, orgunits: Sequence[str], period: str) -> set[str]:
    """Which of these org units have an approval in force for the period."""
    if not orgunits:
        return set()
    return set(session.scalars(select(PeriodApproval.orgunit_code).where(
        PeriodApproval.orgunit_code.in_(list(orgunits)), PeriodApproval.period == period,
        PeriodApproval.unapproved_at.is_(None))))


def approvable(period: str) -> bool:
    """Whether a period has ended (only an ended one is approved)."""
    try:
        return parse_period(period).end < clock.today()
    except InvalidInput:
        return False


def allow_correction(session: Session, actor: Actor, reason: str | None) -> None:
    """Let this unit of work change records of approved periods as recorded corrections (core.locks.allow)."""
    locks.allow(session, actor, reason)
