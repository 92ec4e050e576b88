"""The rows of a roster checked: each row's resident (its command built from the cells, then the service's
checks), the villages named by code or by name, identity numbers repeated in the file, and the plan of
households — which household each row joins, new or registered, and the checks that go with it."""
from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from weijian.core.actor import Actor
from weijian.core.commands import build
from weijian.core.errors import FieldError, InvalidInput
from weijian.core.identifiers import parse_id_number
from weijian.orgunits import service as orgunits_service
from weijian.residents import access
from weijian.residents import service as residents_service
from weijian.residents.importer.reading import HEADER_JUNK, date_of, listing, text_of
from weijian.residents.models import Household, Resident
from weijian.residents.rules import relation_code
from weijian.residents.schemas import ResidentCreate

IN_CHUNK = 5000  # values per IN (...) look-up: under SQLite's and PostgreSQL's parameter limits
_VILLAGE_CODE = re.compile(r"^\d{12}$")
_GROUP_SEPARATORS = re.compile(r"[,，、;；\s]+")


# --- villages ------------------------------------------------------------------------------------
@dataclass
class Villages:
    codes: set[str]
    in_scope: set[str]
    by_name: dict[str, list[str]]  # village name, and township name + village name -> codes

    def resolve(self, raw: str) -> tuple[str, FieldError | None]:
        """(code, error): a 12-digit code as it is; a name mapped to its code when unique."""
        if not raw or _VILLAGE_CODE.match(raw):
            return raw, None
        found = self.by_name.get(HEADER_JUNK.sub("", raw), [])
        if len(found) == 1:
            return found[0], None
        if len(found) > 1:
            return raw, FieldError("village", "residents.import.errors.village_ambiguous", {"name": raw})
        return raw, None  # the residents' check reports it as unknown


def load_villages(*, session: Session, actor: Actor) -> Villages:
    townships = {u.code: u.name for u in orgunits_service.list_orgunits(session=session, level="township")}
    codes: set[str] = set()
    by_name: dict[str, list[str]] = {}
    for unit in orgunits_service.list_orgunits(session=session, level="village"):
        codes.add(unit.code)
        by_name.setdefault(HEADER_JUNK.sub("", unit.name), []).append(unit.code)
        town = townships.get(unit.parent_code or "")
        if town:
            by_name.setdefault(HEADER_JUNK.sub("", town + unit.name), []).append(unit.code)
    in_scope = {c for c in codes if access.basis_for(actor, c) is not None}
    return Villages(codes, in_scope, by_name)


# --- rows ------------------------------------------------------------------------------------------
@dataclass
class PlannedHousehold:
    number: str
    village_code: str
    address: str | None = None
    db_id: int | None = None  # set for a registered household, and for a new one once inserted
    head_row: Row | None = None  # the householder's row, when in the file
    is_new: bool = False


@dataclass
class Row:
    number: int
    cells: tuple
    data: residents_service.ResidentData | None = None
    id_number: str | None = None  # normalized; known even when another field of the row is bad
    head_id: str | None = None
    is_head: bool = False
    relation_given: bool = False
    household_number: str | None = None
    errors: list[FieldError] = field(default_factory=list)
    existing: bool = False
    household: PlannedHousehold | None = None

    def error(self, fld: str, key: str, **params: Any) -> None:
        self.errors.append(FieldError(fld, key, params, row=self.number))


_RESIDENT_FIELD = {"village_code": "village"}  # a resident's field -> the import's column


def _checked(values: dict[str, Any], today: date,
             villages: set[str]) -> tuple[residents_service.ResidentData | None, list[FieldError]]:
    """A row's resident by the residents' rules (its command, then the service's checks), or its errors.
    When the command refuses some cells, the rest still get the service's checks: a roster's every bad
    cell is named at once."""
    errors: list[FieldError] = []
    resident_in: ResidentCreate | None = None
    try:
        resident_in = build(ResidentCreate, values)
    except InvalidInput as exc:
        errors.extend(exc.errors)
        bad = {e.field.split(".", 1)[0] for e in exc.errors}
        with contextlib.suppress(InvalidInput):  # a bad name or village: nothing more to check
            resident_in = build(ResidentCreate, {k: v for k, v in values.items() if k not in bad})
    if resident_in is not None:
        try:
            data = residents_service.check_resident(resident_in, today=today, known_villages=villages)
        except InvalidInput as exc:
            errors.extend(exc.errors)
        else:
            if not errors:
                return data, []
    return None, errors


def parse_row(number: int, cells: tuple, index: dict[str, int], villages: Villages, today: date,
               head_ids: dict[str, str | InvalidInput]) -> Row:
    padded = cells + (None,) * (max(index.values()) + 1 - len(cells))

    def cell(name: str) -> Any:
        pos = index.get(name)
        return None if pos is None else padded[pos]

    row = Row(number, cells)
    raw_village, village_error = villages.resolve(text_of(cell("village")))
    if village_error:
        row.errors.append(FieldError(village_error.field, village_error.reason_key, village_error.params,
                                     row=number))
    raw_id = cell("id_number")
    id_lossy = isinstance(raw_id, float) and abs(raw_id) >= 2 ** 53
    values = {
        "name": text_of(cell("name")), "sex": text_of(cell("sex")), "birth_date": date_of(cell("birth_date")),
        "id_number": "" if id_lossy else text_of(raw_id), "phone": text_of(cell("phone")),
        "village_code": raw_village, "insurance_scheme": text_of(cell("insurance_scheme")),
        "groups": [g for g in _GROUP_SEPARATORS.split(text_of(cell("groups"))) if g],
        "relation_to_head": text_of(cell("relation_to_head")),
        "household_number": text_of(cell("household_number")), "address": text_of(cell("address")),
    }
    data, errors = _checked(values, today, villages.codes)
    for e in errors:
        if e.field == "village_code" and village_error:
            continue  # already said why: the name is ambiguous
        row.errors.append(FieldError(_RESIDENT_FIELD.get(e.field, e.field), e.reason_key, e.params, row=number))
    row.data = data
    if row.data is not None:
        row.id_number = row.data.id_number
        relation = row.data.relation_to_head
    else:
        if values["id_number"]:
            with contextlib.suppress(InvalidInput):
                row.id_number = parse_id_number(values["id_number"], today=today).normalized
        raw_relation = values["relation_to_head"]
        relation = relation_code(raw_relation) if raw_relation else None
    if id_lossy:
        row.error("id_number", "residents.import.errors.id_number_as_number")
    elif not values["id_number"]:
        row.error("id_number", "core.errors.id_number.required")
    if row.data is not None and row.data.village_code not in villages.in_scope:
        row.error("village", "residents.errors.village_out_of_scope")

    raw_head = text_of(cell("head_id_number"))
    if raw_head:
        # A household's members repeat its householder's number: parse each number once.
        parsed = head_ids.get(raw_head)
        if parsed is None:
            try:
                parsed = parse_id_number(raw_head, field="head_id_number", today=today).normalized
            except InvalidInput as exc:
                parsed = exc
            head_ids[raw_head] = parsed
        if isinstance(parsed, InvalidInput):
            row.errors.extend(FieldError(e.field, e.reason_key, e.params, row=number) for e in parsed.errors)
        else:
            row.head_id = parsed
    row.household_number = values["household_number"] or None
    row.relation_given = bool(values["relation_to_head"])
    head_is_self = row.head_id is not None and row.head_id == row.id_number
    if relation == "head":
        row.is_head = True
        if raw_head and row.head_id is not None and row.id_number is not None and not head_is_self:
            row.error("head_id_number", "residents.import.errors.head_id_not_self")
    elif head_is_self:
        if relation is None and not row.relation_given:
            row.is_head = True  # 户主身份证号 = own number and no relation written: the householder
        else:
            row.error("relation_to_head", "residents.import.errors.relation_not_head")
    elif row.relation_given and not raw_head and not row.household_number:
        row.error("head_id_number", "residents.import.errors.head_id_required")
    if row.is_head and row.id_number:
        row.head_id = row.id_number
    return row



def check_duplicate_ids(rows: list[Row]) -> None:
    by_id: dict[str, list[Row]] = {}
    for r in rows:
        if r.id_number:
            by_id.setdefault(r.id_number, []).append(r)
    for same in by_id.values():
        if len(same) > 1:
            numbers = listing(r.number for r in same)
            for r in same:
                r.error("id_number", "residents.import.errors.id_number_duplicate_in_file", rows=numbers)


@dataclass(frozen=True)
class Registered:
    id: int
    household_id: int | None
    relation_to_head: str | None
    name: str = ""


def chunks(values: list, size: int) -> Iterable[list]:
    for i in range(0, len(values), size):
        yield values[i:i + size]


def registered_residents(session: Session, id_numbers: set[str]) -> dict[str, Registered]:
    """Residents already registered under these identity numbers: a few IN look-ups, not one per row."""
    out: dict[str, Registered] = {}
    for chunk in chunks(sorted(id_numbers), IN_CHUNK):
        stmt = select(Resident.id_number, Resident.id, Resident.household_id, Resident.relation_to_head,
                      Resident.name).where(Resident.id_number.in_(chunk))
        for id_number, rid, household_id, relation, name in session.execute(stmt):
            out[id_number] = Registered(rid, household_id, relation, name)
    return out


class HouseholdPlan:
    """Which household each row belongs to: one of the file's householders' (new, or registered when the
    householder is) or one already registered; and the checks that go with it."""

    def __init__(self, session: Session, rows: list[Row], registered: dict[str, Registered]) -> None:
        self.session = session
        self.rows = rows
        self.registered = registered
        self.by_head: dict[str, PlannedHousehold] = {}
        self.by_number: dict[str, PlannedHousehold] = {}
        self.head_rows: dict[str, Row] = {r.id_number: r for r in rows if r.is_head and r.id_number}
        self.file_ids: set[str] = {r.id_number for r in rows if r.id_number}
        numbers = {r.household_number for r in rows if r.household_number}
        numbers |= {"H" + r.id_number for r in self.head_rows.values()}
        ids = {reg.household_id for reg in registered.values() if reg.household_id}
        self.db = self._load_households(numbers, ids)

    def _load_households(self, numbers: set[str], ids: set[int]) -> dict[str | int, PlannedHousehold]:
        found: dict[int, PlannedHousehold] = {}
        stmt = select(Household.id, Household.number, Household.village_code, Household.address)
        for chunk in chunks(sorted(numbers), IN_CHUNK):
            for hid, number, village, address in self.session.execute(stmt.where(Household.number.in_(chunk))):
                found[hid] = PlannedHousehold(number, village, address, db_id=hid)
        for chunk in chunks(sorted(ids), IN_CHUNK):
            for hid, number, village, address in self.session.execute(stmt.where(Household.id.in_(chunk))):
                found[hid] = PlannedHousehold(number, village, address, db_id=hid)
        self.db_with_head: set[int] = set()
        for chunk in chunks(sorted(found), IN_CHUNK):
            self.db_with_head.update(self.session.scalars(
                select(Resident.household_id).where(Resident.household_id.in_(chunk),
                                                    Resident.relation_to_head == "head")))
        out: dict[str | int, PlannedHousehold] = {}
        for hid, h in found.items():
            out[hid] = h
            out[h.number] = h
        return out

    def place_heads(self) -> None:
        claimed: dict[str, list[Row]] = {}
        for row in self.head_rows.values():
            reg = self.registered.get(row.id_number)
            if reg is not None:
                # A registered householder keeps their household; members in the file join it.
                is_head = reg.household_id is not None and reg.relation_to_head == "head"
                household = self.db.get(reg.household_id) if is_head else None
                if household is not None:
                    if row.household_number and row.household_number != household.number:
                        row.error("household_number", "residents.import.errors.household_number_mismatch",
                                  number=household.number)
                    household.head_row = row
                    self.by_head[row.id_number] = household
                    self.by_number.setdefault(household.number, household)
                continue
            number = row.household_number or "H" + row.id_number
            claimed.setdefault(number, []).append(row)
        for number, heads in claimed.items():
            if len(heads) > 1:
                numbers = listing(r.number for r in heads)
                for r in heads:
                    r.error("relation_to_head", "residents.import.errors.two_heads", rows=numbers)
            head = heads[0]
            existing = self.db.get(number)
            if existing is not None:
                where = "household_number" if head.household_number else "relation_to_head"
                if existing.db_id in self.db_with_head:
                    head.error(where, "residents.errors.household_has_head")
                elif head.data is not None and existing.village_code != head.data.village_code:
                    head.error("village", "residents.errors.household_other_village")
                household = existing
                household.head_row = head
            else:
                village = head.data.village_code if head.data else ""
                household = PlannedHousehold(number, village, head.data.address if head.data else None,
                                       head_row=head, is_new=True)
            for r in heads:
                self.by_head[r.id_number] = household
                r.household = household
            self.by_number[number] = household

    def place_members(self) -> None:
        for row in self.rows:
            if row.is_head or (not row.head_id and not row.household_number):
                continue
            household = self._member_household(row)
            if household is None:
                continue
            head = household.head_row
            if head is not None and head is not row and head.errors:
                row.error("head_id_number" if row.head_id else "household_number",
                          "residents.import.errors.head_row_invalid", head_row=head.number)
            if row.household_number and row.household_number != household.number:
                row.error("household_number", "residents.import.errors.household_number_mismatch",
                          number=household.number)
            if row.data is not None and household.village_code and row.data.village_code != household.village_code:
                row.error("village", "residents.import.errors.village_not_household")
            row.household = household

        for row in self.head_rows.values():
            if row.household is None and row.id_number in self.by_head:
                row.household = self.by_head[row.id_number]

    def _member_household(self, row: Row) -> PlannedHousehold | None:
        if row.head_id:
            if row.head_id in self.by_head:
                return self.by_head[row.head_id]
            reg = self.registered.get(row.head_id)
            if reg is not None and reg.relation_to_head == "head" and reg.household_id in self.db:
                household = self.db[reg.household_id]
                self.by_head[row.head_id] = household
                return household
            if row.head_id in self.file_ids or reg is not None:
                # The person is in the file or registered, but not as the householder of a household.
                row.error("head_id_number", "residents.import.errors.head_not_householder", id=row.head_id)
                return None
            row.error("head_id_number", "residents.import.errors.head_not_found", id=row.head_id)
            return None
        household = self.by_number.get(row.household_number) or self.db.get(row.household_number)
        if household is None:
            row.error("household_number", "residents.import.errors.household_not_found",
                      number=row.household_number)
        return household

    def new_households(self) -> list[PlannedHousehold]:
        """New households whose householder's row is good: the ones to insert."""
        seen: dict[str, PlannedHousehold] = {}
        for h in self.by_head.values():
            if h.is_new and h.head_row is not None and not h.head_row.errors:
                seen[h.number] = h
        return list(seen.values())

