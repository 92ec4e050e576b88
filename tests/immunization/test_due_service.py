"""The stored next due date (immunization.due): a recall list that reads only the children due by the week's
end lists exactly what the engine over every child lists; the date is kept with every dose recorded; rows
that cannot be trusted (missing, another edition, a later birth-date correction, doses after the cut-off)
send the child to the engine; `weijian immunization refresh-due` rebuilds them."""
from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from sqlalchemy import delete, select, update
from typer.testing import CliRunner

from tests import factories as f
from tests.conftest import savepoint_sessions
from tests.immunization import recall_setup as rs
from weijian.accounts import service as accounts_service
from weijian.core import tallies as core_tallies
from weijian.core.actor import Actor
from weijian.immunization import cli as imm_cli
from weijian.immunization.models import NextDue
from weijian.immunization.recall import queries as recall
from weijian.immunization.schedule import due, engine
from weijian.immunization.schedule.rules import edition_for
from weijian.residents.models import Resident

SYSTEM = Actor.system("t")


def listed(r: recall.RecallList) -> dict[int, list[tuple]]:
    return {c.resident_id: [(d.vaccine, d.dose, d.status, d.earliest_date, d.overdue_date, d.refusal_reason)
                            for d in c.doses] + [e.reason_key for e in c.history_errors] for c in r.children}


def random_history(rng: random.Random, birth: date, on: date) -> list[engine.GivenDose]:
    """Doses of the edition in force at birth, in order, mostly on time, some late, some series stopped."""
    edition = edition_for(max(birth, date(2021, 3, 1)))
    out: list[engine.GivenDose] = []
    for group in edition.groups:
        series = group[0] if len(group) == 1 or rng.random() < 0.8 else group[1]
        counts: dict[str, int] = {}
        prev = None
        for dose in series.doses:
            when = dose.recommended.after(birth) + timedelta(days=rng.choice((0, 0, 3, 10, 40, 200)))
            if prev is not None and dose.min_interval is not None:
                when = max(when, dose.min_interval.after(prev))
            if when > on or rng.random() < 0.08:
                break
            counts[dose.vaccine] = counts.get(dose.vaccine, 0) + 1
            out.append(engine.GivenDose(dose.vaccine, counts[dose.vaccine], when))
            prev = when
    return out


@pytest.fixture()
def county(session):
    """60 children of village A1 with random histories recorded on 2026-06-30, their rows computed then."""
    f.make_county(session)
    rng = random.Random(4)
    on = date(2026, 6, 30)
    for k in range(60):
        birth = on - timedelta(days=rng.randint(0, 8 * 365))
        child = rs.person(session, "儿童" + "甲乙丙丁戊己庚辛壬癸"[k % 10] + "子丑寅卯辰巳午未"[k // 10], "male" if k % 2 else "female", birth.isoformat(), f"D-{k}", "head")
        for g in random_history(rng, birth, on):
            rs.give(session, child, g.vaccine, g.dose, g.date)
    due.refresh_due(session=session, on=on)
    return on


def full_scan(session, week: date, **kwargs) -> recall.RecallList:
    """The same list with no stored row at all (every child to the engine), rolled back after."""
    nested = session.begin_nested()
    try:
        session.execute(delete(NextDue))
        return recall.recall_list(session=session, actor=SYSTEM, week_start=week, **kwargs)
    finally:
        nested.rollback()


@pytest.mark.parametrize("weeks_later", [0, 1, 5, 26, 60])  # computed on the first week's Tuesday
def test_the_list_from_stored_dates_is_the_list_of_the_engine_over_every_child(session, county, weeks_later):
    week = county + timedelta(weeks=weeks_later)
    fast = recall.recall_list(session=session, actor=SYSTEM, week_start=week)
    assert listed(fast) == listed(full_scan(session, week))
    assert fast.children_checked == full_scan(session, week).children_checked
    if weeks_later == 0:
        assert fast.children and len(fast.children) < 60


@pytest.mark.parametrize("rule", ["recommended+0d", "recommended+7d", "recommended+60d"])
def test_the_stored_dates_serve_either_overdue_rule(session, county, rule):
    for weeks in (0, 3, 30):
        week = county + timedelta(weeks=weeks)
        assert listed(recall.recall_list(session=session, actor=SYSTEM, week_start=week, overdue_rule=rule)) == \
            listed(full_scan(session, week, overdue_rule=rule))


def test_a_child_not_due_by_the_week_end_is_not_given_to_the_engine(session, county, monkeypatch):
    seen: list[date] = []
    real = engine.pending_many  # the list gives its children to the engine at once

    def counting(children, as_of, **kw):
        children = list(children)
        seen.extend(birth for birth, _given, _judged in children)
        return real(children, as_of, **kw)

    monkeypatch.setattr(engine, "pending_many", counting)
    recall.recall_list(session=session, actor=SYSTEM, week_start=county)
    end = county + timedelta(days=6)
    stored = session.execute(select(NextDue.next_due, NextDue.next_overdue)).all()
    assert len(seen) == sum(1 for d, o in stored if d is not None and (d <= end or o <= end)) < 60


def test_rows_that_cannot_be_trusted_send_the_child_to_the_engine(session, county):
    week = county + timedelta(weeks=1)
    rows = list(session.execute(select(NextDue.resident_id, NextDue.next_due, NextDue.next_overdue)).tuples())
    quiet = [rid for rid, d, o in rows if d is None or min(d, o) > week + timedelta(days=30)]
    a, b, c = quiet[:3]
    session.execute(update(NextDue).where(NextDue.resident_id == a).values(edition="nip-1999"))
    session.execute(update(NextDue).where(NextDue.resident_id == b).values(computed_on=week + timedelta(days=30)))
    with core_tallies.bulk_write(session, [c]):  # a bulk statement of a counted table: the tally-aware path
        session.execute(update(Resident).where(Resident.id == c).values(birth_date=date(2026, 5, 1)))
    session.expire_all()
    r = recall.recall_list(session=session, actor=SYSTEM, week_start=week)
    assert c in {x.resident_id for x in r.children}  # the corrected birth date: HepB1 and BCG overdue
    assert listed(r) == listed(full_scan(session, week))


def test_recording_a_dose_keeps_the_childs_date(session):
    from tests.immunization import records_setup
    from tests.immunization.records_setup import record_vaccination
    from weijian.immunization.schedule.rules import add_months

    w = records_setup.build(session)
    born = w.child.birth_date
    assert due.rows_of(session=session, resident_ids=[w.child.id])[w.child.id][2] == add_months(born, 1)  # HepB2
    record_vaccination(session=session, resident_id=w.child.id, vaccine="HepB", dose=2,
                       given_at=records_setup.at(records_setup.county_today(), 10), site="right_deltoid", actor=w.vaccinator)
    row = due.rows_of(session=session, resident_ids=[w.child.id])[w.child.id]
    assert row[2] == add_months(born, 2)  # IPV1 and DTaP1 now come first
    assert row[0] == add_months(born, 2) and row[5] == records_setup.county_today()


def test_a_historical_dose_updates_the_stored_date_in_the_same_transaction(session):
    from tests.immunization.records_setup import record_historical

    f.make_county(session)
    child = rs.person(session, "补录", "female", "2026-01-05", "H-1", "head")
    doctor = accounts_service.actor_for(f.make_user(session, "village_doctor", f.VILLAGE_A1))
    record_historical(session=session, resident_id=child.id, actor=doctor, vaccine="HepB", dose=1,
                      date="2026-01-05", today=date(2026, 3, 1))
    first = due.rows_of(session=session, resident_ids=[child.id])[child.id]
    assert first[0] == first[2] == date(2026, 1, 5)  # BCG still to give, recommended at birth
    record_historical(session=session, resident_id=child.id, actor=doctor, vaccine="BCG", dose=1,
                      date="2026-01-06", today=date(2026, 3, 1))
    second = due.rows_of(session=session, resident_ids=[child.id])[child.id]
    assert second[2] == date(2026, 2, 5)  # HepB2 at one month, as soon as recommended
    assert second[0] == date(2026, 2, 5) and second[1] == date(2027, 1, 5)  # overdue from 12 months
    assert second[5] == date(2026, 1, 6) and second[6] == date(2026, 3, 1)


def test_a_complete_child_has_no_next_due_date(session):
    f.make_county(session)
    on = date(2026, 6, 30)
    birth = date(2012, 3, 1)
    child = rs.person(session, "全程", "female", birth.isoformat(), "H-2", "head")
    rng = random.Random(1)
    while True:
        history = random_history(rng, birth, on)
        rows = engine.due(birth, history, on)
        if all(r.status in (engine.GIVEN, engine.NOT_APPLICABLE) for r in rows):
            break
    for g in history:
        rs.give(session, child, g.vaccine, g.dose, g.date)
    assert due.refresh_due(session=session, on=on, resident_ids=[child.id]) == 1
    assert due.rows_of(session=session, resident_ids=[child.id])[child.id][:3] == (None, None, None)


def test_refresh_due_cli_rebuilds_every_childs_row(session, connection, county, monkeypatch):
    factory = savepoint_sessions(connection)
    monkeypatch.setattr(imm_cli, "_sessionmaker", lambda: factory)
    session.execute(delete(NextDue))
    session.flush()
    r = CliRunner().invoke(imm_cli.app, ["refresh-due", "--as-of", county.isoformat()])
    assert r.exit_code == 0, r.output
    assert "60" in r.output and "下次应种日期" in r.output
    assert len(session.execute(select(NextDue.resident_id)).all()) == 60


def test_refresh_due_cli_refuses_a_bad_date():
    r = CliRunner().invoke(imm_cli.app, ["refresh-due", "--as-of", "2026-02-30"])
    assert r.exit_code == 1 and "as_of" in r.output
