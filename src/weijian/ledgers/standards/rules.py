"""The checklists of the facility standards as data (data/standards.yaml), read and validated at first use
(`rules()`): for each standard, the facility types it applies to and its items, each with the evidence
looked at and whether it is required."""
from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from weijian.core.errors import RulesInvalid

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "standards.yaml"
FACILITY_TYPES = ("county_general", "county_tcm", "county_mch", "township_centre", "community_centre",
                  "village_clinic", "cdc", "other")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Label(_Strict):
    zh: Annotated[str, Field(min_length=1)]
    en: Annotated[str, Field(min_length=1)]

    def text(self, locale: str) -> str:
        return self.en if locale == "en" else self.zh


class Item(Label):
    code: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
    evidence: Label
    required: bool


class Standard(Label):
    facility_types: Annotated[tuple[str, ...], Field(min_length=1)]
    items: Annotated[tuple[Item, ...], Field(min_length=1)]

    def item(self, code: str) -> Item | None:
        return next((i for i in self.items if i.code == code), None)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(i.code for i in self.items if i.required)


class StandardsFile(_Strict):
    version: int
    standards: Annotated[dict[str, Standard], Field(min_length=1)]


def load(path: Path = DATA_FILE) -> StandardsFile:
    """Read and validate the file: item codes unique within a standard, facility types known, at least one
    required item (a standard nobody can fail is no standard)."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    try:
        parsed = StandardsFile.model_validate(raw)
    except ValidationError as exc:
        raise RulesInvalid.from_validation(exc, source=path.name) from None
    for code, std in parsed.standards.items():
        codes = [i.code for i in std.items]
        if len(codes) != len(set(codes)):
            raise RulesInvalid.one(path.name, f"standards.{code}.items", "item codes repeat")
        odd = [t for t in std.facility_types if t not in FACILITY_TYPES]
        if odd:
            raise RulesInvalid.one(path.name, f"standards.{code}.facility_types", f"unknown type {odd[0]}")
        if not std.required:
            raise RulesInvalid.one(path.name, f"standards.{code}.items", "no required item")
    return parsed


@cache
def rules() -> StandardsFile:
    """data/standards.yaml, read once."""
    return load()
