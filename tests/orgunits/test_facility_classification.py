"""Issue 13, part 5: one facility classification. Each facility type's care tier, settlement level and
primary-care flag are in orgunits/data/facility_types.yaml and nowhere else; referrals, settlement and the
figures read them from there.

Expected values, from the texts the data file names: the three-tier county network 县—乡—村
(国办发〔2015〕70号 分级诊疗): county hospitals, township centres (and urban community centres at the same
rung), village clinics; the insurance policy levels 乡镇（社区）级 and 县级; 基层医疗卫生机构 in the health
statistics sense = 乡镇卫生院, 社区卫生服务中心（站）, 村卫生室 (CDC is a professional public-health body).
"""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from weijian.care.records import figures as figures_records
from weijian.care.referrals import rules as referrals
from weijian.orgunits import rules as orgunits_rules
from weijian.orgunits import service as orgunits
from weijian.settlement.settle import queries as settle

EXPECTED = {  # type: (tier, settlement level, primary care)
    "county_general": ("county", "county", False), "county_tcm": ("county", "county", False),
    "county_mch": ("county", "county", False), "township_centre": ("township", "township", True),
    "community_centre": ("township", "township", True), "village_clinic": ("village", "township", True),
    "cdc": (None, None, False), "other": (None, None, False),
}


def test_each_type_has_its_tier_level_and_primary_care_flag():
    assert set(orgunits.reference().types) == set(EXPECTED)
    for code, (tier, level, primary) in EXPECTED.items():
        assert (orgunits.facility_tier(code), orgunits.settlement_level(code), code in orgunits.primary_care_types()) \
            == (tier, level, primary), code


def test_referrals_settlement_and_figures_read_the_one_classification():
    ranks = referrals.rules().tiers
    for code, (tier, level, primary) in EXPECTED.items():
        assert referrals.tier_of(code) == (ranks[tier] if tier else None), code
        if level is not None:
            assert settle.stay_level(SimpleNamespace(type=code, grade=None, name=code)) == level
        assert (code in figures_records.PRIMARY_TYPES) is primary


def test_a_type_without_its_classification_is_refused(tmp_path, monkeypatch):
    text = orgunits.REFERENCE_FILE.read_text(encoding="utf-8")
    broken = tmp_path / "facility_types.yaml"
    broken.write_text(text.replace("    tier: village\n", "    tier: hamlet\n", 1), encoding="utf-8")
    monkeypatch.setattr(orgunits_rules, "REFERENCE_FILE", broken)
    orgunits.reference.cache_clear()
    try:
        with pytest.raises(ValueError, match="village_clinic.tier"):
            orgunits.reference()
    finally:
        monkeypatch.undo()
        orgunits.reference.cache_clear()
