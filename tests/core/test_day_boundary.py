"""The county's day, not the server's: from 16:00 to 24:00 UTC Asia/Shanghai is already on the next day.

Each case runs at 15:59, 16:00, 20:30 and 23:59 UTC (issue 11): the demo builder's default reference date,
and a newborn born "today" at 00:30 or 23:30 county time, registered through the newborn bundle and the
residents service. A baby is accepted when its birth is not in the county's future (5 minutes' slack for
clocks, as the bundle allows).
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from typer.testing import CliRunner

from tests import factories as f
from tests.conftest import savepoint_sessions
from tests.immunization import newborn_setup as ns
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.commands import build
from weijian.core.errors import InvalidInput
from weijian.immunization.newborn import service as newborn_service
from weijian.immunization.newborn.schemas import NewbornCreate
from weijian.residents import service as residents_service

UTC = UTC
DAY = date(2026, 12, 6)
RUN_TIMES = [datetime.combine(DAY, time(h, m), tzinfo=UTC) for h, m in ((15, 59), (16, 0), (20, 30), (23, 59))]


def _ids(moment: datetime) -> str:
    return moment.strftime("%H%MZ")


@pytest.mark.parametrize("run_at", RUN_TIMES, ids=_ids)
def test_the_demo_builder_takes_the_countys_today_at_any_hour(run_at, session, connection, monkeypatch,
                                                                time_machine):
    from weijian.cli import app
    from weijian.demo import cli as demo_cli

    factory = savepoint_sessions(connection)
    monkeypatch.setattr(demo_cli, "_sessionmaker", lambda: factory)
    time_machine.move_to(run_at)
    county_day = (run_at + timedelta(hours=8)).date()
    result = CliRunner().invoke(app, ["demo-data", "--residents", "200", "--seed", "5"])
    assert result.exit_code == 0, result.output
    assert f"参照日期 {county_day.isoformat()}" in result.output


@pytest.fixture()
def s(session):
    return ns.build(session)


@pytest.mark.parametrize("run_at", RUN_TIMES, ids=_ids)
@pytest.mark.parametrize("born", ["00:30", "23:30"])
def test_a_baby_born_today_in_the_county_is_registered_at_any_hour(session, s, time_machine, run_at, born):
    time_machine.move_to(run_at, tick=False)
    today = (run_at + timedelta(hours=8)).date()
    born_at = datetime.combine(today, time.fromisoformat(born), tzinfo=clock.zone())
    values = ns.form(s, birth_date=today.isoformat(), birth_time=born)
    if born_at <= run_at + timedelta(minutes=5):
        birth = newborn_service.register_newborn(session=session, newborn_in=build(NewbornCreate, values),
                                                 actor=s.actor)
        assert birth.born_at == born_at and clock.local_date(birth.born_at) == today
    else:
        with pytest.raises(InvalidInput) as exc:
            newborn_service.register_newborn(session=session, newborn_in=build(NewbornCreate, values),
                                             actor=s.actor)
        assert [e.field for e in exc.value.errors] == ["birth_time"]


@pytest.mark.parametrize("run_at", RUN_TIMES, ids=_ids)
def test_a_resident_born_on_the_countys_today_is_accepted_and_tomorrow_refused(session, time_machine, run_at):
    f.make_county(session)
    time_machine.move_to(run_at, tick=False)
    today = (run_at + timedelta(hours=8)).date()
    system = Actor.system("test")
    child = residents_service.create(session=session, actor=system, resident_in=build(residents_service.ResidentCreate, dict(
        name="今天生", sex="female", birth_date=today, village_code=f.VILLAGE_A1)))
    assert child.birth_date == today
    with_id = residents_service.create(session=session, actor=system, resident_in=build(residents_service.ResidentCreate, dict(
        name="有证号", id_number=f.new_id_number(birth=today), village_code=f.VILLAGE_A1)))
    assert with_id.birth_date == today
    with pytest.raises(InvalidInput) as exc:
        residents_service.create(session=session, actor=system, resident_in=build(residents_service.ResidentCreate, dict(
            name="明天生", sex="male", birth_date=today + timedelta(days=1), village_code=f.VILLAGE_A1)))
    assert [e.field for e in exc.value.errors] == ["birth_date"]
