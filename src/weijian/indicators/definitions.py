"""Indicator definitions (data/indicators.yaml): loaded once and validated against the measures registry.
A definition naming an unknown measure or filter, or a bad value, stops the application at start with an
error naming the file, the indicator and the key."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any, NoReturn

import yaml

from weijian.indicators import measures

DATA_FILE = Path(__file__).resolve().parent / "data" / "indicators.yaml"
FACTORS = (1, 100, 1000, 100000)
CATEGORIES = ("capacity", "population", "care", "chronic", "immunization", "maternal", "public_health",
              "referral", "settlement")
OPS = (">=", "<=")
_ID = re.compile(r"^[a-z][a-z0-9_]{1,63}$")


class DefinitionError(ValueError):
    """A definitions file that cannot be used; the message names the file, the indicator and the key."""


@dataclass(frozen=True)
class Term:
    """A numerator or denominator: a measure with its filters (defaults applied)."""

    measure: str
    filters: tuple[tuple[str, Any], ...]

    @property
    def filter_dict(self) -> dict[str, Any]:
        return dict(self.filters)

    @property
    def key(self) -> tuple[str, tuple[tuple[str, Any], ...]]:
        return (self.measure, self.filters)


@dataclass(frozen=True)
class Target:
    op: str  # ">=": higher is better; "<=": lower is better
    value: Decimal
    amber: Decimal | None = None  # between amber and value: amber; beyond amber: red

    def status(self, value: Decimal | None) -> str | None:
        if value is None:
            return None
        good = value >= self.value if self.op == ">=" else value <= self.value
        if good:
            return "green"
        if self.amber is not None and (value >= self.amber if self.op == ">=" else value <= self.amber):
            return "amber"
        return "red"


@dataclass(frozen=True)
class Indicator:
    id: str
    name_zh: str
    name_en: str
    category: str
    numerator: Term
    denominator: Term | None
    factor: int
    unit_zh: str
    unit_en: str
    decimals: int
    target: Target | None
    source: str
    # Where the numerator's and the denominator's values are counted (measures.ATTRIBUTIONS).
    attribution: tuple[str, str | None] = ("event_residence", None)

    def name(self, locale: str = "zh_CN") -> str:
        return self.name_en if locale == "en" else self.name_zh

    def unit(self, locale: str = "zh_CN") -> str:
        return self.unit_en if locale == "en" else self.unit_zh

    @property
    def money(self) -> bool:
        return measures.MEASURES[self.numerator.measure].money


@dataclass(frozen=True)
class Definitions:
    version: int
    indicators: dict[str, Indicator]  # in file order


def load(path: Path = DATA_FILE) -> Definitions:
    """Read and validate a definitions file; DefinitionError naming what is wrong."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise DefinitionError(f"{path}: not valid YAML: {exc}") from None

    def fail(where: str, msg: str) -> NoReturn:
        raise DefinitionError(f"{path}: {where}: {msg}")

    if not isinstance(data, dict) or not isinstance(data.get("version"), int):
        fail("version", "must be an integer")
    items = data.get("indicators")
    if not isinstance(items, list) or not items:
        fail("indicators", "must be a non-empty list")
    out: dict[str, Indicator] = {}
    for n, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            fail(f"indicators[{n}]", "must be a mapping")
        ident = item.get("id")
        if not isinstance(ident, str) or not _ID.match(ident):
            fail(f"indicators[{n}].id", f"must be lower-case letters, digits or _ (got {ident!r})")
        where = f"indicator `{ident}`"
        if ident in out:
            fail(where, "id used twice")
        allowed = {"id", "name", "category", "numerator", "denominator", "factor", "unit", "decimals", "target",
                   "source", "attribution"}
        for key in item:
            if key not in allowed:
                fail(f"{where}: key `{key}`", f"unknown key (allowed: {', '.join(sorted(allowed))})")
        name = item.get("name")
        if not isinstance(name, dict) or not name.get("zh_CN") or not name.get("en"):
            fail(f"{where}: name", "needs both zh_CN and en")
        unit = item.get("unit") or {}
        if isinstance(unit, str):
            unit = {"zh_CN": unit, "en": unit}
        if not isinstance(unit, dict) or "zh_CN" not in unit or "en" not in unit:
            fail(f"{where}: unit", "needs zh_CN and en (or one text)")
        category = item.get("category")
        if category not in CATEGORIES:
            fail(f"{where}: category", f"must be one of {', '.join(CATEGORIES)} (got {category!r})")
        numerator = _term(item.get("numerator"), f"{where}: numerator", fail)
        denominator = None if item.get("denominator") is None else _term(item["denominator"],
                                                                          f"{where}: denominator", fail)
        if denominator is not None and measures.MEASURES[numerator.measure].money:
            fail(f"{where}: numerator", "a money total cannot be a rate's numerator")
        factor = item.get("factor", 1)
        if factor not in FACTORS:
            fail(f"{where}: factor", f"must be one of {', '.join(map(str, FACTORS))} (got {factor!r})")
        decimals = item.get("decimals", 2 if denominator is not None else 0)
        if isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= 6:
            fail(f"{where}: decimals", f"must be a whole number 0..6 (got {decimals!r})")
        source = item.get("source")
        if not isinstance(source, str) or not source.strip():
            fail(f"{where}: source", "must name where the definition comes from")
        attribution = _attribution(item.get("attribution"), numerator, denominator, f"{where}: attribution", fail)
        out[ident] = Indicator(
            id=ident, name_zh=str(name["zh_CN"]), name_en=str(name["en"]), category=category, numerator=numerator,
            denominator=denominator, factor=factor, unit_zh=str(unit["zh_CN"]), unit_en=str(unit["en"]),
            decimals=decimals, target=_target(item.get("target"), f"{where}: target", fail), source=source.strip(),
            attribution=attribution)
    return Definitions(version=data["version"], indicators=out)


Fail = Callable[[str, str], NoReturn]  # reports a bad value of the file, and stops


def _term(node: Any, where: str, fail: Fail) -> Term:
    if isinstance(node, str):
        node = {"measure": node}
    if not isinstance(node, dict):
        fail(where, "must be a mapping with `measure` and optional `filters`")
    for key in node:
        if key not in ("measure", "filters"):
            fail(f"{where}: key `{key}`", "unknown key (allowed: measure, filters)")
    name = node.get("measure")
    measure = measures.get(name) if isinstance(name, str) else None
    if measure is None:
        fail(f"{where}: measure", f"unknown measure `{name}` (known: {', '.join(measures.MEASURES)})")
    filters = node.get("filters") or {}
    if not isinstance(filters, dict):
        fail(f"{where}: filters", "must be a mapping")
    try:
        clean = measure.clean_filters(filters)
    except ValueError as exc:
        fail(f"{where}: filters", str(exc))
    return Term(measure.name, tuple(sorted(clean.items())))


def _attribution(node: Any, numerator: Term, denominator: Term | None, where: str, fail: Fail
                 ) -> tuple[str, str | None]:
    """Where the file says the numerator's (and the denominator's) values are counted: one name for both,
    or {numerator, denominator}; it must be what the measures count by (measures.ATTRIBUTIONS), so that
    the file cannot claim a period-stable figure the code does not give."""
    if node is None:
        fail(where, f"is required: one of {', '.join(measures.ATTRIBUTIONS)}, or {{numerator, denominator}}")
    said = {"numerator": node, "denominator": node} if isinstance(node, str) else node
    if not isinstance(said, dict) or set(said) - {"numerator", "denominator"}:
        fail(where, "must be a name or a mapping with `numerator` and `denominator`")
    out: list[str | None] = []
    for part, term in (("numerator", numerator), ("denominator", denominator)):
        if term is None:
            out.append(None)
            continue
        want = measures.MEASURES[term.measure].attribution
        got = said.get(part)
        if got != want:
            fail(f"{where}: {part}", f"the measure `{term.measure}` counts by `{want}` (got {got!r})")
        out.append(want)
    assert out[0] is not None
    return out[0], out[1]


def _target(node: Any, where: str, fail: Fail) -> Target | None:
    if node is None:
        return None
    if not isinstance(node, dict) or node.get("op") not in OPS:
        fail(f"{where}: op", f"must be one of {', '.join(OPS)}")
    for key in node:
        if key not in ("op", "value", "amber"):
            fail(f"{where}: key `{key}`", "unknown key (allowed: op, value, amber)")

    def number(key: str) -> Decimal | None:
        raw = node.get(key)
        if raw is None:
            return None
        try:
            return Decimal(str(raw))
        except InvalidOperation:
            fail(f"{where}: {key}", f"must be a number (got {raw!r})")
        return None

    value, amber = number("value"), number("amber")
    if value is None:
        fail(f"{where}: value", "is required")
    assert value is not None
    if amber is not None and (amber > value if node["op"] == ">=" else amber < value):
        fail(f"{where}: amber", "must lie on the bad side of the target value")
    return Target(node["op"], value, amber)


@lru_cache(maxsize=1)
def definitions() -> Definitions:
    """The built-in definitions, validated once (at import of indicators.service)."""
    return load(DATA_FILE)
