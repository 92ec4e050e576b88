"""HTML pages of chronic-disease management: the patients under management in the actor's scope (with the
follow-up status), a registration's page with its follow-ups and the follow-up and closing forms, the
registration form, and the table of 规范管理率 / 控制率 per county, township and village. Thin: each route
calls the service and renders; refused forms re-render with the errors beside the fields (422)."""
from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from weijian.accounts.deps import require
from weijian.care.chronic import queries, service
from weijian.care.chronic.api import figure_reader
from weijian.care.chronic.rules import STATUSES, close_reason_labels, method_labels, program_labels, rules
from weijian.care.chronic.schemas import ChronicClose, ChronicRegister, FollowUpCreate, FollowUpRecord
from weijian.core import clock, nav
from weijian.core.actor import Actor
from weijian.core.bounds import Id64, PageNo
from weijian.core.errors import InvalidInput
from weijian.core.i18n import Translator
from weijian.core.identifiers import division_level
from weijian.core.periods import default_period, parse_period
from weijian.core.web import (
    SessionDep,
    SettingsDep,
    TranslatorDep,
    form_command,
    form_errors,
    form_values,
    period_correction,
    refused,
    render,
    verify_csrf,
)
from weijian.orgunits import service as orgunits_service
from weijian.residents import service as residents_service

router = APIRouter(dependencies=[Depends(verify_csrf)])
# This module's entries of the main navigation (added by the composition root, weijian.wiring).
NAV = (
    nav.NavItem("/care/chronic", "care.chronic.nav", "care:read", 30),
    # Statistics staff (bureau) have no care:read; the rates page is their way in.
    nav.NavItem("/care/chronic/rates", "care.chronic.nav_rates", "stats:read", 31),
)

PAGE_SIZE = 50


def age_on(birth_date: date, today: date) -> int:
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


def _labels(tr: Translator) -> dict[str, Any]:
    r = rules()
    return {"programs": program_labels(tr.locale), "methods": method_labels(tr.locale),
            "reasons": close_reason_labels(tr.locale),
            "salt_levels": {c.code: c.label(tr.locale) for c in r.salt.values()},
            "levels": {c.code: c.label(tr.locale) for c in r.levels.values()},
            "adherence_levels": {c.code: c.label(tr.locale) for c in r.adherence.values()},
            "foot_pulse_levels": {c.code: c.label(tr.locale) for c in r.foot_pulse.values()},
            "sides": {c.code: c.label(tr.locale) for c in r.sides.values()},
            "hypoglycaemia_levels": {c.code: c.label(tr.locale) for c in r.hypoglycaemia.values()},
            "medication_rows": MEDICATION_ROWS}


def _needs_village(actor: Actor) -> bool:
    """A county-wide list is thousands of patients: county staff pick a village first."""
    return actor.scope_code is None or division_level(actor.scope_code) == "county"


# --- patients under management ------------------------------------------------------------------
@router.get("/care/chronic")
def list_page(request: Request, session: SessionDep, tr: TranslatorDep, actor: Actor = Depends(require("care:read")),
              program: str = "", village: str = "", status: str = "", page: PageNo = 1) -> Response:
    today = clock.today()
    program = program if program in rules().programs else ""
    status = status if status in STATUSES else ""
    villages = residents_service.villages_in_scope(session=session, actor=actor)
    village = village if village in dict(villages) else ""
    ctx: dict[str, Any] = {"program": program, "village": village, "status": status, "villages": villages,
                           "today": today, "items": [], "counts": {}, "page": max(1, page), "has_next": False,
                           "county_actor": _needs_village(actor),
                           "needs_village": _needs_village(actor) and not village,
                           "age_on": age_on,
                           **_labels(tr)}
    if not ctx["needs_village"]:
        items = queries.due_follow_ups(session=session, actor=actor, as_of=today, village_code=village or None,
                                       program=program or None)
        ctx["counts"] = Counter(i.status for i in items)
        shown = [i for i in items if not status or i.status == status]
        start = (ctx["page"] - 1) * PAGE_SIZE
        ctx.update(items=shown[start:start + PAGE_SIZE], has_next=len(shown) > start + PAGE_SIZE, total=len(shown))
    ctx["village_names"] = dict(villages)
    return render(request, "care/chronic/list.html", ctx)


# --- registration -------------------------------------------------------------------------------
def _register_ctx(tr: Translator, values: dict[str, Any], errors: dict[str, str] | None = None) -> dict[str, Any]:
    return {"values": values, "errors": errors or {}, **_labels(tr)}


@router.get("/care/chronic/register")
def register_page(request: Request, tr: TranslatorDep, actor: Actor = Depends(require("care:write")),
                  resident_id: str = "", program: str = "") -> Response:
    values = {"resident_id": resident_id.strip()[:12], "program": program,
              "registered_on": clock.today().isoformat()}
    return render(request, "care/chronic/register.html", _register_ctx(tr, values))


@router.post("/care/chronic/register")
async def register_submit(request: Request, session: SessionDep, tr: TranslatorDep,
                          actor: Actor = Depends(require("care:write"))) -> Response:
    try:
        # The registration is the actor's facility's: the form names none.
        cmd = await form_command(request, ChronicRegister, facility_id=None)
        registration = service.register(session=session, registration_in=cmd, actor=actor)
    except InvalidInput as exc:
        refused(session)
        ctx = _register_ctx(tr, await form_values(request), form_errors(exc, tr))
        return render(request, "care/chronic/register.html", ctx, status_code=422)
    return RedirectResponse(f"/care/chronic/registrations/{registration.id}", status_code=303)


# --- one registration: follow-ups and closing ---------------------------------------------------
def _detail_ctx(session: Session, actor: Actor, tr: Translator, registration_id: Id64,
                **extra: Any) -> dict[str, Any]:
    view = queries.get_registration(session=session, registration_id=registration_id, actor=actor)
    today = clock.today()
    prog = rules().programs[view.registration.program]
    # The words of an urgent referral's reasons: the limits reached, the danger signs noted.
    urgent_labels = {**{u.code: tr(f"care.chronic.urgent_limits.{u.code}") for u in prog.urgent_limits},
                     **{c.code: c.label(tr.locale) for c in prog.urgent_signs}}
    ctx = {"view": view, "r": view.registration, "resident": view.resident, "today": today,
           "age": age_on(view.resident.birth_date, today), "urgent_labels": urgent_labels,
           "program_rules": prog,
           # The rest of the record form of each follow-up (follow_ups.record), for the list.
           "records": {x.id: FollowUpRecord.model_validate_json(x.record) for x in view.follow_ups if x.record},
           "village_name": residents_service.village_names(
               session=session, codes=[view.resident.village_code])[view.resident.village_code],
           "fu_values": {"date": today.isoformat(), "method": "clinic"}, "fu_errors": {},
           "close_values": {"closed_on": today.isoformat()}, "close_errors": {}, **_labels(tr)}
    ctx.update(extra)
    return ctx


async def _refused_form(request: Request, session: Session, actor: Actor, tr: Translator, registration_id: int,
                        form: str, exc: InvalidInput) -> Response:
    """The registration's page again, the refused form (`fu`: the follow-up, `close`) showing the user's input
    beside its errors (422). A registration outside the actor's scope answers 404 here, as a missing one."""
    refused(session)
    ctx = _detail_ctx(session, actor, tr, registration_id, **{f"{form}_values": await form_values(request),
                                                             f"{form}_errors": form_errors(exc, tr)})
    return render(request, "care/chronic/detail.html", ctx, status_code=422)


@router.get("/care/chronic/registrations/{registration_id:int}")
def detail_page(registration_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                actor: Actor = Depends(require("care:read")), saved: Id64 | None = None) -> Response:
    ctx = _detail_ctx(session, actor, tr, registration_id)
    # The follow-up just saved (the redirect after the form names it): its classification and next visit.
    ctx["saved"] = next((x for x in ctx["view"].follow_ups if x.id == saved), None)
    return render(request, "care/chronic/detail.html", ctx)


@router.post("/care/chronic/registrations/{registration_id:int}/follow-ups")
async def follow_up_submit(registration_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                           actor: Actor = Depends(require("care:write"))) -> Response:
    user = getattr(request.state, "user", None)
    try:
        cmd = await form_command(request, FollowUpCreate, clinician_name=getattr(user, "full_name", None),
                                 medications=await _medications(request))
        await period_correction(request, session, actor)
        saved = service.record_follow_up(session=session, registration_id=registration_id, follow_up_in=cmd,
                                         actor=actor)
    except InvalidInput as exc:
        return await _refused_form(request, session, actor, tr, registration_id, "fu", exc)
    return RedirectResponse(f"/care/chronic/registrations/{registration_id}?saved={saved.id}", status_code=303)


MEDICATION_ROWS = 3  # 用药情况 lines on the form


async def _medications(request: Request) -> list[dict[str, str]]:
    """用药情况 from the form's rows (med_name, med_times, med_mg, repeated); a row left blank is no drug."""
    form = await request.form()
    columns = [[v if isinstance(v, str) else "" for v in form.getlist(k)] for k in ("med_name", "med_times", "med_mg")]
    rows = zip(*(c + [""] * (max(map(len, columns), default=0) - len(c)) for c in columns), strict=True)
    return [{"name": n, "times_per_day": t, "mg_per_dose": m} for n, t, m in rows if (n + t + m).strip()]


@router.post("/care/chronic/registrations/{registration_id:int}/close")
async def close_submit(registration_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                       actor: Actor = Depends(require("care:write"))) -> Response:
    try:
        cmd = await form_command(request, ChronicClose)
        service.close(session=session, registration_id=registration_id, close_in=cmd, actor=actor)
    except InvalidInput as exc:
        return await _refused_form(request, session, actor, tr, registration_id, "close", exc)
    return RedirectResponse(f"/care/chronic/registrations/{registration_id}", status_code=303)


# --- rates --------------------------------------------------------------------------------------
@router.get("/care/chronic/rates")
def rates_page(request: Request, session: SessionDep, settings: SettingsDep, tr: TranslatorDep,
               actor: Actor = Depends(figure_reader), program: str = "hypertension", period: str = "",
               orgunit: str = "") -> Response:
    period = period.strip() or default_period(clock.today(), "year")
    orgunit = orgunit.strip() or actor.scope_code or f"{settings.county_code}000000"
    units = [u for u in orgunits_service.list_orgunits(session=session)
             if (u.level != "village" or u.code == actor.scope_code)
             and orgunits_service.in_scope(scope_code=actor.scope_code, code=u.code)]
    r = rules()
    known = r.programs.get(program)
    ctx: dict[str, Any] = {"program": program, "period": period, "orgunit": orgunit, "units": units,
                           "report": None, "errors": {}, "estimate_age": r.estimate_from_age,
                           "prevalence": f"{r.prevalence.get(program, 0) * 100:.1f}%",
                           "per_year": known.follow_ups_per_year if known else 4, **_labels(tr)}
    try:
        ctx["report"] = queries.management_rates(session=session, program=program, period=parse_period(period),
                                                 orgunit_code=orgunit, actor=actor)
    except InvalidInput as exc:
        ctx["errors"] = form_errors(exc, tr)
        return render(request, "care/chronic/rates.html", ctx, status_code=422)
    return render(request, "care/chronic/rates.html", ctx)
