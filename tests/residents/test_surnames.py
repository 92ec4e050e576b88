"""Surnames read as surnames in the search keys: a polyphonic character at the head of a name takes its
surname reading (曾东 is Zēng Dōng, found by `zd`), and `weijian residents reindex` rebuilds the keys of
residents written before."""
from __future__ import annotations

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from tests import factories as f
from tests.conftest import savepoint_sessions
from weijian.cli import app as weijian_app
from weijian.core.actor import Actor
from weijian.residents import cli as residents_cli
from weijian.residents import service
from weijian.residents.models import Resident

SYSTEM = Actor.system("test")

# Transcribed from 《现代汉语词典》第7版 (商务印书馆, 2016), the reading of each entry whose sense is 姓,
# toneless: 曾 Zēng, 单 Shàn, 解 Xiè, 仇 Qiú, 区 Ōu, 覃 Qín, 翟 Zhái, 查 Zhā, 朴 Piáo, 盖 Gě, 缪 Miào.
SURNAME_READINGS = [
    ("曾东", "zd", "zengdong"), ("单明", "sm", "shanming"), ("解放", "xf", "xiefang"),
    ("仇英", "qy", "qiuying"), ("区华", "oh", "ouhua"), ("覃军", "qj", "qinjun"), ("翟林", "zl", "zhailin"),
    ("查文", "zw", "zhawen"), ("朴一", "py", "piaoyi"), ("盖强", "gq", "geqiang"), ("缪兰", "ml", "miaolan"),
]


@pytest.mark.parametrize(("name", "initials", "full"), SURNAME_READINGS)
def test_a_polyphonic_surname_is_read_as_a_surname(name, initials, full):
    """《现代汉语词典》第7版: these characters are read so when they are a surname (姓)."""
    assert service.pinyin_keys(name) == (initials, full)


def test_a_compound_surname_keeps_its_own_reading():
    """《现代汉语词典》: 单于 Chányú and 尉迟 Yùchí are compound surnames (复姓), not 单 Shàn + 于."""
    assert service.pinyin_keys("单于平") == ("cyp", "chanyuping")
    assert service.pinyin_keys("尉迟恭") == ("ycg", "yuchigong")


def test_only_the_surname_takes_the_surname_reading():
    assert service.pinyin_keys("张曾") == ("zc", "zhangceng")  # 曾 in a given name: céng as in words
    assert service.pinyin_keys("查干·巴特尔")[0].startswith("c")  # a transcribed name: no Han surname


def test_zd_finds_zeng_dong(session, county):
    f.make_resident(session, name="曾东")
    found = service.search(session=session, actor=SYSTEM, q="zd")
    assert [r.name for r in found.items] == ["曾东"]
    assert [r.name for r in service.search(session=session, actor=SYSTEM, q="zengd").items] == ["曾东"]


def test_reindex_rebuilds_the_keys_written_before_and_touches_no_other(session, county):
    zeng = f.make_resident(session, name="曾东")
    zhang = f.make_resident(session, name="张三")
    session.execute(update(Resident).where(Resident.id == zeng.id)
                    .values(name_initials="cd", name_pinyin="cengdong"))  # as written before
    session.expire_all()
    assert service.search(session=session, actor=SYSTEM, q="zd").items == []
    assert service.reindex_name_keys(session=session, actor=SYSTEM) == 1
    session.expire_all()
    assert (zeng.name_initials, zeng.name_pinyin) == ("zd", "zengdong")
    assert (zhang.name_initials, zhang.name_pinyin) == ("zs", "zhangsan")
    assert [r.name for r in service.search(session=session, actor=SYSTEM, q="zd").items] == ["曾东"]
    assert service.reindex_name_keys(session=session, actor=SYSTEM) == 0


def test_the_reindex_command_says_how_many_changed(monkeypatch, connection, session, county):
    monkeypatch.setattr(residents_cli, "_sessionmaker", lambda: savepoint_sessions(connection))
    zeng = f.make_resident(session, name="曾东")
    session.execute(update(Resident).where(Resident.id == zeng.id)
                    .values(name_initials="cd", name_pinyin="cengdong"))
    session.flush()
    result = CliRunner().invoke(weijian_app, ["residents", "reindex"])
    assert result.exit_code == 0, result.output
    assert "1 名居民" in result.stdout
    session.expire_all()
    assert zeng.name_initials == "zd"
