"""Resident identity numbers (GB 11643-1999) and administrative division codes (GB/T 2260, NBS 12-digit).

Pure functions, no database. Errors are InvalidInput with keys under `core.errors.id_number`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from weijian.core import clock
from weijian.core.errors import InvalidInput

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"  # index = weighted sum mod 11
_RE_18 = re.compile(r"^\d{17}[\dX]$")
_RE_15 = re.compile(r"^\d{15}$")


def check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


@dataclass(frozen=True)
class IdNumber:
    normalized: str  # 18 characters, X upper case
    division: str  # 6-digit address code where the number was first issued
    birth_date: date
    sex: str  # "male" | "female"
    converted_from_15: bool = False


def parse_id_number(raw: str, *, field: str = "id_number", today: date | None = None) -> IdNumber:
    """Validate and normalize an identity number; 15-digit (first-generation) numbers become 18 digits."""
    value = (raw or "").strip().upper().replace(" ", "")
    if not value:
        raise InvalidInput(field, "core.errors.id_number.required")
    converted = False
    if _RE_15.match(value):
        # First-generation numbers: 6-digit address, YYMMDD (all 19xx), 3-digit sequence, no check digit.
        body = value[:6] + "19" + value[6:]
        value = body + check_char(body)
        converted = True
    elif not _RE_18.match(value):
        raise InvalidInput(field, "core.errors.id_number.format")
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise InvalidInput(field, "core.errors.id_number.birth_date_invalid") from None
    if born > (today or clock.today()) or born.year < 1880:
        raise InvalidInput(field, "core.errors.id_number.birth_date_out_of_range")
    if not converted and check_char(value[:17]) != value[17]:
        raise InvalidInput(field, "core.errors.id_number.check_digit")
    sex = "male" if int(value[16]) % 2 == 1 else "female"
    return IdNumber(value, value[:6], born, sex, converted)


def make_id_number(division: str, birth_date: date, sequence: int) -> str:
    """Build a valid 18-digit number (synthetic data, tests). `sequence` is 0–999; odd = male."""
    body = f"{division}{birth_date:%Y%m%d}{sequence:03d}"
    return body + check_char(body)


def mask_id_number(value: str | None) -> str:
    """`421124********1793`: the address code and the last four; the birth date (characters 7–14) is
    never shown, so the number cannot be rebuilt from an age or birth year beside it. The policy of who
    sees what is `core.disclosure`."""
    if not value:
        return ""
    if len(value) == 18:
        return value[:6] + "*" * 8 + value[-4:]
    if len(value) == 15:  # first generation: YYMMDD at 7–12
        return value[:6] + "*" * 6 + value[-3:]
    if len(value) <= 8:
        return "*" * len(value)
    return value[:2] + "*" * (len(value) - 6) + value[-4:]


def mask_phone(value: str | None) -> str:
    """`139****8880`; a short number (a landline extension) keeps only its last two digits."""
    if not value:
        return ""
    if len(value) >= 11:
        return value[:3] + "*" * (len(value) - 7) + value[-4:]
    return "*" * max(len(value) - 2, 0) + value[-2:]


# --- division codes ---------------------------------------------------------------------------
_RE_DIV12 = re.compile(r"^\d{12}$")


def division_level(code: str) -> str:
    """Level of a 12-digit statistical code: county (xxxxxx000000), township (…xxx000) or village."""
    if not _RE_DIV12.match(code or ""):
        raise InvalidInput("code", "core.errors.division.format")
    if code[6:] == "000000":
        return "county"
    if code[9:] == "000":
        return "township"
    return "village"


def division_prefix(code: str) -> str:
    """The significant digits of a 12-digit code: 6 for a county, 9 for a township, 12 for a village."""
    return {"county": code[:6], "township": code[:9], "village": code}[division_level(code)]


def division_range(code: str) -> tuple[str, str]:
    """Inclusive bounds of all 12-digit codes under `code` (itself included): an index-friendly scope."""
    p = division_prefix(code)
    pad = 12 - len(p)
    return p + "0" * pad, p + "9" * pad


def township_kind(code: str) -> str:
    """By the statistics office's ranges: 001–099 subdistrict (街道), 100–199 town (镇), 200–399 township (乡)."""
    n = int(code[6:9])
    if 1 <= n <= 99:
        return "subdistrict"
    if 100 <= n <= 199:
        return "town"
    if 200 <= n <= 399:
        return "township"
    return "other"


def village_kind(code: str) -> str:
    """001–199 residents' committee (居委会), 200–399 villagers' committee (村委会)."""
    n = int(code[9:12])
    if 1 <= n <= 199:
        return "residents_committee"
    if 200 <= n <= 399:
        return "villagers_committee"
    return "other"
