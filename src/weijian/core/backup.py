"""Backup and restore of the whole database, and the report `weijian db verify` prints.

SQLite: the online backup API (a consistent copy while the server writes in WAL mode; a plain `cp` of the
file misses what is still in the -wal file). PostgreSQL: `pg_dump -Fc` and `pg_restore`, with the
credentials of the database URL passed in the environment (never on the command line). A restore goes
into an empty database only. Each backup gets a `<file>.sha256` beside it, checked before a restore.
The keys (core/keys.py) are not in the database, so no backup holds them: keep the key files apart.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import MetaData, func, inspect, select, table
from sqlalchemy.engine import Connection, Engine, make_url

from weijian.core.errors import DomainError
from weijian.core.settings import Settings


class BackupRefused(DomainError):
    """A backup or restore that cannot be done as asked (message key under core.backup)."""


@dataclass(frozen=True)
class Backup:
    path: Path
    size: int
    sha256: str


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def describe(settings: Settings) -> str:
    """The database URL without its password."""
    return make_url(settings.database_url).render_as_string(hide_password=True)


# --- backup ----------------------------------------------------------------------------------------
def backup(settings: Settings, path: Path) -> Backup:
    """Write a backup of the settings' database to `path` (which must not exist) and its checksum beside it."""
    path = Path(path)
    if path.exists():
        raise BackupRefused("core.backup.target_exists", path=str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    source = settings.sqlite_path()
    if settings.database_url.startswith("sqlite"):
        if source is None or not source.exists():
            raise BackupRefused("core.backup.no_database", database=describe(settings))
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)  # all pages in one step: one consistent snapshot, writers go on meanwhile
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            dst.close()
            src.close()
    else:
        _pg_run(settings, ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={partial}"])
    partial.replace(path)
    digest = _sha256(path)
    path.with_name(path.name + ".sha256").write_text(f"{digest}  {path.name}\n")
    return Backup(path=path, size=path.stat().st_size, sha256=digest)


# --- restore ---------------------------------------------------------------------------------------
def restore(settings: Settings, engine: Engine, path: Path) -> None:
    """Restore the backup at `path` into the settings' database, which must be empty (no tables)."""
    path = Path(path)
    if not path.is_file():
        raise BackupRefused("core.backup.no_backup", path=str(path))
    sums = path.with_name(path.name + ".sha256")
    if sums.exists() and sums.read_text().split()[0] != _sha256(path):
        raise BackupRefused("core.backup.checksum", path=str(path), sums=str(sums))
    tables = inspect(engine).get_table_names()
    engine.dispose()  # the restore writes underneath any pooled connection
    if tables:
        raise BackupRefused("core.backup.target_not_empty", database=describe(settings), count=len(tables),
                            tables=", ".join(sorted(tables)[:5]))
    if settings.database_url.startswith("sqlite"):
        src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            ok = src.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        except sqlite3.DatabaseError:
            ok = False
        if not ok:
            src.close()
            raise BackupRefused("core.backup.unreadable", path=str(path))
        target = settings.sqlite_path()
        if target is None:  # an in-memory database: nothing to restore into
            src.close()
            raise BackupRefused("core.backup.no_database", database=describe(settings))
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
    else:
        _pg_run(settings, ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
                           "--single-transaction", "--dbname", make_url(settings.database_url).database or "",
                           str(path)])


def _pg_run(settings: Settings, argv: list[str]) -> None:
    url = make_url(settings.database_url)
    tool = shutil.which(argv[0])
    if tool is None:
        raise BackupRefused("core.backup.tool_missing", tool=argv[0])
    env = dict(os.environ)
    for var, value in (("PGHOST", url.host), ("PGPORT", url.port), ("PGUSER", url.username),
                       ("PGPASSWORD", url.password), ("PGDATABASE", url.database),
                       ("PGSSLMODE", url.query.get("sslmode"))):
        if value:
            env[var] = str(value)
    done = subprocess.run([tool, *argv[1:]], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupRefused("core.backup.tool_failed", tool=argv[0], code=done.returncode,
                            error=(done.stderr or done.stdout).strip()[-500:])


# --- the report of `weijian db verify` ---------------------------------------------------------------
@dataclass
class Report:
    revision: str | None
    head: str
    counts: dict[str, int]
    missing: list[str]  # tables of the models the database does not have
    integrity: str | None = None  # SQLite's integrity_check ("ok"), None on PostgreSQL

    @property
    def ok(self) -> bool:
        return self.revision == self.head and not self.missing and self.integrity in (None, "ok")


def report(connection: Connection, metadata: MetaData) -> Report:
    """Schema version against the newest migration, and the rows of every table of `metadata` (the models)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from weijian.core.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config(connection.engine)).get_current_head()
    present = set(inspect(connection).get_table_names())
    revision = (MigrationContext.configure(connection).get_current_revision()
                if "alembic_version" in present else None)
    counts = {t.name: connection.scalar(select(func.count()).select_from(table(t.name))) or 0
              for t in sorted(metadata.sorted_tables, key=lambda t: t.name) if t.name in present}
    missing = [t.name for t in metadata.sorted_tables if t.name not in present]
    integrity = None
    if connection.dialect.name == "sqlite":
        integrity = connection.exec_driver_sql("PRAGMA integrity_check").scalar()
    return Report(revision=revision, head=head or "", counts=counts, missing=missing, integrity=integrity)
