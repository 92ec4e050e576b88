"""JSON routes of vaccination records and AEFI under /api/v1. A child outside the caller's scope answers 404,
exactly as a missing one."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from weijian.accounts.deps import require
from weijian.core import clock, locks
from weijian.core.actor import Actor
from weijian.core.bounds import BoundedDate, Id64
from weijian.core.disclosure import disclosure_for
from weijian.core.web import CorrectionReason, SessionDep, SettingsDep, request_locale
from weijian.immunization.records import queries, service
from weijian.immunization.records.schemas import (
    AefiOut,
    AefiReport,
    ChildRecordOut,
    HistoricalDose,
    RefusalCreate,
    RefusalOut,
    VaccinationCreate,
    VaccinationOut,
)

router = APIRouter(prefix="/api/v1", tags=["immunization: records"])


@router.post("/immunization/vaccinations", response_model=VaccinationOut, status_code=201)
def record_vaccination(body: VaccinationCreate, request: Request, session: SessionDep,
                       actor: Actor = Depends(require("immunization:write"))) -> VaccinationOut:
    if body.given_at is None:
        body = body.model_copy(update={"given_at": clock.now()})
    v = service.record_vaccination(session=session, vaccination_in=body, actor=actor)
    return VaccinationOut.of(v, request_locale(request))


@router.post("/immunization/vaccinations/historical", response_model=VaccinationOut, status_code=201)
def record_historical(body: HistoricalDose, request: Request, session: SessionDep,
                      correction_reason: CorrectionReason = None,
                      actor: Actor = Depends(require("immunization:write"))) -> VaccinationOut:
    locks.allow(session, actor, correction_reason)
    v = service.record_historical(session=session, historical_in=body, actor=actor)
    return VaccinationOut.of(v, request_locale(request))


@router.get("/immunization/vaccinations/{vaccination_id}", response_model=VaccinationOut)
def read_vaccination(vaccination_id: Id64, request: Request, session: SessionDep,
                     actor: Actor = Depends(require("immunization:read"))) -> VaccinationOut:
    v, _child = queries.get_vaccination(session=session, vaccination_id=vaccination_id, actor=actor)
    return VaccinationOut.of(v, request_locale(request))


@router.get("/residents/{resident_id}/vaccinations", response_model=ChildRecordOut)
def child_record(resident_id: Id64, request: Request, session: SessionDep, settings: SettingsDep,
                 actor: Actor = Depends(require("immunization:read")),
                 as_of: BoundedDate | None = None) -> ChildRecordOut:
    schedule = queries.child_schedule(session=session, resident_id=resident_id, actor=actor, as_of=as_of,
                                      overdue_rule=settings.immunization_overdue_rule)
    return ChildRecordOut.of(schedule, request_locale(request), disclosure=disclosure_for(actor))


@router.post("/immunization/refusals", response_model=RefusalOut, status_code=201)
def record_refusal(body: RefusalCreate, session: SessionDep,
                   actor: Actor = Depends(require("immunization:write"))) -> RefusalOut:
    return RefusalOut.of(service.record_refusal(session=session, refusal_in=body, actor=actor))


# --- AEFI ---------------------------------------------------------------------------------------
@router.post("/immunization/aefi", response_model=AefiOut, status_code=201)
def report_aefi(body: AefiReport, session: SessionDep,
                actor: Actor = Depends(require("immunization:write"))) -> AefiOut:
    return AefiOut.of(service.report_aefi(session=session, aefi_in=body, actor=actor))


@router.get("/immunization/aefi", response_model=list[AefiOut])
def list_aefi(session: SessionDep, actor: Actor = Depends(require("aefi:read")),
              period: str | None = Query(None, max_length=7, description="2025, 2025Q1 or 202503 (onset)")
              ) -> list[AefiOut]:
    return [AefiOut.of_row(r) for r in queries.list_aefi(session=session, actor=actor, period=period)]
