"""`weijian settlement simulate --year Y` on a demo-like county (issue 15 item 9): every stored slip of the
demo's settled years — and, after reversals (冲销) of some people's earlier stays, the reversed, superseded and
re-settled ones — is settled again from the same stays in settlement order on its stored terms and equals
what is stored, to the fen. The policy terms are those of the bundled files (黄政规〔2022〕6号 as transcribed,
国办发〔2021〕42号 for assistance); the test does not restate them: what it pins is that a stored slip is
reproduced from its stays and its own stored terms."""
from __future__ import annotations

import json
from collections import defaultdict

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.conftest import savepoint_sessions
from weijian.cli import app
from weijian.core.actor import Actor
from weijian.demo import builder
from weijian.settlement import cli as settlement_cli
from weijian.settlement.models import Settlement
from weijian.settlement.settle import service as settle
from weijian.settlement.settle.schemas import ReverseIn

N = 1500
SEED = 11


@pytest.fixture(scope="module")
def county(engine):
    conn = engine.connect()
    trans = conn.begin()
    factory = savepoint_sessions(conn)
    session = factory()
    try:
        builder.build(session=session, residents=N, seed=SEED, immunization=False)
        yield session, factory
    finally:
        session.close()
        trans.rollback()
        conn.close()


def _run(factory, monkeypatch, *args: str):
    monkeypatch.setattr(settlement_cli, "_sessionmaker", lambda: factory)
    out = CliRunner().invoke(app, ["settlement", "simulate", *args, "--format", "json"])
    return out.exit_code, (json.loads(out.output) if out.output.lstrip().startswith("{") else out.output)


def test_every_demo_slip_reproduces_from_its_stays_and_stored_terms(county, monkeypatch) -> None:
    session, factory = county
    years = sorted(set(session.scalars(select(Settlement.year).distinct())))
    assert len(years) >= 2
    for year in years:
        code, body = _run(factory, monkeypatch, "--year", str(year))
        assert code == 0, body
        stored = session.scalars(select(Settlement.id).where(Settlement.year == year)).all()
        assert body["equal"] is True and body["count"] == len(stored) > 40
        assert {s["terms"] for s in body["settlements"]} <= {"stored", "none"}


def test_after_reversals_every_slip_of_the_year_still_reproduces(county, monkeypatch) -> None:
    session, factory = county
    year = 2025
    live = session.scalars(select(Settlement).where(Settlement.year == year, Settlement.status == "settled")
                           .order_by(Settlement.resident_id, Settlement.seq)).all()
    by_person: dict[int, list[Settlement]] = defaultdict(list)
    for s in live:
        by_person[s.resident_id].append(s)
    several = [stays for stays in by_person.values() if len(stays) >= 2][:8]
    assert len(several) >= 3
    actor = Actor.system("test")
    nested = session.begin_nested()
    try:
        for stays in several:  # the earliest: every later stay of the year is re-settled
            settle.reverse(session=session, actor=actor, settlement_id=stays[0].id, reverse_in=ReverseIn(reason="测试"))
        for stays in several[:3]:  # then the middle one of the re-settled ones
            current = session.scalars(select(Settlement).where(
                Settlement.resident_id == stays[0].resident_id, Settlement.year == year,
                Settlement.status == "settled").order_by(Settlement.seq)).all()
            settle.reverse(session=session, actor=actor, settlement_id=current[len(current) // 2].id,
                           reverse_in=ReverseIn(reason="测试"))
        session.flush()
        code, body = _run(factory, monkeypatch, "--year", str(year))
        assert code == 0, body
        statuses = {s["status"] for s in body["settlements"]}
        assert statuses == {"settled", "reversed", "superseded"} and body["different"] == 0
        person = several[0][0].resident_id
        code, body = _run(factory, monkeypatch, "--resident", str(person), "--year", str(year))
        assert code == 0 and body["count"] >= len(several[0]) * 2 - 1
    finally:
        nested.rollback()
