"""How a resident search is answered at county size without reading every match: the page's ids and the
capped count come from index entries alone (the search indexes in residents.models hold every column
they read: scope, status, the result order), and only the page's rows are then read from the table.

A search is the residents meeting every common condition (scope, status, the form's fields) and any of
its branches (the pinyin box matches the initials, the full pinyin or the name), in result order,
counted up to cap + 1. Its page is among the first offset + limit rows of each branch in result order,
so those are all that is read of a branch, from an index in that order: the branch's own (a name
prefix, a first letter) or, for a pinyin prefix, its `bucket`'s (the first letter's) walked until enough
of them match. That walk is quick when the prefix takes a good part of its letter and slow when it takes
little, so a branch whose range is short is read whole and sorted instead: a single letter matches up to
a fifth of the county (sorting them all for a page of 20 took 220 ms), "liang" 3,600 residents that
come after 62,000 others under "l" in name order.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, union, union_all
from sqlalchemy.orm import Session

from weijian.residents.models import Resident

SORTED_AT_MOST = 10_000  # index entries of a pinyin prefix read whole and sorted rather than walked


@dataclass(frozen=True, eq=False)
class Branch:
    """One alternative of a search: the residents where `match` holds (None: all of them). `bucket` is an
    equality that `match` implies and that leads an index in result order; a branch without one relies
    on the index that answers `match` being in result order already (or on matching few)."""

    match: ColumnElement[bool] | None
    bucket: ColumnElement[bool] | None = None
    bucket_is_match: bool = False  # a single letter: the bucket holds the branch's rows and no others

    def where(self, common: list[ColumnElement[bool]]) -> list[ColumnElement[bool]]:
        return ([self.match] if self.match is not None else []) + list(common)


def page_ids(*, session: Session, branches: list[Branch], common: list[ColumnElement[bool]],
             order: tuple[Any, ...], offset: int, limit: int, cap: int,
             walk_common: list[ColumnElement[bool]] | None = None) -> tuple[list[int], int]:
    """(the ids of rows offset … offset + limit of the search in `order`, the number of matches up to
    cap + 1). `order` must end in a unique column (name, id; the identity number). `walk_common`, when
    given, are the same conditions written so that none of them chooses the index of an ordered walk."""
    if not branches:
        return [], 0
    conn = session.connection()
    measured = [b for b in branches if b.bucket is not None and not b.bucket_is_match]
    total = None
    walked = [b for b in branches if b.bucket_is_match]
    if measured:  # first the count, and the length of each of these branches' range
        total, *lengths = conn.execute(select(_count_any(branches, common, cap), *(
            _count([b.match], SORTED_AT_MOST + 1) for b in measured))).one()
        total = min(total, cap + 1)
        if total == 0 or (total <= cap and offset >= total):
            return [], total
        walked += [b for b, n in zip(measured, lengths, strict=True) if n > SORTED_AT_MOST]
    parts = []
    for branch in branches:
        if branch.bucket is None:
            part = _matches(branch, walk_common or common, order)
        elif branch in walked:
            walk = Branch(branch.bucket if branch.bucket_is_match else branch.match & branch.bucket)
            part = _matches(walk, walk_common or common, order)
        else:
            part = _matches(branch, common, order)
        parts.append(part.order_by(*order))
    if len(parts) == 1:
        page = parts[0].with_only_columns(Resident.id).offset(offset).limit(limit)
    else:
        rows = union(*(_wrapped(p.limit(offset + limit)) for p in parts)).subquery()
        page = select(rows.c.id).order_by(*(rows.c[col.key] for col in order)).offset(offset).limit(limit)
    if total is not None:
        return list(conn.scalars(page)), total
    found = conn.execute(page.add_columns(_count_any(branches, common, cap))).all()  # the count rides along
    if found:
        return [r[0] for r in found], min(found[0][1], cap + 1)
    return [], min(conn.scalar(select(_count_any(branches, common, cap))), cap + 1) if offset else 0


def _count_any(branches: list[Branch], common: list[ColumnElement[bool]], cap: int):  # noqa: ANN202
    """The distinct ids among each branch's first cap + 1 matches (no order asked: on whichever index
    counts the branch fastest). Capped at cap + 1 by the caller, that is the search's count: a branch with
    more than cap matches gives cap + 1 distinct ids by itself."""
    if len(branches) == 1:
        return _count(branches[0].where(common), cap + 1)
    firsts = union_all(*(_wrapped(select(Resident.id).where(*b.where(common)).limit(cap + 1)) for b in branches))
    ids = firsts.subquery()
    return select(func.count(ids.c.id.distinct())).scalar_subquery()


def _count(conditions: list[ColumnElement[bool]], at_most: int):  # noqa: ANN202
    """How many residents meet the conditions, counting no further than `at_most`."""
    matching = select(Resident.id).where(*conditions).limit(at_most).subquery()
    return select(func.count()).select_from(matching).scalar_subquery()


def _matches(branch: Branch, common: list[ColumnElement[bool]], order: tuple[Any, ...]) -> Select:
    """The branch's ids with the columns of the result order: what one index's entries hold."""
    return select(Resident.id, *(col for col in order if col is not Resident.id)).where(*branch.where(common))


def _wrapped(part: Select) -> Select:
    # A member of a UNION may not carry its own ORDER BY / LIMIT (SQLite): select from it instead.
    return select(*part.subquery().c)
