"""The main navigation: each domain's pages module declares its entries (`NAV`, with the permission that
shows each), and the composition root (weijian.wiring) adds them here at start."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from weijian.core.actor import Actor
from weijian.core.hooks import NotWired


@dataclass(frozen=True)
class NavItem:
    href: str
    label_key: str  # i18n key
    permission: str | tuple[str, ...] | None  # None: every logged-in user; a tuple: any one of them
    order: int = 100


_ITEMS: list[NavItem] = []


def add(*items: NavItem) -> None:
    """Add entries; an entry for a page already there is left as it is (one entry per page)."""
    for item in items:
        if not any(i.href == item.href for i in _ITEMS):
            _ITEMS.append(item)


def register(href: str, label_key: str, permission: str | tuple[str, ...] | None = None, order: int = 100) -> None:
    add(NavItem(href, label_key, permission, order))


def items() -> tuple[NavItem, ...]:
    return tuple(_ITEMS)


def items_for(actor: Actor | None, current_path: str = "") -> list[dict[str, Any]]:
    """The entries an actor may see, in order, with the one for the current page marked active."""
    if actor is None:
        return []
    if not _ITEMS:
        raise NotWired("core.nav: no entry added: weijian.wiring.wire() was not called")
    out = []
    for item in sorted(_ITEMS, key=lambda i: (i.order, i.href)):
        wanted = (item.permission,) if isinstance(item.permission, str) else item.permission
        if wanted is None or any(actor.can(p) for p in wanted):
            active = current_path == item.href or (item.href != "/" and current_path.startswith(item.href))
            out.append({"href": item.href, "label": item.label_key, "active": active})
    return out
