"""JSON routes of recall lists and immunization figures under /api/v1/immunization: the week's recall list
of a village or a vaccination point (JSON, or `format=xlsx` for the workbook), doses given, coverage and
the timely vaccination rate. Thin: parse, call the service, shape."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from weijian.accounts.deps import ActorDep, require
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.disclosure import Disclosure, disclosure_for
from weijian.core.errors import Forbidden, InvalidInput
from weijian.core.web import SessionDep, SettingsDep, TranslatorDep
from weijian.immunization import figures
from weijian.immunization.recall import export, queries
from weijian.immunization.recall.schemas import DosesOut, RateOut, RecallListOut

router = APIRouter(prefix="/api/v1/immunization", tags=["immunization"])
_E = "immunization.recall.errors."


def figure_reader(actor: ActorDep) -> Actor:
    """Figures are counts, not records: statistics staff and clinicians may read them (within scope)."""
    if not (actor.can("stats:read") or actor.can("immunization:read")):
        raise Forbidden("core.errors.forbidden_permission", permission="immunization:read")
    return actor


def this_week() -> str:
    return clock.today().isoformat()


def xlsx_response(r: queries.RecallList, locale: str, disclosure: Disclosure) -> Response:
    data = export.workbook_bytes(export.recall_xlsx(r, locale=locale, disclosure=disclosure))
    stem = f"recall-{r.area_code or 'all'}-{r.week_start.isoformat()}"
    if r.point_id is not None:
        stem = f"recall-point{r.point_id}-{r.week_start.isoformat()}"
    title = f"{r.point_name or r.area_name}-{r.week_start.isoformat()}.xlsx"
    return Response(data, media_type=export.XLSX_MEDIA_TYPE, headers={
        "Content-Disposition": f"attachment; filename=\"{stem}.xlsx\"; filename*=UTF-8''{quote(title)}"})


@router.get("/recall", response_model=RecallListOut)
def recall_list(session: SessionDep, settings: SettingsDep, tr: TranslatorDep,
                actor: Actor = Depends(require("immunization:read")),
                week: str | None = Query(None, max_length=20, description="any day of the week, or 2026-W48"),
                village: str | None = Query(None, max_length=20),
                point: str | None = Query(None, max_length=20),
                orgunit: str | None = Query(None, max_length=20),
                format: str = Query("json", max_length=8)) -> RecallListOut | Response:
    """The recall list (通知单) of a village, a vaccination point's area or any org unit (default: your
    whole area) for a week: every child with a dose due or overdue by its end, with the guardian."""
    if format not in ("json", "xlsx"):
        raise InvalidInput("format", _E + "format_unknown", value=format)
    start = queries.parse_week(week if week is not None else this_week())
    r = queries.recall_list(session=session, actor=actor, week_start=start, village_code=village, point_id=point,
                           orgunit_code=orgunit, overdue_rule=settings.immunization_overdue_rule)
    if format == "xlsx":
        return xlsx_response(r, tr.locale, disclosure_for(actor))
    return RecallListOut.of(r, tr, disclosure=disclosure_for(actor))


@router.get("/figures/doses", response_model=list[DosesOut])
def doses_given(session: SessionDep, actor: Actor = Depends(figure_reader),
                period: str = Query(..., max_length=10), orgunit: str | None = Query(None, max_length=20),
                vaccine: str | None = Query(None, max_length=16)) -> list[dict]:
    """Doses given in a period (2026, 2026Q3, 202611) by vaccine, point, township and month."""
    return [r.as_dict() for r in figures.doses_given(session=session, actor=actor, period=period, orgunit=orgunit,
                                                     vaccine=vaccine)]


def _rates(measure: str) -> Callable[..., list[dict[str, Any]]]:
    def route(session: SessionDep, settings: SettingsDep, actor: Actor = Depends(figure_reader),
              period: str = Query(..., max_length=10), vaccine: str | None = Query(None, max_length=16),
              dose: str | None = Query(None, max_length=4), orgunit: str | None = Query(None, max_length=20),
              level: str | None = Query(None, max_length=16)) -> list[dict]:
        rows = figures.rates(session=session, actor=actor, period=period, vaccine=vaccine, dose=dose,
                             orgunit=orgunit, level=level, timely_rule=settings.immunization_timely_rule)
        return [r.as_dict() for r in rows[measure]]

    route.__name__ = measure
    route.__doc__ = (f"{measure} per vaccine dose for the org unit (default: your area) and each unit below it "
                     "(or only `level`): numerator ÷ denominator at the period's end, against the 90 % target.")
    return route


router.add_api_route("/figures/coverage", _rates("coverage"), methods=["GET"], response_model=list[RateOut])
router.add_api_route("/figures/timeliness", _rates("timeliness"), methods=["GET"], response_model=list[RateOut])
