"""API and form shapes of accounts: token requests, the current user, audit events and their filters, and
the command registering a user."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from weijian.core.bounds import BoundedDate, Id64, PageNo
from weijian.core.commands import Command


class TokenRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    totp: str | None = Field(default=None, max_length=8, description="second-factor code, when the user has one")


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime


class MeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    full_name: str
    role: str
    orgunit_code: str
    facility_id: int | None
    permissions: list[str]


class AuditEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime  # UTC
    user_id: int | None
    username: str
    role: str
    action: str
    entity_type: str
    entity_id: str | None
    resident_id: int | None
    basis: str
    ip: str | None
    detail: dict[str, Any] | None

    @field_validator("detail", mode="before")
    @classmethod
    def _parse_detail(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value


class AuditPageOut(BaseModel):
    items: list[AuditEventOut]
    total: int
    page: int
    page_size: int


class AuditFilters(BaseModel):
    """The audit page's GET form: empty inputs mean "no filter"."""

    user: str | None = Field(default=None, max_length=64)
    resident_id: Id64 | None = None  # bounded like every id (core.bounds): a larger one is a field error
    date_from: BoundedDate | None = None
    date_to: BoundedDate | None = None
    action: str | None = Field(default=None, max_length=32)
    page: PageNo | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value.strip() if isinstance(value, str) else value

    def query(self, **over: Any) -> dict[str, Any]:
        """The filters as query parameters (for pager links), without empty ones."""
        values = {**self.model_dump(), **over}
        return {k: v for k, v in values.items() if v is not None}


class UserCreate(Command):
    """A new user, as an administrator registers them (the users page, `weijian accounts add`, the demo): the
    password rules, the role, and the level and scope of its org unit are the service's checks."""

    username: str
    full_name: str = ""
    password: Annotated[str, StringConstraints(strip_whitespace=False)]  # as typed: spaces are characters
    role: str
    orgunit_code: str
    facility_id: Id64 | None = None
    phone: str | None = None
