"""Reads of facility standardisation: one assessment, the latest assessment of each facility a standard
applies to (as of a day, in the actor's scope), and the figure "N of M facilities meet standard S as of D"
(`progress`, which the practical projects compute their progress from)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from weijian.core.actor import Actor
from weijian.core.errors import InvalidInput, NotFound
from weijian.ledgers.standards.models import StandardAssessment
from weijian.ledgers.standards.rules import Standard, rules
from weijian.orgunits import service as orgunits_service
from weijian.orgunits.models import Facility

_E = "ledgers.standards.errors."


def standard_or_refuse(code: str | None, field: str = "standard") -> Standard:
    std = rules().standards.get(code or "")
    if std is None:
        raise InvalidInput(field, _E + "standard_unknown", value=code or "", known=", ".join(rules().standards))
    return std


def get_assessment(*, session: Session, actor: Actor, assessment_id: int) -> tuple[StandardAssessment, Facility]:
    """The assessment with its facility; NotFound when missing or its facility is outside the scope."""
    actor.require("ledger:read")
    row = session.execute(select(StandardAssessment, Facility)
                          .join(Facility, Facility.id == StandardAssessment.facility_id)
                          .where(StandardAssessment.id == assessment_id,
                                 orgunits_service.scope_condition(Facility.orgunit_code, actor))
                          .options(selectinload(StandardAssessment.results))).first()
    if row is None:
        raise NotFound(_E + "assessment_not_found", assessment_id=assessment_id)
    return row[0], row[1]


@dataclass(frozen=True)
class FacilityStatus:
    facility: Facility
    latest: StandardAssessment | None

    @property
    def meets(self) -> bool:
        return self.latest is not None and self.latest.meets


def _statuses(session: Session, std_code: str, as_of: dt.date, scope_code: str | None) -> list[FacilityStatus]:
    std = standard_or_refuse(std_code)
    facilities = list(session.scalars(
        select(Facility).where(Facility.type.in_(std.facility_types),
                               orgunits_service.subtree_condition(Facility.orgunit_code, scope_code))
        .order_by(Facility.orgunit_code, Facility.id)))
    latest: dict[int, StandardAssessment] = {}
    ids = [f.id for f in facilities]
    if ids:
        for a in session.scalars(select(StandardAssessment)
                                 .where(StandardAssessment.standard == std_code,
                                        StandardAssessment.assessed_on <= as_of,
                                        StandardAssessment.facility_id.in_(ids))
                                 .order_by(StandardAssessment.assessed_on, StandardAssessment.id)):
            latest[a.facility_id] = a  # the last in date order wins
    return [FacilityStatus(f, latest.get(f.id)) for f in facilities]


def facility_statuses(*, session: Session, actor: Actor, standard: str, as_of: dt.date,
                      orgunit_code: str | None = None) -> list[FacilityStatus]:
    """Every facility the standard applies to in the actor's scope (or the part of it under `orgunit_code`),
    with its latest assessment on or before `as_of`."""
    actor.require("ledger:read")
    scope = orgunit_code or actor.scope_code
    if orgunit_code and not orgunits_service.in_scope(scope_code=actor.scope_code, code=orgunit_code):
        scope = actor.scope_code
    return _statuses(session, standard, as_of, scope)


@dataclass(frozen=True)
class Progress:
    """N of M facilities meet the standard as of the day."""

    standard: str
    as_of: dt.date
    orgunit_code: str | None
    met: int
    total: int

    @property
    def share(self) -> float | None:
        return round(self.met / self.total, 4) if self.total else None


def progress(*, session: Session, standard: str, as_of: dt.date, orgunit_code: str | None = None) -> Progress:
    """How many of the facilities the standard applies to (under `orgunit_code`, the whole county when None)
    meet it as of `as_of`: their latest assessment on or before that day passed every required item. A
    facility never assessed does not meet it. No actor: the caller (the practical projects' progress, a
    figure on a page) has checked its own permission. Refused (InvalidInput, `standard`) for an unknown
    standard."""
    rows = _statuses(session, standard, as_of, orgunit_code)
    return Progress(standard, as_of, orgunit_code, sum(1 for r in rows if r.meets), len(rows))
