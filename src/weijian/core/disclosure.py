"""What of a person's identifiers an answer may show to its actor: the one masking policy.

Without `resident:read_identity` an answer shows identity numbers as `421124********1793` (the address
code and the last four: the eight birth-date digits hidden), phone numbers as `139****8880`, and the
birth year instead of the birth date — a full birth date beside a masked number would give the number
back. With it, a record shows the full number and phone; lists still mask them (minimum necessary).
Every schema, template and export asks `disclosure_for(actor)`; templates use the filters installed
by `install_template_filters`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from jinja2 import Environment, pass_context
from jinja2.runtime import Context

from weijian.core.actor import Actor
from weijian.core.identifiers import mask_id_number, mask_phone

READ_IDENTITY = "resident:read_identity"


@dataclass(frozen=True)
class Disclosure:
    full: bool  # the actor may read identity numbers, phones and birth dates

    def id_number(self, value: str | None, *, listing: bool = False) -> str | None:
        if not value:
            return None
        return value if self.full and not listing else mask_id_number(value)

    def phone(self, value: str | None, *, listing: bool = False) -> str | None:
        if not value:
            return None
        return value if self.full and not listing else mask_phone(value)

    def birth_date(self, value: date | None) -> date | None:
        """The birth date, or None for an actor who sees masked numbers (show `birth_year` then)."""
        return value if self.full else None

    @staticmethod
    def birth_year(value: date | None) -> int | None:
        return value.year if value else None

    def birth_text(self, value: date | None) -> str:
        """For pages and exports: `1992-10-11`, or `1992` for an actor who sees masked numbers."""
        if value is None:
            return ""
        return value.isoformat() if self.full else str(value.year)


FULL = Disclosure(full=True)
MASKED = Disclosure(full=False)


def disclosure_for(actor: Actor | None) -> Disclosure:
    return FULL if actor is not None and actor.can(READ_IDENTITY) else MASKED


def _ctx_disclosure(ctx: Context) -> Disclosure:
    return disclosure_for(ctx.get("actor"))


@pass_context
def _id_shown(ctx: Context, value: str | None) -> str:
    """A record's identity number: full for an actor with resident:read_identity, masked otherwise."""
    return _ctx_disclosure(ctx).id_number(value) or ""


@pass_context
def _phone_shown(ctx: Context, value: str | None) -> str:
    return _ctx_disclosure(ctx).phone(value) or ""


@pass_context
def _birth_shown(ctx: Context, value: date | None) -> str:
    return _ctx_disclosure(ctx).birth_text(value)


def install_template_filters(env: Environment) -> None:
    """`mask_id` / `mask_phone`: always masked (lists); `id_shown`, `phone_shown`, `birth_shown`: per the
    actor in the page's context."""
    env.filters["mask_id"] = lambda v: mask_id_number(v)
    env.filters["mask_phone"] = lambda v: mask_phone(v)
    env.filters["id_shown"] = _id_shown
    env.filters["phone_shown"] = _phone_shown
    env.filters["birth_shown"] = _birth_shown
