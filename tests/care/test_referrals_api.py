"""The referral API: errors name the field in Chinese, refusals change nothing, a second accept answers 409,
the desk inbox puts overdue referrals first, and the referral-count figure."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests import factories as f
from tests.care import referrals_setup as rs
from weijian.care.models import Encounter, Referral
from weijian.core import clock


@pytest.fixture()
def w(session):
    return rs.build(session)


@pytest.fixture()
def h(session, w):
    cache = {}

    def _for(who: str) -> dict[str, str]:
        if who not in cache:
            cache[who] = f.token_headers(session, w.users[who])
        return cache[who]
    return _for


def body(w, **over):
    values = dict(resident_id=w.people["zhang"].id, direction="up", to_facility_id=w.fac["county"].id,
                  to_department="心内科", reason="胸痛待查", diagnosis="I20.0", urgency="urgent")
    values.update(over)
    return values


def test_a_referral_is_created_and_read_back(client, session, w, h):
    res = client.post("/api/v1/care/referrals", json=body(w, summary="胸闷三天"), headers=h("village"))
    assert res.status_code == 201, res.text
    out = res.json()
    assert (out["status"], out["direction"], out["to_facility"], out["resident_name"]) == (
        "requested", "up", "英山县人民医院", "张三")
    assert out["diagnosis_name"] == "不稳定型心绞痛" and out["summary"].startswith("胸闷三天")
    assert out["version"] == 1 and out["overdue"] is False
    again = client.get(f"/api/v1/care/referrals/{out['id']}", headers=h("county"))
    assert again.status_code == 200 and again.json()["reason"] == "胸痛待查"


def test_a_wrong_direction_answers_422_naming_the_field_in_chinese(client, session, w, h):
    res = client.post("/api/v1/care/referrals", json=body(w, direction="down"), headers=h("village"))
    assert res.status_code == 422
    error = res.json()["error"]
    assert error["field"] == "direction"
    assert error["message"].startswith("转诊方向: 转诊方向与机构层级不符：从村级到县级应为“上转”")
    res = client.post("/api/v1/care/referrals", json=body(w, to_facility_id=w.fac["clinic_a2"].id),
                      headers=h("village"))
    assert res.status_code == 422 and res.json()["error"]["field"] == "to_facility_id"
    assert "同为村级机构" in res.json()["error"]["message"]
    assert session.scalar(select(Referral.id)) is None


def test_answers_by_another_facility_are_refused_with_403_and_change_nothing(client, session, w, h):
    rid = client.post("/api/v1/care/referrals", json=body(w), headers=h("village")).json()["id"]
    for who in ("tcm", "town"):
        for action, payload in (("accept", {}), ("reject", {"reason": "无床位"}), ("arrive", {}),
                                ("complete", {"discharge_summary": "x"})):
            res = client.post(f"/api/v1/care/referrals/{rid}/{action}", json=payload, headers=h(who))
            assert res.status_code == 403, (who, action)
            assert res.json()["error"]["message"] == "只有转入机构才能处理这张转诊单"
    referral = session.get(Referral, rid)
    session.refresh(referral)
    assert (referral.status, referral.version) == ("requested", 1)
    res = client.post(f"/api/v1/care/referrals/{rid}/accept", headers=h("bureau"))
    assert res.status_code == 403 and "referral:respond" in res.json()["error"]["message"]


def test_a_second_accept_answers_409(client, session, w, h):
    rid = client.post("/api/v1/care/referrals", json=body(w), headers=h("village")).json()["id"]
    first = client.post(f"/api/v1/care/referrals/{rid}/accept", json={"version": 1}, headers=h("county"))
    assert first.status_code == 200 and (first.json()["status"], first.json()["version"]) == ("accepted", 2)
    second = client.post(f"/api/v1/care/referrals/{rid}/accept", json={"version": 1}, headers=h("county2"))
    assert second.status_code == 409
    assert second.json()["error"]["message"] == "这张转诊单已是“已接收”状态，不能重复操作"


def test_the_whole_way_up_and_back_down(client, session, w, h):
    rid = client.post("/api/v1/care/referrals", json=body(w), headers=h("village")).json()["id"]
    for action, payload in (("accept", None), ("arrive", None), ("complete", {"discharge_summary": "PCI 术后"})):
        res = client.post(f"/api/v1/care/referrals/{rid}/{action}", json=payload, headers=h("county"))
        assert res.status_code == 200, res.text
    assert res.json()["discharge_summary"] == "PCI 术后"
    down = client.post(f"/api/v1/care/referrals/{rid}/downward", json={"reason": "术后康复随访"}, headers=h("county"))
    assert down.status_code == 201, down.text
    out = down.json()
    assert (out["direction"], out["parent_id"], out["to_facility"]) == ("down", rid, "东冲村卫生室")
    todo = client.get("/api/v1/care/worklist", headers=h("village")).json()
    assert [r["id"] for r in todo["downward_referrals"]] == [out["id"]]
    # The same task in the single list of every package, filtered by programme and village, paged.
    assert {(t["programme"], t["resident_id"]) for t in todo["tasks"]} >= {("referral", out["resident_id"])}
    only = client.get("/api/v1/care/worklist", params={"programme": "referral", "size": 1},
                      headers=h("village")).json()
    assert [t["programme"] for t in only["tasks"]] == ["referral"] and only["tasks_total"] >= 1
    elsewhere = client.get("/api/v1/care/worklist", params={"village": "421124999999"}, headers=h("village")).json()
    assert elsewhere["tasks"] == [] and elsewhere["tasks_total"] == 0
    bad = client.get("/api/v1/care/worklist", params={"programme": "dentistry"}, headers=h("village"))
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "programme"
    res = client.post(f"/api/v1/care/referrals/{rid}/reject", json={"reason": ""}, headers=h("county"))
    assert res.status_code == 409  # completed: nothing more to answer


def test_the_sender_cancels_and_a_missing_reason_is_named(client, session, w, h):
    rid = client.post("/api/v1/care/referrals", json=body(w), headers=h("village")).json()["id"]
    res = client.post(f"/api/v1/care/referrals/{rid}/reject", json={"reason": " "}, headers=h("county"))
    assert res.status_code == 422 and res.json()["error"]["field"] == "reject_reason"
    assert res.json()["error"]["message"] == "拒绝原因: 必填"
    assert client.post(f"/api/v1/care/referrals/{rid}/cancel", headers=h("county")).status_code == 403
    res = client.post(f"/api/v1/care/referrals/{rid}/cancel", headers=h("village"))
    assert res.status_code == 200 and res.json()["status"] == "cancelled"


def test_the_inbox_lists_incoming_referrals_overdue_first(client, session, w, h):
    now = datetime.now(UTC)
    rs.refer(session, w, to_facility_id=w.fac["county"].id, urgency="routine", now=now - timedelta(hours=1))
    late = rs.refer(session, w, to_facility_id=w.fac["county"].id, urgency="urgent", now=now - timedelta(hours=3))
    rs.refer(session, w)  # to the township: not on the county's desk
    res = client.get("/api/v1/care/referrals/inbox", headers=h("county"))
    assert res.status_code == 200
    out = res.json()
    assert (out["total"], out["overdue"]) == (2, 1)
    assert [i["id"] for i in out["items"]][0] == late.id and out["items"][0]["overdue"] is True
    assert client.get("/api/v1/care/referrals/inbox", headers=h("bureau")).status_code == 403


def test_lists_are_scoped(client, session, w, h):
    rs.refer(session, w)
    rs.refer(session, w, "village_b", resident_id=w.people["zhao"].id, to_facility_id=w.fac["town_b"].id)
    names = lambda who, **q: [i["resident_name"] for i in client.get(  # noqa: E731
        "/api/v1/care/referrals", params=q, headers=h(who)).json()["items"]]
    assert names("town") == ["张三"] and names("town_b") == ["赵六"]
    assert sorted(names("county")) == ["张三", "赵六"]  # the county sees its residents
    assert names("town", box="sent") == []
    res = client.get("/api/v1/care/referrals", params={"box": "mine"}, headers=h("town"))
    assert res.status_code == 422 and res.json()["error"]["field"] == "box"
    assert client.get("/api/v1/care/referrals/99999", headers=h("town")).status_code == 404


def test_the_referral_figure(client, session, w, h):
    jun = datetime(2025, 6, 1, tzinfo=UTC)
    rs.refer(session, w, now=jun)
    rs.refer(session, w, now=jun)
    rs.refer(session, w, "county", direction="down", to_facility_id=w.fac["clinic_a1"].id, now=jun)
    res = client.get("/api/v1/care/figures/referrals", params={"period": "2025", "orgunit": f.TOWN_A},
                     headers=h("bureau"))
    assert res.status_code == 200, res.text
    assert {k: res.json()[k] for k in ("figure", "orgunit", "period", "numerator", "denominator", "value")} == {
        "figure": "referrals", "orgunit": f.TOWN_A, "period": "2025", "numerator": 2, "denominator": 1,
        "value": 2.0}
    res = client.get("/api/v1/care/figures/referrals", params={"period": "2025", "orgunit": f.TOWN_A},
                     headers=h("village"))
    assert res.status_code == 403
    res = client.get("/api/v1/care/figures/referrals", params={"period": "25", "orgunit": f.TOWN_A},
                     headers=h("bureau"))
    assert res.status_code == 422 and res.json()["error"]["field"] == "period"


def test_arrival_with_an_encounter_of_another_facility_is_refused_naming_it(client, session, w, h):
    """Issue 14 item 13: arrival links the receiving facility's own encounter; another's is refused (422,
    the field named in Chinese, nothing changed)."""
    rid = client.post("/api/v1/care/referrals", json=body(w), headers=h("village")).json()["id"]
    assert client.post(f"/api/v1/care/referrals/{rid}/accept", headers=h("county")).status_code == 200
    elsewhere = rs.visit(session, w.people["zhang"], w.fac["town_a"], clock.today(), "I20.0")
    res = client.post(f"/api/v1/care/referrals/{rid}/arrive", json={"encounter_id": elsewhere.id},
                      headers=h("county"))
    assert res.status_code == 422, res.text
    assert res.json()["error"]["field"] == "encounter_id"
    assert "不是该患者在转入机构的就诊" in res.json()["error"]["message"]
    assert session.get(Referral, rid).status == "accepted" and elsewhere.referral_id is None
    ok = client.post(f"/api/v1/care/referrals/{rid}/arrive", json={"encounter_type": "outpatient"},
                     headers=h("county"))
    assert ok.status_code == 200, ok.text
    linked = session.scalars(select(Encounter).where(Encounter.referral_id == rid)).all()
    assert [(e.facility_id, e.type) for e in linked] == [(w.fac["county"].id, "outpatient")]
