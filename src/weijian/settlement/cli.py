"""`weijian settlement ...`: simulate the settlement cascade for one person's stays, reproduce stored slips,
and check policy files.

`simulate --stays FILE` splits stays given as JSON; `simulate --settlement NUMBER` (or `--resident ID --year Y`,
or `--year Y` for the whole county) settles stored slips again from the same stays, in settlement order, on
the terms each stored (settle.reproduce), and prints what differs; exit 0 when every slip is equal to the fen,
1 otherwise.

`simulate` prints amounts as strings with exactly two decimals ("4080.00") so that they stay exact
Decimals for whoever reads the JSON. Bad input is reported in the chosen language, naming the field,
with exit status 1 and no traceback.
"""
from __future__ import annotations

import json
import sys
import unicodedata
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn

import typer

from weijian.core import clock
from weijian.core.db import settings_sessionmaker
from weijian.core.errors import DomainError, InvalidInput
from weijian.core.i18n import Translator, catalog
from weijian.settlement.settle import engine
from weijian.settlement.settle.rules import (
    POLICY_DIR,
    Policy,
    PolicyInvalid,
    bundled_policies,
    get_policy,
    load_policies,
    load_policy,
    select_policy,
)

app = typer.Typer(help="Settlement: insurance policies and the one-stop settlement cascade", no_args_is_help=True)


class _Fail(Exception):
    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key, self.params = key, params


@app.command("simulate")
def simulate(
    stays: str | None = typer.Option(None, "--stays", help="JSON file (or - for stdin): a list of "
                                     "{date, level, total, in_policy, downward_referral}"),
    policy: str | None = typer.Option(None, "--policy", help="Policy YAML file, or the id of a bundled policy; "
                                      "default: the bundled resident policy in force on the first stay's date"),
    group: str | None = typer.Option(None, "--group", help="特困 / 低保 / 返贫致贫 (or a group code); "
                                     "omit for an ordinary resident"),
    fmt: str = typer.Option("json", "--format", help="json (amounts as strings with 2 decimals) | text (a table)"),
    lang: str = typer.Option("zh_CN", "--lang", help="zh_CN | en"),
    settlement: str | None = typer.Option(None, "--settlement", help="Reproduce this stored slip (结算单号 "
                                          "JS…, or the settlement's id) and the slips it was settled after"),
    resident: int | None = typer.Option(None, "--resident", help="Reproduce every stored slip of this "
                                        "resident's --year"),
    year: int | None = typer.Option(None, "--year", help="With --resident: that year; alone: every stored "
                                    "slip of the year"),
) -> None:
    """Split one person's inpatient stays of one year between the insurers, assistance and the patient; or
    reproduce stored slips and show how they differ from what is stored."""
    tr = Translator(lang)
    if stays is None or settlement is not None or resident is not None or year is not None:
        _reproduce(simulating=any(v is not None for v in (stays, policy, group)), number=settlement,
                   resident=resident, year=year, fmt=fmt, tr=tr)
        return
    try:
        if fmt not in ("json", "text"):
            raise _Fail("settlement.cli.format_invalid", value=fmt)
        parsed = engine.parse_stays(_read_json(stays))
        chosen = _policy(policy, parsed)
        splits = engine.settle_year(chosen, group, parsed)
    except (_Fail, DomainError) as exc:
        _exit_with(exc, tr)
    if fmt == "json":
        typer.echo(json.dumps([_row(s) for s in splits], ensure_ascii=False, indent=2))
    else:
        typer.echo(_table(chosen, group, splits, tr))


@app.command("check-policies")
def check_policies(
    path: Path = typer.Argument(POLICY_DIR, help="A policy file or a directory of them (default: the bundled ones)"),
    lang: str = typer.Option("zh_CN", "--lang", help="zh_CN | en"),
) -> None:
    """Validate policy files; a directory is also checked for overlapping effective dates."""
    tr = Translator(lang)
    try:
        if not path.exists():
            raise _Fail("settlement.cli.file_not_found", path=str(path))
        policies = load_policies(path) if path.is_dir() else (load_policy(path),)
    except (_Fail, DomainError) as exc:
        _exit_with(exc, tr)
    for p in policies:
        typer.echo(f"{p.id}\t{p.scheme}\t{p.effective_from.isoformat()}…"
                   f"{p.effective_to.isoformat() if p.effective_to else ''}\t{p.name}")
    typer.echo(tr("settlement.cli.policy_ok", count=len(policies)))


@app.command("settle-pending")
def settle_pending_command(
    year: int = typer.Option(..., "--year", help="The year whose discharged, unsettled stays are settled"),
    village: str | None = typer.Option(None, "--village", help="Only the stays of one village (12-digit code)"),
    as_user: str | None = typer.Option(None, "--as-user", help="Settle as this user (their permission and area)"),
    lang: str = typer.Option("zh_CN", "--lang", help="zh_CN | en"),
) -> None:
    """Settle every discharged stay of a year not settled yet (a backlog, or stays recorded after discharge),
    in one transaction; a stay the settlement refuses stays pending (settle it alone to see why)."""
    from weijian.accounts import service as accounts_service
    from weijian.core.actor import Actor
    from weijian.core.commands import build
    from weijian.core.db import unit_of_work
    from weijian.settlement.settle import service as settle_service
    from weijian.settlement.settle.schemas import PendingIn

    tr = Translator(lang)
    try:
        with unit_of_work(_sessionmaker()) as session:
            actor = Actor.system("cli")
            if as_user:
                user = accounts_service.get_by_username(session=session, username=as_user)
                if user is None or not user.is_active:
                    raise _Fail("settlement.cli.user_unknown", username=as_user)
                actor = accounts_service.actor_for(user)
            pending_in = build(PendingIn, {"year": year, "village_code": village})
            count = settle_service.settle_pending(session=session, actor=actor, pending_in=pending_in)
    except (_Fail, DomainError) as exc:
        _exit_with(exc, tr)
    typer.echo(tr("settlement.cli.settled", count=count, year=year))


_sessionmaker = settings_sessionmaker  # tests replace it with their own transaction's


def _reproduce(*, simulating: bool, number: str | None, resident: int | None, year: int | None, fmt: str,
               tr: Translator) -> None:
    from sqlalchemy import select

    from weijian.core.db import unit_of_work
    from weijian.settlement.models import Settlement
    from weijian.settlement.settle import reproduce
    from weijian.settlement.settle.queries import settlement_id_of_number

    try:
        if fmt not in ("json", "text"):
            raise _Fail("settlement.cli.format_invalid", value=fmt)
        if simulating:  # the stored slips' own stays, terms and groups are what is reproduced
            raise _Fail("settlement.cli.reproduce_mixed")
        if number is None and year is None:
            raise _Fail("settlement.cli.resident_needs_year" if resident is not None
                        else "settlement.cli.reproduce_missing")
        with unit_of_work(_sessionmaker()) as session:
            stmt = select(Settlement).order_by(Settlement.resident_id, Settlement.year, Settlement.seq, Settlement.id)
            if number is not None:
                sid = settlement_id_of_number(number)
                found = session.get(Settlement, sid) if sid is not None else None
                if found is None or (number.strip().upper().startswith("JS")
                                     and reproduce.slip_number(found) != number.strip().upper()):
                    raise _Fail("settlement.cli.settlement_unknown", number=number)
                stmt = stmt.where(Settlement.id == found.id)
            if resident is not None:
                stmt = stmt.where(Settlement.resident_id == resident)
            if year is not None:
                stmt = stmt.where(Settlement.year == year)
            rows = list(session.scalars(stmt))
            if not rows:
                raise _Fail("settlement.cli.none_found")
            results = reproduce.reproduce(session, rows)  # a read: writes nothing
    except (_Fail, DomainError) as exc:
        _exit_with(exc, tr)
    different = sum(1 for r in results if not r.equal)
    if fmt == "json":
        typer.echo(json.dumps({
            "equal": different == 0, "count": len(results), "different": different,
            "settlements": [{"settlement_id": r.settlement_id, "number": r.number, "resident_id": r.resident_id,
                             "year": r.year, "seq": r.seq, "status": r.status, "terms": r.terms_source,
                             "equal": r.equal,
                             "differences": [{"field": d.field, "stored": d.stored, "reproduced": d.reproduced}
                                             for d in r.differences]} for r in results]},
            ensure_ascii=False, indent=2))
    else:
        lines = []
        for r in results:
            key = "settlement.cli.reproduce_equal" if r.equal else "settlement.cli.reproduce_different"
            lines.append(tr(key, number=r.number, seq=r.seq, status=tr(f"settlement.settle.status.{r.status}"),
                            terms=tr(f"settlement.cli.terms.{r.terms_source}")))
            lines += [tr("settlement.cli.reproduce_field", field=_field_label(d.field, tr), stored=d.stored or "-",
                         reproduced=d.reproduced or "-") for d in r.differences]
        lines.append(tr("settlement.cli.reproduce_summary", count=len(results), different=different))
        typer.echo("\n".join(lines))
    if different:
        raise typer.Exit(1)


# --- helpers --------------------------------------------------------------------------------------
def _read_json(source: str) -> Any:
    if source == "-":
        text = sys.stdin.read()
    else:
        path = Path(source)
        if not path.is_file():
            raise _Fail("settlement.cli.file_not_found", path=source)
        text = path.read_text(encoding="utf-8-sig")
    try:
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise _Fail("settlement.cli.json_invalid", detail=f"{exc.msg}, line {exc.lineno}") from None


def _policy(spec: str | None, stays: list[engine.Stay]) -> Policy:
    if spec is None:
        first = min((s.date for s in stays if isinstance(s.date, date)), default=clock.today())
        return select_policy(bundled_policies(), "resident", first)
    path = Path(spec)
    if path.is_file():
        return load_policy(path)
    if path.suffix in (".yaml", ".yml") or "/" in spec:
        raise _Fail("settlement.cli.file_not_found", path=spec)
    return get_policy(spec)


def _money(d: Decimal) -> str:
    return f"{d:.2f}"


def _row(split: engine.StaySplit) -> dict[str, Any]:
    s = split.stay
    return {"date": s.date.isoformat(), "level": s.level, "downward_referral": s.downward_referral,
            "in_policy": _money(s.in_policy), **{k: _money(v) for k, v in split.amounts().items()}}


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _table(policy: Policy, group: str | None, splits: list[engine.StaySplit], tr: Translator) -> str:
    code = engine.resolve_group(group)
    columns = ["date", "level", "total", *engine.PARTS]
    header = [tr(f"settlement.fields.{c}") for c in columns]
    rows = [[s.stay.date.isoformat(), tr(f"settlement.levels.{s.stay.level}"),
             *(_money(v) for v in s.amounts().values())] for s in splits]
    sums = [sum((getattr(s, c) for s in splits), Decimal("0.00")) for c in ["total", *engine.PARTS]]
    rows.append([tr("settlement.cli.sum"), "", *(_money(v) for v in sums)])
    widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(len(columns))]

    def line(cells: list[str]) -> str:
        out = []
        for i, cell in enumerate(cells):
            pad = " " * (widths[i] - _width(cell))
            out.append(cell + pad if i < 2 else pad + cell)  # text left, money right
        return "  ".join(out).rstrip()

    group_label = (group or "").strip() if code else tr("settlement.cli.ordinary")
    lines = [tr("settlement.cli.policy_line", name=policy.name, id=policy.id),
             tr("settlement.cli.group_line", group=group_label), "", line(header),
             "  ".join("-" * w for w in widths)]
    lines += [line(r) for r in rows[:-1]]
    lines += ["  ".join("-" * w for w in widths), line(rows[-1]), "", tr("settlement.cli.unit")]
    return "\n".join(lines)


def _field_label(path: str, tr: Translator) -> str:
    """`stays[1].in_policy` → `stays[1].in_policy（政策范围内费用）`: the path, and its label when known."""
    last = path.rsplit(".", 1)[-1].split("[", 1)[0]
    key = f"settlement.fields.{last}"
    if key in catalog(tr.locale):
        return f"{path}（{tr(key)}）" if tr.locale == "zh_CN" else f"{path} ({tr(key)})"
    return path


def _exit_with(exc: Exception, tr: Translator) -> NoReturn:
    zh = tr.locale == "zh_CN"
    sep, gap = ("：", "") if zh else (": ", " ")
    if isinstance(exc, _Fail):
        lines = [tr("settlement.cli.error") + gap + tr(exc.key, **exc.params)]
    elif isinstance(exc, PolicyInvalid):
        lines = [tr("settlement.cli.invalid_policy") + (f" {exc.source}" if exc.source else "")]
        lines += [f"  {e.field}{sep}{tr(e.reason_key, **e.params)}" for e in exc.errors]
    elif isinstance(exc, InvalidInput):
        lines = [tr("settlement.cli.invalid_input")]
        lines += [f"  {_field_label(e.field, tr)}{sep}{tr(e.reason_key, **e.params)}" for e in exc.errors]
    else:
        assert isinstance(exc, DomainError)
        lines = [tr("settlement.cli.error") + gap + tr(exc.message_key, **exc.params)]
    typer.echo("\n".join(lines), err=True)
    raise typer.Exit(1)
