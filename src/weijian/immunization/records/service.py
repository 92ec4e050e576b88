"""Writes of vaccination records in a child's health record: a dose given at a vaccination point (with the
stock it uses), a dose copied from the paper certificate, a guardian's refusal, a suspected adverse event
(AEFI). Each takes its command (records.schemas: the shape of every value already checked); the rules
below need the child's history, the lot, the point or the stock.

Rules decided here:
- A dose is accepted when the engine accepts the child's history with it: the next dose of its vaccine
  code (not recorded before, none missing before it), not before birth, not before the previous dose, not
  in the future, and the series not full of valid doses (the repeat of an invalid dose is one more). A
  dose given before its earliest date (age, interval from the previous dose, the 28 days between
  injectable live vaccines) counts for nothing: it is refused naming `given_at` with the reason ("该剂次早
  于最小间隔，不计入有效剂次" …), unless the vaccinator confirms it with `allow_early` and gives
  `early_reason` (kept in the audit event); it is then recorded with `invalid_reason` (set for the whole
  history on every write, by schedule.due, each dose judged by the edition in force on its day).
  A dose the schedule no longer gives at this age (e.g. BCG from 4 years) is refused naming `vaccine`; BCG
  from 3 months needs `tb_test_negative` confirmed.
- The lot must be of that vaccine, not expired on the day given, and in stock at the point (all naming
  `lot_id`); without a lot the first-expiry-first-out lot is taken. The point is the actor's facility's,
  unless one the actor keeps stock for is named. The route must be the one the schedule gives the vaccine.
- The dose, its stock movement ("use", with the vaccination id) and the audit event are written together in
  one savepoint: any refusal or failure leaves the stock as it was.
- A dose from the paper certificate (`record_historical`) changes no stock and is not refused for being
  early (it happened): only impossible histories are refused (naming `date`).
- Reads (the child's schedule, one dose, the AEFI list) are in records.queries, scoped and audited there.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import ErrorCollector, FieldError, InvalidInput, InvalidState
from weijian.immunization.models import (
    Aefi,
    BirthRegistration,
    NextDue,
    Refusal,
    Vaccination,
    VaccinationCertificate,
    VaccinationPoint,
    VaccineLot,
)
from weijian.immunization.records.queries import Child, child_in_scope, given_doses, history, vaccination_in_scope
from weijian.immunization.records.schemas import (
    ROUTES,
    AefiReport,
    HistoricalDose,
    RefusalCreate,
    VaccinationCreate,
)
from weijian.immunization.schedule import due, engine
from weijian.immunization.schedule.rules import edition_for
from weijian.immunization.stock import queries as stock_queries
from weijian.immunization.stock import service as stock_service
from weijian.residents import service as residents_service
from weijian.residents.models import Resident

_E = "immunization.records.errors."
# The route of each vaccine, from the 2021 schedule's table (接种途径: 肌内注射 im, 皮下注射 sc, 皮内注射 id,
# 口服 oral), unchanged by the 2025 adjustment.
ROUTE_OF = {"HepB": "im", "BCG": "id", "IPV": "im", "bOPV": "oral", "DTaP": "im", "DT": "im", "MMR": "sc",
            "JE-L": "sc", "JE-I": "im", "MPSV-A": "sc", "MPSV-AC": "sc", "HepA-L": "sc", "HepA-I": "im"}
FUTURE_SLACK = timedelta(minutes=10)  # clocks of old PCs drift


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

    given = given_doses(history)
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
        raise InvalidInput(date_field, _early_refusal(mine), vaccine=vaccine, dose=dose,
                           earliest=mine.earliest_date.isoformat())
    if strict and not (early_reason or "").strip():
        raise InvalidInput("early_reason", _E + "early_reason_required", earliest=mine.earliest_date.isoformat())
    return mine.earliest_date


def _early_refusal(row: engine.DoseStatus) -> str:
    """The message asking to confirm a dose given before its earliest date: by why it will count for
    nothing (the minimum age, the minimum interval, the 28 days between injectable live vaccines)."""
    if row.status == engine.INVALID and len(row.flags) > 1:
        return _E + "invalid_" + row.flags[1]
    return _E + "before_earliest"


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


def _point_for(session: Session, actor: Actor, point_id: int | None) -> VaccinationPoint:
    """The point a dose is given at: the actor's facility's, or one they keep stock for."""
    own = stock_queries.point_of_facility(session=session, facility_id=actor.facility_id)
    if point_id is None:
        if own is None:
            raise InvalidInput("point_id", _E + "no_point_for_actor")
        return own
    if own is not None and own.id == point_id:
        return own
    point = session.get(VaccinationPoint, point_id)
    if point is None or not point.active:
        raise InvalidInput("point_id", _E + "point_unknown", point_id=point_id)
    if not actor.can("stock:manage") or point_id not in {p.id for p in stock_queries.managed_points(session=session,
                                                                                          actor=actor)}:
        raise InvalidInput("point_id", _E + "point_not_yours", point=point.name)
    return point


def _vaccinator_name(session: Session, actor: Actor) -> str:
    user = accounts_service.get(session=session, user_id=actor.user_id) if actor.user_id is not None else None
    return user.full_name if user is not None else actor.username


# --- writes -----------------------------------------------------------------------------------------
def record_vaccination(*, session: Session, vaccination_in: VaccinationCreate, actor: Actor,
                       today: date | None = None) -> Vaccination:
    """A dose given now (or earlier today) at a vaccination point: checked against the child's history,
    the lot and the point's stock; one dose taken from the stock in the same transaction. See the module
    docstring for the rules."""
    actor.require("immunization:write")
    cmd = vaccination_in
    child = child_in_scope(session=session, actor=actor, resident_id=cmd.resident_id, write=True)
    code, n = cmd.vaccine, cmd.dose
    errs = ErrorCollector()
    at = cmd.given_at
    if at is None:
        errs.add("given_at", "core.errors.validation.missing")
    elif at > clock.now() + FUTURE_SLACK:
        errs.add("given_at", _E + "date_future", today=(today or clock.today()).isoformat())
        at = None
    route_code = cmd.route or ROUTE_OF[code]
    if route_code != ROUTE_OF[code]:
        errs.add("route", _E + "route_mismatch", vaccine=code, route=f"@immunization.records.routes.{ROUTE_OF[code]}")
    site_code = cmd.site or ("oral" if route_code == "oral" else None)
    if site_code is None:
        errs.add("site", "core.errors.validation.missing")
    elif route_code in ROUTES and (site_code == "oral") != (route_code == "oral"):
        errs.add("site", _E + "site_route_mismatch")
    reason = cmd.early_reason
    point = None
    try:
        point = _point_for(session, actor, cmd.point_id)
    except InvalidInput as exc:
        errs.extend(exc)
    errs.raise_if_any()

    day = clock.local_date(at)
    today = today or clock.today()
    doses = history(session=session, resident_id=child.id)
    earliest = _check_dose(child=child, history=doses, vaccine=code, dose=n, day=day, today=today,
                           date_field="given_at", strict=True, allow_early=cmd.allow_early, early_reason=reason,
                           tb_test_negative=cmd.tb_test_negative)
    _check_site(history=doses, vaccine=code, dose=n, site=site_code, day=day)
    lot = _lot_for_dose(session, point, code, cmd.lot_id, day)

    try:
        with session.begin_nested():
            v = Vaccination(resident_id=child.id, vaccine=code, dose=n, date=day, given_at=at, source="recorded",
                            lot_id=lot.id, point_id=point.id, product=lot.product, manufacturer=lot.manufacturer,
                            lot_number=lot.lot_number, expiry_date=lot.expiry_date, site=site_code, route=route_code,
                            vaccinator_id=actor.user_id, vaccinator_name=_vaccinator_name(session, actor),
                            recorded_by=actor.username)
            session.add(v)
            session.flush()
            stock_service.use_dose(session=session, point_id=point.id, lot_id=lot.id, vaccination_id=v.id, at=at,
                                   actor=actor)
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


def _check_site(*, history: list[Vaccination], vaccine: str, dose: int, site: str, day: date) -> None:
    """Two injections given the same day go to different sites: 国家免疫规划疫苗儿童免疫程序及说明（2021年版）,
    一般原则, 同时接种原则: "不同疫苗同时接种：两种及以上注射类疫苗应在不同部位接种" (and 接种部位: "当多种疫苗同时
    注射接种（包括肌内、皮下和皮内注射）时，可在左右上臂、左右大腿分别接种"). A dose at a site where the child had
    another dose that day is refused naming `site`; an oral dose has no site to share, and a dose copied
    from the certificate has none recorded. The same dose recorded again is no second injection (the history
    check and the unique dose refuse it, naming `dose`)."""
    if site == "oral":
        return
    other = next((v for v in history if v.date == day and v.site == site and (v.vaccine, v.dose) != (vaccine, dose)),
                 None)
    if other is not None:
        raise InvalidInput("site", _E + "site_used_same_day", vaccine=f"@immunization.vaccines.{other.vaccine}",
                           dose=other.dose, site=f"@immunization.records.sites.{site}")


def _lot_for_dose(session: Session, point: VaccinationPoint, vaccine: str, lot_id: int | None, day: date) -> VaccineLot:
    if lot_id is None:
        lot = stock_queries.suggest_lot(session=session, point_id=point.id, vaccine=vaccine, on=day)
        if lot is None:
            raise InvalidInput("lot_id", _E + "no_stock_of_vaccine", vaccine=vaccine, point=point.name)
        return lot
    lot = stock_queries.get_lot(session=session, lot_id=lot_id)
    if lot.vaccine != vaccine:
        raise InvalidInput("lot_id", _E + "lot_other_vaccine", lot_number=lot.lot_number, lot_vaccine=lot.vaccine,
                           vaccine=vaccine)
    if lot.expiry_date < day:
        raise InvalidInput("lot_id", _E + "lot_expired_on_day", lot_number=lot.lot_number,
                           expiry=lot.expiry_date.isoformat(), date=day.isoformat())
    if stock_queries.balance(session=session, point_id=point.id, lot_id=lot.id) < 1:
        raise InvalidInput("lot_id", _E + "lot_not_in_stock", lot_number=lot.lot_number, point=point.name)
    return lot


def record_historical(*, session: Session, historical_in: HistoricalDose, actor: Actor,
                      today: date | None = None) -> Vaccination:
    """A dose copied from the child's paper vaccination certificate (接种证): no stock change; refused only
    when the history could not be true (naming `date` or `dose`)."""
    actor.require("immunization:write")
    cmd = historical_in
    child = child_in_scope(session=session, actor=actor, resident_id=cmd.resident_id, write=True)
    code, n, day = cmd.vaccine, cmd.dose, cmd.date
    texts = {k: getattr(cmd, k) for k in ("product", "manufacturer", "lot_number", "vaccinator_name")}
    today = today or clock.today()
    _check_dose(child=child, history=history(session=session, resident_id=child.id), vaccine=code, dose=n, day=day,
                today=today, date_field="date", strict=False)
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


def record_refusal(*, session: Session, refusal_in: RefusalCreate, actor: Actor,
                   today: date | None = None) -> Refusal:
    """A guardian declined a dose, or the vaccinator deferred it (contraindication, temporary deferral)."""
    actor.require("immunization:write")
    cmd = refusal_in
    child = child_in_scope(session=session, actor=actor, resident_id=cmd.resident_id, write=True)
    code, n, day = cmd.vaccine, cmd.dose, cmd.date
    errs = ErrorCollector()
    today = today or clock.today()
    if day > today:
        errs.add("date", _E + "date_future", today=today.isoformat())
    elif day < child.birth_date:
        errs.add("date", _E + "before_birth", birth_date=child.birth_date.isoformat())
    if not errs.errors:
        done = session.scalar(select(Vaccination.date).where(Vaccination.resident_id == child.id,
                                                             Vaccination.vaccine == code, Vaccination.dose == n))
        if done is not None:
            errs.add("dose", _E + "dose_recorded", vaccine=code, dose=n, date=done.isoformat())
    errs.raise_if_any()
    row = Refusal(resident_id=child.id, vaccine=code, dose=n, date=day, reason=cmd.reason, note=cmd.note,
                  recorded_by=actor.username)
    session.add(row)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="vaccination_refusal",
                           entity_id=row.id, resident_id=child.id, basis=child.basis,
                           detail={"vaccine": code, "dose": n, "reason": cmd.reason})
    return row


# --- AEFI -------------------------------------------------------------------------------------------
def report_aefi(*, session: Session, aefi_in: AefiReport, actor: Actor, today: date | None = None) -> Aefi:
    """A suspected adverse event following a dose: onset on or after the dose and not in the future."""
    actor.require("immunization:write")
    cmd = aefi_in
    v, child = vaccination_in_scope(session=session, actor=actor, vaccination_id=cmd.vaccination_id)
    today = today or clock.today()
    if cmd.onset_date < v.date:
        raise InvalidInput("onset_date", _E + "onset_before_dose", date=v.date.isoformat())
    if cmd.onset_date > today:
        raise InvalidInput("onset_date", _E + "date_future", today=today.isoformat())
    row = Aefi(vaccination_id=v.id, resident_id=child.id, onset_date=cmd.onset_date, symptoms=cmd.symptoms,
               severity=cmd.severity, status="reported", reported_by=actor.username)
    session.add(row)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="aefi", entity_id=row.id,
                           resident_id=child.id, basis=child.basis,
                           detail={"vaccination_id": v.id, "severity": cmd.severity})
    return row


# --- a merge of two records of one person (residents.merging: this is immunization's part) ---------------
def move_resident(ctx: residents_service.MergeContext) -> list[residents_service.Moved]:
    """Move the merged child's doses, refusals and AEFI reports to the survivor; its certificate (预防接种证)
    and birth registration too when the survivor has none (else they stay on the merged record, noted), and
    the births it is the mother of. Two records with doses of one vaccine code keep all of them: the doses
    of that code are numbered again in date order (the certificate numbers run on, as the engine fills the
    series' slots in date order: schedule.engine), and the engine judges them — a second dose given days
    after the first (one injection entered twice) counts for nothing (before_min_interval) and the slot
    stays to give. The engine's judgements and due dates are recomputed after the moves (`refresh_after`)."""
    session = ctx.session
    out: list[residents_service.Moved] = []
    doses = list(session.scalars(select(Vaccination).where(
        Vaccination.resident_id.in_([ctx.survivor_id, ctx.merged_id]))
        .order_by(Vaccination.vaccine, Vaccination.date, Vaccination.resident_id != ctx.survivor_id,
                  Vaccination.dose, Vaccination.id)))
    by_code: dict[str, list[Vaccination]] = {}
    for v in doses:
        by_code.setdefault(v.vaccine, []).append(v)
    numbers: dict[int, int] = {}
    for series in by_code.values():
        if len({v.resident_id for v in series}) > 1:
            numbers.update({v.id: n for n, v in enumerate(series, 1) if v.dose != n})
    original = {v.id: v.dose for v in doses}
    for v in doses:  # through a temporary number: no two rows of one child and dose at any flush
        if v.id in numbers:
            v.dose = -v.id
    session.flush()
    for v in doses:
        values: dict[str, tuple[object, object]] = {}
        if v.id in numbers:
            values["dose"] = (original[v.id], numbers[v.id])
            v.dose = numbers[v.id]
        if v.resident_id == ctx.merged_id:
            values["resident_id"] = (ctx.merged_id, ctx.survivor_id)
            v.resident_id = ctx.survivor_id
        if values:
            out.append(residents_service.Moved("vaccination", "vaccinations", v.id, values,
                                               note="renumbered" if "dose" in values else None))
    out += residents_service.reassign(ctx, Refusal, "vaccination_refusal")
    out += residents_service.reassign(ctx, Aefi, "aefi")
    one_each: tuple[tuple[Any, str, str], ...] = (
        (VaccinationCertificate, "vaccination_certificate", "resident_id"),
        (BirthRegistration, "birth_registration", "child_id"))
    for cls, entity, column in one_each:
        theirs = session.scalar(select(cls).where(getattr(cls, column) == ctx.merged_id))
        if theirs is None:
            continue
        if session.scalar(select(cls.id).where(getattr(cls, column) == ctx.survivor_id)) is None:
            out += residents_service.reassign(ctx, cls, entity, column, rows=[theirs])
        else:
            out.append(residents_service.Moved(entity, cls.__tablename__, theirs.id, note="kept_on_merged"))
    out += residents_service.reassign(ctx, BirthRegistration, "birth_registration", "mother_id")
    session.flush()
    return out


def refresh_after(ctx: residents_service.MergeContext) -> None:
    """The engine's judgements and due dates of both records after a merge or its undo (same transaction): a
    retired record has no row (it is on no recall list); an active one with doses or a row is computed again
    (one with neither, an adult say, gets none: a recall list gives a child without a row to the engine)."""
    session = ctx.session
    for rid in (ctx.survivor_id, ctx.merged_id):
        if session.scalar(select(Resident.status).where(Resident.id == rid)) == "merged":
            session.execute(delete(NextDue).where(NextDue.resident_id == rid))
        elif (session.scalar(select(Vaccination.id).where(Vaccination.resident_id == rid).limit(1)) is not None
              or session.get(NextDue, rid) is not None):
            due.refresh_child(session=session, resident_id=rid, on=ctx.today)


def doses_added_since(ctx: residents_service.MergeContext,
                      moves: Sequence[residents_service.ResidentMergeMove]) -> residents_service.UndoProblems:
    """What stops undoing a merge on immunization's side: a dose recorded on the survivor since the merge of a
    vaccine whose doses the merge moved or numbered again (its number follows the combined history)."""
    moved = [m.row_id for m in moves if m.table_name == "vaccinations"]
    if not moved:
        return []
    codes = set(ctx.session.scalars(select(Vaccination.vaccine).where(Vaccination.id.in_(moved))))
    later = ctx.session.scalar(select(Vaccination).where(
        Vaccination.resident_id == ctx.survivor_id, Vaccination.vaccine.in_(codes),
        Vaccination.created_at > ctx.merge.at, Vaccination.id.not_in(moved)).order_by(Vaccination.id).limit(1))
    if later is None:
        return []
    return [("residents.errors.unmerge_dose_since", {"vaccine": f"@immunization.vaccines.{later.vaccine}",
                                                     "dose": later.dose})]


MERGE_MOVER = residents_service.Mover(
    name="immunization",
    columns=frozenset({"vaccinations.resident_id", "vaccination_refusals.resident_id", "aefi_reports.resident_id",
                       "vaccination_certificates.resident_id", "birth_registrations.child_id",
                       "birth_registrations.mother_id", "vaccination_next_due.resident_id"}),
    classes=(Vaccination, Refusal, Aefi, VaccinationCertificate, BirthRegistration),
    move=move_resident, undo_problems=doses_added_since, after=refresh_after,
    renumbered={"vaccinations": "dose"})
