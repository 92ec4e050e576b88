"""The demo county's ledgers of issue 18 parts 3–6: an assessment of every township centre (优质服务基层行
推荐标准) and village clinic (村卫生室规范化建设) in the last year — about two thirds meeting the standard, some
after a failed first visit —, about 100 AEDs with their monthly inspections (some parts expiring, some not
inspected this month), training sessions per township since January, and voluntary blood donors (about one
adult in 200, a few from outside the county) whose donations keep GB 18467's intervals, about half of them
due for recall on the reference date. Dated up to `reference`; written with plain ORM rows (a few thousand)."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from weijian.core.identifiers import make_id_number
from weijian.ledgers.blood import rules as blood_rules
from weijian.ledgers.blood.models import BloodDonation, BloodDonor
from weijian.ledgers.equipment.models import Device, DeviceInspection
from weijian.ledgers.equipment.rules import rules as equipment_rules
from weijian.ledgers.standards.models import StandardAssessment, StandardItemResult
from weijian.ledgers.standards.rules import rules as standards_rules
from weijian.ledgers.training.models import TrainingSession
from weijian.orgunits.models import Facility, OrgUnit
from weijian.residents.models import Resident

BY = "demo"
AEDS = 100
DONORS_PER_ADULT = 1 / 200
OUTSIDE_DONORS = 6
PROJECTS = (("老年人智能手机培训", (20, 80)), ("健康素养讲座", (30, 120)), ("急救技能（AED）培训", (10, 40)))
PLACES = (("community", 30), ("school", 20), ("transport", 10), ("government", 10), ("mall", 8), ("scenic", 6),
          ("sports", 6), ("health_facility", 10))
ASSESSORS = ("县卫健局基层股", "县卫健局医政股", "医共体总院质控科")


@dataclass(frozen=True)
class LedgerSummary:
    assessments: int
    devices: int
    inspections: int
    training_sessions: int
    donors: int
    donations: int


def _standards(session: Session, rng: random.Random, reference: date) -> int:
    n = 0
    for code, std in standards_rules().standards.items():
        facilities = list(session.scalars(select(Facility).where(Facility.type.in_(std.facility_types))
                                          .order_by(Facility.id)))
        share = 0.64 if code == "township_quality" else 0.66  # 7 of 11 centres, ~98 of 150 clinics
        for fac in facilities:
            meets = rng.random() < share
            day = reference - timedelta(days=rng.randint(10, 330))
            if meets and rng.random() < 0.3:  # failed at a first visit, passed at the second
                n += _assessment(session, rng, fac, code, day - timedelta(days=rng.randint(60, 200)), False)
            n += _assessment(session, rng, fac, code, day, meets)
    return n


def _assessment(session: Session, rng: random.Random, fac: Facility, code: str, day: date, meets: bool) -> int:
    std = standards_rules().standards[code]
    failed = set() if meets else set(rng.sample(std.required, k=rng.randint(1, min(2, len(std.required)))))
    failed |= {i.code for i in std.items if not i.required and rng.random() < 0.25}
    a = StandardAssessment(facility_id=fac.id, standard=code, rules_version=standards_rules().version,
                           assessed_on=day, assessor=rng.choice(ASSESSORS), meets=meets, recorded_by=BY)
    session.add(a)
    session.flush()
    session.add_all(StandardItemResult(assessment_id=a.id, item=i.code, passed=i.code not in failed,
                                       evidence="现场查看" if i.code not in failed else None) for i in std.items)
    return 1


def _aeds(session: Session, rng: random.Random, reference: date) -> tuple[int, int]:
    units = list(session.scalars(select(OrgUnit).where(OrgUnit.level.in_(("township", "village")))
                                 .order_by(OrgUnit.code)))
    if not units:
        return 0, 0
    codes = [p for p, _ in PLACES]
    weights = [w for _, w in PLACES]
    expiring = equipment_rules().expiring_days
    month_start = reference.replace(day=1)
    devices, inspections = 0, 0
    for i in range(AEDS):
        unit = rng.choice(units)
        place = rng.choices(codes, weights)[0]
        installed = reference - timedelta(days=rng.randint(40, 3 * 365))
        pads = installed + timedelta(days=2 * 365)
        while pads < reference + timedelta(days=expiring):  # replaced when they ran out
            pads += timedelta(days=2 * 365)
        if i % 12 == 0:  # a few pads just expiring
            pads = reference + timedelta(days=rng.randint(0, expiring))
        battery = installed + timedelta(days=4 * 365)
        d = Device(kind="aed", serial=f"AED-421124-{i + 1:04d}", model=rng.choice(("BeneHeart C1A", "HeartStart HS1")),
                   orgunit_code=unit.code, address=f"{unit.name}{_place_word(place)}", place_type=place,
                   owner=f"{unit.name}{'村委会' if unit.level == 'village' else '人民政府'}", install_date=installed,
                   battery_expiry=battery, pad_expiry=pads, status="active", recorded_by=BY)
        session.add(d)
        session.flush()
        devices += 1
        day = installed.replace(day=1)
        while day <= reference:
            this_month = day == month_start
            if not (this_month and i % 7 == 0):  # every seventh device not inspected yet this month
                on = min(day + timedelta(days=rng.randint(0, 10)), reference)
                if on >= installed:
                    result = "missing" if rng.random() < 0.005 else "working"
                    session.add(DeviceInspection(device_id=d.id, inspected_on=on, result=result, inspector="巡检员",
                                                 recorded_by=BY))
                    inspections += 1
            day = (day + timedelta(days=32)).replace(day=1)
    return devices, inspections


def _place_word(place: str) -> str:
    return {"community": "村委会（社区）服务大厅", "school": "中心小学", "transport": "客运站",
            "government": "便民服务中心", "mall": "超市", "scenic": "景区游客中心", "sports": "全民健身广场",
            "health_facility": "卫生院门诊大厅"}[place]


def _training(session: Session, rng: random.Random, reference: date) -> int:
    towns = list(session.scalars(select(OrgUnit).where(OrgUnit.level == "township").order_by(OrgUnit.code)))
    villages: dict[str, list[OrgUnit]] = {}
    for v in session.scalars(select(OrgUnit).where(OrgUnit.level == "village").order_by(OrgUnit.code)):
        villages.setdefault(v.parent_code or "", []).append(v)
    n = 0
    for town in towns:
        day = reference.replace(month=1, day=1)
        while day <= reference:
            for project, (low, high) in PROJECTS:
                for _ in range(rng.randint(0, 3)):
                    held = day + timedelta(days=rng.randint(0, 27))
                    if held > reference:
                        continue
                    unit = rng.choice(villages.get(town.code) or [town])
                    session.add(TrainingSession(held_on=held, orgunit_code=unit.code, project=project,
                                                place=f"{unit.name}活动室", trained=rng.randint(low, high),
                                                organizer=f"{town.name}卫生院", recorded_by=BY))
                    n += 1
            day = (day + timedelta(days=32)).replace(day=1)
    return n


def _history(rng: random.Random, birth: date, reference: date, platelets: bool) -> list[tuple[date, str]]:
    """Donations going back from a last one, spaced as GB 18467 allows (never before the 18th birthday)."""
    adult = blood_rules.add_months(birth, 12 * 18)
    day = reference - timedelta(days=rng.randint(3, 420))
    out: list[tuple[date, str]] = []
    for _ in range(rng.randint(1, 12 if not platelets else 30)):
        if day < adult:
            break
        out.append((day, "platelets" if platelets else "whole_blood"))
        day = (day - timedelta(days=rng.randint(20, 60)) if platelets
               else blood_rules.add_months(day, -6) - timedelta(days=rng.randint(0, 240)))
    return sorted(out)


def _donors(session: Session, rng: random.Random, reference: date) -> tuple[int, int]:
    limits = blood_rules.rules().age
    adults = session.execute(select(Resident.id, Resident.name, Resident.id_number, Resident.sex,
                                    Resident.birth_date, Resident.phone)
                             .where(Resident.status == "active",
                                    Resident.birth_date <= blood_rules.add_months(reference, -12 * limits.min),
                                    Resident.birth_date > blood_rules.add_months(reference, -12 * (limits.max + 1)))
                             .order_by(Resident.id)).all()
    chosen = [a for a in adults if rng.random() < DONORS_PER_ADULT]
    people = [(a.id, a.name, a.id_number, a.sex, a.birth_date, a.phone) for a in chosen]
    for i in range(OUTSIDE_DONORS):
        born = date(1975 + 3 * i, 1 + i, 10 + i)
        people.append((None, f"外县献血者{i + 1}", make_id_number("420102", born, 100 + 2 * i + (i % 2)),
                       "male" if i % 2 else "female", born, None))
    donors = donations = 0
    for resident_id, name, number, sex, born, phone in people:
        d = BloodDonor(resident_id=resident_id, name=name, id_number=number, sex=sex, birth_date=born, phone=phone,
                       blood_group=rng.choice(("A", "B", "O", "O", "AB")), recorded_by=BY)
        session.add(d)
        session.flush()
        donors += 1
        for day, kind in _history(rng, born, reference, platelets=rng.random() < 0.1):
            session.add(BloodDonation(donor_id=d.id, donated_on=day, kind=kind,
                                      volume_ml=rng.choice((200, 300, 400, 400)) if kind == "whole_blood" else None,
                                      units=rng.choice((1, 2)) if kind == "platelets" else None, site="县献血屋",
                                      recorded_by=BY))
            donations += 1
    return donors, donations


def build(*, session: Session, seed: int, reference: date) -> LedgerSummary:
    """Write the ledgers' demo rows (the county, its facilities and residents must exist); flushes, never
    commits."""
    rng = random.Random(f"weijian-demo-ledgers-{seed}")
    assessments = _standards(session, rng, reference)
    devices, inspections = _aeds(session, rng, reference)
    sessions = _training(session, rng, reference)
    donors, donations = _donors(session, rng, reference)
    session.flush()
    return LedgerSummary(assessments, devices, inspections, sessions, donors, donations)
