"""`weijian referrals`: the referral area's daily job (expire accepted referrals whose patient never came)."""
from __future__ import annotations

import typer

from weijian.core.db import settings_sessionmaker
from weijian.core.i18n import Translator

app = typer.Typer(help="Two-way referral: daily jobs.", no_args_is_help=True)


@app.command("expire")
def expire(lang: str = typer.Option("zh_CN", "--lang", help="zh_CN | en")) -> None:
    """Store as expired each accepted referral whose patient has not arrived within referrals.yaml's
    arrival_days (run daily; the pages and arrival already treat such a referral as expired)."""
    from weijian.care.referrals import service
    from weijian.core.actor import Actor
    from weijian.core.db import unit_of_work

    with unit_of_work(_sessionmaker()) as session:
        expired = service.expire(session=session, actor=Actor.system("cli"))
        ids = [r.id for r in expired]
    typer.echo(Translator(lang)("care.referrals.cli.expired", count=len(ids),
                                ids=", ".join(map(str, ids)) or "-"))


_sessionmaker = settings_sessionmaker  # tests replace it with their own transaction's
