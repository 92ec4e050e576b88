"""API shapes of the resident master index. Identity numbers and phones are always masked in lists; a
record shows them in full only to an actor with `resident:read_identity` (core.disclosure), and the birth
date only to such an actor (the birth year otherwise)."""
from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.bounds import Id64
from weijian.core.disclosure import MASKED, Disclosure, disclosure_for
from weijian.residents.models import Household, Resident, ResidentMerge


def age_on(birth_date: date, today: date | None = None) -> int:
    """Whole years completed on `today` (周岁)."""
    today = today or clock.today()
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


# --- input --------------------------------------------------------------------------------------
class ResidentIn(BaseModel):
    """A new resident. Values are checked by the service (every bad field reported, in the user's
    language), so the shapes here are deliberately loose."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    sex: str | None = None
    birth_date: str | None = None
    id_number: str | None = None
    phone: str | None = None
    village_code: str | None = None
    insurance_scheme: str | None = None
    groups: list[str] | None = None
    relation_to_head: str | None = None
    household_number: str | None = None
    address: str | None = None


class ResidentPatch(ResidentIn):
    """Only the fields sent are changed (the record is validated again as a whole)."""


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    merged_id: Id64
    reason: str = Field(max_length=200)
    # Both records carry different identity numbers and the caller has checked they are one person.
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
    survivor_id: int
    merged_id: int
    reason: str
    merged_by: str
    at: datetime

    @classmethod
    def of(cls, m: ResidentMerge) -> MergeOut:
        return cls(survivor_id=m.survivor_id, merged_id=m.merged_id, reason=m.reason, merged_by=m.merged_by,
                   at=m.at)


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
