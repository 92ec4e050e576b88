"""HTML pages of vaccine stock: the stock page of a vaccination point (balances, flags, the latest movements,
and the receipt / wastage / transfer / adjustment forms), or the overview of every point the user keeps stock
for. Thin: each route builds its command from the form, calls stock.service and renders; a refused form comes
back with the input kept (422)."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from weijian.accounts.deps import require
from weijian.core import clock, nav
from weijian.core.actor import Actor
from weijian.core.bounds import Id64, whole_number
from weijian.core.errors import FieldError, InvalidInput
from weijian.core.i18n import Translator
from weijian.core.web import (
    SessionDep,
    TranslatorDep,
    form_command,
    form_errors,
    form_values,
    refused,
    render,
    verify_csrf,
)
from weijian.immunization.schedule.rules import VACCINE_CODES
from weijian.immunization.stock import queries, service
from weijian.immunization.stock.schemas import (
    WASTAGE_REASONS,
    AdjustmentCreate,
    LotCreate,
    ReceiptCreate,
    TransferCreate,
    WastageCreate,
)

router = APIRouter(dependencies=[Depends(verify_csrf)])
# This module's entries of the main navigation (added by the composition root, weijian.wiring).
NAV = (
    nav.NavItem("/immunization/stock", "immunization.records.nav.stock", "stock:manage", 50),
)
TEMPLATE = "immunization/records/stock.html"
FORMS = ("receipt", "wastage", "transfer", "adjustment")


def _stock_ctx(session: Session, actor: Actor, point_id: int | None, *, form: str | None = None,
               values: dict[str, Any] | None = None, errors: dict[str, str] | None = None) -> dict[str, Any]:
    points = queries.managed_points(session=session, actor=actor)
    own = queries.point_of_facility(session=session, facility_id=actor.facility_id)
    point = None
    if point_id is not None:
        point = queries.managed_point(session=session, point_id=point_id, actor=actor)
    elif own is not None and own.id in {p.id for p in points}:
        point = own
    elif len(points) == 1:
        point = points[0]
    today = clock.today()
    ctx: dict[str, Any] = {"points": points, "point": point, "today": today, "form": form, "values": values or {},
                           "errors": errors or {}, "vaccine_codes": VACCINE_CODES,
                           "wastage_reasons": WASTAGE_REASONS, "local_time": clock.format_local,
                           "flag_text": flag_text,
                           "all_points": queries.list_points(session=session)}
    if point is None:
        rows = queries.balances(session=session, actor=actor)
        overview: dict[int, dict[str, int]] = {}
        for r in rows:
            if r.lot.expiry_date >= today:
                per = overview.setdefault(r.point_id, {})
                per[r.lot.vaccine] = per.get(r.lot.vaccine, 0) + r.quantity
        ctx.update(overview=overview, totals=queries.totals_by_vaccine(rows, today=today))
        return ctx
    rows = queries.balances(session=session, actor=actor, point_id=point.id)
    moves = queries.movements(session=session, actor=actor, point_id=point.id, limit=30)
    ctx.update(rows=rows, flags=queries.flags(session=session, point_id=point.id, today=today),
               totals=queries.totals_by_vaccine(rows, today=today), movements=moves,
               lot_numbers=queries.lot_numbers(session=session, lot_ids=[m.lot_id for m in moves]),
               point_names={p.id: p.name for p in ctx["all_points"]},
               receipt_lots=[lot for lot in queries.list_lots(session=session) if lot.expiry_date >= today])
    return ctx


@router.get("/immunization/stock")
def stock_page(request: Request, session: SessionDep, actor: Actor = Depends(require("stock:manage")),
               point_id: str = "") -> Response:
    """One point's stock (`point_id`, the point selector's value), else the user's own point or the overview."""
    text = point_id.strip()
    chosen = whole_number(text) if text else None
    if text and chosen is None:
        raise InvalidInput("point_id", "core.errors.validation.int_parsing")
    return render(request, TEMPLATE, _stock_ctx(session, actor, chosen))


@router.post("/immunization/stock/{point_id:int}/{kind}")
async def stock_submit(point_id: Id64, kind: str, request: Request, session: SessionDep, tr: TranslatorDep,
                       actor: Actor = Depends(require("stock:manage"))) -> Response:
    if kind not in FORMS:
        return RedirectResponse(f"/immunization/stock?point_id={point_id}", status_code=303)
    try:
        await _apply(request, session, actor, point_id, kind)
    except InvalidInput as exc:
        refused(session)
        ctx = _stock_ctx(session, actor, point_id, form=kind, values=await form_values(request),
                         errors=form_errors(exc, tr))
        return render(request, TEMPLATE, ctx, status_code=422)
    return RedirectResponse(f"/immunization/stock?point_id={point_id}&done={kind}", status_code=303)


async def _receipt(request: Request) -> ReceiptCreate:
    """The receipt form: a lot chosen, or the new lot's fields beside the quantity (every bad field at once)."""
    errors: list[FieldError] = []
    receipt = lot = None
    try:
        receipt = await form_command(request, ReceiptCreate)
    except InvalidInput as exc:
        errors += exc.errors
    if not str((await request.form()).get("lot_id") or "").strip():
        try:
            lot = await form_command(request, LotCreate)
        except InvalidInput as exc:
            errors += exc.errors
    if errors or receipt is None:
        raise InvalidInput(errors=errors)
    return receipt.model_copy(update={"lot": lot}) if lot is not None else receipt


async def _apply(request: Request, session: Session, actor: Actor, point_id: int, kind: str) -> None:
    if kind == "receipt":
        service.receive(session=session, point_id=point_id, receipt_in=await _receipt(request), actor=actor)
    elif kind == "wastage":
        service.waste(session=session, point_id=point_id, wastage_in=await form_command(request, WastageCreate),
                      actor=actor)
    elif kind == "transfer":
        service.transfer(session=session, from_point=point_id,
                         transfer_in=await form_command(request, TransferCreate), actor=actor)
    else:
        service.adjust(session=session, point_id=point_id,
                       adjustment_in=await form_command(request, AdjustmentCreate), actor=actor)


def flag_text(f: queries.StockFlag, tr: Translator) -> str:
    """One flag as a sentence (used by the stock page)."""
    name = tr(f"immunization.vaccines.{f.vaccine}")
    if f.kind == "low_stock":
        # Says which number drove the flag: the doses due in two weeks, the days of use, or both.
        parts = []
        if queries.LOW_DUE in f.reasons:
            parts.append(tr("immunization.records.flags.low_stock_due", vaccine=name, due=f.due_soon,
                            quantity=f.quantity, until=f.due_until.isoformat()))
        if queries.LOW_USE in f.reasons:
            parts.append(tr("immunization.records.flags.low_stock", vaccine=name, quantity=f.quantity,
                            days=f.days_of_stock, min_days=f.min_days, daily=f.daily_use))
        return tr("immunization.records.flags.separator").join(parts)
    key = "immunization.records.flags." + f.kind
    return tr(key, vaccine=name, lot_number=f.lot.lot_number, quantity=f.quantity,
              expiry=f.lot.expiry_date.isoformat(), days=abs(f.days_left or 0))
