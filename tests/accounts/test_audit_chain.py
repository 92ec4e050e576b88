"""The audit log shows tampering: each row is HMAC-chained to the one before it with a key kept outside the
database, the signed head says where the chain ends, and `weijian audit verify` names the first row where
the chain breaks. Tampering is done here as someone with write access to the database would: dropping the
append-only triggers inside the test's (rolled-back) transaction."""
from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.conftest import savepoint_sessions
from tests.factories import make_audit_event
from tests.live import own_database
from weijian.accounts import audit_chain
from weijian.accounts import cli as accounts_cli
from weijian.accounts import service as accounts_service
from weijian.accounts.models import AuditChainHead, AuditEvent
from weijian.cli import app
from weijian.core.actor import Actor
from weijian.core.db import AFTER, make_engine, make_sessionmaker
from weijian.core.migrate import upgrade

SYSTEM = Actor.system("test")
runner = CliRunner()


def _events(session: Session, n: int) -> list[AuditEvent]:
    return [make_audit_event(session, username=f"u{i}", entity_id=str(i), resident_id=i,
                             at=datetime(2025, 5, 1, 8, i, tzinfo=UTC)) for i in range(n)]


def _unprotect(session: Session) -> None:
    """What an intruder with DB write access does first: drop the append-only triggers (rolled back with
    the test's transaction)."""
    if session.get_bind().dialect.name == "sqlite":
        for name in ("audit_events_no_update", "audit_events_no_delete", "audit_events_no_id_reuse"):
            session.execute(text(f"DROP TRIGGER {name}"))
    else:
        session.execute(text("DROP TRIGGER audit_events_no_update_delete ON audit_events"))


def _problem(session: Session, **kw) -> audit_chain.Problem:
    result = audit_chain.verify(session, **kw)
    assert not result.ok, "the tampering went unnoticed"
    return result.problems[0]


def test_an_untouched_chain_verifies_with_its_count_and_head(session):
    before = audit_chain.verify(session)
    assert before.ok, before.problems
    events = _events(session, 5)
    after = audit_chain.verify(session)
    assert after.ok and after.count == before.count + 5
    assert (after.head_seq, after.head_hash) == (events[-1].seq, events[-1].chain_hash)
    assert [e.seq for e in events] == list(range(events[0].seq, events[0].seq + 5))


def test_every_way_of_writing_audit_rows_extends_one_chain(session):
    """ORM add (a write unit), executemany (batch jobs) and the write_after queue (read units, refused
    attempts) all append through the chain, in the order written."""
    accounts_service.audit(session=session, actor=SYSTEM, action="create", entity_type="household", basis="system")
    accounts_service.audit_many(session=session, actor=SYSTEM, action="settle", entity_type="settlement",
                                events=[(i, None, "system", {"n": i}) for i in range(3)])
    accounts_service.audit(session=session, actor=SYSTEM, action="read", entity_type="resident", basis="system",
                           survive_rollback=True)
    for write in session.info.pop(AFTER):  # what unit_of_work does once the unit is over
        write(session)
    rows = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(5)).all()[::-1]
    assert [r.action for r in rows] == ["create", "settle", "settle", "settle", "read"]
    assert audit_chain.verify(session).ok


def test_changed_content_is_named(session):
    events = _events(session, 4)
    _unprotect(session)
    session.execute(text("UPDATE audit_events SET username = 'someone-else' WHERE id = :id"), {"id": events[1].id})
    p = _problem(session)
    assert (p.kind, p.event_id, p.seq) == ("altered", events[1].id, events[1].seq)


def test_a_deleted_row_in_the_middle_is_named(session):
    events = _events(session, 4)
    _unprotect(session)
    session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": events[2].id})
    p = _problem(session)
    assert (p.kind, p.seq, p.event_id) == ("missing", events[2].seq, events[3].id)
    assert str(events[2].seq) in accounts_cli._tr()(p.message_key, **p.params)


def test_deleted_newest_rows_are_named_even_with_the_triggers_put_back(session):
    events = _events(session, 4)
    _unprotect(session)
    session.execute(text("DELETE FROM audit_events WHERE id >= :id"), {"id": events[2].id})
    p = _problem(session)
    assert (p.kind, p.seq, p.event_id) == ("missing", events[2].seq, events[3].id)
    assert p.message_key == "accounts.audit_chain.newest_missing"


def test_a_head_moved_back_over_deleted_rows_fails_its_signature_and_is_recorded_by_the_next_write(session):
    events = _events(session, 4)
    _unprotect(session)
    session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": events[3].id})
    session.execute(text("UPDATE audit_chain_head SET seq = :seq, event_id = :id, hash = :h"),
                    {"seq": events[2].seq, "id": events[2].id, "h": events[2].chain_hash})
    p = _problem(session)
    assert p.kind == "head" and p.message_key == "accounts.audit_chain.head_signature"
    # The server writes on: the altered head is not silently re-signed, a chain_break event records it.
    later = make_audit_event(session, username="later")
    p = _problem(session)
    assert p.kind == "chain_break" and p.event_id == later.id - 1 and p.seq == events[3].seq


def test_an_older_head_put_back_is_caught_by_a_recorded_head(session):
    """The one thing the key cannot show: an intruder who kept an older head row (e.g. from a backup) puts
    it back and drops every row after it. A head recorded elsewhere (printed by verify) catches it."""
    _events(session, 2)
    saved = session.execute(select(AuditChainHead.__table__)).mappings().one()
    events = _events(session, 2)
    recorded = (events[-1].seq, events[-1].chain_hash)
    assert audit_chain.verify(session, expect=recorded).ok
    _unprotect(session)
    session.execute(text("DELETE FROM audit_events WHERE id >= :id"), {"id": events[0].id})
    session.execute(text("UPDATE audit_chain_head SET seq = :seq, event_id = :event_id, hash = :hash, "
                         "signature = :signature"), dict(saved))
    assert audit_chain.verify(session).ok  # README: what an intruder without the key can still hide
    p = _problem(session, expect=recorded)
    assert (p.kind, p.seq) == ("anchor", recorded[0])


def test_rows_swapped_are_named(session):
    events = _events(session, 4)
    a, b = events[1], events[2]
    _unprotect(session)
    session.execute(text("UPDATE audit_events SET seq = -1 WHERE id = :id"), {"id": a.id})
    session.execute(text("UPDATE audit_events SET seq = :s WHERE id = :id"), {"s": a.seq, "id": b.id})
    session.execute(text("UPDATE audit_events SET seq = :s WHERE id = :id"), {"s": b.seq, "id": a.id})
    p = _problem(session)
    assert (p.kind, p.event_id) == ("altered", b.id)


def test_ids_swapped_are_named_as_reordered(session):
    events = _events(session, 4)
    a, b = events[1], events[2]
    _unprotect(session)
    for old, new in ((a.id, -1), (b.id, a.id), (-1, b.id)):
        session.execute(text("UPDATE audit_events SET id = :new WHERE id = :old"), {"old": old, "new": new})
    p = _problem(session)
    assert (p.kind, p.seq) == ("reordered", b.seq)


def test_a_row_forged_without_the_key_is_named(session):
    events = _events(session, 2)
    forged = dict(at=datetime(2025, 5, 2, tzinfo=UTC), user_id=None, username="ghost", role="system",
                  action="read", entity_type="resident", entity_id=None, resident_id=None, basis="system",
                  ip=None, detail=None, seq=events[-1].seq + 1)
    forged["chain_hash"] = audit_chain.row_hash(b"x" * 32, events[-1].chain_hash, forged)  # a guessed key
    session.execute(AuditEvent.__table__.insert(), [forged])
    forged_id = session.scalar(select(func.max(AuditEvent.id)))
    session.execute(text("UPDATE audit_chain_head SET seq = :seq, event_id = :id, hash = :h"),
                    {"seq": forged["seq"], "id": forged_id, "h": forged["chain_hash"]})
    p = _problem(session)
    assert (p.kind, p.event_id) == ("altered", forged_id)


def test_an_insert_over_an_existing_id_is_refused(session, connection):
    [event] = _events(session, 1)
    session.flush()
    if connection.dialect.name == "sqlite":
        sql = ("INSERT OR REPLACE INTO audit_events (id, at, username, role, action, entity_type, basis, seq, "
               "chain_hash) VALUES (:id, '2025-01-01 00:00:00', 'x', 'system', 'read', 'resident', 'system', "
               ":seq, 'f')")
        match = "never reused"
    else:
        sql = ("INSERT INTO audit_events (id, at, username, role, action, entity_type, basis, seq, chain_hash) "
               "VALUES (:id, now(), 'x', 'system', 'read', 'resident', 'system', :seq, 'f') "
               "ON CONFLICT (id) DO UPDATE SET username = 'x'")
        match = "append-only"
    with pytest.raises(DBAPIError, match=match), connection.begin_nested():
        connection.execute(text(sql), {"id": event.id, "seq": event.seq})
    assert session.get(AuditEvent, event.id).username == event.username
    assert audit_chain.verify(session).ok


def test_audit_verify_exits_1_naming_the_row_and_0_with_the_count(session, connection, monkeypatch):
    factory = savepoint_sessions(connection)
    monkeypatch.setattr(accounts_cli, "_read_sessionmaker", lambda: factory)
    events = _events(session, 3)
    session.flush()
    r = runner.invoke(app, ["audit", "verify"])
    assert r.exit_code == 0, r.output
    assert "审计日志完整" in r.output and events[-1].chain_hash in r.output
    r = runner.invoke(app, ["audit", "verify", "--expect", f"{events[-1].seq}:{events[-1].chain_hash}"])
    assert r.exit_code == 0, r.output
    _unprotect(session)
    session.execute(text("UPDATE audit_events SET detail = '{}' WHERE id = :id"), {"id": events[1].id})
    r = runner.invoke(app, ["audit", "verify"])
    assert r.exit_code == 1
    assert f"审计事件 {events[1].id}（链位置 {events[1].seq}）" in r.output
    r = runner.invoke(app, ["audit", "verify", "--expect", "nonsense"])
    assert r.exit_code == 2


@pytest.mark.postgres_only
@pytest.mark.database
def test_two_writers_on_postgres_extend_one_chain(tmp_path, monkeypatch):
    """Two connections append at once, each holding the head a while before inserting: the head's row lock
    makes the second wait, so the chain has no fork and no gap. Real committed rows, in a database of the
    test's own (the log is append-only: they could not be removed from the shared one)."""
    if not os.environ.get("WEIJIAN_TEST_DATABASE_URL", "").startswith("postgresql"):
        pytest.skip("the race needs two PostgreSQL connections (run with WEIJIAN_TEST_DATABASE_URL)")
    with own_database(tmp_path) as settings:
        engine = make_engine(settings)
        try:
            upgrade(engine)
            _race(engine, monkeypatch)
        finally:
            engine.dispose()


def _race(engine, monkeypatch) -> None:
    take = audit_chain._take_head

    def slow_take(session):
        head = take(session)
        time.sleep(0.02)  # widen the window between reading the head and inserting after it
        return head

    monkeypatch.setattr(audit_chain, "_take_head", slow_take)
    start = threading.Barrier(2, timeout=30)

    def writer(name: str) -> None:
        start.wait()
        for i in range(15):
            with make_sessionmaker(engine, expire_on_commit=True)() as s:
                accounts_service.audit(session=s, actor=Actor.system(f"race-{name}"), action="read",
                                       entity_type="resident", entity_id=i, basis="system")
                s.commit()

    with make_sessionmaker(engine, expire_on_commit=True)() as s:
        before = s.scalar(select(func.count()).select_from(AuditEvent))
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(writer, ["a", "b"]))
    with make_sessionmaker(engine, expire_on_commit=True)() as s:
        result = audit_chain.verify(s)
        assert result.ok, result.problems
        assert result.count == before + 30
        seqs = s.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)).all()
        assert seqs == list(range(1, len(seqs) + 1))
