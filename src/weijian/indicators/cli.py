"""`weijian indicators ...`: list the definitions; compute values for a period, an org unit and a level,
printed as text or JSON, or written to an xlsx file."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from sqlalchemy.orm import Session, sessionmaker

from weijian.core.actor import Actor
from weijian.core.db import make_engine, make_sessionmaker, unit_of_work
from weijian.core.errors import DomainError, InvalidInput
from weijian.core.i18n import Translator
from weijian.core.settings import Settings
from weijian.indicators import service as indicators_service

if TYPE_CHECKING:
    from weijian.indicators.approval import ApprovalView

app = typer.Typer(help="Indicators: definitions and values over org unit × period", no_args_is_help=True)
FORMATS = ("json", "xlsx", "text")


def _sessions() -> tuple[sessionmaker[Session], Settings]:
    """The unit-of-work factory and settings (tests replace this to share their transaction)."""
    settings = Settings()
    return make_sessionmaker(make_engine(settings)), settings


def _fail(exc: DomainError, tr: Translator) -> None:
    if isinstance(exc, InvalidInput):
        for e in exc.errors:
            typer.echo(f"{e.field}: {tr(e.reason_key, **e.params)}", err=True)
    else:
        typer.echo(tr(exc.message_key, **exc.params), err=True)
    raise typer.Exit(2 if isinstance(exc, (InvalidInput,)) or exc.status_code < 500 else 1)


@app.command("list")
def list_(lang: str | None = typer.Option(None, help="zh_CN or en"),
          category: str | None = typer.Option(None, help="Only this category")) -> None:
    """The indicators, tab-separated: id, category, name, unit, target."""
    tr = Translator(lang or Settings().default_locale)
    for ind in indicators_service.list_indicators(category):
        target = f"{ind.target.op} {ind.target.value}" if ind.target else ""
        typer.echo("\t".join((ind.id, ind.category, ind.name(tr.locale), ind.unit(tr.locale), target)))


@app.command("compute")
def compute(period: str = typer.Option(..., help="2025, 2025Q1 or 202503"),
            orgunit: str | None = typer.Option(None, help="12-digit org unit code (default: the county)"),
            level: str | None = typer.Option(None, help="county, township or village: the rows under orgunit"),
            indicator: list[str] | None = typer.Option(None, help="An indicator id (repeat); default all"),
            by_month: bool = typer.Option(False, "--by-month", help="One row per month of the period"),
            format: str = typer.Option("text", "--format", help="json, xlsx or text"),
            output: Path | None = typer.Option(None, help="Write to this file (required for xlsx)"),
            lang: str | None = typer.Option(None, help="zh_CN or en")) -> None:
    """Compute indicator values. JSON rows carry indicator, orgunit, period, numerator, denominator, value."""
    factory, settings = _sessions()
    tr = Translator(lang or settings.default_locale)
    try:
        if format not in FORMATS:
            raise InvalidInput("format", "indicators.errors.format_unknown", value=format)
        if format == "xlsx" and output is None:
            raise InvalidInput("output", "indicators.errors.output_required")
        with unit_of_work(factory) as session:
            values = indicators_service.compute(session=session, actor=Actor.system("cli"), indicator_ids=indicator,
                                                period=period, orgunit=orgunit, level=level, by_month=by_month)
    except DomainError as exc:
        _fail(exc, tr)
    if format == "xlsx":
        assert output is not None
        output.write_bytes(indicators_service.export_xlsx(values, tr))
        typer.echo(str(output))
        return
    if format == "json":
        text = json.dumps([v.as_dict() for v in values], ensure_ascii=False, indent=1)
    else:
        names = {i.id: i.name(tr.locale) for i in indicators_service.list_indicators()}
        lines = []
        for v in values:
            status = tr(f"indicators.status.{v.status}") if v.status else ""
            lines.append("\t".join(str(x) for x in (
                v.indicator, names[v.indicator], v.orgunit, v.orgunit_name, v.period,
                "" if v.numerator is None else v.numerator, "" if v.denominator is None else v.denominator,
                "" if v.value is None else v.value, status)))
        text = "\n".join(lines)
    if output is not None:
        output.write_text(text + "\n", encoding="utf-8")
        typer.echo(str(output))
    else:
        sys.stdout.write(text + "\n")


tallies_app = typer.Typer(help="The running tallies behind the big measures (core.tallies)", no_args_is_help=True)
app.add_typer(tallies_app, name="tallies")


@tallies_app.command("check")
def tallies_check() -> None:
    """Compare the tallies with a fresh count of the records; exit 1 naming each difference."""
    from weijian.core import tallies

    factory, _settings = _sessions()
    with unit_of_work(factory) as session:
        stale = sorted(set(tallies.sources()) - tallies.fresh(session))
        problems = tallies.check(session, sorted(tallies.fresh(session)))
        tallies.record_check(session, problems=problems, stale=stale)  # the dashboard shows the outcome
    for name in stale:
        typer.echo(f"{name}: not built under the rules in force (figures are counted from the records); "
                   "run `weijian indicators tallies rebuild`")
    for line in problems:
        typer.echo(line)
    if problems:
        raise typer.Exit(1)
    typer.echo(f"tallies agree with the records ({', '.join(sorted(set(tallies.sources()) - set(stale)))})")


@tallies_app.command("rebuild")
def tallies_rebuild() -> None:
    """Count every source's records again and replace its tallies (one transaction)."""
    from weijian.core import tallies

    factory, _settings = _sessions()
    with unit_of_work(factory) as session:
        written = tallies.rebuild(session)
    for name, rows in written.items():
        typer.echo(f"{name}: {rows} rows")


population_app = typer.Typer(help="The statistics office's year-end resident population (常住人口)",
                             no_args_is_help=True)
app.add_typer(population_app, name="population")


@population_app.command("set")
def population_set(orgunit: str = typer.Option(..., help="12-digit org unit code"),
                   year: int = typer.Option(..., help="The year whose year-end figure this is"),
                   value: int = typer.Option(..., help="常住人口 at the year's end, people"),
                   source: str | None = typer.Option(None, help="Where it was published (统计公报 …)"),
                   lang: str | None = typer.Option(None, help="zh_CN or en")) -> None:
    """Enter (or replace) an org unit's year-end resident population for a year; audited. The per-1,000
    ratios of that unit and year divide by it instead of the registry's count."""
    from weijian.core.commands import build
    from weijian.indicators.schemas import PopulationSet

    factory, settings = _sessions()
    tr = Translator(lang or settings.default_locale)
    try:
        with unit_of_work(factory) as session:
            row = indicators_service.set_population(
                session=session, actor=Actor.system("cli"), population_in=build(
                    PopulationSet, {"orgunit": orgunit, "year": year, "value": value, "source": source}))
            typer.echo(f"{row.orgunit_code}\t{row.year}\t{row.value}")
    except DomainError as exc:
        _fail(exc, tr)


# --- approved periods (indicators.approval) ------------------------------------------------------------
def _approval_line(v: ApprovalView) -> str:
    from weijian.core.clock import format_local

    state = "active" if v.active else f"lifted {format_local(v.unapproved_at)}"
    return "\t".join(str(x) for x in (v.id, v.orgunit, v.period, format_local(v.approved_at), v.approved_by, state,
                                      v.corrections))


@app.command("approve")
def approve(period: str = typer.Option(..., help="An ended period: 2025, 2025Q1 or 202503"),
            orgunit: str = typer.Option(..., help="12-digit org unit code"),
            note: str | None = typer.Option(None, help="A note kept with the approval"),
            lang: str | None = typer.Option(None, help="zh_CN or en")) -> None:
    """Approve (lock) an org unit's figures for an ended period: its records are changed afterwards only as
    corrections with a reason. Prints: id, org unit, period, approved at, by, state, corrections."""
    from weijian.core.commands import build
    from weijian.indicators import approval
    from weijian.indicators.schemas import ApprovalCreate

    factory, settings = _sessions()
    tr = Translator(lang or settings.default_locale)
    try:
        with unit_of_work(factory) as session:
            got = approval.approve(session=session, actor=Actor.system("cli"), approval_in=build(
                ApprovalCreate, {"orgunit": orgunit, "period": period, "note": note}))
    except DomainError as exc:
        _fail(exc, tr)
    typer.echo(_approval_line(got))


@app.command("unapprove")
def unapprove(approval_id: int = typer.Argument(..., help="The approval's id (weijian indicators approvals)"),
              reason: str = typer.Option(..., help="Why the approval is lifted (kept)"),
              lang: str | None = typer.Option(None, help="zh_CN or en")) -> None:
    """Lift an approval, with a reason: the period's records may be changed again."""
    from weijian.core.commands import build
    from weijian.indicators import approval
    from weijian.indicators.schemas import ApprovalUnapprove

    factory, settings = _sessions()
    tr = Translator(lang or settings.default_locale)
    try:
        with unit_of_work(factory) as session:
            got = approval.unapprove(session=session, actor=Actor.system("cli"), approval_id=approval_id,
                                     unapprove_in=build(ApprovalUnapprove, {"reason": reason}))
    except DomainError as exc:
        _fail(exc, tr)
    typer.echo(_approval_line(got))


@app.command("approvals")
def approvals(orgunit: str | None = typer.Option(None, help="Only this org unit"),
              period: str | None = typer.Option(None, help="Only this period"),
              active: bool = typer.Option(False, "--active", help="Only approvals in force"),
              lang: str | None = typer.Option(None, help="zh_CN or en")) -> None:
    """The approvals, newest first: id, org unit, period, approved at, by, state, corrections since."""
    from weijian.indicators import approval

    factory, settings = _sessions()
    tr = Translator(lang or settings.default_locale)
    try:
        with unit_of_work(factory, read_only=True) as session:
            rows = approval.list_approvals(session=session, actor=Actor.system("cli"), orgunit=orgunit,
                                           period=period, active_only=active)
    except DomainError as exc:
        _fail(exc, tr)
    for row in rows:
        typer.echo(_approval_line(row))
