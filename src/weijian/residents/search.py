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

The statements are built once per shape of search (`Terms.shape`) and run with the search's values:
building them costs more than running them.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    BigInteger,
    BindParameter,
    ColumnElement,
    ScalarSelect,
    Select,
    bindparam,
    func,
    select,
    union,
    union_all,
)
from sqlalchemy.orm import Session

from weijian.residents.models import Resident

SORTED_AT_MOST = 10_000  # index entries of a pinyin prefix read whole and sorted rather than walked
_STATEMENTS: dict[Hashable, Select] = {}  # by (shape, step): a few hundred shapes at most
_MAX_STATEMENTS = 1_000


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


@dataclass
class Terms:
    """A search as this module answers it: its branches, the conditions every result meets (the scope
    first) and the same written for an ordered walk (`walk_common`: none of them chooses the index
    walked), the result order (ending in a unique column). Every value that differs between two searches
    of one `shape` is a named parameter, its value in `values`."""

    branches: list[Branch]
    common: list[ColumnElement[bool]]
    walk_common: list[ColumnElement[bool]]
    order: tuple[Any, ...]
    shape: tuple[Hashable, ...]
    values: dict[str, Any] = field(default_factory=dict)


def page_ids(*, session: Session, terms: Terms, offset: int, limit: int, cap: int) -> tuple[list[int], int]:
    """(the ids of rows offset … offset + limit of the search, its number of matches up to cap + 1)."""
    if not terms.branches:
        return [], 0
    conn = session.connection()
    values = {**terms.values, "offset": offset, "limit": limit, "first": offset + limit, "counted": cap + 1,
              "sorted": SORTED_AT_MOST + 1}
    measured = [b for b in terms.branches if b.bucket is not None and not b.bucket_is_match]
    walked = [b.bucket_is_match for b in terms.branches]
    total = None
    if measured:  # first the count, and the length of each of these branches' range
        total, *lengths = conn.execute(_statement(terms, "measure", lambda: select(
            _count_any(terms), *(_count([b.match], "sorted") for b in measured))), values).one()
        if total == 0 or (total <= cap and offset >= total):
            return [], total
        length = dict(zip(measured, lengths, strict=True))
        walked = [w or length.get(b, 0) > SORTED_AT_MOST for b, w in zip(terms.branches, walked, strict=True)]
    page = _statement(terms, ("page", tuple(walked), total is None), lambda: _page(terms, walked, total is None))
    if total is not None:
        return list(conn.scalars(page, values)), total
    found = conn.execute(page, values).all()  # the count rode along
    if found:
        return [r[0] for r in found], found[0][1]
    return [], conn.scalar(_statement(terms, "count", lambda: select(_count_any(terms))), values) if offset else 0


def _statement(terms: Terms, step: Hashable, build: Callable[[], Select]) -> Select:
    key = (terms.shape, step)
    stmt = _STATEMENTS.get(key)
    if stmt is None:
        if len(_STATEMENTS) >= _MAX_STATEMENTS:
            _STATEMENTS.clear()
        stmt = _STATEMENTS[key] = build()
    return stmt


def _page(terms: Terms, walked: list[bool], with_count: bool) -> Select:
    """The page's ids: each branch's first rows in result order (walked in its own index's order or its
    bucket's, or a short range sorted whole), their union sorted and cut to the page; and the count
    alongside when it is not known yet."""
    order = terms.order
    parts = []
    for branch, walk in zip(terms.branches, walked, strict=True):
        if branch.bucket is None:
            part = _matches(branch, terms.walk_common, order)
        elif walk:
            part = _matches(Branch(branch.bucket if branch.bucket_is_match else branch.match & branch.bucket),
                            terms.walk_common, order)
        else:
            part = _matches(branch, terms.common, order)
        parts.append(part.order_by(*order))
    if len(parts) == 1:
        page = parts[0].with_only_columns(Resident.id)
    else:
        rows = union(*(_wrapped(p.limit(_int("first"))) for p in parts)).subquery()
        page = select(rows.c.id).order_by(*(rows.c[col.key] for col in order))
    page = page.offset(_int("offset")).limit(_int("limit"))
    return page.add_columns(_count_any(terms)) if with_count else page


def _count_any(terms: Terms) -> ScalarSelect[int]:
    """The number of residents matching any branch, up to cap + 1: the first cap + 1 distinct ids of each
    branch's first cap + 1 in turn (no order asked: on whichever index counts the branch fastest). A
    branch with more than cap matches gives cap + 1 distinct ids by itself, and the branches after it
    are not read."""
    if len(terms.branches) == 1:
        return _count(terms.branches[0].where(terms.common), "counted")
    firsts = union_all(*(_wrapped(select(Resident.id).where(*b.where(terms.common)).limit(_int("counted")))
                         for b in terms.branches)).subquery()
    return _count_rows(select(firsts.c.id).distinct().limit(_int("counted")))


def _count(conditions: list[ColumnElement[bool]], at_most: str) -> ScalarSelect[int]:
    """How many residents meet the conditions, counting no further than the parameter `at_most`."""
    return _count_rows(select(Resident.id).where(*conditions).limit(_int(at_most)))


def _count_rows(rows: Select[Any]) -> ScalarSelect[int]:
    return select(func.count()).select_from(rows.subquery()).scalar_subquery()


def _matches(branch: Branch, common: list[ColumnElement[bool]], order: tuple[Any, ...]) -> Select:
    """The branch's ids with the columns of the result order: what one index's entries hold."""
    return select(Resident.id, *(col for col in order if col is not Resident.id)).where(*branch.where(common))


def _wrapped(part: Select) -> Select:
    # A member of a UNION may not carry its own ORDER BY / LIMIT (SQLite): select from it instead.
    return select(*part.subquery().c)


def _int(name: str) -> BindParameter[int]:
    return bindparam(name, type_=BigInteger)
