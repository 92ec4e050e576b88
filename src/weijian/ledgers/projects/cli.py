"""`weijian projects progress`: 序时进度 of one project from its figures (no database), as the issue states
it: --start --end --target --done --as-of [--tolerance 0.05] --format json|text. A refusal names the field
and exits with status 2."""
from __future__ import annotations

import json
from datetime import date
from decimal import Decimal, InvalidOperation

import typer

from weijian.core.errors import InvalidInput
from weijian.core.i18n import Translator, normalize_locale
from weijian.ledgers.projects.rules import DEFAULT_TOLERANCE, progress

FORMATS = ("json", "text")
app = typer.Typer(no_args_is_help=True, help="Practical projects for the people (为民办实事).")


def _day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(field, "core.errors.validation.date_parsing") from None


def _number(text: str, field: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise InvalidInput(field, "core.errors.validation.decimal_parsing") from None
    if not value.is_finite():
        raise InvalidInput(field, "core.errors.validation.decimal_parsing")
    return value


@app.command("progress")
def progress_command(
    start: str = typer.Option(..., "--start", help="first day of the project, e.g. 2026-01-01"),
    end: str = typer.Option(..., "--end", help="last day (inclusive), e.g. 2026-12-31"),
    target: str = typer.Option(..., "--target", help="the target, e.g. 150"),
    done: str = typer.Option(..., "--done", help="done so far, e.g. 98"),
    as_of: str = typer.Option(..., "--as-of", help="the day, e.g. 2026-09-30"),
    tolerance: str = typer.Option(str(DEFAULT_TOLERANCE), "--tolerance", help="share, default 0.05"),
    output: str = typer.Option("json", "--format", help="json | text"),
    locale: str = typer.Option("zh_CN", "--locale", help="zh_CN | en"),
) -> None:
    """Expected share (elapsed ÷ total days, both inclusive), actual share (done ÷ target), expected done and
    the status: behind, on_track or ahead (beyond ± tolerance; exactly at it is on_track)."""
    tr = Translator(normalize_locale(locale))
    try:
        if output not in FORMATS:
            raise InvalidInput("format", "ledgers.errors.unknown_format", value=output, known=", ".join(FORMATS))
        got = progress(start=_day(start, "starts_on"), end=_day(end, "ends_on"), target=_number(target, "target"),
                       done=_number(done, "done"), as_of=_day(as_of, "as_of"),
                       tolerance=_number(tolerance, "tolerance"))
    except InvalidInput as exc:
        sep = "：" if tr.locale == "zh_CN" else ": "
        typer.echo(tr("ledgers.cli.error_title"), err=True)
        for e in exc.errors:
            typer.echo(f"  {e.field}{sep}{tr(e.reason_key, **e.params)}", err=True)
        raise typer.Exit(2) from None
    values = got.rounded()
    if output == "json":
        typer.echo(json.dumps(values, ensure_ascii=False))
        return
    typer.echo(tr("ledgers.projects.cli.summary", expected=f"{values['expected_share']:.2%}",
                  actual=f"{values['actual_share']:.2%}", expected_done=values["expected_done"],
                  status=tr(f"ledgers.projects.status.{got.status}")))
