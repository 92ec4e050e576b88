"""Care counts for the indicators domain: per village of the patient's residence and month (or per
period where a person counts once), each in one grouped query, and the records behind them.

The figures follow care/records/figures.py (visits and stays by the village the patient lived in on the
day the visit or stay began, from the residence history: a later move changes no past month),
care/chronic (management rates, by the village on the period's last day) and care/referrals (counted
statuses, Asia/Shanghai days, by the village of the day requested).
"""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Select, and_, case, func, literal, null, select
from sqlalchemy.orm import Session

from weijian.care.models import ChronicRegistration, Encounter, FollowUp, HealthCheck, Referral, Screening
from weijian.care.records.figures import PRIMARY_TYPES
from weijian.care.referrals.rules import COUNTED_STATUSES
from weijian.core import clock
from weijian.core.periods import Period, month_case, yyyymm, yyyymm_of
from weijian.orgunits.models import Facility
from weijian.residents.models import Resident, ResidentResidence

# Joined for the patient's village: the residents service has no aggregate query (as in records.figures).
from weijian.residents.service import lived_on, stays_of, village_on, years_before

ENCOUNTER_COUNTERS = ("outpatient_in_county", "outpatient_primary", "inpatient_all", "inpatient_in_county")


def encounter_counter_columns() -> list:
    """COUNT columns of ENCOUNTER_COUNTERS, in that order, over encounters of type outpatient/inpatient."""
    E, F = Encounter, Facility
    in_county = E.facility_id.is_not(None)
    primary = E.facility_id.in_(select(F.id).where(F.type.in_(PRIMARY_TYPES)).scalar_subquery())
    outpatient, inpatient = E.type == "outpatient", E.type == "inpatient"
    return [func.count(case((and_(outpatient, in_county), 1))), func.count(case((and_(outpatient, primary), 1))),
            func.count(case((inpatient, 1))), func.count(case((and_(inpatient, in_county), 1)))]


def encounter_counts(*, session: Session, lo: str, hi: str, start: date, end: date
                     ) -> dict[tuple[str, int], tuple[int, int, int, int]]:
    """(village, yyyymm) → ENCOUNTER_COUNTERS: outpatient visits at the county's facilities, those at the
    primary tiers, every inpatient stay (inside the county or not), stays inside the county. One query.

    SQLite runs the join as a nested loop over the patients' rows, reading only the covering index
    ix_encounters_resident_date_type_facility (resident_id, start_date, type, facility_id); the month is
    a CASE over the month boundaries (not strftime) and the primary tiers' facility ids are a sub-select
    read once (not a join per visit): ~2 s instead of ~8 s for the demo county's million visits."""
    E, H = Encounter, ResidentResidence
    ym = month_case(E.start_date, start, end)
    stmt = (select(H.village_code, ym, *encounter_counter_columns())
            .select_from(E).join(H, lived_on(H, E.resident_id, E.start_date))
            .where(E.type.in_(("outpatient", "inpatient")), E.start_date >= start, E.start_date <= end,
                   E.voided_at.is_(None), H.village_code >= lo, H.village_code <= hi)
            .group_by(H.village_code, ym))
    return {(v, int(m)): (int(a), int(b), int(c), int(d)) for v, m, a, b, c, d in session.execute(stmt)}


def encounter_records(*, lo: str, hi: str, start: date, end: date, counter: str) -> Select:
    """The encounters behind one of ENCOUNTER_COUNTERS: (resident id, name, id number, village, date,
    facility, detail = type), the village the patient lived in on the day it began (as counted)."""
    E, R, F, H = Encounter, Resident, Facility, ResidentResidence
    cond = {"outpatient_in_county": and_(E.type == "outpatient", E.facility_id.is_not(None)),
            "outpatient_primary": and_(E.type == "outpatient", F.type.in_(PRIMARY_TYPES)),
            "inpatient_all": E.type == "inpatient",
            "inpatient_in_county": and_(E.type == "inpatient", E.facility_id.is_not(None))}[counter]
    return (select(R.id, R.name, R.id_number, H.village_code, E.start_date.label("date"),
                   func.coalesce(F.name, E.outside_facility_name).label("facility"), E.type.label("detail"))
            .select_from(E).join(R, R.id == E.resident_id).join(H, lived_on(H, E.resident_id, E.start_date))
            .outerjoin(F, F.id == E.facility_id)
            .where(cond, E.start_date >= start, E.start_date <= end, E.voided_at.is_(None), H.village_code >= lo,
                   H.village_code <= hi))


def screening_counts(*, session: Session, lo: str, hi: str, start: date, end: date, kind: str
                     ) -> dict[tuple[str, int], int]:
    """(village, yyyymm) → screenings of `kind` (cervical | breast | prenatal) dated that month."""
    S, H = Screening, ResidentResidence
    ym = yyyymm_of(S.date)
    stmt = (select(H.village_code, ym, func.count()).select_from(S).join(H, lived_on(H, S.resident_id, S.date))
            .where(S.kind == kind, S.date >= start, S.date <= end, S.voided_at.is_(None), H.village_code >= lo,
                   H.village_code <= hi)
            .group_by(H.village_code, ym))
    return {(v, int(m)): int(n) for v, m, n in session.execute(stmt)}


def screened_people(*, session: Session, lo: str, hi: str, periods: list[Period], kind: str
                    ) -> list[dict[str, int]]:
    """For each period, village → women with at least one screening of `kind` in it (one query), by the
    village they lived in on the screening's day."""
    S, H = Screening, ResidentResidence
    cols = [func.count(func.distinct(case((and_(S.date >= p.start, S.date <= p.end), S.resident_id))))
            for p in periods]
    stmt = (select(H.village_code, *cols).select_from(S).join(H, lived_on(H, S.resident_id, S.date))
            .where(S.kind == kind, S.date >= min(p.start for p in periods), S.date <= max(p.end for p in periods),
                   S.voided_at.is_(None), H.village_code >= lo, H.village_code <= hi)
            .group_by(H.village_code))
    return _columns(session, stmt, len(periods))


def screening_records(*, lo: str, hi: str, start: date, end: date, kind: str) -> Select:
    """The screenings behind screening_counts, by the village the woman lived in on the screening's day."""
    S, R, F, H = Screening, Resident, Facility, ResidentResidence
    return (select(R.id, R.name, R.id_number, H.village_code, S.date.label("date"), F.name.label("facility"),
                   S.result.label("detail"))
            .select_from(S).join(R, R.id == S.resident_id).join(H, lived_on(H, S.resident_id, S.date))
            .outerjoin(F, F.id == S.facility_id)
            .where(S.kind == kind, S.date >= start, S.date <= end, S.voided_at.is_(None), H.village_code >= lo,
                   H.village_code <= hi))


def elderly_checked(*, session: Session, lo: str, hi: str, periods: list[Period], age_min: int = 65
                    ) -> list[dict[str, int]]:
    """For each period, village → residents aged `age_min`+ on the period's last day with an annual_65
    health check in the period (each counted once), by where they lived, active, on the period's last day
    (the population they are counted against): one query per period."""
    H, R, L = HealthCheck, Resident, ResidentResidence
    out: list[dict[str, int]] = []
    for p in periods:
        stmt = (select(L.village_code, func.count(func.distinct(H.resident_id)))
                .select_from(H).join(L, lived_on(L, H.resident_id, p.end)).join(R, R.id == H.resident_id)
                .where(H.kind == "annual_65", H.voided_at.is_(None), H.date >= p.start, H.date <= p.end,
                       L.status == "active", R.status != "merged", R.birth_date <= years_before(p.end, age_min),
                       L.village_code >= lo, L.village_code <= hi)
                .group_by(L.village_code))
        out.append({v: int(n) for v, n in session.execute(stmt) if n})
    return out


def elderly_check_records(*, lo: str, hi: str, start: date, end: date, age_min: int = 65) -> Select:
    """The checks behind elderly_checked: of residents living, active, in [lo, hi] on `end` (there)."""
    H, R, F, L = HealthCheck, Resident, Facility, ResidentResidence
    return (select(R.id, R.name, R.id_number, L.village_code, H.date.label("date"), F.name.label("facility"),
                   H.kind.label("detail"))
            .select_from(H).join(R, R.id == H.resident_id).join(L, lived_on(L, H.resident_id, end))
            .outerjoin(F, F.id == H.facility_id)
            .where(H.kind == "annual_65", H.voided_at.is_(None), H.date >= start, H.date <= end, L.status == "active",
                   R.status != "merged", R.birth_date <= years_before(end, age_min), L.village_code >= lo,
                   L.village_code <= hi))


def referral_counts_by_month(*, session: Session, lo: str, hi: str, start: date, end: date, direction: str
                             ) -> dict[tuple[str, int], int]:
    """(village, yyyymm of the Asia/Shanghai day requested) → referrals in `direction` (counted statuses), by
    the village the patient lived in on that day (the residence history: a later move changes no past
    month). A few thousand rows a year: read and bucketed here, so the day boundary is the local one."""
    out: dict[tuple[str, int], int] = {}
    for row in referral_rows(session=session, lo=lo, hi=hi, start=start, end=end, direction=direction):
        key = (row["village_code"], yyyymm(row["day"]))
        out[key] = out.get(key, 0) + 1
    return out


def referral_rows(*, session: Session, lo: str, hi: str, start: date, end: date, direction: str
                  ) -> list[dict[str, Any]]:
    """The referrals in `direction` (counted statuses) requested on the Asia/Shanghai days [start, end] of
    patients who lived in [lo, hi] on that day: dicts of referral_id, id (the resident), name, id_number,
    village_code (on the day), day (local), requested_at, facility (referring), detail (status). The local
    day is not a portable SQL expression: the rows are read by time and placed here by the history."""
    lo_t, hi_t = clock.day_bounds(start, end)
    R, F = Resident, Facility
    stmt = (select(Referral.id, R.id, R.name, R.id_number, Referral.requested_at, F.name, Referral.status)
            .select_from(Referral).join(R, R.id == Referral.resident_id)
            .outerjoin(F, F.id == Referral.from_facility_id)
            .where(Referral.direction == direction, Referral.status.in_(COUNTED_STATUSES),
                   Referral.requested_at >= lo_t, Referral.requested_at < hi_t, R.status != "merged"))
    rows = session.execute(stmt).all()
    stays = stays_of(session.connection(), sorted({r[1] for r in rows}))
    out: list[dict[str, Any]] = []
    for referral_id, rid, name, id_number, at, facility, status in rows:
        day = clock.local_date(at)
        where = village_on(stays.get(rid, ()), day)
        if where is None or not lo <= where[0] <= hi:
            continue
        out.append({"referral_id": referral_id, "id": rid, "name": name, "id_number": id_number,
                    "village_code": where[0], "day": day, "requested_at": at, "facility": facility,
                    "detail": status})
    return out


def chronic_records(*, lo: str, hi: str, period: Period, program: str, which: str, required: int) -> Select:
    """Patients under management of `program` in the period (which = under_management), or those of them
    with `required` face-to-face follow-ups (managed), or whose latest follow-up was in control
    (controlled): (resident id, name, id number, village, date = latest follow-up, facility, detail)."""
    from weijian.care.chronic.queries import required_visits
    from weijian.care.chronic.rules import rules

    C, FU, R, H = ChronicRegistration, FollowUp, Resident, ResidentResidence
    f2f = rules().face_to_face
    # By the village the patient lived in on the period's last day, as chronic.queries counts them.
    per = (select(C.resident_id.label("rid"), H.village_code.label("village_code"),
                  func.sum(case((FU.method.in_(f2f), 1), else_=0)).label("visits"),
                  func.max(FU.date).label("last"), func.min(C.registered_on).label("first"))
           .join(R, R.id == C.resident_id).join(H, lived_on(H, C.resident_id, period.end))
           .outerjoin(FU, and_(FU.registration_id == C.id, FU.date >= period.start, FU.date <= period.end))
           .where(C.program == program, C.registered_on <= period.end,
                  (C.closed_on.is_(None)) | (C.closed_on >= period.start),
                  R.status != "merged", H.village_code >= lo, H.village_code <= hi)
           .group_by(C.resident_id, H.village_code).subquery("per"))
    stmt = (select(R.id, R.name, R.id_number, per.c.village_code, per.c.last.label("date"),
                   null().label("facility"), per.c.visits.label("detail"))
            .select_from(per).join(R, R.id == per.c.rid))
    if which == "managed":
        # A patient registered during the period: pro-rated as the rates count him (chronic.queries).
        stmt = stmt.where(per.c.visits >= required_visits(per.c.first, period, required))
    elif which == "controlled":
        latest = (select(literal(1)).select_from(FU).join(C, C.id == FU.registration_id)
                  .where(C.resident_id == per.c.rid, C.program == program, FU.date == per.c.last,
                         FU.in_control.is_(True)).exists())
        stmt = stmt.where(latest)
    return stmt


def _columns(session: Session, stmt: Select[Any], n: int) -> list[dict[str, int]]:
    out: list[dict[str, int]] = [{} for _ in range(n)]
    for village, *counts in session.execute(stmt):
        for i, c in enumerate(counts):
            if c:
                out[i][village] = int(c)
    return out
