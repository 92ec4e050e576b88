"""A weijian server on loopback for tests that need real HTTP (the answer's moment matters) and a
database of their own that commits for real (SQLite file, or a fresh PostgreSQL database on the
PostgreSQL pass)."""
from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from weijian.core.settings import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(app) -> Iterator[str]:
    """Serve `app` with uvicorn in a thread on 127.0.0.1; yields the base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("live server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def own_database(folder: Path) -> Iterator[Settings]:
    """Settings of a new, empty database that commits for real: a SQLite file in `folder`, or on the
    PostgreSQL pass (WEIJIAN_TEST_DATABASE_URL) a database of its own, dropped afterwards."""
    pg = os.environ.get("WEIJIAN_TEST_DATABASE_URL", "")
    if not pg.startswith("postgresql"):
        yield Settings(environment="test", database_url=f"sqlite:///{folder / 'own.db'}", key_dir=folder / "keys")
        return
    admin_url = make_url(pg)
    name = f"weijian_own_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" ENCODING \'UTF8\' TEMPLATE template0'))
    try:
        yield Settings(environment="test", database_url=admin_url.set(database=name).render_as_string(
            hide_password=False), key_dir=folder / "keys")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
