"""Zoonoses on the web: the by-village summary and its xlsx (formula-escaped cells), the campaign form refused
naming the field with the input kept, the exposures page of a village doctor (own scope only, audited), and
the API's refusal of a resident outside the scope as a missing one."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from tests import factories as f
from weijian.accounts.models import AuditEvent
from weijian.core import clock
from weijian.orgunits.models import OrgUnit
from weijian.surveillance.zoonoses.models import ScreeningCampaign, ZoonosisExposure


@pytest.fixture()
def users(session):
    f.make_county(session)
    return {"bureau": f.make_user(session, "bureau_admin", f.COUNTY),
            "village": f.make_user(session, "village_doctor", f.VILLAGE_A1)}


def _campaign(client, headers, **over):
    body = {"disease": "brucellosis", "village_code": f.VILLAGE_A1, "screened_on": "2026-05-10", "screened": 300,
            "positives": 3, "method": "rbt", **over}
    return client.post("/api/v1/surveillance/zoonoses/campaigns", json=body, headers=headers)


def test_the_summary_page_and_its_xlsx_show_each_village_with_text_cells_escaped(client, session, users):
    session.get(OrgUnit, f.VILLAGE_B1).name = "=HYPERLINK(\"http://x\")"
    headers = f.token_headers(session, users["bureau"])
    assert _campaign(client, headers).status_code == 201
    assert _campaign(client, headers, village_code=f.VILLAGE_B1, screened=120, positives=6).status_code == 201
    f.page_login(client, users["bureau"].username)
    page = client.get("/surveillance/zoonoses")
    assert page.status_code == 200
    assert f'data-village="{f.VILLAGE_A1}" data-disease="brucellosis" data-screened="300" data-positives="3"' in page.text
    assert "布鲁氏菌病" in page.text and "5.00%" in page.text
    xlsx = client.get("/surveillance/zoonoses/summary.xlsx")
    assert xlsx.status_code == 200
    rows = list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("村（区划代码）", "村", "病种")
    by_code = {r[0]: r for r in rows[1:]}
    assert by_code[f.VILLAGE_A1][1:6] == ("东冲村", "布鲁氏菌病", 1, 300, 3)
    assert by_code[f.VILLAGE_B1][1] == "'=HYPERLINK(\"http://x\")" and by_code[f.VILLAGE_B1][6] == 0.05


def test_a_refused_campaign_form_names_the_field_keeps_the_input_and_stores_nothing(client, session, users):
    f.page_login(client, users["bureau"].username)
    csrf = f.csrf_from(client.get("/surveillance/zoonoses").text)
    res = client.post("/surveillance/zoonoses/campaigns", data={
        "csrf_token": csrf, "disease": "brucellosis", "village_code": f.VILLAGE_A1, "screened_on": "2026-05-10",
        "screened": "40", "positives": "41", "method": "rbt"})
    assert res.status_code == 422
    assert 'data-testid="error-positives"' in res.text and "阳性人数 41 多于筛查人数 40" in res.text
    assert 'value="41"' in res.text and f'value="{f.VILLAGE_A1}"' in res.text
    assert session.scalar(select(func.count(ScreeningCampaign.id))) == 0


def test_a_village_doctor_records_and_sees_only_own_villagers_exposures(client, session, users):
    mine = f.make_resident(session, name="吉日格拉", village_code=f.VILLAGE_A1)
    theirs = f.make_resident(session, name="南岭牧民", village_code=f.VILLAGE_B1)
    session.add(ZoonosisExposure(resident_id=theirs.id, disease="echinococcosis", exposure_kinds='["dogs"]',
                                 village_code=f.VILLAGE_B1, recorded_by="test"))
    session.flush()
    f.page_login(client, users["village"].username)
    csrf = f.csrf_from(client.get("/surveillance/zoonoses/exposures").text)
    res = client.post("/surveillance/zoonoses/exposures", follow_redirects=False, data={
        "csrf_token": csrf, "resident_id": str(mine.id), "disease": "brucellosis",
        "exposure_kinds": ["herding", "slaughtering"], "onset_date": (clock.today() - timedelta(days=9)).isoformat()})
    assert res.status_code == 303, res.text
    page = client.get("/surveillance/zoonoses/exposures")
    assert "吉日格拉" in page.text and "放牧、屠宰" in page.text and "南岭牧民" not in page.text
    shown = session.scalars(select(AuditEvent).where(AuditEvent.action == "list",
                                                     AuditEvent.entity_type == "zoonosis_exposure")).all()
    assert shown and shown[-1].basis == "own_village"
    headers = f.token_headers(session, users["village"])
    missing = client.get("/api/v1/surveillance/zoonoses/exposures", params={"resident_id": 987654321},
                         headers=headers)
    outside = client.get("/api/v1/surveillance/zoonoses/exposures", params={"resident_id": theirs.id},
                         headers=headers)
    assert outside.status_code == missing.status_code == 404 and "南岭牧民" not in outside.text


def test_a_refused_exposure_form_keeps_the_ticked_kinds(client, session, users):
    mine = f.make_resident(session, name="吉日格拉", village_code=f.VILLAGE_A1)
    f.page_login(client, users["village"].username)
    csrf = f.csrf_from(client.get("/surveillance/zoonoses/exposures").text)
    res = client.post("/surveillance/zoonoses/exposures", data={
        "csrf_token": csrf, "resident_id": str(mine.id), "disease": "brucellosis", "exposure_kinds": ["herding", "dogs"]})
    assert res.status_code == 422 and 'data-testid="error-exposure_kinds"' in res.text
    assert 'value="herding" checked' in res.text and 'value="dogs" checked' in res.text
    assert session.scalar(select(func.count(ZoonosisExposure.id))) == 0
