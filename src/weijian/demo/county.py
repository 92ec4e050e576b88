"""The demo county's fixed shape (townships, villages, facilities) and how its beds and physicians are
scaled to a number of residents. Pure functions of data/yingshan.yaml: no database, no randomness that
depends on the build's seed (the map is the same for every build).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from weijian.core.identifiers import division_level, township_kind, village_kind

DATA_FILE = Path(__file__).resolve().parent / "data" / "yingshan.yaml"
# The map's own seed: village names and sizes do not change with `--seed`.
_GEOGRAPHY_SEED = 421124


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    level: str  # county | township | village
    kind: str | None
    parent_code: str | None
    urban_rural_class: str | None
    weight: float = 0.0  # villages: relative number of residents


@dataclass(frozen=True)
class FacilitySpec:
    key: str  # county facilities: their key; others: the org unit's code
    code: str
    name: str
    type: str
    grade: str
    orgunit_code: str
    community_role: str
    level: str  # county | township | village: which share of beds and physicians it draws on
    weight: float  # within its level


@dataclass(frozen=True)
class Capacity:
    beds_approved: int
    beds_open: int
    physicians: int
    assistant_physicians: int

    @property
    def licensed(self) -> int:
        return self.physicians + self.assistant_physicians


@dataclass(frozen=True)
class County:
    county: Unit
    townships: list[Unit]
    villages: list[Unit]
    facilities: list[FacilitySpec]
    data: dict[str, Any]
    units: dict[str, Unit]  # every unit by code

    def unit(self, code: str) -> Unit:
        return self.units[code]


# --- the map ----------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def data() -> dict[str, Any]:
    return yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def load() -> County:
    """The county, its 11 townships and 236 villages, and its facilities; ValueError naming the file
    when the data breaks a rule of the statistics office's codes."""
    d = data()

    def fail(msg: str) -> None:
        raise ValueError(f"{DATA_FILE}: {msg}")

    rng = random.Random(_GEOGRAPHY_SEED)
    names = d["names"]
    c = d["county"]
    if division_level(c["code"]) != "county":
        fail(f"county code {c['code']} is not a county's")
    county = Unit(c["code"], c["name"], "county", None, None, None)
    townships: list[Unit] = []
    villages: list[Unit] = []
    used_names: set[str] = set()
    syllables = [a + b for a in names["village_first"] for b in names["village_second"]]
    for t in d["townships"]:
        code, kind = t["code"], township_kind(t["code"])
        if division_level(code) != "township" or code[:6] != county.code[:6]:
            fail(f"township {code} is not a township of {county.code}")
        if not t["name"].endswith(names["township_suffix"].get(kind, "\0")):
            fail(f"township {code} ({t['name']}): its code is outside the range of its kind (towns 100-199, "
                 "townships 200-399)")
        townships.append(Unit(code, t["name"], "township", kind, county.code, None))
        communities = list(t.get("communities") or [])
        n_villages = int(t["villages"]) - len(communities)
        if n_villages < 1:
            fail(f"township {code} needs at least one villagers' committee")
        for i, short in enumerate(communities, start=1):
            name = short + names["community_suffix"]
            if name in used_names:
                fail(f"community name {name} is used twice")
            used_names.add(name)
            # The county seat's communities are its main urban area; a town's own is its town centre.
            cls = "111" if t.get("seat") else "121"
            weight = rng.uniform(2.5, 4.0) if t.get("seat") else rng.uniform(1.5, 2.5)
            villages.append(Unit(f"{code[:9]}{i:03d}", name, "village", "residents_committee", code, cls, weight))
        for i in range(n_villages):
            while True:
                name = rng.choice(syllables) + names["village_suffix"]
                if name not in used_names:
                    break
            used_names.add(name)
            # A township's first village holds its seat (乡中心区); near the county seat, the fringe.
            if t.get("seat"):
                cls = "112" if i < 4 else "220"
            elif kind == "township" and i == 0:
                cls = "210"
            else:
                cls = "220"
            villages.append(Unit(f"{code[:9]}{200 + 1 + i:03d}", name, "village", "villagers_committee", code,
                                 cls, rng.uniform(0.6, 1.5)))
    for v in villages:
        if village_kind(v.code) != v.kind:
            fail(f"village {v.code} ({v.name}) has a code outside its kind's range")
    units = {u.code: u for u in (county, *townships, *villages)}
    return County(county, townships, villages, _facilities(d, county, townships, villages), d, units)


def _facilities(d: dict[str, Any], county: Unit, townships: list[Unit], villages: list[Unit]) -> list[FacilitySpec]:
    spec = d["facilities"]
    out = [
        FacilitySpec(f["key"], f"{county.code}-{i:02d}", f["name"], f["type"], f["grade"], county.code, f["role"],
                     f["key"], 1.0)
        for i, f in enumerate(spec["county"], start=1)
    ]
    weights = township_weights(townships, villages)
    ts, vs = spec["township"], spec["village"]
    seat = next(t.code for t, raw in zip(townships, d["townships"], strict=True) if raw.get("seat"))
    for t in townships:
        suffix = ts["seat_suffix"] if t.code == seat else ts["suffix"]
        out.append(FacilitySpec(t.code, f"{t.code}-01", t.name + suffix, ts["type"], ts["grade"], t.code, ts["role"],
                                "township", weights[t.code]))
    for v in villages:
        out.append(FacilitySpec(v.code, f"{v.code}-01", v.name + vs["suffix"], vs["type"], vs["grade"], v.code,
                                vs["role"], "village", v.weight))
    return out


def township_weights(townships: list[Unit], villages: list[Unit]) -> dict[str, float]:
    out = {t.code: 0.0 for t in townships}
    for v in villages:
        out[v.parent_code] += v.weight
    return out


# --- scaling to a number of residents --------------------------------------------------------------
def round_half_up(x: float) -> int:
    return int(x + 0.5) if x >= 0 else -int(-x + 0.5)


def largest_remainder(total: int, weights: list[float]) -> list[int]:
    """Split `total` into integers proportional to `weights` that add up to exactly `total` (Hamilton's
    method; ties go to the earlier entry, so the split is deterministic)."""
    if total < 0:
        raise ValueError("total must not be negative")
    s = sum(weights)
    if not weights or s <= 0:
        if total:
            raise ValueError("cannot split a positive total over no weight")
        return [0] * len(weights)
    quotas = [total * w / s for w in weights]
    parts = [int(q) for q in quotas]
    short = total - sum(parts)
    order = sorted(range(len(weights)), key=lambda i: (-(quotas[i] - parts[i]), i))
    for i in order[:short]:
        parts[i] += 1
    return parts


def capacity_totals(residents: int, county: County | None = None) -> tuple[int, int]:
    """(open beds, licensed + assistant physicians) for the county at `residents` residents: the
    reported per-1,000 figures times residents / 1,000, rounded half up."""
    cap = (county or load()).data["capacity"]
    return (round_half_up(cap["beds_per_1000"] * residents / 1000),
            round_half_up(cap["physicians_per_1000"] * residents / 1000))


def allocate_capacity(residents: int, county: County | None = None) -> dict[str, Capacity]:
    """Each facility's current beds and physicians (by facility key) for `residents` residents. The
    county's totals are exact (see capacity_totals): shares by level, then by weight within a level,
    each split by largest remainder."""
    county = county or load()
    cap = county.data["capacity"]
    beds, physicians = capacity_totals(residents, county)
    groups = list(cap["bed_shares"])
    if list(cap["physician_shares"]) != groups:
        raise ValueError(f"{DATA_FILE}: bed_shares and physician_shares must name the same groups")
    bed_parts = dict(zip(groups, largest_remainder(beds, [cap["bed_shares"][g] for g in groups]), strict=True))
    phys_parts = dict(zip(groups, largest_remainder(physicians, [cap["physician_shares"][g] for g in groups]),
                          strict=True))
    out: dict[str, Capacity] = {}
    for group in groups:
        members = [f for f in county.facilities if f.level == group]
        if not members:
            if bed_parts[group] or phys_parts[group]:
                raise ValueError(f"{DATA_FILE}: capacity group {group} has no facility")
            continue
        weights = [f.weight for f in members]
        for f, b, p in zip(members, largest_remainder(bed_parts[group], weights),
                           largest_remainder(phys_parts[group], weights), strict=True):
            assistants = min(p, round_half_up(p * cap["assistant_share"][group]))
            approved = b + round_half_up(b * cap["approved_over_open"])
            out[f.key] = Capacity(approved, b, p - assistants, assistants)
    return out


def prior_capacity(current: Capacity, county: County | None = None) -> Capacity:
    """The prior year's snapshot of a facility: a little smaller than now."""
    ratio = (county or load()).data["capacity"]["prior_ratio"]
    beds = round_half_up(current.beds_open * ratio["beds"])
    return Capacity(
        beds_approved=max(beds, round_half_up(current.beds_approved * ratio["beds"])),
        beds_open=beds,
        physicians=round_half_up(current.physicians * ratio["physicians"]),
        assistant_physicians=round_half_up(current.assistant_physicians * ratio["physicians"]),
    )


def as_of_dates(county: County | None = None) -> tuple[date, date]:
    cap = (county or load()).data["capacity"]
    return cap["as_of"], cap["prior_as_of"]


def village_populations(residents: int, county: County | None = None) -> list[int]:
    """Target residents per village (in the order of County.villages), adding up to `residents`."""
    county = county or load()
    return largest_remainder(residents, [v.weight for v in county.villages])
