"""The equipment registry's data file (data/equipment.yaml): device kinds, the place types (and which are
public places), inspection results and the days before an expiry that flag a device, read once."""
from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from weijian.core.errors import RulesInvalid

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "equipment.yaml"
RESULTS = ("working", "expired_parts", "missing")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Label(_Strict):
    zh: Annotated[str, Field(min_length=1)]
    en: Annotated[str, Field(min_length=1)]

    def text(self, locale: str) -> str:
        return self.en if locale == "en" else self.zh


class PlaceType(Label):
    public: bool


class EquipmentRules(_Strict):
    version: int
    expiring_days: Annotated[int, Field(ge=1, le=365)]
    kinds: Annotated[dict[str, Label], Field(min_length=1)]
    place_types: Annotated[dict[str, PlaceType], Field(min_length=1)]
    results: dict[str, Label]

    @property
    def public_places(self) -> tuple[str, ...]:
        return tuple(code for code, p in self.place_types.items() if p.public)


def load(path: Path = DATA_FILE) -> EquipmentRules:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    try:
        parsed = EquipmentRules.model_validate(raw)
    except ValidationError as exc:
        raise RulesInvalid.from_validation(exc, source=path.name) from None
    if tuple(parsed.results) != RESULTS:
        raise RulesInvalid.one(path.name, "results", "the results are working, expired_parts and missing")
    return parsed


@cache
def rules() -> EquipmentRules:
    """data/equipment.yaml, read once."""
    return load()
