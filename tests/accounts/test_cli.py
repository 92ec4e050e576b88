"""`weijian users add | list | set-password | deactivate`."""
from __future__ import annotations

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.conftest import savepoint_sessions
from tests.factories import COUNTY, VILLAGE_A1, make_county, make_user
from weijian.accounts import cli as accounts_cli
from weijian.accounts import service as accounts_service
from weijian.accounts.models import AuditEvent
from weijian.cli import app

runner = CliRunner()


@pytest.fixture()
def cli_db(session, connection, monkeypatch):
    """The CLI's unit of work joins the test's transaction (its commits only release savepoints)."""
    make_county(session)
    factory = savepoint_sessions(connection)
    monkeypatch.setattr(accounts_cli, "_sessionmaker", lambda: factory)
    return session


def test_users_add_creates_the_user_and_audits_it(cli_db):
    r = runner.invoke(app, ["users", "add", "li.cunyi", "--role", "village_doctor", "--orgunit", VILLAGE_A1,
                            "--password", "long-enough-1", "--full-name", "李村医"])
    assert r.exit_code == 0, r.output
    assert "li.cunyi" in r.output
    user = accounts_service.get_by_username(session=cli_db, username="li.cunyi")
    assert (user.role, user.orgunit_code, user.full_name) == ("village_doctor", VILLAGE_A1, "李村医")
    assert accounts_service.verify_password(user.password_hash, "long-enough-1")
    event = cli_db.scalar(select(AuditEvent).where(AuditEvent.action == "create",
                                                   AuditEvent.entity_id == str(user.id)))
    assert (event.username, event.role) == ("cli", "system")


def test_users_add_prompts_for_the_password_when_not_given(cli_db):
    r = runner.invoke(app, ["users", "add", "admin2", "--role", "sysadmin", "--orgunit", COUNTY],
                      input="long-enough-2\nlong-enough-2\n")
    assert r.exit_code == 0, r.output
    user = accounts_service.get_by_username(session=cli_db, username="admin2")
    assert accounts_service.verify_password(user.password_hash, "long-enough-2")


def test_users_add_with_bad_values_says_why_and_adds_nothing(cli_db):
    r = runner.invoke(app, ["users", "add", "x.y", "--role", "village_doctor", "--orgunit", COUNTY,
                            "--password", "short"])
    assert r.exit_code == 1
    assert "密码至少 10 位" in r.output
    assert "该角色的管辖单位应为村" in r.output
    assert accounts_service.get_by_username(session=cli_db, username="x.y") is None


def test_users_list_shows_every_user(cli_db):
    a = make_user(cli_db, "village_doctor", VILLAGE_A1)
    b = make_user(cli_db, "sysadmin", COUNTY)
    r = runner.invoke(app, ["users", "list"])
    assert r.exit_code == 0, r.output
    lines = [line.split("\t") for line in r.output.splitlines()]
    assert [a.username, "village_doctor", VILLAGE_A1] in [line[:3] for line in lines]
    assert [b.username, "sysadmin", COUNTY] in [line[:3] for line in lines]


def test_users_set_password_and_deactivate(cli_db):
    user = make_user(cli_db, "village_doctor", VILLAGE_A1)
    r = runner.invoke(app, ["users", "set-password", user.username, "--password", "brand-new-pass-1"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["users", "deactivate", user.username])
    assert r.exit_code == 0, r.output
    cli_db.refresh(user)
    assert accounts_service.verify_password(user.password_hash, "brand-new-pass-1")
    assert not user.is_active
    r = runner.invoke(app, ["users", "deactivate", "nobody-here"])
    assert r.exit_code == 1 and "nobody-here" in r.output


def test_users_cli_uses_the_database_of_the_settings(tmp_path, monkeypatch):
    """End to end, without the test transaction: WEIJIAN_DATABASE_URL names the database."""
    from weijian.core.db import make_engine, make_sessionmaker, unit_of_work
    from weijian.core.migrate import upgrade
    from weijian.core.settings import Settings

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("WEIJIAN_DATABASE_URL", url)
    engine = make_engine(Settings())
    try:
        upgrade(engine)
        with unit_of_work(make_sessionmaker(engine)) as s:
            make_county(s)
        r = runner.invoke(app, ["users", "add", "root", "--role", "sysadmin", "--orgunit", COUNTY,
                                "--password", "long-enough-1"])
        assert r.exit_code == 0, r.output
        r = runner.invoke(app, ["users", "list"])
        assert r.output.startswith("root\tsysadmin\t" + COUNTY)
    finally:
        engine.dispose()
