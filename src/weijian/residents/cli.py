"""`weijian residents ...`: import a roster spreadsheet, check an identity number, rebuild the search keys,
undo a merge."""
from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from pathlib import Path

import typer

from weijian.core.actor import Actor
from weijian.core.db import settings_sessionmaker
from weijian.core.errors import DomainError, InvalidInput
from weijian.core.i18n import translate
from weijian.core.identifiers import parse_id_number
from weijian.core.settings import Settings

app = typer.Typer(help="Residents: roster import, identity-number check", no_args_is_help=True)

MAX_ERRORS_SHOWN = 20


_sessionmaker = settings_sessionmaker  # tests replace it with their own transaction's


def _locale() -> str:
    return Settings().default_locale


@app.command("import")
def import_roster(
    file: Path = typer.Argument(..., help="Roster: .xlsx, or .csv in UTF-8 or GB18030"),
    skip_invalid: bool = typer.Option(False, "--skip-invalid",
                                      help="Import the good rows; write the bad ones to a workbook"),
    report: Path | None = typer.Option(None, "--report",
                                          help="Where to write the error report / rejected rows"),
    as_user: str | None = typer.Option(None, "--as-user",
                                          help="Import as this user (their permission and area)"),
) -> None:
    """Import residents from a county roster. Exit status 1 when the file is refused."""
    from weijian.accounts import service as accounts_service
    from weijian.core.db import unit_of_work
    from weijian.residents.importer.service import ImportRefused, import_file

    locale = _locale()
    tr = partial(translate, locale=locale)
    if not file.is_file():
        typer.echo(tr("residents.cli.file_not_found", path=str(file)), err=True)
        raise typer.Exit(1)
    try:
        with unit_of_work(_sessionmaker()) as session:
            actor = Actor.system("cli")
            if as_user:
                user = accounts_service.get_by_username(session=session, username=as_user)
                if user is None or not user.is_active:
                    typer.echo(tr("residents.cli.user_unknown", username=as_user), err=True)
                    raise typer.Exit(1)
                actor = accounts_service.actor_for(user)
            result = import_file(session=session, path=file, actor=actor, skip_invalid=skip_invalid,
                                 report_path=report, locale=locale)
    except ImportRefused as exc:
        res = exc.result
        typer.echo(tr("residents.import.refused", invalid=res.invalid, rows=res.rows), err=True)
        _echo_errors(exc, tr)
        typer.echo(tr("residents.import.refused_report", path=str(res.error_report_path)), err=True)
        raise typer.Exit(1) from None
    except InvalidInput as exc:
        _echo_errors(exc, tr)
        raise typer.Exit(1) from None
    except DomainError as exc:
        typer.echo(tr(exc.message_key, **exc.params), err=True)
        raise typer.Exit(1) from None
    typer.echo(tr("residents.import.summary", rows=result.rows, created=result.created,
                  unchanged=result.unchanged, households=result.households_created, invalid=result.invalid))
    if result.probable_duplicates:
        typer.echo(tr("residents.import.probable_duplicates", count=len(result.probable_duplicates),
                      rows=tr("residents.import.list_separator").join(
                          f"{row}→#{rid}" for row, rid in result.probable_duplicates[:MAX_ERRORS_SHOWN])))
    if result.error_report_path is not None:
        typer.echo(tr("residents.import.rejected_report", path=str(result.error_report_path)))


def _echo_errors(exc: InvalidInput, tr: Callable[..., str]) -> None:
    for e in exc.errors[:MAX_ERRORS_SHOWN]:
        reason = tr(e.reason_key, **e.params)
        line = reason if e.row is None else tr("residents.import.error_line", row=e.row, column=e.field,
                                                 reason=reason)
        typer.echo(line, err=True)
    if len(exc.errors) > MAX_ERRORS_SHOWN:
        typer.echo(tr("residents.import.more_errors", count=len(exc.errors) - MAX_ERRORS_SHOWN), err=True)


@app.command("reindex")
def reindex() -> None:
    """Rebuild the residents' pinyin search keys (after a change to residents/data/surnames.yaml, and once
    on a database written before surnames were read as surnames): only keys that differ are written."""
    from weijian.core.db import unit_of_work
    from weijian.residents import service as residents_service

    with unit_of_work(_sessionmaker()) as session:
        changed = residents_service.reindex_name_keys(session=session, actor=Actor.system("cli"))
    typer.echo(translate("residents.cli.reindexed", _locale(), count=changed))


@app.command("unmerge")
def unmerge(
    merge_id: int = typer.Argument(..., metavar="MERGE_ID", help="The merge's number (its review page, the audit log)"),
    reason: str = typer.Option(..., "--reason", help="Why the merge is undone"),
) -> None:
    """Undo a merge of two resident records (as the system, like every command here: whoever runs the CLI on
    the server is its administrator): what the merge moved goes back to the merged record, which is active
    again. Exit status 1 when refused, with the reason (what changed since the merge)."""
    from weijian.core.db import unit_of_work
    from weijian.residents import service as residents_service

    locale = _locale()
    try:
        with unit_of_work(_sessionmaker()) as session:
            row = residents_service.unmerge(session=session, merge_id=merge_id, reason=reason,
                                            actor=Actor.system("cli"))
            survivor, merged = row.survivor_id, row.merged_id
    except DomainError as exc:
        typer.echo(translate(exc.message_key, locale, **exc.params), err=True)
        raise typer.Exit(1) from None
    typer.echo(translate("residents.cli.unmerged", locale, merge_id=merge_id, survivor=survivor, merged=merged))


@app.command("check-id")
def check_id(
    id_number: str = typer.Argument(..., metavar="ID", help="18-digit (or 15-digit) identity number"),
    format: str = typer.Option("text", "--format", help="text or json"),
) -> None:
    """Check an identity number: validity, birth date, sex, division code, the 18-digit form.
    Exit status 0 whether or not the number is valid."""
    if format not in ("text", "json"):
        raise typer.BadParameter("text or json", param_hint="--format")
    locale = _locale()
    try:
        parsed = parse_id_number(id_number)
    except InvalidInput as exc:
        error = translate(exc.message_key, locale, **exc.params)
        if format == "json":
            typer.echo(json.dumps({"valid": False, "error": error}, ensure_ascii=False))
        else:
            typer.echo(translate("residents.cli.check_id.invalid", locale, error=error))
        return
    if format == "json":
        typer.echo(json.dumps({"valid": True, "birth_date": parsed.birth_date.isoformat(), "sex": parsed.sex,
                               "division": parsed.division, "normalized": parsed.normalized},
                              ensure_ascii=False))
        return
    key = "residents.cli.check_id"
    lines = [translate(f"{key}.valid", locale),
             translate(f"{key}.birth_date", locale, value=parsed.birth_date.isoformat()),
             translate(f"{key}.sex", locale, value=translate(f"{key}.{parsed.sex}", locale)),
             translate(f"{key}.division", locale, value=parsed.division),
             translate(f"{key}.normalized", locale, value=parsed.normalized)]
    if parsed.converted_from_15:
        lines[-1] += " " + translate(f"{key}.converted", locale)
    typer.echo("\n".join(lines))
