"""The hazard ledger's data file (data/hazards.yaml): inspection categories, severities, the photo limits;
and the one check of a photo's bytes (its type is read from its first bytes, never from its name or the
type the browser claims)."""
from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from weijian.core.errors import InvalidInput, RulesInvalid

DATA_FILE = Path(__file__).resolve().parent / "data" / "hazards.yaml"
_E = "ledgers.hazards.errors."


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Label(_Strict):
    zh: Annotated[str, Field(min_length=1)]
    en: Annotated[str, Field(min_length=1)]

    def text(self, locale: str) -> str:
        return self.en if locale == "en" else self.zh


class HazardRules(_Strict):
    version: int
    photo_max_bytes: Annotated[int, Field(ge=1024, le=50 * 1024 * 1024)]
    photos_per_upload: Annotated[int, Field(ge=1, le=20)]
    categories: Annotated[dict[str, Label], Field(min_length=1)]
    severities: Annotated[dict[str, Label], Field(min_length=1)]


def load(path: Path = DATA_FILE) -> HazardRules:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    try:
        return HazardRules.model_validate(raw)
    except ValidationError as exc:
        raise RulesInvalid.from_validation(exc, source=path.name) from None


@cache
def rules() -> HazardRules:
    """data/hazards.yaml, read once."""
    return load()


# The image formats a phone or a camera gives, by their signatures (the first bytes of the file).
_SIGNATURES = ((b"\xff\xd8\xff", "image/jpeg", "jpg"), (b"\x89PNG\r\n\x1a\n", "image/png", "png"))


def image_type(content: bytes) -> tuple[str, str] | None:
    """(content type, extension) of a JPEG, PNG or WebP file read from its bytes; None for anything else."""
    for magic, ctype, ext in _SIGNATURES:
        if content.startswith(magic):
            return ctype, ext
    if len(content) >= 12 and content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp", "webp"
    return None


def check_photo(content: bytes, field: str = "photos", *, size: int | None = None) -> tuple[str, str]:
    """The photo's (content type, extension), or refused naming the field: empty, over the size limit, or not
    an image by its bytes."""
    limit = rules().photo_max_bytes
    size = max(size or 0, len(content))
    if not content:
        raise InvalidInput(field, _E + "photo_empty")
    if size > limit:
        raise InvalidInput(field, _E + "photo_too_big", size=f"{size / 1048576:.1f}",
                           limit=f"{limit / 1048576:.0f}")
    kind = image_type(content)
    if kind is None:
        raise InvalidInput(field, _E + "photo_not_image")
    return kind
