"""`weijian childcare ...`: the check schedule of one child from its birth date (no database)."""
from __future__ import annotations

import json
from datetime import date

import typer

from weijian.care.childcare import rules
from weijian.core import clock
from weijian.core.errors import FieldError, InvalidInput
from weijian.core.i18n import Translator, normalize_locale

app = typer.Typer(help="Child health 0–6: the check schedule (0～6岁儿童健康管理)", no_args_is_help=True)
_E = "care.childcare.errors."


def _parse_date(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except (ValueError, AttributeError):
        raise InvalidInput(field, _E + "date_format", value=value) from None


def parse_done(values: list[str], birth: date, as_of: date) -> dict[str, date]:
    """`CHECK:DATE` pairs (`m3:2026-04-20`): each check known, given once, dated from the birth to `as_of`."""
    known = rules.rules().codes
    out: dict[str, date] = {}
    errors: list[FieldError] = []
    for raw in values:
        code, sep, day = raw.partition(":")
        code = code.strip()
        if not sep or code not in known:
            errors.append(FieldError("done", _E + "done_format", {"value": raw, "codes": ", ".join(known)}))
            continue
        try:
            on = date.fromisoformat(day.strip())
        except ValueError:
            errors.append(FieldError("done", _E + "date_format", {"value": raw}))
            continue
        if code in out:
            errors.append(FieldError("done", _E + "done_twice", {"value": code}))
        elif on < birth:
            errors.append(FieldError("done", _E + "check_before_birth", {"value": raw}))
        elif on > as_of:
            errors.append(FieldError("done", _E + "done_after_as_of", {"value": raw, "date": as_of.isoformat()}))
        else:
            out[code] = on
    if errors:
        raise InvalidInput(errors=errors)
    return out


@app.command("due")
def due_command(
    birth_date: str = typer.Option(..., "--birth-date", help="The child's birth date, e.g. 2026-01-15"),
    as_of: str | None = typer.Option(None, "--as-of", help="The day to judge on (default: today, county time)"),
    done: list[str] = typer.Option([], "--done", help="A check recorded, CHECK:DATE (m3:2026-04-20); repeatable"),
    discharged: str | None = typer.Option(None, "--discharged", help="Discharge after birth (newborn visit)"),
    output: str = typer.Option("text", "--format", help="json | text"),
    locale: str = typer.Option("zh_CN", "--locale", help="zh_CN | en (text output and messages)"),
) -> None:
    """Every check of 0～6岁儿童健康管理 with its window and its status (done / due / overdue / upcoming)."""
    tr = Translator(normalize_locale(locale))
    try:
        if output not in ("json", "text"):
            raise InvalidInput("format", _E + "output_format", value=output)
        birth = _parse_date(birth_date, "birth_date")
        on = _parse_date(as_of, "as_of") if as_of else clock.today()
        out = _parse_date(discharged, "discharged") if discharged else None
        if birth > on:
            raise InvalidInput("birth_date", _E + "birth_future", date=on.isoformat())
        if on >= rules.seventh_birthday(birth):
            raise InvalidInput("birth_date", _E + "over_six", date=on.isoformat())
        if out is not None and not birth <= out <= on:
            raise InvalidInput("discharged", _E + "discharged_range")
        given = parse_done(done, birth, on)
    except InvalidInput as exc:
        typer.echo(tr("care.childcare.cli.error_title"), err=True)
        for e in exc.errors:
            typer.echo(f"  {e.field}: {tr(e.reason_key, **e.params)}", err=True)
        raise typer.Exit(1) from None
    rows = rules.schedule(birth, on, given, out)
    if output == "json":
        typer.echo(json.dumps([{"check": s.check, "age": s.age, "from": s.start.isoformat(), "to": s.end.isoformat(),
                                "status": s.status} for s in rows], ensure_ascii=False, indent=2))
        return
    typer.echo(tr("care.childcare.cli.heading", birth=birth.isoformat(), as_of=on.isoformat(),
                  months=rules.age_months(birth, on)))
    r = rules.rules()
    for s in rows:
        typer.echo(f"  {s.check:<8}{r.check(s.check).label(tr.locale)}  {s.start.isoformat()} – {s.end.isoformat()}"
                   f"  {tr('care.childcare.statuses.' + s.status)}")
