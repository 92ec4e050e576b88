"""Secret keys kept in files beside the database (`var/`), made on first start: the session key.

A key given in the environment wins over the file. Either way it must be at least 32 bytes: a shorter key
is refused at start, never padded. The file is created with mode 0600, atomically (two server processes
starting together read the same key).
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

MIN_KEY_BYTES = 32
SESSION_KEY_FILE = "secret.key"


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


def session_key(settings) -> bytes:  # noqa: ANN001 - core.settings.Settings
    """The key that derives CSRF tokens and signs second-factor set-up forms: WEIJIAN_SECRET_KEY, or
    `<key_dir>/secret.key` (made on first start)."""
    if settings.secret_key:
        return checked(settings.secret_key.encode(), source="WEIJIAN_SECRET_KEY")
    return load_or_create_key(Path(settings.key_dir) / SESSION_KEY_FILE)
