"""Reads of maternal health management: a pregnancy in the actor's scope (with its visits and the five
windows' status), and the pregnancy register of a village (open pregnancies with their next due or overdue
window and colour). Scope is applied in each query (residents.access); every read is audited with its
basis."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.care.maternal import rules
from weijian.care.maternal.models import AntenatalVisit, PostpartumVisit, Pregnancy
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import InvalidInput, NotFound
from weijian.core.hooks import Hook
from weijian.residents import access
from weijian.residents.models import Resident

_E = "care.maternal.errors."
_ORDER = {"overdue": 0, "due": 1, "upcoming": 2}
# newborns_of_delivery(session=, mother_id=, born_on=) -> the newborns' birth registrations (immunization's
# 出生"一件事": birth_id, child_id, child_name, born_on) of a delivery, twins two (immunization.newborn.queries.
# newborns_of_mother, provided by weijian.wiring: care does not depend on immunization).
newborns_of_delivery: Hook[Callable[..., Any]] = Hook("care.maternal.newborns_of_delivery")


def newborns(session: Session, p: Pregnancy) -> list[Any]:
    """The newborns registered for this pregnancy's delivery (none before it is delivered)."""
    if p.status != "delivered" or p.delivered_on is None:
        return []
    return list(newborns_of_delivery(session=session, mother_id=p.resident_id, born_on=p.delivered_on))


def pregnancy_in_scope(*, session: Session, actor: Actor, pregnancy_id: int,
                       for_update: bool = False) -> tuple[Pregnancy, Resident]:
    """A pregnancy and its resident; NotFound when missing or outside the actor's scope (the same answer
    either way, as for residents)."""
    stmt = (select(Pregnancy, Resident).join(Resident, Resident.id == Pregnancy.resident_id)
            .where(Pregnancy.id == pregnancy_id, access.visible(actor)))
    if for_update:
        stmt = stmt.with_for_update(of=Pregnancy)
    row = session.execute(stmt).first()
    if row is None:
        raise NotFound(_E + "pregnancy_not_found", pregnancy_id=pregnancy_id)
    return row[0], row[1]


def audit_basis(actor: Actor, village_code: str) -> str:
    return access.basis_for(actor, village_code) or "county"


def needs_referral(p: Pregnancy) -> bool:
    """Graded orange or red and no upward referral linked yet."""
    colour = rules.rules().colours.get(p.risk_colour)
    return bool(colour and colour.refer and p.referral_id is None)


@dataclass
class PregnancyView:
    pregnancy: Pregnancy
    resident: Resident
    antenatal: list[AntenatalVisit]
    postpartum: list[PostpartumVisit]
    windows: list[rules.WindowStatus]
    as_of: dt.date

    @property
    def needs_referral(self) -> bool:
        return needs_referral(self.pregnancy)


def view_of(session: Session, p: Pregnancy, resident: Resident, as_of: dt.date) -> PregnancyView:
    antenatal = list(session.scalars(select(AntenatalVisit).where(AntenatalVisit.pregnancy_id == p.id)
                                     .order_by(AntenatalVisit.number)))
    postpartum = list(session.scalars(select(PostpartumVisit).where(PostpartumVisit.pregnancy_id == p.id)
                                      .order_by(PostpartumVisit.date, PostpartumVisit.id)))
    windows = rules.schedule(p.lmp, as_of, {v.number: v.date for v in antenatal})
    return PregnancyView(p, resident, antenatal, postpartum, windows, as_of)


def get_pregnancy(*, session: Session, pregnancy_id: int, actor: Actor,
                  as_of: dt.date | None = None) -> PregnancyView:
    """One pregnancy with its visits and windows, logged as a read of the resident's record."""
    actor.require("care:read")
    p, resident = pregnancy_in_scope(session=session, actor=actor, pregnancy_id=pregnancy_id)
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="pregnancy", entity_id=p.id,
                           resident_id=resident.id, basis=audit_basis(actor, resident.village_code))
    return view_of(session, p, resident, as_of or clock.today())


@dataclass(frozen=True)
class RegisterRow:
    """One pregnancy on the register, with its next window that is not done (overdue first) on `as_of`."""

    pregnancy: Pregnancy
    resident_name: str
    village_code: str
    phone: str | None
    weeks: int
    days: int
    next: rules.WindowStatus | None
    needs_referral: bool


def register(*, session: Session, actor: Actor, as_of: dt.date, village_code: str | None = None,
             status: str = "open", statuses: set[str] | None = None) -> list[RegisterRow]:
    """The pregnancy register (孕产妇登记): pregnancies of `status` in the actor's scope (optionally one
    village), each with the first window not done on `as_of` — an overdue one before a due one — sorted
    referral needed first, then overdue, due, upcoming, then by the window's last day. `statuses` keeps only
    those next statuses. Logged as one "list" event."""
    actor.require("care:read")
    if status not in rules.PREGNANCY_STATUSES:
        raise InvalidInput("status", _E + "status_unknown", value=status)
    conds = [access.visible(actor), Pregnancy.status == status, Resident.status == "active"]
    if village_code:
        conds.append(Resident.village_code == village_code)
    rows = session.execute(select(Pregnancy, Resident.name, Resident.village_code, Resident.phone)
                           .join(Resident, Resident.id == Pregnancy.resident_id).where(*conds)).all()
    ids = [r[0].id for r in rows]
    done: dict[int, dict[int, dt.date]] = {}
    if ids:
        for pid, number, on in session.execute(select(AntenatalVisit.pregnancy_id, AntenatalVisit.number,
                                                      AntenatalVisit.date)
                                               .where(AntenatalVisit.pregnancy_id.in_(ids))):
            done.setdefault(pid, {})[number] = on
    items = []
    for p, name, village, phone in rows:
        windows = rules.schedule(p.lmp, as_of, done.get(p.id))
        # A window is "missed" for good once a later visit is recorded: the next one is the first not done
        # after the last done.
        last_done = max((w.visit for w in windows if w.status == "done"), default=0)
        open_ = [w for w in windows if w.visit > last_done and w.status != "done"]
        nxt = min(open_, key=lambda w: (_ORDER[w.status], w.visit), default=None) if p.status == "open" else None
        if statuses is not None and (nxt is None or nxt.status not in statuses):
            continue
        weeks, days = rules.gestation(p.lmp, as_of)
        items.append(RegisterRow(p, name, village, phone, weeks, days, nxt, needs_referral(p)))
    items.sort(key=lambda i: (not i.needs_referral, _ORDER[i.next.status] if i.next else 3,
                              i.next.end if i.next else dt.date.max, i.resident_name, i.pregnancy.id))
    accounts_service.audit(session=session, actor=actor, action="list", entity_type="pregnancy_register",
                           basis=access.scope_basis(actor),
                           detail={k: v for k, v in {"as_of": as_of.isoformat(), "village_code": village_code,
                                                     "status": status, "count": len(items)}.items() if v},
                           shown=[i.pregnancy.resident_id for i in items])
    return items


@dataclass(frozen=True)
class PostpartumDue:
    """A delivered woman's postpartum visit not recorded yet, due or overdue on `as_of`: the home visit
    (产后访视) from the discharge (the delivery when none is recorded) — due within postpartum_home_days,
    overdue after that until postpartum_rate_days (past it the visit no longer counts and the woman leaves the
    list) — or the 42-day check, due over its window (check_42_from_day … check_42_to_day after the delivery:
    the service refuses it outside, so it is never "overdue", only missed)."""

    pregnancy: Pregnancy
    resident_name: str
    village_code: str
    kind: str  # home | check_42
    status: str  # due | overdue
    start: dt.date
    end: dt.date  # the last day it is due (home: the week after discharge; check_42: the window's end)


def postpartum_due(*, session: Session, actor: Actor, as_of: dt.date,
                   village_code: str | None = None) -> list[PostpartumDue]:
    """The postpartum visits due or overdue on `as_of` of the delivered women in the actor's scope, overdue
    first, then by the day they fall due. Logged as one "list" event."""
    actor.require("care:read")
    r = rules.rules()
    oldest = as_of - dt.timedelta(days=max(r.postpartum_rate_days, r.check_42_to_day) + 366)  # a long stay
    conds = [access.visible(actor), Pregnancy.status == "delivered", Pregnancy.delivered_on.is_not(None),
             Pregnancy.delivered_on <= as_of, Pregnancy.delivered_on >= oldest, Resident.status == "active"]
    if village_code:
        conds.append(Resident.village_code == village_code)
    rows = session.execute(select(Pregnancy, Resident.name, Resident.village_code)
                           .join(Resident, Resident.id == Pregnancy.resident_id).where(*conds)).all()
    ids = [row[0].id for row in rows]
    done: set[tuple[int, str]] = set()
    if ids:
        done = {(pid, kind) for pid, kind in session.execute(
            select(PostpartumVisit.pregnancy_id, PostpartumVisit.kind).where(PostpartumVisit.pregnancy_id.in_(ids)))}
    items: list[PostpartumDue] = []
    for p, name, village in rows:
        assert p.delivered_on is not None
        if (p.id, "home") not in done:
            base = p.discharged_on or p.delivered_on
            due_end = base + dt.timedelta(days=r.postpartum_home_days)
            last = base + dt.timedelta(days=r.postpartum_rate_days)
            if base <= as_of <= last:
                items.append(PostpartumDue(p, name, village, "home", "due" if as_of <= due_end else "overdue",
                                           base, due_end))
        if (p.id, "check_42") not in done:
            start = p.delivered_on + dt.timedelta(days=r.check_42_from_day)
            end = p.delivered_on + dt.timedelta(days=r.check_42_to_day)
            if start <= as_of <= end:
                items.append(PostpartumDue(p, name, village, "check_42", "due", start, end))
    items.sort(key=lambda i: (_ORDER[i.status], i.end, i.resident_name, i.pregnancy.id, i.kind))
    if items:
        accounts_service.audit(session=session, actor=actor, action="list", entity_type="postpartum_due",
                               basis=access.scope_basis(actor),
                               detail={"as_of": as_of.isoformat(), "count": len(items)},
                               shown=sorted({i.pregnancy.resident_id for i in items}))
    return items
