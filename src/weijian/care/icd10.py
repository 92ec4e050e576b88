"""The ICD-10 diagnosis code list (data/icd10.csv): loaded and validated once, looked up by code, searched by
code, Chinese name, common name or pinyin initials, and mapped to the chronic-disease programme it registers for.

Codes are the WHO 3- or 4-character categories (I10, E11.9). Codes written as China's clinical version writes
them (E11.900, I10.x00) or its insurance version (I10.x00x002) are read as their category.
"""
from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pypinyin import lazy_pinyin

from weijian.core.errors import InvalidInput
from weijian.core.i18n import normalize_locale

DATA_FILE = Path(__file__).resolve().parent / "data" / "icd10.csv"
COLUMNS = ("code", "name_zh", "name_en", "chapter", "chronic", "aliases")
CHRONIC_PROGRAMS = ("hypertension", "diabetes")
SOURCE_PREFIX = "# Source:"
_CODE = re.compile(r"^[A-Z]\d{2}(?:\.\d{1,2})?$")
_CODE_PREFIX = re.compile(r"^[A-Z](?:\d{1,2}|\d{2}\.\d{0,2})?$")
_UNDOTTED = re.compile(r"^([A-Z]\d{2})(\d{1,2})$")  # E119 → E11.9
# Clinical version: category + '.' + 4th character (or 'x' when the category has none) + 2 digits;
# the insurance version adds 'x' + 3 digits. Upper-cased before matching.
_EXTENDED = re.compile(r"^([A-Z]\d{2})\.([0-9X])\d{2}(?:X\d{3})?$")
_ALIAS_SEPARATOR = re.compile(r"[;；]")
# (first category, last category, chapter) of ICD-10's 22 chapters.
CHAPTERS = (
    ("A00", "B99", "I"), ("C00", "D48", "II"), ("D50", "D89", "III"), ("E00", "E90", "IV"),
    ("F00", "F99", "V"), ("G00", "G99", "VI"), ("H00", "H59", "VII"), ("H60", "H95", "VIII"),
    ("I00", "I99", "IX"), ("J00", "J99", "X"), ("K00", "K93", "XI"), ("L00", "L99", "XII"),
    ("M00", "M99", "XIII"), ("N00", "N99", "XIV"), ("O00", "O99", "XV"), ("P00", "P96", "XVI"),
    ("Q00", "Q99", "XVII"), ("R00", "R99", "XVIII"), ("S00", "T98", "XIX"), ("V01", "Y98", "XX"),
    ("Z00", "Z99", "XXI"), ("U00", "U99", "XXII"),
)


class Icd10TableError(ValueError):
    """The code list file is malformed; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class Icd10Code:
    code: str  # "I10", "E11.9"
    name_zh: str
    name_en: str
    chapter: str  # "I" … "XXII"
    chronic: str | None  # "hypertension" | "diabetes" | None
    aliases: tuple[str, ...]  # common names clinicians search by (高血压, 手足口病); not part of the standard

    def name(self, locale: str | None = None) -> str:
        """The name in a locale (Chinese unless English is asked for)."""
        return self.name_en if normalize_locale(locale) == "en" else self.name_zh


@dataclass(frozen=True, slots=True)
class _SearchKeys:
    """One code's search keys, lower case: its Chinese name and aliases, their pinyin initials and full
    pinyin (原发性高血压 → "yfxgxy", "yuanfaxinggaoxueya"), its English name."""

    terms: tuple[str, ...]
    initials: tuple[str, ...]
    pinyin: tuple[str, ...]
    english: str

    def rank(self, text: str, latin: bool) -> int | None:
        """0: a name, alias or its initials equals `text`; 1: one starts with it; 2: one contains it."""
        if text in self.terms or (latin and text in self.initials):
            return 0
        if any(t.startswith(text) for t in self.terms):
            return 1
        if latin and any(k.startswith(text) for k in (*self.initials, *self.pinyin)):
            return 1
        if any(text in t for t in self.terms):
            return 2
        if latin and len(text) >= 2 and any(text in k for k in self.initials):
            return 2
        if latin and len(text) >= 3 and text in self.english:
            return 2
        return None


# --- loading --------------------------------------------------------------------------------------
def chapter_of(code: str) -> str | None:
    """The ICD-10 chapter (Roman numeral) a code's category falls in; None outside every chapter."""
    category = code[:3]
    for first, last, chapter in CHAPTERS:
        if first <= category <= last:
            return chapter
    return None


def load(path: Path = DATA_FILE) -> tuple[Icd10Code, ...]:
    """Read and validate a code list file; raise Icd10TableError naming the line of the first problem."""
    def fail(line_no: int, reason: str) -> Icd10TableError:
        return Icd10TableError(f"{path.name} line {line_no}: {reason}")

    lines = path.read_text(encoding="utf-8-sig").splitlines()
    if not any(line.startswith(SOURCE_PREFIX) for line in lines if line.startswith("#")):
        raise fail(1, f"no '{SOURCE_PREFIX}' comment line naming the standard the codes are taken from")
    header_seen = False
    seen: dict[str, int] = {}
    entries: list[Icd10Code] = []
    for line_no, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith("#"):
            continue
        row = next(csv.reader([line]))
        if not header_seen:
            if tuple(c.strip() for c in row) != COLUMNS:
                raise fail(line_no, f"the column header must be {','.join(COLUMNS)}")
            header_seen = True
            continue
        if len(row) != len(COLUMNS):
            raise fail(line_no, f"{len(row)} columns, expected {len(COLUMNS)} ({','.join(COLUMNS)})")
        code, name_zh, name_en, chapter, chronic, aliases = (c.strip() for c in row)
        if not _CODE.match(code):
            raise fail(line_no, f"code {code!r} is not an ICD-10 code (a capital letter, 2 digits, "
                                f"optionally '.' and 1 or 2 digits)")
        if code in seen:
            raise fail(line_no, f"code {code} already listed on line {seen[code]}")
        seen[code] = line_no
        if not name_zh:
            raise fail(line_no, f"code {code} has no name_zh")
        if not name_en:
            raise fail(line_no, f"code {code} has no name_en")
        expected = chapter_of(code)
        if chapter != expected:
            raise fail(line_no, f"code {code} is in chapter {expected}, not {chapter!r}")
        if chronic and chronic not in CHRONIC_PROGRAMS:
            raise fail(line_no, f"chronic {chronic!r} must be empty or one of {', '.join(CHRONIC_PROGRAMS)}")
        alias_list = tuple(a.strip() for a in _ALIAS_SEPARATOR.split(aliases) if a.strip())
        entries.append(Icd10Code(code=code, name_zh=name_zh, name_en=name_en, chapter=chapter,
                                 chronic=chronic or None, aliases=alias_list))
    if not entries:
        raise fail(len(lines), "no codes")
    return tuple(entries)


@lru_cache(maxsize=1)
def codes() -> tuple[Icd10Code, ...]:
    """Every code of the list, in code order."""
    return tuple(sorted(load(DATA_FILE), key=lambda e: e.code))


@lru_cache(maxsize=1)
def _by_code() -> dict[str, Icd10Code]:
    return {e.code: e for e in codes()}


@lru_cache(maxsize=1)
def _search_index() -> tuple[tuple[Icd10Code, _SearchKeys], ...]:
    # Built on the first search, not at load: pinyin for ~1,700 names takes about a second, and looking a
    # code up (every encounter saved) should not wait for it.
    return tuple((e, _keys(e)) for e in codes())


def _keys(entry: Icd10Code) -> _SearchKeys:
    terms = (entry.name_zh, *entry.aliases)
    initials: list[str] = []
    full: list[str] = []
    for term in terms:
        if re.search(r"[A-Za-z]", term):
            continue  # COPD, Colles骨折: the Latin part is searched as typed; its initials would mislead
        # One pypinyin call per term (initials are the syllables' first letters, as residents.service's
        # pinyin_keys gives them): it is the slow part of building the index.
        syllables = [s for s in lazy_pinyin(term, errors="ignore") if s]
        if syllables:
            initials.append("".join(s[0] for s in syllables).lower())
            full.append("".join(syllables).lower())
    return _SearchKeys(terms=tuple(t.lower() for t in terms), initials=tuple(initials), pinyin=tuple(full),
                       english=entry.name_en.lower())


# --- lookup ---------------------------------------------------------------------------------------
def normalize(code: str | None) -> str:
    """A code as typed → canonical spelling: trimmed, half-width, upper case, dot inserted ("e119" → "E11.9").
    The result is not necessarily in the list."""
    text = unicodedata.normalize("NFKC", code or "").strip().upper().replace(" ", "")
    m = _UNDOTTED.match(text)
    return f"{m[1]}.{m[2]}" if m else text


def get(code: str | None) -> Icd10Code | None:
    """The listed code for `code` (any case; clinical-version extensions read as their category), or None."""
    key = normalize(code)
    entry = _by_code().get(key)
    if entry is None and (m := _EXTENDED.match(key)):
        entry = _by_code().get(m[1] if m[2] == "X" else f"{m[1]}.{m[2]}")
    return entry


def require(code: str | None, field: str = "diagnosis") -> Icd10Code:
    """The listed code for `code`; InvalidInput on `field` when it is blank or not in the list."""
    text = (code or "").strip()
    if not text:
        raise InvalidInput(field, "core.errors.validation.missing")
    entry = get(text)
    if entry is None:
        raise InvalidInput(field, "care.errors.icd10_unknown", code=text)
    return entry


def chronic_program(code: str | None) -> str | None:
    """The chronic-disease management programme a diagnosis registers the patient for
    ("hypertension" | "diabetes"), or None (also for a code not in the list)."""
    entry = get(code)
    return entry.chronic if entry else None


def search(q: str | None, limit: int = 20) -> list[Icd10Code]:
    """Codes matching `q`, best first: the exact code, then codes starting with `q` (I1, e11), then codes whose
    Chinese name or common name contains `q` (高血压, 糖尿) or whose pinyin initials start with it (gxy) —
    equal before starting-with before containing, each group in code order."""
    text = unicodedata.normalize("NFKC", q or "").strip()
    if not text or limit <= 0:
        return []
    exact = get(text)
    prefix = normalize(text)
    by_prefix = bool(_CODE_PREFIX.match(prefix))
    lower = text.lower()
    latin = lower.isascii() and lower.replace(" ", "").isalnum()
    ranked: list[tuple[int, int, str, Icd10Code]] = []
    for entry, keys in _search_index():
        if entry is exact:
            ranked.append((0, 0, entry.code, entry))
        elif by_prefix and entry.code.startswith(prefix):
            ranked.append((1, 0, entry.code, entry))
        elif (level := keys.rank(lower, latin)) is not None:
            ranked.append((2, level, entry.code, entry))
    ranked.sort(key=lambda r: r[:3])
    return [r[3] for r in ranked[:limit]]
