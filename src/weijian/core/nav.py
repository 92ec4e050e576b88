"""The main navigation: each domain registers its pages here with the permission that shows them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from weijian.core.actor import Actor


@dataclass(frozen=True)
class NavItem:
    href: str
    label_key: str  # i18n key
    permission: str | tuple[str, ...] | None  # None: every logged-in user; a tuple: any one of them
    order: int = 100


_ITEMS: list[NavItem] = []


def register(href: str, label_key: str, permission: str | tuple[str, ...] | None = None, order: int = 100) -> None:
    if not any(i.href == href for i in _ITEMS):
        _ITEMS.append(NavItem(href, label_key, permission, order))


def items_for(actor: Actor | None, current_path: str = "") -> list[dict[str, Any]]:
    """The entries an actor may see, in order, with the one for the current page marked active."""
    if actor is None:
        return []
    out = []
    for item in sorted(_ITEMS, key=lambda i: (i.order, i.href)):
        wanted = (item.permission,) if isinstance(item.permission, str) else item.permission
        if wanted is None or any(actor.can(p) for p in wanted):
            active = current_path == item.href or (item.href != "/" and current_path.startswith(item.href))
            out.append({"href": item.href, "label": item.label_key, "active": active})
    return out
