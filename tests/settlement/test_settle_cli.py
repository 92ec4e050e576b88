"""`weijian settlement settle-pending`: the year's discharged, unsettled stays settled in one transaction."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests import factories as f
from tests.conftest import savepoint_sessions
from tests.settlement.settle_setup import build
from weijian.cli import app
from weijian.core import tallies as core_tallies
from weijian.settlement import cli as settlement_cli
from weijian.settlement.models import Settlement

runner = CliRunner()


@pytest.fixture()
def world(monkeypatch, connection, session):
    factory = savepoint_sessions(connection)
    monkeypatch.setattr(settlement_cli, "_sessionmaker", lambda: factory)
    return build(session)


def live(session) -> list[Settlement]:
    return list(session.scalars(select(Settlement).where(Settlement.status == "settled").order_by(Settlement.id)))


def test_settle_pending_settles_the_years_stays_and_leaves_other_years(world, session) -> None:
    person = f.make_resident(session, village_code=f.VILLAGE_A1, insurance_scheme="resident")
    f.make_stay(session, person, world.facilities["town_a"], end_date=date(2024, 3, 10), total="5000.00")
    f.make_stay(session, person, world.facilities["town_a"], end_date=date(2025, 1, 5), total="1000.00")
    session.flush()
    result = runner.invoke(app, ["settlement", "settle-pending", "--year", "2024", "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "Settled 1 pending stays of 2024" in result.output
    rows = live(session)
    assert [(r.year, r.basic_pays, r.patient_pays) for r in rows] == [(2024, Decimal("4080.00"), Decimal("920.00"))]
    # Written in bulk outside the ORM: the indicators' payer totals (running tallies, in fen) follow.
    assert core_tallies.check(session, ["settle"]) == []
    assert core_tallies.months(session, ["settle:basic"], "0", "9", 200001, 299912) == {
        ("settle:basic", f.VILLAGE_A1, rows[0].settled_on.year * 100 + rows[0].settled_on.month): 408000}
    again = runner.invoke(app, ["settlement", "settle-pending", "--year", "2024", "--lang", "en"])
    assert "Settled 0 pending stays of 2024" in again.output


def test_settle_pending_as_an_unknown_user_is_refused_and_settles_nothing(world, session) -> None:
    person = f.make_resident(session, village_code=f.VILLAGE_A1, insurance_scheme="resident")
    f.make_stay(session, person, world.facilities["town_a"], end_date=date(2024, 3, 10))
    session.flush()
    result = runner.invoke(app, ["settlement", "settle-pending", "--year", "2024", "--as-user", "nobody"])
    assert result.exit_code == 1
    assert "nobody" in result.output
    assert session.scalar(select(func.count()).select_from(Settlement)) == 0
