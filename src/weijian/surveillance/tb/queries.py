"""Reads of TB patient management: a treatment or suspect in the actor's scope (residents.access), the
patient register, the worklist section (doses due today, first visits due, follow-ups due) and the two
indicators' records. Scope is applied in each query; every read of a record is audited with its basis.

Definitions (the 规范's words; data/tb.yaml's header marks weijian's readings VERIFY):
- a dose is due every day from the start date to the day before start + planned months, and not after
  the outcome's day; doses not recorded count as not taken;
- 管理率 = patients whose first home visit was made ÷ patients notified to the primary facility in the period
  (notified_at's county date in the period);
- 规则服药率 = patients who took ≥ regular_share of the doses due over the whole course ÷ patients whose
  treatment ended in the period with an outcome of completed_outcomes (已完成治疗).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, literal, null, select
from sqlalchemy.orm import Session, aliased

from weijian.accounts import service as accounts_service
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import InvalidInput, NotFound
from weijian.residents import access
from weijian.residents.models import Resident, ResidentResidence
from weijian.residents.service import lived_on
from weijian.surveillance.tb.models import TbDose, TbFirstVisit, TbFollowUp, TbSuspect, TbTreatment
from weijian.surveillance.tb.rules import add_months, follow_up_interval, rules

_E = "surveillance.tb.errors."
STATUSES = ("active", "closed")


def audit_basis(actor: Actor, village_code: str) -> str:
    return access.basis_for(actor, village_code) or "county"


def treatment_in_scope(*, session: Session, actor: Actor, treatment_id: int,
                       for_update: bool = False) -> tuple[TbTreatment, Resident]:
    """A treatment and its patient; NotFound when missing or outside the actor's scope (the same answer)."""
    stmt = (select(TbTreatment, Resident).join(Resident, Resident.id == TbTreatment.resident_id)
            .where(TbTreatment.id == treatment_id, access.visible(actor)))
    if for_update:
        stmt = stmt.with_for_update(of=TbTreatment)
    row = session.execute(stmt).first()
    if row is None:
        raise NotFound(_E + "treatment_not_found", treatment_id=treatment_id)
    return row[0], row[1]


def suspect_in_scope(*, session: Session, actor: Actor, suspect_id: int) -> tuple[TbSuspect, Resident]:
    row = session.execute(select(TbSuspect, Resident).join(Resident, Resident.id == TbSuspect.resident_id)
                          .where(TbSuspect.id == suspect_id, access.visible(actor))).first()
    if row is None:
        raise NotFound(_E + "suspect_not_found", suspect_id=suspect_id)
    return row[0], row[1]


def planned_end(t: TbTreatment) -> dt.date:
    """The last day a dose is due by the plan (the day before start + planned months)."""
    return add_months(t.start_date, t.planned_months) - dt.timedelta(days=1)


def last_dose_day(t: TbTreatment, as_of: dt.date) -> dt.date:
    """The last day a dose is due up to `as_of`: the plan's end, the outcome's day or `as_of`."""
    return min(planned_end(t), t.outcome_on or as_of, as_of)


def doses_due(t: TbTreatment, as_of: dt.date) -> int:
    """Doses due from the start up to `as_of` (one a day)."""
    return max(0, (last_dose_day(t, as_of) - t.start_date).days + 1)


def next_follow_up(t: TbTreatment, follow_ups: list[TbFollowUp]) -> dt.date | None:
    """The next follow-up due: the latest one's next date, else one interval after the start (None once ended)."""
    if t.outcome is not None:
        return None
    if follow_ups:
        return max(follow_ups, key=lambda f: (f.date, f.id)).next_due
    return t.start_date + dt.timedelta(days=follow_up_interval(start=t.start_date, on=t.start_date,
                                                               supervisor_kind=t.supervisor_kind))


@dataclass
class TreatmentView:
    treatment: TbTreatment
    resident: Resident
    first_visit: TbFirstVisit | None
    doses: list[TbDose]
    follow_ups: list[TbFollowUp]
    as_of: dt.date
    doses_due: int
    doses_taken: int
    next_follow_up: dt.date | None

    @property
    def taken_share(self) -> Decimal | None:
        return None if not self.doses_due else Decimal(self.doses_taken) / Decimal(self.doses_due)

    @property
    def card(self) -> list[tuple[dt.date, bool | None]]:
        """The dose card (治疗记录卡) of the last 28 due days, newest first: taken, missed, or not recorded."""
        by_day = {d.date: d.taken for d in self.doses}
        last = last_dose_day(self.treatment, self.as_of)
        days = [last - dt.timedelta(days=i) for i in range(min(28, self.doses_due))]
        return [(d, by_day.get(d)) for d in days]


def get_treatment(*, session: Session, actor: Actor, treatment_id: int, as_of: dt.date | None = None) -> TreatmentView:
    """One treatment with its first visit, doses and follow-ups, logged as a read of the patient's record."""
    actor.require("care:read")
    as_of = as_of or clock.today()
    t, resident = treatment_in_scope(session=session, actor=actor, treatment_id=treatment_id)
    visit = session.scalar(select(TbFirstVisit).where(TbFirstVisit.treatment_id == t.id))
    doses = list(session.scalars(select(TbDose).where(TbDose.treatment_id == t.id).order_by(TbDose.date)))
    fus = list(session.scalars(select(TbFollowUp).where(TbFollowUp.treatment_id == t.id)
                               .order_by(TbFollowUp.date, TbFollowUp.id)))
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="tb_treatment", entity_id=t.id,
                           resident_id=resident.id, basis=audit_basis(actor, resident.village_code))
    last = last_dose_day(t, as_of)
    taken = sum(1 for d in doses if d.taken and t.start_date <= d.date <= last)
    return TreatmentView(t, resident, visit, doses, fus, as_of, doses_due(t, as_of), taken, next_follow_up(t, fus))


@dataclass(frozen=True)
class TreatmentRow:
    treatment: TbTreatment
    resident_name: str
    village_code: str


def list_treatments(*, session: Session, actor: Actor, status: str | None = "active", village_code: str | None = None,
                    resident_id: int | None = None, page: int = 1, page_size: int = 50
                    ) -> tuple[list[TreatmentRow], int]:
    """Treatments in the actor's scope (newest start first) and their count; logged as one "list" event."""
    actor.require("care:read")
    conds: list[Any] = [access.visible(actor)]
    if status:
        if status not in STATUSES:
            raise InvalidInput("status", _E + "status_unknown", value=status)
        conds.append(TbTreatment.outcome.is_(None) if status == "active" else TbTreatment.outcome.is_not(None))
    if village_code:
        conds.append(Resident.village_code == village_code)
    if resident_id is not None:
        conds.append(TbTreatment.resident_id == resident_id)
    page, page_size = max(1, page), min(200, max(1, page_size))
    base = (select(TbTreatment, Resident.name, Resident.village_code)
            .join(Resident, Resident.id == TbTreatment.resident_id).where(*conds))
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.execute(base.order_by(TbTreatment.start_date.desc(), TbTreatment.id.desc())
                           .offset((page - 1) * page_size).limit(page_size)).all()
    accounts_service.audit(session=session, actor=actor, action="list", entity_type="tb_treatment",
                           basis=access.scope_basis(actor),
                           detail={k: v for k, v in {"status": status, "village_code": village_code,
                                                     "resident_id": resident_id, "page": page}.items() if v},
                           shown=[r[0].resident_id for r in rows])
    return [TreatmentRow(r[0], r[1], r[2]) for r in rows], total


@dataclass(frozen=True)
class SuspectRow:
    suspect: TbSuspect
    resident_name: str
    village_code: str


def list_suspects(*, session: Session, actor: Actor, result: str | None = "pending") -> list[SuspectRow]:
    """Suspects referred in the actor's scope (newest first), optionally of one result; logged as one list."""
    actor.require("care:read")
    conds: list[Any] = [access.visible(actor)]
    if result:
        if result not in rules().suspect_results:
            raise InvalidInput("result", _E + "code_unknown", value=result)
        conds.append(TbSuspect.result == result)
    rows = session.execute(select(TbSuspect, Resident.name, Resident.village_code)
                           .join(Resident, Resident.id == TbSuspect.resident_id).where(*conds)
                           .order_by(TbSuspect.referred_on.desc(), TbSuspect.id.desc()).limit(200)).all()
    accounts_service.audit(session=session, actor=actor, action="list", entity_type="tb_suspect",
                           basis=access.scope_basis(actor), detail={"result": result} if result else {},
                           shown=[r[0].resident_id for r in rows])
    return [SuspectRow(r[0], r[1], r[2]) for r in rows]


# --- the worklist section -----------------------------------------------------------------------------
@dataclass(frozen=True)
class WorkItem:
    treatment_id: int
    resident_id: int
    resident_name: str
    village_code: str
    supervisor_kind: str
    due: dt.date | None = None  # a follow-up's due date
    due_at: dt.datetime | None = None  # a first visit's due time
    overdue: bool = False
    tries: int = 0
    dose_today: bool | None = None  # the dose recorded today: taken, missed, or not yet (None)


@dataclass
class TbWorklist:
    today: dt.date
    doses: list[WorkItem] = field(default_factory=list)
    first_visits: list[WorkItem] = field(default_factory=list)
    follow_ups: list[WorkItem] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.doses or self.first_visits or self.follow_ups)


def worklist_section(*, session: Session, actor: Actor, now: dt.datetime | None = None) -> TbWorklist:
    """Today's TB work in the actor's scope: patients under treatment whose dose is due today (with what is
    recorded for today, so the doctor sees what is left), first home visits not made (overdue past the 72
    hours, first), follow-ups due today or before (overdue past the grace days, first). Residents no longer
    active are left out. Logged as one "list" event."""
    actor.require("care:read")
    now = now or clock.now()
    today = clock.local_date(now)
    r = rules()
    rows = session.execute(
        select(TbTreatment, Resident.name, Resident.village_code)
        .join(Resident, Resident.id == TbTreatment.resident_id)
        .where(access.visible(actor), Resident.status == "active", TbTreatment.outcome.is_(None),
               TbTreatment.start_date <= today)
        .order_by(Resident.village_code, Resident.name, TbTreatment.id)).all()
    ids = [row[0].id for row in rows]
    visits = {v.treatment_id: v
              for v in session.scalars(select(TbFirstVisit).where(TbFirstVisit.treatment_id.in_(ids)))}
    today_doses = dict(session.execute(select(TbDose.treatment_id, TbDose.taken)
                                       .where(TbDose.treatment_id.in_(ids), TbDose.date == today)).tuples().all())
    latest: dict[int, dt.date] = {}
    for tid, nd in session.execute(select(TbFollowUp.treatment_id, TbFollowUp.next_due)
                                   .where(TbFollowUp.treatment_id.in_(ids))
                                   .order_by(TbFollowUp.date, TbFollowUp.id)).tuples():
        latest[tid] = nd
    out = TbWorklist(today=today)
    for t, name, village in rows:
        base = {"treatment_id": t.id, "resident_id": t.resident_id, "resident_name": name, "village_code": village,
                "supervisor_kind": t.supervisor_kind}
        if today <= planned_end(t):
            out.doses.append(WorkItem(**base, dose_today=today_doses.get(t.id)))
        visit = visits.get(t.id)
        if visit is not None and visit.done_at is None:
            out.first_visits.append(WorkItem(**base, due_at=visit.due_at, overdue=now > visit.due_at,
                                             tries=visit.tries))
        due = latest.get(t.id) or t.start_date + dt.timedelta(
            days=follow_up_interval(start=t.start_date, on=t.start_date, supervisor_kind=t.supervisor_kind))
        if due <= today:
            out.follow_ups.append(WorkItem(**base, due=due, overdue=(today - due).days > r.grace_days))
    out.first_visits.sort(key=lambda i: (not i.overdue, i.due_at or now))
    out.follow_ups.sort(key=lambda i: (not i.overdue, i.due or today))
    shown = sorted({i.resident_id for part in (out.doses, out.first_visits, out.follow_ups) for i in part})
    if shown:
        accounts_service.audit(session=session, actor=actor, action="list", entity_type="tb_worklist",
                               basis=access.scope_basis(actor), detail={"as_of": today.isoformat()}, shown=shown)
    return out


# --- the indicators' records (indicators.measures) ---------------------------------------------------
def indicator_records(*, lo: str, hi: str, start: dt.date, end: dt.date, which: str) -> Select[Any]:
    """The patients a TB indicator counts in villages [lo, hi] and the period [start, end], one row per
    treatment: (key = treatment id, id, name, id_number, village_code, date, facility, detail, quantity).
    which: notified (管理率's denominator), managed (its numerator: the first visit made), completed
    (规则服药率's denominator: ended with an outcome of completed_outcomes), regular (its numerator: ≥ the
    regular share of the doses due taken). A patient counts in the village he lived in on the event's day
    (residence history): the treatment's start for notified and managed (the day of the notice, which the
    period's filter reads, is a time of day SQLite and PostgreSQL turn into a county date differently; a
    treatment starts from the notice), the outcome's day for completed and regular."""
    T, R, H = TbTreatment, Resident, aliased(ResidentResidence)
    conds: list[Any] = [R.status != "merged", H.village_code >= lo, H.village_code <= hi]
    if which in ("notified", "managed"):
        lo_at, hi_at = clock.day_bounds(start, end)  # the notice's county day
        conds += [T.notified_at >= lo_at, T.notified_at < hi_at]
        date_col: Any = T.start_date
        if which == "managed":
            conds.append(select(TbFirstVisit.id).where(TbFirstVisit.treatment_id == T.id,
                                                        TbFirstVisit.done_at.is_not(None)).exists())
    elif which in ("completed", "regular"):
        conds += [T.outcome.in_(rules().completed_outcomes), T.outcome_on >= start, T.outcome_on <= end]
        date_col = T.outcome_on
    else:
        raise ValueError(which)
    taken = (select(func.count(TbDose.id)).where(TbDose.treatment_id == T.id, TbDose.taken.is_(True),
                                                 TbDose.date >= T.start_date, TbDose.date <= T.outcome_on)
             .correlate(T).scalar_subquery())
    stmt = (select(T.id.label("key"), R.id.label("id"), R.name.label("name"), R.id_number.label("id_number"),
                   H.village_code.label("village_code"), date_col.label("date"), null().label("facility"),
                   T.regimen.label("detail"), literal(1).label("quantity"))
            .select_from(T).join(R, R.id == T.resident_id).join(H, lived_on(H, T.resident_id, date_col))
            .where(*conds))
    if which == "regular":
        # The doses due (outcome day or the plan's end, whichever first, since the start) need date arithmetic
        # SQLite and PostgreSQL write differently: the share is worked out in Python (regular_filter).
        stmt = stmt.add_columns(taken.label("taken"))
    return stmt


def regular_filter(session: Session, stmt: Select[Any]) -> list[int]:
    """The treatment ids of a `regular` statement whose taken doses reach the regular share of those due."""
    share = rules().regular_share
    out = []
    rows = session.execute(stmt.add_columns(TbTreatment.start_date, TbTreatment.outcome_on,
                                            TbTreatment.planned_months)).all()
    for row in rows:
        m = row._mapping
        due = max(0, (min(add_months(m["start_date"], m["planned_months"]) - dt.timedelta(days=1), m["outcome_on"])
                      - m["start_date"]).days + 1)
        if due and Decimal(m["taken"]) >= share * due:
            out.append(m["key"])
    return out


def counts_by_village(*, session: Session, lo: str, hi: str, start: dt.date, end: dt.date,
                      which: str) -> dict[str, int]:
    """village → the number of patients the indicator `which` counts in the period."""
    stmt = indicator_records(lo=lo, hi=hi, start=start, end=end, which=which)
    if which == "regular":
        keep = set(regular_filter(session, stmt))
        stmt = indicator_records(lo=lo, hi=hi, start=start, end=end, which="completed").where(
            TbTreatment.id.in_(keep) if keep else literal(False))
    sub = stmt.subquery("tb")
    return {v: n for v, n in session.execute(select(sub.c.village_code, func.count())
                                             .group_by(sub.c.village_code)).tuples()}


def records_for(*, session: Session, lo: str, hi: str, start: dt.date, end: dt.date, which: str) -> Select[Any]:
    """The drill-down statement of the indicator `which` (the listing's nine columns)."""
    if which != "regular":
        return indicator_records(lo=lo, hi=hi, start=start, end=end, which=which)
    keep = set(regular_filter(session, indicator_records(lo=lo, hi=hi, start=start, end=end, which="regular")))
    return indicator_records(lo=lo, hi=hi, start=start, end=end, which="completed").where(
        TbTreatment.id.in_(keep) if keep else literal(False))


__all__ = ["STATUSES", "SuspectRow", "TbWorklist", "TreatmentRow", "TreatmentView", "WorkItem", "counts_by_village",
           "doses_due", "get_treatment", "list_suspects", "list_treatments", "next_follow_up", "planned_end",
           "records_for", "suspect_in_scope", "treatment_in_scope", "worklist_section"]
