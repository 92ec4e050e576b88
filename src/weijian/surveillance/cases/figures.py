"""Figures of case reports for the indicators: the cards counted per (org unit of the reporting facility,
month of the report, in county time), all of them or those reported within the disease's limit (报告及时率,
传染病信息报告管理规范), and the cards behind such a count (the drill-down); and the cases by onset month and the
patient's village (报告发病率: cases ÷ population × 100,000), all notifiable diseases or classes A and B only."""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from weijian.core import clock
from weijian.core.periods import yyyymm
from weijian.orgunits.models import Facility
from weijian.residents.models import Resident
from weijian.surveillance import rules
from weijian.surveillance.cases.queries import counted
from weijian.surveillance.models import CaseReport

TIMELINESS = ("any", "in_time")
# 报告发病率 of all notifiable diseases, or of classes A and B (甲乙类: the figure the annual reports quote).
CLASS_FILTERS = ("any", "AB")


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


def _classes_codes(classes: str, end: date) -> set[str] | None:
    """The disease codes a class filter keeps (None: every disease). By the edition in force on the last day
    asked about, for the counts and the drill-down alike: a disease that changed class inside the range is
    counted by its class at the end (甲型H1N1流感, class B to C in 2014, is the only such change)."""
    if classes == "any":
        return None
    try:
        edition = rules.edition_on(end)
    except LookupError:
        return set()
    return {d.code for d in edition.diseases if d.disease_class in ("A", "B")}


def _onset_conds(lo: str, hi: str, start: date, end: date, classes: str) -> list[Any]:
    conds = [*counted(), CaseReport.onset_date >= start, CaseReport.onset_date <= end,
             CaseReport.village_code >= lo, CaseReport.village_code <= hi]
    codes = _classes_codes(classes, end)
    if codes is not None:
        conds.append(CaseReport.disease.in_(sorted(codes)))
    return conds


def case_onset_counts_by_month(*, session: Session, lo: str, hi: str, start: date, end: date,
                               classes: str = "any") -> dict[tuple[str, int], int]:
    """(the patient's village on the card, yyyymm of the onset date) → cases counted (counted(): active, not a
    duplicate, not 排除); `classes` "AB": classes A and B only."""
    out: dict[tuple[str, int], int] = {}
    stmt = select(CaseReport.village_code, CaseReport.onset_date).where(*_onset_conds(lo, hi, start, end, classes))
    for village, onset in session.execute(stmt):
        key = (village, yyyymm(onset))
        out[key] = out.get(key, 0) + 1
    return out


def case_onset_records(*, lo: str, hi: str, start: date, end: date, classes: str = "any") -> Select[Any]:
    """The cases behind an incidence figure, in the village the figure counts them (the card's)."""
    return (select(Resident.id, Resident.name, Resident.id_number, CaseReport.village_code,
                   CaseReport.onset_date.label("date"), Facility.name.label("facility"),
                   CaseReport.disease.label("detail"))
            .select_from(CaseReport).join(Resident, Resident.id == CaseReport.resident_id)
            .join(Facility, Facility.id == CaseReport.facility_id)
            .where(*_onset_conds(lo, hi, start, end, classes)))
