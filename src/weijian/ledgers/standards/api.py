"""JSON routes of facility standardisation under /api/v1/ledgers/standards: the standards and their
checklists, the facilities a standard applies to with their latest assessment, the progress figure ("N of
M meet standard S as of D"), and assessments (ledger:read / ledger:write)."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from weijian.accounts.deps import require
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.bounds import BoundedDate, Id64
from weijian.core.web import SessionDep
from weijian.ledgers.standards import queries, service
from weijian.ledgers.standards.models import StandardAssessment
from weijian.ledgers.standards.rules import rules
from weijian.ledgers.standards.schemas import (
    AssessmentCreate,
    AssessmentOut,
    FacilityStatusOut,
    ItemResultOut,
    ProgressOut,
)
from weijian.residents import access

router = APIRouter(prefix="/api/v1/ledgers/standards", tags=["ledgers: facility standards"])


def assessment_out(a: StandardAssessment) -> AssessmentOut:
    std = rules().standards.get(a.standard)
    required = set(std.required) if std is not None else set()
    return AssessmentOut(id=a.id, facility_id=a.facility_id, standard=a.standard, assessed_on=a.assessed_on,
                         assessor=a.assessor, meets=a.meets, failed_required=service.failed_required(a), note=a.note,
                         results=[ItemResultOut(item=r.item, passed=r.passed, required=r.item in required,
                                                evidence=r.evidence) for r in a.results])


@router.get("", response_model=dict)
def standards(actor: Actor = Depends(require("ledger:read"))) -> dict[str, Any]:
    """The standards of data/standards.yaml with their checklists."""
    return {"version": rules().version,
            "standards": {code: s.model_dump(mode="json") for code, s in rules().standards.items()}}


@router.get("/{standard}/facilities", response_model=list[FacilityStatusOut])
def facilities(standard: str, session: SessionDep, as_of: BoundedDate | None = None,
               orgunit: str | None = Query(None, max_length=12),
               actor: Actor = Depends(require("ledger:read"))) -> list[FacilityStatusOut]:
    queries.standard_or_refuse(standard)
    rows = service.facility_statuses(session=session, actor=actor, standard=standard, as_of=as_of or clock.today(),
                                     orgunit_code=orgunit)
    return [FacilityStatusOut(facility_id=r.facility.id, facility_name=r.facility.name,
                              orgunit_code=r.facility.orgunit_code,
                              assessed_on=r.latest.assessed_on if r.latest else None, meets=r.meets,
                              assessment_id=r.latest.id if r.latest else None) for r in rows]


@router.get("/{standard}/progress", response_model=ProgressOut)
def progress(standard: str, session: SessionDep, as_of: BoundedDate | None = None,
             orgunit: str | None = Query(None, max_length=12),
             actor: Actor = Depends(require("ledger:read"))) -> ProgressOut:
    """How many facilities meet the standard as of the day, in the org unit asked (default: the caller's
    scope; one outside it is refused)."""
    queries.standard_or_refuse(standard)
    unit = access.orgunit_target(session=session, actor=actor, orgunit=orgunit, default_county=True)
    p = service.progress(session=session, standard=standard, as_of=as_of or clock.today(), orgunit_code=unit.code)
    return ProgressOut(standard=p.standard, as_of=p.as_of, orgunit_code=p.orgunit_code, met=p.met, total=p.total,
                       share=p.share)


@router.post("/assessments", response_model=AssessmentOut, status_code=201)
def create_assessment(body: AssessmentCreate, session: SessionDep,
                      actor: Actor = Depends(require("ledger:write"))) -> AssessmentOut:
    return assessment_out(service.record_assessment(session=session, assessment_in=body, actor=actor))


@router.get("/assessments/{assessment_id}", response_model=AssessmentOut)
def read_assessment(assessment_id: Id64, session: SessionDep,
                    actor: Actor = Depends(require("ledger:read"))) -> AssessmentOut:
    a, _ = service.get_assessment(session=session, actor=actor, assessment_id=assessment_id)
    return assessment_out(a)
