"""Poverty-risk API: the flagged residents with masked identity numbers and their settlements, the settings'
threshold, scope by area, and only for holders of poverty_risk:read."""
from __future__ import annotations

from datetime import date

import pytest

from tests import factories as f
from tests.care import records_setup as rs


@pytest.fixture()
def world(session):
    w = rs.build(session)
    poor = f.make_resident(session, name="甲低保", groups=["低保"])
    other = f.make_resident(session, name="乙南岭", groups=["脱贫"], village_code=f.VILLAGE_B1)
    f.make_settlement(session, poor, w.facilities["county"], stay_date=date(2025, 5, 1), total="60000.00",
                      basic_pays="48000.00")  # own 12,000
    f.make_settlement(session, other, w.facilities["centre_b"], stay_date=date(2025, 6, 1), total="55000.00",
                      basic_pays="44000.00")  # own 11,000
    w.people.update(poor=poor, other=other)
    return w


def test_the_list_masks_identity_numbers_and_carries_the_settlements(client, session, world):
    headers = f.token_headers(session, world.users["bureau"])
    res = client.get("/api/v1/settlement/poverty-risk", params={"as_of": "2025-12-31"}, headers=headers)
    assert res.status_code == 200, res.text
    body = res.json()
    assert (body["total"], body["threshold"], body["income_share"], body["window_start"]) == (
        2, "10000.00", "0.5", "2025-01-01")
    first = body["items"][0]
    assert (first["name"], first["total"], first["basis"], first["groups"]) == ("甲低保", "12000.00", "amount",
                                                                                ["min_living"])
    number = world.people["poor"].id_number
    assert first["id_number"] != number and first["id_number"][:4] == number[:4] and first["id_number"][-4:] == number[-4:] and "*" in first["id_number"]
    assert number not in res.text
    assert [(s["stay_date"], s["patient_pays"], s["fund_pays"]) for s in first["settlements"]] == [
        ("2025-05-01", "12000.00", "48000.00")]
    town_b = client.get("/api/v1/settlement/poverty-risk", params={"as_of": "2025-12-31", "orgunit": f.TOWN_B},
                        headers=headers).json()
    assert [i["name"] for i in town_b["items"]] == ["乙南岭"]


def test_bad_parameters_are_named(client, session, world):
    headers = f.token_headers(session, world.users["bureau"])
    res = client.get("/api/v1/settlement/poverty-risk", params={"as_of": "2025-13-01"}, headers=headers)
    assert res.status_code == 422 and res.json()["error"]["field"] == "as_of"
    res = client.get("/api/v1/settlement/poverty-risk", params={"orgunit": "4211"}, headers=headers)
    assert res.status_code == 422 and res.json()["error"]["field"] == "orgunit"


def test_clinicians_may_not_read_the_list(client, session, world):
    for who in ("village", "township", "county"):
        headers = f.token_headers(session, world.users[who])
        assert client.get("/api/v1/settlement/poverty-risk", headers=headers).status_code == 403
