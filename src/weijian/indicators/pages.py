"""Dashboard pages of indicators: an org unit's figures against their targets (overview), the units below
it compared on one indicator (sorted bars), one indicator month by month (lines), every village × chosen
indicators (red/amber/green, sorted by the server), a printable report and an Excel download of each of
those tables, and the drill-down listing the records behind a figure's numerator.

Thin: each route turns the query string into a choice, calls indicators.service and renders. The tables
work without JavaScript; the charts read their data from a `data-chart` attribute. A bad choice re-renders
the page's form with the error beside the field (422)."""
from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from weijian.accounts.deps import ActorDep
from weijian.core import clock, nav, tallies
from weijian.core.actor import Actor
from weijian.core.bounds import PageNo
from weijian.core.errors import FieldError, Forbidden, InvalidInput
from weijian.core.i18n import Translator
from weijian.core.identifiers import division_level
from weijian.core.periods import default_period, parse_period
from weijian.core.web import SessionDep, SettingsDep, TranslatorDep, form_errors, render, templates, verify_csrf
from weijian.indicators import approval
from weijian.indicators import service as indicators_service
from weijian.orgunits import service as orgunits_service

router = APIRouter(dependencies=[Depends(verify_csrf)])

# Figures are counts and rates, not records: statistics staff and clinicians read them within their scope
# (the drill-down's records also need resident:read; the service scopes and audits them).
READ_PERMISSIONS = indicators_service.READ_PERMISSIONS
# This module's entries of the main navigation (added by the composition root, weijian.wiring).
NAV = (
    nav.NavItem("/indicators", "indicators.pages.nav", READ_PERMISSIONS, 60),
)

VIEWS = ("overview", "compare", "trend", "villages")
BELOW = {"county": "township", "township": "village"}
DEFAULT_VILLAGE_COLUMNS = 6  # indicators shown in the village table until the user chooses
DRILL_PAGE_SIZE = 50


def reader(actor: ActorDep) -> Actor:
    if not any(actor.can(p) for p in READ_PERMISSIONS):
        raise Forbidden("core.errors.forbidden_permission", permission=READ_PERMISSIONS[0])
    return actor


# --- formatting (template filters) ------------------------------------------------------------------
def _number(value: Any, decimals: int = 0) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and not math.isfinite(value):
        return "—"
    if isinstance(value, int) or (isinstance(value, Decimal) and value == value.to_integral_value() and decimals == 0):
        return f"{int(value):,}"
    return f"{Decimal(str(value)):,.{decimals}f}"


def fmt_count(value: Any) -> str:
    """A numerator or denominator: whole numbers with separators; money with its fen."""
    if isinstance(value, Decimal) and value != value.to_integral_value():
        return _number(value, 2)
    return _number(value, 0)


templates.env.filters["ind_count"] = fmt_count


# --- the definitions, as the pages show them --------------------------------------------------------
@dataclass
class Meta:
    """What the pages need to know of one indicator definition."""

    id: str
    name: str
    category: str
    unit: str
    decimals: int
    target_text: str
    target_value: float | None
    source: str
    has_denominator: bool
    lower_is_better: bool = False  # a "≤" target: the comparison puts the lowest first

    def value_text(self, value: Any) -> str:
        return _number(value, self.decimals)


def _target_text(target: Any, decimals: int, unit: str) -> tuple[str, float | None]:
    if target is None:
        return "", None
    shown = {">=": "≥", "<=": "≤"}.get(target.op, target.op)
    text = _number(target.value, decimals)
    if "." in text:  # a target of 90 reads "≥ 90%", not "≥ 90.00%"
        text = text.rstrip("0").rstrip(".")
    return f"{shown} {text}{unit}", float(target.value)


def metas(tr: Translator) -> dict[str, Meta]:
    """Every defined indicator, in the file's order, named in the reader's language."""
    out: dict[str, Meta] = {}
    for ind in indicators_service.list_indicators():
        unit = ind.unit(tr.locale)
        text, value = _target_text(ind.target, ind.decimals, unit)
        out[ind.id] = Meta(id=ind.id, name=ind.name(tr.locale), category=ind.category, unit=unit,
                           decimals=ind.decimals, target_text=text, target_value=value, source=ind.source,
                           has_denominator=ind.denominator is not None,
                           lower_is_better=ind.target is not None and ind.target.op == "<=")
    return out


def category_label(code: str, tr: Translator) -> str:
    return tr.code("indicators.pages.categories", code)


# --- the choice a page is asked for ----------------------------------------------------------------
@dataclass
class Choice:
    view: str
    period: str
    orgunit: str
    indicator: str = ""
    indicators: list[str] = field(default_factory=list)
    category: str = ""
    sort: str = ""
    dir: str = "desc"
    page: PageNo = 1

    def query(self, **over: Any) -> str:
        c = replace(self, **over)
        pairs: list[tuple[str, str]] = [("period", c.period), ("orgunit", c.orgunit)]
        if c.view in ("compare", "trend") and c.indicator:
            pairs.append(("indicator", c.indicator))
        if c.view == "villages":
            pairs += [("indicators", i) for i in c.indicators]
            if c.sort:
                pairs += [("sort", c.sort), ("dir", c.dir)]
        if c.view == "overview" and c.category:
            pairs.append(("category", c.category))
        return urlencode(pairs)

    def href(self, path: str, **over: Any) -> str:
        return f"{path}?{self.query(**over)}"


def _choice(view: str, actor: Actor, settings: Any, *, period: str, orgunit: str, indicator: str = "",
            indicators: list[str] | None = None, category: str = "", sort: str = "", dir: str = "",
            page: PageNo = 1) -> Choice:
    home = actor.scope_code or f"{settings.county_code}000000"
    return Choice(view=view, period=period.strip()[:10] or default_period(clock.today(), "year"),
                  orgunit=orgunit.strip()[:12] or home, indicator=indicator.strip()[:64],
                  indicators=[i.strip()[:64] for i in (indicators or []) if i.strip()][:20],
                  category=category.strip()[:32], sort=sort.strip()[:64], dir="asc" if dir == "asc" else "desc",
                  page=max(1, min(page, 100_000)))


def _check(session: Session, actor: Actor, c: Choice, known: dict[str, Meta], *, needs_indicator: bool) -> str:
    """Refuses a bad period, org unit or indicator with the field named (all at once); the unit's level."""
    errors: list[FieldError] = []
    try:
        parse_period(c.period)
    except InvalidInput as exc:
        errors += exc.errors
    unit = orgunits_service.get(session=session, code=c.orgunit)
    if unit is None or not orgunits_service.in_scope(scope_code=actor.scope_code, code=c.orgunit):
        errors.append(FieldError("orgunit", "indicators.pages.errors.orgunit_out_of_scope", {"value": c.orgunit}))
    if needs_indicator and c.indicator not in known:
        errors.append(FieldError("indicator", "indicators.pages.errors.indicator_unknown", {"value": c.indicator}))
    for i in c.indicators:
        if i not in known:
            errors.append(FieldError("indicators", "indicators.pages.errors.indicator_unknown", {"value": i}))
            break
    if errors:
        raise InvalidInput(errors=errors)
    return unit.level


def _units(session: Session, actor: Actor, current: str) -> list[Any]:
    """The org units offered in the form: county and townships in scope, villages of a township user's
    own township (a county user reaches a village through the tables), and the current one."""
    wide = actor.scope_code is None or division_level(actor.scope_code) == "county"
    return [u for u in orgunits_service.list_orgunits(session=session)
            if orgunits_service.in_scope(scope_code=actor.scope_code, code=u.code)
            and (u.level != "village" or not wide or u.code == current)]


def _base_ctx(session: Session, actor: Actor, tr: Translator, c: Choice, known: dict[str, Meta]) -> dict[str, Any]:
    return {"c": c, "view": c.view, "errors": {}, "known": known, "units": _units(session, actor, c.orgunit),
            "unit": orgunits_service.get(session=session, code=c.orgunit), "categories": _categories(known, tr),
            "tabs": {v: c.href(f"/indicators/{v}" if v != "overview" else "/indicators", view=v) for v in VIEWS},
            "xlsx_href": c.href("/indicators/export.xlsx") + f"&view={c.view}",
            "print_href": c.href("/indicators/print") + f"&view={c.view}",
            "drill": drill_href,
            "status_label": lambda s: tr(f"indicators.pages.statuses.{s or 'none'}"),
            "tally_health": tallies.health(session), "local_time": clock.format_local}


def _categories(known: dict[str, Meta], tr: Translator) -> list[tuple[str, str]]:
    return [(code, category_label(code, tr)) for code in dict.fromkeys(m.category for m in known.values())]


def _compute(session: Session, actor: Actor, **kwargs: Any) -> list[Any]:
    return list(indicators_service.compute(session=session, actor=actor, **kwargs))


# --- what each view shows ---------------------------------------------------------------------------
def overview_values(session: Session, actor: Actor, c: Choice, known: dict[str, Meta]) -> list[Any]:
    ids = [i for i, m in known.items() if not c.category or m.category == c.category]
    rows = _compute(session, actor, indicator_ids=ids, period=c.period, orgunit=c.orgunit)
    order = {i: n for n, i in enumerate(ids)}
    return sorted((r for r in rows if r.orgunit == c.orgunit), key=lambda r: order.get(r.indicator, 0))


def compare_values(session: Session, actor: Actor, c: Choice, level: str, meta: Meta) -> tuple[list[Any], Any]:
    """The units one level below, best first (units without a value last), and the unit's own figure."""
    below = BELOW.get(level)
    if below is None:
        return [], None
    # One pass (level "all": the unit and every unit below it) reads each measure once; the extra
    # village rows at county level cost far less than a second pass.
    rows = _compute(session, actor, indicator_ids=[c.indicator], period=c.period, orgunit=c.orgunit,
                    level=indicators_service.ALL_LEVELS)
    own = next((r for r in rows if r.orgunit == c.orgunit), None)
    children = [r for r in rows if r.level == below]
    with_value = sorted((r for r in children if r.value is not None), key=lambda r: Decimal(str(r.value)),
                        reverse=not meta.lower_is_better)
    return with_value + sorted((r for r in children if r.value is None), key=lambda r: r.orgunit), own


def trend_values(session: Session, actor: Actor, c: Choice) -> tuple[list[Any], bool]:
    """The unit's figure month by month; (values, by quarter). Rates that need at least a quarter
    (chronic-disease management) have no monthly value: a year's trend then shows its quarters."""
    rows = _compute(session, actor, indicator_ids=[c.indicator], period=c.period, orgunit=c.orgunit, by_month=True)
    rows = sorted((r for r in rows if r.orgunit == c.orgunit), key=lambda r: str(r.period))
    period = parse_period(c.period)
    if period.kind != "year" or any(r.numerator is not None for r in rows):
        return rows, False
    quarters = [r for q in range(1, 5) for r in _compute(session, actor, indicator_ids=[c.indicator],
                                                          period=f"{period.start.year}Q{q}", orgunit=c.orgunit)
                if r.orgunit == c.orgunit]
    return quarters, True


@dataclass
class VillageRow:
    code: str
    name: str
    township: str
    cells: dict[str, Any]


def village_columns(c: Choice, known: dict[str, Meta]) -> list[str]:
    if c.indicators:
        return list(dict.fromkeys(c.indicators))
    targeted = [i for i, m in known.items() if m.target_value is not None]
    return (targeted or list(known))[:DEFAULT_VILLAGE_COLUMNS]


def village_values(session: Session, actor: Actor, c: Choice, columns: list[str]) -> tuple[list[Any], list[VillageRow]]:
    """Each village under the unit with its figures; sorted by the chosen column (or by code)."""
    rows = [r for r in _compute(session, actor, indicator_ids=columns, period=c.period, orgunit=c.orgunit,
                                level="village") if r.level == "village"]
    townships = {u.code: u.name for u in orgunits_service.list_orgunits(session=session, level="township")}
    by_code: dict[str, VillageRow] = {}
    for r in rows:
        v = by_code.setdefault(r.orgunit, VillageRow(r.orgunit, r.orgunit_name,
                                                     townships.get(r.orgunit[:9] + "000", ""), {}))
        v.cells[r.indicator] = r
    table = sorted(by_code.values(), key=lambda v: v.code)
    if c.sort in columns:
        present = [v for v in table if _cell_value(v, c.sort) is not None]
        absent = [v for v in table if _cell_value(v, c.sort) is None]
        present.sort(key=lambda v: Decimal(str(_cell_value(v, c.sort))), reverse=c.dir == "desc")
        table = present + absent
    elif c.sort == "name":
        table.sort(key=lambda v: v.name, reverse=c.dir == "desc")
    elif c.sort == "code":
        table.sort(key=lambda v: v.code, reverse=c.dir == "desc")
    return rows, table


def _cell_value(v: VillageRow, indicator: str) -> Any:
    cell = v.cells.get(indicator)
    return cell.value if cell is not None else None


def drill_href(indicator: str, orgunit: str, period: Any) -> str:
    return "/indicators/drill?" + urlencode({"indicator": indicator, "orgunit": orgunit, "period": str(period)})


def chart_json(rows: list[Any], *, label: str = "orgunit_name") -> str:
    """The chart's points: name, value, status, and the drill-down a click on the point opens."""
    return json.dumps([{"name": str(getattr(r, label)), "code": r.orgunit, "period": str(r.period),
                        "value": float(r.value) if r.value is not None else None, "status": r.status,
                        "href": drill_href(r.indicator, r.orgunit, r.period)} for r in rows], ensure_ascii=False)


# --- one function per view, shared by the page, the print page and the download --------------------
def _view_ctx(session: Session, actor: Actor, tr: Translator, c: Choice) -> tuple[dict[str, Any], list[Any], int]:
    """(context, the values of the view's table, status). On a bad choice: the errors, no values, 422."""
    known = metas(tr)
    if c.view in ("compare", "trend") and not c.indicator and known:
        c.indicator = next((i for i, m in known.items() if m.target_value is not None), next(iter(known)))
    if c.category and c.category not in {m.category for m in known.values()}:
        c.category = ""  # an unknown category: all of them
    ctx = _base_ctx(session, actor, tr, c, known)
    ctx.update(values=[], own=None, table=[], chart="[]", level="", below="", approved={}, approval=None,
               can_approve=False, approved_units=set(),
               columns=[i for i in village_columns(c, known) if i in known] if c.view == "villages" else [])
    try:
        level = _check(session, actor, c, known, needs_indicator=c.view in ("compare", "trend"))
        ctx["level"], ctx["below"] = level, BELOW.get(level, "")
        if c.view == "overview":
            values = overview_values(session, actor, c, known)
            ctx["approved"] = approval.approved_notes(session=session, values=values, tr=tr)
            ctx["approval"] = approval.active_for(session=session, orgunit=c.orgunit, period=c.period)
            ctx["can_approve"] = actor.can(approval.APPROVE) and approval.approvable(c.period)
            ctx["groups"] = _grouped(values, known, tr)
            ctx["tally"] = {s: sum(r.status == s for r in values) for s in ("green", "amber", "red")}
        elif c.view == "compare":
            values, ctx["own"] = compare_values(session, actor, c, level, known[c.indicator])
            shown = [*values, *([ctx["own"]] if ctx["own"] is not None else [])]
            ctx["approved"] = approval.approved_notes(session=session, values=shown, tr=tr)
            ctx["approved_units"] = approval.approved_units(session=session, orgunits=[r.orgunit for r in shown],
                                                            period=c.period)
            ctx["can_approve"] = actor.can(approval.APPROVE) and approval.approvable(c.period)
            ctx["chart"] = chart_json(values)
        elif c.view == "trend":
            values, ctx["by_quarter"] = trend_values(session, actor, c)
            ctx["chart"] = chart_json(values, label="period")
        else:
            if level == "village":
                raise InvalidInput("orgunit", "indicators.pages.help.village_level")
            values, ctx["table"] = village_values(session, actor, c, ctx["columns"])
    except InvalidInput as exc:
        ctx["errors"] = form_errors(exc, tr)
        ctx["groups"] = []
        return ctx, [], 422
    ctx["values"] = values
    return ctx, values, 200


def _grouped(values: list[Any], known: dict[str, Meta], tr: Translator) -> list[tuple[str, list[Any]]]:
    groups: dict[str, list[Any]] = {}
    for r in values:
        groups.setdefault(known[r.indicator].category if r.indicator in known else "other", []).append(r)
    return [(category_label(code, tr), rows) for code, rows in groups.items()]


TEMPLATES = {"overview": "indicators/overview.html", "compare": "indicators/compare.html",
             "trend": "indicators/trend.html", "villages": "indicators/villages.html"}


def _view_query(period: str = "", orgunit: str = "", indicator: str = "", indicators: list[str] = Query(default=[]),
                category: str = "", sort: str = "", dir: str = "") -> dict[str, Any]:
    """The query parameters every view (and its print and Excel forms) takes, for _choice."""
    return {"period": period, "orgunit": orgunit, "indicator": indicator, "indicators": indicators,
            "category": category, "sort": sort, "dir": dir}


def _page(view: str) -> Callable[..., Response]:
    def route(request: Request, session: SessionDep, settings: SettingsDep, tr: TranslatorDep,
              actor: Actor = Depends(reader), q: dict[str, Any] = Depends(_view_query)) -> Response:
        c = _choice(view, actor, settings, **q)
        ctx, _values, status = _view_ctx(session, actor, tr, c)
        return render(request, TEMPLATES[view], ctx, status_code=status)

    return route


router.get("/indicators")(_page("overview"))
router.get("/indicators/compare")(_page("compare"))
router.get("/indicators/trend")(_page("trend"))
router.get("/indicators/villages")(_page("villages"))


def _view_param(view: str) -> str:
    if view not in VIEWS:
        raise InvalidInput("view", "indicators.pages.errors.view_unknown", value=view)
    return view


@router.get("/indicators/print")
def print_page(request: Request, session: SessionDep, settings: SettingsDep, tr: TranslatorDep,
               actor: Actor = Depends(reader), view: str = "overview",
               q: dict[str, Any] = Depends(_view_query)) -> Response:
    c = _choice(_view_param(view), actor, settings, **q)
    ctx, _values, status = _view_ctx(session, actor, tr, c)
    if status != 200:  # the form says why
        return render(request, TEMPLATES[c.view], ctx, status_code=status)
    ctx["printed_on"] = clock.today()
    ctx["back_href"] = ctx["tabs"][c.view]
    return render(request, "indicators/print.html", ctx)


@router.get("/indicators/export.xlsx")
def export_xlsx(request: Request, session: SessionDep, settings: SettingsDep, tr: TranslatorDep,
                actor: Actor = Depends(reader), view: str = "overview",
                q: dict[str, Any] = Depends(_view_query)) -> Response:
    c = _choice(_view_param(view), actor, settings, **q)
    ctx, values, status = _view_ctx(session, actor, tr, c)
    if status != 200:
        return render(request, TEMPLATES[c.view], ctx, status_code=status)
    if c.view == "compare" and ctx["own"] is not None:
        values = [ctx["own"], *values]
    if c.view == "villages":  # the table's order: village by village, the chosen indicators in turn
        values = [v.cells[i] for v in ctx["table"] for i in ctx["columns"] if i in v.cells]
    data = indicators_service.export_xlsx(values, tr, approval.approved_notes(session=session, values=values, tr=tr))
    name = f"indicators-{c.view}-{c.orgunit}-{c.period}.xlsx"
    return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# --- drill-down -------------------------------------------------------------------------------------
PRINT_MAX_ROWS = 1_000  # per list on paper; the printed form says when a list is longer (Excel has it all)


def _drill_ctx(session: Session, actor: Actor, tr: Translator, c: Choice, which: str) -> dict[str, Any]:
    known = metas(tr)
    ctx = _base_ctx(session, actor, tr, c, known)
    base = {"indicator": c.indicator, "orgunit": c.orgunit, "period": c.period}
    ctx.update(result=None, pages=1, figure=None, which=which, missing=None,
               cell=lambda row, col: indicators_service.cell_text(row, col, tr),
               list_href=lambda w: "/indicators/drill?" + urlencode({**base, "list": w}),
               drill_xlsx_href="/indicators/drill/export.xlsx?" + urlencode(base),
               drill_print_href="/indicators/drill/print?" + urlencode(base),
               page_href=lambda n: "/indicators/drill?" + urlencode({**base, "list": which, "page": n}))
    return ctx


def _figure(session: Session, actor: Actor, c: Choice) -> Any:
    figure = _compute(session, actor, indicator_ids=[c.indicator], period=c.period, orgunit=c.orgunit)
    return next((r for r in figure if r.orgunit == c.orgunit), None)


@router.get("/indicators/drill")
def drill_page(request: Request, session: SessionDep, settings: SettingsDep, tr: TranslatorDep,
               actor: Actor = Depends(reader), indicator: str = "", orgunit: str = "", period: str = "",
               page: PageNo = 1, which: str = Query("counted", alias="list", max_length=16)) -> Response:
    """The records behind a figure: 已计入 (what its numerator counts) and, for a rate, 未计入 (the
    denominator's records it leaves out), paged, with the Excel download and the printed form of both."""
    c = _choice("drill", actor, settings, period=period, orgunit=orgunit, indicator=indicator, page=page)
    ctx = _drill_ctx(session, actor, tr, c, which)
    try:
        _check(session, actor, c, ctx["known"], needs_indicator=True)
        ctx["result"] = indicators_service.drilldown(session=session, actor=actor, indicator_id=c.indicator,
                                                     orgunit=c.orgunit, period=c.period, page=c.page,
                                                     page_size=DRILL_PAGE_SIZE, which=which)
        ctx["figure"] = figure = _figure(session, actor, c)
        if figure is not None and figure.numerator is not None and figure.denominator is not None \
                and "missing" in ctx["result"].lists:
            ctx["missing"] = figure.denominator - figure.numerator
    except InvalidInput as exc:
        ctx["errors"] = form_errors(exc, tr)
        return render(request, "indicators/drill.html", ctx, status_code=422)
    ctx["pages"] = ctx["result"].pages
    return render(request, "indicators/drill.html", ctx)


def _drill_all(session: Session, actor: Actor, tr: Translator, c: Choice, limit: int, form: str
               ) -> tuple[dict[str, Any], Any]:
    ctx = _drill_ctx(session, actor, tr, c, "counted")
    try:
        _check(session, actor, c, ctx["known"], needs_indicator=True)
        got = indicators_service.drill_all(session=session, actor=actor, indicator_id=c.indicator,
                                           orgunit=c.orgunit, period=c.period, limit=limit, form=form)
    except InvalidInput as exc:
        ctx["errors"] = form_errors(exc, tr)
        return ctx, None
    return ctx, got


@router.get("/indicators/drill/print")
def drill_print(request: Request, session: SessionDep, settings: SettingsDep, tr: TranslatorDep,
                actor: Actor = Depends(reader), indicator: str = "", orgunit: str = "", period: str = ""
                ) -> Response:
    """Both lists of a figure on paper (A4), at most PRINT_MAX_ROWS rows each."""
    c = _choice("drill", actor, settings, period=period, orgunit=orgunit, indicator=indicator)
    ctx, got = _drill_all(session, actor, tr, c, PRINT_MAX_ROWS, "print")
    if got is None:
        return render(request, "indicators/drill.html", ctx, status_code=422)
    ctx.update(got=got, printed_on=clock.today(), back_href=drill_href(c.indicator, c.orgunit, c.period))
    return render(request, "indicators/drill_print.html", ctx)


@router.get("/indicators/drill/export.xlsx")
def drill_export(request: Request, session: SessionDep, settings: SettingsDep, tr: TranslatorDep,
                 actor: Actor = Depends(reader), indicator: str = "", orgunit: str = "", period: str = ""
                 ) -> Response:
    """Both lists of a figure as an xlsx workbook (one sheet each)."""
    c = _choice("drill", actor, settings, period=period, orgunit=orgunit, indicator=indicator)
    ctx, got = _drill_all(session, actor, tr, c, indicators_service.EXPORT_MAX_ROWS, "xlsx")
    if got is None:
        return render(request, "indicators/drill.html", ctx, status_code=422)
    data = indicators_service.drill_workbook(got, tr)
    name = f"indicator-records-{c.indicator}-{c.orgunit}-{c.period}.xlsx"
    return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
