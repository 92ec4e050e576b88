"""Reads of chronic-disease management: a registration in the actor's scope (with its follow-ups), the
registrations list, the due/overdue worklist (`due_follow_ups`), the two rates counties report (规范管理率,
控制率) with their figures, and the rows this area adds to the resident's timeline. Scope is applied in each
query (residents.access); every read of a record is audited.

Definitions (the norms leave them open; the data file's header says the same):
- A patient is *under management in a period* when a registration of the programme was made on or before
  the period's end and not closed before its start. Rates count patients (residents), not registrations.
- 规范管理率 = patients with at least the required face-to-face follow-ups in the period ÷ patients under
  management. The required number is `follow_ups_per_year` for a year, pro-rated for a quarter
  (4 × 3/12 = 1); a month is refused (too short: a quarterly rhythm leaves most months empty).
- 控制率 = patients whose latest follow-up in the period (any method) is in control ÷ patients under
  management. A patient with no follow-up in the period counts in the denominator only.
- 健康管理率 = patients under management ÷ the estimated patients (the residents of the rules file's
  `estimate.population_from_age` and over × its prevalence; 第二版 / 绩效评价 — not a 第三版 工作指标).
- A higher level's rate is its summed numerators ÷ summed denominators, never an average of rates.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from weijian.accounts import service as accounts_service
from weijian.care.chronic.rules import (
    STATUSES,
    Program,
    add_months,
    get_program,
    method_labels,
    required_from,
    rules,
    schedule,
)
from weijian.care.models import ChronicRegistration, FollowUp
from weijian.care.records import service as records
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import InvalidInput, NotFound
from weijian.core.identifiers import division_range
from weijian.core.periods import Period, parse_period
from weijian.orgunits import service as orgunits_service
from weijian.residents import access
from weijian.residents.models import Resident, ResidentResidence
from weijian.residents.service import lived_on

_E = "care.chronic.errors."


# --- scope (residents.access) ---------------------------------------------------------------------------
def registration_in_scope(*, session: Session, actor: Actor, registration_id: int,
                          for_update: bool = False) -> tuple[ChronicRegistration, Resident]:
    """A registration and its resident; NotFound when missing or outside the actor's scope (the same
    answer either way, as for residents)."""
    stmt = (select(ChronicRegistration, Resident).join(Resident, Resident.id == ChronicRegistration.resident_id)
            .where(ChronicRegistration.id == registration_id, access.visible(actor)))
    if for_update:
        stmt = stmt.with_for_update(of=ChronicRegistration)
    row = session.execute(stmt).first()
    if row is None:
        raise NotFound(_E + "registration_not_found", registration_id=registration_id)
    return row[0], row[1]


def audit_basis(actor: Actor, village_code: str, default: str = "county") -> str:
    """The basis audited for the actor's access to a resident of `village_code` (residents.access)."""
    return access.basis_for(actor, village_code) or default


# --- reads of registrations -----------------------------------------------------------------------------
@dataclass
class RegistrationView:
    """A registration with its resident and follow-ups (oldest first), and the worklist figures."""

    registration: ChronicRegistration
    resident: Resident
    follow_ups: list[FollowUp]
    last_follow_up: dt.date | None
    next_due: dt.date | None  # None once closed
    status: str | None


def get_registration(*, session: Session, registration_id: int, actor: Actor,
                     as_of: dt.date | None = None) -> RegistrationView:
    """One registration with its follow-ups, logged as a read of the resident's record."""
    actor.require("care:read")
    registration, resident = registration_in_scope(session=session, actor=actor, registration_id=registration_id)
    follow_ups = list(session.scalars(select(FollowUp).where(FollowUp.registration_id == registration.id)
                                      .order_by(FollowUp.date, FollowUp.id)))
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="chronic_registration",
                           entity_id=registration.id, resident_id=resident.id,
                           basis=audit_basis(actor, resident.village_code))
    f2f = rules().face_to_face
    latest = max((f for f in follow_ups if f.method in f2f), key=lambda f: (f.date, f.id), default=None)
    last = latest.date if latest else None
    next_due = status = None
    if registration.status == "active":
        next_due, _, status = schedule(registered_on=registration.registered_on, last_follow_up=last,
                                       as_of=as_of or clock.today(),
                                       next_visit_on=latest.next_visit_on if latest else None)
    return RegistrationView(registration, resident, follow_ups, last, next_due, status)


def list_follow_ups(*, session: Session, registration_id: int, actor: Actor) -> list[FollowUp]:
    """A registration's follow-ups, newest first (a read of the resident's record, logged)."""
    return list(reversed(get_registration(session=session, registration_id=registration_id,
                                          actor=actor).follow_ups))


@dataclass(frozen=True)
class RegistrationRow:
    registration: ChronicRegistration
    resident_name: str
    village_code: str


def list_registrations(*, session: Session, actor: Actor, program: str | None = None, status: str | None = "active",
                       village_code: str | None = None, resident_id: int | None = None, page: int = 1,
                       page_size: int = 50) -> tuple[list[RegistrationRow], int]:
    """Registrations in the actor's scope (newest first) and their count; logged as one "list" event."""
    actor.require("care:read")
    conds = [access.visible(actor)]
    if program:
        conds.append(ChronicRegistration.program == get_program(program).code)
    if status:
        if status not in ("active", "closed"):
            raise InvalidInput("status", _E + "status_unknown", value=status)
        conds.append(ChronicRegistration.status == status)
    if village_code:
        conds.append(Resident.village_code == village_code)
    if resident_id is not None:
        conds.append(ChronicRegistration.resident_id == resident_id)
    page, page_size = max(1, page), min(200, max(1, page_size))
    base = select(ChronicRegistration, Resident.name, Resident.village_code).join(
        Resident, Resident.id == ChronicRegistration.resident_id).where(*conds)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.execute(base.order_by(ChronicRegistration.registered_on.desc(), ChronicRegistration.id.desc())
                           .offset((page - 1) * page_size).limit(page_size)).all()
    accounts_service.audit(session=session, actor=actor, action="list", entity_type="chronic_registration",
                           basis=access.scope_basis(actor),
                           detail={k: v for k, v in {"program": program, "status": status, "village_code": village_code,
                                                     "resident_id": resident_id, "page": page}.items() if v},
                           shown=[r[0].resident_id for r in rows])
    return [RegistrationRow(r[0], r[1], r[2]) for r in rows], total


# --- the due/overdue worklist -------------------------------------------------------------------------
@dataclass(frozen=True)
class DueItem:
    """One patient under management on the worklist."""

    registration_id: int
    resident_id: int
    resident_name: str
    sex: str
    birth_date: dt.date
    phone: str | None
    village_code: str
    program: str
    registered_on: dt.date
    last_follow_up: dt.date | None  # the latest face-to-face follow-up on or before as_of
    next_due: dt.date
    overdue_from: dt.date  # the first day the follow-up counts as overdue
    status: str  # ok | due | overdue
    as_of: dt.date
    urgent: bool = False  # the latest follow-up called for an urgent referral (紧急转诊): listed first

    @property
    def days_overdue(self) -> int:
        """Days past the due date (0 while not past it)."""
        return max(0, (self.as_of - self.next_due).days)


_STATUS_ORDER = {"overdue": 0, "due": 1, "ok": 2}


def due_follow_ups(*, session: Session, actor: Actor, as_of: dt.date, village_code: str | None = None,
                   program: str | None = None, statuses: Collection[str] | None = None) -> list[DueItem]:
    """The follow-up worklist: every patient under management on `as_of` in the actor's scope (optionally
    one village, one programme, some statuses), with the last face-to-face follow-up, the next due date and
    the status (patients whose latest follow-up called for an urgent referral first, then overdue, due, ok;
    earliest due first). Residents no longer active (died,
    moved out, merged) are left out. Logged as one "list" event."""
    actor.require("care:read")
    R = ChronicRegistration
    f2f = rules().face_to_face
    if statuses is not None:
        unknown = sorted(set(statuses) - set(STATUSES))
        if unknown:
            raise InvalidInput("status", _E + "status_unknown", value=", ".join(unknown))
    mine = (FollowUp.registration_id == R.id, FollowUp.date <= as_of, FollowUp.method.in_(f2f))
    last = select(func.max(FollowUp.date)).where(*mine).correlate(R).scalar_subquery()
    # The next visit the latest face-to-face follow-up set (3 months, or 2 weeks after one not controlled).
    next_visit = (select(FollowUp.next_visit_on).where(*mine).order_by(FollowUp.date.desc(), FollowUp.id.desc())
                  .limit(1).correlate(R).scalar_subquery())
    urgent = (select(FollowUp.refer_reason).where(FollowUp.registration_id == R.id, FollowUp.date <= as_of)
              .order_by(FollowUp.date.desc(), FollowUp.id.desc()).limit(1).correlate(R).scalar_subquery())
    conds = [access.visible(actor), Resident.status == "active", R.registered_on <= as_of,
             or_(R.closed_on.is_(None), R.closed_on > as_of)]
    if village_code:
        conds.append(Resident.village_code == village_code)
    if program:
        conds.append(R.program == get_program(program).code)
    rows = session.execute(
        select(R.id, R.resident_id, R.program, R.registered_on, Resident.name, Resident.sex, Resident.birth_date,
               Resident.phone, Resident.village_code, last.label("last"), next_visit.label("next_visit"),
               urgent.label("refer"))
        .join(Resident, Resident.id == R.resident_id).where(*conds)).all()
    items = []
    for row in rows:
        next_due, overdue_from, status = schedule(registered_on=row.registered_on, last_follow_up=row.last,
                                                  as_of=as_of, next_visit_on=row.next_visit)
        if statuses is not None and status not in statuses:
            continue
        items.append(DueItem(row.id, row.resident_id, row.name, row.sex, row.birth_date, row.phone,
                             row.village_code, row.program, row.registered_on, row.last, next_due, overdue_from,
                             status, as_of, row.refer == "urgent"))
    # 紧急转诊 first (the 规范: 处理后紧急转诊, 2周内主动随访转诊情况), then overdue, due, ok.
    items.sort(key=lambda i: (not i.urgent, _STATUS_ORDER[i.status], i.next_due, i.resident_name,
                              i.registration_id))
    accounts_service.audit(session=session, actor=actor, action="list", entity_type="chronic_worklist",
                           basis=access.scope_basis(actor),
                           detail={k: v for k, v in {"as_of": as_of.isoformat(), "village_code": village_code,
                                                     "program": program, "count": len(items)}.items() if v},
                           shown=[i.resident_id for i in items])
    return items



# --- the rates: 规范管理率 and 控制率 ----------------------------------------------------------------
@dataclass
class RateRow:
    """One org unit's counts for a programme and period (its whole subtree)."""

    code: str
    name: str
    level: str
    depth: int
    under_management: int = 0  # the denominator of both rates
    managed: int = 0  # with the required face-to-face follow-ups (规范管理)
    controlled: int = 0  # latest follow-up in the period in control
    population: int = 0  # residents of the estimate's age and over (健康管理率's base)
    prevalence: Decimal = Decimal(0)

    @property
    def estimated(self) -> int:
        """年内辖区内患者总人数, estimated: the population × the prevalence, rounded half up (of the unit's
        summed population, never a sum of rounded villages)."""
        return int((self.population * self.prevalence).quantize(Decimal(1), rounding=ROUND_HALF_UP))

    @property
    def health_management_rate(self) -> float | None:
        """健康管理率 = 年内已管理的患者人数 ÷ 年内辖区内患者总人数 (estimated)."""
        return ratio(self.under_management, self.estimated)

    @property
    def management_rate(self) -> float | None:
        return ratio(self.managed, self.under_management)

    @property
    def control_rate(self) -> float | None:
        return ratio(self.controlled, self.under_management)


def ratio(numerator: int, denominator: int) -> float | None:
    """A rate as a fraction rounded to 4 places (0.8125); None when there is nothing to divide by."""
    return None if not denominator else round(numerator / denominator, 4)


@dataclass
class RatesReport:
    program: str
    period: Period
    required_follow_ups: int
    rows: list[RateRow] = field(default_factory=list)  # the unit first, then its subtree depth-first

    @property
    def root(self) -> RateRow:
        return self.rows[0]


def management_rates(*, session: Session, program: str, period: Period | str, orgunit_code: str | None,
                     actor: Actor | None = None) -> RatesReport:
    """规范管理率 and 控制率 of a programme for `orgunit_code` and every unit below it, for a year or a
    quarter. One grouped query counts all villages at once; townships and the county are the sums of
    their villages' numerators and denominators. With an actor, the unit (default: the actor's scope) must lie
    inside its scope."""
    prog = get_program(program)
    if isinstance(period, str):
        period = parse_period(period)
    required = prog.required_follow_ups(period)
    # Without an actor (the indicators, the CLI) every unit may be asked for.
    unit = access.orgunit_target(session=session, actor=actor or Actor.system(), orgunit=orgunit_code)
    counts = _village_counts(session, prog, period, unit.code, required)
    population = _village_population(session, period, unit.code)
    prevalence = rules().prevalence[prog.code]
    roots = orgunits_service.tree(session=session, root_code=unit.code)
    report = RatesReport(prog.code, period, required)

    def walk(node: Any, depth: int) -> RateRow:
        row = RateRow(node.unit.code, node.unit.name, node.unit.level, depth, prevalence=prevalence)
        report.rows.append(row)
        own = counts.get(node.unit.code, (0, 0, 0))
        row.under_management, row.managed, row.controlled = own
        row.population = population.get(node.unit.code, 0)
        for child in node.children:
            sub = walk(child, depth + 1)
            row.under_management += sub.under_management
            row.managed += sub.managed
            row.controlled += sub.controlled
            row.population += sub.population
        return row

    for root in roots:
        walk(root, 0)
    return report


def _village_counts(session: Session, prog: Program, period: Period, orgunit_code: str,
                    required: int) -> dict[str, tuple[int, int, int]]:
    """village code → (under management, 规范管理, in control) for all villages under `orgunit_code`, in one
    grouped query. Inside it, one row per patient under management (a patient with two registrations in
    the period counts once): the face-to-face visits in the period and the date of the latest follow-up;
    that follow-up is then looked up through the patient's registrations of the programme and the date
    (indexed) for its classification — patients are counted DISTINCT, as a patient may have had several
    registrations. Aggregates and look-ups rather than a window over every follow-up of the period; no
    join between two derived tables (SQLite scans one of them for each row of the other)."""
    R, F, H = ChronicRegistration, FollowUp, ResidentResidence
    lo, hi = division_range(orgunit_code)
    f2f = rules().face_to_face
    # The patient's village on the period's last day (the residence history, whatever the status then: a
    # patient who died or left during the period was under management in it): a later move changes no
    # past period (issue 15 item 13).
    per_patient = (
        select(R.resident_id.label("resident_id"), H.village_code.label("village_code"),
               func.sum(case((F.method.in_(f2f), 1), else_=0)).label("visits"),
               func.max(F.date).label("last"), func.min(R.registered_on).label("first"))
        .join(Resident, Resident.id == R.resident_id)
        .join(H, lived_on(H, R.resident_id, period.end))
        .outerjoin(F, and_(F.registration_id == R.id, F.date >= period.start, F.date <= period.end))
        .where(R.program == prog.code, R.registered_on <= period.end,
               or_(R.closed_on.is_(None), R.closed_on >= period.start),
               Resident.status != "merged", H.village_code.between(lo, hi))
        .group_by(R.resident_id, H.village_code)
        .subquery("per_patient"))
    latest, latest_reg = aliased(FollowUp, name="latest"), aliased(ChronicRegistration, name="latest_reg")
    patient = per_patient.c.resident_id
    stmt = (
        select(per_patient.c.village_code, func.count(patient.distinct()).label("n"),
               func.count(case((per_patient.c.visits >= required_visits(per_patient.c.first, period, required),
                                patient)).distinct()).label("managed"),
               # Two follow-ups on the latest day (two registrations, one closed that day): in control if any.
               func.count(case((latest.in_control.is_(True), patient)).distinct()).label("controlled"))
        .select_from(per_patient)
        .outerjoin(latest_reg, and_(latest_reg.resident_id == patient, latest_reg.program == prog.code))
        .outerjoin(latest, and_(latest.registration_id == latest_reg.id, latest.date == per_patient.c.last))
        .group_by(per_patient.c.village_code))
    return {row.village_code: (int(row.n), int(row.managed), int(row.controlled)) for row in session.execute(stmt)}


def required_visits(first_registered: Any, period: Period, required: int) -> Any:
    """The face-to-face follow-ups a patient first registered on `first_registered` (a column) needs in
    `period` to count as 规范管理: `required`, or pro-rated for one registered during the period (rules
    `pro_rate_new_patients`: the due dates the rhythm puts in the period, at least 1)."""
    r = rules()
    steps = required_from(period, required, r.interval_months) if r.pro_rate_new_patients else ()
    if not steps:
        return literal(required)
    return case(*((first_registered <= on, k) for on, k in steps), else_=1)


def _village_population(session: Session, period: Period, orgunit_code: str) -> dict[str, int]:
    """village code → residents aged `estimate.population_from_age` or more living in the village, active,
    on the period's end (the base of the estimated patients; from the residence history)."""
    lo, hi = division_range(orgunit_code)
    born_by = add_months(period.end, -12 * rules().estimate_from_age)
    H = ResidentResidence
    rows = session.execute(select(H.village_code, func.count())
                           .select_from(Resident).join(H, lived_on(H, Resident.id, period.end))
                           .where(H.status == "active", Resident.status != "merged", Resident.birth_date <= born_by,
                                  H.village_code.between(lo, hi))
                           .group_by(H.village_code))
    return {village: int(n) for village, n in rows}


# (programme, which rate) of each figure the API serves.
FIGURES = {
    "hypertension_management_rate": ("hypertension", "management"),
    "hypertension_control_rate": ("hypertension", "control"),
    "diabetes_management_rate": ("diabetes", "management"),
    "diabetes_control_rate": ("diabetes", "control"),
    "hypertension_health_management_rate": ("hypertension", "health"),
    "diabetes_health_management_rate": ("diabetes", "health"),
}


def figure(*, session: Session, name: str, period: Period | str, orgunit_code: str | None = None,
           actor: Actor | None = None) -> dict[str, Any]:
    """One figure in the shape every care figure shares — {"figure", "orgunit", "period", "numerator",
    "denominator", "value"} (value a fraction to 4 places, or None) — with `children`, the same for each
    unit directly below. The unit defaults to the actor's scope."""
    if name not in FIGURES:
        raise NotFound(_E + "figure_unknown", name=name)
    program, which = FIGURES[name]
    report = management_rates(session=session, program=program, period=period, orgunit_code=orgunit_code,
                              actor=actor)

    def shape(row: RateRow) -> dict[str, Any]:
        numerator = {"management": row.managed, "control": row.controlled, "health": row.under_management}[which]
        denominator = row.estimated if which == "health" else row.under_management
        return {"figure": name, "orgunit": row.code, "period": report.period.code, "numerator": numerator,
                "denominator": denominator, "value": ratio(numerator, denominator)}

    return {**shape(report.root), "children": [shape(r) for r in report.rows if r.depth == 1]}



# --- the resident's timeline (care.records) ------------------------------------------------------------
def _timeline_rows(*, session: Session, resident_id: int, kinds: frozenset[str], facility_id: int | None,
                   limit: int, tr: Any) -> list[Any]:
    """Registrations and follow-ups as timeline rows, newest first (records.timeline has checked access
    and logged the read)."""
    out: list[records.TimelineItem] = []
    if "chronic_registration" in kinds:
        stmt = (select(ChronicRegistration).where(ChronicRegistration.resident_id == resident_id)
                .order_by(ChronicRegistration.registered_on.desc(), ChronicRegistration.id.desc()).limit(limit))
        if facility_id is not None:
            stmt = stmt.where(ChronicRegistration.facility_id == facility_id)
        for r in session.scalars(stmt):
            parts = [tr(f"care.chronic.programs.{r.program}"), tr(f"care.chronic.sources.{r.source}")]
            if r.closed_on is not None:
                parts.append(tr("care.chronic.detail.closed", date=r.closed_on.isoformat()))
            out.append(records.TimelineItem(
                date=r.registered_on, kind="chronic_registration", summary=" · ".join(parts),
                link=f"/care/chronic/registrations/{r.id}", facility_id=r.facility_id, entity_id=r.id,
                at=r.created_at, data={"program": r.program, "source": r.source, "status": r.status,
                                       "closed_on": r.closed_on.isoformat() if r.closed_on else None}))
    if "follow_up" in kinds:
        fu_stmt = (select(FollowUp, ChronicRegistration.program)
                   .join(ChronicRegistration, ChronicRegistration.id == FollowUp.registration_id)
                   .where(FollowUp.resident_id == resident_id)
                   .order_by(FollowUp.date.desc(), FollowUp.id.desc()).limit(limit))
        if facility_id is not None:
            fu_stmt = fu_stmt.where(FollowUp.facility_id == facility_id)
        methods = method_labels(tr.locale)
        for f, program in session.execute(fu_stmt).tuples():
            parts = [tr(f"care.chronic.programs.{program}"), methods.get(f.method, f.method)]
            if f.sbp is not None and f.dbp is not None:
                parts.append(tr("care.chronic.timeline.bp", sbp=f.sbp, dbp=f.dbp))
            if f.fasting_glucose is not None:
                parts.append(tr("care.chronic.timeline.glucose", value=f.fasting_glucose))
            parts.append(tr("care.chronic.control.in" if f.in_control else "care.chronic.control.out"))
            if f.clinician_name:
                parts.append(f.clinician_name)
            out.append(records.TimelineItem(
                date=f.date, kind="follow_up", summary=" · ".join(parts),
                link=f"/care/chronic/registrations/{f.registration_id}", facility_id=f.facility_id,
                entity_id=f.id, at=f.created_at,
                data={"program": program, "method": f.method, "sbp": f.sbp, "dbp": f.dbp,
                      "fasting_glucose": None if f.fasting_glucose is None else str(f.fasting_glucose),
                      "in_control": f.in_control}))
    out.sort(key=lambda i: (i.date, i.at or clock.now(), i.entity_id or 0), reverse=True)
    return out[:limit]


# The rows this area adds to the resident's timeline (added by the composition root, weijian.wiring).
TIMELINE = records.timeline_source(
    "chronic", ("chronic_registration", "follow_up"), _timeline_rows,
    label_keys={"chronic_registration": "care.chronic.timeline.registration",
                "follow_up": "care.chronic.timeline.follow_up"})
