"""Every indicator of indicators/data/indicators.yaml (read from the file here, so a new one cannot be left
out) on a generated county, for the county, a township and one of its villages over a year, a quarter and
a month: the drill-down lists exactly what the figure counts — as many rows as the numerator (each record
or each person once, as the measure counts), or rows whose quantities add up to it (beds, money) — the
villages' rows add up to each village's own figure, and a rate's "who is missing" list is its denominator
minus its numerator, with no row in both lists. Figures are read from the running tallies and, once more,
counted from the records.

The county is built once for the module inside a transaction rolled back at the end."""
from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest
import yaml

from tests.conftest import savepoint_sessions
from weijian.core import tallies as core_tallies
from weijian.core.actor import Actor
from weijian.demo import builder
from weijian.indicators import service
from weijian.indicators.definitions import DATA_FILE
from weijian.indicators.records import SUMMED
from weijian.orgunits import service as orgunits_service

SYSTEM = Actor.system("test")
N = 1200
SEED = 11
INDICATORS = [item["id"] for item in yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))["indicators"]]
PERIODS = ("2025", "2025Q4", "202603")


@pytest.fixture(scope="module")
def county(engine):
    """(session, the org units checked: county, the first township, its first village; the township)."""
    with engine.connect() as conn:  # closing it rolls the county back
        conn.begin()
        session = savepoint_sessions(conn)()
        builder.build(session=session, residents=N, seed=SEED, reference=builder.reference_date())
        township = min(u.code for u in orgunits_service.list_orgunits(session=session, level="township"))
        villages = sorted(u.code for u in orgunits_service.list_orgunits(session=session, level="village")
                          if u.code.startswith(township[:9]))
        yield session, (None, township, villages[0]), township
        session.close()


def test_the_file_and_the_loaded_definitions_list_the_same_indicators():
    assert [i.id for i in service.list_indicators()] == INDICATORS


def _value(session, indicator, orgunit, period, level=None):
    return service.compute(session=session, actor=SYSTEM, indicator_ids=[indicator], period=period, orgunit=orgunit,
                           level=level)


def _check(session, indicator, units, township) -> list[str]:
    """What disagrees for one indicator (empty: the lists equal the figures)."""
    wrong: list[str] = []
    summed = service.get_indicator(indicator).numerator.measure in SUMMED
    for period in PERIODS:
        for orgunit in units:
            fig = next(v for v in _value(session, indicator, orgunit, period)
                       if orgunit is None or v.orgunit == orgunit)
            got = service.drill_all(session=session, actor=SYSTEM, indicator_id=indicator, orgunit=orgunit,
                                    period=period, limit=10**7)
            lists = {which: (rows, total) for which, _cols, rows, total in got.sheets}
            rows, total = lists["counted"]
            where = f"{indicator} {orgunit or 'county'} {period}"
            keys = [(r["key"], r["resident_id"]) for r in rows]
            if len(set(keys)) != len(keys):
                wrong.append(f"{where}: a record listed twice")
            numerator = fig.numerator or 0
            if summed:
                added = sum((Decimal(str(r["quantity"])) for r in rows), Decimal(0))
                if added != Decimal(str(numerator)):
                    wrong.append(f"{where}: rows add up to {added}, the figure is {numerator}")
                if any(not r["quantity"] for r in rows):
                    wrong.append(f"{where}: a row that adds nothing")
            elif total != numerator or len(rows) != total:
                wrong.append(f"{where}: {total} rows, the numerator is {numerator}")
            if "missing" in lists:
                missing, left = lists["missing"]
                expected = (fig.denominator or 0) - numerator
                if left != expected:
                    wrong.append(f"{where}: {left} missing, denominator − numerator is {expected}")
                if {r["key"] for r in missing} & {r["key"] for r in rows}:
                    wrong.append(f"{where}: a row both counted and missing")
            if orgunit == township and not summed:
                by_village = Counter(r["village_code"] for r in rows)
                for v in _value(session, indicator, township, period, level="village"):
                    if by_village.get(v.orgunit, 0) != (v.numerator or 0):
                        wrong.append(f"{where}: village {v.orgunit} lists {by_village.get(v.orgunit, 0)}, "
                                     f"its figure is {v.numerator}")
    return wrong


@pytest.mark.parametrize("mode", ["tallies", "records"])
@pytest.mark.parametrize("indicator", INDICATORS)
def test_the_drill_down_lists_exactly_what_the_figure_counts(county, indicator, mode, monkeypatch):
    session, units, township = county
    if mode == "records":
        monkeypatch.setattr(core_tallies, "fresh", lambda session: set())
    assert _check(session, indicator, units, township) == []
