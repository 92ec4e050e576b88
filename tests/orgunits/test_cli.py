"""`weijian orgunits tree` and `weijian orgunits facilities`, against the test's own transaction."""
from datetime import date

import pytest
from typer.testing import CliRunner

from tests import factories as f
from tests.conftest import savepoint_sessions
from weijian.cli import app
from weijian.core.actor import Actor
from weijian.core.commands import build
from weijian.core.settings import Settings
from weijian.orgunits import cli as orgunits_cli
from weijian.orgunits import service
from weijian.orgunits.schemas import FacilityCreate

SYSTEM = Actor.system("test")
runner = CliRunner()


@pytest.fixture()
def county(session, connection, monkeypatch):
    f.make_county(session)
    service.create_facility(session=session, facility_in=build(FacilityCreate, dict(
        code="H001", name="英山县人民医院", type="county_general", grade="level2_a", orgunit_code=f.COUNTY,
        community_role="lead", beds_approved=500, beds_open=450, physicians=120, assistant_physicians=15,
        as_of=date(2024, 12, 31))), actor=SYSTEM)
    service.create_facility(session=session, facility_in=build(FacilityCreate, dict(
        code="V001", name="东冲村卫生室", type="village_clinic", orgunit_code=f.VILLAGE_A1,
        assistant_physicians=1)), actor=SYSTEM)
    session.flush()
    factory = savepoint_sessions(connection)
    monkeypatch.setattr(orgunits_cli, "_sessions", lambda: (factory, Settings(environment="test")))


def test_tree_prints_units_facilities_and_totals(county):
    result = runner.invoke(app, ["orgunits", "tree"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("英山县 421124000000 — 机构 2 个，床位 编制 500 / 开放 450，执业医师 120，执业助理医师 16")
    assert any("英山县人民医院 H001 [综合医院 · 二级甲等 · 牵头医院]" in line for line in lines)
    village = next(line for line in lines if line.strip().startswith("东冲村 "))
    assert village.startswith("    ") and "执业助理医师 1" in village
    assert any(line.startswith("  南河镇 421124101000 (镇)") for line in lines)


def test_tree_of_one_township_in_english(county):
    result = runner.invoke(app, ["orgunits", "tree", "--code", f.TOWN_A, "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("温泉镇 421124100000 (town) — 1 facilities")
    assert "英山县人民医院" not in result.output and "Village clinic" in result.output


def test_tree_of_an_unknown_code_fails_with_a_message(county):
    result = runner.invoke(app, ["orgunits", "tree", "--code", "421124999000"])
    assert result.exit_code == 1
    assert "行政区划“421124999000”不存在" in result.output


def test_facilities_lists_tab_separated_and_filters_by_type(county):
    result = runner.invoke(app, ["orgunits", "facilities"])
    assert result.exit_code == 0, result.output
    header, *rows = result.output.splitlines()
    assert header.split("\t")[:3] == ["机构代码", "机构名称", "机构类别"]
    assert [r.split("\t")[0] for r in rows] == ["H001", "V001"]
    assert rows[0].split("\t")[6:] == ["500", "450", "120", "15"]
    result = runner.invoke(app, ["orgunits", "facilities", "--type", "village_clinic"])
    assert [r.split("\t")[0] for r in result.output.splitlines()[1:]] == ["V001"]


def test_facilities_with_an_unknown_type_names_the_field(county):
    result = runner.invoke(app, ["orgunits", "facilities", "--type", "zoo"])
    assert result.exit_code == 2
    assert "类别: 机构类别“zoo”无法识别" in result.output


def test_facilities_none_found(county):
    result = runner.invoke(app, ["orgunits", "facilities", "--type", "cdc"])
    assert result.exit_code == 0 and result.output.strip() == "没有符合条件的机构"
