"""The records behind a figure (the drill-down): for each measure, exactly the rows its value counts — one
row per record where the measure counts records (visits, doses, screenings), one per person where it
counts people (women screened, elderly checked, children vaccinated), one per facility with the
snapshot in force on the period's last day for capacity — and what one row is (`COUNTS`), which says
whether a rate's denominator minus its numerator ("who is missing") is a list at all.

A listing is a statement of rows (key, id, name, id_number, village_code, date, facility, detail,
quantity) — `key` the counted record's id, `quantity` the amount a row adds when the measure sums one
(beds, physicians, money) — or, where the figure is worked out in memory (coverage and timeliness),
the rows themselves (`Rows`)."""
from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Integer, Select, and_, case, cast, exists, func, literal, null, select
from sqlalchemy.orm import Session, aliased

from weijian.care.models import ChronicRegistration, Encounter, FollowUp, Screening
from weijian.core.actor import Actor
from weijian.core.errors import InvalidInput
from weijian.immunization import service as immunization_service
from weijian.immunization.models import Vaccination, VaccinationPoint
from weijian.orgunits.models import Facility, FacilityCapacity
from weijian.residents import access
from weijian.residents.models import Resident, ResidentResidence
from weijian.residents.service import lived_on
from weijian.surveillance.models import CaseReport

NO_QUANTITY = cast(null(), Integer)  # typed: PostgreSQL sums a bare NULL column as text
COLUMNS = ("key", "id", "name", "id_number", "village_code", "date", "facility", "detail", "quantity")

# What one unit of each measure's value is. A rate lists "who is missing" only when its numerator and
# denominator count the same thing (children eligible and vaccinated: yes; women screened and births: no).
COUNTS = {
    "population": "resident", "births": "birth", "beds": "bed", "physicians": "physician",
    "chronic_under_management": "patient", "chronic_managed": "patient", "chronic_controlled": "patient",
    "vaccination_doses": "dose", "children_eligible": "child", "children_vaccinated": "child",
    "children_vaccinated_timely": "child", "outpatient_visits": "visit", "inpatient_stays": "stay",
    "screenings": "screening", "screened_women": "woman", "elderly_checked": "resident",
    "referrals": "referral", "settlement_amount": "yuan", "case_reports": "case_report",
    "case_onsets": "case_report",
    "maternal_live_births": "birth", "maternal_booked_early": "woman", "maternal_postpartum_visited": "woman",
    "maternal_delivered": "delivered_woman", "maternal_prenatal_screened": "delivered_woman",
    "resident_population": "resident",  # the statistics office's 常住人口
    "tb_notified": "tb_patient", "tb_managed": "tb_patient", "tb_completed": "tb_patient", "tb_regular": "tb_patient",
    "elderly_tcm_served": "resident",
    "child_born": "child", "child_newborn_visited": "child", "child_eligible": "child", "child_checked": "child",
    "child_system_managed": "child",
    "contracted": "resident", "contract_key_population": "resident", "contracts_due": "contract",
    "contracts_renewed": "contract",
    "mental_registered": "mental_patient", "mental_managed": "mental_patient", "mental_standard": "mental_patient",
    "mental_regular": "mental_patient", "mental_stable": "mental_patient",
    "mental_estimated": "resident",  # the population the estimate is worked from
}
# Measures whose value is a sum of the rows' quantity, not a count of rows.
SUMMED = {"beds", "physicians", "settlement_amount", "maternal_live_births"}
# Measures that count people once however many records they have.
PERSONS = {"population", "births", "chronic_under_management", "chronic_managed", "chronic_controlled",
           "children_eligible", "children_vaccinated", "children_vaccinated_timely", "screened_women",
           "elderly_checked", "elderly_tcm_served",
           "child_born", "child_newborn_visited", "child_eligible", "child_checked", "child_system_managed",
           "contracted", "contract_key_population"}


def counts(measure: str) -> str:
    """What one unit of the measure's value is (COUNTS; a measure not named there counts only itself)."""
    return COUNTS.get(measure, measure)


def per(measure: str) -> str:
    """What one row of the measure's listing is: a facility, a person (counted once), or a record."""
    return "facility" if measure in ("beds", "physicians") else "person" if measure in PERSONS else "record"


@dataclass(frozen=True)
class Rows:
    """A listing worked out in memory: dicts over COLUMNS."""

    items: list[dict[str, Any]]


Listing = Select[Any] | Rows


def keyed(stmt: Select[Any], key: Any, quantity: Any = None) -> Select[Any]:
    """Another domain's records statement with the counted record's id (and the quantity it adds)."""
    return stmt.add_columns(key.label("key"), (quantity if quantity is not None else NO_QUANTITY).label("quantity"))


def per_person(stmt: Select[Any], detail: str) -> Select[Any]:
    """One row per resident of a records statement (a woman screened twice counts once): the latest date,
    the facility of the latest record, `detail` with the number of records as its quantity."""
    sub = stmt.subquery("per_record")
    return (select(sub.c.id.label("key"), sub.c.id, sub.c.name, sub.c.id_number, sub.c.village_code,
                   func.max(sub.c.date).label("date"), func.max(sub.c.facility).label("facility"),
                   literal(detail).label("detail"), func.count().label("quantity"))
            .group_by(sub.c.id, sub.c.name, sub.c.id_number, sub.c.village_code))


# --- capacity ---------------------------------------------------------------------------------------
def capacity(*, lo: str, hi: str, on: date, field: str) -> Select[Any]:
    """The facilities of [lo, hi] with the figure in force on `on` (orgunits.capacity_as_of_dates: each
    one's latest snapshot by then; one with no history at all counts with its current figures, one whose
    history begins later is not counted), where that figure is not 0. `field`: beds_open, beds_approved,
    or physicians (with assistants) / physicians_only."""
    fc = aliased(FacilityCapacity)
    latest = (select(FacilityCapacity.facility_id.label("fid"), func.max(FacilityCapacity.as_of).label("as_of"))
              .where(FacilityCapacity.as_of <= on).group_by(FacilityCapacity.facility_id).subquery("latest"))
    has_history = exists().where(FacilityCapacity.facility_id == Facility.id)

    def figure(name: str) -> Any:
        return case((fc.id.is_not(None), getattr(fc, name)), else_=getattr(Facility, name))

    if field == "physicians":
        value = figure("physicians") + figure("assistant_physicians")
    elif field == "physicians_only":
        value = figure("physicians")
    else:
        value = figure(field)
    return (select(Facility.id.label("key"), null().label("id"), Facility.name.label("name"),
                   null().label("id_number"), Facility.orgunit_code.label("village_code"),
                   fc.as_of.label("date"), Facility.type.label("facility"),
                   literal(field).label("detail"), value.label("quantity"))
            .select_from(Facility).outerjoin(latest, latest.c.fid == Facility.id)
            .outerjoin(fc, and_(fc.facility_id == Facility.id, fc.as_of == latest.c.as_of))
            .where(Facility.orgunit_code >= lo, Facility.orgunit_code <= hi,
                   fc.id.is_not(None) | ~has_history, value != 0))


# --- chronic-disease management ---------------------------------------------------------------------
def chronic(stmt: Select[Any], program: str) -> Select[Any]:
    """care's chronic records (one row per patient, date = latest follow-up in the period, detail = the
    number of face-to-face follow-ups) with the facility of that follow-up (else the one managing the
    patient's registration) and the count as a quantity."""
    sub = stmt.subquery("chronic")
    seen = (select(Facility.name).select_from(FollowUp).join(Facility, Facility.id == FollowUp.facility_id)
            .where(FollowUp.resident_id == sub.c.id, FollowUp.date == sub.c.date)
            .order_by(FollowUp.id.desc()).limit(1).scalar_subquery())
    managing = (select(Facility.name).select_from(ChronicRegistration)
                .join(Facility, Facility.id == ChronicRegistration.facility_id)
                .where(ChronicRegistration.resident_id == sub.c.id, ChronicRegistration.program == program)
                .order_by(ChronicRegistration.registered_on.desc(), ChronicRegistration.id.desc())
                .limit(1).scalar_subquery())
    place = func.coalesce(seen, managing)
    return select(sub.c.id.label("key"), sub.c.id, sub.c.name, sub.c.id_number, sub.c.village_code, sub.c.date,
                  place.label("facility"), literal("follow_ups").label("detail"),
                  func.coalesce(sub.c.detail, 0).label("quantity"))


# --- coverage and timeliness ------------------------------------------------------------------------
def coverage(*, session: Session, actor: Actor, area_lo: str, area_hi: str, on: date, vaccine: str, dose: int,
             which: str) -> Rows:
    """The children behind children_eligible / _vaccinated / _vaccinated_timely on `on`, by the rules the
    figure is computed with (immunization.counts.coverage_by_period): living in the area, active, on `on`
    (the residence history: in the village of that day), under the edition's follow-up age and old enough
    for the dose; vaccinated when the dose — or its alternative series' doses — is recorded (valid) by
    `on`; timely when that day is before the dose's complete-before age."""
    try:
        edition = immunization_service.edition_for(on)
    except InvalidInput:  # before the first edition: no figure, no rows
        return Rows([])
    slot = next((s for s in immunization_service.slots(edition) if (s.vaccine, s.dose) == (vaccine, dose)), None)
    if slot is None:
        return Rows([])
    oldest = immunization_service.add_months(on, -edition.follow_until.months) - timedelta(
        days=edition.follow_until.days)
    wanted = {slot.series.id} | ({slot.alternative.id} if slot.alternative else set())
    series_of = {code: sr.id for code, sr in edition.series_of_code.items()}
    codes = sorted(code for code, sid in series_of.items() if sid in wanted)
    eligible_by = immunization_service.latest_birth(on, slot.complete_before)
    R, V, H = Resident, Vaccination, ResidentResidence
    # Where the child lived, active, on `on` (the residence history), as the figure counts it.
    where = and_(R.status != "merged", R.birth_date <= min(on, eligible_by), R.birth_date > oldest,
                 access.visible(actor), H.status == "active", H.village_code >= area_lo, H.village_code <= area_hi)
    children = session.execute(select(R.id, R.name, R.id_number, H.village_code, R.birth_date)
                               .join(H, lived_on(H, R.id, on)).where(where)).all()
    doses: dict[int, list[tuple[str, str, str | None]]] = {}
    for rid, code, day, place in session.execute(
            select(V.resident_id, V.vaccine, V.date, Facility.name).select_from(V)
            .outerjoin(VaccinationPoint, VaccinationPoint.id == V.point_id)
            .outerjoin(Facility, Facility.id == VaccinationPoint.facility_id)
            .where(V.resident_id.in_(select(R.id).join(H, lived_on(H, R.id, on)).where(where)), V.date <= on,
                   V.vaccine.in_(codes),
                   V.invalid_reason.is_(None))):
        doses.setdefault(rid, []).append((code, day.isoformat(), place))
    plan = (slot.series.id, slot.position - 1, slot.alternative.id if slot.alternative else None,
            slot.alternative_count - 1)
    late = (slot.complete_before.months, slot.complete_before.days)
    end_text = on.isoformat()
    label = f"{vaccine}-{dose}"
    out: list[dict[str, Any]] = []
    for rid, name, id_number, village, birth in children:
        history = doses.get(rid, [])
        dates = immunization_service.series_dates([(c, d) for c, d, _p in history], series_of)
        span = immunization_service.slot_span(birth, dates, bisect_left([on], birth),
                                              1 if birth > oldest else 0, [eligible_by], 0, plan, late, [end_text])
        if span is None:
            continue
        _first, given, timely = span
        day = None if given is None else _dose_day(dates, plan)
        if which == "vaccinated" and given is None or which == "timely" and not (given is not None and timely):
            continue
        place = next((p for c, d, p in history if d == day and series_of.get(c) in wanted), None) if day else None
        out.append({"key": rid, "id": rid, "name": name, "id_number": id_number, "village_code": village,
                    "date": date.fromisoformat(day) if day else None, "facility": place,
                    "detail": label + (":timely" if given is not None and timely else ":late" if given is not None
                                       else ":none"), "quantity": None})
    return Rows(out)


def _dose_day(dates: dict[str, list[str]], plan: tuple[str, int, str | None, int]) -> str | None:
    """The day the slot counts as given (as immunization.counts.dose_day): the earlier of the series'
    k-th dose and the alternative series' m-th."""
    sid, k, alt, m = plan
    got = dates.get(sid)
    day = got[k] if got is not None and len(got) > k else None
    other = dates.get(alt) if alt is not None else None
    if other is not None and len(other) > m and (day is None or other[m] < day):
        day = other[m]
    return day


# --- visits, stays, screenings, referrals, settlements: the record's own id ------------------------
ENCOUNTER_KEY = Encounter.id
SCREENING_KEY = Screening.id
CASE_REPORT_KEY = CaseReport.id
VACCINATION_KEY = Vaccination.id
