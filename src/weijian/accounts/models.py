"""Tables: users, API tokens, audit events (append-only, hash-chained) and the head of their chain."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
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
    """Who did what to which record, when, from where, and on what basis. Never updated or deleted; each
    row is chained to the one before it (accounts/audit_chain.py): rows are only ever added through
    `audit_chain.append`."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_resident_at", "resident_id", "at"),
        Index("ix_audit_events_user_at", "user_id", "at"),
        UniqueConstraint("seq"),
        # Ids are never handed out twice, even after the newest rows are gone (AUTOINCREMENT; a sequence on
        # PostgreSQL); an insert over an existing id is refused by a trigger (migration 0003).
        {"sqlite_autoincrement": True},
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
    # Place in the chain: 1, 2, 3 … without gaps (ids may skip: a rolled-back insert uses up a sequence
    # value on PostgreSQL), and HMAC-SHA256 (hex) over this row's content and the previous row's hash.
    seq: Mapped[int] = mapped_column(Integer)
    chain_hash: Mapped[str] = mapped_column(String(64))


class AuditChainHead(Base):
    """The one row that says where the audit chain ends (its last seq, event id and hash), signed with the
    audit key: rows deleted from the end of the chain leave the head pointing past them. Appending locks
    this row (SELECT … FOR UPDATE on PostgreSQL), so concurrent writers extend one chain."""

    __tablename__ = "audit_chain_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)  # 0: no event yet
    event_id: Mapped[int | None] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(64))
