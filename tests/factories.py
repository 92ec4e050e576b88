"""Small factories for tests: `make_county(session)`, `make_user(...)`, `make_resident(session, **over)`.

They write through the services where one exists, so tests see the same rules users do.
"""
from __future__ import annotations

import itertools
from datetime import date

from sqlalchemy.orm import Session

from weijian.core.identifiers import make_id_number
from weijian.orgunits.models import Facility, OrgUnit

COUNTY = "421124000000"
TOWN_A = "421124100000"  # 温泉镇
TOWN_B = "421124101000"  # 南河镇
VILLAGE_A1 = "421124100201"
VILLAGE_A2 = "421124100202"
VILLAGE_B1 = "421124101201"
PASSWORD = "correct-horse-9"

_seq = itertools.count(1)


def make_county(session: Session) -> dict[str, OrgUnit]:
    """A county with two towns and three villages (two in town A, one in town B)."""
    units = {
        COUNTY: OrgUnit(code=COUNTY, name="英山县", level="county", kind=None, parent_code=None),
        TOWN_A: OrgUnit(code=TOWN_A, name="温泉镇", level="township", kind="town", parent_code=COUNTY),
        TOWN_B: OrgUnit(code=TOWN_B, name="南河镇", level="township", kind="town", parent_code=COUNTY),
        VILLAGE_A1: OrgUnit(code=VILLAGE_A1, name="东冲村", level="village", kind="villagers_committee",
                            parent_code=TOWN_A),
        VILLAGE_A2: OrgUnit(code=VILLAGE_A2, name="西河村", level="village", kind="villagers_committee",
                            parent_code=TOWN_A),
        VILLAGE_B1: OrgUnit(code=VILLAGE_B1, name="南岭村", level="village", kind="villagers_committee",
                            parent_code=TOWN_B),
    }
    for code in (COUNTY, TOWN_A, TOWN_B, VILLAGE_A1, VILLAGE_A2, VILLAGE_B1):
        session.add(units[code])
        session.flush()
    return units


def make_facility(session: Session, **over) -> Facility:
    n = next(_seq)
    values = dict(code=f"F{n:05d}", name=f"测试卫生院{n}", type="township_centre", grade="level1",
                  orgunit_code=TOWN_A, community_role="member", beds_approved=50, beds_open=40,
                  physicians=10, assistant_physicians=2)
    values.update(over)
    fac = Facility(**values)
    session.add(fac)
    session.flush()
    return fac


def make_user(session: Session, role: str = "village_doctor", orgunit_code: str = VILLAGE_A1, **over):
    from weijian.accounts import service as accounts_service

    n = next(_seq)
    return accounts_service.create(
        session=session, username=over.pop("username", f"{role}{n}"), password=over.pop("password", PASSWORD),
        full_name=over.pop("full_name", f"测试用户{n}"), role=role, orgunit_code=orgunit_code, **over,
    )


def token_headers(session: Session, user) -> dict[str, str]:  # noqa: ANN001
    from weijian.accounts import service as accounts_service

    token, _ = accounts_service.issue_token(session=session, user=user, ttl_seconds=3600)
    return {"Authorization": f"Bearer {token}"}


def new_id_number(birth: date | None = None, male: bool = True, division: str = "421124") -> str:
    """A valid identity number not handed out before in this test run."""
    n = next(_seq)
    birth = birth or date.fromordinal(date(1950, 1, 1).toordinal() + n * 37 % 25000)
    return make_id_number(division, birth, (n % 500) * 2 + (1 if male else 0))


def make_resident(session: Session, actor=None, **over):  # noqa: ANN001, ANN201
    """A resident registered through residents.service.create (by a system actor unless one is given):
    village VILLAGE_A1, a fresh valid identity number agreeing with any sex/birth_date given; any field
    can be overridden (`id_number=None` for a resident without one)."""
    from datetime import timedelta

    from weijian.core.actor import Actor
    from weijian.residents import service as residents_service

    n = next(_seq)
    values = dict(name="测试居民", village_code=VILLAGE_A1, insurance_scheme="resident")
    birth = over.get("birth_date")
    birth = date.fromisoformat(birth) if isinstance(birth, str) else birth
    if "id_number" not in over:
        values["id_number"] = new_id_number(birth=birth, male=over.get("sex", "male") == "male")
    elif over["id_number"] is None:
        values.update(sex="male", birth_date=date(1970, 1, 1) + timedelta(days=n))
    values.update(over)
    return residents_service.create(session=session, values=values, actor=actor or Actor.system("test"))


def csrf_from(html: str) -> str:
    """The CSRF token of the first form on a page."""
    import re

    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no csrf_token on the page"
    return match.group(1)


def page_login(client, username: str, password: str = PASSWORD):  # noqa: ANN001, ANN201
    """Log a TestClient in through the log-in form (pages then see the session); returns the response."""
    page = client.get("/login")
    response = client.post("/login", data={"username": username, "password": password, "next": "/",
                                           "csrf_token": csrf_from(page.text)}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return response
