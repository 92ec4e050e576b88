"""HTML pages of recall lists and coverage: the week's recall list of a village or a vaccination point (table,
printable page, xlsx download through the API), the village doctor's "due this week" worklist, and the
coverage and timeliness table per township and village against the 90 % target (a map-free coverage map)
with a bar chart by township. Thin: each route calls the service and renders; bad choices re-render the
form with the error beside the field (422)."""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from weijian.accounts.deps import require
from weijian.core import clock, nav
from weijian.core.actor import Actor
from weijian.core.bounds import whole_number
from weijian.core.errors import InvalidInput
from weijian.core.i18n import Translator
from weijian.core.identifiers import division_level
from weijian.core.periods import default_period
from weijian.core.settings import Settings
from weijian.core.web import SessionDep, SettingsDep, TranslatorDep, form_errors, render, templates, verify_csrf
from weijian.immunization import figures
from weijian.immunization.recall import export, queries
from weijian.immunization.recall.api import figure_reader
from weijian.orgunits import service as orgunits_service
from weijian.residents import service as residents_service

router = APIRouter(dependencies=[Depends(verify_csrf)])
# This module's entries of the main navigation (added by the composition root, weijian.wiring).
NAV = (
    nav.NavItem("/immunization/recall", "immunization.recall.nav", "immunization:read", 54),
    nav.NavItem("/immunization/coverage", "immunization.recall.nav_coverage", "immunization:read", 55),
)

DEFAULT_DOSE = ("MMR", 1)


# Filters for the recall table, so that its include (immunization/recall/_worklist_section.html) renders
# from any page that puts a RecallList in `recall_week`: {{ d | recall_status(locale) }}.
templates.env.filters["vaccine_label"] = export.vaccine_label
templates.env.filters["recall_status"] = export.status_text
templates.env.filters["guardian"] = export.guardian_text


def _wide(actor: Actor) -> bool:
    """A county-wide list is thousands of children: county staff pick a village or a point first."""
    return actor.scope_code is None or division_level(actor.scope_code) == "county"


def _query(values: dict[str, str]) -> str:
    return urlencode({k: v for k, v in values.items() if v})


# --- the recall list ------------------------------------------------------------------------------
def _recall_ctx(session: Session, actor: Actor, tr: Translator, settings: Settings, values: dict[str, str]
                ) -> tuple[dict[str, Any], int]:
    ctx: dict[str, Any] = {"values": values, "errors": {}, "recall": None,
                           "villages": residents_service.villages_in_scope(session=session, actor=actor),
                           "points": queries.points_in_scope(session=session, actor=actor),
                           "needs_choice": False}
    if _wide(actor) and not (values["village"] or values["point"]):
        ctx["needs_choice"] = True
        return ctx, 200
    try:
        start = queries.parse_week(values["week"])
        ctx["recall"] = queries.recall_list(session=session, actor=actor, week_start=start,
                                           village_code=values["village"] or None, point_id=values["point"] or None,
                                           overdue_rule=settings.immunization_overdue_rule)
    except InvalidInput as exc:
        ctx["errors"] = form_errors(exc, tr)
        return ctx, 422
    q = _query({"week": start.isoformat(), "village": values["village"], "point": values["point"]})
    ctx["print_href"] = f"/immunization/recall/print?{q}"
    ctx["xlsx_href"] = f"/api/v1/immunization/recall?{q}&format=xlsx"
    return ctx, 200


def _values(week: str, village: str, point: str, actor: Actor) -> dict[str, str]:
    village = village.strip()[:20]
    if not village and not point.strip() and actor.scope_code and division_level(actor.scope_code) == "village":
        village = actor.scope_code
    return {"week": week.strip()[:20] or clock.today().isoformat(), "village": village, "point": point.strip()[:20]}


@router.get("/immunization/recall")
def recall_page(request: Request, session: SessionDep, settings: SettingsDep, tr: TranslatorDep,
                actor: Actor = Depends(require("immunization:read")), week: str = "", village: str = "",
                point: str = "") -> Response:
    ctx, status = _recall_ctx(session, actor, tr, settings, _values(week, village, point, actor))
    return render(request, "immunization/recall/list.html", ctx, status_code=status)


@router.get("/immunization/recall/print")
def recall_print(request: Request, session: SessionDep, settings: SettingsDep, tr: TranslatorDep,
                 actor: Actor = Depends(require("immunization:read")), week: str = "", village: str = "",
                 point: str = "") -> Response:
    ctx, status = _recall_ctx(session, actor, tr, settings, _values(week, village, point, actor))
    if ctx["recall"] is None:  # nothing chosen, or a bad choice: the form says why
        return render(request, "immunization/recall/list.html", ctx, status_code=status)
    ctx["printed_on"] = clock.today()
    return render(request, "immunization/recall/print.html", ctx)


@router.get("/immunization/worklist")
def worklist_page(request: Request, session: SessionDep, settings: SettingsDep,
                  actor: Actor = Depends(require("immunization:read"))) -> Response:
    """This week's recall list of the doctor's village (or township): the immunization part of the
    worklist, also included in /care/worklist."""
    r = queries.worklist_recall(session=session, actor=actor, today=clock.today(),
                               overdue_rule=settings.immunization_overdue_rule)
    return render(request, "immunization/recall/worklist.html", {"recall_week": r})


# --- coverage -------------------------------------------------------------------------------------
def _dose_key(text: str) -> tuple[str, int] | None:
    code, _, n = text.partition(":")
    number = whole_number(n)
    return (code, number) if code and number is not None else None


@router.get("/immunization/coverage")
def coverage_page(request: Request, session: SessionDep, settings: SettingsDep, tr: TranslatorDep,
                  actor: Actor = Depends(figure_reader), period: str = "", orgunit: str = "",
                  dose: str = "") -> Response:
    values = {"period": period.strip()[:10] or default_period(clock.today(), "year"), "orgunit": orgunit.strip()[:20],
              "dose": dose.strip()[:20]}
    units = [u for u in orgunits_service.list_orgunits(session=session)
             if u.level != "village" and orgunits_service.in_scope(scope_code=actor.scope_code, code=u.code)]
    ctx: dict[str, Any] = {"values": values, "errors": {}, "units": units, "rows": [], "matrix": [], "slots": [],
                           "chart": "[]", "target": float(figures.TARGET)}
    try:
        result = figures.rates(session=session, actor=actor, period=values["period"],
                               orgunit=values["orgunit"] or None, timely_rule=settings.immunization_timely_rule)
    except InvalidInput as exc:
        ctx["errors"] = form_errors(exc, tr)
        return render(request, "immunization/recall/coverage.html", ctx, status_code=422)
    cov, tim = result["coverage"], result["timeliness"]
    slots = list(dict.fromkeys((r.vaccine, r.dose) for r in cov))
    chosen = _dose_key(values["dose"]) or (DEFAULT_DOSE if DEFAULT_DOSE in slots else (slots[0] if slots else None))
    values["dose"] = f"{chosen[0]}:{chosen[1]}" if chosen else ""
    timely = {(r.orgunit, r.vaccine, r.dose): r for r in tim}
    rows = sorted(((r, timely[(r.orgunit, r.vaccine, r.dose)]) for r in cov if (r.vaccine, r.dose) == chosen),
                  key=lambda pair: pair[0].orgunit)  # by code: the county, each township, then its villages
    # The matrix: every dose's coverage for the area and the units one level below (the "map").
    top = rows[0][0] if rows else None
    below = {"county": "township", "township": "village", "village": None}.get(top.level) if top else None
    by_unit: dict[str, dict[tuple[str, int], figures.RateRow]] = {}
    for r in cov:
        if top is not None and (r.orgunit == top.orgunit or r.level == below):
            by_unit.setdefault(r.orgunit, {})[(r.vaccine, r.dose)] = r
    matrix = [(code, next(iter(cells.values())).orgunit_name, cells) for code, cells in by_unit.items()]
    chart = [{"code": r.orgunit, "name": r.orgunit_name, "value": float(r.value) * 100 if r.value is not None else None,
              "rag": r.rag} for r, _t in rows if r.level == (below or "township")]
    ctx.update(rows=rows, matrix=matrix, slots=slots, chart=json.dumps(chart, ensure_ascii=False),
               chosen=chosen, period_code=cov[0].period if cov else values["period"])
    return render(request, "immunization/recall/coverage.html", ctx)
