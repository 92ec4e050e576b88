"""Children with nothing left to give, told apart in SQL (recall lists): most children of a county, everyone
from 7 to 18 who had every dose, so the recall list reads neither their doses nor runs the engine for them."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from weijian.immunization.models import Vaccination
from weijian.immunization.schedule import engine
from weijian.immunization.schedule.rules import VACCINE_CODES, Edition

CHUNK = 2000  # ids per IN (...) list


def chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    items = sorted(set(ids))
    for k in range(0, len(items), CHUNK):
        yield items[k:k + CHUNK]


# --- complete histories, found in SQL -------------------------------------------------------------
# Most children of a county (everyone from 7 to 18 who had every dose) have nothing left to give. One
# aggregate query tells them apart without reading their doses: per child, each vaccine code's count and
# the sum of its dose numbers, packed as 4-bit digits into two integers, and the highest dose number.
# With each code's numbers distinct (the table's unique key) and none above 5 (so no digit overflows),
# "count n, sum n(n+1)/2" means doses 1..n; every series the child follows full means the engine would
# find every dose given. A child with doses of two variants of one series (JE-L and JE-I) is left to the
# engine, which follows the variant given last. Doses dated before birth are not looked for here (the
# records service refuses them); `is_complete` is the same rule on a history in memory.
_CODES = (*VACCINE_CODES, "other")  # "other": a code outside the schedule files (never complete)
_BITS = 4
_MAX_DOSE = 5  # 1 + … + 5 = 15: the largest dose-number sum a 4-bit digit holds


def _signature_columns() -> list[ColumnElement[Any]]:
    weight = {code: 1 << (_BITS * k) for k, code in enumerate(VACCINE_CODES)}
    counts = case(weight, value=Vaccination.vaccine, else_=1 << (_BITS * len(VACCINE_CODES)))
    sums = case(weight, value=Vaccination.vaccine, else_=0) * Vaccination.dose
    return [func.sum(counts), func.sum(sums), func.max(Vaccination.dose)]


def signature(counts: dict[str, int]) -> tuple[int, int]:
    """The (counts, sums) integers of a history with `counts[code]` doses of each code, numbered 1..n."""
    c = s = 0
    for code, n in counts.items():
        k = _CODES.index(code) if code in _CODES else len(VACCINE_CODES)
        c += n << (_BITS * k)
        s += (n * (n + 1) // 2) << (_BITS * k) if code in VACCINE_CODES else 0
    return c, s


_complete_sets: dict[int, frozenset[tuple[int, int]] | None] = {}


def complete_signatures(edition: Edition) -> frozenset[tuple[int, int]] | None:
    """Every (counts, sums) signature of a complete history in `edition`: per series with alternatives one
    variant full and the others empty; a series taking several codes (IPV and bOPV) full in any split.
    None when a series is longer than the digits allow (then nothing is screened)."""
    if id(edition) in _complete_sets:
        return _complete_sets[id(edition)]
    if max(len(s.doses) for s in edition.series.values()) > _MAX_DOSE:
        _complete_sets[id(edition)] = None
        return None

    def splits(size: int, codes: list[str]) -> list[dict[str, int]]:
        if len(codes) == 1:
            return [{codes[0]: size}]
        return [{codes[0]: k, **rest} for k in range(size + 1) for rest in splits(size - k, codes[1:])]

    per_group = [[split for s in group for split in splits(len(s.doses), sorted(s.accepts))]
                 for group in edition.groups]
    out: set[tuple[int, int]] = set()

    def walk(i: int, counts: dict[str, int]) -> None:
        if i == len(per_group):
            out.add(signature({c: n for c, n in counts.items() if n}))
            return
        for split in per_group[i]:
            walk(i + 1, {**counts, **split})

    walk(0, {})
    result = _complete_sets[id(edition)] = frozenset(out)
    return result


def complete_among(session: Session, ids: list[int], cutoff: date, edition: Edition) -> set[int]:
    """The children `ids` whose doses by `cutoff` make a complete history (see above): one aggregate query
    per CHUNK children."""
    complete = complete_signatures(edition)
    out: set[int] = set()
    if complete is None:
        return out
    for chunk in chunks(ids):
        rows = session.connection().execute(
            select(Vaccination.resident_id, *_signature_columns())
            .where(Vaccination.resident_id.in_(chunk), Vaccination.date <= cutoff)
            .group_by(Vaccination.resident_id)).all()
        out.update(rid for rid, counts, sums, top in rows
                   if top <= _MAX_DOSE and (int(counts), int(sums)) in complete)
    return out


def is_complete(edition: Edition, birth: date, given: Sequence[engine.GivenDose]) -> bool:
    """Whether every series the child follows is full in `edition`, by a history that looks sound (no
    dose before birth, each code's doses numbered 1..n): then the engine would report every dose given
    and nothing to do. Anything else, including a history the engine might refuse, is left to it."""
    series_of = edition.series_of_code
    counts: dict[str, int] = {}
    latest: dict[str, date] = {}
    per_code: dict[str, int] = {}
    top: dict[str, int] = {}
    for code, n, on in given:
        s = series_of.get(code)
        if s is None or on < birth:
            return False
        sid = s.id
        counts[sid] = counts.get(sid, 0) + 1
        if on > latest.get(sid, date.min):
            latest[sid] = on
        per_code[code] = per_code.get(code, 0) + 1
        if n > top.get(code, 0):
            top[code] = n
    if per_code != top:
        return False
    for group in edition.groups:
        chosen = group[0]
        if len(group) > 1:  # the engine's rule: the variant given most recently, else the default
            best = None
            for s in group:
                last = latest.get(s.id)
                if last is not None and (best is None or last > best):
                    chosen, best = s, last
        if counts.get(chosen.id, 0) != len(chosen.doses):
            return False
    return True
