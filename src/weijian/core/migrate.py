"""Alembic, driven from code: `weijian db upgrade` and the test fixtures make schemas only this way."""
from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "weijian:migrations")
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate; at head, also build the running tallies never built or built under other rules
    (core.tallies: a new population band in the indicator file, a new schedule edition)."""
    command.upgrade(alembic_config(engine), revision)
    if revision == "head":
        from sqlalchemy.orm import Session

        from weijian.core import tallies

        with Session(engine) as session:
            tallies.ensure(session)
            session.commit()


def current(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
