"""Secrets kept outside the database: from a setting, or else a key file made on first use (mode 0600).

There is never a built-in default, and a key shorter than 32 bytes is refused, never padded. Two keys live
here: the audit chain's (`KeyRing.audit`: WEIJIAN_AUDIT_KEY or `<key_dir>/audit.key`) and the session key
(`session_key`: WEIJIAN_SECRET_KEY or `<key_dir>/secret.key`), both created atomically so two server
processes starting together read the same key. Backups of the database never contain these files: keep
them apart (README).
"""
from __future__ import annotations

import os
import secrets
import stat
import threading
from pathlib import Path

from weijian.core.settings import Settings

MIN_KEY_BYTES = 32
SESSION_KEY_FILE = "secret.key"

MIN_LENGTH = MIN_KEY_BYTES  # characters of a key given in a setting; a key file holds 64 hex digits


class KeyUnusable(RuntimeError):
    """A key that cannot be used: too short, unreadable, or readable by others."""


def secret(*, value: str | None, path: Path, name: str) -> bytes:
    """`value` (a setting) when given, else the content of `path`, made with a random key on first use.

    The file is created with O_EXCL and mode 0600, so two processes starting together agree on one key; a
    file that group or others may read is refused rather than used."""
    if value:
        if len(value) < MIN_LENGTH:
            raise KeyUnusable(f"the {name} key must be at least {MIN_LENGTH} characters")
        return value.encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32) + "\n")
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyUnusable(f"{path}: the {name} key file must be readable by its owner only (chmod 600)")
    text = path.read_text().strip()
    if len(text) < MIN_LENGTH:
        raise KeyUnusable(f"{path}: the {name} key file holds fewer than {MIN_LENGTH} characters")
    return text.encode()


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


class KeyError_(ValueError):  # noqa: N801 - not the builtin KeyError
    """A key that is too short, or a key file that cannot be read."""


def load_or_create_key(path: Path, *, nbytes: int = 48) -> bytes:
    """The key in `path`, made (random, `nbytes` bytes as url-safe text) when the file does not exist."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(secrets.token_urlsafe(nbytes) + "\n")
            try:
                os.link(tmp, path)  # atomic, and fails when another process made the file first
            except FileExistsError:
                pass
        finally:
            tmp.unlink(missing_ok=True)
    key = path.read_bytes().strip()
    return checked(key, source=str(path))


def checked(key: bytes, *, source: str) -> bytes:
    if len(key) < MIN_KEY_BYTES:
        raise KeyError_(f"{source}: a key must be at least {MIN_KEY_BYTES} bytes (got {len(key)})")
    return key


def session_key(settings: Settings) -> bytes:
    """The key that derives CSRF tokens and signs second-factor set-up forms: WEIJIAN_SECRET_KEY, or
    `<key_dir>/secret.key` (made on first start)."""
    if settings.secret_key:
        return checked(settings.secret_key.encode(), source="WEIJIAN_SECRET_KEY")
    return load_or_create_key(Path(settings.key_dir) / SESSION_KEY_FILE)
