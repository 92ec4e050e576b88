"""Schedule editions: the shipped files load and follow each other; ages add like calendar months; every
malformed file is refused naming the key path."""
from __future__ import annotations

import copy
from datetime import date
from pathlib import Path

import pytest
import yaml

from weijian.core.errors import InvalidInput
from weijian.immunization.schedule.rules import (
    DATA_DIR,
    ScheduleInvalid,
    add_months,
    edition_for,
    editions,
    load_edition,
    load_editions,
    parse_age,
    parse_edition,
)

SAMPLE = DATA_DIR / "nip-2021.yaml"


def sample() -> dict:
    return yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))


def refused(data: dict) -> ScheduleInvalid:
    with pytest.raises(ScheduleInvalid) as info:
        parse_edition(data, source="test.yaml")
    return info.value


def fields(exc: ScheduleInvalid) -> dict[str, str]:
    return {e.field: e.reason_key.rsplit(".", 1)[-1] for e in exc.errors}


def series(data: dict, sid: str) -> dict:
    return next(s for s in data["series"] if s["id"] == sid)


# --- the shipped editions -------------------------------------------------------------------------
def test_shipped_editions_follow_each_other_from_2021_with_the_2025_change():
    found = editions()
    assert [e.id for e in found] == ["nip-2021", "nip-2025"]
    assert found[0].effective_from == date(2021, 2, 23)
    assert found[0].effective_to == date(2024, 12, 31)
    assert found[1].effective_from == date(2025, 1, 1) and found[1].effective_to is None


def test_every_shipped_file_names_its_sources_in_header_and_keys():
    for path in sorted(DATA_DIR.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        assert text.startswith("#") and "Sources" in text.split("\nid:")[0], path.name
        edition = load_edition(path)
        assert edition.sources and all(s.title and s.issuer for s in edition.sources)


def test_2021_edition_has_dtap_at_3_4_5_18_months_and_dt_at_6_years():
    dtp = edition_for(date(2024, 12, 31)).series["DTP"]
    assert [(d.vaccine, d.recommended.text) for d in dtp.doses] == [
        ("DTaP", "3m"), ("DTaP", "4m"), ("DTaP", "5m"), ("DTaP", "18m"), ("DT", "6y")]


def test_2025_edition_has_dtap_at_2_4_6_18_months_and_6_years_and_accepts_dt_given_before():
    dtp = edition_for(date(2025, 1, 1)).series["DTP"]
    assert [(d.vaccine, d.recommended.text) for d in dtp.doses] == [
        ("DTaP", "2m"), ("DTaP", "4m"), ("DTaP", "6m"), ("DTaP", "18m"), ("DTaP", "6y")]
    assert dtp.accepts == {"DTaP", "DT"}


def test_complete_before_ages_are_the_official_ones():
    e = edition_for(date(2025, 6, 1))
    cb = {(d.vaccine, d.number): d.complete_before.text for s in e.series.values() for d in s.doses}
    assert cb[("HepB", 1)] == "1d" and cb[("BCG", 1)] == "3m"
    assert cb[("HepB", 3)] == cb[("bOPV", 3)] == cb[("DTaP", 3)] == cb[("MMR", 1)] == "12m"
    assert cb[("JE-L", 1)] == cb[("JE-I", 2)] == "12m"
    assert cb[("MPSV-A", 2)] == "18m"
    assert cb[("MMR", 2)] == cb[("HepA-L", 1)] == cb[("HepA-I", 1)] == cb[("DTaP", 4)] == "24m"
    assert cb[("JE-L", 2)] == cb[("JE-I", 3)] == cb[("HepA-I", 2)] == "3y"
    assert cb[("MPSV-AC", 1)] == "4y" and cb[("bOPV", 4)] == "5y"
    assert cb[("MPSV-AC", 2)] == cb[("JE-I", 4)] == cb[("DTaP", 5)] == "7y"


def test_alternatives_default_to_the_live_vaccines():
    e = edition_for(date(2025, 6, 1))
    groups = {g[0].group: [s.id for s in g] for g in e.groups if len(g) > 1}
    assert groups == {"JE": ["JE-L", "JE-I"], "HepA": ["HepA-L", "HepA-I"]}
    assert e.series["JE-L"].default and not e.series["JE-I"].default


def test_injectable_live_vaccines_are_bcg_mmr_je_l_hepa_l_and_not_oral_polio():
    assert edition_for(date(2025, 6, 1)).live_injectable == {"BCG", "MMR", "JE-L", "HepA-L"}


def test_no_edition_before_2021_is_refused_naming_as_of():
    with pytest.raises(InvalidInput) as info:
        edition_for(date(2020, 12, 31))
    assert info.value.field == "as_of"


# --- ages -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("start", "months", "expected"), [
    (date(2025, 1, 31), 1, date(2025, 2, 28)),
    (date(2024, 1, 31), 1, date(2024, 2, 29)),
    (date(2025, 8, 31), 6, date(2026, 2, 28)),
    (date(2025, 3, 10), 18, date(2026, 9, 10)),
    (date(2024, 2, 29), 12, date(2025, 2, 28)),
    (date(2025, 12, 15), 1, date(2026, 1, 15)),
])
def test_months_are_added_as_calendar_months_clamped_to_the_month_end(start, months, expected):
    assert add_months(start, months) == expected


def test_ages_are_written_in_years_months_and_days():
    assert parse_age("1y6m").months == 18
    assert (parse_age("28d").months, parse_age("28d").days) == (0, 28)
    assert parse_age("6y").months == 72
    assert parse_age("0d") is not None
    for bad in ("18x", "", "m", "6 y", 6, None, "1d6m"):
        assert parse_age(bad) is None, bad


# --- refusals name the key ------------------------------------------------------------------------
def test_the_sample_parses_before_any_change():
    assert parse_edition(sample()).id == "nip-2021"


def test_a_bad_age_is_refused_naming_its_key():
    data = sample()
    series(data, "MMR")["doses"][1]["recommended"] = "18x"
    exc = refused(data)
    assert fields(exc) == {"series[4].doses[1].recommended": "age_format"}
    assert "series[4].doses[1].recommended" in str(exc) and "18x" in str(exc)


def test_an_unknown_key_is_refused_naming_it():
    data = sample()
    series(data, "HepB")["doses"][0]["recomended"] = "0d"
    assert fields(refused(data)) == {"series[0].doses[0].recomended": "unknown_key"}


def test_a_missing_key_is_refused_naming_it():
    data = sample()
    del data["effective_from"]
    del series(data, "BCG")["doses"][0]["complete_before"]
    assert fields(refused(data)) == {"effective_from": "required", "series[1].doses[0].complete_before": "required"}


def test_an_unknown_vaccine_code_is_refused_naming_the_key():
    data = sample()
    series(data, "MMR")["doses"][0]["vaccine"] = "MR"
    assert fields(refused(data))["series[4].doses[0].vaccine"] == "unknown_vaccine"
    data = sample()
    data["vaccines"]["HPV"] = {"live_injectable": False}
    assert fields(refused(data)) == {"vaccines.HPV": "unknown_key"}


def test_a_reference_to_a_later_or_unknown_series_is_refused():
    data = sample()
    series(data, "MPSV-A")["doses"][0]["after"] = [{"series": "MPSV-AC", "dose": 1, "interval": "1m"}]
    assert fields(refused(data)) == {"series[6].doses[0].after[0].series": "unknown_reference"}
    data = sample()
    series(data, "MPSV-AC")["doses"][0]["after"][0]["dose"] = 3
    assert fields(refused(data)) == {"series[7].doses[0].after[0].dose": "bad_slot_reference"}


def test_a_bad_catch_up_form_is_refused_naming_its_key():
    data = sample()
    series(data, "DTP")["catch_up"]["vaccine"] = "MMR"
    series(data, "DTP")["catch_up"]["intervals"] = ["1m", "6m"]
    assert fields(refused(data)) == {"series[3].catch_up.vaccine": "unknown_vaccine",
                                     "series[3].catch_up.intervals": "bad_slot_reference"}
    data = sample()
    series(data, "polio")["older_sequence"]["vaccines"] = ["IPV", "MMR", "bOPV", "bOPV"]
    assert fields(refused(data)) == {"series[2].older_sequence.vaccines[1]": "unknown_vaccine"}
    data = sample()
    series(data, "MPSV-AC")["doses"][0]["after"][0]["if_not_given"] = {"from": "2x", "after_last": "3m"}
    assert fields(refused(data)) == {"series[7].doses[0].after[0].if_not_given.from": "age_format"}


def test_an_alternative_needs_exactly_one_default():
    data = sample()
    series(data, "JE")["variants"][1]["default"] = True
    assert fields(refused(data)) == {"series[5].variants": "one_default"}


def test_a_code_accepted_by_two_series_is_refused():
    data = sample()
    series(data, "polio")["accepts"] = ["DTaP"]
    assert "code_in_two_series" in fields(refused(data)).values()


def test_a_series_mixing_live_and_inactivated_codes_is_refused():
    data = sample()
    series(data, "MMR")["accepts"] = ["MPSV-A"]
    series(data, "MPSV-A")["doses"][0]["vaccine"] = "MPSV-A"
    data["series"] = [s for s in data["series"] if s["id"] not in ("MPSV-A", "MPSV-AC")]
    assert "live_mixed" in fields(refused(data)).values()


def test_complete_before_must_be_after_the_recommended_age():
    data = sample()
    series(data, "HepB")["doses"][2]["complete_before"] = "6m"
    assert fields(refused(data)) == {"series[0].doses[2].complete_before": "not_after_recommended"}


def test_editions_with_a_gap_are_refused(tmp_path: Path):
    first, second = sample(), copy.deepcopy(sample())
    second.update(id="nip-later", effective_from=date(2025, 2, 1))
    second.pop("effective_to")
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(first, allow_unicode=True), encoding="utf-8")
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(second, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ScheduleInvalid) as info:
        load_editions(tmp_path)
    assert fields(info.value) == {"a.yaml: effective_to": "editions_not_contiguous"}


def test_a_yaml_syntax_error_names_the_line(tmp_path: Path):
    path = tmp_path / "broken.yaml"
    path.write_text("id: x\nname: [unclosed\n", encoding="utf-8")
    with pytest.raises(ScheduleInvalid) as info:
        load_edition(path)
    assert info.value.errors[0].field.startswith("line ")
    assert "broken.yaml" in str(info.value)
