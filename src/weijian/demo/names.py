"""Names, identity numbers and phone numbers for the demo residents.

Names come from Faker's zh_CN person tables (surnames with their frequency weights, given names by sex),
drawn with the build's seeded `random.Random`: calling Faker itself for each of 400,000 names is about
fifty times slower, and one seeded generator for the whole build keeps it reproducible.
"""
from __future__ import annotations

import random
from bisect import bisect
from datetime import date
from itertools import accumulate

from faker.providers.person.zh_CN import Provider as _ZhPerson

from weijian.core.identifiers import check_char
from weijian.demo.census import MALE

_SURNAMES: list[str] = list(_ZhPerson.last_names)
_SURNAME_CUM: list[float] = list(accumulate(float(w) for w in _ZhPerson.last_names.values()))
_GIVEN = (list(_ZhPerson.first_names_male), list(_ZhPerson.first_names_female))
# Share of given names made of two single-character names of the table (伟 + 强 → 伟强): the table
# alone has few two-character names, which most rural residents have. A fixed pool of such names (not
# every pair) keeps the number of distinct full names, whose pinyin is computed once each, moderate.
P_COMPOSED = 0.45
COMPOSED_PER_SEX = 120


def _composed_pool(singles: list[str], rng: random.Random) -> list[str]:
    pool: dict[str, None] = {}
    while len(pool) < COMPOSED_PER_SEX:
        a, b = rng.choice(singles), rng.choice(singles)
        if a != b:
            pool[a + b] = None
    return list(pool)


_POOL_RNG = random.Random(11643)  # fixed: the pool is the same for every build
_COMPOSED = tuple(_composed_pool([g for g in names if len(g) == 1], _POOL_RNG) for names in _GIVEN)
# Mobile prefixes of the three carriers (11 digits in all).
MOBILE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153",
                   "155", "156", "157", "158", "159", "166", "173", "175", "176", "177", "178", "180", "181",
                   "182", "183", "185", "186", "187", "188", "189", "191", "198", "199")


def surname(rng: random.Random) -> str:
    return _SURNAMES[bisect(_SURNAME_CUM, rng.random() * _SURNAME_CUM[-1])]


def given_name(rng: random.Random, sex: int) -> str:
    names = (_COMPOSED if rng.random() < P_COMPOSED else _GIVEN)[0 if sex == MALE else 1]
    return names[int(rng.random() * len(names))]


def mobile(rng: random.Random) -> str:
    return MOBILE_PREFIXES[int(rng.random() * len(MOBILE_PREFIXES))] + f"{int(rng.random() * 100_000_000):08d}"


class IdNumbers:
    """Hands out identity numbers unique in the build: per address code, birth date and sex a running
    sequence (odd for men, even for women) that starts at a random point, as real ones seem to."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._next: dict[int, int] = {}
        self._divisions: dict[str, int] = {}

    def issue(self, division: str, birth: date, sex: int) -> str:
        d = self._divisions.setdefault(division, len(self._divisions))
        key = ((d * 1_000_000 + birth.toordinal()) << 1) | (sex == MALE)
        m = self._next.get(key)
        if m is None:
            m = 1 + int(self.rng.random() * 120)
        if m > 499:
            raise ValueError(f"too many residents of one sex born on {birth} under address code {division}")
        self._next[key] = m + 1
        body = f"{division}{birth.year:04d}{birth.month:02d}{birth.day:02d}{2 * m + (1 if sex == MALE else 0):03d}"
        return body + check_char(body)
