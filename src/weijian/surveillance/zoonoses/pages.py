"""HTML pages of zoonoses: the by-village summary with the campaigns and the campaign form (emergency:read /
write), its xlsx export, and the exposures of residents in the user's scope with the exposure form (care:read
/ write; every list audited). A refused form comes back with the input kept and the errors beside it (422)."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from weijian.accounts.deps import require
from weijian.core.actor import Actor
from weijian.core.bounds import Id64
from weijian.core.errors import InvalidInput
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
from weijian.surveillance.zoonoses import export, queries, service
from weijian.surveillance.zoonoses.rules import zoonoses
from weijian.surveillance.zoonoses.schemas import CampaignCreate, ExposureCreate

router = APIRouter(dependencies=[Depends(verify_csrf)])
# No entry of its own in the main navigation: reached from the 应急 page (emergency.pages.NAV).
SUMMARY = "surveillance/zoonoses/summary.html"
EXPOSURES = "surveillance/zoonoses/exposures.html"


def _disease(disease: str) -> str | None:
    return disease if disease in zoonoses().diseases else None


def _summary_ctx(session: Session, actor: Actor, disease: str | None, **extra: Any) -> dict[str, Any]:
    ctx: dict[str, Any] = {
        "rows": queries.by_village(session=session, actor=actor, disease=disease),
        "campaigns": queries.list_campaigns(session=session, actor=actor, disease=disease),
        "data": zoonoses(), "disease": disease or "", "can_write": actor.can("emergency:write"),
        "values": {}, "errors": {}}
    ctx.update(extra)
    return ctx


@router.get("/surveillance/zoonoses")
def summary_page(request: Request, session: SessionDep, disease: str = "",
                 actor: Actor = Depends(require("emergency:read"))) -> Response:
    return render(request, SUMMARY, _summary_ctx(session, actor, _disease(disease)))


@router.get("/surveillance/zoonoses/summary.xlsx")
def summary_xlsx(session: SessionDep, tr: TranslatorDep, disease: str = "",
                 actor: Actor = Depends(require("emergency:read"))) -> Response:
    rows = queries.by_village(session=session, actor=actor, disease=_disease(disease))
    return Response(export.summary_xlsx(rows, tr), media_type=export.MEDIA_TYPE,
                    headers={"Content-Disposition": 'attachment; filename="zoonoses-by-village.xlsx"'})


@router.post("/surveillance/zoonoses/campaigns")
async def campaign_submit(request: Request, session: SessionDep, tr: TranslatorDep,
                          actor: Actor = Depends(require("emergency:write"))) -> Response:
    try:
        service.create_campaign(session=session, campaign_in=await form_command(request, CampaignCreate),
                                actor=actor)
    except InvalidInput as exc:
        refused(session)
        ctx = _summary_ctx(session, actor, None, values=await form_values(request), errors=form_errors(exc, tr))
        return render(request, SUMMARY, ctx, status_code=422)
    return RedirectResponse("/surveillance/zoonoses", status_code=303)


def _exposures_ctx(session: Session, actor: Actor, resident_id: int | None, **extra: Any) -> dict[str, Any]:
    ctx: dict[str, Any] = {
        "items": queries.list_exposures(session=session, actor=actor, resident_id=resident_id),
        "data": zoonoses(), "resident_id": resident_id, "can_write": actor.can("care:write"),
        "values": {"resident_id": str(resident_id) if resident_id else ""}, "errors": {}}
    ctx.update(extra)
    return ctx


@router.get("/surveillance/zoonoses/exposures")
def exposures_page(request: Request, session: SessionDep, resident_id: Id64 | None = None,
                   actor: Actor = Depends(require("care:read"))) -> Response:
    return render(request, EXPOSURES, _exposures_ctx(session, actor, resident_id))


@router.post("/surveillance/zoonoses/exposures")
async def exposure_submit(request: Request, session: SessionDep, tr: TranslatorDep,
                          actor: Actor = Depends(require("care:write"))) -> Response:
    try:
        row = service.create_exposure(session=session, exposure_in=await form_command(request, ExposureCreate),
                                      actor=actor)
    except InvalidInput as exc:
        refused(session)
        values = await form_values(request)
        kinds = values.get("exposure_kinds") or []
        values["exposure_kinds"] = [kinds] if isinstance(kinds, str) else kinds
        errors = form_errors(exc, tr)
        for key in [k for k in errors if k.startswith("exposure_kinds.")]:
            errors.setdefault("exposure_kinds", errors.pop(key))
        ctx = _exposures_ctx(session, actor, None, values=values, errors=errors)
        return render(request, EXPOSURES, ctx, status_code=422)
    return RedirectResponse(f"/surveillance/zoonoses/exposures?resident_id={row.resident_id}", status_code=303)
