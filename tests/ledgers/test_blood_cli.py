"""`weijian blood next`: the first days of each kind of donation after the ones given, hand-worked from
GB 18467-2011's intervals (whole → whole 6 months, whole → platelets 3 months, platelets → whole 4 weeks,
platelets → platelets 2 weeks), and the age limits on a day; bad input names the field and exits with 2."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from weijian.cli import app

runner = CliRunner()


def _run(*args: str):
    return runner.invoke(app, ["blood", "next", *args])


def test_the_next_days_after_whole_blood_on_31_august_and_platelets_on_1_october():
    result = _run("--birth-date", "1990-02-28", "--last", "whole_blood:2027-08-31", "--last", "platelets:2027-10-01",
                  "--as-of", "2027-12-01")
    assert result.exit_code == 0, result.output
    got = json.loads(result.output)
    # Whole blood: 6 months after 31 August 2027 is 29 February 2028 (a leap year), later than 29 October.
    # Platelets: 3 months after 31 August is 30 November, later than two weeks after 1 October (15 October).
    assert got == {"whole_blood": "2028-02-29", "platelets": "2027-11-30", "age": 37, "within_age": True,
                   "as_of": "2027-12-01"}


def test_a_first_time_donor_of_56_is_outside_the_limits_and_a_repeat_donor_is_not():
    first = json.loads(_run("--birth-date", "1970-06-01", "--as-of", "2026-06-01").output)
    assert (first["age"], first["within_age"], first["whole_blood"]) == (56, False, None)
    repeat = json.loads(_run("--birth-date", "1970-06-01", "--as-of", "2026-06-01",
                             "--last", "whole_blood:2025-06-01").output)
    assert repeat["within_age"] is True
    reacted = json.loads(_run("--birth-date", "1970-06-01", "--as-of", "2026-06-01", "--reaction",
                              "--last", "whole_blood:2025-06-01").output)
    assert reacted["within_age"] is False


def test_bad_input_names_the_field():
    result = _run("--birth-date", "1990-13-01", "--last", "plasma:2026-01-01")
    assert result.exit_code == 2
    assert "birth_date" in result.output and "last.0" in result.output
