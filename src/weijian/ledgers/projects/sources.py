"""Computed progress sources of practical projects: a project whose `source` is `kind:argument` takes its
figure done from the function registered for `kind`, called as `fn(session=…, argument=…, as_of=…)` and
answering the number done on that day (int or Decimal), or None when it cannot say.

Built in: `indicator:<indicator id>` (the indicator's county value for the year of the day, from the
indicator file). Other areas register their kinds from the composition root (wiring), e.g. the facility
standards' `standard:<standard code>` (facilities meeting that standard on the day)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Protocol

from sqlalchemy.orm import Session

from weijian.core.errors import InvalidInput


class Source(Protocol):
    def __call__(self, *, session: Session, argument: str, as_of: date) -> int | Decimal | None: ...


_SOURCES: dict[str, Source] = {}
_CHECKS: dict[str, Callable[[str], bool]] = {}
_E = "ledgers.projects.errors."


def register_source(kind: str, fn: Source, *, known: Callable[[str], bool] | None = None) -> None:
    """Register (again: replaced) the source of `kind`; `known(argument)` says whether an argument names
    something the source knows (checked when a project is saved; none: any argument)."""
    if not kind or ":" in kind:
        raise ValueError(f"a source kind is a word without a colon: {kind!r}")
    _SOURCES[kind] = fn
    if known is not None:
        _CHECKS[kind] = known


def source_kinds() -> tuple[str, ...]:
    return tuple(sorted(_SOURCES))


def split(source: str) -> tuple[str, str]:
    kind, _, argument = source.partition(":")
    return kind, argument


def check(source: str, field: str = "source") -> None:
    """Refused naming the field: an unregistered kind, or an argument the kind does not know."""
    kind, argument = split(source)
    if kind not in _SOURCES:
        raise InvalidInput(field, _E + "source_unknown", value=source, known=", ".join(source_kinds()))
    known = _CHECKS.get(kind)
    if known is not None and not known(argument):
        raise InvalidInput(field, _E + "source_argument_unknown", value=argument, kind=kind)


def done(*, session: Session, source: str, as_of: date) -> Decimal | None:
    """The figure done of a computed project on the day (None: the source has nothing)."""
    kind, argument = split(source)
    fn = _SOURCES.get(kind)
    if fn is None:
        return None
    got = fn(session=session, argument=argument, as_of=as_of)
    return None if got is None else Decimal(got)
