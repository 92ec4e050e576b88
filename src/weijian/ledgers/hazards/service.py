"""Writes of the hazard ledger: record an inspection, its problems (with the four to's) and their photos, a
rectification with its evidence, and the verification (accepted closes the problem; sent back reopens it).
Each names every bad field at once; nothing is written when one is refused. Photos are checked by their bytes
(type and size, hazards.rules) and stored under the upload folder by their SHA-256."""
from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import ErrorCollector, InvalidInput, InvalidState
from weijian.ledgers.hazards import queries
from weijian.ledgers.hazards.models import Inspection, Photo, Problem, Rectification
from weijian.ledgers.hazards.rules import check_photo, rules
from weijian.ledgers.hazards.schemas import (
    InspectionCreate,
    ProblemCreate,
    RectificationCreate,
    VerificationCreate,
)
from weijian.orgunits import service as orgunits_service

_E = "ledgers.hazards.errors."
_MISSING = "core.errors.validation.missing"


@dataclass(frozen=True)
class Upload:
    """A file as sent: its bytes (the routes read at most one byte over the limit), the name it came with
    (kept for display only) and its whole size when known."""

    content: bytes
    filename: str | None = None
    size: int | None = None


def _required(errs: ErrorCollector, cmd: object, *names: str) -> None:
    for name in names:
        if getattr(cmd, name) is None:
            errs.add(name, _MISSING)


def create_inspection(*, session: Session, inspection_in: InspectionCreate, actor: Actor) -> Inspection:
    actor.require("ledger:write")
    cmd = inspection_in
    errs = ErrorCollector()
    _required(errs, cmd, "facility_id", "category", "inspected_on")
    if cmd.category is not None and cmd.category not in rules().categories:
        errs.add("category", _E + "category_unknown", value=cmd.category, known=", ".join(rules().categories))
    if cmd.inspected_on is not None and cmd.inspected_on > clock.today():
        errs.add("inspected_on", _E + "in_future")
    facility = None
    if cmd.facility_id is not None:
        facility = orgunits_service.get_facility(session=session, facility_id=cmd.facility_id)
        if facility is None or not orgunits_service.in_scope(scope_code=actor.scope_code, code=facility.orgunit_code):
            errs.add("facility_id", _E + "facility_unknown", value=cmd.facility_id)
    errs.raise_if_any()
    assert facility is not None and cmd.inspected_on is not None
    row = Inspection(facility_id=facility.id, orgunit_code=facility.orgunit_code, category=cmd.category,
                     inspected_on=cmd.inspected_on, inspector=cmd.inspector or actor.username, note=cmd.note,
                     recorded_by=actor.username)
    session.add(row)
    session.flush()
    return row


def _check_uploads(errs: ErrorCollector, uploads: Sequence[Upload], field: str) -> list[tuple[Upload, str, str]]:
    checked = []
    if len(uploads) > rules().photos_per_upload:
        errs.add(field, _E + "photos_too_many", limit=rules().photos_per_upload)
        return []
    for up in uploads:
        try:
            ctype, ext = check_photo(up.content, field, size=up.size)
        except InvalidInput as exc:
            errs.extend(exc)
            continue
        checked.append((up, ctype, ext))
    return checked


def _store(session: Session, *, store: Path, problem: Problem, rectification: Rectification | None,
           checked: list[tuple[Upload, str, str]], actor: Actor) -> list[Photo]:
    out = []
    store.mkdir(parents=True, exist_ok=True)
    for up, ctype, ext in checked:
        digest = hashlib.sha256(up.content).hexdigest()
        target = store / f"{digest}.{ext}"
        if not target.exists():
            tmp = store / f".{digest}.{os.getpid()}.tmp"
            tmp.write_bytes(up.content)
            tmp.replace(target)
        photo = Photo(problem_id=problem.id, rectification_id=rectification.id if rectification else None,
                      stage="evidence" if rectification else "problem", sha256=digest, content_type=ctype,
                      size=len(up.content), filename=(up.filename or "")[:200] or None, uploaded_by=actor.username)
        session.add(photo)
        out.append(photo)
    session.flush()
    return out


def photo_path(store: Path, photo: Photo) -> Path:
    ext = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}[photo.content_type]
    return store / f"{photo.sha256}.{ext}"


def add_problem(*, session: Session, inspection_id: int, problem_in: ProblemCreate, actor: Actor,
                photos: Sequence[Upload] = (), store: Path | None = None) -> Problem:
    """A problem of the inspection, with its photos (each an image by its bytes, within the size limit). The
    deadline may not fall before the inspection day."""
    actor.require("ledger:write")
    inspection = queries.get_inspection(session=session, inspection_id=inspection_id, actor=actor)
    cmd = problem_in
    errs = ErrorCollector()
    _required(errs, cmd, "location", "description", "severity", "responsible_person", "responsible_leader",
              "deadline", "standard")
    if cmd.severity is not None and cmd.severity not in rules().severities:
        errs.add("severity", _E + "severity_unknown", value=cmd.severity, known=", ".join(rules().severities))
    if cmd.deadline is not None and cmd.deadline < inspection.inspected_on:
        errs.add("deadline", _E + "deadline_before_inspection", inspected_on=inspection.inspected_on.isoformat())
    checked = _check_uploads(errs, photos, "photos")
    if photos and store is None:
        raise RuntimeError("photos sent without an upload folder")
    errs.raise_if_any()
    assert cmd.deadline is not None
    problem = Problem(inspection_id=inspection.id, facility_id=inspection.facility_id,
                      orgunit_code=inspection.orgunit_code, location=cmd.location, description=cmd.description,
                      severity=cmd.severity, responsible_person=cmd.responsible_person,
                      responsible_leader=cmd.responsible_leader, deadline=cmd.deadline, standard=cmd.standard,
                      status="open", recorded_by=actor.username)
    session.add(problem)
    session.flush()
    if checked and store is not None:
        _store(session, store=store, problem=problem, rectification=None, checked=checked, actor=actor)
    return problem


def add_photos(*, session: Session, problem_id: int, photos: Sequence[Upload], actor: Actor,
               store: Path) -> list[Photo]:
    """More photos of a problem (stage problem)."""
    actor.require("ledger:write")
    problem = queries.get_problem(session=session, problem_id=problem_id, actor=actor)
    errs = ErrorCollector()
    if not photos:
        errs.add("photos", _MISSING)
    checked = _check_uploads(errs, photos, "photos")
    errs.raise_if_any()
    return _store(session, store=store, problem=problem, rectification=None, checked=checked, actor=actor)


def rectify(*, session: Session, problem_id: int, rectification_in: RectificationCreate, actor: Actor,
            evidence: Sequence[Upload] = (), store: Path | None = None) -> Rectification:
    """A rectification of an open problem (never of one awaiting verification or closed): what was done, the
    day (not before the inspection, not in the future), evidence photos. The problem then awaits
    verification."""
    actor.require("ledger:write")
    problem = queries.get_problem(session=session, problem_id=problem_id, actor=actor)
    if problem.status != "open":
        raise InvalidState(_E + ("already_closed" if problem.status == "closed" else "awaiting_verification"))
    inspection = session.get(Inspection, problem.inspection_id)
    assert inspection is not None
    cmd = rectification_in
    errs = ErrorCollector()
    _required(errs, cmd, "done_on", "measures")
    if cmd.done_on is not None and cmd.done_on > clock.today():
        errs.add("done_on", _E + "in_future")
    if cmd.done_on is not None and cmd.done_on < inspection.inspected_on:
        errs.add("done_on", _E + "done_before_inspection", inspected_on=inspection.inspected_on.isoformat())
    checked = _check_uploads(errs, evidence, "evidence")
    if evidence and store is None:
        raise RuntimeError("evidence sent without an upload folder")
    errs.raise_if_any()
    row = Rectification(problem_id=problem.id, done_on=cmd.done_on, measures=cmd.measures,
                        reported_by=actor.username)
    session.add(row)
    problem.status = "submitted"
    session.flush()
    if checked and store is not None:
        _store(session, store=store, problem=problem, rectification=row, checked=checked, actor=actor)
    return row


def verify(*, session: Session, problem_id: int, verification_in: VerificationCreate, actor: Actor) -> Problem:
    """The inspector's verification (验收) of the rectification awaiting it: accepted closes the problem on the
    rectification's day; sent_back (a note saying why) reopens it for another rectification. The reporter of
    the rectification may not verify it (the field `verdict` names the refusal)."""
    actor.require("ledger:verify")
    problem = queries.get_problem(session=session, problem_id=problem_id, actor=actor)
    if problem.status != "submitted":
        raise InvalidState(_E + "nothing_to_verify")
    latest = queries.rectifications(session=session, problem_ids=[problem.id])[problem.id][-1]
    cmd = verification_in
    errs = ErrorCollector()
    if cmd.verdict is None:
        errs.add("verdict", _MISSING)
    elif latest.reported_by == actor.username:
        errs.add("verdict", _E + "own_rectification")
    if cmd.verdict == "sent_back" and not cmd.note:
        errs.add("note", _E + "sent_back_needs_note")
    errs.raise_if_any()
    today = clock.today()
    latest.verdict, latest.verified_by, latest.verified_on, latest.verify_note = (cmd.verdict, actor.username,
                                                                                 today, cmd.note)
    if cmd.verdict == "accepted":
        problem.status, problem.closed_on = "closed", latest.done_on
    else:
        problem.status = "open"
    session.flush()
    return problem
