"""`weijian surveillance run`: the daily run from the command line, through the counts hook the composition root
fills (no counts until the case reports are connected); a re-run adds nothing; a bad option names the field."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from tests import factories as f
from tests.conftest import savepoint_sessions
from tests.surveillance import signals_setup as s
from weijian.cli import app
from weijian.surveillance import cli as surveillance_cli
from weijian.surveillance.signals import service

runner = CliRunner()


def test_the_run_stores_new_signals_once_and_says_how_many(connection, monkeypatch):
    monkeypatch.setattr(surveillance_cli, "_sessionmaker", lambda: savepoint_sessions(connection))
    monkeypatch.setattr(service, "daily_counts", s.Provider({("plague", f.TOWN_A): {s.AS_OF: 1}}))
    args = ["surveillance", "run", "--as-of", s.AS_OF.isoformat(), "--days", "3"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout) == {"as_of": s.AS_OF.isoformat(), "days": 3, "series": 1, "signals_found": 1,
                                        "signals_new": 1}
    again = json.loads(runner.invoke(app, args).stdout)
    assert (again["signals_found"], again["signals_new"]) == (1, 0)
    table = runner.invoke(app, [*args, "--format", "table"])
    assert "新增 0 个" in table.stdout


def test_without_case_reports_the_wired_provider_gives_no_counts(connection, monkeypatch):
    monkeypatch.setattr(surveillance_cli, "_sessionmaker", lambda: savepoint_sessions(connection))
    assert service.daily_counts.provided
    result = runner.invoke(app, ["surveillance", "run", "--as-of", s.AS_OF.isoformat()])
    assert result.exit_code == 0 and json.loads(result.stdout)["signals_new"] == 0


def test_bad_options_are_refused_naming_the_field(connection, monkeypatch):
    monkeypatch.setattr(surveillance_cli, "_sessionmaker", lambda: savepoint_sessions(connection))
    result = runner.invoke(app, ["surveillance", "run", "--days", "0", "--locale", "en"])
    assert result.exit_code == 2 and "days" in result.output
    result = runner.invoke(app, ["surveillance", "run", "--as-of", "2026-02-30"])
    assert result.exit_code == 2 and "as_of" in result.output
