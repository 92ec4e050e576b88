"""The bundled budget's rules (data/budget.yaml): the settlement parts that count, the outpatient-pooling terms
the visits' fund part is worked out by, and the bands by which a surplus is retained or an overspend shared.
Validated at load (ValueError naming the file and key); the arithmetic on them is here, pure."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from weijian.orgunits import service as orgunits_service

RULES_FILE = Path(__file__).resolve().parent.parent / "data" / "budget.yaml"
FEN = Decimal("0.01")
ZERO = Decimal("0.00")
SETTLEMENT_PARTS = ("basic_pays", "critical_illness_pays", "large_expense_pays", "assistance_pays",
                    "tilt_assistance_pays")
SCHEMES = ("resident", "employee")


def fen(amount: Decimal) -> Decimal:
    return amount.quantize(FEN, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Pooling:
    """普通门诊统筹: the fund pays `rate` of a visit's in-policy cost above the year's deductible, at the
    facility types named, up to `annual_cap` of fund payments per person and calendar year."""

    scheme: str
    facility_types: frozenset[str]
    deductible: Decimal
    rate: Decimal
    annual_cap: Decimal


@dataclass(frozen=True)
class Band:
    upto: Decimal | None  # share of the budget the band runs up to; None: no limit
    share: Decimal  # surplus: retained by the community; overspend: borne by the fund


@dataclass(frozen=True)
class Rules:
    settlement_parts: tuple[str, ...]
    pooling: Pooling
    surplus: tuple[Band, ...]
    overspend: tuple[Band, ...]


def _fail(source: str, key: str, msg: str) -> ValueError:
    return ValueError(f"{source}: {key}: {msg}")


def _number(raw: Any, source: str, key: str, *, lo: Decimal = ZERO, hi: Decimal | None = None) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise _fail(source, key, "must be a number")
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise _fail(source, key, "must be a number") from None
    if not value.is_finite() or value < lo or (hi is not None and value > hi):
        raise _fail(source, key, f"must be between {lo} and {hi if hi is not None else 'any'}")
    return value


def _bands(raw: Any, source: str, key: str, share_key: str) -> tuple[Band, ...]:
    if not isinstance(raw, list) or not raw:
        raise _fail(source, key, "must be a non-empty list of bands")
    out: list[Band] = []
    for i, item in enumerate(raw):
        where = f"{key}[{i}]"
        if not isinstance(item, dict) or set(item) != {"upto", share_key}:
            raise _fail(source, where, f"must have exactly upto and {share_key}")
        upto = None if item["upto"] is None else _number(item["upto"], source, where + ".upto")
        if upto is not None and (upto <= 0 or (out and out[-1].upto is not None and upto <= out[-1].upto)):
            raise _fail(source, where + ".upto", "bands must rise above zero")
        if out and out[-1].upto is None:
            raise _fail(source, where, "no band may follow one without a limit")
        out.append(Band(upto=upto, share=_number(item[share_key], source, where + "." + share_key, hi=Decimal(1))))
    if out[-1].upto is not None:
        raise _fail(source, key, "the last band must have no limit (upto: null)")
    return tuple(out)


def parse_rules(data: Any, source: str = "") -> Rules:
    """Validate the budget rules (ValueError naming the file and key)."""
    if not isinstance(data, dict):
        raise _fail(source, "file", "must be a mapping")
    unknown = set(data) - {"version", "settlement_parts", "outpatient_pooling", "sharing"}
    if unknown:
        raise _fail(source, ", ".join(sorted(unknown)), "unknown key")
    parts = data.get("settlement_parts")
    if not isinstance(parts, list) or not parts or any(p not in SETTLEMENT_PARTS for p in parts):
        raise _fail(source, "settlement_parts", f"must be a non-empty list of {', '.join(SETTLEMENT_PARTS)}")
    op = data.get("outpatient_pooling")
    keys = {"scheme", "facility_types", "deductible", "rate", "annual_cap"}
    if not isinstance(op, dict) or set(op) != keys:
        raise _fail(source, "outpatient_pooling", f"must have exactly {', '.join(sorted(keys))}")
    if op["scheme"] not in SCHEMES:
        raise _fail(source, "outpatient_pooling.scheme", f"must be one of {', '.join(SCHEMES)}")
    known_types = set(orgunits_service.reference().types)
    types = op["facility_types"]
    if not isinstance(types, list) or not types or any(t not in known_types for t in types):
        raise _fail(source, "outpatient_pooling.facility_types", "must be a non-empty list of facility types")
    pooling = Pooling(scheme=op["scheme"], facility_types=frozenset(types),
                      deductible=_number(op["deductible"], source, "outpatient_pooling.deductible"),
                      rate=_number(op["rate"], source, "outpatient_pooling.rate", hi=Decimal(1)),
                      annual_cap=_number(op["annual_cap"], source, "outpatient_pooling.annual_cap"))
    sharing = data.get("sharing")
    if not isinstance(sharing, dict) or set(sharing) != {"surplus", "overspend"}:
        raise _fail(source, "sharing", "must have exactly surplus and overspend")
    return Rules(settlement_parts=tuple(parts), pooling=pooling,
                 surplus=_bands(sharing["surplus"], source, "sharing.surplus", "retained"),
                 overspend=_bands(sharing["overspend"], source, "sharing.overspend", "fund_share"))


@lru_cache(maxsize=1)
def budget_rules() -> Rules:
    """The bundled rules (data/budget.yaml), read once."""
    return parse_rules(yaml.safe_load(RULES_FILE.read_text(encoding="utf-8")), str(RULES_FILE))


# --- outpatient pooling ------------------------------------------------------------------------------
def pooling_parts(visits: Iterable[tuple[int, date, Decimal]], terms: Pooling) -> Iterator[Decimal]:
    """The fund's part of each visit, given (person, visit date, in-policy cost) of the person's visits at
    the pooling's facilities in the order they happened (by person, then date): each calendar year a person
    first bears the deductible, then the fund pays `rate` of the rest, rounded to the fen, until the year's
    fund payments reach the cap."""
    person: tuple[int, int] | None = None
    deductible_left = cap_left = ZERO
    for pid, day, in_policy in visits:
        if (pid, day.year) != person:
            person, deductible_left, cap_left = (pid, day.year), terms.deductible, terms.annual_cap
        cost = max(in_policy, ZERO)
        borne = min(cost, deductible_left)
        deductible_left -= borne
        part = min(fen((cost - borne) * terms.rate), cap_left)
        cap_left -= part
        yield part


# --- surplus and overspend ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Sharing:
    """How a year's surplus or overspend against the budget divides. surplus: `community` is retained by
    the community (结余留用), `fund` goes back to the fund; overspend: `fund` is borne by the fund (合理超支
    分担), `community` by the community. balanced: both zero."""

    outcome: str  # surplus | overspend | balanced
    amount: Decimal  # the surplus or the overspend (≥ 0)
    community: Decimal
    fund: Decimal


def share(budget: Decimal, spending: Decimal, rules: Rules) -> Sharing:
    """The division of `budget − spending` by the bands of `rules` (each band's part rounded to the fen)."""
    gap = budget - spending
    if gap == 0:
        return Sharing("balanced", ZERO, ZERO, ZERO)
    amount = abs(gap)
    bands = rules.surplus if gap > 0 else rules.overspend
    left, floor, banded = amount, ZERO, ZERO
    for band in bands:
        width = left if band.upto is None else min(left, fen(budget * band.upto) - floor)
        width = max(width, ZERO)
        banded += fen(width * band.share)
        left -= width
        if band.upto is not None:
            floor = fen(budget * band.upto)
        if left <= 0:
            break
    if gap > 0:
        return Sharing("surplus", amount, community=banded, fund=amount - banded)
    return Sharing("overspend", amount, community=amount - banded, fund=banded)
