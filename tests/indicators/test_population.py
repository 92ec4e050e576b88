"""The statistics office's year-end resident population (常住人口), entered per org unit and year, and the
indicators whose definition asks for it (issue 15 item 13).

The official reading: the per-1,000 ratios divide by the year-end resident population — 中国卫生健康统计年鉴
(国家卫生健康委员会), note to 每千人口医疗卫生机构床位数: "每千人口床位数合计项分母系常住人口数" (read through a
third-party copy of the yearbook's tables, not the official publication: unverified verbatim);
../shared/domain/indicators.md: "beds of all health facilities at year end ÷ year-end resident (常住)
population × 1,000". Where no figure is entered, the registry's count on the year's last day is used.

By hand: 4 residents in VILLAGE_A1 (TOWN_A), 1 in VILLAGE_B1 (TOWN_B); the township centre of TOWN_A has
40 open beds and 10 + 2 physicians since 2024-06-30. The statistics office's 2025 figure for TOWN_A is
8,000: beds per 1,000 of TOWN_A 2025 = 40 × 1000 / 8000 = 5.00; TOWN_B 0 / 1; the county (none entered)
40 × 1000 / (8000 + 1) = 4.99937… → 5.00; physicians per 1,000 of TOWN_A = 12 × 1000 / 8000 = 1.50.
2024 (none entered) and June 2025 (not a year end) divide by the registry: 40 × 1000 / 4 = 10000.00.
"""
from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests import factories as f
from tests.conftest import savepoint_sessions
from weijian.accounts.models import AuditEvent
from weijian.cli import app
from weijian.core import clock
from weijian.core import tallies as core_tallies
from weijian.core.actor import Actor
from weijian.core.commands import build
from weijian.core.errors import Forbidden, InvalidInput
from weijian.core.settings import Settings
from weijian.indicators import cli as indicators_cli
from weijian.indicators import service
from weijian.indicators.models import ResidentPopulation
from weijian.indicators.schemas import PopulationSet
from weijian.orgunits import service as orgunits_service
from weijian.orgunits.schemas import FacilityCreate

SYSTEM = Actor.system("test")
D = Decimal


@pytest.fixture(params=["tallies", "records"])
def county(request, session, monkeypatch):
    if request.param == "records":
        monkeypatch.setattr(core_tallies, "fresh", lambda session: set())
    f.make_county(session)
    for village, n in ((f.VILLAGE_A1, 4), (f.VILLAGE_B1, 1)):
        for _ in range(n):
            f.make_resident(session, village_code=village, birth_date=date(1980, 1, 1))
    orgunits_service.create_facility(session=session, facility_in=build(FacilityCreate, dict(
        code="T001", name="温泉镇卫生院", type="township_centre", orgunit_code=f.TOWN_A, beds_approved=50,
        beds_open=40, physicians=10, assistant_physicians=2, as_of=date(2024, 6, 30))), actor=SYSTEM)
    return session


def _set(session, orgunit, year, value, actor=SYSTEM, **kw):
    return service.set_population(session=session, actor=actor, population_in=build(
        PopulationSet, {"orgunit": orgunit, "year": year, "value": value, **kw}))


def figures(session, indicator, period):
    rows = service.compute(session=session, actor=SYSTEM, indicator_ids=[indicator], period=period, level="all")
    return {r.orgunit: (r.numerator, r.denominator, r.value) for r in rows}


def test_the_per_1000_ratios_divide_by_the_entered_year_end_population_else_the_registry(county):
    session = county
    assert figures(session, "beds_per_1000", "2025")[f.TOWN_A] == (40, 4, D("10000.00"))
    _set(session, f.TOWN_A, 2025, 8000, source="英山县2025年统计公报")
    got = figures(session, "beds_per_1000", "2025")
    assert got[f.TOWN_A] == (40, 8000, D("5.00"))
    assert got[f.TOWN_B] == (0, 1, D("0.00"))
    assert got[f.COUNTY] == (40, 8001, D("5.00"))
    assert got[f.VILLAGE_A1] == (0, 4, D("0.00"))  # the village keeps the registry's count
    assert figures(session, "physicians_per_1000", "2025")[f.TOWN_A] == (12, 8000, D("1.50"))
    assert figures(session, "beds_per_1000", "2024")[f.TOWN_A] == (40, 4, D("10000.00"))
    assert figures(session, "beds_per_1000", "202506")[f.TOWN_A] == (40, 4, D("10000.00"))
    # Entered for the county too: the county divides by it, the townships keep theirs.
    _set(session, f.COUNTY, 2025, 10000)
    got = figures(session, "beds_per_1000", "2025")
    assert (got[f.COUNTY], got[f.TOWN_A]) == ((40, 10000, D("4.00")), (40, 8000, D("5.00")))


def test_an_entry_is_replaced_by_a_later_one_and_each_is_audited_with_the_value_before(county):
    session = county
    _set(session, f.TOWN_A, 2025, 8000)
    _set(session, f.TOWN_A, 2025, 8100)
    rows = session.scalars(select(ResidentPopulation)).all()
    assert [(r.orgunit_code, r.year, r.value) for r in rows] == [(f.TOWN_A, 2025, 8100)]
    events = session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "resident_population")
                             .order_by(AuditEvent.id)).all()
    assert [(json.loads(e.detail)["value"], json.loads(e.detail)["before"]) for e in events] == [(8000, None), (8100, 8000)]


@pytest.mark.parametrize(("orgunit", "year", "field", "reason"), [
    ("421124999000", 2025, "orgunit", "indicators.errors.population_orgunit_unknown"),
    (f.TOWN_A, 2099, "year", "indicators.errors.population_year_future"),
])
def test_a_bad_entry_is_refused_naming_the_field_and_nothing_is_written(county, orgunit, year, field, reason):
    with pytest.raises(InvalidInput) as exc:
        _set(county, orgunit, year, 8000)
    assert [(e.field, e.reason_key) for e in exc.value.errors] == [(field, reason)]
    assert county.scalars(select(ResidentPopulation)).all() == []


def test_only_staff_with_stats_write_inside_their_scope_may_enter_it(county):
    reader = Actor(user_id=None, username="reader", role="x", scope_code=f.COUNTY,
                   permissions=frozenset({"stats:read"}))
    with pytest.raises(Forbidden):
        _set(county, f.TOWN_A, 2025, 8000, actor=reader)
    town_b = Actor(user_id=None, username="b", role="x", scope_code=f.TOWN_B, permissions=frozenset({"stats:write"}))
    with pytest.raises(Forbidden):
        _set(county, f.TOWN_A, 2025, 8000, actor=town_b)


def test_the_api_enters_and_lists_it_for_bureau_staff(client, session):
    f.make_county(session)
    headers = f.token_headers(session, f.make_user(session, "bureau_admin", f.COUNTY))
    res = client.put("/api/v1/indicators/population", headers=headers,
                     json={"orgunit": f.TOWN_A, "year": 2025, "value": 8000, "source": "统计公报"})
    assert res.status_code == 200, res.text
    assert (res.json()["orgunit"], res.json()["value"]) == (f.TOWN_A, 8000)
    listed = client.get("/api/v1/indicators/population", params={"year": 2025}, headers=headers)
    assert [(r["orgunit"], r["value"]) for r in listed.json()] == [(f.TOWN_A, 8000)]
    bad = client.put("/api/v1/indicators/population", headers=headers,
                     json={"orgunit": f.TOWN_A, "year": 2099, "value": 8000})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "year"


def test_the_cli_sets_it(session, connection, monkeypatch):
    f.make_county(session)
    session.flush()
    factory = savepoint_sessions(connection)
    monkeypatch.setattr(indicators_cli, "_sessions", lambda: (factory, Settings(environment="test")))
    result = CliRunner().invoke(app, ["indicators", "population", "set", "--orgunit", f.TOWN_A, "--year", "2025",
                                      "--value", "8000"])
    assert result.exit_code == 0, result.output
    assert result.output.split() == [f.TOWN_A, "2025", "8000"]
    refused = CliRunner().invoke(app, ["indicators", "population", "set", "--orgunit", f.TOWN_A, "--year",
                                       "2099", "--value", "8000"])
    assert refused.exit_code == 2 and "year" in refused.output
    assert json.dumps(session.scalar(select(ResidentPopulation.value))) == "8000"


def test_the_page_shows_which_figure_each_unit_uses_and_keeps_a_refused_entry(client, session):
    f.make_county(session)
    f.make_resident(session, village_code=f.VILLAGE_A1, birth_date=date(1980, 1, 1))
    user = f.make_user(session, "bureau_admin", f.COUNTY)
    f.page_login(client, user.username)
    page = client.get("/indicators/population", params={"year": "2025"})
    assert page.status_code == 200, page.text
    assert f'data-orgunit="{f.TOWN_A}" data-used="registry"' in page.text
    res = client.post("/indicators/population", data={"orgunit": f.TOWN_A, "year": "2025", "value": "8000",
                                                      "source": "统计公报", "csrf_token": f.csrf_from(page.text)},
                      follow_redirects=True)
    assert res.status_code == 200, res.text
    assert f'data-orgunit="{f.TOWN_A}" data-used="entered"' in res.text and "统计部门数 8000" in res.text
    assert f'data-orgunit="{f.TOWN_B}" data-used="registry"' in res.text
    bad = client.post("/indicators/population", data={"orgunit": f.TOWN_A, "year": "2099", "value": "9000",
                                                      "csrf_token": f.csrf_from(res.text)})
    assert bad.status_code == 422
    assert "2099 年尚未开始" in bad.text and 'value="9000"' in bad.text
    assert session.scalar(select(ResidentPopulation.value)) == 8000


def test_a_year_that_is_no_year_shows_last_year_instead_of_failing(client, session):
    """The fuzzer's find: a 5,000-digit `year` made int() raise (Python's digit limit) and the page answer
    500. Anything but four digits in range shows the last year ended."""
    f.make_county(session)
    user = f.make_user(session, "bureau_admin", f.COUNTY)
    f.page_login(client, user.username)
    last = clock.today().year - 1
    for year in ("9" * 5000, "２０２５", "20250", "-1", "1900"):
        page = client.get("/indicators/population", params={"year": year})
        assert page.status_code == 200, (year[:10], page.status_code)
        assert f'value="{last}"' in page.text, year[:10]
