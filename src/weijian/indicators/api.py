"""JSON routes of the indicators under /api/v1/indicators: the definitions, values for an org unit and
period (or each unit of a level under it, or each month), the records behind a figure, and an xlsx export."""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from weijian.accounts.deps import ActorDep, require
from weijian.core.actor import Actor
from weijian.core.bounds import Id64, PageNo
from weijian.core.web import SessionDep, TranslatorDep, request_locale
from weijian.indicators import approval
from weijian.indicators import service as indicators_service
from weijian.indicators.schemas import (
    ApprovalCreate,
    ApprovalOut,
    ApprovalUnapprove,
    IndicatorOut,
    PopulationOut,
    PopulationSet,
    RecordOut,
    RecordsOut,
    ValueOut,
    ValuesOut,
)

router = APIRouter(prefix="/api/v1/indicators", tags=["indicators"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_PLAIN = [k for k in RecordOut.model_fields if k not in ("detail", "quantity")]  # a record's fields as they are


def reader(actor: ActorDep) -> Actor:
    """Figures are for statistics staff and clinicians (each inside their scope)."""
    indicators_service.require_reader(actor)
    return actor


@router.get("", response_model=list[IndicatorOut])
def list_indicators(request: Request, actor: Actor = Depends(reader),
                    category: str | None = Query(None, max_length=32)) -> list[IndicatorOut]:
    locale = request_locale(request)
    return [IndicatorOut.of(i, locale) for i in indicators_service.list_indicators(category)]


@router.get("/export.xlsx")
def export(session: SessionDep, tr: TranslatorDep, actor: Actor = Depends(reader),
           period: str = Query(..., max_length=16), orgunit: str | None = Query(None, max_length=16),
           level: str | None = Query(None, max_length=16), by_month: bool = Query(False),
           indicator: list[str] | None = Query(None, description="indicator ids (repeat); default all")) -> Response:
    values = indicators_service.compute(session=session, actor=actor, indicator_ids=indicator, period=period,
                                        orgunit=orgunit, level=level, by_month=by_month)
    body = indicators_service.export_xlsx(values, tr, approval.approved_notes(session=session, values=values, tr=tr))
    name = f"{tr('indicators.export.filename')}-{period}.xlsx"
    return Response(body, media_type=XLSX, headers={
        "Content-Disposition": f"attachment; filename=\"indicators-{period}.xlsx\"; filename*=UTF-8''{quote(name)}"})


@router.put("/population", response_model=PopulationOut)
def set_population(body: PopulationSet, session: SessionDep,
                   actor: Actor = Depends(require("stats:write"))) -> PopulationOut:
    """Enter (or replace) the statistics office's year-end resident population (常住人口) of an org unit."""
    row = indicators_service.set_population(session=session, population_in=body, actor=actor)
    return _population_out(row)


@router.get("/population", response_model=list[PopulationOut])
def list_populations(session: SessionDep, actor: ActorDep,
                     year: int | None = Query(None, ge=1949, le=2100)) -> list[PopulationOut]:
    """The year-end resident populations entered, in the actor's scope (one year, or all)."""
    return [_population_out(r) for r in indicators_service.list_populations(session=session, actor=actor, year=year)]


def _population_out(row: Any) -> PopulationOut:
    return PopulationOut(orgunit=row.orgunit_code, year=row.year, value=row.value, source=row.source,
                         entered_by=row.entered_by, entered_at=row.entered_at)


# --- approved periods (indicators.approval); before /{indicator_id}, which would take "approvals" -----
@router.get("/approvals", response_model=list[ApprovalOut])
def list_approvals(session: SessionDep, actor: Actor = Depends(reader),
                   orgunit: str | None = Query(None, max_length=16), period: str | None = Query(None, max_length=16),
                   active: bool = Query(False, description="only the approvals in force")) -> list[ApprovalOut]:
    """The approvals in the actor's scope, newest first, with the corrections recorded since each."""
    return [_approval_out(a) for a in approval.list_approvals(session=session, actor=actor, orgunit=orgunit,
                                                               period=period, active_only=active)]


@router.post("/approvals", response_model=ApprovalOut, status_code=201)
def approve(body: ApprovalCreate, session: SessionDep,
            actor: Actor = Depends(require(approval.APPROVE))) -> ApprovalOut:
    """Approve (lock) an org unit's figures for an ended period; its records change afterwards only as
    corrections with a reason, which the report shows beside the approved figure."""
    return _approval_out(approval.approve(session=session, actor=actor, approval_in=body))


@router.post("/approvals/{approval_id}/unapprove", response_model=ApprovalOut)
def unapprove(approval_id: Id64, body: ApprovalUnapprove, session: SessionDep,
              actor: Actor = Depends(require(approval.APPROVE))) -> ApprovalOut:
    """Lift an approval, with a reason (kept)."""
    return _approval_out(approval.unapprove(session=session, actor=actor, approval_id=approval_id,
                                            unapprove_in=body))


def _approval_out(a: approval.ApprovalView) -> ApprovalOut:
    return ApprovalOut(id=a.id, orgunit=a.orgunit, period=a.period, approved_at=a.approved_at,
                       approved_by=a.approved_by, note=a.note, active=a.active, unapproved_at=a.unapproved_at,
                       unapproved_by=a.unapproved_by, unapprove_reason=a.unapprove_reason, corrections=a.corrections)


@router.get("/{indicator_id}", response_model=IndicatorOut)
def read_indicator(indicator_id: str, request: Request, actor: Actor = Depends(reader)) -> IndicatorOut:
    return IndicatorOut.of(indicators_service.get_indicator(indicator_id), request_locale(request))


@router.get("/{indicator_id}/values", response_model=ValuesOut)
def values(indicator_id: str, request: Request, session: SessionDep, actor: Actor = Depends(reader),
           period: str = Query(..., max_length=16), orgunit: str | None = Query(None, max_length=16),
           level: str | None = Query(None, max_length=16), by_month: bool = Query(False)) -> ValuesOut:
    ind = indicators_service.get_indicator(indicator_id)
    rows = indicators_service.compute(session=session, actor=actor, indicator_ids=[ind.id], period=period,
                                      orgunit=orgunit, level=level, by_month=by_month)
    return ValuesOut(indicator=IndicatorOut.of(ind, request_locale(request)),
                     values=[ValueOut(**r.as_dict()) for r in rows])


@router.get("/{indicator_id}/records", response_model=RecordsOut)
def records(indicator_id: str, session: SessionDep, actor: Actor = Depends(reader),
            period: str = Query(..., max_length=16), orgunit: str | None = Query(None, max_length=16),
            page: PageNo = 1, page_size: int = Query(50, ge=1, le=indicators_service.MAX_PAGE_SIZE),
            which: str = Query("counted", alias="list", max_length=16,
                               description="counted (the numerator's records) or missing (a rate's denominator "
                                           "minus its numerator)")) -> RecordsOut:
    result = indicators_service.drilldown(session=session, actor=actor, indicator_id=indicator_id, orgunit=orgunit,
                                          period=period, page=page, page_size=page_size, which=which)
    return RecordsOut(indicator=result.indicator, orgunit=result.orgunit, period=result.period,
                      columns=result.columns, total=result.total, page=result.page, page_size=result.page_size,
                      which=result.which, lists=list(result.lists), per=result.per,
                      quantity=None if result.quantity is None else float(result.quantity),
                      rows=[RecordOut(**{k: r[k] for k in _PLAIN if k in r},
                                      detail=None if r["detail"] is None else str(r["detail"]),
                                      quantity=None if r["quantity"] is None else float(r["quantity"]))
                            for r in result.rows])
