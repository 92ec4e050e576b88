"""The ledgers on the web: the bureau records an inspection and a problem on the page; a deadline before the
inspection day, a file that is not an image and one over the size limit come back refused naming the field (422, Chinese, input kept,
nothing stored); a photo is stored and served with the type read from its bytes; the ledger's xlsx escapes a
formula; the API refuses a rectification verified by its own reporter naming `verdict`; a project ending
before it starts is refused on the page, progress above the target without a note in the API; the overview
shows the 序时进度 colour."""
from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from tests import factories as f
from weijian.core import clock
from weijian.ledgers.hazards.models import Inspection, Photo, Problem
from weijian.ledgers.hazards.rules import rules
from weijian.ledgers.projects.models import Project

PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 80


@pytest.fixture()
def users(session):
    f.make_county(session)
    fac = f.make_care_facilities(session)
    return {"bureau": f.make_user(session, "bureau_admin", f.COUNTY),
            "inspector": f.make_user(session, "bureau_admin", f.COUNTY),
            "town": f.make_user(session, "township_doctor", f.TOWN_A, facility_id=fac["town_a"].id), "fac": fac}


def _csrf(client, url="/ledgers/hazards") -> str:
    return f.csrf_from(client.get(url).text)


def _inspection(client, users) -> int:
    day = clock.today() - timedelta(days=10)
    res = client.post("/ledgers/hazards/inspections", data={
        "csrf_token": _csrf(client), "facility_id": str(users["fac"]["town_a"].id), "category": "fire",
        "inspected_on": day.isoformat(), "inspector": "李检查"}, follow_redirects=False)
    assert res.status_code == 303, res.text[:500]
    return int(res.headers["location"].rsplit("/", 1)[1])


def _problem_form(client, inspection_id, **over):
    return {"csrf_token": _csrf(client, f"/ledgers/hazards/inspections/{inspection_id}"),
            "location": "门诊楼", "description": "安全出口堵塞", "severity": "general",
            "responsible_person": "王责任", "responsible_leader": "张院长",
            "deadline": clock.today().isoformat(), "standard": "通道畅通", **over}


def test_the_bureau_records_a_problem_with_a_photo_and_bad_input_is_refused_by_field(client, session, users):
    f.page_login(client, users["bureau"].username)
    inspection_id = _inspection(client, users)
    inspected = session.get(Inspection, inspection_id).inspected_on
    url = f"/ledgers/hazards/inspections/{inspection_id}/problems"
    early = _problem_form(client, inspection_id, deadline=(inspected - timedelta(days=1)).isoformat())
    res = client.post(url, data=early, follow_redirects=False)
    assert res.status_code == 422
    assert 'data-testid="error-deadline"' in res.text and "整改时限不能早于检查日期" in res.text
    assert "安全出口堵塞" in res.text  # the input kept
    res = client.post(url, data=_problem_form(client, inspection_id),
                      files={"photos": ("photo.jpg", b"GIF89a not what it claims", "image/jpeg")},
                      follow_redirects=False)
    assert res.status_code == 422 and 'data-testid="error-photos"' in res.text and "文件不是图片" in res.text
    big = PNG + b"\x00" * rules().photo_max_bytes
    res = client.post(url, data=_problem_form(client, inspection_id), files={"photos": ("big.png", big, "image/png")},
                      follow_redirects=False)
    assert res.status_code == 422 and 'data-testid="error-photos"' in res.text and "超过 5 MB 的上限" in res.text
    assert session.scalar(select(func.count(Problem.id))) == 0
    res = client.post(url, data=_problem_form(client, inspection_id),
                      files={"photos": ("p.png", PNG, "application/octet-stream")}, follow_redirects=False)
    assert res.status_code == 303
    photo = session.scalars(select(Photo)).one()
    assert photo.content_type == "image/png"
    page = client.get(res.headers["location"])
    assert f"/ledgers/hazards/photos/{photo.id}" in page.text
    got = client.get(f"/ledgers/hazards/photos/{photo.id}")
    assert got.status_code == 200 and got.content == PNG and got.headers["content-type"] == "image/png"


def test_the_ledger_xlsx_escapes_a_formula_and_has_the_county_columns(client, session, users):
    f.page_login(client, users["bureau"].username)
    inspection_id = _inspection(client, users)
    res = client.post(f"/ledgers/hazards/inspections/{inspection_id}/problems",
                      data=_problem_form(client, inspection_id, description='=HYPERLINK("http://x","y")'),
                      follow_redirects=False)
    assert res.status_code == 303
    for view in ("problems", "persons", "completion", "overdue"):
        xlsx = client.get(f"/ledgers/hazards/ledger.xlsx?view={view}")
        assert xlsx.status_code == 200
    ws = load_workbook(io.BytesIO(client.get("/ledgers/hazards/ledger.xlsx?view=persons").content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[1][:4] == ("序号", "单位", "责任领导", "责任人")
    assert rows[2][4] == '\'=HYPERLINK("http://x","y")'


def test_the_api_refuses_a_rectification_verified_by_its_reporter(client, session, users):
    headers = f.token_headers(session, users["bureau"])
    day = clock.today() - timedelta(days=3)
    inspection = client.post("/api/v1/ledgers/hazards/inspections", headers=headers, json={
        "facility_id": users["fac"]["town_a"].id, "category": "electrical", "inspected_on": day.isoformat()}).json()
    problem = client.post(f"/api/v1/ledgers/hazards/inspections/{inspection['id']}/problems", headers=headers, json={
        "location": "配电房", "description": "线路老化", "severity": "major", "responsible_person": "王",
        "responsible_leader": "张", "deadline": (day - timedelta(days=1)).isoformat(), "standard": "更换"})
    assert problem.status_code == 422 and problem.json()["error"]["field"] == "deadline"
    problem = client.post(f"/api/v1/ledgers/hazards/inspections/{inspection['id']}/problems", headers=headers, json={
        "location": "配电房", "description": "线路老化", "severity": "major", "responsible_person": "王",
        "responsible_leader": "张", "deadline": day.isoformat(), "standard": "更换"}).json()
    assert problem["overdue"] is True and problem["days_overdue"] == 3
    res = client.post(f"/api/v1/ledgers/hazards/problems/{problem['id']}/rectifications", headers=headers,
                      json={"done_on": clock.today().isoformat(), "measures": "已更换"})
    assert res.status_code == 201 and res.json()["status"] == "submitted"
    res = client.post(f"/api/v1/ledgers/hazards/problems/{problem['id']}/verify", headers=headers,
                      json={"verdict": "accepted"})
    assert res.status_code == 422 and res.json()["error"]["field"] == "verdict"
    res = client.post(f"/api/v1/ledgers/hazards/problems/{problem['id']}/verify",
                      headers=f.token_headers(session, users["inspector"]), json={"verdict": "accepted"})
    assert res.status_code == 200 and res.json()["status"] == "closed"
    escalated = client.get("/api/v1/ledgers/hazards/escalations", headers=headers).json()
    assert escalated == []


def test_a_project_ending_before_it_starts_is_refused_on_the_page_with_the_input_kept(client, session, users):
    f.page_login(client, users["bureau"].username)
    form = {"csrf_token": _csrf(client, "/ledgers/projects"), "name": "公共场所配置AED", "category": "emergency_care",
            "owner": "医政股", "unit": "device", "target": "993", "starts_on": "2026-12-31", "ends_on": "2026-01-01"}
    res = client.post("/ledgers/projects", data=form, follow_redirects=False)
    assert res.status_code == 422
    assert 'data-testid="error-ends_on"' in res.text and "结束日期不能早于开始日期" in res.text
    assert "公共场所配置AED" in res.text
    assert session.scalar(select(func.count(Project.id))) == 0


def test_the_overview_shows_the_colour_and_the_api_wants_a_note_above_the_target(client, session, users):
    today = clock.today()
    headers = f.token_headers(session, users["bureau"])
    start = today - timedelta(days=99)
    project = client.post("/api/v1/ledgers/projects", headers=headers, json={
        "name": "村卫生室规范化建设", "category": "primary_care", "owner": "基层卫生股", "unit": "facility",
        "target": 150, "starts_on": start.isoformat(), "ends_on": (today + timedelta(days=100)).isoformat()}).json()
    res = client.post(f"/api/v1/ledgers/projects/{project['id']}/progress", headers=headers, json={"done": 151})
    assert res.status_code == 422 and res.json()["error"]["field"] == "note"
    res = client.post(f"/api/v1/ledgers/projects/{project['id']}/progress", headers=headers, json={"done": 30})
    assert res.status_code == 201
    # Day 100 of 200: expected 0.5; 30/150 = 0.2 < 0.45: behind, red.
    assert (res.json()["expected_share"], res.json()["actual_share"], res.json()["status"]) == (0.5, 0.2, "behind")
    f.page_login(client, users["bureau"].username)
    page = client.get("/ledgers/projects")
    assert 'data-status="behind" data-colour="red"' in page.text and "status-red" in page.text
    # The figures as a clerk writes them: 150 and 30, not a normalized Decimal's 1.5E+2 and 3E+1.
    assert ">150 " in page.text and ">30<" in page.text and "E+" not in page.text
    detail = client.get(f"/ledgers/projects/{project['id']}")
    assert "150" in detail.text and "E+" not in detail.text
    ws = load_workbook(io.BytesIO(client.get("/ledgers/projects/overview.xlsx").content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[2][2] == "村卫生室规范化建设" and rows[2][-1] == "滞后"
    book = load_workbook(io.BytesIO(client.get("/ledgers/projects/overview.xlsx").content))
    assert [tuple(r) for r in book["按类别"].iter_rows(values_only=True)] == [
        ("类别", "项目数", "滞后", "正常", "超前", "未填报"), ("基层服务能力提升", 1, 1, 0, 0, 0)]
    assert list(book["按牵头单位"].iter_rows(values_only=True))[1] == ("基层卫生股", 1, 1, 0, 0, 0)
    assert date.fromisoformat(project["starts_on"]) == start
