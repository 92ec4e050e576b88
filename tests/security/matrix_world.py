"""The world of the role × route matrix (tests/security/test_route_matrix.py): the test county, one user of
every role, and of every kind of object a route names one on side "A" (village VILLAGE_A1, township TOWN_A:
inside the scoped users' scope) and one on side "B" (VILLAGE_B1, TOWN_B: outside it, inside the county).

Every person carries a name, identity number and phone found nowhere else, so a refused answer that shows
one of them has leaked it.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from tests import factories as f
from weijian.care.childcare.models import FrailChild
from weijian.care.contracts.models import ContractTeam, ContractTeamVillage, FamilyDoctorContract
from weijian.care.education.models import EducationActivity, EducationPhoto
from weijian.care.elderly.models import TcmAssessment
from weijian.care.maternal.models import Pregnancy
from weijian.care.mental.models import MentalPatient
from weijian.care.models import Diagnosis, Encounter, HealthCheck, Referral, Screening, Teleconsultation
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.locks import PeriodApproval
from weijian.immunization.models import BirthRegistration, Handoff, Vaccination, VaccinationPoint
from weijian.immunization.newborn.queries import DEPARTMENTS
from weijian.ledgers.blood.models import BloodDonation, BloodDonor
from weijian.ledgers.equipment.models import Device
from weijian.ledgers.hazards.models import Inspection, Photo, Problem
from weijian.ledgers.projects.models import Project
from weijian.ledgers.standards.models import StandardAssessment
from weijian.residents import service as residents_service
from weijian.settlement.models import Balance
from weijian.surveillance.emergency.models import EmergencyEvent, ResponseTeam
from weijian.surveillance.models import CaseReport
from weijian.surveillance.signals.models import Signal
from weijian.surveillance.tb.models import TbSuspect

# A 1×1 PNG (a health-education photo's file).
_PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415478"
                     "9c63f8ffff3f0005fe02fe0def46b80000000049454e44ae426082")

# The users whose view is checked: each role once, the clinicians at a facility of side A.
ROLE_UNITS = {
    "village_doctor": (f.VILLAGE_A1, "clinic_a1"),
    "township_doctor": (f.TOWN_A, "town_a"),
    "county_doctor": (f.COUNTY, "county"),
    "bureau_admin": (f.COUNTY, None),
    "cdc_staff": (f.COUNTY, None),
    "sysadmin": (f.COUNTY, None),
    "security_admin": (f.COUNTY, None),
    "audit_admin": (f.COUNTY, None),
}
SIDES = {"A": (f.VILLAGE_A1, f.TOWN_A, "clinic_a1", "town_a"), "B": (f.VILLAGE_B1, f.TOWN_B, "clinic_b1", "town_b")}
PEOPLE = {  # side → (adult woman, child, newborn): names, phones
    "A": (("柳如烟", "13911110001"), ("柳小禾", "13911110002"), ("柳新苗", None)),
    "B": (("程晓雪", "13922220001"), ("程小松", "13922220002"), ("程新芽", None)),
}


@dataclass
class Side:
    ids: dict[str, Any] = field(default_factory=dict)  # object kind → id (or code)
    secrets: list[str] = field(default_factory=list)  # strings of this side's people no refused answer shows


@dataclass
class World:
    users: dict[str, Any]
    sides: dict[str, Side]
    facilities: dict[str, Any]


def _person(session: Session, village: str, name: str, phone: str | None, born: date, sex: str,
            household: str, relation: str):
    return f.make_resident(session, name=name, village_code=village, sex=sex, birth_date=born, phone=phone,
                           household_number=household, relation_to_head=relation,
                           address=f"{name}家门牌1号")


def _side(session: Session, key: str, fac: dict[str, Any], point_facility, upload_dir: Path | None = None) -> Side:
    village, town, clinic, centre = SIDES[key]
    (woman, phone), (child_name, child_phone), (baby_name, _) = PEOPLE[key]
    today = clock.today()
    side = Side()
    mother = _person(session, village, woman, phone, date(1990, 4, 5), "female", f"H{key}1", "head")
    child = _person(session, village, child_name, child_phone, today - timedelta(days=400), "male", f"H{key}1", "son")
    baby = _person(session, village, baby_name, None, today - timedelta(days=2), "female", f"H{key}1", "daughter")
    for r in (mother, child):
        side.secrets += [r.name, r.id_number, r.phone]
    side.secrets += [baby.name, baby.id_number]
    side.ids.update(resident=mother.id, household=mother.household_id, child=child.id)

    admitted = Encounter(resident_id=mother.id, facility_id=fac[centre].id, type="inpatient",
                         start_date=today - timedelta(days=3), primary_diagnosis="J18.9",
                         diagnoses=[Diagnosis(seq=1, code="J18.9")], created_by="test")
    session.add(admitted)
    check = HealthCheck(resident_id=mother.id, facility_id=fac[clinic].id, date=today - timedelta(days=30),
                        kind="general", sbp=128, dbp=82, created_by="test")
    screening = Screening(resident_id=mother.id, facility_id=fac[centre].id, date=today - timedelta(days=30),
                          kind="cervical", result="negative", created_by="test")
    session.add_all([check, screening])
    session.flush()
    registration = f.make_chronic_patient(session, resident=mother, registered_on=today - timedelta(days=200))
    lmp = today - timedelta(days=100)
    pregnancy = Pregnancy(resident_id=mother.id, lmp=lmp, edd=lmp + timedelta(days=280), registered_on=lmp + timedelta(days=60),
                          booked_weeks=8, facility_id=fac[clinic].id, status="open", created_by="test")
    session.add(pregnancy)
    tcm = TcmAssessment(resident_id=mother.id, date=today, facility_id=fac[clinic].id, answers="1" * 33, scores="{}",
                        verdicts="{}", rule_version=1, created_by="test")
    session.add(tcm)
    mental = MentalPatient(resident_id=mother.id, disease="schizophrenia", icd10="F20.0",
                           diagnosed_on=today - timedelta(days=400), registered_on=today - timedelta(days=300),
                           consent=True, consent_signer="patient", consent_signer_name=woman,
                           consent_on=today - timedelta(days=300), risk_grade=0, status="active", rule_version=1,
                           next_visit_on=today + timedelta(days=30), created_by="test")
    session.add(mental)
    settlement = f.make_settlement(session, mother, fac[centre], stay_date=today - timedelta(days=20), pay_later=True)
    balance = Balance(settlement_id=settlement.id, resident_id=mother.id, facility_id=fac[centre].id,
                      amount=settlement.patient_pays, due_date=today + timedelta(days=20))
    referral = Referral(resident_id=mother.id, direction="up", from_facility_id=fac[clinic].id,
                        to_facility_id=fac[centre].id, reason="血压控制不佳", diagnosis="I10", status="requested")
    consultation = Teleconsultation(resident_id=mother.id, from_facility_id=fac[centre].id,
                                    to_facility_id=fac["county"].id, department="心内科", question="降压方案",
                                    status="requested")
    point = VaccinationPoint(facility_id=fac[centre].id, name=f"{fac[centre].name}接种门诊", serves_orgunit_code=town,
                             active=True, min_days_of_stock=14)
    session.add_all([balance, referral, consultation, point])
    session.flush()
    vaccination = Vaccination(resident_id=child.id, vaccine="HepB", dose=1, date=today - timedelta(days=399),
                              point_id=point.id, site="right_deltoid", route="im", recorded_by="test")
    born = datetime.combine(today - timedelta(days=2), datetime.min.time(), tzinfo=UTC)
    birth = BirthRegistration(child_id=baby.id, mother_id=mother.id, facility_id=point_facility.id,
                              birth_certificate_number=f"T{key}0000001", born_at=born, birth_weight_g=3200,
                              gestational_weeks=39, created_by="test")
    session.add_all([vaccination, birth])
    session.flush()
    session.add_all([Handoff(birth_id=birth.id, department=d) for d in DEPARTMENTS])
    # The newborn registered twice (the second record merged into the first): a merge to review and undo.
    twin = f.make_resident(session, name=baby_name, village_code=village, sex="female", birth_date=baby.birth_date,
                           id_number=None)
    merge = residents_service.merge(session=session, survivor_id=baby.id, merged_id=twin.id, reason="重复建档",
                                    actor=Actor.system("test"))
    # A case report (传染病报告卡) of influenza, reported by the township centre.
    now = clock.now()
    case = CaseReport(resident_id=mother.id, disease="influenza", icd10="J10.1", onset_date=today - timedelta(days=2),
                      diagnosed_at=now - timedelta(hours=5), reported_at=now - timedelta(hours=4),
                      classification="clinical", facility_id=fac[centre].id, doctor_name="test", village_code=village,
                      township_code=town, status="active", limit_hours=24, delay_hours=Decimal("1.00"), late=False)
    session.add(case)
    tb_patient = f.make_tb_patient(session, resident=mother, start=today - timedelta(days=20))
    tb_suspect = TbSuspect(resident_id=child.id, symptoms="cough_2w", referred_on=today - timedelta(days=3),
                           referred_to="县结核病定点医院", result="pending", created_by="test")
    session.add(tb_suspect)
    target = f.make_user(session, "village_doctor", village, facility_id=fac[clinic].id, full_name=f"{woman[0]}医生")
    signal = Signal(disease_code="plague", orgunit_code=town, method="fixed", signal_date=today, value=1.0,
                    threshold=1.0, figures="{}", verify_due_at=clock.now())
    session.add(signal)
    # An emergency of the side's township (scoped by its org unit) and a response team (a county-wide registry).
    occurred = clock.now() - timedelta(days=10)
    event = EmergencyEvent(title=f"{town}食物中毒", kind="food_poisoning", grade="IV", occurred_at=occurred,
                           reported_at=occurred + timedelta(hours=1), orgunit_code=town, recorded_by="test")
    team = ResponseTeam(name=f"应急队{key}")
    session.add_all([event, team])
    # The side's township approved for a year long past (no record of the world falls in it).
    approved = PeriodApproval(orgunit_code=town, period="2010", period_start=date(2010, 1, 1),
                              period_end=date(2010, 12, 31), approved_by="test", snapshot="{}")
    session.add(approved)
    # A 体弱儿 case of the side's child (anaemia), scoped by the child's village.
    frail = FrailChild(resident_id=child.id, reason="anaemia", opened_on=today - timedelta(days=30), status="open",
                       created_by="test")
    session.add(frail)
    session.flush()
    side.ids.update(emergency_event=event.id, response_team=team.id)
    side.ids.update(tcm=tcm.id)
    # A hazard inspection of the side's township centre (scoped by its org unit) with an open, overdue problem
    # and its photo (the file written to the app's upload folder when given); a practical project (a
    # county-wide register).
    inspection = Inspection(facility_id=fac[centre].id, orgunit_code=fac[centre].orgunit_code, category="fire",
                            inspected_on=today - timedelta(days=20), inspector="test", recorded_by="test")
    session.add(inspection)
    session.flush()
    problem = Problem(inspection_id=inspection.id, facility_id=fac[centre].id, orgunit_code=fac[centre].orgunit_code,
                      location="门诊楼", description=f"{town}安全出口堵塞", severity="general",
                      responsible_person="王责任", responsible_leader="张院长", deadline=today - timedelta(days=5),
                      standard="疏散通道畅通", status="open", recorded_by="test")
    session.add(problem)
    session.flush()
    png = b"\x89PNG\r\n\x1a\n" + key.encode() * 16
    digest = hashlib.sha256(png).hexdigest()
    if upload_dir is not None:
        folder = Path(upload_dir) / "hazards"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{digest}.png").write_bytes(png)
    photo = Photo(problem_id=problem.id, stage="problem", sha256=digest, content_type="image/png", size=len(png),
                  uploaded_by="test")
    project = Project(name=f"项目{key}", category="primary_care", owner="基层卫生股", unit="facility",
                      target=Decimal(150), starts_on=date(today.year, 1, 1), ends_on=date(today.year, 12, 31),
                      tolerance=Decimal("0.05"), created_by="test")
    session.add_all([photo, project])
    session.flush()
    side.ids.update(hazard_inspection=inspection.id, hazard_problem=problem.id, hazard_photo=photo.id,
                    project=project.id)
    # Ledgers: an assessment of the side's village clinic, an AED in its village, the mother as a blood donor.
    assessment = StandardAssessment(facility_id=fac[clinic].id, standard="village_clinic", rules_version=1,
                                    assessed_on=today - timedelta(days=10), assessor="test", meets=False,
                                    recorded_by="test")
    device = Device(kind="aed", serial=f"AED-{key}", orgunit_code=village, address=f"{village}村委会", place_type="school",
                    owner="test", install_date=today - timedelta(days=100), status="active", recorded_by="test")
    donor = BloodDonor(resident_id=mother.id, name=mother.name, id_number=mother.id_number, sex="female",
                       birth_date=mother.birth_date, phone=mother.phone, recorded_by="test")
    session.add_all([assessment, device, donor])
    session.flush()
    session.add(BloodDonation(donor_id=donor.id, donated_on=today - timedelta(days=300), kind="whole_blood",
                              volume_ml=400, recorded_by="test"))
    side.ids.update(standard_assessment=assessment.id, device=device.id, blood_donor=donor.id,
                    clinic=fac[clinic].id)
    # A family-doctor team serving the side's village, and the woman's contract with it (signed a month ago).
    contract_team = ContractTeam(name=f"家庭医生团队{key}", facility_id=fac[centre].id, active=True,
                                 villages=[ContractTeamVillage(village_code=village)])
    session.add(contract_team)
    session.flush()
    contract = FamilyDoctorContract(resident_id=mother.id, team_id=contract_team.id, package="basic",
                                    signed_on=today - timedelta(days=30), start_date=today - timedelta(days=30),
                                    end_date=today + timedelta(days=334), status="signed")
    session.add(contract)
    session.flush()
    side.ids.update(contract=contract.id, contract_team=contract_team.id)
    # A health-education activity of the side's village clinic, with a photo (its file under the app's media
    # folder when the test gives it).
    activity = EducationActivity(facility_id=fac[clinic].id, kind="lecture", date=today - timedelta(days=5),
                                 topic="高血压防治", audience=20, created_by="test")
    session.add(activity)
    session.flush()
    photo = EducationPhoto(activity_id=activity.id, stored_name=f"{activity.id}-matrix{key}.png",
                           content_type="image/png", size_bytes=len(_PNG), width=1, height=1, created_by="test")
    session.add(photo)
    session.flush()
    if upload_dir is not None:
        (Path(upload_dir) / "education").mkdir(parents=True, exist_ok=True)
        (Path(upload_dir) / "education" / photo.stored_name).write_bytes(_PNG)
    side.ids.update(education_activity=activity.id, education_photo=photo.id)
    side.ids.update(encounter=admitted.id, stay=settlement.encounter_id, health_check=check.id,
                    screening=screening.id, registration=registration.id, pregnancy=pregnancy.id, mental_patient=mental.id,
                    settlement=settlement.id,
                    balance=balance.id, referral=referral.id, consultation=consultation.id, point=point.id,
                    vaccination=vaccination.id, birth=birth.id, user=target.id, orgunit=village,
                    facility=fac[clinic].id, amount=str(Decimal(settlement.patient_pays)), merge=merge.id,
                    case_report=case.id, signal=signal.id, tb_treatment=tb_patient.id, tb_suspect=tb_suspect.id,
                    approval=approved.id, frail=frail.id)
    return side


def build(session: Session, upload_dir: Path | None = None) -> World:
    f.make_county(session)
    fac = f.make_care_facilities(session)
    # The county hospital delivers babies and vaccinates them (the newborn bundle's point).
    session.add(VaccinationPoint(facility_id=fac["county"].id, name="县医院产科接种室", serves_orgunit_code=f.COUNTY,
                                 active=True, min_days_of_stock=14))
    users = {}
    for role, (unit, facility) in ROLE_UNITS.items():
        users[role] = f.make_user(session, role, unit, facility_id=fac[facility].id if facility else None)
    sides = {key: _side(session, key, fac, fac["county"], upload_dir) for key in SIDES}
    session.flush()
    return World(users=users, sides=sides, facilities=fac)
