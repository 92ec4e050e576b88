"""Commands and answers of zoonoses. Required fields are optional in the models so that the service names
every missing one at once, with the checks that need the data file or the database."""
from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, Field

from weijian.core.bounds import BoundedDate, Id64
from weijian.core.commands import Command

MAX_SCREENED = 1_000_000
Count = Annotated[int, Field(ge=0, le=MAX_SCREENED)]


class ExposureCreate(Command):
    """A resident's exposure: the disease and the kinds (data/zoonoses.yaml), onset and diagnosis dates, the
    village where it happened (none: the resident's own), the case report once there is one."""

    resident_id: Id64 | None = None
    disease: str | None = None
    exposure_kinds: list[str] | None = None
    onset_date: BoundedDate | None = None
    diagnosis_date: BoundedDate | None = None
    village_code: str | None = None
    case_report_id: Id64 | None = None
    note: str | None = None


class CampaignCreate(Command):
    """A screening in one village on one day: screened and positives (positives ≤ screened), the method."""

    disease: str | None = None
    village_code: str | None = None
    screened_on: BoundedDate | None = None
    screened: Count | None = None
    positives: Count | None = None
    method: str | None = None
    note: str | None = None


class ExposureOut(BaseModel):
    id: int
    resident_id: int
    resident_name: str
    disease: str
    exposure_kinds: list[str]
    village_code: str
    onset_date: date | None
    diagnosis_date: date | None
    case_report_id: int | None
    note: str | None


class CampaignOut(BaseModel):
    id: int
    disease: str
    village_code: str
    screened_on: date
    screened: int
    positives: int
    method: str
    note: str | None


class VillageRow(BaseModel):
    village_code: str
    village_name: str
    disease: str
    campaigns: int
    screened: int
    positives: int
    positive_rate: float | None  # positives / screened, None when nobody was screened
    exposures: int
