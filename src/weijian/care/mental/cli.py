"""`weijian mental ...`: the class of a follow-up and its next visit from the form's answers (no database)."""
from __future__ import annotations

import json
from datetime import date

import typer

from weijian.care.mental import rules
from weijian.core import clock
from weijian.core.errors import InvalidInput
from weijian.core.i18n import Translator, normalize_locale

app = typer.Typer(help="Severe mental illness: a follow-up's class and next visit (严重精神障碍患者管理)",
                  no_args_is_help=True)
_E = "care.mental.errors."


@app.command("classify")
def classify_command(
    risk: int = typer.Option(..., "--risk", min=0, max=5, help="危险性评估 0–5"),
    symptoms: str = typer.Option("gone", "--symptoms", help="gone | present | marked"),
    insight: str = typer.Option("recovered", "--insight", help="recovered | partial | absent"),
    social_function: str = typer.Option("good", "--social-function", help="good | fair | poor"),
    adverse: bool = typer.Option(False, "--severe-adverse-reaction"),
    physical: bool = typer.Option(False, "--severe-physical-illness"),
    on: str | None = typer.Option(None, "--date", help="The follow-up's day (default: today, county time)"),
    output: str = typer.Option("text", "--format", help="json | text"),
    locale: str = typer.Option("zh_CN", "--locale", help="zh_CN | en"),
) -> None:
    """分类干预 of one follow-up: stable (3 months), basically stable (2 weeks) or unstable (refer, 2 weeks)."""
    tr = Translator(normalize_locale(locale))
    r = rules.rules()
    try:
        if output not in ("json", "text"):
            raise InvalidInput("format", _E + "output_format", value=output)
        for field, value, known in (("symptoms", symptoms, r.symptoms), ("insight", insight, r.insight),
                                    ("social_function", social_function, r.social_function)):
            if value not in known:
                raise InvalidInput(field, _E + "answer_unknown", value=value)
        try:
            day = date.fromisoformat(on.strip()) if on else clock.today()
        except ValueError:
            raise InvalidInput("date", _E + "date_format", value=on) from None
    except InvalidInput as exc:
        typer.echo(tr("care.mental.cli.error_title"), err=True)
        for e in exc.errors:
            typer.echo(f"  {e.field}: {tr(e.reason_key, **e.params)}", err=True)
        raise typer.Exit(1) from None
    klass = rules.classify(risk_grade=risk, symptoms=symptoms, insight=insight, social_function=social_function,
                           severe_adverse_reaction=adverse, severe_physical_illness=physical)
    nxt = rules.next_visit(klass, day)
    refer = r.classes[klass].refer
    if output == "json":
        typer.echo(json.dumps({"class": klass, "next_visit": nxt.isoformat(), "refer": refer,
                               "rule_version": r.version}, ensure_ascii=False))
        return
    typer.echo(tr("care.mental.cli.heading", date=day.isoformat(), klass=r.classes[klass].label(tr.locale),
                  next=nxt.isoformat()))
    if refer:
        typer.echo("  " + tr("care.mental.cli.refer"))
