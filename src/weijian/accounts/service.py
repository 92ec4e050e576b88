"""Accounts: users, roles and permissions (data file), passwords, API tokens, and the audit log.

Other domains call `audit(...)` for every read and write of a resident record, and `scope_filter`-style
checks go through `orgunits.service`.
"""
from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from weijian.accounts.models import ApiToken, AuditEvent, User
from weijian.core.actor import Actor
from weijian.core.errors import Conflict, InvalidInput, NotFound, Unauthorized
from weijian.core.db import utcnow
from weijian.orgunits import service as orgunits_service

ROLES_FILE = Path(__file__).resolve().parent / "data" / "roles.yaml"
_hasher = PasswordHasher()


# --- roles --------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def roles() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load(ROLES_FILE.read_text(encoding="utf-8"))
    out = {}
    for code, spec in data["roles"].items():
        if spec.get("scope_level") not in ("village", "township", "county"):
            raise ValueError(f"{ROLES_FILE}: roles.{code}.scope_level must be village, township or county")
        out[code] = {"scope_level": spec["scope_level"], "permissions": frozenset(spec["permissions"])}
    return out


def role_permissions(role: str) -> frozenset[str]:
    return roles()[role]["permissions"]


# --- passwords ----------------------------------------------------------------------------------
def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# --- users --------------------------------------------------------------------------------------
def get(*, session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def get_by_username(*, session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def create(*, session: Session, username: str, password: str, full_name: str, role: str,
           orgunit_code: str, facility_id: int | None = None, phone: str | None = None) -> User:
    errors: list[tuple[str, str, dict]] = []
    username = (username or "").strip()
    if not username or len(username) > 64:
        errors.append(("username", "accounts.errors.username_invalid", {}))
    if role not in roles():
        errors.append(("role", "accounts.errors.role_unknown", {"role": role}))
    if len(password or "") < 8:
        errors.append(("password", "accounts.errors.password_too_short", {"min": 8}))
    unit = orgunits_service.get(session=session, code=orgunit_code)
    if unit is None:
        errors.append(("orgunit_code", "accounts.errors.orgunit_unknown", {"code": orgunit_code}))
    elif role in roles() and unit.level != roles()[role]["scope_level"]:
        errors.append(("orgunit_code", "accounts.errors.orgunit_level",
                       {"level": f"@orgunits.levels.{roles()[role]['scope_level']}"}))
    if errors:
        from weijian.core.errors import FieldError

        raise InvalidInput(errors=[FieldError(f, k, p) for f, k, p in errors])
    if get_by_username(session=session, username=username) is not None:
        raise Conflict("accounts.errors.username_taken", username=username)
    user = User(username=username, full_name=full_name or username, password_hash=hash_password(password),
                role=role, orgunit_code=orgunit_code, facility_id=facility_id, phone=phone)
    session.add(user)
    session.flush()
    return user


def authenticate(*, session: Session, username: str, password: str) -> User:
    """The user for a correct username and password; Unauthorized otherwise (same error either way)."""
    user = get_by_username(session=session, username=(username or "").strip())
    if user is None or not user.is_active or not verify_password(user.password_hash, password or ""):
        raise Unauthorized("accounts.errors.bad_credentials")
    user.last_login_at = utcnow()
    return user


def actor_for(user: User, *, ip: str | None = None) -> Actor:
    return Actor(user_id=user.id, username=user.username, role=user.role, scope_code=user.orgunit_code,
                 permissions=role_permissions(user.role), facility_id=user.facility_id, ip=ip)


# --- API tokens ---------------------------------------------------------------------------------
def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(*, session: Session, user: User, ttl_seconds: int) -> tuple[str, datetime]:
    token = secrets.token_urlsafe(32)
    expires = utcnow() + timedelta(seconds=ttl_seconds)
    session.add(ApiToken(user_id=user.id, token_hash=_token_hash(token), expires_at=expires))
    session.flush()
    return token, expires


def user_for_token(*, session: Session, token: str) -> User:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token)))
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        raise Unauthorized("accounts.errors.token_invalid")
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise Unauthorized("accounts.errors.token_invalid")
    return user


# --- audit log ----------------------------------------------------------------------------------
def audit(*, session: Session, actor: Actor, action: str, entity_type: str, entity_id: Any = None,
          resident_id: int | None = None, basis: str, detail: dict[str, Any] | None = None) -> AuditEvent:
    """Append one event; it is written in the caller's transaction, so it lands with the change it logs."""
    event = AuditEvent(
        user_id=actor.user_id, username=actor.username, role=actor.role, action=action,
        entity_type=entity_type, entity_id=None if entity_id is None else str(entity_id),
        resident_id=resident_id, basis=basis, ip=actor.ip,
        detail=json.dumps(detail, ensure_ascii=False, default=str) if detail else None,
    )
    session.add(event)
    session.flush()
    return event


def get_or_raise(*, session: Session, user_id: int) -> User:
    user = get(session=session, user_id=user_id)
    if user is None:
        raise NotFound("accounts.errors.user_not_found", user_id=user_id)
    return user
