"""Tables: users, log-in sessions, API tokens, log-in throttles, audit events (append-only, hash-chained)
and the head of their chain."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from weijian.core import clock
from weijian.core.db import Base, Code, UTCDateTime


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    # village_doctor | ... | sysadmin | security_admin | audit_admin (accounts/data/roles.yaml)
    role: Mapped[str] = mapped_column(Code(32))
    orgunit_code: Mapped[str] = mapped_column(ForeignKey("orgunits.code"), index=True)  # scope
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"))
    phone: Mapped[str | None] = mapped_column(String(20))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set by an administrator's create or reset: the user chooses their own at the next log-in.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=clock.now)
    # Demo accounts (weijian demo-data): the printed password, no second factor; refused in production.
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    # TOTP second factor (RFC 6238): the base32 secret once set up, and the last time step accepted
    # (a code is good once).
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)


class UserSession(Base):
    """A log-in session: the cookie carries a random id, only its SHA-256 is stored."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # password: the password was right, the second factor is still due; complete: logged in.
    stage: Mapped[str] = mapped_column(Code(16), default="complete")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the absolute lifetime
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))


class ApiToken(Base):
    """Bearer tokens for `/api/v1`; only a SHA-256 of the token is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginThrottle(Base):
    """Failed log-ins counted per account name (`kind` user, the name as typed: unknown names count
    too) and per client address (`kind` ip), and the lock they led to."""

    __tablename__ = "login_throttles"
    __table_args__ = (UniqueConstraint("kind", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(Code(8))
    key: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


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


class AuditShown(Base):
    """Which residents a list or search showed: one row per (event, resident), an index of the `shown`
    ids in the event's detail, which the chain's hash covers (`audit_chain.verify` checks that the two
    agree). It lets "who saw resident X" find the lists that showed X, not only the reads of X's record.
    Append-only like the events (migration 0006)."""

    __tablename__ = "audit_shown"
    __table_args__ = (Index("ix_audit_shown_resident_seq", "resident_id", "seq"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # audit_events.seq
    resident_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
