"""`weijian residents import` and `weijian residents check-id`."""
from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests import factories as f
from tests.conftest import savepoint_sessions
from tests.residents.test_import import family, person, write_xlsx
from weijian.accounts.models import AuditEvent
from weijian.cli import app as weijian_app
from weijian.core.identifiers import make_id_number
from weijian.residents import cli as residents_cli
from weijian.residents.models import Resident

runner = CliRunner()


def check_id(*args: str):
    return runner.invoke(weijian_app, ["residents", "check-id", *args])


# --- check-id ------------------------------------------------------------------------------------------
def test_check_id_text_for_a_valid_number():
    result = check_id("11010519491231002X")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == ["有效", "出生日期：1949-12-31", "性别：女", "地区代码：110105",
                                          "18 位号码：11010519491231002X"]


def test_check_id_json_for_a_valid_number_accepts_lower_case_x():
    result = check_id("11010519491231002x", "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"valid": True, "birth_date": "1949-12-31", "sex": "female",
                                         "division": "110105", "normalized": "11010519491231002X"}


def test_check_id_converts_a_15_digit_number():
    result = check_id("421124800517101", "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"valid": True, "birth_date": "1980-05-17", "sex": "male",
                                         "division": "421124",
                                         "normalized": make_id_number("421124", date(1980, 5, 17), 101)}
    text = check_id("421124800517101")
    assert "（由 15 位旧号码转换）" in text.stdout


@pytest.mark.parametrize(("number", "message"), [
    ("110105194912310021", "身份证号校验位错误"),
    ("11010519491331002X", "身份证号中的出生日期不是有效日期"),
    ("12345", "身份证号格式不正确（应为 18 位，最后一位可为 X；或 15 位旧号码）"),
])
def test_check_id_for_an_invalid_number_says_why_and_exits_0(number, message):
    as_json = check_id(number, "--format", "json")
    assert as_json.exit_code == 0
    assert json.loads(as_json.stdout) == {"valid": False, "error": message}
    as_text = check_id(number)
    assert as_text.exit_code == 0
    assert as_text.stdout.strip() == f"无效：{message}"


def test_check_id_refuses_an_unknown_format():
    assert check_id("11010519491231002X", "--format", "xml").exit_code == 2


# --- import --------------------------------------------------------------------------------------------
@pytest.fixture()
def cli_db(monkeypatch, connection, session, county):
    """The CLI's sessions join the test's transaction (their commits only release savepoints)."""
    factory = savepoint_sessions(connection)
    monkeypatch.setattr(residents_cli, "_sessionmaker", lambda: factory)
    return session


def import_(*args: str):
    return runner.invoke(weijian_app, ["residents", "import", *map(str, args)])


def residents_count(session) -> int:
    return session.scalar(select(func.count()).select_from(Resident))


def test_import_prints_the_counts_and_exits_0(cli_db, tmp_path):
    path = write_xlsx(tmp_path / "roster.xlsx", family())
    result = import_(path)
    assert result.exit_code == 0, result.output
    assert "共 3 行：新建居民 3 人，已登记（未改动）0 人，新建家庭户 1 户，有错误 0 行" in result.stdout
    assert residents_count(cli_db) == 3
    event = cli_db.scalar(select(AuditEvent).where(AuditEvent.action == "import"))
    assert (event.username, event.basis) == ("cli", "system")

    again = import_(path)
    assert again.exit_code == 0
    assert "新建居民 0 人，已登记（未改动）3 人" in again.stdout
    assert residents_count(cli_db) == 3


def test_refused_import_exits_1_names_the_row_and_writes_the_report(cli_db, tmp_path):
    rows = family()
    rows[1]["联系电话"] = "123"
    report = tmp_path / "errors.xlsx"
    result = import_(write_xlsx(tmp_path / "roster.xlsx", rows), "--report", report)
    assert result.exit_code == 1
    assert "文件中有 1 行错误（共 3 行），未导入任何数据" in result.stderr
    assert "第 3 行「联系电话」：联系电话格式不正确" in result.stderr
    assert str(report) in result.stderr
    assert report.exists()
    assert residents_count(cli_db) == 0


def test_skip_invalid_import_exits_0_and_names_the_rejected_rows_file(cli_db, tmp_path):
    rows = family() + [person("坏行", relation="", 联系电话="1")]
    result = import_(write_xlsx(tmp_path / "roster.xlsx", rows), "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert "新建居民 3 人" in result.stdout and "有错误 1 行" in result.stdout
    assert str(tmp_path / "roster_未导入的行.xlsx") in result.stdout
    assert residents_count(cli_db) == 3


def test_import_of_a_file_without_a_required_column_exits_1(cli_db, tmp_path):
    path = write_xlsx(tmp_path / "r.xlsx", family(), ["姓名", "身份证号"])
    result = import_(path)
    assert result.exit_code == 1
    assert "缺少必需的列：性别、出生日期" in result.stderr


def test_import_of_a_missing_file_exits_1(cli_db, tmp_path):
    result = import_(tmp_path / "nothing.xlsx")
    assert result.exit_code == 1
    assert "文件不存在" in result.stderr


def test_import_as_a_user_applies_their_permission_and_area(cli_db, tmp_path):
    doctor = f.make_user(cli_db, "township_doctor", f.TOWN_A)
    rows = [person("甲", relation="", village=f.VILLAGE_A1), person("乙", relation="", village=f.VILLAGE_B1)]
    path = write_xlsx(tmp_path / "r.xlsx", rows)
    refused = import_(path, "--as-user", doctor.username)
    assert refused.exit_code == 1
    assert "第 3 行「所属村」：该村不在您的管辖范围内" in refused.stderr

    village_doctor = f.make_user(cli_db, "village_doctor", f.VILLAGE_A1)
    forbidden = import_(write_xlsx(tmp_path / "a.xlsx", rows[:1]), "--as-user", village_doctor.username)
    assert forbidden.exit_code == 1
    assert "resident:import" in forbidden.stderr

    ok = import_(write_xlsx(tmp_path / "a.xlsx", rows[:1]), "--as-user", doctor.username)
    assert ok.exit_code == 0, ok.output
    event = cli_db.scalar(select(AuditEvent).where(AuditEvent.action == "import"))
    assert (event.username, event.basis) == (doctor.username, "own_township")


def test_import_as_an_unknown_user_exits_1(cli_db, tmp_path):
    result = import_(write_xlsx(tmp_path / "r.xlsx", family()), "--as-user", "nobody")
    assert result.exit_code == 1
    assert "用户“nobody”不存在或已停用" in result.stderr
    assert residents_count(cli_db) == 0
