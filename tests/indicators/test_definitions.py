"""The definitions file: the built-in one loads; a bad one is refused naming the indicator and the key."""
from __future__ import annotations

from pathlib import Path

import pytest

from weijian.indicators import definitions
from weijian.indicators.definitions import DefinitionError, load

GOOD = """
version: 1
indicators:
  - id: my_rate
    name: {zh_CN: 测试率, en: Test rate}
    category: care
    numerator: {measure: outpatient_visits, filters: {tier: primary}}
    denominator: {measure: outpatient_visits}
    factor: 100
    unit: "%"
    target: {op: ">=", value: 65, amber: 60}
    source: a test
    attribution: event_residence
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "indicators.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_built_in_definitions_load_with_the_named_indicators():
    ids = set(definitions.load().indicators)
    assert {"beds_per_1000", "physicians_per_1000", "primary_care_share", "county_retention_rate",
            "prenatal_screening_rate", "elderly_health_check_rate", "hypertension_management_rate",
            "diabetes_control_rate", "coverage_mmr1", "settlement_basic", "referrals_up"} <= ids


def test_every_built_in_indicator_says_where_its_values_are_counted():
    """Issue 15 item 13: visits, stays, doses, screenings and births where the person lived on the day;
    populations, and the 65+ checked against them, where they lived at the period's end (年末); beds and
    physicians at the facility's org unit (per 1,000 of the year-end population)."""
    got = {i.id: i.attribution for i in definitions.load().indicators.values()}
    assert got["primary_care_share"] == ("event_residence", "event_residence")
    assert got["vaccination_doses"] == ("event_residence", None)
    assert got["population_total"] == ("reference_residence", None)
    assert got["elderly_health_check_rate"] == ("reference_residence", "reference_residence")
    assert got["beds_per_1000"] == ("facility", "reference_residence")
    assert got["prenatal_screening_rate"] == ("event_residence", "event_residence")
    assert got["settlement_basic"] == ("settlement_village", None)


def test_a_good_file_loads_with_defaults_applied(tmp_path):
    ind = load(write(tmp_path, GOOD)).indicators["my_rate"]
    assert ind.denominator.filter_dict == {"tier": "any"}  # the filter's default
    assert (ind.factor, ind.decimals, ind.unit("en"), str(ind.target.value)) == (100, 2, "%", "65")


@pytest.mark.parametrize(("change", "named"), [
    (("measure: outpatient_visits, filters: {tier: primary}", "measure: outpatient_vists"),
     ["indicator `my_rate`", "numerator", "unknown measure `outpatient_vists`"]),
    (("filters: {tier: primary}", "filters: {tier: primary, colour: red}"),
     ["indicator `my_rate`", "numerator", "unknown filter `colour`"]),
    (("filters: {tier: primary}", "filters: {tier: tertiary}"),
     ["indicator `my_rate`", "filter `tier`", "tertiary"]),
    (("factor: 100", "factor: 10"), ["indicator `my_rate`", "factor"]),
    (("amber: 60", "amber: 70"), ["indicator `my_rate`", "amber"]),
    (("category: care", "category: weather"), ["indicator `my_rate`", "category"]),
    (("source: a test", "sorce: a test"), ["indicator `my_rate`", "key `sorce`"]),
    # Where the values are counted must be said, and be what the measure counts by (issue 15 item 13).
    (("    attribution: event_residence\n", ""), ["indicator `my_rate`", "attribution", "is required"]),
    (("attribution: event_residence", "attribution: reference_residence"),
     ["indicator `my_rate`", "attribution: numerator", "counts by `event_residence`"]),
    (("attribution: event_residence", "attribution: {numerator: event_residence, denominator: facility}"),
     ["indicator `my_rate`", "attribution: denominator", "`outpatient_visits` counts by `event_residence`"]),
])
def test_a_bad_definition_is_refused_naming_indicator_and_key(tmp_path, change, named):
    with pytest.raises(DefinitionError) as exc:
        load(write(tmp_path, GOOD.replace(*change)))
    for part in named:
        assert part in str(exc.value)
    assert "indicators.yaml" in str(exc.value)


def test_a_required_filter_left_out_is_refused(tmp_path):
    text = GOOD.replace("measure: outpatient_visits, filters: {tier: primary}", "measure: referrals")
    with pytest.raises(DefinitionError, match="needs the filter `direction`"):
        load(write(tmp_path, text))
