"""`weijian settlement simulate` and `check-policies`, through the top-level `weijian` command."""
from __future__ import annotations

import json

import yaml
from typer.testing import CliRunner

from weijian.cli import app
from weijian.settlement.settle.rules import POLICY_DIR

runner = CliRunner()
STAYS = [
    {"date": "2024-05-01", "level": "city", "total": 150000, "in_policy": 150000, "downward_referral": False},
    {"date": "2024-03-01", "level": "township", "total": "5000.00", "in_policy": 5000},
]
PARTS = ["total", "out_of_policy", "deductible", "basic_pays", "critical_illness_pays", "assistance_pays",
         "patient_pays"]


def stays_file(tmp_path, stays=STAYS, name="stays.json"):
    path = tmp_path / name
    path.write_text(json.dumps(stays, ensure_ascii=False), encoding="utf-8")
    return str(path)


def simulate(*args):
    return runner.invoke(app, ["settlement", "simulate", *args])


def test_simulate_prints_the_split_of_each_stay_in_date_order_as_exact_strings(tmp_path):
    result = simulate("--stays", stays_file(tmp_path), "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["date"] for r in rows] == ["2024-03-01", "2024-05-01"]
    assert {k: rows[0][k] for k in PARTS} == {
        "total": "5000.00", "out_of_policy": "0.00", "deductible": "200.00", "basic_pays": "4080.00",
        "critical_illness_pays": "0.00", "assistance_pays": "0.00", "patient_pays": "920.00"}
    assert rows[1]["level"] == "city" and rows[1]["basic_pays"] == "89460.00"
    assert rows[1]["critical_illness_pays"] == "31249.00"  # the township share of 920 counts too


def test_simulate_with_an_explicit_policy_file_and_a_group(tmp_path):
    policy = str(POLICY_DIR / "huanggang-resident-2022.yaml")
    result = simulate("--policy", policy, "--group", "低保", "--stays", stays_file(tmp_path, STAYS[:1]))
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)
    assert row["critical_illness_pays"] == "36978.00"
    assert row["assistance_pays"] == "16493.40"  # (60,540 − 36,978) × 70 %
    assert row["patient_pays"] == "7068.60"


def test_group_may_be_given_by_code_and_policy_by_id(tmp_path):
    by_name = simulate("--group", "特困", "--stays", stays_file(tmp_path))
    by_code = simulate("--group", "extreme_poverty", "--policy", "huanggang-resident-2022",
                       "--stays", stays_file(tmp_path))
    assert by_name.exit_code == by_code.exit_code == 0
    assert json.loads(by_name.stdout) == json.loads(by_code.stdout)
    assert all(r["patient_pays"] == r["out_of_policy"] for r in json.loads(by_code.stdout))


def test_text_format_prints_a_chinese_table_with_totals(tmp_path):
    result = simulate("--stays", stays_file(tmp_path), "--group", "低保", "--format", "text")
    assert result.exit_code == 0, result.output
    out = result.stdout
    for label in ("黄冈市城乡居民基本医疗保险住院待遇", "人群：低保", "基本医保", "大病保险", "医疗救助",
                  "个人支付", "合计", "乡镇（一级）", "金额单位：元"):
        assert label in out
    total_line = next(line for line in out.splitlines() if line.startswith("合计"))
    assert "155000.00" in total_line and "93540.00" in total_line


def test_text_format_in_english(tmp_path):
    result = simulate("--stays", stays_file(tmp_path), "--format", "text", "--lang", "en")
    assert result.exit_code == 0
    assert "Patient pays" in result.stdout and "ordinary resident" in result.stdout


def test_in_policy_above_total_is_refused_in_chinese_naming_the_field(tmp_path):
    bad = [STAYS[0], {**STAYS[1], "in_policy": "5000.01"}]
    result = simulate("--stays", stays_file(tmp_path, bad))
    assert result.exit_code == 1
    assert "stays[1].in_policy（政策范围内费用）：政策范围内费用不能大于总费用" in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_every_bad_field_is_listed(tmp_path):
    bad = [{"date": "2024-02-30", "level": "city", "total": -1, "in_policy": "abc", "inpolicy": 1}, 7]
    result = simulate("--stays", stays_file(tmp_path, bad))
    assert result.exit_code == 1
    for field in ("stays[0].date", "stays[0].total", "stays[0].in_policy", "stays[0].inpolicy", "stays[1]"):
        assert field in result.stderr


def test_unknown_level_is_refused(tmp_path):
    result = simulate("--stays", stays_file(tmp_path, [{**STAYS[0], "level": "village"}]))
    assert result.exit_code == 1
    assert "stays[0].level" in result.stderr and "township, county, city" in result.stderr


def test_unknown_group_is_refused(tmp_path):
    result = simulate("--stays", stays_file(tmp_path), "--group", "穷人")
    assert result.exit_code == 1
    assert "人群“穷人”" in result.stderr and "group" in result.stderr


def test_missing_or_malformed_stays_file_is_refused(tmp_path):
    missing = simulate("--stays", str(tmp_path / "none.json"))
    assert missing.exit_code == 1 and "文件不存在" in missing.stderr
    broken = tmp_path / "broken.json"
    broken.write_text("[{", encoding="utf-8")
    result = simulate("--stays", str(broken))
    assert result.exit_code == 1 and "不是有效的 JSON" in result.stderr
    not_list = simulate("--stays", stays_file(tmp_path, {"date": "2024-01-01"}))
    assert not_list.exit_code == 1 and "stays" in not_list.stderr


def test_stays_when_no_policy_is_in_force_are_refused(tmp_path):
    result = simulate("--stays", stays_file(tmp_path, [{**STAYS[0], "date": "2021-06-01"}]))
    assert result.exit_code == 1 and "2021-06-01" in result.stderr


def test_bad_format_is_refused(tmp_path):
    result = simulate("--stays", stays_file(tmp_path), "--format", "xml")
    assert result.exit_code == 1 and "xml" in result.stderr


def test_invalid_policy_file_is_refused_naming_the_key(tmp_path):
    data = yaml.safe_load((POLICY_DIR / "huanggang-resident-2022.yaml").read_text(encoding="utf-8"))
    data["basic"]["levels"]["county"]["rate"] = 1.5
    policy = tmp_path / "p.yaml"
    policy.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = simulate("--policy", str(policy), "--stays", stays_file(tmp_path))
    assert result.exit_code == 1
    assert "basic.levels.county.rate：比例应在 0 到 1 之间" in result.stderr
    checked = runner.invoke(app, ["settlement", "check-policies", str(tmp_path)])
    assert checked.exit_code == 1 and "p.yaml: basic.levels.county.rate" in checked.stderr


def test_check_policies_accepts_the_bundled_policies():
    result = runner.invoke(app, ["settlement", "check-policies"])
    assert result.exit_code == 0, result.output
    assert "huanggang-resident-2022" in result.stdout
