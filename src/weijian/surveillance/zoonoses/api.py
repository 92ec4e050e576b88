"""JSON routes of zoonoses under /api/v1/surveillance/zoonoses: exposures (care:read / care:write, a
resident in scope, audited), screening campaigns and the by-village summary (emergency:read / write)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from weijian.accounts.deps import require
from weijian.core.actor import Actor
from weijian.core.bounds import BoundedDate, Id64
from weijian.core.web import SessionDep
from weijian.surveillance.zoonoses import queries, service
from weijian.surveillance.zoonoses.models import ScreeningCampaign
from weijian.surveillance.zoonoses.schemas import (
    CampaignCreate,
    CampaignOut,
    ExposureCreate,
    ExposureOut,
    VillageRow,
)

router = APIRouter(prefix="/api/v1/surveillance/zoonoses", tags=["surveillance"])


def exposure_out(item: queries.ExposureItem) -> ExposureOut:
    e = item.exposure
    return ExposureOut(id=e.id, resident_id=e.resident_id, resident_name=item.resident_name, disease=e.disease,
                       exposure_kinds=item.kinds, village_code=e.village_code, onset_date=e.onset_date,
                       diagnosis_date=e.diagnosis_date, case_report_id=e.case_report_id, note=e.note)


def campaign_out(c: ScreeningCampaign) -> CampaignOut:
    return CampaignOut.model_validate(c, from_attributes=True)


@router.get("/exposures", response_model=list[ExposureOut])
def list_exposures(session: SessionDep, resident_id: Id64 | None = None, disease: str | None = None,
                   actor: Actor = Depends(require("care:read"))) -> list[ExposureOut]:
    items = queries.list_exposures(session=session, actor=actor, resident_id=resident_id, disease=disease)
    return [exposure_out(i) for i in items]


@router.post("/exposures", response_model=ExposureOut, status_code=201)
def create_exposure(body: ExposureCreate, session: SessionDep,
                    actor: Actor = Depends(require("care:write"))) -> ExposureOut:
    row = service.create_exposure(session=session, exposure_in=body, actor=actor)
    item = next(i for i in queries.list_exposures(session=session, actor=actor, resident_id=row.resident_id)
                if i.exposure.id == row.id)
    return exposure_out(item)


@router.get("/campaigns", response_model=list[CampaignOut])
def list_campaigns(session: SessionDep, disease: str | None = None,
                   actor: Actor = Depends(require("emergency:read"))) -> list[CampaignOut]:
    return [campaign_out(c) for c in queries.list_campaigns(session=session, actor=actor, disease=disease)]


@router.post("/campaigns", response_model=CampaignOut, status_code=201)
def create_campaign(body: CampaignCreate, session: SessionDep,
                    actor: Actor = Depends(require("emergency:write"))) -> CampaignOut:
    return campaign_out(service.create_campaign(session=session, campaign_in=body, actor=actor))


@router.get("/summary", response_model=list[VillageRow])
def summary(session: SessionDep, disease: str | None = None,
            date_from: BoundedDate | None = Query(None, alias="from"),
            date_to: BoundedDate | None = Query(None, alias="to"),
            actor: Actor = Depends(require("emergency:read"))) -> list[VillageRow]:
    rows = queries.by_village(session=session, actor=actor, disease=disease, date_from=date_from, date_to=date_to)
    return [VillageRow(village_code=r.village_code, village_name=r.village_name, disease=r.disease,
                       campaigns=r.campaigns, screened=r.screened, positives=r.positives,
                       positive_rate=r.positive_rate, exposures=r.exposures) for r in rows]
