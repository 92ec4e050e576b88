"""Fixtures for the resident master index tests: the test county and one actor per kind of scope."""
from __future__ import annotations

import pytest

from tests import factories as f
from weijian.accounts import service as accounts_service


@pytest.fixture()
def county(session):
    return f.make_county(session)


def actor_of(session, role: str, orgunit_code: str):
    user = f.make_user(session, role, orgunit_code)
    return accounts_service.actor_for(user)


@pytest.fixture()
def village_doctor(session, county):
    return actor_of(session, "village_doctor", f.VILLAGE_A1)


@pytest.fixture()
def township_doctor(session, county):
    return actor_of(session, "township_doctor", f.TOWN_A)


@pytest.fixture()
def county_doctor(session, county):
    return actor_of(session, "county_doctor", f.COUNTY)


@pytest.fixture()
def bureau_admin(session, county):
    return actor_of(session, "bureau_admin", f.COUNTY)


@pytest.fixture()
def sysadmin(session, county):
    return actor_of(session, "sysadmin", f.COUNTY)
