"""The pay-later rules (data/paylater.yaml): who may be admitted without a deposit (the resident groups, in the
file's order) at which facility types, and how many days a balance has until it is due. Validated at load: a
broken file stops start-up, naming the file and key."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from weijian.orgunits import service as orgunits_service
from weijian.residents import service as residents_service

RULES_FILE = Path(__file__).resolve().parent.parent / "data" / "paylater.yaml"


@dataclass(frozen=True)
class Rules:
    groups: tuple[str, ...]
    facility_types: frozenset[str]
    days_until_due: int


def parse_rules(data: Any, source: str = "") -> Rules:
    """Validate the pay-later rules (ValueError naming the file and key: a broken data file stops start-up)."""
    def fail(key: str, msg: str) -> None:
        raise ValueError(f"{source}: {key}: {msg}")

    if not isinstance(data, dict):
        fail("file", "must be a mapping")
    unknown = set(data) - {"version", "groups", "facility_types", "days_until_due"}
    if unknown:
        fail(", ".join(sorted(unknown)), "unknown key")
    known_groups = set(residents_service.groups())
    groups = data.get("groups")
    if not isinstance(groups, list) or not groups:
        fail("groups", "must be a non-empty list")
    for g in groups:
        if g not in known_groups:
            fail("groups", f"unknown resident group {g!r}")
    types = data.get("facility_types")
    known_types = set(orgunits_service.reference().types)
    if not isinstance(types, list) or not types:
        fail("facility_types", "must be a non-empty list")
    for t in types:
        if t not in known_types:
            fail("facility_types", f"unknown facility type {t!r}")
    days = data.get("days_until_due")
    if not isinstance(days, int) or isinstance(days, bool) or days <= 0:
        fail("days_until_due", "must be a positive whole number of days")
    return Rules(groups=tuple(groups), facility_types=frozenset(types), days_until_due=days)


@lru_cache(maxsize=1)
def paylater_rules() -> Rules:
    """The bundled rules (data/paylater.yaml), read once."""
    return parse_rules(yaml.safe_load(RULES_FILE.read_text(encoding="utf-8")), str(RULES_FILE))


def eligible_group(groups: Iterable[str]) -> str | None:
    """The first of the resident's groups (codes) that makes them eligible, in the file's order."""
    held = set(groups)
    return next((g for g in paylater_rules().groups if g in held), None)


