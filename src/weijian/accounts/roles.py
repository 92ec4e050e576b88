"""Roles and their permissions (data/roles.yaml), loaded and validated at start."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

ROLES_FILE = Path(__file__).resolve().parent / "data" / "roles.yaml"


@lru_cache(maxsize=1)
def roles() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load(ROLES_FILE.read_text(encoding="utf-8"))
    out = {}
    for code, spec in data["roles"].items():
        if spec.get("scope_level") not in ("village", "township", "county"):
            raise ValueError(f"{ROLES_FILE}: roles.{code}.scope_level must be village, township or county")
        out[code] = {"scope_level": spec["scope_level"], "permissions": frozenset(spec["permissions"]),
                     "admin_role": bool(spec.get("admin_role", False))}
    return out


def admin_roles() -> frozenset[str]:
    """The separated administrator roles (三权分立): sysadmin, security_admin, audit_admin."""
    return frozenset(code for code, spec in roles().items() if spec["admin_role"])


def role_permissions(role: str) -> frozenset[str]:
    return roles()[role]["permissions"]
