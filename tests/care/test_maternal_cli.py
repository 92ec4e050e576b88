"""`weijian maternal visits`: the JSON contract of issue 17 and refusals naming the field."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from weijian.cli import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, ["maternal", "visits", *args])


def test_json_has_the_edd_and_the_five_windows_worked_by_hand():
    result = run("--lmp", "2026-03-01", "--as-of", "2026-07-01", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert list(data) == ["edd", "visits"]
    assert data["edd"] == "2026-12-06"
    assert data["visits"] == [
        {"visit": 1, "from": "2026-03-01", "to": "2026-05-30", "status": "overdue"},
        {"visit": 2, "from": "2026-06-21", "to": "2026-07-25", "status": "due"},
        {"visit": 3, "from": "2026-07-26", "to": "2026-08-22", "status": "upcoming"},
        {"visit": 4, "from": "2026-09-13", "to": "2026-11-14", "status": "upcoming"},
        {"visit": 5, "from": "2026-11-15", "to": "2026-12-12", "status": "upcoming"},
    ]


def test_text_output_is_in_chinese_by_default():
    result = run("--lmp", "2026-03-01", "--as-of", "2026-07-01")
    assert result.exit_code == 0, result.output
    assert "预产期 2026-12-06" in result.stdout and "孕 17 周 3 天" in result.stdout and "应访" in result.stdout


def test_an_lmp_in_the_future_is_refused_naming_the_field():
    result = run("--lmp", "2026-07-02", "--as-of", "2026-07-01", "--format", "json")
    assert result.exit_code == 1
    assert "lmp:" in result.stderr and "2026-07-01" in result.stderr


def test_an_lmp_over_44_weeks_ago_and_a_bad_date_are_refused():
    old = run("--lmp", "2025-08-01", "--as-of", "2026-07-01", "--locale", "en")
    assert old.exit_code == 1 and "lmp:" in old.stderr and "44 weeks" in old.stderr
    bad = run("--lmp", "2026-02-30")
    assert bad.exit_code == 1 and "lmp:" in bad.stderr
    fmt = run("--lmp", "2026-03-01", "--format", "xml")
    assert fmt.exit_code == 1 and "format:" in fmt.stderr
