"""Grouping the drawn residents into households (户) of a rural county, keeping the age pyramid exact.

Everyone drawn is placed, so the pyramid is untouched; households are formed by matching people of
plausible ages: children first (a mother 20–42 years older, usually a father near her age, often a
brother or sister, sometimes the householder's parents; some children left with their grandparents
while the parents work away), then grown children still at home, then couples and people living
alone, widowed elders moving in with a son or daughter. Pure: no database, randomness from `rng`.
"""
from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from weijian.demo.census import FEMALE, MALE, Person

MAX_AGE = 110
# Relations in the order members are listed (and written: a mother is written before her children).
RELATION_ORDER = {"head": 0, "spouse": 1, "parent": 2, "son": 3, "daughter": 3, "grandchild": 4, "other": 5}

# Shape of the county's families (weijian's assumptions for rural Hubei, tuned so that households
# average about 2.6–3 people, as the 2020 census found for such counties).
P_LEFT_BEHIND = 0.10  # a child living with grandparents while the parents work away
P_FATHER_AT_HOME = 0.92
EXTRA_CHILDREN = ((0, 0.45), (1, 0.43), (2, 0.12))  # brothers and sisters of the first child
P_THREE_GENERATIONS = 0.30  # a family with children also houses the householder's parent(s)
P_GROWN_CHILD = 0.35  # a family with a householder aged 40–65 keeps a grown child (18–29) at home
P_ELDER_MOVES_IN = 0.45  # a widowed person aged 70+ lives with a son or daughter
P_ELDER_COUPLE_MOVES_IN = 0.15


def married_share(age: int) -> float:
    if age < 22:
        return 0.08
    if age < 25:
        return 0.35
    if age < 30:
        return 0.70
    if age < 60:
        return 0.90
    if age < 70:
        return 0.82
    if age < 80:
        return 0.65
    return 0.40


@dataclass
class Household:
    members: list[tuple[int, str]] = field(default_factory=list)  # (person index, relation_to_head)
    head_age: int = 0
    parents: int = 0

    def ordered(self) -> list[tuple[int, str]]:
        return sorted(self.members, key=lambda m: RELATION_ORDER[m[1]])


class _Pools:
    """The people not yet placed, by sex and single year of age. Lists are in random order (the people
    were drawn shuffled); a person placed by other means is marked and skipped when reached."""

    def __init__(self, people: list[Person], rng: random.Random) -> None:
        if any(p.age > MAX_AGE for p in people):
            raise ValueError(f"ages above {MAX_AGE} are not supported")
        self.ages = [p.age for p in people]
        self.sexes = [p.sex for p in people]
        self.rng = rng
        self.taken = bytearray(len(people))
        self.by: list[list[list[int]]] = [[[] for _ in range(MAX_AGE + 1)] for _ in (MALE, FEMALE)]
        self.live: list[list[int]] = [[0] * (MAX_AGE + 1) for _ in (MALE, FEMALE)]
        for i, (a, s) in enumerate(zip(self.ages, self.sexes, strict=True)):
            self.by[s][a].append(i)
            self.live[s][a] += 1

    def mark(self, i: int) -> None:
        self.taken[i] = 1
        self.live[self.sexes[i]][self.ages[i]] -= 1

    def _pop(self, sex: int, a: int) -> int:
        pool, taken = self.by[sex][a], self.taken
        while True:
            i = pool.pop()
            if not taken[i]:
                self.mark(i)
                return i

    def take(self, sex: int, lo: int, hi: int, target: int | None = None) -> int | None:
        """Someone of `sex` aged lo..hi: aged `target` when there is one, else drawn from who is left."""
        lo, hi = max(lo, 0), min(hi, MAX_AGE)
        if lo > hi:
            return None
        live = self.live[sex]
        if target is not None and lo <= target <= hi and live[target]:
            return self._pop(sex, target)
        total = sum(live[lo:hi + 1])
        if not total:
            return None
        r = self.rng.randrange(total)
        for a in range(lo, hi + 1):
            if r < live[a]:
                return self._pop(sex, a)
            r -= live[a]
        raise AssertionError("unreachable")

    def take_any(self, lo: int, hi: int, target: int | None = None) -> int | None:
        first = MALE if self.rng.random() < 0.5 else FEMALE
        found = self.take(first, lo, hi, target)
        return found if found is not None else self.take(1 - first, lo, hi, target)


def _has_room_for(arriving: int, household: Household) -> bool:
    return household.parents + arriving <= 2  # a household takes in two parents at most


def form_households(people: list[Person], rng: random.Random) -> list[Household]:
    """Every person in exactly one household, each with exactly one head."""
    pools = _Pools(people, rng)
    ages, sexes = pools.ages, pools.sexes
    households: list[Household] = []
    by_head_age: list[list[int]] = [[] for _ in range(MAX_AGE + 1)]
    age = ages.__getitem__

    def child_relation(i: int) -> str:
        return "son" if sexes[i] == MALE else "daughter"

    def new(head: int) -> Household:
        h = Household(members=[(head, "head")], head_age=ages[head])
        households.append(h)
        by_head_age[ages[head]].append(len(households) - 1)
        return h

    def find(lo: int, hi: int, accept: Callable[[Household], bool] | None = None) -> Household | None:
        """A random household whose head is aged lo..hi (and that `accept`s)."""
        ages = [a for a in range(max(lo, 0), min(hi, MAX_AGE) + 1) if by_head_age[a]]
        for _ in range(6):
            if not ages:
                return None
            hh = households[rng.choice(by_head_age[rng.choice(ages)])]
            if accept is None or accept(hh):
                return hh
        return None

    # 1. Children (0–17) and the families around them.
    orphans: list[int] = []
    taken = pools.taken
    for child in range(len(people)):
        if taken[child] or ages[child] > 17:
            continue
        pools.mark(child)
        c_age = age(child)
        household = None
        if rng.random() < P_LEFT_BEHIND:
            gp = pools.take(MALE, c_age + 45, c_age + 75, c_age + rng.randint(50, 60))
            if gp is None:
                gp = pools.take(FEMALE, c_age + 43, c_age + 75, c_age + rng.randint(48, 58))
            if gp is not None:
                household = new(gp)
                g_age, g_sex = ages[gp], sexes[gp]
                if rng.random() < 0.8:
                    partner = (pools.take(FEMALE, g_age - 6, g_age + 2, g_age - 2) if g_sex == MALE
                               else pools.take(MALE, g_age - 2, g_age + 6, g_age + 2))
                    if partner is not None:
                        household.members.append((partner, "spouse"))
                household.members.append((child, "grandchild"))
                if rng.random() < 0.4:
                    sib = pools.take_any(max(0, c_age - 6), min(17, c_age + 6))
                    if sib is not None:
                        household.members.append((sib, "grandchild"))
        if household is None:
            mother = pools.take(FEMALE, c_age + 20, c_age + 42, c_age + rng.randint(22, 32))
            if mother is None:
                orphans.append(child)
                continue
            m_age = age(mother)
            father = None
            if rng.random() < P_FATHER_AT_HOME:
                father = pools.take(MALE, m_age - 2, m_age + 8, m_age + rng.choice((0, 1, 2, 2, 3, 3, 4, 5)))
            if father is not None:
                household = new(father)
                household.members.append((mother, "spouse"))
            else:
                household = new(mother)
            household.members.append((child, child_relation(child)))
            extra = _pick(rng, EXTRA_CHILDREN)
            for _ in range(extra):
                sib = pools.take_any(max(0, m_age - 42), min(25, m_age - 20), c_age + rng.choice((-5, -3, -2, 2, 3, 5)))
                if sib is None:
                    break
                household.members.append((sib, child_relation(sib)))
            if rng.random() < P_THREE_GENERATIONS:
                h_age = household.head_age
                gf = pools.take(MALE, h_age + 22, h_age + 42, h_age + rng.randint(25, 32))
                gm = pools.take(FEMALE, h_age + 20, h_age + 40, h_age + rng.randint(23, 30))
                for p in (gf, gm):
                    if p is not None:
                        household.members.append((p, "parent"))
                        household.parents += 1

    # 2. Grown children still living with their parents.
    for hh in list(households):
        if 40 <= hh.head_age <= 65 and rng.random() < P_GROWN_CHILD:
            # 20 years younger than the householder and the householder's spouse.
            youngest = min(ages[i] for i, rel in hh.members if rel in ("head", "spouse"))
            grown = pools.take_any(18, min(29, youngest - 20))
            if grown is not None:
                hh.members.append((grown, child_relation(grown)))

    # 3. Everyone else aged 18+: couples, people alone, elders living with their children.
    for anchor in range(len(people)):
        if taken[anchor]:
            continue
        pools.mark(anchor)
        a_age, a_sex = ages[anchor], sexes[anchor]
        spouse = None
        if rng.random() < married_share(a_age):
            spouse = (pools.take(FEMALE, a_age - 8, a_age + 3, a_age - rng.choice((0, 1, 2, 2, 3)))
                      if a_sex == MALE else
                      pools.take(MALE, a_age - 3, a_age + 8, a_age + rng.choice((0, 1, 2, 2, 3))))
        if a_age >= 70:
            moves_in = P_ELDER_COUPLE_MOVES_IN if spouse is not None else P_ELDER_MOVES_IN
            if rng.random() < moves_in:
                # The householder is 20–40 years younger than each of them.
                youngest = a_age if spouse is None else min(a_age, ages[spouse])
                oldest = a_age if spouse is None else max(a_age, ages[spouse])
                arriving = 2 if spouse is not None else 1
                host = find(oldest - 40, youngest - 20, partial(_has_room_for, arriving))
                if host is not None:
                    for p in (anchor, spouse):
                        if p is not None:
                            host.members.append((p, "parent"))
                            host.parents += 1
                    continue
        if spouse is None:
            new(anchor)
            continue
        husband, wife = (anchor, spouse) if a_sex == MALE else (spouse, anchor)
        head, partner = (husband, wife) if rng.random() < 0.92 else (wife, husband)
        new(head).members.append((partner, "spouse"))

    # 4. Children no family could take in above: with the family of someone old enough to be a parent
    # or grandparent; failing that (a tiny county), anywhere.
    for child in orphans:
        c_age = age(child)
        hh = find(c_age + 20, c_age + 45)
        if hh is not None:
            hh.members.append((child, child_relation(child)))
            continue
        hh = find(c_age + 46, MAX_AGE)
        if hh is not None:
            hh.members.append((child, "grandchild"))
            continue
        if households:
            rng.choice(households).members.append((child, "other"))
        else:
            new(child)
    return households


def _pick(rng: random.Random, table: tuple[tuple[int, float], ...]) -> int:
    r = rng.random()
    for value, p in table:
        if r < p:
            return value
        r -= p
    return table[-1][0]


def assign_villages(households: list[Household], targets: list[int], rng: random.Random) -> list[tuple[int, int]]:
    """(household index, village index) for every household, grouped by village in village order: the
    households are shuffled (so villages get a mix), then fill the villages in turn up to their target
    number of residents."""
    order = list(range(len(households)))
    rng.shuffle(order)
    out: list[tuple[int, int]] = []
    v, filled, cumulative = 0, 0, targets[0] if targets else 0
    for hi in order:
        while v < len(targets) - 1 and filled >= cumulative:
            v += 1
            cumulative += targets[v]
        out.append((hi, v))
        filled += len(households[hi].members)
    return out
