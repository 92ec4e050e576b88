"""Reads of vaccine stock: the points (all of them, and those an actor keeps stock for), lots, balances and
their totals, a point's movements, the first-expiry-first-out (FEFO) lot and the flags (lots expiring within
30 days; stock below the doses due at the point this week and next, or below the point's days of use).

Looking ahead (issue 14 item 10): the doses due at a point are those the children it serves (active residents
of its area, under the follow-up age) will need by the end of next week, counted with the due engine as the
recall list judges them (schedule.engine; the stored next-due dates pick the children, as recall does).
Stock and need are both counted in doses: a balance holds doses (a receipt, a use, a count are in doses),
whatever a lot's doses_per_vial.

Who: a point's stock is kept by users with `stock:manage` whose scope holds it (the area it serves lies
inside the actor's org unit — residents.access.visible — or it is the actor's own facility). Points and lots
are no personal data: any logged-in user may list them.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import Forbidden, InvalidInput, NotFound
from weijian.core.identifiers import division_level
from weijian.immunization.models import NextDue, StockBalance, StockMovement, VaccinationPoint, VaccineLot
from weijian.immunization.recall import queries as recall_queries
from weijian.immunization.schedule import due as due_mod
from weijian.immunization.schedule import engine
from weijian.immunization.schedule.rules import VACCINE_CODES, edition_for
from weijian.residents import access

# Read as plain columns (the children a point serves, for the doses due there): the residents service has no
# bulk query, and recall.queries reads them the same way.
from weijian.residents.models import Resident

_E = "immunization.records.errors."
EXPIRING_DAYS = 30  # a lot expiring within this many days is flagged
RED_DAYS = 7  # ... in red from this many days before its expiry (amber before)
USE_WINDOW_DAYS = 30  # average daily use is taken over this many days, ending today
LOOKAHEAD_WEEKS = 2  # the doses due this week and next are compared with the stock
_PENDING = (engine.DUE, engine.OVERDUE, engine.UPCOMING)


# --- points ---------------------------------------------------------------------------------------
def is_county_level(actor: Actor) -> bool:
    return actor.scope_code is None or division_level(actor.scope_code) == "county"


def manageable(actor: Actor) -> ColumnElement[bool]:
    """Points an actor may keep stock for: serving an area inside the actor's scope, or at their facility."""
    return access.visible(actor, VaccinationPoint.serves_orgunit_code, facility=VaccinationPoint.facility_id)


def list_points(*, session: Session, active_only: bool = True) -> list[VaccinationPoint]:
    """Every vaccination point of the installation (no personal data), by name."""
    stmt = select(VaccinationPoint).order_by(VaccinationPoint.serves_orgunit_code, VaccinationPoint.id)
    if active_only:
        stmt = stmt.where(VaccinationPoint.active.is_(True))
    return list(session.scalars(stmt))


def managed_points(*, session: Session, actor: Actor) -> list[VaccinationPoint]:
    """The active points whose stock the actor keeps (empty without `stock:manage`)."""
    if not actor.can("stock:manage"):
        return []
    return list(session.scalars(select(VaccinationPoint).where(VaccinationPoint.active.is_(True), manageable(actor))
                                .order_by(VaccinationPoint.serves_orgunit_code, VaccinationPoint.id)))


def get_point(*, session: Session, point_id: int) -> VaccinationPoint:
    point = session.get(VaccinationPoint, point_id)
    if point is None:
        raise NotFound(_E + "point_not_found", point_id=point_id)
    return point


def managed_point(*, session: Session, point_id: int, actor: Actor) -> VaccinationPoint:
    """A point the actor keeps stock for: Forbidden when it lies outside their scope."""
    actor.require("stock:manage")
    point = get_point(session=session, point_id=point_id)
    if session.scalar(select(VaccinationPoint.id).where(VaccinationPoint.id == point.id, manageable(actor))) is None:
        raise Forbidden(_E + "point_out_of_scope", point=point.name)
    return point


def point_of_facility(*, session: Session, facility_id: int | None) -> VaccinationPoint | None:
    if facility_id is None:
        return None
    return session.scalar(select(VaccinationPoint).where(VaccinationPoint.facility_id == facility_id,
                                                         VaccinationPoint.active.is_(True)))


# --- lots -----------------------------------------------------------------------------------------
def get_lot(*, session: Session, lot_id: int, field: str = "lot_id") -> VaccineLot:
    """A lot by id; InvalidInput naming `field` when there is none (a lot is chosen in a form)."""
    lot = session.get(VaccineLot, lot_id)
    if lot is None:
        raise InvalidInput(field, _E + "lot_unknown", lot_id=lot_id)
    return lot


def find_lot(*, session: Session, vaccine: str, manufacturer: str, lot_number: str) -> VaccineLot | None:
    return session.scalar(select(VaccineLot).where(VaccineLot.vaccine == vaccine,
                                                   VaccineLot.manufacturer == manufacturer.strip(),
                                                   VaccineLot.lot_number == lot_number.strip()))


def list_lots(*, session: Session, vaccine: str | None = None) -> list[VaccineLot]:
    stmt = select(VaccineLot).order_by(VaccineLot.vaccine, VaccineLot.expiry_date, VaccineLot.id)
    if vaccine:
        stmt = stmt.where(VaccineLot.vaccine == vaccine)
    return list(session.scalars(stmt))


# --- balances -------------------------------------------------------------------------------------
def balance(*, session: Session, point_id: int, lot_id: int) -> int:
    return session.scalar(select(StockBalance.quantity).where(
        StockBalance.point_id == point_id, StockBalance.lot_id == lot_id)) or 0


def available_lots(*, session: Session, point_id: int, vaccine: str | None, on: date) -> list[tuple[VaccineLot, int]]:
    """(lot, doses on hand) of the lots a point may give on `on` (not expired, stock > 0), first expiry
    first; all vaccines when `vaccine` is None."""
    stmt = (select(VaccineLot, StockBalance.quantity).join(StockBalance, StockBalance.lot_id == VaccineLot.id)
            .where(StockBalance.point_id == point_id, StockBalance.quantity > 0, VaccineLot.expiry_date >= on)
            .order_by(VaccineLot.vaccine, VaccineLot.expiry_date, VaccineLot.id))
    if vaccine:
        stmt = stmt.where(VaccineLot.vaccine == vaccine)
    return [(lot, qty) for lot, qty in session.execute(stmt).tuples()]


def suggest_lot(*, session: Session, point_id: int, vaccine: str, on: date) -> VaccineLot | None:
    """First expiry, first out: the unexpired lot of `vaccine` with stock at the point that expires first."""
    lots = available_lots(session=session, point_id=point_id, vaccine=vaccine, on=on)
    return lots[0][0] if lots else None


@dataclass(frozen=True)
class BalanceRow:
    point_id: int
    point_name: str
    lot: VaccineLot
    quantity: int


def balances(*, session: Session, actor: Actor, point_id: int | None = None) -> list[BalanceRow]:
    """Doses on hand (quantity > 0) by point and lot, for one point or every point the actor keeps stock
    for (county roles: the whole county), by point, vaccine and expiry."""
    actor.require("stock:manage")
    stmt = (select(VaccinationPoint.id, VaccinationPoint.name, VaccineLot, StockBalance.quantity)
            .join(StockBalance, StockBalance.point_id == VaccinationPoint.id)
            .join(VaccineLot, VaccineLot.id == StockBalance.lot_id)
            .where(StockBalance.quantity > 0, manageable(actor))
            .order_by(VaccinationPoint.serves_orgunit_code, VaccinationPoint.id, VaccineLot.vaccine,
                      VaccineLot.expiry_date, VaccineLot.id))
    if point_id is not None:
        stmt = stmt.where(VaccinationPoint.id == managed_point(session=session, point_id=point_id, actor=actor).id)
    return [BalanceRow(pid, name, lot, qty) for pid, name, lot, qty in session.execute(stmt).tuples()]


def totals_by_vaccine(rows: Iterable[BalanceRow], *, today: date) -> dict[str, int]:
    """Unexpired doses on hand per vaccine code, in schedule order."""
    out: dict[str, int] = {}
    for r in rows:
        if r.lot.expiry_date >= today:
            out[r.lot.vaccine] = out.get(r.lot.vaccine, 0) + r.quantity
    return {code: out[code] for code in VACCINE_CODES if code in out}


def movements(*, session: Session, actor: Actor, point_id: int, limit: int = 50) -> list[StockMovement]:
    """The latest movements at a point, newest first."""
    point = managed_point(session=session, point_id=point_id, actor=actor)
    return list(session.scalars(select(StockMovement).where(StockMovement.point_id == point.id)
                                .order_by(StockMovement.at.desc(), StockMovement.id.desc())
                                .limit(max(1, min(limit, 500)))))


def lot_numbers(*, session: Session, lot_ids: Iterable[int]) -> dict[int, str]:
    """Lot id → lot number, for showing movements."""
    ids = set(lot_ids)
    if not ids:
        return {}
    stmt = select(VaccineLot.id, VaccineLot.lot_number).where(VaccineLot.id.in_(ids))
    return dict(session.execute(stmt).tuples().all())


# --- doses due at a point ---------------------------------------------------------------------
def lookahead_end(today: date) -> date:
    """The last day the look-ahead counts: the Sunday of next week (weeks run Monday to Sunday, as on the
    recall list), so 7 to 13 days after `today`."""
    return recall_queries.week_bounds(today)[0] + timedelta(days=7 * LOOKAHEAD_WEEKS - 1)


@dataclass(frozen=True)
class DosesDue:
    """The doses the children served by a point need from `today` to `until` (the end of next week), per
    vaccine code, in schedule order; `children` is how many children the engine looked at."""

    today: date
    until: date
    doses: dict[str, int]
    children: int


def doses_due(*, session: Session, point_id: int, today: date | None = None) -> DosesDue:
    """The doses due at a point this week and next, per vaccine code. Rules:
    - Children: the active residents of the area the point serves (VaccinationPoint.serves_orgunit_code),
      born by `today` and under the edition's follow-up age, as recall.queries.children_condition chooses
      them (all of them: a count, no personal data, whoever looks at the stock).
    - A dose counts when the engine, on `today` with the doses recorded by then, finds it due, overdue or
      upcoming, and its earliest date falls by the end of next week: the doses due now, the overdue ones
      that may be given now, and those becoming due in the two weeks. An overdue dose that cannot be given
      before the window ends (waiting 28 days after another injectable live vaccine, or for the previous
      dose of its series) needs no dose in these two weeks. So of a late child's series only the first
      missing dose counts (the next one follows at its interval), as on the recall list.
    - A dose the guardian refused stays counted (the recall list keeps it listed); a child whose recorded
      history the engine refuses is left out (the recall list shows the errors instead of doses).
    - Only children whose stored next due date (schedule.due) falls by the window's end, or whose stored
      row cannot be trusted, are read (the rule of due.stale_or_due), their doses in one query."""
    today = today or clock.today()
    point = get_point(session=session, point_id=point_id)
    until = lookahead_end(today)
    edition = edition_for(today)
    everyone = Actor.system("stock")
    where = recall_queries.children_condition(everyone, point.serves_orgunit_code, today, edition)
    chosen = Resident.id.in_(
        select(Resident.id).outerjoin(NextDue, NextDue.resident_id == Resident.id)
        .where(where, or_(due_mod.stale_or_due(until, today, edition, engine.COMPLETE_BEFORE),
                          NextDue.computed_on > today)))
    session.flush()  # read on the connection (no ORM autoflush): pending changes first
    conn = session.connection()
    with recall_queries.collector_paused():
        people = conn.execute(select(Resident.id, Resident.birth_date).where(chosen)).all()
        histories = recall_queries.histories_where(session, chosen, today)
        counts: dict[str, int] = {}
        for rid, birth in people:
            try:
                rows = engine.due(birth, histories.get(rid, ()), today)
            except InvalidInput:
                continue
            for r in rows:
                if r.status in _PENDING and r.earliest_date <= until:
                    counts[r.vaccine] = counts.get(r.vaccine, 0) + 1
    return DosesDue(today, until, {code: counts[code] for code in VACCINE_CODES if code in counts}, len(people))


# --- flags ----------------------------------------------------------------------------------------
LOW_DUE = "due_soon"  # fewer usable doses than the doses due this week and next
LOW_USE = "daily_use"  # fewer days of stock than the point's min_days_of_stock at the recent daily use


@dataclass(frozen=True)
class StockFlag:
    """A warning on the stock page: `expired` / `expiring` (a lot with stock), or `low_stock` (a vaccine
    whose unexpired doses on hand are fewer than the doses due at the point this week and next, or last
    fewer than the point's min_days_of_stock at the recent daily use; `reasons` says which, LOW_DUE and/or
    LOW_USE). level: red | amber."""

    kind: str
    level: str
    vaccine: str
    quantity: int  # doses of the lot (expired/expiring) or unexpired doses of the vaccine (low_stock)
    lot: VaccineLot | None = None
    days_left: int | None = None  # days until the lot expires
    daily_use: float | None = None  # average doses used a day over the last USE_WINDOW_DAYS days
    days_of_stock: float | None = None
    min_days: int | None = None
    due_soon: int | None = None  # low_stock: doses due at the point by `due_until` (doses_due)
    due_until: date | None = None
    reasons: tuple[str, ...] = ()  # low_stock: LOW_DUE, LOW_USE


def flags(*, session: Session, point_id: int, today: date | None = None) -> list[StockFlag]:
    """Lots with stock expired or expiring within EXPIRING_DAYS (red within RED_DAYS or past), and vaccines
    whose usable (unexpired) stock is low (one flag a vaccine): fewer doses than doses_due counts for this
    week and next (red when under half of them, or none left), or fewer than the point's min_days_of_stock
    of average daily use over the last USE_WINDOW_DAYS days, today included (red when under half of it, or
    none left). Red first."""
    today = today or clock.today()
    point = get_point(session=session, point_id=point_id)
    out: list[StockFlag] = []
    on_hand: dict[str, int] = {}
    rows = session.execute(select(VaccineLot, StockBalance.quantity)
                           .join(StockBalance, StockBalance.lot_id == VaccineLot.id)
                           .where(StockBalance.point_id == point.id, StockBalance.quantity > 0)
                           .order_by(VaccineLot.expiry_date, VaccineLot.id)).tuples()
    for lot, qty in rows:
        left = (lot.expiry_date - today).days
        if left < 0:
            out.append(StockFlag("expired", "red", lot.vaccine, qty, lot, left))
            continue
        on_hand[lot.vaccine] = on_hand.get(lot.vaccine, 0) + qty
        if left <= EXPIRING_DAYS:
            out.append(StockFlag("expiring", "red" if left <= RED_DAYS else "amber", lot.vaccine, qty, lot, left))
    since, until = clock.day_bounds(today - timedelta(days=USE_WINDOW_DAYS - 1), today)
    used = session.execute(
        select(VaccineLot.vaccine, func.sum(StockMovement.quantity))
        .join(VaccineLot, VaccineLot.id == StockMovement.lot_id)
        .where(StockMovement.point_id == point.id, StockMovement.kind == "use", StockMovement.at >= since,
               StockMovement.at < until)
        .group_by(VaccineLot.vaccine)).tuples()
    daily_use = {vaccine: -int(total or 0) / USE_WINDOW_DAYS for vaccine, total in used}
    due = doses_due(session=session, point_id=point.id, today=today)
    min_days = point.min_days_of_stock or 0
    for vaccine in VACCINE_CODES:
        have, need, daily = on_hand.get(vaccine, 0), due.doses.get(vaccine, 0), daily_use.get(vaccine, 0.0)
        reasons: list[str] = []
        red = False
        if have < need:
            reasons.append(LOW_DUE)
            red = red or have == 0 or have < need / 2
        days = have / daily if daily > 0 else None
        if days is not None and days < min_days:
            reasons.append(LOW_USE)
            red = red or have == 0 or days < min_days / 2
        if reasons:
            out.append(StockFlag("low_stock", "red" if red else "amber", vaccine, have,
                                 daily_use=round(daily, 2) if days is not None else None,
                                 days_of_stock=round(days, 1) if days is not None else None,
                                 min_days=min_days if days is not None else None, due_soon=need,
                                 due_until=due.until, reasons=tuple(reasons)))
    order = {code: i for i, code in enumerate(VACCINE_CODES)}
    out.sort(key=lambda f: (f.level != "red", f.kind != "low_stock", order.get(f.vaccine, 99),
                            f.lot.expiry_date if f.lot else date.min))
    return out
