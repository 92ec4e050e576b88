"""`weijian contracts ...`: the family-doctor contracts due to renew (`due`: ending within N days, and lapsed)
and the service packages (`packages`). Bad input is reported in the chosen language, naming the field, with
exit status 1 and no traceback."""
from __future__ import annotations

import json
from datetime import date
from typing import Any

import typer

from weijian.care.contracts import rules
from weijian.core import clock
from weijian.core.db import settings_sessionmaker
from weijian.core.errors import DomainError, InvalidInput
from weijian.core.i18n import Translator, normalize_locale

app = typer.Typer(help="Family-doctor contracts (家庭医生签约服务)", no_args_is_help=True)
_E = "care.contracts.errors."
_sessionmaker = settings_sessionmaker  # tests replace it with their own transaction's


def _parse_date(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except (ValueError, AttributeError):
        raise InvalidInput(field, _E + "date_format", value=value) from None


def _fail(exc: DomainError, tr: Translator) -> None:
    typer.echo(tr("care.contracts.cli.error_title"), err=True)
    errors = getattr(exc, "errors", None)
    if errors:
        for e in errors:
            typer.echo(f"  {e.field}: {tr(e.reason_key, **e.params)}", err=True)
    else:
        typer.echo(f"  {tr(exc.message_key, **exc.params)}", err=True)
    raise typer.Exit(1)


@app.command("due")
def due_command(
    as_of: str | None = typer.Option(None, "--as-of", help="The day to judge on (default: today, county time)"),
    within: int = typer.Option(30, "--within", min=0, max=366, help="Days ahead"),
    village: str | None = typer.Option(None, "--village", help="One village (12-digit code)"),
    as_user: str | None = typer.Option(None, "--as-user", help="As this user (their permission and area)"),
    output: str = typer.Option("text", "--format", help="json | text"),
    locale: str = typer.Option("zh_CN", "--locale", help="zh_CN | en"),
) -> None:
    """The contracts ending within `--within` days of the day, and the lapsed ones (lapsed first): the
    village doctor's renewal list."""
    from weijian.accounts import service as accounts_service
    from weijian.care.contracts import queries
    from weijian.core.actor import Actor
    from weijian.core.db import unit_of_work

    tr = Translator(normalize_locale(locale))
    try:
        if output not in ("json", "text"):
            raise InvalidInput("format", _E + "output_format", value=output)
        on = _parse_date(as_of, "as_of") if as_of else clock.today()
        with unit_of_work(_sessionmaker()) as session:
            actor = Actor.system("cli")
            if as_user:
                user = accounts_service.get_by_username(session=session, username=as_user)
                if user is None or not user.is_active:
                    raise InvalidInput("as_user", _E + "user_unknown", value=as_user)
                actor = accounts_service.actor_for(user)
            rows = queries.due_renewals(session=session, actor=actor, as_of=on, within=within, village_code=village)
            out: list[dict[str, Any]] = [
                {"contract_id": r.contract.id, "resident_id": r.contract.resident_id, "name": r.resident_name,
                 "village_code": r.village_code, "team": r.team_name, "start_date": r.contract.start_date.isoformat(),
                 "end_date": r.contract.end_date.isoformat(), "state": r.state} for r in rows]
    except DomainError as exc:
        _fail(exc, tr)
        return
    if output == "json":
        typer.echo(json.dumps({"as_of": on.isoformat(), "within": within, "contracts": out}, ensure_ascii=False,
                              indent=2))
        return
    typer.echo(tr("care.contracts.cli.heading", as_of=on.isoformat(), within=within, count=len(out)))
    for row in out:
        typer.echo(f"  {row['end_date']}  {tr('care.contracts.states.' + row['state'])}  {row['name']}  "
                   f"{row['village_code']}  {row['team']}  #{row['contract_id']}")


@app.command("packages")
def packages_command(locale: str = typer.Option("zh_CN", "--locale", help="zh_CN | en")) -> None:
    """The service packages, key populations and end reasons (care/data/contract_packages.yaml), as JSON."""
    typer.echo(json.dumps(rules.as_dict(rules.rules(), normalize_locale(locale)), ensure_ascii=False, indent=2))
