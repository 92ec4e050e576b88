"""Identity numbers through every way in (service, API, page, importer): a full-width copy of a registered
number is that number (GB 11643-1999 §4: ASCII digits and X, after NFKC), and an address code that is not a
county-level GB/T 2260 code is refused naming the field in Chinese, with nothing written."""
from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from tests import factories as f
from tests.residents.test_import import person, run, write_xlsx
from weijian.core.actor import Actor
from weijian.core.commands import build
from weijian.core.errors import InvalidInput
from weijian.core.identifiers import check_char
from weijian.residents import queries, service
from weijian.residents.importer.service import ImportRefused
from weijian.residents.models import Resident
from weijian.residents.schemas import ResidentCreate

SYSTEM = Actor.system("test")
FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def number(code: str, born: date, seq: int = 101) -> str:
    body = f"{code}{born:%Y%m%d}{seq:03d}"
    return body + check_char(body)


def count(session) -> int:
    return session.scalar(select(func.count()).select_from(Resident))


def test_a_full_width_copy_of_a_registered_number_does_not_register_a_second_person(session, county):
    """GB 11643-1999 §4: digits 0-9 and X; NFKC (UAX #15) maps the full-width forms to them, so the copy
    is the registered number and is refused as already registered."""
    first = f.make_resident(session, name="曾东")
    before = count(session)
    with pytest.raises(InvalidInput) as exc:
        service.create(session=session, actor=SYSTEM, resident_in=build(ResidentCreate, {
            "name": "曾东", "id_number": first.id_number.translate(FULL_WIDTH), "village_code": f.VILLAGE_A1}))
    assert (exc.value.field, exc.value.message_key) == ("id_number", "residents.errors.id_number_duplicate")
    assert count(session) == before


def test_a_full_width_number_is_stored_in_ascii_and_found_by_either(session, county):
    idn = f.new_id_number(date(1975, 4, 4))
    r = service.create(session=session, actor=SYSTEM, resident_in=build(ResidentCreate, {
        "name": "王五", "id_number": idn.translate(FULL_WIDTH), "village_code": f.VILLAGE_A1,
        "phone": "１３９００００１１１１"}))
    assert (r.id_number, r.phone) == (idn, "13900001111")
    assert queries.parse_query(idn.translate(FULL_WIDTH)) == queries.Query("id_number", idn)


def test_the_api_refuses_a_prefecture_code_naming_the_field_in_chinese(client, session, county):
    """GB 11643-1999 §4.1: the address code is a county's (GB/T 2260); 421100 is 黄冈市, a prefecture."""
    h = f.token_headers(session, f.make_user(session, "village_doctor", f.VILLAGE_A1))
    before = count(session)
    res = client.post("/api/v1/residents", headers=h, json={
        "name": "王五", "id_number": number("421100", date(1970, 6, 1)), "village_code": f.VILLAGE_A1})
    assert res.status_code == 422
    err = res.json()["error"]
    assert err["field"] == "id_number" and "421100" in err["message"] and "县" in err["message"]
    assert count(session) == before


def test_the_new_resident_form_refuses_an_unknown_code_and_keeps_the_input(client, session, county):
    client.headers.update(f.token_headers(session, f.make_user(session, "village_doctor", f.VILLAGE_A1)))
    token = CSRF.search(client.get("/residents/new").text).group(1)
    bad = number("421199", date(1988, 8, 8))
    before = count(session)
    res = client.post("/residents/new", data={
        "csrf_token": token, "name": "刘丽", "id_number": bad, "village_code": f.VILLAGE_A1})
    assert res.status_code == 422
    assert 'data-testid="error-id_number"' in res.text and "地址码 421199" in res.text
    assert f'value="{bad}"' in res.text
    assert count(session) == before


def test_the_importer_reports_the_row_with_a_code_never_listed(session, county, tmp_path):
    bad = number("000000", date(1980, 5, 17))
    with pytest.raises(ImportRefused) as caught:
        run(session, write_xlsx(tmp_path / "r.xlsx", [person(relation="", id_number=bad)]))
    assert [(e.row, e.field, e.reason_key) for e in caught.value.errors] == [
        (2, "身份证号", "core.errors.id_number.address_code_unknown")]
