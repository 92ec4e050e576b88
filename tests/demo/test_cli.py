"""`weijian demo-data` and `weijian demo-logins`."""
from __future__ import annotations

from datetime import UTC

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests.conftest import savepoint_sessions
from tests.factories import make_county
from weijian.cli import app
from weijian.demo import builder
from weijian.demo import cli as demo_cli
from weijian.demo import county as county_mod
from weijian.immunization.models import BirthRegistration
from weijian.residents.models import Resident

runner = CliRunner()


@pytest.fixture()
def cli_db(session, connection, monkeypatch):
    """The CLI's units of work join the test's transaction (their commits only release savepoints)."""
    factory = savepoint_sessions(connection)
    monkeypatch.setattr(demo_cli, "_sessionmaker", lambda: factory)
    return session


def _count(session) -> int:
    """The residents the builder drew (the newborns the immunization part registers come on top)."""
    return session.scalar(select(func.count()).select_from(Resident).where(
        Resident.id.not_in(select(BirthRegistration.child_id))))


def test_demo_commands_are_registered_under_their_names():
    names = {c.name for c in app.registered_commands}
    assert {"demo-data", "demo-logins"} <= names


def test_demo_data_builds_the_county_and_prints_a_summary_and_the_logins(cli_db):
    r = runner.invoke(app, ["demo-data", "--residents", "300", "--seed", "3"])
    assert r.exit_code == 0, r.output
    assert _count(cli_db) == 300
    assert "236" in r.output and "11" in r.output
    beds, physicians = county_mod.capacity_totals(300)
    assert f"{beds * 1000 / 300:.2f}" in r.output and f"{physicians * 1000 / 300:.2f}" in r.output
    for username in ("cunyi", "xiangzhen", "xianyi", "weijianju", "jikong", "admin", "anquan", "shenji"):
        assert username in r.output
    for part in ("孕产妇：已分娩", "0～6岁儿童：", "老年人：", "家庭医生签约：团队", "严重精神障碍：在册患者", "肺结核：治疗中",
                 "传染病报告卡："):
        assert part in r.output, part
    password, _, village = builder.demo_users()
    assert password in r.output and village in r.output
    first = cli_db.scalar(select(Resident).where(Resident.village_code == village).order_by(Resident.id).limit(1))
    assert first.name in r.output


def test_if_empty_leaves_a_database_with_residents_alone(cli_db):
    builder.build(session=cli_db, residents=200, seed=1, immunization=False)
    before = list(cli_db.scalars(select(Resident.id_number).order_by(Resident.id)))
    r = runner.invoke(app, ["demo-data", "--residents", "500", "--seed", "2", "--if-empty"])
    assert r.exit_code == 0, r.output
    assert "200" in r.output
    assert list(cli_db.scalars(select(Resident.id_number).order_by(Resident.id))) == before


def test_if_empty_leaves_a_database_with_a_registry_but_no_residents_alone(cli_db):
    make_county(cli_db)
    r = runner.invoke(app, ["demo-data", "--residents", "500", "--if-empty"])
    assert r.exit_code == 0, r.output
    assert _count(cli_db) == 0


def test_if_empty_builds_into_an_empty_database(cli_db):
    r = runner.invoke(app, ["demo-data", "--residents", "250", "--if-empty"])
    assert r.exit_code == 0, r.output
    assert _count(cli_db) == 250


def test_demo_data_without_if_empty_refuses_a_database_that_is_not_empty(cli_db):
    make_county(cli_db)
    r = runner.invoke(app, ["demo-data", "--residents", "500"])
    assert r.exit_code == 1
    assert "数据库不是空的" in r.output
    assert _count(cli_db) == 0


def test_demo_data_refuses_zero_residents(cli_db):
    r = runner.invoke(app, ["demo-data", "--residents", "0"])
    assert r.exit_code == 1
    assert "--residents" in r.output


def test_demo_logins_prints_the_users_and_a_resident_to_search_for(cli_db):
    builder.build(session=cli_db, residents=400, seed=5)
    r = runner.invoke(app, ["demo-logins"])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert any("cunyi" in line and "村医" in line and "卫生室" in line for line in lines)
    assert any("xianyi" in line and "英山县人民医院" in line for line in lines)
    assert any("shenji" in line and "审计管理员" in line for line in lines)
    assert "demo-1234" in r.output
    assert "不受密码规则约束" in r.output and "无需双因素认证" in r.output


def test_demo_logins_without_demo_data_says_so(cli_db):
    r = runner.invoke(app, ["demo-logins"])
    assert r.exit_code == 1
    assert "demo-data" in r.output


def test_demo_data_takes_ages_on_today_by_default(cli_db, time_machine):
    from datetime import date, datetime

    time_machine.move_to(datetime(2026, 10, 14, 3, 0, tzinfo=UTC), tick=False)
    r = runner.invoke(app, ["demo-data", "--residents", "300", "--seed", "3"])
    assert r.exit_code == 0, r.output
    assert "参照日期 2026-10-14" in r.output
    assert builder.reference_date() < cli_db.scalar(select(func.max(Resident.birth_date))) <= date(2026, 10, 14)


def test_demo_data_takes_a_reference_date(cli_db):
    from datetime import date

    r = runner.invoke(app, ["demo-data", "--residents", "300", "--reference-date", "2026-09-01"])
    assert r.exit_code == 0, r.output
    assert cli_db.scalar(select(func.max(Resident.birth_date))) <= date(2026, 9, 1)


@pytest.mark.parametrize(("value", "message"), [("2026-13-01", "不是有效日期"), ("2025-01-01", "早于演示数据")])
def test_demo_data_refuses_a_bad_reference_date(cli_db, value, message):
    r = runner.invoke(app, ["demo-data", "--residents", "300", "--reference-date", value])
    assert r.exit_code == 1
    assert "--reference-date" in r.output and message in r.output
    assert _count(cli_db) == 0
