"""`weijian mental classify`: a follow-up's class and next visit (规范 第三版 分类干预, worked by hand in
test_mental_rules.py) and a refusal naming the field."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from weijian.cli import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, ["mental", "classify", *args])


def test_unstable_is_referred_and_seen_again_within_two_weeks():
    result = run("--risk", "3", "--date", "2026-12-08", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"class": "unstable", "next_visit": "2026-12-22", "refer": True,
                                         "rule_version": 1}


def test_stable_is_seen_again_in_three_calendar_months():
    result = run("--risk", "0", "--social-function", "fair", "--date", "2026-11-30", "--format", "json")
    assert json.loads(result.stdout)["class"] == "stable"
    assert json.loads(result.stdout)["next_visit"] == "2027-02-28"


def test_an_unknown_answer_is_refused_naming_the_field():
    result = run("--risk", "0", "--insight", "some", "--locale", "en")
    assert result.exit_code == 1
    assert "insight" in result.output and "Unknown option" in result.output
