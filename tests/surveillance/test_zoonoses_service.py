"""Zoonoses, the service: exposure kinds and screening methods from data/zoonoses.yaml for diseases of the
notifiable list; a resident's exposure is care data (in the user's scope, every read and write audited with
its basis); a campaign's positives never exceed the screened; the by-village summary; a merge moves the
exposures to the survivor."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests import factories as f
from weijian.accounts import service as accounts_service
from weijian.accounts.models import AuditEvent
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.commands import build
from weijian.core.errors import Forbidden, InvalidInput, NotFound
from weijian.residents import service as residents_service
from weijian.surveillance import rules as disease_rules
from weijian.surveillance.zoonoses import queries, service
from weijian.surveillance.zoonoses.models import ScreeningCampaign, ZoonosisExposure
from weijian.surveillance.zoonoses.rules import zoonoses
from weijian.surveillance.zoonoses.schemas import CampaignCreate, ExposureCreate


@pytest.fixture()
def world(session):
    f.make_county(session)
    users = {"village": f.make_user(session, "village_doctor", f.VILLAGE_A1),
             "bureau": f.make_user(session, "bureau_admin", f.COUNTY)}
    actors = {k: accounts_service.actor_for(u) for k, u in users.items()}
    herder = f.make_resident(session, name="巴特尔", village_code=f.VILLAGE_A1)
    other = f.make_resident(session, name="南岭居民", village_code=f.VILLAGE_B1)
    return actors, herder, other


def _fields(exc) -> set[str]:
    return {e.field for e in exc.value.errors}


def _exposure(session, actor, resident, **over):
    values = {"resident_id": resident.id, "disease": "brucellosis", "exposure_kinds": ["herding", "lambing"],
              "onset_date": (clock.today() - timedelta(days=20)).isoformat(),
              "diagnosis_date": (clock.today() - timedelta(days=5)).isoformat(), **over}
    return service.create_exposure(session=session, exposure_in=build(ExposureCreate, values), actor=actor)


def test_brucellosis_is_class_b_and_echinococcosis_class_c_of_the_law():
    """传染病防治法 第三条: 乙类传染病 … 布鲁氏菌病 …; 丙类传染病 … 包虫病 … (both in the 2004 text and in the
    revised law in force from 2025-09-01). The zoonoses file keeps exactly these two."""
    edition = disease_rules.edition_on(date(2026, 1, 1))
    assert edition.by_code("brucellosis").disease_class == "B"
    assert edition.by_code("echinococcosis").disease_class == "C"
    assert set(zoonoses().diseases) == {"brucellosis", "echinococcosis"}


def test_an_exposure_is_kept_with_the_residents_village_and_audited_with_its_basis(session, world):
    actors, herder, _ = world
    row = _exposure(session, actors["village"], herder)
    assert row.village_code == f.VILLAGE_A1 and queries.ExposureItem(row, "").kinds == ["herding", "lambing"]
    items = queries.list_exposures(session=session, actor=actors["village"], resident_id=herder.id)
    assert [i.resident_name for i in items] == ["巴特尔"]
    events = session.execute(select(AuditEvent.action, AuditEvent.basis, AuditEvent.resident_id)
                             .where(AuditEvent.entity_type == "zoonosis_exposure").order_by(AuditEvent.id)).all()
    assert [tuple(e) for e in events] == [("create", "own_village", herder.id), ("read", "own_village", herder.id)]


def test_an_exposure_names_every_bad_field_and_writes_nothing(session, world):
    actors, herder, _ = world
    today = clock.today()
    with pytest.raises(InvalidInput) as exc:
        _exposure(session, actors["village"], herder, exposure_kinds=["herding", "dogs"],
                  onset_date=today.isoformat(), diagnosis_date=(today - timedelta(days=3)).isoformat(),
                  village_code=f.TOWN_A)
    # dogs is an echinococcosis exposure, not a brucellosis one; a township is not a village.
    assert _fields(exc) == {"exposure_kinds.1", "diagnosis_date", "village_code"}
    with pytest.raises(InvalidInput) as exc:
        _exposure(session, actors["village"], herder, disease="plague", exposure_kinds=None)
    assert _fields(exc) == {"disease", "exposure_kinds"}
    assert session.scalar(select(func.count(ZoonosisExposure.id))) == 0


def test_a_resident_outside_the_scope_does_not_exist_for_the_user(session, world):
    actors, _, other = world
    with pytest.raises(NotFound):
        _exposure(session, actors["village"], other)
    with pytest.raises(NotFound):
        queries.list_exposures(session=session, actor=actors["village"], resident_id=other.id)
    county = Actor(user_id=None, username="cdc", role="county_doctor", scope_code=f.COUNTY,
                   permissions=frozenset({"care:read", "care:write"}))
    _exposure(session, county, other, disease="echinococcosis", exposure_kinds=["dogs"])
    assert queries.list_exposures(session=session, actor=actors["village"]) == []
    listed = session.scalars(select(AuditEvent).where(AuditEvent.action == "list",
                                                      AuditEvent.entity_type == "zoonosis_exposure")).all()
    assert len(listed) == 1 and listed[0].basis == "own_village"


def test_the_bureau_has_no_care_read_and_cannot_read_exposures(session, world):
    actors, herder, _ = world
    with pytest.raises(Forbidden):
        queries.list_exposures(session=session, actor=actors["bureau"], resident_id=herder.id)


def _campaign(session, actor, **over):
    values = {"disease": "brucellosis", "village_code": f.VILLAGE_A1, "screened_on": "2026-05-10",
              "screened": 320, "positives": 4, "method": "rbt", **over}
    return service.create_campaign(session=session, campaign_in=build(CampaignCreate, values), actor=actor)


def test_a_campaigns_positives_cannot_exceed_the_screened_and_the_method_fits_the_disease(session, world):
    actors, _, _ = world
    with pytest.raises(InvalidInput) as exc:
        _campaign(session, actors["bureau"], screened=10, positives=11, method="ultrasound", village_code=f.TOWN_A)
    assert _fields(exc) == {"positives", "method", "village_code"}
    with pytest.raises(InvalidInput) as exc:
        _campaign(session, actors["bureau"], screened=-1)
    assert _fields(exc) == {"screened"}
    assert session.scalar(select(func.count(ScreeningCampaign.id))) == 0


def test_the_by_village_summary_adds_the_campaigns_of_each_village(session, world):
    actors, herder, _ = world
    _campaign(session, actors["bureau"], screened=300, positives=3)
    _campaign(session, actors["bureau"], screened=200, positives=2, screened_on="2026-06-01", method="sat")
    _campaign(session, actors["bureau"], village_code=f.VILLAGE_B1, screened=150, positives=0)
    _exposure(session, actors["village"], herder)
    rows = {r.village_code: r for r in queries.by_village(session=session, actor=actors["bureau"])}
    a1, b1 = rows[f.VILLAGE_A1], rows[f.VILLAGE_B1]
    assert (a1.village_name, a1.campaigns, a1.screened, a1.positives, a1.exposures) == ("东冲村", 2, 500, 5, 1)
    assert a1.positive_rate == 0.01 and (b1.screened, b1.positive_rate) == (150, 0.0)
    only_june = queries.by_village(session=session, actor=actors["bureau"], date_from=date(2026, 6, 1))
    assert [(r.village_code, r.screened) for r in only_june if r.campaigns] == [(f.VILLAGE_A1, 200)]


def test_a_merge_moves_the_exposures_to_the_survivor(session, world):
    actors, herder, _ = world
    twin = f.make_resident(session, name="巴特尔", village_code=f.VILLAGE_A1, id_number=None)
    row = _exposure(session, actors["village"], twin)
    residents_service.merge(session=session, survivor_id=herder.id, merged_id=twin.id, reason="重复建档",
                            actor=Actor.system("test"))
    session.refresh(row)
    assert row.resident_id == herder.id
