"""Family-doctor contracting pages: the village roster (key populations first, signed or not), the team
page, the signing form refused with the error beside the field and the input kept (a second current
contract, a resident outside the scope), the end form, the record page's first-contact section and the
worklist's renewals."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests import factories as f
from weijian.care.contracts import service
from weijian.care.contracts.models import ContractTeam, FamilyDoctorContract
from weijian.care.contracts.schemas import ContractSign, TeamCreate
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.commands import build

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SYSTEM = Actor.system("test")


@pytest.fixture()
def county(session):
    return f.make_county(session)


@pytest.fixture()
def login(client, session, county):
    client.headers.update(f.token_headers(session, f.make_user(session, "village_doctor", f.VILLAGE_A1)))


@pytest.fixture()
def team(session, county):
    return service.create_team(session=session, actor=SYSTEM, team_in=build(TeamCreate, {
        "name": "龙庄村团队", "villages": [f.VILLAGE_A1], "members": [
            {"role": "township_doctor", "staff_name": "王医生"}, {"role": "village_doctor", "staff_name": "李村医"}]}))


def csrf(client, url: str) -> str:
    res = client.get(url)
    assert res.status_code == 200, res.text
    return CSRF.search(res.text).group(1)


def _sign(session, resident, team, signed_on):
    return service.sign(session=session, actor=SYSTEM, contract_in=build(ContractSign, {
        "resident_id": resident.id, "team_id": team.id, "signed_on": signed_on.isoformat()}))


def test_the_roster_and_the_team_page_list_key_populations_signed_or_not(client, session, login, team):
    old = f.make_resident(session, name="老人未签", birth_date=date(1950, 1, 1))
    signed = f.make_resident(session, name="老人已签", birth_date=date(1951, 1, 1))
    f.make_resident(session, name="青年", birth_date=date(1995, 1, 1))
    f.make_resident(session, name="邻村老人", birth_date=date(1950, 1, 1), village_code=f.VILLAGE_A2)
    _sign(session, signed, team, clock.today() - timedelta(days=10))
    html = client.get("/care/contracts").text
    assert html.count('data-testid="roster-row"') == 3 and "邻村老人" not in html
    assert html.index("老人未签") < html.index("老人已签") < html.index("青年")
    assert f"/care/contracts/new?resident_id={old.id}" in html
    page = client.get(f"/care/contracts/teams/{team.id}")
    assert page.status_code == 200 and "王医生" in page.text
    assert page.text.count('data-testid="roster-row"') == 2 and "青年" not in page.text


def test_a_second_contract_is_refused_beside_the_field_with_the_input_kept(client, session, login, team):
    person = f.make_resident(session, name="重复签约")
    _sign(session, person, team, clock.today() - timedelta(days=5))
    token = csrf(client, "/care/contracts/new")
    res = client.post("/care/contracts/new", data={"csrf_token": token, "resident_id": str(person.id),
                                                   "team_id": str(team.id), "package": "chronic",
                                                   "signed_on": clock.today().isoformat()})
    assert res.status_code == 422
    assert 'data-testid="error-resident_id"' in res.text and "同一时间只能有一份签约" in res.text
    assert 'value="chronic" selected' in res.text
    assert session.scalar(select(func.count()).select_from(FamilyDoctorContract)) == 1


def test_a_resident_outside_the_scope_is_refused_naming_resident_id(client, session, login, team):
    other = f.make_resident(session, name="外村居民", village_code=f.VILLAGE_B1)
    token = csrf(client, "/care/contracts/new")
    res = client.post("/care/contracts/new", data={"csrf_token": token, "resident_id": str(other.id),
                                                   "team_id": str(team.id)})
    assert res.status_code == 422 and 'data-testid="error-resident_id"' in res.text and "外村居民" not in res.text


def test_the_sign_form_signs_and_the_end_form_refuses_an_end_before_the_start(client, session, login, team):
    person = f.make_resident(session, name="新签约")
    token = csrf(client, "/care/contracts/new")
    res = client.post("/care/contracts/new", data={"csrf_token": token, "resident_id": str(person.id),
                                                   "team_id": str(team.id), "package": "basic",
                                                   "signed_on": clock.today().isoformat()}, follow_redirects=False)
    assert res.status_code == 303, res.text
    c = session.scalars(select(FamilyDoctorContract)).one()
    url = res.headers["location"]
    assert url == f"/care/contracts/{c.id}"
    token = csrf(client, url)
    bad = client.post(f"{url}/end", data={"csrf_token": token, "ended_on": (c.start_date - timedelta(days=1)).isoformat(),
                                          "reason": "moved_out", "note": "迁往外县"})
    assert bad.status_code == 422 and 'data-testid="error-ended_on"' in bad.text and "迁往外县" in bad.text
    assert c.status == "signed"


def test_the_record_page_shows_the_team_as_first_contact(client, session, login, team):
    person = f.make_resident(session, name="首诊居民")
    assert 'data-testid="contract-slot"' in client.get(f"/residents/{person.id}").text
    none = client.get(f"/care/contracts/residents/{person.id}/section")
    assert none.status_code == 200 and 'data-testid="first-contact-none"' in none.text
    _sign(session, person, team, clock.today())
    section = client.get(f"/care/contracts/residents/{person.id}/section").text
    assert 'data-testid="first-contact"' in section and "龙庄村团队" in section and "李村医" in section


def test_the_worklist_lists_contracts_to_renew_and_lapsed(client, session, login, team):
    due = f.make_resident(session, name="即将到期")
    lapsed = f.make_resident(session, name="已经过期")
    _sign(session, due, team, clock.today() - timedelta(days=350))
    _sign(session, lapsed, team, clock.today() - timedelta(days=370))
    html = client.get("/care/worklist").text
    assert 'data-testid="worklist-contracts"' in html
    assert html.index("已经过期") < html.index("即将到期")
    assert 'data-state="lapsed"' in html and 'data-state="due"' in html


def test_the_team_form_creates_a_team_and_refuses_one_without_villages(client, session, county):
    client.headers.update(f.token_headers(session, f.make_user(session, "township_doctor", f.TOWN_A)))
    token = csrf(client, "/care/contracts/teams/new")
    bad = client.post("/care/contracts/teams/new", data={"csrf_token": token, "name": "新团队",
                                                         "nurse_name": "周护士"})
    assert bad.status_code == 422 and 'data-testid="error-villages"' in bad.text and "周护士" in bad.text
    ok = client.post("/care/contracts/teams/new", data={
        "csrf_token": token, "name": "新团队", "villages": [f.VILLAGE_A1, f.VILLAGE_A2],
        "township_doctor_name": "吴医生", "nurse_name": "周护士", "nurse_phone": "13900001111"},
        follow_redirects=False)
    assert ok.status_code == 303, ok.text
    team = session.scalars(select(ContractTeam).where(ContractTeam.name == "新团队")).one()
    assert [(m.role, m.staff_name) for m in team.members] == [("township_doctor", "吴医生"), ("nurse", "周护士")]
    assert sorted(v.village_code for v in team.villages) == [f.VILLAGE_A1, f.VILLAGE_A2]
