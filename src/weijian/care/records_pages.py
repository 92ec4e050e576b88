"""HTML pages of the health record: forms to record a visit, a stay, a day surgery, a health check or a
screening from the resident's record page (with an ICD-10 picker that searches as the clinician types), an
encounter and its discharge form, and the timeline section of the record page (htmx partial, or a whole page
without JS). Thin: each route calls the records service and renders."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from weijian.accounts.deps import require
from weijian.care import icd10, records
from weijian.care.models import Encounter
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.bounds import Id64, PageNo, whole_number
from weijian.core.errors import InvalidInput
from weijian.core.i18n import Translator
from weijian.core.web import SessionDep, TranslatorDep, form_errors, refused, render, verify_csrf

router = APIRouter(dependencies=[Depends(verify_csrf)])

DIAGNOSIS_SLOTS = 4  # inputs on the form; the service takes up to records.MAX_DIAGNOSES through the API
ENCOUNTER_FIELDS = ("type", "facility_id", "outside_facility_name", "department", "clinician_name", "start_date",
                    "end_date", "note", "total_cost", "in_policy_cost")
HEALTH_CHECK_FIELDS = ("facility_id", "date", "kind", "height_cm", "weight_kg", "sbp", "dbp", "fasting_glucose",
                       "note")
SCREENING_FIELDS = ("facility_id", "date", "kind", "result", "note")
OUTSIDE = "outside"  # the facility select's value for "a facility outside the county"


def _partial(request: Request) -> bool:
    return bool(request.headers.get("hx-request")) and not request.headers.get("hx-history-restore-request")


async def _form(request: Request, names: tuple[str, ...]) -> dict[str, Any]:
    form = await request.form()
    return {k: str(form.get(k) or "").strip() for k in names} | {"_diagnoses": [
        str(v).strip() for v in form.getlist("diagnoses")]}


def _service_values(values: dict[str, Any], resident_id: Id64) -> dict[str, Any]:
    out = {k: v for k, v in values.items() if not k.startswith("_")}
    out["resident_id"] = resident_id
    if out.get("facility_id") == OUTSIDE:
        out["facility_id"] = None
    else:
        out.pop("outside_facility_name", None)
    return out


def _diagnosis_slots(codes: list[str], tr: Translator) -> list[dict[str, str]]:
    """The form's diagnosis inputs: the codes given (blank ones dropped, so that an error on diagnoses[i]
    sits beside the i-th input), then empty slots."""
    codes = [c for c in codes if c]
    slots = []
    for code in codes + [""] * max(0, DIAGNOSIS_SLOTS - len(codes)):
        entry = icd10.get(code) if code else None
        slots.append({"code": code, "name": entry.name(tr.locale) if entry else ""})
    return slots


def _form_ctx(session: Session, actor: Actor, tr: Translator, resident: records.ResidentFacts,
              values: dict[str, Any], errors: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "resident": resident, "values": values, "errors": errors or {},
        "facilities": records.facility_choices(session=session, actor=actor),
        "county_level": records.is_county_level(actor), "outside": OUTSIDE,
        "slots": _diagnosis_slots(values.get("_diagnoses") or [], tr), **extra,
    }


# --- encounters ---------------------------------------------------------------------------------
@router.get("/residents/{resident_id:int}/encounters/new")
def new_encounter_page(resident_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                       actor: Actor = Depends(require("care:write")), type: str = "outpatient") -> Response:
    resident = records.resident_for_care(session=session, resident_id=resident_id, actor=actor, write=True)
    kind = type if type in records.ENCOUNTER_TYPES else "outpatient"
    values = {"type": kind, "start_date": clock.today().isoformat(),
              "facility_id": str(actor.facility_id or ""), "_diagnoses": []}
    return render(request, "care/records/encounter_form.html",
                  _form_ctx(session, actor, tr, resident, values, types=records.ENCOUNTER_TYPES))


@router.post("/residents/{resident_id:int}/encounters/new")
async def create_encounter_submit(resident_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                                  actor: Actor = Depends(require("care:write"))) -> Response:
    values = await _form(request, ENCOUNTER_FIELDS)
    values["_diagnoses"] = [c for c in values["_diagnoses"] if c]
    resident = records.resident_for_care(session=session, resident_id=resident_id, actor=actor, write=True)
    try:
        encounter = records.create_encounter(
            session=session, actor=actor,
            values=_service_values(values, resident_id) | {"diagnoses": values["_diagnoses"]})
    except InvalidInput as exc:
        refused(session)
        ctx = _form_ctx(session, actor, tr, resident, values, form_errors(exc, tr), types=records.ENCOUNTER_TYPES)
        return render(request, "care/records/encounter_form.html", ctx, status_code=422)
    return RedirectResponse(f"/care/encounters/{encounter.id}", status_code=303)


@router.get("/care/encounters/{encounter_id:int}")
def encounter_page(encounter_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                   actor: Actor = Depends(require("care:read"))) -> Response:
    encounter = records.get_encounter(session=session, encounter_id=encounter_id, actor=actor)
    return render(request, "care/records/encounter.html", _encounter_ctx(session, encounter, tr))


def _encounter_ctx(session: Session, encounter: Encounter, tr: Translator) -> dict[str, Any]:
    from weijian.orgunits import service as orgunits_service

    facility = (orgunits_service.get_facility(session=session, facility_id=encounter.facility_id)
                if encounter.facility_id else None)
    diagnoses = []
    for d in encounter.diagnoses:
        entry = icd10.get(d.code)
        diagnoses.append({"seq": d.seq, "code": d.code, "name": entry.name(tr.locale) if entry else ""})
    return {"e": encounter, "facility_name": facility.name if facility else encounter.outside_facility_name,
            "diagnoses": diagnoses}


@router.get("/care/encounters/{encounter_id:int}/discharge")
def discharge_page(encounter_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                   actor: Actor = Depends(require("care:write"))) -> Response:
    encounter = records.get_encounter(session=session, encounter_id=encounter_id, actor=actor)
    values = {"end_date": clock.today().isoformat(), "total_cost": str(encounter.total_cost),
              "in_policy_cost": str(encounter.in_policy_cost), "note": ""}
    return render(request, "care/records/discharge_form.html",
                  {**_encounter_ctx(session, encounter, tr), "values": values, "errors": {}})


@router.post("/care/encounters/{encounter_id:int}/discharge")
async def discharge_submit(encounter_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                           actor: Actor = Depends(require("care:write"))) -> Response:
    form = await request.form()
    values: dict[str, Any] = {k: str(form.get(k) or "").strip()  # parsed by the service
                              for k in ("end_date", "total_cost", "in_policy_cost", "note")}
    try:
        records.discharge(session=session, encounter_id=encounter_id, actor=actor, **values)
    except InvalidInput as exc:
        refused(session)
        encounter = records.get_encounter(session=session, encounter_id=encounter_id, actor=actor)
        ctx = {**_encounter_ctx(session, encounter, tr), "values": values, "errors": form_errors(exc, tr)}
        return render(request, "care/records/discharge_form.html", ctx, status_code=422)
    return RedirectResponse(f"/care/encounters/{encounter_id}", status_code=303)


# --- health checks and screenings ---------------------------------------------------------------
@router.get("/residents/{resident_id:int}/health-checks/new")
def new_health_check_page(resident_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                          actor: Actor = Depends(require("care:write"))) -> Response:
    resident = records.resident_for_care(session=session, resident_id=resident_id, actor=actor, write=True)
    today = clock.today()
    kind = "annual_65" if records.age_on(resident.birth_date, today) >= records.ANNUAL_CHECK_AGE else "general"
    values = {"date": today.isoformat(), "kind": kind, "facility_id": str(actor.facility_id or "")}
    return render(request, "care/records/health_check_form.html",
                  _form_ctx(session, actor, tr, resident, values, kinds=records.HEALTH_CHECK_KINDS))


@router.post("/residents/{resident_id:int}/health-checks/new")
async def create_health_check_submit(resident_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                                     actor: Actor = Depends(require("care:write"))) -> Response:
    values = await _form(request, HEALTH_CHECK_FIELDS)
    resident = records.resident_for_care(session=session, resident_id=resident_id, actor=actor, write=True)
    try:
        records.create_health_check(session=session, values=_service_values(values, resident_id), actor=actor)
    except InvalidInput as exc:
        refused(session)
        ctx = _form_ctx(session, actor, tr, resident, values, form_errors(exc, tr), kinds=records.HEALTH_CHECK_KINDS)
        return render(request, "care/records/health_check_form.html", ctx, status_code=422)
    return RedirectResponse(f"/residents/{resident_id}/timeline", status_code=303)


@router.get("/residents/{resident_id:int}/screenings/new")
def new_screening_page(resident_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                       actor: Actor = Depends(require("care:write")), kind: str = "") -> Response:
    resident = records.resident_for_care(session=session, resident_id=resident_id, actor=actor, write=True)
    values = {"date": clock.today().isoformat(), "kind": kind if kind in records.SCREENING_KINDS else "",
              "facility_id": str(actor.facility_id or "")}
    return render(request, "care/records/screening_form.html",
                  _form_ctx(session, actor, tr, resident, values, results=records.SCREENING_RESULTS))


@router.post("/residents/{resident_id:int}/screenings/new")
async def create_screening_submit(resident_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                                  actor: Actor = Depends(require("care:write"))) -> Response:
    values = await _form(request, SCREENING_FIELDS)
    resident = records.resident_for_care(session=session, resident_id=resident_id, actor=actor, write=True)
    try:
        records.create_screening(session=session, values=_service_values(values, resident_id), actor=actor)
    except InvalidInput as exc:
        refused(session)
        ctx = _form_ctx(session, actor, tr, resident, values, form_errors(exc, tr), results=records.SCREENING_RESULTS)
        return render(request, "care/records/screening_form.html", ctx, status_code=422)
    return RedirectResponse(f"/residents/{resident_id}/timeline", status_code=303)


# --- timeline -----------------------------------------------------------------------------------
@router.get("/residents/{resident_id:int}/timeline")
def timeline_page(resident_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                  actor: Actor = Depends(require("care:read")), type: str = "",
                  facility: str = "", page: PageNo = 1) -> Response:
    facility_id = whole_number(facility)
    partial = _partial(request)
    resident = None if partial else records.resident_for_care(session=session, resident_id=resident_id, actor=actor)
    try:
        result = records.timeline(session=session, resident_id=resident_id, actor=actor, types=type or None,
                                  facility_id=facility_id, page=max(1, page), locale=tr.locale)
    except InvalidInput:  # an unknown type in a hand-edited URL: show everything
        type = ""
        result = records.timeline(session=session, resident_id=resident_id, actor=actor,
                                  facility_id=facility_id, page=max(1, page), locale=tr.locale)
    ctx = {"resident_id": resident_id, "resident": resident, "t": result, "type": type, "facility": facility_id,
           "groups": list(records.KIND_GROUPS)}
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

