"""Typed commands: the strict pydantic models every write takes (STYLE 14), and the one mapping from a
pydantic validation error to weijian's field errors (an i18n key, its parameters, the field's dotted path).

The API gets a command from FastAPI (the body parameter); a page builds it from its form with
`core.web.form_command`; the CLI and the demo with `build`. All three refuse a bad value the same way:
`InvalidInput` naming each field, in the user's language. Checks that need the database or several fields
stay in the service (`ErrorCollector`).

A validator that refuses with a domain's own reason raises `refuse("care.referrals.errors.direction", …)`:
the error's type is the i18n key, so the form and the API show the domain's words, not pydantic's.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from weijian.core.bounds import MAX_DATE, MIN_DATE, text_problem
from weijian.core.errors import FieldError, InvalidInput

C = TypeVar("C", bound=BaseModel)

_LOCATIONS = ("body", "query", "path", "form", "header", "cookie")
_PREFIX = "core.errors.validation."
# pydantic's types that weijian words otherwise (the same refusal core.bounds gives, whichever layer finds it).
_ALIASES = {"string_unicode": "text_invalid_character", "finite_number": "decimal_parsing",
            "decimal_type": "decimal_parsing"}


def refuse(reason_key: str, **params: Any) -> PydanticCustomError:
    """A validation error carrying a weijian reason key (raise it inside a validator)."""
    return PydanticCustomError(reason_key, reason_key, params)


def _blank(value: Any) -> bool:
    return isinstance(value, str) and not value.strip()


class Command(BaseModel):
    """Base of every command model: unknown fields refused, text stripped, blank text is no value (a blank
    required field is `missing`, a blank optional one takes its default), and every text value within the
    bounds of `core.bounds` for its field name (length, control characters, lone surrogates)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _blank_is_no_value(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            return {k: v for k, v in data.items() if not _blank(v)}
        return data

    @field_validator("*", mode="after")
    @classmethod
    def _text_in_bounds(cls, value: Any, info: ValidationInfo) -> Any:
        name = info.field_name or ""
        items = value if isinstance(value, (list, tuple)) else [value]
        for item in items:
            if isinstance(item, str):
                problem = text_problem(name, item)
                if problem:
                    raise refuse(problem[0], **problem[1])
        return value


# --- common value types ----------------------------------------------------------------------------
MAX_MONEY = Decimal("9999999999.99")  # Numeric(12, 2)
FEN = Decimal("0.01")


def _money(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise refuse(_PREFIX + "decimal_parsing")
    if value < 0:
        raise refuse(_PREFIX + "money_negative")
    if value > MAX_MONEY:
        raise refuse(_PREFIX + "less_than_equal", le=str(MAX_MONEY))
    if value != value.quantize(FEN):
        raise refuse(_PREFIX + "money_fen")
    return value.quantize(FEN)


def _thousands(value: Any) -> Any:
    return value.strip().replace(",", "") if isinstance(value, str) else value


# An amount in yuan, to the fen, 0 … 9,999,999,999.99 ("1,234.50" accepted from a form).
Money = Annotated[Decimal, BeforeValidator(_thousands), AfterValidator(_money)]


# --- validation errors → field errors -----------------------------------------------------------------
def field_name(loc: Sequence[int | str]) -> str:
    """The dotted field path of a pydantic error location, without FastAPI's `body`/`query`/… head."""
    parts = [str(p) for p in loc if p not in _LOCATIONS]
    return ".".join(parts) or "body"


def field_errors(errors: Sequence[Mapping[str, Any]]) -> list[FieldError]:
    """pydantic's errors as FieldErrors: a type that is a weijian key (it has a dot) is used as it is; a
    pydantic type maps to `core.errors.validation.<type>`; one without words becomes `…other`."""
    from weijian.core.i18n import catalog

    known = set(catalog("zh_CN"))
    out: list[FieldError] = []
    for err in errors:
        kind = str(err.get("type", "value_error"))
        key = kind if "." in kind else _PREFIX + _ALIASES.get(kind, kind)
        ctx = {k: (str(v) if isinstance(v, Decimal) else v) for k, v in (err.get("ctx") or {}).items()
               if isinstance(v, (str, int, float, Decimal)) and not isinstance(v, bool)}
        if key not in known:
            key, ctx = _PREFIX + "other", {"detail": str(err.get("msg", ""))}
        out.append(FieldError(field_name(tuple(err.get("loc", ()))), key, ctx))
    return out


def build(model: type[C], data: Mapping[str, Any] | None = None, /, **extra: Any) -> C:
    """A command from plain values (a form's, the CLI's, a spreadsheet row's), or InvalidInput naming each
    bad field. `extra` (a path parameter, say) wins over `data`."""
    try:
        return model.model_validate({**(data or {}), **extra})
    except ValidationError as exc:
        raise InvalidInput(errors=field_errors(exc.errors())) from None


__all__ = ["Command", "FEN", "MAX_DATE", "MAX_MONEY", "MIN_DATE", "Money", "build", "field_errors", "field_name",
           "refuse"]
