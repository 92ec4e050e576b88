"""HTML pages of the health record: forms to record a visit, a stay, a day surgery, a health check or a
screening from the resident's record page (with an ICD-10 picker that searches as the clinician types), an
encounter and its discharge form, and the timeline section of the record page (htmx partial, or a whole page
without JS). Thin: each route builds its command (core.web.form_command), calls the records service and renders."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from weijian.accounts.deps import require
from weijian.care import icd10
from weijian.care.models import Encounter
from weijian.care.records import queries, service
from weijian.care.records import timeline as record_timeline
from weijian.care.records.schemas import (
    ANNUAL_CHECK_AGE,
    ENCOUNTER_TYPES,
    HEALTH_CHECK_KINDS,
    SCREENING_KINDS,
    SCREENING_RESULTS,
    DischargeIn,
    EncounterCreate,
    HealthCheckCreate,
    ScreeningCreate,
    VoidIn,
)
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.bounds import Id64, PageNo, whole_number
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
from weijian.orgunits import service as orgunits_service

router = APIRouter(dependencies=[Depends(verify_csrf)])

DIAGNOSIS_SLOTS = 4  # inputs on the form; the service takes up to MAX_DIAGNOSES through the API
OUTSIDE = "outside"  # the facility select's value for "a facility outside the county"


def _partial(request: Request) -> bool:
    return bool(request.headers.get("hx-request")) and not request.headers.get("hx-history-restore-request")


async def _sent(request: Request) -> dict[str, Any]:
    """The form as sent, to show it again beside its errors; the diagnoses as the list of codes given."""
    values = await form_values(request)
    codes = values.get("diagnoses") or []
    values["_diagnoses"] = [c.strip() for c in ([codes] if isinstance(codes, str) else codes) if c.strip()]
    return values


def _place(values: dict[str, Any]) -> dict[str, Any]:
    """The facility select's "outside the county" is no facility id; an outside name counts only with it."""
    if values.get("facility_id") == OUTSIDE:
        return {"facility_id": None}
    return {"outside_facility_name": None}


def _diagnosis_slots(codes: list[str], tr: Translator) -> list[dict[str, str]]:
    """The form's diagnosis inputs: the codes given (blank ones dropped, so that an error on diagnoses[i]
    sits beside the i-th input), then empty slots."""
    codes = [c for c in codes if c]
    slots = []
    for code in codes + [""] * max(0, DIAGNOSIS_SLOTS - len(codes)):
        entry = icd10.get(code) if code else None
        slots.append({"code": code, "name": entry.name(tr.locale) if entry else ""})
    return slots


def _form_ctx(session: Session, actor: Actor, tr: Translator, resident: queries.ResidentFacts,
              values: dict[str, Any], errors: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "resident": resident, "values": values, "errors": errors or {},
        "facilities": queries.facility_choices(session=session, actor=actor),
        "county_level": queries.is_county_level(actor), "outside": OUTSIDE,
        "slots": _diagnosis_slots(values.get("_diagnoses") or [], tr), **extra,
    }


# --- encounters ---------------------------------------------------------------------------------
@router.get("/residents/{resident_id:int}/encounters/new")
def new_encounter_page(resident_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                       actor: Actor = Depends(require("care:write")), type: str = "outpatient") -> Response:
    kind = type if type in ENCOUNTER_TYPES else "outpatient"
    resident = queries.resident_for_care(session=session, resident_id=resident_id, actor=actor, write=True,
                                         walk_in=kind == "outpatient")
    values = {"type": kind, "start_date": clock.today().isoformat(),
              "facility_id": str(actor.facility_id or ""), "_diagnoses": []}
    return render(request, "care/records/encounter_form.html",
                  _form_ctx(session, actor, tr, resident, values, types=ENCOUNTER_TYPES))


@router.post("/residents/{resident_id:int}/encounters/new")
async def create_encounter_submit(resident_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                                  actor: Actor = Depends(require("care:write"))) -> Response:
    values = await _sent(request)
    resident = queries.resident_for_care(session=session, resident_id=resident_id, actor=actor, write=True,
                                         walk_in=values.get("type", "outpatient") == "outpatient")
    try:
        cmd = await form_command(request, EncounterCreate, resident_id=resident_id, **_place(values))
        encounter = service.create_encounter(session=session, encounter_in=cmd, actor=actor)
    except InvalidInput as exc:
        refused(session)
        ctx = _form_ctx(session, actor, tr, resident, values, form_errors(exc, tr), types=ENCOUNTER_TYPES)
        return render(request, "care/records/encounter_form.html", ctx, status_code=422)
    return RedirectResponse(f"/care/encounters/{encounter.id}", status_code=303)


@router.get("/care/encounters/{encounter_id:int}")
def encounter_page(encounter_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                   actor: Actor = Depends(require("care:read"))) -> Response:
    encounter = queries.get_encounter(session=session, encounter_id=encounter_id, actor=actor)
    return render(request, "care/records/encounter.html", _encounter_ctx(session, encounter, tr))


def _encounter_ctx(session: Session, encounter: Encounter, tr: Translator) -> dict[str, Any]:
    facility = (orgunits_service.get_facility(session=session, facility_id=encounter.facility_id)
                if encounter.facility_id else None)
    diagnoses = []
    for d in encounter.diagnoses:
        entry = icd10.get(d.code)
        diagnoses.append({"seq": d.seq, "code": d.code, "name": entry.name(tr.locale) if entry else ""})
    return {"e": encounter, "facility_name": facility.name if facility else encounter.outside_facility_name,
            "diagnoses": diagnoses}


def _encounter_form_again(request: Request, session: Session, tr: Translator, actor: Actor, encounter_id: int,
                          template: str, values: dict[str, Any], exc: InvalidInput) -> Response:
    """A refused form about one encounter, shown again with the input kept (the transaction rolled back)."""
    refused(session)
    encounter = queries.get_encounter(session=session, encounter_id=encounter_id, actor=actor)
    ctx = {**_encounter_ctx(session, encounter, tr), "values": values, "errors": form_errors(exc, tr)}
    return render(request, f"care/records/{template}.html", ctx, status_code=422)


@router.get("/care/encounters/{encounter_id:int}/discharge")
def discharge_page(encounter_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                   actor: Actor = Depends(require("care:write"))) -> Response:
    encounter = queries.get_encounter(session=session, encounter_id=encounter_id, actor=actor)
    values = {"end_date": clock.today().isoformat(), "total_cost": str(encounter.total_cost),
              "in_policy_cost": str(encounter.in_policy_cost), "note": ""}
    return render(request, "care/records/discharge_form.html",
                  {**_encounter_ctx(session, encounter, tr), "values": values, "errors": {}})


@router.post("/care/encounters/{encounter_id:int}/discharge")
async def discharge_submit(encounter_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                           actor: Actor = Depends(require("care:write"))) -> Response:
    values = await form_values(request)
    try:
        cmd = await form_command(request, DischargeIn)
        service.discharge(session=session, encounter_id=encounter_id, discharge_in=cmd, actor=actor)
    except InvalidInput as exc:
        return _encounter_form_again(request, session, tr, actor, encounter_id, "discharge_form", values, exc)
    return RedirectResponse(f"/care/encounters/{encounter_id}", status_code=303)


@router.get("/care/encounters/{encounter_id:int}/void")
def void_page(encounter_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
              actor: Actor = Depends(require("care:write"))) -> Response:
    encounter = queries.get_encounter(session=session, encounter_id=encounter_id, actor=actor)
    return render(request, "care/records/void_form.html",
                  {**_encounter_ctx(session, encounter, tr), "values": {}, "errors": {}})


@router.post("/care/encounters/{encounter_id:int}/void")
async def void_submit(encounter_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                      actor: Actor = Depends(require("care:write"))) -> Response:
    """Void a visit or stay recorded in error (service.void_entry): a refusal shows the form again, the
    reason kept; a state that forbids it (voided already, a settled stay) answers as the error handler does."""
    values = await form_values(request)
    try:
        cmd = await form_command(request, VoidIn)
        service.void_entry(session=session, entry_kind="encounter", entry_id=encounter_id, void_in=cmd, actor=actor)
    except InvalidInput as exc:
        return _encounter_form_again(request, session, tr, actor, encounter_id, "void_form", values, exc)
    return RedirectResponse(f"/care/encounters/{encounter_id}", status_code=303)


# --- health checks and screenings ---------------------------------------------------------------
@router.get("/residents/{resident_id:int}/health-checks/new")
def new_health_check_page(resident_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                          actor: Actor = Depends(require("care:write"))) -> Response:
    resident = queries.resident_for_care(session=session, resident_id=resident_id, actor=actor, write=True)
    today = clock.today()
    kind = "annual_65" if service.age_on(resident.birth_date, today) >= ANNUAL_CHECK_AGE else "general"
    values = {"date": today.isoformat(), "kind": kind, "facility_id": str(actor.facility_id or "")}
    return render(request, "care/records/health_check_form.html",
                  _form_ctx(session, actor, tr, resident, values, kinds=HEALTH_CHECK_KINDS))


@router.post("/residents/{resident_id:int}/health-checks/new")
async def create_health_check_submit(resident_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                                     actor: Actor = Depends(require("care:write"))) -> Response:
    values = await form_values(request)
    resident = queries.resident_for_care(session=session, resident_id=resident_id, actor=actor, write=True)
    try:
        cmd = await form_command(request, HealthCheckCreate, resident_id=resident_id)
        service.create_health_check(session=session, health_check_in=cmd, actor=actor)
    except InvalidInput as exc:
        refused(session)
        ctx = _form_ctx(session, actor, tr, resident, values, form_errors(exc, tr), kinds=HEALTH_CHECK_KINDS)
        return render(request, "care/records/health_check_form.html", ctx, status_code=422)
    return RedirectResponse(f"/residents/{resident_id}/timeline", status_code=303)


@router.get("/residents/{resident_id:int}/screenings/new")
def new_screening_page(resident_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                       actor: Actor = Depends(require("care:write")), kind: str = "") -> Response:
    resident = queries.resident_for_care(session=session, resident_id=resident_id, actor=actor, write=True)
    values = {"date": clock.today().isoformat(), "kind": kind if kind in SCREENING_KINDS else "",
              "facility_id": str(actor.facility_id or "")}
    return render(request, "care/records/screening_form.html",
                  _form_ctx(session, actor, tr, resident, values, results=SCREENING_RESULTS))


@router.post("/residents/{resident_id:int}/screenings/new")
async def create_screening_submit(resident_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                                  actor: Actor = Depends(require("care:write"))) -> Response:
    values = await form_values(request)
    resident = queries.resident_for_care(session=session, resident_id=resident_id, actor=actor, write=True)
    try:
        cmd = await form_command(request, ScreeningCreate, resident_id=resident_id)
        service.create_screening(session=session, screening_in=cmd, actor=actor)
    except InvalidInput as exc:
        refused(session)
        ctx = _form_ctx(session, actor, tr, resident, values, form_errors(exc, tr), results=SCREENING_RESULTS)
        return render(request, "care/records/screening_form.html", ctx, status_code=422)
    return RedirectResponse(f"/residents/{resident_id}/timeline", status_code=303)


# --- timeline -----------------------------------------------------------------------------------
@router.get("/residents/{resident_id:int}/timeline")
def timeline_page(resident_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                  actor: Actor = Depends(require("care:read")), type: str = "",
                  facility: str = "", page: PageNo = 1) -> Response:
    facility_id = whole_number(facility)
    partial = _partial(request)
    resident = None if partial else queries.resident_for_care(session=session, resident_id=resident_id, actor=actor)
    try:
        result = record_timeline.timeline(session=session, resident_id=resident_id, actor=actor,
                                          types=type or None, facility_id=facility_id, page=max(1, page),
                                          locale=tr.locale)
    except InvalidInput:  # an unknown type in a hand-edited URL: show everything
        type = ""
        result = record_timeline.timeline(session=session, resident_id=resident_id, actor=actor,
                                          facility_id=facility_id, page=max(1, page), locale=tr.locale)
    ctx = {"resident_id": resident_id, "resident": resident, "t": result, "type": type, "facility": facility_id,
           "groups": list(record_timeline.KIND_GROUPS)}
    response = render(request, "care/records/_timeline.html" if partial else "care/records/timeline.html", ctx)
    response.headers["Vary"] = "HX-Request"
    return response


# --- ICD-10 picker ------------------------------------------------------------------------------
@router.get("/care/icd10/options")
def icd10_options(request: Request, tr: TranslatorDep, actor: Actor = Depends(require("care:read")),
                  q: str = "", diagnoses: str = "") -> Response:
    """Codes matching what the clinician types (code, Chinese name, pinyin initials): an htmx partial."""
    text = (q or diagnoses).strip()[:50]
    entries = icd10.search(text, limit=12) if text else []
    return render(request, "care/records/_icd10_options.html",
                  {"entries": [(e.code, e.name(tr.locale)) for e in entries], "q": text})

