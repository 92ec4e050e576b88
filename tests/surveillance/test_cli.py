"""`weijian surveillance detect | check-delay | diseases` through Typer's runner: the JSON contract, refusals
naming the field and the line (exit 2, Chinese by default, English with --locale en), county time."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from weijian.cli import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, ["surveillance", *args])


@pytest.fixture()
def counts_file(tmp_path):
    def write(text: str):
        path = tmp_path / "counts.csv"
        path.write_text(text, encoding="utf-8")
        return str(path)
    return write


# A baseline of mean 1 and sample standard deviation 1, then 4 cases: C1 = 3, exactly at the threshold.
EARS_FILE = "date,count\n" + "".join(f"2026-11-{d:02d},{n}\n" for d, n in zip(range(1, 9), (0, 0, 0, 1, 2, 2, 2, 4), strict=True))


def test_detect_json_rows_have_the_contract_keys(counts_file):
    """Issue 16: JSON rows {"date", "method", "value", "threshold", "signal"} for every date with enough history."""
    result = run("detect", "--method", "ears-c1", "--counts", counts_file(EARS_FILE), "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows == [{"date": "2026-11-08", "method": "ears-c1", "value": 3, "threshold": 3, "signal": False}]


def test_detect_takes_the_threshold_and_window_options(counts_file):
    """Cluster with --threshold 2 --window-days 3: cases on 1 and 3 December share the window ending the 3rd."""
    path = counts_file("date,count\n2026-12-01,1\n2026-12-03,1\n2026-12-05,0\n")
    rows = json.loads(run("detect", "--method", "cluster", "--counts", path, "--threshold", "2", "--window-days", "3",
                          "--format", "json").stdout)
    assert [(r["date"], r["value"], r["signal"]) for r in rows] == [
        ("2026-12-03", 2, True), ("2026-12-04", 1, False), ("2026-12-05", 1, False)]
    rows = json.loads(run("detect", "--method", "ears-c1", "--counts", counts_file(EARS_FILE), "--threshold", "2.5",
                          "--format", "json").stdout)
    assert rows[0]["signal"] is True and rows[0]["threshold"] == 2.5


def test_detect_table_is_in_chinese_by_default(counts_file):
    result = run("detect", "--method", "fixed", "--counts", counts_file("2026-12-01,0\n2026-12-02,1\n"),
                 "--format", "table")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["日期", "方法", "数值", "阈值", "信号"]
    assert lines[2].split()[-1] == "否" and lines[3].split()[-1] == "是"


def test_a_negative_count_and_a_bad_date_are_refused_naming_their_lines(counts_file):
    """Issue 16, bad input: a count file with a negative count or a bad date is refused, naming the line."""
    path = counts_file("date,count\n2026-12-01,1\n2026-12-02,-3\n2026-13-01,2\n")
    result = run("detect", "--method", "fixed", "--counts", path)
    assert result.exit_code == 2
    assert "第3行病例数“-3”为负数" in result.stderr
    assert "第4行日期“2026-13-01”不是有效日期" in result.stderr
    result = run("detect", "--method", "fixed", "--counts", path, "--locale", "en")
    assert result.exit_code == 2
    assert 'line 3: the count "-3" is negative' in result.stderr
    assert 'line 4: "2026-13-01" is not a date' in result.stderr


def test_an_unknown_method_or_percentile_out_of_range_is_refused(counts_file):
    path = counts_file(EARS_FILE)
    result = run("detect", "--method", "cusum", "--counts", path)
    assert result.exit_code == 2 and "method" in result.stderr and "cusum" in result.stderr
    result = run("detect", "--method", "moving-percentile", "--counts", path, "--px", "100")
    assert result.exit_code == 2 and "px" in result.stderr


def test_check_delay_example_of_the_issue():
    """传染病信息报告管理规范: class A within 2 hours. Cholera diagnosed 08:00, reported 09:00 the next day: 25 h, late."""
    result = run("check-delay", "--disease", "cholera", "--diagnosed", "2026-12-01T08:00",
                 "--reported", "2026-12-02T09:00", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"disease": "cholera", "limit_hours": 2, "delay_hours": 25.0, "late": True}


def test_a_report_exactly_at_the_limit_is_in_time():
    """"诊断后 … 24小时内进行网络报告": measles reported 24 h after diagnosis is in time, 24 h 1 min is late."""
    def late(reported: str) -> bool:
        out = run("check-delay", "--disease", "measles", "--diagnosed", "2026-12-01T08:00", "--reported", reported)
        return json.loads(out.stdout)["late"]
    assert late("2026-12-02T08:00") is False
    assert late("2026-12-02T08:01") is True


def test_pulmonary_anthrax_is_reported_within_2_hours():
    """传染病防治法 第四条 / 规范: 炭疽中的肺炭疽 (A22.1) takes class A measures and is reported within 2 hours."""
    args = ["check-delay", "--disease", "anthrax", "--diagnosed", "2026-12-01T08:00", "--reported", "2026-12-01T11:00"]
    assert json.loads(run(*args).stdout)["limit_hours"] == 24
    assert json.loads(run(*args, "--icd10", "A22.1").stdout) == {
        "disease": "anthrax", "limit_hours": 2, "delay_hours": 3.0, "late": True}


def test_a_report_before_the_diagnosis_is_refused_naming_reported():
    result = run("check-delay", "--disease", "cholera", "--diagnosed", "2026-12-01T08:00",
                 "--reported", "2026-12-01T07:00")
    assert result.exit_code == 2
    assert "reported：报告时间" in result.stderr and "早于诊断时间" in result.stderr
    result = run("check-delay", "--disease", "cholera", "--diagnosed", "2026-12-01T08:00",
                 "--reported", "2026-12-01T07:00", "--locale", "en")
    assert "reported: the report time" in result.stderr


def test_times_are_county_times_and_the_list_is_the_one_of_the_diagnosis_day():
    """Times without an offset are county time (Asia/Shanghai). 人感染H7N9禽流感 left the list on 2025-09-01 (the
    revised law): diagnosed 2025-08-31 23:30 county time it is known; at 17:30 UTC on the 31st — 01:30 on
    1 September in the county — it is not."""
    known = run("check-delay", "--disease", "h7n9", "--diagnosed", "2025-08-31T23:30", "--reported", "2025-09-01T10:00")
    assert known.exit_code == 0 and json.loads(known.stdout)["delay_hours"] == 10.5
    gone = run("check-delay", "--disease", "h7n9", "--diagnosed", "2025-08-31T17:30+00:00",
               "--reported", "2025-09-01T10:00")
    assert gone.exit_code == 2 and "disease" in gone.stderr and "2025-09-01" in gone.stderr


def test_a_bad_time_is_refused_naming_its_field():
    result = run("check-delay", "--disease", "cholera", "--diagnosed", "yesterday", "--reported", "2026-12-01T07:00")
    assert result.exit_code == 2 and "diagnosed" in result.stderr and "yesterday" in result.stderr


def test_diseases_lists_the_edition_of_a_day():
    """传染病防治法 (2025年修订): 甲类 2, 乙类 27, 丙类 11 from 2025-09-01."""
    data = json.loads(run("diseases", "--on", "2025-09-01", "--format", "json").stdout)
    assert data["edition"] == "law-2025" and len(data["diseases"]) == 40
    text = run("diseases", "--on", "2025-09-01").stdout
    assert "甲类 2 种，乙类 27 种，丙类 11 种" in text


def test_a_missing_count_file_is_refused(tmp_path):
    result = run("detect", "--method", "fixed", "--counts", str(tmp_path / "none.csv"))
    assert result.exit_code == 2 and "无法读取病例数文件" in result.stderr
