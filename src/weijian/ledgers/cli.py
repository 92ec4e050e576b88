"""The ledgers domain's commands: each area's Typer app, registered by the top-level CLI under its own name
(`weijian projects …`; the other areas of issue 18 add theirs here)."""
from __future__ import annotations

from weijian.ledgers.projects.cli import app as projects_app

# name → Typer app, added to `weijian` by weijian.cli.
APPS = {"projects": projects_app}
