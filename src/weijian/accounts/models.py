"""Tables: users, API tokens, audit events (append-only)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from weijian.core.db import Base, Code, UTCDateTime
from weijian.core import clock


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    # village_doctor | township_doctor | county_doctor | bureau_admin | sysadmin (accounts/data/roles.yaml)
    role: Mapped[str] = mapped_column(Code(32))
    orgunit_code: Mapped[str] = mapped_column(ForeignKey("orgunits.code"), index=True)  # scope
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"))
    phone: Mapped[str | None] = mapped_column(String(20))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiToken(Base):
    """Bearer tokens for `/api/v1`; only a SHA-256 of the token is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEvent(Base):
    """Who did what to which record, when, from where, and on what basis. Never updated or deleted."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_resident_at", "resident_id", "at"),
        Index("ix_audit_events_user_at", "user_id", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    username: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(Code(32))
    action: Mapped[str] = mapped_column(Code(32))  # read | create | update | merge | import | login ...
    entity_type: Mapped[str] = mapped_column(Code(32))  # resident | household | user | facility ...
    entity_id: Mapped[str | None] = mapped_column(String(64))
    # Plain integer, no foreign key: the log outlives whatever it describes.
    resident_id: Mapped[int | None] = mapped_column(Integer)
    # own_village | own_township | county | referral | statistics | administration | system ...
    basis: Mapped[str] = mapped_column(Code(32))
    ip: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)  # JSON
