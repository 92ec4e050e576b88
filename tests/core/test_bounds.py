"""Input bounds (issue 12, part 7): ids and page numbers beyond 64 bits, dates outside 1900–2100, lone
surrogates and control characters, over-long text, spreadsheet formulas in exports, and the existence
oracle of out-of-scope objects — each refused with a 4xx naming the field (or answered as missing),
never a 500. The sweep enumerates the routes from the app, so a new route is covered when it lands."""
from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, select

from tests import factories as f
from tests.care import referrals_setup as rs
from tests.immunization import newborn_setup as ns
from weijian.accounts.deps import get_actor
from weijian.core.actor import Actor
from weijian.core.bounds import MAX_PAGE, text_problem
from weijian.core.excel import safe_cell
from weijian.residents.models import Resident

SRC = Path(__file__).resolve().parents[2] / "src" / "weijian"
BIG = str(2**64)


@pytest.fixture()
def raw_client(app):
    """A client that shows a server error as the 500 the user would get, instead of raising it."""
    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as c:
        yield c


@pytest.fixture()
def almighty(app):
    """Every permission, so that the bounds are reached whatever the route requires."""
    app.dependency_overrides[get_actor] = lambda: Actor.system("bounds-test")
    yield
    app.dependency_overrides.pop(get_actor, None)


def _int_path_params(route) -> list[str]:
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return []
    return [p.name for p in dependant.path_params if "int" in str(p.field_info.annotation)]


# 2**31: past PostgreSQL's INTEGER id columns, a 500 there until the API fuzzer (tests/security) found it.
@pytest.mark.parametrize("big", [BIG, str(2**31)])
def test_every_route_with_a_numeric_path_id_refuses_an_id_past_the_columns_with_422(app, raw_client, session,
                                                                                     almighty, big):
    f.make_county(session)
    tried, wrong = 0, {}
    for route in iter_route_contexts(app.routes):
        names = _int_path_params(route)
        if not names:
            continue
        for method in sorted((route.methods or set()) - {"HEAD"}):
            url = route.path
            for name in re.findall(r"\{([^}:]+)(?::[^}]+)?\}", route.path):
                value = big if name in names else "1"
                url = re.sub(r"\{" + name + r"(:[^}]+)?\}", value, url, count=1)
            res = raw_client.request(method, url, json={}, headers={"X-CSRF-Token": "x"})
            tried += 1
            ok = res.status_code == 422 if url.startswith("/api/") else res.status_code in (403, 404, 422)
            if not ok or res.status_code >= 500:
                wrong[f"{method} {route.path}"] = res.status_code
            elif url.startswith("/api/"):
                assert res.json()["error"]["field"] in names, (route.path, res.json())
    assert wrong == {}
    assert tried >= 60  # the walk saw the routes (an empty walk would pass vacuously)


def test_an_id_beyond_64_bits_names_the_field_in_chinese(client, session):
    f.make_county(session)
    h = f.token_headers(session, f.make_user(session, "village_doctor", f.VILLAGE_A1))
    res = client.get("/api/v1/residents/132883527464698331136", headers=h)
    assert res.status_code == 422
    err = res.json()["error"]
    assert err["field"] == "resident_id" and "超出范围" in err["message"]
    res = client.get("/api/v1/residents", params={"page": BIG}, headers=h)
    assert res.status_code == 422 and res.json()["error"]["field"] == "page"
    assert client.get("/api/v1/residents", params={"page": MAX_PAGE}, headers=h).status_code == 200


@pytest.mark.parametrize("url, field", [
    ("/api/v1/care/chronic/due?as_of=0001-01-01", "as_of"),
    ("/api/v1/care/chronic/due?as_of=9999-12-31", "as_of"),
    ("/api/v1/settlement/poverty-risk?as_of=9999-12-31", "as_of"),
    ("/api/v1/immunization/recall?week=9999-12-31", "week"),
    ("/api/v1/immunization/recall?week=0001-01-01", "week"),
    ("/api/v1/indicators/population_total/values?period=9999Q4", "period"),
    ("/api/v1/immunization/figures/doses?period=9999Q4", "period"),
    ("/api/v1/immunization/aefi?period=9999Q4", "period"),
    ("/api/v1/care/figures/referrals?period=9999Q4&orgunit=421124000000", "period"),
    ("/api/v1/orgunits/421124000000/capacity?as_of=9999-12-31", "as_of"),
    ("/api/v1/residents/1/vaccinations?as_of=9999-12-31", "as_of"),
])
def test_dates_outside_1900_to_2100_are_refused_naming_the_field(app, raw_client, session, almighty, url, field):
    f.make_county(session)
    res = raw_client.get(url)
    assert res.status_code == 422, (url, res.status_code, res.text[:300])
    assert res.json()["error"]["field"] == field


def test_parsers_keep_dates_in_range():
    from weijian.core.bounds import BoundedDate
    from weijian.core.commands import Command, build
    from weijian.core.errors import InvalidInput
    from weijian.core.periods import parse_period

    class On(Command):
        on: BoundedDate

    for raw in ("0001-01-01", "9999-12-31"):
        with pytest.raises(InvalidInput) as refused:
            build(On, {"on": raw})
        assert [(e.field, e.reason_key) for e in refused.value.errors] == [
            ("on", "core.errors.validation.date_out_of_range")]
    assert build(On, {"on": "1900-01-01"}).on.year == 1900 and build(On, {"on": "2100-12-31"}).on.year == 2100
    for code in ("9999Q4", "0001", "189912"):
        with pytest.raises(InvalidInput):
            parse_period(code)
    assert parse_period("2100Q4").code == "2100Q4"


def test_lone_surrogates_and_control_characters_are_refused(client, session):
    f.make_county(session)
    h = f.token_headers(session, f.make_user(session, "village_doctor", f.VILLAGE_A1))
    body = {"name": "张三", "sex": "male", "birth_date": "1980-01-01", "village_code": f.VILLAGE_A1,
            "insurance_scheme": "resident"}
    # JSON's escape for a lone surrogate (an encoder would refuse to send the character itself).
    raw = json.dumps({**body, "address": "东冲村\ud800"}).encode()
    res = client.post("/api/v1/residents", content=raw, headers={**h, "content-type": "application/json"})
    assert res.status_code == 422 and res.json()["error"]["field"] == "address"
    assert "无效字符" in res.json()["error"]["message"]
    res = client.post("/api/v1/residents", json={**body, "name": "张\x07三"}, headers=h)
    assert res.status_code == 422 and res.json()["error"]["field"] == "name"
    assert text_problem("note", "第一行\n第二行\t缩进") is None  # notes keep tab and newline
    assert text_problem("name", "张\n三") is not None


def test_an_address_has_a_maximum_length_in_the_api_and_the_form(client, session):
    f.make_county(session)
    user = f.make_user(session, "village_doctor", f.VILLAGE_A1)
    h = f.token_headers(session, user)
    body = {"name": "张三", "sex": "male", "birth_date": "1980-01-01", "village_code": f.VILLAGE_A1,
            "insurance_scheme": "resident", "household_number": "H77"}
    res = client.post("/api/v1/residents", json={**body, "address": "长" * 100_000}, headers=h)
    assert res.status_code == 422 and res.json()["error"]["field"] == "address"
    assert "200" in res.json()["error"]["message"]
    assert client.post("/api/v1/residents", json={**body, "address": "长" * 200}, headers=h).status_code == 201
    # The page: the form comes back with the input kept and the error beside the field.
    f.page_login(client, user.username)
    form = client.get("/residents/new")
    res = client.post("/residents/new", data={**body, "household_number": "H78", "name": "李四",
                                              "address": "长" * 201, "csrf_token": f.csrf_from(form.text)})
    assert res.status_code == 422
    assert "不能超过 200 个字符" in res.text and "李四" in res.text


def test_a_control_character_in_a_page_form_comes_back_beside_the_field(client, session):
    """A page that reads its form as a command re-renders the form with the input kept and the error beside
    the field (the command checks the same bounds as core.bounds.check_request)."""
    f.make_county(session)
    user = f.make_user(session, "village_doctor", f.VILLAGE_A1)
    f.page_login(client, user.username)
    form = client.get("/residents/new")
    body = {"name": "张\x07三", "sex": "male", "birth_date": "1980-01-01", "village_code": f.VILLAGE_A1,
            "insurance_scheme": "resident", "address": "东冲村一组", "csrf_token": f.csrf_from(form.text)}
    before = session.scalar(select(func.count()).select_from(Resident))
    res = client.post("/residents/new", data=body)
    assert res.status_code == 422
    assert "含有不允许的控制字符" in res.text and "东冲村一组" in res.text and 'name="address"' in res.text
    assert session.scalar(select(func.count()).select_from(Resident)) == before


def test_a_page_form_not_read_as_a_command_is_still_checked_before_its_handler(client, session):
    f.make_county(session)
    f.page_login(client, f.make_user(session, "security_admin", f.COUNTY).username)
    page = client.get("/security")
    res = client.post("/security/unlock", data={"kind": "user", "key": "cun\x07yi", "csrf_token": f.csrf_from(page.text)},
                      follow_redirects=False)
    assert res.status_code == 422 and "控制字符" in res.text


def test_export_cells_that_would_be_formulas_are_written_as_text():
    for value in ('=HYPERLINK("http://x","点击查看")', "+1", "-1+2", "@SUM(A1)", "\tx", "\rx"):
        assert safe_cell(value) == "'" + value
    assert safe_cell("东冲村") == "东冲村" and safe_cell(-5) == -5 and safe_cell(None) is None


def test_every_workbook_row_goes_through_the_one_helper():
    offenders = [str(p.relative_to(SRC)) for p in SRC.rglob("*.py")
                 if "demo" not in p.parts and p.name != "excel.py"
                 and re.search(r"\bws\.append\(|\.cell\([^)]*value=|csv\.writer\(|DictWriter\(", p.read_text())]
    assert offenders == []


def test_the_newborn_handoff_xlsx_writes_a_formula_address_as_text(client, session):
    s = ns.build(session)
    s.mother.household.address = '=HYPERLINK("http://evil.example","点击查看")'
    session.flush()
    h = f.token_headers(session, s.user)
    res = client.post("/api/v1/immunization/newborns", json=ns.form(s, child_name="张小宝"), headers=h)
    assert res.status_code == 201, res.text
    for department in ("household_registration", "insurance", "social_security_card"):
        xlsx = client.get(f"/api/v1/immunization/handoffs/{department}/export", headers=h)
        cells = [v for row in load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True)
                 for v in row if isinstance(v, str)]
        assert not any(c.startswith("=") for c in cells), department
        if any("HYPERLINK" in c for c in cells):
            assert "'" + s.mother.household.address in cells


def test_an_out_of_scope_referral_answers_404_for_every_verb(client, session):
    w = rs.build(session)
    referral = rs.refer(session, w)  # 张三 of VILLAGE_A1, village clinic → township centre A
    outsider = f.token_headers(session, w.users["town_b"])  # neither sender nor receiver, nor in scope
    missing = client.get("/api/v1/care/referrals/999999", headers=outsider)
    assert missing.status_code == 404
    assert client.get(f"/api/v1/care/referrals/{referral.id}", headers=outsider).status_code == 404
    for verb in ("accept", "reject", "arrive", "complete", "cancel", "downward"):
        res = client.post(f"/api/v1/care/referrals/{referral.id}/{verb}", json={}, headers=outsider)
        gone = client.post(f"/api/v1/care/referrals/999999/{verb}", json={}, headers=outsider)
        assert (res.status_code, res.json()["error"]["code"]) == (gone.status_code, gone.json()["error"]["code"]), verb
        assert res.status_code in (404, 422), (verb, res.status_code)
    # The receiver still gets its own answers.
    receiver = f.token_headers(session, w.users["town"])
    assert client.post(f"/api/v1/care/referrals/{referral.id}/accept", json={}, headers=receiver).status_code == 200


def test_a_whole_number_typed_as_text_is_decimal_digits_within_range():
    from weijian.core.bounds import MAX_ID, whole_number

    assert [whole_number(t) for t in ("7", " 42 ", "２０２５", str(MAX_ID))] == [7, 42, 2025, MAX_ID]
    # "²" is a digit to str.isdigit() but not to int(); the rest are past 64 bits, int()'s digits, or not positive.
    for text in ("²", "20²5", str(MAX_ID + 1), "9" * 5000, "0", "-1", "1e3", "", None, "0x1F"):
        assert whole_number(text) is None, text
    assert whole_number("11", maximum=10) is None
