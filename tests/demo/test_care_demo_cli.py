"""`weijian demo-data` also builds the care of the 24 months up to today and says what it wrote (separate from
test_care_demo.py, whose module-wide transaction would keep this test's connection waiting)."""
from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, select
from typer.testing import CliRunner

from tests.conftest import savepoint_sessions
from weijian.care.models import Encounter, Referral
from weijian.cli import app
from weijian.core import clock
from weijian.demo import care as demo_care
from weijian.demo import cli as demo_cli

runner = CliRunner()


def test_demo_data_writes_the_care_up_to_today_and_prints_its_counts(session, connection, monkeypatch,
                                                                     time_machine):
    # 20:00 UTC on 6 December is already 7 December in the county: the care runs up to the county's today.
    time_machine.move_to(datetime(2026, 12, 6, 20, 0, tzinfo=UTC), tick=False)
    factory = savepoint_sessions(connection)
    monkeypatch.setattr(demo_cli, "_sessionmaker", lambda: factory)
    r = runner.invoke(app, ["demo-data", "--residents", "400", "--seed", "2"])
    assert r.exit_code == 0, r.output
    planned = demo_care.planned_counts(400)
    visits = session.scalar(select(func.count()).select_from(Encounter).where(Encounter.type == "outpatient"))
    assert visits == planned["outpatient"] == 2000
    assert session.scalar(select(func.count()).select_from(Referral)) > 0
    first, last = demo_care.window(clock.today())
    assert last == date(2026, 12, 7)
    assert session.scalar(select(func.max(Encounter.start_date))) <= last
    assert f"{first} 至 {last} 诊疗数据" in r.output and f"{visits}" in r.output
