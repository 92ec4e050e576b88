"""Reads of case reports: one card with its history (an audited read of the patient's record), the list an
actor may see (scope-limited, audited as a search), the daily counts the early-warning run is fed by, and
the other cards of the same patient and disease (duplicate candidates)."""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.core.actor import Actor
from weijian.core.errors import NotFound
from weijian.orgunits import service as orgunits_service
from weijian.residents import access
from weijian.residents.models import Resident
from weijian.surveillance import rules
from weijian.surveillance.models import CaseReport, CaseReportRevision

_E = "surveillance.cases.errors."
MAX_PAGE_SIZE = 200
STATUSES = ("active", "deleted", "duplicate")


@dataclass
class CaseItem:
    """A card as lists and pages show it."""

    report: CaseReport
    resident_name: str
    village_code: str
    facility: str

    @property
    def id(self) -> int:
        return self.report.id


@dataclass
class CasePage:
    items: list[CaseItem]
    total: int
    page: int
    page_size: int

    @property
    def has_next(self) -> bool:
        return self.page * self.page_size < self.total


def township_of(village_code: str) -> str:
    return village_code[:9] + "000"


def county_of(code: str) -> str:
    return code[:6] + "000000"


def disease_name(code: str, locale: str) -> str:
    """The disease's name in `locale`, from its latest entry in the list (a code keeps its name across
    entries but for a rename: the latest is shown)."""
    found = [d for d in rules.disease_list().diseases if d.code == code]
    return max(found, key=lambda d: d.valid_from).name(locale) if found else code


def require_read(actor: Actor) -> None:
    if not (actor.can("case:read") or actor.can("case:report") or actor.can("case:review")):
        actor.require("case:read")


def visible(actor: Actor) -> ColumnElement[bool]:
    """Cards an actor may see: of a patient in their org-unit scope, or reported by their own facility.
    Joined to the resident."""
    return access.visible(actor, Resident.village_code, facility=CaseReport.facility_id)


def _basis(actor: Actor, report: CaseReport, village_code: str) -> str | None:
    return access.basis_for(actor, village_code, facility_id=report.facility_id)


def _facility_names(session: Session, ids: set[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    for fid in ids:
        fac = orgunits_service.get_facility(session=session, facility_id=fid)
        if fac is not None:
            out[fid] = fac.name
    return out


def _items(session: Session, rows: list[tuple[CaseReport, str, str]]) -> list[CaseItem]:
    names = _facility_names(session, {r.facility_id for r, *_ in rows})
    return [CaseItem(report=r, resident_name=name, village_code=village, facility=names.get(r.facility_id, ""))
            for r, name, village in rows]


def report_in_scope(*, session: Session, actor: Actor, report_id: int,
                    for_update: bool = False) -> tuple[CaseReport, str, str]:
    """(card, resident's village, basis) or NotFound — a card the actor may not see answers as a missing one."""
    stmt = (select(CaseReport, Resident.village_code).join(Resident, Resident.id == CaseReport.resident_id)
            .where(CaseReport.id == report_id, visible(actor)))
    if for_update:
        stmt = stmt.with_for_update(of=CaseReport)
    row = session.execute(stmt).tuples().first()
    if row is None:
        raise NotFound(_E + "not_found", report_id=report_id)
    report, village = row
    basis = _basis(actor, report, village) or access.scope_basis(actor)
    return report, village, basis


def get(*, session: Session, report_id: int, actor: Actor) -> CaseItem:
    """One card with its revision history: a read of the patient's record, audited with its basis."""
    require_read(actor)
    report, village, basis = report_in_scope(session=session, actor=actor, report_id=report_id)
    session.refresh(report, attribute_names=["revisions"])
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="case_report",
                           entity_id=report.id, resident_id=report.resident_id, basis=basis)
    name = session.scalar(select(Resident.name).where(Resident.id == report.resident_id)) or ""
    return _items(session, [(report, name, village)])[0]


def revisions(report: CaseReport) -> list[dict[str, Any]]:
    return [{"id": r.id, "kind": r.kind, "at": r.at, "by_name": r.by_name, "reason": r.reason,
             "before": json.loads(r.before), "after": json.loads(r.after)} for r in report.revisions]


def list_reports(*, session: Session, actor: Actor, disease: str | None = None, status: str | None = None,
                 facility_id: int | None = None, resident_id: int | None = None, late: bool | None = None,
                 page: int = 1, page_size: int = 20) -> CasePage:
    """The cards an actor may see, newest report first; `status`: active (not merged into another), deleted or
    duplicate. Logged as one search with the residents shown."""
    require_read(actor)
    page, page_size = max(1, page), max(1, min(page_size, MAX_PAGE_SIZE))
    conds: list[ColumnElement[bool]] = [visible(actor)]
    if disease:
        conds.append(CaseReport.disease == disease)
    if status == "active":
        conds += [CaseReport.status == "active", CaseReport.duplicate_of.is_(None)]
    elif status == "deleted":
        conds.append(CaseReport.status == "deleted")
    elif status == "duplicate":
        conds.append(CaseReport.duplicate_of.is_not(None))
    if facility_id is not None:
        conds.append(CaseReport.facility_id == facility_id)
    if resident_id is not None:
        conds.append(CaseReport.resident_id == resident_id)
    if late is not None:
        conds.append(CaseReport.late.is_(late))
    joined = select(CaseReport.id).join(Resident, Resident.id == CaseReport.resident_id).where(*conds)
    total = session.scalar(select(func.count()).select_from(joined.subquery())) or 0
    rows = list(session.execute(
        select(CaseReport, Resident.name, Resident.village_code).join(Resident, Resident.id == CaseReport.resident_id)
        .where(*conds).order_by(CaseReport.reported_at.desc(), CaseReport.id.desc())
        .offset((page - 1) * page_size).limit(page_size)).tuples())
    accounts_service.audit(session=session, actor=actor, action="search", entity_type="case_report",
                           resident_id=resident_id, basis=access.scope_basis(actor),
                           detail={"disease": disease, "status": status, "page": page, "total": total},
                           shown=[r.resident_id for r, *_ in rows])
    return CasePage(_items(session, rows), total, page, page_size)


def same_case_candidates(*, session: Session, report: CaseReport) -> list[CaseReport]:
    """Other active cards of the same patient and disease, not merged into another: the cards this one may
    be a duplicate of (the page offers them)."""
    return list(session.scalars(select(CaseReport).where(
        CaseReport.resident_id == report.resident_id, CaseReport.disease == report.disease,
        CaseReport.id != report.id, CaseReport.status == "active", CaseReport.duplicate_of.is_(None))
        .order_by(CaseReport.reported_at)))


def counted() -> list[ColumnElement[bool]]:
    """The cards that count as cases: active, not merged into another card, not excluded (排除)."""
    return [CaseReport.status == "active", CaseReport.duplicate_of.is_(None), CaseReport.classification != "excluded"]


def daily_counts(*, session: Session, start: date, end: date) -> dict[tuple[str, str], dict[date, int]]:
    """Cases by (disease code, township code) and onset date, `start` … `end` inclusive, counting the cards
    of `counted()`; each disease also under (disease, county code) with the county's total. Days without a
    case are absent. The early-warning run is fed by exactly this."""
    rows = session.execute(
        select(CaseReport.disease, CaseReport.township_code, CaseReport.onset_date, func.count())
        .where(*counted(), CaseReport.onset_date >= start, CaseReport.onset_date <= end)
        .group_by(CaseReport.disease, CaseReport.township_code, CaseReport.onset_date)).tuples()
    out: dict[tuple[str, str], dict[date, int]] = defaultdict(dict)
    for disease, township, onset, n in rows:
        out[(disease, township)][onset] = out[(disease, township)].get(onset, 0) + n
        county = out[(disease, county_of(township))]
        county[onset] = county.get(onset, 0) + n
    return dict(out)


def report_for_encounter(*, session: Session, encounter_id: int, disease: str) -> int | None:
    """The id of an active card made from an encounter for a disease, if one was made."""
    return session.scalar(select(CaseReport.id).where(
        CaseReport.encounter_id == encounter_id, CaseReport.disease == disease,
        CaseReport.status == "active").limit(1))


__all__ = ["CaseItem", "CasePage", "CaseReport", "CaseReportRevision", "MAX_PAGE_SIZE", "STATUSES", "counted",
           "county_of", "daily_counts", "disease_name", "get", "list_reports", "report_for_encounter",
           "form_resident", "report_in_scope", "require_read", "revisions", "same_case_candidates", "township_of",
           "visible"]


def form_resident(*, session: Session, actor: Actor, resident_id: int) -> Resident:
    """The patient a new card is for, shown on its form: a read of the record, audited (NotFound outside
    the actor's scope, as for a missing id)."""
    resident, basis = access.resident_in_scope(session=session, actor=actor, resident_id=resident_id, shared=True,
                                               walk_in=True)
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="case_report",
                           resident_id=resident.id, basis=basis, detail={"form": "new"})
    return resident
