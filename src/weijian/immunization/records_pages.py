"""HTML pages of vaccine stock: the stock page of a vaccination point (balances, flags, receipt / wastage /
transfer / adjustment forms). Thin: each route calls the stock service and renders; a refused form comes back
with the input kept (422). The vaccination records' pages are in immunization.records.pages."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from weijian.accounts.deps import require
from weijian.core import clock, nav
from weijian.core.actor import Actor
from weijian.core.bounds import Id64
from weijian.core.errors import InvalidInput
from weijian.core.i18n import Translator
from weijian.core.web import SessionDep, TranslatorDep, form_errors, refused, render, verify_csrf
from weijian.immunization import stock
from weijian.immunization.schedule.rules import VACCINE_CODES

router = APIRouter(dependencies=[Depends(verify_csrf)])
# This module's entries of the main navigation (added by the composition root, weijian.wiring).
NAV = (
    nav.NavItem("/immunization/stock", "immunization.records.nav.stock", "stock:manage", 50),
)

FORMS = {"receipt": ("lot_id", "vaccine", "product", "manufacturer", "lot_number", "expiry_date", "doses_per_vial",
                     "quantity", "note"),
         "wastage": ("lot_id", "quantity", "reason", "note"),
         "transfer": ("lot_id", "to_point", "quantity", "note"),
         "adjustment": ("lot_id", "quantity", "reason")}


# --- stock --------------------------------------------------------------------------------------
def _stock_ctx(session: Session, actor: Actor, point_id: str | None, *, form: str | None = None,
               values: dict[str, Any] | None = None, errors: dict[str, str] | None = None) -> dict[str, Any]:
    points = stock.managed_points(session=session, actor=actor)
    own = stock.point_of_facility(session=session, facility_id=actor.facility_id)
    point = None
    if point_id:
        point = stock.managed_point(session=session, point_id=point_id, actor=actor)
    elif own is not None and own.id in {p.id for p in points}:
        point = own
    elif len(points) == 1:
        point = points[0]
    today = clock.today()
    ctx: dict[str, Any] = {"points": points, "point": point, "today": today, "form": form, "values": values or {},
                           "errors": errors or {}, "vaccine_codes": VACCINE_CODES,
                           "wastage_reasons": stock.WASTAGE_REASONS, "local_time": clock.format_local,
                           "flag_text": flag_text,
                           "all_points": stock.list_points(session=session)}
    if point is None:
        rows = stock.balances(session=session, actor=actor)
        overview: dict[int, dict[str, int]] = {}
        for r in rows:
            if r.lot.expiry_date >= today:
                per = overview.setdefault(r.point_id, {})
                per[r.lot.vaccine] = per.get(r.lot.vaccine, 0) + r.quantity
        ctx.update(overview=overview, totals=stock.totals_by_vaccine(rows, today=today))
        return ctx
    rows = stock.balances(session=session, actor=actor, point_id=point.id)
    moves = stock.movements(session=session, actor=actor, point_id=point.id, limit=30)
    ctx.update(rows=rows, flags=stock.flags(session=session, point_id=point.id, today=today),
               totals=stock.totals_by_vaccine(rows, today=today), movements=moves,
               lot_numbers=stock.lot_numbers(session=session, lot_ids=[m.lot_id for m in moves]),
               point_names={p.id: p.name for p in ctx["all_points"]},
               receipt_lots=[lot for lot in stock.list_lots(session=session) if lot.expiry_date >= today])
    return ctx


@router.get("/immunization/stock")
def stock_page(request: Request, session: SessionDep, actor: Actor = Depends(require("stock:manage")),
               point_id: str = "") -> Response:
    return render(request, "immunization/records/stock.html", _stock_ctx(session, actor, point_id.strip()[:12]))


@router.post("/immunization/stock/{point_id:int}/{kind}")
async def stock_submit(point_id: Id64, kind: str, request: Request, session: SessionDep, tr: TranslatorDep,
                       actor: Actor = Depends(require("stock:manage"))) -> Response:
    if kind not in FORMS:
        return RedirectResponse(f"/immunization/stock?point_id={point_id}", status_code=303)
    form = await request.form()
    values = {k: str(form.get(k) or "").strip() for k in FORMS[kind]}
    try:
        _apply(session, actor, point_id, kind, values)
    except InvalidInput as exc:
        refused(session)
        ctx = _stock_ctx(session, actor, str(point_id), form=kind, values=values, errors=form_errors(exc, tr))
        return render(request, "immunization/records/stock.html", ctx, status_code=422)
    return RedirectResponse(f"/immunization/stock?point_id={point_id}&done={kind}", status_code=303)


def _apply(session: Session, actor: Actor, point_id: Id64, kind: str, v: dict[str, Any]) -> None:
    if kind == "receipt":
        lot: Any = v["lot_id"] or {k: v[k] for k in ("vaccine", "product", "manufacturer", "lot_number", "expiry_date",
                                                     "doses_per_vial")}
        stock.receive(session=session, point_id=point_id, lot=lot, quantity=v["quantity"], actor=actor,
                      note=v["note"] or None)
    elif kind == "wastage":
        stock.waste(session=session, point_id=point_id, lot_id=v["lot_id"], quantity=v["quantity"], reason=v["reason"],
                    note=v["note"] or None, actor=actor)
    elif kind == "transfer":
        stock.transfer(session=session, from_point=point_id, to_point=v["to_point"], lot_id=v["lot_id"],
                       quantity=v["quantity"], note=v["note"] or None, actor=actor)
    else:
        stock.adjust(session=session, point_id=point_id, lot_id=v["lot_id"], quantity=v["quantity"], reason=v["reason"],
                     actor=actor)


def flag_text(f: stock.StockFlag, tr: Translator) -> str:
    """One flag as a sentence (used by the stock page)."""
    name = tr(f"immunization.vaccines.{f.vaccine}")
    if f.kind == "low_stock":
        return tr("immunization.records.flags.low_stock", vaccine=name, quantity=f.quantity, days=f.days_of_stock,
                  min_days=f.min_days, daily=f.daily_use)
    key = "immunization.records.flags." + f.kind
    return tr(key, vaccine=name, lot_number=f.lot.lot_number, quantity=f.quantity,
              expiry=f.lot.expiry_date.isoformat(), days=abs(f.days_left or 0))
