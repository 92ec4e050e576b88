"""Health education over HTTP: the API records an activity and a photo (a non-image refused 422 naming the
field, in the caller's language), the completion table; the pages show the table with the facilities behind
in red, refuse a future date beside the field with the input kept, upload a photo and serve it, export
xlsx."""
from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import func, select

from tests import factories as f
from weijian.care.education.models import EducationActivity, EducationPhoto
from weijian.core import clock

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture()
def fac(session):
    f.make_county(session)
    return f.make_care_facilities(session)


@pytest.fixture()
def doctor(client, session, fac):
    user = f.make_user(session, "village_doctor", f.VILLAGE_A1, facility_id=fac["clinic_a1"].id)
    client.headers.update(f.token_headers(session, user))
    return user


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (20, 10), (0, 120, 0)).save(buf, format="PNG")
    return buf.getvalue()


def csrf(client, url: str) -> str:
    res = client.get(url)
    assert res.status_code == 200, res.text
    return CSRF.search(res.text).group(1)


def test_api_records_an_activity_and_a_photo(client, session, fac, doctor):
    day = (clock.today() - timedelta(days=2)).isoformat()
    res = client.post("/api/v1/care/education/activities",
                      json={"kind": "consultation", "date": day, "topic": "糖尿病日义诊", "audience": 80})
    assert res.status_code == 201, res.text
    body = res.json()
    assert body["facility_id"] == fac["clinic_a1"].id and body["photos"] == []
    up = client.post(f"/api/v1/care/education/activities/{body['id']}/photos",
                     files={"photo": ("a.png", png(), "image/png")})
    assert up.status_code == 201, up.text
    photo = up.json()
    assert (photo["width"], photo["height"], photo["content_type"]) == (20, 10, "image/png")
    got = client.get(photo["url"])
    assert got.status_code == 200 and got.content == png() and got.headers["content-type"] == "image/png"
    assert got.headers["x-content-type-options"] == "nosniff"


def test_api_refuses_a_non_image_naming_the_field(client, session, doctor):
    res = client.post("/api/v1/care/education/activities",
                      json={"kind": "lecture", "date": clock.today().isoformat(), "topic": "控烟"})
    aid = res.json()["id"]
    bad = client.post(f"/api/v1/care/education/activities/{aid}/photos",
                      files={"photo": ("evil.png", b"GIF89a<?php echo 1; ?>", "image/png")})
    assert bad.status_code == 422
    error = bad.json()["error"]
    assert error["field"] == "photo"
    assert [(e["field"], e["reason"]) for e in error["errors"]] == [("photo", "care.education.errors.photo_not_image")]
    assert error["errors"][0]["message"] == "文件不是有效的图片（或已损坏）"
    assert session.scalar(select(func.count()).select_from(EducationPhoto)) == 0


def test_api_refuses_a_future_date_and_a_negative_audience(client, session, doctor):
    res = client.post("/api/v1/care/education/activities", json={
        "kind": "lecture", "date": (clock.today() + timedelta(days=1)).isoformat(), "topic": "x"})
    assert res.status_code == 422 and "date" in res.text
    res = client.post("/api/v1/care/education/activities", json={
        "kind": "lecture", "date": clock.today().isoformat(), "topic": "x", "audience": -5})
    assert res.status_code == 422 and "audience" in res.text
    assert session.scalar(select(func.count()).select_from(EducationActivity)) == 0


def test_api_completion_lists_the_village_clinic_with_its_minimums(client, session, fac, doctor):
    res = client.get("/api/v1/care/education/completion", params={"year": clock.today().year})
    assert res.status_code == 200
    rows = res.json()["facilities"]
    assert [r["facility_id"] for r in rows] == [fac["clinic_a1"].id]
    lecture = next(k for k in rows[0]["kinds"] if k["kind"] == "lecture")
    assert lecture["minimum"] == 6
    bad = client.get("/api/v1/care/education/completion", params={"orgunit": "4211"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "orgunit"


def test_page_shows_the_table_with_the_behind_cells_red(client, session, fac, doctor):
    session.add(EducationActivity(facility_id=fac["clinic_a1"].id, kind="lecture", date=clock.today(),
                                  topic="合理用药", audience=12, created_by="t"))
    session.flush()
    res = client.get("/care/education")
    assert res.status_code == 200
    assert "健康教育" in res.text and "东冲村卫生室" in res.text and "合理用药" in res.text
    cell = re.search(r'data-kind="consultation" data-state="(\w+)"', res.text)
    assert cell and cell.group(1) == "none"
    if clock.today().timetuple().tm_yday >= 61:  # by March the calendar asks for a lecture already
        assert re.search(r'data-kind="bulletin" data-state="behind" class="status-red"', res.text)


def test_page_form_refuses_a_future_date_beside_the_field_keeping_the_input(client, session, doctor):
    token = csrf(client, "/care/education/new")
    future = (clock.today() + timedelta(days=3)).isoformat()
    res = client.post("/care/education/new", data={"csrf_token": token, "kind": "lecture", "date": future,
                                                   "topic": "我的讲座题目", "audience": "10"})
    assert res.status_code == 422
    assert 'data-testid="error-date"' in res.text and "我的讲座题目" in res.text
    assert session.scalar(select(func.count()).select_from(EducationActivity)) == 0


def test_page_form_with_a_bad_photo_records_nothing(client, session, doctor):
    token = csrf(client, "/care/education/new")
    res = client.post("/care/education/new", data={"csrf_token": token, "kind": "lecture",
                                                   "date": clock.today().isoformat(), "topic": "讲座"},
                      files={"photo": ("x.jpg", b"not a jpeg at all", "image/jpeg")})
    assert res.status_code == 422 and 'data-testid="error-photo"' in res.text
    assert session.scalar(select(func.count()).select_from(EducationActivity)) == 0


def test_page_form_records_an_activity_with_its_photo(client, session, doctor):
    token = csrf(client, "/care/education/new")
    res = client.post("/care/education/new", data={"csrf_token": token, "kind": "bulletin",
                                                   "date": clock.today().isoformat(), "topic": "秋冬季传染病预防"},
                      files={"photo": ("board.png", png(), "image/png")}, follow_redirects=False)
    assert res.status_code == 303, res.text
    page = client.get(res.headers["location"])
    assert page.status_code == 200 and "秋冬季传染病预防" in page.text and 'data-testid="photo"' in page.text


def test_export_is_an_xlsx_of_the_table(client, session, fac, doctor):
    res = client.get("/care/education/completion.xlsx")
    assert res.status_code == 200
    ws = load_workbook(io.BytesIO(res.content)).active
    assert ws.cell(row=3, column=1).value == "东冲村卫生室"
