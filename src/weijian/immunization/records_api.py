"""JSON routes of vaccination records and AEFI under /api/v1 (vaccine stock's are in stock.api). A child
outside the caller's scope answers 404, exactly as a missing one."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from weijian.accounts.deps import require
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.bounds import BoundedDate, Id64
from weijian.core.disclosure import disclosure_for
from weijian.core.web import SessionDep, SettingsDep, request_locale
from weijian.immunization import records
from weijian.immunization.records_schemas import (
    AefiIn,
    AefiOut,
    ChildRecordOut,
    HistoricalIn,
    RefusalIn,
    RefusalOut,
    VaccinationIn,
    VaccinationOut,
)

router = APIRouter(prefix="/api/v1", tags=["immunization: records"])


# --- vaccinations -------------------------------------------------------------------------------
@router.post("/immunization/vaccinations", response_model=VaccinationOut, status_code=201)
def record_vaccination(body: VaccinationIn, request: Request, session: SessionDep,
                       actor: Actor = Depends(require("immunization:write"))) -> VaccinationOut:
    values = body.model_dump()
    if not values.get("given_at"):
        values["given_at"] = clock.now()
    v = records.record_vaccination(session=session, actor=actor, **values)
    return VaccinationOut.of(v, request_locale(request))


@router.post("/immunization/vaccinations/historical", response_model=VaccinationOut, status_code=201)
def record_historical(body: HistoricalIn, request: Request, session: SessionDep,
                      actor: Actor = Depends(require("immunization:write"))) -> VaccinationOut:
    v = records.record_historical(session=session, actor=actor, **body.model_dump())
    return VaccinationOut.of(v, request_locale(request))


@router.get("/immunization/vaccinations/{vaccination_id}", response_model=VaccinationOut)
def read_vaccination(vaccination_id: Id64, request: Request, session: SessionDep,
                     actor: Actor = Depends(require("immunization:read"))) -> VaccinationOut:
    v, _child = records.get_vaccination(session=session, vaccination_id=vaccination_id, actor=actor)
    return VaccinationOut.of(v, request_locale(request))


@router.get("/residents/{resident_id}/vaccinations", response_model=ChildRecordOut)
def child_record(resident_id: Id64, request: Request, session: SessionDep, settings: SettingsDep,
                 actor: Actor = Depends(require("immunization:read")),
                 as_of: BoundedDate | None = None) -> ChildRecordOut:
    schedule = records.child_schedule(session=session, resident_id=resident_id, actor=actor, as_of=as_of,
                                      overdue_rule=settings.immunization_overdue_rule)
    return ChildRecordOut.of(schedule, request_locale(request), disclosure=disclosure_for(actor))


@router.post("/immunization/refusals", response_model=RefusalOut, status_code=201)
def record_refusal(body: RefusalIn, session: SessionDep,
                   actor: Actor = Depends(require("immunization:write"))) -> RefusalOut:
    return RefusalOut.of(records.record_refusal(session=session, actor=actor, **body.model_dump()))


# --- AEFI ---------------------------------------------------------------------------------------
@router.post("/immunization/aefi", response_model=AefiOut, status_code=201)
def report_aefi(body: AefiIn, session: SessionDep, actor: Actor = Depends(require("immunization:write"))) -> AefiOut:
    return AefiOut.of(records.report_aefi(session=session, actor=actor, **body.model_dump()))


@router.get("/immunization/aefi", response_model=list[AefiOut])
def list_aefi(session: SessionDep, actor: Actor = Depends(require("aefi:read")),
              period: str | None = Query(None, max_length=7, description="2025, 2025Q1 or 202503 (onset)")
              ) -> list[AefiOut]:
    return [AefiOut.of_row(r) for r in records.list_aefi(session=session, actor=actor, period=period)]
