"""The demo county's age–sex pyramid (data/census_2020.yaml) and drawing residents from it.

A build draws an exact number of residents for every 5-year group and sex (largest remainder), so even a
small county matches the pyramid as closely as whole people allow.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import yaml

from weijian.demo.county import largest_remainder

DATA_FILE = Path(__file__).resolve().parent / "data" / "census_2020.yaml"
MALE, FEMALE = 0, 1


@dataclass(frozen=True)
class AgeGroup:
    lo: int
    hi: int  # inclusive
    share: float  # of the county's residents, after the rural factor (sums to 1 over the groups)
    male_share: float  # of the group

    @property
    def label(self) -> str:
        return f"{self.lo}-{self.hi}"


class Person(NamedTuple):
    age: int  # completed years at the reference date
    sex: int  # MALE | FEMALE
    birth_date: date


@lru_cache(maxsize=1)
def age_groups() -> tuple[AgeGroup, ...]:
    """The county's 5-year groups with their shares; ValueError naming the file when it is malformed."""
    data = yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))
    rows = data.get("groups") or []
    weighted: list[tuple[int, int, float, float]] = []
    expect = 0
    for row in rows:
        lo, hi = (int(x) for x in str(row["ages"]).split("-"))
        if lo != expect or hi < lo:
            raise ValueError(f"{DATA_FILE}: age groups must be contiguous from 0 (at {row['ages']})")
        expect = hi + 1
        ratio = float(row["sex_ratio"])
        weighted.append((lo, hi, float(row["count"]) * float(row["rural_factor"]), ratio / (100.0 + ratio)))
    if not weighted:
        raise ValueError(f"{DATA_FILE}: no age groups")
    total = sum(w for _, _, w, _ in weighted)
    return tuple(AgeGroup(lo, hi, w / total, m) for lo, hi, w, m in weighted)


def share_between(lo: int, hi: int | None = None) -> float:
    """The pyramid's share of residents aged lo..hi (inclusive; hi None: and over); bounds must fall on
    group boundaries."""
    total = 0.0
    for g in age_groups():
        if g.lo >= lo and (hi is None or g.hi <= hi):
            total += g.share
        elif g.lo < lo <= g.hi or (hi is not None and g.lo <= hi < g.hi):
            raise ValueError(f"{lo}-{hi} does not fall on the pyramid's 5-year groups")
    return total


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def draw_people(n: int, rng: random.Random, reference_date: date) -> list[Person]:
    """`n` residents, in random order, whose counts per group and sex follow the pyramid exactly (up to
    rounding); ages uniform within a group, birth dates uniform within a year of age."""
    groups = age_groups()
    weights: list[float] = []
    for g in groups:
        weights += [g.share * g.male_share, g.share * (1 - g.male_share)]
    counts = largest_remainder(n, weights)
    # Birth dates of each age as (first day's ordinal, number of days): drawing is then one random().
    days = {}
    for age in range(groups[-1].hi + 1):
        latest = _years_before(reference_date, age)
        earliest = _years_before(reference_date, age + 1) + timedelta(days=1)
        days[age] = (earliest.toordinal(), (latest - earliest).days + 1)
    random_ = rng.random
    fromordinal = date.fromordinal
    people: list[Person] = []
    for gi, g in enumerate(groups):
        width = g.hi - g.lo + 1
        for sex in (MALE, FEMALE):
            for _ in range(counts[2 * gi + sex]):
                age = g.lo + int(random_() * width)
                first, span = days[age]
                people.append(Person(age, sex, fromordinal(first + int(random_() * span))))
    rng.shuffle(people)
    return people


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)
