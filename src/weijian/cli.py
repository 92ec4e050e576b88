"""The `weijian` command: one Typer app; each domain adds its sub-commands from its own cli.py. Every command
starts by wiring the domains (weijian.wiring), as the web application does."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from weijian import wiring
from weijian.accounts import cli as accounts_cli
from weijian.care.childcare import cli as childcare_cli
from weijian.care.contracts import cli as contracts_cli
from weijian.care.education import cli as education_cli
from weijian.care.elderly import cli as elderly_cli
from weijian.care.maternal import cli as maternal_cli
from weijian.care.mental import cli as mental_cli
from weijian.care.referrals import cli as referrals_cli
from weijian.core.settings import Settings
from weijian.demo import cli as demo_cli
from weijian.immunization import cli as immunization_cli
from weijian.indicators import cli as indicators_cli
from weijian.ledgers import cli as ledgers_cli
from weijian.ledgers.blood import cli as blood_cli
from weijian.orgunits import cli as orgunits_cli
from weijian.residents import cli as residents_cli
from weijian.settlement import cli as settlement_cli
from weijian.surveillance import cli as surveillance_cli

if TYPE_CHECKING:
    from weijian.core.backup import BackupRefused

app = typer.Typer(help="卫健 weijian: county health platform", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database schema (Alembic migrations)", no_args_is_help=True)
app.add_typer(db_app, name="db")


@app.callback()
def _start() -> None:
    """Every command runs wired (its sessions keep the running tallies, a discharge settles) and its "today"
    is the county's (WEIJIAN_TIMEZONE)."""
    from weijian.core import clock

    wiring.wire()
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


def _backup_failed(exc: BackupRefused) -> None:
    from weijian.core.i18n import Translator

    typer.echo(Translator(Settings().default_locale)(exc.message_key, **exc.params), err=True)
    raise typer.Exit(1)


@db_app.command("backup")
def db_backup(path: Path = typer.Argument(..., help="the backup file to write (must not exist)")) -> None:
    """Back up the whole database to PATH while the server runs (SQLite: online backup API; PostgreSQL:
    pg_dump -Fc), with PATH.sha256 beside it. The key files are not in it: keep them apart."""
    from weijian.core import backup
    from weijian.core.i18n import Translator

    settings = Settings()
    try:
        done = backup.backup(settings, path)
    except backup.BackupRefused as exc:
        _backup_failed(exc)
    typer.echo(Translator(settings.default_locale)("core.backup.written", path=str(done.path), size=done.size,
                                                   sha256=done.sha256))


@db_app.command("restore")
def db_restore(path: Path = typer.Argument(..., help="a file written by `weijian db backup`")) -> None:
    """Restore a backup into the (empty) database of WEIJIAN_DATABASE_URL; a database with tables is refused.
    Then run `weijian db verify` (with the audit key of the installation the backup came from)."""
    from weijian.core import backup
    from weijian.core.db import make_engine
    from weijian.core.i18n import Translator

    settings = Settings()
    try:
        backup.restore(settings, make_engine(settings), path)
    except backup.BackupRefused as exc:
        _backup_failed(exc)
    typer.echo(Translator(settings.default_locale)("core.backup.restored", path=str(path),
                                                   database=backup.describe(settings)))


@db_app.command("verify")
def db_verify(expect: str | None = typer.Option(
        None, "--expect", help="POSITION:HASH of an audit chain head recorded earlier (see `weijian audit verify`)")
) -> None:
    """Check the database: schema version at the newest migration, rows of every table (printed), the audit
    chain intact. Exit 1 on any problem."""
    from weijian.accounts import audit_chain
    from weijian.all_models import metadata
    from weijian.core import backup
    from weijian.core.db import make_engine, read_engine
    from weijian.core.i18n import Translator

    settings = Settings()
    tr = Translator(settings.default_locale)
    anchor = accounts_cli.parse_expect(expect, tr)
    engine = make_engine(settings)
    ok = True
    # One snapshot for the counts and the chain, without the write lock (a read unit): the server runs on.
    with read_engine(engine).connect() as conn, conn.begin():
        rep = backup.report(conn, metadata)
        typer.echo(tr("core.backup.schema", database=backup.describe(settings), revision=rep.revision or "-",
                      head=rep.head))
        for name, count in rep.counts.items():
            typer.echo(f"{name}\t{count}")
        if rep.revision != rep.head:
            ok = False
            typer.echo(tr("core.backup.not_at_head", revision=rep.revision or "-", head=rep.head), err=True)
        if rep.missing:
            ok = False
            typer.echo(tr("core.backup.tables_missing", tables=", ".join(rep.missing)), err=True)
        if rep.integrity not in (None, "ok"):
            ok = False
            typer.echo(tr("core.backup.integrity", result=rep.integrity), err=True)
        if "audit_events" in rep.counts and "audit_chain_head" in rep.counts:
            result = audit_chain.verify(conn, expect=anchor)
            accounts_cli.print_verification(result, tr)
            ok = ok and result.ok
    engine.dispose()
    typer.echo(tr("core.backup.verified" if ok else "core.backup.verify_failed"), err=not ok)
    if not ok:
        raise typer.Exit(1)


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
    """Serve the web application and API (`--workers N`: N processes, each with its own connection pool)."""
    import uvicorn

    from weijian.core.serve import NoDelayH11Protocol

    # An import string, not the function: uvicorn needs one to start `--workers N` processes.
    uvicorn.run("weijian.app:create_app", factory=True, host=host, port=port, workers=workers,
                http=NoDelayH11Protocol, log_level="info")


# The domains' command groups and the demo's top-level commands.
app.add_typer(orgunits_cli.app, name="orgunits")
app.add_typer(accounts_cli.app, name="users")
app.add_typer(accounts_cli.audit_app, name="audit")
app.add_typer(residents_cli.app, name="residents")
app.add_typer(settlement_cli.app, name="settlement")
app.add_typer(referrals_cli.app, name="referrals")
app.add_typer(maternal_cli.app, name="maternal")
app.add_typer(elderly_cli.app, name="elderly")
app.add_typer(childcare_cli.app, name="childcare")
app.add_typer(contracts_cli.app, name="contracts")
app.add_typer(mental_cli.app, name="mental")
app.add_typer(education_cli.app, name="education")
app.add_typer(immunization_cli.app, name="immunization")
app.add_typer(indicators_cli.app, name="indicators")
app.add_typer(surveillance_cli.app, name="surveillance")
for _name, _app in ledgers_cli.APPS.items():
    app.add_typer(_app, name=_name)
app.add_typer(blood_cli.app, name="blood")
app.command("demo-data")(demo_cli.demo_data)
app.command("demo-logins")(demo_cli.demo_logins)

if __name__ == "__main__":
    app()
