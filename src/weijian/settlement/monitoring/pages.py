"""HTML page of poverty-risk monitoring: the flagged residents (identity numbers masked) — of the monitored
groups and ordinary residents above the rural-income line — with their settled stays and review status, for
a day, an area, a category and a status; each person's status set from the list (poverty_risk:review); the
list as a workbook. Thin: each route parses, calls the service, renders; a bad filter or review re-renders
the page with the error beside the field (422), the input kept."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from weijian.accounts.deps import require
from weijian.core import clock, nav, web
from weijian.core.actor import Actor
from weijian.core.bounds import MAX_PAGE, whole_number
from weijian.core.commands import build
from weijian.core.errors import InvalidInput
from weijian.core.i18n import Translator
from weijian.core.settings import Settings
from weijian.core.web import SessionDep, SettingsDep, TranslatorDep
from weijian.orgunits import service as orgunits_service
from weijian.residents import service as residents_service
from weijian.settlement.budget import pages as budget_pages  # noqa: F401 - registers the `yuan` filter
from weijian.settlement.monitoring import export, queries, rules, service
from weijian.settlement.monitoring.schemas import ReviewIn, RiskQuery

router = APIRouter(dependencies=[Depends(web.verify_csrf)])
# This module's entries of the main navigation (added by the composition root, weijian.wiring).
NAV = (
    nav.NavItem("/settlement/poverty-risk", "settlement.monitoring.nav", "poverty_risk:read", 65),
)
PAGE_SIZE = 50
FILTERS = ("as_of", "orgunit", "category", "status")


def local_time(value: datetime) -> str:
    """A stored (UTC) time as the county reads it: its local date and minute."""
    return value.astimezone(clock.zone()).strftime("%Y-%m-%d %H:%M")


web.templates.env.filters.setdefault("local_time", local_time)


def _labels(tr: Translator) -> dict[str, str]:
    group_key = "zh" if tr.locale == "zh_CN" else "en"
    return {code: spec[group_key] for code, spec in residents_service.groups().items()}


def _list(session: Session, actor: Actor, settings: Settings, asked: RiskQuery, page: int, page_size: int,
          audit_action: str = "read") -> queries.RiskList:
    return queries.at_risk(session=session, actor=actor, threshold=settings.poverty_risk_threshold,
                           income_share=settings.poverty_risk_income_share, as_of=asked.as_of,
                           orgunit=asked.orgunit, category=asked.category, status=asked.status, page=page,
                           page_size=page_size, audit_action=audit_action)


def _page(request: Request, session: Session, settings: Settings, tr: Translator, actor: Actor,
          values: dict[str, str], page: str, review: dict[str, Any] | None = None,
          saved: int | None = None) -> Response:
    """The list for `values` (the filters); `review` re-shows a refused review form (resident, its values, its
    errors)."""
    units = [u for u in orgunits_service.list_orgunits(session=session)
             if u.level != "village" and orgunits_service.in_scope(scope_code=actor.scope_code, code=u.code)]
    labels = _labels(tr)
    ctx: dict[str, Any] = {"values": values, "errors": {}, "units": units, "result": None, "group_labels": labels,
                           "monitored_groups": [labels[g] for g in rules.monitored_groups()],
                           "can_review": actor.can("poverty_risk:review"), "review": review or {},
                           "statuses": queries.STATUSES, "categories": queries.CATEGORIES, "saved": saved}
    number = whole_number(page, MAX_PAGE) or 1  # a page number that is no number shows the first page
    try:
        asked = build(RiskQuery, values)
        result = _list(session, actor, settings, asked, number, PAGE_SIZE)
    except InvalidInput as exc:
        ctx["errors"] = web.form_errors(exc, tr)
        return web.render(request, "settlement/poverty_risk.html", ctx, status_code=422)
    values["as_of"] = result.as_of.isoformat()
    ctx["result"] = result
    ctx["share_pct"] = f"{float(result.income_share * 100):g}"
    ctx["ordinary_pct"] = f"{float(result.ordinary_share * 100):g}" if result.ordinary_share is not None else ""
    query = {k: v for k, v in values.items() if v}
    ctx["query"] = urlencode({**query, "page": number})
    ctx["export_href"] = f"/settlement/poverty-risk/export.xlsx?{urlencode(query)}"
    ctx["prev_href"] = f"?{urlencode({**query, 'page': number - 1})}" if number > 1 else None
    ctx["next_href"] = f"?{urlencode({**query, 'page': number + 1})}" if number < result.pages else None
    return web.render(request, "settlement/poverty_risk.html", ctx, status_code=422 if review else 200)


@router.get("/settlement/poverty-risk")
def poverty_risk_page(request: Request, session: SessionDep, settings: SettingsDep, tr: TranslatorDep,
                      actor: Actor = Depends(require("poverty_risk:read")), as_of: str = "", orgunit: str = "",
                      category: str = "", status: str = "", page: str = "1", saved: str = "") -> Response:
    values = {"as_of": as_of.strip()[:10], "orgunit": orgunit.strip()[:12], "category": category.strip()[:16],
              "status": status.strip()[:16]}
    return _page(request, session, settings, tr, actor, values, page, saved=whole_number(saved, 2**53))


@router.post("/settlement/poverty-risk/{resident_id:int}/review")
async def review(request: Request, resident_id: int, session: SessionDep, settings: SettingsDep, tr: TranslatorDep,
                 actor: Actor = Depends(require("poverty_risk:review"))) -> Response:
    sent = await web.form_values(request)
    # The list's filters come back as f_<name> (the review's own `status` is another field).
    values = {k: str(sent.get(f"f_{k}") or "").strip()[:16] for k in FILTERS}
    page = str(sent.get("f_page") or "1")[:8]
    try:
        cmd = await web.form_command(request, ReviewIn, resident_id=resident_id)
        service.set_status(session=session, actor=actor, review_in=cmd)
    except InvalidInput as exc:
        web.refused(session)
        kept = {"status": str(sent.get("status") or ""), "note": str(sent.get("note") or "")}
        return _page(request, session, settings, tr, actor, values, page,
                     review={"resident_id": resident_id, "values": kept, "errors": web.form_errors(exc, tr)})
    query = urlencode({**{k: v for k, v in values.items() if v}, "page": page, "saved": resident_id})
    return RedirectResponse(f"/settlement/poverty-risk?{query}#r{resident_id}", status_code=303)


@router.get("/settlement/poverty-risk/export.xlsx")
def export_xlsx(request: Request, session: SessionDep, settings: SettingsDep, tr: TranslatorDep,
                actor: Actor = Depends(require("poverty_risk:read")), as_of: str = "", orgunit: str = "",
                category: str = "", status: str = "") -> Response:
    values = {"as_of": as_of.strip()[:10], "orgunit": orgunit.strip()[:12], "category": category.strip()[:16],
              "status": status.strip()[:16]}
    try:
        asked = build(RiskQuery, values)
        pages = [_list(session, actor, settings, asked, 1, queries.MAX_PAGE_SIZE, "export")]
        while pages[-1].page < pages[-1].pages:
            pages.append(_list(session, actor, settings, asked, pages[-1].page + 1, queries.MAX_PAGE_SIZE, "export"))
    except InvalidInput:
        return _page(request, session, settings, tr, actor, values, "1")
    data = export.risk_xlsx(pages, locale=tr.locale, group_labels=_labels(tr))
    name = f"poverty-risk-{pages[0].as_of.isoformat()}.xlsx"
    return Response(data, media_type=export.MEDIA_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
