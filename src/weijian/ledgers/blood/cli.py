"""`weijian blood next --birth-date D --last KIND:DATE …`: the first days a whole-blood and a platelet
donation may follow a donor's earlier donations (GB 18467-2011 as data/blood.yaml gives it), and whether
the donor is within the age limits on a day. No database. A refusal names the field and exits with 2."""
from __future__ import annotations

import json
from datetime import date

import typer

from weijian.core import clock
from weijian.core.errors import ErrorCollector, InvalidInput
from weijian.core.i18n import Translator, normalize_locale
from weijian.ledgers.blood import rules

app = typer.Typer(help="Voluntary blood donation: intervals and age limits (无偿献血, GB 18467-2011)",
                  no_args_is_help=True)
_E = "ledgers.blood.errors."


def _day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(field, "core.errors.validation.date_parsing") from None


@app.command("next")
def next_command(
    birth_date: str = typer.Option(..., "--birth-date", help="the donor's birth date, e.g. 1990-02-28"),
    last: list[str] = typer.Option([], "--last", help="an earlier donation, KIND:DATE (whole_blood:2026-08-31)"),
    reaction: bool = typer.Option(False, "--reaction", help="an earlier donation had an adverse reaction"),
    as_of: str | None = typer.Option(None, "--as-of", help="the day to judge the age on (default: today)"),
    output: str = typer.Option("json", "--format", help="json | text"),
    locale: str = typer.Option("zh_CN", "--locale", help="zh_CN | en"),
) -> None:
    """The first day of each kind of donation after the donations given, the age on the day and whether it
    is within the limits (to 60 for a repeat donor without a reaction)."""
    tr = Translator(normalize_locale(locale))
    errs = ErrorCollector()
    born = day = None
    donations: list[tuple[str, date]] = []
    try:
        born = _day(birth_date, "birth_date")
        day = _day(as_of, "as_of") if as_of else clock.today()
    except InvalidInput as exc:
        errs.extend(exc)
    for i, item in enumerate(last):
        kind, _, when = item.partition(":")
        if kind not in rules.KINDS:
            errs.add(f"last.{i}", _E + "kind_unknown", value=kind, known=", ".join(rules.KINDS))
            continue
        try:
            donations.append((kind, _day(when, f"last.{i}")))
        except InvalidInput as exc:
            errs.extend(exc)
    if output not in ("json", "text"):
        errs.add("format", _E + "kind_unknown", value=output, known="json, text")
    if errs.errors:
        sep = "：" if tr.locale == "zh_CN" else ": "
        for e in errs.errors:
            typer.echo(f"  {e.field}{sep}{tr(e.reason_key, **e.params)}", err=True)
        raise typer.Exit(2)
    assert born is not None and day is not None
    limits = rules.rules().age
    age = rules.age_on(born, day)
    top = limits.repeat_max if donations and not reaction else limits.max
    values: dict[str, object] = {
        kind: (max(rules.earliest_next(k, d, kind) for k, d in donations).isoformat() if donations else None)
        for kind in rules.KINDS}
    values.update(age=age, within_age=limits.min <= age <= top, as_of=day.isoformat())
    if output == "json":
        typer.echo(json.dumps(values, ensure_ascii=False))
        return
    for kind in rules.KINDS:
        typer.echo(f"{tr('ledgers.blood.kinds.' + kind)}: {values[kind] or '—'}")
    typer.echo(f"{tr('ledgers.blood.columns.age')}: {age} ({'✓' if values['within_age'] else '✗'})")
