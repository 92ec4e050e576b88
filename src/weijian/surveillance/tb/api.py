"""JSON routes of TB patient management under /api/v1/surveillance/tb: suspects (list, refer, result),
treatments (list, register, read, dose, first visit, follow-up, outcome) and today's worklist section. A
treatment or suspect outside the caller's scope answers 404, exactly as a missing one."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from weijian.accounts.deps import ActorDep, require
from weijian.core.actor import Actor
from weijian.core.bounds import Id64, PageNo
from weijian.core.web import SessionDep
from weijian.surveillance.tb import queries, service
from weijian.surveillance.tb.schemas import (
    DoseOut,
    DoseRecord,
    FirstVisitOut,
    FirstVisitRecord,
    FollowUpCreate,
    FollowUpOut,
    OutcomeRecord,
    SuspectCreate,
    SuspectOut,
    SuspectResult,
    TreatmentCreate,
    TreatmentDetail,
    TreatmentOut,
    TreatmentPage,
    WorkItemOut,
    WorklistOut,
)

router = APIRouter(prefix="/api/v1/surveillance/tb", tags=["surveillance: TB patient management"])


def treatment_visible(treatment_id: Id64, session: SessionDep, actor: ActorDep) -> int:
    """The treatment in the path, looked up before the body is read (404 outside the scope, whatever the body).
    Declared after the permission, which is checked first."""
    queries.treatment_in_scope(session=session, actor=actor, treatment_id=treatment_id)
    return treatment_id


def suspect_visible(suspect_id: Id64, session: SessionDep, actor: ActorDep) -> int:
    queries.suspect_in_scope(session=session, actor=actor, suspect_id=suspect_id)
    return suspect_id


def detail(view: queries.TreatmentView) -> TreatmentDetail:
    base = TreatmentOut.of(view.treatment, view.resident.name, view.resident.village_code)
    return TreatmentDetail(**base.model_dump(),
                           first_visit=FirstVisitOut.of(view.first_visit) if view.first_visit else None,
                           doses_due=view.doses_due, doses_taken=view.doses_taken, next_follow_up=view.next_follow_up,
                           doses=[DoseOut.of(d) for d in view.doses],
                           follow_ups=[FollowUpOut.of(f) for f in view.follow_ups])


# --- suspects ---------------------------------------------------------------------------------------
@router.get("/suspects", response_model=list[SuspectOut])
def list_suspects(session: SessionDep, actor: Actor = Depends(require("care:read")),
                  result: str | None = Query("pending", max_length=16)) -> list[SuspectOut]:
    return [SuspectOut.of(r.suspect, r.resident_name)
            for r in queries.list_suspects(session=session, actor=actor, result=result or None)]


@router.post("/suspects", response_model=SuspectOut, status_code=201)
def refer_suspect(body: SuspectCreate, session: SessionDep,
                  actor: Actor = Depends(require("care:write"))) -> SuspectOut:
    return SuspectOut.of(service.refer_suspect(session=session, suspect_in=body, actor=actor))


@router.post("/suspects/{suspect_id}/result", response_model=SuspectOut)
def suspect_result(body: SuspectResult, session: SessionDep, actor: Actor = Depends(require("care:write")),
                   suspect_id: int = Depends(suspect_visible)) -> SuspectOut:
    return SuspectOut.of(service.record_suspect_result(session=session, suspect_id=suspect_id, result_in=body,
                                                       actor=actor))


# --- treatments -------------------------------------------------------------------------------------
@router.get("/treatments", response_model=TreatmentPage)
def list_treatments(session: SessionDep, actor: Actor = Depends(require("care:read")),
                    status: str | None = Query("active", max_length=16),
                    village: str | None = Query(None, max_length=12),
                    resident_id: Id64 | None = None, page: PageNo = 1,
                    page_size: int = Query(50, ge=1, le=200)) -> TreatmentPage:
    rows, total = queries.list_treatments(session=session, actor=actor, status=status or None, village_code=village,
                                          resident_id=resident_id, page=page, page_size=page_size)
    return TreatmentPage(items=[TreatmentOut.of(r.treatment, r.resident_name, r.village_code) for r in rows],
                         total=total)


@router.post("/treatments", response_model=TreatmentDetail, status_code=201)
def register_treatment(body: TreatmentCreate, session: SessionDep,
                       actor: Actor = Depends(require("care:write"))) -> TreatmentDetail:
    t = service.register_treatment(session=session, treatment_in=body, actor=actor)
    return detail(queries.get_treatment(session=session, actor=actor, treatment_id=t.id))


@router.get("/treatments/{treatment_id}", response_model=TreatmentDetail)
def read_treatment(treatment_id: Id64, session: SessionDep,
                   actor: Actor = Depends(require("care:read"))) -> TreatmentDetail:
    return detail(queries.get_treatment(session=session, actor=actor, treatment_id=treatment_id))


@router.post("/treatments/{treatment_id}/doses", response_model=DoseOut, status_code=201)
def record_dose(body: DoseRecord, session: SessionDep, actor: Actor = Depends(require("care:write")),
                treatment_id: int = Depends(treatment_visible)) -> DoseOut:
    return DoseOut.of(service.record_dose(session=session, treatment_id=treatment_id, dose_in=body, actor=actor))


@router.post("/treatments/{treatment_id}/first-visit", response_model=FirstVisitOut)
def record_first_visit(body: FirstVisitRecord, session: SessionDep, actor: Actor = Depends(require("care:write")),
                       treatment_id: int = Depends(treatment_visible)) -> FirstVisitOut:
    return FirstVisitOut.of(service.record_first_visit(session=session, treatment_id=treatment_id, visit_in=body,
                                                       actor=actor))


@router.post("/treatments/{treatment_id}/follow-ups", response_model=FollowUpOut, status_code=201)
def record_follow_up(body: FollowUpCreate, session: SessionDep, actor: Actor = Depends(require("care:write")),
                     treatment_id: int = Depends(treatment_visible)) -> FollowUpOut:
    return FollowUpOut.of(service.record_follow_up(session=session, treatment_id=treatment_id, follow_up_in=body,
                                                   actor=actor))


@router.post("/treatments/{treatment_id}/outcome", response_model=TreatmentDetail)
def record_outcome(body: OutcomeRecord, session: SessionDep, actor: Actor = Depends(require("care:write")),
                   treatment_id: int = Depends(treatment_visible)) -> TreatmentDetail:
    service.record_outcome(session=session, treatment_id=treatment_id, outcome_in=body, actor=actor)
    return detail(queries.get_treatment(session=session, actor=actor, treatment_id=treatment_id))


@router.get("/worklist", response_model=WorklistOut)
def worklist(session: SessionDep, actor: Actor = Depends(require("care:read"))) -> WorklistOut:
    """Today's TB work in the caller's scope: doses due, first visits not made, follow-ups due."""
    w = queries.worklist_section(session=session, actor=actor)

    def out(items: list[queries.WorkItem]) -> list[WorkItemOut]:
        return [WorkItemOut(**vars(i)) for i in items]

    return WorklistOut(as_of=w.today, doses_due=out(w.doses), first_visits=out(w.first_visits),
                       follow_ups=out(w.follow_ups))
