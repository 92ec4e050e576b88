"""`weijian elderly ...`: score a 中医体质辨识 form or a self-care assessment (no database)."""
from __future__ import annotations

import json

import typer

from weijian.care.elderly import rules, service
from weijian.core.errors import ErrorCollector, InvalidInput
from weijian.core.i18n import Translator, normalize_locale

app = typer.Typer(help="The elderly 65+ and TCM health management (老年人健康管理)", no_args_is_help=True)
_E = "care.elderly.errors."


def _fail(tr: Translator, exc: InvalidInput) -> None:
    typer.echo(tr("care.elderly.cli.error_title"), err=True)
    for e in exc.errors:
        typer.echo(f"  {e.field}: {tr(e.reason_key, **e.params)}", err=True)
    raise typer.Exit(1)


@app.command("constitution")
def constitution_command(
    answers: str = typer.Option(..., "--answers", help="33 answers 1–5, comma-separated, question 1 first"),
    output: str = typer.Option("text", "--format", help="json | text"),
    locale: str = typer.Option("zh_CN", "--locale", help="zh_CN | en (text output and messages)"),
) -> None:
    """The nine constitutions' scores and judgements (是 / 倾向是 / 基本是 / 否) of a 33-question form, by the
    体质判定标准表 of 国家基本公共卫生服务规范（第三版）."""
    tr = Translator(normalize_locale(locale))
    try:
        if output not in ("json", "text"):
            raise InvalidInput("format", _E + "output_format", value=output)
        errs = ErrorCollector()
        ok = service.check_answers(rules.parse_answers(answers), errs)
        errs.raise_if_any()
    except InvalidInput as exc:
        _fail(tr, exc)
    assert ok is not None
    res = rules.constitution(ok)
    if output == "json":
        typer.echo(json.dumps({"scores": res.scores, "verdicts": res.verdicts, "identified": res.identified(),
                               "main": res.main, "rule_version": res.version}, ensure_ascii=False, indent=2))
        return
    t = rules.tcm()
    for c in t.all():
        mark = "*" if c.code == res.main else " "
        verdict = tr("care.elderly.verdicts." + res.verdicts[c.code])
        typer.echo(f"{mark} {c.label(tr.locale)}  {res.scores[c.code]:>2}  {verdict}")


@app.command("self-care")
def self_care_command(
    levels: str = typer.Option(..., "--levels", help="five levels: eating,grooming,dressing,toileting,activity "
                                                     "(independent | mild | moderate | dependent)"),
    output: str = typer.Option("text", "--format", help="json | text"),
    locale: str = typer.Option("zh_CN", "--locale", help="zh_CN | en"),
) -> None:
    """The 生活自理能力评估's scores, total and band from the level of each of the five items."""
    tr = Translator(normalize_locale(locale))
    r = rules.rules()
    given = [p.strip() for p in levels.split(",")]
    try:
        errs = ErrorCollector()
        if output not in ("json", "text"):
            errs.add("format", _E + "output_format", value=output)
        chosen: dict[str, str] = {}
        for i, it in enumerate(r.items):
            lv = given[i] if i < len(given) and given[i] else None
            if lv is None:
                errs.add(it.code, "core.errors.validation.missing")
            elif lv not in it.levels():
                errs.add(it.code, _E + "level_not_on_form", value=lv, item=f"@care.elderly.items.{it.code}")
            else:
                chosen[it.code] = lv
        errs.raise_if_any()
    except InvalidInput as exc:
        _fail(tr, exc)
    s = rules.self_care(chosen)
    if output == "json":
        typer.echo(json.dumps({"scores": s.scores, "total": s.total, "band": s.band, "rule_version": s.version},
                              ensure_ascii=False, indent=2))
        return
    typer.echo(f"{s.total}  {r.band(s.total).label(tr.locale)}")
