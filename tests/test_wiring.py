"""The composition root (weijian.wiring): it fills every hook and registry of the lower layers exactly once,
however many apps a process builds; a piece left out stops the start; nothing in src loads a module by a
name in a string; the running tallies' listeners are on weijian's sessionmakers, not on every Session."""
from __future__ import annotations

import importlib
import pkgutil
import re
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

import weijian
from tests import factories as f
from tests.settlement.settle_setup import build
from weijian import wiring
from weijian.app import create_app
from weijian.care import service as care_service
from weijian.care import worklist
from weijian.care.maternal import service as maternal_service
from weijian.care.mental import service as mental_service
from weijian.care.records import service as records
from weijian.care.records import timeline as record_timeline
from weijian.care.records.schemas import DischargeIn
from weijian.core import commands, db, nav, tallies
from weijian.core.hooks import Hook, NotWired
from weijian.immunization import service as immunization_service
from weijian.immunization.newborn import queries as newborn_queries
from weijian.settlement import service as settlement_service
from weijian.settlement.models import Settlement
from weijian.surveillance import service as surveillance_service

SRC = Path(weijian.__file__).resolve().parent


def _listeners(session: Session, name: str) -> list:
    return list(getattr(session.dispatch, name))


@pytest.fixture()
def empty_registries(monkeypatch):
    """Every hook and registry of the lower layers as before the root ran (restored afterwards)."""
    for hook, _ in wiring.HOOKS:
        monkeypatch.setattr(hook, "_impl", None)
    monkeypatch.setattr(records, "_DISCHARGE_HOOKS", {})
    monkeypatch.setattr(record_timeline, "_SOURCES", {})
    monkeypatch.setattr(tallies, "SOURCES", {})
    monkeypatch.setattr(nav, "_ITEMS", [])


def test_the_root_registers_each_hook_exactly_once_however_often_it_runs(empty_registries, db_settings,
                                                                         engine) -> None:
    wiring.wire()
    create_app(db_settings, engine=engine)
    app = create_app(db_settings, engine=engine)
    wiring.wire()
    assert [(hook.name, hook._impl) for hook, _ in wiring.HOOKS] == [
        ("core.db.prepare_sessions", tallies.keep_in_step),
        ("residents.access.shared_basis", care_service.access_basis_for),
        ("care.records.chronic_from_diagnosis", care_service.register_from_diagnosis),
        ("care.records.chronic_basis_voided", care_service.close_from_voided_diagnosis),
        ("care.records.live_settlement", settlement_service.live_settlement),
        ("care.worklist.recall_section", immunization_service.worklist_recall),
        ("care.records.case_report_prompts", surveillance_service.case_report_prompts),
        ("surveillance.signals.daily_counts", surveillance_service.daily_counts),
        ("care.worklist.tb_section", surveillance_service.tb_worklist_section),
        ("care.contracts.tb_patients", surveillance_service.tb_patients_on),
        ("care.records.diagnosis_hidden", mental_service.diagnosis_hidden),
        ("care.maternal.newborns_of_delivery", newborn_queries.newborns_of_mother),
        ("immunization.newborn.maternal_delivery", maternal_service.delivery_for_newborn)]
    assert records.discharge_hooks() == {"settlement": settlement_service.try_settle_at_discharge}
    assert list(records.timeline_sources()) == [
        "encounters", "health_checks", "screenings", "chronic", "referrals", "teleconsultations"]
    assert sorted(tallies.SOURCES) == ["checks", "cov", "dose", "enc", "people", "settle"]
    hrefs = [item.href for item in nav.items()]
    assert len(hrefs) == len(set(hrefs)) == sum(len(m.NAV) for m in wiring.NAV_MODULES)
    # The tallies' listeners once on each of the app's sessionmakers: a flush counted twice would double
    # every figure.
    for factory in (app.state.sessionmaker, app.state.read_sessionmaker):
        with factory() as s:
            assert _listeners(s, "before_flush").count(tallies._before_flush) == 1
            assert _listeners(s, "after_flush").count(tallies._after_flush) == 1


def test_the_tallies_listen_on_weijians_sessionmakers_only() -> None:
    engine = create_engine("sqlite://")
    with db.make_sessionmaker(engine)() as wired, Session(engine) as plain:
        assert tallies._before_flush in _listeners(wired, "before_flush")
        assert tallies._before_flush not in _listeners(plain, "before_flush")
        assert tallies._after_flush not in _listeners(plain, "after_flush")
    engine.dispose()


def _declared(kind: type) -> list:
    """Every module-level object of this type in src (the migrations aside), once each."""
    out: list = []
    for info in pkgutil.walk_packages(weijian.__path__, "weijian."):
        if ".migrations" not in info.name:
            module = importlib.import_module(info.name)
            out += [v for v in vars(module).values() if isinstance(v, kind) and all(v is not o for o in out)]
    return out


def test_every_new_sessionmaker_gets_the_tallies_once_though_old_ones_are_collected() -> None:
    """SQLAlchemy's event registry keys a target by id(): a sessionmaker whose class reuses the id of a
    collected one must still get its listeners (the suite makes thousands; once it lost a flush's counts)."""
    import gc

    engine = create_engine("sqlite://")
    counts = set()
    for i in range(300):
        factory = db.make_sessionmaker(engine)
        tallies.keep_in_step(factory)  # the root's step again: still once
        with factory() as s:
            counts.add((_listeners(s, "before_flush").count(tallies._before_flush),
                        _listeners(s, "after_flush").count(tallies._after_flush)))
        del factory, s
        if i % 20 == 0:
            gc.collect()
    engine.dispose()
    assert counts == {(1, 1)}


def test_every_hook_timeline_source_and_nav_entry_declared_in_src_is_wired_by_the_root() -> None:
    hooks = _declared(Hook)
    wired = [hook for hook, _ in wiring.HOOKS]
    assert hooks and [h.name for h in hooks if h not in wired] == []
    assert all(hook.provided for hook in hooks)
    sources = _declared(records.TimelineSource) + [s for t in _declared(tuple) for s in t
                                                   if isinstance(s, records.TimelineSource)]
    assert sources and {s.name for s in sources} == set(records.timeline_sources())
    entries = {i.href for t in _declared(tuple) for i in t if isinstance(i, nav.NavItem)}
    assert entries and entries == {i.href for i in nav.items()}


@pytest.fixture()
def discharge(session: Session):
    """Discharge an open county-hospital stay of a new resident; returns the stay's settlement, if any."""
    w = build(session)
    stay = f.make_stay(session, f.make_resident(session), w.facilities["county"], end_date=None,
                       start_date=date(2024, 5, 1))

    def run() -> Settlement | None:
        bill = commands.build(DischargeIn, {"end_date": "2024-05-08", "total_cost": "5000.00",
                                            "in_policy_cost": "5000.00"})
        care_service.discharge(session=session, encounter_id=stay.id, discharge_in=bill, actor=w.actors["county"],
                               today=date(2024, 5, 8))
        return session.scalar(select(Settlement).where(Settlement.encounter_id == stay.id))
    return run


def test_a_discharge_settles_through_the_hook_the_root_registered(discharge, monkeypatch) -> None:
    calls = []
    registered = records.discharge_hooks()["settlement"]

    def spy(**kw):
        calls.append(kw["encounter"].id)
        return registered(**kw)
    monkeypatch.setitem(records._DISCHARGE_HOOKS, "settlement", spy)
    settled = discharge()
    assert registered is settlement_service.try_settle_at_discharge
    assert settled is not None and calls == [settled.encounter_id] and settled.basic_pays == Decimal("3375.00")


def test_a_discharge_without_its_hook_fails_instead_of_leaving_the_stay_unsettled(discharge,
                                                                                 monkeypatch) -> None:
    monkeypatch.setattr(records, "_DISCHARGE_HOOKS", {})
    with pytest.raises(NotWired):
        discharge()


def test_the_app_fails_at_start_without_the_discharge_hook(monkeypatch, db_settings, engine) -> None:
    monkeypatch.setattr(records, "_DISCHARGE_HOOKS", {})
    monkeypatch.setattr(wiring, "DISCHARGE_HOOKS", {})  # a root that forgot it
    with pytest.raises(NotWired, match="discharge"):
        create_app(db_settings, engine=engine)


def test_the_app_fails_at_start_without_a_timeline_source(monkeypatch, db_settings, engine) -> None:
    monkeypatch.setattr(record_timeline, "_SOURCES", {})
    monkeypatch.setattr(wiring, "TIMELINE_SOURCES", wiring.TIMELINE_SOURCES[:0])
    with pytest.raises(NotWired, match="timeline"):
        create_app(db_settings, engine=engine)


def test_nothing_makes_sessions_or_reads_the_tallies_before_the_root_ran(monkeypatch) -> None:
    monkeypatch.setattr(db.prepare_sessions, "_impl", None)
    monkeypatch.setattr(tallies, "SOURCES", {})
    monkeypatch.setattr(worklist.recall_section, "_impl", None)
    engine = create_engine("sqlite://")
    with pytest.raises(NotWired):
        db.make_sessionmaker(engine)
    with pytest.raises(NotWired):
        db.make_read_sessionmaker(engine)
    with pytest.raises(NotWired):
        tallies.sources()
    with pytest.raises(NotWired):
        worklist.recall_section(session=None, actor=None, today=None, overdue_rule=None)
    engine.dispose()


def test_every_cli_command_starts_wired() -> None:
    """In a process of its own (nothing wired by the test fixtures): a command of the `weijian` CLI."""
    code = ("from typer.testing import CliRunner; from weijian.cli import app; "
            "from weijian.care.records import service as records; "
            "from weijian.core import tallies; "
            "assert not tallies.SOURCES and not records.discharge_hooks(); "
            "r = CliRunner().invoke(app, ['residents', 'check-id', '421124199001011234']); "
            "assert r.exit_code == 0, r.output; "
            "print(sorted(tallies.SOURCES), sorted(records.discharge_hooks()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['checks', 'cov', 'dose', 'enc', 'people', 'settle'] ['settlement']"


# What may stay in src as a string naming a module, and why.
ALLOWED_NAME_STRINGS = {
    # uvicorn needs an import string, not the function, to start `--workers N` processes.
    ("cli.py", "weijian.app:create_app"),
    # Alembic's script location (a package resource holding the migrations), not a module of a layer.
    ("core/migrate.py", "weijian:migrations"),
}


def test_no_module_is_loaded_by_a_name_in_a_string() -> None:
    top = {m.name for m in pkgutil.iter_modules(weijian.__path__)}  # accounts, app, care, core, …
    found = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel.startswith("migrations/"):
            continue
        text = path.read_text(encoding="utf-8")
        for n, line in enumerate(text.splitlines(), 1):
            if re.search(r"\bimportlib\b|\bimport_module\b|__import__|\bfind_spec\b", line):
                found.append(f"{rel}:{n}: {line.strip()}")
        for name in re.findall(r"""["'](weijian[.:][\w.:]+)["']""", text):
            if (rel, name) not in ALLOWED_NAME_STRINGS and re.split(r"[.:]", name)[1] in top:
                found.append(f"{rel}: {name!r}")
    assert found == []
