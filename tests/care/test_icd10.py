"""The ICD-10 code list: the shipped file is well-formed and names its source; codes are looked up in any
case and in China's extended spellings; unknown codes are refused naming the field; search ranks exact code,
code prefix, then Chinese name, common name and pinyin initials; diagnoses map to chronic-disease programmes."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from weijian.care import icd10
from weijian.core.errors import InvalidInput
from weijian.core.i18n import translate

HEADER = (
    "# Source: 疾病分类与代码国家临床版2.0; GB/T 14396-2016\n"
    "code,name_zh,name_en,chapter,chronic,aliases\n"
)


def write(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    path = tmp_path / "icd10.csv"
    path.write_text(header + body, encoding="utf-8")
    return path


def refused(path: Path) -> str:
    with pytest.raises(icd10.Icd10TableError) as info:
        icd10.load(path)
    return str(info.value)


def codes_of(results: list[icd10.Icd10Code]) -> list[str]:
    return [e.code for e in results]


# --- the shipped file -----------------------------------------------------------------------------
def test_the_list_holds_at_least_500_codes():
    assert len(icd10.codes()) >= 500


def test_codes_are_well_formed_unique_and_named():
    codes = [e.code for e in icd10.codes()]
    assert len(codes) == len(set(codes))
    for e in icd10.codes():
        assert re.fullmatch(r"[A-Z]\d{2}(\.\d{1,2})?", e.code), e.code
        assert e.name_zh.strip() and e.name_en.strip(), e.code
        assert e.chapter == icd10.chapter_of(e.code), e.code


def test_the_header_names_the_source_standards_and_says_names_are_unverified():
    header = [line for line in icd10.DATA_FILE.read_text(encoding="utf-8").splitlines() if line.startswith("#")]
    source = " ".join(line for line in header if line.startswith(icd10.SOURCE_PREFIX))
    assert "疾病分类与代码国家临床版2.0" in source
    assert "GB/T 14396-2016" in source
    assert any("official table" in line for line in header)


@pytest.mark.parametrize("code", ["I10", "E11.9", "J06.9", "K29.7", "O80.0", "Z00.0", "Z34.9", "S52.5",
                                  "B08.4", "F20.9", "F32.9", "Z12.4", "Z12.3", "Z50.9", "Z09.9", "I63.9",
                                  "J44.9", "A15.0", "B18.1", "C34.9", "C53.9", "Z24.6", "P59.9"])
def test_the_codes_a_county_uses_most_are_listed(code):
    assert icd10.get(code) is not None


def test_every_chapter_is_represented():
    assert {e.chapter for e in icd10.codes()} == {ch for _, _, ch in icd10.CHAPTERS}


# --- validation at load ---------------------------------------------------------------------------
def test_a_valid_file_loads(tmp_path):
    row = "I10,原发性高血压,Essential (primary) hypertension,IX,hypertension,高血压;高血压病\n"
    entries = icd10.load(write(tmp_path, row))
    assert entries == (icd10.Icd10Code("I10", "原发性高血压", "Essential (primary) hypertension", "IX",
                                       "hypertension", ("高血压", "高血压病")),)


def test_a_file_without_a_source_line_is_refused(tmp_path):
    path = write(tmp_path, "I10,原发性高血压,Hypertension,IX,,\n", header=HEADER.split("\n", 1)[1])
    assert "Source" in refused(path)


@pytest.mark.parametrize(("row", "reason"), [
    ("I1,高血压,Hypertension,IX,,", "'I1' is not an ICD-10 code"),
    ("i10,高血压,Hypertension,IX,,", "'i10' is not an ICD-10 code"),
    ("I10.123,高血压,Hypertension,IX,,", "'I10.123' is not an ICD-10 code"),
    ("I10,,Hypertension,IX,,", "no name_zh"),
    ("I10,高血压,,IX,,", "no name_en"),
    ("I10,高血压,Hypertension,X,,", "chapter IX, not 'X'"),
    ("I10,高血压,Hypertension,IX,hbp,", "chronic 'hbp'"),
    ("I10,高血压,Hypertension,IX", "4 columns, expected 6"),
])
def test_a_bad_row_is_refused_naming_its_line(tmp_path, row, reason):
    message = refused(write(tmp_path, "J00,急性鼻咽炎［感冒］,Acute nasopharyngitis,X,,\n" + row + "\n"))
    assert "icd10.csv line 4:" in message
    assert reason in message


def test_a_duplicate_code_is_refused_naming_both_lines(tmp_path):
    rows = "I10,高血压,Hypertension,IX,,\nJ00,感冒,Cold,X,,\nI10,高血压,Hypertension,IX,,\n"
    message = refused(write(tmp_path, rows))
    assert "line 5: code I10 already listed on line 3" in message


def test_a_wrong_column_header_is_refused(tmp_path):
    message = refused(write(tmp_path, "", header="# Source: x\ncode,name,chapter\n"))
    assert "line 2" in message and "column header" in message


# --- get / require --------------------------------------------------------------------------------
@pytest.mark.parametrize("typed", ["I10", "i10", " I10 ", "Ｉ１０", "I10.x00", "i10.x00x002"])
def test_get_reads_a_code_in_any_case_and_in_the_clinical_versions_spelling(typed):
    assert icd10.get(typed).code == "I10"


@pytest.mark.parametrize("typed", ["E11.9", "e11.9", "E119", "E11.900", "E11.900x001"])
def test_get_reads_four_character_codes_written_several_ways(typed):
    assert icd10.get(typed).code == "E11.9"


@pytest.mark.parametrize("typed", ["", None, "I99.9", "E11", "X", "I10.x", "高血压"])
def test_get_returns_none_for_a_code_not_in_the_list(typed):
    assert icd10.get(typed) is None


def test_require_returns_the_listed_code():
    assert icd10.require("j06.9").name_zh == "急性上呼吸道感染，未特指"


def test_an_unknown_code_is_refused_naming_the_field_and_the_code():
    with pytest.raises(InvalidInput) as info:
        icd10.require("Q99.99", field="diagnoses.0.code")
    err = info.value.errors[0]
    assert (err.field, err.reason_key, err.params) == ("diagnoses.0.code", "care.errors.icd10_unknown",
                                                        {"code": "Q99.99"})
    assert translate(err.reason_key, **err.params) == "诊断编码“Q99.99”不在 ICD-10 编码表中"
    assert "Q99.99" in translate(err.reason_key, "en", **err.params)


def test_the_field_defaults_to_diagnosis_and_a_blank_code_is_missing():
    with pytest.raises(InvalidInput) as info:
        icd10.require("  ")
    assert (info.value.field, info.value.message_key) == ("diagnosis", "core.errors.validation.missing")


def test_a_code_has_a_name_in_each_locale():
    entry = icd10.get("I10")
    assert (entry.name("zh_CN"), entry.name("en")) == ("原发性高血压", "Essential (primary) hypertension")


# --- search ---------------------------------------------------------------------------------------
def test_search_by_code_prefix_in_any_case():
    assert codes_of(icd10.search("e11", limit=50)) == [f"E11.{d}" for d in range(10)]
    found = codes_of(icd10.search("I1", limit=50))
    assert found[0] == "I10" and "I15.9" in found and all(c.startswith("I1") for c in found)


def test_the_exact_code_comes_before_longer_codes_and_name_matches():
    assert codes_of(icd10.search("I10"))[0] == "I10"
    found = codes_of(icd10.search("J45", limit=50))
    assert found[:4] == ["J45.0", "J45.1", "J45.8", "J45.9"]


def test_search_by_chinese_name_substring():
    found = codes_of(icd10.search("糖尿", limit=100))
    assert {"E10.9", "E11.9", "E14.9", "O24.4"} <= set(found)
    assert "I10" not in found


def test_search_by_chinese_name_puts_the_plain_disease_first():
    assert codes_of(icd10.search("高血压"))[0] == "I10"
    assert codes_of(icd10.search("肺炎"))[0] == "J18.9"


def test_search_by_common_name():
    assert codes_of(icd10.search("手足口病")) == ["B08.4"]
    assert "I25.1" in codes_of(icd10.search("冠心病"))


def test_search_by_pinyin_initials():
    found = codes_of(icd10.search("gxy", limit=50))
    assert found[0] == "I10"
    assert {"I11.9", "I15.9", "O13"} <= set(found)
    assert codes_of(icd10.search("szkb")) == ["B08.4"]
    assert codes_of(icd10.search("GXY")) == codes_of(icd10.search("gxy"))


def test_code_matches_come_before_name_matches():
    # "b" is a code prefix (chapter I's B codes) and the initial of many names (病, 包…).
    found = icd10.search("b", limit=200)
    first_name_match = next(i for i, e in enumerate(found) if not e.code.startswith("B"))
    assert all(e.code.startswith("B") for e in found[:first_name_match])
    assert first_name_match > 0


def test_search_respects_the_limit_and_ignores_blank_queries():
    assert len(icd10.search("I", limit=5)) == 5
    assert icd10.search("   ") == [] and icd10.search(None) == [] and icd10.search("I10", limit=0) == []


def test_search_finds_nothing_for_nonsense():
    assert icd10.search("zzzzqqq") == []


# --- chronic-disease programmes -------------------------------------------------------------------
@pytest.mark.parametrize(("code", "program"), [
    ("I10", "hypertension"), ("I11.9", "hypertension"), ("i13.2", "hypertension"), ("I15.9", None),
    ("I10.x00x002", "hypertension"), ("E11.9", "diabetes"), ("E11.2", "diabetes"), ("e11.900", "diabetes"),
    ("J06.9", None), ("E10.9", None), ("O24.4", None), ("R03.0", None), ("X99.9", None), (None, None),
])
def test_chronic_program(code, program):
    assert icd10.chronic_program(code) == program


def test_only_hypertension_and_type_2_diabetes_codes_register_for_a_programme():
    flagged = {e.code: e.chronic for e in icd10.codes() if e.chronic}
    assert all(p == "hypertension" for c, p in flagged.items() if c.startswith("I"))
    assert all(p == "diabetes" for c, p in flagged.items() if c.startswith("E"))
    assert {c[:3] for c in flagged} == {"I10", "I11", "I12", "I13", "E11"}
    assert all(e.chronic == "hypertension" for e in icd10.codes() if "I10" <= e.code[:3] <= "I13")
    assert all(e.chronic == "diabetes" for e in icd10.codes() if e.code.startswith("E11"))
