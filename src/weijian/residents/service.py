"""Resident master index: validation of a resident's fields, create, and (below) read, search, merge.

Every read or write of a resident goes through here, is checked against the actor's permission and
org-unit scope in the query itself, and is written to the audit log with its basis.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from pypinyin import Style, lazy_pinyin
from sqlalchemy import BindParameter, ColumnElement, and_, bindparam, false, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from weijian.accounts import service as accounts_service
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.bounds import MAX_DATE, MIN_DATE, check_text
from weijian.core.db import like_prefix
from weijian.core.errors import ErrorCollector, Forbidden, InvalidInput, InvalidState, NotFound
from weijian.core.identifiers import division_level, division_range, parse_id_number
from weijian.orgunits import service as orgunits_service
from weijian.residents import access
from weijian.residents import search as search_plan

# Re-exported for the indicators domain (one grouped query each), from residents/counts.py.
from weijian.residents.counts import (  # noqa: F401 - re-exports
    births_by_month,
    population,
    population_groups,
    population_records,
    years_before,
)
from weijian.residents.models import Household, Resident, ResidentGroup, ResidentMerge
from weijian.residents.search import Branch, Terms

GROUPS_FILE = Path(__file__).resolve().parent / "data" / "groups.yaml"
SEXES = ("male", "female")
SCHEMES = ("resident", "employee", "none")
RELATIONS = ("head", "spouse", "son", "daughter", "parent", "grandchild", "sibling",
             "son_in_law", "daughter_in_law", "grandparent", "other")
_PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")
_NAME = re.compile(r"^[\u3400-\u9fff\u00b7·A-Za-z\s]{1,50}$")


# --- reference data -------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def groups() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load(GROUPS_FILE.read_text(encoding="utf-8"))
    return dict(data["groups"])


@lru_cache(maxsize=1)
def _group_aliases() -> dict[str, str]:
    out: dict[str, str] = {}
    for code, spec in groups().items():
        out[code] = code
        out[spec["zh"]] = code
        for alias in spec.get("aliases", []):
            out[alias] = code
    return out


def group_code(label: str) -> str | None:
    """The group code for a code, its Chinese name or any alias counties use; None when unknown."""
    return _group_aliases().get((label or "").strip())


def pinyin_keys(name: str) -> tuple[str, str]:
    """(initials, full pinyin) of a name, lower case: 张三 → ("zs", "zhangsan")."""
    syllables = lazy_pinyin(name, errors="ignore")
    initials = "".join(lazy_pinyin(name, style=Style.FIRST_LETTER, errors="ignore"))
    return initials.lower()[:50], "".join(syllables).lower()[:200]


# --- validation -----------------------------------------------------------------------------------
@dataclass
class ResidentData:
    """A resident's fields after validation: what create/update/import write."""

    name: str
    sex: str
    birth_date: date
    id_number: str | None
    phone: str | None
    village_code: str
    insurance_scheme: str = "none"
    groups: list[str] = field(default_factory=list)
    relation_to_head: str | None = None
    household_number: str | None = None
    address: str | None = None
    id_converted_from_15: bool = False


def validate(values: dict[str, Any], *, today: date | None = None,
             known_villages: set[str] | None = None, session: Session | None = None) -> ResidentData:
    """Check every field of one resident and return the normalized data, or raise InvalidInput listing
    every bad field. Villages are checked against `known_villages` (bulk import) or the database.

    Accepted keys: name, sex, birth_date, id_number, phone, village_code, insurance_scheme, groups,
    relation_to_head, household_number, address. `groups` may be codes or Chinese names.
    """
    today = today or clock.today()
    errs = ErrorCollector()
    name = str(values.get("name") or "").strip()
    if not name:
        errs.add("name", "residents.errors.name_required")
    elif not _NAME.match(name):
        errs.add("name", "residents.errors.name_invalid")

    sex = values.get("sex") or None
    sex = {"男": "male", "女": "female", "1": "male", "2": "female"}.get(str(sex), sex) if sex else None
    if sex is not None and sex not in SEXES:
        errs.add("sex", "residents.errors.sex_invalid")
        sex = None

    birth = values.get("birth_date")
    if isinstance(birth, str) and birth.strip():
        try:
            birth = date.fromisoformat(birth.strip().replace("/", "-"))
        except ValueError:
            errs.add("birth_date", "residents.errors.birth_date_invalid")
            birth = None
    elif not isinstance(birth, date):
        birth = None
    if birth is not None and birth < MIN_DATE:  # a future date is refused below, as such
        errs.add("birth_date", "core.errors.validation.date_out_of_range", min=MIN_DATE.isoformat(),
                 max=MAX_DATE.isoformat())
        birth = None
    if birth is not None and birth > today:
        errs.add("birth_date", "residents.errors.birth_date_future")

    id_number = None
    converted = False
    id_failed = False  # a wrong number is the one error to show: fixed, it supplies sex and birth date
    raw_id = str(values.get("id_number") or "").strip()
    if raw_id:
        try:
            parsed = parse_id_number(raw_id, today=today)
        except InvalidInput as exc:
            errs.extend(exc)
            id_failed = True
        else:
            id_number, converted = parsed.normalized, parsed.converted_from_15
            if birth is None and "birth_date" not in {e.field for e in errs.errors}:
                birth = parsed.birth_date
            elif birth is not None and birth != parsed.birth_date:
                errs.add("birth_date", "residents.errors.birth_date_mismatch", id_birth=parsed.birth_date.isoformat())
            if sex is None and "sex" not in {e.field for e in errs.errors}:
                sex = parsed.sex
            elif sex is not None and sex != parsed.sex:
                errs.add("sex", "residents.errors.sex_mismatch")
    if birth is None and not id_failed and not any(e.field == "birth_date" for e in errs.errors):
        errs.add("birth_date", "residents.errors.birth_date_required")
    if sex is None and not id_failed and not any(e.field == "sex" for e in errs.errors):
        errs.add("sex", "residents.errors.sex_required")

    phone = str(values.get("phone") or "").strip().replace(" ", "") or None
    if phone is not None and not _PHONE.match(phone):
        errs.add("phone", "residents.errors.phone_invalid")

    village = str(values.get("village_code") or "").strip()
    if not village:
        errs.add("village_code", "residents.errors.village_required")
    elif known_villages is not None:
        if village not in known_villages:
            errs.add("village_code", "residents.errors.village_unknown", code=village)
    elif session is not None:
        unit = orgunits_service.get(session=session, code=village)
        if unit is None or unit.level != "village":
            errs.add("village_code", "residents.errors.village_unknown", code=village)

    scheme = values.get("insurance_scheme") or "none"
    scheme = {"城乡居民医保": "resident", "居民医保": "resident", "职工医保": "employee",
              "城镇职工医保": "employee", "无": "none", "未参保": "none"}.get(str(scheme).strip(), scheme)
    if scheme not in SCHEMES:
        errs.add("insurance_scheme", "residents.errors.scheme_invalid")

    raw_groups = values.get("groups") or []
    if isinstance(raw_groups, str):
        raw_groups = [g for g in re.split(r"[,，、;；\s]+", raw_groups) if g]
    group_codes: list[str] = []
    for g in raw_groups:
        code = group_code(str(g))
        if code is None:
            errs.add("groups", "residents.errors.group_unknown", group=g)
        elif code not in group_codes:
            group_codes.append(code)

    relation = values.get("relation_to_head") or None
    if relation is not None:
        relation = relation_code(str(relation))
        if relation is None:
            errs.add("relation_to_head", "residents.errors.relation_unknown", relation=values.get("relation_to_head"))
    shown = {e.field for e in errs.errors}
    for key in ("name", "address", "phone", "household_number"):  # lengths and characters: core.bounds
        if key not in shown:
            check_text(errs, key, values.get(key))

    errs.raise_if_any()
    return ResidentData(
        name=name, sex=sex, birth_date=birth, id_number=id_number, phone=phone, village_code=village,
        insurance_scheme=scheme, groups=sorted(group_codes), relation_to_head=relation,
        household_number=str(values.get("household_number") or "").strip() or None,
        address=str(values.get("address") or "").strip() or None, id_converted_from_15=converted,
    )


_RELATION_ALIASES = {
    "户主": "head", "本人": "head", "配偶": "spouse", "妻": "spouse", "夫": "spouse", "妻子": "spouse",
    "丈夫": "spouse", "子": "son", "儿子": "son", "长子": "son", "次子": "son", "女": "daughter",
    "女儿": "daughter", "长女": "daughter", "次女": "daughter", "父母": "parent", "父亲": "parent",
    "母亲": "parent", "父": "parent", "母": "parent", "孙子女": "grandchild", "孙子": "grandchild",
    "孙女": "grandchild", "外孙子": "grandchild", "外孙女": "grandchild", "兄弟姐妹": "sibling",
    "兄": "sibling", "弟": "sibling", "姐": "sibling", "妹": "sibling", "女婿": "son_in_law",
    "儿媳": "daughter_in_law", "媳妇": "daughter_in_law", "祖父母": "grandparent", "祖父": "grandparent",
    "祖母": "grandparent", "其他": "other",
}


def relation_code(label: str) -> str | None:
    label = label.strip()
    if label in RELATIONS:
        return label
    return _RELATION_ALIASES.get(label)


# --- scope: residents.access (re-exported: other domains call access_basis / scope_basis through here) ------
access_basis = access.basis_for
scope_basis = access.scope_basis


# --- create -----------------------------------------------------------------------------------------
def create(*, session: Session, values: dict[str, Any], actor: Actor) -> Resident:
    """Register one resident (and the household, when a new household number is given)."""
    actor.require("resident:write")
    data = validate(values, session=session)
    basis = access_basis(actor, data.village_code)
    if basis is None:
        raise Forbidden("residents.errors.village_out_of_scope")
    if data.id_number and session.scalar(select(Resident.id).where(Resident.id_number == data.id_number)):
        raise InvalidInput("id_number", "residents.errors.id_number_duplicate")
    household = None
    if data.household_number:
        household = session.scalar(select(Household).where(Household.number == data.household_number))
        if household is None:
            household = Household(number=data.household_number, village_code=data.village_code,
                                  address=data.address)
            session.add(household)
            session.flush()
        elif household.village_code != data.village_code:
            raise InvalidInput("household_number", "residents.errors.household_other_village")
        if data.relation_to_head == "head" and household.head is not None:
            raise InvalidInput("relation_to_head", "residents.errors.household_has_head")
    initials, full = pinyin_keys(data.name)
    resident = Resident(
        id_number=data.id_number, name=data.name, name_initials=initials, name_pinyin=full, sex=data.sex,
        birth_date=data.birth_date, phone=data.phone, village_code=data.village_code,
        household_id=household.id if household else None, relation_to_head=data.relation_to_head,
        insurance_scheme=data.insurance_scheme, status="active",
        groups=[ResidentGroup(group=g) for g in data.groups],
    )
    session.add(resident)
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="create", entity_type="resident",
                           entity_id=resident.id, resident_id=resident.id, basis=basis)
    return resident


# --- read -------------------------------------------------------------------------------------------
COUNT_CAP = 1000  # search counts stop here ("1000+"): counting 400,000 rows per keystroke is waste
MAX_PAGE_SIZE = 100
_ID_FULL = re.compile(r"^(\d{15}|\d{17}[\dX])$")
_DIGITS = re.compile(r"^\d+$")
_LANDLINE = re.compile(r"^0\d{2,3}-\d{7,8}$")
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
                           basis=basis or access_basis(actor, resident.village_code) or "county")
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
    text = (q or "").strip()
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
                           basis=scope_basis(actor),
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
            if orgunits_service.in_scope(scope_code=actor.scope_code, code=u.code)]


def merges_into(*, session: Session, resident_id: int) -> list[ResidentMerge]:
    """The merges that retired other records into this one, oldest first (part of a record already read)."""
    return list(session.scalars(select(ResidentMerge).where(ResidentMerge.survivor_id == resident_id)
                                .order_by(ResidentMerge.at, ResidentMerge.id)))


@dataclass
class RecordView:
    """Everything the record page shows beside the resident: household members, merges."""

    resident: Resident
    members: list[Resident]
    merged: list[tuple[ResidentMerge, Resident]]  # records merged into this one
    merged_into: Resident | None
    merge: ResidentMerge | None  # the merge that retired this record, when it is merged


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
        .where(ResidentMerge.survivor_id == resident.id).order_by(ResidentMerge.at, ResidentMerge.id)
    ).tuples())
    merge = session.scalar(select(ResidentMerge).where(ResidentMerge.merged_id == resident.id))
    merged_into = None
    if resident.merged_into_id is not None:
        merged_into = session.scalar(
            select(Resident).where(Resident.id == resident.merged_into_id, access.visible(actor)))
    return RecordView(resident, members, merged, merged_into, merge)


def household(*, session: Session, household_id: int, actor: Actor) -> tuple[Household, list[Resident]]:
    """A household and its members (merged records left out), within the actor's scope; logged as a
    read of the household."""
    actor.require("resident:read")
    hh = session.scalar(select(Household).where(
        Household.id == household_id, orgunits_service.scope_condition(Household.village_code, actor)))
    if hh is None:
        raise NotFound("residents.errors.household_not_found", household_id=household_id)
    members = list(session.scalars(
        select(Resident).where(Resident.household_id == hh.id, Resident.status != "merged", access.visible(actor))
        .order_by(Resident.id)))
    accounts_service.audit(session=session, actor=actor, action="read", entity_type="household",
                           entity_id=hh.id, basis=access_basis(actor, hh.village_code) or "county",
                           detail={"members": [m.id for m in members]})
    return hh, members


# --- update -----------------------------------------------------------------------------------------
def current_values(resident: Resident) -> dict[str, Any]:
    """A resident's fields in the shape validate() takes: the starting point of an edit."""
    return {
        "name": resident.name, "sex": resident.sex, "birth_date": resident.birth_date,
        "id_number": resident.id_number, "phone": resident.phone, "village_code": resident.village_code,
        "insurance_scheme": resident.insurance_scheme, "groups": list(resident.group_codes),
        "relation_to_head": resident.relation_to_head,
        "household_number": resident.household.number if resident.household else None,
        "address": resident.household.address if resident.household else None,
    }


def update(*, session: Session, resident_id: int, values: dict[str, Any], actor: Actor) -> Resident:
    """Change a resident's fields. `values` holds only the fields to change; the whole record is
    validated again. Logged as "update" with the names of the changed fields."""
    actor.require("resident:write")
    resident = session.scalar(
        select(Resident).where(Resident.id == resident_id, access.visible(actor))
        .options(selectinload(Resident.household), selectinload(Resident.groups)))
    if resident is None:
        raise NotFound("residents.errors.not_found", resident_id=resident_id)
    if resident.status == "merged":
        raise InvalidState("residents.errors.update_merged")
    before = current_values(resident)
    merged_values = {**before, **values}
    if values.get("id_number") and str(values["id_number"]).strip() != (resident.id_number or ""):
        # A new identity number carries its own birth date and sex unless the edit gives them too.
        for key in ("birth_date", "sex"):
            if key not in values:
                merged_values.pop(key, None)
    data = validate(merged_values, session=session)
    basis = access_basis(actor, data.village_code)
    if basis is None:
        raise Forbidden("residents.errors.village_out_of_scope")
    if data.id_number and session.scalar(
            select(Resident.id).where(Resident.id_number == data.id_number, Resident.id != resident.id)):
        raise InvalidInput("id_number", "residents.errors.id_number_duplicate")

    household_obj = resident.household
    if data.household_number != before["household_number"] or (
            household_obj is not None and household_obj.village_code != data.village_code):
        household_obj = None
        if data.household_number:
            household_obj = session.scalar(select(Household).where(Household.number == data.household_number))
            if household_obj is None:
                household_obj = Household(number=data.household_number, village_code=data.village_code,
                                          address=data.address)
                session.add(household_obj)
                session.flush()
            elif household_obj.village_code != data.village_code:
                raise InvalidInput("household_number", "residents.errors.household_other_village")
    if household_obj is not None and data.relation_to_head == "head":
        head = household_obj.head
        if head is not None and head.id != resident.id:
            raise InvalidInput("relation_to_head", "residents.errors.household_has_head")

    after = {
        "name": data.name, "sex": data.sex, "birth_date": data.birth_date, "id_number": data.id_number,
        "phone": data.phone, "village_code": data.village_code, "insurance_scheme": data.insurance_scheme,
        "groups": data.groups, "relation_to_head": data.relation_to_head,
        "household_number": household_obj.number if household_obj else None,
        "address": household_obj.address if household_obj else None,
    }
    if household_obj is not None and data.address and data.address != household_obj.address:
        household_obj.address = data.address
        after["address"] = data.address
    changed = sorted(k for k in after if _norm(after[k]) != _norm(before[k]))
    if not changed:
        return resident
    if "name" in changed:
        resident.name_initials, resident.name_pinyin = pinyin_keys(data.name)
    for key in ("name", "sex", "birth_date", "id_number", "phone", "village_code", "insurance_scheme",
                "relation_to_head"):
        setattr(resident, key, after[key])
    resident.household_id = household_obj.id if household_obj else None
    resident.household = household_obj
    if "groups" in changed:
        keep = {g.group: g for g in resident.groups}
        resident.groups = [keep.get(code) or ResidentGroup(group=code) for code in data.groups]
    session.flush()
    accounts_service.audit(session=session, actor=actor, action="update", entity_type="resident",
                           entity_id=resident.id, resident_id=resident.id, basis=basis,
                           detail={"fields": changed})
    return resident


def _norm(value: Any) -> Any:
    if isinstance(value, list):
        return sorted(value)
    return value or None


# --- merge ------------------------------------------------------------------------------------------
def merge(*, session: Session, survivor_id: int, merged_id: int, reason: str, actor: Actor,
          confirm_different_id_numbers: bool = False) -> ResidentMerge:
    """Record that two records are one person: `merged_id` is retired (status "merged", pointing at the
    survivor) and keeps its own history; nothing is moved or deleted. Both must be in the actor's scope.

    Two records whose identity numbers are both set and differ are, on their face, two people: such a
    merge is refused unless the caller confirms it (`confirm_different_id_numbers`, e.g. one number was
    mistyped but passed the check digit); the reason is required either way.
    """
    actor.require("resident:merge")
    reason = (reason or "").strip()
    errs = ErrorCollector()
    if survivor_id == merged_id:
        errs.add("merged_id", "residents.errors.merge_same")
    if not reason:
        errs.add("reason", "residents.errors.merge_reason_required")
    elif len(reason) > 200:
        errs.add("reason", "residents.errors.merge_reason_too_long", max=200)
    errs.raise_if_any()
    rows = {r.id: r for r in session.scalars(
        select(Resident).where(Resident.id.in_([survivor_id, merged_id]), access.visible(actor)))}
    survivor, merged = rows.get(survivor_id), rows.get(merged_id)
    if survivor is None:
        raise NotFound("residents.errors.not_found", resident_id=survivor_id)
    if merged is None:
        raise NotFound("residents.errors.not_found", resident_id=merged_id)
    for r in (survivor, merged):
        if r.status == "merged":
            raise InvalidState("residents.errors.already_merged", resident_id=r.id)
    if (survivor.id_number and merged.id_number and survivor.id_number != merged.id_number
            and not confirm_different_id_numbers):
        raise InvalidInput("confirm_different_id_numbers", "residents.errors.merge_id_numbers_differ")
    merged.status = "merged"
    merged.merged_into_id = survivor.id
    row = ResidentMerge(survivor_id=survivor.id, merged_id=merged.id, reason=reason, merged_by=actor.username)
    session.add(row)
    session.flush()
    for this, other in ((survivor, merged), (merged, survivor)):
        accounts_service.audit(
            session=session, actor=actor, action="merge", entity_type="resident", entity_id=this.id,
            resident_id=this.id, basis=access_basis(actor, this.village_code) or "county",
            detail={"survivor_id": survivor.id, "merged_id": merged.id, "other_id": other.id,
                    "reason": reason})
    return row

