"""Demo care: encounters (outpatient visits, inpatient stays, day surgery), chronic patients with their
follow-ups, health checks, screenings, two-way referrals and teleconsultations for the demo county's
residents, shaped by data/care.yaml, over the 24 months that end on the demo's reference date
(`window`: 2024-12-08 to 2026-12-07 for the reference date 2026-12-07).

The records run up to the reference date and nothing is dated after it: a stay is written once its
patient is discharged (by the reference date); what has a time (referrals, consultations) happened
before the reference day began, or stands in the state it had reached by then — an appointment may be
on the reference day itself. Yearly rates (the data file's) are spread over the 24 months, so the
calendar year before the reference date is complete and the reference date's year holds its figures to
date. The calendar-year parts are drawn per calendar year — the elderly's annual check, a woman's
两癌筛查 every third year, the four quarterly follow-up appointments a chronic patient keeps of his year —
so a complete year inside the window has the data file's yearly rates.

Follow-ups keep each patient's quarterly rhythm (his appointment comes three months after the last one,
as the worklist's due date does, care/chronic/rules.py), so on the reference date most patients are up to date
and those who missed their latest appointment show as overdue (about 10–20 %; in the demo village at least
the data file's share, so the village doctor's small worklist has some too). Open referrals and
consultations were asked in the days before the reference date; the demo village's two open downward
referrals are kept open for the demo village doctor's worklist.

Deterministic like the builder: one `random.Random`, seeded from the build's seed, drives every draw
in a fixed order, and residents, facilities and users are read back in id order. Each count is the
data file's rate per resident times the number of residents (times the window's years for events),
rounded half up, so the data scales linearly with the county.

Rows are written with SQLAlchemy Core bulk inserts, ids computed here, in chunks, inside the caller's
transaction — the services' one-row create would take hours for a million visits. The rows are valid
by construction (codes from the ICD-10 list, discharge on or after admission, in-policy cost within
the total, referral directions matching the tiers), and tests/demo/test_care_demo.py checks them.
"""
from __future__ import annotations

import heapq
import json
import math
import random
from bisect import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from itertools import accumulate
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from weijian.accounts import service as accounts_service
from weijian.care import icd10
from weijian.care.chronic import service as chronic
from weijian.care.models import (
    ChronicRegistration,
    Diagnosis,
    Encounter,
    FollowUp,
    HealthCheck,
    Referral,
    Screening,
    Teleconsultation,
)
from weijian.core import clock
from weijian.demo import county as county_mod
from weijian.demo import names
from weijian.demo.census import FEMALE, MALE, age_on
from weijian.demo.county import largest_remainder, round_half_up
from weijian.orgunits.models import Facility
from weijian.residents.models import Resident

DATA_FILE = Path(__file__).resolve().parent / "data" / "care.yaml"
DEMO_ACTOR = "demo"
CHUNK = 5000
# Graded-care tiers (care/data/referrals.yaml): facility type → tier; outside the county is BEYOND.
VILLAGE, TOWNSHIP, COUNTY, BEYOND = 1, 2, 3, 4
FACILITY_TIERS = {"village_clinic": VILLAGE, "township_centre": TOWNSHIP, "community_centre": TOWNSHIP,
                  "county_general": COUNTY, "county_tcm": COUNTY, "county_mch": COUNTY}
TIER_NAMES = {"village": VILLAGE, "township": TOWNSHIP, "county": COUNTY, "beyond": BEYOND}
COUNTY_TYPES = ("county_general", "county_tcm", "county_mch")
# The code a chronic patient's condition is recorded with as a second diagnosis (and at registration).
PROGRAMME_CODES = {"hypertension": "I10", "diabetes": "E11.9"}
CARE_TABLES = ("encounters", "diagnoses", "chronic_registrations", "follow_ups", "health_checks", "screenings",
               "referrals", "teleconsultations")
WINDOW_MONTHS = 24  # the care written: the months that end on the reference date


@dataclass(frozen=True)
class CareSummary:
    first: date  # the window's first and last day (the reference date)
    last: date
    outpatient: int
    inpatient: int
    inpatient_outside: int  # stays outside the county
    day_surgery: int
    hypertension: int
    diabetes: int
    follow_ups: int
    health_checks: int
    screenings: int
    referrals_up: int
    referrals_down: int
    teleconsultations: int


# --- the data file ---------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def load() -> dict[str, Any]:
    """data/care.yaml, checked: every diagnosis code in the ICD-10 list as the list spells it, every set
    of shares adding up to 1. ValueError naming the file otherwise."""
    spec = yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))

    def fail(msg: str) -> None:
        raise ValueError(f"{DATA_FILE}: {msg}")

    for code in _spec_codes(spec):
        entry = icd10.get(code)
        if entry is None or entry.code != code:
            fail(f"diagnosis code {code} is not in the ICD-10 list (care/data/icd10.csv)")
    shares = {
        "outpatient.tiers": spec["outpatient"]["tiers"], "outpatient.county": spec["outpatient"]["county"],
        "inpatient.tiers": spec["inpatient"]["tiers"], "inpatient.county": spec["inpatient"]["county"],
        "inpatient.outcomes": spec["inpatient"]["outcomes"],
        "inpatient.deliveries.codes": spec["inpatient"]["deliveries"]["codes"],
        "inpatient.deliveries.where": spec["inpatient"]["deliveries"]["where"],
        "day_surgery.where": spec["day_surgery"]["where"], "chronic.follow_ups": spec["chronic"]["follow_ups"],
        "chronic.methods": spec["chronic"]["methods"], "referrals.up_states": spec["referrals"]["up_states"],
        "referrals.down_states": spec["referrals"]["down_states"],
        "teleconsultations.states": spec["teleconsultations"]["states"],
        "teleconsultations.to": spec["teleconsultations"]["to"], "screenings.cervical": spec["screenings"]["cervical"],
        "screenings.breast": spec["screenings"]["breast"], "screenings.prenatal": spec["screenings"]["prenatal"],
    }
    # The record form's choices: shares of the codes chronic_programs.yaml's record_form defines.
    record, form = spec["chronic"]["record"], chronic.rules()
    choices: dict[str, Iterable[str]] = {
        "salt": form.salt, "levels": form.levels, "adherence_if_controlled": form.adherence,
        "adherence_otherwise": form.adherence, "foot_pulse": form.foot_pulse, "hypoglycaemia": form.hypoglycaemia}
    for key, codes in choices.items():
        shares[f"chronic.record.{key}"] = record[key]
        if not set(record[key]) <= set(codes):
            fail(f"chronic.record.{key} names a choice chronic_programs.yaml does not have")
    for name, parts in shares.items():
        if abs(sum(float(v) for v in parts.values()) - 1.0) > 1e-6:
            fail(f"the shares of {name} add up to {sum(parts.values())}, not 1")
    for program, codes in spec["outpatient"]["programme_codes"].items():
        if any(icd10.chronic_program(c) != program for c in codes):
            fail(f"outpatient.programme_codes.{program} holds a code of another programme")
    if len(spec["month_weights"]) != 12 or any(len(s) != 12 for s in spec["seasons"].values()):
        fail("month_weights and seasons need 12 values each")
    for table in ("outpatient", "inpatient", "day_surgery"):
        for code, entry in spec[table]["diagnoses"].items():
            if len(entry["w"]) != len(spec["bands"]):
                fail(f"{table}.diagnoses.{code}: one weight per age band ({len(spec['bands'])})")
    return spec


def _spec_codes(spec: dict[str, Any]) -> list[str]:
    inpatient = spec["inpatient"]
    groups: list[Iterable[str]] = [
        spec["outpatient"]["diagnoses"], inpatient["diagnoses"], spec["day_surgery"]["diagnoses"],
        inpatient["comorbidities"], inpatient["deliveries"]["codes"],
        *spec["outpatient"]["programme_codes"].values(),
    ]
    return [str(code) for group in groups for code in group]


def codes_used() -> set[str]:
    """Every diagnosis code the generator can write."""
    return set(_spec_codes(load()))


def window(reference: date) -> tuple[date, date]:
    """(first, last) day of the care written: the WINDOW_MONTHS months that end on `reference`
    (2024-07-01 to 2026-06-30 for 2026-06-30)."""
    return chronic.add_months(reference, -WINDOW_MONTHS) + timedelta(days=1), reference


def last_full_year(reference: date) -> int:
    """The latest calendar year the window covers whole (the year before the reference date's, or its own
    on 31 December): the year whose figures are complete."""
    return reference.year if (reference.month, reference.day) == (12, 31) else reference.year - 1


def planned_counts(residents: int, months: int = WINDOW_MONTHS) -> dict[str, int]:
    """What to write for `residents` residents over `months` months, rounded half up: of each kind of event,
    the yearly rate per resident × residents × months / 12; of registered patients, the rate × residents."""
    spec = load()
    counts = {k: round_half_up(float(v) * residents * months / 12) for k, v in spec["per_resident"].items()}
    counts.update({k: round_half_up(float(v) * residents) for k, v in spec["patients_per_resident"].items()})
    return counts


# --- small tools -------------------------------------------------------------------------------------
class _Weighted:
    """Weighted choice among fixed items (cumulative weights, bisect); zero weights are never chosen."""

    __slots__ = ("items", "cum", "total")

    def __init__(self, pairs: Iterable[tuple[Any, float]]) -> None:
        kept = [(item, float(w)) for item, w in pairs if float(w) > 0]
        self.items = [item for item, _ in kept]
        self.cum = list(accumulate(w for _, w in kept))
        self.total = self.cum[-1] if self.cum else 0.0

    def __bool__(self) -> bool:
        return self.total > 0

    def pick(self, rng: random.Random) -> Any:
        return self.items[bisect(self.cum, rng.random() * self.total)]


def _by_age(table: list[list[float]], age: int) -> float:
    """The weight of the last [from age, weight] row at or below `age` (0 below the first row)."""
    weight = 0.0
    for lo, w in table:
        if age >= lo:
            weight = float(w)
    return weight


def _cents(amount: float) -> int:
    return int(round(amount * 100))


def _money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def _at(day: date, hours: float) -> datetime:
    """`hours` after midnight of a county day (Asia/Shanghai), as UTC."""
    return (datetime.combine(day, time(0), tzinfo=clock.zone()) + timedelta(hours=hours)).astimezone(UTC)


def _local_day(moment: datetime) -> date:
    return moment.astimezone(clock.zone()).date()


def _split(total: int, shares: dict[str, float]) -> dict[str, int]:
    """`total` split by `shares` into whole counts adding up to it (largest remainder), at least one of
    each when there are enough: a small demo county still shows every state."""
    keys = list(shares)
    floor = 1 if total >= len(keys) else 0
    parts = largest_remainder(total - floor * len(keys), [float(shares[k]) for k in keys])
    return {k: floor + p for k, p in zip(keys, parts, strict=True)}


def _next_id(conn: Connection, model: type[Any]) -> int:
    return (conn.scalar(select(func.max(model.id))) or 0) + 1


# --- the county as the generator sees it --------------------------------------------------------------
@dataclass
class _World:
    spec: dict[str, Any]
    start: date  # the window's first day
    end: date  # its last: the reference date
    # Residents, by index (id order): id, sex (MALE | FEMALE), birth date, village, mother's index.
    rid: list[int]
    sex: list[int]
    birth: list[date]
    village: list[str]
    mother: list[int | None]
    age: list[int]  # on the window's middle day
    band: list[int]  # index into spec["bands"]
    village_clinic: dict[str, int]
    township_centre: dict[str, int]
    clinics_of_township: dict[str, list[int]]
    county: dict[str, int]  # county facility type → id
    seat_centre: int
    facility_type: dict[int, str]
    facility_name: dict[int, str]
    staff: dict[int, _Weighted]  # facility id → (user id | None, name)
    demo_village: str
    dept_kind: dict[str, str] = field(default_factory=dict)  # ICD-10 code → department kind

    @property
    def cutoff(self) -> datetime:
        """The start of the reference day: what has a time (a referral's steps, a consultation's answer)
        happened before it."""
        return _at(self.end, 0)

    @property
    def mid(self) -> date:
        return self.start + timedelta(days=(self.end - self.start).days // 2)

    def township_of(self, i: int) -> str:
        return self.village[i][:9] + "000"

    def own_centre(self, i: int) -> int:
        return self.township_centre.get(self.township_of(i), self.seat_centre)

    def own_clinic(self, i: int) -> int:
        return self.village_clinic.get(self.village[i], self.own_centre(i))

    def department(self, facility_id: int | None, code: str, age: int) -> str | None:
        """The department a code is seen in at a facility (None at village clinics)."""
        ftype = self.facility_type.get(facility_id, "county_general") if facility_id else "county_general"
        if ftype == "village_clinic":
            return None
        key = "township" if FACILITY_TIERS.get(ftype) == TOWNSHIP else ftype
        kinds = self.spec["department_kinds"]
        kind = self.dept_kind.get(code) or _department_kind(code, kinds["prefixes"])
        self.dept_kind[code] = kind
        if age < 15 and kind in kinds["medical"]:
            kind = "peds"
        return kinds["names"][key][kind]

    def clinician(self, facility_id: int | None, rng: random.Random) -> tuple[int | None, str | None]:
        roster = self.staff.get(facility_id) if facility_id else None
        return roster.pick(rng) if roster else (None, None)


def _department_kind(code: str, prefixes: dict[str, str]) -> str:
    best = ""
    for prefix in prefixes:
        if code.startswith(str(prefix)) and len(str(prefix)) > len(best):
            best = str(prefix)
    return prefixes[best] if best else "internal"


def _world(session: Session, spec: dict[str, Any], first: date, last: date, rng: random.Random) -> _World:
    conn = session.connection()
    mid = first + timedelta(days=(last - first).days // 2)
    bands = [int(b) for b in spec["bands"]]
    rid: list[int] = []
    sex: list[int] = []
    birth: list[date] = []
    village: list[str] = []
    mother_ids: list[int | None] = []
    for row in conn.execute(select(Resident.id, Resident.sex, Resident.birth_date, Resident.village_code,
                                   Resident.mother_id).where(Resident.status == "active").order_by(Resident.id)):
        rid.append(row.id)
        sex.append(MALE if row.sex == "male" else FEMALE)
        birth.append(row.birth_date)
        village.append(row.village_code)
        mother_ids.append(row.mother_id)
    index = {r: i for i, r in enumerate(rid)}
    ages = [max(0, age_on(b, mid)) for b in birth]
    band = [bisect(bands, a) - 1 for a in ages]

    village_clinic: dict[str, int] = {}
    township_centre: dict[str, int] = {}
    clinics_of_township: dict[str, list[int]] = {}
    county: dict[str, int] = {}
    ftype: dict[int, str] = {}
    fname: dict[int, str] = {}
    for f in conn.execute(select(Facility.id, Facility.type, Facility.name, Facility.orgunit_code)
                          .order_by(Facility.id)):
        ftype[f.id], fname[f.id] = f.type, f.name
        if f.type == "village_clinic":
            village_clinic.setdefault(f.orgunit_code, f.id)
            clinics_of_township.setdefault(f.orgunit_code[:9] + "000", []).append(f.id)
        elif FACILITY_TIERS.get(f.type) == TOWNSHIP:
            township_centre.setdefault(f.orgunit_code, f.id)
        elif f.type in COUNTY_TYPES:
            county.setdefault(f.type, f.id)
    missing = [t for t in COUNTY_TYPES if t not in county]
    if missing or not township_centre:
        raise ValueError(f"demo care needs the demo county's facilities (missing: {missing or 'township centres'})")
    seat = county_mod.load().townships[0].code  # the county seat comes first in data/yingshan.yaml
    seat_centre = township_centre.get(seat, next(iter(township_centre.values())))

    # Named clinicians: synthetic, with the demo users at their own facilities.
    demo_users: dict[int, tuple[int, str]] = {}
    for spec_user in county_mod.data()["demo_users"]["users"]:
        user = accounts_service.get_by_username(session=session, username=spec_user["username"])
        if user is not None and user.facility_id is not None and user.facility_id not in demo_users:
            demo_users[user.facility_id] = (user.id, user.full_name)
    staff: dict[int, _Weighted] = {}
    for fid in sorted(ftype):
        size = spec["staff"].get(ftype[fid])
        if not size:
            continue
        n = rng.randint(int(size[0]), int(size[1]))
        people: list[tuple[int | None, str]] = [
            (None, names.surname(rng) + names.given_name(rng, MALE if rng.random() < 0.55 else FEMALE))
                  for _ in range(n)]
        pairs = [(p, 1.0) for p in people]
        if fid in demo_users:
            share = float(spec["demo_user_share"].get(ftype[fid], 0.1))
            pairs = [(p, (1 - share) / n) for p in people] + [(demo_users[fid], share)]
        staff[fid] = _Weighted(pairs)

    mother = [index.get(m) if m is not None else None for m in mother_ids]
    return _World(spec=spec, start=first, end=last, rid=rid, sex=sex,
                  birth=birth, village=village, mother=mother, age=ages, band=band, village_clinic=village_clinic,
                  township_centre=township_centre, clinics_of_township=clinics_of_township, county=county,
                  seat_centre=seat_centre, facility_type=ftype, facility_name=fname, staff=staff,
                  demo_village=str(county_mod.data()["demo_users"]["demo_village"]))


# --- planning: chronic patients -------------------------------------------------------------------
@dataclass
class _Registration:
    idx: int
    program: str
    registered_on: date
    new: bool  # registered in the year, at a visit
    closed_on: date | None
    controlled: bool
    facility_id: int
    source: str
    id: int = 0
    encounter_id: int | None = None


def _sample_weighted(rng: random.Random, candidates: list[int], weights: list[float], k: int) -> list[int]:
    """k distinct candidates, each drawn with probability proportional to its weight (Efraimidis–
    Spirakis keys), in candidate order."""
    if k <= 0:
        return []
    keyed = [(math.log(rng.random() or 1e-300) / w, c) for c, w in zip(candidates, weights, strict=True) if w > 0]
    chosen = heapq.nlargest(min(k, len(keyed)), keyed)
    return sorted(c for _, c in chosen)


def _plan_chronic(w: _World, rng: random.Random, counts: dict[str, int]) -> list[_Registration]:
    c = w.spec["chronic"]
    min_age = int(c["min_age"])
    adults = [i for i in range(len(w.rid)) if w.age[i] >= min_age]
    prevalence = c["prevalence"]
    ht = _sample_weighted(rng, adults, [_by_age(prevalence["hypertension"], w.age[i]) for i in adults],
                          counts["hypertension"])
    ht_set = set(ht)
    boost = float(c["diabetes_given_hypertension"])
    dm = _sample_weighted(rng, adults, [_by_age(prevalence["diabetes"], w.age[i]) * (boost if i in ht_set else 1.0)
                                        for i in adults], counts["diabetes"])
    since: date = c["registered_since"]
    # The yearly shares over the window's years: registered in it, closed in it.
    years = WINDOW_MONTHS / 12
    new_share = 1 - (1 - float(c["new_in_year"])) ** years
    closed_share = 1 - (1 - float(c["closed_in_year"])) ** years
    out: list[_Registration] = []
    for program, members in (("hypertension", ht), ("diabetes", dm)):
        for i in members:
            eligible_from = _add_years(w.birth[i], min_age)
            first = max(since, eligible_from)
            new = rng.random() < new_share or first >= w.start
            if new:  # up to a month before the reference date
                lo = max(w.start, eligible_from)
                hi = max(lo, w.end - timedelta(days=30))
                registered = lo + timedelta(days=rng.randint(0, (hi - lo).days))
                source = "diagnosis"
            else:
                registered = first + timedelta(days=rng.randint(0, (w.start - first).days - 1))
                source = "diagnosis" if rng.random() < 0.4 else "manual"
            closed_on = None
            if rng.random() < closed_share:
                lo = max(w.start, registered + timedelta(days=30))
                if lo < w.end:
                    closed_on = lo + timedelta(days=rng.randint(0, (w.end - lo).days - 1))
            out.append(_Registration(idx=i, program=program, registered_on=registered, new=new, closed_on=closed_on,
                                     controlled=rng.random() < float(c["controlled_patients"]),
                                     facility_id=w.own_clinic(i), source=source))
    return out


def _add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


# --- planning: stays and day surgery -------------------------------------------------------------
@dataclass
class _Stay:
    idx: int
    type: str  # inpatient | day_surgery
    start: date
    end: date
    tier: int
    facility_id: int | None
    outside: str | None
    code: str
    extra: list[str]
    total: int  # cents
    in_policy: int
    note: str
    days: int
    outcome: str | None = None
    delivery: bool = False
    id: int = 0
    referral_id: int | None = None
    department: str | None = None
    clinician: tuple[int | None, str | None] = (None, None)


class _Calendar:
    """The window's days with their relative number of visits (month and weekday)."""

    def __init__(self, w: _World) -> None:
        spec = w.spec
        self.days = [w.start + timedelta(days=k) for k in range((w.end - w.start).days + 1)]
        weekend = float(spec["weekend_factor"])
        self.weights = [float(spec["month_weights"][d.month - 1]) * (weekend if d.weekday() >= 5 else 1.0)
                        for d in self.days]
        self.picker = _Weighted(zip(self.days, self.weights, strict=True))

    def pick(self, rng: random.Random) -> date:
        return self.picker.pick(rng)


def _code_pickers(w: _World, table: dict[str, Any], tier_count: int = 0) -> dict[tuple, _Weighted]:
    """(month, band, sex[, tier]) → a picker over the table's codes (their weights by band, season, sex and
    tier affinity)."""
    seasons = w.spec["seasons"]
    out: dict[tuple, _Weighted] = {}
    tiers = range(tier_count) if tier_count else [None]
    for month in range(12):
        for band in range(len(w.spec["bands"])):
            for sex in (MALE, FEMALE):
                for tier in tiers:
                    pairs = []
                    for code, entry in table.items():
                        weight = float(entry["w"][band])
                        if entry.get("sex") and entry["sex"] != ("male" if sex == MALE else "female"):
                            weight = 0.0
                        if entry.get("season"):
                            weight *= float(seasons[entry["season"]][month])
                        if tier is not None:
                            weight *= float(entry.get("at", [1, 1, 1])[tier])
                        pairs.append((str(code), weight))
                    key = (month, band, sex) if tier is None else (month, band, sex, tier)
                    out[key] = _Weighted(pairs)
    return out


def _county_picker(shares: dict[str, float], w: _World) -> tuple[_Weighted, _Weighted]:
    """(with the MCH hospital, without it): the MCH hospital sees women and children only."""
    return (_Weighted((w.county[t], float(s)) for t, s in shares.items()),
            _Weighted((w.county[t], float(s)) for t, s in shares.items() if t != "county_mch"))


def _mch_allowed(w: _World, i: int) -> bool:
    return w.sex[i] == FEMALE or w.age[i] < 15


def _outside_picker(w: _World) -> _Weighted:
    return _Weighted((str(k), float(v)) for k, v in w.spec["outside_facilities"].items())


def _plan_stays(w: _World, rng: random.Random, counts: dict[str, int], cal: _Calendar,
                programmes: dict[int, list[str]]) -> list[_Stay]:
    spec = w.spec
    ip = spec["inpatient"]
    texts = spec["texts"]
    policy_lo, policy_hi = (float(x) for x in spec["in_policy_share"])
    outside = _outside_picker(w)
    busy: dict[int, list[tuple[date, date]]] = {}

    def free(i: int, start: date, end: date) -> bool:
        return all(end < s or start > e for s, e in busy.get(i, ()))

    def policy(total: int) -> int:
        return int(total * rng.uniform(policy_lo, policy_hi))

    stays: list[_Stay] = []
    # Deliveries: the mothers of the window's newborns, admitted on the birth date; one still in hospital on
    # the reference date has no record yet (a stay is written at discharge).
    dl = ip["deliveries"]
    dl_codes = _Weighted((str(k), float(v)) for k, v in dl["codes"].items())
    dl_where = _Weighted((str(k), float(v)) for k, v in dl["where"].items())
    for child in range(len(w.rid)):
        m = w.mother[child]
        if m is None or not (w.start <= w.birth[child] <= w.end):
            continue
        code = dl_codes.pick(rng)
        where = dl_where.pick(rng)
        lo, hi = dl["los"][code]
        days = rng.randint(int(lo), int(hi))
        start = w.birth[child] - timedelta(days=rng.randint(0, 1) if code == "O82.0" else 0)
        start = max(start, w.start)
        if where == "beyond":
            fid, name, tier = None, str(dl["outside"]), BEYOND
        elif where == "seat_township":
            fid, name, tier = w.seat_centre, None, TOWNSHIP
        else:
            fid, name, tier = w.county[where], None, COUNTY
        clo, chi = dl["cost"][code]
        total = _cents(rng.uniform(float(clo), float(chi)))
        if start + timedelta(days=days) > w.end:
            continue
        stays.append(_Stay(idx=m, type="inpatient", start=start, end=start + timedelta(days=days), tier=tier,
                           facility_id=fid, outside=name, code=code, extra=[], total=total, in_policy=policy(total),
                           note=texts["delivery_note"].format(days=days), days=days, delivery=True))
        busy.setdefault(m, []).append((start, start + timedelta(days=days)))

    # Other stays: residents weighted by age, tier first (it sets the retention rate), then the diagnosis;
    # discharged by the reference date.
    general = max(0, counts["inpatient"] - len(stays))
    n = len(w.rid)
    weights = [_by_age(spec["age_weights"]["inpatient"], w.age[i]) if w.birth[i] <= w.end else 0.0 for i in range(n)]
    cum = list(accumulate(weights))
    tiers = _Weighted((TIER_NAMES[t], float(s)) for t, s in ip["tiers"].items())
    pickers = _code_pickers(w, ip["diagnoses"], tier_count=3)
    with_mch, without_mch = _county_picker(ip["county"], w)
    outcomes = _Weighted((k, float(v)) for k, v in ip["outcomes"].items())
    los_lo, los_hi, los_mode = (float(x) for x in ip["los"])
    per_day = ip["per_day_cost"]
    cost_lo, cost_hi = (int(x) * 100 for x in ip["cost_bounds"])
    comorbid = [(str(k), float(v)) for k, v in ip["comorbidities"].items()]
    if n and cum[-1] > 0:
        for i in rng.choices(range(n), cum_weights=cum, k=general):
            days = min(int(los_hi), max(int(los_lo), round(rng.triangular(los_lo, los_hi, los_mode))))
            for _ in range(8):
                start = cal.pick(rng)
                if start >= w.birth[i] and start + timedelta(days=days) <= w.end \
                        and free(i, start, start + timedelta(days=days)):
                    break
            else:
                start = max(w.birth[i], w.start)
                if start + timedelta(days=days) > w.end:
                    start = w.end - timedelta(days=days)
                    if start < w.birth[i]:
                        continue
            tier = tiers.pick(rng)
            code = pickers[(start.month - 1, w.band[i], w.sex[i], tier - 2)].pick(rng)
            if tier == TOWNSHIP:
                fid, name = (w.own_centre(i) if rng.random() < 0.9 else w.seat_centre), None
            elif tier == COUNTY:
                fid, name = (with_mch if _mch_allowed(w, i) else without_mch).pick(rng), None
            else:
                fid, name = None, outside.pick(rng)
            lo, hi = per_day["township" if tier == TOWNSHIP else "county" if tier == COUNTY else "beyond"]
            total = min(cost_hi, max(cost_lo, _cents(rng.uniform(float(lo), float(hi)) * days)))
            extra = [PROGRAMME_CODES[p] for p in programmes.get(i, ()) if icd10.chronic_program(code) != p]
            if w.age[i] >= 45:
                extra += [c for c, p in comorbid if rng.random() < p and c != code and c not in extra]
            outcome = outcomes.pick(rng)
            stays.append(_Stay(idx=i, type="inpatient", start=start, end=start + timedelta(days=days), tier=tier,
                               facility_id=fid, outside=name, code=code, extra=extra, total=total,
                               in_policy=policy(total), outcome=outcome, days=days,
                               note=texts["inpatient_note"].format(days=days, outcome=texts["outcomes"][outcome])))
            busy.setdefault(i, []).append((start, start + timedelta(days=days)))

    # Day surgery: in and out the same day, at a county hospital mostly.
    ds = spec["day_surgery"]
    ds_weights = [_by_age(spec["age_weights"]["day_surgery"], w.age[i]) if w.birth[i] <= w.end else 0.0
                  for i in range(n)]
    ds_cum = list(accumulate(ds_weights))
    ds_pickers = _code_pickers(w, ds["diagnoses"])
    ds_where = _Weighted((str(k), float(v)) for k, v in ds["where"].items())
    ds_lo, ds_hi = (float(x) for x in ds["cost"])
    if n and ds_cum and ds_cum[-1] > 0:
        for i in rng.choices(range(n), cum_weights=ds_cum, k=counts["day_surgery"]):
            day = cal.pick(rng)
            if day < w.birth[i]:
                day = w.end
            picker = ds_pickers[(day.month - 1, w.band[i], w.sex[i])]
            if not picker:
                picker = ds_pickers[(day.month - 1, w.band[i], FEMALE if w.sex[i] == MALE else MALE)]
            code = picker.pick(rng)
            where = ds_where.pick(rng)
            fid = w.seat_centre if where == "seat_township" else w.county[where]
            total = _cents(rng.uniform(ds_lo, ds_hi))
            stays.append(_Stay(idx=i, type="day_surgery", start=day, end=day, tier=FACILITY_TIERS[w.facility_type[fid]],
                               facility_id=fid, outside=None, code=code, extra=[], total=total,
                               in_policy=policy(total), note=texts["day_surgery_note"], days=0))
    stays.sort(key=lambda s: (s.start, s.idx, s.type))
    for s in stays:
        s.department = w.department(s.facility_id, s.code, w.age[s.idx])
        s.clinician = w.clinician(s.facility_id, rng)
    return stays


# --- planning: referrals and teleconsultations ----------------------------------------------------------
@dataclass
class _Referral:
    idx: int
    direction: str
    from_facility: int
    to_facility: int | None
    outside: str | None
    department: str | None
    code: str
    urgency: str
    reason: str
    requested_at: datetime
    status: str = "requested"
    responded_at: datetime | None = None
    responded_by: str | None = None
    reject_reason: str | None = None
    arrived_at: datetime | None = None
    completed_at: datetime | None = None
    discharge_summary: str | None = None
    parent: _Referral | None = None
    stay: _Stay | None = None
    id: int = 0
    from_clinician: tuple[int | None, str | None] = (None, None)
    summary: str | None = None


@dataclass
class _Consultation:
    idx: int
    from_facility: int
    to_facility: int
    department: str
    code: str
    urgency: str
    requested_at: datetime
    status: str
    requester: tuple[int | None, str | None]
    specialist: tuple[int | None, str | None] = (None, None)
    scheduled_at: datetime | None = None
    answered_at: datetime | None = None
    opinion: str | None = None
    extracts: str | None = None
    id: int = 0


def _answer_hours(rng: random.Random, rf: dict[str, Any], urgency: str) -> float:
    lo, hi = (float(x) for x in rf["answer_hours"][urgency])
    if rng.random() < float(rf["late_answer"]):  # answered after the desk's limit
        return rng.uniform(hi * 1.3, hi * 2.5) if urgency == "routine" else rng.uniform(2.2, 6.0)
    return rng.uniform(lo, hi)


def _urgency(rng: random.Random, rf: dict[str, Any], code: str) -> str:
    if any(code.startswith(p) for p in rf["urgent_codes"]):
        return "urgent" if rng.random() < float(rf["urgent_if_code"]) else "routine"
    return "urgent" if rng.random() < float(rf["urgent"]) else "routine"


def _plan_referrals(w: _World, rng: random.Random, counts: dict[str, int], stays: list[_Stay],
                    cal: _Calendar) -> tuple[list[_Referral], list[_Referral]]:
    rf = w.spec["referrals"]
    texts = w.spec["texts"]
    outcome_text = texts["outcomes"]
    ups: list[_Referral] = []
    states = _split(counts["referrals_up"], rf["up_states"])
    candidates = [s for s in stays if s.type == "inpatient" and not s.delivery and s.tier in (COUNTY, BEYOND)
                  and s.end < w.end]
    chosen = sorted(rng.sample(range(len(candidates)), min(states["completed"], len(candidates))))
    # Completed upward referrals: the referred stays at county hospitals and outside the county.
    for k in chosen:
        s = candidates[k]
        i = s.idx
        if s.tier == COUNTY:
            src = w.own_clinic(i) if rng.random() < float(rf["up_from_village"]) else w.own_centre(i)
            reason = rng.choice(texts["up_reasons"])
        else:
            # Out of the county only through the county hospital (care/data/referrals.yaml
            # out_of_county_from_tiers: the filing rules of 医保发〔2022〕22号).
            src = w.county["county_general"]
            reason = rng.choice(texts["beyond_reasons"])
        urgency = _urgency(rng, rf, s.code)
        requested = _at(s.start, 8.0) - timedelta(hours=rng.uniform(2 if urgency == "urgent" else 6, 30))
        requested = max(requested, _at(w.start, 8.0 + rng.uniform(0, 8)))
        responded = requested + timedelta(hours=_answer_hours(rng, rf, urgency))
        arrived = max(_at(s.start, rng.uniform(8, 17)), responded + timedelta(minutes=30))
        completed = max(_at(s.end, rng.uniform(9, 11)), arrived + timedelta(hours=1))
        diagnosis = icd10.get(s.code).name_zh
        outcome = outcome_text.get(s.outcome or "improved", "")
        ups.append(_Referral(
            idx=i, direction="up", from_facility=src, to_facility=s.facility_id, outside=s.outside,
            department=s.department, code=s.code, urgency=urgency, reason=reason, requested_at=requested,
            status="completed", responded_at=responded,
            responded_by=w.clinician(s.facility_id, rng)[1] if s.facility_id else None,
            arrived_at=arrived, completed_at=completed, stay=s, from_clinician=w.clinician(src, rng),
            discharge_summary=texts["discharge_summary"].format(diagnosis=diagnosis, days=s.days, outcome=outcome)))
    # The others never led to a stay: answered no, withdrawn, or still open on the reference date.
    n = len(w.rid)
    weights = [_by_age(w.spec["age_weights"]["inpatient"], w.age[i]) if w.birth[i] <= w.end - timedelta(days=30)
               else 0.0 for i in range(n)]
    cum = list(accumulate(weights))
    pickers = _code_pickers(w, w.spec["inpatient"]["diagnoses"], tier_count=3)
    with_mch, without_mch = _county_picker(w.spec["inpatient"]["county"], w)
    open_days = int(rf["open_days"])
    for status in ("rejected", "cancelled", "arrived", "accepted", "requested"):
        if not (n and cum[-1] > 0):
            break
        for i in rng.choices(range(n), cum_weights=cum, k=states[status]):
            if status in ("rejected", "cancelled"):
                day = min(max(cal.pick(rng), w.birth[i]), w.end - timedelta(days=1))
            else:
                day = w.end - timedelta(days=rng.randint(1, open_days))
            code = pickers[(day.month - 1, w.band[i], w.sex[i], COUNTY - 2)].pick(rng)
            dest = (with_mch if _mch_allowed(w, i) else without_mch).pick(rng)
            src = w.own_clinic(i) if rng.random() < float(rf["up_from_village"]) else w.own_centre(i)
            urgency = _urgency(rng, rf, code)
            requested = _at(day, rng.uniform(8, 17))
            r = _Referral(idx=i, direction="up", from_facility=src, to_facility=dest, outside=None,
                          department=w.department(dest, code, w.age[i]), code=code, urgency=urgency,
                          reason=rng.choice(texts["up_reasons"]), requested_at=requested, status=status,
                          from_clinician=w.clinician(src, rng))
            if status in ("rejected", "accepted", "arrived"):
                r.responded_at = requested + timedelta(hours=_answer_hours(rng, rf, urgency))
                r.responded_by = w.clinician(dest, rng)[1]
            if status == "rejected":
                r.reject_reason = rng.choice(texts["reject_reasons"])
            elif status == "cancelled":
                r.responded_at = requested + timedelta(hours=rng.uniform(1, 20))
                r.responded_by = r.from_clinician[1]
            elif status == "arrived":
                r.arrived_at = r.responded_at + timedelta(hours=rng.uniform(1, 30))
            ups.append(r)
    ups.sort(key=lambda r: (r.requested_at, r.idx))

    # Downward: after stays at a county hospital, some returning an upward referral, the demo village's first.
    total_down = counts["referrals_down"]
    returns = [u for u in ups if u.status == "completed" and u.to_facility is not None
               and rng.random() < float(rf["down_returns_up"])]
    returns = returns[:total_down]
    referred = {id(u.stay) for u in ups if u.stay is not None}
    others = [s for s in stays if s.type == "inpatient" and s.tier == COUNTY and not s.delivery and s.end < w.end
              and id(s) not in referred]
    demo = [s for s in others if w.village[s.idx] == w.demo_village][-2:]
    rest = [s for s in others if w.village[s.idx] != w.demo_village]
    need = max(0, total_down - len(returns) - len(demo))
    picked = demo[:total_down - len(returns)] + [rest[k] for k in sorted(rng.sample(range(len(rest)),
                                                                                     min(need, len(rest))))]
    downs: list[_Referral] = []
    for parent, s in [(u, u.stay) for u in returns] + [(None, s) for s in picked]:
        i = s.idx
        to_village = w.village[i] == w.demo_village or rng.random() < float(rf["down_to_village"])
        dest = w.own_clinic(i) if to_village else w.own_centre(i)
        requested = _at(s.end, rng.uniform(9, 16))
        downs.append(_Referral(idx=i, direction="down", from_facility=s.facility_id, to_facility=dest, outside=None,
                               department=None, code=s.code, urgency="routine",
                               reason=rng.choice(texts["down_reasons"]), requested_at=requested, parent=parent,
                               stay=s, from_clinician=s.clinician))
    # The latest requests are still open on the reference date; the demo village's own are put last, so they
    # are open too and show on the demo village doctor's worklist.
    downs.sort(key=lambda r: (w.village[r.idx] == w.demo_village and r.parent is None, r.requested_at, r.idx))
    states = _split(len(downs), rf["down_states"])
    order = list(reversed(downs))
    status_of: dict[int, str] = {}
    k = 0
    for status in ("requested", "accepted", "arrived"):
        for r in order[k:k + states[status]]:
            status_of[id(r)] = status
        k += states[status]
    older = order[k:]
    closed = rng.sample(range(len(older)), min(len(older), states["rejected"] + states["cancelled"]))
    for j, pos in enumerate(closed):
        status_of[id(older[pos])] = "rejected" if j < states["rejected"] else "cancelled"
    for r in downs:
        r.status = status_of.get(id(r), "completed")
        answered = r.requested_at + timedelta(hours=_answer_hours(rng, rf, "routine"))
        if r.status in ("accepted", "arrived", "completed", "rejected"):
            r.responded_at = answered
            r.responded_by = w.clinician(r.to_facility, rng)[1]
        if r.status == "rejected":
            r.reject_reason = rng.choice(texts["reject_reasons"])
        elif r.status == "cancelled":
            r.responded_at = r.requested_at + timedelta(hours=rng.uniform(1, 20))
            r.responded_by = r.from_clinician[1]
        elif r.status in ("arrived", "completed"):
            r.arrived_at = answered + timedelta(hours=rng.uniform(12, 72))
        if r.status == "completed":
            last = w.cutoff - timedelta(hours=7)  # 17:00 the day before the reference date
            r.completed_at = min(last, r.arrived_at + timedelta(days=rng.uniform(14, 60)))
            if r.completed_at <= r.arrived_at:
                r.completed_at = r.arrived_at + timedelta(hours=1)
            r.discharge_summary = texts["down_discharge_summary"]
    downs.sort(key=lambda r: (r.requested_at, r.idx))
    for r in [*ups, *downs]:
        _stand_at(r, w.cutoff)
    return ups, downs


def _stand_at(r: _Referral, cutoff: datetime) -> None:
    """The referral as it stood at `cutoff` (the reference day's start): a step planned after it has not
    happened yet, and the status is the last step reached."""
    if r.completed_at is not None and r.completed_at >= cutoff:
        r.completed_at, r.discharge_summary, r.status = None, None, "arrived"
    if r.arrived_at is not None and r.arrived_at >= cutoff:
        r.arrived_at, r.status = None, "accepted"
    if r.responded_at is not None and r.responded_at >= cutoff:
        r.responded_at, r.responded_by, r.reject_reason, r.status = None, None, None, "requested"


def _plan_consultations(w: _World, rng: random.Random, counts: dict[str, int], cal: _Calendar) -> list[_Consultation]:
    tc = w.spec["teleconsultations"]
    rf = w.spec["referrals"]
    states = _split(counts["teleconsultations"], tc["states"])
    n = len(w.rid)
    weights = [_by_age(w.spec["age_weights"]["inpatient"], w.age[i]) if w.birth[i] <= w.end - timedelta(days=30)
               else 0.0 for i in range(n)]
    if not n or sum(weights) <= 0:
        return []
    cum = list(accumulate(weights))
    pickers = _code_pickers(w, w.spec["inpatient"]["diagnoses"], tier_count=3)
    to_picker = _Weighted((w.county[t], float(s)) for t, s in tc["to"].items())
    to_no_mch = _Weighted((w.county[t], float(s)) for t, s in tc["to"].items() if t != "county_mch")
    demo_residents = [i for i in range(n) if w.village[i] == w.demo_village and weights[i] > 0]
    open_days = int(rf["open_days"])
    out: list[_Consultation] = []
    first = True
    for status in ("answered", "cancelled", "scheduled", "requested"):
        for i in rng.choices(range(n), cum_weights=cum, k=states[status]):
            if first and demo_residents:  # the demo village doctor asked one and got an answer
                i, from_village = demo_residents[0], True
            else:
                from_village = rng.random() < float(tc["from_village"])
            first = False
            if status in ("answered", "cancelled"):
                day = min(max(cal.pick(rng), w.birth[i]), w.end - timedelta(days=open_days))
            else:
                day = w.end - timedelta(days=rng.randint(1, open_days))
            code = pickers[(day.month - 1, w.band[i], w.sex[i], COUNTY - 2)].pick(rng)
            dest = (to_picker if _mch_allowed(w, i) else to_no_mch).pick(rng)
            src = w.own_clinic(i) if from_village else w.own_centre(i)
            urgency = "urgent" if rng.random() < float(rf["urgent"]) else "routine"
            c = _Consultation(idx=i, from_facility=src, to_facility=dest,
                              department=w.department(dest, code, w.age[i]) or "", code=code, urgency=urgency,
                              requested_at=_at(day, rng.uniform(8, 17)), status=status,
                              requester=w.clinician(src, rng))
            if status in ("answered", "scheduled"):
                c.specialist = w.clinician(dest, rng)
                # An appointment: on the reference day at the latest (it may be later in that day).
                c.scheduled_at = _at(min(w.end, _local_day(c.requested_at) + timedelta(days=rng.randint(1, 3))),
                                     rng.choice((9.0, 10.0, 14.5, 15.5)))
            if status == "answered":
                c.answered_at = c.scheduled_at + timedelta(minutes=rng.randint(20, 60))
                c.opinion = w.spec["texts"]["consult_opinion"].format(diagnosis=icd10.get(code).name_zh)
            out.append(c)
    out.sort(key=lambda c: (c.requested_at, c.idx))
    return out


# --- writing -------------------------------------------------------------------------------------------
class _Writer:
    """Buffers rows per table and inserts them in chunks, parents before children."""

    ORDER = ("referrals", "encounters", "diagnoses", "chronic_registrations", "follow_ups", "health_checks",
             "screenings", "teleconsultations")

    def __init__(self, conn: Connection, chunk: int) -> None:
        self.conn = conn
        self.chunk = chunk
        self.tables = {m.__tablename__: m.__table__ for m in (Referral, Encounter, Diagnosis, ChronicRegistration,
                                                                FollowUp, HealthCheck, Screening, Teleconsultation)}
        self.rows: dict[str, list[dict[str, Any]]] = {t: [] for t in self.ORDER}
        self.written: dict[str, int] = {t: 0 for t in self.ORDER}

    def add(self, table: str, row: dict[str, Any]) -> None:
        self.rows[table].append(row)
        if len(self.rows[table]) >= self.chunk:
            self.flush()

    def flush(self) -> None:
        for table in self.ORDER:
            rows = self.rows[table]
            if rows:
                self.conn.execute(insert(self.tables[table]), rows)
                self.written[table] += len(rows)
                rows.clear()


def build(*, session: Session, seed: int, reference: date, chunk_size: int = CHUNK) -> CareSummary:
    """Write the care of the window ending on `reference` for the residents already in the database (the
    demo builder's); flushes, never commits. Needs the demo county's facilities and users."""
    spec = load()
    first, last = window(reference)
    rng = random.Random(f"weijian-demo-care-{seed}")
    w = _world(session, spec, first, last, rng)
    counts = planned_counts(len(w.rid))
    conn = session.connection()
    now = clock.now()
    cal = _Calendar(w)

    registrations = _plan_chronic(w, rng, counts)
    programmes: dict[int, list[str]] = {}
    for reg in registrations:
        programmes.setdefault(reg.idx, []).append(reg.program)
    stays = _plan_stays(w, rng, counts, cal, programmes)
    ups, downs = _plan_referrals(w, rng, counts, stays, cal)
    consultations = _plan_consultations(w, rng, counts, cal)

    out = _Writer(conn, chunk_size)
    ids = {t: _next_id(conn, m) for t, m in (("encounters", Encounter), ("diagnoses", Diagnosis),
                                              ("chronic_registrations", ChronicRegistration),
                                              ("follow_ups", FollowUp), ("health_checks", HealthCheck),
                                              ("screenings", Screening), ("referrals", Referral),
                                              ("teleconsultations", Teleconsultation))}
    for r in [*ups, *downs]:
        r.id = ids["referrals"]
        ids["referrals"] += 1
        if r.direction == "up" and r.status in ("arrived", "completed") and r.stay is not None:
            r.stay.referral_id = r.id  # the stay the referral led to (arrival links it: care.referrals.arrive)
    # Outpatient visits are written first, then the stays, whose ids follow the visits' reserved range.
    new_regs = [reg for reg in registrations if reg.new]
    outpatient_total = max(counts["outpatient"], len(new_regs))
    first_stay = ids["encounters"] + outpatient_total
    for k, s in enumerate(stays):
        s.id = first_stay + k

    watched = {r.idx for r in (*ups, *downs)} | {c.idx for c in consultations}
    history: dict[int, list[tuple[date, int, str, int | None, str | None, str, str | None]]] = {i: [] for i in watched}
    for s in stays:
        if s.idx in watched:
            history[s.idx].append((s.start, s.id, s.type, s.facility_id, s.department, s.code, s.note))

    # The visits on arrival of a referral are of the planned outpatient count (written after the stays).
    arrivals = [r for r in (*ups, *downs) if _needs_arrival_visit(r)]
    visits = _write_outpatient(w, rng, cal, new_regs, programmes, out, ids, now, history,
                               max(len(new_regs), outpatient_total - len(arrivals)))
    ids["encounters"] = first_stay + len(stays)

    _fill_summaries(w, ups, downs, consultations, history)
    for group in (ups, downs):  # upward ones first: downward ones point at them
        for r in group:
            out.add("referrals", _referral_row(w, r))
        out.flush()
    outside = 0
    for s in stays:
        outside += s.facility_id is None
        _write_stay(w, s, out, ids, now)
    out.flush()
    visits += _write_arrival_visits(w, random.Random(f"weijian-demo-care-arrivals-{seed}"), arrivals, out, ids, now)

    follow_up_count = _write_chronic(w, rng, registrations, out, ids, now,
                                     random.Random(f"weijian-demo-care-records-{seed}"))
    checks = _write_health_checks(w, rng, programmes, registrations, out, ids, now)
    screenings = _write_screenings(w, rng, out, ids, now)
    for c in consultations:
        c.id = ids["teleconsultations"]
        ids["teleconsultations"] += 1
        out.add("teleconsultations", _consultation_row(w, c))
    out.flush()
    _sync_sequences(conn)
    return CareSummary(
        first=first, last=last, outpatient=visits, inpatient=sum(s.type == "inpatient" for s in stays),
        inpatient_outside=outside,
        day_surgery=sum(s.type == "day_surgery" for s in stays),
        hypertension=sum(r.program == "hypertension" for r in registrations),
        diabetes=sum(r.program == "diabetes" for r in registrations), follow_ups=follow_up_count,
        health_checks=checks, screenings=screenings, referrals_up=len(ups), referrals_down=len(downs),
        teleconsultations=len(consultations))


def _write_outpatient(w: _World, rng: random.Random, cal: _Calendar,
                      new_regs: list[_Registration], programmes: dict[int, list[str]], out: _Writer,
                      ids: dict[str, int], now: datetime, history: dict[int, list], total: int) -> int:
    """The window's outpatient visits, day by day: the registration visits of new chronic patients, then
    residents drawn by age (chronic patients more often), each at a tier, a facility and a diagnosis."""
    spec = w.spec
    op = spec["outpatient"]
    n = len(w.rid)
    chronic_weight = float(op["chronic_weight"])
    weights = [(_by_age(spec["age_weights"]["outpatient"], w.age[i]) * (chronic_weight if i in programmes else 1.0))
               if w.birth[i] <= w.end else 0.0 for i in range(n)]
    if not n or sum(weights) <= 0:
        return 0
    cum = list(accumulate(weights))
    population = range(n)
    per_day = largest_remainder(total - len(new_regs), cal.weights)
    regs_by_day: dict[date, list[_Registration]] = {}
    for reg in new_regs:
        regs_by_day.setdefault(reg.registered_on, []).append(reg)
    tiers = op["tiers"]
    p_village = float(tiers["village"])
    p_primary = p_village + float(tiers["township"])
    own_village, own_township = float(op["own_village"]), float(op["own_township"])
    with_mch, without_mch = _county_picker(op["county"], w)
    costs = {TIER_NAMES[k]: tuple(float(x) for x in v) for k, v in op["cost"].items()}
    pickers = _code_pickers(w, op["diagnoses"])
    programme_pickers = {p: _Weighted((str(c), float(v)) for c, v in codes.items())
                         for p, codes in op["programme_codes"].items()}
    visit_share, secondary = float(op["chronic_visit_share"]), float(op["chronic_secondary"])
    policy_lo, policy_hi = (float(x) for x in spec["in_policy_share"])
    written = 0

    def emit(i: int, day: date, fid: int, tier: int, code: str, extra: list[str]) -> int:
        nonlocal written
        eid = ids["encounters"]
        ids["encounters"] += 1
        lo, hi, mode = costs[tier]
        total_cents = _cents(rng.triangular(lo, hi, mode))
        uid, name = w.clinician(fid, rng)
        department = w.department(fid, code, w.age[i])
        out.add("encounters", {
            "id": eid, "resident_id": w.rid[i], "facility_id": fid, "outside_facility_name": None,
            "type": "outpatient", "department": department, "clinician_id": uid, "clinician_name": name,
            "start_date": day, "end_date": None, "primary_diagnosis": code, "note": None,
            "total_cost": _money(total_cents),
            "in_policy_cost": _money(int(total_cents * rng.uniform(policy_lo, policy_hi))),
            "referral_id": None, "created_at": now, "created_by": DEMO_ACTOR,
        })
        for seq, c in enumerate([code, *extra], start=1):
            out.add("diagnoses", {"id": ids["diagnoses"], "encounter_id": eid, "seq": seq, "code": c})
            ids["diagnoses"] += 1
        if i in history:
            history[i].append((day, eid, "outpatient", fid, department, code, None))
        written += 1
        return eid

    for d_index, day in enumerate(cal.days):
        for reg in regs_by_day.get(day, ()):
            i = reg.idx
            fid = w.own_clinic(i) if rng.random() < 0.6 else w.own_centre(i)
            reg.encounter_id = emit(i, day, fid, FACILITY_TIERS[w.facility_type[fid]], PROGRAMME_CODES[reg.program], [])
        month = day.month - 1
        for i in rng.choices(population, cum_weights=cum, k=per_day[d_index]):
            tries = 0
            while w.birth[i] > day and tries < 20:
                i = rng.choices(population, cum_weights=cum)[0]
                tries += 1
            if w.birth[i] > day:
                continue
            u = rng.random()
            if u < p_village:
                tier = VILLAGE
                fid = w.own_clinic(i)
                if rng.random() > own_village:
                    fid = rng.choice(w.clinics_of_township.get(w.township_of(i)) or [fid])
            elif u < p_primary:
                tier = TOWNSHIP
                fid = w.own_centre(i) if rng.random() < own_township else w.seat_centre
            else:
                tier = COUNTY
                fid = (with_mch if _mch_allowed(w, i) else without_mch).pick(rng)
            mine = programmes.get(i)
            extra: list[str] = []
            if mine and rng.random() < visit_share:
                code = programme_pickers[mine[0] if len(mine) == 1 else rng.choice(mine)].pick(rng)
            else:
                code = pickers[(month, w.band[i], w.sex[i])].pick(rng)
                if mine and rng.random() < secondary:
                    extra = [PROGRAMME_CODES[p] for p in mine if icd10.chronic_program(code) != p]
            emit(i, day, fid, tier, code, extra)
    out.flush()
    return written


def _write_stay(w: _World, s: _Stay, out: _Writer, ids: dict[str, int], now: datetime) -> None:
    uid, name = s.clinician
    out.add("encounters", {
        "id": s.id, "resident_id": w.rid[s.idx], "facility_id": s.facility_id, "outside_facility_name": s.outside,
        "type": s.type, "department": s.department, "clinician_id": uid, "clinician_name": name,
        "start_date": s.start, "end_date": s.end, "primary_diagnosis": s.code, "note": s.note,
        "total_cost": _money(s.total), "in_policy_cost": _money(s.in_policy), "referral_id": s.referral_id,
        "created_at": now, "created_by": DEMO_ACTOR,
    })
    for seq, code in enumerate([s.code, *s.extra], start=1):
        out.add("diagnoses", {"id": ids["diagnoses"], "encounter_id": s.id, "seq": seq, "code": code})
        ids["diagnoses"] += 1


def _needs_arrival_visit(r: _Referral) -> bool:
    """An arrived or completed referral to a facility of the county that led to no stay of its own."""
    return r.arrived_at is not None and r.to_facility is not None and not (
        r.stay is not None and r.stay.referral_id == r.id)


def _write_arrival_visits(w: _World, rng: random.Random, referrals: list[_Referral], out: _Writer,
                          ids: dict[str, int], now: datetime) -> int:
    """The receiving facility's visit on the day the patient arrived, linked to the referral, for each of
    `referrals` (arrived or completed, with no stay of its own: an open upward one, a downward one): arrival
    keeps the patient in the record (care.referrals.arrive links or records the receiving encounter)."""
    spec = w.spec
    costs = {TIER_NAMES[k]: tuple(float(x) for x in v) for k, v in spec["outpatient"]["cost"].items()}
    policy_lo, policy_hi = (float(x) for x in spec["in_policy_share"])
    written = 0
    for r in referrals:
        eid = ids["encounters"]
        ids["encounters"] += 1
        lo, hi, mode = costs[FACILITY_TIERS[w.facility_type[r.to_facility]]]
        total_cents = _cents(rng.triangular(lo, hi, mode))
        uid, name = w.clinician(r.to_facility, rng)
        out.add("encounters", {
            "id": eid, "resident_id": w.rid[r.idx], "facility_id": r.to_facility, "outside_facility_name": None,
            "type": "outpatient", "department": w.department(r.to_facility, r.code, w.age[r.idx]),
            "clinician_id": uid, "clinician_name": name, "start_date": _local_day(r.arrived_at), "end_date": None,
            "primary_diagnosis": r.code, "note": None, "total_cost": _money(total_cents),
            "in_policy_cost": _money(int(total_cents * rng.uniform(policy_lo, policy_hi))),
            "referral_id": r.id, "created_at": now, "created_by": DEMO_ACTOR,
        })
        out.add("diagnoses", {"id": ids["diagnoses"], "encounter_id": eid, "seq": 1, "code": r.code})
        ids["diagnoses"] += 1
        written += 1
    out.flush()
    return written


def _fill_summaries(w: _World, ups: list[_Referral], downs: list[_Referral], consultations: list[_Consultation],
                    history: dict[int, list]) -> None:
    """The clinical summary of each referral and the extracts of each consultation: the resident's latest
    encounters before the request, from the generated record."""
    texts = w.spec["texts"]
    for entries in history.values():
        entries.sort(key=lambda e: (e[0], e[1]))

    def latest(i: int, before: date, limit: int = 3) -> list[tuple]:
        return [e for e in history.get(i, ()) if e[0] <= before][-limit:][::-1]

    def extract(e: tuple) -> dict[str, Any]:
        day, eid, kind, fid, department, code, note = e
        entry = icd10.get(code)
        return {"encounter_id": eid, "date": day.isoformat(), "end_date": None, "type": kind,
                "facility": w.facility_name.get(fid) if fid else None, "department": department,
                "diagnoses": [{"code": code, "name": entry.name_zh if entry else code}], "note": note}

    for r in [*ups, *downs]:
        day = _local_day(r.requested_at)
        if r.direction == "down" and r.stay is not None:
            found = [e for e in history.get(r.idx, ()) if e[1] == r.stay.id] or latest(r.idx, day)
        else:
            found = latest(r.idx, day)
        lines = [r.reason]
        if found:
            lines += ["", texts["summary_header"]]
            for e in found:
                x = extract(e)
                dx = f"{x['diagnoses'][0]['code']} {x['diagnoses'][0]['name']}"
                parts = [x["date"], texts["encounter_types"][x["type"]], x["facility"] or "", x["department"] or "", dx]
                lines.append(" ".join(p for p in parts if p))
        r.summary = "\n".join(lines)
    for c in consultations:
        c.extracts = json.dumps([extract(e) for e in latest(c.idx, _local_day(c.requested_at))], ensure_ascii=False)


def _referral_row(w: _World, r: _Referral) -> dict[str, Any]:
    uid, name = r.from_clinician
    return {
        "id": r.id, "resident_id": w.rid[r.idx], "direction": r.direction, "from_facility_id": r.from_facility,
        "from_clinician_id": uid, "from_clinician_name": name, "to_facility_id": r.to_facility,
        "to_department": r.department, "out_of_county": r.to_facility is None, "outside_facility_name": r.outside,
        "reason": r.reason, "diagnosis": r.code, "urgency": r.urgency, "summary": r.summary, "status": r.status,
        "requested_at": r.requested_at, "responded_at": r.responded_at, "responded_by": r.responded_by,
        "reject_reason": r.reject_reason, "arrived_at": r.arrived_at, "completed_at": r.completed_at,
        "discharge_summary": r.discharge_summary, "parent_id": r.parent.id if r.parent else None, "version": 1,
    }


def _consultation_row(w: _World, c: _Consultation) -> dict[str, Any]:
    return {
        "id": c.id, "resident_id": w.rid[c.idx], "from_facility_id": c.from_facility, "requester_id": c.requester[0],
        "requester_name": c.requester[1], "to_facility_id": c.to_facility, "department": c.department,
        "urgency": c.urgency,
        "question": w.spec["texts"]["consult_question"].format(diagnosis=icd10.get(c.code).name_zh),
        "extracts": c.extracts, "status": c.status, "requested_at": c.requested_at, "specialist_id": c.specialist[0],
        "specialist_name": c.specialist[1], "scheduled_at": c.scheduled_at, "opinion": c.opinion,
        "answered_at": c.answered_at, "version": 1,
    }


def _appointments(w: _World, rng: random.Random, reg: _Registration, first: date, last: date, counts: _Weighted,
                  partial_p: float, spread: tuple[int, int]) -> list[date]:
    """The days between `first` and `last` a patient was followed up face to face, on his own quarterly
    rhythm: an appointment every `interval_months` (the due rule's, care/data/chronic_programs.yaml) from his
    first one, each kept a few days before or after it. One registered in the window is first seen a rhythm
    after registering and keeps each appointment with `partial_p`; one registered before keeps, of each
    calendar year's four, as many as the data file's shares (a fifth visit falls between two), so a whole
    year inside the window has the data file's 规范管理 share. Kept days stay in their calendar year."""
    interval = chronic.rules().interval_months
    early, late = spread
    days: list[date] = []
    if reg.new:
        k = 1
        while (due := chronic.add_months(reg.registered_on, interval * k)) <= last - timedelta(days=early):
            if rng.random() < partial_p:
                day = due + timedelta(days=rng.randint(early, late))
                if first <= day <= last:
                    days.append(day)
            k += 1
        return days
    anchor = w.start + timedelta(days=rng.randint(0, 91))  # his first appointment of the window
    k = -2 * (12 // interval)
    while chronic.add_months(anchor, interval * k) >= date(first.year, 1, 1):
        k -= 1
    by_year: dict[int, list[date]] = {}
    while (due := chronic.add_months(anchor, interval * k)) <= date(last.year, 12, 31):
        if due.year >= first.year:
            by_year.setdefault(due.year, []).append(due)
        k += 1
    for year, slots in sorted(by_year.items()):
        n = counts.pick(rng)
        lo, hi = date(year, 1, 1), date(year, 12, 31)
        kept = [slots[j] + timedelta(days=rng.randint(early, late))
                for j in sorted(rng.sample(range(len(slots)), min(n, len(slots))))]
        kept += [lo + timedelta(days=rng.randint(0, (hi - lo).days)) for _ in range(n - len(slots))]
        days += [day for day in (min(hi, max(lo, d)) for d in kept) if first <= day <= last]
    return days


def _demo_village_overdue(w: _World, rng: random.Random, registrations: list[_Registration],
                          planned: dict[int, list[date]], share: float) -> None:
    """The demo village doctor's worklist has overdue patients as the county's has: when fewer than `share` of
    the village's patients under management are overdue on the reference date, the next ones (in order)
    missed their latest appointments — their face-to-face follow-ups of the last months are dropped."""
    r = chronic.rules()
    mine = [k for k in sorted(planned) if w.village[registrations[k].idx] == w.demo_village
            and registrations[k].closed_on is None]

    def overdue(k: int) -> bool:
        reg, days = registrations[k], planned[k]
        return chronic.schedule(registered_on=reg.registered_on, last_follow_up=max(days, default=None),
                                as_of=w.end)[2] == "overdue"

    missing = round_half_up(share * len(mine)) - sum(overdue(k) for k in mine)
    # A last follow-up on or before this day leaves the patient overdue on the reference date.
    latest = chronic.add_months(w.end - timedelta(days=r.overdue_grace_days + 1), -r.interval_months)
    for k in mine:
        if missing <= 0:
            break
        if overdue(k) or registrations[k].registered_on > latest:
            continue
        cut = latest - timedelta(days=rng.randint(0, 30))
        planned[k] = [d for d in planned[k] if d <= cut]
        missing -= overdue(k)


@dataclass
class _Habits:
    """One chronic patient's own values for the record form (data/care.yaml `chronic.record`)."""

    height_cm: Decimal
    bmi: float
    target_weight: Decimal | None
    smoking: int
    drinking: Decimal
    exercise: tuple[int, int]  # 次/周, 分钟/次
    salt: str
    drugs: list[dict[str, Any]]
    insulin: tuple[str, str] | None
    foot_pulse: tuple[str, str | None] | None  # 足背动脉搏动 (finding, side) of a diabetes patient
    staple_food_g: int = 0  # … his usual 主食 (克/天)


def _pick(rng: random.Random, shares: dict[str, float]) -> str:
    return rng.choices(list(shares), weights=[float(v) for v in shares.values()])[0]


def _habits(w: _World, rng: random.Random, reg: _Registration, spec: dict[str, Any]) -> _Habits:
    sex = "male" if w.sex[reg.idx] == MALE else "female"
    lo, hi = spec["height_cm"][sex]
    height = Decimal(rng.randint(lo * 10, hi * 10)).scaleb(-1)
    usual = rng.uniform(*spec["bmi"])
    metres = float(height) / 100
    target = None
    if usual > float(spec["target_bmi"]):
        target = Decimal(str(round(float(spec["target_bmi"]) * metres * metres, 1)))
    smoking = rng.randint(*spec["cigarettes"]) if rng.random() < spec["smokers"][sex] else 0
    drinking = Decimal(rng.randint(*spec["liang"])) if rng.random() < spec["drinkers"][sex] else Decimal(0)
    table = spec["drugs"][reg.program]
    drugs = [{"name": n, "times_per_day": t, "mg_per_dose": str(mg)}
             for n, t, mg in rng.sample(table, 2 if rng.random() < spec["two_drugs"] else 1)]
    insulin = None
    if reg.program == "diabetes" and rng.random() < spec["insulin"]:
        kind, how = rng.choice(spec["insulins"])
        insulin = (kind, how.format(u=rng.randint(*spec["insulin_units"])))
    pulse = None
    if reg.program == "diabetes":
        finding = _pick(rng, spec["foot_pulse"])
        pulse = (finding, None if finding == "normal" else rng.choice(["both", "left", "right"]))
    return _Habits(height, usual, target, smoking, drinking,
                   (rng.randint(*spec["exercise_per_week"]), rng.randint(*spec["exercise_minutes"])),
                   _pick(rng, spec["salt"]), drugs, insulin, pulse, rng.randint(*spec["staple_food_g"]))


def _record_columns(rng: random.Random, h: _Habits, program: chronic.Program, day: date, ok: bool,
                    spec: dict[str, Any]) -> dict[str, Any]:
    """A follow-up's record-form columns (体重, 体质指数, 心率, 服药依从性) and follow_ups.record, as the service
    stores them (chronic.FollowUpRecord): the patient's habits, varied a little from visit to visit."""
    metres = h.height_cm / 100
    weight = Decimal(str(round(h.bmi * float(metres * metres) + rng.uniform(-1.5, 1.5), 1)))
    codes = [c.code for c in program.symptoms if c.code != "none"]
    symptoms = sorted(rng.sample(codes, rng.randint(1, 2))) if rng.random() < spec["symptoms"] else ["none"]
    adherence = _pick(rng, spec["adherence_if_controlled" if ok else "adherence_otherwise"])
    fields: dict[str, Any] = {
        "symptoms": symptoms, "height_cm": h.height_cm, "target_weight_kg": h.target_weight,
        "target_bmi": None if h.target_weight is None else (h.target_weight / (metres * metres)).quantize(
            Decimal("0.1"), rounding=ROUND_HALF_UP),
        "smoking_per_day": h.smoking, "smoking_target": h.smoking // 2, "drinking_liang": h.drinking,
        "drinking_target": min(h.drinking, Decimal(1)), "exercise_per_week": h.exercise[0],
        "exercise_minutes": h.exercise[1], "exercise_target_per_week": max(h.exercise[0], 5),
        "exercise_target_minutes": max(h.exercise[1], 30), "salt": h.salt, "salt_target": "light",
        "psychology": _pick(rng, spec["levels"]), "compliance": _pick(rng, spec["levels"]),
        "medications": [] if adherence == "none" else h.drugs,
    }
    if "foot_pulse" in program.record_fields and h.foot_pulse is not None:
        fields.update(foot_pulse=h.foot_pulse[0], foot_pulse_side=h.foot_pulse[1],
                      staple_food_g=max(0, h.staple_food_g + rng.randint(-30, 30)) // 10 * 10,
                      staple_food_target_g=spec["staple_target_g"],
                      hypoglycaemia=_pick(rng, spec["hypoglycaemia"]))
        if rng.random() < spec["hba1c"]:
            fields.update(hba1c=Decimal(rng.randint(58, 72) if ok else rng.randint(72, 105)).scaleb(-1),
                          hba1c_date=day - timedelta(days=rng.randint(0, 28)))
        if h.insulin is not None:
            fields.update(insulin_type=h.insulin[0], insulin_dose=h.insulin[1])
    record = chronic.FollowUpRecord(**{k: v for k, v in fields.items() if v is not None})
    return {"weight_kg": weight, "bmi": (weight / (metres * metres)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP),
            "heart_rate": rng.randint(*spec["heart_rate"]), "adherence": adherence,
            "record": record.model_dump_json(exclude_defaults=True)}


def _demo_village_urgent(w: _World, rng: random.Random, registrations: list[_Registration],
                         planned: dict[int, list[date]], n: int) -> dict[int, date]:
    """`n` patients for the demo doctors' urgent referrals: registration index → the day in the week before the
    reference date of a follow-up that finds a 紧急转诊 value, for patients under management not overdue (so
    the overdue shares stay) — the demo village's first, then the rest of its township's (a small county's
    village may have one patient), each group in a random order. A day after his 2-week recheck could fall."""
    def overdue(k: int) -> bool:
        reg = registrations[k]
        return chronic.schedule(registered_on=reg.registered_on, last_follow_up=max(planned[k], default=None),
                                as_of=w.end)[2] == "overdue"

    groups: tuple[list[int], list[int]] = ([], [])
    for k in sorted(planned):
        village = w.village[registrations[k].idx]
        if village[:9] == w.demo_village[:9] and registrations[k].closed_on is None and planned[k] \
                and not overdue(k):
            groups[village != w.demo_village].append(k)
    for group in groups:
        rng.shuffle(group)
    return {k: w.end - timedelta(days=rng.randint(1, 7)) for k in (*groups[0], *groups[1])[:n]}


def _write_chronic(w: _World, rng: random.Random, registrations: list[_Registration], out: _Writer,
                   ids: dict[str, int], now: datetime, extra: random.Random) -> int:
    """Registrations and their follow-ups: each patient's quarterly appointments, face to face mostly;
    values in control for most of the patients who are mostly in control; a few urgent (紧急转诊), two of
    them the demo village's latest. The record form's other fields come from `extra`, a generator of their
    own, so that they leave the rest of the county as it was."""
    c = w.spec["chronic"]
    counts = _Weighted((int(k), float(v)) for k, v in c["follow_ups"].items())
    methods = _Weighted((k, float(v)) for k, v in c["methods"].items())
    phone_share = float(c["phone_extra"])
    partial_p = float(c["partial_year_quarter"])
    spread = (int(c["appointment_days"][0]), int(c["appointment_days"][1]))
    at_township = float(c["at_township"])
    p_ok = float(c["in_control_if_controlled"]), float(c["in_control_otherwise"])
    recheck_p = float(c["recheck_kept"])
    written = 0
    for reg in registrations:
        reg.id = ids["chronic_registrations"]
        ids["chronic_registrations"] += 1
        out.add("chronic_registrations", {
            "id": reg.id, "resident_id": w.rid[reg.idx], "program": reg.program, "registered_on": reg.registered_on,
            "source": reg.source, "encounter_id": reg.encounter_id, "facility_id": reg.facility_id,
            "status": "closed" if reg.closed_on else "active", "closed_on": reg.closed_on, "created_at": now,
        })
    out.flush()
    planned: dict[int, list[date]] = {}  # registration's index → its face-to-face days
    for k, reg in enumerate(registrations):
        first = max(w.start, reg.registered_on + timedelta(days=1))
        last = min(w.end, reg.closed_on - timedelta(days=1)) if reg.closed_on else w.end
        if first <= last:
            planned[k] = _appointments(w, rng, reg, first, last, counts, partial_p, spread)
    _demo_village_overdue(w, rng, registrations, planned, float(c["demo_village_overdue"]))
    forced = _demo_village_urgent(w, extra, registrations, planned, int(c["demo_village_urgent"]))
    urgent_share = float(c["urgent_share"])
    for k, reg in enumerate(registrations):
        if k not in planned:
            continue
        first = max(w.start, reg.registered_on + timedelta(days=1))
        last = min(w.end, reg.closed_on - timedelta(days=1)) if reg.closed_on else w.end
        days = planned[k]
        kinds = [methods.pick(rng) for _ in days]
        if days and rng.random() < phone_share:
            days.append(first + timedelta(days=rng.randint(0, (last - first).days)))
            kinds.append("phone")
        visits = dict(zip(days, kinds, strict=True))  # one follow-up a day: draws on the same day make one
        program = chronic.get_program(reg.program)
        habits = _habits(w, extra, reg, c["record"])
        previous: str | None = None
        latest = date.min
        queue = sorted(visits.items())
        while queue:
            day, method = queue.pop(0)
            ok = rng.random() < p_ok[0 if reg.controlled else 1]
            if ok:
                sbp, dbp = rng.randint(112, 138), rng.randint(64, 88)
            else:
                sbp, dbp = rng.randint(140, 176), rng.randint(76, 106)
            glucose = None
            if reg.program == "diabetes":
                glucose = Decimal(rng.randint(48, 69) if ok else rng.randint(70, 128)).scaleb(-1)
                sbp, dbp = rng.randint(110, 150), rng.randint(64, 94)
            # Classified by the rules, as the service does (此次随访分类, the next visit, the rules' version).
            age = age_on(w.birth[reg.idx], day)
            verdict = chronic.classify(program, {"sbp": sbp, "dbp": dbp, "fasting_glucose": glucose}, on=day,
                                       age=age, previous=previous)
            shown = verdict
            # A few follow-ups not in control find a 紧急转诊 value instead (from `extra`): the visits, their
            # rechecks and the county's rates stay as they were drawn.
            if not verdict.in_control and extra.random() < urgent_share:
                sbp, dbp, glucose = _urgent_values(extra, glucose)
                shown = chronic.classify(program, {"sbp": sbp, "dbp": dbp, "fasting_glucose": glucose}, on=day,
                                         age=age, previous=previous)
            previous = shown.classification
            # Not controlled: most patients come back for the 2-week recheck the rules set (分类干预), unless a
            # planned visit comes first.
            recheck = verdict.next_visit_on + timedelta(days=rng.randint(-4, 2))
            if (verdict.classification != "controlled" and method != "phone" and rng.random() < recheck_p
                    and recheck <= last and all(d > recheck for d, _ in queue)):
                queue.insert(0, (recheck, methods.pick(rng)))
            fid = w.own_centre(reg.idx) if rng.random() < at_township else reg.facility_id
            out.add("follow_ups", _follow_up_row(
                ids, reg, w.rid[reg.idx], day, method, (sbp, dbp, glucose), shown, fid, w.clinician(fid, rng)[1],
                now, _record_columns(extra, habits, program, day, shown.in_control, c["record"])))
            latest = max(latest, day)
            written += 1
        # The demo village's urgent referrals: one more follow-up, the patient's latest, in the last week.
        urgent_day = forced.get(k)
        if urgent_day is not None and urgent_day > latest:
            sbp, dbp, glucose = _urgent_values(extra, Decimal("7.5") if reg.program == "diabetes" else None)
            shown = chronic.classify(program, {"sbp": sbp, "dbp": dbp, "fasting_glucose": glucose}, on=urgent_day,
                                     age=age_on(w.birth[reg.idx], urgent_day), previous=previous)
            out.add("follow_ups", _follow_up_row(
                ids, reg, w.rid[reg.idx], urgent_day, "clinic", (sbp, dbp, glucose), shown, reg.facility_id,
                w.clinician(reg.facility_id, extra)[1], now,
                _record_columns(extra, habits, program, urgent_day, False, c["record"])))
            written += 1
    out.flush()
    return written


def _urgent_values(rng: random.Random, glucose: Decimal | None) -> tuple[int, int, Decimal | None]:
    """A follow-up's (SBP, DBP, glucose) that call for 紧急转诊 (chronic_programs.yaml: SBP ≥ 180 and/or DBP ≥
    110; a diabetes patient's glucose ≥ 16.7 half the time)."""
    if glucose is not None and rng.random() < 0.5:
        glucose = Decimal(rng.randint(167, 220)).scaleb(-1)
    return rng.randint(180, 198), rng.randint(92, 114), glucose


def _follow_up_row(ids: dict[str, int], reg: _Registration, resident_id: int, day: date, method: str,
                   values: tuple[int, int, Decimal | None], verdict: chronic.Verdict, facility_id: int | None,
                   clinician: str | None, now: datetime, record: dict[str, Any]) -> dict[str, Any]:
    """A follow_ups row (the next id) as the service writes it: the values, their classification, the record."""
    row = {"id": ids["follow_ups"], "registration_id": reg.id, "resident_id": resident_id, "date": day,
           "method": method, "sbp": values[0], "dbp": values[1], "fasting_glucose": values[2],
           "in_control": verdict.in_control, "adverse_reaction": False, "complication": False,
           "classification": verdict.classification, "refer_reason": verdict.refer_reason,
           "next_visit_on": verdict.next_visit_on, "rule_version": verdict.rule_version,
           "urgent_reasons": ",".join(verdict.urgent_reasons) or None,
           "facility_id": facility_id, "clinician_name": clinician, "note": None, "created_at": now, **record}
    ids["follow_ups"] += 1
    return row


def _calendar_years(w: _World) -> range:
    """The calendar years the window touches (three: the first and the last only in part)."""
    return range(w.start.year, w.end.year + 1)


def _write_health_checks(w: _World, rng: random.Random, programmes: dict[int, list[str]],
                         registrations: list[_Registration], out: _Writer, ids: dict[str, int], now: datetime) -> int:
    """Each calendar year's annual check of residents 65 and over (about 70 % of them) and a few general
    checks of adults, those that fall in the window."""
    hc = w.spec["health_checks"]
    months = _Weighted((m, float(v)) for m, v in enumerate(hc["elderly_months"], start=1))
    coverage, general = float(hc["elderly_coverage"]), float(hc["general_share"])
    controlled = {(r.idx, r.program): r.controlled for r in registrations}
    years = _calendar_years(w)
    written = 0
    for i in range(len(w.rid)):
        if w.birth[i] > w.end:
            continue
        turns_18, turns_65 = _add_years(w.birth[i], 18), _add_years(w.birth[i], 65)
        for year in years:
            lo, hi = date(year, 1, 1), date(year, 12, 31)
            if turns_65 <= hi:  # 65 by the year's end: the year's check from the 65th birthday on
                if rng.random() >= coverage:
                    continue
                day = date(year, months.pick(rng), rng.randint(1, 28))
                if turns_65 > day:
                    day = turns_65 + timedelta(days=rng.randint(0, (hi - turns_65).days))
                kind = "annual_65"
                fid = w.own_centre(i) if rng.random() < 0.85 else w.own_clinic(i)
            elif turns_18 <= lo and rng.random() < general:
                day = lo + timedelta(days=rng.randint(0, (hi - lo).days))
                kind = "general"
                fid = w.county["county_general"] if rng.random() < 0.5 else w.own_centre(i)
            else:
                continue
            if w.start <= day <= w.end:
                _write_check(w, rng, i, day, kind, fid, programmes.get(i, []), controlled, out, ids, now)
                written += 1
    out.flush()
    return written


def _write_check(w: _World, rng: random.Random, i: int, day: date, kind: str, fid: int, mine: list[str],
                 controlled: dict[tuple[int, str], bool], out: _Writer, ids: dict[str, int], now: datetime) -> None:
    male = w.sex[i] == MALE
    height = round(rng.triangular(152, 178, 165) if male else rng.triangular(144, 166, 154), 1)
    bmi_target = rng.triangular(17.0, 32.0, 23.5)
    weight = round(bmi_target * (height / 100) ** 2, 1)
    bmi = round(weight / (height / 100) ** 2, 1)
    if "hypertension" in mine:
        ok = rng.random() < (0.85 if controlled[(i, "hypertension")] else 0.25)
        sbp, dbp = ((rng.randint(115, 138), rng.randint(66, 88)) if ok
                    else (rng.randint(140, 175), rng.randint(80, 104)))
    else:
        sbp, dbp = ((rng.randint(108, 138), rng.randint(62, 88)) if rng.random() < 0.85
                    else (rng.randint(140, 160), rng.randint(80, 96)))
    glucose = rng.randint(60, 110) if "diabetes" in mine else (rng.randint(42, 61) if rng.random() < 0.94
                                                                 else rng.randint(61, 75))
    out.add("health_checks", {
        "id": ids["health_checks"], "resident_id": w.rid[i], "facility_id": fid, "date": day, "kind": kind,
        "height_cm": Decimal(f"{height:.1f}"), "weight_kg": Decimal(f"{weight:.1f}"), "bmi": Decimal(f"{bmi:.1f}"),
        "sbp": sbp, "dbp": dbp, "fasting_glucose": Decimal(glucose).scaleb(-1), "note": None,
        "created_by": DEMO_ACTOR, "created_at": now,
    })
    ids["health_checks"] += 1


def _write_screenings(w: _World, rng: random.Random, out: _Writer, ids: dict[str, int], now: datetime) -> int:
    """两癌筛查 (both on one day) of women 35–64, each every third year in her own year, a third of them a
    year; 产前筛查 for the mothers whose screening weeks fall in the window, of the children born by the
    reference date and of the pregnancies under way on it."""
    sc = w.spec["screenings"]
    lo_age, hi_age = (int(x) for x in sc["two_cancer_ages"])
    takes_part = min(1.0, float(sc["two_cancer_coverage"]) * 3)
    results = {k: _Weighted((r, float(p)) for r, p in sc[k].items()) for k in ("cervical", "breast", "prenatal")}
    years = _calendar_years(w)
    written = 0

    def add(i: int, day: date, kind: str, fid: int) -> None:
        nonlocal written
        out.add("screenings", {
            "id": ids["screenings"], "resident_id": w.rid[i], "facility_id": fid, "date": day, "kind": kind,
            "result": results[kind].pick(rng), "note": None, "created_by": DEMO_ACTOR, "created_at": now,
        })
        ids["screenings"] += 1
        written += 1

    for i in range(len(w.rid)):
        if w.sex[i] != FEMALE or not lo_age - 3 <= w.age[i] <= hi_age + 3 or rng.random() >= takes_part:
            continue
        own_year = rng.randrange(3)
        for year in years:
            if year % 3 != own_year:
                continue
            day = date(year, rng.randint(4, 10), rng.randint(1, 28))
            fid = w.county["county_mch"] if rng.random() < float(sc["two_cancer_at_mch"]) else w.own_centre(i)
            if w.start <= day <= w.end and lo_age <= age_on(w.birth[i], day) <= hi_age:
                add(i, day, "cervical", fid)
                add(i, day, "breast", fid)
    before_lo, before_hi = (int(x) for x in sc["prenatal_days_before_birth"])
    coverage = float(sc["prenatal_coverage"])

    def prenatal(m: int, birth: date) -> None:
        day = birth - timedelta(days=rng.randint(before_lo, before_hi))
        if w.start <= day <= w.end and rng.random() < coverage:
            fid = w.county["county_mch"] if rng.random() < float(sc["prenatal_at_mch"]) else w.own_centre(m)
            add(m, day, "prenatal", fid)

    for child in range(len(w.rid)):
        if w.mother[child] is not None:
            prenatal(w.mother[child], w.birth[child])
    # Pregnancies under way on the reference date (no child yet): as many births due in the next `before_hi`
    # days as there were in the same days a year before, to women of 20–40 — their screening weeks may have
    # come, so the current year's rate is not short of them.
    a_year_ago = w.end - timedelta(days=365)
    expected = sum(1 for child in range(len(w.rid)) if w.mother[child] is not None
                   and a_year_ago < w.birth[child] <= a_year_ago + timedelta(days=before_hi))
    women = [i for i in range(len(w.rid)) if w.sex[i] == FEMALE and 20 <= w.age[i] <= 40]
    for m in sorted(rng.sample(women, min(expected, len(women)))):
        prenatal(m, w.end + timedelta(days=rng.randint(1, before_hi)))
    out.flush()
    return written


def _sync_sequences(conn: Connection) -> None:
    """PostgreSQL: move the care tables' id sequences past the ids written here."""
    if conn.dialect.name != "postgresql":
        return
    for table in CARE_TABLES:
        conn.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
        ))
