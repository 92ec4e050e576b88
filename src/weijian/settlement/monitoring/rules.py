"""The resident groups poverty-risk monitoring watches (data/monitoring.yaml), validated against the
residents' group codes when first read: a broken file stops start-up, naming the file and key."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from weijian.residents import service as residents_service

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "monitoring.yaml"


@lru_cache(maxsize=1)
def monitored_groups() -> tuple[str, ...]:
    """The monitored resident group codes, from data/monitoring.yaml (ValueError naming the file and key)."""
    data = yaml.safe_load(DATA_FILE.read_text(encoding="utf-8")) or {}
    raw = data.get("groups")
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"{DATA_FILE}: groups must be a non-empty list of resident group codes")
    known = residents_service.groups()
    for i, code in enumerate(raw):
        if code not in known:
            raise ValueError(f"{DATA_FILE}: groups[{i}]: unknown resident group {code!r}")
    return tuple(raw)
