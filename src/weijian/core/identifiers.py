"""Resident identity numbers (GB 11643-1999) and administrative division codes (GB/T 2260, NBS 12-digit).

Pure functions, no database. Errors are InvalidInput with keys under `core.errors.id_number`. The address
codes, with their history, are core/data/gb2260_history.csv (its header names the source).
"""
from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from weijian.core import clock
from weijian.core.errors import InvalidInput

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"  # index = weighted sum mod 11
# ASCII digits only: `\d` also matches full-width and other scripts' digits, which int() reads as digits.
_RE_18 = re.compile(r"[0-9]{17}[0-9X]")
_RE_15 = re.compile(r"[0-9]{15}")
# 港澳台居民居住证 numbers (《港澳台居民居住证申领发放办法》, 国办发〔2018〕81号; article not checked): the address code
# is 810000 (Hong Kong), 820000 (Macao) or 830000 (Taiwan), not a county's.
RESIDENCE_PERMIT_CODES = frozenset({"810000", "820000", "830000"})
DIVISIONS_FILE = Path(__file__).resolve().parent / "data" / "gb2260_history.csv"


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


def normalize_id_input(raw: str | None) -> str:
    """What was typed, in the form the checks read: NFKC (full-width digits and Ｘ become ASCII), spaces
    dropped, upper case. Nothing else is changed, so a digit of another script stays and is refused."""
    return unicodedata.normalize("NFKC", raw or "").strip().upper().replace(" ", "")


def parse_id_number(raw: str, *, field: str = "id_number", today: date | None = None) -> IdNumber:
    """Validate and normalize an identity number; 15-digit (first-generation) numbers become 18 digits.
    The input is NFKC-normalized first; then only ASCII digits (and a final X) pass, and the address code
    must be a county-level GB/T 2260 code that stood in the lists in or after the year of birth."""
    value = normalize_id_input(raw)
    if not value:
        raise InvalidInput(field, "core.errors.id_number.required")
    converted = False
    if _RE_15.fullmatch(value):
        # First-generation numbers: 6-digit address, YYMMDD (all 19xx), 3-digit sequence, no check digit.
        body = value[:6] + "19" + value[6:]
        value = body + check_char(body)
        converted = True
    elif not _RE_18.fullmatch(value):
        raise InvalidInput(field, "core.errors.id_number.format")
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise InvalidInput(field, "core.errors.id_number.birth_date_invalid") from None
    if born > (today or clock.today()) or born.year < 1880:
        raise InvalidInput(field, "core.errors.id_number.birth_date_out_of_range")
    if not converted and check_char(value[:17]) != value[17]:
        raise InvalidInput(field, "core.errors.id_number.check_digit")
    check_address_code(value[:6], born, field=field)
    sex = "male" if int(value[16]) % 2 == 1 else "female"
    return IdNumber(value, value[:6], born, sex, converted)


# --- address codes (GB/T 2260, with history) ------------------------------------------------------------
@dataclass(frozen=True)
class DivisionPeriod:
    """A span of years a code stood in the ministry's lists; None: before the first list / still in the last."""

    code: str
    name: str
    first: int | None
    last: int | None


@cache
def division_history() -> dict[str, tuple[DivisionPeriod, ...]]:
    """Every GB/T 2260 code of the data file, with the periods it stood in the lists."""
    text = DIVISIONS_FILE.read_text(encoding="utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    history: dict[str, list[DivisionPeriod]] = {}
    for row in rows:
        code = row["code"]
        if not re.fullmatch(r"[0-9]{6}", code):
            raise ValueError(f"gb2260_history.csv: bad code {code!r}")
        history.setdefault(code, []).append(DivisionPeriod(
            code, row["name"], int(row["from"]) if row["from"] else None,
            int(row["until"]) if row["until"] else None))
    return {code: tuple(periods) for code, periods in history.items()}


def check_address_code(code: str, born: date, *, field: str = "id_number") -> None:
    """The 6-digit address code of a number born on `born` (GB 11643-1999 4.1: the county-level
    division, GB/T 2260, where the holder's household was registered when the number was first issued).
    A number is issued on or after the birth, so the code must have stood in the lists in the year of
    birth or later; one abolished since is still valid. A province or prefecture code (xxxx00) never is;
    the 港澳台 residence-permit codes are."""
    if code in RESIDENCE_PERMIT_CODES:
        return
    periods = division_history().get(code)
    if not periods:
        raise InvalidInput(field, "core.errors.id_number.address_code_unknown", code=code)
    if code.endswith("00"):
        raise InvalidInput(field, "core.errors.id_number.address_code_not_county", code=code,
                           name=periods[-1].name)
    # A code dropped in the list of year Y was still in force during part of year Y + 1 at most.
    if all(p.last is not None and p.last + 1 < born.year for p in periods):
        last = max(p.last or 0 for p in periods)
        raise InvalidInput(field, "core.errors.id_number.address_code_abolished", code=code,
                           name=periods[-1].name, until=last, year=born.year)


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
