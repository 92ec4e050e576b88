"""HTML pages of case reports (传染病报告卡): the list (scope-limited, audited), the new card's form (by hand,
or prefilled from an encounter's notifiable diagnosis: care.records' prompt links here), and a card's page
with its revision history and the revise / delete / duplicate forms (`service.allowed_actions`)."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from weijian.accounts.deps import ActorDep, require
from weijian.core import clock, nav
from weijian.core.actor import Actor
from weijian.core.bounds import Id64, PageNo
from weijian.core.errors import Forbidden, InvalidInput, InvalidState
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
from weijian.orgunits import service as orgunits_service
from weijian.surveillance import rules
from weijian.surveillance.cases import queries, service
from weijian.surveillance.cases.schemas import (
    CLASSIFICATIONS,
    CaseReportCreate,
    CaseReportDelete,
    CaseReportDuplicate,
    CaseReportRevise,
)

router = APIRouter(dependencies=[Depends(verify_csrf)])
# This module's entry of the main navigation (added by the composition root, weijian.wiring).
NAV = (nav.NavItem("/surveillance/case-reports", "surveillance.cases.nav", "case:read", 60),)
ACTIONS = ("revise", "delete", "duplicate")
PAGE_SIZE = 20
_PREFILL = ("encounter_id", "icd10", "disease")


def _local_input(moment: Any) -> str:
    """A time as a datetime-local input's value (county time, to the minute)."""
    return clock.format_local(moment, "%Y-%m-%dT%H:%M") if moment else ""


def _diseases(tr: Translator) -> list[tuple[str, str]]:
    return [(d.code, d.name(tr.locale)) for d in rules.edition_on(clock.today()).diseases]


@router.get("/surveillance/case-reports")
def case_reports_page(request: Request, session: SessionDep, tr: TranslatorDep, actor: ActorDep,
                      disease: str = "", status: str = "", late: str = "", page: PageNo = 1) -> Response:
    status = status if status in queries.STATUSES else ""
    late_flag = {"1": True, "0": False}.get(late)
    result = queries.list_reports(session=session, actor=actor, disease=disease or None, status=status or None,
                                  late=late_flag, page=page, page_size=PAGE_SIZE)
    return render(request, "surveillance/cases/list.html", {
        "result": result, "disease": disease, "status": status, "late": late if late_flag is not None else "",
        "statuses": queries.STATUSES, "diseases": _diseases(tr), "name_of": queries.disease_name,
        "local": _local_input})


def _form_ctx(session: Session, actor: Actor, tr: Translator, resident: Any, values: dict[str, Any],
              errors: dict[str, str] | None = None) -> dict[str, Any]:
    facility = (orgunits_service.get_facility(session=session, facility_id=actor.facility_id)
                if actor.facility_id is not None else None)
    return {"resident": resident, "values": values, "errors": errors or {}, "diseases": _diseases(tr),
            "classifications": CLASSIFICATIONS, "facility": facility,
            "action": f"/surveillance/case-reports/new?resident_id={resident.id}"}


@router.get("/surveillance/case-reports/new")
def new_case_report_page(request: Request, session: SessionDep, tr: TranslatorDep, resident_id: Id64,
                         actor: Actor = Depends(require("case:report")), encounter_id: str = "", icd10: str = "",
                         disease: str = "", diagnosed_on: str = "") -> Response:
    resident = queries.form_resident(session=session, actor=actor, resident_id=resident_id)
    given = {"encounter_id": encounter_id, "icd10": icd10, "disease": disease}
    values: dict[str, Any] = {k: v.strip()[:32] for k, v in given.items() if v.strip()}
    now = clock.now()
    values["reported_at"] = _local_input(now)
    if diagnosed_on.strip() == clock.today().isoformat():
        values["diagnosed_at"] = _local_input(now)
    if diagnosed_on.strip():
        values["onset_date"] = diagnosed_on.strip()[:10]
    values.setdefault("classification", "clinical" if encounter_id else "")
    return render(request, "surveillance/cases/form.html", _form_ctx(session, actor, tr, resident, values))


@router.post("/surveillance/case-reports/new")
async def new_case_report_submit(request: Request, session: SessionDep, tr: TranslatorDep, resident_id: Id64,
                                 actor: Actor = Depends(require("case:report"))) -> Response:
    try:
        report_in = await form_command(request, CaseReportCreate, resident_id=resident_id)
        card = service.report(session=session, report_in=report_in, actor=actor)
    except InvalidInput as exc:
        refused(session)
        resident = queries.form_resident(session=session, actor=actor, resident_id=resident_id)
        ctx = _form_ctx(session, actor, tr, resident, await form_values(request), form_errors(exc, tr))
        return render(request, "surveillance/cases/form.html", ctx, status_code=422)
    return RedirectResponse(f"/surveillance/case-reports/{card.id}", status_code=303)


def _card_ctx(session: Session, actor: Actor, tr: Translator, report_id: int, **extra: Any) -> dict[str, Any]:
    item = queries.get(session=session, report_id=report_id, actor=actor)
    card = item.report
    ctx: dict[str, Any] = {
        "item": item, "r": card, "disease_name": queries.disease_name(card.disease, tr.locale),
        "history": queries.revisions(card), "actions": service.allowed_actions(card, actor),
        "candidates": queries.same_case_candidates(session=session, report=card), "errors": {}, "message": None,
        "failed": "", "classifications": CLASSIFICATIONS, "diseases": _diseases(tr), "local": _local_input,
        "values": {"classification": card.classification, "onset_date": card.onset_date.isoformat(),
                   "diagnosed_at": _local_input(card.diagnosed_at), "icd10": card.icd10 or "",
                   "disease": card.disease}}
    ctx.update(extra)
    return ctx


@router.get("/surveillance/case-reports/{report_id:int}")
def case_report_page(report_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                     actor: ActorDep) -> Response:
    return render(request, "surveillance/cases/detail.html", _card_ctx(session, actor, tr, report_id))


async def _apply(request: Request, session: Session, actor: Actor, report_id: int, action: str) -> None:
    if action == "revise":
        revise_in = await form_command(request, CaseReportRevise)
        service.revise(session=session, report_id=report_id, revise_in=revise_in, actor=actor)
    elif action == "delete":
        delete_in = await form_command(request, CaseReportDelete)
        service.delete(session=session, report_id=report_id, delete_in=delete_in, actor=actor)
    else:
        duplicate_in = await form_command(request, CaseReportDuplicate)
        service.mark_duplicate(session=session, report_id=report_id, duplicate_in=duplicate_in, actor=actor)


@router.post("/surveillance/case-reports/{report_id:int}/{action}")
async def case_report_act(report_id: Id64, action: str, request: Request, session: SessionDep, tr: TranslatorDep,
                          actor: ActorDep) -> Response:
    if action not in ACTIONS:
        return render(request, "error.html", {"error": {"message": tr("surveillance.cases.errors.action_unknown")}},
                      status_code=404)
    try:
        await _apply(request, session, actor, report_id, action)
    except (InvalidInput, InvalidState) as exc:
        refused(session)
        errors = form_errors(exc, tr) if isinstance(exc, InvalidInput) else {}
        message = None if errors else tr(exc.message_key, **exc.params)
        sent = await form_values(request)
        ctx = _card_ctx(session, actor, tr, report_id, errors=errors, message=message, failed=action)
        ctx["values"] = {**ctx["values"], **sent}
        return render(request, "surveillance/cases/detail.html", ctx, status_code=exc.status_code)
    except Forbidden:
        refused(session)
        raise
    return RedirectResponse(f"/surveillance/case-reports/{report_id}", status_code=303)
