"""The rules of severe mental illness management, hand-worked from 国家基本公共卫生服务规范（第三版）严重精神障碍
患者管理服务规范 §分类干预 (as public-health.md §6 transcribes it; VERIFY against the official text):
- 不稳定: 危险性为3～5级或精神症状明显、自知力缺乏、有严重药物不良反应或严重躯体疾病 → 立即转诊, 2周内了解情况;
- 基本稳定: 危险性为1～2级，或精神症状、自知力、社会功能状况至少有一方面较差 → 观察2周;
- 稳定: 危险性为0级，且精神症状基本消失，自知力基本恢复，社会功能处于一般或良好 → 3个月时随访.
The six diseases' ICD-10 categories follow 严重精神障碍管理治疗工作规范（2018年版）: F20, F25, F22, F31, F06,
F70–F79."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from weijian.care.mental import rules

CALM = {"symptoms": "gone", "insight": "recovered", "social_function": "good", "severe_adverse_reaction": False,
        "severe_physical_illness": False}


@pytest.mark.parametrize("grade, expected", [(0, "stable"), (1, "basically_stable"), (2, "basically_stable"),
                                             (3, "unstable"), (4, "unstable"), (5, "unstable")])
def test_the_risk_grade_alone_sets_the_class_as_the_norm_says(grade, expected):
    assert rules.classify(risk_grade=grade, **CALM) == expected


@pytest.mark.parametrize("answer, expected", [
    ({"symptoms": "marked"}, "unstable"),            # 精神症状明显
    ({"insight": "absent"}, "unstable"),             # 自知力缺乏
    ({"severe_adverse_reaction": True}, "unstable"),  # 严重药物不良反应
    ({"severe_physical_illness": True}, "unstable"),  # 严重躯体疾病
    ({"symptoms": "present"}, "basically_stable"),   # 精神症状较差
    ({"insight": "partial"}, "basically_stable"),    # 自知力较差
    ({"social_function": "poor"}, "basically_stable"),  # 社会功能较差
    ({"social_function": "fair"}, "stable"),         # 社会功能处于一般或良好
])
def test_at_risk_0_one_poor_answer_moves_the_class(answer, expected):
    assert rules.classify(risk_grade=0, **{**CALM, **answer}) == expected


def test_stable_is_seen_again_in_3_months_the_others_within_2_weeks():
    assert rules.next_visit("stable", date(2026, 3, 10)) == date(2026, 6, 10)
    assert rules.next_visit("stable", date(2026, 11, 30)) == date(2027, 2, 28)  # no 30 February
    assert rules.next_visit("basically_stable", date(2026, 3, 10)) == date(2026, 3, 24)
    assert rules.next_visit("unstable", date(2026, 12, 25)) == date(2027, 1, 8)
    assert rules.rules().classes["unstable"].refer and not rules.rules().classes["basically_stable"].refer


def test_the_six_diseases_by_their_icd10_categories():
    assert {rules.disease_of(c) for c in ("F20.0", "f20.9", "F25.1", "F22.0", "F31.9", "F06.2", "F70.1", "F79")} == {
        "schizophrenia", "schizoaffective", "delusional", "bipolar", "epilepsy", "intellectual"}
    assert rules.disease_of("F32.2") is None and rules.disease_of("I10") is None and rules.disease_of(None) is None
    assert len(rules.rules().diseases) == 6 and sorted(rules.rules().risk_grades) == [0, 1, 2, 3, 4, 5]


def test_due_status_counts_from_the_next_visit_day():
    nxt = date(2026, 6, 10)
    assert rules.due_status(nxt, date(2026, 6, 11)) == "overdue"
    assert rules.due_status(nxt, date(2026, 6, 10)) == "due"
    assert rules.due_status(nxt, date(2026, 6, 3)) == "due"
    assert rules.due_status(nxt, date(2026, 6, 2)) == "upcoming"


def test_a_rules_file_without_grade_5_is_refused(tmp_path: Path):
    text = rules.RULES_FILE.read_text(encoding="utf-8")
    start = text.index("  - {grade: 5")
    broken = tmp_path / "mental.yaml"
    broken.write_text(text[:start] + text[text.index("\n", start) + 1:], encoding="utf-8")
    with pytest.raises(rules.RulesInvalid, match="0–5"):
        rules.load_rules(broken)
