"""序时进度 (progress against the calendar, issue 18 part 2) as a pure function, and the projects' data file
(data/projects.yaml: categories, units, the default tolerance).

The rule, exactly as the issue states it:
- expected share = elapsed days ÷ total days, both counted inclusively: total = end − start + 1, elapsed =
  as_of − start + 1, clamped to 0 before the start and to the total after the end;
- actual share = done ÷ target;
- behind when actual < expected − tolerance, ahead when actual > expected + tolerance, else on_track — so a
  share exactly at expected ± tolerance is on_track (the comparisons are strict, in exact fractions);
- colours: behind red, on_track amber when actual < expected (a little behind the calendar, within the
  tolerance) and green otherwise, ahead green. The amber band is weijian's reading (the reports name the
  three colours, not their limits; VERIFY in data/projects.yaml).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from weijian.core.errors import InvalidInput, RulesInvalid

DATA_FILE = Path(__file__).resolve().parent / "data" / "projects.yaml"
STATUSES = ("behind", "on_track", "ahead")
DEFAULT_TOLERANCE = Decimal("0.05")
_E = "ledgers.projects.errors."
Number = Decimal | int | Fraction | str


@dataclass(frozen=True)
class Progress:
    """One project's 序时进度 on a day. Shares and expected_done as exact fractions; `rounded()` for display."""

    total_days: int
    elapsed_days: int
    expected_share: Fraction
    actual_share: Fraction
    expected_done: Fraction
    status: str  # behind | on_track | ahead
    colour: str  # red | amber | green

    def rounded(self) -> dict[str, object]:
        """The CLI's and the API's answer: shares rounded to 4 places, expected_done to 2."""
        return {"expected_share": round4(self.expected_share), "actual_share": round4(self.actual_share),
                "expected_done": float(_quantize(self.expected_done, "0.01")), "status": self.status}


def _quantize(value: Fraction, places: str) -> Decimal:
    # Exact half-up rounding of a fraction (Decimal division of numerator by denominator at a wide precision
    # would round twice).
    step = Decimal(places)
    scale = Fraction(1) / Fraction(step)
    scaled = value * scale
    whole = scaled.numerator // scaled.denominator
    if (scaled - whole) * 2 >= 1:
        whole += 1
    return (Decimal(whole) * step).quantize(step)


def round4(value: Fraction) -> float:
    return float(_quantize(value, "0.0001"))


def _fraction(value: Number) -> Fraction:
    return value if isinstance(value, Fraction) else Fraction(str(value))


def check_dates(start: date | None, end: date | None) -> None:
    """A project ending before it starts: refused naming ends_on."""
    if start is not None and end is not None and end < start:
        raise InvalidInput("ends_on", _E + "end_before_start", start=start.isoformat())


def progress(*, start: date, end: date, target: Number, done: Number, as_of: date,
             tolerance: Number = DEFAULT_TOLERANCE) -> Progress:
    """序时进度 of `done` against `target` on `as_of` (module docstring). Refused naming the field: an end
    before the start (ends_on), a target not above 0 (target), done below 0 (done), a tolerance outside
    0–1 (tolerance)."""
    check_dates(start, end)
    tgt, got, tol = _fraction(target), _fraction(done), _fraction(tolerance)
    if tgt <= 0:
        raise InvalidInput("target", _E + "target_not_positive")
    if got < 0:
        raise InvalidInput("done", _E + "done_negative")
    if not 0 <= tol < 1:
        raise InvalidInput("tolerance", _E + "tolerance_range")
    total = (end - start).days + 1
    elapsed = min(max((as_of - start).days + 1, 0), total)
    expected = Fraction(elapsed, total)
    actual = got / tgt
    if actual < expected - tol:
        status, colour = "behind", "red"
    elif actual > expected + tol:
        status, colour = "ahead", "green"
    else:
        status, colour = "on_track", "amber" if actual < expected else "green"
    return Progress(total, elapsed, expected, actual, expected * tgt, status, colour)


# --- the data file ----------------------------------------------------------------------------------
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Label(_Strict):
    zh: Annotated[str, Field(min_length=1)]
    en: Annotated[str, Field(min_length=1)]

    def text(self, locale: str) -> str:
        return self.en if locale == "en" else self.zh


class ProjectRules(_Strict):
    version: int
    default_tolerance: Annotated[Decimal, Field(ge=0, lt=1)]
    categories: Annotated[dict[str, Label], Field(min_length=1)]
    units: Annotated[dict[str, Label], Field(min_length=1)]


def load(path: Path = DATA_FILE) -> ProjectRules:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    try:
        return ProjectRules.model_validate(raw)
    except ValidationError as exc:
        raise RulesInvalid.from_validation(exc, source=path.name) from None


@cache
def rules() -> ProjectRules:
    """data/projects.yaml, read once."""
    return load()
