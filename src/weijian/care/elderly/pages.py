"""HTML pages of the elderly's annual service: the residents 65+ still due this year (per village), one
resident's year (health checks, the self-care form with the auxiliary tests, the 33-question TCM form, the
results) and a TCM result's print page with the guidance for the resident. Thin: each route calls the
service and renders; a refused form re-renders with the errors beside the fields (422), the input kept."""
from __future__ import annotations

import json
from functools import partial
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from weijian.accounts.deps import require
from weijian.care.elderly import rules, service
from weijian.care.elderly.schemas import SelfCareCreate, TcmCreate
from weijian.core import clock, nav
from weijian.core.actor import Actor
from weijian.core.bounds import Id64
from weijian.core.commands import build
from weijian.core.i18n import Translator
from weijian.core.identifiers import division_level
from weijian.core.web import SessionDep, TranslatorDep, render, submit_form, verify_csrf
from weijian.residents import service as residents_service

router = APIRouter(dependencies=[Depends(verify_csrf)])
NAV = (nav.NavItem("/care/elderly", "care.elderly.nav", "care:read", 33),)


def _labels(tr: Translator) -> dict[str, Any]:
    r, t = rules.rules(), rules.tcm()
    return {"items": r.items, "item_labels": {it.code: it.label(tr.locale) for it in r.items},
            "levels": {c: lv.label(tr.locale) for c, lv in r.levels.items()},
            "bands": {b.code: b.label(tr.locale) for b in r.bands},
            "tests": {c: x.label(tr.locale) for c, x in r.tests.items()},
            "test_results": {c: tr(f"care.elderly.test_results.{c}") for c in r.test_results},
            "questions": {n: q.label(tr.locale) for n, q in t.questions.items()},
            "constitutions": {c.code: c.label(tr.locale) for c in t.all()},
            "verdicts": {v: tr(f"care.elderly.verdicts.{v}") for v in rules.VERDICTS},
            "guidance_headings": {g: tr(f"care.elderly.guidance.{g}") for g in service.GUIDANCE},
            "parts": {p: tr(f"care.elderly.parts.{p}") for p in service.PARTS}}


@router.get("/care/elderly")
def due_page(request: Request, session: SessionDep, tr: TranslatorDep,
             actor: Actor = Depends(require("care:read")), village: str = "") -> Response:
    today = clock.today()
    villages = residents_service.villages_in_scope(session=session, actor=actor)
    village = village if village in dict(villages) else ""
    county = actor.scope_code is None or division_level(actor.scope_code) == "county"
    ctx: dict[str, Any] = {"village": village, "villages": villages, "village_names": dict(villages),
                           "today": today, "rows": [], "needs_village": county and not village, **_labels(tr)}
    if not ctx["needs_village"]:
        ctx["rows"] = service.due(session=session, actor=actor, as_of=today, village_code=village or None)
    return render(request, "care/elderly/due.html", ctx)


def _record_ctx(session: Session, actor: Actor, tr: Translator, resident_id: int, **extra: Any) -> dict[str, Any]:
    rec = service.record(session=session, actor=actor, resident_id=resident_id)
    today = clock.today()
    ctx: dict[str, Any] = {
        "rec": rec, "resident": rec.resident, "today": today,
        "self_care_rows": [(a, json.loads(a.levels), json.loads(a.tests)) for a in rec.self_care],
        "tcm_rows": [(t, json.loads(t.verdicts)) for t in rec.tcm],
        "sc_values": {"date": today.isoformat()}, "sc_errors": {},
        "tcm_values": {"date": today.isoformat()}, "tcm_errors": {}, **_labels(tr)}
    ctx.update(extra)
    return ctx


@router.get("/care/elderly/residents/{resident_id:int}")
def record_page(resident_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                actor: Actor = Depends(require("care:read"))) -> Response:
    return render(request, "care/elderly/record.html", _record_ctx(session, actor, tr, resident_id))


async def _submit(request: Request, session: Session, tr: Translator, actor: Actor, resident_id: int,
                  form: str, write: Any) -> Response:
    return await submit_form(request, session, tr, write, form=form, template="care/elderly/record.html",
                             page=partial(_record_ctx, session, actor, tr, resident_id),
                             redirect=lambda _: f"/care/elderly/residents/{resident_id}")


@router.post("/care/elderly/residents/{resident_id:int}/self-care")
async def self_care_submit(resident_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                           actor: Actor = Depends(require("care:write"))) -> Response:
    async def write() -> None:
        form = await request.form()
        data: dict[str, Any] = {k: str(form.get(k) or "") for k in ("date", "note", "health_check_id",
                                                                   *(it.code for it in rules.rules().items))}
        data["tests"] = {code: {"result": str(form.get(f"test_{code}")), "note": str(form.get(f"note_{code}") or "")}
                         for code in rules.rules().tests if form.get(f"test_{code}")}
        cmd = build(SelfCareCreate, data, resident_id=resident_id)
        service.record_self_care(session=session, assessment_in=cmd, actor=actor)
    return await _submit(request, session, tr, actor, resident_id, "sc", write)


@router.post("/care/elderly/residents/{resident_id:int}/tcm")
async def tcm_submit(resident_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                     actor: Actor = Depends(require("care:write"))) -> Response:
    async def write() -> None:
        form = await request.form()
        data: dict[str, Any] = {
            "date": str(form.get("date") or ""), "guidance_other": str(form.get("guidance_other") or ""),
            "answers": [str(form.get(f"q{n}") or "") for n in rules.tcm().questions],
            "guidance": [g for g in form.getlist("guidance") if isinstance(g, str)]}
        cmd = build(TcmCreate, data, resident_id=resident_id)
        service.record_tcm(session=session, tcm_in=cmd, actor=actor)
    return await _submit(request, session, tr, actor, resident_id, "tcm", write)


@router.get("/care/elderly/tcm/{tcm_id:int}/print")
def tcm_print_page(tcm_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                   actor: Actor = Depends(require("care:read"))) -> Response:
    t, resident = service.get_tcm(session=session, actor=actor, tcm_id=tcm_id)
    res_verdicts: dict[str, str] = json.loads(t.verdicts)
    cons = rules.tcm()
    identified = [c for c in cons.all() if res_verdicts.get(c.code, "no") != "no"]
    # The main constitution's guidance first, then the others identified (兼夹体质).
    identified.sort(key=lambda c: (c.code != t.main, c.code == cons.balanced.code))
    ctx = {"t": t, "resident": resident, "scores": json.loads(t.scores), "res_verdicts": res_verdicts,
           "identified": [(c, c.guidance(tr.locale)) for c in identified],
           "given": [g for g in (t.guidance or "").split(",") if g], **_labels(tr)}
    return render(request, "care/elderly/tcm_print.html", ctx)
