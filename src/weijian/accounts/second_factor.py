"""The second factor: TOTP (RFC 6238, pyotp), set up by a QR code rendered here (segno, no network).

A code is accepted for the current 30-second step or the one either side (clock drift), and only once:
the step of the last accepted code is stored, and a code of that step or an earlier one is refused.
The set-up page writes nothing (a GET is a read unit): the new secret travels in the form, signed with
the server's key, and is stored when the user confirms it with a first code.
"""
from __future__ import annotations

import hashlib
import hmac

import pyotp
import segno

from weijian.core import clock

ISSUER = "weijian"
STEP_SECONDS = 30


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The QR code of `uri` as an inline SVG element."""
    return segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff")


def sign(key: bytes, user_id: int, secret: str) -> str:
    return hmac.new(key, f"totp-setup:{user_id}:{secret}".encode(), hashlib.sha256).hexdigest()


def signature_ok(key: bytes, user_id: int, secret: str, signature: str) -> bool:
    # As bytes: compare_digest raises TypeError on a str with non-ASCII characters (a 500).
    return hmac.compare_digest(sign(key, user_id, secret).encode(), (signature or "").encode())


def matching_step(secret: str, code: str, *, last_step: int | None) -> int | None:
    """The time step `code` belongs to (now, or one step either side), if it is newer than `last_step`."""
    code = (code or "").strip().replace(" ", "")
    if not (code.isascii() and code.isdigit() and len(code) == 6):  # "²" is a digit to isdigit()
        return None
    totp = pyotp.TOTP(secret)
    now_step = int(clock.now().timestamp()) // STEP_SECONDS
    for step in (now_step, now_step - 1, now_step + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step if last_step is None or step > last_step else None
    return None


def code_at(secret: str, step_offset: int = 0) -> str:
    """The code of the current step (+ offset): for tests and the set-up page's own check."""
    return pyotp.TOTP(secret).generate_otp(int(clock.now().timestamp()) // STEP_SECONDS + step_offset)
