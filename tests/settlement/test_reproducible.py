"""Settlements that can be reproduced (issue 15 item 9): each settlement keeps the policy terms it ran on,
a re-settlement after a reversal (冲销) runs on them, and a reversal is booked in the month it happens.

The amounts below are worked by hand from the official figures as the project transcribed them from
黄冈市人民政府 黄政规〔2022〕6号 (resident scheme, inpatient; shared/domain/settlement.md, "Sample policy"):
deductible ¥200 / ¥500 / ¥900 and fund rate 85 % / 75 % / 60 % at level 1 / 2 / 3; basic cap ¥150,000;
critical illness from ¥12,000 of the year's in-policy patient share, 60 % up to ¥30,000, 65 % up to
¥100,000, 75 % above; for 特困, 低保 and 返贫致贫 the threshold halved (医保发〔2019〕30号 as cited there).
The booking of a reversal follows 《会计基础工作规范》(财政部 财会字〔1996〕19号) 第五十一条: an entry already
booked is cancelled by a red (negative) entry of the same content, and the correct one booked anew —
the original month is not rewritten."""
from __future__ import annotations

import json
import shutil
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests import factories as f
from tests.settlement.settle_setup import build
from weijian.core import tallies as core_tallies
from weijian.settlement import counts
from weijian.settlement.budget import queries as budget
from weijian.settlement.models import Settlement, SettlementTerms
from weijian.settlement.settle import engine, rules
from weijian.settlement.settle import service as settle
from weijian.settlement.settle.rules import get_policy
from weijian.settlement.settle.schemas import ReverseIn, SettleIn

D = Decimal
POLICY_ID = "huanggang-resident-2022"


def _settle(session: Session, w, stay, on: date | None = None) -> Settlement:
    return settle.settle_encounter(session=session, actor=w.actors["county"], settle_in=SettleIn(encounter_id=stay.id),
                                   today=on)


# --- the terms a settlement keeps ----------------------------------------------------------------------
def test_a_settlement_stores_the_policy_text_and_the_terms_of_its_group_that_applied(session: Session) -> None:
    """黄政规〔2022〕6号 as transcribed: a township stay runs on deductible ¥200 and 85 %, critical illness from
    ¥12,000; a 低保 resident's threshold is halved to ¥6,000 (医保发〔2019〕30号 as cited) — the threshold
    the slip must print is the one stored with it."""
    w = build(session)
    ordinary, poor = f.make_resident(session), f.make_resident(session, groups=["低保"])
    a = _settle(session, w, f.make_stay(session, ordinary, w.facilities["town_a"], total="5000.00"))
    b = _settle(session, w, f.make_stay(session, poor, w.facilities["town_a"], total="5000.00"))
    assert a.terms_id is not None and a.terms_id == b.terms_id  # one text, one row
    stored = session.get(SettlementTerms, a.terms_id)
    assert stored.policy_id == POLICY_ID and len(stored.digest) == 64
    levels = json.loads(stored.snapshot)["basic"]["levels"]
    assert levels == {"township": {"deductible": "200", "rate": "0.85"}, "county": {"deductible": "500", "rate": "0.75"},
                      "city": {"deductible": "900", "rate": "0.6"}}
    applied_a, applied_b = json.loads(a.applied_terms), json.loads(b.applied_terms)
    assert (applied_a["basic"]["deductible"], applied_a["basic"]["rate"]) == ("200", "0.85")
    assert applied_a["critical_illness"]["threshold"] == "12000" and applied_a["group"] is None
    assert applied_b["critical_illness"]["threshold"] == "6000" and applied_b["group"] == "min_living"
    assert applied_b["assistance"]["rate"] == "0.7"  # 国办发〔2021〕42号: 低保 at least 70 %


def test_a_stored_policy_text_reads_back_as_the_same_policy() -> None:
    for p in rules.bundled_policies():
        text, digest = rules.policy_snapshot(p)
        again = rules.policy_from_snapshot(text, digest=digest)
        assert rules.policy_snapshot(again) == (text, digest)
        assert again.basic == p.basic and again.critical_illness == p.critical_illness
        assert dict(again.assistance) == dict(p.assistance) and again.assistance_tilt == p.assistance_tilt


@pytest.fixture()
def edited_policies(tmp_path, monkeypatch):
    """A copy of the bundled policy files that the test may edit, in force in place of the bundled ones."""
    copy = tmp_path / "policies"
    shutil.copytree(rules.POLICY_DIR, copy)
    monkeypatch.setattr(rules, "POLICY_DIR", copy)
    rules.bundled_policies.cache_clear()
    yield copy / "huanggang-resident-2022.yaml"
    rules.bundled_policies.cache_clear()


def test_editing_the_policy_file_later_changes_new_settlements_only(session: Session, edited_policies,
                                                                    monkeypatch) -> None:
    """A township stay of ¥5,000 under 黄政规〔2022〕6号 as transcribed: fund (5,000 − 200) × 85 % = ¥4,080. After the
    file is edited to ¥300 and 80 %, the stay settled before it and re-settled after a reversal of an
    earlier stay still splits on its stored terms (¥4,080), its slip reproduces, and a new settlement runs on
    the edited file: (5,000 − 300) × 80 % = ¥3,760."""
    from typer.testing import CliRunner

    from tests.conftest import savepoint_sessions
    from weijian.cli import app
    from weijian.settlement import cli as settlement_cli

    w = build(session)
    person = f.make_resident(session)
    first = _settle(session, w, f.make_stay(session, person, w.facilities["town_a"], end_date=date(2024, 2, 1),
                                            total="5000.00"))
    second = _settle(session, w, f.make_stay(session, person, w.facilities["town_a"], end_date=date(2024, 5, 1),
                                             total="5000.00"))
    assert (first.basic_pays, second.basic_pays) == (D("4080.00"), D("4080.00"))

    text = edited_policies.read_text(encoding="utf-8")
    edited = text.replace("township: {deductible: 200, rate: 0.85}", "township: {deductible: 300, rate: 0.80}")
    assert edited != text
    edited_policies.write_text(edited, encoding="utf-8")
    rules.bundled_policies.cache_clear()
    assert get_policy(POLICY_ID).basic.levels["township"].rate == D("0.80")

    result = settle.reverse(session=session, actor=w.actors["county"], settlement_id=first.id,
                            reverse_in=ReverseIn(reason="费用录入错误"))
    [again] = result.resettled
    assert (again.basic_pays, again.deductible, again.patient_pays) == (D("4080.00"), D("200.00"), D("920.00"))
    assert again.terms_id == second.terms_id

    runner = CliRunner()
    factory = savepoint_sessions(session.connection())
    monkeypatch.setattr(settlement_cli, "_sessionmaker", lambda: factory)
    out = runner.invoke(app, ["settlement", "simulate", "--settlement", settle_number(again), "--format", "json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["equal"] is True

    new = _settle(session, w, f.make_stay(session, person, w.facilities["town_a"], end_date=date(2024, 8, 1),
                                          total="5000.00"))
    assert (new.basic_pays, new.deductible) == (D("3760.00"), D("300.00"))
    assert new.terms_id != again.terms_id
    out = runner.invoke(app, ["settlement", "simulate", "--resident", str(person.id), "--year", "2024",
                              "--format", "json"])
    assert out.exit_code == 0, out.output
    body = json.loads(out.output)
    assert body["count"] == 4 and body["different"] == 0  # reversed, superseded, re-settled and the new one


def settle_number(s: Settlement) -> str:
    from weijian.settlement.settle.queries import slip_number

    return slip_number(s)


# --- a reversal is booked in its own month ------------------------------------------------------------------
def test_a_reversal_in_march_is_booked_in_march_and_january_keeps_its_figures(session: Session) -> None:
    """Level-3 stays (黄政规〔2022〕6号 as transcribed), an ordinary resident. January, ¥150,000: basic
    (150,000 − 900) × 60 % = ¥89,460; share ¥60,540; critical illness 18,000 × 60 % + 30,540 × 65 % = ¥30,651.
    February, ¥20,000: basic (20,000 − 900) × 60 % = ¥11,460; share 8,540, cumulative 69,080: critical
    illness 10,800 + 39,080 × 65 % − 30,651 = ¥5,551. Reversing January's in March re-settles February's
    from nothing: basic ¥11,460, share 8,540 below ¥12,000, no critical illness. Booked as 会计基础工作规范
    第五十一条 says: January and February unchanged; March −89,460 basic (−89,460 − 11,460 + 11,460) and
    −36,202 critical illness (−30,651 − 5,551 + 0)."""
    w = build(session)
    person = f.make_resident(session, village_code=f.VILLAGE_A1)
    jan = _settle(session, w, f.make_stay(session, person, None, end_date=date(2025, 1, 10), total="150000.00"),
                  on=date(2025, 1, 12))
    feb = _settle(session, w, f.make_stay(session, person, None, end_date=date(2025, 2, 10), total="20000.00"),
                  on=date(2025, 2, 12))
    assert (jan.basic_pays, jan.critical_illness_pays) == (D("89460.00"), D("30651.00"))
    assert (feb.basic_pays, feb.critical_illness_pays) == (D("11460.00"), D("5551.00"))
    bureau = w.actors["bureau"]
    before = budget.report(session=session, actor=bureau, county_code=f.COUNTY, year=2025, as_of=date(2025, 3, 31))

    settle.reverse(session=session, actor=w.actors["county"], settlement_id=jan.id,
                   reverse_in=ReverseIn(reason="重复结算"), today=date(2025, 3, 3))
    resettled = session.scalar(select(Settlement).where(Settlement.replaces_id == feb.id))
    assert (resettled.basic_pays, resettled.critical_illness_pays) == (D("11460.00"), D("0.00"))
    assert (jan.reversed_on, feb.reversed_on, resettled.settled_on) == (date(2025, 3, 3),) * 3

    # The indicators' monthly amounts (straight from the table) ...
    every = counts.amounts_by_month_all(session=session, lo=f.VILLAGE_A1, hi=f.VILLAGE_A1, start=date(2025, 1, 1),
                                        end=date(2025, 12, 31))
    assert {m: v for (_, m), v in every["basic"].items()} == {
        202501: D("89460.00"), 202502: D("11460.00"), 202503: D("-89460.00")}
    assert {m: v for (_, m), v in every["critical_illness"].items()} == {
        202501: D("30651.00"), 202502: D("5551.00"), 202503: D("-36202.00")}
    # ... and from the running tallies, which agree with the table.
    assert core_tallies.check(session, ["settle"]) == []
    tallied = core_tallies.months(session, ["settle:basic"], f.VILLAGE_A1, f.VILLAGE_A1, 202501, 202512)
    assert {m: n for (_, _, m), n in tallied.items() if n} == {202501: 8946000, 202502: 1146000, 202503: -8946000}
    # The bundled budget: the closed months unchanged, the reversal in March's spending.
    after = budget.report(session=session, actor=bureau, county_code=f.COUNTY, year=2025, as_of=date(2025, 3, 31))
    assert [m.total for m in after.months[:2]] == [m.total for m in before.months[:2]] == [D("89460.00"),
                                                                                         D("11460.00")]
    assert after.months[2].total == D("-89460.00") and after.spent == D("11460.00")
    # The drill-down lists the entries behind March: two red entries and the re-settlement.
    rows = session.execute(counts.settlement_records(lo=f.VILLAGE_A1, hi=f.VILLAGE_A1, start=date(2025, 3, 1),
                                                     end=date(2025, 3, 31), payer="basic")).all()
    assert sorted(r.detail for r in rows) == [D("-89460.00"), D("-11460.00"), D("11460.00")]


def test_a_stay_settled_and_reversed_in_one_month_leaves_that_month_at_nothing(session: Session) -> None:
    w = build(session)
    person = f.make_resident(session, village_code=f.VILLAGE_A1)
    s = _settle(session, w, f.make_stay(session, person, w.facilities["town_a"], end_date=date(2025, 4, 2),
                                        total="5000.00"), on=date(2025, 4, 3))
    settle.reverse(session=session, actor=w.actors["county"], settlement_id=s.id, reverse_in=ReverseIn(reason="测试"),
                   today=date(2025, 4, 20))
    every = counts.amounts_by_month_all(session=session, lo=f.VILLAGE_A1, hi=f.VILLAGE_A1, start=date(2025, 1, 1),
                                        end=date(2025, 12, 31))
    assert every["basic"] == {(f.VILLAGE_A1, 202504): D("0.00")}
    assert core_tallies.check(session, ["settle"]) == []


# --- the reproduction tells a changed slip -------------------------------------------------------------------
def test_simulate_reports_a_slip_that_differs_from_its_stays_and_exits_1(session: Session, monkeypatch) -> None:
    """The township stay of ¥5,000 (黄政规〔2022〕6号 as transcribed: fund ¥4,080): a stored ¥4,080.01 is named."""
    from typer.testing import CliRunner

    from tests.conftest import savepoint_sessions
    from weijian.cli import app
    from weijian.settlement import cli as settlement_cli

    w = build(session)
    person = f.make_resident(session)
    s = _settle(session, w, f.make_stay(session, person, w.facilities["town_a"], end_date=date(2024, 3, 1),
                                        total="5000.00"))
    factory = savepoint_sessions(session.connection())
    monkeypatch.setattr(settlement_cli, "_sessionmaker", lambda: factory)
    runner = CliRunner()
    ok = runner.invoke(app, ["settlement", "simulate", "--settlement", str(s.id), "--format", "text", "--lang", "en"])
    assert ok.exit_code == 0, ok.output
    assert "reproduced equal" in ok.output and "Reproduced 1 slips, 0 different" in ok.output
    s.basic_pays = D("4080.01")  # tampered with
    session.flush()
    bad = runner.invoke(app, ["settlement", "simulate", "--settlement", settle_number(s), "--format", "json"])
    assert bad.exit_code == 1, bad.output
    [slip] = json.loads(bad.output)["settlements"]
    assert slip["differences"] == [{"field": "basic_pays", "stored": "4080.01", "reproduced": "4080.00"}]
    zh = runner.invoke(app, ["settlement", "simulate", "--settlement", "JS2099010100000001"])
    assert zh.exit_code == 1 and "结算单“JS2099010100000001”不存在" in zh.output
    mixed = runner.invoke(app, ["settlement", "simulate", "--stays", "x.json", "--year", "2024"])
    assert mixed.exit_code == 1 and "--stays" in mixed.output
    assert session.scalar(select(func.count()).select_from(Settlement)) == 1  # a read: nothing written


def test_engine_terms_data_names_the_tilted_critical_illness_bands() -> None:
    """特困 under 黄政规〔2022〕6号 with the tilt as cited: threshold ¥6,000, each band +5 points (65 %, 70 %, 80 %),
    no cap."""
    data = engine.terms_data(get_policy(POLICY_ID), "特困", "city")
    assert data["critical_illness"] == {"threshold": "6000", "annual_cap": None,
                                        "bands": [["6000", "30000", "0.65"], ["30000", "100000", "0.7"],
                                                  ["100000", None, "0.8"]]}
    assert (data["basic"]["deductible"], data["basic"]["rate"]) == ("900", "0.6")


# --- migration 0013 on a database with settlements ----------------------------------------------------------
def test_migration_0013_books_earlier_reversals_on_their_day_and_leaves_their_terms_unknown(tmp_path) -> None:
    """Rows reversed or superseded before migration 0013 get `reversed_on` (the county's day of the reversal;
    for a superseded row, the day its replacement was settled), so they keep out of later months' figures;
    their terms stay NULL — what they ran on was never recorded."""
    from alembic import command
    from sqlalchemy.orm import Session as OrmSession

    from weijian.core.db import make_engine
    from weijian.core.migrate import alembic_config, upgrade
    from weijian.core.settings import Settings

    eng = make_engine(Settings(environment="test", database_url=f"sqlite:///{tmp_path / 'm.db'}",
                               key_dir=tmp_path / "keys"))
    try:
        upgrade(eng)
        with OrmSession(eng) as s:
            w = build(s)
            person = f.make_resident(s)
            a = _settle(s, w, f.make_stay(s, person, None, end_date=date(2025, 1, 10), total="150000.00"),
                        on=date(2025, 1, 12))
            b = _settle(s, w, f.make_stay(s, person, None, end_date=date(2025, 2, 10), total="20000.00"),
                        on=date(2025, 2, 12))
            settle.reverse(session=s, actor=w.actors["county"], settlement_id=a.id,
                           reverse_in=ReverseIn(reason="测试"), today=date(2025, 3, 3))
            s.commit()
            ids, reversed_at = (a.id, b.id), a.reversed_at
        cfg = alembic_config(eng)
        command.downgrade(cfg, "0013_merge_moves")  # the revision before 0015_settlement_terms
        command.upgrade(cfg, "head")
        with OrmSession(eng) as s:
            rows = {r.id: r for r in s.scalars(select(Settlement))}
            from weijian.core import clock

            assert rows[ids[0]].reversed_on == clock.local_date(reversed_at)
            assert rows[ids[1]].reversed_on == date(2025, 3, 3)  # its replacement's settlement day
            assert all(r.terms_id is None and r.applied_terms is None for r in rows.values())
            live = [r for r in rows.values() if r.status == "settled"]
            assert len(live) == 1 and live[0].reversed_on is None
    finally:
        eng.dispose()
