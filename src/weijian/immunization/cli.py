"""`weijian immunization ...`: the due/overdue engine from the command line (no database), the schedule files,
and `refresh-due`, which rebuilds every child's stored next due date (immunization.schedule.due)."""
from __future__ import annotations

import json
import unicodedata
from datetime import date

import typer

from weijian.core import clock
from weijian.core.db import settings_sessionmaker
from weijian.core.errors import FieldError, InvalidInput
from weijian.core.i18n import Translator, normalize_locale
from weijian.immunization.schedule import engine
from weijian.immunization.schedule.rules import ScheduleInvalid, edition_for, editions

app = typer.Typer(help="Child immunization: the national schedule and the due/overdue engine",
                  no_args_is_help=True)

JSON_KEYS = ("vaccine", "dose", "status", "recommended_date", "earliest_date", "overdue_date", "given_date")
_E = "immunization.errors."


def _parse_date(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except (ValueError, AttributeError):
        raise InvalidInput(field, _E + "date_format", value=value) from None


def parse_given(values: list[str]) -> list[engine.GivenDose]:
    """`HepB:1:2025-03-10` → GivenDose; every malformed value is named (`given[1]`)."""
    out: list[engine.GivenDose] = []
    errors: list[FieldError] = []
    for i, raw in enumerate(values):
        parts = raw.split(":")
        if len(parts) != 3 or not parts[0].strip() or not parts[1].strip().isdigit():
            errors.append(FieldError(f"given[{i}]", _E + "given_format", {"value": raw}))
            continue
        try:
            when = date.fromisoformat(parts[2].strip())
        except ValueError:
            errors.append(FieldError(f"given[{i}]", _E + "given_date_format", {"value": raw}))
            continue
        out.append(engine.GivenDose(parts[0].strip(), int(parts[1]), when))
    if errors:
        raise InvalidInput(errors=errors)
    return out


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def _table(rows: list[engine.DoseStatus], tr: Translator) -> str:
    head = [tr(f"immunization.columns.{k}") for k in (*JSON_KEYS, "notes")]
    body = []
    for r in rows:
        notes = "；".join(tr(f"immunization.flags.{f}") for f in r.flags)
        body.append([
            f"{tr(f'immunization.vaccines.{r.vaccine}')}（{r.vaccine}）" if tr.locale == "zh_CN"
            else f"{tr(f'immunization.vaccines.{r.vaccine}')} ({r.vaccine})",
            str(r.dose), tr(f"immunization.status.{r.status}"),
            *(d.isoformat() if d else "-" for d in (r.recommended_date, r.earliest_date, r.overdue_date,
                                                     r.given_date)),
            notes,
        ])
    widths = [max(_width(x) for x in col) for col in zip(head, *body, strict=True)]
    lines = ["  ".join(_pad(x, w) for x, w in zip(line, widths, strict=True)).rstrip() for line in (head, *body)]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fail(exc: InvalidInput, tr: Translator) -> None:
    lines = exc.lines(tr.locale) if isinstance(exc, ScheduleInvalid) else [
        f"{e.field}：{tr(e.reason_key, **e.params)}" if tr.locale == "zh_CN"
        else f"{e.field}: {tr(e.reason_key, **e.params)}" for e in exc.errors]
    typer.echo(tr("immunization.cli.error_title"), err=True)
    for line in lines:
        typer.echo(f"  {line}", err=True)
    raise typer.Exit(1)


@app.command("due")
def due_command(
    birth_date: str = typer.Option(..., "--birth-date", help="Birth date, e.g. 2025-03-10"),
    given: list[str] | None = typer.Option(
        None, "--given", help="A dose given, VACCINE:DOSE:DATE (e.g. HepB:1:2025-03-10); repeat for each"),
    as_of: str | None = typer.Option(
        None, "--as-of", help="The date to judge on (default: today, Beijing time)"),
    output: str = typer.Option("text", "--format", help="json | text"),
    overdue_rule: str = typer.Option(
        "complete_before", "--overdue-rule", envvar="WEIJIAN_IMMUNIZATION_OVERDUE_RULE",
        help="When a missing dose is overdue: complete_before (the dose's complete-before age) or recommended+30d"),
    include_not_applicable: bool = typer.Option(
        False, "--include-not-applicable", help="Also list doses no longer given (e.g. BCG from 4 years)"),
    locale: str = typer.Option("zh_CN", "--locale", help="zh_CN | en (text output and messages)"),
) -> None:
    """The state of every dose of the national schedule for one child: given, due, overdue or upcoming."""
    tr = Translator(normalize_locale(locale))
    try:
        if output not in ("json", "text"):
            raise InvalidInput("format", _E + "output_format", value=output)
        rule = engine.OverdueRule.parse(overdue_rule)
        birth = _parse_date(birth_date, "birth_date")
        on = _parse_date(as_of, "as_of") if as_of else clock.today()
        history = parse_given(given or [])
        rows = engine.due(birth, history, on, overdue_rule=rule)
    except InvalidInput as exc:
        _fail(exc, tr)
        return
    if not include_not_applicable:
        rows = [r for r in rows if r.status != engine.NOT_APPLICABLE]
    if output == "json":
        # "flags" says why a dose is invalid ("early" and the reason) or what it needs (a TB test).
        typer.echo(json.dumps([{**{k: (v.isoformat() if isinstance(v, date) else v)
                                   for k, v in zip(JSON_KEYS, r, strict=False)}, "flags": list(r.flags)}
                               for r in rows],
                              ensure_ascii=False, indent=2))
        return
    edition = edition_for(on)
    typer.echo(tr("immunization.cli.heading", birth_date=birth.isoformat(), as_of=on.isoformat(),
                  edition=edition.name, rule=str(rule)))
    typer.echo(_table(rows, tr))


_sessionmaker = settings_sessionmaker  # tests replace it with their own transaction's


@app.command("refresh-due")
def refresh_due_command(
    as_of: str | None = typer.Option(
        None, "--as-of", help="The date to compute on (default: today, Beijing time)"),
    locale: str = typer.Option("zh_CN", "--locale", help="zh_CN | en"),
) -> None:
    """Recompute every child's next due date (the recall lists' pre-selection): run after a schedule edition
    comes into force or is edited, or after doses were written around the application (an import)."""
    import time

    from weijian.accounts import service as accounts_service
    from weijian.core.actor import Actor
    from weijian.core.db import unit_of_work
    from weijian.immunization.schedule import due

    tr = Translator(normalize_locale(locale))
    try:
        on = _parse_date(as_of, "as_of") if as_of else clock.today()
        edition_for(on)
    except InvalidInput as exc:
        _fail(exc, tr)
        return
    start = time.perf_counter()
    with unit_of_work(_sessionmaker()) as session:
        count = due.refresh_due(session=session, on=on)
        accounts_service.audit(session=session, actor=Actor.system("cli"), action="update",
                               entity_type="vaccination_next_due", basis="system",
                               detail={"as_of": on.isoformat(), "children": count})
    typer.echo(tr("immunization.cli.refreshed", children=count, as_of=on.isoformat(),
                  seconds=f"{time.perf_counter() - start:.1f}"))


@app.command("schedule")
def schedule_command(
    locale: str = typer.Option("zh_CN", "--locale", help="zh_CN | en"),
) -> None:
    """Check the schedule files and list the editions with their dates and sources."""
    tr = Translator(normalize_locale(locale))
    try:
        found = editions()
    except ScheduleInvalid as exc:
        _fail(exc, tr)
        return
    for e in found:
        until = e.effective_to.isoformat() if e.effective_to else tr("immunization.cli.open_ended")
        typer.echo(f"{e.id}  {e.effective_from.isoformat()} – {until}  {e.name}")
        for s in e.sources:
            when = f" ({s.date.isoformat()})" if s.date else ""
            typer.echo(f"    {s.issuer}：{s.title}{when}")
