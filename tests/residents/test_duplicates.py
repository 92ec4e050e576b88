"""Probable duplicates: registering a resident whose name and sex and birth date (or name and phone, or
name and household) match a record in the actor's scope warns, listing the matches masked, until the
caller confirms; a review list lets a clerk mark a pair as two people (stored, not listed again) or open the
merge for it; the importer reports an identity number registered under another name as a conflict."""
from __future__ import annotations

import re
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from tests import factories as f
from tests.residents.conftest import actor_of
from tests.residents.test_cli import cli_db, import_  # noqa: F401 (cli_db: a fixture)
from tests.residents.test_import import person, run, write_xlsx
from weijian.accounts.models import AuditEvent
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.commands import build
from weijian.residents import service
from weijian.residents.importer.service import ImportRefused
from weijian.residents.models import Resident, ResidentDistinctPair
from weijian.residents.schemas import ResidentCreate

SYSTEM = Actor.system("test")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
BORN = date(1968, 3, 9)


def count(session, model=Resident) -> int:
    return session.scalar(select(func.count()).select_from(model))


def new(name: str = "王秀英", *, born: date = BORN, male: bool = False, **values) -> ResidentCreate:
    return build(ResidentCreate, {"name": name, "id_number": f.new_id_number(born, male=male),
                                  "village_code": f.VILLAGE_A1, **values})


@pytest.fixture()
def registered(session, county):
    return f.make_resident(session, name="王秀英", sex="female", birth_date=BORN, phone="13900002222",
                           household_number="H-WX", relation_to_head="head")


# --- the service ------------------------------------------------------------------------------------
def test_same_name_sex_and_birth_date_warns_and_writes_nothing(session, registered):
    before = count(session)
    with pytest.raises(service.ProbableDuplicate) as exc:
        service.create(session=session, resident_in=new(), actor=SYSTEM)
    [match] = exc.value.matches
    assert match.resident.id == registered.id
    assert match.matched_on == ("name", "sex", "birth_date")
    assert exc.value.status_code == 409
    assert count(session) == before


@pytest.mark.parametrize("values,on", [
    ({"phone": "13900002222"}, "phone"),
    ({"household_number": "H-WX", "relation_to_head": "daughter"}, "household_number"),
])
def test_same_name_and_phone_or_household_warns_too(session, registered, values, on):
    with pytest.raises(service.ProbableDuplicate) as exc:
        service.create(session=session, resident_in=new(born=date(1990, 1, 1), **values), actor=SYSTEM)
    assert exc.value.matches[0].matched_on == ("name", on)


def test_another_name_or_birth_date_is_no_match(session, registered):
    service.create(session=session, resident_in=new("王秀兰"), actor=SYSTEM)
    service.create(session=session, resident_in=new(born=date(1969, 3, 9)), actor=SYSTEM)


def test_confirmed_it_is_registered_and_the_audit_names_the_matches(session, registered):
    r = service.create(session=session, resident_in=new(confirm_probable_duplicate=True), actor=SYSTEM)
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "create", AuditEvent.resident_id == r.id))
    assert str(registered.id) in event.detail


def test_records_outside_the_scope_are_not_compared(session, county):
    f.make_resident(session, name="王秀英", sex="female", birth_date=BORN, village_code=f.VILLAGE_B1)
    doctor = actor_of(session, "village_doctor", f.VILLAGE_A1)
    assert service.create(session=session, resident_in=new(), actor=doctor).name == "王秀英"


# --- the API ------------------------------------------------------------------------------------------
def test_api_answers_409_with_the_matches_masked_and_audits_their_read(client, session, registered):
    h = f.token_headers(session, f.make_user(session, "village_doctor", f.VILLAGE_A1))
    body = {"name": "王秀英", "id_number": f.new_id_number(BORN, male=False), "village_code": f.VILLAGE_A1}
    before = count(session)
    res = client.post("/api/v1/residents", headers=h, json=body)
    assert res.status_code == 409, res.text
    err = res.json()["error"]
    assert err["message_key"] == "residents.errors.probable_duplicate" and "可能是同一人" in err["message"]
    [m] = err["matches"]
    assert (m["resident"]["id"], m["matched_on"]) == (registered.id, ["name", "sex", "birth_date"])
    assert registered.id_number not in res.text and "13900002222" not in res.text
    assert m["resident"]["id_number_masked"] == registered.id_number[:6] + "*" * 8 + registered.id_number[-4:]
    assert count(session) == before
    shown = session.scalars(select(AuditEvent).where(AuditEvent.action == "search")).all()
    assert any(str(registered.id) in (e.detail or "") for e in shown)

    res = client.post("/api/v1/residents", headers=h, json={**body, "confirm_probable_duplicate": True})
    assert res.status_code == 201, res.text


# --- the page -----------------------------------------------------------------------------------------
def test_the_new_form_shows_a_confirm_step_with_the_matches_masked(client, session, registered):
    client.headers.update(f.token_headers(session, f.make_user(session, "village_doctor", f.VILLAGE_A1)))
    token = CSRF.search(client.get("/residents/new").text).group(1)
    idn = f.new_id_number(BORN, male=False)
    form = {"csrf_token": token, "name": "王秀英", "id_number": idn, "village_code": f.VILLAGE_A1,
            "phone": "13600001234"}
    res = client.post("/residents/new", data=form, follow_redirects=False)
    assert res.status_code == 409
    html = res.text
    assert html.count('data-testid="match-row"') == 1 and f"#{registered.id}" in html
    assert registered.id_number not in html and "139****2222" in html
    assert 'name="confirm_probable_duplicate"' in html and "可能是同一人" in html
    assert f'value="{idn}"' in html and 'value="13600001234"' in html
    res = client.post("/residents/new", data={**form, "confirm_probable_duplicate": "1"}, follow_redirects=False)
    assert res.status_code == 303


# --- the review list ---------------------------------------------------------------------------------
def test_a_clerk_lists_the_pairs_marks_one_as_two_people_and_it_is_not_listed_again(client, session, registered):
    other = service.create(session=session, resident_in=new(confirm_probable_duplicate=True), actor=SYSTEM)
    clerk = f.make_user(session, "bureau_admin", f.COUNTY)
    client.headers.update(f.token_headers(session, clerk))
    page = client.get("/residents/duplicates")
    assert page.status_code == 200
    assert page.text.count('data-testid="pair-first"') == 1 and registered.id_number not in page.text
    assert re.search(rf"/residents/merge\?survivor={registered.id}&(amp;)?merged={other.id}", page.text)
    token = CSRF.search(page.text).group(1)
    res = client.post("/residents/duplicates/distinct", follow_redirects=False, data={
        "csrf_token": token, "first_id": str(other.id), "second_id": str(registered.id)})
    assert res.status_code == 303
    pair = session.scalar(select(ResidentDistinctPair))
    assert (pair.first_id, pair.second_id, pair.marked_by) == (registered.id, other.id, clerk.username)
    assert 'data-testid="pair-first"' not in client.get("/residents/duplicates").text
    assert session.scalar(select(func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == "not_same_person")) == 2


def test_the_review_list_needs_the_merge_permission(client, session, county):
    client.headers.update(f.token_headers(session, f.make_user(session, "village_doctor", f.VILLAGE_A1)))
    assert client.get("/residents/duplicates").status_code == 403


def test_the_review_list_through_the_api(client, session, registered):
    service.create(session=session, resident_in=new(confirm_probable_duplicate=True), actor=SYSTEM)
    h = f.token_headers(session, f.make_user(session, "bureau_admin", f.COUNTY))
    [pair] = client.get("/api/v1/resident-duplicates", headers=h).json()
    assert pair["matched_on"] == ["name", "sex", "birth_date"]
    res = client.post("/api/v1/resident-duplicates/distinct", headers=h,
                      json={"first_id": pair["first"]["id"], "second_id": pair["second"]["id"]})
    assert res.status_code == 204
    assert client.get("/api/v1/resident-duplicates", headers=h).json() == []


# --- the importer ------------------------------------------------------------------------------------
def test_an_identity_number_registered_under_another_name_is_a_conflict_row(session, county, tmp_path):
    registered = f.make_resident(session, name="刘备")
    row = person("关羽", id_number=registered.id_number, birth=registered.birth_date, relation="")
    with pytest.raises(ImportRefused) as caught:
        run(session, write_xlsx(tmp_path / "r.xlsx", [row]))
    [error] = caught.value.errors
    assert (error.row, error.field, error.reason_key) == (2, "身份证号", "residents.import.errors.id_number_other_name")
    assert error.params == {"registered": "刘*", "name": "关羽"}


def test_an_infant_entered_by_hand_like_one_registered_at_birth_is_warned(session, county):
    """An unnumbered infant is compared too: one entered by hand with the birth desk's provisional name,
    birth date and household is most likely the child already registered there (twins are registered by
    the newborn desk, which confirms them itself: tests/immunization/test_newborn_service.py)."""
    born = clock.today()
    values = {"name": "王秀英之女", "sex": "female", "birth_date": born, "village_code": f.VILLAGE_A1,
              "household_number": "H-TWINS"}
    service.create(session=session, actor=SYSTEM, resident_in=build(ResidentCreate, values))
    with pytest.raises(service.ProbableDuplicate):
        service.create(session=session, actor=SYSTEM, resident_in=build(ResidentCreate, values))
    assert session.scalar(select(func.count()).select_from(Resident).where(Resident.name == "王秀英之女")) == 1


def test_an_imported_row_matching_a_registered_record_is_imported_and_reported(session, county, tmp_path):
    registered = f.make_resident(session, name="刘备", sex="male", birth_date=date(1980, 5, 17))
    rows = [person("刘备", birth=date(1980, 5, 17), relation=""), person("关羽", relation="")]
    result = run(session, write_xlsx(tmp_path / "r.xlsx", rows))
    assert result.created == 2
    assert result.probable_duplicates == [(2, registered.id)]


def test_the_import_command_names_the_probable_duplicates(cli_db, session, tmp_path):
    registered = f.make_resident(session, name="刘备", sex="male", birth_date=date(1980, 5, 17))
    path = write_xlsx(tmp_path / "r.xlsx", [person("刘备", birth=date(1980, 5, 17), relation="")])
    result = import_(path)
    assert result.exit_code == 0, result.output
    assert f"2→#{registered.id}" in result.stdout and "可能是同一人" in result.stdout


def test_an_imported_row_with_a_registered_residents_name_and_phone_is_reported(session, county, tmp_path):
    """Issue 15 item 4: the importer warns as `service.probable_duplicates` does — the same name and
    phone is enough (the birth date may be mistyped in one of the two)."""
    registered = f.make_resident(session, name="刘备", sex="male", birth_date=date(1980, 5, 17), phone="13912345678")
    rows = [person("刘备", birth=date(1981, 6, 18), relation="", 联系电话="13912345678")]
    result = run(session, write_xlsx(tmp_path / "r.xlsx", rows))
    assert result.created == 1
    assert result.probable_duplicates == [(2, registered.id)]
    assert result.matched_on[(2, registered.id)] == ("name", "phone")


def test_an_imported_member_with_a_registered_members_name_in_the_same_household_is_reported(
        session, county, tmp_path):
    head = f.make_resident(session, name="王建国", sex="male", birth_date=date(1960, 3, 1), phone="13700000001",
                           household_number="H-WANG", relation_to_head="head")
    son = f.make_resident(session, name="王小明", sex="male", birth_date=date(1990, 1, 20), phone="13700000002",
                          household_number="H-WANG", relation_to_head="son")
    rows = [person("王小明", birth=date(1991, 2, 2), relation="子", head=head.id_number, 联系电话="13700000003")]
    result = run(session, write_xlsx(tmp_path / "r.xlsx", rows))
    assert result.created == 1
    assert result.probable_duplicates == [(2, son.id)]
    assert result.matched_on[(2, son.id)] == ("name", "household_number")


def test_every_row_of_a_name_is_compared_and_the_report_names_them(session, county, tmp_path):
    """Two rows of one name, sex and birth date (with their own numbers) both look like the registered
    record (today only one of them was reported); the import writes a workbook naming each pair."""
    registered = f.make_resident(session, name="刘备", sex="male", birth_date=date(1980, 5, 17), phone="13912345678")
    rows = [person("刘备", birth=date(1980, 5, 17), relation="", 联系电话=""),
            person("关羽", relation=""),
            person("刘备", birth=date(1980, 5, 17), relation="", 联系电话="13912345678")]
    result = run(session, write_xlsx(tmp_path / "r.xlsx", rows))
    assert result.created == 3
    assert result.probable_duplicates == [(2, registered.id), (4, registered.id)]
    assert result.matched_on[(4, registered.id)] == ("name", "sex", "birth_date", "phone")
    assert result.duplicates_report_path is not None
    ws = load_workbook(result.duplicates_report_path, read_only=True).worksheets[0]
    lines = [tuple(r) for r in ws.iter_rows(values_only=True)]
    assert lines[0] == ("行号", "姓名", "身份证号", "已登记档案号", "相同项")
    assert lines[1] == (2, "刘备", rows[0]["身份证号"], registered.id, "姓名、性别、出生日期")
    assert lines[2] == (4, "刘备", rows[2]["身份证号"], registered.id, "姓名、性别、出生日期、联系电话")


def test_an_import_without_probable_duplicates_writes_no_duplicates_report(session, county, tmp_path):
    result = run(session, write_xlsx(tmp_path / "r.xlsx", [person("关羽", relation="")]))
    assert result.probable_duplicates == [] and result.duplicates_report_path is None
    assert not list(tmp_path.glob("*可能重复*"))
