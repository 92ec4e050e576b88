"""Accounts: users, passwords, log-in and its second factor, API tokens, and user administration. What other
domains use of roles (`accounts.roles`) and of the audit log (`accounts.audit`: every read and write of a
resident record is audited) is re-exported here.
"""
from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from weijian.accounts import second_factor, sessions
from weijian.accounts.audit import AUDIT_ACTIONS, AUDIT_BASES, MAX_PAGE_SIZE, Page, audit, audit_many, list_audit
from weijian.accounts.models import ApiToken, LoginThrottle, User
from weijian.accounts.roles import ROLES_FILE, admin_roles, role_permissions, roles
from weijian.accounts.schemas import UserCreate
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.errors import (
    Conflict,
    FieldError,
    Forbidden,
    InvalidInput,
    InvalidState,
    NotFound,
    Unauthorized,
)
from weijian.core.settings import Settings
from weijian.orgunits import service as orgunits_service

# argon2id at argon2-cffi's default cost (64 MiB, 3 passes) but one lane, so that one check keeps one core
# busy rather than all of them; and at most one check at a time per server process, so a burst of log-ins
# (or of wrong passwords) queues for the hasher instead of taking the CPU from everyone's reads.
_hasher = PasswordHasher(parallelism=1)
_checks = threading.BoundedSemaphore(1)


# --- passwords ----------------------------------------------------------------------------------
def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        with _checks:
            return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


PASSWORD_MIN_LENGTH = 10
PASSWORD_MIN_CLASSES = 3


def password_problems(password: str, *, username: str | None = None) -> list[FieldError]:
    """The rules a new password breaks (GB/T 22239-2019 8.1.4.1 a: complexity): at least 10 characters, of
    at least three classes (lower case, upper case, digits, other), and not containing the username."""
    password = password or ""
    out = []
    if len(password) < PASSWORD_MIN_LENGTH:
        out.append(FieldError("password", "accounts.errors.password_too_short", {"min": PASSWORD_MIN_LENGTH}))
    classes = sum((any(c.islower() for c in password), any(c.isupper() for c in password),
                   any(c.isdigit() for c in password), any(not c.isalnum() for c in password)))
    if classes < PASSWORD_MIN_CLASSES:
        out.append(FieldError("password", "accounts.errors.password_classes", {"min": PASSWORD_MIN_CLASSES}))
    name = (username or "").strip().lower()
    if len(name) >= 3 and name in password.lower():
        out.append(FieldError("password", "accounts.errors.password_has_username", {}))
    return out


def check_password(password: str, *, username: str | None = None) -> None:
    problems = password_problems(password, username=username)
    if problems:
        raise InvalidInput(errors=problems)


# --- users --------------------------------------------------------------------------------------
def get(*, session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def get_by_username(*, session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def create(*, session: Session, username: str, password: str, full_name: str, role: str,
           orgunit_code: str, facility_id: int | None = None, phone: str | None = None,
           demo: bool = False, must_change_password: bool = False) -> User:
    """A user. `demo`: a demo account (weijian demo-data) keeping its printed password, which need not meet
    the password rules and needs no second factor; refused at log-in in production."""
    errors: list[tuple[str, str, dict]] = []
    username = (username or "").strip()
    if not username or len(username) > 64:
        errors.append(("username", "accounts.errors.username_invalid", {}))
    if role not in roles():
        errors.append(("role", "accounts.errors.role_unknown", {"role": role}))
    if not demo:
        errors.extend((e.field, e.reason_key, e.params) for e in password_problems(password, username=username))
    unit = orgunits_service.get(session=session, code=orgunit_code)
    if unit is None:
        errors.append(("orgunit_code", "accounts.errors.orgunit_unknown", {"code": orgunit_code}))
    elif role in roles() and unit.level != roles()[role]["scope_level"]:
        errors.append(("orgunit_code", "accounts.errors.orgunit_level",
                       {"level": f"@orgunits.levels.{roles()[role]['scope_level']}"}))
    if errors:
        raise InvalidInput(errors=[FieldError(f, k, p) for f, k, p in errors])
    if get_by_username(session=session, username=username) is not None:
        raise Conflict("accounts.errors.username_taken", username=username)
    user = User(username=username, full_name=full_name or username, password_hash=hash_password(password),
                role=role, orgunit_code=orgunit_code, facility_id=facility_id, phone=phone, is_demo=demo,
                must_change_password=must_change_password and not demo, password_changed_at=clock.now())
    session.add(user)
    session.flush()
    return user


def authenticate(*, session: Session, username: str, password: str) -> User:
    """The user for a correct username and password; Unauthorized otherwise (same error either way).
    Checks the password inside `session`'s transaction: the web routes use `credentials` and
    `password_matches` instead, so that argon2 runs outside any transaction."""
    user_id = password_matches(credentials(session=session, username=username), password)
    user = session.get(User, user_id) if user_id is not None else None
    if user is None:
        raise Unauthorized("accounts.errors.bad_credentials")
    user.last_login_at = clock.now()
    return user


@dataclass(frozen=True)
class Credentials:
    user_id: int
    password_hash: str


def credentials(*, session: Session, username: str) -> Credentials | None:
    """What checking a password needs of an active user (None: no such user, or deactivated)."""
    row = session.execute(select(User.id, User.password_hash).where(
        User.username == (username or "").strip(), User.is_active.is_(True))).first()
    return Credentials(row.id, row.password_hash) if row is not None else None


_dummy: tuple[PasswordHasher, str] | None = None


def password_matches(creds: Credentials | None, password: str) -> int | None:
    """The user id when `password` is theirs, else None. No database: it runs outside any transaction.
    An unknown user is checked against a dummy hash, so both answers cost one argon2 verification."""
    global _dummy
    if creds is None:
        if _dummy is None or _dummy[0] is not _hasher:
            _dummy = (_hasher, _hasher.hash(secrets.token_urlsafe(16)))
        verify_password(_dummy[1], password or "")
        return None
    return creds.user_id if verify_password(creds.password_hash, password or "") else None


def actor_for(user: User, *, ip: str | None = None) -> Actor:
    return Actor(user_id=user.id, username=user.username, role=user.role, scope_code=user.orgunit_code,
                 permissions=role_permissions(user.role), facility_id=user.facility_id, ip=ip)


# --- API tokens ---------------------------------------------------------------------------------
def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(*, session: Session, user: User, ttl_seconds: int) -> tuple[str, datetime]:
    token = secrets.token_urlsafe(32)
    expires = clock.now() + timedelta(seconds=ttl_seconds)
    session.add(ApiToken(user_id=user.id, token_hash=_token_hash(token), expires_at=expires))
    session.flush()
    return token, expires


def user_for_token(*, session: Session, token: str) -> User:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token)))
    if row is None or row.revoked_at is not None or row.expires_at <= clock.now():
        raise Unauthorized("accounts.errors.token_invalid")
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise Unauthorized("accounts.errors.token_invalid")
    return user


def get_or_raise(*, session: Session, user_id: int) -> User:
    user = get(session=session, user_id=user_id)
    if user is None:
        raise NotFound("accounts.errors.user_not_found", user_id=user_id)
    return user


# --- log-in -------------------------------------------------------------------------------------
def anonymous(username: str, *, ip: str | None = None) -> Actor:
    """Who a failed log-in attempt is recorded as: no user id, the username as typed."""
    return Actor(user_id=None, username=(username or "").strip()[:64], role="anonymous", scope_code=None,
                 permissions=frozenset(), ip=ip)


def log_in(*, session: Session, username: str, password: str, ip: str | None, via: str,
           policy: sessions.ThrottlePolicy | None = None) -> User:
    """Authenticate and audit the attempt either way (`via`: "page" or "api"), in one session (tests, the
    CLI). The web routes check the password outside the transaction and call `record_log_in`."""
    sessions.refuse_if_locked(session=session, username=username, ip=ip)
    return record_log_in(session=session, username=username, ip=ip, via=via, policy=policy,
                         user_id=password_matches(credentials(session=session, username=username), password))


DEFAULT_THROTTLE = sessions.ThrottlePolicy(max_failures=5, window=timedelta(minutes=15),
                                           lock=timedelta(minutes=15))


def throttle_policy(settings: Settings) -> sessions.ThrottlePolicy:
    return sessions.ThrottlePolicy(max_failures=settings.login_max_failures,
                                   window=timedelta(minutes=settings.login_failure_window_minutes),
                                   lock=timedelta(minutes=settings.login_lock_minutes))


def _audit_lapsed_locks(session: Session, username: str, ip: str | None) -> None:
    for kind, key in sessions.lapsed_locks(session=session, username=username, ip=ip):
        audit(session=session, actor=anonymous(username, ip=ip), action="unlock", entity_type="login_lock",
              entity_id=f"{kind}:{key}", basis="authentication", detail={"by": "time"})


def record_failed_attempt(*, session: Session, username: str, ip: str | None, via: str,
                          policy: sessions.ThrottlePolicy | None = None, reason: str = "password") -> None:
    """Audit a failed log-in step (a wrong password or second-factor code) and count it towards a lock;
    a lock it starts is audited too. The caller must commit (answer, not raise)."""
    _audit_lapsed_locks(session, username, ip)
    audit(session=session, actor=anonymous(username, ip=ip), action="login_failed", entity_type="user",
          basis="authentication", detail={"via": via} if reason == "password" else {"via": via, "reason": reason})
    for kind, key, until in sessions.record_failure(session=session, username=username, ip=ip,
                                                    policy=policy or DEFAULT_THROTTLE):
        audit(session=session, actor=anonymous(username, ip=ip), action="lockout", entity_type="login_lock",
              entity_id=f"{kind}:{key}", basis="authentication",
              detail={"until": until.isoformat(timespec="seconds"), "via": via})


def record_log_in(*, session: Session, username: str, user_id: int | None, ip: str | None, via: str,
                  policy: sessions.ThrottlePolicy | None = None, allow_demo: bool = True) -> User:
    """Record a log-in attempt whose password was checked (`user_id`: whose it matched, None: failed).

    A failed attempt is audited, counted towards a lock (per account name and per address), and then
    Unauthorized raised: the caller must still commit (return a 401 response rather than let the error
    roll the request back), or the record of the attempt is lost. `allow_demo` False (production): demo
    accounts cannot log in.
    """
    user = session.get(User, user_id) if user_id is not None else None
    if user is None or not user.is_active or (user.is_demo and not allow_demo):
        record_failed_attempt(session=session, username=username, ip=ip, via=via, policy=policy)
        raise Unauthorized("accounts.errors.bad_credentials")
    _audit_lapsed_locks(session, username, ip)
    if not (user.totp_secret and via == "page"):  # else: when the second factor is given
        sessions.record_success(session=session, username=username)
    user.last_login_at = clock.now()
    audit(session=session, actor=actor_for(user, ip=ip), action="login", entity_type="user",
          entity_id=user.id, basis="authentication", detail={"via": via})
    return user


def verify_second_factor(*, session: Session, user_id: int, code: str, username: str, ip: str | None,
                         via: str, policy: sessions.ThrottlePolicy | None = None) -> User:
    """The user's TOTP code (once per step): on success the step is stored and audited; a wrong or
    replayed code is audited, counted towards a lock, and Unauthorized raised (the caller commits)."""
    user = session.get(User, user_id)
    step = second_factor.matching_step(user.totp_secret, code, last_step=user.totp_last_step) \
        if user is not None and user.totp_secret else None
    if step is None:
        record_failed_attempt(session=session, username=username, ip=ip, via=via, policy=policy,
                              reason="second_factor")
        raise Unauthorized("accounts.errors.totp_invalid")
    user.totp_last_step = step
    sessions.record_success(session=session, username=username)
    audit(session=session, actor=actor_for(user, ip=ip), action="second_factor", entity_type="user",
          entity_id=user.id, basis="authentication", detail={"via": via})
    return user


def password_expired(user: User, *, max_age_days: int) -> bool:
    if user.is_demo or max_age_days <= 0:
        return False
    changed = user.password_changed_at or user.created_at
    return changed is not None and clock.now() - changed > timedelta(days=max_age_days)


def pending_step(user: User, *, stage: str, settings: Settings) -> str | None:
    """What the user must do before anything else: "totp" (give the second factor), "password" (choose a
    new password: set by an administrator, or too old), "totp_setup" (set up the second factor their
    role requires); None: nothing."""
    if stage == sessions.STAGE_PASSWORD:
        return "totp"
    if user.must_change_password or password_expired(user, max_age_days=settings.password_max_age_days):
        return "password"
    if not user.totp_secret and not user.is_demo and user.role in settings.second_factor_roles():
        return "totp_setup"
    return None


def log_out(*, session: Session, actor: Actor) -> None:
    audit(session=session, actor=actor, action="logout", entity_type="user", entity_id=actor.user_id,
          basis="authentication")


def revoke_token(*, session: Session, token: str) -> None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = clock.now()
        session.flush()


def _revoke_all_tokens(*, session: Session, user_id: int) -> None:
    """End the user's log-in sessions and revoke their API tokens, at once."""
    session.flush()
    sessions.end_all(session=session, user_id=user_id)


# --- user administration (user:manage) ----------------------------------------------------------
def list_users(*, session: Session, actor: Actor) -> list[User]:
    """Users whose org unit lies in the actor's scope, by username (the system administrator's list, and
    the security administrator's, who assigns roles and resets second factors)."""
    if not (actor.can("user:manage") or actor.can("role:assign")):
        actor.require("user:manage")
    stmt = (select(User).where(orgunits_service.scope_condition(User.orgunit_code, actor))
            .order_by(User.username))
    return list(session.scalars(stmt))


def _managed_user(*, session: Session, actor: Actor, user_id: int, permission: str = "user:manage") -> User:
    actor.require(permission)
    user = session.scalar(select(User).where(
        User.id == user_id, orgunits_service.scope_condition(User.orgunit_code, actor)))
    if user is None:  # out of scope reads as absent: the scope is not to be probed
        raise NotFound("accounts.errors.user_not_found", user_id=user_id)
    return user


def register_user(*, session: Session, actor: Actor, user_in: UserCreate, demo: bool = False) -> User:
    """`create`, by an administrator: permission, the new user's org unit within the actor's scope, audit.
    The user must choose their own password at the first log-in. An administrator role is given only with
    role:assign (the security administrator; the CLI). `demo`: a demo account (weijian demo-data)."""
    actor.require("user:manage")
    if user_in.role in admin_roles() and not actor.can("role:assign"):
        raise Forbidden("accounts.errors.admin_role_needs_security_admin")
    if not orgunits_service.in_scope(scope_code=actor.scope_code, code=user_in.orgunit_code):
        raise InvalidInput("orgunit_code", "accounts.errors.orgunit_out_of_scope", code=user_in.orgunit_code)
    user = create(session=session, username=user_in.username, password=user_in.password,
                  full_name=user_in.full_name, role=user_in.role, orgunit_code=user_in.orgunit_code,
                  facility_id=user_in.facility_id, phone=user_in.phone, demo=demo, must_change_password=not demo)
    audit(session=session, actor=actor, action="create", entity_type="user", entity_id=user.id,
          basis="administration", detail={"username": user.username, "role": user.role,
                                          "orgunit": user.orgunit_code})
    return user


def set_password(*, session: Session, actor: Actor, user_id: int, password: str) -> User:
    """A new password set by an administrator: the user's sessions and API tokens end with the old one,
    and they must choose their own at the next log-in."""
    user = _managed_user(session=session, actor=actor, user_id=user_id)
    check_password(password, username=user.username)
    user.password_hash = hash_password(password)
    user.password_changed_at = clock.now()
    user.must_change_password = True
    _revoke_all_tokens(session=session, user_id=user.id)
    audit(session=session, actor=actor, action="password_set", entity_type="user", entity_id=user.id,
          basis="administration")
    return user


def deactivate(*, session: Session, actor: Actor, user_id: int) -> User:
    """The user can no longer log in; sessions and tokens stop working at their next request."""
    user = _managed_user(session=session, actor=actor, user_id=user_id)
    if user.id == actor.user_id:
        raise InvalidState("accounts.errors.deactivate_self")
    if user.is_active:
        user.is_active = False
        _revoke_all_tokens(session=session, user_id=user.id)
        audit(session=session, actor=actor, action="deactivate", entity_type="user", entity_id=user.id,
              basis="administration")
    return user


def change_own_password(*, session: Session, user_id: int, current_matches: bool, password: str,
                        ip: str | None = None) -> User:
    """The user's own new password (`current_matches`: the current one was given right — checked by the
    caller outside the transaction). Every session and token of theirs ends; the caller starts a new one."""
    user = get_or_raise(session=session, user_id=user_id)
    if not current_matches:
        raise InvalidInput("current_password", "accounts.errors.current_password_wrong")
    check_password(password, username=user.username)
    if verify_password(user.password_hash, password):
        raise InvalidInput("password", "accounts.errors.password_unchanged")
    user.password_hash = hash_password(password)
    user.password_changed_at = clock.now()
    user.must_change_password = False
    _revoke_all_tokens(session=session, user_id=user.id)
    audit(session=session, actor=actor_for(user, ip=ip), action="password_changed", entity_type="user",
          entity_id=user.id, basis="authentication")
    return user


# --- second factor --------------------------------------------------------------------------------
def enable_second_factor(*, session: Session, user_id: int, secret: str, code: str, ip: str | None = None) -> User:
    """Store the user's TOTP secret once they confirm it with a first code."""
    user = get_or_raise(session=session, user_id=user_id)
    step = second_factor.matching_step(secret, code, last_step=None)
    if step is None:
        raise InvalidInput("totp_code", "accounts.errors.totp_invalid")
    user.totp_secret, user.totp_last_step = secret, step
    audit(session=session, actor=actor_for(user, ip=ip), action="totp_enabled", entity_type="user",
          entity_id=user.id, basis="authentication")
    return user


def reset_second_factor(*, session: Session, actor: Actor, user_id: int) -> User:
    """The security administrator clears a user's second factor (a lost phone): their sessions and tokens
    end, and they set one up again at the next log-in if their role requires it."""
    user = _managed_user(session=session, actor=actor, user_id=user_id, permission="totp:reset")
    user.totp_secret, user.totp_last_step = None, None
    _revoke_all_tokens(session=session, user_id=user.id)
    audit(session=session, actor=actor, action="totp_reset", entity_type="user", entity_id=user.id,
          basis="administration")
    return user


# --- roles and lock-outs (the security administrator) ----------------------------------------------
def assign_role(*, session: Session, actor: Actor, user_id: int, role: str) -> User:
    """Give a user another role (role:assign). A user holds one role, so nobody holds two admin roles."""
    user = _managed_user(session=session, actor=actor, user_id=user_id, permission="role:assign")
    if role not in roles():
        raise InvalidInput("role", "accounts.errors.role_unknown", role=role)
    if user.id == actor.user_id:
        raise InvalidState("accounts.errors.role_self")
    level = roles()[role]["scope_level"]
    unit = orgunits_service.get(session=session, code=user.orgunit_code)
    if unit is None or unit.level != level:
        raise InvalidInput("role", "accounts.errors.orgunit_level", level=f"@orgunits.levels.{level}")
    before, user.role = user.role, role
    session.flush()
    audit(session=session, actor=actor, action="role_set", entity_type="user", entity_id=user.id,
          basis="administration", detail={"from": before, "to": role})
    return user


def list_locks(*, session: Session, actor: Actor) -> list[LoginThrottle]:
    actor.require("lockout:manage")
    return sessions.active_locks(session=session)


def unlock(*, session: Session, actor: Actor, kind: str, key: str) -> bool:
    """Lift a log-in lock on an account name (`kind` user) or a client address (`ip`), audited."""
    actor.require("lockout:manage")
    if kind not in ("user", "ip"):
        raise InvalidInput("kind", "accounts.errors.lock_kind")
    key = key.strip().lower() if kind == "user" else key.strip()
    lifted = sessions.unlock(session=session, kind=kind, key=key)
    if lifted:
        audit(session=session, actor=actor, action="unlock", entity_type="login_lock", entity_id=f"{kind}:{key}",
              basis="administration", detail={"by": "administrator"})
    return lifted


__all__ = [
    "AUDIT_ACTIONS", "AUDIT_BASES", "DEFAULT_THROTTLE", "MAX_PAGE_SIZE", "PASSWORD_MIN_CLASSES",
    "PASSWORD_MIN_LENGTH", "ROLES_FILE", "Credentials", "Page", "UserCreate", "actor_for", "admin_roles",
    "anonymous", "assign_role", "audit", "audit_many", "authenticate", "change_own_password", "check_password",
    "create", "credentials", "deactivate", "enable_second_factor", "get", "get_by_username", "get_or_raise",
    "hash_password", "issue_token", "list_audit", "list_locks", "list_users", "log_in", "log_out",
    "password_expired", "password_matches", "password_problems", "pending_step", "record_failed_attempt",
    "record_log_in", "register_user", "reset_second_factor", "revoke_token", "role_permissions", "roles",
    "set_password", "unlock", "user_for_token", "verify_password", "verify_second_factor",
]
