"""Writes of facility standardisation: recording an assessment of a facility against a standard of
data/standards.yaml (ledger:write, a facility in the actor's scope of a type the standard applies to, every
item of the checklist answered once). Every bad field is named at once, and nothing is written.

What other modules use of this area is importable from here: `progress` ("N of M facilities meet standard S
as of D", for the practical projects' progress), `facility_statuses`, `get_assessment`."""
from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import ErrorCollector
from weijian.ledgers.standards.models import StandardAssessment, StandardItemResult
from weijian.ledgers.standards.queries import (
    FacilityStatus,
    Progress,
    facility_statuses,
    get_assessment,
    progress,
)
from weijian.ledgers.standards.rules import rules
from weijian.ledgers.standards.schemas import AssessmentCreate
from weijian.orgunits import service as orgunits_service

_E = "ledgers.standards.errors."
_MISSING = "core.errors.validation.missing"


def record_assessment(*, session: Session, assessment_in: AssessmentCreate, actor: Actor,
                      today: dt.date | None = None) -> StandardAssessment:
    """Record an assessment. Refused, naming the field: the standard, facility, date or assessor missing; an
    unknown standard; a facility missing or outside the scope (`facility_id`), or of a type the standard does
    not apply to; a date in the future; an item not of the checklist or answered twice (`results.N.item`);
    an item of the checklist left unanswered (`results`, naming them). `meets` is judged here: every
    required item passed."""
    actor.require("ledger:write")
    today = today or clock.today()
    cmd = assessment_in
    errs = ErrorCollector()
    for name in ("facility_id", "standard", "assessed_on", "assessor"):
        if getattr(cmd, name) is None:
            errs.add(name, _MISSING)
    std = rules().standards.get(cmd.standard) if cmd.standard is not None else None
    if cmd.standard is not None and std is None:
        errs.add("standard", _E + "standard_unknown", value=cmd.standard, known=", ".join(rules().standards))
    if cmd.facility_id is not None:
        facility = orgunits_service.get_facility(session=session, facility_id=cmd.facility_id)
        if facility is None or not orgunits_service.in_scope(scope_code=actor.scope_code,
                                                             code=facility.orgunit_code):
            errs.add("facility_id", _E + "facility_not_found", facility_id=cmd.facility_id)
        elif std is not None and facility.type not in std.facility_types:
            errs.add("facility_id", _E + "facility_type", type=facility.type)
    if cmd.assessed_on is not None and cmd.assessed_on > today:
        errs.add("assessed_on", _E + "in_future")
    answered: dict[str, tuple[bool, str | None]] = {}
    if std is not None:
        for i, r in enumerate(cmd.results or []):
            if std.item(r.item) is None:
                errs.add(f"results.{i}.item", _E + "item_unknown", value=r.item)
            elif r.item in answered:
                errs.add(f"results.{i}.item", _E + "item_twice", value=r.item)
            else:
                answered[r.item] = (r.passed, r.evidence)
        left = [i.code for i in std.items if i.code not in answered]
        if left:
            errs.add("results", _E + "items_unanswered", items=", ".join(left))
    errs.raise_if_any()
    assert std is not None and cmd.facility_id is not None and cmd.assessed_on is not None
    meets = all(answered[code][0] for code in std.required)
    row = StandardAssessment(facility_id=cmd.facility_id, standard=cmd.standard, rules_version=rules().version,
                             assessed_on=cmd.assessed_on, assessor=cmd.assessor, meets=meets, note=cmd.note,
                             recorded_by=actor.username)
    session.add(row)
    session.flush()
    session.add_all(StandardItemResult(assessment_id=row.id, item=item.code, passed=answered[item.code][0],
                                       evidence=answered[item.code][1]) for item in std.items)
    session.flush()
    session.refresh(row, ["results"])
    return row


def failed_required(assessment: StandardAssessment) -> list[str]:
    """The required items (by today's checklist) the assessment did not pass."""
    std = rules().standards.get(assessment.standard)
    required = set(std.required) if std is not None else set()
    return [r.item for r in assessment.results if r.item in required and not r.passed]


# --- the practical projects' computed progress source `standard:<code>` (wired in the composition root) ------
def progress_known(argument: str) -> bool:
    """Whether `argument` is a standard of the checklist file (a project's source `standard:<code>`)."""
    return argument in rules().standards


def progress_done(*, session: Session, argument: str, as_of: dt.date) -> int:
    """A project's figure done on `as_of` from the checklists: the county's facilities meeting standard
    `argument` then (e.g. "98 of 150 village clinics standardised")."""
    return progress(session=session, standard=argument, as_of=as_of).met


__all__ = ["FacilityStatus", "Progress", "facility_statuses", "failed_required", "get_assessment", "progress",
           "progress_done", "progress_known",
           "record_assessment"]
