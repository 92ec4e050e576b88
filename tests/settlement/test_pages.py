"""Settlement pages: the stay page and its settle button, the printable slip in Chinese, the reverse form
with its reason, and the balances ledger with payments."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests import factories as f
from tests.settlement.settle_setup import build
from weijian.core import commands
from weijian.core.errors import InvalidInput
from weijian.settlement.models import Settlement
from weijian.settlement.paylater import queries as paylater_queries
from weijian.settlement.paylater import service as paylater
from weijian.settlement.paylater.schemas import PaymentIn, WaiverIn
from weijian.settlement.settle import service as settle
from weijian.settlement.settle.schemas import SettleIn


def test_settle_button_settles_and_shows_the_slip_with_each_layer(client, session: Session) -> None:
    w = build(session)
    person = f.make_resident(session, name="王大山")
    stay = f.make_stay(session, person, None, total="150000.00")
    f.page_login(client, w.users["county"].username)
    page = client.get(f"/settlement/stays/{stay.id}")
    assert page.status_code == 200 and 'data-testid="settle"' in page.text
    r = client.post(f"/settlement/stays/{stay.id}/settle", data={"csrf_token": f.csrf_from(page.text)},
                    follow_redirects=True)
    assert r.status_code == 200
    for text in ("住院费用结算单", "王大山", "¥89,460.00", "¥30,651.00", "¥29,889.00", "大病保险支付", "本年度累计",
                 "县外"):
        assert text in r.text, text
    assert person.id_number not in r.text  # masked


def test_reverse_form_needs_a_reason_and_then_reverses(client, session: Session) -> None:
    w = build(session)
    stay = f.make_stay(session, f.make_resident(session), w.facilities["county"])
    s = settle.settle_encounter(session=session, actor=w.actors["county"], settle_in=SettleIn(encounter_id=stay.id))
    f.page_login(client, w.users["county"].username)
    page = client.get(f"/settlement/stays/{stay.id}")
    token = f.csrf_from(page.text)
    r = client.post(f"/settlement/settlements/{s.id}/reverse", data={"csrf_token": token, "reason": " "})
    assert r.status_code == 422 and 'data-testid="reason-error"' in r.text
    assert s.status == "settled"
    r = client.post(f"/settlement/settlements/{s.id}/reverse", data={"csrf_token": token, "reason": "费用有误"},
                    follow_redirects=True)
    assert r.status_code == 200 and 'data-testid="reversed-ok"' in r.text and "费用有误" in r.text
    assert session.scalar(select(Settlement.status).where(Settlement.id == s.id)) == "reversed"


def test_refused_settle_shows_the_reason_on_the_stay_page(client, session: Session) -> None:
    w = build(session)
    odd = f.make_facility(session, name="某疗养院", type="other", grade="ungraded", orgunit_code=f.COUNTY)
    stay = f.make_stay(session, f.make_resident(session), odd)
    f.page_login(client, w.users["county"].username)
    page = client.get(f"/settlement/stays/{stay.id}")
    r = client.post(f"/settlement/stays/{stay.id}/settle", data={"csrf_token": f.csrf_from(page.text)})
    assert r.status_code == 422 and "某疗养院" in r.text


def test_balances_ledger_shows_overdue_first_and_takes_payments(client, session: Session) -> None:
    w = build(session)
    person = f.make_resident(session, groups=["低保"], name="刘欠款")
    stay = f.make_stay(session, person, w.facilities["county"], end_date=None, total="20000.00")
    paylater.grant_waiver(session=session, actor=w.actors["county"], waiver_in=WaiverIn(encounter_id=stay.id))
    stay.end_date = date(2024, 1, 5)
    session.flush()
    settle.settle_encounter(session=session, actor=w.actors["county"],
                            settle_in=SettleIn(encounter_id=stay.id), today=date(2024, 1, 5))
    f.page_login(client, w.users["county"].username)
    page = client.get("/settlement/balances")
    assert page.status_code == 200 and "刘欠款" in page.text and 'data-overdue="1"' in page.text
    assert "先诊疗后付费待还款台账" in page.text
    bid = paylater_queries.balances_ledger(session=session, actor=w.actors["county"]).rows[0].balance.id
    r = client.post(f"/settlement/balances/{bid}/pay", data={"csrf_token": f.csrf_from(page.text), "amount": "abc"})
    assert r.status_code == 422 and 'data-testid="pay-error"' in r.text
    r = client.post(f"/settlement/balances/{bid}/pay", data={"csrf_token": f.csrf_from(page.text), "amount": "1.00"},
                    follow_redirects=True)
    assert r.status_code == 200 and 'data-testid="paid-ok"' in r.text


def test_pages_in_english_on_request(client, session: Session) -> None:
    w = build(session)
    stay = f.make_stay(session, f.make_resident(session), w.facilities["county"])
    s = settle.settle_encounter(session=session, actor=w.actors["county"], settle_in=SettleIn(encounter_id=stay.id))
    f.page_login(client, w.users["county"].username)
    r = client.get(f"/settlement/settlements/{s.id}/slip?lang=en")
    assert r.status_code == 200 and "Inpatient settlement slip" in r.text and "Basic insurance fund pays" in r.text


def test_a_facility_filter_that_is_no_id_lists_every_facility(client, session: Session) -> None:
    # Found by the API fuzzer (tests/security): "²" (int() refuses it) and ids past 64 bits were 500s.
    w = build(session)
    f.page_login(client, w.users["county"].username)
    for value in ("²", "9" * 25, "9" * 5000):
        res = client.get("/settlement/balances", params={"facility_id": value})
        assert res.status_code == 200 and "先诊疗后付费待还款台账" in res.text, value


def test_a_payment_past_any_real_amount_is_refused_naming_the_field() -> None:
    # quantize() of 1.8e308 raised InvalidOperation (a 500) before the size check was reached.
    with pytest.raises(InvalidInput) as refused:
        commands.build(PaymentIn, {"amount": "1.7976931348623157e+308"})
    assert refused.value.errors[0].field == "amount"


def test_slip_shows_what_a_bureau_signs(client, session: Session) -> None:
    """Issue 15 item 10: the group's label (not its key), the threshold actually applied (a 低保 patient's
    大病 threshold is halved to ¥6,000), admission and discharge dates, length of stay, primary diagnosis,
    the settlement number, the amount in words (大写, 中国人民银行《正确填写票据和结算凭证的基本规定》), the outside
    hospital's name, the clinician's and the clerk's names (not a username or a policy id)."""
    from weijian.care.models import Encounter

    w = build(session)
    person = f.make_resident(session, name="陈低保", groups=["低保"])
    stay = f.make_stay(session, person, None, start_date=date(2024, 3, 1), end_date=date(2024, 3, 11),
                       total="6007.14", outside_facility_name="黄冈市中心医院")
    session.get(Encounter, stay.id).clinician_name = "张医生"
    session.flush()
    s = settle.settle_encounter(session=session, actor=w.actors["county"], settle_in=SettleIn(encounter_id=stay.id))
    f.page_login(client, w.users["county"].username)
    page = client.get(f"/settlement/settlements/{s.id}/slip")
    assert page.status_code == 200
    text = page.text
    assert "residents.groups." not in text and ">低保<" in text
    assert "大病保险起付线 ¥6,000.00" in text and "¥12,000.00" not in text
    assert "2024-03-01" in text and "2024-03-11" in text and "10 天" in text
    assert "J18.9" in text and "肺炎" in text
    assert f"JS{s.settled_on:%Y%m%d}{s.id:08d}" in text
    assert "县外：黄冈市中心医院" in text and "张医生" in text
    assert s.policy_id not in text and w.users["county"].full_name in text
    assert f"人民币{_words(s.patient_pays)}" in text


def _words(amount) -> str:
    from weijian.settlement.amount_words import rmb_upper
    return rmb_upper(amount)
