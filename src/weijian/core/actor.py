"""Who is acting: a user's identity, role, permissions and org-unit scope, passed to every service.

Built by accounts (from a session cookie or an API token) or by the CLI (`Actor.system`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from weijian.core.errors import Forbidden


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    username: str
    role: str
    # 12-digit org-unit code the user may see (county, township or village); None: unrestricted.
    scope_code: str | None
    permissions: frozenset[str] = field(default_factory=frozenset)
    facility_id: int | None = None
    ip: str | None = None

    def can(self, permission: str) -> bool:
        return "*" in self.permissions or permission in self.permissions

    def require(self, permission: str) -> None:
        if not self.can(permission):
            raise Forbidden("core.errors.forbidden_permission", permission=permission)

    @classmethod
    def system(cls, name: str = "system", scope_code: str | None = None) -> Actor:
        """The CLI and background jobs: every permission, scope of the whole installation."""
        return cls(user_id=None, username=name, role="system", scope_code=scope_code,
                   permissions=frozenset({"*"}))
