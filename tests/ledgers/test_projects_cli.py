"""`weijian projects progress` through Typer's runner: the JSON contract of issue 18 part 2 on the issue's
own example (hand-worked in test_projects_rules.py), the tolerance option, and refusals naming the field
(exit 2, Chinese by default, English with --locale en)."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from weijian.cli import app

runner = CliRunner()
EXAMPLE = ["--start", "2026-01-01", "--end", "2026-12-31", "--target", "150", "--done", "98",
           "--as-of", "2026-09-30"]


def run(*args: str):
    return runner.invoke(app, ["projects", "progress", *args])


def test_the_issue_example_answers_the_four_keys():
    result = run(*EXAMPLE, "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"expected_share": 0.7479, "actual_share": 0.6533, "expected_done": 112.19,
                                         "status": "behind"}


def test_a_wider_tolerance_puts_it_on_track():
    """0.6533 ≥ 0.7479 − 0.10 = 0.6479: on track with a tolerance of 10 points."""
    result = run(*EXAMPLE, "--tolerance", "0.10", "--format", "json")
    assert json.loads(result.stdout)["status"] == "on_track"


def test_an_end_before_the_start_is_refused_naming_the_field():
    result = run("--start", "2026-12-31", "--end", "2026-01-01", "--target", "150", "--done", "1",
                 "--as-of", "2026-09-30", "--format", "json")
    assert result.exit_code == 2
    assert "ends_on" in result.output and "结束日期不能早于开始日期" in result.output


def test_a_bad_number_is_refused_in_english_with_locale_en():
    result = run("--start", "2026-01-01", "--end", "2026-12-31", "--target", "lots", "--done", "1",
                 "--as-of", "2026-09-30", "--locale", "en")
    assert result.exit_code == 2
    assert "target" in result.output and "Invalid input" in result.output


def test_the_text_format_says_the_status():
    result = run(*EXAMPLE, "--format", "text")
    assert result.exit_code == 0 and "滞后" in result.stdout
