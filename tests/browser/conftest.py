"""A live weijian server on loopback (own SQLite file, seeded with a tiny county) and Debian's Chromium
driven by Playwright. No browser download: executable_path is /usr/bin/chromium (make test installs it).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.live import serve
from weijian.core.actor import Actor
from weijian.core.db import make_engine, make_sessionmaker, unit_of_work
from weijian.core.migrate import upgrade
from weijian.core.settings import Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-quic", "--no-first-run", "--disable-sync"]


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    from tests import factories as f
    from weijian.app import create_app
    from weijian.core.commands import build
    from weijian.residents import service as residents_service

    path = tmp_path_factory.mktemp("live") / "live.db"
    settings = Settings(environment="test", database_url=f"sqlite:///{path}")
    engine = make_engine(settings)
    upgrade(engine)
    data: dict = {}
    system = Actor.system("test")
    with unit_of_work(make_sessionmaker(engine)) as s:
        f.make_county(s)
        f.make_user(s, "village_doctor", f.VILLAGE_A1, username="cunyi")
        own = residents_service.create(session=s, actor=system, resident_in=build(residents_service.ResidentCreate, dict(
            name="张三丰", id_number=f.new_id_number(), village_code=f.VILLAGE_A1, phone="13900001111")))
        other = residents_service.create(session=s, actor=system, resident_in=build(residents_service.ResidentCreate, dict(
            name="张无忌", id_number=f.new_id_number(), village_code=f.VILLAGE_B1)))
        data.update(own_id=own.id, own_name=own.name, other_id=other.id, other_name=other.name,
                    username="cunyi", password=f.PASSWORD)
    with serve(create_app(settings, engine=engine)) as base_url:
        data["base_url"] = base_url
        yield data
    engine.dispose()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make test` (it installs Debian's chromium) or apt-get install chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 768})
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    yield pg
    context.close()
