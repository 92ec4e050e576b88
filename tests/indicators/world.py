"""A small hand-made county for the indicator tests: every figure's answer is worked out by hand from it
(the numbers are repeated in the tests that use them).

Residents (status active unless said; ages in completed years on 2025-12-31):
  VILLAGE_A1: elder  ♂ 1950-06-01 (75)   woman ♀ 2000-01-01 (25)   child ♂ 2020-03-01 (5)
              baby_a ♂ 2025-04-10 (0, born in 2025)
  VILLAGE_A2: turning ♂ 1960-12-31 (65 exactly on 2025-12-31)   adult ♂ 1961-01-01 (64)
  VILLAGE_B1: teen ♂ 2010-01-01 (15)   grandma ♀ 1958-01-01 (67)   baby_b ♀ 2025-08-01 (0)
              dead ♂ 1940-01-01 (died 2020-01-01: counted in no period here)
Population 2025: A1 4, A2 2, B1 3 → TOWN_A 6, TOWN_B 3, county 9. On 2024-12-31: 7 (no babies).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from tests import factories as f
from weijian.care.models import Encounter, HealthCheck, Referral, Screening
from weijian.immunization.models import Vaccination
from weijian.settlement.models import Settlement


def _died(session: Session, resident: Any, on: date) -> None:
    """A death entered as a clerk does: through the record's update, with its date."""
    from weijian.core.actor import Actor
    from weijian.core.commands import build
    from weijian.residents import service as residents_service

    residents_service.update(session=session, resident_id=resident.id, actor=Actor.system("test"),
                             resident_in=build(residents_service.ResidentUpdate,
                                               {"status": "deceased", "effective_on": on}))


@dataclass
class World:
    residents: dict[str, Any] = field(default_factory=dict)
    facilities: dict[str, Any] = field(default_factory=dict)


def _resident(session: Session, village: str, birth: date, sex: str = "male", name: str = "测试居民"):
    return f.make_resident(session, village_code=village, birth_date=birth, sex=sex, name=name)


def _encounter(session: Session, resident, facility, type_: str, on: date) -> Encounter:
    e = Encounter(resident_id=resident.id, facility_id=facility.id if facility is not None else None,
                  outside_facility_name=None if facility is not None else "武汉协和医院", type=type_,
                  start_date=on, end_date=on if type_ == "inpatient" else None)
    session.add(e)
    session.flush()
    return e


def _settlement(session: Session, encounter: Encounter, resident, village: str, on: date, *,
                basic: str, critical: str, assistance: str, patient: str, status: str = "settled") -> None:
    parts = [Decimal(x) for x in (basic, critical, assistance, patient)]
    total = sum(parts, Decimal("0"))
    session.add(Settlement(
        encounter_id=encounter.id, resident_id=resident.id, facility_id=encounter.facility_id, village_code=village,
        in_county=encounter.facility_id is not None, policy_id="test", scheme="resident", year=on.year, seq=1,
        stay_date=on, settled_on=on, level="county", total=total, in_policy=total, out_of_policy=Decimal("0"),
        deductible=Decimal("0"), basic_pays=parts[0], critical_illness_pays=parts[1], assistance_pays=parts[2],
        patient_pays=parts[3], status=status,
        reversed_on=None if status == "settled" else on))  # not live: stopped counting that day (nets to 0)
    session.flush()


def build(session: Session) -> World:
    w = World()
    f.make_county(session)
    w.facilities = fac = f.make_care_facilities(session)
    r = w.residents
    r["elder"] = _resident(session, f.VILLAGE_A1, date(1950, 6, 1))
    r["woman"] = _resident(session, f.VILLAGE_A1, date(2000, 1, 1), "female")
    r["child"] = _resident(session, f.VILLAGE_A1, date(2020, 3, 1))
    r["baby_a"] = _resident(session, f.VILLAGE_A1, date(2025, 4, 10))
    r["turning"] = _resident(session, f.VILLAGE_A2, date(1960, 12, 31))
    r["adult"] = _resident(session, f.VILLAGE_A2, date(1961, 1, 1))
    r["teen"] = _resident(session, f.VILLAGE_B1, date(2010, 1, 1))
    r["grandma"] = _resident(session, f.VILLAGE_B1, date(1958, 1, 1), "female")
    r["baby_b"] = _resident(session, f.VILLAGE_B1, date(2025, 8, 1), "female")
    r["dead"] = _resident(session, f.VILLAGE_B1, date(1940, 1, 1))
    _died(session, r["dead"], date(2020, 1, 1))
    session.flush()

    # Outpatient visits 2025: A1 elder 3 at the village clinic + 1 at the county hospital (3/4 primary);
    # A2 adult 1 at the county hospital (0/1). TOWN_A: 3/5 = 60 %, not the villages' mean (75 % + 0 %) / 2.
    for on in (date(2025, 1, 5), date(2025, 2, 5), date(2025, 2, 20)):
        _encounter(session, r["elder"], fac["clinic_a1"], "outpatient", on)
    _encounter(session, r["elder"], fac["county"], "outpatient", date(2025, 3, 1))
    _encounter(session, r["adult"], fac["county"], "outpatient", date(2025, 6, 1))
    _encounter(session, r["adult"], fac["clinic_a2"], "outpatient", date(2024, 6, 1))  # 2024: not counted
    # Inpatient stays 2025: A1 elder 1 in the county; B1 grandma 1 in the county and 1 outside → county 2/3.
    stay_a = _encounter(session, r["elder"], fac["county"], "inpatient", date(2025, 3, 2))
    stay_b = _encounter(session, r["grandma"], fac["town_b"], "inpatient", date(2025, 6, 20))
    _encounter(session, r["grandma"], None, "inpatient", date(2025, 9, 9))

    # Referrals (counted by the Asia/Shanghai day requested): A1 up 2025-01-01 01:00 local (= 2024-12-31
    # 17:00 UTC: counts in January 2025); A1 up cancelled (not counted); B1 down in May 2025.
    def referral(resident, direction, at, status="requested", src="clinic_a1"):
        session.add(Referral(resident_id=resident.id, direction=direction, from_facility_id=fac[src].id,
                             to_facility_id=fac["county"].id, reason="测试", status=status, requested_at=at))

    referral(r["elder"], "up", datetime(2024, 12, 31, 17, 0, tzinfo=UTC))
    referral(r["elder"], "up", datetime(2025, 4, 1, 2, 0, tzinfo=UTC), status="cancelled")
    referral(r["grandma"], "down", datetime(2025, 5, 3, 2, 0, tzinfo=UTC), src="county")

    # Health checks: elder two annual_65 checks (counted once); turning one (64 on the day, 65 at year end:
    # counts); grandma only a general check → 65+ checked 2 of 3 (A 2/2, B 0/1).
    def check(resident, on, kind="annual_65"):
        session.add(HealthCheck(resident_id=resident.id, facility_id=fac["clinic_a1"].id, date=on, kind=kind))

    check(r["elder"], date(2025, 3, 1))
    check(r["elder"], date(2025, 9, 1))
    check(r["turning"], date(2025, 5, 1))
    check(r["grandma"], date(2025, 5, 1), "general")

    # Screenings: woman two prenatal screenings (one woman screened), one breast; grandma one cervical in
    # 2025 and one in 2024. Births 2025: baby_a (A1), baby_b (B1) → prenatal screening rate 1/2.
    def screening(resident, on, kind):
        session.add(Screening(resident_id=resident.id, facility_id=fac["town_a"].id, date=on, kind=kind,
                              result="negative"))

    screening(r["woman"], date(2025, 1, 15), "prenatal")
    screening(r["woman"], date(2025, 2, 15), "prenatal")
    screening(r["woman"], date(2025, 2, 2), "breast")
    screening(r["grandma"], date(2025, 6, 1), "cervical")
    screening(r["grandma"], date(2024, 6, 1), "cervical")

    # Chronic: hypertension — elder 4 clinic follow-ups, last in control (managed, controlled); adult 2,
    # last out of control (neither); grandma 4 phone follow-ups, last in control (controlled only).
    # County: managed 1/3, controlled 2/3. Diabetes — elder 4 clinic follow-ups, glucose 6.5: 1/1, 1/1 (the
    # woman, 25, is too young for the programme: 服务对象 35岁及以上).
    q = (date(2025, 2, 1), date(2025, 5, 1), date(2025, 8, 1), date(2025, 11, 1))
    f.make_chronic_patient(session, "hypertension", date(2024, 1, 1), resident=r["elder"],
                           follow_ups=[(d, 130, 80, None) for d in q])
    f.make_chronic_patient(session, "hypertension", date(2025, 1, 1), resident=r["adult"],
                           follow_ups=[(q[0], 130, 80, None), (q[1], 150, 95, None)])
    f.make_chronic_patient(session, "hypertension", date(2024, 1, 1), resident=r["grandma"],
                           follow_ups=[(d, 130, 80, None, "phone") for d in q])
    f.make_chronic_patient(session, "diabetes", date(2024, 6, 1), resident=r["elder"],
                           follow_ups=[(d, None, None, Decimal("6.5")) for d in q])
    # TB (surveillance.tb): the adult under treatment since 2025-03-01, two doses (a record the drill-downs and
    # the disclosure sweep reach through /surveillance/tb/treatments/{id}).
    f.make_tb_patient(session, start=date(2025, 3, 1), resident=r["adult"],
                      doses=[(date(2025, 3, 1), True), (date(2025, 3, 2), False)])

    # Vaccinations: child HepB1 on its birth day (timely) and MMR1 at 8 months; baby_a HepB1 two days
    # late (not timely) and DTaP1; baby_b none. 2025 doses: HepB 1, DTaP 1 → 2.
    def dose(resident, vaccine, n, on):
        session.add(Vaccination(resident_id=resident.id, vaccine=vaccine, dose=n, date=on, source="historical"))

    dose(r["child"], "HepB", 1, date(2020, 3, 1))
    dose(r["child"], "MMR", 1, date(2020, 11, 1))
    dose(r["baby_a"], "HepB", 1, date(2025, 4, 12))
    dose(r["baby_a"], "DTaP", 1, date(2025, 7, 10))
    session.flush()

    # Settlements: A1 stay (basic 1000.50, assistance 100, patient 399.50), B1 stay (basic 2000, critical
    # illness 500, patient 700), and a reversed row (never counted).
    _settlement(session, stay_a, r["elder"], f.VILLAGE_A1, date(2025, 3, 5), basic="1000.50", critical="0",
                assistance="100", patient="399.50")
    _settlement(session, stay_b, r["grandma"], f.VILLAGE_B1, date(2025, 7, 1), basic="2000", critical="500",
                assistance="0", patient="700")
    _settlement(session, stay_b, r["grandma"], f.VILLAGE_B1, date(2025, 6, 30), basic="9999", critical="0",
                assistance="0", patient="1", status="reversed")
    return w
