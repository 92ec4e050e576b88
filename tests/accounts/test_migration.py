"""Migrations 0002 (append-only triggers) and 0003 (hash chain, ids never reused) go down and up again on a
fresh database; rows there before 0003 are chained by it."""
from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from weijian.accounts import audit_chain
from weijian.core.db import make_engine
from weijian.core.migrate import current, upgrade
from weijian.core.settings import Settings

INSERT = ("INSERT INTO audit_events (at, username, role, action, entity_type, basis) "
          "VALUES ('2025-01-01 00:00:00', 'u', 'system', 'read', 'resident', 'system')")


def test_triggers_and_chain_come_with_their_migrations_and_go_with_their_downgrades(tmp_path):
    from alembic import command

    from weijian.core.migrate import alembic_config

    engine = make_engine(Settings(environment="test", database_url=f"sqlite:///{tmp_path / 'm.db'}",
                                  key_dir=tmp_path / "keys"))
    try:
        upgrade(engine, "0002")
        with engine.begin() as conn:
            conn.execute(text(INSERT))
            conn.execute(text(INSERT))
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_events"))

        upgrade(engine)
        assert current(engine) == "0003"
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
        with engine.connect() as conn:
            assert audit_chain.verify(conn).ok
        with pytest.raises(DBAPIError, match="never reused"), engine.begin() as conn:
            conn.execute(text("INSERT OR REPLACE INTO audit_events (id, at, username, role, action, entity_type, "
                              "basis, seq, chain_hash) VALUES (1, '2025-01-01 00:00:00', 'u', 'system', 'x', "
                              "'resident', 'system', 1, 'f')"))
    finally:
        engine.dispose()
