"""`weijian surveillance ...`: the early-warning methods on anyone's own daily counts (`detect`), the reporting
limit of one case (`check-delay`) and the notifiable disease list in force on a day (`diseases`), without a
database; and the daily early-warning run (`run`), which stores the new signals (surveillance.signals).
limit of one case (`check-delay`) and the notifiable disease list in force on a day (`diseases`), without the
database; the staff deployed over a date range (`deployments`, surveillance.emergency.cli) from it.

A refusal names the field (and the line of the count file) in Chinese, in English with `--locale en`, and
exits with status 2.
"""
from __future__ import annotations

import json
import unicodedata
from datetime import date, datetime
from pathlib import Path
from typing import Any, NoReturn

import typer

from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.db import settings_sessionmaker, unit_of_work
from weijian.core.errors import InvalidInput
from weijian.core.i18n import Translator, normalize_locale
from weijian.surveillance import detection, rules
from weijian.surveillance.emergency import cli as emergency_cli
from weijian.surveillance.series import parse_counts
from weijian.surveillance.signals import service as signals_service
from weijian.surveillance.timeliness import report_delay

app = typer.Typer(help="Notifiable diseases: early-warning methods, reporting limits, the disease list",
                  no_args_is_help=True)
# Public-health emergencies: staff deployed over a date range (from the database).
app.command("deployments")(emergency_cli.deployments_command)

FORMATS = ("json", "table")
ROW_KEYS = ("date", "method", "value", "threshold", "signal")
DELAY_KEYS = ("disease", "limit_hours", "delay_hours", "late")
_E = "surveillance.errors."
# The options every command takes.
LOCALE = typer.Option("zh_CN", "--locale", help="zh_CN | en (table headings and messages)")
JSON_OR_TABLE = typer.Option("json", "--format", help="json | table")


def _fail(exc: InvalidInput, tr: Translator) -> NoReturn:
    sep = "：" if tr.locale == "zh_CN" else ": "
    typer.echo(tr("surveillance.cli.error_title"), err=True)
    for e in exc.errors:
        typer.echo(f"  {e.field}{sep}{tr(e.reason_key, **e.params)}", err=True)
    raise typer.Exit(2)


def _check_format(output: str) -> None:
    if output not in FORMATS:
        raise InvalidInput("format", _E + "unknown_format", value=output, known=", ".join(FORMATS))


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _table(head: list[str], body: list[list[str]]) -> str:
    widths = [max(_width(x) for x in col) for col in zip(head, *body, strict=True)]
    lines = ["  ".join(x + " " * (w - _width(x)) for x, w in zip(line, widths, strict=True)).rstrip()
             for line in (head, *body)]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _number(value: float | None) -> float | int | None:
    if value is None:
        return None
    rounded = round(value, 6)
    return int(rounded) if rounded == int(rounded) else rounded


def _yes_no(flag: bool, tr: Translator) -> str:
    return tr("surveillance.answer_yes" if flag else "surveillance.answer_no")


@app.command("detect")
def detect_command(
    method: str = typer.Option(..., "--method", help="|".join(detection.METHOD_NAMES)),
    counts: Path = typer.Option(..., "--counts", help="CSV file of daily counts: date,count (missing days zero)"),
    px: float | None = typer.Option(None, "--px", help="moving-percentile: the percentile (default 50)"),
    threshold: float | None = typer.Option(
        None, "--threshold", help="fixed: cases on one day (1); cluster: cases in the window (2); EARS: C1/C2 3, C3 2"),
    window_days: int | None = typer.Option(
        None, "--window-days", help="cluster: days of the window (14); moving-percentile: window (7)"),
    sigma_zero: str = typer.Option(
        "signal_if_above_mean", "--sigma-zero", help="EARS with σ = 0: signal_if_above_mean | no_value"),
    output: str = JSON_OR_TABLE,
    locale: str = LOCALE,
) -> None:
    """Run one early-warning method over a daily count file: one row per date with enough history."""
    tr = Translator(normalize_locale(locale))
    try:
        _check_format(output)
        if method not in detection.METHOD_NAMES:
            raise InvalidInput("method", _E + "unknown_method", value=method, known=", ".join(detection.METHOD_NAMES))
        if sigma_zero not in rules.SIGMA_ZERO_RULES:
            raise InvalidInput("sigma_zero", _E + "unknown_method", value=sigma_zero,
                               known=", ".join(rules.SIGMA_ZERO_RULES))
        if px is not None and not 0 < px < 100:
            raise InvalidInput("px", _E + "bad_px", value=px)
        if threshold is not None and not threshold > 0:
            raise InvalidInput("threshold", _E + "bad_threshold", value=threshold)
        if window_days is not None and not 1 <= window_days <= 366:
            raise InvalidInput("window_days", _E + "bad_window", value=window_days)
        try:
            text = counts.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            raise InvalidInput("counts", _E + "counts.unreadable", path=str(counts)) from None
        series = parse_counts(text)
    except InvalidInput as exc:
        _fail(exc, tr)
    sigma: detection.SigmaZero = "no_value" if sigma_zero == "no_value" else "signal_if_above_mean"
    rows = detection.detect(method, series, threshold=threshold, px=px, window_days=window_days, sigma_zero=sigma)
    if output == "json":
        typer.echo(json.dumps([{"date": r.date.isoformat(), "method": r.method, "value": _number(r.value),
                                "threshold": _number(r.threshold), "signal": r.signal} for r in rows],
                              ensure_ascii=False, indent=2))
        return
    head = [tr(f"surveillance.columns.{k}") for k in ROW_KEYS]
    body = [[r.date.isoformat(), r.method,
             tr("surveillance.no_value") if r.value is None else f"{r.value:.4g}" if r.method.startswith("ears")
             else str(_number(r.value)), str(_number(round(r.threshold, 4))), _yes_no(r.signal, tr)] for r in rows]
    typer.echo(_table(head, body))


def _county_time(value: str, field: str) -> datetime:
    """A time as written on a report card: county wall-clock time unless it carries an offset."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(field, _E + "bad_time", value=value) from None
    return moment.replace(tzinfo=clock.zone()) if moment.tzinfo is None else moment


def _disease(code: str, on: date, field: str = "disease") -> rules.Disease:
    try:
        edition = rules.edition_on(on)
    except LookupError:
        raise InvalidInput(field, _E + "no_edition", on=on.isoformat()) from None
    disease = edition.by_code(code.strip())
    if disease is None:
        raise InvalidInput(field, _E + "unknown_disease", value=code, on=on.isoformat())
    return disease


@app.command("check-delay")
def check_delay_command(
    disease: str = typer.Option(..., "--disease", help="disease code of the list (`weijian surveillance diseases`)"),
    diagnosed: str = typer.Option(..., "--diagnosed", help="diagnosis time, county time, e.g. 2026-12-01T08:00"),
    reported: str = typer.Option(..., "--reported", help="report time, county time, e.g. 2026-12-02T09:00"),
    icd10: str | None = typer.Option(None, "--icd10", help="the diagnosis code (A22.1 肺炭疽 is reported in 2 h)"),
    output: str = JSON_OR_TABLE,
    locale: str = LOCALE,
) -> None:
    """The delay from diagnosis to report of one case against its reporting limit (the list in force on the
    day of the diagnosis)."""
    tr = Translator(normalize_locale(locale))
    try:
        _check_format(output)
        when_diagnosed = _county_time(diagnosed, "diagnosed")
        when_reported = _county_time(reported, "reported")
        found = _disease(disease, clock.local_date(when_diagnosed))
        delay = report_delay(found, diagnosed=when_diagnosed, reported=when_reported, icd10=icd10)
    except InvalidInput as exc:
        _fail(exc, tr)
    values: dict[str, Any] = {"disease": delay.disease, "limit_hours": delay.limit_hours,
                              "delay_hours": delay.delay_hours, "late": delay.late}
    if output == "json":
        typer.echo(json.dumps(values, ensure_ascii=False))
        return
    shown = {**values, "disease": f"{found.name(tr.locale)} ({found.code})", "late": _yes_no(delay.late, tr)}
    typer.echo(_table([tr(f"surveillance.columns.{k}") for k in DELAY_KEYS], [[str(shown[k]) for k in DELAY_KEYS]]))


@app.command("diseases")
def diseases_command(
    on: str | None = typer.Option(None, "--on", help="the day (default: today, county time)"),
    output: str = typer.Option("table", "--format", help="json | table"),
    locale: str = LOCALE,
) -> None:
    """The notifiable diseases listed on a day: code, class, name, ICD-10, reporting limit, methods."""
    tr = Translator(normalize_locale(locale))
    try:
        _check_format(output)
        try:
            day = date.fromisoformat(on.strip()) if on else clock.today()
        except ValueError:
            raise InvalidInput("on", _E + "bad_time", value=on) from None
        try:
            edition = rules.edition_on(day)
        except LookupError:
            raise InvalidInput("on", _E + "no_edition", on=day.isoformat()) from None
    except InvalidInput as exc:
        _fail(exc, tr)
    items = [{"code": d.code, "class": d.disease_class, "managed_as_a": d.managed_as_a, "name": d.name(tr.locale),
              "icd10": [s.text for s in d.icd10], "limit_hours": d.report_limit_hours,
              "methods": list(d.methods.names())} for d in edition.diseases]
    if output == "json":
        typer.echo(json.dumps({"edition": edition.id, "on": day.isoformat(), "diseases": items},
                              ensure_ascii=False, indent=2))
        return
    typer.echo(tr("surveillance.cli.edition", edition=edition.name, valid_from=edition.valid_from.isoformat(),
                  on=day.isoformat(), a=len(edition.of_class("A")), b=len(edition.of_class("B")),
                  c=len(edition.of_class("C"))))
    body = [[d.code, tr(f"surveillance.classes.{d.disease_class}") + ("*" if d.managed_as_a else ""),
             d.name(tr.locale), " ".join(s.text for s in d.icd10) or "-", str(d.report_limit_hours),
             " ".join(d.methods.names()) or "-"] for d in edition.diseases]
    typer.echo(_table(["code", "class", "name", "ICD-10", "h", "methods"], body))


@app.command("run")
def run_command(
    as_of: str | None = typer.Option(None, "--as-of", help="the last day evaluated (default: today, county time)"),
    days: int = typer.Option(1, "--days", help="the days evaluated, ending --as-of (a daily run: 1)"),
    output: str = JSON_OR_TABLE,
    locale: str = LOCALE,
) -> None:
    """The daily early-warning run: every disease in force with early-warning methods, every township and the
    county, the last --days days; stores each new signal once (a re-run adds nothing)."""
    tr = Translator(normalize_locale(locale))
    try:
        _check_format(output)
        try:
            day = date.fromisoformat(as_of.strip()) if as_of else clock.today()
        except ValueError:
            raise InvalidInput("as_of", _E + "bad_time", value=as_of) from None
        with unit_of_work(_sessionmaker()) as session:
            result = signals_service.run(session=session, as_of=day, days=days,
                                         counts=signals_service.daily_counts, actor=Actor.system("cli"))
    except InvalidInput as exc:
        _fail(exc, tr)
    values = {"as_of": result.as_of.isoformat(), "days": result.days, "series": result.series,
              "signals_found": result.signals_found, "signals_new": result.signals_new}
    if output == "json":
        typer.echo(json.dumps(values, ensure_ascii=False))
        return
    typer.echo(tr("surveillance.signals.cli.run", **values))


_sessionmaker = settings_sessionmaker  # tests replace it with their own transaction's
