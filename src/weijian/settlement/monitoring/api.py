"""JSON routes of poverty-risk monitoring under /api/v1/settlement: the residents above their line (the
monitored groups' by the installation's settings, everyone else's by data/monitoring.yaml), with their settled
stays and review status, identity numbers masked; and setting a person's review status."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from weijian.accounts.deps import require
from weijian.core.actor import Actor
from weijian.core.bounds import BoundedDate, Id64, PageNo
from weijian.core.commands import build
from weijian.core.web import SessionDep, SettingsDep
from weijian.settlement.monitoring import queries, service
from weijian.settlement.monitoring.schemas import ReviewBody, ReviewIn, ReviewOut, RiskListOut

router = APIRouter(prefix="/api/v1/settlement", tags=["settlement: poverty-risk monitoring"])


@router.get("/poverty-risk", response_model=RiskListOut)
def poverty_risk(session: SessionDep, settings: SettingsDep, actor: Actor = Depends(require("poverty_risk:read")),
                 as_of: BoundedDate | None = None, orgunit: str | None = Query(None, max_length=12),
                 page: PageNo = 1, page_size: int = Query(50, ge=1, le=queries.MAX_PAGE_SIZE),
                 category: str | None = Query(None, max_length=16), status: str | None = Query(None, max_length=16)
                 ) -> RiskListOut:
    """`as_of` defaults as on the page: today in the county (the 12 months up to it)."""
    result = queries.at_risk(session=session, actor=actor, threshold=settings.poverty_risk_threshold,
                             income_share=settings.poverty_risk_income_share, as_of=as_of, orgunit=orgunit,
                             page=page, page_size=page_size, category=category, status=status)
    return RiskListOut.of(result)


@router.put("/poverty-risk/{resident_id}/review", response_model=ReviewOut)
def set_review(resident_id: Id64, body: ReviewBody, session: SessionDep,
               actor: Actor = Depends(require("poverty_risk:review"))) -> ReviewOut:
    """Set a person's status: to_check (待核查), helped (已帮扶) or closed (已关闭); the last two with a note."""
    cmd = build(ReviewIn, body.model_dump(), resident_id=resident_id)
    return ReviewOut.of(service.set_status(session=session, actor=actor, review_in=cmd))
