"""JSON routes of severe mental illness management under /api/v1/care/mental: the register, registering a
patient, one patient (with the follow-ups and the basis of the read), a follow-up, closing. Only the
patient's own team (mental:read / mental:write) reaches a record; any other answers 404, exactly as a
missing one, and the attempt is audited."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from weijian.accounts.deps import require
from weijian.care.mental import queries, service
from weijian.care.mental.schemas import (
    ConsentRecord,
    FollowUpCreate,
    FollowUpOut,
    PatientClose,
    PatientDetail,
    PatientOut,
    PatientRegister,
    RegisterOut,
)
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.bounds import BoundedDate, Id64
from weijian.core.web import SessionDep

router = APIRouter(prefix="/api/v1/care/mental", tags=["care: severe mental illness"])


def patient_writable(patient_id: Id64, session: SessionDep, actor: Actor = Depends(require("mental:write"))) -> int:
    """The patient in the path, looked up before the body is read."""
    queries.patient_in_scope(session=session, actor=actor, patient_id=patient_id, permission="mental:write")
    return patient_id


def _detail(view: queries.PatientView) -> PatientDetail:
    out = PatientOut.of(view.patient, resident_name=view.resident.name, village_code=view.resident.village_code,
                        due_status=view.due_status)
    return PatientDetail(**out.model_dump(), basis=view.basis, follow_ups=[FollowUpOut.of(f) for f in view.follow_ups])


@router.get("/register", response_model=RegisterOut, response_model_by_alias=True)
def register(session: SessionDep, actor: Actor = Depends(require("mental:read")), as_of: BoundedDate | None = None,
             village: str | None = Query(None, max_length=12), status: str = Query("active", max_length=16),
             due: list[str] | None = Query(None)) -> RegisterOut:
    """The patients in the caller's area with their next follow-up's status (overdue, due, upcoming)."""
    as_of = as_of or clock.today()
    items = queries.register(session=session, actor=actor, as_of=as_of, village_code=village, status=status,
                             statuses=set(due) if due else None)
    counts = {s: sum(1 for i in items if i.due_status == s) for s in ("overdue", "due", "upcoming")}
    return RegisterOut(as_of=as_of, counts=counts, items=[
        PatientOut.of(i.patient, resident_name=i.resident_name, village_code=i.village_code, due_status=i.due_status)
        for i in items])


@router.post("/patients", response_model=PatientDetail, status_code=201, response_model_by_alias=True)
def create_patient(body: PatientRegister, session: SessionDep,
                   actor: Actor = Depends(require("mental:write"))) -> PatientDetail:
    if body.registered_on is None:
        body = body.model_copy(update={"registered_on": clock.today()})
    p = service.register_patient(session=session, patient_in=body, actor=actor)
    return _detail(queries.get_patient(session=session, patient_id=p.id, actor=actor, as_of=clock.today()))


@router.get("/patients/{patient_id}", response_model=PatientDetail, response_model_by_alias=True)
def read_patient(patient_id: Id64, session: SessionDep, actor: Actor = Depends(require("mental:read")),
                 as_of: BoundedDate | None = None) -> PatientDetail:
    return _detail(queries.get_patient(session=session, patient_id=patient_id, actor=actor,
                                       as_of=as_of or clock.today()))


@router.post("/patients/{patient_id}/follow-ups", response_model=FollowUpOut, status_code=201,
             response_model_by_alias=True)
def create_follow_up(body: FollowUpCreate, session: SessionDep, actor: Actor = Depends(require("mental:write")),
                     patient_id: int = Depends(patient_writable)) -> FollowUpOut:
    return FollowUpOut.of(service.record_follow_up(session=session, patient_id=patient_id, follow_up_in=body,
                                                   actor=actor))


@router.post("/patients/{patient_id}/consent", response_model=PatientDetail, response_model_by_alias=True)
def consent(body: ConsentRecord, session: SessionDep, actor: Actor = Depends(require("mental:write")),
            patient_id: int = Depends(patient_writable)) -> PatientDetail:
    """The informed consent signed after the registration (follow-ups need it: mental.yaml)."""
    service.record_consent(session=session, patient_id=patient_id, consent_in=body, actor=actor)
    return _detail(queries.get_patient(session=session, patient_id=patient_id, actor=actor, as_of=clock.today()))


@router.post("/patients/{patient_id}/close", response_model=PatientDetail, response_model_by_alias=True)
def close(body: PatientClose, session: SessionDep, actor: Actor = Depends(require("mental:write")),
          patient_id: int = Depends(patient_writable)) -> PatientDetail:
    service.close_patient(session=session, patient_id=patient_id, close_in=body, actor=actor)
    return _detail(queries.get_patient(session=session, patient_id=patient_id, actor=actor, as_of=clock.today()))
