"""Secrets kept outside the database: from a setting, or else a key file made on first use (mode 0600).

There is never a built-in default, and a key shorter than 32 bytes is refused, never padded. Two keys live
here: the audit chain's (`KeyRing.audit`: WEIJIAN_AUDIT_KEY or `<key_dir>/audit.key`) and the session key
(`session_key`: WEIJIAN_SECRET_KEY or `<key_dir>/secret.key`), both created atomically so two server
processes starting together read the same key. Backups of the database never contain these files: keep
them apart (README).
"""
from __future__ import annotations

import contextlib
import os
import secrets
import stat
import threading
from pathlib import Path

from weijian.core.settings import Settings

MIN_KEY_BYTES = 32
SESSION_KEY_FILE = "secret.key"



class KeyUnusable(ValueError):
    """A key that cannot be used: too short, unreadable, or readable by others."""


KeyError_ = KeyUnusable  # the name the session code and its tests use


def secret(*, value: str | None, path: Path, name: str) -> bytes:
    """`value` (a setting) when given, else the content of `path`, made with a random key on first use.

    The file is written under a temporary name (mode 0600) and linked into place, so two processes starting
    together agree on one complete key; a file that group or others may read is refused rather than used."""
    if value:
        return _checked(value.encode(), source=f"the {name} key")
    if not path.exists():
        _create(path)
    key = _checked(path.read_bytes().strip(), source=str(path))
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyUnusable(f"{path}: the {name} key file must be readable by its owner only (chmod 600)")
    return key


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_hex(32) + "\n")
        with contextlib.suppress(FileExistsError):  # another process made the file first: theirs stands
            os.link(tmp, path)  # atomic
    finally:
        tmp.unlink(missing_ok=True)


def _checked(key: bytes, *, source: str) -> bytes:
    if len(key) < MIN_KEY_BYTES:
        raise KeyUnusable(f"{source}: a key must be at least {MIN_KEY_BYTES} bytes (got {len(key)})")
    return key


class KeyRing:
    """The keys of one installation (its Settings), each read once and only when first needed. Built by
    `core.db.make_engine`, which hands it to every connection (see `keyring_of`)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._audit: bytes | None = None

    def audit(self) -> bytes:
        """The HMAC key of the audit chain: WEIJIAN_AUDIT_KEY, or `<WEIJIAN_KEY_DIR>/audit.key`."""
        with self._lock:
            if self._audit is None:
                s = self._settings
                self._audit = secret(value=s.audit_key, path=Path(s.key_dir) / "audit.key", name="audit")
            return self._audit


# --- the session key ---------------------------------------------------------------------------------
def session_key(settings: Settings) -> bytes:
    """The key that derives CSRF tokens and signs second-factor set-up forms: WEIJIAN_SECRET_KEY, or
    `<key_dir>/secret.key` (made on first start)."""
    return secret(value=settings.secret_key, path=Path(settings.key_dir) / SESSION_KEY_FILE, name="session")
