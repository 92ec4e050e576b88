"""`weijian contracts due` and `weijian contracts packages`."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from tests import factories as f
from tests.conftest import savepoint_sessions
from weijian.care.contracts import cli as contracts_cli
from weijian.care.contracts import service
from weijian.care.contracts.schemas import ContractSign, TeamCreate
from weijian.cli import app
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.commands import build

runner = CliRunner()
SYSTEM = Actor.system("test")


@pytest.fixture()
def world(monkeypatch, connection, session):
    factory = savepoint_sessions(connection)
    monkeypatch.setattr(contracts_cli, "_sessionmaker", lambda: factory)
    f.make_county(session)
    team = service.create_team(session=session, actor=SYSTEM, team_in=build(TeamCreate, {
        "name": "团队甲", "villages": [f.VILLAGE_A1], "members": [{"role": "nurse", "staff_name": "护士"}]}))
    person = f.make_resident(session, name="到期居民")
    c = service.sign(session=session, actor=SYSTEM, contract_in=build(ContractSign, {
        "resident_id": person.id, "team_id": team.id,
        "signed_on": (clock.today() - timedelta(days=350)).isoformat()}))
    session.flush()
    return c


def test_due_lists_the_contracts_ending_within_the_days(world):
    result = runner.invoke(app, ["contracts", "due", "--format", "json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert [(c["contract_id"], c["state"], c["team"]) for c in body["contracts"]] == [(world.id, "due", "团队甲")]
    none = runner.invoke(app, ["contracts", "due", "--within", "5", "--format", "json"])
    assert json.loads(none.output)["contracts"] == []


def test_a_bad_date_is_refused_naming_the_field(world):
    result = runner.invoke(app, ["contracts", "due", "--as-of", "2026-13-01", "--locale", "en"])
    assert result.exit_code == 1 and "as_of" in result.output


def test_packages_prints_the_basic_package():
    result = runner.invoke(app, ["contracts", "packages", "--locale", "en"])
    assert result.exit_code == 0
    assert json.loads(result.output)["packages"][0]["code"] == "basic"
