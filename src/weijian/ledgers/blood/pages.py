"""HTML pages of voluntary blood donation: the donors in scope (identity numbers and phones masked, every
list audited) with the donor form, one donor with the history, the totals, the award and the next days a
donation may be made, with the donation form, and the recall list (donors eligible again). A refused form
comes back with the input kept and the errors beside it (422)."""
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
from weijian.ledgers.blood import rules, service
from weijian.ledgers.blood.schemas import DonationCreate, DonorCreate

router = APIRouter(dependencies=[Depends(verify_csrf)])
NAV = (nav.NavItem("/ledgers/blood", "ledgers.blood.nav", "ledger:read", 83),)
LIST = "ledgers/blood/donors.html"
DONOR = "ledgers/blood/donor.html"


def _labels(tr: Translator) -> dict[str, Any]:
    return {"kinds": {k: tr(f"ledgers.blood.kinds.{k}") for k in rules.KINDS},
            "sexes": {s: tr(f"ledgers.blood.sexes.{s}") for s in ("male", "female")},
            "awards": {a.code: a.text(tr.locale) for a in rules.rules().honours.awards}}


def _list_ctx(session: Session, actor: Actor, tr: Translator, name: str, **extra: Any) -> dict[str, Any]:
    ctx: dict[str, Any] = {"items": service.list_donors(session=session, actor=actor, name=name or None),
                           "name": name, "can_write": actor.can("ledger:write"), "values": {}, "errors": {},
                           **_labels(tr)}
    ctx.update(extra)
    return ctx


@router.get("/ledgers/blood")
def donors_page(request: Request, session: SessionDep, tr: TranslatorDep, name: str = "",
                actor: Actor = Depends(require("ledger:read"))) -> Response:
    return render(request, LIST, _list_ctx(session, actor, tr, name.strip()[:50]))


@router.post("/ledgers/blood/donors")
async def donor_submit(request: Request, session: SessionDep, tr: TranslatorDep,
                       actor: Actor = Depends(require("ledger:write"))) -> Response:
    try:
        donor = service.register_donor(session=session, donor_in=await form_command(request, DonorCreate),
                                       actor=actor)
    except InvalidInput as exc:
        refused(session)
        ctx = _list_ctx(session, actor, tr, "", values=await form_values(request), errors=form_errors(exc, tr))
        return render(request, LIST, ctx, status_code=422)
    return RedirectResponse(f"/ledgers/blood/donors/{donor.id}", status_code=303)


def _donor_ctx(session: Session, actor: Actor, tr: Translator, donor_id: int, **extra: Any) -> dict[str, Any]:
    today = clock.today()
    s = service.get_donor(session=session, actor=actor, donor_id=donor_id)
    ctx: dict[str, Any] = {"s": s, "donor": s.donor, "today": today, "age": rules.age_on(s.donor.birth_date, today),
                           "can_write": actor.can("ledger:write"),
                           "values": {"donated_on": today.isoformat(), "kind": "whole_blood", "volume_ml": "400"},
                           "errors": {}, **_labels(tr)}
    ctx.update(extra)
    return ctx


@router.get("/ledgers/blood/donors/{donor_id:int}")
def donor_page(donor_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
               actor: Actor = Depends(require("ledger:read"))) -> Response:
    return render(request, DONOR, _donor_ctx(session, actor, tr, donor_id))


@router.post("/ledgers/blood/donors/{donor_id:int}/donations")
async def donation_submit(donor_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                          actor: Actor = Depends(require("ledger:write"))) -> Response:
    try:
        service.record_donation(session=session, donor_id=donor_id,
                                donation_in=await form_command(request, DonationCreate), actor=actor)
    except InvalidInput as exc:
        refused(session)
        ctx = _donor_ctx(session, actor, tr, donor_id, values=await form_values(request),
                         errors=form_errors(exc, tr))
        return render(request, DONOR, ctx, status_code=422)
    return RedirectResponse(f"/ledgers/blood/donors/{donor_id}", status_code=303)


@router.get("/ledgers/blood/recall")
def recall_page(request: Request, session: SessionDep, tr: TranslatorDep,
                actor: Actor = Depends(require("ledger:read"))) -> Response:
    today = clock.today()
    items = service.recall(session=session, actor=actor, as_of=today)
    return render(request, "ledgers/blood/recall.html", {
        "items": items, "today": today, "ages": {s.donor.id: rules.age_on(s.donor.birth_date, today) for s in items},
        **_labels(tr)})
