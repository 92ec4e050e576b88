"""`weijian education ...`: the per-facility completion table of health education for a year (text or
JSON), as the system actor over the installation or under one org unit."""
from __future__ import annotations

import json
from datetime import date

import typer
from sqlalchemy.orm import Session, sessionmaker

from weijian.care.education import rules, service
from weijian.care.education.api import completion_out
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.db import make_engine, make_sessionmaker, unit_of_work
from weijian.core.errors import DomainError, InvalidInput
from weijian.core.i18n import Translator, normalize_locale
from weijian.core.settings import Settings

app = typer.Typer(help="Health education: the yearly completion table (健康教育)", no_args_is_help=True)
_E = "care.education.errors."


def _sessions() -> sessionmaker[Session]:
    """The unit-of-work factory (tests replace this to share their transaction)."""
    return make_sessionmaker(make_engine(Settings()))


@app.command("completion")
def completion_command(
    year: str | None = typer.Option(None, "--year", help="e.g. 2026 (default: this year, county time)"),
    as_of: str | None = typer.Option(None, "--as-of", help="The day the calendar is judged on (default: today)"),
    orgunit: str | None = typer.Option(None, "--orgunit", help="Only the facilities under this 12-digit org unit"),
    output: str = typer.Option("text", "--format", help="json | text"),
    locale: str = typer.Option("zh_CN", "--locale", help="zh_CN | en (text output and messages)"),
) -> None:
    """Each facility's activities of the year by kind against the 规范's yearly minimum, and whether it is
    behind the calendar (exit 0; 2 on bad input)."""
    tr = Translator(normalize_locale(locale))
    try:
        if output not in ("json", "text"):
            raise InvalidInput("format", _E + "output_format", value=output)
        try:
            on = date.fromisoformat(as_of.strip()) if as_of else clock.today()
        except ValueError:
            raise InvalidInput("as_of", "care.maternal.errors.date_format", value=as_of) from None
        if year is None:
            y = on.year
        elif year.strip().isdigit() and len(year.strip()) == 4:
            y = int(year.strip())
        else:
            raise InvalidInput("year", _E + "year_format", value=year)
        with unit_of_work(_sessions()) as session:
            rows = service.completion(session=session, actor=Actor.system("cli"), year=y, as_of=on,
                                      orgunit=orgunit)
            out = completion_out(rows, y, on)
    except DomainError as exc:
        typer.echo(tr("care.education.cli.error_title"), err=True)
        if isinstance(exc, InvalidInput):
            for e in exc.errors:
                typer.echo(f"  {e.field}: {tr(e.reason_key, **e.params)}", err=True)
        else:
            typer.echo(f"  {tr(exc.message_key, **exc.params)}", err=True)
        raise typer.Exit(2) from None
    if output == "json":
        typer.echo(json.dumps(out.model_dump(mode="json"), ensure_ascii=False, indent=2))
        return
    kinds = rules.rules().kinds
    typer.echo(tr("care.education.cli.heading", year=y, as_of=on.isoformat()))
    for f in out.facilities:
        cells = "  ".join(f"{kinds[k.kind].label(tr.locale)} {k.done}/{k.minimum if k.minimum is not None else '—'}"
                          + ("!" if k.state == "behind" else "") for k in f.kinds)
        typer.echo(f"  {f.orgunit_code}  {f.facility_name}  {cells}")
