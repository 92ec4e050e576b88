"""Hooks: a place where a lower layer calls code of a higher one without importing it. The lower module
declares the hook (its name and the call it makes); the composition root (`weijian.wiring`) provides the
implementation at start, and a hook called before that fails loudly instead of skipping its work.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class NotWired(RuntimeError):
    """A hook or registry was used before the composition root provided it: call `weijian.wiring.wire()`
    at start (create_app and the CLI do; so do the test fixtures)."""


class Hook(Generic[F]):
    """One implementation, provided once by the composition root."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._impl: F | None = None

    def provide(self, impl: F) -> None:
        """Set the implementation; the same one again is a no-op, another one a programming error (two
        roots, or a module wiring itself)."""
        if self._impl is not None and self._impl is not impl:
            raise RuntimeError(f"hook {self.name!r} is already provided by {self._impl!r}")
        self._impl = impl

    @property
    def provided(self) -> bool:
        return self._impl is not None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._impl is None:
            raise NotWired(f"hook {self.name!r} has no implementation: weijian.wiring.wire() was not called")
        return self._impl(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Hook({self.name!r}, provided={self.provided})"
