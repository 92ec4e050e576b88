"""JSON routes of health education under /api/v1/care/education: the activities of a year, recording one,
one activity, attaching a photo (multipart, field `photo`), and the per-facility completion table. An
activity outside the caller's scope answers 404, exactly as a missing one."""
from __future__ import annotations

from fastapi import APIRouter, Depends, File, Query, UploadFile

from weijian.accounts.deps import require
from weijian.care.education import rules, service
from weijian.care.education.schemas import (
    ActivityCreate,
    ActivityOut,
    CompletionOut,
    FacilityCompletionOut,
    KindOut,
    PhotoOut,
)
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.bounds import BoundedDate, Id64, Year
from weijian.core.web import SessionDep, SettingsDep

router = APIRouter(prefix="/api/v1/care/education", tags=["care: health education"])


def completion_out(rows: list[service.FacilityCompletion], year: int, as_of: object) -> CompletionOut:
    return CompletionOut(year=year, as_of=as_of, facilities=[FacilityCompletionOut(
        facility_id=c.facility.id, facility_name=c.facility.name, facility_type=c.facility.type,
        orgunit_code=c.facility.orgunit_code, behind=c.behind,
        kinds=[KindOut(kind=k.kind, done=k.done, minimum=k.minimum, expected=k.expected, state=k.state)
               for k in c.kinds]) for c in rows])


def activity_visible(activity_id: Id64, session: SessionDep,
                     actor: Actor = Depends(require(service.WRITE))) -> int:
    """The activity in the path, looked up before the upload is read: one outside the caller's scope answers
    404 exactly as a missing one, whatever the body."""
    service.get_activity(session=session, actor=actor, activity_id=activity_id)
    return activity_id


@router.get("/activities", response_model=list[ActivityOut])
def list_activities(session: SessionDep, actor: Actor = Depends(require(service.READ)), year: Year | None = None,
                    facility_id: Id64 | None = None,
                    kind: str | None = Query(None, max_length=16)) -> list[ActivityOut]:
    year = year or clock.today().year
    return [ActivityOut.of(a, f.name) for a, f in service.list_activities(
        session=session, actor=actor, year=year, facility_id=facility_id, kind=kind)]


@router.post("/activities", response_model=ActivityOut, status_code=201)
def create_activity(body: ActivityCreate, session: SessionDep,
                    actor: Actor = Depends(require(service.WRITE))) -> ActivityOut:
    a = service.record_activity(session=session, activity_in=body, actor=actor)
    got, facility = service.get_activity(session=session, actor=actor, activity_id=a.id)
    return ActivityOut.of(got, facility.name)


@router.get("/activities/{activity_id}", response_model=ActivityOut)
def read_activity(activity_id: Id64, session: SessionDep,
                  actor: Actor = Depends(require(service.READ))) -> ActivityOut:
    a, facility = service.get_activity(session=session, actor=actor, activity_id=activity_id)
    return ActivityOut.of(a, facility.name)


@router.post("/activities/{activity_id}/photos", response_model=PhotoOut, status_code=201)
async def add_photo(session: SessionDep, settings: SettingsDep, actor: Actor = Depends(require(service.WRITE)),
                    activity_id: int = Depends(activity_visible), photo: UploadFile = File(...)) -> PhotoOut:
    # One byte more than the limit is enough to refuse a file as too large without reading it all.
    data = await photo.read(rules.rules().photo_max_bytes + 1)
    p = service.add_photo(session=session, activity_id=activity_id, data=data, filename=photo.filename,
                          actor=actor, media_dir=settings.upload_dir)
    return PhotoOut.of(p)


@router.get("/completion", response_model=CompletionOut)
def completion(session: SessionDep, actor: Actor = Depends(require(service.READ)), year: Year | None = None,
               as_of: BoundedDate | None = None, orgunit: str | None = Query(None, max_length=12)) -> CompletionOut:
    """Per facility in scope: each kind done in the year against the 规范's minimum, and whether it is behind
    the calendar on `as_of` (default today)."""
    on = as_of or clock.today()
    year = year or on.year
    rows = service.completion(session=session, actor=actor, year=year, as_of=on, orgunit=orgunit)
    return completion_out(rows, year, on)
