"""Reads of child health management: one child's schedule, checks and 体弱儿 cases (audited as a read of the
record with its basis), the children of the actor's villages with a check due or overdue (the worklist), and
the 体弱儿 list of a village. Scope is applied in each query (residents.access)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta
from sqlalchemy import select
from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.care.childcare import rules
from weijian.care.childcare.models import ChildCheck, FrailChild
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import InvalidInput, NotFound
from weijian.residents import access
from weijian.residents.models import Resident

_E = "care.childcare.errors."
_ORDER = {"overdue": 0, "due": 1, "upcoming": 2}
FRAIL_STATUSES = ("open", "closed")


def audit_basis(actor: Actor, village_code: str) -> str:
    return access.basis_for(actor, village_code) or "county"


@dataclass
class ChildView:
    resident: Resident
    as_of: dt.date
    checks: list[ChildCheck]
    schedule: list[rules.CheckStatus]
    frail: list[FrailChild]


def child_view(session: Session, resident: Resident, as_of: dt.date) -> ChildView:
    checks = list(session.scalars(select(ChildCheck).where(ChildCheck.resident_id == resident.id)
                                  .order_by(ChildCheck.date, ChildCheck.id)))
    frail = list(session.scalars(select(FrailChild).where(FrailChild.resident_id == resident.id)
                                 .order_by(FrailChild.opened_on, FrailChild.id)))
    sched = rules.schedule(resident.birth_date, as_of, {c.check_code: c.date for c in checks})
    return ChildView(resident, as_of, checks, sched, frail)


def get_child(*, session: Session, resident_id: int, actor: Actor, as_of: dt.date | None = None) -> ChildView:
    """A child's schedule, checks and 体弱儿 cases; NotFound outside the scope (as for a missing id); logged as
    a read of the record with its basis."""
    actor.require("care:read")
    resident, basis = access.resident_in_scope(session=session, actor=actor, resident_id=resident_id)
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="child_health",
                           entity_id=resident.id, resident_id=resident.id, basis=basis)
    return child_view(session, resident, as_of or clock.today())


@dataclass(frozen=True)
class DueRow:
    resident_id: int
    name: str
    village_code: str
    birth_date: dt.date
    check: rules.CheckStatus

    def label(self, locale: str) -> str:
        return rules.rules().check(self.check.check).label(locale)


def due_children(*, session: Session, actor: Actor, as_of: dt.date, village_code: str | None = None,
                 statuses: tuple[str, ...] = ("overdue", "due"), limit: int | None = None) -> list[DueRow]:
    """Children under 7 of the actor's scope (optionally one village) with a check overdue or due on `as_of`:
    one row per child: the check due now, else the latest one overdue after the last recorded (once a later
    check is done or due, a missed one stays missed), overdue first, then by the window's last day. Logged as
    one "list" event."""
    actor.require("care:read")
    youngest_born = as_of
    oldest_born = as_of - relativedelta(years=rules.rules().max_age_years + 1) + dt.timedelta(days=1)
    conds = [access.visible(actor), Resident.status == "active", Resident.birth_date >= oldest_born,
             Resident.birth_date <= youngest_born]
    if village_code:
        conds.append(Resident.village_code == village_code)
    kids = session.execute(select(Resident.id, Resident.name, Resident.village_code, Resident.birth_date)
                           .where(*conds)).all()
    done: dict[int, dict[str, dt.date]] = {}
    ids = [k.id for k in kids]
    for chunk in range(0, len(ids), 500):
        part = ids[chunk:chunk + 500]
        for rid, code, on in session.execute(select(ChildCheck.resident_id, ChildCheck.check_code, ChildCheck.date)
                                             .where(ChildCheck.resident_id.in_(part))):
            done.setdefault(rid, {})[code] = on
    order = rules.rules().codes
    out = []
    for k in kids:
        sched = rules.schedule(k.birth_date, as_of, done.get(k.id))
        last_done = max((order.index(s.check) for s in sched if s.status == "done"), default=-1)
        open_ = [s for s in sched[last_done + 1:] if s.status in statuses]
        # A check due now is the one to do (the missed ones before it stay missed); else the latest overdue one
        # after the last done, to catch up with a reason.
        if not open_:
            continue
        due_now = [s for s in open_ if s.status == "due"]
        pick = due_now[0] if due_now else max(open_, key=lambda s: s.end)
        out.append(DueRow(k.id, k.name, k.village_code, k.birth_date, pick))
    out.sort(key=lambda r: (_ORDER[r.check.status], r.check.end, r.name, r.resident_id))
    if limit is not None:
        out = out[:limit]
    accounts_service.audit(session=session, actor=actor, action="list", entity_type="child_checks_due",
                           basis=access.scope_basis(actor),
                           detail={k: v for k, v in {"as_of": as_of.isoformat(), "village_code": village_code,
                                                     "count": len(out)}.items() if v},
                           shown=[r.resident_id for r in out])
    return out


@dataclass(frozen=True)
class FrailRow:
    case: FrailChild
    name: str
    village_code: str
    birth_date: dt.date


def frail_list(*, session: Session, actor: Actor, village_code: str | None = None,
               status: str = "open") -> list[FrailRow]:
    """体弱儿 under management (or closed) in the actor's scope, by village then opening date; one "list"
    event."""
    actor.require("care:read")
    if status not in FRAIL_STATUSES:
        raise InvalidInput("status", _E + "status_unknown", value=status)
    conds = [access.visible(actor), FrailChild.status == status]
    if village_code:
        conds.append(Resident.village_code == village_code)
    rows = session.execute(select(FrailChild, Resident.name, Resident.village_code, Resident.birth_date)
                           .join(Resident, Resident.id == FrailChild.resident_id).where(*conds)
                           .order_by(Resident.village_code, FrailChild.opened_on, FrailChild.id)).all()
    out = [FrailRow(f, name, village, birth) for f, name, village, birth in rows]
    accounts_service.audit(session=session, actor=actor, action="list", entity_type="frail_children",
                           basis=access.scope_basis(actor),
                           detail={k: v for k, v in {"village_code": village_code, "status": status,
                                                     "count": len(out)}.items() if v},
                           shown=sorted({r.case.resident_id for r in out}))
    return out


def frail_resident_id(*, session: Session, actor: Actor, frail_id: int) -> int:
    """The child of a 体弱儿 case in the actor's scope; NotFound otherwise (as for a missing id)."""
    rid = session.scalar(select(FrailChild.resident_id).join(Resident, Resident.id == FrailChild.resident_id)
                         .where(FrailChild.id == frail_id, access.visible(actor)))
    if rid is None:
        raise NotFound(_E + "frail_not_found", frail_id=frail_id)
    return rid
