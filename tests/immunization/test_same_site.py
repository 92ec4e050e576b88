"""Two injections given to a child on one day go to different sites (issue 14 item 10).

Source: 国家免疫规划疫苗儿童免疫程序及说明（2021年版）(国家卫生健康委, 2021), 一般原则, 同时接种原则: "不同疫苗同时接种：
两种及以上注射类疫苗应在不同部位接种。严禁将两种或多种疫苗混合吸入同一支注射器内接种。" and 接种部位: "当多种疫苗同时注
射接种（包括肌内、皮下和皮内注射）时，可在左右上臂、左右大腿分别接种". (Read in third-party transcriptions of the text;
the commission's own copy was not reached.)

The world's child is two months old (born 70 days ago; HepB1 and BCG copied from the certificate): HepB2 (from
1 month) and IPV1 (from 2 months) are both due today, and point A has both in stock.
"""
from __future__ import annotations

import re
from datetime import timedelta

from tests.immunization.records_setup import (  # noqa: F401
    at,
    county_today,
    headers,
    make_child,
    record_vaccination,
    snapshot,
    world,
)
from weijian.core.errors import InvalidInput
from weijian.immunization.models import Vaccination

URL = "/api/v1/immunization/vaccinations"


def give(session, w, **over):
    values = dict(resident_id=w.child.id, vaccine="HepB", dose=2, given_at=at(county_today(), 10), site="right_deltoid",
                  actor=w.vaccinator)
    values.update(over)
    return record_vaccination(session=session, **values)


def test_a_second_injection_at_the_same_site_on_the_same_day_is_refused_naming_site(session, world):
    """"两种及以上注射类疫苗应在不同部位接种": HepB2 in the right deltoid, then IPV1 in the right deltoid the same day
    is refused (field `site`, nothing written); in the left thigh it is accepted. The rule is about vaccines given
    at the same time (同时接种): for a twin, HepB2 in the right deltoid yesterday does not stop IPV1 there today."""
    w = world
    give(session, w)
    before = snapshot(session)
    try:
        give(session, w, vaccine="IPV", dose=1, site="right_deltoid")
    except InvalidInput as exc:
        assert [e.field for e in exc.errors] == ["site"]
        assert exc.errors[0].reason_key.endswith("site_used_same_day")
    else:
        raise AssertionError("the same site was accepted twice on one day")
    assert snapshot(session) == before
    v = give(session, w, vaccine="IPV", dose=1, site="left_thigh")
    assert (v.vaccine, v.site, v.date) == ("IPV", "left_thigh", county_today())
    twin = make_child(session, name="王小贝")
    give(session, w, resident_id=twin.id, given_at=at(county_today() - timedelta(days=1), 10))
    v = give(session, w, resident_id=twin.id, vaccine="IPV", dose=1, site="right_deltoid")
    assert (v.site, v.date) == ("right_deltoid", county_today())


def test_the_api_refuses_the_same_site_with_422_and_a_chinese_message(client, session, world):
    """The API answers 422 naming `site`, in Chinese (同一天 … 请选择其他部位) and in English; nothing written."""
    w = world
    auth = headers(session, w.vaccinator)
    res = client.post(URL, json={"resident_id": w.child.id, "vaccine": "HepB", "dose": 2, "site": "right_deltoid"},
                      headers=auth)
    assert res.status_code == 201, res.text
    before = snapshot(session)
    res = client.post(URL, json={"resident_id": w.child.id, "vaccine": "IPV", "dose": 1, "site": "right_deltoid"},
                      headers=auth)
    assert res.status_code == 422
    error = res.json()["error"]
    assert error["field"] == "site"
    assert "同一天已在右上臂三角肌接种乙肝疫苗" in error["message"] and "请选择其他部位" in error["message"]
    res = client.post(URL, json={"resident_id": w.child.id, "vaccine": "IPV", "dose": 1, "site": "right_deltoid"},
                      headers={**auth, "Accept-Language": "en"})
    assert res.status_code == 422 and "different sites" in res.json()["error"]["message"]
    assert snapshot(session) == before


def test_the_form_comes_back_with_the_site_error_and_the_input_kept(client, session, world):
    """The record form: 422, the error beside the site field, the vaccine, dose and site chosen kept; nothing
    written."""
    w = world
    client.headers.update(headers(session, w.vaccinator))
    give(session, w)
    page = client.get(f"/residents/{w.child.id}/vaccinations")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    before = snapshot(session)
    res = client.post(f"/residents/{w.child.id}/vaccinations", data={
        "csrf_token": token, "vaccine": "IPV", "dose": "1", "lot_id": str(w.ipv.id), "point_id": str(w.point_a.id),
        "given_at": county_today().isoformat() + "T00:01", "site": "right_deltoid"})
    assert res.status_code == 422
    html = res.text
    assert 'data-testid="error-site"' in html and "请选择其他部位" in html
    assert 'value="right_deltoid" selected' in html and 'value="IPV" selected' in html
    after = snapshot(session)  # (the re-rendered record is a read, audited as one: no write is)
    assert after[:2] + after[3:] == before[:2] + before[3:]
    assert session.query(Vaccination).filter_by(resident_id=w.child.id, vaccine="IPV").count() == 0
