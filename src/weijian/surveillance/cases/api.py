"""JSON routes of case reports (传染病报告卡) under /api/v1/surveillance/case-reports: report, list, read,
revise (订正), delete with a reason, mark a duplicate."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session

from weijian.accounts.deps import ActorDep, require
from weijian.core.actor import Actor
from weijian.core.bounds import Id64, PageNo
from weijian.core.web import SessionDep, request_locale
from weijian.surveillance.cases import queries, service
from weijian.surveillance.cases.queries import CaseItem
from weijian.surveillance.cases.schemas import (
    CaseReportCreate,
    CaseReportDelete,
    CaseReportDuplicate,
    CaseReportOut,
    CaseReportPage,
    CaseReportRevise,
    RevisionOut,
)

router = APIRouter(prefix="/api/v1/surveillance", tags=["surveillance"])
PageSize = Annotated[int, Query(ge=1, le=queries.MAX_PAGE_SIZE)]


def out(item: CaseItem, locale: str, *, history: bool = False) -> CaseReportOut:
    r = item.report
    return CaseReportOut(
        id=r.id, resident_id=r.resident_id, resident_name=item.resident_name, disease=r.disease,
        disease_name=queries.disease_name(r.disease, locale), icd10=r.icd10, onset_date=r.onset_date,
        diagnosed_at=r.diagnosed_at, reported_at=r.reported_at, classification=r.classification,
        facility_id=r.facility_id, facility=item.facility, doctor_name=r.doctor_name, village_code=r.village_code,
        township_code=r.township_code, status=r.status, delete_reason=r.delete_reason, duplicate_of=r.duplicate_of,
        limit_hours=r.limit_hours, delay_hours=r.delay_hours, late=r.late, encounter_id=r.encounter_id, note=r.note,
        revisions=[RevisionOut(**v) for v in queries.revisions(r)] if history else [])


def _read(session: Session, actor: Actor, report_id: int, locale: str) -> CaseReportOut:
    return out(queries.get(session=session, report_id=report_id, actor=actor), locale, history=True)


@router.post("/case-reports", response_model=CaseReportOut, status_code=201)
def report_case(body: CaseReportCreate, request: Request, session: SessionDep,
                actor: Actor = Depends(require("case:report"))) -> CaseReportOut:
    card = service.report(session=session, report_in=body, actor=actor)
    return _read(session, actor, card.id, request_locale(request))


@router.get("/case-reports", response_model=CaseReportPage)
def list_case_reports(request: Request, session: SessionDep, actor: ActorDep, disease: str | None = None,
                      status: str | None = Query(None, description="active | deleted | duplicate"),
                      facility_id: Id64 | None = None, resident_id: Id64 | None = None, late: bool | None = None,
                      page: PageNo = 1, page_size: PageSize = 20) -> CaseReportPage:
    result = queries.list_reports(session=session, actor=actor, disease=disease, status=status,
                                  facility_id=facility_id, resident_id=resident_id, late=late, page=page,
                                  page_size=page_size)
    locale = request_locale(request)
    return CaseReportPage(items=[out(i, locale) for i in result.items], total=result.total, page=result.page,
                          page_size=result.page_size)


@router.get("/case-reports/{report_id}", response_model=CaseReportOut)
def read_case_report(report_id: Id64, request: Request, session: SessionDep, actor: ActorDep) -> CaseReportOut:
    return _read(session, actor, report_id, request_locale(request))


@router.post("/case-reports/{report_id}/revise", response_model=CaseReportOut)
def revise_case_report(report_id: Id64, body: CaseReportRevise, request: Request, session: SessionDep,
                       actor: ActorDep) -> CaseReportOut:
    service.revise(session=session, report_id=report_id, revise_in=body, actor=actor)
    return _read(session, actor, report_id, request_locale(request))


@router.post("/case-reports/{report_id}/delete", response_model=CaseReportOut)
def delete_case_report(report_id: Id64, body: CaseReportDelete, request: Request, session: SessionDep,
                       actor: ActorDep) -> CaseReportOut:
    service.delete(session=session, report_id=report_id, delete_in=body, actor=actor)
    return _read(session, actor, report_id, request_locale(request))


@router.post("/case-reports/{report_id}/duplicate", response_model=CaseReportOut)
def mark_case_report_duplicate(report_id: Id64, body: CaseReportDuplicate, request: Request, session: SessionDep,
                               actor: ActorDep) -> CaseReportOut:
    service.mark_duplicate(session=session, report_id=report_id, duplicate_in=body, actor=actor)
    return _read(session, actor, report_id, request_locale(request))
