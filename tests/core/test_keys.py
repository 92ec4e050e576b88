"""Keys kept outside the database (core/keys.py): a setting, or a file made on first use, mode 0600; never
a built-in default."""
from __future__ import annotations

import os
import stat

import pytest

from weijian.core.keys import KeyRing, KeyUnusable, secret
from weijian.core.settings import Settings


def test_without_a_setting_a_random_key_file_is_made_once_readable_by_its_owner_only(tmp_path):
    ring = KeyRing(Settings(environment="test", key_dir=tmp_path / "var"))
    key = ring.audit()
    path = tmp_path / "var" / "audit.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key) == 64 and key == path.read_text().strip().encode()
    assert KeyRing(Settings(environment="test", key_dir=tmp_path / "var")).audit() == key  # read, not remade
    other = KeyRing(Settings(environment="test", key_dir=tmp_path / "elsewhere")).audit()
    assert other != key  # random, not a built-in default


def test_a_setting_wins_over_the_file_and_must_be_long_enough(tmp_path):
    ring = KeyRing(Settings(environment="test", key_dir=tmp_path, audit_key="k" * 32))
    assert ring.audit() == b"k" * 32 and not (tmp_path / "audit.key").exists()
    with pytest.raises(KeyUnusable, match="at least 32"):
        KeyRing(Settings(environment="test", key_dir=tmp_path, audit_key="short")).audit()


def test_a_key_file_others_may_read_is_refused(tmp_path):
    path = tmp_path / "audit.key"
    path.write_text("a" * 64)
    os.chmod(path, 0o644)
    with pytest.raises(KeyUnusable, match="chmod 600"):
        secret(value=None, path=path, name="audit")
