"""Insurance policies (待遇政策) as versioned YAML files under data/policies/: load, validate, select.

The keys of a policy file are a public format; every refusal names the key path that is wrong
(`basic.levels.county.rate: must be between 0 and 1`). Money is Decimal, parsed from the YAML text.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from weijian.core.errors import Conflict, FieldError, InvalidInput, NotFound, RulesInvalid
from weijian.residents import service as residents_service

POLICY_DIR = Path(__file__).resolve().parent.parent / "data" / "policies"
SCHEMES = ("resident", "employee")
LEVELS = ("township", "county", "city")  # facility level of the stay: 一级 (乡镇), 二级 (县), 三级 (市)
DEDUCTIBLE_PER = ("admission", "year")
FEN = Decimal("0.01")
# `<region>-<scheme>-<version>`: policies of one region and scheme must not overlap in time.
_ID = re.compile(r"^(?P<region>[a-z0-9]+(?:-[a-z0-9]+)*)-(?P<scheme>resident|employee)-(?P<version>[a-z0-9]+)$")
_E = "settlement.errors.policy."
# 国办发〔2021〕42号: "对低保对象、特困人员符合规定的医疗费用可按不低于70%的比例救助" — weijian reads it as a
# floor a policy file may not go below.
ASSISTANCE_FLOOR = {"extreme_poverty": Decimal("0.70"), "min_living": Decimal("0.70")}


# --- the policy, as the engine sees it ------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Level:
    deductible: Decimal
    rate: Decimal


@dataclass(frozen=True, slots=True)
class Basic:
    deductible_per: str  # "admission" | "year"
    annual_cap: Decimal | None  # fund payments per person per year; None: no cap
    levels: Mapping[str, Level]
    downward_referral_waives_deductible: bool


@dataclass(frozen=True, slots=True)
class Band:
    upto: Decimal | None  # on the year's cumulative in-policy patient share; None: no limit
    rate: Decimal


@dataclass(frozen=True, slots=True)
class Tilt:
    """Critical-illness terms for the poorest groups: lower threshold, higher rates, own cap."""

    groups: frozenset[str]  # resident group codes (extreme_poverty, ...)
    labels: tuple[str, ...]  # as written in the file (特困, ...)
    threshold_factor: Decimal
    rate_bonus: Decimal
    cap: Decimal | None


@dataclass(frozen=True, slots=True)
class CriticalIllness:
    threshold: Decimal
    bands: tuple[Band, ...]
    annual_cap: Decimal | None
    tilt: Tilt | None


@dataclass(frozen=True, slots=True)
class LargeExpense:
    """职工大额医疗费用补助 (the employee scheme's layer in place of critical-illness insurance): pays `rate`
    of the in-policy costs the basic fund no longer pays once its annual cap is reached, up to its own cap."""

    rate: Decimal
    annual_cap: Decimal | None


@dataclass(frozen=True, slots=True)
class AssistanceGroup:
    code: str  # resident group code
    label: str  # as written in the file
    rate: Decimal
    annual_cap: Decimal | None
    deductible: Decimal = Decimal("0.00")  # 年度救助起付标准: the year's share the person bears first


@dataclass(frozen=True, slots=True)
class AssistanceTilt:
    """倾斜救助: after the three layers, `rate` of the year's remaining in-policy share above `threshold`,
    up to `annual_cap`, for stays in the county or (out of it) on a referral."""

    groups: frozenset[str]  # resident group codes
    labels: tuple[str, ...]  # as written in the file
    threshold: Decimal
    rate: Decimal
    annual_cap: Decimal | None


@dataclass(frozen=True, slots=True)
class Policy:
    id: str
    name: str
    scheme: str
    effective_from: date
    effective_to: date | None  # inclusive; None: still in force
    basic: Basic
    critical_illness: CriticalIllness | None  # None: the scheme has no critical-illness layer
    assistance: Mapping[str, AssistanceGroup]  # by resident group code
    source: str = ""
    large_expense: LargeExpense | None = None  # the employee scheme's 大额医疗费用补助
    assistance_tilt: AssistanceTilt | None = None  # 倾斜救助

    @property
    def region(self) -> str:
        m = _ID.match(self.id)
        return m.group("region") if m else self.id

    def in_force(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)


PolicyInvalid = RulesInvalid  # a policy file refused: the one rules-file error (core.errors)


# --- loading --------------------------------------------------------------------------------------
def load_policy(path: Path | str) -> Policy:
    """Read and validate one policy file; PolicyInvalid lists every bad key."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyInvalid([FieldError("file", _E + "unreadable", {"detail": type(exc).__name__})],
                            source=str(path)) from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "file"
        detail = getattr(exc, "problem", None) or str(exc)
        raise PolicyInvalid([FieldError(where, _E + "yaml", {"detail": detail})], source=str(path)) from None
    return parse_policy(data, source=str(path))


def parse_policy(data: Any, *, source: str = "") -> Policy:
    """Validate a policy already read from YAML (a dict) and build the Policy."""
    c = _Checker()
    top = c.mapping(data, "", ("id", "name", "scheme", "effective_from", "effective_to", "basic",
                               "critical_illness", "large_expense", "assistance"), optional=("large_expense",))
    if top is None:
        raise PolicyInvalid(c.errors, source=source)
    scheme = c.choice(top.get("scheme"), "scheme", SCHEMES)
    policy_id = c.text(top.get("id"), "id")
    if policy_id is not None:
        m = _ID.match(policy_id)
        if m is None or (scheme is not None and m.group("scheme") != scheme):
            c.add("id", "id_format", scheme=scheme or "resident")
    name = c.text(top.get("name"), "name")
    eff_from = c.date(top.get("effective_from"), "effective_from")
    eff_to = c.date(top.get("effective_to"), "effective_to", nullable=True)
    if eff_from is not None and eff_to is not None and eff_to < eff_from:
        c.add("effective_to", "effective_to_before_from")
    basic = _basic(c, top.get("basic"))
    ci = _critical_illness(c, top.get("critical_illness")) if top.get("critical_illness") is not None else None
    large = _large_expense(c, top.get("large_expense")) if top.get("large_expense") is not None else None
    # 大病保险 is the resident scheme's layer, 大额医疗费用补助 the employee scheme's: never the other way.
    if scheme == "employee" and top.get("critical_illness") is not None:
        c.add("critical_illness", "layer_of_other_scheme", scheme=scheme)
    if scheme == "resident" and top.get("large_expense") is not None:
        c.add("large_expense", "layer_of_other_scheme", scheme=scheme)
    assistance, tilt = (_assistance(c, top.get("assistance")) if top.get("assistance") is not None else ({}, None))
    if c.errors:
        raise PolicyInvalid(c.errors, source=source)
    assert policy_id and name and scheme and eff_from and basic  # guaranteed when there are no errors
    return Policy(id=policy_id, name=name, scheme=scheme, effective_from=eff_from, effective_to=eff_to,
                  basic=basic, critical_illness=ci, assistance=MappingProxyType(assistance), source=source,
                  large_expense=large, assistance_tilt=tilt)


def _basic(c: _Checker, node: Any) -> Basic | None:
    b = c.mapping(node, "basic", ("deductible_per", "annual_cap", "levels", "downward_referral_waives_deductible"))
    if b is None:
        return None
    per = c.choice(b.get("deductible_per"), "basic.deductible_per", DEDUCTIBLE_PER)
    cap = c.money(b.get("annual_cap"), "basic.annual_cap", nullable=True)
    waives = c.boolean(b.get("downward_referral_waives_deductible"), "basic.downward_referral_waives_deductible")
    levels: dict[str, Level] = {}
    raw_levels = c.mapping(b.get("levels"), "basic.levels", (), open_keys=True)
    if raw_levels is not None:
        if not raw_levels:
            c.add("basic.levels", "empty")
        for key, spec in raw_levels.items():
            path = f"basic.levels.{key}"
            if key not in LEVELS:
                c.add(path, "level_unknown", allowed=", ".join(LEVELS))
                continue
            lv = c.mapping(spec, path, ("deductible", "rate"))
            if lv is None:
                continue
            ded = c.money(lv.get("deductible"), f"{path}.deductible")
            rate = c.rate(lv.get("rate"), f"{path}.rate")
            if ded is not None and rate is not None:
                levels[key] = Level(deductible=ded, rate=rate)
    if per is None or waives is None or (cap is None and b.get("annual_cap") is not None):
        return None
    return Basic(deductible_per=per, annual_cap=cap, levels=MappingProxyType(levels),
                 downward_referral_waives_deductible=waives)


def _critical_illness(c: _Checker, node: Any) -> CriticalIllness | None:
    ci = c.mapping(node, "critical_illness", ("threshold", "bands", "annual_cap", "tilt"))
    if ci is None:
        return None
    threshold = c.money(ci.get("threshold"), "critical_illness.threshold")
    cap = c.money(ci.get("annual_cap"), "critical_illness.annual_cap", nullable=True)
    bands: list[Band] = []
    raw_bands = ci.get("bands")
    if not isinstance(raw_bands, list):
        c.add("critical_illness.bands", "not_list")
        raw_bands = []
    elif not raw_bands:
        c.add("critical_illness.bands", "empty")
    previous = threshold
    for i, spec in enumerate(raw_bands):
        path = f"critical_illness.bands[{i}]"
        band = c.mapping(spec, path, ("upto", "rate"))
        if band is None:
            continue
        upto = c.money(band.get("upto"), f"{path}.upto", nullable=True)
        rate = c.rate(band.get("rate"), f"{path}.rate")
        if band.get("upto") is None and i != len(raw_bands) - 1:
            c.add(f"{path}.upto", "band_open_not_last")
        elif upto is not None and previous is not None and upto <= previous:
            if i == 0:
                c.add(f"{path}.upto", "band_not_above_threshold", threshold=_plain(previous))
            else:
                c.add(f"{path}.upto", "bands_order", previous=_plain(previous))
        if upto is not None:
            previous = upto
        if rate is not None:
            bands.append(Band(upto=upto, rate=rate))
    tilt = None
    if ci.get("tilt") is not None:
        tilt = _tilt(c, ci.get("tilt"), bands)
    if threshold is None or len(bands) != len(raw_bands):
        return None
    return CriticalIllness(threshold=threshold, bands=tuple(bands), annual_cap=cap, tilt=tilt)


def _tilt(c: _Checker, node: Any, bands: list[Band]) -> Tilt | None:
    t = c.mapping(node, "critical_illness.tilt", ("groups", "threshold_factor", "rate_bonus", "cap"))
    if t is None:
        return None
    factor = c.rate(t.get("threshold_factor"), "critical_illness.tilt.threshold_factor")
    bonus = c.rate(t.get("rate_bonus"), "critical_illness.tilt.rate_bonus")
    cap = c.money(t.get("cap"), "critical_illness.tilt.cap", nullable=True)
    if bonus is not None and any(b.rate + bonus > 1 for b in bands):
        c.add("critical_illness.tilt.rate_bonus", "bonus_above_one")
    raw_groups = t.get("groups")
    codes: list[str] = []
    labels: list[str] = []
    if not isinstance(raw_groups, list) or not raw_groups:
        c.add("critical_illness.tilt.groups", "not_list" if not isinstance(raw_groups, list) else "empty")
    else:
        for i, label in enumerate(raw_groups):
            code = _group(c, label, f"critical_illness.tilt.groups[{i}]", codes)
            if code is not None:
                codes.append(code)
                labels.append(str(label))
    if factor is None or bonus is None or (cap is None and t.get("cap") is not None):
        return None
    return Tilt(groups=frozenset(codes), labels=tuple(labels), threshold_factor=factor, rate_bonus=bonus, cap=cap)


def _large_expense(c: _Checker, node: Any) -> LargeExpense | None:
    le = c.mapping(node, "large_expense", ("rate", "annual_cap"))
    if le is None:
        return None
    rate = c.rate(le.get("rate"), "large_expense.rate")
    cap = c.money(le.get("annual_cap"), "large_expense.annual_cap", nullable=True)
    if rate is None or (cap is None and le.get("annual_cap") is not None):
        return None
    return LargeExpense(rate=rate, annual_cap=cap)


def _assistance(c: _Checker, node: Any) -> tuple[dict[str, AssistanceGroup], AssistanceTilt | None]:
    a = c.mapping(node, "assistance", ("groups", "tilt"), optional=("tilt",))
    out: dict[str, AssistanceGroup] = {}
    if a is None:
        return out, None
    groups = c.mapping(a.get("groups"), "assistance.groups", (), open_keys=True)
    for label, spec in (groups or {}).items():
        path = f"assistance.groups.{label}"
        code = _group(c, label, path, list(out))
        g = c.mapping(spec, path, ("deductible", "rate", "annual_cap"), optional=("deductible",))
        if g is None:
            continue
        deductible = c.money(g.get("deductible", 0), f"{path}.deductible")
        rate = c.rate(g.get("rate"), f"{path}.rate")
        floor = ASSISTANCE_FLOOR.get(code or "")
        if rate is not None and floor is not None and rate < floor:
            c.add(f"{path}.rate", "assistance_below_floor", floor=_plain(floor))
            rate = None
        cap = c.money(g.get("annual_cap"), f"{path}.annual_cap", nullable=True)
        if (code is not None and rate is not None and deductible is not None
                and (cap is not None or g.get("annual_cap") is None)):
            out[code] = AssistanceGroup(code=code, label=str(label), rate=rate, annual_cap=cap, deductible=deductible)
    listed = {residents_service.group_code(str(label)) for label in (groups or {})}
    tilt = _assistance_tilt(c, a.get("tilt"), listed) if a.get("tilt") is not None else None
    return out, tilt


def _assistance_tilt(c: _Checker, node: Any, groups: set[str | None]) -> AssistanceTilt | None:
    path = "assistance.tilt"
    t = c.mapping(node, path, ("groups", "threshold", "rate", "annual_cap"))
    if t is None:
        return None
    threshold = c.money(t.get("threshold"), f"{path}.threshold")
    rate = c.rate(t.get("rate"), f"{path}.rate")
    cap = c.money(t.get("annual_cap"), f"{path}.annual_cap", nullable=True)
    raw_groups = t.get("groups")
    codes: list[str] = []
    labels: list[str] = []
    if not isinstance(raw_groups, list) or not raw_groups:
        c.add(f"{path}.groups", "not_list" if not isinstance(raw_groups, list) else "empty")
    else:
        for i, label in enumerate(raw_groups):
            code = _group(c, label, f"{path}.groups[{i}]", codes)
            if code is None:
                continue
            if code not in groups:  # 倾斜救助 is for medical-assistance recipients only
                c.add(f"{path}.groups[{i}]", "tilt_group_not_assisted", group=str(label))
                continue
            codes.append(code)
            labels.append(str(label))
    if threshold is None or rate is None or (cap is None and t.get("annual_cap") is not None):
        return None
    return AssistanceTilt(groups=frozenset(codes), labels=tuple(labels), threshold=threshold, rate=rate,
                          annual_cap=cap)


def _group(c: _Checker, label: Any, path: str, seen: list[str]) -> str | None:
    code = residents_service.group_code(str(label)) if isinstance(label, str) else None
    if code is None:
        c.add(path, "group_unknown", group=str(label))
        return None
    if code in seen:
        c.add(path, "group_twice", group=str(label))
        return None
    return code


# --- a directory of policies ----------------------------------------------------------------------
def load_policies(directory: Path | str = POLICY_DIR) -> tuple[Policy, ...]:
    """Every policy file of a directory, validated; also refuses two files with one id, and two
    policies of one region and scheme in force on the same day."""
    directory = Path(directory)
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    errors: list[FieldError] = []
    policies: list[Policy] = []
    for f in files:
        try:
            policies.append(load_policy(f))
        except PolicyInvalid as exc:
            errors.extend(FieldError(f"{f.name}: {e.field}", e.reason_key, e.params) for e in exc.errors)
    by_id: dict[str, Policy] = {}
    for p in policies:
        if p.id in by_id:
            errors.append(FieldError(f"{Path(p.source).name}: id", _E + "duplicate_id",
                                     {"other": Path(by_id[p.id].source).name}))
        by_id.setdefault(p.id, p)
    by_line: dict[tuple[str, str], list[Policy]] = {}
    for p in by_id.values():
        by_line.setdefault((p.region, p.scheme), []).append(p)
    for line in by_line.values():
        line.sort(key=lambda p: p.effective_from)
        for earlier, later in pairwise(line):
            if earlier.effective_to is None or later.effective_from <= earlier.effective_to:
                errors.append(FieldError(f"{Path(later.source).name}: effective_from", _E + "overlap",
                                         {"other": earlier.id}))
    if errors:
        raise PolicyInvalid(errors, source=str(directory))
    return tuple(sorted(policies, key=lambda p: (p.region, p.scheme, p.effective_from)))


@lru_cache(maxsize=1)
def bundled_policies() -> tuple[Policy, ...]:
    """The policies shipped with weijian (validated once, at first use)."""
    return load_policies(POLICY_DIR)


def get_policy(policy_id: str, policies: Iterable[Policy] | None = None) -> Policy:
    for p in bundled_policies() if policies is None else policies:
        if p.id == policy_id:
            return p
    raise NotFound("settlement.errors.policy_not_found", id=policy_id)


def select_policy(policies: Iterable[Policy], scheme: str, on_date: date, *, region: str | None = None) -> Policy:
    """The policy of `scheme` (and `region`, when several regions are loaded) in force on `on_date`."""
    if scheme not in SCHEMES:
        raise InvalidInput("scheme", "settlement.errors.scheme_invalid", scheme=scheme)
    found = [p for p in policies
             if p.scheme == scheme and p.in_force(on_date) and (region is None or p.region == region)]
    if not found:
        raise NotFound("settlement.errors.no_policy", scheme=scheme, date=on_date.isoformat())
    if len(found) > 1:
        raise Conflict("settlement.errors.policy_ambiguous", ids=", ".join(p.id for p in found))
    return found[0]


# --- the terms a settlement keeps ----------------------------------------------------------------
def policy_data(policy: Policy) -> dict[str, Any]:
    """The policy in the policy-file format (group labels as written, money and rates as text), so that
    `parse_policy(policy_data(p))` is `p` again (but its `source`): what a settlement stores of its terms."""
    basic = policy.basic
    ci = policy.critical_illness
    data: dict[str, Any] = {
        "id": policy.id, "name": policy.name, "scheme": policy.scheme,
        "effective_from": policy.effective_from.isoformat(),
        "effective_to": policy.effective_to.isoformat() if policy.effective_to else None,
        "basic": {"deductible_per": basic.deductible_per, "annual_cap": _text(basic.annual_cap),
                  "levels": {k: {"deductible": _text(v.deductible), "rate": _text(v.rate)}
                             for k, v in basic.levels.items()},
                  "downward_referral_waives_deductible": basic.downward_referral_waives_deductible},
        "critical_illness": None if ci is None else {
            "threshold": _text(ci.threshold), "annual_cap": _text(ci.annual_cap),
            "bands": [{"upto": _text(b.upto), "rate": _text(b.rate)} for b in ci.bands],
            "tilt": None if ci.tilt is None else {
                "groups": list(ci.tilt.labels), "threshold_factor": _text(ci.tilt.threshold_factor),
                "rate_bonus": _text(ci.tilt.rate_bonus), "cap": _text(ci.tilt.cap)}},
        "assistance": {"groups": {g.label: {"deductible": _text(g.deductible), "rate": _text(g.rate),
                                            "annual_cap": _text(g.annual_cap)}
                                  for g in policy.assistance.values()}},
    }
    if policy.large_expense is not None:
        data["large_expense"] = {"rate": _text(policy.large_expense.rate),
                                 "annual_cap": _text(policy.large_expense.annual_cap)}
    t = policy.assistance_tilt
    if t is not None:
        data["assistance"]["tilt"] = {"groups": list(t.labels), "threshold": _text(t.threshold),
                                      "rate": _text(t.rate), "annual_cap": _text(t.annual_cap)}
    return data


def canonical_json(data: Any) -> str:
    """One text for one value: keys sorted, no spaces, UTF-8 kept (the digest is taken of it)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def policy_snapshot(policy: Policy) -> tuple[str, str]:
    """(canonical JSON of the policy's terms, its SHA-256 digest): equal terms, equal digest, whatever
    file they were read from."""
    text = canonical_json(policy_data(policy))
    return text, hashlib.sha256(text.encode("utf-8")).hexdigest()


def policy_from_snapshot(text: str, *, digest: str = "") -> Policy:
    """The policy a settlement stored (policy_snapshot's text), validated as a policy file is."""
    return parse_policy(json.loads(text), source=f"settlement_terms:{digest}" if digest else "settlement_terms")


def _text(d: Decimal | None) -> str | None:
    """Money and rates as plain text, trailing zeros dropped (0.850 and 0.85 are one term, one digest)."""
    return None if d is None else format(d.normalize(), "f")


# --- checking helpers -----------------------------------------------------------------------------
def to_decimal(value: Any) -> Decimal | None:
    """A finite Decimal from a YAML/JSON number or numeric text (floats through their text, so 0.85
    stays 0.85); None for anything else, booleans included."""
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, Decimal):
            d = value
        elif isinstance(value, int):
            d = Decimal(value)
        elif isinstance(value, float):
            d = Decimal(repr(value))
        elif isinstance(value, str) and value.strip():
            d = Decimal(value.strip())
        else:
            return None
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None


def _plain(d: Decimal) -> str:
    return format(d.normalize(), "f") if d == d.to_integral_value() else format(d, "f")


class _Checker:
    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, path: str, reason: str, **params: Any) -> None:
        err = FieldError(path or "(top)", _E + reason, params)
        if err not in self.errors:  # a missing key is seen by its parent and by its own check
            self.errors.append(err)

    def mapping(self, node: Any, path: str, keys: tuple[str, ...], *, open_keys: bool = False,
                optional: tuple[str, ...] = ()) -> dict[str, Any] | None:
        if node is None and path:
            self.add(path, "missing")
            return None
        if not isinstance(node, dict):
            self.add(path, "not_mapping")
            return None
        if not open_keys:
            for k in node:
                if k not in keys:
                    self.add(f"{path}.{k}" if path else str(k), "unknown_key", allowed=", ".join(keys))
            for k in keys:
                if k not in node and k not in optional:
                    self.add(f"{path}.{k}" if path else k, "missing")
        return node

    def number(self, value: Any, path: str, *, nullable: bool = False) -> Decimal | None:
        if value is None:
            if not nullable:
                self.add(path, "missing")
            return None
        d = to_decimal(value)
        if d is None:
            self.add(path, "not_number")
            return None
        if d < 0:
            self.add(path, "negative")
            return None
        if d.adjusted() >= 15:  # beyond any real amount; keeps quantize within Decimal's precision
            self.add(path, "too_large")
            return None
        return d

    def money(self, value: Any, path: str, *, nullable: bool = False) -> Decimal | None:
        d = self.number(value, path, nullable=nullable)
        if d is not None and d != d.quantize(FEN):
            self.add(path, "fen")
            return None
        return d.quantize(FEN) if d is not None else None

    def rate(self, value: Any, path: str) -> Decimal | None:
        d = self.number(value, path)
        if d is not None and d > 1:
            self.add(path, "rate_range")
            return None
        return d

    def boolean(self, value: Any, path: str) -> bool | None:
        if not isinstance(value, bool):
            self.add(path, "missing" if value is None else "not_bool")
            return None
        return value

    def text(self, value: Any, path: str) -> str | None:
        if not isinstance(value, str) or not value.strip():
            self.add(path, "missing" if value is None or value == "" else "not_text")
            return None
        return value.strip()

    def choice(self, value: Any, path: str, allowed: tuple[str, ...]) -> str | None:
        if value is None:
            self.add(path, "missing")
            return None
        if value not in allowed:
            self.add(path, "not_allowed", value=str(value), allowed=", ".join(allowed))
            return None
        return str(value)  # one of `allowed`

    def date(self, value: Any, path: str, *, nullable: bool = False) -> date | None:
        if value is None:
            if not nullable:
                self.add(path, "missing")
            return None
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        self.add(path, "not_date")
        return None


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key written twice in one mapping (PyYAML keeps the last silently)."""


def _strict_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _strict_mapping)
