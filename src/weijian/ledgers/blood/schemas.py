"""Commands and answers of voluntary blood donation. Required fields are optional in the models so that the
service names every missing one at once, with the checks of GB 18467 that need the donor's history."""
from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from weijian.core.bounds import BoundedDate, Id64
from weijian.core.commands import Command


class DonorCreate(Command):
    """A donor: a resident of the county (`resident_id`: name, sex and birth date from the record), or one
    from outside it (name, sex and birth date, or an identity number they are read from)."""

    resident_id: Id64 | None = None
    name: str | None = None
    id_number: str | None = None
    sex: Literal["male", "female"] | None = None
    birth_date: BoundedDate | None = None
    phone: str | None = None
    blood_group: Literal["A", "B", "AB", "O"] | None = None
    note: str | None = None


class DonationCreate(Command):
    """A donation: the day and kind; whole blood with its volume (ml), platelets with their therapeutic units."""

    donated_on: BoundedDate | None = None
    kind: Annotated[str | None, Field(max_length=16)] = None
    volume_ml: Annotated[int | None, Field(ge=1, le=2000)] = None
    units: Annotated[int | None, Field(ge=1, le=10)] = None
    adverse_reaction: bool = False
    site: Annotated[str | None, Field(max_length=100)] = None


class DonationOut(BaseModel):
    id: int
    donated_on: date
    kind: str
    volume_ml: int | None
    units: int | None
    adverse_reaction: bool
    site: str | None


class DonorOut(BaseModel):
    id: int
    resident_id: int | None
    name: str
    id_number: str | None  # masked unless the caller reads identity (resident:read_identity), always in lists
    phone: str | None  # likewise
    sex: str
    birth_date: date | None  # None for a caller who sees masked numbers (birth_year then)
    birth_year: int
    blood_group: str | None
    donations: int
    whole_blood_ml: int
    platelet_units: int
    honours_count: int
    award: str | None
    last_donated_on: date | None
    next_whole_blood: date | None
    next_platelets: date | None


class DonorDetail(DonorOut):
    history: list[DonationOut]


class RecallRowOut(BaseModel):
    donor: DonorOut
    eligible_since: date
    age: int
