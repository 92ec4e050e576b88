"""Server-side log-in sessions (table user_sessions) and log-in throttling (table login_throttles).

The session cookie carries a random id; only its SHA-256 is stored, so a copy of the database opens no
session. A session ends at log-out, when its user is deactivated or their password changes, after
`session_idle_minutes` without a request and `session_lifetime_hours` after log-in.

"Last seen" is written at most once a minute (TOUCH_EVERY): for a GET in a short write of its own (the
request's read unit stays one that writes nothing), for a POST in the request's own unit (accounts.deps).
Most GETs write nothing at all; the idle time-out is exact to within that minute.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from weijian.accounts.models import ApiToken, LoginThrottle, UserSession
from weijian.core import clock
from weijian.core.errors import Throttled

TOUCH_EVERY = timedelta(seconds=60)
STAGE_PASSWORD = "password"  # the password was right; the second factor is due
STAGE_COMPLETE = "complete"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SessionInfo:
    id: int
    user_id: int
    stage: str
    last_seen_at: datetime

    def needs_touch(self, now: datetime) -> bool:
        return now - self.last_seen_at >= TOUCH_EVERY


def start(*, session: Session, token: str, user_id: int, stage: str, lifetime: timedelta,
          ip: str | None, user_agent: str | None) -> UserSession:
    """A new session for `token` (a fresh random value: the id rotates at every log-in)."""
    now = clock.now()
    row = UserSession(token_hash=token_hash(token), user_id=user_id, stage=stage, created_at=now,
                      last_seen_at=now, expires_at=now + lifetime, ip=ip,
                      user_agent=(user_agent or "")[:255] or None)
    session.add(row)
    session.flush()
    return row


def current(*, session: Session, token: str, idle: timedelta) -> SessionInfo | None:
    """The live session of `token`: None when unknown, revoked, idle too long or past its lifetime."""
    now = clock.now()
    row = session.execute(select(UserSession.id, UserSession.user_id, UserSession.stage,
                                 UserSession.last_seen_at, UserSession.expires_at, UserSession.revoked_at)
                          .where(UserSession.token_hash == token_hash(token))).first()
    if row is None or row.revoked_at is not None or row.expires_at <= now or now - row.last_seen_at > idle:
        return None
    return SessionInfo(row.id, row.user_id, row.stage, row.last_seen_at)


def touch(*, session: Session, session_id: int) -> None:
    session.execute(update(UserSession).where(UserSession.id == session_id).values(last_seen_at=clock.now()))


def complete(*, session: Session, session_id: int) -> None:
    """The second factor was given: the session is a full log-in from now on."""
    session.execute(update(UserSession).where(UserSession.id == session_id)
                    .values(stage=STAGE_COMPLETE, last_seen_at=clock.now()))


def end(*, session: Session, token: str) -> int | None:
    """End the session of `token` (log-out); the user id it belonged to, if it was live."""
    row = session.scalar(select(UserSession).where(UserSession.token_hash == token_hash(token)))
    if row is None or row.revoked_at is not None:
        return None
    row.revoked_at = clock.now()
    session.flush()
    return row.user_id


def end_all(*, session: Session, user_id: int) -> None:
    """End every session and revoke every API token of a user (deactivation, a new password)."""
    now = clock.now()
    session.execute(update(UserSession).where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
                    .values(revoked_at=now))
    session.execute(update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
                    .values(revoked_at=now))
    session.flush()


# --- log-in throttling ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int
    window: timedelta
    lock: timedelta


def throttle_keys(username: str, ip: str | None) -> list[tuple[str, str]]:
    keys = [("user", (username or "").strip().lower()[:64])]
    if ip:
        keys.append(("ip", ip[:64]))
    return keys


def locked_for(*, session: Session, username: str, ip: str | None) -> int | None:
    """Seconds until the lock on this account name or client address lifts; None when neither is locked."""
    now = clock.now()
    waits = []
    for kind, key in throttle_keys(username, ip):
        until = session.scalar(select(LoginThrottle.locked_until).where(LoginThrottle.kind == kind,
                                                                        LoginThrottle.key == key))
        if until is not None and until > now:
            waits.append((until - now).total_seconds())
    return math.ceil(max(waits)) if waits else None


def _row(session: Session, kind: str, key: str, now: datetime) -> LoginThrottle:
    row = session.scalar(select(LoginThrottle).where(LoginThrottle.kind == kind, LoginThrottle.key == key)
                         .with_for_update())
    if row is None:
        row = LoginThrottle(kind=kind, key=key, failures=0, window_start=now)
        session.add(row)
    return row


def lapsed_locks(*, session: Session, username: str, ip: str | None) -> list[tuple[str, str]]:
    """Locks of this name or address whose time is up, cleared now: (kind, key) of each, to audit."""
    now = clock.now()
    out = []
    for kind, key in throttle_keys(username, ip):
        row = session.scalar(select(LoginThrottle).where(LoginThrottle.kind == kind, LoginThrottle.key == key))
        if row is not None and row.locked_until is not None and row.locked_until <= now:
            row.locked_until, row.failures, row.window_start = None, 0, now
            out.append((kind, key))
    session.flush()
    return out


def record_failure(*, session: Session, username: str, ip: str | None,
                   policy: ThrottlePolicy) -> list[tuple[str, str, datetime]]:
    """Count one failed log-in; the locks it starts, as (kind, key, locked_until)."""
    now = clock.now()
    locked = []
    for kind, key in throttle_keys(username, ip):
        row = _row(session, kind, key, now)
        if now - row.window_start > policy.window:
            row.failures, row.window_start = 0, now
        row.failures += 1
        if row.failures >= policy.max_failures and (row.locked_until is None or row.locked_until <= now):
            row.locked_until = now + policy.lock
            locked.append((kind, key, row.locked_until))
    session.flush()
    return locked


def record_success(*, session: Session, username: str) -> None:
    """A right password (and second factor) clears the account name's count; the address keeps its own."""
    for kind, key in throttle_keys(username, None):
        row = session.scalar(select(LoginThrottle).where(LoginThrottle.kind == kind, LoginThrottle.key == key))
        if row is not None:
            row.failures, row.locked_until = 0, None
    session.flush()


def unlock(*, session: Session, kind: str, key: str) -> bool:
    """Lift a lock (an administrator); False when there was none."""
    row = session.scalar(select(LoginThrottle).where(LoginThrottle.kind == kind, LoginThrottle.key == key))
    if row is None or row.locked_until is None or row.locked_until <= clock.now():
        if row is not None:
            row.failures = 0
        return False
    row.locked_until, row.failures, row.window_start = None, 0, clock.now()
    session.flush()
    return True


def active_locks(*, session: Session) -> list[LoginThrottle]:
    return list(session.scalars(select(LoginThrottle).where(LoginThrottle.locked_until > clock.now())
                                .order_by(LoginThrottle.locked_until.desc())))


def refuse_if_locked(*, session: Session, username: str, ip: str | None) -> None:
    wait = locked_for(session=session, username=username, ip=ip)
    if wait is not None:
        raise Throttled("accounts.errors.locked", retry_after=wait, minutes=-(-wait // 60))
