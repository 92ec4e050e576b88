"""Masks that cannot be reversed (issue 12, part 3): for a role without resident:read_identity no answer
of the app — API, page or export — lets a full identity number be rebuilt: never the full number, never
the birth date (`YYYYMMDD` or `YYYY-MM-DD`) of a resident whose masked number is in the same answer, never
a full phone number. The routes are enumerated from the app itself: a new GET route whose path parameter
this test cannot fill fails it, so it is not forgotten.
"""
from __future__ import annotations

import io
import re
from datetime import date, datetime

import pytest
from fastapi.routing import iter_route_contexts
from openpyxl import load_workbook
from sqlalchemy import select

from tests import factories as f
from tests.indicators import world
from weijian.care.childcare.models import FrailChild
from weijian.care.contracts.models import ContractTeam, FamilyDoctorContract
from weijian.care.education.models import EducationActivity, EducationPhoto
from weijian.care.elderly.models import TcmAssessment
from weijian.care.maternal.models import Pregnancy
from weijian.care.mental.models import MentalPatient
from weijian.care.models import ChronicRegistration, Encounter, HealthCheck, Referral, Screening, Teleconsultation
from weijian.core.disclosure import FULL, MASKED, disclosure_for
from weijian.core.identifiers import mask_id_number, mask_phone
from weijian.core.locks import PeriodApproval
from weijian.immunization.models import BirthRegistration, Vaccination, VaccinationPoint
from weijian.immunization.newborn.queries import DEPARTMENTS
from weijian.indicators.definitions import definitions
from weijian.ledgers.blood.models import BloodDonor
from weijian.ledgers.equipment.models import Device
from weijian.ledgers.hazards.models import Inspection, Photo, Problem
from weijian.ledgers.projects.models import Project
from weijian.ledgers.standards.models import StandardAssessment
from weijian.orgunits.models import Facility
from weijian.residents.models import Household, Resident, ResidentMerge
from weijian.settlement.models import Settlement
from weijian.surveillance.emergency.models import EmergencyEvent, ResponseTeam
from weijian.surveillance.models import CaseReport
from weijian.surveillance.signals.models import Signal
from weijian.surveillance.tb.models import TbSuspect, TbTreatment


def test_masked_number_hides_the_birth_date_and_keeps_the_address_code_and_last_four():
    assert mask_id_number("42112419921011179X") == "421124********179X"
    assert mask_id_number("421124921011179") == "421124******179"
    assert mask_phone("13912348880") == "139****8880"
    assert mask_phone("7654321") == "*****21"


def test_disclosure_decides_per_actor(session):
    f.make_county(session)
    bureau = _actor(session, "bureau_admin")
    doctor = _actor(session, "village_doctor", f.VILLAGE_A1)
    assert disclosure_for(bureau) is MASKED and disclosure_for(doctor) is FULL
    born = date(1992, 10, 11)
    assert MASKED.birth_date(born) is None and MASKED.birth_text(born) == "1992"
    assert MASKED.id_number("42112419921011179X") == "421124********179X"
    assert FULL.id_number("42112419921011179X") == "42112419921011179X"
    assert FULL.id_number("42112419921011179X", listing=True) == "421124********179X"
    assert MASKED.phone("13912348880") == "139****8880" and FULL.phone("13912348880") == "13912348880"


def _actor(session, role: str, unit: str = f.COUNTY):
    from weijian.accounts import service as accounts_service

    return accounts_service.actor_for(f.make_user(session, role, unit))


# --- the sweep --------------------------------------------------------------------------------------
# Path parameter → the table whose every id is tried (or fixed values).
ID_TABLES = {
    "resident_id": Resident, "household_id": Household, "registration_id": ChronicRegistration,
    "consultation_id": Teleconsultation, "referral_id": Referral, "encounter_id": Encounter,
    "health_check_id": HealthCheck, "screening_id": Screening, "vaccination_id": Vaccination,
    "settlement_id": Settlement, "birth_id": BirthRegistration, "point_id": VaccinationPoint,
    "facility_id": Facility, "merge_id": ResidentMerge, "report_id": CaseReport, "signal_id": Signal,
    "treatment_id": TbTreatment, "suspect_id": TbSuspect, "event_id": EmergencyEvent, "team_id": ResponseTeam,
    "pregnancy_id": Pregnancy, "approval_id": PeriodApproval, "tcm_id": TcmAssessment, "frail_id": FrailChild,
    "inspection_id": Inspection, "problem_id": Problem, "photo_id": Photo, "project_id": Project,
    "assessment_id": StandardAssessment, "device_id": Device, "donor_id": BloodDonor,
    "contract_id": FamilyDoctorContract, "contract_team_id": ContractTeam, "patient_id": MentalPatient,
    "activity_id": EducationActivity, "education_photo_id": EducationPhoto,
}
FIXED = {"code": [f.COUNTY, f.VILLAGE_A1], "department": list(DEPARTMENTS), "year": ["2025"],
         "standard": ["village_clinic", "township_quality"]}
# Query values that make lists and exports return the test county's people.
QUERY = {"q": "测试居民", "period": "2025", "orgunit": f.COUNTY, "week": "2025-08-04", "as_of": "2025-12-31",
         "format": "xlsx", "view": "overview", "department": DEPARTMENTS[0], "indicator": "population_total"}
SKIP = {"/api/docs", "/api/openapi.json", "/docs/oauth2-redirect", "/redoc", "/login"}


def _get_routes(app) -> list[str]:
    out = set()
    for route in iter_route_contexts(app.routes):
        if "GET" in (route.methods or ()) and route.path not in SKIP:
            out.add(route.path)
    return sorted(out)


def _query_names(app, path: str) -> list[str]:
    for route in iter_route_contexts(app.routes):
        if route.path == path and getattr(route, "dependant", None) is not None:
            return [p.name for p in route.dependant.query_params]
    return []


def _fill(session, path: str) -> list[str]:
    urls = [path]
    for name in re.findall(r"\{([^}:]+)(?::[^}]+)?\}", path):
        if name in ID_TABLES or name == "entry_id":
            # entry_id: the record entry a correction or void page is about, of the kind its path names.
            table = ID_TABLES[name] if name != "entry_id" else (
                HealthCheck if "health-check" in path else Screening if "screening" in path else Encounter)
            values = [str(v) for v in session.scalars(select(table.id)).all()][:40]
        elif name == "indicator_id":
            values = list(definitions().indicators)
        elif name in FIXED:
            values = FIXED[name]
        else:
            pytest.fail(f"{path}: say how to fill the path parameter {name!r} (tests/core/test_disclosure.py)")
        urls = [re.sub(r"\{" + name + r"(:[^}]+)?\}", v, u, count=1) for u in urls for v in values]
    return urls


def _text(response) -> str:
    if response.headers.get("content-type", "").startswith(
            "application/vnd.openxmlformats-officedocument.spreadsheetml"):
        wb = load_workbook(io.BytesIO(response.content))
        cells = []
        for ws in wb.worksheets:
            for row in ws.iter_rows(values_only=True):
                for v in row:
                    cells.append(v.date().isoformat() if isinstance(v, datetime) else
                                 v.isoformat() if isinstance(v, date) else str(v))
        return "\n".join(cells)
    return response.text


@pytest.fixture()
def county_people(session):
    w = world.build(session)
    people = [r for r in w.residents.values()]
    mother = f.make_resident(session, name="测试居民", village_code=f.VILLAGE_A1, sex="female",
                             birth_date=date(1992, 10, 11), household_number="H9", relation_to_head="head")
    child = f.make_resident(session, name="测试居民", village_code=f.VILLAGE_A1, birth_date=date(2025, 6, 3),
                            household_number="H9", relation_to_head="son")
    child.mother_id = mother.id
    people += [mother, child]
    for n, r in enumerate(people):
        r.phone = f"139{n:04d}8880"
    session.flush()
    # The mother as a blood donor (ledgers.blood keeps a copy of her number, phone and birth date).
    session.add(BloodDonor(resident_id=mother.id, name=mother.name, id_number=mother.id_number, sex="female",
                           birth_date=mother.birth_date, phone=mother.phone, recorded_by="test"))
    session.flush()
    return people


def test_no_answer_to_the_bureau_role_lets_a_masked_number_be_rebuilt(app, client, session, county_people):
    bureau = f.make_user(session, "bureau_admin", f.COUNTY)
    f.page_login(client, bureau.username)  # the pages; the API reads the same session cookie
    leaks, seen, answered = [], 0, 0
    for path in _get_routes(app):
        names = _query_names(app, path)
        for url in _fill(session, path):
            params = {k: QUERY[k] for k in names if k in QUERY and QUERY[k] is not None}
            variants = [{}, params] if params else [{}]
            if "format" in params:
                variants.append({**params, "format": "json"})
            for query in variants:
                response = client.get(url, params=query)
                assert response.status_code < 500, (url, query, response.text[:300])
                answered += 1
                text = _text(response)
                for r in county_people:
                    where = f"{url}?{query}"
                    if r.id_number in text:
                        leaks.append((where, "full number", r.id_number))
                    if r.phone in text:
                        leaks.append((where, "full phone", r.phone))
                    if mask_id_number(r.id_number) in text:
                        seen += 1
                        for born in (r.birth_date.isoformat(), r.birth_date.strftime("%Y%m%d")):
                            if born in text:
                                leaks.append((where, "birth date beside the masked number", born))
    assert leaks == []
    # The sweep must have seen masked numbers (an empty walk would pass vacuously).
    assert seen >= 20 and answered >= 150, (seen, answered)


def test_the_record_shows_age_and_birth_year_not_the_birth_date(client, session, county_people):
    mother = county_people[-2]
    bureau = f.make_user(session, "bureau_admin", f.COUNTY)
    headers = f.token_headers(session, bureau)
    body = client.get(f"/api/v1/residents/{mother.id}", headers=headers).json()
    assert body["birth_date"] is None and body["birth_year"] == 1992 and body["age"] >= 33
    assert body["id_number"] == mother.id_number[:6] + "*" * 8 + mother.id_number[-4:]
    assert body["phone"] == mother.phone[:3] + "****" + mother.phone[-4:]
    doctor = f.make_user(session, "village_doctor", f.VILLAGE_A1)
    body = client.get(f"/api/v1/residents/{mother.id}", headers=f.token_headers(session, doctor)).json()
    assert (body["birth_date"], body["id_number"], body["phone"]) == ("1992-10-11", mother.id_number, mother.phone)
