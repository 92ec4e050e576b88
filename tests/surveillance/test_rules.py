"""The notifiable disease list by date (surveillance/data/diseases.yaml). The expected lists are transcribed
here from the official texts (not read from the data file); each test names the text it holds."""
from __future__ import annotations

from datetime import date

import pytest

from weijian.core.errors import RulesInvalid
from weijian.surveillance import rules
from weijian.surveillance.rules import disease_for_icd10, edition_on

# 中华人民共和国传染病防治法 (2004年修订, 2013年修正), 第三条, transcribed from the text of 2013-06-29.
ART3_2004_A = "鼠疫、霍乱"
ART3_2004_B = ("传染性非典型肺炎、艾滋病、病毒性肝炎、脊髓灰质炎、人感染高致病性禽流感、麻疹、流行性出血热、狂犬病、"
               "流行性乙型脑炎、登革热、炭疽、细菌性和阿米巴性痢疾、肺结核、伤寒和副伤寒、流行性脑脊髓膜炎、百日咳、"
               "白喉、新生儿破伤风、猩红热、布鲁氏菌病、淋病、梅毒、钩端螺旋体病、血吸虫病、疟疾")
ART3_2004_C = ("流行性感冒、流行性腮腺炎、风疹、急性出血性结膜炎、麻风病、流行性和地方性斑疹伤寒、黑热病、包虫病、丝虫病、"
               "除霍乱、细菌性和阿米巴性痢疾、伤寒和副伤寒以外的感染性腹泻病")
# The law revised 2025-04-30, in force 2025-09-01: 40 diseases, 2 A + 27 B + 11 C (China Daily 2025-05-02,
# quoting the NPC Legislative Affairs Commission); names as China CDC's monthly reports list them.
LAW_2025_B = ("新型冠状病毒感染、传染性非典型肺炎、艾滋病、病毒性肝炎、脊髓灰质炎、人感染新亚型流感、麻疹、流行性出血热、"
              "狂犬病、流行性乙型脑炎、登革热、猴痘、炭疽、细菌性和阿米巴性痢疾、肺结核、伤寒和副伤寒、流行性脑脊髓膜炎、"
              "百日咳、白喉、新生儿破伤风、猩红热、布鲁氏菌病、淋病、梅毒、钩端螺旋体病、血吸虫病、疟疾")
LAW_2025_C = ("流行性感冒、流行性腮腺炎、风疹、急性出血性结膜炎、麻风病、流行性和地方性斑疹伤寒、黑热病、包虫病、丝虫病、"
              "手足口病、其他感染性腹泻病")
# Article 3's last class C item is written out in full; the list names it 其他感染性腹泻病.
OTHER_DIARRHOEA = "除霍乱、细菌性和阿米巴性痢疾、伤寒和副伤寒以外的感染性腹泻病"


def names(on: date, disease_class: str) -> set[str]:
    return {d.zh for d in edition_on(on).of_class(disease_class)}


def law(text: str) -> set[str]:
    if text.endswith(OTHER_DIARRHOEA):
        return {*text[: -len(OTHER_DIARRHOEA)].rstrip("、").split("、"), "其他感染性腹泻病"}
    return set(text.split("、"))


def test_the_2004_list_is_article_3_of_the_law():
    """传染病防治法 (2004) 第三条: 甲类 鼠疫、霍乱; 乙类 25 diseases; 丙类 10, the last "除霍乱、细菌性和阿米巴性痢疾、
    伤寒和副伤寒以外的感染性腹泻病"."""
    on = date(2005, 1, 1)
    assert edition_on(on).id == "law-2004"
    assert names(on, "A") == law(ART3_2004_A)
    assert names(on, "B") == law(ART3_2004_B) and len(law(ART3_2004_B)) == 25
    assert names(on, "C") == law(ART3_2004_C) and len(law(ART3_2004_C)) == 10


def test_article_4_diseases_take_class_a_measures_under_the_2004_law():
    """第四条: "对乙类传染病中传染性非典型肺炎、炭疽中的肺炭疽和人感染高致病性禽流感，采取本法所称甲类传染病的预防、
    控制措施" — pulmonary anthrax (ICD-10 A22.1) only, not anthrax as a whole."""
    on = date(2005, 1, 1)
    managed = {d.zh for d in edition_on(on).diseases if d.managed_as_a}
    assert managed == {"传染性非典型肺炎", "人感染高致病性禽流感"}
    anthrax = edition_on(on).by_code("anthrax")
    assert anthrax.limit_hours("A22.1") == 2 and anthrax.limit_hours("A22.0") == 24 and anthrax.limit_hours() == 24


def test_hfmd_is_class_c_from_2_may_2008():
    """卫生部 2008-05-02: 手足口病 列入丙类传染病."""
    assert "手足口病" not in names(date(2008, 5, 1), "C")
    assert "手足口病" in names(date(2008, 5, 2), "C") and len(names(date(2008, 5, 2), "C")) == 11


def test_h1n1_is_class_b_with_class_a_measures_from_2009_until_merged_into_influenza_in_2014():
    """卫生部 2009-04-30: 甲型H1N1流感 纳入乙类, 采取甲类措施; 国卫疾控发〔2013〕28号: from B to C, managed as
    流行性感冒 from 2014-01-01."""
    assert edition_on(date(2009, 4, 29)).by_code("h1n1_2009") is None
    h1n1 = edition_on(date(2009, 4, 30)).by_code("h1n1_2009")
    assert (h1n1.zh, h1n1.disease_class, h1n1.managed_as_a) == ("甲型H1N1流感", "B", True)
    assert edition_on(date(2013, 12, 31)).by_code("h1n1_2009") is not None
    assert edition_on(date(2014, 1, 1)).by_code("h1n1_2009") is None


def test_h7n9_is_class_b_and_hpai_no_longer_managed_as_class_a_from_november_2013():
    """国卫疾控发〔2013〕28号: 人感染H7N9禽流感 纳入乙类 from 2013-11-01; 人感染高致病性禽流感 from 乙类甲管 to 乙类乙管.
    The notice counts 39 diseases: 甲类2种、乙类26种、丙类11种 (with 甲型H1N1流感 moved to 丙类)."""
    assert edition_on(date(2013, 10, 31)).by_code("h7n9") is None
    assert edition_on(date(2013, 10, 31)).by_code("hpai").managed_as_a is True
    on = date(2013, 11, 1)
    assert edition_on(on).by_code("h7n9").disease_class == "B"
    assert edition_on(on).by_code("hpai").managed_as_a is False
    after = date(2014, 1, 1)
    assert [len(names(after, c)) for c in "ABC"] == [2, 26, 11]


def test_covid19_class_b_managed_as_a_then_renamed_and_managed_as_b_from_8_january_2023():
    """国家卫生健康委 2022年第7号公告: "将新型冠状病毒肺炎更名为新型冠状病毒感染"; "自2023年1月8日起，解除对新型冠状病毒
    感染采取的《中华人民共和国传染病防治法》规定的甲类传染病预防、控制措施"."""
    assert edition_on(date(2020, 1, 19)).by_code("covid19") is None
    before = edition_on(date(2023, 1, 7)).by_code("covid19")
    assert (before.zh, before.managed_as_a, before.limit_hours()) == ("新型冠状病毒肺炎", True, 2)
    after = edition_on(date(2023, 1, 8)).by_code("covid19")
    assert (after.zh, after.disease_class, after.managed_as_a, after.limit_hours()) == ("新型冠状病毒感染", "B", False, 24)


def test_mpox_is_class_b_from_20_september_2023():
    """国家卫生健康委 公告 2023-09-15: "自2023年9月20日起将猴痘纳入乙类传染病进行管理"."""
    assert edition_on(date(2023, 9, 19)).by_code("mpox") is None
    assert edition_on(date(2023, 9, 20)).by_code("mpox").disease_class == "B"
    assert [len(names(date(2023, 9, 20), c)) for c in "ABC"] == [2, 28, 11]


def test_the_revised_law_lists_40_diseases_from_1_september_2025():
    """传染病防治法 (2025年修订), in force 2025-09-01: "40 infectious diseases — two as Class A, 27 as Class B, and 11
    as Class C" (China Daily 2025-05-02); 人感染新亚型流感 replaces 人感染高致病性禽流感 and 人感染H7N9禽流感."""
    assert edition_on(date(2025, 8, 31)).id == "law-2004"
    on = date(2025, 9, 1)
    assert edition_on(on).id == "law-2025"
    assert names(on, "A") == {"鼠疫", "霍乱"}
    assert names(on, "B") == law(LAW_2025_B) and len(law(LAW_2025_B)) == 27
    assert names(on, "C") == law(LAW_2025_C) and len(law(LAW_2025_C)) == 11
    assert {"人感染高致病性禽流感", "人感染H7N9禽流感"} <= names(date(2025, 8, 31), "B")
    assert not {"人感染高致病性禽流感", "人感染H7N9禽流感"} & names(on, "B")


def test_reporting_limits_are_2_hours_for_class_a_and_the_diseases_the_rules_name_24_for_the_others():
    """传染病信息报告管理规范: "甲类传染病和乙类传染病中的肺炭疽、传染性非典型肺炎、脊髓灰质炎、人感染高致病性禽流感的病人
    或疑似病人时 … 应于2小时内 … 网络报告"; "其他乙、丙类传染病病人 … 24小时内进行网络报告"."""
    edition = edition_on(date(2020, 6, 1))
    two_hours = {d.zh for d in edition.diseases if d.limit_hours() == 2}
    # 新型冠状病毒肺炎 then took class A measures (2020年第1号公告), so it was reported within 2 hours too.
    assert two_hours == {"鼠疫", "霍乱", "传染性非典型肺炎", "脊髓灰质炎", "人感染高致病性禽流感", "新型冠状病毒肺炎"}
    assert edition.by_code("anthrax").limit_hours("A22.1") == 2
    assert {d.limit_hours() for d in edition.diseases if d.zh not in two_hours} == {24}


@pytest.mark.parametrize(("code", "on", "expected"), [
    ("B05.9", date(2026, 1, 1), "measles"),
    ("A22.1", date(2026, 1, 1), "anthrax"),
    ("a01.000", date(2026, 1, 1), "typhoid"),  # China's clinical version, lower case
    ("B084", date(2026, 1, 1), "hfmd"),  # undotted
    ("B08.4", date(2007, 1, 1), None),  # HFMD not yet notifiable
    ("J09", date(2020, 1, 1), "hpai"),
    ("J09", date(2026, 1, 1), "novel_flu"),
    ("B22.7", date(2026, 1, 1), "hiv"),  # inside the range B20-B24
    ("I10", date(2026, 1, 1), None),
    ("not a code", date(2026, 1, 1), None),
])
def test_an_icd10_code_names_the_notifiable_disease_in_force_that_day(code, on, expected):
    """ICD-10 (WHO 2019): B05 measles, A22 anthrax, A01 typhoid and paratyphoid, B08.4 enteroviral vesicular
    stomatitis with exanthem (HFMD), J09 zoonotic influenza, B20-B24 HIV disease."""
    found = disease_for_icd10(code, on)
    assert (found.code if found else None) == expected


def test_no_edition_before_the_2004_law():
    with pytest.raises(LookupError):
        edition_on(date(2004, 11, 30))


def _file(tmp_path, diseases: str) -> rules.DiseaseList:
    path = tmp_path / "diseases.yaml"
    path.write_text("version: 1\nmethod_defaults: {}\neditions:\n  - {id: e, name: E, from: 2004-12-01, sources: []}\n"
                    f"diseases:\n{diseases}", encoding="utf-8")
    return rules.load(path)


def test_a_class_a_disease_with_a_24_hour_limit_is_refused_naming_the_entry(tmp_path):
    with pytest.raises(RulesInvalid) as exc:
        _file(tmp_path, "  - {code: plague, zh: 鼠疫, en: Plague, class: A, icd10: [A20], report_limit_hours: 24,"
                        " from: 2004-12-01}\n")
    assert exc.value.errors[0].field == "diseases.0" and "2 hours" in str(exc.value)


def test_two_entries_of_one_disease_on_the_same_day_and_a_code_given_twice_are_refused(tmp_path):
    with pytest.raises(RulesInvalid) as exc:
        _file(tmp_path, "  - {code: mumps, zh: 流行性腮腺炎, en: Mumps, class: C, icd10: [B26], report_limit_hours: 24,"
                        " from: 2004-12-01}\n"
                        "  - {code: mumps, zh: 流行性腮腺炎, en: Mumps, class: C, icd10: [B26.9], report_limit_hours: 24,"
                        " from: 2010-01-01}\n"
                        "  - {code: rubella, zh: 风疹, en: Rubella, class: C, icd10: [B26], report_limit_hours: 24,"
                        " from: 2004-12-01}\n")
    fields = [e.field for e in exc.value.errors]
    assert "diseases.mumps" in fields and "diseases.rubella.icd10" in fields


def test_an_unknown_method_or_a_bad_parameter_is_refused(tmp_path):
    entry = ("  - {code: mumps, zh: 流行性腮腺炎, en: Mumps, class: C, icd10: [B26], report_limit_hours: 24,"
             " from: 2004-12-01, methods: %s}\n")
    with pytest.raises(RulesInvalid, match="unknown method"):
        _file(tmp_path, entry % "{spline: {}}")
    with pytest.raises(RulesInvalid) as exc:
        _file(tmp_path, entry % "{moving_percentile: {px: 120}}")
    assert exc.value.errors[0].field.startswith("diseases.0.methods.moving_percentile.px")


def test_each_disease_of_the_file_has_its_methods_with_the_defaults_filled_in():
    """Issue 16: measles 2 cases in 14 days in one township; EARS thresholds C1 > 3, C2 > 3, C3 > 2 by default;
    BMC Public Health 2017 (doi:10.1186/s12889-017-4488-0): mumps P80, HFMD P75, rubella P45."""
    edition = edition_on(date(2026, 12, 1))
    measles = edition.by_code("measles").methods
    assert (measles.cluster.cases, measles.cluster.days, measles.cluster.level) == (2, 14, "township")
    mumps = edition.by_code("mumps").methods
    assert (mumps.moving_percentile.px, mumps.moving_percentile.window_days, mumps.moving_percentile.years) == (80, 7, 5)
    assert (mumps.ears.c1, mumps.ears.c2, mumps.ears.c3) == (3, 3, 2)
    assert edition.by_code("hfmd").methods.moving_percentile.px == 75
    assert edition.by_code("rubella").methods.moving_percentile.px == 45
    assert edition.by_code("plague").methods.names() == ("fixed",)
