"""Small factories for tests: `make_county(session)`, `make_user(...)`, `make_resident(session, **over)`.

They write through the services where one exists, so tests see the same rules users do.
"""
from __future__ import annotations

import itertools
from datetime import date, datetime, time

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


def token_headers(session: Session, user) -> dict[str, str]:
    from weijian.accounts import service as accounts_service

    token, _ = accounts_service.issue_token(session=session, user=user, ttl_seconds=3600)
    return {"Authorization": f"Bearer {token}"}


def make_audit_event(session: Session, **values):
    """An audit event with the values given (e.g. a time in the past), appended through the hash chain: the
    only way rows get into audit_events."""
    from weijian.accounts import audit_chain

    row = dict(user_id=None, username="someone", role="village_doctor", action="read", entity_type="resident",
               entity_id=None, resident_id=None, basis="own_village", ip=None, detail=None) | values
    [event] = audit_chain.append(session, [row], objects=True)
    return event


def new_id_number(birth: date | None = None, male: bool = True, division: str = "421124") -> str:
    """A valid identity number not handed out before in this test run."""
    n = next(_seq)
    birth = birth or date.fromordinal(date(1950, 1, 1).toordinal() + n * 37 % 25000)
    return make_id_number(division, birth, (n % 500) * 2 + (1 if male else 0))


def make_resident(session: Session, actor=None, **over):
    """A resident registered through residents.service.create (by a system actor unless one is given):
    village VILLAGE_A1, a fresh valid identity number agreeing with any sex/birth_date given; any field
    can be overridden (`id_number=None` for a resident without one). Records alike (the default name in one
    household, or on one birth date) are registered without the probable-duplicate warning, unless
    `confirm_probable_duplicate=False` is given: tests of other rules make such records on purpose."""
    from datetime import timedelta

    from weijian.core.actor import Actor
    from weijian.core.commands import build
    from weijian.residents import service as residents_service

    n = next(_seq)
    values = dict(name="测试居民", village_code=VILLAGE_A1, insurance_scheme="resident", confirm_probable_duplicate=True)
    birth = over.get("birth_date")
    birth = date.fromisoformat(birth) if isinstance(birth, str) else birth
    if "id_number" not in over:
        values["id_number"] = new_id_number(birth=birth, male=over.get("sex", "male") == "male")
    elif over["id_number"] is None:
        values.update(sex="male", birth_date=date(1970, 1, 1) + timedelta(days=n))
    values.update(over)
    return residents_service.create(session=session, resident_in=build(residents_service.ResidentCreate, values), actor=actor or Actor.system("test"))


def csrf_from(html: str) -> str:
    """The CSRF token of the first form on a page."""
    import re

    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no csrf_token on the page"
    return match.group(1)


def totp_code(client, username: str, secret: str | None = None) -> str:
    """A fresh second-factor code of a user (secret from the database unless given): the current step's,
    or the next one when the current step was used already (a code is good once)."""
    from weijian.accounts import second_factor
    from weijian.accounts.models import User
    from weijian.core import clock

    with client.app.state.sessionmaker() as db:
        user = db.query(User).filter_by(username=username).one()
        secret, last = secret or user.totp_secret, user.totp_last_step
    step = int(clock.now().timestamp()) // second_factor.STEP_SECONDS
    return second_factor.code_at(secret, 1 if last is not None and last >= step else 0)


def set_up_totp(client) -> str:
    """Set up the logged-in user's second factor through its page; returns the secret."""
    import re

    from weijian.accounts import second_factor

    page = client.get("/account/totp")
    secret = re.search(r'name="secret" value="([A-Z2-7]+)"', page.text).group(1)
    signature = re.search(r'name="signature" value="([0-9a-f]+)"', page.text).group(1)
    r = client.post("/account/totp", data={"secret": secret, "signature": signature, "csrf_token": csrf_from(page.text),
                                           "code": second_factor.code_at(secret)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return secret


def page_login(client, username: str, password: str = PASSWORD):
    """Log a TestClient in through the log-in form (pages then see the session); returns the response.
    A user with a second factor gives its code; one whose role requires it and has none sets it up."""
    page = client.get("/login")
    response = client.post("/login", data={"username": username, "password": password, "next": "/",
                                           "csrf_token": csrf_from(page.text)}, follow_redirects=False)
    assert response.status_code == 303, response.text
    if response.headers["location"].startswith("/login/totp"):
        form = client.get(response.headers["location"])
        step = client.post("/login/totp", data={"code": totp_code(client, username), "next": "/",
                                                "csrf_token": csrf_from(form.text)}, follow_redirects=False)
        assert step.status_code == 303, step.text
    home = client.get("/", follow_redirects=False)
    if home.status_code == 303 and home.headers["location"] == "/account/totp":
        set_up_totp(client)
    return response


def make_chronic_patient(session: Session, program: str = "hypertension", registered_on: date = date(2024, 1, 1),
                         follow_ups=(), resident=None, closed_on: date | None = None, **resident_over):
    """A resident (made unless given) registered in a chronic-disease programme through the chronic service,
    with follow-ups — tuples (date, sbp, dbp, fasting_glucose[, method]) — and optionally closed.
    Returns the registration."""
    from weijian.care.chronic import service as chronic
    from weijian.care.chronic.schemas import ChronicClose, ChronicRegister, FollowUpCreate
    from weijian.core.actor import Actor
    from weijian.core.commands import build

    system = Actor.system("test")
    # A patient of the programmes' ages (35 and over, under 65 until 2035) unless the test says otherwise.
    resident = resident or make_resident(session, **{"birth_date": date(1970, 1, 1), **resident_over})
    registration = chronic.register(session=session, registration_in=build(
        ChronicRegister, resident_id=resident.id, program=program, registered_on=registered_on),
        actor=system, today=date(2100, 1, 1))
    for on, sbp, dbp, glucose, *method in follow_ups:
        chronic.record_follow_up(session=session, registration_id=registration.id, follow_up_in=build(
            FollowUpCreate, date=on, sbp=sbp, dbp=dbp, fasting_glucose=glucose,
            method=method[0] if method else "clinic"), actor=system, today=date(2100, 1, 1))
    if closed_on is not None:
        chronic.close(session=session, registration_id=registration.id,
                      close_in=build(ChronicClose, closed_on=closed_on, reason="moved_out"), actor=system,
                      today=date(2100, 1, 1))
    return registration


def make_care_facilities(session: Session) -> dict[str, Facility]:
    """One facility per care tier on the test county (make_county first): village clinics of VILLAGE_A1,
    VILLAGE_A2 and VILLAGE_B1, township centres of TOWN_A and TOWN_B, the county general and TCM hospitals,
    and the CDC (not a care tier)."""
    spec = {
        "clinic_a1": dict(name="东冲村卫生室", type="village_clinic", orgunit_code=VILLAGE_A1, grade="ungraded"),
        "clinic_a2": dict(name="西河村卫生室", type="village_clinic", orgunit_code=VILLAGE_A2, grade="ungraded"),
        "clinic_b1": dict(name="南岭村卫生室", type="village_clinic", orgunit_code=VILLAGE_B1, grade="ungraded"),
        "town_a": dict(name="温泉镇卫生院", type="township_centre", orgunit_code=TOWN_A),
        "town_b": dict(name="南河镇卫生院", type="township_centre", orgunit_code=TOWN_B),
        "county": dict(name="英山县人民医院", type="county_general", orgunit_code=COUNTY, grade="level2_a",
                       community_role="lead"),
        "tcm": dict(name="英山县中医医院", type="county_tcm", orgunit_code=COUNTY, grade="level2_a"),
        "cdc": dict(name="英山县疾控中心", type="cdc", orgunit_code=COUNTY, grade="ungraded"),
    }
    return {key: make_facility(session, **values) for key, values in spec.items()}


def make_clinician(session: Session, facility: Facility, role: str | None = None):
    """A user working at `facility` (role and scope from its tier), and their Actor: (user, actor)."""
    from weijian.accounts import service as accounts_service

    role = role or {"village_clinic": "village_doctor", "township_centre": "township_doctor"}.get(
        facility.type, "county_doctor")
    unit = {"village_doctor": facility.orgunit_code, "township_doctor": facility.orgunit_code}.get(role, COUNTY)
    user = make_user(session, role, unit, facility_id=facility.id)
    return user, accounts_service.actor_for(user)


def make_vaccination_point(session: Session, facility: Facility | None = None, **over):
    """A vaccination point at `facility` (a new township centre of TOWN_A unless given), serving the
    facility's own org unit unless `serves_orgunit_code` is given."""
    from weijian.immunization.models import VaccinationPoint

    facility = facility or make_facility(session, type="township_centre", orgunit_code=TOWN_A)
    values = dict(facility_id=facility.id, name=f"{facility.name}接种门诊", serves_orgunit_code=facility.orgunit_code,
                  active=True, min_days_of_stock=14)
    values.update(over)
    point = VaccinationPoint(**values)
    session.add(point)
    session.flush()
    return point


def make_vaccine_lot(session: Session, vaccine: str = "HepB", point=None, quantity: int = 0, **over):
    """A vaccine lot (expiring in a year unless `expiry_date` is given), with `quantity` doses on hand at
    `point` when one is given (written directly: no movement)."""
    from datetime import timedelta

    from weijian.core import clock
    from weijian.immunization.models import StockBalance, VaccineLot

    n = next(_seq)
    values = dict(vaccine=vaccine, product=f"{vaccine}疫苗", manufacturer="测试生物制品公司", lot_number=f"L{n:06d}",
                  expiry_date=clock.today() + timedelta(days=365), doses_per_vial=1)
    values.update(over)
    lot = VaccineLot(**values)
    session.add(lot)
    session.flush()
    if point is not None:
        session.add(StockBalance(point_id=point.id, lot_id=lot.id, quantity=quantity))
        session.flush()
    return lot


def make_stay(session: Session, resident, facility=None, end_date: date | None = date(2024, 3, 10),
              total="5000.00", in_policy=None, type: str = "inpatient", start_date: date | None = None,
              referral_direction: str | None = None, outside_facility_name: str | None = None):
    """An inpatient stay (care Encounter) written directly, so no discharge hook runs: discharged on
    `end_date` (None: still admitted) at `facility` (None: outside the county), costs as text or Decimal
    (`in_policy` defaults to the total); `referral_direction` "down" admits it on a downward referral."""
    from datetime import timedelta
    from decimal import Decimal

    from weijian.care.models import Encounter, Referral

    referral_id = None
    if referral_direction is not None:
        frm = facility if facility is not None else make_facility(session)
        referral = Referral(resident_id=resident.id, direction=referral_direction, from_facility_id=frm.id,
                            to_facility_id=facility.id if facility is not None else None, reason="test",
                            status="completed")
        session.add(referral)
        session.flush()
        referral_id = referral.id
    start = start_date or ((end_date or date(2024, 3, 10)) - timedelta(days=5))
    encounter = Encounter(resident_id=resident.id, facility_id=facility.id if facility is not None else None,
                          outside_facility_name=outside_facility_name or (None if facility is not None else "武汉协和医院"),
                          type=type, start_date=start, end_date=end_date, primary_diagnosis="J18.9",
                          total_cost=Decimal(str(total)), in_policy_cost=Decimal(str(in_policy if in_policy is not None else total)),
                          referral_id=referral_id, created_by="test")
    session.add(encounter)
    session.flush()
    return encounter


def make_settlement(session: Session, resident, facility: Facility | None = None, *, stay_date: date = date(2025, 3, 1),
                    total: str = "5000.00", basic_pays: str | None = None, critical_illness_pays: str = "0.00",
                    assistance_pays: str = "0.00", status: str = "settled", settled_on: date | None = None,
                    pay_later: bool = False, stay_type: str = "inpatient", reversed_on: date | None = None):
    """A discharged stay of `resident` (make_stay: at `facility`; None: outside the county) and a settlement
    row for it, written directly (no cascade: tests of figures built on settlements choose the amounts).
    basic_pays defaults to 80 % of the total; the patient pays the rest, so the parts add up. settled_on
    defaults to the stay's date; a reversed or superseded row stops counting (reversed_on) on the day it
    was settled unless told otherwise, so it nets to nothing in the figures."""
    from decimal import Decimal

    from sqlalchemy import func, select

    from weijian.settlement.models import Settlement

    amount = Decimal(total)
    basic = Decimal(basic_pays) if basic_pays is not None else (amount * Decimal("0.8")).quantize(Decimal("0.01"))
    ci, assist = Decimal(critical_illness_pays), Decimal(assistance_pays)
    encounter = make_stay(session, resident, facility, end_date=stay_date, total=amount, type=stay_type,
                          start_date=stay_date if stay_type == "day_surgery" else None)
    seq = (session.scalar(select(func.max(Settlement.seq)).where(Settlement.resident_id == resident.id,
                                                                 Settlement.year == stay_date.year)) or 0) + 1
    level = "city" if facility is None else ("township" if facility.type in ("township_centre", "village_clinic",
                                                                             "community_centre") else "county")
    zero = Decimal("0.00")
    settlement = Settlement(
        encounter_id=encounter.id, resident_id=resident.id, facility_id=facility.id if facility else None,
        village_code=resident.village_code, in_county=facility is not None, policy_id="huanggang-resident-2022",
        scheme="resident", benefit_group=None, year=stay_date.year, seq=seq, stay_date=stay_date,
        settled_on=settled_on or stay_date, level=level, downward_referral=False, total=amount, in_policy=amount,
        out_of_policy=zero, deductible=zero, basic_pays=basic, critical_illness_pays=ci, assistance_pays=assist,
        patient_pays=amount - basic - ci - assist, pay_later=pay_later, status=status, settled_by="test",
        reversed_on=reversed_on or (None if status == "settled" else settled_on or stay_date))
    session.add(settlement)
    session.flush()
    return settlement


def make_tb_patient(session: Session, start: date | None = None, notified_at: datetime | None = None, resident=None,
                    supervisor_kind: str = "medical", regimen: str = "2HRZE/4HR", doses=(), **resident_over):
    """A resident (made unless given) registered under TB treatment through surveillance.tb's service, started
    on `start` (default: 10 days ago) and notified at `notified_at` (default: noon of the start day), with
    `doses` — (date, taken) pairs. Returns the treatment."""
    from datetime import timedelta

    from weijian.core import clock
    from weijian.core.actor import Actor
    from weijian.core.commands import build
    from weijian.surveillance.tb import service as tb
    from weijian.surveillance.tb.schemas import DoseRecord, TreatmentCreate

    system = Actor.system("test")
    start = start or clock.today() - timedelta(days=10)
    notified_at = notified_at or clock.at(start, time(12))
    resident = resident or make_resident(session, **{"birth_date": date(1980, 5, 5), **resident_over})
    far = clock.at(date(2100, 1, 1))
    treatment = tb.register_treatment(session=session, treatment_in=build(
        TreatmentCreate, resident_id=resident.id, notified_at=notified_at.isoformat(), start_date=start,
        regimen=regimen, supervisor_kind=supervisor_kind, supervisor_name="督导员"), actor=system, now=far)
    for on, taken in doses:
        tb.record_dose(session=session, treatment_id=treatment.id, dose_in=build(DoseRecord, date=on, taken=taken),
                       actor=system, today=date(2100, 1, 1))
    return treatment
