"""`weijian orgunits ...`: print the org-unit tree with its figures, list facilities."""
from __future__ import annotations

import typer
from sqlalchemy.orm import Session, sessionmaker

from weijian.core.db import make_engine, make_sessionmaker, unit_of_work
from weijian.core.errors import DomainError, InvalidInput
from weijian.core.i18n import Translator
from weijian.core.settings import Settings
from weijian.orgunits import service as orgunits_service
from weijian.orgunits.models import Facility

app = typer.Typer(help="Org units (county, townships, villages) and health facilities", no_args_is_help=True)


def _sessions() -> tuple[sessionmaker[Session], Settings]:
    """The unit-of-work factory and settings (tests replace this to share their transaction)."""
    settings = Settings()
    return make_sessionmaker(make_engine(settings)), settings


def _translator(lang: str | None, settings: Settings) -> Translator:
    return Translator(lang or settings.default_locale)


def _fail(exc: DomainError, tr: Translator) -> None:
    """A refusal as one translated line on stderr, exit status 2 (bad input) or 1."""
    if isinstance(exc, InvalidInput):
        for e in exc.errors:
            typer.echo(f"{tr.field(e.field)}: {tr(e.reason_key, **e.params)}", err=True)
    else:
        typer.echo(tr(exc.message_key, **exc.params), err=True)
    raise typer.Exit(2 if isinstance(exc, InvalidInput) else 1)


def _facility_line(f: Facility, tr: Translator, indent: str = "") -> str:
    types = orgunits_service.type_labels(tr.locale)
    grades = orgunits_service.grade_labels(tr.locale)
    return (f"{indent}* {f.name} {f.code} [{types.get(f.type, f.type)} · {grades.get(f.grade or '', f.grade or '')}"
            f" · {tr('orgunits.roles.' + f.community_role)}] "
            f"{tr('orgunits.labels.beds')} {f.beds_approved}/{f.beds_open}, "
            f"{tr('orgunits.labels.physicians')} {f.physicians}, "
            f"{tr('orgunits.labels.assistant_physicians')} {f.assistant_physicians}")


def _print_node(node: orgunits_service.TreeNode, tr: Translator, depth: int) -> None:
    indent = "  " * depth
    u = node.unit
    kind = f" ({tr('orgunits.kinds.' + u.kind)})" if u.kind else ""
    typer.echo(f"{indent}{u.name} {u.code}{kind} — {tr('orgunits.cli.figures', **node.totals.as_dict())}")
    for f in node.facilities:
        typer.echo(_facility_line(f, tr, indent + "  "))
    for child in node.children:
        _print_node(child, tr, depth + 1)


@app.command("tree")
def tree(code: str | None = typer.Option(None, help="Only this org unit and what lies under it"),
         lang: str | None = typer.Option(None, help="zh_CN or en")) -> None:
    """Print county → townships → villages with each facility and the totals of beds and physicians."""
    factory, settings = _sessions()
    tr = _translator(lang, settings)
    with unit_of_work(factory) as session:
        try:
            if code is not None:
                orgunits_service.get_or_raise(session=session, code=code)
            roots = orgunits_service.tree(session=session, root_code=code)
        except DomainError as exc:
            _fail(exc, tr)
        for root in roots:
            _print_node(root, tr, 0)


@app.command("facilities")
def facilities(type: str | None = typer.Option(None, "--type", help="Facility type code, e.g. village_clinic"),
               under: str | None = typer.Option(None, help="Only facilities inside this org unit"),
               lang: str | None = typer.Option(None, help="zh_CN or en")) -> None:
    """List facilities, tab-separated: code, name, type, grade, role, org unit, beds, physicians."""
    factory, settings = _sessions()
    tr = _translator(lang, settings)
    with unit_of_work(factory) as session:
        try:
            rows = orgunits_service.list_facilities(session=session, type=type, under=under)
        except DomainError as exc:
            _fail(exc, tr)
        if not rows:
            typer.echo(tr("orgunits.cli.facilities_none"))
            return
        types = orgunits_service.type_labels(tr.locale)
        grades = orgunits_service.grade_labels(tr.locale)
        header = ["facility_code", "facility_name", "type", "grade", "community_role", "orgunit_code",
                  "beds_approved", "beds_open", "physicians", "assistant_physicians"]
        typer.echo("\t".join(tr(f"orgunits.labels.{h}") for h in header))
        for f in rows:
            typer.echo("\t".join(str(v) for v in (
                f.code, f.name, types.get(f.type, f.type), grades.get(f.grade or "", f.grade or ""),
                tr(f"orgunits.roles.{f.community_role}"), f.orgunit_code, f.beds_approved, f.beds_open,
                f.physicians, f.assistant_physicians)))
