"""The bundled-budget page at 1366×768 (issue 19: 11月, 12月 and 合计 were behind a sideways scroll): with a dozen
facilities spending millions every month, the monthly table and the page fit the window."""
from __future__ import annotations

from datetime import date

import pytest

from tests.live import serve
from weijian.core.db import make_engine, make_sessionmaker, unit_of_work
from weijian.core.migrate import upgrade
from weijian.core.settings import Settings

pytestmark = pytest.mark.browser

BUREAU = "yusuan"


def _seed(session) -> None:
    """A bureau user; twelve county hospitals with long names and one out-of-county column, each spending
    over ¥8 million a month through 2025."""
    from tests import factories as f

    f.make_county(session)
    f.make_user(session, "bureau_admin", f.COUNTY, username=BUREAU)
    people = [f.make_resident(session, name=n) for n in ("王一", "李二", "张三")]
    hospitals = [f.make_facility(session, name=f"英山县第{i}人民医院附属分院（东院区）", type="county_general",
                                 orgunit_code=f.COUNTY) for i in range(12)]
    for month in range(1, 13):
        for i, hospital in enumerate([*hospitals, None]):
            f.make_settlement(session, people[i % 3], hospital, stay_date=date(2025, month, 10),
                              total="15000000.00", basic_pays="12345678.90" if hospital else "8765432.10")


@pytest.fixture(scope="module")
def budget_server(tmp_path_factory):
    from weijian.app import create_app

    url = "sqlite:///" + str(tmp_path_factory.mktemp("budget") / "live.db")
    engine = make_engine(Settings(environment="test", database_url=url))
    upgrade(engine)
    with unit_of_work(make_sessionmaker(engine)) as session:
        _seed(session)
    with serve(create_app(Settings(environment="test", database_url=url), engine=engine)) as base_url:
        yield base_url
    engine.dispose()


def test_the_monthly_table_fits_1366_pixels_without_a_sideways_scroll(page, budget_server):
    from tests.factories import PASSWORD

    page.goto(f"{budget_server}/login")
    page.fill("input[name=username]", BUREAU)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{budget_server}/settlement/budget?year=2025")
    table = page.locator("[data-testid=budget-table]")
    table.wait_for()
    assert page.locator("[data-testid=budget-row]").count() == 13
    widths = page.evaluate("""() => {
        const t = document.querySelector('[data-testid=budget-table]');
        const cells = [...t.querySelectorAll('td.num, th.num')];
        return {page: document.documentElement.scrollWidth, view: window.innerWidth,
                table: t.getBoundingClientRect().right, parent: t.parentElement.getBoundingClientRect().right,
                clipped: cells.filter(c => c.scrollWidth > c.clientWidth + 1).length};
    }""")
    assert widths["page"] <= widths["view"], widths
    assert widths["table"] <= widths["parent"] + 1 and widths["table"] <= widths["view"], widths
    assert widths["clipped"] == 0, widths  # no amount is cut off inside its cell
    total = page.locator("[data-testid=budget-total]")
    assert total.is_visible() and total.bounding_box()["x"] + total.bounding_box()["width"] <= 1366
