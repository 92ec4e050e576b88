"""HTML pages of maternal health management: the pregnancy register (per village: the next antenatal
window due or overdue, the risk colour, a referral still needed), the registration form (建册), and one
pregnancy's page with its windows and visits and the antenatal, risk, delivery and postpartum forms. Thin:
each route calls the service and renders; refused forms re-render with the errors beside the fields (422),
the user's input kept."""
from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from weijian.accounts.deps import require
from weijian.care.maternal import queries, rules, service
from weijian.care.maternal.schemas import (
    AntenatalVisitCreate,
    DeliveryRecord,
    PostpartumVisitCreate,
    PregnancyRegister,
    RiskGrade,
)
from weijian.core import clock, nav
from weijian.core.actor import Actor
from weijian.core.bounds import Id64
from weijian.core.errors import InvalidInput
from weijian.core.i18n import Translator
from weijian.core.identifiers import division_level
from weijian.core.web import (
    SessionDep,
    TranslatorDep,
    form_command,
    form_errors,
    form_values,
    refused,
    render,
    submit_form,
    verify_csrf,
)
from weijian.residents import service as residents_service

router = APIRouter(dependencies=[Depends(verify_csrf)])
NAV = (nav.NavItem("/care/maternal", "care.maternal.nav", "care:read", 32),)
NEXT_STATUSES = ("overdue", "due", "upcoming")


def _labels(tr: Translator) -> dict[str, Any]:
    r = rules.rules()
    return {"colours": rules.colour_labels(tr.locale),
            "criteria": {c.code: c.label(tr.locale) for c in r.criteria.values()},
            "criteria_colour": {c.code: c.colour for c in r.criteria.values()},
            "outcomes": {c.code: c.label(tr.locale) for c in r.outcomes.values()},
            "visit_labels": {v.number: v.label(tr.locale) for v in r.visits},
            "kinds": {k: tr(f"care.maternal.postpartum_kinds.{k}") for k in rules.POSTPARTUM_KINDS}}


def _needs_village(actor: Actor) -> bool:
    return actor.scope_code is None or division_level(actor.scope_code) == "county"


@router.get("/care/maternal")
def register_page(request: Request, session: SessionDep, tr: TranslatorDep,
                  actor: Actor = Depends(require("care:read")), village: str = "", status: str = "open",
                  next_status: str = "") -> Response:
    today = clock.today()
    status = status if status in rules.PREGNANCY_STATUSES else "open"
    next_status = next_status if next_status in NEXT_STATUSES else ""
    villages = residents_service.villages_in_scope(session=session, actor=actor)
    village = village if village in dict(villages) else ""
    ctx: dict[str, Any] = {"village": village, "villages": villages, "village_names": dict(villages),
                           "status": status, "next_status": next_status, "today": today, "items": [],
                           "counts": {}, "needs_village": _needs_village(actor) and not village, **_labels(tr)}
    if not ctx["needs_village"]:
        items = queries.register(session=session, actor=actor, as_of=today, village_code=village or None,
                                 status=status)
        ctx["counts"] = {s: sum(1 for i in items if i.next and i.next.status == s) for s in NEXT_STATUSES}
        ctx["counts"]["referral"] = sum(1 for i in items if i.needs_referral)
        ctx["items"] = [i for i in items if not next_status or (i.next and i.next.status == next_status)]
    return render(request, "care/maternal/register.html", ctx)


@router.get("/care/maternal/new")
def new_page(request: Request, tr: TranslatorDep, actor: Actor = Depends(require("care:write")),
             resident_id: str = "") -> Response:
    values = {"resident_id": resident_id.strip()[:12], "registered_on": clock.today().isoformat(),
              "gravidity": "1", "parity": "0"}
    return render(request, "care/maternal/new.html", {"values": values, "errors": {}, **_labels(tr)})


@router.post("/care/maternal/new")
async def new_submit(request: Request, session: SessionDep, tr: TranslatorDep,
                     actor: Actor = Depends(require("care:write"))) -> Response:
    try:
        cmd = await form_command(request, PregnancyRegister, facility_id=None)
        p = service.register_pregnancy(session=session, pregnancy_in=cmd, actor=actor)
    except InvalidInput as exc:
        refused(session)
        ctx = {"values": await form_values(request), "errors": form_errors(exc, tr), **_labels(tr)}
        return render(request, "care/maternal/new.html", ctx, status_code=422)
    return RedirectResponse(f"/care/maternal/pregnancies/{p.id}", status_code=303)


# --- one pregnancy ------------------------------------------------------------------------------
FORMS = ("visit", "risk", "delivery", "postpartum")


def _detail_ctx(session: Session, actor: Actor, tr: Translator, pregnancy_id: int, **extra: Any) -> dict[str, Any]:
    view = queries.get_pregnancy(session=session, pregnancy_id=pregnancy_id, actor=actor)
    today = clock.today()
    p = view.pregnancy
    next_number = max((v.number for v in view.antenatal), default=0) + 1
    weeks, days = rules.gestation(p.lmp, today)
    ctx: dict[str, Any] = {
        "view": view, "p": p, "resident": view.resident, "today": today, "weeks": weeks, "days": days,
        "village_name": residents_service.village_names(
            session=session, codes=[view.resident.village_code])[view.resident.village_code],
        "criteria_noted": [c for c in (p.risk_criteria or "").split(",") if c],
        "visit_values": {"number": str(min(next_number, 5)), "date": today.isoformat()},
        "risk_values": {"graded_on": today.isoformat()},
        "delivery_values": {"delivered_on": today.isoformat(), "outcome": "live_birth", "live_births": "1"},
        "postpartum_values": {"date": today.isoformat(), "kind": "home"},
        "newborns": queries.newborns(session, p),
        **{f"{f}_errors": {} for f in FORMS}, **_labels(tr)}
    ctx.update(extra)
    return ctx


@router.get("/care/maternal/pregnancies/{pregnancy_id:int}")
def detail_page(pregnancy_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                actor: Actor = Depends(require("care:read"))) -> Response:
    return render(request, "care/maternal/detail.html", _detail_ctx(session, actor, tr, pregnancy_id))


async def _submit(request: Request, session: SessionDep, tr: Translator, actor: Actor, pregnancy_id: int,
                  form: str, write: Any) -> Response:
    return await submit_form(request, session, tr, write, form=form, template="care/maternal/detail.html",
                             page=partial(_detail_ctx, session, actor, tr, pregnancy_id),
                             redirect=lambda _: f"/care/maternal/pregnancies/{pregnancy_id}")


@router.post("/care/maternal/pregnancies/{pregnancy_id:int}/visits")
async def visit_submit(pregnancy_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                       actor: Actor = Depends(require("care:write"))) -> Response:
    async def write() -> None:
        cmd = await form_command(request, AntenatalVisitCreate)
        service.record_antenatal(session=session, pregnancy_id=pregnancy_id, visit_in=cmd, actor=actor)
    return await _submit(request, session, tr, actor, pregnancy_id, "visit", write)


@router.post("/care/maternal/pregnancies/{pregnancy_id:int}/risk")
async def risk_submit(pregnancy_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                      actor: Actor = Depends(require("care:write"))) -> Response:
    async def write() -> None:
        cmd = await form_command(request, RiskGrade)
        service.grade_risk(session=session, pregnancy_id=pregnancy_id, grade_in=cmd, actor=actor)
    return await _submit(request, session, tr, actor, pregnancy_id, "risk", write)


@router.post("/care/maternal/pregnancies/{pregnancy_id:int}/delivery")
async def delivery_submit(pregnancy_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                          actor: Actor = Depends(require("care:write"))) -> Response:
    async def write() -> None:
        cmd = await form_command(request, DeliveryRecord)
        service.record_delivery(session=session, pregnancy_id=pregnancy_id, delivery_in=cmd, actor=actor)
    return await _submit(request, session, tr, actor, pregnancy_id, "delivery", write)


@router.post("/care/maternal/pregnancies/{pregnancy_id:int}/postpartum")
async def postpartum_submit(pregnancy_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                            actor: Actor = Depends(require("care:write"))) -> Response:
    async def write() -> None:
        cmd = await form_command(request, PostpartumVisitCreate)
        service.record_postpartum(session=session, pregnancy_id=pregnancy_id, visit_in=cmd, actor=actor)
    return await _submit(request, session, tr, actor, pregnancy_id, "postpartum", write)
