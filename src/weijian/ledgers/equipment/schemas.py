"""Commands and answers of the equipment registry. Required fields are optional in the models so that the
service names every missing one at once."""
from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, Field

from weijian.core.bounds import BoundedDate
from weijian.core.commands import Command


class DeviceCreate(Command):
    """A device placed: kind and place type (data/equipment.yaml), serial number, org unit and address,
    owner, install date, the battery's and pads' expiry."""

    kind: Annotated[str, Field(max_length=16)] = "aed"
    serial: Annotated[str | None, Field(max_length=64)] = None
    model: Annotated[str | None, Field(max_length=100)] = None
    orgunit_code: Annotated[str | None, Field(max_length=12)] = None
    address: str | None = None
    place_type: Annotated[str | None, Field(max_length=32)] = None
    owner: Annotated[str | None, Field(max_length=100)] = None
    install_date: BoundedDate | None = None
    battery_expiry: BoundedDate | None = None
    pad_expiry: BoundedDate | None = None
    note: str | None = None


class InspectionCreate(Command):
    """A monthly inspection: the day, the result (working, expired_parts, missing), the inspector."""

    inspected_on: BoundedDate | None = None
    result: Annotated[str | None, Field(max_length=16)] = None
    inspector: Annotated[str | None, Field(max_length=50)] = None
    note: str | None = None


class InspectionOut(BaseModel):
    id: int
    device_id: int
    inspected_on: date
    result: str
    inspector: str
    note: str | None


class DeviceOut(BaseModel):
    id: int
    kind: str
    serial: str
    model: str | None
    orgunit_code: str
    orgunit_name: str
    address: str
    place_type: str
    public_place: bool
    owner: str
    install_date: date
    battery_expiry: date | None
    pad_expiry: date | None
    status: str
    last_inspected_on: date | None
    last_result: str | None
    expiring: bool
    expired: bool
    uninspected: bool


class DeviceListOut(BaseModel):
    as_of: date
    public_places: int
    expiring: int
    uninspected: int
    items: list[DeviceOut]
