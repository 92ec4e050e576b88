"""`weijian childcare due`: the JSON rows of issue 17 (check, age, from, to, status), `--done CHECK:DATE`, and
refusals naming the field (windows hand-worked in test_childcare_rules.py)."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from weijian.cli import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, ["childcare", "due", *args])


def test_json_rows_for_the_issue_example():
    result = run("--birth-date", "2026-01-15", "--as-of", "2026-12-06", "--format", "json",
                 "--done", "m8:2026-09-20", "--done", "m1:2026-02-13")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [list(r) for r in rows[:1]] == [["check", "age", "from", "to", "status"]]
    assert len(rows) == 13
    by = {r["check"]: r for r in rows}
    assert by["m1"] == {"check": "m1", "age": "28-30 days", "from": "2026-02-12", "to": "2026-02-14",
                        "status": "done"}
    assert by["m3"]["status"] == "overdue" and by["m8"]["status"] == "done"
    assert by["m12"] == {"check": "m12", "age": "12 months", "from": "2026-12-31", "to": "2027-02-14",
                         "status": "upcoming"}


def test_text_output_is_in_chinese_by_default():
    result = run("--birth-date", "2026-01-15", "--as-of", "2026-12-06")
    assert result.exit_code == 0, result.output
    assert "10 月龄" in result.stdout and "满月" in result.stdout and "逾期" in result.stdout


def test_a_child_of_seven_is_refused_naming_the_field():
    result = run("--birth-date", "2019-12-06", "--as-of", "2026-12-06", "--format", "json")
    assert result.exit_code == 1
    assert "birth_date:" in result.stderr and "7岁" in result.stderr


def test_a_bad_done_pair_is_refused_naming_the_field():
    result = run("--birth-date", "2026-01-15", "--as-of", "2026-12-06", "--done", "m4:2026-05-01",
                 "--done", "m3:2025-12-31", "--locale", "en")
    assert result.exit_code == 1
    assert result.stderr.count("done:") == 2 and "before the birth" in result.stderr
