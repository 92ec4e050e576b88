"""The emergency data file (data/emergency.yaml): grades I–IV, kinds of event, the reporting limit
(突发公共卫生事件应急条例 Art. 20: 2 hours) and the days before expiry that flag a reserve item."""
from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from weijian.core.errors import RulesInvalid

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "emergency.yaml"
GRADES = ("I", "II", "III", "IV")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Label(_Strict):
    zh: Annotated[str, Field(min_length=1)]
    en: Annotated[str, Field(min_length=1)]

    def text(self, locale: str) -> str:
        return self.en if locale == "en" else self.zh


class EmergencyRules(_Strict):
    version: int
    report_limit_hours: Annotated[int, Field(ge=1, le=72)]
    expiring_days: Annotated[int, Field(ge=1, le=3650)]
    grades: dict[str, Label]
    kinds: Annotated[dict[str, Label], Field(min_length=1)]


def load(path: Path = DATA_FILE) -> EmergencyRules:
    """Read and validate the file (RulesInvalid naming each bad key path); the grades are exactly I–IV."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    try:
        parsed = EmergencyRules.model_validate(raw)
    except ValidationError as exc:
        raise RulesInvalid.from_validation(exc, source=path.name) from None
    if tuple(parsed.grades) != GRADES:
        raise RulesInvalid.one(path.name, "grades", "the grades are I, II, III and IV, in that order")
    return parsed


@cache
def rules() -> EmergencyRules:
    """data/emergency.yaml, read once."""
    return load()
