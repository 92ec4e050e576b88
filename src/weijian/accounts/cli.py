"""`weijian users ...`: add, list, reset passwords of and deactivate users from the server's shell.

Commands act as the system actor (every permission, whole installation) and are audited as such.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer
from sqlalchemy.orm import Session, sessionmaker

from weijian.accounts import service as accounts_service
from weijian.accounts.models import User
from weijian.accounts.schemas import UserCreate
from weijian.core.actor import Actor
from weijian.core.commands import build
from weijian.core.db import settings_sessionmaker
from weijian.core.errors import DomainError, InvalidInput
from weijian.core.i18n import Translator
from weijian.core.settings import Settings

if TYPE_CHECKING:
    from weijian.accounts.audit_chain import Verification

app = typer.Typer(help="Users: add, list, reset passwords, deactivate, lift log-in locks", no_args_is_help=True)

CLI_ACTOR = "cli"


_sessionmaker = settings_sessionmaker  # tests replace it with their own transaction's


def _read_sessionmaker() -> sessionmaker[Session]:
    # Read-unit sessions on the WEIJIAN_* database (tests replace it).
    from weijian.core.db import make_engine, make_read_sessionmaker

    return make_read_sessionmaker(make_engine(Settings()))


def _tr() -> Translator:
    return Translator(Settings().default_locale)


@contextmanager
def _unit_of_work() -> Iterator[Session]:
    """One transaction; a domain error is printed (translated) and exits with status 1."""
    from weijian.core.db import unit_of_work

    tr = _tr()
    try:
        with unit_of_work(_sessionmaker()) as session:
            yield session
    except InvalidInput as exc:
        for e in exc.errors:
            typer.echo(f"{tr.field(e.field)}: {tr(e.reason_key, **e.params)}", err=True)
        raise typer.Exit(1) from None
    except DomainError as exc:
        typer.echo(tr(exc.message_key, **exc.params), err=True)
        raise typer.Exit(1) from None


def _user_by_name(session: Session, username: str) -> User:
    user = accounts_service.get_by_username(session=session, username=username)
    if user is None:
        typer.echo(_tr()("accounts.cli.user_unknown", username=username), err=True)
        raise typer.Exit(1)
    return user


@app.command("add")
def add(
    username: str = typer.Argument(..., help="log-in name"),
    role: str = typer.Option(..., "--role", help="village_doctor | township_doctor | county_doctor | "
                                                  "bureau_admin | cdc_staff | sysadmin | security_admin | audit_admin"),
    orgunit: str = typer.Option(..., "--orgunit", help="12-digit code of the org unit the user is scoped to"),
    password: str | None = typer.Option(None, "--password", help="asked for (hidden) when left out"),
    full_name: str = typer.Option("", "--full-name"),
    phone: str | None = typer.Option(None, "--phone"),
) -> None:
    """Add a user."""
    tr = _tr()
    if password is None:
        password = typer.prompt(tr("accounts.cli.password_prompt"), hide_input=True, confirmation_prompt=True)
    with _unit_of_work() as session:
        user_in = build(UserCreate, {"username": username, "password": password, "full_name": full_name,
                                     "role": role, "orgunit_code": orgunit, "phone": phone})
        user = accounts_service.register_user(session=session, actor=Actor.system(CLI_ACTOR), user_in=user_in)
        typer.echo(tr("accounts.cli.created", username=user.username, role=tr(f"roles.{user.role}"),
                      orgunit=user.orgunit_code))


@app.command("list")
def list_users() -> None:
    """List users: username, role, org unit, active or not, full name."""
    tr = _tr()
    with _unit_of_work() as session:
        users = accounts_service.list_users(session=session, actor=Actor.system(CLI_ACTOR))
        if not users:
            typer.echo(tr("accounts.cli.no_users"))
        for u in users:
            state = tr("accounts.users.active") if u.is_active else tr("accounts.users.inactive")
            typer.echo("\t".join([u.username, u.role, u.orgunit_code, state, u.full_name]))


@app.command("set-password")
def set_password(
    username: str,
    password: str | None = typer.Option(None, "--password", help="asked for (hidden) when left out"),
) -> None:
    """Reset a user's password (their API tokens are revoked)."""
    tr = _tr()
    if password is None:
        password = typer.prompt(tr("accounts.cli.password_prompt"), hide_input=True, confirmation_prompt=True)
    with _unit_of_work() as session:
        user = _user_by_name(session, username)
        accounts_service.set_password(session=session, actor=Actor.system(CLI_ACTOR), user_id=user.id,
                                      password=password)
        typer.echo(tr("accounts.cli.password_set", username=username))


@app.command("deactivate")
def deactivate(username: str) -> None:
    """Deactivate a user: they can no longer log in, their tokens stop working."""
    tr = _tr()
    with _unit_of_work() as session:
        user = _user_by_name(session, username)
        accounts_service.deactivate(session=session, actor=Actor.system(CLI_ACTOR), user_id=user.id)
        typer.echo(tr("accounts.cli.deactivated", username=username))


@app.command("unlock")
def unlock(
    name: str = typer.Argument(..., help="the account name (or with --address, the client address)"),
    address: bool = typer.Option(False, "--address", help="lift the lock on a client address instead"),
) -> None:
    """Lift a log-in lock (after too many failed log-ins) before its time is up; audited."""
    tr = _tr()
    with _unit_of_work() as session:
        lifted = accounts_service.unlock(session=session, actor=Actor.system(CLI_ACTOR),
                                         kind="ip" if address else "user", key=name)
        typer.echo(tr("accounts.cli.unlocked" if lifted else "accounts.cli.not_locked", name=name))


# --- weijian audit ... --------------------------------------------------------------------------
audit_app = typer.Typer(help="Audit log: verify its hash chain", no_args_is_help=True)


def print_verification(result: Verification, tr: Translator) -> None:
    """One line: intact with its count and head, or the first problem (to stderr)."""
    if result.ok:
        typer.echo(tr("accounts.audit_chain.ok", count=result.count, head_seq=result.head_seq,
                      head_hash=result.head_hash))
        return
    typer.echo(tr("accounts.audit_chain.failed"), err=True)
    for problem in result.problems:
        typer.echo(tr(problem.message_key, **problem.params), err=True)


def parse_expect(value: str | None, tr: Translator) -> tuple[int, str] | None:
    if not value:
        return None
    seq, _, digest = value.partition(":")
    if not seq.isdigit() or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        typer.echo(tr("accounts.audit_chain.expect_invalid"), err=True)
        raise typer.Exit(2)
    return int(seq), digest


@audit_app.command("verify")
def verify(expect: str | None = typer.Option(
        None, "--expect", help="POSITION:HASH of a chain head printed by an earlier verify: it must still be "
                               "in the chain (catches an older head put back with the rows after it removed)")
) -> None:
    """Walk the audit log's hash chain: exit 1 naming the first altered, missing or reordered event, 0 with
    the count and the chain head otherwise."""
    from weijian.accounts import audit_chain
    from weijian.core.db import unit_of_work

    tr = _tr()
    anchor = parse_expect(expect, tr)
    # One snapshot (a read unit: REPEATABLE READ on PostgreSQL), so events appended meanwhile by the
    # running server are not mistaken for a head that ran ahead of its rows; no write lock is held.
    with unit_of_work(_read_sessionmaker(), read_only=True) as session:
        result = audit_chain.verify(session, expect=anchor)
    print_verification(result, tr)
    if not result.ok:
        raise typer.Exit(1)
