"""The dashboard in a browser: a bureau user opens the indicators, the township comparison draws its chart
(an ECharts canvas), a figure drills down to its records (identity numbers masked), and the Excel
download arrives as a workbook."""
from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest

from tests.live import serve
from weijian.core.actor import Actor
from weijian.core.db import make_engine, make_sessionmaker, unit_of_work
from weijian.core.migrate import upgrade
from weijian.core.settings import Settings

pytestmark = pytest.mark.browser

BUREAU = "juzhang"


@pytest.fixture(scope="module")
def dashboard_server(tmp_path_factory):
    """A live server with a small county: residents in three villages, a township centre with beds, and a
    bureau user."""
    from tests import factories as f
    from weijian.app import create_app
    from weijian.core.commands import build
    from weijian.residents import service as residents_service

    path = tmp_path_factory.mktemp("dashboard") / "live.db"
    settings = Settings(environment="test", database_url=f"sqlite:///{path}")
    engine = make_engine(settings)
    upgrade(engine)
    system = Actor.system("test")
    id_numbers = []
    with unit_of_work(make_sessionmaker(engine)) as s:
        f.make_county(s)
        f.make_facility(s, orgunit_code=f.TOWN_A, beds_open=40)
        f.make_user(s, "bureau_admin", f.COUNTY, username=BUREAU)
        for name, village, born in [("王大伯", f.VILLAGE_A1, date(1950, 3, 1)), ("李秀英", f.VILLAGE_A1, date(1985, 6, 1)),
                                    ("张婆婆", f.VILLAGE_A2, date(1955, 1, 9)), ("刘小宝", f.VILLAGE_B1, date(2020, 5, 5)),
                                    ("陈建国", f.VILLAGE_B1, date(1990, 2, 2))]:
            number = f.new_id_number(birth=born)
            residents_service.create(session=s, actor=system, resident_in=build(residents_service.ResidentCreate, dict(
                name=name, id_number=number, village_code=village)))
            id_numbers.append(number)
    with serve(create_app(settings, engine=engine)) as base_url:
        yield {"base_url": base_url, "id_numbers": id_numbers}
    engine.dispose()


def test_bureau_user_sees_the_chart_drills_down_and_downloads_the_workbook(page, dashboard_server):
    from openpyxl import load_workbook

    from tests.factories import PASSWORD

    base = dashboard_server["base_url"]
    page.goto(f"{base}/indicators")
    assert "/login" in page.url  # not logged in
    page.fill("input[name=username]", BUREAU)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{base}/indicators?period=2025")
    page.locator("[data-testid=overview-row]").first.wait_for()
    assert page.locator("nav.mainnav a[href='/indicators']").inner_text().strip() == "指标"

    # The township comparison draws bars on a canvas (ECharts), and keeps its table.
    page.click("[data-testid=tab-compare]")
    page.wait_for_url(f"{base}/indicators/compare*")
    page.locator("[data-testid=compare-chart][data-rendered='1'] canvas").first.wait_for()
    box = page.locator("[data-testid=compare-chart] canvas").first.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 100
    assert page.locator("[data-testid=compare-row]").count() == 2  # two townships

    # A figure opens the records behind its numerator; identity numbers are masked.
    page.click("[data-testid=tab-overview]")
    page.locator("[data-testid=overview-row]").first.wait_for()
    page.click("[data-testid=overview-row][data-indicator=population_65_plus] [data-testid=drill-link]")
    page.wait_for_url(f"{base}/indicators/drill*")
    page.locator("[data-testid=drill]").wait_for()
    assert page.locator("[data-testid=drill-row]").count() == 2  # born 1950 and 1955
    masked = page.locator("[data-testid=drill-id-number]").all_inner_texts()
    assert len(masked) == 2 and all("*" in m for m in masked)
    html = page.content()
    assert not any(number in html for number in dashboard_server["id_numbers"])

    # The Excel download is a workbook with Chinese headers.
    page.go_back()
    page.locator("[data-testid=export-xlsx]").wait_for()
    with page.expect_download() as info:
        page.click("[data-testid=export-xlsx]")
    download = info.value
    assert download.suggested_filename.endswith(".xlsx")
    data = Path(download.path()).read_bytes()
    book = load_workbook(io.BytesIO(data))
    header = [c.value for c in next(book.active.iter_rows(max_row=1))]
    assert any(isinstance(v, str) and "分子" in v for v in header)


def test_charts_render_under_the_content_security_policy_with_no_csp_errors(page, dashboard_server):
    from tests.factories import PASSWORD

    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text + " @ " + str(m.location)) if m.type in ("error", "warning") and (
        "Content Security Policy" in m.text or "Content-Security-Policy" in m.text) else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    base = dashboard_server["base_url"]
    page.goto(f"{base}/login")
    page.fill("input[name=username]", BUREAU)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    response = page.goto(f"{base}/indicators/compare?period=2025")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.locator("[data-testid=compare-chart][data-rendered='1'] canvas").first.wait_for()
    box = page.locator("[data-testid=compare-chart]").bounding_box()
    assert box and box["height"] >= 240  # the height set by static/js/indicators-charts.js, not a style attribute
    page.goto(f"{base}/indicators/trend?period=2025")
    page.locator("[data-testid=trend-chart][data-rendered='1'] canvas").first.wait_for()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 100)  # a tooltip, drawn without inline styles
    page.wait_for_timeout(300)
    assert problems == []
