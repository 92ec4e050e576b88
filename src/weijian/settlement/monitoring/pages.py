"""HTML page of poverty-risk monitoring: the flagged residents of the monitored groups (identity numbers
masked) with their settled stays, for a day and an area. Thin: the route parses, calls the service, renders;
a bad date or area re-renders the form with the error beside the field (422)."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from weijian.accounts.deps import require
from weijian.core import nav
from weijian.core.actor import Actor
from weijian.core.bounds import MAX_PAGE, whole_number
from weijian.core.commands import build
from weijian.core.errors import InvalidInput
from weijian.core.web import SessionDep, SettingsDep, TranslatorDep, form_errors, render, verify_csrf
from weijian.orgunits import service as orgunits_service
from weijian.residents import service as residents_service
from weijian.settlement.budget import pages as budget_pages  # noqa: F401 - registers the `yuan` filter
from weijian.settlement.monitoring import queries, rules
from weijian.settlement.monitoring.schemas import RiskQuery

router = APIRouter(dependencies=[Depends(verify_csrf)])
# This module's entries of the main navigation (added by the composition root, weijian.wiring).
NAV = (
    nav.NavItem("/settlement/poverty-risk", "settlement.monitoring.nav", "poverty_risk:read", 65),
)
PAGE_SIZE = 50


@router.get("/settlement/poverty-risk")
def poverty_risk_page(request: Request, session: SessionDep, settings: SettingsDep, tr: TranslatorDep,
                      actor: Actor = Depends(require("poverty_risk:read")), as_of: str = "", orgunit: str = "",
                      page: str = "1") -> Response:
    values = {"as_of": as_of.strip()[:10], "orgunit": orgunit.strip()[:12]}
    units = [u for u in orgunits_service.list_orgunits(session=session)
             if u.level != "village" and orgunits_service.in_scope(scope_code=actor.scope_code, code=u.code)]
    group_key = "zh" if tr.locale == "zh_CN" else "en"
    labels = {code: spec[group_key] for code, spec in residents_service.groups().items()}
    ctx: dict[str, Any] = {"values": values, "errors": {}, "units": units, "result": None, "group_labels": labels,
                           "monitored_groups": [labels[g] for g in rules.monitored_groups()]}
    number = whole_number(page, MAX_PAGE) or 1  # a page number that is no number shows the first page
    try:
        asked = build(RiskQuery, values)
        result = queries.at_risk(session=session, actor=actor, threshold=settings.poverty_risk_threshold,
                                 income_share=settings.poverty_risk_income_share, as_of=asked.as_of,
                                 orgunit=asked.orgunit, page=number, page_size=PAGE_SIZE)
    except InvalidInput as exc:
        ctx["errors"] = form_errors(exc, tr)
        return render(request, "settlement/poverty_risk.html", ctx, status_code=422)
    values["as_of"] = result.as_of.isoformat()
    ctx["result"] = result
    ctx["share_pct"] = f"{float(result.income_share * 100):g}"
    query = {k: v for k, v in values.items() if v}
    ctx["prev_href"] = f"?{urlencode({**query, 'page': number - 1})}" if number > 1 else None
    ctx["next_href"] = f"?{urlencode({**query, 'page': number + 1})}" if number < result.pages else None
    return render(request, "settlement/poverty_risk.html", ctx)
