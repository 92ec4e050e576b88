"""签约率, 重点人群签约率 and 续约率 on a small hand-made world, worked by hand from public-health.md §1's working
definitions (no official formula found): 签约率 = residents with a contract covering the period's last day ÷
residents that day; 重点人群签约率 = the same within the key populations (国医改办发〔2016〕1号: 老年人, 儿童 …);
续约率 = contracts whose term ended in the period and were renewed ÷ contracts whose term ended in it (those
ended early are not due). The drill-downs list exactly the residents or contracts counted, and who is missing.

The world on 2025-12-31, village A1 (township A) and B1 (township B):
  old (born 1950, 65+)   signed 2025-03-01 → 2026-02-28           contracted, key
  child (born 2022)      no contract                              key, missing
  adult1                 signed 2025-01-01 → 2025-12-31           contracted; due in 2025, not renewed
  adult2                 signed 2025-01-01, ended 2025-06-30      not contracted; ended early: not due
  adult3                 signed 2024-06-01 → 2025-05-31, renewed 2025-05-20 → 2026-05-31
                                                                  contracted; due in 2025 and renewed
  B1 child (born 2021)   signed 2025-02-01 → 2026-01-31           contracted, key
County 2025: 签约率 4 / 6 = 66.67 %; 重点人群 2 / 3 = 66.67 %; 续约率 1 / 2 = 50.00 %.
Township A: 签约率 3 / 5 = 60.00 %; 重点人群 1 / 2 = 50.00 %."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests import factories as f
from weijian.care.contracts import service
from weijian.care.contracts.schemas import ContractEnd, ContractRenew, ContractSign, TeamCreate
from weijian.core.actor import Actor
from weijian.core.commands import build
from weijian.indicators import service as indicators

SYSTEM = Actor.system("test")


def _sign(session, resident, team, signed_on, today=date(2025, 12, 31)):
    return service.sign(session=session, actor=SYSTEM, today=today, contract_in=build(
        ContractSign, {"resident_id": resident.id, "team_id": team.id, "signed_on": signed_on}))


@pytest.fixture()
def w(session):
    f.make_county(session)
    team = service.create_team(session=session, actor=SYSTEM, team_in=build(TeamCreate, {
        "name": "团队", "villages": [f.VILLAGE_A1, f.VILLAGE_B1], "members": [{"role": "nurse", "staff_name": "护士"}]}))
    people = {name: f.make_resident(session, name=name, birth_date=born, village_code=village) for name, born, village in (
        ("老人", date(1950, 1, 1), f.VILLAGE_A1), ("儿童", date(2022, 1, 1), f.VILLAGE_A1),
        ("成人一", date(1980, 1, 1), f.VILLAGE_A1), ("成人二", date(1981, 1, 1), f.VILLAGE_A1),
        ("成人三", date(1982, 1, 1), f.VILLAGE_A1), ("乙村儿童", date(2021, 1, 1), f.VILLAGE_B1))}
    _sign(session, people["老人"], team, "2025-03-01")
    _sign(session, people["成人一"], team, "2025-01-01")
    two = _sign(session, people["成人二"], team, "2025-01-01")
    service.end(session=session, contract_id=two.id, actor=SYSTEM, today=date(2025, 7, 1), end_in=build(
        ContractEnd, {"ended_on": "2025-06-30", "reason": "resident_request"}))
    three = _sign(session, people["成人三"], team, "2024-06-01", today=date(2024, 6, 1))
    service.renew(session=session, contract_id=three.id, actor=SYSTEM, today=date(2025, 5, 20),
                  renew_in=build(ContractRenew, {}))
    _sign(session, people["乙村儿童"], team, "2025-02-01")
    return people


def _fig(session, indicator, orgunit=None, period="2025"):
    values = indicators.compute(session=session, actor=SYSTEM, indicator_ids=[indicator], period=period,
                                orgunit=orgunit)
    return next(v for v in values if orgunit is None or v.orgunit == orgunit)


def test_contract_rate_counts_residents_covered_on_the_last_day(session, w):
    county = _fig(session, "contract_rate")
    assert (county.numerator, county.denominator, county.value) == (4, 6, Decimal("66.67"))
    town = _fig(session, "contract_rate", f.TOWN_A)
    assert (town.numerator, town.denominator, town.value) == (3, 5, Decimal("60.00"))


def test_key_population_rate_counts_within_the_key_populations(session, w):
    county = _fig(session, "contract_key_rate")
    assert (county.numerator, county.denominator, county.value) == (2, 3, Decimal("66.67"))
    town = _fig(session, "contract_key_rate", f.TOWN_A)
    assert (town.numerator, town.denominator) == (1, 2)


def test_renewal_rate_counts_terms_ended_in_the_period(session, w):
    county = _fig(session, "contract_renewal_rate")
    assert (county.numerator, county.denominator, county.value) == (1, 2, Decimal("50.00"))
    may = _fig(session, "contract_renewal_rate", period="202505")
    assert (may.numerator, may.denominator) == (1, 1)


def test_the_drill_downs_list_those_counted_and_those_missing(session, w):
    ids = {name: r.id for name, r in w.items()}
    counted = indicators.drilldown(session=session, actor=SYSTEM, indicator_id="contract_rate", orgunit=None,
                                   period="2025")
    assert sorted(r["resident_id"] for r in counted.rows) == sorted(ids[n] for n in ("老人", "成人一", "成人三", "乙村儿童"))
    missing = indicators.drilldown(session=session, actor=SYSTEM, indicator_id="contract_key_rate", orgunit=None,
                                   period="2025", which="missing")
    assert [r["resident_id"] for r in missing.rows] == [ids["儿童"]]
    not_renewed = indicators.drilldown(session=session, actor=SYSTEM, indicator_id="contract_renewal_rate",
                                       orgunit=None, period="2025", which="missing")
    assert [r["date"] for r in not_renewed.rows] == [date(2025, 12, 31)]
