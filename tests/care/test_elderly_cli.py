"""`weijian elderly constitution` and `weijian elderly self-care`: scores worked by hand from the 规范's
体质判定标准表 and 生活自理能力评估表 (see test_elderly_rules.py), and refusals naming the field."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from weijian.cli import app

runner = CliRunner()


def answers(**over: int) -> str:
    a = [1] * 33
    for key, value in over.items():
        a[int(key[1:]) - 1] = value
    return ",".join(map(str, a))


def test_constitution_json_scores_the_nine_constitutions():
    """q2 3, q3 3, q4 2, q14 3: 气虚 11 是; 平和 1 + 3 + 4 + 5 + 5 = 18 but 气虚 >10: 否."""
    result = runner.invoke(app, ["elderly", "constitution", "--answers", answers(q2=3, q3=3, q4=2, q14=3),
                                 "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["scores"]["qi_deficiency"] == 11 and data["scores"]["balanced"] == 18
    assert data["verdicts"]["qi_deficiency"] == "yes" and data["verdicts"]["balanced"] == "no"
    assert data["identified"] == ["qi_deficiency"] and data["main"] == "qi_deficiency"


def test_constitution_refuses_unanswered_and_out_of_range_questions_by_number():
    result = runner.invoke(app, ["elderly", "constitution", "--answers", "1,2,,9" + ",1" * 29, "--format", "json"])
    assert result.exit_code == 1
    assert "第 3 题未填写" in result.stderr and "第 4 题的回答须在 1～5 之间" in result.stderr
    short = runner.invoke(app, ["elderly", "constitution", "--answers", "1,1", "--locale", "en"])
    assert short.exit_code == 1 and "Question(s) 3, 4," in short.stderr


def test_self_care_gives_the_total_and_the_band():
    """进餐 中度依赖 3 + 梳洗 轻度依赖 1 = 4: 轻度依赖 (the boundary a `>4` would miss)."""
    result = runner.invoke(app, ["elderly", "self-care", "--levels",
                                 "moderate,mild,independent,independent,independent", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"scores": {"eating": 3, "grooming": 1, "dressing": 0, "toileting": 0,
                                                    "activity": 0}, "total": 4, "band": "mild", "rule_version": 1}
    bad = runner.invoke(app, ["elderly", "self-care", "--levels", "mild,independent"])
    assert bad.exit_code == 1 and "eating:" in bad.stderr and "dressing:" in bad.stderr
