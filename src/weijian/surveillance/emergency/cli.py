"""`weijian surveillance deployments --from D --to D`: the batches of staff sent and the people in them over a
date range (both ends inclusive), from the database. A refusal names the field and exits with status 2."""
from __future__ import annotations

import json
from datetime import date

import typer

from weijian.core.db import settings_sessionmaker
from weijian.core.errors import InvalidInput
from weijian.core.i18n import Translator, normalize_locale

FORMATS = ("json", "table")


def _day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(field, "core.errors.validation.date_parsing") from None


def deployments_command(
    date_from: str = typer.Option(..., "--from", help="first day, e.g. 2026-01-01"),
    date_to: str = typer.Option(..., "--to", help="last day (inclusive), e.g. 2026-12-31"),
    output: str = typer.Option("json", "--format", help="json | table"),
    locale: str = typer.Option("zh_CN", "--locale", help="zh_CN | en"),
) -> None:
    """Batches deployed and people sent in a date range ("27 batches, 1,826 people")."""
    from weijian.core.db import unit_of_work
    from weijian.surveillance.emergency import queries

    tr = Translator(normalize_locale(locale))
    try:
        if output not in FORMATS:
            raise InvalidInput("format", "surveillance.errors.unknown_format", value=output,
                               known=", ".join(FORMATS))
        first, last = _day(date_from, "from"), _day(date_to, "to")
        with unit_of_work(_sessionmaker()) as session:
            summary = queries.deployment_summary(session=session, date_from=first, date_to=last)
    except InvalidInput as exc:
        sep = "：" if tr.locale == "zh_CN" else ": "
        typer.echo(tr("surveillance.cli.error_title"), err=True)
        for e in exc.errors:
            typer.echo(f"  {e.field}{sep}{tr(e.reason_key, **e.params)}", err=True)
        raise typer.Exit(2) from None
    values = {"from": summary.date_from.isoformat(), "to": summary.date_to.isoformat(),
              "batches": summary.batches, "people": summary.people}
    if output == "json":
        typer.echo(json.dumps(values, ensure_ascii=False))
        return
    typer.echo(tr("surveillance.emergency.cli.summary", first=values["from"], last=values["to"],
                  batches=f"{summary.batches:,}", people=f"{summary.people:,}"))


_sessionmaker = settings_sessionmaker  # tests replace it with their own transaction's
