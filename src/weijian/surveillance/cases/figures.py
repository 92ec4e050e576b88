"""Figures of case reports for the indicators: the cards counted per (org unit of the reporting facility,
month of the report, in county time), all of them or those reported within the disease's limit (报告及时率,
传染病信息报告管理规范), and the cards behind such a count (the drill-down)."""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from weijian.core import clock
from weijian.core.periods import yyyymm
from weijian.orgunits.models import Facility
from weijian.residents.models import Resident
from weijian.surveillance.cases.queries import counted
from weijian.surveillance.models import CaseReport

TIMELINESS = ("any", "in_time")


def _conds(lo: str, hi: str, start: date, end: date, timeliness: str) -> list[Any]:
    lo_t, hi_t = clock.day_bounds(start, end)
    conds = [*counted(), CaseReport.reported_at >= lo_t, CaseReport.reported_at < hi_t,
             Facility.orgunit_code >= lo, Facility.orgunit_code <= hi]
    if timeliness == "in_time":
        conds.append(CaseReport.late.is_(False))
    return conds


def case_report_counts_by_month(*, session: Session, lo: str, hi: str, start: date, end: date,
                                timeliness: str = "any") -> dict[tuple[str, int], int]:
    """(org unit of the reporting facility, yyyymm of the local report day) → cards counted (counted():
    active, not a duplicate, not 排除); `timeliness` "in_time": only those within their limit."""
    out: dict[tuple[str, int], int] = {}
    stmt = (select(Facility.orgunit_code, CaseReport.reported_at)
            .join(Facility, Facility.id == CaseReport.facility_id).where(*_conds(lo, hi, start, end, timeliness)))
    for unit, at in session.execute(stmt):
        key = (unit, yyyymm(clock.local(at)))
        out[key] = out.get(key, 0) + 1
    return out


def case_report_records(*, lo: str, hi: str, start: date, end: date, timeliness: str = "any") -> Select[Any]:
    """The cards behind a count, as the indicators' drill-down lists records (the patient, the report time,
    the facility, the disease and whether it was late), each under the reporting facility's org unit, where the
    figure counts it."""
    return (select(Resident.id, Resident.name, Resident.id_number, Facility.orgunit_code.label("village_code"),
                   CaseReport.reported_at.label("date"), Facility.name.label("facility"),
                   CaseReport.disease.label("detail"))
            .select_from(CaseReport).join(Resident, Resident.id == CaseReport.resident_id)
            .join(Facility, Facility.id == CaseReport.facility_id)
            .where(*_conds(lo, hi, start, end, timeliness)))
