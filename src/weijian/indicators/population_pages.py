"""HTML page of the year-end resident population (常住人口): per org unit, the figure the per-1,000 ratios of
a year divide by and whether it is the statistics office's (entered) or the registry's count, and the form
that enters the statistics office's figure (stats:write). Thin: each route calls the service."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from weijian.accounts.deps import ActorDep
from weijian.core import clock, nav, web
from weijian.core.actor import Actor
from weijian.core.errors import InvalidInput
from weijian.core.i18n import Translator
from weijian.indicators import service as indicators_service
from weijian.indicators.schemas import PopulationSet

router = APIRouter(dependencies=[Depends(web.verify_csrf)])
NAV = (nav.NavItem("/indicators/population", "indicators.pages.population.nav", "stats:write", 61),)
FIELDS = ("orgunit", "year", "value", "source")


def _year(text: str) -> int:
    """The year shown: the one asked for when it is a year, else the last one ended."""
    text = text.strip()
    # four ASCII digits before int(): a 5,000-digit "year" would otherwise exceed int()'s digit limit (500)
    ok = len(text) == 4 and text.isascii() and text.isdigit() and 1949 <= int(text) <= clock.today().year
    return int(text) if ok else clock.today().year - 1


def _context(session: Session, actor: Actor, tr: Translator, year: int, form: dict[str, str] | None = None,
             errors: dict[str, str] | None = None) -> dict[str, Any]:
    return {"year": year, "rows": indicators_service.year_end_table(session=session, actor=actor, year=year),
            "can_enter": actor.can("stats:write"), "errors": errors or {},
            "form": form or {"year": str(year)}}


@router.get("/indicators/population")
def population_page(request: Request, session: web.SessionDep, tr: web.TranslatorDep, actor: ActorDep, year: str = "",
                    saved: str = "") -> Response:
    ctx = _context(session, actor, tr, _year(year))
    ctx["saved"] = bool(saved)
    return web.render(request, "indicators/population.html", ctx)


@router.post("/indicators/population")
async def population_set(request: Request, session: web.SessionDep, tr: web.TranslatorDep, actor: ActorDep) -> Response:
    actor.require("stats:write")  # before the form is read: a user who may not enter it is refused, not corrected
    try:
        cmd = await web.form_command(request, PopulationSet)
        row = indicators_service.set_population(session=session, actor=actor, population_in=cmd)
    except InvalidInput as exc:
        web.refused(session)
        sent = await web.form_values(request)
        values = {k: str(sent.get(k) or "").strip() for k in FIELDS}
        ctx = _context(session, actor, tr, _year(values["year"]), form=values, errors=web.form_errors(exc, tr))
        return web.render(request, "indicators/population.html", ctx, status_code=422)
    return RedirectResponse(f"/indicators/population?year={row.year}&saved=1", status_code=303)
