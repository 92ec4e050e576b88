"""A village doctor cannot send a patient out of the county directly: out-of-county referral goes through
the county hospital (issue 14 item 13), as filing requires.

Source: 医保发〔2022〕22号 (国家医保局 财政部, 2022), 附件 基本医疗保险跨省异地就医直接结算经办规程 第八条: an
异地转诊人员 files with the 参保地 with the 转诊转院证明 of "参保地规定的定点医疗机构" (read in a secondary summary,
official text not read: verify). Which institutions the 参保地 names is local; this county's (the issue's):
the county tier. The rule is data (referrals.yaml out_of_county_from_tiers); the tiers allowed are
transcribed here, not read from the file."""
from __future__ import annotations

import pytest

from tests.care import referrals_setup as rs
from tests.care.referrals_setup import refer
from weijian.care.models import Referral
from weijian.care.referrals import rules as referrals_rules
from weijian.core.errors import InvalidInput
from weijian.core.i18n import translate

ALLOWED = ("county",)  # the county hospitals refer out of the county; village and township refer up first


@pytest.fixture()
def w(session):
    return rs.build(session)


def test_the_county_rule_lets_only_the_county_tier_refer_out():
    assert referrals_rules.rules().out_of_county_from == ALLOWED


@pytest.mark.parametrize("sender", ["village", "town"])
def test_a_village_or_township_facility_cannot_refer_out_of_the_county(session, w, sender):
    with pytest.raises(InvalidInput) as caught:
        refer(session, w, sender, to_facility_id=None, out_of_county=True,
              outside_facility_name="华中科技大学同济医学院附属协和医院")
    [err] = [e for e in caught.value.errors if e.field == "out_of_county"]
    text = translate(err.reason_key, "zh_CN", **err.params)
    assert "不能直接转往县外" in text and "县级" in text
    assert rs.count(session, Referral) == 0


def test_the_county_hospital_refers_out_of_the_county(session, w):
    referral = refer(session, w, "county", to_facility_id=None, out_of_county=True,
                     outside_facility_name="华中科技大学同济医学院附属协和医院")
    assert referral.out_of_county and referral.from_facility_id == w.fac["county"].id


def test_the_village_referral_form_does_not_offer_out_of_county(client, session, w):
    from tests import factories as f

    client.headers.update(f.token_headers(session, w.users["village"]))
    html = client.get(f"/care/referrals/new?resident_id={w.people['zhang'].id}").text
    assert 'data-testid="out-of-county"' not in html
    client.headers.pop("Authorization", None)
    client.headers.update(f.token_headers(session, w.users["county"]))
    html = client.get(f"/care/referrals/new?resident_id={w.people['zhang'].id}").text
    assert 'data-testid="out-of-county"' in html
