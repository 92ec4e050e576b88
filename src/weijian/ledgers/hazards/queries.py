"""Reads of the hazard ledger, in the actor's scope (by the facility's org unit): inspections, problems with
their rectifications and photos, the three ledgers as views of the same rows, and the bureau's escalation
list. Overdue is computed on read from the county clock (no daily job): a problem not closed whose deadline
has passed, and a problem closed after its deadline counts as closed late. The ledger holds no resident's
data (the people named are staff), so reads are not audited."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import InvalidInput, NotFound
from weijian.ledgers.hazards.models import Inspection, Photo, Problem, Rectification
from weijian.orgunits import service as orgunits_service

_E = "ledgers.hazards.errors."
VIEWS = ("problems", "persons", "completion", "overdue")


def is_overdue(problem: Problem, today: date) -> bool:
    """Not closed and its deadline passed (the deadline day itself is still in time)."""
    return problem.status != "closed" and problem.deadline < today


def days_overdue(problem: Problem, today: date) -> int:
    end = problem.closed_on if problem.status == "closed" and problem.closed_on else today
    return max((end - problem.deadline).days, 0)


def get_inspection(*, session: Session, inspection_id: int, actor: Actor) -> Inspection:
    """The inspection, or NotFound (one outside the actor's scope answers as a missing one)."""
    row = session.get(Inspection, inspection_id)
    if row is None or not orgunits_service.in_scope(scope_code=actor.scope_code, code=row.orgunit_code):
        raise NotFound(_E + "inspection_not_found", inspection_id=inspection_id)
    return row


def get_problem(*, session: Session, problem_id: int, actor: Actor) -> Problem:
    row = session.get(Problem, problem_id)
    if row is None or not orgunits_service.in_scope(scope_code=actor.scope_code, code=row.orgunit_code):
        raise NotFound(_E + "problem_not_found", problem_id=problem_id)
    return row


def get_photo(*, session: Session, photo_id: int, actor: Actor) -> Photo:
    row = session.get(Photo, photo_id)
    problem = session.get(Problem, row.problem_id) if row is not None else None
    if row is None or problem is None or not orgunits_service.in_scope(scope_code=actor.scope_code,
                                                                        code=problem.orgunit_code):
        raise NotFound(_E + "photo_not_found", photo_id=photo_id)
    return row


def list_inspections(*, session: Session, actor: Actor, limit: int = 200) -> list[Inspection]:
    stmt = (select(Inspection).where(orgunits_service.scope_condition(Inspection.orgunit_code, actor))
            .order_by(Inspection.inspected_on.desc(), Inspection.id.desc()).limit(limit))
    return list(session.scalars(stmt))


def problems_of(*, session: Session, inspection_id: int) -> list[Problem]:
    return list(session.scalars(select(Problem).where(Problem.inspection_id == inspection_id).order_by(Problem.id)))


def rectifications(*, session: Session, problem_ids: list[int]) -> dict[int, list[Rectification]]:
    out: dict[int, list[Rectification]] = defaultdict(list)
    if problem_ids:
        for r in session.scalars(select(Rectification).where(Rectification.problem_id.in_(problem_ids))
                                 .order_by(Rectification.reported_at, Rectification.id)):
            out[r.problem_id].append(r)
    return out


def photos(*, session: Session, problem_ids: list[int]) -> dict[int, list[Photo]]:
    out: dict[int, list[Photo]] = defaultdict(list)
    if problem_ids:
        for p in session.scalars(select(Photo).where(Photo.problem_id.in_(problem_ids)).order_by(Photo.id)):
            out[p.problem_id].append(p)
    return out


@dataclass
class LedgerRow:
    """One problem as every ledger shows it: the problem, its inspection and facility, its latest
    rectification, overdue on the day."""

    problem: Problem
    inspection: Inspection
    facility_name: str
    latest: Rectification | None
    overdue: bool
    days_overdue: int
    accepted: Rectification | None = None
    rectifications: list[Rectification] = field(default_factory=list)

    @property
    def on_time(self) -> bool | None:
        """Closed by its deadline (None while not closed)."""
        if self.problem.status != "closed" or self.problem.closed_on is None:
            return None
        return self.problem.closed_on <= self.problem.deadline


def ledger(*, session: Session, actor: Actor, view: str = "problems", today: date | None = None,
           facility_id: int | None = None) -> list[LedgerRow]:
    """The rows of one ledger (VIEWS): problems (问题台账: every problem, by inspection day), persons (责任人台账:
    the same problems by responsible leader and person), completion (落实到位台账: the problems rectified and
    accepted, with the verification), overdue (the problems past their deadline, most overdue first)."""
    if view not in VIEWS:
        raise InvalidInput("view", _E + "view_unknown", value=view, known=", ".join(VIEWS))
    day = today or clock.today()
    stmt = (select(Problem, Inspection).join(Inspection, Inspection.id == Problem.inspection_id)
            .where(orgunits_service.scope_condition(Problem.orgunit_code, actor)))
    if facility_id is not None:
        stmt = stmt.where(Problem.facility_id == facility_id)
    if view == "completion":
        stmt = stmt.where(Problem.status == "closed")
    elif view == "overdue":
        stmt = stmt.where(Problem.status != "closed", Problem.deadline < day)
    pairs = list(session.execute(stmt.order_by(Inspection.inspected_on, Problem.id)).tuples())
    ids = [p.id for p, _ in pairs]
    recs = rectifications(session=session, problem_ids=ids)
    names = facility_names(session, {p.facility_id for p, _ in pairs})
    rows = []
    for problem, inspection in pairs:
        mine = recs.get(problem.id, [])
        accepted = next((r for r in reversed(mine) if r.verdict == "accepted"), None)
        rows.append(LedgerRow(problem, inspection, names.get(problem.facility_id, ""), mine[-1] if mine else None,
                              is_overdue(problem, day), days_overdue(problem, day), accepted, mine))
    if view == "persons":
        rows.sort(key=lambda r: (r.facility_name, r.problem.responsible_leader, r.problem.responsible_person,
                                 r.problem.deadline))
    elif view == "overdue":
        rows.sort(key=lambda r: (-r.days_overdue, r.problem.id))
    return rows


def facility_names(session: Session, ids: set[int]) -> dict[int, str]:
    out = {}
    for fid in ids:
        fac = orgunits_service.get_facility(session=session, facility_id=fid)
        if fac is not None:
            out[fid] = fac.name
    return out


@dataclass(frozen=True)
class Escalation:
    facility_id: int
    facility_name: str
    responsible_leader: str
    overdue: int
    most_days_overdue: int
    problem_ids: list[int]


def escalations(*, session: Session, actor: Actor, today: date | None = None) -> list[Escalation]:
    """The bureau's list (逾期督办): problems past their deadline and not closed, by facility and responsible
    leader, the most overdue group first. Computed on read, so it is current whenever it is opened."""
    groups: dict[tuple[int, str], list[LedgerRow]] = defaultdict(list)
    for row in ledger(session=session, actor=actor, view="overdue", today=today):
        groups[(row.problem.facility_id, row.problem.responsible_leader)].append(row)
    out = [Escalation(fid, rows[0].facility_name, leader, len(rows), max(r.days_overdue for r in rows),
                      [r.problem.id for r in rows]) for (fid, leader), rows in groups.items()]
    out.sort(key=lambda e: (-e.most_days_overdue, -e.overdue, e.facility_name, e.responsible_leader))
    return out
