"""JSON routes of the hazard ledger under /api/v1/ledgers/hazards: inspections and their problems, photos
(multipart, checked by their bytes), rectifications, verification, the ledgers (?view=) and the bureau's
escalation list. Read with ledger:read, written with ledger:write, verified with ledger:verify."""
from __future__ import annotations

from datetime import date
from pathlib import Path

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from sqlalchemy.orm import Session

from weijian.accounts.deps import require
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.bounds import Id64
from weijian.core.web import SessionDep
from weijian.ledgers.hazards import queries, service
from weijian.ledgers.hazards.models import Inspection, Photo, Problem, Rectification
from weijian.ledgers.hazards.rules import rules
from weijian.ledgers.hazards.schemas import (
    EscalationOut,
    InspectionCreate,
    InspectionOut,
    PhotoOut,
    ProblemCreate,
    ProblemOut,
    RectificationCreate,
    RectificationOut,
    VerificationCreate,
)

router = APIRouter(prefix="/api/v1/ledgers/hazards", tags=["ledgers"])
Reader = Depends(require("ledger:read"))
Writer = Depends(require("ledger:write"))
Verifier = Depends(require("ledger:verify"))


def store(request: Request) -> Path:
    """The hazard ledger's upload folder (settings.upload_dir/hazards)."""
    return Path(request.app.state.settings.upload_dir) / "hazards"


def photo_out(p: Photo) -> PhotoOut:
    return PhotoOut(id=p.id, stage=p.stage, content_type=p.content_type, size=p.size,
                    url=f"/ledgers/hazards/photos/{p.id}")


def rect_out(r: Rectification) -> RectificationOut:
    return RectificationOut.model_validate(r, from_attributes=True)


def problem_out(session: Session, p: Problem, today: date, *, full: bool = True) -> ProblemOut:
    inspection = session.get(Inspection, p.inspection_id)
    assert inspection is not None
    names = queries.facility_names(session, {p.facility_id})
    pics = queries.photos(session=session, problem_ids=[p.id]).get(p.id, []) if full else []
    recs = queries.rectifications(session=session, problem_ids=[p.id]).get(p.id, []) if full else []
    return ProblemOut(id=p.id, inspection_id=p.inspection_id, facility_id=p.facility_id,
                      facility_name=names.get(p.facility_id, ""), orgunit_code=p.orgunit_code,
                      category=inspection.category, inspected_on=inspection.inspected_on,
                      inspector=inspection.inspector, location=p.location, description=p.description,
                      severity=p.severity, responsible_person=p.responsible_person,
                      responsible_leader=p.responsible_leader, deadline=p.deadline, standard=p.standard,
                      status=p.status, closed_on=p.closed_on, overdue=queries.is_overdue(p, today),
                      days_overdue=queries.days_overdue(p, today), photos=[photo_out(x) for x in pics],
                      rectifications=[rect_out(r) for r in recs])


def inspection_out(session: Session, i: Inspection, *, with_problems: bool = False) -> InspectionOut:
    today = clock.today()
    problems = queries.problems_of(session=session, inspection_id=i.id) if with_problems else []
    return InspectionOut(id=i.id, facility_id=i.facility_id,
                         facility_name=queries.facility_names(session, {i.facility_id}).get(i.facility_id, ""),
                         orgunit_code=i.orgunit_code, category=i.category, inspected_on=i.inspected_on,
                         inspector=i.inspector, note=i.note,
                         problems=[problem_out(session, p, today) for p in problems])


@router.get("/inspections", response_model=list[InspectionOut])
def list_inspections(session: SessionDep, actor: Actor = Reader) -> list[InspectionOut]:
    return [inspection_out(session, i) for i in queries.list_inspections(session=session, actor=actor)]


@router.post("/inspections", response_model=InspectionOut, status_code=201)
def create_inspection(body: InspectionCreate, session: SessionDep, actor: Actor = Writer) -> InspectionOut:
    return inspection_out(session, service.create_inspection(session=session, inspection_in=body, actor=actor))


@router.get("/inspections/{inspection_id}", response_model=InspectionOut)
def read_inspection(inspection_id: Id64, session: SessionDep, actor: Actor = Reader) -> InspectionOut:
    row = queries.get_inspection(session=session, inspection_id=inspection_id, actor=actor)
    return inspection_out(session, row, with_problems=True)


@router.post("/inspections/{inspection_id}/problems", response_model=ProblemOut, status_code=201)
def add_problem(inspection_id: Id64, body: ProblemCreate, session: SessionDep, actor: Actor = Writer) -> ProblemOut:
    problem = service.add_problem(session=session, inspection_id=inspection_id, problem_in=body, actor=actor)
    return problem_out(session, problem, clock.today())


@router.get("/problems", response_model=list[ProblemOut])
def list_problems(session: SessionDep, view: str = Query("problems", description="problems | persons | "
                                                           "completion | overdue"),
                  actor: Actor = Reader) -> list[ProblemOut]:
    today = clock.today()
    rows = queries.ledger(session=session, actor=actor, view=view, today=today)
    return [problem_out(session, r.problem, today, full=False) for r in rows]


@router.get("/problems/{problem_id}", response_model=ProblemOut)
def read_problem(problem_id: Id64, session: SessionDep, actor: Actor = Reader) -> ProblemOut:
    return problem_out(session, queries.get_problem(session=session, problem_id=problem_id, actor=actor),
                       clock.today())


@router.post("/problems/{problem_id}/photos", response_model=list[PhotoOut], status_code=201)
async def add_photos(problem_id: Id64, request: Request, session: SessionDep,
                     photos: list[UploadFile] | None = File(None, description="JPEG, PNG or WebP images"),
                     actor: Actor = Writer) -> list[PhotoOut]:
    # Optional here so that the problem's scope is checked first; none sent is refused by the service.
    limit = rules().photo_max_bytes + 1  # a bigger file is refused by its size, not held in memory
    uploads = [service.Upload(await f.read(limit), f.filename, f.size) for f in photos or []]
    got = service.add_photos(session=session, problem_id=problem_id, photos=uploads, actor=actor,
                             store=store(request))
    return [photo_out(p) for p in got]


@router.post("/problems/{problem_id}/rectifications", response_model=ProblemOut, status_code=201)
def rectify(problem_id: Id64, body: RectificationCreate, session: SessionDep, actor: Actor = Writer) -> ProblemOut:
    service.rectify(session=session, problem_id=problem_id, rectification_in=body, actor=actor)
    return read_problem(problem_id, session, actor)


@router.post("/problems/{problem_id}/verify", response_model=ProblemOut)
def verify(problem_id: Id64, body: VerificationCreate, session: SessionDep, actor: Actor = Verifier) -> ProblemOut:
    problem = service.verify(session=session, problem_id=problem_id, verification_in=body, actor=actor)
    return problem_out(session, problem, clock.today())


@router.get("/escalations", response_model=list[EscalationOut])
def escalations(session: SessionDep, actor: Actor = Reader) -> list[EscalationOut]:
    return [EscalationOut(facility_id=e.facility_id, facility_name=e.facility_name,
                          responsible_leader=e.responsible_leader, overdue=e.overdue,
                          most_days_overdue=e.most_days_overdue, problem_ids=e.problem_ids)
            for e in queries.escalations(session=session, actor=actor)]
