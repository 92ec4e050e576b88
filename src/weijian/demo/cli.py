"""`weijian demo-data` builds the demo county into an empty database; `weijian demo-logins` prints the
demo users (known passwords: DEMO ONLY) and where to start looking.

Both are registered as top-level commands by src/weijian/cli.py.
"""
from __future__ import annotations

import time
from datetime import date
from typing import Annotated

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from weijian.core import clock
from weijian.core.errors import DomainError, InvalidInput
from weijian.core.i18n import Translator
from weijian.core.settings import Settings

PROGRESS_EVERY = 100_000


def _sessionmaker() -> sessionmaker[Session]:
    """The database of WEIJIAN_* settings, its schema brought to the latest revision first (tests
    replace this with their own transaction)."""
    from weijian.core.db import make_engine, make_sessionmaker
    from weijian.core.migrate import upgrade

    engine = make_engine(Settings())
    upgrade(engine)  # a no-op when the schema is current; `make run` has run `weijian db upgrade` already
    return make_sessionmaker(engine)


def _tr() -> Translator:
    return Translator(Settings().default_locale)


def demo_data(
    residents: Annotated[int, typer.Option(help="Number of residents (400,000 for the full county)")] = 40000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed and size build the same county")] = 1,
    if_empty: Annotated[bool, typer.Option("--if-empty", help="Do nothing when the database already has "
                                                              "residents or org units")] = False,
    reference_date: Annotated[str, typer.Option(
        "--reference-date", help="Day the residents' ages and the children's vaccinations are taken on "
                                 "(YYYY-MM-DD; default: today in the county)")] = "",
) -> None:
    """Build the deterministic demo county (Yingshan, Hubei) into an empty database, then print the
    demo logins. The same size, seed and reference date build the same county."""
    from weijian.core.db import unit_of_work
    from weijian.demo import builder

    tr = _tr()
    from weijian.core.settings import Settings

    if Settings().environment == "production":  # demo accounts with printed passwords: never there
        typer.echo(tr("demo.errors.production"), err=True)
        raise typer.Exit(1)
    try:
        reference = date.fromisoformat(reference_date.strip()) if reference_date.strip() else clock.today()
    except ValueError:
        typer.echo("--reference-date: " + tr("demo.errors.reference_date_format", value=reference_date), err=True)
        raise typer.Exit(1) from None
    factory = _sessionmaker()
    if if_empty:
        with unit_of_work(factory) as session:
            units, people = builder.existing_rows(session)
        if units or people:
            typer.echo(tr("demo.cli.skipped", residents=people, orgunits=units))
            return
    typer.echo(tr("demo.cli.building", residents=residents, seed=seed, reference=reference.isoformat()))
    shown = [0]

    def progress(count: int) -> None:
        if count // PROGRESS_EVERY > shown[0]:
            shown[0] = count // PROGRESS_EVERY
            typer.echo(tr("demo.cli.progress", count=count))

    start = time.perf_counter()
    try:
        with unit_of_work(factory) as session:
            summary = builder.build(session=session, residents=residents, seed=seed, progress=progress,
                                    reference=reference)
    except InvalidInput as exc:
        for e in exc.errors:
            typer.echo(f"--{e.field.replace('_', '-')}: {tr(e.reason_key, **e.params)}", err=True)
        raise typer.Exit(1) from None
    except DomainError as exc:
        typer.echo(tr(exc.message_key, **exc.params), err=True)
        raise typer.Exit(1) from None
    typer.echo(tr("demo.cli.summary", seconds=f"{time.perf_counter() - start:.1f}", townships=summary.townships,
                  villages=summary.villages, facilities=summary.facilities, residents=summary.residents,
                  households=summary.households, beds_per_1000=f"{summary.beds_per_1000:.2f}",
                  physicians_per_1000=f"{summary.physicians_per_1000:.2f}"))
    if summary.care is not None:
        typer.echo(tr("care.demo.cli.summary", **vars(summary.care)))
    if getattr(summary, "settlement", None) is not None:
        typer.echo(tr("settlement.demo.cli.summary", **{**vars(summary.settlement),
                                                        "budget": f"{summary.settlement.budget:,.2f}",
                                                        "spent": f"{summary.settlement.spent:,.2f}"}))
    if summary.immunization is not None:
        typer.echo(tr("immunization.newborn.demo_summary", **vars(summary.immunization)))
    # The basic public-health package and surveillance, one line each (what was built, so that the pages can
    # be checked against it).
    for key, part in (("maternal", summary.maternal), ("childcare", summary.childcare),
                      ("elderly", summary.elderly), ("contracts", summary.contracts), ("mental", summary.mental),
                      ("tb", summary.tb)):
        if part is not None:
            typer.echo(tr(f"demo.cli.parts.{key}", **vars(part)))
    if summary.surveillance is not None:
        typer.echo(tr("demo.cli.parts.surveillance", cards=summary.surveillance.cards,
                      late=summary.surveillance.late, first=summary.surveillance.first.isoformat(),
                      last=summary.surveillance.last.isoformat()))
    with unit_of_work(factory) as session:
        _print_logins(session, tr)


def demo_logins() -> None:
    """Print the demo users, their role and area, and a resident to search for (passwords: DEMO ONLY)."""
    from weijian.core.db import unit_of_work

    tr = _tr()
    with unit_of_work(_sessionmaker()) as session:
        if not _print_logins(session, tr):
            raise typer.Exit(1)


def _print_logins(session: Session, tr: Translator) -> bool:
    from weijian.accounts import service as accounts_service
    from weijian.demo import builder
    from weijian.orgunits import service as orgunits_service
    from weijian.residents.models import Resident

    password, users, village_code = builder.demo_users()
    found = [(spec, accounts_service.get_by_username(session=session, username=spec["username"])) for spec in users]
    found = [(spec, user) for spec, user in found if user is not None]
    if not found:
        typer.echo(tr("demo.cli.no_users"), err=True)
        return False
    typer.echo(tr("demo.cli.logins_header", password=password))
    for _spec, user in found:
        unit = orgunits_service.get(session=session, code=user.orgunit_code)
        facility = None
        if user.facility_id is not None:
            facility = orgunits_service.get_facility(session=session, facility_id=user.facility_id)
        typer.echo(tr("demo.cli.login_line", username=user.username.ljust(10), role=tr(f"roles.{user.role}"),
                      orgunit=unit.name if unit else "", code=user.orgunit_code,
                      facility=f"  {facility.name}" if facility else ""))
    doctor = next((user for spec, user in found if spec["orgunit"] == "demo_village"), None)
    if doctor is not None:
        village = orgunits_service.get(session=session, code=doctor.orgunit_code)
        # Demo data only: the first resident of the village, a name to type into the search box.
        resident = session.scalar(select(Resident).where(Resident.village_code == doctor.orgunit_code)
                                  .order_by(Resident.id).limit(1))
        params = dict(role=tr(f"roles.{doctor.role}"), username=doctor.username,
                      village=village.name if village else village_code, code=doctor.orgunit_code)
        if resident is None:
            typer.echo(tr("demo.cli.village_empty", **params))
        else:
            typer.echo(tr("demo.cli.village_hint", name=resident.name, initials=resident.name_initials, **params))
    return True
