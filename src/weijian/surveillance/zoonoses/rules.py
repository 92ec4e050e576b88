"""The zoonoses data file (data/zoonoses.yaml): for each disease kept here, the exposure kinds and screening
methods, with their labels. Every disease must be on the notifiable list (rules.py), so a code cannot drift
from data/diseases.yaml."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from weijian.core.errors import RulesInvalid
from weijian.surveillance import rules as disease_rules

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "zoonoses.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Label(_Strict):
    zh: Annotated[str, Field(min_length=1)]
    en: Annotated[str, Field(min_length=1)]

    def text(self, locale: str) -> str:
        return self.en if locale == "en" else self.zh


class DiseaseEntry(_Strict):
    exposures: Annotated[dict[str, Label], Field(min_length=1)]
    methods: Annotated[dict[str, Label], Field(min_length=1)]


class ZoonosesFile(_Strict):
    version: int
    diseases: Annotated[dict[str, DiseaseEntry], Field(min_length=1)]


@dataclass(frozen=True, slots=True)
class Zoonoses:
    version: int
    diseases: dict[str, DiseaseEntry]

    def disease_name(self, code: str, locale: str) -> str:
        disease = next((d for d in disease_rules.disease_list().diseases if d.code == code), None)
        return disease.name(locale) if disease is not None else code


def load(path: Path = DATA_FILE) -> Zoonoses:
    """Read and validate the file (RulesInvalid naming each bad key path)."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    try:
        parsed = ZoonosesFile.model_validate(raw)
    except ValidationError as exc:
        raise RulesInvalid.from_validation(exc, source=path.name) from None
    known = {d.code for d in disease_rules.disease_list().diseases}
    unknown = sorted(set(parsed.diseases) - known)
    if unknown:
        raise RulesInvalid.one(path.name, f"diseases.{unknown[0]}", "not a code of data/diseases.yaml")
    return Zoonoses(parsed.version, dict(parsed.diseases))


@cache
def zoonoses() -> Zoonoses:
    """data/zoonoses.yaml, read once."""
    return load()
