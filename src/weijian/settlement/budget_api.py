"""JSON routes of the bundled budget under /api/v1/settlement: a year's report of spending against the
budget, setting the budget, the list of budgets. The county is the installation's (WEIJIAN_COUNTY_CODE)."""
from __future__ import annotations

from fastapi import APIRouter, Depends

from weijian.accounts.deps import ActorDep, require
from weijian.core.actor import Actor
from weijian.core.web import SessionDep, SettingsDep
from weijian.settlement import budget
from weijian.settlement.budget_schemas import BudgetIn, BudgetOut, ReportOut

router = APIRouter(prefix="/api/v1/settlement", tags=["settlement: bundled budget"])


@router.get("/budgets", response_model=list[BudgetOut])
def list_budgets(session: SessionDep, settings: SettingsDep, actor: ActorDep) -> list[BudgetOut]:
    return [BudgetOut.of(b) for b in budget.budgets(session=session, actor=actor, county_code=settings.county_code)]


@router.get("/budget/{year}", response_model=ReportOut)
def read_report(year: str, session: SessionDep, settings: SettingsDep, actor: ActorDep) -> ReportOut:
    return ReportOut.of(budget.report(session=session, actor=actor, county_code=settings.county_code, year=year))


@router.put("/budget/{year}", response_model=ReportOut)
def set_budget(year: str, body: BudgetIn, session: SessionDep, settings: SettingsDep,
               actor: Actor = Depends(require("budget:manage"))) -> ReportOut:
    budget.set_budget(session=session, actor=actor, county_code=settings.county_code, year=year,
                      amount=body.amount, note=body.note)
    return ReportOut.of(budget.report(session=session, actor=actor, county_code=settings.county_code, year=year))
