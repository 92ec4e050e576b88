"""The pure scorings of the elderly's annual service, worked by hand from the 规范's own tables (国家基本公共卫生
服务规范（第三版）, 老年人健康管理服务规范's 老年人生活自理能力评估表, and 老年人中医药健康管理服务规范's 体质判定标准表
— both read in a secondary transcription, VERIFY in the data files), not from our data files:

- 生活自理能力评估表: 进餐 0/—/3/5, 梳洗 0/1/3/7, 穿衣 0/—/3/5, 如厕 0/1/5/10, 活动 0/1/5/10; 0～3 可自理,
  4～8 轻度依赖, 9～18 中度依赖, ≥19 不能自理.
- 体质判定标准表: 气虚 2,3,4,14 · 阳虚 11,12,13,29 · 阴虚 10,21,26,31 · 痰湿 9,16,28,32 · 湿热 23,25,27,30 ·
  血瘀 19,22,24,33 · 气郁 5,6,7,8 · 特禀 15,17,18,20: ≥11 是, 9～10 倾向是, ≤8 否; 平和 1,2,4,5,13 with 2,4,5,13
  reverse-scored (1→5 … 5→1): ≥17 and every other ≤8 是, ≥17 and every other ≤10 基本是, else 否."""
from __future__ import annotations

import pytest

from weijian.care.elderly import rules

BIASED = ("qi_deficiency", "yang_deficiency", "yin_deficiency", "phlegm_dampness", "damp_heat", "blood_stasis",
          "qi_stagnation", "special")


def levels(**over: str) -> dict[str, str]:
    return {"eating": "independent", "grooming": "independent", "dressing": "independent",
            "toileting": "independent", "activity": "independent", **over}


@pytest.mark.parametrize(("given", "total", "band"), [
    (levels(), 0, "independent"),
    (levels(grooming="mild", toileting="mild", activity="mild"), 3, "independent"),  # 1+1+1
    (levels(eating="moderate", grooming="mild"), 4, "mild"),  # 3+1: the boundary a `>4` would miss
    (levels(eating="moderate", toileting="moderate"), 8, "mild"),  # 3+5
    (levels(eating="moderate", toileting="moderate", activity="mild"), 9, "moderate"),  # 3+5+1
    (levels(grooming="dependent", toileting="dependent", activity="mild"), 18, "moderate"),  # 7+10+1
    (levels(eating="moderate", grooming="mild", toileting="dependent", activity="moderate"), 19, "dependent"),
    (levels(eating="dependent", grooming="dependent", dressing="dependent", toileting="dependent",
            activity="dependent"), 37, "dependent"),  # 5+7+5+10+10
])
def test_the_self_care_total_falls_in_the_forms_bands(given, total, band):
    s = rules.self_care(given)
    assert (s.total, s.band) == (total, band)
    assert sum(s.scores.values()) == total


def test_the_item_scores_are_the_forms():
    s = rules.self_care(levels(eating="dependent", grooming="moderate", dressing="moderate", toileting="mild",
                               activity="dependent"))
    assert s.scores == {"eating": 5, "grooming": 3, "dressing": 3, "toileting": 1, "activity": 10}


@pytest.mark.parametrize("item", ["eating", "dressing"])
def test_eating_and_dressing_have_no_mild_level_on_the_form(item):
    with pytest.raises(ValueError):
        rules.self_care(levels(**{item: "mild"}))


def form(base: int = 1, **answers: int) -> list[int]:
    """33 answers of `base`, with q<n>=value overrides."""
    out = [base] * 33
    for key, value in answers.items():
        out[int(key[1:]) - 1] = value
    return out


def test_all_never_is_balanced_yes():
    """Every answer 1: each biased sum 4 (否); 平和 = q1 1 + four reversed 5s = 21 ≥17, others ≤8: 是."""
    r = rules.constitution(form())
    assert r.scores["balanced"] == 21 and all(r.scores[c] == 4 for c in BIASED)
    assert r.verdicts["balanced"] == "yes" and all(r.verdicts[c] == "no" for c in BIASED)
    assert r.main == "balanced" and r.identified() == ["balanced"]


def test_all_sometimes_is_every_biased_constitution_and_no_main():
    """Every answer 3: each biased sum 12 (是); 平和 3+3·4 = 15 <17 (否); eight equal scores: no main (中医师)."""
    r = rules.constitution(form(3))
    assert r.scores["balanced"] == 15 and r.verdicts["balanced"] == "no"
    assert all(r.verdicts[c] == "yes" for c in BIASED) and r.main is None


def test_qi_deficiency_at_11_is_yes_and_the_balanced_constitution_then_no():
    """q2 3 + q3 3 + q4 2 + q14 3 = 11 是; 平和 = 1 + (6−3) + (6−2) + 5 + 5 = 18 ≥17 but 气虚 11 >10: 否."""
    r = rules.constitution(form(q2=3, q3=3, q4=2, q14=3))
    assert r.scores["qi_deficiency"] == 11 and r.verdicts["qi_deficiency"] == "yes"
    assert r.scores["balanced"] == 18 and r.verdicts["balanced"] == "no"
    assert r.main == "qi_deficiency"


def test_qi_deficiency_at_10_is_leaning_and_the_balanced_basically_yes():
    """q2 3 + q3 3 + q4 2 + q14 2 = 10 倾向是; 平和 18, every other ≤10 (not ≤8): 基本是; main 气虚 (偏颇 first)."""
    r = rules.constitution(form(q2=3, q3=3, q4=2, q14=2))
    assert r.verdicts["qi_deficiency"] == "leaning" and r.verdicts["balanced"] == "basic"
    assert r.identified() == ["balanced", "qi_deficiency"] and r.main == "qi_deficiency"


def test_a_biased_sum_of_9_is_leaning_and_8_is_no():
    assert rules.constitution(form(q5=3, q6=2, q7=2, q8=2)).verdicts["qi_stagnation"] == "leaning"  # 9
    r = rules.constitution(form(q2=2, q3=2, q4=2, q14=2))  # 气虚 8: 否; 平和 1+4+4+5+5 = 19, others ≤8: 是
    assert r.verdicts["qi_deficiency"] == "no" and r.scores["balanced"] == 19 and r.verdicts["balanced"] == "yes"


def test_the_balanced_constitution_at_17_is_yes_and_at_16_no():
    """q1 2, q2 1→5, q4 2→4, q5 3→3, q13 3→3: 17 (气虚 1+1+2+1 = 5, 阳虚 1+1+3+1 = 6, 气郁 3+1+1+1 = 6: ≤8) 是;
    q1 1 instead: 16, 否."""
    r = rules.constitution(form(q1=2, q4=2, q5=3, q13=3))
    assert r.scores["balanced"] == 17 and r.verdicts["balanced"] == "yes"
    r = rules.constitution(form(q1=1, q4=2, q5=3, q13=3))
    assert r.scores["balanced"] == 16 and r.verdicts["balanced"] == "no" and r.main is None


def test_a_reverse_scored_item_counts_the_other_way_for_the_balanced_constitution():
    """q2 5 (疲乏 总是) adds 5 to 气虚 and 6−5 = 1 to 平和."""
    low, high = rules.constitution(form()), rules.constitution(form(q2=5))
    assert high.scores["qi_deficiency"] - low.scores["qi_deficiency"] == 4
    assert low.scores["balanced"] - high.scores["balanced"] == 4


def test_the_highest_biased_score_is_the_main_constitution_and_a_tie_has_none():
    """阳虚 q11..q29 3,3,3,3 = 12 and 阴虚 q10,q21,q26,q31 3,3,3,2 = 11: both 是, main 阳虚; 阴虚 12 too: a tie."""
    r = rules.constitution(form(q11=3, q12=3, q13=3, q29=3, q10=3, q21=3, q26=3, q31=2))
    assert r.verdicts["yang_deficiency"] == r.verdicts["yin_deficiency"] == "yes" and r.main == "yang_deficiency"
    r = rules.constitution(form(q11=3, q12=3, q13=3, q29=3, q10=3, q21=3, q26=3, q31=3))
    assert r.main is None


def test_each_constitution_reads_its_own_items():
    """Raising one constitution's four items to 3 gives it 12 and leaves every other biased one at 4."""
    items = {"qi_deficiency": (2, 3, 4, 14), "yang_deficiency": (11, 12, 13, 29), "yin_deficiency": (10, 21, 26, 31),
             "phlegm_dampness": (9, 16, 28, 32), "damp_heat": (23, 25, 27, 30), "blood_stasis": (19, 22, 24, 33),
             "qi_stagnation": (5, 6, 7, 8), "special": (15, 17, 18, 20)}
    for code, numbers in items.items():
        r = rules.constitution(form(**{f"q{n}": 3 for n in numbers}))
        assert r.scores[code] == 12, code
        assert all(r.scores[c] == 4 for c in BIASED if c != code), code


def test_unanswered_and_out_of_range_answers_are_named():
    missing, odd = rules.answer_problems([1] * 5 + [None] + [1] * 10 + [7] + [1] * 15 + [None])
    assert missing == [6, 33] and odd == [17]
    with pytest.raises(ValueError):
        rules.constitution([1] * 32)
