"""Writes and reads of health education (健康教育): recording a facility's activity, attaching its photos
(checked by their bytes: a real JPEG or PNG within the size limit, stored under WEIJIAN_UPLOAD_DIR), the
activities of a year, and the per-facility completion table against the 规范's yearly minimums (rules.py).
Scope: the facilities whose org unit lies in the actor's scope; one outside it answers as a missing one.
Every refusal names its field, before anything is written."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Select, distinct, func, select
from sqlalchemy.orm import Session, selectinload

from weijian.accounts import service as accounts_service
from weijian.care.education import rules
from weijian.care.education.models import EducationActivity, EducationPhoto
from weijian.care.education.schemas import ActivityCreate
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import ErrorCollector, InvalidInput, NotFound
from weijian.orgunits import service as orgunits_service
from weijian.orgunits.models import Facility
from weijian.residents import access

_E = "care.education.errors."
READ, WRITE = "education:read", "education:write"
PHOTO_FOLDER = "education"
# Pillow's format → (content type, file extension).
_TYPES = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png")}
MAX_PIXELS = 40_000_000  # a larger picture is refused before it is decoded (a "decompression bomb")


def facility_in_scope(*, session: Session, actor: Actor, facility_id: int) -> Facility:
    row = session.scalar(select(Facility).where(Facility.id == facility_id,
                                                orgunits_service.scope_condition(Facility.orgunit_code, actor)))
    if row is None:
        raise NotFound(_E + "facility_not_found", facility_id=facility_id)
    return row


def facilities_in_scope(*, session: Session, actor: Actor) -> list[Facility]:
    """The facilities in scope whose type has minimums (those that hold health education), by org unit."""
    types = list(rules.rules().minimums)
    return list(session.scalars(select(Facility).where(
        orgunits_service.scope_condition(Facility.orgunit_code, actor), Facility.type.in_(types))
        .order_by(Facility.orgunit_code, Facility.name)))


def _with_facility() -> Select[tuple[EducationActivity, Facility]]:
    return select(EducationActivity, Facility).join(Facility, Facility.id == EducationActivity.facility_id)


# --- activities -----------------------------------------------------------------------------------
def record_activity(*, session: Session, activity_in: ActivityCreate, actor: Actor,
                    today: dt.date | None = None) -> EducationActivity:
    """Record one activity. Refused, naming the field: an unknown kind; the date in the future; no facility
    (the actor has none and named none) or one outside the actor's scope."""
    actor.require(WRITE)
    today = today or clock.today()
    cmd = activity_in
    errs = ErrorCollector()
    if cmd.kind not in rules.rules().kinds:
        errs.add("kind", _E + "kind_unknown", value=cmd.kind)
    if cmd.date > today:
        errs.add("date", _E + "date_future", today=today)
    facility_id = cmd.facility_id if cmd.facility_id is not None else actor.facility_id
    facility = None
    if facility_id is None:
        errs.add("facility_id", "core.errors.validation.missing")
    else:
        facility = session.scalar(select(Facility).where(
            Facility.id == facility_id, orgunits_service.scope_condition(Facility.orgunit_code, actor)))
        if facility is None:
            errs.add("facility_id", _E + "facility_not_found", facility_id=facility_id)
    errs.raise_if_any()
    assert facility is not None
    a = EducationActivity(facility_id=facility.id, kind=cmd.kind, date=cmd.date, topic=cmd.topic, place=cmd.place,
                          audience=cmd.audience, created_by=actor.username)
    session.add(a)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="education_activity",
                           entity_id=a.id, basis=access.scope_basis(actor),
                           detail={"facility_id": facility.id, "kind": cmd.kind, "date": cmd.date.isoformat()})
    return a


def get_activity(*, session: Session, actor: Actor, activity_id: int) -> tuple[EducationActivity, Facility]:
    """One activity with its photos and facility; NotFound when missing or its facility is out of scope."""
    actor.require(READ)
    row = session.execute(_with_facility().where(EducationActivity.id == activity_id,
                                 orgunits_service.scope_condition(Facility.orgunit_code, actor))
                          .options(selectinload(EducationActivity.photos))).first()
    if row is None:
        raise NotFound(_E + "activity_not_found", activity_id=activity_id)
    return row[0], row[1]


def list_activities(*, session: Session, actor: Actor, year: int, facility_id: int | None = None,
                    kind: str | None = None, limit: int = 500) -> list[tuple[EducationActivity, Facility]]:
    """The activities of a year in scope (optionally one facility, one kind), latest first."""
    actor.require(READ)
    conds = [orgunits_service.scope_condition(Facility.orgunit_code, actor),
             EducationActivity.date >= dt.date(year, 1, 1), EducationActivity.date <= dt.date(year, 12, 31)]
    if facility_id is not None:
        conds.append(EducationActivity.facility_id == facility_id)
    if kind:
        if kind not in rules.rules().kinds:
            raise InvalidInput("kind", _E + "kind_unknown", value=kind)
        conds.append(EducationActivity.kind == kind)
    rows = session.execute(_with_facility().where(*conds).options(selectinload(EducationActivity.photos))
                           .order_by(EducationActivity.date.desc(), EducationActivity.id.desc()).limit(limit)).all()
    return [(r[0], r[1]) for r in rows]


# --- photos ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CheckedImage:
    content_type: str
    extension: str
    width: int
    height: int


def check_image(data: bytes) -> CheckedImage:
    """The bytes as a JPEG or PNG that Pillow reads through, within the size limit; InvalidInput on
    `photo` otherwise (empty, too large, not an image, another format, truncated or damaged)."""
    from PIL import Image, UnidentifiedImageError

    r = rules.rules()
    if not data:
        raise InvalidInput("photo", _E + "photo_empty")
    if len(data) > r.photo_max_bytes:
        raise InvalidInput("photo", _E + "photo_too_large", size_kb=len(data) // 1024,
                           max_kb=r.photo_max_bytes // 1024)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                fmt, (width, height) = img.format, img.size
                if fmt not in r.photo_formats or fmt not in _TYPES:
                    raise InvalidInput("photo", _E + "photo_format", format=fmt or "?",
                                       allowed=", ".join(r.photo_formats))
                if width * height > MAX_PIXELS:
                    raise InvalidInput("photo", _E + "photo_not_image")
                img.verify()  # the whole structure (PNG chunks' checksums, the JPEG's markers)
            with Image.open(io.BytesIO(data)) as img:
                img.load()  # decode the pixels: a truncated file fails here
    except InvalidInput:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning):
        raise InvalidInput("photo", _E + "photo_not_image") from None
    content_type, ext = _TYPES[fmt]
    return CheckedImage(content_type, ext, width, height)


def add_photo(*, session: Session, activity_id: int, data: bytes, filename: str | None, actor: Actor,
              media_dir: Path) -> EducationPhoto:
    """Attach a photo to an activity: checked (check_image), at most `photos_per_activity` per activity, the
    same picture not twice; written to `<media_dir>/education/` (atomically: a temporary file renamed)."""
    actor.require(WRITE)
    activity, _facility = get_activity(session=session, actor=actor, activity_id=activity_id)
    r = rules.rules()
    # (from the table: the activity's `photos` loaded earlier in this unit may not show those added since)
    have = set(session.scalars(select(EducationPhoto.stored_name).where(EducationPhoto.activity_id == activity.id)))
    if len(have) >= r.photos_per_activity:
        raise InvalidInput("photo", _E + "photo_too_many", max=r.photos_per_activity)
    img = check_image(data)
    digest = hashlib.sha256(data).hexdigest()
    stored = f"{activity.id}-{digest[:40]}.{img.extension}"
    if stored in have:
        raise InvalidInput("photo", _E + "photo_duplicate")
    folder = Path(media_dir) / PHOTO_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / stored
    if not target.exists():
        tmp = folder / f".{stored}.{os.getpid()}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, target)
    name = (filename or "").strip()[:200] or None
    photo = EducationPhoto(activity_id=activity.id, stored_name=stored, content_type=img.content_type,
                           size_bytes=len(data), width=img.width, height=img.height, original_name=name,
                           created_by=actor.username)
    session.add(photo)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="education_photo",
                           entity_id=photo.id, basis=access.scope_basis(actor),
                           detail={"activity_id": activity.id, "bytes": len(data), "sha256": digest})
    return photo


def photo_file(*, session: Session, actor: Actor, photo_id: int, media_dir: Path) -> tuple[Path, str]:
    """The file and content type of a photo whose activity is in scope; NotFound otherwise (or when the
    file is gone)."""
    actor.require(READ)
    row = session.execute(select(EducationPhoto)
                          .join(EducationActivity, EducationActivity.id == EducationPhoto.activity_id)
                          .join(Facility, Facility.id == EducationActivity.facility_id)
                          .where(EducationPhoto.id == photo_id,
                                 orgunits_service.scope_condition(Facility.orgunit_code, actor))).scalar()
    path = Path(media_dir) / PHOTO_FOLDER / row.stored_name if row is not None else None
    if row is None or path is None or not path.is_file():
        raise NotFound(_E + "photo_not_found", photo_id=photo_id)
    return path, row.content_type


# --- the completion table -------------------------------------------------------------------------
@dataclass(frozen=True)
class FacilityCompletion:
    facility: Facility
    kinds: list[rules.KindResult]

    @property
    def behind(self) -> int:
        return sum(1 for k in self.kinds if k.state == "behind")


def completion(*, session: Session, actor: Actor, year: int, as_of: dt.date | None = None,
               orgunit: str | None = None) -> list[FacilityCompletion]:
    """Per facility in scope (optionally under one org unit) whose type has minimums: each kind's count in
    `year` (activities, or different topics for materials and video) against the minimum and the calendar
    on `as_of` (default today). Facilities with a kind behind come first."""
    actor.require(READ)
    as_of = as_of or clock.today()
    if not 2000 <= year <= 2100:
        raise InvalidInput("year", _E + "year_out_of_range")
    if orgunit is not None and not (len(orgunit) == 12 and orgunit.isdigit()):
        raise InvalidInput("orgunit", _E + "orgunit_format", value=orgunit)
    facilities = facilities_in_scope(session=session, actor=actor)
    if orgunit:
        facilities = [f for f in facilities if orgunits_service.in_scope(scope_code=orgunit, code=f.orgunit_code)]
    ids = [f.id for f in facilities]
    done: dict[int, dict[str, int]] = {}
    if ids:
        start, end = dt.date(year, 1, 1), min(dt.date(year, 12, 31), max(as_of, dt.date(year, 1, 1)))
        by_kind = rules.rules().kinds
        stmt = (select(EducationActivity.facility_id, EducationActivity.kind, func.count(EducationActivity.id),
                       func.count(distinct(EducationActivity.topic)))
                .where(EducationActivity.facility_id.in_(ids), EducationActivity.date >= start,
                       EducationActivity.date <= end)
                .group_by(EducationActivity.facility_id, EducationActivity.kind))
        for fid, kind, n, topics in session.execute(stmt):
            k = by_kind.get(kind)
            if k is not None:
                done.setdefault(fid, {})[kind] = topics if k.count == "topics" else n
    out = [FacilityCompletion(f, rules.judge(f.type, year, as_of, done.get(f.id, {}))) for f in facilities]
    out.sort(key=lambda c: (-c.behind, c.facility.orgunit_code, c.facility.name))
    accounts_service.audit(session=session, actor=actor, action="list", entity_type="education_completion",
                           basis=access.scope_basis(actor),
                           detail={"year": year, "as_of": as_of.isoformat(), "facilities": len(out)})
    return out


def completion_xlsx(rows: list[FacilityCompletion], *, year: int, as_of: dt.date, locale: str,
                    state_labels: dict[str, str], headings: dict[str, str]) -> bytes:
    """The completion table as a workbook: one row per facility, done / minimum per kind, each cell through
    core.excel (a facility name starting with = is written as text)."""
    from openpyxl import Workbook
    from openpyxl.styles import PatternFill

    from weijian.core import excel

    r = rules.rules()
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = str(year)
    excel.append(ws, [headings["title"], f"{year}", headings["as_of"], as_of.isoformat()])
    head = [headings["facility"], headings["type"], headings["orgunit"]]
    for k in r.kinds.values():
        head += [f"{k.label(locale)} {headings['done']}", f"{k.label(locale)} {headings['minimum']}",
                 f"{k.label(locale)} {headings['state']}"]
    excel.append(ws, head)
    red = PatternFill("solid", fgColor="F8D7DA")
    for row in rows:
        values: list[object] = [row.facility.name, headings.get("type." + row.facility.type, row.facility.type),
                                row.facility.orgunit_code]
        for res in row.kinds:
            values += [res.done, res.minimum, state_labels.get(res.state, res.state)]
        excel.append(ws, values)
        for i, res in enumerate(row.kinds):
            if res.state == "behind":
                ws.cell(row=ws.max_row, column=4 + 3 * i + 2).fill = red
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


__all__ = [
    "READ", "WRITE", "CheckedImage", "FacilityCompletion", "add_photo", "check_image", "completion",
    "completion_xlsx", "facilities_in_scope", "facility_in_scope", "get_activity", "list_activities",
    "photo_file", "record_activity",
]
