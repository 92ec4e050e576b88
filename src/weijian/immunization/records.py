"""Vaccination records in a child's health record: a dose given at a vaccination point (with the stock it
uses), a dose copied from the paper certificate, a guardian's refusal, suspected adverse events (AEFI), and
the child's schedule computed by the engine from the recorded history.

Rules decided here:
- A dose is accepted when the engine accepts the child's history with it: the next dose of its vaccine
  code (not recorded before, none missing before it), not before birth, not before the previous dose, not
  in the future, and the series not full. A dose given before its earliest date (age, interval from the
  previous dose, the 28 days between injectable live vaccines) is refused naming `given_at`, unless the
  vaccinator confirms it with `allow_early` and gives `early_reason` (kept in the audit event; the engine
  then flags the dose "early" in the schedule). A dose the schedule no longer gives at this age (e.g. BCG
  from 4 years) is refused naming `vaccine`; BCG from 3 months needs `tb_test_negative` confirmed.
- The lot must be of that vaccine, not expired on the day given, and in stock at the point (all naming
  `lot_id`); without a lot the first-expiry-first-out lot is taken. The point is the actor's facility's,
  unless one the actor keeps stock for is named. The route must be the one the schedule gives the vaccine.
- The dose, its stock movement ("use", with the vaccination id) and the audit event are written together in
  one savepoint: any refusal or failure leaves the stock as it was.
- A dose from the paper certificate (`record_historical`) changes no stock and is not refused for being
  early (it happened): only impossible histories are refused (naming `date`).
- Reads of a child's record (schedule, history, AEFI lists) are scoped by org unit in the query and audited.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import ErrorCollector, FieldError, InvalidInput, InvalidState, NotFound
from weijian.core.periods import parse_period
from weijian.immunization import due, engine
from weijian.immunization.models import Aefi, Refusal, Vaccination, VaccinationPoint, VaccineLot
from weijian.immunization.schedule import edition_for
from weijian.immunization.stock import legacy as stock  # until records takes typed commands (issue 13)
from weijian.orgunits import service as orgunits_service
from weijian.residents import service as residents_service

# Read for the scope check and the birth date only: the residents service offers no look-up that does not
# itself log a read of the whole resident, and these checks are part of the vaccination read or write that
# is logged here.
from weijian.residents.models import Resident

_E = "immunization.records.errors."
SITES = ("left_deltoid", "right_deltoid", "left_thigh", "right_thigh", "oral")
ROUTES = ("im", "sc", "id", "oral")
# The route of each vaccine, from the 2021 schedule's table (接种途径: 肌内注射 im, 皮下注射 sc, 皮内注射 id,
# 口服 oral), unchanged by the 2025 adjustment.
ROUTE_OF = {"HepB": "im", "BCG": "id", "IPV": "im", "bOPV": "oral", "DTaP": "im", "DT": "im", "MMR": "sc",
            "JE-L": "sc", "JE-I": "im", "MPSV-A": "sc", "MPSV-AC": "sc", "HepA-L": "sc", "HepA-I": "im"}
REFUSAL_REASONS = ("refused", "contraindication", "temporary_deferral")
SEVERITIES = ("mild", "moderate", "severe")
SYMPTOMS_MAX = 2000
NOTE_MAX = 500
REASON_MAX = 200
MAX_DOSE = 10
FUTURE_SLACK = timedelta(minutes=10)  # clocks of old PCs drift


# --- the child --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Child:
    """What the vaccination rules need of a resident, and why the actor may see them."""

    id: int
    name: str
    sex: str
    birth_date: date
    village_code: str
    status: str
    basis: str


def _child(session: Session, actor: Actor, resident_id: Any, *, write: bool = False) -> Child:
    """The resident if inside the actor's scope; NotFound otherwise, exactly as for a missing id."""
    errs = ErrorCollector()
    rid = stock.parse_int(resident_id, "resident_id", errs)
    errs.raise_if_any()
    row = session.execute(select(Resident.id, Resident.name, Resident.sex, Resident.birth_date, Resident.village_code,
                                 Resident.status)
                          .where(Resident.id == rid,
                                 orgunits_service.scope_condition(Resident.village_code, actor))).first()
    basis = residents_service.access_basis(actor, row.village_code) if row is not None else None
    if row is None or basis is None:
        raise NotFound("residents.errors.not_found", resident_id=rid)
    if write and row.status != "active":
        raise InvalidState(_E + "resident_not_active", status=f"@residents.status.{row.status}")
    return Child(row.id, row.name, row.sex, row.birth_date, row.village_code, row.status, basis)


def _history(session: Session, resident_id: int) -> list[Vaccination]:
    return list(session.scalars(select(Vaccination).where(Vaccination.resident_id == resident_id)
                                .order_by(Vaccination.date, Vaccination.vaccine, Vaccination.dose)))


def _given(history: list[Vaccination]) -> list[engine.GivenDose]:
    return [engine.GivenDose(v.vaccine, v.dose, v.date) for v in history]


# --- checking one dose against the child's history --------------------------------------------------
def _check_dose(*, child: Child, history: list[Vaccination], vaccine: str, dose: int, day: date, today: date,
                date_field: str, strict: bool, allow_early: bool = False, early_reason: str | None = None,
                tb_test_negative: bool = False) -> date | None:
    """Refuse a dose the child's history does not accept (InvalidInput naming the field); return the
    dose's earliest date when it is given before it (accepted early), else None."""
    errs = ErrorCollector()
    if day > today:
        errs.add(date_field, _E + "date_future", today=today.isoformat())
    elif day < child.birth_date:
        errs.add(date_field, _E + "before_birth", birth_date=child.birth_date.isoformat())
    same = sorted((v for v in history if v.vaccine == vaccine), key=lambda v: v.dose)
    recorded = next((v for v in same if v.dose == dose), None)
    if recorded is not None:
        errs.add("dose", _E + "dose_recorded", vaccine=vaccine, dose=dose, date=recorded.date.isoformat())
    elif dose > len(same) + 1:
        errs.add("dose", _E + "previous_dose_missing", vaccine=vaccine, previous=dose - 1, next=len(same) + 1)
    elif same and day < same[-1].date and not errs.errors:
        errs.add(date_field, _E + "before_previous_dose", vaccine=vaccine, previous=same[-1].dose,
                 previous_date=same[-1].date.isoformat())
    errs.raise_if_any()

    given = _given(history)
    new = engine.GivenDose(vaccine, dose, day)
    # The whole history with the dose, as of today: a full series, a dose beyond it.
    _engine_or_refuse(child.birth_date, [*given, new], today, len(given), date_field)
    try:
        edition_for(day)
    except InvalidInput:
        return None  # no edition was in force that day (before 2021-02-23): nothing to judge the timing by
    before = [g for g in given if g.date <= day]
    if strict:
        # The dose's own row in the schedule of that day, before it is given.
        rows = engine.due(child.birth_date, before, day)
        slot = next((r for r in rows if r.vaccine == vaccine and r.dose == dose), None)
        if slot is not None and slot.status == engine.NOT_APPLICABLE:
            raise InvalidInput("vaccine", _E + "not_applicable", vaccine=vaccine, dose=dose)
        if slot is not None and engine.FLAG_TB_TEST in slot.flags and not tb_test_negative:
            raise InvalidInput("tb_test_negative", _E + "tb_test_required")
    rows = engine.due(child.birth_date, [*before, new], day)
    mine = next((r for r in rows if r.vaccine == vaccine and r.dose == dose and r.given_date == day), None)
    if mine is None or engine.FLAG_EARLY not in mine.flags:
        return None
    if strict and not allow_early:
        raise InvalidInput(date_field, _E + "before_earliest", vaccine=vaccine, dose=dose,
                           earliest=mine.earliest_date.isoformat())
    if strict and not (early_reason or "").strip():
        raise InvalidInput("early_reason", _E + "early_reason_required", earliest=mine.earliest_date.isoformat())
    return mine.earliest_date


def _engine_or_refuse(birth: date, given: list[engine.GivenDose], as_of: date, index: int, date_field: str) -> None:
    try:
        engine.due(birth, given, max(as_of, *(g.date for g in given)))
    except InvalidInput as exc:
        mine = [e for e in exc.errors if e.field == f"given[{index}]"]
        if not mine:  # the recorded history itself is bad (an import?): not this dose's fault
            raise InvalidState(_E + "history_invalid") from None
        errors = []
        for e in mine:
            name = date_field if e.reason_key.endswith(("given_before_birth", "before_previous_dose",
                                                        "given_after_as_of", "given_date_invalid")) else "dose"
            errors.append(FieldError(name, e.reason_key, e.params))
        raise InvalidInput(errors=errors) from None


def _vaccine_and_dose(values_vaccine: Any, values_dose: Any, errs: ErrorCollector) -> tuple[str | None, int | None]:
    vaccine = stock.validate_vaccine(values_vaccine, errs)
    dose = stock.parse_int(values_dose, "dose", errs)
    if dose is not None and not 1 <= dose <= MAX_DOSE:
        errs.add("dose", _E + "dose_range", max=MAX_DOSE)
        dose = None
    return vaccine, dose


def _point_for(session: Session, actor: Actor, point_id: Any) -> VaccinationPoint:
    """The point a dose is given at: the actor's facility's, or one they keep stock for."""
    if point_id is None or point_id == "":
        point = stock.point_of_facility(session=session, facility_id=actor.facility_id)
        if point is None:
            raise InvalidInput("point_id", _E + "no_point_for_actor")
        return point
    errs = ErrorCollector()
    pid = stock.parse_int(point_id, "point_id", errs)
    errs.raise_if_any()
    own = stock.point_of_facility(session=session, facility_id=actor.facility_id)
    if own is not None and own.id == pid:
        return own
    point = session.get(VaccinationPoint, pid)
    if point is None or not point.active:
        raise InvalidInput("point_id", _E + "point_unknown", point_id=pid)
    if not actor.can("stock:manage") or pid not in {p.id for p in stock.managed_points(session=session, actor=actor)}:
        raise InvalidInput("point_id", _E + "point_not_yours", point=point.name)
    return point


def _vaccinator_name(session: Session, actor: Actor) -> str:
    user = accounts_service.get(session=session, user_id=actor.user_id) if actor.user_id is not None else None
    return user.full_name if user is not None else actor.username


# --- writes -----------------------------------------------------------------------------------------
def record_vaccination(*, session: Session, resident_id: Any, vaccine: Any, dose: Any, given_at: Any, actor: Actor,
                       site: Any = None, route: Any = None, lot_id: Any = None, point_id: Any = None,
                       allow_early: bool = False, early_reason: Any = None, tb_test_negative: bool = False,
                       today: date | None = None) -> Vaccination:
    """A dose given now (or earlier today) at a vaccination point: checked against the child's history,
    the lot and the point's stock; one dose taken from the stock in the same transaction. See the module
    docstring for the rules. `given_at`: a datetime or ISO text (county time when it has no offset)."""
    actor.require("immunization:write")
    child = _child(session, actor, resident_id, write=True)
    errs = ErrorCollector()
    code, n = _vaccine_and_dose(vaccine, dose, errs)
    at = stock.parse_datetime(given_at, "given_at", errs)
    if at is not None and at > clock.now() + FUTURE_SLACK:
        errs.add("given_at", _E + "date_future", today=(today or clock.today()).isoformat())
        at = None
    route_code = str(route or "").strip() or (ROUTE_OF.get(code) if code else None)
    if route_code is not None and route_code not in ROUTES:
        errs.add("route", _E + "route_unknown", allowed=", ".join(ROUTES))
    elif code is not None and route_code is not None and route_code != ROUTE_OF[code]:
        errs.add("route", _E + "route_mismatch", vaccine=code, route=f"@immunization.records.routes.{ROUTE_OF[code]}")
    site_code = str(site or "").strip() or ("oral" if route_code == "oral" else None)
    if site_code is None:
        errs.add("site", "core.errors.validation.missing")
    elif site_code not in SITES:
        errs.add("site", _E + "site_unknown", allowed=", ".join(SITES))
    elif route_code in ROUTES and (site_code == "oral") != (route_code == "oral"):
        errs.add("site", _E + "site_route_mismatch")
    reason = stock.parse_text(early_reason, "early_reason", errs, REASON_MAX)
    point = None
    try:
        point = _point_for(session, actor, point_id)
    except InvalidInput as exc:
        errs.extend(exc)
    errs.raise_if_any()

    day = clock.local_date(at)
    today = today or clock.today()
    history = _history(session, child.id)
    earliest = _check_dose(child=child, history=history, vaccine=code, dose=n, day=day, today=today,
                           date_field="given_at", strict=True, allow_early=bool(allow_early), early_reason=reason,
                           tb_test_negative=bool(tb_test_negative))
    lot = _lot_for_dose(session, point, code, lot_id, day)

    try:
        with session.begin_nested():
            v = Vaccination(resident_id=child.id, vaccine=code, dose=n, date=day, given_at=at, source="recorded",
                            lot_id=lot.id, point_id=point.id, product=lot.product, manufacturer=lot.manufacturer,
                            lot_number=lot.lot_number, expiry_date=lot.expiry_date, site=site_code, route=route_code,
                            vaccinator_id=actor.user_id, vaccinator_name=_vaccinator_name(session, actor),
                            recorded_by=actor.username)
            session.add(v)
            session.flush()
            stock.use_dose(session=session, point_id=point.id, lot_id=lot.id, vaccination_id=v.id, at=at, actor=actor)
            detail: dict[str, Any] = {"vaccine": code, "dose": n, "lot_id": lot.id, "point_id": point.id}
            if earliest is not None:
                detail.update(early=True, earliest_date=earliest.isoformat(), early_reason=reason)
            accounts_service.audit(session=session, actor=actor, action="create", entity_type="vaccination",
                                   entity_id=v.id, resident_id=child.id, basis=child.basis, detail=detail)
            due.refresh_child(session=session, resident_id=child.id, on=today)
    except IntegrityError:
        # Another user recorded the same dose a moment ago (the unique resident+vaccine+dose).
        raise InvalidInput("dose", _E + "dose_recorded_now", vaccine=code, dose=n) from None
    return v


def _lot_for_dose(session: Session, point: VaccinationPoint, vaccine: str, lot_id: Any, day: date) -> VaccineLot:
    if lot_id is None or lot_id == "":
        lot = stock.suggest_lot(session=session, point_id=point.id, vaccine=vaccine, on=day)
        if lot is None:
            raise InvalidInput("lot_id", _E + "no_stock_of_vaccine", vaccine=vaccine, point=point.name)
        return lot
    lot = stock.get_lot(session=session, lot_id=lot_id)
    if lot.vaccine != vaccine:
        raise InvalidInput("lot_id", _E + "lot_other_vaccine", lot_number=lot.lot_number, lot_vaccine=lot.vaccine,
                           vaccine=vaccine)
    if lot.expiry_date < day:
        raise InvalidInput("lot_id", _E + "lot_expired_on_day", lot_number=lot.lot_number,
                           expiry=lot.expiry_date.isoformat(), date=day.isoformat())
    if stock.balance(session=session, point_id=point.id, lot_id=lot.id) < 1:
        raise InvalidInput("lot_id", _E + "lot_not_in_stock", lot_number=lot.lot_number, point=point.name)
    return lot


def record_historical(*, session: Session, resident_id: Any, vaccine: Any, dose: Any, date: Any, actor: Actor,
                      product: Any = None, manufacturer: Any = None, lot_number: Any = None,
                      vaccinator_name: Any = None, today: Any = None) -> Vaccination:
    """A dose copied from the child's paper vaccination certificate (接种证): no stock change; refused only
    when the history could not be true (naming `date` or `dose`)."""
    actor.require("immunization:write")
    child = _child(session, actor, resident_id, write=True)
    errs = ErrorCollector()
    code, n = _vaccine_and_dose(vaccine, dose, errs)
    day = stock.parse_date(date, "date", errs)
    texts = {k: stock.parse_text(v, k, errs, m) for k, v, m in (
        ("product", product, 100), ("manufacturer", manufacturer, 100), ("lot_number", lot_number, 50),
        ("vaccinator_name", vaccinator_name, 64))}
    errs.raise_if_any()
    today = today or clock.today()
    _check_dose(child=child, history=_history(session, child.id), vaccine=code, dose=n, day=day, today=today,
                date_field="date", strict=False)
    try:
        with session.begin_nested():
            v = Vaccination(resident_id=child.id, vaccine=code, dose=n, date=day, source="historical",
                            recorded_by=actor.username, **texts)
            session.add(v)
            session.flush()
            accounts_service.audit(session=session, actor=actor, action="create", entity_type="vaccination",
                                   entity_id=v.id, resident_id=child.id, basis=child.basis,
                                   detail={"vaccine": code, "dose": n, "source": "historical"})
            due.refresh_child(session=session, resident_id=child.id, on=today)
    except IntegrityError:
        raise InvalidInput("dose", _E + "dose_recorded_now", vaccine=code, dose=n) from None
    return v


def record_refusal(*, session: Session, resident_id: Any, vaccine: Any, dose: Any, date: Any, reason: Any,
                   actor: Actor, note: Any = None, today: date | None = None) -> Refusal:
    """A guardian declined a dose, or the vaccinator deferred it (contraindication, temporary deferral)."""
    actor.require("immunization:write")
    child = _child(session, actor, resident_id, write=True)
    errs = ErrorCollector()
    code, n = _vaccine_and_dose(vaccine, dose, errs)
    day = stock.parse_date(date, "date", errs)
    today = today or clock.today()
    if day is not None and day > today:
        errs.add("date", _E + "date_future", today=today.isoformat())
    elif day is not None and day < child.birth_date:
        errs.add("date", _E + "before_birth", birth_date=child.birth_date.isoformat())
    reason_code = str(reason or "").strip()
    if not reason_code:
        errs.add("reason", "core.errors.validation.missing")
    elif reason_code not in REFUSAL_REASONS:
        errs.add("reason", _E + "refusal_reason_unknown", allowed=", ".join(REFUSAL_REASONS))
    text = stock.parse_text(note, "note", errs, NOTE_MAX)
    if code is not None and n is not None and not errs.errors:
        done = session.scalar(select(Vaccination.date).where(Vaccination.resident_id == child.id,
                                                             Vaccination.vaccine == code, Vaccination.dose == n))
        if done is not None:
            errs.add("dose", _E + "dose_recorded", vaccine=code, dose=n, date=done.isoformat())
    errs.raise_if_any()
    row = Refusal(resident_id=child.id, vaccine=code, dose=n, date=day, reason=reason_code, note=text,
                  recorded_by=actor.username)
    session.add(row)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="vaccination_refusal",
                           entity_id=row.id, resident_id=child.id, basis=child.basis,
                           detail={"vaccine": code, "dose": n, "reason": reason_code})
    return row


# --- reads ------------------------------------------------------------------------------------------
@dataclass
class ChildSchedule:
    """A child's immunization record: the engine's rows from the recorded history, the history itself, the
    refusals and the AEFI reports (by vaccination id)."""

    child: Child
    as_of: date
    edition_id: str
    edition_name: str
    rows: list[engine.DoseStatus]
    vaccinations: list[Vaccination]
    refusals: list[Refusal]
    aefi: dict[int, list[Aefi]] = field(default_factory=dict)
    point_names: dict[int, str] = field(default_factory=dict)

    def due_rows(self) -> list[engine.DoseStatus]:
        return [r for r in self.rows if r.status in (engine.DUE, engine.OVERDUE)]


def child_schedule(*, session: Session, resident_id: Any, actor: Actor, as_of: date | None = None,
                   overdue_rule: engine.OverdueRule | str | None = None) -> ChildSchedule:
    """The engine's rows for this child from the recorded history (and the history, refusals and AEFI),
    logged as one read of the child's vaccination record. `overdue_rule`: settings.immunization_overdue_rule."""
    actor.require("immunization:read")
    rule = engine.OverdueRule.of(overdue_rule)
    child = _child(session, actor, resident_id)
    as_of = as_of or clock.today()
    history = _history(session, child.id)
    if as_of < child.birth_date:
        rows: list[engine.DoseStatus] = []
        edition = edition_for(child.birth_date)
    else:
        edition = edition_for(as_of)
        try:
            rows = engine.due(child.birth_date, [g for g in _given(history) if g.date <= as_of], as_of,
                              overdue_rule=rule)
        except InvalidInput:
            raise InvalidState(_E + "history_invalid") from None
    refusals = list(session.scalars(select(Refusal).where(Refusal.resident_id == child.id)
                                    .order_by(Refusal.date, Refusal.id)))
    aefi: dict[int, list[Aefi]] = {}
    for a in session.scalars(select(Aefi).where(Aefi.resident_id == child.id).order_by(Aefi.onset_date, Aefi.id)):
        aefi.setdefault(a.vaccination_id, []).append(a)
    point_ids = {v.point_id for v in history if v.point_id is not None}
    names = dict(session.execute(select(VaccinationPoint.id, VaccinationPoint.name)
                                 .where(VaccinationPoint.id.in_(point_ids))).tuples().all()) if point_ids else {}
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="vaccinations",
                           entity_id=child.id, resident_id=child.id, basis=child.basis,
                           detail={"as_of": as_of.isoformat()})
    return ChildSchedule(child, as_of, edition.id, edition.name, rows, history, refusals, aefi, names)


def get_vaccination(*, session: Session, vaccination_id: Any, actor: Actor) -> tuple[Vaccination, Child]:
    """One dose and its child (scope checked; NotFound outside it), logged as a read."""
    actor.require("immunization:read")
    v, child = _vaccination_in_scope(session, actor, vaccination_id)
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="vaccination",
                           entity_id=v.id, resident_id=child.id, basis=child.basis)
    return v, child


def _vaccination_in_scope(session: Session, actor: Actor, vaccination_id: Any) -> tuple[Vaccination, Child]:
    errs = ErrorCollector()
    vid = stock.parse_int(vaccination_id, "vaccination_id", errs)
    errs.raise_if_any()
    resident_id = session.scalar(select(Vaccination.resident_id).where(Vaccination.id == vid))
    if resident_id is None:
        raise NotFound(_E + "vaccination_not_found", vaccination_id=vid)
    try:
        child = _child(session, actor, resident_id)
    except NotFound:
        raise NotFound(_E + "vaccination_not_found", vaccination_id=vid) from None
    return session.get(Vaccination, vid), child


# --- AEFI -------------------------------------------------------------------------------------------
def report_aefi(*, session: Session, vaccination_id: Any, onset_date: Any, symptoms: Any, severity: Any,
                actor: Actor, today: date | None = None) -> Aefi:
    """A suspected adverse event following a dose: onset on or after the dose and not in the future."""
    actor.require("immunization:write")
    v, child = _vaccination_in_scope(session, actor, vaccination_id)
    errs = ErrorCollector()
    onset = stock.parse_date(onset_date, "onset_date", errs)
    today = today or clock.today()
    if onset is not None and onset < v.date:
        errs.add("onset_date", _E + "onset_before_dose", date=v.date.isoformat())
    elif onset is not None and onset > today:
        errs.add("onset_date", _E + "date_future", today=today.isoformat())
    text = stock.parse_text(symptoms, "symptoms", errs, SYMPTOMS_MAX, required=True)
    level = str(severity or "").strip()
    if not level:
        errs.add("severity", "core.errors.validation.missing")
    elif level not in SEVERITIES:
        errs.add("severity", _E + "severity_unknown", allowed=", ".join(SEVERITIES))
    errs.raise_if_any()
    row = Aefi(vaccination_id=v.id, resident_id=child.id, onset_date=onset, symptoms=text, severity=level,
               status="reported", reported_by=actor.username)
    session.add(row)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="aefi", entity_id=row.id,
                           resident_id=child.id, basis=child.basis,
                           detail={"vaccination_id": v.id, "severity": level})
    return row


@dataclass(frozen=True)
class AefiRow:
    aefi: Aefi
    vaccination: Vaccination
    resident_id: int
    resident_name: str
    village_code: str
    point_name: str | None


def list_aefi(*, session: Session, actor: Actor, period: str | None = None, limit: int = 500) -> list[AefiRow]:
    """AEFI reports for the CDC (`aefi:read`: county roles), newest onset first, inside the actor's scope;
    `period` (2025, 2025Q1, 202503) filters on the onset date. Logged as one read of the list."""
    actor.require("aefi:read")
    conds = [orgunits_service.scope_condition(Resident.village_code, actor)]
    if period:
        p = parse_period(period)
        conds.append(and_(Aefi.onset_date >= p.start, Aefi.onset_date <= p.end))
    rows = session.execute(
        select(Aefi, Vaccination, Resident.id, Resident.name, Resident.village_code, VaccinationPoint.name)
        .join(Vaccination, Vaccination.id == Aefi.vaccination_id)
        .join(Resident, Resident.id == Aefi.resident_id)
        .outerjoin(VaccinationPoint, VaccinationPoint.id == Vaccination.point_id)
        .where(*conds).order_by(Aefi.onset_date.desc(), Aefi.id.desc()).limit(max(1, min(limit, 5000)))).tuples()
    out = [AefiRow(a, v, rid, name, village, point) for a, v, rid, name, village, point in rows]
    accounts_service.audit(session=session, actor=actor, action="list", entity_type="aefi",
                           basis=residents_service.scope_basis(actor),
                           detail={"period": period, "count": len(out)}, shown=[r.resident_id for r in out])
    return out

