"""Reads of the resident master index: one record (with its household and merges), a household, the
search box and its filters, and the small look-ups other pages show beside residents (village names,
birth dates, the villages a user may register in). Every read is scoped to the actor in the query itself
(residents.access) and written to the audit log with its basis; the search is answered from the search
indexes (residents.search).
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import BindParameter, ColumnElement, and_, bindparam, false, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from weijian.accounts import service as accounts_service
from weijian.core.actor import Actor
from weijian.core.db import like_prefix
from weijian.core.errors import InvalidInput, NotFound
from weijian.core.identifiers import division_level, division_range, parse_id_number
from weijian.orgunits import service as orgunits_service
from weijian.residents import access, merging
from weijian.residents import search as search_plan
from weijian.residents.models import Household, Resident, ResidentMerge
from weijian.residents.search import Branch, Terms

# --- one record -------------------------------------------------------------------------------------------
COUNT_CAP = 1000  # search counts stop here ("1000+"): counting 400,000 rows per keystroke is waste
MAX_PAGE_SIZE = 100
# ASCII digits only (re.ASCII): the query is NFKC-normalized first, so full-width digits are ASCII by then.
_ID_FULL = re.compile(r"^(\d{15}|\d{17}[\dX])$", re.ASCII)
_DIGITS = re.compile(r"^\d+$", re.ASCII)
_LANDLINE = re.compile(r"^0\d{2,3}-\d{7,8}$", re.ASCII)
_LETTERS = re.compile(r"^[A-Za-z]+$")
ID_PREFIX_MIN = 6


def names_for_audit(session: Session, ids: Iterable[int]) -> dict[int, str]:
    """Residents' names by id, for the audit log's readers (who must see whose record was read; the
    audit page itself is audit:read only). Not a read of any record: no identity number, no health data."""
    wanted = sorted({int(i) for i in ids})
    return dict(session.execute(select(Resident.id, Resident.name).where(Resident.id.in_(wanted))).tuples().all()) \
        if wanted else {}


def get(*, session: Session, resident_id: int, actor: Actor, basis: str | None = None) -> Resident:
    """One resident record, logged as a read. A record outside the actor's scope does not exist for
    them (NotFound, same as a missing id). `basis` names a reason other than scope, e.g. "referral";
    the scope check applies whatever the basis."""
    actor.require("resident:read")
    resident = session.scalar(
        select(Resident).where(Resident.id == resident_id, access.visible(actor))
        .options(selectinload(Resident.household), selectinload(Resident.groups))
    )
    if resident is None:
        raise NotFound("residents.errors.not_found", resident_id=resident_id)
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="resident",
                           entity_id=resident.id, resident_id=resident.id,
                           basis=basis or access.basis_for(actor, resident.village_code) or "county")
    return resident


class SearchPage(NamedTuple):
    """One page of search results; `total` stops at COUNT_CAP + 1 (`capped`: show "1000+")."""

    items: list[Resident]
    total: int

    @property
    def capped(self) -> bool:
        return self.total > COUNT_CAP


@dataclass(frozen=True)
class Query:
    """How the single search box was read: `kind` is id_number | id_prefix | phone | pinyin | name |
    too_short | empty."""

    kind: str
    value: str


def parse_query(q: str | None) -> Query:
    """Decide what the search box holds: an identity number (or its first ≥ 6 digits), a phone number,
    pinyin (initials or full, any case), or the first characters of a name."""
    text = unicodedata.normalize("NFKC", q or "").strip()
    compact = text.replace(" ", "")
    if not compact:
        return Query("empty", "")
    upper = compact.upper()
    if _ID_FULL.match(upper):
        try:
            return Query("id_number", parse_id_number(upper).normalized)
        except InvalidInput:
            return Query("id_number", upper)  # as typed: finds nothing, but is not an error
    if _DIGITS.match(compact):
        if len(compact) == 11:
            return Query("phone", compact)
        if len(compact) >= ID_PREFIX_MIN:
            return Query("id_prefix", compact)
        return Query("too_short", compact)
    if _LANDLINE.match(compact):
        return Query("phone", compact)
    if _LETTERS.match(compact):
        return Query("pinyin", compact)
    return Query("name", text)


def _id_prefix_condition(prefix: str, param: Callable[[str, Any], Any] = lambda key, value: value,
                         key: str = "id") -> ColumnElement[bool]:
    # A range on the unique index works under any collation; LIKE keeps the match exact. `param` names
    # the values (key_lo, key_hi, key_like) when the statement is built once for many searches.
    upper = prefix + "9" * (17 - len(prefix)) + ("X" if len(prefix) < 18 else "")
    return and_(Resident.id_number >= param(f"{key}_lo", prefix), Resident.id_number <= param(f"{key}_hi", upper),
                Resident.id_number.like(param(f"{key}_like", like_prefix(prefix)), escape="\\"))


def search(*, session: Session, actor: Actor, q: str | None = None, name: str | None = None,
           id_number: str | None = None, phone: str | None = None, household_number: str | None = None,
           village_code: str | None = None, page: int = 1, page_size: int = 20,
           include_merged: bool = False) -> SearchPage:
    """Residents in the actor's scope matching every criterion given, ordered by name (by number for an
    identity-number prefix), logged as one "search" event. `q` is the single search box (parse_query);
    merged records are left out unless asked for, except on an exact identity-number look-up (so an old
    number still leads somewhere). Answered from the search indexes (residents.search): the same rows
    as search_statement's plain query."""
    actor.require("resident:read")
    page = max(1, int(page or 1))
    page_size = min(MAX_PAGE_SIZE, max(1, int(page_size or 20)))
    criteria = dict(q=q, name=name, id_number=id_number, phone=phone, household_number=household_number,
                    village_code=village_code)
    query, terms = search_terms(actor=actor, include_merged=include_merged,
                                dialect=session.get_bind().dialect.name, **criteria)
    ids, total = search_plan.page_ids(session=session, terms=terms, offset=(page - 1) * page_size,
                                      limit=page_size, cap=COUNT_CAP)
    items = []
    if ids:
        found = {r.id: r for r in session.scalars(
            select(Resident).where(Resident.id.in_(ids)).options(joinedload(Resident.household)))}
        items = [found[i] for i in ids]
    accounts_service.audit(session=session, actor=actor, action="search", entity_type="resident",
                           basis=access.scope_basis(actor),
                           detail={**{k: v for k, v in criteria.items() if v}, "kind": query.kind, "page": page,
                                   "total": total},
                           shown=ids)
    return SearchPage(items, total)


def search_terms(*, actor: Actor, q: str | None = None, name: str | None = None, id_number: str | None = None,
                 phone: str | None = None, household_number: str | None = None, village_code: str | None = None,
                 include_merged: bool = False, dialect: str | None = None) -> tuple[Query, Terms]:
    """How q was read, and the search as residents.search answers it: the branches of q, the conditions
    every result meets, the result order. `shape` follows every choice made here; the values that
    differ between searches of one shape are named parameters."""
    query = parse_query(q)
    values: dict[str, Any] = {}

    def param(key: str, value: Any) -> BindParameter[Any]:
        values[key] = value
        return bindparam(key, value)

    scope_shape, scope, walk_scope = _search_scope(actor, dialect, param)
    shape: list[Any] = [query.kind, scope_shape]
    conds = [scope]
    if name and name.strip():
        shape.append("name")
        conds.append(Resident.name.like(param("name", like_prefix(name.strip())), escape="\\"))
    if id_number and id_number.strip():
        by_id = parse_query(id_number)
        if by_id.kind == "id_number":
            shape.append("id_number")
            conds.append(Resident.id_number == param("id_number", by_id.value))
        elif _DIGITS.match(by_id.value) and len(by_id.value) >= ID_PREFIX_MIN:
            shape.append("id_number_prefix")
            conds.append(_id_prefix_condition(by_id.value, param, "id_number"))
        else:
            shape.append("id_number_invalid")
            conds.append(false())
    if phone and phone.strip():
        shape.append("phone")
        conds.append(Resident.phone == param("phone", phone.strip().replace(" ", "")))
    if household_number and household_number.strip():
        shape.append("household")
        conds.append(Resident.household_id.in_(
            select(Household.id).where(Household.number == param("household", household_number.strip()))))
    if village_code and village_code.strip():
        try:
            lo, hi = division_range(village_code.strip())
        except InvalidInput:
            raise InvalidInput("village_code", "residents.errors.village_unknown", code=village_code) from None
        shape.append("village_code")
        conds.append(and_(Resident.village_code >= param("village_lo", lo),
                          Resident.village_code <= param("village_hi", hi)))
    if not include_merged and query.kind != "id_number":
        shape.append("not_merged")
        conds.append(Resident.status != "merged")
    branches = _query_branches(query, param)
    shape.append(len(query.value) == 1 if query.kind == "pinyin" else len(branches))
    # Name order, except for an identity-number prefix: in number order the unique index delivers the
    # first page at once, where "421124" (every number issued in the county) would sort 400,000 names.
    order = (Resident.id_number,) if query.kind == "id_prefix" else (Resident.name, Resident.id)
    return query, Terms(branches=branches, common=conds, walk_common=[walk_scope, *conds[1:]], order=order,
                        shape=tuple(shape), values=values)


def _query_branches(query: Query, param: Callable[[str, Any], Any]) -> list[Branch]:
    """The alternatives the search box matches (any of them), as residents.search answers them."""
    if query.kind == "too_short":
        return []
    if query.kind == "empty":
        return [Branch(None)]
    if query.kind == "id_number":
        return [Branch(Resident.id_number == param("q", query.value))]
    if query.kind == "id_prefix":
        return [Branch(_id_prefix_condition(query.value, param, "q"))]
    if query.kind == "phone":
        by_phone = Branch(Resident.phone == param("q", query.value))
        if _DIGITS.match(query.value):  # 11 digits: a mobile number, or the start of an id number
            return [by_phone, Branch(_id_prefix_condition(query.value, param, "q"))]
        return [by_phone]
    by_name = Branch(Resident.name.like(param("q", like_prefix(query.value)), escape="\\"))
    if query.kind != "pinyin":
        return [by_name]
    low = query.value.lower()
    letter = len(low) == 1  # "starts with z" is "first letter z"
    pattern, first = param("q_low", like_prefix(low)), param("q_first", low[0])
    return [Branch(Resident.name_initials.like(pattern, escape="\\"), Resident.initials_first == first,
                   bucket_is_match=letter),
            Branch(Resident.name_pinyin.like(pattern, escape="\\"), Resident.pinyin_first == first,
                   bucket_is_match=letter),
            by_name]


def _search_scope(actor: Actor, dialect: str | None,
                  param: Callable[[str, Any], Any]) -> tuple[str, ColumnElement[bool], ColumnElement[bool]]:
    """(shape, condition, the condition for an ordered walk) of the actor's scope in a search: the same
    rows as _scoped. On SQLite the walk takes a township's or the county's range on village_code as a
    filter on the entries of the index walked (every search index holds village_code), never as the
    index: without range statistics SQLite takes that range for as narrow as a name prefix, and sorted
    the county's 400,000 names for the first page of its list. `|| ''` leaves the value as it is."""
    if actor.scope_code is None:
        return "all", and_(True), and_(True)
    if division_level(actor.scope_code) == "village":
        cond = Resident.village_code == param("scope", actor.scope_code)
        return "village", cond, cond
    lo, hi = division_range(actor.scope_code)
    cond = and_(Resident.village_code >= param("scope_lo", lo), Resident.village_code <= param("scope_hi", hi))
    if dialect != "sqlite":
        return "range", cond, cond
    filtered = Resident.village_code.concat("")
    return "range_filtered", cond, and_(filtered >= bindparam("scope_lo"), filtered <= bindparam("scope_hi"))


def search_statement(*, actor: Actor, **criteria: Any) -> tuple[Query, list, tuple]:
    """(how q was read, WHERE conditions, ORDER BY) of a search as one plain statement: what search()
    returns, by definition (its reference in the tests)."""
    query, terms = search_terms(actor=actor, **criteria)
    conds = list(terms.common)
    if not terms.branches:
        conds.append(false())
    elif all(b.match is not None for b in terms.branches):
        conds.append(or_(*(b.match for b in terms.branches)))
    return query, conds, terms.order


def village_names(*, session: Session, codes: set[str] | list[str]) -> dict[str, str]:
    """Village code → name, for showing a page of residents."""
    out = {}
    for code in set(codes):
        unit = orgunits_service.get(session=session, code=code)
        out[code] = unit.name if unit is not None else code
    return out


def birth_dates(*, session: Session, ids: set[int] | list[int]) -> dict[int, date]:
    """Resident id → birth date (no scope: the caller has already read these residents)."""
    if not ids:
        return {}
    return dict(session.execute(
        select(Resident.id, Resident.birth_date).where(Resident.id.in_(list(ids)))).tuples().all())


def villages_in_scope(*, session: Session, actor: Actor) -> list[tuple[str, str]]:
    """(code, name) of every village the actor may register residents in, for a form's select."""
    # A few hundred villages at most: filtering the registry's list is cheaper than another query shape.
    return [(u.code, u.name) for u in orgunits_service.list_orgunits(session=session, level="village")
            if access.basis_for(actor, u.code) is not None]


def merges_into(*, session: Session, resident_id: int) -> list[ResidentMerge]:
    """The merges that retired other records into this one, oldest first (part of a record already read)."""
    return list(session.scalars(select(ResidentMerge).where(ResidentMerge.survivor_id == resident_id,
                                                            ResidentMerge.undone_at.is_(None))
                                .order_by(ResidentMerge.at, ResidentMerge.id)))


@dataclass
class RecordView:
    """Everything the record page shows beside the resident: household members, merges."""

    resident: Resident
    members: list[Resident]
    merged: list[tuple[ResidentMerge, Resident]]  # records merged into this one
    merged_into: Resident | None
    merge: ResidentMerge | None  # the merge that retired this record, when it is merged
    moved: dict[int, dict[str, int]]  # merge id → record type → rows it moved (into this record, or out of it)


def record(*, session: Session, resident_id: int, actor: Actor, basis: str | None = None) -> RecordView:
    """A resident's record as the record page shows it; logged as one read of the resident."""
    resident = get(session=session, resident_id=resident_id, actor=actor, basis=basis)
    members: list[Resident] = []
    if resident.household_id is not None:
        members = list(session.scalars(
            select(Resident).where(Resident.household_id == resident.household_id, Resident.id != resident.id,
                                   Resident.status != "merged", access.visible(actor))
            .order_by(Resident.id)))
    merged = list(session.execute(
        select(ResidentMerge, Resident).join(Resident, Resident.id == ResidentMerge.merged_id)
        .where(ResidentMerge.survivor_id == resident.id, ResidentMerge.undone_at.is_(None))
        .order_by(ResidentMerge.at, ResidentMerge.id)).tuples())
    merge = session.scalar(select(ResidentMerge).where(ResidentMerge.merged_id == resident.id,
                                                       ResidentMerge.undone_at.is_(None)))
    merged_into = None
    if resident.merged_into_id is not None:
        merged_into = session.scalar(
            select(Resident).where(Resident.id == resident.merged_into_id, access.visible(actor)))
    moved = {m.id: merging.counts(merging.moves_of(session, m.id))
             for m in [*(m for m, _r in merged), *([merge] if merge else [])]}
    return RecordView(resident, members, merged, merged_into, merge, moved)


def household(*, session: Session, household_id: int, actor: Actor) -> tuple[Household, list[Resident]]:
    """A household and its members (merged records left out), within the actor's scope; logged as a
    read of the household."""
    actor.require("resident:read")
    hh = session.scalar(select(Household).where(
        Household.id == household_id, access.visible(actor, Household.village_code)))
    if hh is None:
        raise NotFound("residents.errors.household_not_found", household_id=household_id)
    members = list(session.scalars(
        select(Resident).where(Resident.household_id == hh.id, Resident.status != "merged", access.visible(actor))
        .order_by(Resident.id)))
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="household",
                           entity_id=hh.id, basis=access.basis_for(actor, hh.village_code) or "county",
                           detail={"members": [m.id for m in members]})
    return hh, members


def current_values(resident: Resident) -> dict[str, Any]:
    """A resident's fields in the shape of a ResidentUpdate: the starting point of an edit."""
    return {
        "name": resident.name, "sex": resident.sex, "birth_date": resident.birth_date,
        "id_number": resident.id_number, "phone": resident.phone, "village_code": resident.village_code,
        "insurance_scheme": resident.insurance_scheme, "groups": list(resident.group_codes),
        "relation_to_head": resident.relation_to_head,
        "household_number": resident.household.number if resident.household else None,
        "address": resident.household.address if resident.household else None,
    }
