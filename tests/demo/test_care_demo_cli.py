"""`weijian demo-data` also builds the year of care and says what it wrote (separate from
test_care_demo.py, whose module-wide transaction would keep this test's connection waiting)."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker
from typer.testing import CliRunner

from weijian.care.models import Encounter, Referral
from weijian.cli import app
from weijian.demo import care as demo_care
from weijian.demo import cli as demo_cli

runner = CliRunner()


def test_demo_data_writes_a_year_of_care_and_prints_its_counts(session, connection, monkeypatch):
    factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    monkeypatch.setattr(demo_cli, "_sessionmaker", lambda: factory)
    r = runner.invoke(app, ["demo-data", "--residents", "400", "--seed", "2"])
    assert r.exit_code == 0, r.output
    planned = demo_care.planned_counts(400)
    visits = session.scalar(select(func.count()).select_from(Encounter).where(Encounter.type == "outpatient"))
    assert visits == planned["outpatient"] == 1000
    assert session.scalar(select(func.count()).select_from(Referral)) > 0
    assert "2025" in r.output and f"{visits}" in r.output
