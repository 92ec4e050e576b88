from datetime import date

import pytest

from weijian.core.errors import InvalidInput
from weijian.core.periods import default_period, months_of, parse_period


def test_year_quarter_month():
    assert parse_period("2025").end == date(2025, 12, 31)
    q = parse_period("2025Q1")
    assert (q.start, q.end, q.kind) == (date(2025, 1, 1), date(2025, 3, 31), "quarter")
    assert parse_period("202402").end == date(2024, 2, 29)
    assert len(months_of(parse_period("2025"))) == 12


@pytest.mark.parametrize("bad", ["2025Q5", "202513", "2025-03", "25", "", "2025q1x"])
def test_other_formats_are_refused(bad):
    with pytest.raises(InvalidInput) as exc:
        parse_period(bad)
    assert exc.value.field == "period"


@pytest.mark.parametrize(("today", "grain", "code"), [
    (date(2026, 12, 7), "year", "2026"),
    (date(2026, 1, 1), "year", "2026"),
    (date(2026, 12, 31), "year", "2026"),
    (date(2026, 3, 31), "quarter", "2026Q1"),
    (date(2026, 10, 1), "quarter", "2026Q4"),
    (date(2026, 12, 7), "month", "202612"),
    (date(2026, 1, 31), "month", "202601"),
])
def test_pages_open_on_the_current_year_quarter_or_month(today, grain, code):
    assert default_period(today, grain) == code
    assert parse_period(code).contains(today)
