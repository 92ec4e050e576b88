"""HTML pages of the health record: forms to record a visit, a stay, a day surgery, a health check or a
screening from the resident's record page (with an ICD-10 picker that searches as the clinician types), an
encounter and its discharge form, and the timeline section of the record page (htmx partial, or a whole page
without JS). Thin: each route builds its command (core.web.form_command), calls the records service and renders."""
from __future__ import annotations

from collections.abc import Callable
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
    MEASURE_RANGES,
    SCREENING_KINDS,
    SCREENING_RESULTS,
    DischargeIn,
    EncounterCorrection,
    EncounterCreate,
    HealthCheckCorrection,
    HealthCheckCreate,
    ScreeningCorrection,
    ScreeningCreate,
    VoidIn,
)
from weijian.core import clock, locks
from weijian.core.actor import Actor
from weijian.core.bounds import Id64, PageNo, whole_number
from weijian.core.errors import Forbidden, InvalidInput, InvalidState
from weijian.core.i18n import Translator
from weijian.core.web import (
    SessionDep,
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

router = APIRouter(dependencies=[Depends(verify_csrf)])

# the success a redirect names (?done=), shown once on the page it lands on
DONE = ("voided", "voided_closed", "corrected")
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
        await period_correction(request, session, actor)
        encounter = service.create_encounter(session=session, encounter_in=cmd, actor=actor)
    except InvalidInput as exc:
        refused(session)
        ctx = _form_ctx(session, actor, tr, resident, values, form_errors(exc, tr), types=ENCOUNTER_TYPES)
        return render(request, "care/records/encounter_form.html", ctx, status_code=422)
    return RedirectResponse(f"/care/encounters/{encounter.id}", status_code=303)


@router.get("/care/encounters/{encounter_id:int}")
def encounter_page(encounter_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                   actor: Actor = Depends(require("care:read")), done: str = "") -> Response:
    encounter = queries.get_encounter(session=session, encounter_id=encounter_id, actor=actor)
    ctx = {**_encounter_ctx(session, encounter, tr, actor), "done": done if done in DONE else "",
           "ch": record_timeline.changes(encounter),
           "may_change": queries.may_change(session=session, actor=actor, facility_id=encounter.facility_id)}
    if encounter.voided_at is None and actor.can("case:report"):  # 传染病报告卡 for a notifiable diagnosis
        ctx["case_prompts"] = service.case_report_prompts(
            session=session, encounter_id=encounter.id, resident_id=encounter.resident_id,
            codes=[d.code for d in encounter.diagnoses], on=encounter.start_date, locale=tr.locale)
    return render(request, "care/records/encounter.html", ctx)


def _encounter_ctx(session: Session, encounter: Encounter, tr: Translator, reader: Actor | None = None
                   ) -> dict[str, Any]:
    facility = (orgunits_service.get_facility(session=session, facility_id=encounter.facility_id)
                if encounter.facility_id else None)
    hidden = queries.hidden_codes(reader, [d.code for d in encounter.diagnoses]) if reader is not None else set()
    diagnoses = []
    for d in encounter.diagnoses:
        if d.code in hidden:  # records.diagnosis_hidden: not for this reader
            diagnoses.append({"seq": d.seq, "code": "", "name": tr("care.records.timeline.diagnosis_hidden")})
            continue
        entry = icd10.get(d.code)
        diagnoses.append({"seq": d.seq, "code": d.code, "name": entry.name(tr.locale) if entry else ""})
    return {"e": encounter, "facility_name": facility.name if facility else encounter.outside_facility_name,
            "diagnoses": diagnoses}


def _encounter_form_again(request: Request, session: Session, tr: Translator, actor: Actor, encounter_id: int,
                          template: str, values: dict[str, Any], exc: InvalidInput) -> Response:
    """A refused form about one encounter, shown again with the input kept (the transaction rolled back)."""
    refused(session)
    encounter = queries.get_encounter(session=session, encounter_id=encounter_id, actor=actor)
    ctx = {**_encounter_ctx(session, encounter, tr, actor), "values": values, "errors": form_errors(exc, tr)}
    return render(request, f"care/records/{template}.html", ctx, status_code=422)


@router.get("/care/encounters/{encounter_id:int}/discharge")
def discharge_page(encounter_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                   actor: Actor = Depends(require("care:write"))) -> Response:
    encounter = queries.get_encounter(session=session, encounter_id=encounter_id, actor=actor)
    values = {"end_date": clock.today().isoformat(), "total_cost": str(encounter.total_cost),
              "in_policy_cost": str(encounter.in_policy_cost), "note": ""}
    return render(request, "care/records/discharge_form.html",
                  {**_encounter_ctx(session, encounter, tr, actor), "values": values, "errors": {}})


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


def _cleared(command: Any, values: dict[str, Any]) -> dict[str, None]:
    """The optional values a correction form sends blank: cleared (CLEARABLE), where a blank elsewhere on a
    form is no value."""
    return {name: None for name in command.CLEARABLE
            if isinstance(values.get(name), str) and not values[name].strip()}


def _correct_values(encounter: Encounter) -> dict[str, Any]:
    """The correction form's values: what is recorded now (a field sent unchanged corrects nothing)."""
    return {"start_date": encounter.start_date.isoformat(),
            "end_date": encounter.end_date.isoformat() if encounter.end_date else "",
            "department": encounter.department or "", "clinician_name": encounter.clinician_name or "",
            "note": encounter.note or "", "total_cost": str(encounter.total_cost),
            "in_policy_cost": str(encounter.in_policy_cost), "reason": "",
            "_diagnoses": [d.code for d in encounter.diagnoses]}


def _no_hidden_diagnosis(encounter: Encounter, actor: Actor) -> None:
    """The correction form shows and sends back every diagnosis code: a visit holding one the actor may not see
    (records.diagnosis_hidden: a severe mental illness) is corrected by the patient's own team, not here."""
    if queries.hidden_codes(actor, [d.code for d in encounter.diagnoses]):
        raise Forbidden("care.records.errors.correct_hidden_diagnosis")


def _correct_ctx(session: Session, encounter: Encounter, tr: Translator, values: dict[str, Any],
                 errors: dict[str, str] | None = None) -> dict[str, Any]:
    return {**_encounter_ctx(session, encounter, tr), "values": values, "errors": errors or {},
            "slots": _diagnosis_slots(values.get("_diagnoses") or [], tr), "settled": service.settled_stay(encounter),
            "locked": locks.locked_by(session, encounter)}


@router.get("/care/encounters/{encounter_id:int}/correct")
def correct_page(encounter_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                 actor: Actor = Depends(require("care:write"))) -> Response:
    encounter = queries.get_encounter(session=session, encounter_id=encounter_id, actor=actor)
    _no_hidden_diagnosis(encounter, actor)
    return render(request, "care/records/correct_form.html",
                  _correct_ctx(session, encounter, tr, _correct_values(encounter)))


@router.post("/care/encounters/{encounter_id:int}/correct")
async def correct_submit(encounter_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                         actor: Actor = Depends(require("care:write"))) -> Response:
    """Correct a visit or stay (service.correct_encounter: the values sent replace those recorded, under the
    rules of recording it): a refusal shows the form again with the input kept, each error beside its field;
    a state that forbids it (voided, nothing changed) is said above the form."""
    _no_hidden_diagnosis(queries.get_encounter(session=session, encounter_id=encounter_id, actor=actor), actor)
    values = await _sent(request)
    try:
        # The diagnosis inputs as one list, blanks dropped (form_command takes an optional list's last value).
        cmd = await form_command(request, EncounterCorrection, diagnoses=values["_diagnoses"],
                                 **_cleared(EncounterCorrection, values))
        await period_correction(request, session, actor)
        service.correct_encounter(session=session, encounter_id=encounter_id, correction_in=cmd, actor=actor)
    except (InvalidInput, InvalidState) as exc:
        refused(session)
        encounter = queries.get_encounter(session=session, encounter_id=encounter_id, actor=actor)
        ctx = _correct_ctx(session, encounter, tr, values, _refusal(exc, tr))
        return render(request, "care/records/correct_form.html", ctx, status_code=_status(exc))
    return RedirectResponse(f"/care/encounters/{encounter_id}?done=corrected", status_code=303)


def _refusal(exc: InvalidInput | InvalidState, tr: Translator) -> dict[str, str]:
    """The form's errors: by field, or — for a state that forbids the change — one line above the form."""
    if isinstance(exc, InvalidInput):
        return form_errors(exc, tr)
    return {"_state": tr(exc.message_key, **exc.params)}


def _status(exc: InvalidInput | InvalidState) -> int:
    return 422 if isinstance(exc, InvalidInput) else 409


# The entries a void or correction page is about, by the path that names them.
ENTRY_PATHS = {"encounter": "encounters", "health_check": "health-checks", "screening": "screenings"}


def _entry(session: Session, actor: Actor, kind: str, entry_id: int) -> Any:
    if kind == "encounter":
        return queries.get_encounter(session=session, encounter_id=entry_id, actor=actor)
    if kind == "health_check":
        return queries.get_health_check(session=session, health_check_id=entry_id, actor=actor)
    return queries.get_screening(session=session, screening_id=entry_id, actor=actor)


def _entry_ctx(session: Session, kind: str, row: Any, tr: Translator, values: dict[str, Any],
               errors: dict[str, str] | None = None, reader: Actor | None = None) -> dict[str, Any]:
    """What a void or correction form shows of the entry: its kind, date, facility and summary (a diagnosis
    the reader may not see, records.diagnosis_hidden, named as hidden)."""
    if kind == "encounter":
        ctx = _encounter_ctx(session, row, tr, reader)
        first = next((d for d in ctx["diagnoses"] if d["seq"] == 1), None)
        summary = f"{first['code']} {first['name']}" if first else ""
        label, day, facility_name = f"care.timeline.kinds.{row.type}", row.start_date, ctx["facility_name"]
    else:
        facility = (orgunits_service.get_facility(session=session, facility_id=row.facility_id)
                    if row.facility_id else None)
        facility_name = facility.name if facility else ""
        label, day = f"care.timeline.kinds.{kind}", row.date
        summary = (record_timeline.health_check_summary(row, tr) if kind == "health_check" else
                   tr("care.records.timeline.screening", kind=tr(f"care.records.screening.{row.kind}"),
                      result=tr(f"care.records.screening.results.{row.result}")))
    return {"entry": row, "entry_kind": kind, "entry_path": ENTRY_PATHS[kind], "entry_label": label,
            "entry_date": day, "facility_name": facility_name, "summary": summary, "values": values,
            "errors": errors or {}, "back": _back(kind, row), "locked": locks.locked_by(session, row)}


def _back(kind: str, row: Any) -> str:
    """Where a void or correction returns: the encounter's page, or the resident's record for a check or a
    screening (they have no page of their own)."""
    return f"/care/encounters/{row.id}" if kind == "encounter" else f"/residents/{row.resident_id}/timeline"


def _void_page(kind: str, entry_id: int, request: Request, session: Session, tr: Translator,
               actor: Actor) -> Response:
    row = _entry(session, actor, kind, entry_id)
    return render(request, "care/records/void_form.html", _entry_ctx(session, kind, row, tr, {}, reader=actor))


async def _void_submit(kind: str, entry_id: int, request: Request, session: Session, tr: Translator,
                       actor: Actor) -> Response:
    """Void a visit, stay, check or screening recorded in error (service.void_entry): a refusal (no reason,
    not the actor's facility, voided already, a settled stay) shows the form again with the reason kept."""
    values = await form_values(request)
    try:
        cmd = await form_command(request, VoidIn)
        await period_correction(request, session, actor)
        voided = service.void_entry(session=session, entry_kind=kind, entry_id=entry_id, void_in=cmd, actor=actor)
    except (InvalidInput, InvalidState) as exc:
        refused(session)
        row = _entry(session, actor, kind, entry_id)
        ctx = _entry_ctx(session, kind, row, tr, values, _refusal(exc, tr), reader=actor)
        return render(request, "care/records/void_form.html", ctx, status_code=_status(exc))
    done = "voided_closed" if voided.chronic_closed else "voided"
    return RedirectResponse(f"{_back(kind, voided.entry)}?done={done}", status_code=303)


def _void_routes(kind: str) -> None:
    """GET and POST /care/<entries>/{entry_id}/void for one kind of entry (ENTRY_PATHS)."""
    url = f"/care/{ENTRY_PATHS[kind]}/{{entry_id:int}}/void"

    def page(entry_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
             actor: Actor = Depends(require("care:write"))) -> Response:
        return _void_page(kind, entry_id, request, session, tr, actor)

    async def submit(entry_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                     actor: Actor = Depends(require("care:write"))) -> Response:
        return await _void_submit(kind, entry_id, request, session, tr, actor)

    router.add_api_route(url, page, methods=["GET"], name=f"void_{kind}_page")
    router.add_api_route(url, submit, methods=["POST"], name=f"void_{kind}_submit")


for _kind in ENTRY_PATHS:
    _void_routes(_kind)


def _check_values(c: Any) -> dict[str, Any]:
    return {"date": c.date.isoformat(), "kind": c.kind, "note": c.note or "", "reason": "",
            **{k: "" if getattr(c, k) is None else str(getattr(c, k)) for k in MEASURE_RANGES}}


def _screening_values(s: Any) -> dict[str, Any]:
    return {"date": s.date.isoformat(), "kind": s.kind, "result": s.result, "note": s.note or "", "reason": ""}


# A health check's or a screening's correction: its command, the service's write, its form (the recording
# form, which shows the reason instead of the facility), the form's values from the entry and its choices.
_CORRECTIONS: dict[str, tuple[Any, Callable[..., Any], str, Callable[[Any], dict[str, Any]], dict[str, Any]]] = {
    "health_check": (HealthCheckCorrection,
                     lambda session, entry_id, cmd, actor: service.correct_health_check(
                         session=session, health_check_id=entry_id, correction_in=cmd, actor=actor),
                     "health_check_form", _check_values, {"kinds": HEALTH_CHECK_KINDS}),
    "screening": (ScreeningCorrection,
                  lambda session, entry_id, cmd, actor: service.correct_screening(
                      session=session, screening_id=entry_id, correction_in=cmd, actor=actor),
                  "screening_form", _screening_values, {"results": SCREENING_RESULTS}),
}


def _correction_form(kind: str, row: Any, request: Request, session: Session, tr: Translator, actor: Actor,
                     values: dict[str, Any], errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    _, _, template, _, choices = _CORRECTIONS[kind]
    resident = queries.resident_facts(session=session, actor=actor, resident_id=row.resident_id,
                                      walk_in=queries.recorded_here(actor, row))
    ctx = _form_ctx(session, actor, tr, resident, values, errors, correcting=True, back=_back(kind, row),
                    action=f"/care/{ENTRY_PATHS[kind]}/{row.id}/correct", locked=locks.locked_by(session, row),
                    **choices)
    return render(request, f"care/records/{template}.html", ctx, status_code=status_code)


def _correct_routes(kind: str) -> None:
    """GET and POST /care/<entries>/{entry_id}/correct for a health check or a screening: the recording
    form prefilled with what is recorded, and the required reason; a refusal keeps the input."""
    url = f"/care/{ENTRY_PATHS[kind]}/{{entry_id:int}}/correct"
    command, write, _, values_of, _ = _CORRECTIONS[kind]

    def page(entry_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
             actor: Actor = Depends(require("care:write"))) -> Response:
        row = _entry(session, actor, kind, entry_id)
        return _correction_form(kind, row, request, session, tr, actor, values_of(row))

    async def submit(entry_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                     actor: Actor = Depends(require("care:write"))) -> Response:
        values = await form_values(request)
        try:
            cmd = await form_command(request, command, **_cleared(command, values))
            await period_correction(request, session, actor)
            row = write(session, entry_id, cmd, actor)
        except (InvalidInput, InvalidState) as exc:
            refused(session)
            row = _entry(session, actor, kind, entry_id)
            return _correction_form(kind, row, request, session, tr, actor, values, _refusal(exc, tr), _status(exc))
        return RedirectResponse(f"{_back(kind, row)}?done=corrected", status_code=303)

    router.add_api_route(url, page, methods=["GET"], name=f"correct_{kind}_page")
    router.add_api_route(url, submit, methods=["POST"], name=f"correct_{kind}_submit")


for _kind in _CORRECTIONS:
    _correct_routes(_kind)


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
        await period_correction(request, session, actor)
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
        await period_correction(request, session, actor)
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
                  facility: str = "", page: PageNo = 1, done: str = "") -> Response:
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
           "groups": list(record_timeline.KIND_GROUPS), "actions": _row_actions(session, actor, result.items),
           "done": done if done in DONE else ""}
    response = render(request, "care/records/_timeline.html" if partial else "care/records/timeline.html", ctx)
    response.headers["Vary"] = "HX-Request"
    return response


def _row_actions(session: Session, actor: Actor,
                 items: list[record_timeline.TimelineItem]) -> dict[int, dict[str, str]]:
    """The correct and void buttons of the timeline's rows (by position): the record's own entries, not
    voided, that the actor may change (queries.may_change, the rule of recording them)."""
    out: dict[int, dict[str, str]] = {}
    allowed: dict[int | None, bool] = {}
    for n, item in enumerate(items):
        kind = "encounter" if item.kind in ENCOUNTER_TYPES else item.kind
        if kind not in ENTRY_PATHS or item.entity_id is None or item.data.get("voided"):
            continue
        if item.facility_id not in allowed:
            allowed[item.facility_id] = queries.may_change(session=session, actor=actor, facility_id=item.facility_id)
        if allowed[item.facility_id]:
            base = f"/care/{ENTRY_PATHS[kind]}/{item.entity_id}"
            out[n] = {"correct": f"{base}/correct", "void": f"{base}/void"}
    return out


# --- ICD-10 picker ------------------------------------------------------------------------------
@router.get("/care/icd10/options")
def icd10_options(request: Request, tr: TranslatorDep, actor: Actor = Depends(require("care:read")),
                  q: str = "", diagnoses: str = "") -> Response:
    """Codes matching what the clinician types (code, Chinese name, pinyin initials): an htmx partial."""
    text = (q or diagnoses).strip()[:50]
    entries = icd10.search(text, limit=12) if text else []
    return render(request, "care/records/_icd10_options.html",
                  {"entries": [(e.code, e.name(tr.locale)) for e in entries], "q": text})

