"""Tests of the demo county (src/weijian/demo)."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tests.conftest import savepoint_sessions


@contextmanager
def rolled_back_session(engine: Engine) -> Iterator[Session]:
    """A session on one connection whose transaction is rolled back at the end: a module's demo county
    (its commits only release savepoints; every test reads through this one connection)."""
    conn = engine.connect()
    trans = conn.begin()
    session = savepoint_sessions(conn)()
    try:
        yield session
    finally:
        session.close()
        trans.rollback()
        conn.close()
