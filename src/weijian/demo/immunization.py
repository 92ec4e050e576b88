"""Demo immunization: the 14 vaccination points, vaccine lots and the stock at each point, every child's
vaccination history (about 95 % of doses on time, some late, a few children behind, a few refusals, older
doses copied from paper certificates), AEFI reports, vaccination certificates for children under 7, and a
few newborns registered through the newborn bundle with hand-offs in various states. A couple of the demo
village's children missed their latest appointment, so the village doctor's recall list of the reference
week (and his worklist) has children to call. Shaped by data/immunization.yaml (its header says what is
real and what is illustrative).

Deterministic like the builder: one `random.Random`, seeded from the build's seed, drives every draw in a
fixed order; children, villages and facilities are read back in id / code order. Nothing is dated after
the reference date.

The histories are computed with date arithmetic from the schedule files' rows (the engine is for judging
a history, not for making one): each dose on its recommended date plus the child's delay for that visit,
moved on past the minimum interval from the previous dose of its series, past the `after` rules, and out
of the 28-day window after another injectable live vaccine (to the same day, or 28 days on). Such a
history is one the engine accepts; tests/demo/test_immunization_demo.py runs the engine over it.

Rows are written with SQLAlchemy Core bulk inserts, ids computed here, in chunks, inside the caller's
transaction (the 400,000-resident county has about 1.3 million doses). Stock is kept consistent: for the
last `stock.window_days` days every dose recorded from a lot is a "use" movement, each (point, lot) opens
with one receipt covering those uses and what is left, so the movements add up to the balance and never
go below zero. The newborns go through immunization.newborn.service.register_newborn itself.
"""
from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import accumulate
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.commands import build as build_command
from weijian.demo import names
from weijian.demo.census import FEMALE, MALE
from weijian.immunization import service as immunization_service
from weijian.immunization.models import (
    Aefi,
    Refusal,
    StockBalance,
    StockMovement,
    Vaccination,
    VaccinationCertificate,
    VaccinationPoint,
    VaccineLot,
)
from weijian.immunization.newborn import queries as newborn_queries
from weijian.immunization.newborn import service as newborn_service
from weijian.immunization.newborn.schemas import HandoffStatusIn, NewbornCreate
from weijian.immunization.records.schemas import SITES
from weijian.immunization.records.service import ROUTE_OF
from weijian.immunization.schedule.rules import VACCINE_CODES, Age, Edition, add_months, edition_for, editions
from weijian.orgunits.models import Facility, OrgUnit
from weijian.residents.models import Resident

DATA_FILE = Path(__file__).resolve().parent / "data" / "immunization.yaml"
DEMO_ACTOR = "demo"
CHUNK = 5000
TABLES = ("vaccination_points", "vaccine_lots", "vaccinations", "vaccination_refusals", "aefi_reports",
          "vaccination_certificates", "stock_movements")
LIVE_GAP = 28
BIRTH_CODES = ("HepB", "BCG")


@dataclass(frozen=True)
class ImmunizationSummary:
    points: int
    lots: int
    children: int  # residents under 18 on the reference date
    doses: int
    historical: int  # of the doses: copied from paper certificates
    on_time: int  # of the doses: given before the dose's complete-before age
    behind: int  # children whose recent doses stopped
    refusals: int
    aefi: int
    certificates: int
    newborns: int  # registered through the bundle


# --- the data file -------------------------------------------------------------------------------------
def _shares_ok(parts: dict[str, Any]) -> bool:
    return abs(sum(float(v) for v in parts.values()) - 1.0) < 1e-6


@lru_cache(maxsize=1)
def load() -> dict[str, Any]:
    """data/immunization.yaml, checked: every schedule vaccine has makers and a site the records accept, and
    every set of shares adds up to 1. ValueError naming the file otherwise."""
    spec = yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))

    def fail(msg: str) -> None:
        raise ValueError(f"{DATA_FILE}: {msg}")

    vaccines = spec["vaccines"]
    for code in VACCINE_CODES:
        v = vaccines.get(code)
        if not v or not v.get("makers"):
            fail(f"vaccine {code} has no makers")
        if v["site"] not in SITES or (v["site"] == "oral") != (ROUTE_OF[code] == "oral"):
            fail(f"vaccine {code}: site {v['site']} does not fit its route {ROUTE_OF[code]}")
    unknown = set(vaccines) - set(VACCINE_CODES)
    if unknown:
        fail(f"vaccines not in the schedule: {sorted(unknown)}")
    c = spec["children"]
    for name, parts in (("children.refusal_reasons", c["refusal_reasons"]), ("children.refused_series",
                        c["refused_series"]), ("children.birth_points", c["birth_points"]),
                        ("aefi.severity", spec["aefi"]["severity"]), ("newborns.facilities",
                        spec["newborns"]["facilities"])):
        if not _shares_ok(parts):
            fail(f"the shares of {name} add up to {sum(parts.values())}, not 1")
    return spec


class _Weighted:
    """Weighted choice among fixed items (cumulative weights, bisect)."""

    __slots__ = ("items", "cum")

    def __init__(self, pairs: Iterable[tuple[Any, float]]) -> None:
        kept = [(item, float(w)) for item, w in pairs if float(w) > 0]
        self.items = [item for item, _ in kept]
        self.cum = list(accumulate(w for _, w in kept))

    def pick(self, rng: random.Random) -> Any:
        return self.items[bisect(self.cum, rng.random() * self.cum[-1])]


def _between(rng: random.Random, bounds: list[int]) -> int:
    lo, hi = int(bounds[0]), int(bounds[1])
    return lo + int(rng.random() * (hi - lo + 1))


def _at(day: date, hours: float) -> datetime:
    """`hours` after midnight of a county day (Asia/Shanghai), as UTC."""
    return (datetime.combine(day, time(0), tzinfo=clock.zone()) + timedelta(hours=hours)).astimezone(UTC)


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _next_id(conn: Connection, model: type[Any]) -> int:
    return (conn.scalar(select(func.max(model.id))) or 0) + 1


# --- the schedule as the generator sees it -------------------------------------------------------------
class _Slot(NamedTuple):
    series: str  # series id (a variant's own id)
    slot: int  # 0-based slot of the series
    code: str
    rec: Age
    cb: Age  # complete before
    interval: Age | None
    after: tuple  # (series, slot, Age)
    live: bool
    order: int  # schedule order, to break ties between doses of the same age


@dataclass(frozen=True)
class _Schedule:
    """The two editions' slots side by side: for a series, slot i comes from the edition in force on the
    date the 2025 edition recommends it (the 2021 one before 2025-01-01)."""

    change: date
    groups: tuple[tuple[str, ...], ...]  # per group: its series ids, the default first
    slots: dict[str, tuple[tuple[_Slot | None, _Slot | None], ...]]  # series → ((old, new), ...)
    group_of: dict[str, str]  # series id → group id


def _slots_of(edition: Edition, order_base: int) -> dict[str, list[_Slot]]:
    out: dict[str, list[_Slot]] = {}
    n = order_base
    for group in edition.groups:
        for series in group:
            lst = out[series.id] = []
            for i, d in enumerate(series.doses):
                lst.append(_Slot(series.id, i, d.vaccine, d.recommended, d.complete_before, d.min_interval,
                                 tuple((a.series, a.slot, a.interval) for a in d.after), d.live_injectable, n))
                n += 1
    return out


@lru_cache(maxsize=4)
def _schedule(reference: date) -> _Schedule:
    new = edition_for(reference)
    older = [e for e in editions() if e.effective_from < new.effective_from]
    old = max(older, key=lambda e: e.effective_from) if older else new
    new_slots, old_slots = _slots_of(new, 0), _slots_of(old, 0)
    slots: dict[str, tuple] = {}
    groups = []
    group_of = {}
    for group in new.groups:
        ids = []
        for series in sorted(group, key=lambda s: not s.default):
            ids.append(series.id)
            group_of[series.id] = series.group
            a, b = old_slots.get(series.id, []), new_slots[series.id]
            slots[series.id] = tuple((a[i] if i < len(a) else None, b[i] if i < len(b) else None)
                                     for i in range(max(len(a), len(b))))
        groups.append(tuple(ids))
    return _Schedule(new.effective_from, tuple(groups), slots, group_of)


_dates: dict[int, int] = {}


def _pack(age: Age) -> int:
    return (age.months << 8) | age.days


def _after(day: int, age: int) -> int:
    """The day (an ordinal) `age` (packed: months << 8 | days) after `day`, remembered: the same few ages
    are added to the same days over and over."""
    key = (day << 16) | age
    out = _dates.get(key)
    if out is None:
        if len(_dates) > 1_000_000:
            _dates.clear()
        d = date.fromordinal(day)
        months = age >> 8
        out = _dates[key] = (add_months(d, months) if months else d).toordinal() + (age & 0xFF)
    return out


def _live(d: int, live: list[int]) -> int:
    """`d` moved out of the 28-day window of every other injectable live dose: to the same day when the
    other one is later, else 28 days after it."""
    moved = True
    while moved:
        moved = False
        for other in live:
            if other != d and -LIVE_GAP < d - other < LIVE_GAP:
                d = other if other > d else other + LIVE_GAP
                moved = True
    return d


_statics: dict[tuple, list[tuple]] = {}


def _static(birth: int, variant: tuple[str, ...], sched: _Schedule) -> list[tuple]:
    """The child's slots with what depends only on the birth date, in recommended order: (recommended day,
    complete-before day, visit key, slot, series, interval (packed), after rules (packed), injectable live).
    `variant`: the series followed in each group."""
    key = (birth, variant)
    out = _statics.get(key)
    if out is not None:
        return out
    if len(_statics) > 200_000:
        _statics.clear()
    change = sched.change.toordinal()
    rows = []
    for sid in variant:
        for old, new in sched.slots[sid]:
            slot = new
            if old is not None and (new is None or _after(birth, _pack(new.rec)) < change):
                slot = old
            rows.append((_after(birth, _pack(slot.rec)), slot.order, slot))
    rows.sort(key=lambda x: (x[0], x[1]))
    out = [(rec, _after(birth, _pack(slot.cb)), _pack(slot.rec), slot, slot.series,
            _pack(slot.interval) if slot.interval is not None else None,
            tuple((series, index, _pack(gap)) for series, index, gap in slot.after), slot.live)
           for rec, _order, slot in rows]
    _statics[key] = out
    return out


def plan_child(birth: date, chosen: dict[str, str], rng: random.Random, c: dict[str, Any],
               sched: _Schedule) -> list[tuple[_Slot, date]]:
    """Every dose of the child's series with the date it is (or would be) given, in date order. `chosen`:
    group id → the variant the child follows (else the default)."""
    variant = tuple(chosen.get(sched.group_of[g[0]], g[0]) if len(g) > 1 else g[0] for g in sched.groups)
    out = [(slot, date.fromordinal(d)) for slot, d, _cb in _plan(birth.toordinal(), variant, rng, c, sched)]
    out.sort(key=lambda x: (x[1], x[0].order))
    return out


def _plan(birth: int, variant: tuple[str, ...], rng: random.Random, c: dict[str, Any], sched: _Schedule
          ) -> list[tuple[_Slot, int, int]]:
    """(slot, day given, complete-before day) of each dose, in recommended order (which is each vaccine
    code's date order too: a series' doses only move later)."""
    on_time, spread, late = float(c["on_time"]), int(c["on_time_spread_days"]), int(c["late_days"])
    random_ = rng.random
    delays: dict[int, int] = {}
    dates: dict[str, list[int]] = {}
    live: list[int] = []
    out: list[tuple[_Slot, int, int]] = []
    for rec, cb, key, slot, series, interval, after, is_live in _static(birth, variant, sched):
        delay = delays.get(key)
        if delay is None:
            window = cb - rec if cb - rec > 1 else 1
            if random_() < on_time:
                delay = int(random_() * (spread if spread < window else window))
            else:
                delay = window + int(random_() * late)
            delays[key] = delay
        d = rec + delay
        done = dates.get(series)
        if done is None:
            done = dates[series] = []
        elif interval is not None:
            t = _after(done[-1], interval)
            if t > d:
                d = t
        for ref_series, index, gap in after:
            ref = dates.get(ref_series)
            if ref is not None and index < len(ref):
                t = _after(ref[index], gap)
                if t > d:
                    d = t
        if is_live:
            d = _live(d, live)
            live.append(d)
        done.append(d)
        out.append((slot, d, cb))
    return out


# --- points and lots ------------------------------------------------------------------------------------
@dataclass
class _Point:
    id: int
    facility_id: int
    name: str
    serves: str
    kind: str  # full | birth
    delivers: bool
    vaccinators: list[str]


def _points(conn: Connection, spec: dict[str, Any], rng: random.Random) -> tuple[list[_Point], dict[str, Any]]:
    """The 14 points (township centres' clinics and the county ones), and the maps from a village to its
    routine point and from a facility type to the county points."""
    facilities = conn.execute(select(Facility.id, Facility.type, Facility.orgunit_code, Facility.name)
                              .order_by(Facility.id)).all()
    townships = conn.execute(select(OrgUnit.code, OrgUnit.name).where(OrgUnit.level == "township")
                             .order_by(OrgUnit.code)).all()
    villages = conn.execute(select(OrgUnit.code, OrgUnit.parent_code, OrgUnit.kind).where(OrgUnit.level == "village")
                            .order_by(OrgUnit.code)).all()
    from weijian.demo import county as county_mod

    seat_name = next((t["name"] for t in county_mod.data()["townships"] if t.get("seat")), None)
    seat = next((code for code, name in townships if name == seat_name), townships[0][0] if townships else None)
    pspec = spec["points"]
    point_id = _next_id(conn, VaccinationPoint)
    points: list[_Point] = []
    centre_point: dict[str, _Point] = {}
    for fid, ftype, unit, fname in facilities:
        if ftype == "township_centre":
            p = _Point(point_id, fid, fname + pspec["township"]["suffix"], unit, "full", True, [])
            centre_point[unit] = p
            points.append(p)
            point_id += 1
    by_type = {ftype: (fid, fname) for fid, ftype, _unit, fname in facilities if ftype != "township_centre"}
    county_points: dict[str, _Point] = {}
    for entry in pspec["county"]:
        found = by_type.get(entry["facility"])
        if found is None or seat is None:
            continue
        p = _Point(point_id, found[0], found[1] + entry["suffix"], seat, entry["kind"], bool(entry["delivers"]), [])
        county_points[entry["facility"]] = p
        points.append(p)
        point_id += 1
    for p in points:
        p.vaccinators = [names.surname(rng) + names.given_name(rng, FEMALE) for _ in range(int(pspec["vaccinators"]))]
    conn.execute(insert(VaccinationPoint.__table__), [
        {"id": p.id, "facility_id": p.facility_id, "name": p.name, "serves_orgunit_code": p.serves, "active": True,
         "min_days_of_stock": int(pspec["min_days_of_stock"])} for p in points])
    community_points = [county_points[k] for k in ("cdc", "county_mch") if k in county_points and
                        county_points[k].kind == "full"]
    routine: dict[str, _Point] = {}
    n_community = 0
    for code, parent, kind in villages:
        point = centre_point.get(parent)
        if parent == seat and kind == "residents_committee" and community_points:
            point = community_points[n_community % len(community_points)]
            n_community += 1
        if point is not None:
            routine[code] = point
    return points, {"routine": routine, "centre": centre_point, "county": county_points}


@dataclass
class _Lot:
    id: int
    code: str
    product: str
    manufacturer: str
    lot_number: str
    expiry: date
    start: date  # the first day of its period (the fresh lots: the day they arrived)


def _lots(conn: Connection, spec: dict[str, Any], rng: random.Random, reference: date
          ) -> tuple[dict[tuple[str, int], _Lot], list[_Lot], int]:
    """A lot per vaccine per period from system_start to the reference date; for a few vaccines the
    current lot expires soon and a fresh lot has just arrived. Returns (lots by (code, period), fresh
    lots, the reference date's period)."""
    start = spec["system_start"]
    months = int(spec["lot_period_months"])
    shelf = int(spec["lot_shelf_life_months"])
    last = _period(start, months, reference)
    st = spec["stock"]
    candidates = [code for code in VACCINE_CODES if code not in BIRTH_CODES and code != "DT"]
    expiring = set(rng.sample(candidates, min(int(st["expiring_vaccines"]), len(candidates))))
    lot_id = _next_id(conn, VaccineLot)
    lots: dict[tuple[str, int], _Lot] = {}
    fresh: list[_Lot] = []
    rows = []
    for vi, code in enumerate(VACCINE_CODES):
        v = spec["vaccines"][code]
        makers = v["makers"]
        for k in range(last + 1):
            first = add_months(start, months * k)
            maker, product = makers[(k + vi) % len(makers)]
            expiry = add_months(first, shelf) + timedelta(days=int(rng.random() * 60))
            if k == last and code in expiring:
                expiry = reference + timedelta(days=_between(rng, st["expiring_in_days"]))
            number = f"{first.year}{first.month:02d}{100 + int(rng.random() * 900):03d}"
            lots[code, k] = _Lot(lot_id, code, product, maker, number, expiry, first)
            lot_id += 1
        if code in expiring:
            arrived = reference - timedelta(days=int(st["fresh_received_days_ago"]))
            maker, product = makers[(last + 1 + vi) % len(makers)]
            number = f"{arrived.year}{arrived.month:02d}{100 + int(rng.random() * 900):03d}"
            while any(x.lot_number == number and x.manufacturer == maker for (c, _k), x in lots.items() if c == code):
                number = number[:-1] + str((int(number[-1]) + 1) % 10)
            fresh.append(_Lot(lot_id, code, product, maker, number, add_months(arrived, shelf), arrived))
            lot_id += 1
    for lot in [*lots.values(), *fresh]:
        rows.append({"id": lot.id, "vaccine": lot.code, "product": lot.product, "manufacturer": lot.manufacturer,
                     "lot_number": lot.lot_number, "expiry_date": lot.expiry,
                     "doses_per_vial": int(spec["vaccines"][lot.code]["doses_per_vial"])})
    conn.execute(insert(VaccineLot.__table__), rows)
    return lots, fresh, last


def _period(start: date, months: int, day: date) -> int:
    n = (day.year - start.year) * 12 + day.month - start.month
    if add_months(start, n) > day:
        n -= 1
    return max(0, n // months)


# --- the build --------------------------------------------------------------------------------------------
_V_COLUMNS = ("id", "resident_id", "vaccine", "dose", "date", "given_at", "source", "lot_id", "point_id", "product",
              "manufacturer", "lot_number", "expiry_date", "site", "route", "vaccinator_id", "vaccinator_name",
              "created_at", "recorded_by")
_R_COLUMNS = ("id", "resident_id", "vaccine", "dose", "date", "reason", "note", "recorded_by", "created_at")
_C_COLUMNS = ("id", "resident_id", "number", "issued_on", "point_id")
_M_COLUMNS = ("id", "point_id", "lot_id", "kind", "quantity", "at", "vaccination_id", "counterpart_point_id", "note",
              "recorded_by")


class _Bulk:
    """Rows of one table as tuples, inserted in chunks straight through the driver (SQLAlchemy's per-row
    parameter processing would double the time of a million doses). Dates and times are given to the
    driver as the models store them: on SQLite, ISO text (times naive UTC, as UTCDateTime writes them);
    on PostgreSQL, date and aware datetime objects."""

    def __init__(self, conn: Connection, table: str, columns: tuple[str, ...], chunk_size: int) -> None:
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        self.sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
        self.conn, self.chunk_size, self.written = conn, chunk_size, 0
        self.rows: list[tuple[Any, ...]] = []
        sqlite = conn.dialect.name == "sqlite"
        self.day = (lambda d: d.isoformat()) if sqlite else (lambda d: d)
        self.time = ((lambda t: t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")) if sqlite
                     else (lambda t: t))

    def add(self, row: tuple) -> None:
        self.rows.append(row)
        if len(self.rows) >= self.chunk_size:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.conn.exec_driver_sql(self.sql, self.rows)
            self.written += len(self.rows)
            self.rows = []


def build(*, session: Session, seed: int, reference: date, chunk_size: int = CHUNK) -> ImmunizationSummary:
    """Write the county's immunization for the residents already in the database (the demo builder's);
    flushes, never commits. Needs the demo county's org units, facilities and residents."""
    spec = load()
    rng = random.Random(f"weijian-demo-immunization-{seed}")
    random_ = rng.random
    conn = session.connection()
    now = clock.now()
    sched = _schedule(reference)
    points, maps = _points(conn, spec, rng)
    lots, fresh, last_period = _lots(conn, spec, rng, reference)
    c = spec["children"]
    system_start = spec["system_start"]
    months = int(spec["lot_period_months"])
    st = spec["stock"]
    ref_day = reference.toordinal()
    start_day = system_start.toordinal()
    window_start = reference - timedelta(days=int(st["window_days"]) - 1)
    window_day = window_start.toordinal()
    use_since = ref_day - 29  # the stock flags' 30 days of use
    routine, county_points, centre = maps["routine"], maps["county"], maps["centre"]
    birth_where = _Weighted((k, float(v)) for k, v in c["birth_points"].items())
    reasons = _Weighted((k, float(v)) for k, v in c["refusal_reasons"].items())
    refused_groups = _Weighted((k, float(v)) for k, v in c["refused_series"].items())
    variants = [(sched.group_of[sid], sid, float(share)) for sid, share in c["variants"].items()]
    defaults = {sched.group_of[g[0]]: g[0] for g in sched.groups}
    group_index = {sched.group_of[g[0]]: i for i, g in enumerate(sched.groups)}
    site_of = {code: spec["vaccines"][code]["site"] for code in VACCINE_CODES}
    cert_from = _years_before(reference, int(c["certificate_under_years"]))
    behind_share, refusal_share = float(c["behind"]), float(c["refusal"])
    a = spec["aefi"]
    aefi_rate = float(a["per_recorded_dose"])
    minimum = int(a["minimum"])
    aefi_pool: list[tuple[int, int, date]] = []
    reservoir: list[tuple[int, int, date]] = []  # a uniform sample of the other recorded doses, for the minimum
    reservoir_seen = 0
    # A dose's lot: its vaccine's lot of the period of its day (ordinals of the periods' first days).
    period_days = [add_months(system_start, months * k).toordinal() for k in range(last_period + 2)]

    children = conn.execute(
        select(Resident.id, Resident.birth_date, Resident.village_code)
        .where(Resident.birth_date > _years_before(reference, 18), Resident.birth_date <= reference,
               Resident.status == "active").order_by(Resident.id)).all()
    vw = _Bulk(conn, "vaccinations", _V_COLUMNS, chunk_size)
    rw = _Bulk(conn, "vaccination_refusals", _R_COLUMNS, chunk_size)
    cw = _Bulk(conn, "vaccination_certificates", _C_COLUMNS, chunk_size)
    day_text, time_text = vw.day, vw.time
    now_text = time_text(now)
    vid = _next_id(conn, Vaccination)
    refusal_id = _next_id(conn, Refusal)
    cert_id = _next_id(conn, VaccinationCertificate)
    cert_seq: dict[tuple[int, int], int] = {}
    uses: list[tuple[int, int, int, datetime]] = []  # (vaccination id, point id, lot id, at) in the window
    recent_use: dict[tuple[int, str], int] = {}  # (point, code) → doses in the last 30 days
    doses = historical = on_time = behind = refusals = 0
    fallback = points[0] if points else None
    day_texts: dict[int, Any] = {}
    from weijian.demo import county as county_mod

    demo_village = str(county_mod.data()["demo_users"]["demo_village"])
    held_children, held_since = int(c["demo_village_missed"]), ref_day - int(c["demo_village_missed_days"])
    held = 0

    for rid, birth, village in children:
        home = routine.get(village, fallback)
        birth_point = county_points.get(birth_where.pick(rng)) or centre.get(village[:9] + "000") or home
        chosen = dict(defaults)
        for group, sid, share in variants:
            if random_() < share:
                chosen[group] = sid
        variant = tuple(chosen[g] for g in sorted(chosen, key=group_index.__getitem__))
        b = birth.toordinal()
        stop = ref_day
        if random_() < behind_share and ref_day - b >= 90:
            stop = max(b + 30, ref_day - _between(rng, c["behind_days"]))
            behind += 1
        refused = refused_groups.pick(rng) if random_() < refusal_share else None
        numbers: dict[str, int] = {}
        refused_done = False
        plan = _plan(b, variant, rng, c, sched)
        if village == demo_village and held < held_children and stop == ref_day:
            # Missed the latest appointment: on the reference week's recall list of the demo village doctor.
            missed = [d for _slot, d, _cb in plan if held_since < d <= ref_day]
            if missed:
                stop = min(missed) - 1
                held += 1
        for slot, d, cb in plan:
            if d > stop:
                continue
            day = day_texts.get(d)
            if day is None:
                day = day_texts[d] = day_text(date.fromordinal(d))
            code = slot.code
            if refused is not None and sched.group_of[slot.series] == refused:
                if not refused_done:
                    refused_done = True
                    rw.add((refusal_id, rid, code, numbers.get(code, 0) + 1, day, reasons.pick(rng), None,
                            DEMO_ACTOR, now_text))
                    refusal_id += 1
                    refusals += 1
                continue
            n = numbers[code] = numbers.get(code, 0) + 1
            point = birth_point if (slot.slot == 0 and code in BIRTH_CODES and d - b <= 3) else home
            if d >= start_day and point is not None:
                lot = lots[code, bisect(period_days, d) - 1]
                at = _at(date.fromordinal(d), 8 + random_() * 3.5)
                vw.add((vid, rid, code, n, day, time_text(at), "recorded", lot.id, point.id, lot.product,
                        lot.manufacturer, lot.lot_number, day_text(lot.expiry), site_of[code], ROUTE_OF[code], None,
                        point.vaccinators[int(random_() * len(point.vaccinators))], now_text, DEMO_ACTOR))
                if d >= window_day:
                    uses.append((vid, point.id, lot.id, at))
                    if d >= use_since:
                        recent_use[point.id, code] = recent_use.get((point.id, code), 0) + 1
                if random_() < aefi_rate:
                    aefi_pool.append((vid, rid, date.fromordinal(d)))
                else:
                    reservoir_seen += 1
                    if len(reservoir) < minimum:
                        reservoir.append((vid, rid, date.fromordinal(d)))
                    else:
                        j = int(random_() * reservoir_seen)
                        if j < minimum:
                            reservoir[j] = (vid, rid, date.fromordinal(d))
            else:
                vw.add((vid, rid, code, n, day, None, "historical", None, point.id if point else None, None, None,
                        None, None, None, None, None, None, now_text, DEMO_ACTOR))
                historical += 1
            on_time += d < cb
            doses += 1
            vid += 1
        if birth > cert_from and home is not None:
            key = (home.id, birth.year)
            seq = cert_seq[key] = cert_seq.get(key, 0) + 1
            cw.add((cert_id, rid, f"{home.serves[:6]}{home.id:04d}{birth.year:04d}{seq:04d}",
                    day_text(min(reference, birth + timedelta(days=1))), home.id))
            cert_id += 1
    for w in (vw, rw, cw):
        w.flush()

    if len(aefi_pool) < minimum:
        aefi_pool += [r for r in reservoir if r not in aefi_pool][:minimum - len(aefi_pool)]
    aefi = _write_aefi(conn, spec, rng, sorted(aefi_pool), reference)
    n_newborns = _newborn_count(spec, conn)
    _write_stock(conn, spec, rng, points, lots, fresh, last_period, uses, recent_use, reference, window_start,
                 n_newborns, chunk_size)
    _sync_sequences(conn)
    registered = _register_newborns(session, spec, rng, reference, county_points, n_newborns)
    # The rows were written around the services: every child's next due date, for the recall lists.
    immunization_service.refresh_due(session=session, on=reference)
    return ImmunizationSummary(points=len(points), lots=len(lots) + len(fresh), children=len(children), doses=doses,
                               historical=historical, on_time=on_time, behind=behind, refusals=refusals, aefi=aefi,
                               certificates=sum(cert_seq.values()), newborns=registered)


def _write_aefi(conn: Connection, spec: dict[str, Any], rng: random.Random,
                picks: list[tuple[int, int, date]], reference: date) -> int:
    a = spec["aefi"]
    severity = _Weighted((k, float(v)) for k, v in a["severity"].items())
    aefi_id = _next_id(conn, Aefi)
    rows = []
    for vaccination_id, resident_id, day in picks:
        level = severity.pick(rng)
        onset = min(reference, day + timedelta(days=int(rng.random() * 3)))
        symptoms = a["symptoms"][level]
        closed = (reference - onset).days > int(a["closed_after_days"])
        status = "closed" if closed else ("investigating" if level != "mild" else "reported")
        rows.append({"id": aefi_id, "vaccination_id": vaccination_id, "resident_id": resident_id, "onset_date": onset,
                     "symptoms": symptoms[int(rng.random() * len(symptoms))], "severity": level, "status": status,
                     "classification": a["classification"][level] if closed else None,
                     "reported_at": _at(min(reference, onset + timedelta(days=1)), 10), "reported_by": DEMO_ACTOR})
        aefi_id += 1
    if rows:
        conn.execute(insert(Aefi.__table__), rows)
    return len(rows)


def _newborn_count(spec: dict[str, Any], conn: Connection) -> int:
    nb = spec["newborns"]
    residents = conn.scalar(select(func.count()).select_from(Resident)) or 0
    return max(int(nb["minimum"]), min(int(nb["maximum"]), round(float(nb["per_10000"]) * residents / 10_000)))


def _write_stock(conn: Connection, spec: dict[str, Any], rng: random.Random, points: list[_Point],
                 lots: dict[tuple[str, int], _Lot], fresh: list[_Lot], last: int,
                 uses: list[tuple[int, int, int, datetime]], recent_use: dict[tuple[int, str], int],
                 reference: date, window_start: date, newborns: int, chunk_size: int) -> None:
    """Balances at the reference date and the movements of the window: per (point, lot) one receipt (the
    uses of the window plus what is left), then each use."""
    st = spec["stock"]
    held_full = [code for code in VACCINE_CODES if code != "DT"]
    lot_by_id = {lot.id: lot for lot in [*lots.values(), *fresh]}
    left: dict[tuple[int, int], int] = {}
    for p in points:
        for code in (held_full if p.kind == "full" else BIRTH_CODES):
            current = lots.get((code, last))
            if current is None:
                continue
            daily = recent_use.get((p.id, code), 0) / 30
            birth_stock = p.delivers and code in BIRTH_CODES
            if daily <= 0:
                qty = _between(rng, st["idle_on_hand"])
            elif not birth_stock and rng.random() < float(st["low"]):
                qty = round(daily * _between(rng, st["low_days_on_hand"]))
            else:
                qty = round(daily * _between(rng, st["days_on_hand"]))
            if birth_stock:  # the newborns registered below take their birth doses from here
                qty = max(qty, newborns + 20)
            left[p.id, current.id] = qty
            for f in fresh:
                if f.code == code:
                    left[p.id, f.id] = max(20, round(daily * 60))
    used: dict[tuple[int, int], int] = {}
    for _vid, point_id, lot_id, _when in uses:
        used[point_id, lot_id] = used.get((point_id, lot_id), 0) + 1
    movement_id = _next_id(conn, StockMovement)
    mw = _Bulk(conn, "stock_movements", _M_COLUMNS, chunk_size)
    balances = []
    fresh_ids = {f.id for f in fresh}
    for key in sorted(set(left) | set(used)):
        point_id, lot_id = key
        lot = lot_by_id[lot_id]
        quantity = used.get(key, 0) + left.get(key, 0)
        balances.append({"point_id": point_id, "lot_id": lot_id, "quantity": left.get(key, 0)})
        if quantity:
            # Before the first use: the day before the lot's period (or the window) began; fresh lots the day
            # they arrived.
            day = lot.start if lot_id in fresh_ids else max(lot.start, window_start) - timedelta(days=1)
            mw.add((movement_id, point_id, lot_id, "receipt", quantity, mw.time(_at(day, 16)), None, None,
                    st["receipt_note"], DEMO_ACTOR))
            movement_id += 1
    for vaccination_id, point_id, lot_id, at in sorted(uses, key=lambda u: (u[3], u[0])):
        mw.add((movement_id, point_id, lot_id, "use", -1, mw.time(at), vaccination_id, None, None, DEMO_ACTOR))
        movement_id += 1
    if balances:
        conn.execute(insert(StockBalance.__table__), balances)
    mw.flush()


def _sync_sequences(conn: Connection) -> None:
    """PostgreSQL: move the id sequences past the ids written here (the newborns are written by the ORM)."""
    if conn.dialect.name != "postgresql":
        return
    for table in TABLES:
        conn.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
        ))


# --- newborns through the bundle ---------------------------------------------------------------------------
def _register_newborns(session: Session, spec: dict[str, Any], rng: random.Random, reference: date,
                       county_points: dict[str, _Point], count: int) -> int:
    """`count` births of the last weeks registered by the delivery hospitals through the bundle itself,
    their hand-offs moved on by age (the oldest done, then sent, the newest pending)."""
    nb = spec["newborns"]
    where = _Weighted((k, float(v)) for k, v in nb["facilities"].items() if k in county_points)
    if not where.items or count <= 0:
        return 0
    lo, hi = _years_before(reference, 40), _years_before(reference, 20)
    mothers = session.execute(
        select(Resident.id, Resident.name, Resident.relation_to_head, Resident.household_id, Resident.birth_date)
        .where(Resident.sex == "female", Resident.status == "active", Resident.household_id.is_not(None),
               Resident.relation_to_head.in_(("head", "spouse", "daughter_in_law")),
               Resident.birth_date > lo, Resident.birth_date <= hi).order_by(Resident.id)).all()
    if not mothers:
        return 0
    chosen = rng.sample(mothers, min(count, len(mothers)))
    heads = {hh: name for hh, name in session.execute(select(Resident.household_id, Resident.name).where(
        Resident.household_id.in_({m.household_id for m in chosen}), Resident.relation_to_head == "head"))}
    registered = 0
    for m in chosen:
        facility_key = where.pick(rng)
        point = county_points[facility_key]
        actor = Actor(user_id=None, username=DEMO_ACTOR, role="system", scope_code=None,
                      permissions=frozenset({"*"}), facility_id=point.facility_id)
        age = 1 + int(rng.random() * int(nb["within_days"]))
        born = reference - timedelta(days=age)
        sex = MALE if rng.random() < 0.52 else FEMALE
        weight = max(1500, min(4800, round(rng.gauss(3300, 450))))
        weeks = max(34, min(42, round(rng.gauss(39, 1.3))))
        surname = (m.name if m.relation_to_head == "head" else heads.get(m.household_id) or m.name)[0]
        name = surname + names.given_name(rng, sex) if rng.random() < float(nb["named"]) else ""
        values: dict[str, Any] = {
            "mother_id": m.id, "child_name": name, "sex": "male" if sex == MALE else "female",
            "birth_date": born.isoformat(), "birth_time": f"{int(rng.random() * 24):02d}:{int(rng.random() * 60):02d}",
            "birth_weight_g": weight, "gestational_weeks": weeks,
        }
        lots = newborn_queries.birth_dose_lots(session=session, point_id=point.id, on=born)
        for code in BIRTH_CODES:
            prefix = code.lower()
            if code == "BCG" and weight < int(nb["low_weight_bcg_deferred"]):
                values[f"{prefix}_skip_reason"] = "contraindication"
            elif lots[code]:
                values[f"{prefix}_lot_id"] = lots[code][0][0].id
            else:
                values[f"{prefix}_skip_reason"] = "temporary_deferral"
        birth = newborn_service.register_newborn(session=session, newborn_in=build_command(NewbornCreate, values),
                                                 actor=actor, today=reference)
        registered += 1
        steps = {"household_registration": 0, "insurance": 0, "social_security_card": 0}
        if age >= int(nb["handoffs_done_after_days"]):
            steps = {"household_registration": 2, "insurance": 2, "social_security_card": 1 + (rng.random() < 0.5)}
        elif age >= int(nb["handoffs_sent_after_days"]):
            steps = {"household_registration": 1, "insurance": int(rng.random() < 0.6), "social_security_card": 0}
        for department, n in steps.items():
            for status in ("sent", "done")[:n]:
                newborn_service.set_handoff_status(session=session, birth_id=birth.id, department=department,
                                                   handoff_in=HandoffStatusIn(status=status), actor=actor)
    return registered
