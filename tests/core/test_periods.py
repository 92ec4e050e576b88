from datetime import date

import pytest

from weijian.core.errors import InvalidInput
from weijian.core.periods import months_of, parse_period


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
