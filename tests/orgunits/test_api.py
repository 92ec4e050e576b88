"""JSON API of the registry: auth, permissions, shapes, refusals naming the field."""
from datetime import date

import pytest

from tests import factories as f
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.commands import build
from weijian.orgunits import service
from weijian.orgunits.models import Facility, OrgUnit
from weijian.orgunits.schemas import FacilityCreate, FacilityUpdate

SYSTEM = Actor.system("test")


@pytest.fixture()
def county(session):
    f.make_county(session)
    lead = service.create_facility(session=session, facility_in=build(FacilityCreate, dict(
        code="H001", name="英山县人民医院", type="county_general", grade="level2_a", orgunit_code=f.COUNTY,
        community_role="lead", beds_approved=500, beds_open=450, physicians=120, assistant_physicians=15,
        as_of=date(2024, 12, 31))), actor=SYSTEM)
    centre = service.create_facility(session=session, facility_in=build(FacilityCreate, dict(
        code="T001", name="温泉镇卫生院", type="township_centre", grade="level1", orgunit_code=f.TOWN_A,
        community_role="member", beds_approved=60, beds_open=50, physicians=12, assistant_physicians=3,
        as_of=date(2024, 12, 31))), actor=SYSTEM)
    clinic = service.create_facility(session=session, facility_in=build(FacilityCreate, dict(
        code="V001", name="东冲村卫生室", type="village_clinic", orgunit_code=f.VILLAGE_A1,
        assistant_physicians=1, as_of=date(2024, 12, 31))), actor=SYSTEM)
    return {"lead": lead, "centre": centre, "clinic": clinic}


@pytest.fixture()
def reader(session, county):
    return f.token_headers(session, f.make_user(session, "village_doctor", f.VILLAGE_A1))


@pytest.fixture()
def admin(session, county):
    return f.token_headers(session, f.make_user(session, "bureau_admin", f.COUNTY))


@pytest.mark.parametrize("method, path", [
    ("get", "/api/v1/orgunits"), ("get", "/api/v1/orgunits/tree"), ("get", f"/api/v1/orgunits/{f.COUNTY}"),
    ("get", f"/api/v1/orgunits/{f.COUNTY}/capacity"), ("get", "/api/v1/facilities"),
    ("get", "/api/v1/facilities/1"), ("post", "/api/v1/orgunits"), ("patch", f"/api/v1/orgunits/{f.COUNTY}"),
    ("post", "/api/v1/facilities"), ("patch", "/api/v1/facilities/1"),
])
def test_every_route_needs_a_token(client, method, path):
    r = getattr(client, method)(path, **({} if method == "get" else {"json": {}}))
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthorized"


def test_list_orgunits_filters_by_level_and_parent(client, reader):
    r = client.get("/api/v1/orgunits", params={"level": "township"}, headers=reader)
    assert r.status_code == 200
    assert [u["code"] for u in r.json()] == [f.TOWN_A, f.TOWN_B]
    r = client.get("/api/v1/orgunits", params={"parent": f.TOWN_A}, headers=reader)
    assert [u["code"] for u in r.json()] == [f.VILLAGE_A1, f.VILLAGE_A2]
    r = client.get("/api/v1/orgunits", params={"level": "planet"}, headers=reader)
    assert r.status_code == 422 and r.json()["error"]["field"] == "level"


def test_a_village_doctor_reads_the_whole_county_registry(client, reader):
    r = client.get("/api/v1/orgunits/tree", headers=reader)
    assert r.status_code == 200
    (county,) = r.json()
    assert county["code"] == f.COUNTY
    assert county["totals"] == {"beds_approved": 560, "beds_open": 500, "physicians": 132,
                                "assistant_physicians": 19, "facilities": 3}
    assert [t["code"] for t in county["children"]] == [f.TOWN_A, f.TOWN_B]
    assert county["facilities"][0]["type_label"] == "综合医院"
    town_b = county["children"][1]
    assert town_b["children"][0]["code"] == f.VILLAGE_B1  # outside the doctor's village, still listed


def test_orgunit_detail_has_parent_children_facilities_and_totals(client, reader):
    r = client.get(f"/api/v1/orgunits/{f.TOWN_A}", headers=reader)
    assert r.status_code == 200
    body = r.json()
    assert body["parent"]["code"] == f.COUNTY
    assert [c["code"] for c in body["children"]] == [f.VILLAGE_A1, f.VILLAGE_A2]
    assert [x["code"] for x in body["facilities"]] == ["T001"]
    assert body["totals"]["assistant_physicians"] == 4 and body["totals"]["facilities"] == 2
    assert client.get("/api/v1/orgunits/421124999000", headers=reader).status_code == 404


def test_capacity_of_an_orgunit_on_a_date(client, reader, session, county):
    service.update_facility(session=session, facility_id=county["centre"].id, facility_in=build(FacilityUpdate, {"beds_open": 55}),
                            actor=SYSTEM)
    r = client.get(f"/api/v1/orgunits/{f.COUNTY}/capacity", params={"as_of": "2024-12-31"}, headers=reader)
    assert r.status_code == 200
    body = r.json()
    assert body["as_of"] == "2024-12-31" and body["totals"]["beds_open"] == 500
    assert {c["code"]: c["totals"]["beds_open"] for c in body["children"]} == {f.TOWN_A: 50, f.TOWN_B: 0}
    today = client.get(f"/api/v1/orgunits/{f.COUNTY}/capacity", headers=reader).json()
    assert today["totals"]["beds_open"] == 505
    bad = client.get(f"/api/v1/orgunits/{f.COUNTY}/capacity", params={"as_of": "2024-13-01"}, headers=reader)
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "as_of"


def test_list_facilities_with_filters(client, reader):
    r = client.get("/api/v1/facilities", params={"under": f.TOWN_A}, headers=reader)
    assert [x["code"] for x in r.json()] == ["T001", "V001"]
    r = client.get("/api/v1/facilities", params={"type": "village_clinic"}, headers=reader)
    assert [x["code"] for x in r.json()] == ["V001"]
    r = client.get("/api/v1/facilities", params={"orgunit_code": f.COUNTY}, headers=reader)
    assert [x["code"] for x in r.json()] == ["H001"]
    r = client.get("/api/v1/facilities", params={"type": "zoo"}, headers=reader)
    assert r.status_code == 422 and r.json()["error"]["field"] == "type"


def test_facility_detail_has_its_capacity_history(client, reader, county):
    r = client.get(f"/api/v1/facilities/{county['lead'].id}", headers=reader, )
    assert r.status_code == 200
    body = r.json()
    assert body["grade_label"] == "二级甲等" and body["community_role"] == "lead"
    assert body["capacity_history"] == [{"as_of": "2024-12-31", "beds_approved": 500, "beds_open": 450,
                                         "physicians": 120, "assistant_physicians": 15}]
    assert client.get("/api/v1/facilities/987654", headers=reader).status_code == 404


def test_english_labels_by_accept_language(client, reader, county):
    r = client.get(f"/api/v1/facilities/{county['centre'].id}", headers={**reader, "Accept-Language": "en"})
    assert r.json()["type_label"] == "Township health centre"


def test_a_reader_cannot_write(client, reader, session):
    r = client.post("/api/v1/facilities", headers=reader, json={
        "code": "X1", "name": "x", "type": "other", "orgunit_code": f.VILLAGE_A1})
    assert r.status_code == 403
    r = client.patch(f"/api/v1/orgunits/{f.VILLAGE_A1}", headers=reader, json={"name": "改名"})
    assert r.status_code == 403
    assert session.get(OrgUnit, f.VILLAGE_A1).name == "东冲村"


def test_admin_creates_and_updates_an_orgunit(client, admin, session):
    r = client.post("/api/v1/orgunits", headers=admin, json={"code": "421124100203", "name": "北山村"})
    assert r.status_code == 201
    assert r.json() == {"code": "421124100203", "name": "北山村", "level": "village",
                        "kind": "villagers_committee", "parent_code": f.TOWN_A, "urban_rural_class": None}
    r = client.patch("/api/v1/orgunits/421124100203", headers=admin, json={"urban_rural_class": "220"})
    assert r.status_code == 200 and r.json()["urban_rural_class"] == "220"
    r = client.patch("/api/v1/orgunits/421124100203", headers=admin, json={"level": "county"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "level"


def test_bad_orgunit_is_refused_with_the_field_named_in_chinese(client, admin, session):
    r = client.post("/api/v1/orgunits", headers=admin, json={"code": f.TOWN_A, "name": "重复镇"})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["field"] == "code" and err["message_key"] == "orgunits.errors.orgunit_code_taken"
    assert "已存在" in err["message"]
    r = client.post("/api/v1/orgunits", headers=admin, json={"code": "421124100204"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "name"
    assert session.get(OrgUnit, "421124100204") is None


def test_admin_creates_a_facility_and_updates_its_figures(client, admin, session):
    r = client.post("/api/v1/facilities", headers=admin, json={
        "code": "V002", "name": "西河村卫生室", "type": "village_clinic", "orgunit_code": f.VILLAGE_A2,
        "assistant_physicians": 1, "as_of": "2024-12-31"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["grade"], body["community_role"], body["assistant_physicians"]) == ("ungraded", "none", 1)
    r = client.patch(f"/api/v1/facilities/{body['id']}", headers=admin, json={"physicians": 1})
    assert r.status_code == 200 and r.json()["physicians"] == 1
    history = client.get(f"/api/v1/facilities/{body['id']}", headers=admin).json()["capacity_history"]
    assert [(h["as_of"], h["physicians"], h["assistant_physicians"]) for h in history] == [
        ("2024-12-31", 0, 1), (clock.today().isoformat(), 1, 1)]


def test_bad_facility_is_refused_and_nothing_is_written(client, admin, session):
    before = session.query(Facility).count()
    r = client.post("/api/v1/facilities", headers=admin, json={
        "code": "H009", "name": "第二牵头医院", "type": "county_tcm", "orgunit_code": f.COUNTY,
        "community_role": "lead", "beds_open": -5})
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["error"]["errors"]}
    assert fields == {"community_role", "beds_open"}
    assert session.query(Facility).count() == before
    r = client.post("/api/v1/facilities", headers=admin, json={"code": "H010", "name": "x", "type": "other",
                                                                "orgunit_code": f.COUNTY, "beds": 3})
    assert r.status_code == 422 and r.json()["error"]["field"] == "beds"


def test_update_of_a_missing_facility_is_not_found(client, admin):
    r = client.patch("/api/v1/facilities/987654", headers=admin, json={"name": "x"})
    assert r.status_code == 404
