"""JSON routes of the bundled budget under /api/v1/settlement: a year's report of spending against the
budget, setting the budget, the list of budgets. The county is the installation's (WEIJIAN_COUNTY_CODE)."""
from __future__ import annotations

from fastapi import APIRouter, Depends

from weijian.accounts.deps import ActorDep, require
from weijian.core.actor import Actor
from weijian.core.commands import build
from weijian.core.web import SessionDep, SettingsDep
from weijian.settlement.budget import queries, service
from weijian.settlement.budget.schemas import BudgetBody, BudgetIn, BudgetOut, BudgetYear, ReportOut

router = APIRouter(prefix="/api/v1/settlement", tags=["settlement: bundled budget"])


@router.get("/budgets", response_model=list[BudgetOut])
def list_budgets(session: SessionDep, settings: SettingsDep, actor: ActorDep) -> list[BudgetOut]:
    return [BudgetOut.of(b) for b in queries.budgets(session=session, actor=actor, county_code=settings.county_code)]


@router.get("/budget/{year}", response_model=ReportOut)
def read_report(year: BudgetYear, session: SessionDep, settings: SettingsDep, actor: ActorDep) -> ReportOut:
    return ReportOut.of(queries.report(session=session, actor=actor, county_code=settings.county_code, year=year))


@router.put("/budget/{year}", response_model=ReportOut)
def set_budget(year: BudgetYear, body: BudgetBody, session: SessionDep, settings: SettingsDep,
               actor: Actor = Depends(require("budget:manage"))) -> ReportOut:
    cmd = build(BudgetIn, body.model_dump(), year=year)
    service.set_budget(session=session, actor=actor, county_code=settings.county_code, budget_in=cmd)
    return ReportOut.of(queries.report(session=session, actor=actor, county_code=settings.county_code, year=year))
