"""`weijian db backup | restore | verify`: a backup restored into a fresh empty database holds every row of
every table, and `db verify` passes there (with the audit key of the installation it came from); a
non-empty target is refused; a plain copy of a WAL-mode SQLite file is not a backup."""
from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from tests import factories as f
from tests.live import own_database
from weijian.accounts import service as accounts_service
from weijian.all_models import metadata
from weijian.cli import app
from weijian.core import backup
from weijian.core.actor import Actor
from weijian.core.db import make_engine, make_sessionmaker, unit_of_work
from weijian.core.migrate import upgrade
from weijian.core.settings import Settings

pytestmark = pytest.mark.database
runner = CliRunner()


def _env(settings: Settings, key_dir: Path | None = None) -> dict[str, str]:
    return {"WEIJIAN_DATABASE_URL": settings.database_url, "WEIJIAN_KEY_DIR": str(key_dir or settings.key_dir),
            "WEIJIAN_ENVIRONMENT": "test"}


def _rows(engine: Engine) -> dict[str, list[tuple]]:
    """Every row of every table of the models, in primary-key order."""
    with engine.connect() as conn:
        return {t.name: [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
                for t in metadata.sorted_tables}


def _populate(engine: Engine) -> None:
    with unit_of_work(make_sessionmaker(engine)) as s:
        f.make_county(s)
        user = f.make_user(s, "village_doctor", f.VILLAGE_A1, username="backup_doctor")
        f.make_resident(s, name="备份")
        f.token_headers(s, user)
        accounts_service.audit_many(session=s, actor=Actor.system("test"), action="read", entity_type="resident",
                                    events=[(i, None, "system", {"i": i}) for i in range(5)])


def test_a_backup_restored_into_an_empty_database_has_every_row_and_verifies(tmp_path):
    with own_database(tmp_path / "source") as source, own_database(tmp_path / "target") as target:
        engine = make_engine(source)
        upgrade(engine)
        _populate(engine)
        before = _rows(engine)
        assert before["residents"] and len(before["audit_events"]) >= 5

        path = tmp_path / "copies" / "weijian.backup"
        r = runner.invoke(app, ["db", "backup", str(path)], env=_env(source))
        assert r.exit_code == 0, r.output
        assert path.is_file() and path.with_name(path.name + ".sha256").is_file()
        assert not any(p.name.endswith(".key") for p in path.parent.iterdir())  # no key in the backup

        r = runner.invoke(app, ["db", "restore", str(path)], env=_env(target, source.key_dir))
        assert r.exit_code == 0, r.output
        restored = make_engine(target)
        try:
            assert _rows(restored) == before
            r = runner.invoke(app, ["db", "verify"], env=_env(target, source.key_dir))
            assert r.exit_code == 0, r.output
            assert "audit_events\t" in r.output and "数据库检查通过" in r.output
            # Ids go on from where they were: the sequence / AUTOINCREMENT counter came along.
            with unit_of_work(make_sessionmaker(restored)) as s:
                event = f.make_audit_event(s)
                assert event.id > max(row[0] for row in before["audit_events"])
            # Without the key it came with, the chain cannot be verified: keep the key file (apart).
            r = runner.invoke(app, ["db", "verify"], env=_env(target, tmp_path / "other-keys"))
            assert r.exit_code == 1
        finally:
            restored.dispose()

        r = runner.invoke(app, ["db", "restore", str(path)], env=_env(target, source.key_dir))
        assert r.exit_code == 1
        assert "不是空的" in r.output and backup.describe(target) in r.output
        engine.dispose()


def test_db_verify_fails_on_an_old_schema_and_on_a_broken_chain(tmp_path):
    with own_database(tmp_path) as settings:
        engine = make_engine(settings)
        try:
            upgrade(engine, "0002")
            r = runner.invoke(app, ["db", "verify"], env=_env(settings))
            assert r.exit_code == 1 and "0002" in r.output
            upgrade(engine)
            with unit_of_work(make_sessionmaker(engine)) as s:
                events = [f.make_audit_event(s, username=f"v{i}") for i in range(3)]
            with engine.begin() as conn:  # an intruder: triggers off, one row changed
                if conn.dialect.name == "sqlite":
                    conn.execute(text("DROP TRIGGER audit_events_no_update"))
                else:
                    conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete"))
                conn.execute(text("UPDATE audit_events SET role = 'sysadmin' WHERE id = :id"), {"id": events[1].id})
            r = runner.invoke(app, ["db", "verify"], env=_env(settings))
            assert r.exit_code == 1
            assert f"审计事件 {events[1].id}" in r.output
        finally:
            engine.dispose()


def test_a_backup_whose_checksum_fails_is_not_restored(tmp_path):
    with own_database(tmp_path / "source") as source, own_database(tmp_path / "target") as target:
        engine = make_engine(source)
        upgrade(engine)
        engine.dispose()
        done = backup.backup(source, tmp_path / "b.backup")
        with done.path.open("r+b") as fh:
            fh.seek(done.size // 2)
            fh.write(b"\x00garbage\x00")
        with pytest.raises(backup.BackupRefused) as refused:
            backup.restore(target, make_engine(target), done.path)
        assert refused.value.message_key == "core.backup.checksum"


def test_a_plain_copy_of_the_sqlite_file_misses_committed_rows_the_backup_has(tmp_path):
    settings = Settings(environment="test", database_url=f"sqlite:///{tmp_path / 'w.db'}", key_dir=tmp_path)
    engine = make_engine(settings)
    upgrade(engine)
    engine.dispose()
    db = settings.sqlite_path()
    writer = sqlite3.connect(db, isolation_level=None)  # the running server: WAL, not yet checkpointed
    try:
        writer.execute("PRAGMA journal_mode=WAL")
        writer.execute("PRAGMA wal_autocheckpoint=0")
        writer.execute("INSERT INTO orgunits (code, name, level, created_at) "
                       "VALUES ('421124000000', '英山县', 'county', '2026-01-01 00:00:00')")
        shutil.copy(db, tmp_path / "copied.db")
        done = backup.backup(settings, tmp_path / "backed-up.db")
    finally:
        writer.close()

    def count(path: Path) -> int:
        conn = sqlite3.connect(path)
        try:
            return conn.execute("SELECT count(*) FROM orgunits").fetchone()[0]
        finally:
            conn.close()

    assert count(tmp_path / "copied.db") == 0  # the committed row was still in w.db-wal
    assert count(done.path) == 1
