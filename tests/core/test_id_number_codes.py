"""Identity numbers as GB 11643-1999 writes them: ASCII digits (a full-width copy is the same number, a digit
of another script is no digit), and an address code that is a county-level GB/T 2260 code in force when the
number could have been issued."""
from __future__ import annotations

from datetime import date

import pytest

from weijian.core.errors import InvalidInput
from weijian.core.identifiers import check_char, make_id_number, parse_id_number

FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def number(code: str, born: date, seq: int = 101) -> str:
    body = f"{code}{born:%Y%m%d}{seq:03d}"
    return body + check_char(body)


def refusal(value: str) -> InvalidInput:
    with pytest.raises(InvalidInput) as exc:
        parse_id_number(value, today=date(2026, 12, 7))
    return exc.value


def test_a_full_width_number_is_read_as_the_same_ascii_number():
    """GB 11643-1999 §4: the number is made of 17 digits and a check character (0-9, X); Unicode UAX #15
    NFKC maps the full-width forms (U+FF10-FF19, U+FF38) to them."""
    ascii_number = "11010519491231002X"  # GB 11643-1999's example
    assert parse_id_number(ascii_number.translate(FULL_WIDTH)).normalized == ascii_number
    assert parse_id_number("１１０１０５１９４９１２３１００２ｘ").normalized == ascii_number


def test_digits_of_another_script_are_refused_as_a_bad_format():
    """After NFKC only ASCII digits are digits of a number: U+0660-0669 stay what they are."""
    err = refusal("11010519491231002X".translate(ARABIC_INDIC))
    assert (err.field, err.message_key) == ("id_number", "core.errors.id_number.format")


@pytest.mark.parametrize("code", ["000000", "421199"])
def test_an_address_code_that_gb_t_2260_never_listed_is_refused(code):
    """GB 11643-1999 §4.1: the address code is the GB/T 2260 code of the holder's county (市、旗、区);
    000000 and 421199 (湖北省黄冈市 has no county 99) are in no list of 民政部《县以上行政区划代码》."""
    err = refusal(number(code, date(1980, 5, 17)))
    assert (err.field, err.message_key) == ("id_number", "core.errors.id_number.address_code_unknown")
    assert err.params["code"] == code


@pytest.mark.parametrize("code", ["421100", "420000", "110000"])
def test_a_province_or_prefecture_code_is_refused(code):
    """GB/T 2260: xx0000 is a province, xxxx00 a prefecture (421100 黄冈市); GB 11643-1999 §4.1 asks for
    the county-level code."""
    err = refusal(number(code, date(1980, 5, 17)))
    assert err.message_key == "core.errors.id_number.address_code_not_county"


def test_an_abolished_code_stays_valid_for_people_born_while_it_was_in_force():
    """英山县 was 422126 under 黄冈地区 until the 1994 list and is 421124 under 黄冈市 from 1995 (民政部
    《县以上行政区划代码》): a number issued before the change keeps 422126; a code is valid whenever it
    was in the lists in or after the year of birth, and 421124 is valid for someone born in 1960 whose
    number was first issued after 1995."""
    assert parse_id_number(number("422126", date(1960, 3, 1))).division == "422126"
    assert parse_id_number(number("422126", date(1995, 2, 1))).division == "422126"
    assert parse_id_number(number("421124", date(1960, 3, 1))).division == "421124"


def test_a_code_abolished_before_the_birth_is_refused():
    """422126 was last listed in 1994: no number can have been issued under it to a child born in 2005."""
    err = refusal(number("422126", date(2005, 6, 1)))
    assert err.message_key == "core.errors.id_number.address_code_abolished"
    assert (err.params["until"], err.params["year"]) == (1994, 2005)


@pytest.mark.parametrize("code", ["810000", "820000", "830000"])
def test_residence_permit_numbers_of_hong_kong_macao_and_taiwan_residents_are_valid(code):
    """《港澳台居民居住证申领发放办法》(国办发〔2018〕81号): the permit's 公民身份号码 has the address code
    810000 (香港), 820000 (澳门) or 830000 (台湾)."""
    assert parse_id_number(number(code, date(1994, 8, 23), 2)).division == code


def test_a_first_generation_number_is_checked_against_the_codes_too():
    err = refusal("421100800517101")
    assert err.message_key == "core.errors.id_number.address_code_not_county"


def test_the_generated_numbers_of_tests_and_the_demo_use_real_codes():
    for code in ("421124", "421123", "421122", "421125", "421126", "421181", "420111", "420106"):
        assert parse_id_number(make_id_number(code, date(1950, 1, 1), 11)).division == code
