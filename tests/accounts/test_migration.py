"""Migration 0002 (audit_events append-only triggers) goes down and up again on a fresh database."""
from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from weijian.core.db import make_engine
from weijian.core.migrate import current, upgrade
from weijian.core.settings import Settings

INSERT = ("INSERT INTO audit_events (at, username, role, action, entity_type, basis) "
          "VALUES ('2025-01-01 00:00:00', 'u', 'system', 'read', 'resident', 'system')")


def test_triggers_come_with_0002_and_go_with_its_downgrade(tmp_path):
    from alembic import command

    from weijian.core.migrate import alembic_config

    engine = make_engine(Settings(environment="test", database_url=f"sqlite:///{tmp_path / 'm.db'}"))
    try:
        upgrade(engine, "0002")  # later migrations leave the triggers alone
        assert current(engine) == "0002"
        with engine.begin() as conn:
            conn.execute(text(INSERT))
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_events"))

        command.downgrade(alembic_config(engine), "0001")
        with engine.begin() as conn:
            assert conn.execute(text("UPDATE audit_events SET action = 'x'")).rowcount == 1

        upgrade(engine)
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text("UPDATE audit_events SET action = 'y'"))
    finally:
        engine.dispose()
