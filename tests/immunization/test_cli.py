"""`weijian immunization due`: exact JSON keys and order, the Chinese table, errors naming the entry."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from weijian.cli import app

runner = CliRunner()
KEYS = ["vaccine", "dose", "status", "recommended_date", "earliest_date", "overdue_date", "given_date", "flags"]
EXAMPLE = ["immunization", "due", "--birth-date", "2025-03-10", "--given", "HepB:1:2025-03-10",
           "--given", "BCG:1:2025-03-11", "--as-of", "2025-06-01"]


def run(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, list(args), env=env)


def test_json_output_has_exactly_the_contract_keys_in_order():
    result = run(*EXAMPLE, "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows and all(list(r) == KEYS for r in rows)
    assert rows[0] == {"vaccine": "HepB", "dose": 1, "status": "given", "recommended_date": "2025-03-10",
                       "earliest_date": "2025-03-10", "overdue_date": "2025-03-11", "given_date": "2025-03-10",
                       "flags": []}
    assert {r["status"] for r in rows} <= {"given", "due", "overdue", "upcoming"}
    assert all(r["given_date"] is None for r in rows if r["status"] != "given")


def test_an_invalid_dose_is_listed_with_its_reason_and_its_slot_is_due_again():
    """2021年版: "程序表所列接种时间是可接种该剂次的最小年龄" (MMR 8月龄). An MMR at 7 months is shown
    invalid with the reason, and MMR dose 1's slot as due, not given (issue 14 item 7)."""
    args = ["immunization", "due", "--birth-date", "2025-01-10", "--given", "MMR:1:2025-08-10",
            "--as-of", "2025-09-15"]
    rows = json.loads(run(*args, "--format", "json").stdout)
    mmr = [r for r in rows if r["vaccine"] == "MMR"]
    assert sorted((r["status"], r["given_date"] or "", r["flags"]) for r in mmr) == [
        ("due", "", []), ("invalid", "2025-08-10", ["early", "before_min_age"]), ("upcoming", "", [])]
    text = run(*args, "--format", "text").stdout
    assert "无效剂次" in text and "早于最小接种月龄，不计入有效剂次" in text


def test_json_rows_are_ordered_by_earliest_date_then_schedule_order():
    rows = json.loads(run(*EXAMPLE, "--format", "json").stdout)
    assert [r["earliest_date"] for r in rows] == sorted(r["earliest_date"] for r in rows)
    pairs = [(r["vaccine"], r["dose"]) for r in rows]
    assert pairs[:5] == [("HepB", 1), ("BCG", 1), ("HepB", 2), ("IPV", 1), ("DTaP", 1)]


def test_doses_no_longer_given_are_left_out_unless_asked_for():
    args = ["immunization", "due", "--birth-date", "2020-01-10", "--as-of", "2025-06-01", "--format", "json"]
    rows = json.loads(run(*args).stdout)
    assert ("BCG", 1) not in {(r["vaccine"], r["dose"]) for r in rows}
    rows = json.loads(run(*args, "--include-not-applicable").stdout)
    bcg = next(r for r in rows if r["vaccine"] == "BCG")
    assert bcg["status"] == "not_applicable" and bcg["earliest_date"] is None and rows[-1]["status"] == "not_applicable"


def test_text_output_is_a_chinese_table():
    result = run(*EXAMPLE, "--format", "text")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "疫苗" in lines[1] and "最早可接种日期" in lines[1]
    assert any(line.startswith("乙肝疫苗（HepB）") and "已接种" in line for line in lines)
    assert any("应种" in line for line in lines)


def test_a_bad_history_is_refused_in_chinese_naming_the_entry_without_traceback():
    result = run("immunization", "due", "--birth-date", "2025-03-10", "--given", "HepB:1:2025-03-10",
                 "--given", "HepB:2:2025-03-01", "--as-of", "2025-06-01", "--format", "json")
    assert result.exit_code == 1
    assert "given[1]" in result.stderr and "HepB:2:2025-03-01" in result.stderr
    assert "早于" in result.stderr and "Traceback" not in result.output
    assert result.stdout == ""


def test_a_malformed_given_value_is_refused_naming_it():
    result = run("immunization", "due", "--birth-date", "2025-03-10", "--given", "HepB:1",
                 "--as-of", "2025-06-01")
    assert result.exit_code == 1
    assert "given[0]" in result.stderr and "疫苗:剂次:日期" in result.stderr


def test_a_bad_date_or_format_is_refused():
    result = run("immunization", "due", "--birth-date", "2025-02-30", "--as-of", "2025-06-01")
    assert result.exit_code == 1 and "birth_date" in result.stderr and "2025-02-30" in result.stderr
    result = run(*EXAMPLE, "--format", "xml")
    assert result.exit_code == 1 and "json" in result.stderr


def test_the_overdue_rule_is_a_setting():
    rows = json.loads(run(*EXAMPLE, "--format", "json",
                          env={"WEIJIAN_IMMUNIZATION_OVERDUE_RULE": "recommended+30d"}).stdout)
    hepb2 = next(r for r in rows if (r["vaccine"], r["dose"]) == ("HepB", 2))
    assert hepb2["overdue_date"] == "2025-05-10" and hepb2["status"] == "overdue"


def test_schedule_command_lists_the_editions_and_their_sources():
    result = run("immunization", "schedule")
    assert result.exit_code == 0, result.output
    assert "nip-2021" in result.stdout and "nip-2025" in result.stdout
    assert "关于国家免疫规划百白破疫苗和白破疫苗免疫程序调整相关工作的通知" in result.stdout
