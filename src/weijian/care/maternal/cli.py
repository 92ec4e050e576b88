"""`weijian maternal ...`: the antenatal schedule of one pregnancy from its LMP (no database)."""
from __future__ import annotations

import json
from datetime import date

import typer

from weijian.care.maternal import rules
from weijian.core import clock
from weijian.core.errors import InvalidInput
from weijian.core.i18n import Translator, normalize_locale

app = typer.Typer(help="Maternal health: the antenatal schedule (孕产妇健康管理)", no_args_is_help=True)
_E = "care.maternal.errors."


def _parse_date(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except (ValueError, AttributeError):
        raise InvalidInput(field, _E + "date_format", value=value) from None


@app.command("visits")
def visits_command(
    lmp: str = typer.Option(..., "--lmp", help="Last menstrual period, e.g. 2026-03-01"),
    as_of: str | None = typer.Option(None, "--as-of", help="The day to judge on (default: today, county time)"),
    output: str = typer.Option("text", "--format", help="json | text"),
    locale: str = typer.Option("zh_CN", "--locale", help="zh_CN | en (text output and messages)"),
) -> None:
    """The expected date of delivery (LMP + 280 days) and the five antenatal visit windows with their status
    (due / overdue / upcoming) on a day."""
    tr = Translator(normalize_locale(locale))
    try:
        if output not in ("json", "text"):
            raise InvalidInput("format", _E + "output_format", value=output)
        start = _parse_date(lmp, "lmp")
        on = _parse_date(as_of, "as_of") if as_of else clock.today()
        problem = rules.lmp_problem(start, on)
        if problem:
            raise InvalidInput("lmp", _E + problem[0], **problem[1])
    except InvalidInput as exc:
        typer.echo(tr("care.maternal.cli.error_title"), err=True)
        for e in exc.errors:
            typer.echo(f"  {e.field}: {tr(e.reason_key, **e.params)}", err=True)
        raise typer.Exit(1) from None
    windows = rules.schedule(start, on)
    if output == "json":
        typer.echo(json.dumps({"edd": rules.edd(start).isoformat(),
                               "visits": [{"visit": w.visit, "from": w.start.isoformat(), "to": w.end.isoformat(),
                                           "status": w.status} for w in windows]}, ensure_ascii=False, indent=2))
        return
    weeks, days = rules.gestation(start, on)
    typer.echo(tr("care.maternal.cli.heading", lmp=start.isoformat(), edd=rules.edd(start).isoformat(),
                  as_of=on.isoformat(), weeks=weeks, days=days))
    r = rules.rules()
    for w in windows:
        typer.echo(f"  {w.visit}  {r.visit(w.visit).label(tr.locale)}  {w.start.isoformat()} – {w.end.isoformat()}"
                   f"  {tr('care.maternal.statuses.' + w.status)}")
