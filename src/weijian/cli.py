"""The `weijian` command: one Typer app; each domain adds its sub-commands from its own cli.py."""
from __future__ import annotations

import importlib

import typer

from weijian.core.settings import Settings

app = typer.Typer(help="卫健 weijian: county health platform", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database schema (Alembic migrations)", no_args_is_help=True)
app.add_typer(db_app, name="db")


@app.callback()
def _county_clock() -> None:
    """Every command's "today" is the county's (WEIJIAN_TIMEZONE)."""
    from weijian.core import clock

    clock.configure(Settings().timezone)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Create or migrate the database schema to the latest revision."""
    from weijian.core.db import make_engine
    from weijian.core.migrate import upgrade

    settings = Settings()
    engine = make_engine(settings)
    upgrade(engine, revision)
    typer.echo(f"database at {revision}: {engine.url.render_as_string(hide_password=True)}")


@db_app.command("revision")
def db_revision(message: str = typer.Option(..., "-m", "--message")) -> None:
    """(developers) Autogenerate a migration from the models against the current database."""
    from alembic import command

    from weijian.core.db import make_engine
    from weijian.core.migrate import alembic_config

    cfg = alembic_config(make_engine(Settings()))
    command.revision(cfg, message=message, autogenerate=True)


@app.command("serve")
def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Serve the web application and API."""
    import uvicorn

    uvicorn.run("weijian.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level="info")


# Sub-command groups of the domains: (module, attribute, name). Missing modules are skipped.
SUBCOMMANDS = [
    ("weijian.orgunits.cli", "app", "orgunits"),
    ("weijian.accounts.cli", "app", "users"),
    ("weijian.accounts.cli", "audit_app", "audit"),
    ("weijian.residents.cli", "app", "residents"),
    ("weijian.settlement.cli", "app", "settlement"),
    ("weijian.immunization.cli", "app", "immunization"),
    ("weijian.indicators.cli", "app", "indicators"),
]
# Top-level commands contributed by modules: (module, function name, command name).
COMMANDS = [
    ("weijian.demo.cli", "demo_data", "demo-data"),
    ("weijian.demo.cli", "demo_logins", "demo-logins"),
]

for _module, _attr, _name in SUBCOMMANDS:
    try:
        app.add_typer(getattr(importlib.import_module(_module), _attr), name=_name)
    except ModuleNotFoundError as _exc:
        if _exc.name != _module:
            raise
for _module, _attr, _name in COMMANDS:
    try:
        app.command(_name)(getattr(importlib.import_module(_module), _attr))
    except ModuleNotFoundError as _exc:
        if _exc.name != _module:
            raise

if __name__ == "__main__":
    app()
