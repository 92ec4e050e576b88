"""Migrations 0002 (append-only triggers) and 0003 (hash chain, ids never reused) go down and up again on a
fresh database; rows there before 0003 are chained by it."""
from __future__ import annotations

import importlib

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.factories import make_audit_event
from weijian.accounts import audit_chain
from weijian.core.db import make_engine, make_sessionmaker, unit_of_work
from weijian.core.migrate import current, upgrade
from weijian.core.settings import Settings

INSERT = ("INSERT INTO audit_events (at, username, role, action, entity_type, basis) "
          "VALUES ('2025-01-01 00:00:00', 'u', 'system', 'read', 'resident', 'system')")


def test_triggers_and_chain_come_with_their_migrations_and_go_with_their_downgrades(tmp_path):
    """Rows written before 0003 are chained by it. (Once 0001 is regenerated from the models, it makes the
    chain's columns itself and no row can predate the chain: the rows are then appended through it.)"""
    from alembic import command
    from alembic.script import ScriptDirectory

    from weijian.core.migrate import alembic_config

    regenerated = importlib.import_module("weijian.migrations.versions.0003_audit_chain")._made_by_0001()
    settings = Settings(environment="test", database_url=f"sqlite:///{tmp_path / 'm.db'}", key_dir=tmp_path / "keys")
    engine = make_engine(settings)
    try:
        upgrade(engine, "0002")
        if not regenerated:
            with engine.begin() as conn:
                conn.execute(text(INSERT))
                conn.execute(text(INSERT))
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(text("DELETE FROM audit_events"))

        upgrade(engine)
        assert current(engine) == ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
        if regenerated:
            with unit_of_work(make_sessionmaker(engine)) as s:
                make_audit_event(s)
                make_audit_event(s)
        with engine.connect() as conn:
            result = audit_chain.verify(conn)
            assert result.ok and result.count == 2 and result.head_seq == 2
            assert "AUTOINCREMENT" in conn.execute(text(
                "SELECT sql FROM sqlite_master WHERE name = 'audit_events'")).scalar_one()
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text("UPDATE audit_events SET action = 'y'"))

        command.downgrade(alembic_config(engine), "0001")
        with engine.begin() as conn:
            assert conn.execute(text("UPDATE audit_events SET action = 'x'")).rowcount == 2

        upgrade(engine)
        with engine.connect() as conn:  # 0003 chains the rows again; a regenerated 0001 sees the change
            assert audit_chain.verify(conn).ok is not regenerated
        with pytest.raises(DBAPIError, match="never reused"), engine.begin() as conn:
            conn.execute(text("INSERT OR REPLACE INTO audit_events (id, at, username, role, action, entity_type, "
                              "basis, seq, chain_hash) VALUES (1, '2025-01-01 00:00:00', 'u', 'system', 'x', "
                              "'resident', 'system', 1, 'f')"))
    finally:
        engine.dispose()
