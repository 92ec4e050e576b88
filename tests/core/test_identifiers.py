from datetime import date

import pytest

from weijian.core.errors import InvalidInput
from weijian.core.identifiers import (
    check_char,
    division_level,
    division_range,
    make_id_number,
    mask_id_number,
    parse_id_number,
    township_kind,
    village_kind,
)


@pytest.mark.parametrize("number", ["11010519491231002X", "440524188001010014"])
def test_reference_examples_are_valid(number):
    assert parse_id_number(number).normalized == number


def test_lower_case_x_is_accepted_and_stored_upper():
    assert parse_id_number("11010519491231002x").normalized == "11010519491231002X"


def test_birth_date_and_sex_come_from_the_number():
    parsed = parse_id_number("11010519491231002X")
    assert parsed.birth_date == date(1949, 12, 31)
    assert parsed.sex == "female"  # sequence 002: even
    assert parsed.division == "110105"


def test_wrong_check_digit_is_refused_naming_the_field():
    with pytest.raises(InvalidInput) as exc:
        parse_id_number("110105194912310021")
    assert exc.value.field == "id_number"
    assert exc.value.message_key == "core.errors.id_number.check_digit"


@pytest.mark.parametrize("bad,key", [
    ("12345", "core.errors.id_number.format"),
    ("42112419800230001X", "core.errors.id_number.birth_date_invalid"),
    ("", "core.errors.id_number.required"),
])
def test_malformed_numbers_are_refused(bad, key):
    with pytest.raises(InvalidInput) as exc:
        parse_id_number(bad)
    assert exc.value.message_key == key


def test_birth_date_in_the_future_is_refused():
    number = make_id_number("421124", date(2030, 1, 1), 11)
    with pytest.raises(InvalidInput) as exc:
        parse_id_number(number, today=date(2026, 11, 26))
    assert exc.value.message_key == "core.errors.id_number.birth_date_out_of_range"


def test_fifteen_digit_number_is_converted_to_eighteen():
    # 15-digit 110105491231002 → insert 19, compute the check character.
    parsed = parse_id_number("110105491231002")
    assert parsed.normalized == "11010519491231002X"
    assert parsed.converted_from_15


def test_check_char_matches_the_iso_7064_table():
    assert check_char("11010519491231002") == "X"
    assert check_char("44052418800101001") == "4"


def test_masking_keeps_the_address_code_and_last_four_never_the_birth_date():
    assert mask_id_number("42112419800517123X") == "421124********123X"
    assert mask_id_number(None) == ""


def test_division_levels_and_ranges():
    assert division_level("421124000000") == "county"
    assert division_level("421124101000") == "township"
    assert division_level("421124101201") == "village"
    assert division_range("421124101000") == ("421124101000", "421124101999")
    assert division_range("421124000000") == ("421124000000", "421124999999")
    assert township_kind("421124101000") == "town" and township_kind("421124201000") == "township"
    assert village_kind("421124101201") == "villagers_committee"
    with pytest.raises(InvalidInput):
        division_level("4211")
