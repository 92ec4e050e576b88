"""Training and outreach, the service: a session in a township or village of the user's scope, on a day not
in the future, with at least one person trained; the roll-up sums sessions and people trained (人次) by
township (a village's sessions count to its township) and project over a period, both ends included."""
from __future__ import annotations

from datetime import date

import pytest

from tests import factories as f
from weijian.accounts import service as accounts_service
from weijian.core.commands import build
from weijian.core.errors import InvalidInput
from weijian.ledgers.training import service
from weijian.ledgers.training.schemas import SessionCreate

TODAY = date(2026, 12, 8)
PHONES = "老年人智能手机培训"


@pytest.fixture()
def world(session):
    f.make_county(session)
    town = accounts_service.actor_for(f.make_user(session, "township_doctor", f.TOWN_A))
    bureau = accounts_service.actor_for(f.make_user(session, "bureau_admin", f.COUNTY))
    return town, bureau


def _session(session, actor, on, unit, trained, project=PHONES, **over):
    values = {"held_on": on.isoformat(), "orgunit_code": unit, "project": project, "trained": trained, **over}
    return service.record_session(session=session, session_in=build(SessionCreate, values), actor=actor, today=TODAY)


def test_the_rollup_by_township_and_project_over_a_period(session, world):
    town, bureau = world
    _session(session, town, date(2026, 1, 1), f.VILLAGE_A1, 30)
    _session(session, town, date(2026, 6, 30), f.VILLAGE_A2, 45)
    _session(session, town, date(2026, 6, 30), f.TOWN_A, 12, project="健康素养讲座")
    _session(session, bureau, date(2026, 7, 1), f.VILLAGE_B1, 50)
    _session(session, bureau, date(2025, 12, 31), f.VILLAGE_B1, 99)
    rows = service.rollup(session=session, actor=bureau, date_from=date(2026, 1, 1), date_to=date(2026, 6, 30))
    assert [(r.township_code, r.township_name, r.project, r.sessions, r.trained) for r in rows] == [
        (f.TOWN_A, "温泉镇", "健康素养讲座", 1, 12), (f.TOWN_A, "温泉镇", PHONES, 2, 75)]
    year = service.rollup(session=session, actor=bureau, date_from=date(2026, 1, 1), date_to=date(2026, 12, 31))
    assert sum(r.trained for r in year if r.project == PHONES) == 125
    mine = service.rollup(session=session, actor=town)
    assert {r.township_code for r in mine} == {f.TOWN_A}


def test_a_session_names_every_bad_field(session, world):
    town, _ = world
    with pytest.raises(InvalidInput) as exc:
        _session(session, town, date(2026, 12, 9), f.VILLAGE_B1, 10, project=None)
    assert {e.field: e.reason_key.rsplit(".", 1)[-1] for e in exc.value.errors} == {
        "held_on": "in_future", "orgunit_code": "orgunit_out_of_scope", "project": "missing"}
    with pytest.raises(InvalidInput) as exc:
        _session(session, town, date(2026, 12, 1), f.VILLAGE_A1, 0)
    assert [e.field for e in exc.value.errors] == ["trained"]
    assert service.list_sessions(session=session, actor=town) == []
