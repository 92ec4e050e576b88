"""HTML page of the bundled budget: a year's spending by month and facility against the budget (ECharts:
stacked monthly bars by facility, the monthly budget and the cumulative spending as lines), the table behind
the chart, and the form that sets the year's budget (budget:manage). Thin: each route calls the service."""
from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from weijian.accounts.deps import ActorDep
from weijian.core import clock, nav
from weijian.core.actor import Actor
from weijian.core.commands import build
from weijian.core.errors import InvalidInput
from weijian.core.i18n import Translator
from weijian.core.periods import default_period
from weijian.core.settings import Settings
from weijian.core.web import (
    SessionDep,
    SettingsDep,
    TranslatorDep,
    form_command,
    form_errors,
    form_values,
    refused,
    render,
    templates,
    verify_csrf,
)
from weijian.settlement.budget import queries, service
from weijian.settlement.budget.queries import BudgetReport
from weijian.settlement.budget.rules import budget_rules
from weijian.settlement.budget.schemas import BudgetIn, BudgetYearIn

router = APIRouter(dependencies=[Depends(verify_csrf)])
# This module's entries of the main navigation (added by the composition root, weijian.wiring).
NAV = (
    nav.NavItem("/settlement/budget", "settlement.budget.nav", "stats:read", 64),
)


def yuan(value: Decimal | None) -> str:
    """Money as users read it: ¥ and two decimals, thousands separated; a dash for none."""
    return "—" if value is None else f"¥{value:,.2f}"


def wan(value: Decimal | None) -> str:
    """Money in 万元 (ten thousand yuan), two decimals, for the wide monthly table (so a year fits 1366 px)."""
    return "" if value is None else f"{value / 10000:,.2f}"


templates.env.filters.setdefault("yuan", yuan)
templates.env.filters.setdefault("wan", wan)


def column_label(key: str, name: str | None, tr: Translator) -> str:
    """A column's label: the facility's name, or the page's words for the village clinics / out of county."""
    if name is not None:
        return name
    which = "village_clinics" if key == queries.VILLAGE_CLINICS else "out_of_county"
    return tr(f"settlement.budget.{which}")


def _bands(report: BudgetReport, tr: Translator) -> dict[str, list[str]]:
    """The sharing rules in words, band by band (data/budget.yaml), for the page's note."""
    rules = report.rules
    if rules is None:
        return {"surplus": [], "overspend": []}

    def pct(x: Decimal) -> str:
        return f"{float(x * 100):g}"

    def words(bands: tuple[Any, ...], key: str) -> list[str]:
        out, lo = [], Decimal(0)
        for b in bands:
            upto = tr("settlement.budget.band_above", lo=pct(lo)) if b.upto is None else tr(
                "settlement.budget.band_upto", lo=pct(lo), hi=pct(b.upto))
            out.append(tr(key, band=upto, share=pct(b.share)))
            lo = b.upto if b.upto is not None else lo
        return out

    return {"surplus": words(rules.surplus, "settlement.budget.band_surplus"),
            "overspend": words(rules.overspend, "settlement.budget.band_overspend")}


def _chart(report: BudgetReport, tr: Translator) -> str:
    """The chart's data: one stacked series per column, the monthly budget and the cumulative spending."""
    labels = [tr("settlement.budget.month_label", month=m.month) for m in report.months]
    series = []
    for c in report.columns:
        name = column_label(c.key, c.name, tr)
        series.append({"name": name, "data": [float(m.by_column.get(c.key, 0)) for m in report.months]})
    data: dict[str, Any] = {
        "labels": labels, "series": series,
        "cumulative": [float(m.cumulative) for m in report.months],
        "monthly_budget": float(report.budget / 12) if report.budget is not None else None,
        "budget": float(report.budget) if report.budget is not None else None,
        "names": {"budget": tr("settlement.budget.budget_line"), "budget_total": tr("settlement.budget.budget"),
                  "cumulative": tr("settlement.budget.cumulative_line"),
                  "title": tr("settlement.budget.chart_title", year=report.year),
                  "unit": tr("settlement.budget.axis_unit"), "divisor": tr("settlement.budget.axis_divisor")},
    }
    return json.dumps(data, ensure_ascii=False)


def _context(session: Session, actor: Actor, settings: Settings, tr: Translator, year: str,
             form: dict[str, str] | None = None, errors: dict[str, str] | None = None) -> tuple[dict[str, Any], int]:
    """The page's context: the report of `year` (its errors beside the year picker: `view_errors`) and
    the set-budget form (`form`, its errors: `errors`)."""
    ctx: dict[str, Any] = {"report": None, "chart": "{}", "errors": errors or {}, "view_errors": {},
                           "can_manage": actor.can("budget:manage"), "form": form or {}, "values": {"year": year},
                           "budgets": queries.budgets(session=session, actor=actor, county_code=settings.county_code)}
    try:
        view = build(BudgetYearIn, {"year": year})
        report = queries.report(session=session, actor=actor, county_code=settings.county_code, year=view.year)
    except InvalidInput as exc:
        ctx["view_errors"] = form_errors(exc, tr)
        return ctx, 422
    ctx.update(report=report, chart=_chart(report, tr), values={"year": str(report.year)},
               labels={c.key: column_label(c.key, c.name, tr) for c in report.columns}, bands=_bands(report, tr))
    pooling = budget_rules().pooling
    ctx.update(pooling_rate=f"{float(pooling.rate * 100):g}", pooling_cap=f"{pooling.annual_cap:,.0f}")
    if not ctx["form"]:
        ctx["form"] = {"year": str(report.year), "amount": f"{report.budget:.2f}" if report.budget else "",
                       "note": report.note or ""}
    return ctx, 422 if errors else 200


@router.get("/settlement/budget")
def budget_page(request: Request, session: SessionDep, settings: SettingsDep, tr: TranslatorDep, actor: ActorDep,
                year: str = "", saved: str = "") -> Response:
    year = year.strip()[:8] or default_period(clock.today(), "year")
    ctx, status = _context(session, actor, settings, tr, year)
    if saved and ctx["report"] is not None and ctx["report"].budget is not None:
        ctx["saved"] = tr("settlement.budget.saved", year=ctx["report"].year, amount=f"{ctx['report'].budget:,.2f}")
    return render(request, "settlement/budget.html", ctx, status_code=status)


@router.post("/settlement/budget")
async def budget_set(request: Request, session: SessionDep, settings: SettingsDep, tr: TranslatorDep,
                     actor: ActorDep) -> Response:
    service.manager_county(actor, settings.county_code)
    try:
        cmd = await form_command(request, BudgetIn)
        saved = service.set_budget(session=session, actor=actor, county_code=settings.county_code, budget_in=cmd)
    except InvalidInput as exc:
        refused(session)
        sent = await form_values(request)
        values = {k: str(sent.get(k) or "").strip() for k in ("year", "amount", "note")}
        shown = values["year"] if all(e.field != "year" for e in exc.errors) else ""
        ctx, _ = _context(session, actor, settings, tr, shown or default_period(clock.today(), "year"), form=values,
                          errors=form_errors(exc, tr))
        return render(request, "settlement/budget.html", ctx, status_code=422)
    return RedirectResponse(f"/settlement/budget?year={saved.year}&saved=1", status_code=303)
