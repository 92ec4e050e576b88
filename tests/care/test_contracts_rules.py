"""The rules file of family-doctor contracting and the arithmetic of a term.

国医改办发〔2016〕1号《关于推进家庭医生签约服务的指导意见》 (as ../shared/domain/public-health.md §1 quotes it):
"签约周期原则上为一年" — a contract runs a year; worked by hand here: signed from 2026-03-01 it covers up to
2027-02-28 (the day before the same date a year later), from 2024-02-29 up to 2025-02-27 (29 February has no
match in 2025: the same date is 28 February, the term ends the day before)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from weijian.care.contracts import rules


def test_a_term_is_a_year_less_a_day():
    assert rules.term_end(date(2026, 3, 1)) == date(2027, 2, 28)
    assert rules.term_end(date(2026, 1, 1)) == date(2026, 12, 31)
    assert rules.term_end(date(2024, 2, 29)) == date(2025, 2, 27)


def test_a_contract_is_due_within_30_days_of_its_end_and_lapsed_after_it():
    end = date(2026, 12, 31)
    assert rules.state(end, date(2026, 11, 30)) == "active"  # 31 days before
    assert rules.state(end, date(2026, 12, 1)) == "due"  # 30 days before
    assert rules.state(end, end) == "due"
    assert rules.state(end, date(2027, 1, 1)) == "lapsed"


def test_the_file_names_the_2016_priority_groups_and_the_2018_additions():
    """2016: 老年人, 孕产妇, 儿童, 残疾人, 高血压, 糖尿病, 结核病, 严重精神障碍; 2018: 贫困人口."""
    r = rules.rules()
    assert set(r.key_populations) == {"elderly_65", "children_0_6", "pregnant", "hypertension", "diabetes", "tb",
                                      "severe_mental", "disabled", "poverty"}
    assert r.key_populations["elderly_65"].min_age == 65 and r.key_populations["children_0_6"].max_age == 6
    assert r.packages["basic"].fee == Decimal("0.00") and r.term_months == 12


def test_a_file_without_the_basic_package_is_refused(tmp_path):
    text = rules.RULES_FILE.read_text(encoding="utf-8").replace("code: basic", "code: plain")
    bad = tmp_path / "contract_packages.yaml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(rules.RulesInvalid):
        rules.load_rules(bad)
