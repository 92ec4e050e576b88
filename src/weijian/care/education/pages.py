"""HTML pages of health education: the completion table of a year (per facility in scope, each kind done
against the 规范's minimum, red where behind the calendar; xlsx export), the activities of the year, the
form recording an activity (with photos, one transaction: a refused photo refuses the activity), one
activity's page with its photos, and the photo files themselves (scoped as the activity). Thin: each
route calls the service and renders; a refused form re-renders with the errors beside the fields (422),
the user's input kept."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from weijian.accounts.deps import require
from weijian.care.education import rules, service
from weijian.care.education.schemas import ActivityCreate
from weijian.core import clock, nav
from weijian.core.actor import Actor
from weijian.core.bounds import Id64
from weijian.core.errors import InvalidInput
from weijian.core.i18n import Translator
from weijian.core.web import (
    SessionDep,
    SettingsDep,
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
NAV = (nav.NavItem("/care/education", "care.education.nav", service.READ, 33),)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _year(raw: str) -> int:
    today = clock.today()
    try:
        y = int(raw.strip()[:4])
    except ValueError:
        return today.year
    return y if 2000 <= y <= today.year + 1 else today.year


def _labels(tr: Translator) -> dict[str, Any]:
    r = rules.rules()
    return {"kinds": {k.code: k.label(tr.locale) for k in r.kinds.values()},
            "states": {s: tr(f"care.education.states.{s}") for s in rules.STATES},
            "types": orgunits_service.type_labels(tr.locale)}


@router.get("/care/education")
def completion_page(request: Request, session: SessionDep, tr: TranslatorDep,
                    actor: Actor = Depends(require(service.READ)), year: str = "") -> Response:
    today = clock.today()
    y = _year(year)
    rows = service.completion(session=session, actor=actor, year=y, as_of=today)
    activities = service.list_activities(session=session, actor=actor, year=y, limit=50)
    return render(request, "care/education/completion.html", {
        "year": y, "years": list(range(today.year, today.year - 5, -1)), "today": today, "rows": rows,
        "activities": activities, "behind": sum(1 for r in rows if r.behind), **_labels(tr)})


@router.get("/care/education/completion.xlsx")
def completion_export(session: SessionDep, tr: TranslatorDep, actor: Actor = Depends(require(service.READ)),
                      year: str = "") -> Response:
    today = clock.today()
    y = _year(year)
    rows = service.completion(session=session, actor=actor, year=y, as_of=today)
    labels = _labels(tr)
    headings = {k: tr(f"care.education.export.{k}") for k in
                ("title", "as_of", "facility", "type", "orgunit", "done", "minimum", "state")}
    headings.update({f"type.{k}": v for k, v in labels["types"].items()})
    data = service.completion_xlsx(rows, year=y, as_of=today, locale=tr.locale, state_labels=labels["states"],
                                   headings=headings)
    return Response(data, media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="health-education-{y}.xlsx"'})


def _new_ctx(session: SessionDep, actor: Actor, tr: Translator, values: dict[str, Any],
             errors: dict[str, str]) -> dict[str, Any]:
    facilities = service.facilities_in_scope(session=session, actor=actor)
    return {"values": values, "errors": errors, "facilities": [(f.id, f.name) for f in facilities],
            "max_kb": rules.rules().photo_max_bytes // 1024, "max_photos": rules.rules().photos_per_activity,
            **_labels(tr)}


@router.get("/care/education/new")
def new_page(request: Request, session: SessionDep, tr: TranslatorDep,
             actor: Actor = Depends(require(service.WRITE))) -> Response:
    values = {"date": clock.today().isoformat(), "kind": "lecture", "audience": "0",
              "facility_id": str(actor.facility_id or "")}
    return render(request, "care/education/new.html", _new_ctx(session, actor, tr, values, {}))


async def _photos(request: Request) -> list[tuple[bytes, str | None]]:
    form = await request.form()
    limit = rules.rules().photo_max_bytes + 1
    out = []
    for item in form.getlist("photo"):
        if isinstance(item, UploadFile):
            data = await item.read(limit)
            if data or item.filename:
                out.append((data, item.filename))
    return out


@router.post("/care/education/new")
async def new_submit(request: Request, session: SessionDep, settings: SettingsDep, tr: TranslatorDep,
                     actor: Actor = Depends(require(service.WRITE))) -> Response:
    try:
        cmd = await form_command(request, ActivityCreate)
        a = service.record_activity(session=session, activity_in=cmd, actor=actor)
        for data, name in await _photos(request):
            service.add_photo(session=session, activity_id=a.id, data=data, filename=name, actor=actor,
                              media_dir=settings.upload_dir)
    except InvalidInput as exc:
        refused(session)
        ctx = _new_ctx(session, actor, tr, await form_values(request), form_errors(exc, tr))
        return render(request, "care/education/new.html", ctx, status_code=422)
    return RedirectResponse(f"/care/education/activities/{a.id}", status_code=303)


def _detail_ctx(session: SessionDep, actor: Actor, tr: Translator, activity_id: int,
                errors: dict[str, str] | None = None) -> dict[str, Any]:
    a, facility = service.get_activity(session=session, actor=actor, activity_id=activity_id)
    r = rules.rules()
    return {"a": a, "facility": facility, "errors": errors or {}, "max_kb": r.photo_max_bytes // 1024,
            "max_photos": r.photos_per_activity,
            "can_add": actor.can(service.WRITE) and len(a.photos) < r.photos_per_activity,
            **_labels(tr)}


@router.get("/care/education/activities/{activity_id:int}")
def detail_page(activity_id: Id64, request: Request, session: SessionDep, tr: TranslatorDep,
                actor: Actor = Depends(require(service.READ))) -> Response:
    return render(request, "care/education/detail.html", _detail_ctx(session, actor, tr, activity_id))


@router.post("/care/education/activities/{activity_id:int}/photos")
async def photo_submit(activity_id: Id64, request: Request, session: SessionDep, settings: SettingsDep,
                       tr: TranslatorDep, actor: Actor = Depends(require(service.WRITE))) -> Response:
    service.get_activity(session=session, actor=actor, activity_id=activity_id)  # 404 before the body is read
    try:
        photos = await _photos(request)
        if not photos:
            raise InvalidInput("photo", "core.errors.validation.missing")
        for data, name in photos:
            service.add_photo(session=session, activity_id=activity_id, data=data, filename=name, actor=actor,
                              media_dir=settings.upload_dir)
    except InvalidInput as exc:
        refused(session)
        ctx = _detail_ctx(session, actor, tr, activity_id, form_errors(exc, tr))
        return render(request, "care/education/detail.html", ctx, status_code=422)
    return RedirectResponse(f"/care/education/activities/{activity_id}", status_code=303)


@router.get("/care/education/photos/{education_photo_id:int}")
def photo(education_photo_id: Id64, session: SessionDep, settings: SettingsDep,
          actor: Actor = Depends(require(service.READ))) -> Response:
    path, content_type = service.photo_file(session=session, actor=actor, photo_id=education_photo_id,
                                            media_dir=settings.upload_dir)
    return FileResponse(path, media_type=content_type, headers={"X-Content-Type-Options": "nosniff",
                                                                "Cache-Control": "private, max-age=3600"})
