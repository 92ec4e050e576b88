"""Policy files: the bundled one loads exactly; every malformed file is refused naming the key path."""
from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from weijian.core.errors import Conflict, InvalidInput, NotFound
from weijian.settlement.settle.rules import (
    POLICY_DIR,
    PolicyInvalid,
    bundled_policies,
    get_policy,
    load_policies,
    load_policy,
    parse_policy,
    select_policy,
)

SAMPLE = POLICY_DIR / "huanggang-resident-2022.yaml"


def sample() -> dict:
    return yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))


def refused(data: dict) -> PolicyInvalid:
    with pytest.raises(PolicyInvalid) as info:
        parse_policy(data)
    return info.value


def fields(exc: PolicyInvalid) -> dict[str, str]:
    return {e.field: e.reason_key.rsplit(".", 1)[-1] for e in exc.errors}


def write(directory: Path, name: str, data: dict) -> Path:
    path = directory / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


# --- the bundled policy ---------------------------------------------------------------------------
def test_bundled_policy_loads_with_exact_decimals():
    p = get_policy("huanggang-resident-2022")
    assert p.scheme == "resident" and p.region == "huanggang"
    assert p.effective_from == date(2022, 1, 1) and p.effective_to is None
    assert p.basic.deductible_per == "admission"
    assert p.basic.annual_cap == Decimal("150000")
    assert p.basic.levels["township"].deductible == Decimal("200")
    assert p.basic.levels["township"].rate == Decimal("0.85")
    assert p.basic.levels["city"].rate == Decimal("0.60")
    assert isinstance(p.basic.levels["county"].rate, Decimal)
    assert p.basic.downward_referral_waives_deductible is True
    ci = p.critical_illness
    assert ci is not None and ci.threshold == Decimal("12000") and ci.annual_cap == Decimal("300000")
    assert [(b.upto, b.rate) for b in ci.bands] == [
        (Decimal("30000"), Decimal("0.60")), (Decimal("100000"), Decimal("0.65")), (None, Decimal("0.75"))]
    assert ci.tilt is not None and ci.tilt.groups == {"extreme_poverty", "min_living", "poverty_relapse"}
    assert ci.tilt.threshold_factor == Decimal("0.5") and ci.tilt.rate_bonus == Decimal("0.05")
    assert ci.tilt.cap is None
    assert p.assistance["extreme_poverty"].rate == 1 and p.assistance["extreme_poverty"].annual_cap is None
    assert p.assistance["min_living"].label == "低保"
    assert p.assistance["min_living"].annual_cap == Decimal("50000")
    assert p.assistance["poverty_relapse"].annual_cap == Decimal("30000")


def test_bundled_policy_file_names_its_sources_in_the_header():
    header = SAMPLE.read_text(encoding="utf-8").split("\nid:", 1)[0]
    for source in ("黄政规〔2022〕6号", "医保发〔2019〕30号", "国办发〔2021〕42号"):
        assert source in header
    assert "NOT checked" in header


def test_bundled_directory_validates():
    assert [p.id for p in bundled_policies()] == ["huanggang-employee-2022", "huanggang-resident-2022"]


# --- refusals, each naming the key ----------------------------------------------------------------
def test_rate_above_one_is_refused_naming_the_key():
    data = sample()
    data["basic"]["levels"]["county"]["rate"] = 1.2
    exc = refused(data)
    assert fields(exc) == {"basic.levels.county.rate": "rate_range"}
    assert "basic.levels.county.rate: must be between 0 and 1" in str(exc)


def test_negative_deductible_is_refused():
    data = sample()
    data["basic"]["levels"]["township"]["deductible"] = -200
    assert fields(refused(data)) == {"basic.levels.township.deductible": "negative"}


def test_missing_key_is_refused():
    data = sample()
    del data["basic"]["annual_cap"]
    del data["critical_illness"]["tilt"]["rate_bonus"]
    assert fields(refused(data)) == {"basic.annual_cap": "missing", "critical_illness.tilt.rate_bonus": "missing"}


def test_missing_value_is_refused():
    data = sample()
    data["critical_illness"]["threshold"] = None
    assert fields(refused(data)) == {"critical_illness.threshold": "missing"}


def test_unknown_key_is_refused():
    data = sample()
    data["basic"]["ceiling"] = 1
    data["outpatient"] = {}
    assert fields(refused(data)) == {"basic.ceiling": "unknown_key", "outpatient": "unknown_key"}


def test_unknown_level_name_is_refused():
    data = sample()
    data["basic"]["levels"]["village"] = {"deductible": 100, "rate": 0.9}
    exc = refused(data)
    assert fields(exc) == {"basic.levels.village": "level_unknown"}
    assert "township, county, city" in str(exc)


def test_bands_must_increase():
    data = sample()
    data["critical_illness"]["bands"][1]["upto"] = 30000
    assert fields(refused(data)) == {"critical_illness.bands[1].upto": "bands_order"}


def test_only_the_last_band_may_be_open():
    data = sample()
    data["critical_illness"]["bands"][1]["upto"] = None
    assert fields(refused(data)) == {"critical_illness.bands[1].upto": "band_open_not_last"}


def test_first_band_must_be_above_the_threshold():
    data = sample()
    data["critical_illness"]["bands"][0]["upto"] = 12000
    assert fields(refused(data)) == {"critical_illness.bands[0].upto": "band_not_above_threshold"}


def test_band_rate_above_one_is_refused():
    data = sample()
    data["critical_illness"]["bands"][2]["rate"] = 1.5
    assert fields(refused(data)) == {"critical_illness.bands[2].rate": "rate_range"}


def test_tilt_bonus_may_not_push_a_band_above_one():
    data = sample()
    data["critical_illness"]["bands"][2]["rate"] = 0.98
    assert fields(refused(data)) == {"critical_illness.tilt.rate_bonus": "bonus_above_one"}


def test_unknown_group_is_refused():
    data = sample()
    data["assistance"]["groups"]["穷人"] = {"rate": 0.5, "annual_cap": None}
    data["critical_illness"]["tilt"]["groups"].append("富人")
    assert fields(refused(data)) == {"assistance.groups.穷人": "group_unknown",
                                     "critical_illness.tilt.groups[3]": "group_unknown"}


def test_group_named_twice_by_code_and_chinese_name_is_refused():
    data = sample()
    data["assistance"]["groups"]["min_living"] = {"rate": 0.5, "annual_cap": None}
    assert fields(refused(data)) == {"assistance.groups.min_living": "group_twice"}


def test_assistance_rate_and_cap_are_checked():
    data = sample()
    data["assistance"]["groups"]["低保"] = {"rate": 7, "annual_cap": -1}
    assert fields(refused(data)) == {"assistance.groups.低保.rate": "rate_range",
                                     "assistance.groups.低保.annual_cap": "negative"}


def test_money_with_more_than_two_decimals_is_refused():
    data = sample()
    data["basic"]["annual_cap"] = "150000.001"
    assert fields(refused(data)) == {"basic.annual_cap": "fen"}


def test_non_numbers_and_booleans_are_refused_as_numbers():
    data = sample()
    data["basic"]["annual_cap"] = "a lot"
    data["critical_illness"]["threshold"] = True
    assert fields(refused(data)) == {"basic.annual_cap": "not_number", "critical_illness.threshold": "not_number"}


def test_choices_and_dates_are_checked():
    data = sample()
    data["basic"]["deductible_per"] = "month"
    data["basic"]["downward_referral_waives_deductible"] = "yes"
    data["effective_to"] = date(2021, 12, 31)
    assert fields(refused(data)) == {"basic.deductible_per": "not_allowed",
                                     "basic.downward_referral_waives_deductible": "not_bool",
                                     "effective_to": "effective_to_before_from"}


def test_id_must_name_region_and_the_policy_scheme():
    data = sample()
    data["scheme"] = "employee"
    assert fields(refused(data)) == {"id": "id_format", "critical_illness": "layer_of_other_scheme"}
    data = sample()
    data["id"] = "Huanggang 2022"
    assert fields(refused(data)) == {"id": "id_format"}


def test_every_error_of_a_file_is_reported_at_once():
    data = sample()
    data["basic"]["levels"]["county"]["rate"] = 2
    data["critical_illness"]["annual_cap"] = -1
    data["scheme"] = "private"
    assert set(fields(refused(data))) == {"basic.levels.county.rate", "critical_illness.annual_cap", "scheme"}


def test_layers_may_be_absent_as_null():
    data = sample()
    data["critical_illness"] = None
    data["assistance"] = None
    p = parse_policy(data)
    assert p.critical_illness is None and dict(p.assistance) == {}


def test_a_key_written_twice_is_refused(tmp_path):
    text = SAMPLE.read_text(encoding="utf-8").replace("  annual_cap: 150000", "  annual_cap: 150000\n  annual_cap: 1")
    path = tmp_path / "twice.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyInvalid) as info:
        load_policy(path)
    assert "duplicate key 'annual_cap'" in str(info.value)
    assert info.value.errors[0].field.startswith("line ")


def test_invalid_yaml_is_refused(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("id: [unclosed\n", encoding="utf-8")
    with pytest.raises(PolicyInvalid) as info:
        load_policy(path)
    assert info.value.errors[0].reason_key == "settlement.errors.policy.yaml"


# --- directories and selection --------------------------------------------------------------------
def test_overlapping_policies_of_one_region_and_scheme_are_refused(tmp_path):
    first = sample()
    second = copy.deepcopy(first)
    second["id"] = "huanggang-resident-2024"
    second["effective_from"] = date(2024, 1, 1)
    write(tmp_path, "a.yaml", first)
    write(tmp_path, "b.yaml", second)
    with pytest.raises(PolicyInvalid) as info:
        load_policies(tmp_path)
    assert fields(info.value) == {"b.yaml: effective_from": "overlap"}
    assert "huanggang-resident-2022" in str(info.value)


def test_successive_policies_and_other_regions_may_coexist(tmp_path):
    first = sample()
    first["effective_to"] = date(2023, 12, 31)
    second = copy.deepcopy(first)
    second.update(id="huanggang-resident-2024", effective_from=date(2024, 1, 1), effective_to=None)
    second["basic"]["levels"]["city"]["rate"] = 0.62
    other = copy.deepcopy(second)
    other.update(id="wuhan-resident-2024")
    for name, data in (("a.yaml", first), ("b.yaml", second), ("c.yaml", other)):
        write(tmp_path, name, data)
    policies = load_policies(tmp_path)
    assert len(policies) == 3
    assert select_policy(policies, "resident", date(2023, 12, 31), region="huanggang").id == "huanggang-resident-2022"
    chosen = select_policy(policies, "resident", date(2024, 1, 1), region="huanggang")
    assert chosen.id == "huanggang-resident-2024" and chosen.basic.levels["city"].rate == Decimal("0.62")
    with pytest.raises(Conflict):
        select_policy(policies, "resident", date(2024, 6, 1))


def test_two_files_with_one_id_are_refused(tmp_path):
    write(tmp_path, "a.yaml", sample())
    write(tmp_path, "b.yaml", sample())
    with pytest.raises(PolicyInvalid) as info:
        load_policies(tmp_path)
    assert "b.yaml: id" in fields(info.value)


def test_errors_in_a_directory_name_the_file(tmp_path):
    data = sample()
    data["basic"]["levels"]["county"]["rate"] = 3
    write(tmp_path, "broken.yaml", data)
    with pytest.raises(PolicyInvalid) as info:
        load_policies(tmp_path)
    assert fields(info.value) == {"broken.yaml: basic.levels.county.rate": "rate_range"}


def test_select_policy_by_scheme_and_date():
    policies = bundled_policies()
    assert select_policy(policies, "resident", date(2024, 3, 1)).id == "huanggang-resident-2022"
    with pytest.raises(NotFound):
        select_policy(policies, "resident", date(2021, 12, 31))
    with pytest.raises(NotFound):
        select_policy(policies, "employee", date(2022, 12, 31))
    with pytest.raises(InvalidInput) as info:
        select_policy(policies, "private", date(2024, 3, 1))
    assert info.value.field == "scheme"


def test_unknown_policy_id_is_not_found():
    with pytest.raises(NotFound):
        get_policy("nowhere-resident-1999")
