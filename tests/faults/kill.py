"""Tools of the kill -9 trials: copies of a prepared database, a `weijian` process killed at a chosen
moment, the moment its commit became visible, and the checks a database must pass after the kill."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from random import Random

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import NullPool

from weijian.accounts import audit_chain
from weijian.core import tallies
from weijian.core.db import make_engine, make_read_sessionmaker, read_engine, unit_of_work
from weijian.core.settings import Settings

WEIJIAN = str(Path(sys.executable).with_name("weijian"))  # the project's console entry point
SEED = int(os.environ.get("WEIJIAN_FAULT_SEED", "12"))


def env_for(settings: Settings) -> dict[str, str]:
    """The environment of a `weijian` process on `settings`' database and keys (no WEIJIAN_* of ours)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEIJIAN_")}
    return env | {"WEIJIAN_DATABASE_URL": settings.database_url, "WEIJIAN_KEY_DIR": str(settings.key_dir),
                  "WEIJIAN_ENVIRONMENT": "test"}


# --- copies of a prepared database -------------------------------------------------------------------
@contextmanager
def copy_of(prepared: Settings, folder: Path) -> Iterator[Settings]:
    """A new database holding what `prepared` holds (no connection may be open on it): a SQLite file
    copied with the online backup API, or a PostgreSQL database made from it as a template; dropped after."""
    path = prepared.sqlite_path()
    if path is not None:
        target = folder / f"trial-{uuid.uuid4().hex[:8]}.db"
        with sqlite3.connect(path) as src, sqlite3.connect(target) as dst:
            src.backup(dst)
        yield prepared.model_copy(update={"database_url": f"sqlite:///{target}"})
        return
    url = make_url(prepared.database_url)
    name = f"weijian_kill_{uuid.uuid4().hex[:10]}"
    admin = _admin(url)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{url.database}"'))
        yield prepared.model_copy(update={"database_url": url.set(database=name).render_as_string(
            hide_password=False)})
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _admin(url: URL) -> Engine:
    """An engine on the server's maintenance database, to create, drop and watch the trials' databases."""
    return create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=NullPool)


# --- the moment of the commit ------------------------------------------------------------------------
class CommitWatch:
    """Polls `probe` (a count of what the operation writes, true once its commit is visible) from a
    connection of its own every few milliseconds; `seen` is when it first held, from `start`."""

    def __init__(self, engine: Engine, probe: Callable[[object], bool], start: float) -> None:
        self.engine, self.probe, self.start = engine, probe, start
        self.seen: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with self.engine.connect() as conn:
            while not self._stop.is_set():
                if self.probe(conn):
                    self.seen = time.monotonic() - self.start
                    return
                conn.rollback()  # a new snapshot for the next look
                time.sleep(0.003)

    def __enter__(self) -> CommitWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def reader(settings: Settings) -> Engine:
    """An engine on `settings`' database whose transactions only look (on SQLite: no write lock)."""
    return read_engine(make_engine(settings))


# --- the kill ------------------------------------------------------------------------------------------
@dataclass
class Kill:
    delay: float  # seconds after the start when SIGKILL was sent
    finished_first: bool  # the process had exited (0) before the kill was due
    returncode: int | None


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """`args` in a session of its own (the kill reaches its whole process group, and nothing of the
    test's), its output to `log` (a pipe nobody reads would fill and stop a talkative server)."""
    with log.open("ab") as out:
        return subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def kill_after(proc: subprocess.Popen, started: float, delay: float, log: Path) -> Kill:
    """SIGKILL `proc` `delay` seconds after `started` (monotonic), unless it has exited by then."""
    while time.monotonic() < started + delay:
        if proc.poll() is not None:
            break
        time.sleep(min(0.002, max(0.0, started + delay - time.monotonic())))
    finished = proc.poll() is not None
    if not finished:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    if finished and proc.returncode != 0:
        raise AssertionError(f"the operation failed by itself ({proc.returncode}): {log.read_text()[-3000:]}")
    return Kill(delay, finished, proc.returncode)


def kill_delays(rng: Random, commit_at: float, done_at: float, n: int) -> list[float]:
    """`n` moments to kill at: half stratified over the second half of the time before the commit
    (writing, or still reading), half from the commit to the process's end; shuffled."""
    before, after = (n + 1) // 2, n // 2
    lo, hi = commit_at / 2, max(done_at, commit_at + 0.05)
    out = [lo + (commit_at - lo) * (i + rng.random()) / before for i in range(before)]
    out += [commit_at + (hi - commit_at) * (i + rng.random()) / after for i in range(after)]
    rng.shuffle(out)
    return out


# --- after the kill --------------------------------------------------------------------------------------
def wait_for_backends_gone(settings: Settings, timeout: float = 15) -> None:
    """PostgreSQL: the killed client's backend has ended (its transaction rolled back, its locks gone)."""
    url = make_url(settings.database_url)
    admin = _admin(url)
    try:
        deadline = time.monotonic() + timeout
        with admin.connect() as conn:
            while True:
                left = conn.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE datname = :d"),
                                   {"d": url.database})
                if not left:
                    return
                if time.monotonic() > deadline:
                    raise AssertionError(f"{left} backend(s) still open on {url.database} after the kill")
                time.sleep(0.05)
    finally:
        admin.dispose()


def assert_opens_cleanly(settings: Settings) -> None:
    """SQLite: no stale lock (a write lock is had at once) and the file passes integrity_check; PostgreSQL:
    no backend of the killed process left. Then the audit chain verifies."""
    path = settings.sqlite_path()
    if path is not None:
        conn = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")  # raises "database is locked" if a lock outlived its process
            conn.execute("ROLLBACK")
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        finally:
            conn.close()
    else:
        wait_for_backends_gone(settings)
    engine = make_engine(settings)
    try:
        with unit_of_work(make_read_sessionmaker(engine), read_only=True) as session:
            result = audit_chain.verify(session)
            assert result.ok, result.problems
            assert tallies.fresh(session) == set(tallies.sources())  # else the check below checks nothing
    finally:
        engine.dispose()


def assert_tallies_check_clean(settings: Settings) -> None:
    """`weijian indicators tallies check` on `settings`' database exits 0 (run in this process, on an engine
    of its own: a new interpreter would add a second and a half to every trial and test nothing more)."""
    from typer.testing import CliRunner

    from weijian.cli import app

    done = CliRunner().invoke(app, ["indicators", "tallies", "check"], env=env_for(settings))
    assert done.exit_code == 0, done.output
    assert "tallies agree with the records" in done.output, done.output


# --- the figures -----------------------------------------------------------------------------------------
@dataclass
class Figures:
    """What the trials of one operation saw, for the summary printed at the end of the module."""

    operation: str
    engine: str
    commit_at: float = 0.0
    done_at: float = 0.0
    outcomes: list[tuple[float, str]] = field(default_factory=list)  # (kill delay, nothing|all|finished)

    def line(self) -> str:
        tally = {k: sum(1 for _, o in self.outcomes if o == k) for k in ("nothing", "all", "finished")}
        return (f"{self.operation:<16} {self.engine:<10} trials={len(self.outcomes)} nothing={tally['nothing']} "
                f"all={tally['all']} (exited before the kill: {tally['finished']}) "
                f"commit seen at {self.commit_at:.2f}s of {self.done_at:.2f}s")
