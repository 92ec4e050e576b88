"""Chronic-disease management rules: registration, follow-up validation and control classification, the
due/overdue worklist, scope, and the two rates with their roll-up, on hand-made data."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests import factories as f
from weijian.accounts import service as accounts_service
from weijian.accounts.models import AuditEvent
from weijian.care.chronic import queries
from weijian.care.chronic import rules as chronic_rules
from weijian.care.chronic import service as chronic
from weijian.care.chronic.schemas import ChronicClose, ChronicRegister, FollowUpCreate
from weijian.care.models import ChronicRegistration, Diagnosis, Encounter, FollowUp
from weijian.core.actor import Actor
from weijian.core.commands import build
from weijian.core.errors import Forbidden, InvalidInput, InvalidState, NotFound
from weijian.residents.models import Resident

TODAY = date(2025, 12, 31)


@pytest.fixture()
def county(session):
    return f.make_county(session)


def actor_of(session, role: str, orgunit_code: str, **over):
    return accounts_service.actor_for(f.make_user(session, role, orgunit_code, **over))


@pytest.fixture()
def village_doctor(session, county):
    return actor_of(session, "village_doctor", f.VILLAGE_A1)


@pytest.fixture()
def township_doctor(session, county):
    return actor_of(session, "township_doctor", f.TOWN_A)


def follow_up_count(session) -> int:
    return session.scalar(select(func.count()).select_from(FollowUp))


def refused(exc: pytest.ExceptionInfo) -> dict[str, str]:
    return {e.field: e.reason_key for e in exc.value.errors}


# --- the rules file -------------------------------------------------------------------------------
def test_rules_file_names_its_source_and_holds_the_norms():
    text = chronic_rules.RULES_FILE.read_text(encoding="utf-8")
    assert "国家基本公共卫生服务规范（第三版）" in text.split("version:")[0]
    r = chronic.rules()
    assert r.interval_months == 3 and r.overdue_grace_days == 14
    assert r.programs["hypertension"].follow_ups_per_year == 4
    assert r.programs["diabetes"].follow_ups_per_year == 4
    assert r.face_to_face == ("clinic", "home")


def test_a_broken_rules_file_is_refused_naming_the_key(tmp_path):
    bad = chronic_rules.RULES_FILE.read_text(encoding="utf-8").replace("{measure: dbp, below: 90}",
                                                                 "{measure: fasting_glucose, below: 90}")
    path = tmp_path / "chronic_programs.yaml"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(ValueError, match=r"programs\.hypertension\.control\[1\]\.measure"):
        chronic_rules.load_rules(path)


@pytest.mark.parametrize(("sbp", "dbp", "expected"), [
    (139, 89, True), (140, 89, False), (139, 90, False), (140, 90, False), (100, 60, True)])
def test_blood_pressure_is_in_control_below_140_over_90(sbp, dbp, expected):
    assert chronic.rules().programs["hypertension"].in_control({"sbp": sbp, "dbp": dbp}) is expected


@pytest.mark.parametrize(("glucose", "expected"), [("6.9", True), ("7.0", False), ("7.1", False), ("4.0", True)])
def test_fasting_glucose_is_in_control_below_7(glucose, expected):
    assert chronic.rules().programs["diabetes"].in_control({"fasting_glucose": Decimal(glucose)}) is expected


def test_a_quarter_requires_one_follow_up_and_a_month_is_refused():
    from weijian.core.periods import parse_period

    program = chronic.rules().programs["hypertension"]
    assert program.required_follow_ups(parse_period("2025")) == 4
    assert program.required_follow_ups(parse_period("2025Q2")) == 1
    with pytest.raises(InvalidInput) as exc:
        program.required_follow_ups(parse_period("202503"))
    assert exc.value.field == "period"


# --- registration ---------------------------------------------------------------------------------
def test_manual_registration_is_audited(session, village_doctor):
    resident = f.make_resident(session, birth_date=date(1970, 1, 1))
    reg = chronic.register(session=session, registration_in=build(
        ChronicRegister, resident_id=resident.id, program="hypertension", registered_on="2025-03-01"),
        actor=village_doctor, today=TODAY)
    assert (reg.program, reg.source, reg.status, reg.registered_on) == ("hypertension", "manual", "active",
                                                                         date(2025, 3, 1))
    event = session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "chronic_registration")).one()
    assert (event.action, event.resident_id, event.basis) == ("create", resident.id, "own_village")


def test_second_active_registration_in_a_programme_is_refused(session, village_doctor):
    resident = f.make_resident(session, birth_date=date(1970, 1, 1))
    chronic.register(session=session, registration_in=build(
        ChronicRegister, resident_id=resident.id, program="hypertension", registered_on=TODAY),
        actor=village_doctor, today=TODAY)
    with pytest.raises(InvalidInput) as exc:
        chronic.register(session=session, registration_in=build(
            ChronicRegister, resident_id=resident.id, program="hypertension", registered_on=TODAY),
            actor=village_doctor, today=TODAY)
    assert refused(exc) == {"program": "care.chronic.errors.already_registered"}
    # another programme is fine
    chronic.register(session=session, registration_in=build(
        ChronicRegister, resident_id=resident.id, program="diabetes", registered_on=TODAY),
        actor=village_doctor, today=TODAY)


def test_registration_in_the_future_or_before_birth_is_refused(session, village_doctor):
    resident = f.make_resident(session, birth_date=date(1960, 5, 1))
    with pytest.raises(InvalidInput) as exc:
        chronic.register(session=session, registration_in=build(
            ChronicRegister, resident_id=resident.id, program="diabetes", registered_on=date(2026, 1, 1)),
            actor=village_doctor, today=TODAY)
    assert refused(exc) == {"registered_on": "care.chronic.errors.date_future"}
    with pytest.raises(InvalidInput) as exc:
        chronic.register(session=session, registration_in=build(
            ChronicRegister, resident_id=resident.id, program="diabetes", registered_on=date(1960, 4, 30)),
            actor=village_doctor, today=TODAY)
    assert refused(exc) == {"registered_on": "care.chronic.errors.before_birth"}
    assert session.scalar(select(func.count()).select_from(ChronicRegistration)) == 0


def test_registration_names_every_bad_field(session, village_doctor):
    with pytest.raises(InvalidInput) as exc:
        chronic.register(session=session, registration_in=build(
            ChronicRegister, resident_id="abc", program="asthma", registered_on="2025-02-30"),
            actor=village_doctor, today=TODAY)
    assert refused(exc) == {"resident_id": "care.chronic.errors.resident_not_found",
                            "program": "care.chronic.errors.program_unknown",
                            "registered_on": "core.errors.validation.date_parsing"}


def test_resident_outside_scope_cannot_be_registered(session, village_doctor):
    other = f.make_resident(session, village_code=f.VILLAGE_B1, birth_date=date(1970, 1, 1))
    with pytest.raises(InvalidInput) as exc:
        chronic.register(session=session, registration_in=build(
            ChronicRegister, resident_id=other.id, program="hypertension", registered_on=TODAY),
            actor=village_doctor, today=TODAY)
    assert refused(exc) == {"resident_id": "care.chronic.errors.resident_not_found"}


def test_deceased_resident_cannot_be_registered(session, village_doctor):
    resident = f.make_resident(session, birth_date=date(1970, 1, 1))
    resident.status = "deceased"
    session.flush()
    with pytest.raises(InvalidInput) as exc:
        chronic.register(session=session, registration_in=build(
            ChronicRegister, resident_id=resident.id, program="hypertension", registered_on=TODAY),
            actor=village_doctor, today=TODAY)
    assert refused(exc) == {"resident_id": "care.chronic.errors.resident_inactive"}


def test_registration_from_diagnosis_is_idempotent(session, village_doctor):
    resident = f.make_resident(session, birth_date=date(1970, 1, 1))

    def visit(on: date) -> int:
        e = Encounter(resident_id=resident.id, type="outpatient", start_date=on, primary_diagnosis="I10",
                      diagnoses=[Diagnosis(seq=1, code="I10")])
        session.add(e)
        session.flush()
        return e.id

    first = chronic.register_from_diagnosis(session=session, resident_id=resident.id, program="hypertension",
                                            on=date(2025, 4, 1), encounter_id=visit(date(2025, 4, 1)), facility_id=None,
                                            actor=village_doctor)
    again = chronic.register_from_diagnosis(session=session, resident_id=resident.id, program="hypertension",
                                            on=date(2025, 6, 1), encounter_id=visit(date(2025, 6, 1)), facility_id=None,
                                            actor=village_doctor)
    assert again.id == first.id and again.registered_on == date(2025, 4, 1) and first.source == "diagnosis"
    assert session.scalar(select(func.count()).select_from(ChronicRegistration)) == 1
    # once closed, a new diagnosis starts a new period of management
    chronic.close(session=session, registration_id=first.id, close_in=build(
        ChronicClose, closed_on=date(2025, 7, 1), reason="other"),
        actor=village_doctor, today=TODAY)
    third = chronic.register_from_diagnosis(session=session, resident_id=resident.id, program="hypertension",
                                            on=date(2025, 9, 1), encounter_id=visit(date(2025, 9, 1)), facility_id=None,
                                            actor=village_doctor)
    assert third.id != first.id


def test_an_encounter_with_a_hypertension_diagnosis_registers_the_patient(session, county):
    clinic = f.make_facility(session, type="village_clinic", orgunit_code=f.VILLAGE_A1, community_role="member")
    doctor = actor_of(session, "village_doctor", f.VILLAGE_A1, facility_id=clinic.id)
    resident = f.make_resident(session, birth_date=date(1970, 1, 1))
    from weijian.care.records import service as records
    from weijian.care.records.schemas import EncounterCreate
    from weijian.core.commands import build

    visit = build(EncounterCreate, {"resident_id": resident.id, "type": "outpatient", "start_date": "2025-05-06",
                                    "diagnoses": ["I10"]})
    encounter = records.create_encounter(session=session, actor=doctor, encounter_in=visit, today=TODAY)
    reg = session.scalars(select(ChronicRegistration).where(ChronicRegistration.resident_id == resident.id)).one()
    assert (reg.program, reg.source, reg.encounter_id, reg.registered_on, reg.facility_id) == (
        "hypertension", "diagnosis", encounter.id, date(2025, 5, 6), clinic.id)


def test_closing_checks_its_date_and_reason(session, village_doctor):
    reg = f.make_chronic_patient(session, registered_on=date(2025, 1, 10),
                                 follow_ups=[(date(2025, 4, 1), 130, 80, None)])
    with pytest.raises(InvalidInput) as exc:
        chronic.close(session=session, registration_id=reg.id, close_in=build(
            ChronicClose, closed_on=date(2025, 3, 1), reason="nope"),
            actor=village_doctor, today=TODAY)
    assert refused(exc) == {"reason": "care.chronic.errors.reason_unknown",
                            "closed_on": "care.chronic.errors.before_last_follow_up"}
    chronic.close(session=session, registration_id=reg.id, close_in=build(
        ChronicClose, closed_on=date(2025, 4, 2), reason="died"),
        actor=village_doctor, today=TODAY)
    assert (reg.status, reg.closed_on) == ("closed", date(2025, 4, 2))
    with pytest.raises(InvalidState):
        chronic.close(session=session, registration_id=reg.id, close_in=build(
            ChronicClose, closed_on=date(2025, 4, 3), reason="died"),
            actor=village_doctor, today=TODAY)


# --- follow-ups -----------------------------------------------------------------------------------
def test_follow_up_is_recorded_with_its_classification(session, village_doctor):
    reg = f.make_chronic_patient(session, registered_on=date(2025, 1, 10))
    fu = chronic.record_follow_up(session=session, registration_id=reg.id, follow_up_in=build(
        FollowUpCreate, date="2025-04-01", sbp="139", dbp="89", fasting_glucose=None, method="home"),
        actor=village_doctor, today=TODAY)
    assert (fu.sbp, fu.dbp, fu.in_control, fu.method, fu.resident_id) == (139, 89, True, "home", reg.resident_id)
    fu2 = chronic.record_follow_up(session=session, registration_id=reg.id, follow_up_in=build(
        FollowUpCreate, date="2025-07-01", sbp=140, dbp=89, fasting_glucose=None, method="clinic"),
        actor=village_doctor, today=TODAY)
    assert fu2.in_control is False


def test_follow_up_dated_in_the_future_is_refused_and_nothing_changes(session, village_doctor):
    reg = f.make_chronic_patient(session, registered_on=date(2025, 1, 10))
    with pytest.raises(InvalidInput) as exc:
        chronic.record_follow_up(session=session, registration_id=reg.id, follow_up_in=build(
            FollowUpCreate, date=date(2026, 1, 1), sbp=120, dbp=80, fasting_glucose=None, method="clinic"),
            actor=village_doctor, today=TODAY)
    assert refused(exc) == {"date": "care.chronic.errors.date_future"}
    assert follow_up_count(session) == 0


def test_follow_up_before_registration_is_refused(session, village_doctor):
    reg = f.make_chronic_patient(session, registered_on=date(2025, 1, 10))
    with pytest.raises(InvalidInput) as exc:
        chronic.record_follow_up(session=session, registration_id=reg.id, follow_up_in=build(
            FollowUpCreate, date=date(2025, 1, 9), sbp=120, dbp=80, fasting_glucose=None, method="clinic"),
            actor=village_doctor, today=TODAY)
    assert refused(exc) == {"date": "care.chronic.errors.before_registration"}
    assert follow_up_count(session) == 0


def test_follow_up_without_the_programme_measurement_is_refused(session, village_doctor):
    hypertension = f.make_chronic_patient(session, registered_on=date(2025, 1, 10))
    with pytest.raises(InvalidInput) as exc:
        chronic.record_follow_up(session=session, registration_id=hypertension.id, follow_up_in=build(
            FollowUpCreate, date=date(2025, 2, 1), sbp=None, dbp=" ", fasting_glucose="6.1", method="clinic"),
            actor=village_doctor, today=TODAY)
    assert refused(exc) == {"sbp": "care.chronic.errors.measurement_required",
                            "dbp": "care.chronic.errors.measurement_required"}
    diabetes = f.make_chronic_patient(session, program="diabetes", registered_on=date(2025, 1, 10))
    with pytest.raises(InvalidInput) as exc:
        chronic.record_follow_up(session=session, registration_id=diabetes.id, follow_up_in=build(
            FollowUpCreate, date=date(2025, 2, 1), sbp=120, dbp=80, fasting_glucose="", method="clinic"),
            actor=village_doctor, today=TODAY)
    assert refused(exc) == {"fasting_glucose": "care.chronic.errors.measurement_required"}
    assert follow_up_count(session) == 0


def test_implausible_measurements_are_refused_naming_the_field(session, village_doctor):
    reg = f.make_chronic_patient(session, program="diabetes", registered_on=date(2025, 1, 10))
    with pytest.raises(InvalidInput) as exc:
        chronic.record_follow_up(session=session, registration_id=reg.id, follow_up_in=build(
            FollowUpCreate, date=date(2025, 2, 1), sbp="12x", dbp=400, fasting_glucose="6.95", method="fax"),
            actor=village_doctor, today=TODAY)
    assert refused(exc) == {"sbp": "care.chronic.errors.measurement_invalid",
                            "dbp": "care.chronic.errors.measurement_range",
                            "fasting_glucose": "care.chronic.errors.measurement_decimals",
                            "method": "care.chronic.errors.method_unknown"}
    with pytest.raises(InvalidInput) as exc:
        chronic.record_follow_up(session=session, registration_id=reg.id, follow_up_in=build(
            FollowUpCreate, date=date(2025, 2, 1), sbp=80, dbp=90, fasting_glucose="6.2", method="clinic"),
            actor=village_doctor, today=TODAY)
    assert refused(exc) == {"dbp": "care.chronic.errors.dbp_not_below_sbp"}
    assert follow_up_count(session) == 0


def test_second_follow_up_on_the_same_day_and_after_closing_are_refused(session, village_doctor):
    reg = f.make_chronic_patient(session, registered_on=date(2025, 1, 10),
                                 follow_ups=[(date(2025, 3, 1), 130, 80, None)], closed_on=date(2025, 6, 30))
    for on, key in ((date(2025, 3, 1), "duplicate_date"), (date(2025, 7, 1), "after_closed")):
        with pytest.raises(InvalidInput) as exc:
            chronic.record_follow_up(session=session, registration_id=reg.id, follow_up_in=build(
                FollowUpCreate, date=on, sbp=120, dbp=80, fasting_glucose=None, method="clinic"),
                actor=village_doctor, today=TODAY)
        assert refused(exc) == {"date": f"care.chronic.errors.{key}"}
    assert follow_up_count(session) == 1


def test_follow_up_for_a_registration_outside_scope_does_not_exist(session, village_doctor):
    reg = f.make_chronic_patient(session, registered_on=date(2025, 1, 10), village_code=f.VILLAGE_A2)
    with pytest.raises(NotFound):
        chronic.record_follow_up(session=session, registration_id=reg.id, follow_up_in=build(
            FollowUpCreate, date=date(2025, 2, 1), sbp=120, dbp=80, fasting_glucose=None, method="clinic"),
            actor=village_doctor, today=TODAY)


def test_bureau_staff_cannot_record_follow_ups(session, county):
    bureau = actor_of(session, "bureau_admin", f.COUNTY)
    reg = f.make_chronic_patient(session, registered_on=date(2025, 1, 10))
    with pytest.raises(Forbidden):
        chronic.record_follow_up(session=session, registration_id=reg.id, follow_up_in=build(
            FollowUpCreate, date=date(2025, 2, 1), sbp=120, dbp=80, fasting_glucose=None, method="clinic"),
            actor=bureau, today=TODAY)


# --- worklist -------------------------------------------------------------------------------------
def due_of(session, actor, as_of, **kw):
    return {i.registration_id: i for i in chronic.due_follow_ups(session=session, actor=actor, as_of=as_of, **kw)}


def test_next_follow_up_is_due_three_months_after_registration(session, village_doctor):
    reg = f.make_chronic_patient(session, registered_on=date(2025, 1, 10))
    # due on 2025-04-10; shown as due 14 days before; overdue after 14 days of grace
    for as_of, status in ((date(2025, 3, 26), "ok"), (date(2025, 3, 27), "due"), (date(2025, 4, 10), "due"),
                          (date(2025, 4, 24), "due"), (date(2025, 4, 25), "overdue")):
        item = due_of(session, village_doctor, as_of)[reg.id]
        assert (item.last_follow_up, item.next_due, item.status) == (None, date(2025, 4, 10), status), as_of
    assert due_of(session, village_doctor, date(2025, 5, 10))[reg.id].days_overdue == 30


def test_due_date_counts_from_the_last_face_to_face_follow_up(session, village_doctor):
    reg = f.make_chronic_patient(session, registered_on=date(2025, 1, 10), follow_ups=[
        (date(2025, 3, 1), 130, 80, None, "clinic"), (date(2025, 5, 1), 130, 80, None, "phone"),
        (date(2025, 11, 30), 130, 80, None, "home")])
    item = due_of(session, village_doctor, date(2025, 6, 15))[reg.id]
    # the phone call on 05-01 does not count: due 3 months after 03-01; follow-ups after as_of are ignored
    assert (item.last_follow_up, item.next_due, item.overdue_from, item.status) == (
        date(2025, 3, 1), date(2025, 6, 1), date(2025, 6, 16), "due")
    item = due_of(session, village_doctor, date(2025, 12, 1))[reg.id]
    assert (item.last_follow_up, item.next_due, item.status) == (date(2025, 11, 30), date(2026, 2, 28), "ok")


def test_worklist_holds_only_patients_under_management_in_scope(session, village_doctor, township_doctor):
    mine = f.make_chronic_patient(session, registered_on=date(2025, 1, 1))
    diabetes = f.make_chronic_patient(session, program="diabetes", registered_on=date(2025, 1, 1))
    neighbour = f.make_chronic_patient(session, registered_on=date(2025, 1, 1), village_code=f.VILLAGE_A2)
    f.make_chronic_patient(session, registered_on=date(2025, 1, 1), village_code=f.VILLAGE_B1)
    closed = f.make_chronic_patient(session, registered_on=date(2025, 1, 1), closed_on=date(2025, 5, 1))
    later = f.make_chronic_patient(session, registered_on=date(2025, 7, 1))
    dead = f.make_chronic_patient(session, registered_on=date(2025, 1, 1))
    session.get(Resident, dead.resident_id).status = "deceased"
    session.flush()
    as_of = date(2025, 6, 1)
    assert set(due_of(session, village_doctor, as_of)) == {mine.id, diabetes.id}
    assert set(due_of(session, village_doctor, as_of, program="diabetes")) == {diabetes.id}
    assert set(due_of(session, township_doctor, as_of)) == {mine.id, diabetes.id, neighbour.id}
    assert set(due_of(session, township_doctor, as_of, village_code=f.VILLAGE_A2)) == {neighbour.id}
    # a closed registration was on the list before it was closed; a later one is not yet
    assert closed.id in due_of(session, village_doctor, date(2025, 4, 30))
    assert later.id not in due_of(session, village_doctor, as_of)
    assert session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "chronic_worklist")).first()


def test_worklist_puts_overdue_first(session, village_doctor):
    ok = f.make_chronic_patient(session, registered_on=date(2025, 5, 1))
    overdue = f.make_chronic_patient(session, registered_on=date(2025, 1, 1))
    due = f.make_chronic_patient(session, registered_on=date(2025, 3, 10))
    items = chronic.due_follow_ups(session=session, actor=village_doctor, as_of=date(2025, 6, 1))
    assert [(i.registration_id, i.status) for i in items] == [(overdue.id, "overdue"), (due.id, "due"),
                                                               (ok.id, "ok")]
    only = chronic.due_follow_ups(session=session, actor=village_doctor, as_of=date(2025, 6, 1),
                                  statuses=["overdue"])
    assert [i.registration_id for i in only] == [overdue.id]


# --- the rates ------------------------------------------------------------------------------------
@pytest.fixture()
def rates_data(session, county):
    """Hypertension and diabetes patients in three villages of two townships (see each line)."""
    d = date
    hp = "hypertension"
    # village A1
    p1 = f.make_chronic_patient(session, hp, d(2024, 6, 1), [  # 4 face to face; latest in control
        (d(2025, 2, 1), 150, 95, None), (d(2025, 5, 1), 145, 92, None), (d(2025, 8, 1), 138, 88, None),
        (d(2025, 11, 1), 130, 80, None)])
    f.make_chronic_patient(session, hp, d(2024, 1, 10), [  # 3 face to face + a phone call (latest, in control)
        (d(2025, 1, 5), 150, 90, None), (d(2025, 4, 5), 150, 90, None), (d(2025, 7, 5), 150, 90, None),
        (d(2025, 11, 5), 135, 85, None, "phone")])
    f.make_chronic_patient(session, hp, d(2025, 3, 1), [  # registered in the year, 4 visits, latest 140/85
        (d(2025, 3, 15), 130, 80, None), (d(2025, 6, 15), 130, 80, None), (d(2025, 9, 15), 130, 80, None),
        (d(2025, 12, 15), 140, 85, None)])
    f.make_chronic_patient(session, hp, d(2023, 5, 1), [(d(2025, 1, 20), 120, 80, None)],  # closed in the year
                           closed_on=d(2025, 2, 1))
    f.make_chronic_patient(session, hp, d(2024, 1, 1), [(d(2024, 6, 1), 120, 80, None)],  # closed before it
                           closed_on=d(2024, 12, 31))
    f.make_chronic_patient(session, hp, d(2026, 1, 5))  # registered after it
    # village A2
    f.make_chronic_patient(session, hp, d(2024, 2, 1), [(d(2024, 5, 1), 120, 80, None)],  # nothing in 2025
                           village_code=f.VILLAGE_A2)
    # village B1
    quarterly = [d(2025, 2, 10), d(2025, 5, 10), d(2025, 8, 10), d(2025, 11, 10)]
    f.make_chronic_patient(session, hp, d(2024, 1, 1), [(x, 139, 89, None) for x in quarterly],
                           village_code=f.VILLAGE_B1)
    f.make_chronic_patient(session, hp, d(2024, 1, 1), [(x, 120, 90, None) for x in quarterly],
                           village_code=f.VILLAGE_B1)
    # diabetes
    f.make_chronic_patient(session, "diabetes", d(2024, 3, 1), [(x, None, None, "6.9") for x in quarterly])
    f.make_chronic_patient(session, "diabetes", d(2025, 1, 1), [  # p1 also has diabetes: 2 visits, 7.0
        (d(2025, 4, 1), None, None, "6.5"), (d(2025, 10, 1), None, None, "7.0")],
        resident=session.get(Resident, p1.resident_id))
    f.make_chronic_patient(session, "diabetes", d(2024, 1, 1),
                           [(x, None, None, "7.0") for x in [*quarterly, d(2025, 12, 1)]],
                           village_code=f.VILLAGE_B1)


def counts(report) -> dict[str, tuple[int, int, int]]:
    return {r.code: (r.under_management, r.managed, r.controlled) for r in report.rows}


def test_hypertension_rates_per_village_township_and_county(session, rates_data):
    report = chronic.management_rates(session=session, program="hypertension", period="2025",
                                      orgunit_code=f.COUNTY)
    # (under management, ≥ 4 face-to-face follow-ups, latest follow-up in control), by hand:
    # A1: 4 patients (the 2023 one closed on 2025-02-01 counts; closed 2024-12-31 and registered 2026 do not);
    #     4 visits: the first and the third; in control: the first (130/80), the second (phone 135/85), the
    #     closed one (120/80) — the third's latest is 140/85.
    # A2: 1 patient, no follow-up in 2025.  B1: 2 patients, both 4 visits; 139/89 in control, 120/90 not.
    assert counts(report) == {
        f.COUNTY: (7, 4, 4), f.TOWN_A: (5, 2, 3), f.VILLAGE_A1: (4, 2, 3), f.VILLAGE_A2: (1, 0, 0),
        f.TOWN_B: (2, 2, 1), f.VILLAGE_B1: (2, 2, 1)}
    rows = {r.code: r for r in report.rows}
    # township A: summed numerators ÷ summed denominators = 2/5 and 3/5, not the average of its villages'
    # rates ((2/4 + 0/1) / 2 = 0.25 and (3/4 + 0) / 2 = 0.375)
    assert rows[f.TOWN_A].management_rate == 0.4 and rows[f.TOWN_A].control_rate == 0.6
    # the county: 4/7, not the average of the townships' rates ((0.4 + 1.0) / 2 = 0.7)
    assert rows[f.COUNTY].management_rate == round(4 / 7, 4) == 0.5714
    assert rows[f.COUNTY].control_rate == 0.5714
    assert [r.code for r in report.rows] == [f.COUNTY, f.TOWN_A, f.VILLAGE_A1, f.VILLAGE_A2, f.TOWN_B,
                                             f.VILLAGE_B1]


def test_diabetes_rates_per_village_township_and_county(session, rates_data):
    report = chronic.management_rates(session=session, program="diabetes", period="2025", orgunit_code=f.COUNTY)
    # A1: the 2024 patient (4 visits, 6.9) and p1 (2 visits, latest 7.0 not in control);
    # B1: 5 visits, latest 7.0.  County: 3 patients, 2 managed, 1 in control.
    assert counts(report) == {
        f.COUNTY: (3, 2, 1), f.TOWN_A: (2, 1, 1), f.VILLAGE_A1: (2, 1, 1), f.VILLAGE_A2: (0, 0, 0),
        f.TOWN_B: (1, 1, 0), f.VILLAGE_B1: (1, 1, 0)}
    rows = {r.code: r for r in report.rows}
    # 2/3, not the average of the townships' management rates ((1/2 + 1/1) / 2 = 0.75)
    assert rows[f.COUNTY].management_rate == 0.6667 and rows[f.COUNTY].control_rate == 0.3333
    assert rows[f.VILLAGE_A2].management_rate is None


def test_quarter_requires_one_face_to_face_follow_up(session, rates_data):
    report = chronic.management_rates(session=session, program="hypertension", period="2025Q4",
                                      orgunit_code=f.COUNTY)
    # Q4: the patient closed in February drops out (6 under management). A face-to-face visit in Q4: p1
    # (11-01), the one registered in March (12-15), both in B1 (11-10); the second A1 patient had only a
    # phone call. In control by the latest Q4 follow-up: p1, the phone call, the 139/89 one.
    assert report.required_follow_ups == 1
    assert counts(report)[f.COUNTY] == (6, 4, 3)
    assert counts(report)[f.TOWN_A] == (4, 2, 2)


def test_a_patient_registered_twice_counts_once(session, county):
    first = f.make_chronic_patient(session, registered_on=date(2024, 1, 1), closed_on=date(2025, 3, 1),
                                   follow_ups=[(date(2025, 2, 1), 120, 80, None)])
    resident = session.get(Resident, first.resident_id)
    f.make_chronic_patient(session, registered_on=date(2025, 6, 1), resident=resident, follow_ups=[
        (date(2025, 6, 2), 130, 80, None), (date(2025, 8, 1), 130, 80, None), (date(2025, 11, 1), 150, 80, None)])
    report = chronic.management_rates(session=session, program="hypertension", period="2025",
                                      orgunit_code=f.VILLAGE_A1)
    # one patient, four visits over both registrations, latest 150/80
    assert counts(report) == {f.VILLAGE_A1: (1, 1, 0)}


def test_same_day_follow_ups_of_two_programmes_count_for_their_own_programme(session, county):
    hp = f.make_chronic_patient(session, registered_on=date(2024, 1, 1),
                                follow_ups=[(date(2025, 6, 1), 150, 95, None)])
    f.make_chronic_patient(session, "diabetes", date(2024, 1, 1), [(date(2025, 6, 1), None, None, "6.0")],
                           resident=session.get(Resident, hp.resident_id))
    for program, expected in (("hypertension", (1, 0, 0)), ("diabetes", (1, 0, 1))):
        report = chronic.management_rates(session=session, program=program, period="2025",
                                          orgunit_code=f.VILLAGE_A1)
        assert counts(report) == {f.VILLAGE_A1: expected}, program


def test_rates_for_a_township_cover_only_its_villages(session, rates_data):
    report = chronic.management_rates(session=session, program="hypertension", period="2025",
                                      orgunit_code=f.TOWN_B)
    assert counts(report) == {f.TOWN_B: (2, 2, 1), f.VILLAGE_B1: (2, 2, 1)}


def test_rates_refuse_a_month_an_unknown_unit_and_a_unit_outside_scope(session, rates_data, village_doctor):
    for kwargs, field in (({"period": "202503", "orgunit_code": f.COUNTY}, "period"),
                          ({"period": "2025", "orgunit_code": "421124999999"}, "orgunit"),
                          ({"period": "20x5", "orgunit_code": f.COUNTY}, "period")):
        with pytest.raises(InvalidInput) as exc:
            chronic.management_rates(session=session, program="hypertension", **kwargs)
        assert exc.value.field == field
    with pytest.raises(Forbidden):
        chronic.management_rates(session=session, program="hypertension", period="2025", orgunit_code=f.TOWN_A,
                                 actor=village_doctor)
    mine = chronic.management_rates(session=session, program="hypertension", period="2025",
                                    orgunit_code=f.VILLAGE_A1, actor=village_doctor)
    assert counts(mine) == {f.VILLAGE_A1: (4, 2, 3)}


def test_figure_has_the_shared_shape(session, rates_data):
    out = queries.figure(session=session, name="hypertension_control_rate", period="2025", orgunit_code=f.TOWN_A)
    assert {k: v for k, v in out.items() if k != "children"} == {
        "figure": "hypertension_control_rate", "orgunit": f.TOWN_A, "period": "2025", "numerator": 3,
        "denominator": 5, "value": 0.6}
    assert [(c["orgunit"], c["numerator"], c["denominator"]) for c in out["children"]] == [
        (f.VILLAGE_A1, 3, 4), (f.VILLAGE_A2, 0, 1)]


def test_rates_count_all_villages_in_one_grouped_statement(session, rates_data, engine):
    from sqlalchemy import event

    statements: list[str] = []

    def log(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", log)
    try:
        chronic.management_rates(session=session, program="hypertension", period="2025", orgunit_code=f.COUNTY)
    finally:
        event.remove(engine, "before_cursor_execute", log)
    touching = [s for s in statements if "follow_ups" in s]
    assert len(touching) == 1 and "GROUP BY" in touching[0]


def test_timeline_shows_registrations_and_follow_ups(session, village_doctor):
    from weijian.care.records import service as records

    reg = f.make_chronic_patient(session, registered_on=date(2025, 1, 10),
                                 follow_ups=[(date(2025, 4, 1), 150, 95, None)])
    page = records.timeline(session=session, resident_id=reg.resident_id, actor=village_doctor)
    kinds = [(i.kind, i.date) for i in page.items]
    assert kinds == [("follow_up", date(2025, 4, 1)), ("chronic_registration", date(2025, 1, 10))]
    assert "150/95" in page.items[0].summary and "未达标" in page.items[0].summary
    assert Actor  # system actor used by the factory
