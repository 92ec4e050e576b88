"""`weijian indicators list` and `weijian indicators compute`, against the test's own transaction."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests import factories as f
from tests.conftest import savepoint_sessions
from tests.indicators import world
from weijian.cli import app
from weijian.core.settings import Settings
from weijian.indicators import cli as indicators_cli
from weijian.residents.models import Resident

runner = CliRunner()


@pytest.fixture()
def county(session, connection, monkeypatch):
    world.build(session)
    session.flush()
    factory = savepoint_sessions(connection)
    monkeypatch.setattr(indicators_cli, "_sessions", lambda: (factory, Settings(environment="test")))


def test_list_prints_each_indicator():
    result = runner.invoke(app, ["indicators", "list"])
    assert result.exit_code == 0, result.output
    assert any(line.startswith("beds_per_1000\tcapacity\t每千常住人口") for line in result.output.splitlines())


def test_compute_json_rows_carry_the_figures(county):
    result = runner.invoke(app, ["indicators", "compute", "--period", "2025", "--level", "township",
                                 "--indicator", "primary_care_share", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    town = next(r for r in rows if r["orgunit"] == f.TOWN_A)
    assert {k: town[k] for k in ("indicator", "period", "numerator", "denominator", "value")} == {
        "indicator": "primary_care_share", "period": "2025", "numerator": 3, "denominator": 5, "value": 60}


def test_compute_xlsx_writes_the_file(county, tmp_path):
    out = tmp_path / "report.xlsx"
    result = runner.invoke(app, ["indicators", "compute", "--period", "2025Q1", "--format", "xlsx",
                                 "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:2] == b"PK"


def test_compute_text_for_an_org_unit(county):
    result = runner.invoke(app, ["indicators", "compute", "--period", "2025", "--orgunit", f.TOWN_B,
                                 "--indicator", "county_retention_rate"])
    assert result.exit_code == 0, result.output
    assert result.output.split("\t")[2:8] == [f.TOWN_B, "南河镇", "2025", "1", "2", "50.00"]


@pytest.mark.parametrize(("args", "says"), [
    (["--period", "2025M3"], "period"),
    (["--period", "2025", "--orgunit", "421124999000"], "orgunit"),
    (["--period", "2025", "--format", "csv"], "format"),
    (["--period", "2025", "--format", "xlsx"], "output"),
])
def test_bad_input_exits_2_naming_it(county, args, says):
    result = runner.invoke(app, ["indicators", "compute", *args])
    assert result.exit_code == 2
    assert says in result.output


def test_tallies_check_passes_then_names_a_difference_that_rebuild_mends(county, session):
    from datetime import date

    from weijian.care.models import Encounter
    from weijian.core import tallies as core_tallies

    ok = runner.invoke(app, ["indicators", "tallies", "check"])
    assert ok.exit_code == 0, ok.output
    assert "tallies agree with the records" in ok.output
    with core_tallies.suspended(session):  # a write that bypassed the tallies
        resident = session.scalar(select(Resident).where(Resident.village_code == f.VILLAGE_A2))
        session.add(Encounter(resident_id=resident.id, facility_id=None, type="inpatient",
                              outside_facility_name="外院", start_date=date(2025, 2, 2)))
        session.flush()
    bad = runner.invoke(app, ["indicators", "tallies", "check"])
    assert bad.exit_code == 1
    session.expire_all()
    assert core_tallies.health(session)["state"] == "drift"  # stored for the dashboard (issue 15 item 15)
    assert core_tallies.last_check(session).differences >= 1
    assert f"enc: enc:inpatient_all m202502 {f.VILLAGE_A2}: tallied 0, counted 1" in bad.output
    fixed = runner.invoke(app, ["indicators", "tallies", "rebuild"])
    assert fixed.exit_code == 0 and "enc:" in fixed.output
    assert runner.invoke(app, ["indicators", "tallies", "check"]).exit_code == 0
    session.expire_all()
    assert core_tallies.health(session) is None


@pytest.mark.parametrize("period, words", [("1990", "没有数据：本县的记录始于"), ("2099", "尚未开始")])
def test_a_period_before_the_records_or_not_begun_is_answered_so_not_with_zeros(county, period, words):
    """Issue 15 item 14: `--period 1990` answers "no data" (the county's records begin later), not 0.0; a
    future period is refused."""
    result = runner.invoke(app, ["indicators", "compute", "--period", period, "--indicator", "primary_care_share"])
    assert result.exit_code != 0
    assert words in result.output and "0.0" not in result.output
