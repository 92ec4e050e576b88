"""The master index's vocabularies: special groups (data/groups.yaml, with the spellings counties use),
sexes, insurance schemes and relations to the householder, each with the aliases rosters and forms write;
the readings of surnames (data/surnames.yaml) that a name's pinyin keys start with."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, get_args

import yaml

GROUPS_FILE = Path(__file__).resolve().parent / "data" / "groups.yaml"
SURNAMES_FILE = Path(__file__).resolve().parent / "data" / "surnames.yaml"

Sex = Literal["male", "female"]
Scheme = Literal["resident", "employee", "none"]
Relation = Literal["head", "spouse", "son", "daughter", "parent", "grandchild", "sibling", "son_in_law",
                   "daughter_in_law", "grandparent", "other"]
SEXES: tuple[str, ...] = get_args(Sex)
SCHEMES: tuple[str, ...] = get_args(Scheme)
RELATIONS: tuple[str, ...] = get_args(Relation)

SEX_ALIASES = {"男": "male", "女": "female", "1": "male", "2": "female"}
SCHEME_ALIASES = {"城乡居民医保": "resident", "居民医保": "resident", "职工医保": "employee",
                  "城镇职工医保": "employee", "无": "none", "未参保": "none"}
_RELATION_ALIASES = {
    "户主": "head", "本人": "head", "配偶": "spouse", "妻": "spouse", "夫": "spouse", "妻子": "spouse",
    "丈夫": "spouse", "子": "son", "儿子": "son", "长子": "son", "次子": "son", "女": "daughter",
    "女儿": "daughter", "长女": "daughter", "次女": "daughter", "父母": "parent", "父亲": "parent",
    "母亲": "parent", "父": "parent", "母": "parent", "孙子女": "grandchild", "孙子": "grandchild",
    "孙女": "grandchild", "外孙子": "grandchild", "外孙女": "grandchild", "兄弟姐妹": "sibling",
    "兄": "sibling", "弟": "sibling", "姐": "sibling", "妹": "sibling", "女婿": "son_in_law",
    "儿媳": "daughter_in_law", "媳妇": "daughter_in_law", "祖父母": "grandparent", "祖父": "grandparent",
    "祖母": "grandparent", "其他": "other",
}


@lru_cache(maxsize=1)
def groups() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load(GROUPS_FILE.read_text(encoding="utf-8"))
    return dict(data["groups"])


@lru_cache(maxsize=1)
def _group_aliases() -> dict[str, str]:
    out: dict[str, str] = {}
    for code, spec in groups().items():
        out[code] = code
        out[spec["zh"]] = code
        for alias in spec.get("aliases", []):
            out[alias] = code
    return out


@lru_cache(maxsize=1)
def surname_readings() -> dict[str, tuple[str, ...]]:
    """Surname → its toneless syllables, one per character (data/surnames.yaml)."""
    data = yaml.safe_load(SURNAMES_FILE.read_text(encoding="utf-8"))
    out: dict[str, tuple[str, ...]] = {}
    for surname, syllables in data["surnames"].items():
        if len(syllables) != len(surname) or not all(str(s).isascii() and str(s).isalpha() for s in syllables):
            raise ValueError(f"{SURNAMES_FILE.name}: {surname}: one toneless syllable per character")
        out[str(surname)] = tuple(str(s) for s in syllables)
    return out


def surname_reading(name: str) -> tuple[int, tuple[str, ...]]:
    """(how many leading characters of `name` are a surname read as such, their syllables); (0, ()) when
    the name starts with no listed surname. A compound surname goes before its first character; a name
    with a separator dot (a transcribed minority or foreign name, 查干·巴特尔) has no Han surname to read."""
    if "·" in name or "•" in name:
        return 0, ()
    readings = surname_readings()
    for size in (2, 1):
        syllables = readings.get(name[:size])
        if syllables is not None and len(name) > size:
            return size, syllables
    return 0, ()


def group_code(label: str) -> str | None:
    """The group code for a code, its Chinese name or any alias counties use; None when unknown."""
    return _group_aliases().get((label or "").strip())


def relation_code(label: str) -> str | None:
    """The relation code for a code or its Chinese name (户主, 配偶, 长子 …); None when unknown."""
    label = label.strip()
    if label in RELATIONS:
        return label
    return _RELATION_ALIASES.get(label)


__all__ = ["GROUPS_FILE", "RELATIONS", "SCHEMES", "SCHEME_ALIASES", "SEXES", "SEX_ALIASES", "SURNAMES_FILE",
           "Relation", "Scheme", "Sex", "group_code", "groups", "relation_code", "surname_reading",
           "surname_readings"]
