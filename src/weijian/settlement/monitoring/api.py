"""JSON route of poverty-risk monitoring under /api/v1/settlement: the residents of the monitored groups
above the threshold (the installation's settings), with their settled stays; identity numbers masked."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from weijian.accounts.deps import require
from weijian.core.actor import Actor
from weijian.core.bounds import BoundedDate, PageNo
from weijian.core.web import SessionDep, SettingsDep
from weijian.settlement.monitoring import queries
from weijian.settlement.monitoring.schemas import RiskListOut

router = APIRouter(prefix="/api/v1/settlement", tags=["settlement: poverty-risk monitoring"])


@router.get("/poverty-risk", response_model=RiskListOut)
def poverty_risk(session: SessionDep, settings: SettingsDep, actor: Actor = Depends(require("poverty_risk:read")),
                 as_of: BoundedDate | None = None, orgunit: str | None = Query(None, max_length=12),
                 page: PageNo = 1, page_size: int = Query(50, ge=1, le=queries.MAX_PAGE_SIZE)
                 ) -> RiskListOut:
    """`as_of` defaults as on the page: today in the county (the 12 months up to it)."""
    result = queries.at_risk(session=session, actor=actor, threshold=settings.poverty_risk_threshold,
                             income_share=settings.poverty_risk_income_share, as_of=as_of, orgunit=orgunit,
                             page=page, page_size=page_size)
    return RiskListOut.of(result)
