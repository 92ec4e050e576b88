"""Setting the medical community's bundled budget (医保打包支付) for a year: the county's own users with
`budget:manage`; a change is logged with the amount before (the figures against it: budget.queries)."""
from __future__ import annotations

from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.core.actor import Actor
from weijian.core.errors import NotFound
from weijian.orgunits import service as orgunits_service
from weijian.settlement.budget.queries import county_of, get_budget
from weijian.settlement.budget.schemas import BudgetIn
from weijian.settlement.models import BundledBudget


def manager_county(actor: Actor, county_code: str) -> str:
    """The county whose budget the actor may set, or Forbidden: `budget:manage`, at the county's own level.
    A form asks this before reading its values, so a refusal of who is never hidden behind one of what."""
    actor.require("budget:manage")
    return county_of(actor, county_code)


def set_budget(*, session: Session, actor: Actor, county_code: str, budget_in: BudgetIn) -> BundledBudget:
    """Set (or change) the community's budget for a year. Changing one is logged with the amount before."""
    county = manager_county(actor, county_code)
    y, value, text = budget_in.year, budget_in.amount, budget_in.note
    if orgunits_service.get(session=session, code=county) is None:
        raise NotFound("orgunits.errors.orgunit_not_found", code=county)
    budget = get_budget(session=session, county_code=county, year=y)
    before = None
    if budget is None:
        budget = BundledBudget(orgunit_code=county, year=y, amount=value, note=text, created_by=actor.username)
        session.add(budget)
        action = "create"
    else:
        before = budget.amount
        budget.amount, budget.note, budget.created_by = value, text, actor.username
        action = "update"
    session.flush()
    accounts_service.audit(session=session, actor=actor, action=action, entity_type="bundled_budget",
                           entity_id=budget.id, basis="administration",
                           detail={"year": y, "amount": str(value), "before": None if before is None else str(before)})
    return budget
