"""Translation layer: message catalogs in YAML beside each domain (`<domain>/locales/<locale>.yaml`,
and optionally `<domain>/locales/<area>.<locale>.yaml`).

Keys are dotted paths (`residents.errors.duplicate_id_number`); values use `{name}` placeholders.
zh_CN is the default locale; en is the second. A missing key falls back to zh_CN, then to the key.
"""
from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def _flatten(prefix: str, node: Any, out: dict[str, str]) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out[prefix] = str(node)


@cache
def catalog(locale: str) -> dict[str, str]:
    """All messages of one locale, from every domain's locales folder."""
    messages: dict[str, str] = {}
    # A domain may split its catalog by area: `<domain>/locales/<area>.<locale>.yaml`.
    paths = [*PACKAGE_ROOT.glob(f"*/locales/{locale}.yaml"), *PACKAGE_ROOT.glob(f"*/locales/*.{locale}.yaml")]
    for path in sorted(paths):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        flat: dict[str, str] = {}
        _flatten("", data, flat)
        # Shared keys (e.g. `fields.name`) may repeat across domains only with the same text.
        clash = sorted(k for k in set(flat) & set(messages) if flat[k] != messages[k])
        if clash:
            raise ValueError(f"{path}: message keys defined twice with different text: {clash[:5]}")
        messages.update(flat)
    return messages


def normalize_locale(value: str | None) -> str:
    if not value:
        return DEFAULT_LOCALE
    v = value.replace("-", "_").lower()
    if v.startswith("en"):
        return "en"
    return DEFAULT_LOCALE


def translate(key: str, locale: str = DEFAULT_LOCALE, **params: Any) -> str:
    text = catalog(locale).get(key) or catalog(DEFAULT_LOCALE).get(key) or key
    if params:
        try:
            return text.format(**{k: _param(v, locale) for k, v in params.items()})
        except (KeyError, IndexError, ValueError):
            return text
    return text


def _param(value: Any, locale: str) -> Any:
    # A parameter that is itself a message key (e.g. a field name) is translated too.
    if isinstance(value, str) and value.startswith("@"):
        return translate(value[1:], locale)
    return value


class Translator:
    """Bound to one locale; templates get it as `_`."""

    def __init__(self, locale: str) -> None:
        self.locale = normalize_locale(locale)

    def __call__(self, key: str, **params: Any) -> str:
        return translate(key, self.locale, **params)

    def field(self, name: str) -> str:
        """A field's label: `fields.<name>`, or the raw name when none is defined."""
        return translate(f"fields.{name}", self.locale) if f"fields.{name}" in catalog(self.locale) else name

    def code(self, prefix: str, code: str | None) -> str:
        """The label of a code (`<prefix>.<code>`), or the code itself when it has none ("" for None)."""
        key = f"{prefix}.{code}"
        return translate(key, self.locale) if code and key in catalog(self.locale) else (code or "")
