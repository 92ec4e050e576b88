"""Shared set-up of the recall-list tests: the test county's village A1 with four households whose children
have hand-made histories (each child's expected list worked out by hand from the 2025 schedule, in the
comments), one child in village A2, and the people who must not be listed.

The week is 2026-11-23 (Monday) to 2026-11-29 (Sunday); the engine judges on the Sunday.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from tests import factories as f
from weijian.immunization.models import Refusal, Vaccination, VaccinationPoint
from weijian.residents.models import Resident

WEEK = date(2026, 11, 23)
WEEK_END = date(2026, 11, 29)


def make_point(session: Session, serves: str = f.TOWN_A, name: str = "温泉镇卫生院接种门诊") -> VaccinationPoint:
    facility = f.make_facility(session, orgunit_code=serves if serves[9:] == "000" else serves[:9] + "000")
    point = VaccinationPoint(facility_id=facility.id, name=name, serves_orgunit_code=serves, active=True,
                             min_days_of_stock=14)
    session.add(point)
    session.flush()
    return point


def give(session: Session, resident: Resident, vaccine: str, dose: int, on: date | str,
         point: VaccinationPoint | None = None) -> Vaccination:
    """A dose in the record, written straight into the table (the records service's stock rules are not
    what these tests are about)."""
    on = date.fromisoformat(on) if isinstance(on, str) else on
    v = Vaccination(resident_id=resident.id, vaccine=vaccine, dose=dose, date=on, source="historical",
                    point_id=point.id if point else None)
    session.add(v)
    session.flush()
    return v


def give_all(session: Session, resident: Resident, doses: list[tuple[str, int, str]],
             point: VaccinationPoint | None = None) -> None:
    for vaccine, dose, on in doses:
        give(session, resident, vaccine, dose, on, point)


def refuse(session: Session, resident: Resident, vaccine: str, dose: int, on: str,
           reason: str = "refused") -> Refusal:
    r = Refusal(resident_id=resident.id, vaccine=vaccine, dose=dose, date=date.fromisoformat(on), reason=reason)
    session.add(r)
    session.flush()
    return r


def person(session: Session, name: str, sex: str, birth: str, household: str, relation: str,
           village: str = f.VILLAGE_A1, phone: str | None = None, mother: Resident | None = None,
           status: str = "active") -> Resident:
    r = f.make_resident(session, name=name, sex=sex, birth_date=birth, household_number=household,
                        relation_to_head=relation, village_code=village, phone=phone)
    if mother is not None or status != "active":
        r.mother_id = mother.id if mother is not None else None
        r.status = status
        session.flush()
    return r


@dataclass
class Village:
    people: dict[str, Resident]
    point: VaccinationPoint

    def __getitem__(self, key: str) -> Any:
        return self.people[key]


# Child C's history: on time to 9 months except MMR1 (refused on 2026-03-01).
C_HISTORY = [("HepB", 1, "2025-06-01"), ("BCG", 1, "2025-06-02"), ("HepB", 2, "2025-07-01"),
             ("IPV", 1, "2025-08-01"), ("DTaP", 1, "2025-08-01"), ("IPV", 2, "2025-09-01"),
             ("bOPV", 1, "2025-10-01"), ("DTaP", 2, "2025-10-01"), ("DTaP", 3, "2025-12-01"),
             ("HepB", 3, "2025-12-01"), ("MPSV-A", 1, "2025-12-01"), ("JE-L", 1, "2026-02-01"),
             ("MPSV-A", 2, "2026-03-01")]


def make_village(session: Session) -> Village:
    """The data set. Expected list of village A1 for the week (worked out by hand):

    - A 王小明 (b. 2026-09-25; HepB1, BCG, HepB2 given): IPV1 and DTaP1 recommended at 2 months =
      2026-11-25, inside the week → due, earliest 2026-11-25, overdue from 12 months = 2027-09-25.
      Guardian: his mother 李芳 (mother_id, phone 13900000002).
    - B 张乐 (b. 2026-10-10; HepB1, BCG given): HepB2 recommended at 1 month = 2026-11-10, not given →
      due (still due, not yet overdue: 12 months), earliest 2026-11-10. IPV1 at 2 months = 2026-12-10
      is after the week → upcoming, not listed. Guardian: no mother recorded → the householder, her
      grandfather 张德 (13900000003).
    - C 陈小宝 (b. 2025-06-01; C_HISTORY): MMR1 recommended at 8 months = 2026-02-01, but JE-L1 (live)
      was given that day, so not before 2026-03-01; overdue from 12 months = 2026-06-01 → overdue, with
      the refusal of 2026-03-01. Everything at 18 months (2026-12-01) is after the week. Guardian: his
      mother 周丽 has no phone, the householder 陈山 has none → the youngest adult with a phone, his
      father 陈军 (b. 1994, 13900000005), not his grandmother 刘梅 (b. 1960).
    - D 赵一 (b. 2026-11-01; HepB1, BCG): HepB2 at 1 month = 2026-12-01 → upcoming: not listed.
    - H 刘错 (b. 2026-01-10): HepB2 recorded before HepB1 → listed with the history error.
    - Not looked at: 19-year-old 孙大 (over 18), 吴走 (moved out), the adults.
    In village A2: E 孙悦 (b. 2026-05-20, no doses) → HepB1 and BCG overdue, IPV1, DTaP1, MPSV-A1 due.
    """
    p: dict[str, Resident] = {}
    p["wang_father"] = person(session, "王强", "male", "1995-03-01", "A1-H1", "head", phone="13900000001")
    p["wang_mother"] = person(session, "李芳", "female", "1997-05-01", "A1-H1", "spouse", phone="13900000002")
    p["A"] = person(session, "王小明", "male", "2026-09-25", "A1-H1", "son", mother=p["wang_mother"])
    give_all(session, p["A"], [("HepB", 1, "2026-09-25"), ("BCG", 1, "2026-09-26"), ("HepB", 2, "2026-10-26")])

    p["zhang_head"] = person(session, "张德", "male", "1960-01-01", "A1-H2", "head", phone="13900000003")
    p["B"] = person(session, "张乐", "female", "2026-10-10", "A1-H2", "grandchild")
    give_all(session, p["B"], [("HepB", 1, "2026-10-10"), ("BCG", 1, "2026-10-11")])

    p["chen_head"] = person(session, "陈山", "male", "1958-02-01", "A1-H3", "head")
    p["chen_grandmother"] = person(session, "刘梅", "female", "1960-06-01", "A1-H3", "spouse", phone="13900000004")
    p["chen_father"] = person(session, "陈军", "male", "1994-01-01", "A1-H3", "son", phone="13900000005")
    p["chen_mother"] = person(session, "周丽", "female", "1996-01-01", "A1-H3", "daughter_in_law")
    p["C"] = person(session, "陈小宝", "male", "2025-06-01", "A1-H3", "grandchild", mother=p["chen_mother"])
    give_all(session, p["C"], C_HISTORY)
    refuse(session, p["C"], "MMR", 1, "2026-03-01")

    p["zhao_head"] = person(session, "赵明", "male", "1992-01-01", "A1-H4", "head", phone="13900000007")
    p["D"] = person(session, "赵一", "male", "2026-11-01", "A1-H4", "son")
    give_all(session, p["D"], [("HepB", 1, "2026-11-01"), ("BCG", 1, "2026-11-02")])

    p["H"] = person(session, "刘错", "female", "2026-01-10", "A1-H5", "head")
    give_all(session, p["H"], [("HepB", 1, "2026-03-01"), ("HepB", 2, "2026-02-01")])

    p["old"] = person(session, "孙大", "male", "2007-06-01", "A1-H6", "head")
    p["moved"] = person(session, "吴走", "male", "2025-01-01", "A1-H7", "head", status="moved_out")

    p["E"] = person(session, "孙悦", "female", "2026-05-20", "A2-H1", "head", village=f.VILLAGE_A2)
    return Village(p, make_point(session))
