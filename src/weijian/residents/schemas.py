"""Commands and API shapes of the resident master index. Identity numbers and phones are always masked in
lists; a record shows them in full only to an actor with `resident:read_identity` (core.disclosure), and
the birth date only to such an actor (the birth year otherwise)."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, field_validator, model_validator

from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.bounds import MAX_DATE, MIN_DATE, Id64, whole_number
from weijian.core.commands import Command, refuse
from weijian.core.disclosure import MASKED, Disclosure, disclosure_for
from weijian.residents.models import Household, Resident, ResidentMerge
from weijian.residents.rules import (
    SCHEME_ALIASES,
    SCHEMES,
    SEX_ALIASES,
    SEXES,
    Relation,
    Scheme,
    Sex,
    group_code,
    relation_code,
)


def age_on(birth_date: date, today: date | None = None) -> int:
    """Whole years completed on `today` (周岁)."""
    today = today or clock.today()
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


# --- commands -----------------------------------------------------------------------------------
_NAME = re.compile(r"^[\u3400-\u9fff\u00b7·A-Za-z\s]{1,50}$")


def _coded(value: Any, aliases: dict[str, str], codes: tuple[str, ...], reason: str) -> str | None:
    """A code, or the word a roster or form writes for it (男, 城乡居民医保); else refused with `reason`."""
    if value is None:
        return None
    code = aliases.get(str(value).strip(), str(value).strip())
    if code not in codes:
        raise refuse(reason)
    return code


class _ResidentFields(Command):
    """A resident's fields, each checked on its own: codes or the Chinese words forms and rosters use
    (男, 城乡居民医保, 户主, 低保) become codes. What needs today, the identity number or the database — the
    number's check digit and its agreement with sex and birth date, a birth date not in the future, the
    phone's format, the village — the service checks (`service.check_resident`), all at once, so that
    one refusal names every bad field beside the database's findings."""

    name: str | None = None
    sex: Sex | None = None
    birth_date: date | None = None
    id_number: str | None = None
    phone: str | None = None
    village_code: str | None = None
    insurance_scheme: Scheme | None = None
    groups: list[str] | None = None  # group codes (the API, the form) or their Chinese names (a roster)
    relation_to_head: Relation | None = None
    household_number: str | None = None
    address: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not _NAME.match(value):
            raise refuse("residents.errors.name_invalid")
        return value

    @field_validator("sex", mode="before")
    @classmethod
    def _sex(cls, value: Any) -> Any:
        return _coded(value, SEX_ALIASES, SEXES, "residents.errors.sex_invalid")

    @field_validator("birth_date", mode="before")
    @classmethod
    def _birth_date(cls, value: Any) -> Any:
        if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
            return value
        if isinstance(value, datetime):
            return value.date()
        try:
            return date.fromisoformat(str(value).strip().replace("/", "-"))
        except ValueError:
            raise refuse("residents.errors.birth_date_invalid") from None

    @field_validator("birth_date")
    @classmethod
    def _birth_date_range(cls, value: date | None) -> date | None:
        if value is not None and value < MIN_DATE:  # a future date is the service's to refuse, as such
            raise refuse("core.errors.validation.date_out_of_range", min=MIN_DATE.isoformat(),
                         max=MAX_DATE.isoformat())
        return value

    @field_validator("phone", mode="before")
    @classmethod
    def _phone(cls, value: Any) -> Any:
        # NFKC: a full-width number typed on a Chinese keyboard is the same number in ASCII digits.
        return unicodedata.normalize("NFKC", value).replace(" ", "") if isinstance(value, str) else value

    @field_validator("insurance_scheme", mode="before")
    @classmethod
    def _scheme(cls, value: Any) -> Any:
        return _coded(value, SCHEME_ALIASES, SCHEMES, "residents.errors.scheme_invalid")

    @field_validator("groups")
    @classmethod
    def _groups(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        codes: set[str] = set()
        for label in value:
            code = group_code(label)
            if code is None:
                raise refuse("residents.errors.group_unknown", group=label)
            codes.add(code)
        return sorted(codes)

    @field_validator("relation_to_head", mode="before")
    @classmethod
    def _relation(cls, value: Any) -> Any:
        if value is None:
            return None
        code = relation_code(str(value))
        if code is None:
            raise refuse("residents.errors.relation_unknown", relation=value)
        return code


class ResidentCreate(_ResidentFields):
    """A new resident (the API's body, the new-resident form, a roster's row). Sex and birth date may be
    left out when the identity number gives them."""

    name: str
    village_code: str
    insurance_scheme: Scheme = "none"
    groups: list[str] = []
    # Register it although records of the same name and birth date (or phone, or household) exist: set
    # after a person has looked at them (the service answers ProbableDuplicate without it).
    confirm_probable_duplicate: bool = False


class ResidentUpdate(_ResidentFields):
    """The fields to change (only those sent; a blank or null one is cleared, and refused where it is
    required). The record is then checked again as a whole.

    A new village is a move, a new status a death or a move out of the county (or its correction): both
    are kept in the residence history from `effective_on` (the day of the move or death; today when left
    out), so figures of the days before it do not change (residents.history). With `correction`, the
    village or status was entered wrongly: the history's last row is corrected in place (from its own
    first day, "since always" for a record that never changed), so the past periods change with it; no
    `effective_on` goes with it."""

    status: Literal["active", "deceased", "moved_out"] | None = None
    effective_on: date | None = None
    correction: bool = False

    @model_validator(mode="before")
    @classmethod
    def _blank_is_no_value(cls, data: Any) -> Any:
        # Overrides Command's: here a blank value is sent, and clears the field.
        if isinstance(data, Mapping):
            return {k: (None if isinstance(v, str) and not v.strip() else v) for k, v in data.items()}
        return data


class MergeIn(Command):
    """Merge the record `merged_id` into the path's (the survivor)."""

    merged_id: Id64
    reason: str = Field(max_length=200)
    # Both records carry different identity numbers and the caller has checked they are one person.
    confirm_different_id_numbers: bool = False


def _record_number(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    number = whole_number(value)
    if number is None:
        raise refuse("residents.errors.record_number_invalid")
    return number


RecordNumber = Annotated[int, BeforeValidator(_record_number)]


class UnmergeIn(Command):
    """Undo a merge (the path's): the reason is required (by the service, with its words)."""

    reason: str | None = Field(default=None, max_length=200)


class MergeForm(Command):
    """The merge form: two record numbers as typed, the reason (required by the service, with its words)."""

    survivor_id: RecordNumber
    merged_id: RecordNumber
    reason: str | None = None
    confirm_different_id_numbers: bool = False


# --- output -------------------------------------------------------------------------------------
class ResidentListItem(BaseModel):
    id: int
    name: str
    sex: str
    age: int
    birth_year: int
    birth_date: date | None  # None for an actor without resident:read_identity (core.disclosure)
    id_number_masked: str
    phone_masked: str
    village_code: str
    village_name: str
    household_number: str | None
    status: str
    merged_into_id: int | None

    @classmethod
    def of(cls, r: Resident, village_names: dict[str, str], *, disclosure: Disclosure) -> ResidentListItem:
        return cls(
            id=r.id, name=r.name, sex=r.sex, age=age_on(r.birth_date), birth_year=r.birth_date.year,
            birth_date=disclosure.birth_date(r.birth_date),
            id_number_masked=disclosure.id_number(r.id_number, listing=True) or "",
            phone_masked=disclosure.phone(r.phone, listing=True) or "",
            village_code=r.village_code, village_name=village_names.get(r.village_code, r.village_code),
            household_number=r.household.number if r.household else None, status=r.status,
            merged_into_id=r.merged_into_id,
        )


class ProbableMatchOut(BaseModel):
    """A registered record that may be the person being registered, masked as in a list, and what matched."""

    resident: ResidentListItem
    matched_on: list[str]


class DuplicatePairOut(BaseModel):
    first: ResidentListItem
    second: ResidentListItem
    matched_on: list[str]


class DistinctIn(Command):
    """Two records of a probable-duplicate pair found to be two people (the API's body, the review page's
    form)."""

    first_id: Id64
    second_id: Id64
    reason: str | None = None


class ResidentPage(BaseModel):
    items: list[ResidentListItem]
    total: int
    # True when there are more than `total` matches: counting stops at 1,000 ("1000+").
    total_capped: bool
    page: int
    page_size: int


class HouseholdRef(BaseModel):
    id: int
    number: str
    address: str | None


class MergeOut(BaseModel):
    id: int
    survivor_id: int
    merged_id: int
    reason: str
    merged_by: str
    at: datetime
    undone_at: datetime | None = None
    undone_by: str | None = None
    undo_reason: str | None = None

    @classmethod
    def of(cls, m: ResidentMerge) -> MergeOut:
        return cls(id=m.id, survivor_id=m.survivor_id, merged_id=m.merged_id, reason=m.reason, merged_by=m.merged_by,
                   at=m.at, undone_at=m.undone_at, undone_by=m.undone_by, undo_reason=m.undo_reason)


class MergeReviewOut(BaseModel):
    """A merge with what it moved (record type → rows) and the conflicts it settled (note → rows)."""

    merge: MergeOut
    moved: dict[str, int]
    notes: dict[str, int]


class ResidentDetail(BaseModel):
    id: int
    name: str
    name_pinyin: str
    sex: str
    age: int
    birth_year: int
    # Full only for an actor with resident:read_identity; otherwise masked (`id_number_masked` says so),
    # the phone masked and the birth date None (core.disclosure).
    birth_date: date | None
    id_number: str | None
    id_number_masked: bool
    phone: str | None
    village_code: str
    village_name: str
    insurance_scheme: str
    groups: list[str]
    household: HouseholdRef | None
    relation_to_head: str | None
    status: str
    merged_into_id: int | None
    merged: list[MergeOut] = []  # records merged into this one
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, r: Resident, *, actor: Actor, village_name: str,
           merges: list[ResidentMerge] | None = None) -> ResidentDetail:
        shown = disclosure_for(actor)
        return cls(
            id=r.id, name=r.name, name_pinyin=r.name_pinyin, sex=r.sex, age=age_on(r.birth_date),
            birth_year=r.birth_date.year, birth_date=shown.birth_date(r.birth_date),
            id_number=shown.id_number(r.id_number),
            id_number_masked=not shown.full and bool(r.id_number), phone=shown.phone(r.phone),
            village_code=r.village_code,
            village_name=village_name, insurance_scheme=r.insurance_scheme, groups=list(r.group_codes),
            household=HouseholdRef(id=r.household.id, number=r.household.number, address=r.household.address)
            if r.household else None,
            relation_to_head=r.relation_to_head, status=r.status, merged_into_id=r.merged_into_id,
            merged=[MergeOut.of(m) for m in (merges or [])], created_at=r.created_at, updated_at=r.updated_at,
        )


class HouseholdMember(BaseModel):
    id: int
    name: str
    sex: str
    age: int
    relation_to_head: str | None
    id_number_masked: str


class HouseholdOut(BaseModel):
    id: int
    number: str
    village_code: str
    village_name: str
    address: str | None
    head_id: int | None
    members: list[HouseholdMember]

    @classmethod
    def of(cls, hh: Household, members: list[Resident], village_name: str) -> HouseholdOut:
        head = next((m for m in members if m.relation_to_head == "head"), None)
        return cls(
            id=hh.id, number=hh.number, village_code=hh.village_code, village_name=village_name,
            address=hh.address, head_id=head.id if head else None,
            members=[HouseholdMember(id=m.id, name=m.name, sex=m.sex, age=age_on(m.birth_date),
                                     relation_to_head=m.relation_to_head,
                                     id_number_masked=MASKED.id_number(m.id_number) or "") for m in members],
        )
