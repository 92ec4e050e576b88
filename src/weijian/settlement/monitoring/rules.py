"""The rules of poverty-risk monitoring (data/monitoring.yaml): the resident groups it watches, and the line for
everyone else (a share of last year's rural per-capita disposable income). Validated when first read: a broken
file stops the list, naming the file and key."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from weijian.residents import service as residents_service

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "monitoring.yaml"
FEN = Decimal("0.01")


@dataclass(frozen=True)
class Ordinary:
    """The line for residents of no monitored group: `income_share` of the rural per-capita disposable income
    of the year before (`rural_income`: year → yuan)."""

    income_share: Decimal
    rural_income: dict[int, Decimal]

    def threshold(self, as_of: date) -> tuple[Decimal, int] | None:
        """(line, income year) for a list whose 12 months end on `as_of`: the figure of the year before, or
        the latest earlier one; None when the file has none that early."""
        years = [y for y in self.rural_income if y <= as_of.year - 1]
        if not years:
            return None
        year = max(years)
        return (self.rural_income[year] * self.income_share).quantize(FEN, rounding=ROUND_HALF_UP), year


@dataclass(frozen=True)
class Rules:
    groups: tuple[str, ...]
    ordinary: Ordinary


def _decimal(raw: Any, where: str) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise ValueError(f"{where}: must be a number")
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise ValueError(f"{where}: must be a number") from None
    if not value.is_finite() or value <= 0:
        raise ValueError(f"{where}: must be above zero")
    return value


def parse_rules(data: Any, source: str = "") -> Rules:
    """Validate the monitoring rules (ValueError naming the file and key)."""
    if not isinstance(data, dict):
        raise ValueError(f"{source}: file: must be a mapping")
    unknown = set(data) - {"version", "groups", "ordinary"}
    if unknown:
        raise ValueError(f"{source}: {', '.join(sorted(unknown))}: unknown key")
    raw = data.get("groups")
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"{source}: groups must be a non-empty list of resident group codes")
    known = residents_service.groups()
    for i, code in enumerate(raw):
        if code not in known:
            raise ValueError(f"{source}: groups[{i}]: unknown resident group {code!r}")
    ordinary = data.get("ordinary")
    if not isinstance(ordinary, dict) or set(ordinary) != {"income_share", "rural_income"}:
        raise ValueError(f"{source}: ordinary: must have exactly income_share and rural_income")
    share = _decimal(ordinary["income_share"], f"{source}: ordinary.income_share")
    if share > 1:
        raise ValueError(f"{source}: ordinary.income_share: must be at most 1")
    incomes = ordinary["rural_income"]
    if not isinstance(incomes, dict) or not incomes:
        raise ValueError(f"{source}: ordinary.rural_income: must map years to amounts")
    by_year: dict[int, Decimal] = {}
    for year, amount in incomes.items():
        if not isinstance(year, int) or isinstance(year, bool) or not 2000 <= year <= 2100:
            raise ValueError(f"{source}: ordinary.rural_income.{year}: not a year")
        by_year[year] = _decimal(amount, f"{source}: ordinary.rural_income.{year}").quantize(FEN)
    return Rules(groups=tuple(raw), ordinary=Ordinary(income_share=share, rural_income=by_year))


@lru_cache(maxsize=1)
def monitoring_rules() -> Rules:
    """The bundled rules (data/monitoring.yaml), read once."""
    return parse_rules(yaml.safe_load(DATA_FILE.read_text(encoding="utf-8")) or {}, str(DATA_FILE))


def monitored_groups() -> tuple[str, ...]:
    """The monitored resident group codes, from data/monitoring.yaml (ValueError naming the file and key)."""
    return monitoring_rules().groups
