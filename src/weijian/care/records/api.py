"""JSON routes of the health record under /api/v1: encounters (and discharge), health checks, screenings,
a resident's timeline, the ICD-10 search, and the county-retention and primary-care-share figures.
A record outside the caller's scope answers 404, exactly as a missing one."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from weijian.accounts.deps import ActorDep, require
from weijian.care import icd10
from weijian.care.records import figures, queries, service
from weijian.care.records import timeline as record_timeline
from weijian.care.records.schemas import (
    DischargeIn,
    EncounterCorrection,
    EncounterCreate,
    EncounterOut,
    FigureOut,
    HealthCheckCorrection,
    HealthCheckCreate,
    HealthCheckOut,
    Icd10Out,
    ScreeningCorrection,
    ScreeningCreate,
    ScreeningOut,
    TimelineItemOut,
    TimelineOut,
    VoidIn,
)
from weijian.core import locks
from weijian.core.actor import Actor
from weijian.core.bounds import Id64, PageNo
from weijian.core.web import CorrectionReason, SessionDep, request_locale

router = APIRouter(prefix="/api/v1", tags=["care: health record"])


# --- encounters ---------------------------------------------------------------------------------
@router.post("/encounters", response_model=EncounterOut, status_code=201)
def create_encounter(body: EncounterCreate, request: Request, session: SessionDep,
                     actor: Actor = Depends(require("care:write"))) -> EncounterOut:
    encounter = service.create_encounter(session=session, encounter_in=body, actor=actor)
    out = EncounterOut.of(encounter, request_locale(request))
    if actor.can("case:report"):  # 传染病报告卡 for a notifiable diagnosis
        out.case_report_prompts = service.case_report_prompts(
            session=session, encounter_id=encounter.id, resident_id=encounter.resident_id,
            codes=[d.code for d in encounter.diagnoses], on=encounter.start_date, locale=request_locale(request))
    return out


@router.get("/encounters", response_model=list[EncounterOut])
def list_encounters(request: Request, session: SessionDep, resident_id: Id64,
                    actor: Actor = Depends(require("care:read")),
                    type: str | None = Query(None, max_length=16),
                    limit: int = Query(100, ge=1, le=500)) -> list[EncounterOut]:
    items = queries.list_encounters(session=session, resident_id=resident_id, actor=actor, type=type, limit=limit)
    locale = request_locale(request)
    return [_shown(EncounterOut.of(e, locale), actor) for e in items]


@router.get("/encounters/{encounter_id}", response_model=EncounterOut)
def read_encounter(encounter_id: Id64, request: Request, session: SessionDep,
                   actor: Actor = Depends(require("care:read"))) -> EncounterOut:
    encounter = queries.get_encounter(session=session, encounter_id=encounter_id, actor=actor)
    return _shown(EncounterOut.of(encounter, request_locale(request)), actor)


def _shown(out: EncounterOut, actor: Actor) -> EncounterOut:
    """The encounter as the reader may see it: a diagnosis records.diagnosis_hidden hides is left out."""
    hidden = queries.hidden_codes(actor, [d.code for d in out.diagnoses])
    if not hidden:
        return out
    return out.model_copy(update={"diagnoses": [d for d in out.diagnoses if d.code not in hidden],
                                  "primary_diagnosis": None if out.primary_diagnosis in hidden
                                  else out.primary_diagnosis})


@router.patch("/encounters/{encounter_id}/discharge", response_model=EncounterOut)
def discharge(encounter_id: Id64, body: DischargeIn, request: Request, session: SessionDep,
              actor: Actor = Depends(require("care:write"))) -> EncounterOut:
    encounter = service.discharge(session=session, encounter_id=encounter_id, discharge_in=body, actor=actor)
    return EncounterOut.of(encounter, request_locale(request))


@router.patch("/encounters/{encounter_id}/correction", response_model=EncounterOut)
def correct_encounter(encounter_id: Id64, body: EncounterCorrection, request: Request, session: SessionDep,
                      correction_reason: CorrectionReason = None,
                      actor: Actor = Depends(require("care:write"))) -> EncounterOut:
    locks.allow(session, actor, correction_reason)
    encounter = service.correct_encounter(session=session, encounter_id=encounter_id, correction_in=body,
                                          actor=actor)
    return EncounterOut.of(encounter, request_locale(request))


@router.post("/encounters/{encounter_id}/void", response_model=EncounterOut)
def void_encounter(encounter_id: Id64, body: VoidIn, request: Request, session: SessionDep,
                   correction_reason: CorrectionReason = None,
                   actor: Actor = Depends(require("care:write"))) -> EncounterOut:
    locks.allow(session, actor, correction_reason)
    voided = service.void_entry(session=session, entry_kind="encounter", entry_id=encounter_id, void_in=body,
                                actor=actor)
    return EncounterOut.of(voided.entry, request_locale(request))


# --- health checks and screenings ---------------------------------------------------------------
@router.post("/health-checks/{health_check_id}/void", response_model=HealthCheckOut)
def void_health_check(health_check_id: Id64, body: VoidIn, session: SessionDep,
                      correction_reason: CorrectionReason = None,
                      actor: Actor = Depends(require("care:write"))) -> HealthCheckOut:
    locks.allow(session, actor, correction_reason)
    return HealthCheckOut.of(service.void_entry(session=session, entry_kind="health_check",
                                                entry_id=health_check_id, void_in=body, actor=actor).entry)


@router.post("/screenings/{screening_id}/void", response_model=ScreeningOut)
def void_screening(screening_id: Id64, body: VoidIn, session: SessionDep,
                   correction_reason: CorrectionReason = None,
                   actor: Actor = Depends(require("care:write"))) -> ScreeningOut:
    locks.allow(session, actor, correction_reason)
    return ScreeningOut.of(service.void_entry(session=session, entry_kind="screening", entry_id=screening_id,
                                              void_in=body, actor=actor).entry)


@router.patch("/health-checks/{health_check_id}/correction", response_model=HealthCheckOut)
def correct_health_check(health_check_id: Id64, body: HealthCheckCorrection, session: SessionDep,
                         correction_reason: CorrectionReason = None,
                         actor: Actor = Depends(require("care:write"))) -> HealthCheckOut:
    locks.allow(session, actor, correction_reason)
    return HealthCheckOut.of(service.correct_health_check(session=session, health_check_id=health_check_id,
                                                          correction_in=body, actor=actor))


@router.patch("/screenings/{screening_id}/correction", response_model=ScreeningOut)
def correct_screening(screening_id: Id64, body: ScreeningCorrection, session: SessionDep,
                      correction_reason: CorrectionReason = None,
                      actor: Actor = Depends(require("care:write"))) -> ScreeningOut:
    locks.allow(session, actor, correction_reason)
    return ScreeningOut.of(service.correct_screening(session=session, screening_id=screening_id, correction_in=body,
                                                     actor=actor))


@router.post("/health-checks", response_model=HealthCheckOut, status_code=201)
def create_health_check(body: HealthCheckCreate, session: SessionDep,
                        actor: Actor = Depends(require("care:write"))) -> HealthCheckOut:
    return HealthCheckOut.of(service.create_health_check(session=session, health_check_in=body,
                                                               actor=actor))


@router.get("/health-checks/{health_check_id}", response_model=HealthCheckOut)
def read_health_check(health_check_id: Id64, session: SessionDep,
                      actor: Actor = Depends(require("care:read"))) -> HealthCheckOut:
    return HealthCheckOut.of(queries.get_health_check(session=session, health_check_id=health_check_id, actor=actor))


@router.post("/screenings", response_model=ScreeningOut, status_code=201)
def create_screening(body: ScreeningCreate, session: SessionDep,
                     actor: Actor = Depends(require("care:write"))) -> ScreeningOut:
    return ScreeningOut.of(service.create_screening(session=session, screening_in=body, actor=actor))


@router.get("/screenings/{screening_id}", response_model=ScreeningOut)
def read_screening(screening_id: Id64, session: SessionDep,
                   actor: Actor = Depends(require("care:read"))) -> ScreeningOut:
    return ScreeningOut.of(queries.get_screening(session=session, screening_id=screening_id, actor=actor))


# --- timeline -----------------------------------------------------------------------------------
@router.get("/residents/{resident_id}/timeline", response_model=TimelineOut)
def timeline(resident_id: Id64, request: Request, session: SessionDep,
             actor: Actor = Depends(require("care:read")),
             types: str | None = Query(None, max_length=200, description="kinds, comma-separated"),
             facility_id: Id64 | None = None, page: PageNo = 1,
             page_size: int = Query(50, ge=1, le=record_timeline.MAX_PAGE_SIZE)) -> TimelineOut:
    result = record_timeline.timeline(session=session, resident_id=resident_id, actor=actor, types=types,
                                      facility_id=facility_id, page=page, page_size=page_size,
                                      locale=request_locale(request))
    return TimelineOut(
        resident_id=resident_id, page=result.page, page_size=result.page_size, has_next=result.has_next,
        basis=result.basis,
        items=[TimelineItemOut(date=i.date, kind=i.kind, summary=i.summary, link=i.link, facility_id=i.facility_id,
                               facility_name=i.facility_name, entity_id=i.entity_id, data=i.data)
               for i in result.items])


# --- ICD-10 -------------------------------------------------------------------------------------
@router.get("/icd10", response_model=list[Icd10Out])
def search_icd10(request: Request, actor: ActorDep, q: str = Query("", max_length=50),
                 limit: int = Query(20, ge=1, le=100)) -> list[Icd10Out]:
    locale = request_locale(request)
    return [Icd10Out.of(e, locale) for e in icd10.search(q, limit=limit)]


# --- figures ------------------------------------------------------------------------------------
@router.get("/care/figures/county_retention_rate", response_model=FigureOut)
def county_retention_rate(session: SessionDep, actor: Actor = Depends(require("stats:read")),
                          period: str = Query(..., max_length=7),
                          orgunit: str | None = Query(None, max_length=12)) -> dict[str, Any]:
    return figures.county_retention_rate(session=session, actor=actor, period=period, orgunit=orgunit).as_dict()


@router.get("/care/figures/primary_care_share", response_model=FigureOut)
def primary_care_share(session: SessionDep, actor: Actor = Depends(require("stats:read")),
                       period: str = Query(..., max_length=7),
                       orgunit: str | None = Query(None, max_length=12)) -> dict[str, Any]:
    return figures.primary_care_share(session=session, actor=actor, period=period, orgunit=orgunit).as_dict()
