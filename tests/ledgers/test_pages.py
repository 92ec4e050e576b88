"""The ledgers' areas on the web: each page renders in Chinese with its figure (standards met, AEDs in public
places, people trained, donors due for recall); a refused form answers 422 naming the field in Chinese with
the input kept and stores nothing; the API refuses the same way and answers 404 for a donor outside the
scope; identity numbers and phones are masked."""
from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from tests import factories as f
from weijian.core import clock
from weijian.ledgers.blood.models import BloodDonation, BloodDonor
from weijian.ledgers.equipment.models import Device
from weijian.ledgers.standards.rules import rules
from weijian.ledgers.training.models import TrainingSession


@pytest.fixture()
def world(session):
    f.make_county(session)
    fac = f.make_care_facilities(session)
    users = {"bureau": f.make_user(session, "bureau_admin", f.COUNTY),
             "town": f.make_user(session, "township_doctor", f.TOWN_A),
             "town_b": f.make_user(session, "township_doctor", f.TOWN_B)}
    return fac, users


def test_the_standards_page_counts_and_an_assessment_is_recorded_from_the_checklist(client, session, world):
    fac, users = world
    f.page_login(client, users["town"].username)
    page = client.get("/ledgers/standards?standard=village_clinic")
    assert page.status_code == 200 and "村卫生室规范化建设标准" in page.text
    assert 'data-met="0" data-total="2"' in page.text  # the two clinics of 温泉镇
    form = client.get(f"/ledgers/standards/assess?facility_id={fac['clinic_a1'].id}&standard=village_clinic")
    assert form.status_code == 200 and "业务用房建筑面积不低于60平方米" in form.text
    csrf = f.csrf_from(form.text)
    std = rules().standards["village_clinic"]
    data = {"csrf_token": csrf, "facility_id": str(fac["clinic_a1"].id), "standard": "village_clinic",
            "assessed_on": (clock.today() + timedelta(days=1)).isoformat(), "assessor": "张评估",
            **{f"passed_{i.code}": "true" for i in std.items}, "evidence_floor_space": "平面图 72㎡"}
    refused = client.post("/ledgers/standards/assessments", data=data)
    assert refused.status_code == 422 and "日期不能晚于今天" in refused.text and "平面图 72㎡" in refused.text
    data["assessed_on"] = clock.today().isoformat()
    done = client.post("/ledgers/standards/assessments", data=data, follow_redirects=False)
    assert done.status_code == 303
    shown = client.get(done.headers["location"])
    assert 'data-testid="assessment-meets"' in shown.text and "达标" in shown.text
    assert 'data-met="1" data-total="2"' in client.get("/ledgers/standards?standard=village_clinic").text
    api = client.get(f"/api/v1/ledgers/standards/village_clinic/progress?orgunit={f.TOWN_A}")
    assert api.json()["met"] == 1 and api.json()["total"] == 2


def test_the_aed_pages_show_the_public_count_and_flags_and_refuse_a_bad_device(client, session, world):
    _, users = world
    headers = f.token_headers(session, users["town"])
    body = {"serial": "AED-001", "orgunit_code": f.VILLAGE_A1, "address": "东冲村卫生室门口", "place_type": "community",
            "owner": "东冲村村委会", "install_date": "2025-03-01", "pad_expiry": clock.today().isoformat()}
    assert client.post("/api/v1/ledgers/equipment/devices", json=body, headers=headers).status_code == 201
    bad = client.post("/api/v1/ledgers/equipment/devices", json={**body, "place_type": "harbour"}, headers=headers)
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["error"]["errors"]} == {"serial", "place_type"}
    listing = client.get("/api/v1/ledgers/equipment/devices", headers=headers).json()
    assert listing["public_places"] == 1 and listing["items"][0]["expiring"] and listing["items"][0]["uninspected"]
    f.page_login(client, users["town"].username)
    page = client.get("/ledgers/equipment")
    assert page.status_code == 200 and "公共场所AED：1 台" in page.text and "本月未巡检" in page.text
    device_id = session.scalar(select(Device.id))
    detail = client.get(f"/ledgers/equipment/devices/{device_id}")
    refused = client.post(f"/ledgers/equipment/devices/{device_id}/inspections", data={
        "csrf_token": f.csrf_from(detail.text), "inspected_on": "2025-02-01", "result": "working", "inspector": "王巡检"})
    assert refused.status_code == 422 and "巡检日期不能早于安装日期 2025-03-01" in refused.text
    assert 'value="王巡检"' in refused.text
    public = client.get("/ledgers/equipment/public")
    assert public.status_code == 200 and "东冲村卫生室门口" in public.text
    book = load_workbook(io.BytesIO(client.get("/ledgers/equipment/public.xlsx").content)).active
    rows = list(book.iter_rows(values_only=True))
    assert rows[1][:2] == ("所在地", "详细地址") and rows[2][1] == "东冲村卫生室门口" and len(rows) == 3
    assert client.get("/api/v1/ledgers/equipment/public-count", headers=headers).json()["count"] == 1


def test_the_training_page_rolls_up_people_trained(client, session, world):
    _, users = world
    f.page_login(client, users["town"].username)
    page = client.get("/ledgers/training")
    csrf = f.csrf_from(page.text)
    ok = client.post("/ledgers/training/sessions", data={
        "csrf_token": csrf, "held_on": clock.today().isoformat(), "orgunit_code": f.VILLAGE_A1,
        "project": "老年人智能手机培训", "trained": "38"}, follow_redirects=False)
    assert ok.status_code == 303
    refused = client.post("/ledgers/training/sessions", data={
        "csrf_token": csrf, "held_on": clock.today().isoformat(), "orgunit_code": f.VILLAGE_B1,
        "project": "老年人智能手机培训", "trained": "20"})
    assert refused.status_code == 422 and f"{f.VILLAGE_B1} 不在您的管辖范围内" in refused.text
    assert session.scalar(select(func.count(TrainingSession.id))) == 1
    page = client.get("/ledgers/training")
    assert 'data-total="38"' in page.text and f'data-township="{f.TOWN_A}"' in page.text
    rows = list(load_workbook(io.BytesIO(client.get("/ledgers/training/rollup.xlsx").content)).active
                .iter_rows(values_only=True))
    assert rows[1] == ("乡镇", "项目", "场次", "培训人次")
    assert rows[2][1:] == ("老年人智能手机培训", 1, 38) and rows[-1] == ("合计", None, 1, 38)


def test_the_donor_pages_mask_identity_and_refuse_a_donation_too_soon(client, session, world):
    _, users = world
    mother = f.make_resident(session, name="赵献血", village_code=f.VILLAGE_A1, sex="female",
                             birth_date=date(1992, 4, 4), phone="13712345678")
    headers = f.token_headers(session, users["town"])
    donor = client.post("/api/v1/ledgers/blood/donors", json={"resident_id": mother.id}, headers=headers)
    assert donor.status_code == 201 and donor.json()["phone"] == "13712345678"  # the doctor reads identity
    donor_id = donor.json()["id"]
    last = clock.today() - timedelta(days=30)
    first = client.post(f"/api/v1/ledgers/blood/donors/{donor_id}/donations", headers=headers,
                        json={"donated_on": last.isoformat(), "kind": "whole_blood", "volume_ml": 300})
    assert first.status_code == 201
    other = f.token_headers(session, users["town_b"])
    assert client.get(f"/api/v1/ledgers/blood/donors/{donor_id}", headers=other).status_code == 404
    assert client.post(f"/api/v1/ledgers/blood/donors/{donor_id}/donations", headers=other,
                       json={"donated_on": clock.today().isoformat(), "kind": "whole_blood"}).status_code == 404
    f.page_login(client, users["bureau"].username)  # sees identity numbers masked
    page = client.get(f"/ledgers/blood/donors/{donor_id}")
    assert page.status_code == 200 and mother.id_number not in page.text and "13712345678" not in page.text
    assert "137****5678" in page.text
    bureau_api = client.get(f"/api/v1/ledgers/blood/donors/{donor_id}",
                            headers=f.token_headers(session, users["bureau"])).json()
    assert bureau_api["birth_date"] is None and bureau_api["birth_year"] == 1992
    assert bureau_api["id_number"] == mother.id_number[:6] + "*" * 8 + mother.id_number[-4:]
    f.page_login(client, users["town"].username)
    page = client.get(f"/ledgers/blood/donors/{donor_id}")
    assert mother.id_number in page.text  # a township doctor reads identity (resident:read_identity)
    refused = client.post(f"/ledgers/blood/donors/{donor_id}/donations", data={
        "csrf_token": f.csrf_from(page.text), "donated_on": clock.today().isoformat(), "kind": "whole_blood",
        "volume_ml": "400"})
    assert refused.status_code == 422 and 'data-testid="error-donated_on"' in refused.text
    assert "间隔不足" in refused.text and 'value="400"' in refused.text
    assert session.scalar(select(func.count(BloodDonation.id))) == 1
    listing = client.get("/ledgers/blood")
    assert listing.status_code == 200 and "赵献血" in listing.text and mother.id_number not in listing.text  # lists mask
    recall = client.get("/ledgers/blood/recall")
    assert recall.status_code == 200 and 'data-count="0"' in recall.text
    session.get(BloodDonation, first.json()["id"]).donated_on = clock.today() - timedelta(days=200)
    session.flush()
    assert 'data-count="1"' in client.get("/ledgers/blood/recall").text
    assert session.scalar(select(func.count(BloodDonor.id))) == 1


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_every_page_renders_every_word_through_the_catalog(client, session, world, lang):
    """A key missing from a catalog shows as the key itself ("ledgers.…"): none on any page, in either language."""
    fac, users = world
    mother = f.make_resident(session, name="钱献血", village_code=f.VILLAGE_A1, sex="female", birth_date=date(1990, 1, 1))
    headers = f.token_headers(session, users["bureau"])
    donor = client.post("/api/v1/ledgers/blood/donors", json={"resident_id": mother.id}, headers=headers).json()
    client.post(f"/api/v1/ledgers/blood/donors/{donor['id']}/donations", headers=headers,
                json={"donated_on": (clock.today() - timedelta(days=400)).isoformat(), "kind": "platelets", "units": 2})
    device = client.post("/api/v1/ledgers/equipment/devices", headers=headers, json={
        "serial": "AED-9", "orgunit_code": f.VILLAGE_A1, "address": "村口", "place_type": "school", "owner": "学校",
        "install_date": "2025-01-01"}).json()
    std = rules().standards["township_quality"]
    assessment = client.post("/api/v1/ledgers/standards/assessments", headers=headers, json={
        "facility_id": fac["town_a"].id, "standard": "township_quality", "assessed_on": clock.today().isoformat(),
        "assessor": "评估组", "results": [{"item": i.code, "passed": i.code != "staffing"} for i in std.items]}).json()
    assert assessment["meets"] is False and assessment["failed_required"] == ["staffing"]
    f.page_login(client, users["bureau"].username)
    for url in ("/ledgers/standards", "/ledgers/standards?standard=township_quality",
                f"/ledgers/standards/assess?facility_id={fac['town_a'].id}&standard=township_quality",
                f"/ledgers/standards/assessments/{assessment['id']}", "/ledgers/equipment",
                f"/ledgers/equipment/devices/{device['id']}", "/ledgers/equipment/public", "/ledgers/training",
                "/ledgers/blood", f"/ledgers/blood/donors/{donor['id']}", "/ledgers/blood/recall"):
        page = client.get(url + ("&" if "?" in url else "?") + f"lang={lang}")
        assert page.status_code == 200, url
        assert "ledgers." not in page.text, (url, page.text[page.text.find("ledgers."):][:80])
