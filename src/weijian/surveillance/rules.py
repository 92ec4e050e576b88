"""The notifiable disease list (data/diseases.yaml): loaded once, validated (a refusal names the key path),
and read by date: the edition of the law in force, the diseases listed on that day, the disease an ICD-10
code notifies, the reporting limit, and each disease's early-warning methods with their parameters.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from weijian.core.errors import FieldError, RulesInvalid

DATA_FILE = Path(__file__).resolve().parent / "data" / "diseases.yaml"
CLASSES = ("A", "B", "C")
METHODS = ("fixed", "cluster", "moving_percentile", "ears")
SIGMA_ZERO_RULES = ("no_value", "signal_if_above_mean")
_CODE = re.compile(r"^[a-z][a-z0-9_]{1,31}$")
# An ICD-10 category (A00), a subcategory (A22.1) or a range of categories (B20-B24).
_ICD_SPEC = re.compile(r"^([A-Z])(\d{2})(?:\.(\d{1,2})|-([A-Z])(\d{2}))?$")
_ICD_CODE = re.compile(r"^([A-Z])(\d{2})(?:\.?([0-9X]{1,4}))?")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- early-warning methods and their parameters ---------------------------------------------------
class FixedParams(_Strict):
    """A signal when one day's count reaches `threshold` (1: every case is a signal)."""

    threshold: Annotated[int, Field(ge=1)] = 1


class ClusterParams(_Strict):
    """A signal when `cases` or more cases fall within `days` consecutive days in one org unit of `level`."""

    cases: Annotated[int, Field(ge=1)] = 2
    days: Annotated[int, Field(ge=1, le=366)] = 14
    level: Literal["township", "county"] = "township"


class PercentileParams(_Strict):
    """CIDARS' moving percentile: the `window_days` count against the same, previous and next windows of each
    of the previous `years` years (3 × years values); a signal above their `px`-th percentile."""

    px: Annotated[float, Field(gt=0, lt=100)] = 50
    window_days: Annotated[int, Field(ge=1, le=31)] = 7
    years: Annotated[int, Field(ge=1, le=10)] = 5


class EarsParams(_Strict):
    """EARS C1, C2, C3 thresholds (a signal strictly above) and what a baseline with σ = 0 gives."""

    c1: Annotated[float, Field(gt=0)] = 3
    c2: Annotated[float, Field(gt=0)] = 3
    c3: Annotated[float, Field(gt=0)] = 2
    sigma_zero: Literal["no_value", "signal_if_above_mean"] = "signal_if_above_mean"


class Methods(_Strict):
    """The methods that apply to a disease (absent: does not apply). A value given in the file is merged over
    the file's `method_defaults`."""

    fixed: FixedParams | None = None
    cluster: ClusterParams | None = None
    moving_percentile: PercentileParams | None = None
    ears: EarsParams | None = None

    def names(self) -> tuple[str, ...]:
        return tuple(m for m in METHODS if getattr(self, m) is not None)


# --- ICD-10 ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class IcdSpec:
    """One ICD-10 code of the file: a category (matches its subcategories too), a subcategory, or a range."""

    text: str
    first: str  # category, e.g. "B20"
    last: str  # same as first unless a range
    sub: str | None  # "1" for A22.1

    def matches(self, category: str, sub: str | None) -> bool:
        if not (self.first <= category <= self.last):
            return False
        return self.sub is None or (sub is not None and sub.startswith(self.sub))

    @property
    def specificity(self) -> int:
        return 2 if self.sub is not None else (1 if self.first == self.last else 0)


def parse_icd_spec(text: str) -> IcdSpec:
    """`A22`, `A22.1` or `B20-B24` → IcdSpec; ValueError otherwise."""
    m = _ICD_SPEC.match(text.strip())
    if m is None:
        raise ValueError(f"{text!r} is not an ICD-10 category, subcategory or range (A22, A22.1, B20-B24)")
    letter, num, sub, letter2, num2 = m.groups()
    first = f"{letter}{num}"
    last = f"{letter2}{num2}" if letter2 else first
    if last < first:
        raise ValueError(f"{text!r}: the range ends before it starts")
    return IcdSpec(text.strip(), first, last, sub)


def split_icd10(code: str) -> tuple[str, str | None] | None:
    """A diagnosis code as (category, subcategory digits): `A22.1`, `A221`, `a22.100` (China's clinical
    version) → ("A22", "1…"); None when it is not an ICD-10 code."""
    m = _ICD_CODE.match(code.strip().upper())
    if m is None:
        return None
    letter, num, rest = m.groups()
    return f"{letter}{num}", (rest or None)


# --- the file --------------------------------------------------------------------------------------
IcdText = Annotated[str, Field(min_length=3, max_length=9)]


class DiseaseEntry(_Strict):
    code: str
    zh: Annotated[str, Field(min_length=1)]
    en: Annotated[str, Field(min_length=1)]
    class_: Literal["A", "B", "C"] = Field(alias="class")
    managed_as_a: bool = False
    # Forms of the disease that take class A measures (炭疽中的肺炭疽: A22.1); the disease itself does not.
    managed_as_a_icd10: tuple[IcdText, ...] = ()
    icd10: tuple[IcdText, ...]
    report_limit_hours: Literal[2, 24]
    from_: date = Field(alias="from")
    to: date | None = None
    methods: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # Hours the county CDC has to verify this disease's signals (absent: the file's signal_verify_hours).
    signal_verify_hours: Annotated[int, Field(ge=1, le=720)] | None = None
    # Whether its pathogen carriers are reported (规定报告的病原携带者): a card classed 病原携带 only for these.
    carrier: bool = False

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        if not _CODE.match(value):
            raise ValueError("lower-case letters, digits or _, 2–32 characters, starting with a letter")
        return value

    @field_validator("icd10", "managed_as_a_icd10")
    @classmethod
    def _icd(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for text in value:
            parse_icd_spec(text)
        return value

    @field_validator("methods")
    @classmethod
    def _methods(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        unknown = sorted(set(value) - set(METHODS))
        if unknown:
            raise ValueError(f"unknown method(s) {', '.join(unknown)}; known: {', '.join(METHODS)}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> DiseaseEntry:
        if self.to is not None and self.to < self.from_:
            raise ValueError("`to` is before `from`")
        # 传染病信息报告管理规范: class A and the diseases managed as class A are reported within 2 hours.
        if (self.class_ == "A" or self.managed_as_a) and self.report_limit_hours != 2:
            raise ValueError("a class A disease, or one managed as class A, is reported within 2 hours")
        return self


class EditionEntry(_Strict):
    id: str
    name: str
    from_: date = Field(alias="from")
    to: date | None = None
    sources: tuple[str, ...]


class DiseaseFile(_Strict):
    version: int
    method_defaults: Methods
    signal_verify_hours: Annotated[int, Field(ge=1, le=720)] = 24
    editions: Annotated[tuple[EditionEntry, ...], Field(min_length=1)]
    diseases: Annotated[tuple[DiseaseEntry, ...], Field(min_length=1)]


# --- what the rest of weijian reads ---------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Disease:
    code: str
    zh: str
    en: str
    disease_class: str  # "A", "B" or "C"
    managed_as_a: bool
    icd10: tuple[IcdSpec, ...]
    managed_as_a_icd10: tuple[IcdSpec, ...]
    report_limit_hours: int
    valid_from: date
    valid_to: date | None
    methods: Methods
    signal_verify_hours: int = 24  # the hours to verify a signal of this disease (issue 16)
    carrier: bool = False  # its pathogen carriers are reported (a card may be classed 病原携带)

    def name(self, locale: str) -> str:
        return self.en if locale == "en" else self.zh

    def in_force(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on <= self.valid_to)

    def limit_hours(self, icd10: str | None = None) -> int:
        """The reporting limit; a form managed as class A (肺炭疽, A22.1) is reported within 2 hours."""
        parts = split_icd10(icd10) if icd10 else None
        if parts and any(s.matches(*parts) for s in self.managed_as_a_icd10):
            return 2
        return self.report_limit_hours


@dataclass(frozen=True, slots=True)
class Edition:
    """The law in force on a day and the diseases listed that day."""

    id: str
    name: str
    valid_from: date
    valid_to: date | None
    sources: tuple[str, ...]
    on: date
    diseases: tuple[Disease, ...]

    def by_code(self, code: str) -> Disease | None:
        return next((d for d in self.diseases if d.code == code), None)

    def of_class(self, disease_class: str) -> tuple[Disease, ...]:
        return tuple(d for d in self.diseases if d.disease_class == disease_class)


@dataclass(frozen=True, slots=True)
class DiseaseList:
    version: int
    editions: tuple[EditionEntry, ...]
    diseases: tuple[Disease, ...]
    defaults: Methods
    signal_verify_hours: int = 24


def _merge(defaults: Methods, given: dict[str, dict[str, Any]]) -> Methods:
    merged: dict[str, Any] = {}
    for name, params in given.items():
        base = getattr(defaults, name)
        merged[name] = {**(base.model_dump() if base is not None else {}), **(params or {})}
    return Methods.model_validate(merged)


def _fail(errors: Iterable[tuple[str, str]]) -> RulesInvalid:
    return RulesInvalid([FieldError(path or "file", "core.errors.rules_file", {"detail": detail})
                         for path, detail in errors], source=DATA_FILE.name)


def _overlap(a: Disease, b: Disease) -> bool:
    a_to, b_to = a.valid_to or date.max, b.valid_to or date.max
    return a.valid_from <= b_to and b.valid_from <= a_to


def _clash(a: IcdSpec, b: IcdSpec) -> bool:
    # Two codes of the same specificity that share a diagnosis (A22.1 beats A22, so they may coexist).
    if a.specificity != b.specificity or not (a.first <= b.last and b.first <= a.last):
        return False
    return a.sub is None or b.sub is None or a.sub.startswith(b.sub) or b.sub.startswith(a.sub)


def load(path: Path = DATA_FILE) -> DiseaseList:
    """Read and validate a disease file (RulesInvalid naming each bad key path)."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    try:
        parsed = DiseaseFile.model_validate(raw)
    except ValidationError as exc:
        raise _fail((".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()) from None
    problems: list[tuple[str, str]] = []
    diseases: list[Disease] = []
    for i, entry in enumerate(parsed.diseases):
        try:
            methods = _merge(parsed.method_defaults, entry.methods)
        except ValidationError as exc:
            problems.extend((f"diseases.{i}.methods.{'.'.join(str(p) for p in e['loc'])}", e["msg"])
                            for e in exc.errors())
            continue
        diseases.append(Disease(
            code=entry.code, zh=entry.zh, en=entry.en, disease_class=entry.class_, managed_as_a=entry.managed_as_a,
            icd10=tuple(parse_icd_spec(t) for t in entry.icd10),
            managed_as_a_icd10=tuple(parse_icd_spec(t) for t in entry.managed_as_a_icd10),
            report_limit_hours=entry.report_limit_hours, valid_from=entry.from_, valid_to=entry.to, methods=methods,
            signal_verify_hours=entry.signal_verify_hours or parsed.signal_verify_hours, carrier=entry.carrier))
    for i, a in enumerate(diseases):
        for b in diseases[i + 1:]:
            if not _overlap(a, b):
                continue
            if a.code == b.code:
                problems.append((f"diseases.{b.code}", f"two entries of {a.code} are in force on the same day"))
            for sa in a.icd10:
                for sb in b.icd10:
                    if _clash(sa, sb):
                        problems.append((f"diseases.{b.code}.icd10",
                                         f"{sb.text} is also {a.code}'s ({sa.text}) on the same days"))
    editions = sorted(parsed.editions, key=lambda e: e.from_)
    for prev, nxt in zip(editions, editions[1:], strict=False):
        if prev.to is None or prev.to >= nxt.from_:
            problems.append((f"editions.{nxt.id}", f"starts before {prev.id} ends"))
    if problems:
        raise _fail(problems)
    return DiseaseList(parsed.version, tuple(editions), tuple(diseases), parsed.method_defaults,
                       parsed.signal_verify_hours)


@cache
def disease_list() -> DiseaseList:
    """The disease list of data/diseases.yaml, read once."""
    return load()


def edition_on(on: date) -> Edition:
    """The edition of the law in force on `on`, with the diseases listed that day (LookupError before the
    first edition)."""
    data = disease_list()
    for e in data.editions:
        if e.from_ <= on and (e.to is None or on <= e.to):
            return Edition(e.id, e.name, e.from_, e.to, e.sources, on,
                           tuple(d for d in data.diseases if d.in_force(on)))
    raise LookupError(f"no edition of the notifiable disease list is in force on {on.isoformat()}")


def disease_for_icd10(code: str, on: date) -> Disease | None:
    """The notifiable disease an ICD-10 diagnosis code names on `on` (the most specific code of the file wins:
    A22.1 over A22 over a range); None when the code notifies nothing that day."""
    parts = split_icd10(code)
    if parts is None:
        return None
    best: tuple[int, Disease] | None = None
    for disease in edition_on(on).diseases:
        for spec in disease.icd10:
            if spec.matches(*parts) and (best is None or spec.specificity > best[0]):
                best = (spec.specificity, disease)
    return best[1] if best else None
