"""HTML pages of severe mental illness management: the register (per village: the next follow-up due or
overdue, a referral still needed), the registration form with the informed consent, and one patient's page
with the follow-ups, the basis of the read, and the follow-up and closing forms. Only holders of
mental:read / mental:write reach them; refused forms re-render with the errors beside the fields (422),
the user's input kept."""
from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from weijian.accounts.deps import require
from weijian.care.mental import queries, rules, service
from weijian.care.mental.schemas import ConsentRecord, FollowUpCreate, PatientClose, PatientRegister
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
    submit_form,
    verify_csrf,
)
from weijian.residents import service as residents_service

router = APIRouter(dependencies=[Depends(verify_csrf)])
NAV = (nav.NavItem("/care/mental", "care.mental.nav", "mental:read", 33),)
DUE = ("overdue", "due", "upcoming")


def _labels(tr: Translator) -> dict[str, Any]:
    out = rules.labels(tr.locale)
    out["risk_options"] = {str(g): f"{g} · {text}" for g, text in out["risk_grades"].items()}
    out["close_reasons"] = {r: tr(f"care.mental.close_reasons.{r}") for r in service.CLOSE_REASONS}
    return out


@router.get("/care/mental")
def register_page(request: Request, session: SessionDep, tr: TranslatorDep,
                  actor: Actor = Depends(require("mental:read")), village: str = "", status: str = "active",
                  due: str = "") -> Response:
    today = clock.today()
    status = status if status in rules.PATIENT_STATUSES else "active"
    due = due if due in DUE else ""
    villages = residents_service.villages_in_scope(session=session, actor=actor)
    village = village if village in dict(villages) else ""
    items = queries.register(session=session, actor=actor, as_of=today, village_code=village or None, status=status)
    counts = {s: sum(1 for i in items if i.due_status == s) for s in DUE}
    counts["referral"] = sum(1 for i in items if i.needs_referral)
    ctx = {"village": village, "villages": villages, "village_names": dict(villages), "status": status, "due": due,
           "today": today, "counts": counts, "items": [i for i in items if not due or i.due_status == due],
           **_labels(tr)}
    return render(request, "care/mental/register.html", ctx)


@router.get("/care/mental/new")
def new_page(request: Request, tr: TranslatorDep, actor: Actor = Depends(require("mental:write")),
             resident_id: str = "") -> Response:
    values = {"resident_id": resident_id.strip()[:12], "registered_on": clock.today().isoformat(), "consent": "true",
              "risk_grade": "0"}
    return render(request, "care/mental/new.html", {"values": values, "errors": {}, **_labels(tr)})


@router.post("/care/mental/new")
async def new_submit(request: Request, session: SessionDep, tr: TranslatorDep,
                     actor: Actor = Depends(require("mental:write"))) -> Response:
    try:
        cmd = await form_command(request, PatientRegister)
        p = service.register_patient(session=session, patient_in=cmd, actor=actor)
    except InvalidInput as exc:
        refused(session)
        ctx = {"values": await form_values(request), "errors": form_errors(exc, tr), **_labels(tr)}
        return render(request, "care/mental/new.html", ctx, status_code=422)
    return RedirectResponse(f"/care/mental/patients/{p.id}", status_code=303)


# --- one patient --------------------------------------------------------------------------------
FORMS = ("follow_up", "close", "consent")


def _detail_ctx(session: Session, actor: Actor, tr: Translator, patient_id: int, **extra: Any) -> dict[str, Any]:
    today = clock.today()
    view = queries.get_patient(session=session, patient_id=patient_id, actor=actor, as_of=today)
    code = view.resident.village_code
    ctx: dict[str, Any] = {
        "view": view, "p": view.patient, "resident": view.resident, "today": today,
        "village_name": residents_service.village_names(session=session, codes=[code])[code],
        "basis_label": tr(f"accounts.audit.bases.{view.basis}"),
        "follow_up_values": {"date": today.isoformat(), "risk_grade": str(view.patient.risk_grade),
                             "symptoms": "gone", "insight": "recovered", "social_function": "good",
                             "adherence": "regular"},
        "close_values": {"closed_on": today.isoformat()},
        "consent_values": {"consent_on": today.isoformat(), "consent_signer": "guardian"},
        **{f"{f}_errors": {} for f in FORMS}, **_labels(tr)}
    ctx.update(extra)
    return ctx


@router.get("/care/mental/patients/{patient_id:int}")
def detail_page(patient_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                actor: Actor = Depends(require("mental:read"))) -> Response:
    return render(request, "care/mental/detail.html", _detail_ctx(session, actor, tr, patient_id))


async def _submit(request: Request, session: SessionDep, tr: Translator, actor: Actor, patient_id: int,
                  form: str, write: Any) -> Response:
    return await submit_form(request, session, tr, write, form=form, template="care/mental/detail.html",
                             page=partial(_detail_ctx, session, actor, tr, patient_id),
                             redirect=lambda _: f"/care/mental/patients/{patient_id}")


@router.post("/care/mental/patients/{patient_id:int}/follow-ups")
async def follow_up_submit(patient_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                           actor: Actor = Depends(require("mental:write"))) -> Response:
    async def write() -> None:
        queries.patient_in_scope(session=session, actor=actor, patient_id=patient_id, permission="mental:write")
        cmd = await form_command(request, FollowUpCreate)
        service.record_follow_up(session=session, patient_id=patient_id, follow_up_in=cmd, actor=actor)
    return await _submit(request, session, tr, actor, patient_id, "follow_up", write)


@router.post("/care/mental/patients/{patient_id:int}/close")
async def close_submit(patient_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                       actor: Actor = Depends(require("mental:write"))) -> Response:
    async def write() -> None:
        queries.patient_in_scope(session=session, actor=actor, patient_id=patient_id, permission="mental:write")
        cmd = await form_command(request, PatientClose)
        service.close_patient(session=session, patient_id=patient_id, close_in=cmd, actor=actor)
    return await _submit(request, session, tr, actor, patient_id, "close", write)


@router.post("/care/mental/patients/{patient_id:int}/consent")
async def consent_submit(patient_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                         actor: Actor = Depends(require("mental:write"))) -> Response:
    async def write() -> None:
        queries.patient_in_scope(session=session, actor=actor, patient_id=patient_id, permission="mental:write")
        cmd = await form_command(request, ConsentRecord)
        service.record_consent(session=session, patient_id=patient_id, consent_in=cmd, actor=actor)
    return await _submit(request, session, tr, actor, patient_id, "consent", write)
