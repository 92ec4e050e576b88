"""HTML pages of the equipment registry: the devices in scope with their flags (expiring, not inspected this
month) and the count of AEDs in public places, the device form, one device with its inspections and the
inspection form, and the printable list of AEDs in public places. A refused form comes back with the input
kept and the errors beside it (422)."""
from __future__ import annotations

import io
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from weijian.accounts.deps import require
from weijian.core import clock, nav
from weijian.core.actor import Actor
from weijian.core.bounds import Id64
from weijian.core.errors import InvalidInput
from weijian.core.excel import append
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
from weijian.ledgers.equipment import queries, service
from weijian.ledgers.equipment.rules import rules
from weijian.ledgers.equipment.schemas import DeviceCreate, InspectionCreate

router = APIRouter(dependencies=[Depends(verify_csrf)])
NAV = (nav.NavItem("/ledgers/equipment", "ledgers.equipment.nav", "ledger:read", 81),)
LIST = "ledgers/equipment/list.html"
DEVICE = "ledgers/equipment/device.html"


def _list_ctx(session: Session, actor: Actor, tr: Translator, flag: str, **extra: Any) -> dict[str, Any]:
    today = clock.today()
    rows = service.list_devices(session=session, actor=actor, as_of=today)
    ctx: dict[str, Any] = {
        "today": today, "data": rules(), "flag": flag if flag in queries.FLAGS else "",
        "rows": [r for r in rows if flag not in queries.FLAGS or getattr(r, flag)],
        "public_count": sum(1 for r in rows if r.public_place), "expiring": sum(1 for r in rows if r.expiring),
        "uninspected": sum(1 for r in rows if r.uninspected), "can_write": actor.can("ledger:write"),
        "kind_options": {c: k.text(tr.locale) for c, k in rules().kinds.items()},
        "place_options": {c: p.text(tr.locale) for c, p in rules().place_types.items()},
        "values": {"kind": "aed"}, "errors": {}}
    ctx.update(extra)
    return ctx


@router.get("/ledgers/equipment")
def list_page(request: Request, session: SessionDep, tr: TranslatorDep, flag: str = "",
              actor: Actor = Depends(require("ledger:read"))) -> Response:
    return render(request, LIST, _list_ctx(session, actor, tr, flag))


@router.post("/ledgers/equipment/devices")
async def device_submit(request: Request, session: SessionDep, tr: TranslatorDep,
                        actor: Actor = Depends(require("ledger:write"))) -> Response:
    try:
        device = service.register_device(session=session, device_in=await form_command(request, DeviceCreate),
                                         actor=actor)
    except InvalidInput as exc:
        refused(session)
        ctx = _list_ctx(session, actor, tr, "", values=await form_values(request), errors=form_errors(exc, tr))
        return render(request, LIST, ctx, status_code=422)
    return RedirectResponse(f"/ledgers/equipment/devices/{device.id}", status_code=303)


def _device_ctx(session: Session, actor: Actor, tr: Translator, device_id: int, **extra: Any) -> dict[str, Any]:
    today = clock.today()
    device = service.device_in_scope(session=session, actor=actor, device_id=device_id)
    history = service.inspections(session=session, actor=actor, device_id=device_id)
    ctx: dict[str, Any] = {
        "device": device, "inspections": history, "data": rules(), "today": today,
        "row": queries.DeviceRow(device, device.orgunit_code, next((i for i in history if i.inspected_on <= today),
                                                                   None), today),
        "result_options": {c: r.text(tr.locale) for c, r in rules().results.items()},
        "can_write": actor.can("ledger:write"), "values": {"inspected_on": today.isoformat(), "result": "working"},
        "errors": {}}
    ctx.update(extra)
    return ctx


@router.get("/ledgers/equipment/devices/{device_id:int}")
def device_page(device_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                actor: Actor = Depends(require("ledger:read"))) -> Response:
    return render(request, DEVICE, _device_ctx(session, actor, tr, device_id))


@router.post("/ledgers/equipment/devices/{device_id:int}/inspections")
async def inspection_submit(device_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                            actor: Actor = Depends(require("ledger:write"))) -> Response:
    try:
        service.record_inspection(session=session, device_id=device_id,
                                  inspection_in=await form_command(request, InspectionCreate), actor=actor)
    except InvalidInput as exc:
        refused(session)
        ctx = _device_ctx(session, actor, tr, device_id, values=await form_values(request), errors=form_errors(exc, tr))
        return render(request, DEVICE, ctx, status_code=422)
    return RedirectResponse(f"/ledgers/equipment/devices/{device_id}", status_code=303)


@router.get("/ledgers/equipment/public")
def public_page(request: Request, session: SessionDep, actor: Actor = Depends(require("ledger:read"))) -> Response:
    """The AEDs in public places, by place: the list a county prints or publishes (no inspection details)."""
    today = clock.today()
    rows = service.list_devices(session=session, actor=actor, as_of=today, public_only=True)
    return render(request, "ledgers/equipment/public.html", {"rows": rows, "today": today, "data": rules()})


PUBLIC_COLUMNS = ("orgunit", "address", "place_type", "owner", "install_date")


@router.get("/ledgers/equipment/public.xlsx")
def public_xlsx(session: SessionDep, tr: TranslatorDep, actor: Actor = Depends(require("ledger:read"))) -> Response:
    """The public list as xlsx, the columns of the printed one (every cell through core.excel: formulas
    escaped), for the county to publish."""
    from openpyxl import Workbook

    today = clock.today()
    rows = service.list_devices(session=session, actor=actor, as_of=today, public_only=True)
    places = rules().place_types
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = tr("ledgers.equipment.public_title")[:31]
    append(ws, [tr("ledgers.equipment.public_title") + f"（{today.isoformat()}）"])
    append(ws, [tr(f"ledgers.equipment.columns.{c}") for c in PUBLIC_COLUMNS])
    for r in rows:
        d = r.device
        append(ws, [r.orgunit_name, d.address,
                    places[d.place_type].text(tr.locale) if d.place_type in places else d.place_type,
                    d.owner, d.install_date])
    buf = io.BytesIO()
    wb.save(buf)
    return Response(buf.getvalue(), media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": 'attachment; filename="aed-public.xlsx"'})
