"""HTML pages of the registry: the tree with figures, one org unit, facility forms that keep the input."""
import re
from datetime import date

import pytest

from tests import factories as f
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.commands import build
from weijian.orgunits import service
from weijian.orgunits.models import Facility
from weijian.orgunits.schemas import FacilityCreate

SYSTEM = Actor.system("test")


@pytest.fixture()
def county(session):
    f.make_county(session)
    lead = service.create_facility(session=session, facility_in=build(FacilityCreate, dict(
        code="H001", name="英山县人民医院", type="county_general", grade="level2_a", orgunit_code=f.COUNTY,
        community_role="lead", beds_approved=500, beds_open=450, physicians=120, assistant_physicians=15,
        as_of=date(2024, 12, 31))), actor=SYSTEM)
    service.create_facility(session=session, facility_in=build(FacilityCreate, dict(
        code="T001", name="温泉镇卫生院", type="township_centre", grade="level1", orgunit_code=f.TOWN_A,
        community_role="member", beds_approved=60, beds_open=50, physicians=12, assistant_physicians=3,
        as_of=date(2024, 12, 31))), actor=SYSTEM)
    service.create_facility(session=session, facility_in=build(FacilityCreate, dict(
        code="V001", name="东冲村卫生室", type="village_clinic", orgunit_code=f.VILLAGE_A1,
        assistant_physicians=1)), actor=SYSTEM)
    return {"lead": lead}


@pytest.fixture()
def doctor(session, county):
    return f.token_headers(session, f.make_user(session, "village_doctor", f.VILLAGE_A1))


@pytest.fixture()
def admin(session, county):
    return f.token_headers(session, f.make_user(session, "bureau_admin", f.COUNTY))


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_pages_need_a_login(client):
    for path in ("/orgunits", f"/orgunits/{f.COUNTY}", "/facilities/new"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_tree_page_shows_facilities_and_totals_in_chinese(client, doctor):
    r = client.get("/orgunits", headers=doctor)
    assert r.status_code == 200
    html = r.text
    text = _text(html)
    assert "行政区划与医疗卫生机构" in text
    for name in ("英山县人民医院", "温泉镇卫生院", "东冲村卫生室", "南岭村"):
        assert name in text
    assert "综合医院" in text and "二级甲等" in text and "牵头医院" in text and "村卫生室" in text
    assert "500/450" in text  # beds approved/open of the lead hospital
    county_total = re.search(r'data-testid="county-total">(.*?)</tr>', html, re.S).group(1)
    assert re.findall(r">(\d+)<", county_total) == ["3", "560", "500", "132", "19"]
    town_total = re.search(rf'data-testid="township-total-{f.TOWN_A}">(.*?)</tr>', html, re.S).group(1)
    assert re.findall(r">(\d+)<", town_total) == ["2", "60", "50", "12", "4"]
    assert html.count("<details") == 6  # county, two towns, three villages
    assert 'href="/facilities/new"' not in html  # a doctor cannot add facilities
    assert '<a href="/orgunits" class="active">机构</a>' in html


def test_tree_page_in_english(client, doctor):
    r = client.get("/orgunits?lang=en", headers=doctor)
    text = _text(r.text)
    assert "Divisions and health facilities" in text
    assert "General hospital" in text and "Level 2, grade A" in text and "Lead hospital" in text
    assert "综合医院" not in text


def test_orgunit_page_shows_children_facilities_and_capacity_on_a_date(client, doctor, session):
    r = client.get(f"/orgunits/{f.TOWN_A}", headers=doctor)
    assert r.status_code == 200
    text = _text(r.text)
    assert "温泉镇（421124100000）" in text and "英山县" in text and "东冲村" in text and "西河村" in text
    assert "温泉镇卫生院" in text
    r = client.get(f"/orgunits/{f.COUNTY}?as_of=2024-12-31", headers=doctor)
    table = re.search(r'data-testid="capacity-as-of">(.*?)</table>', r.text, re.S).group(1)
    assert "2024-12-31" in r.text
    # The village clinic was added today: not in the year-end 2024 figures.
    assert re.findall(r">(\d+)<", table.split("<tfoot>")[1]) == ["2", "560", "500", "132", "18"]
    assert client.get("/orgunits/421124999000", headers=doctor).status_code == 404


def test_orgunit_page_in_english(client, doctor):
    text = _text(client.get(f"/orgunits/{f.TOWN_A}?lang=en", headers=doctor).text)
    assert "Subdivisions" in text and "Licensed physicians" in text and "town" in text


def test_facility_forms_are_for_orgunit_writers_only(client, doctor, county):
    assert client.get("/facilities/new", headers=doctor).status_code == 403
    assert client.get(f"/facilities/{county['lead'].id}/edit", headers=doctor).status_code == 403


def test_new_facility_form_saves_and_goes_to_its_orgunit(client, admin, session):
    form = client.get(f"/facilities/new?orgunit={f.VILLAGE_A2}", headers=admin)
    assert form.status_code == 200 and "新增机构" in form.text
    r = client.post("/facilities/new", headers=admin, follow_redirects=False, data={
        "csrf_token": _csrf(form.text), "code": "V002", "name": "西河村卫生室", "type": "village_clinic",
        "grade": "ungraded", "orgunit_code": f.VILLAGE_A2, "community_role": "member", "beds_approved": "0",
        "beds_open": "0", "physicians": "0", "assistant_physicians": "2", "as_of": "2025-06-30"})
    assert r.status_code == 303 and r.headers["location"] == f"/orgunits/{f.VILLAGE_A2}"
    fac = session.query(Facility).filter_by(code="V002").one()
    assert fac.assistant_physicians == 2
    assert [h.as_of for h in service.capacity_history(session=session, facility_id=fac.id)] == [date(2025, 6, 30)]


def test_bad_facility_form_is_shown_again_with_errors_beside_fields_and_input_kept(client, admin, session):
    form = client.get("/facilities/new", headers=admin)
    r = client.post("/facilities/new", headers=admin, data={
        "csrf_token": _csrf(form.text), "code": "H001", "name": "重名医院", "type": "county_tcm",
        "grade": "level2_a", "orgunit_code": f.COUNTY, "community_role": "lead", "beds_approved": "-1",
        "beds_open": "abc", "physicians": "", "assistant_physicians": "3", "as_of": ""})
    assert r.status_code == 422
    html = r.text
    assert "机构代码“H001”已被使用" in _text(html)
    for field in ("code", "community_role", "beds_approved", "beds_open", "physicians"):
        assert f'data-testid="error-{field}"' in html
    assert "本县已有牵头医院（英山县人民医院）" in html
    assert 'value="重名医院"' in html and 'value="abc"' in html
    assert re.search(r'<option value="county_tcm"\s+selected>', html)
    assert session.query(Facility).filter_by(name="重名医院").count() == 0


def test_bad_facility_form_in_english(client, admin):
    form = client.get("/facilities/new?lang=en", headers=admin)
    r = client.post("/facilities/new?lang=en", headers=admin, data={
        "csrf_token": _csrf(form.text), "code": "", "name": "x", "type": "other", "grade": "ungraded",
        "orgunit_code": f.COUNTY, "community_role": "none", "beds_approved": "0", "beds_open": "0",
        "physicians": "0", "assistant_physicians": "0", "as_of": ""})
    assert r.status_code == 422 and "Facility code is required" in r.text


def test_form_without_csrf_token_is_refused(client, admin, session):
    r = client.post("/facilities/new", headers=admin, data={"code": "Z1", "name": "x", "type": "other",
                                                            "orgunit_code": f.COUNTY})
    assert r.status_code == 403
    assert session.query(Facility).filter_by(code="Z1").count() == 0


def test_edit_facility_form_updates_and_records_the_figures(client, admin, session, county):
    fid = county["lead"].id
    form = client.get(f"/facilities/{fid}/edit", headers=admin)
    assert form.status_code == 200
    assert 'value="英山县人民医院"' in form.text and 'data-testid="capacity-history"' in form.text
    r = client.post(f"/facilities/{fid}/edit", headers=admin, follow_redirects=False, data={
        "csrf_token": _csrf(form.text), "code": "H001", "name": "英山县人民医院", "type": "county_general",
        "grade": "level3", "orgunit_code": f.COUNTY, "community_role": "lead", "beds_approved": "520",
        "beds_open": "480", "physicians": "125", "assistant_physicians": "15", "as_of": clock.today().isoformat()})
    assert r.status_code == 303
    session.expire_all()
    fac = session.get(Facility, fid)
    assert (fac.grade, fac.beds_open) == ("level3", 480)
    assert len(service.capacity_history(session=session, facility_id=fid)) == 2


def test_bad_edit_keeps_the_input_and_changes_nothing(client, admin, session, county):
    fid = county["lead"].id
    form = client.get(f"/facilities/{fid}/edit", headers=admin)
    r = client.post(f"/facilities/{fid}/edit", headers=admin, data={
        "csrf_token": _csrf(form.text), "code": "H001", "name": "改了名字", "type": "county_general",
        "grade": "level2_a", "orgunit_code": f.COUNTY, "community_role": "lead", "beds_approved": "500",
        "beds_open": "-450", "physicians": "120", "assistant_physicians": "15", "as_of": "2099-01-01"})
    assert r.status_code == 422
    assert 'data-testid="error-beds_open"' in r.text and 'data-testid="error-as_of"' in r.text
    assert 'value="改了名字"' in r.text
    session.expire_all()
    assert session.get(Facility, fid).name == "英山县人民医院"
