"""The newborn bundle (出生"一件事"): one registration makes the child's record, the birth certificate number,
the birth doses, the vaccination certificate and three hand-offs; any refused part keeps nothing; hand-offs
only move forward one step; the packets export per department."""
from __future__ import annotations

import io
import json
import re
from dataclasses import replace
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tests import factories as f
from tests.immunization import newborn_setup as ns
from weijian.accounts.models import AuditEvent
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.commands import build
from weijian.core.errors import Forbidden, InvalidInput, InvalidState, NotFound
from weijian.core.i18n import Translator
from weijian.immunization.models import (
    BirthRegistration,
    Handoff,
    Refusal,
    StockBalance,
    StockMovement,
    Vaccination,
    VaccinationCertificate,
)
from weijian.immunization.newborn import queries as newborn_queries
from weijian.immunization.newborn import service as newborn_service
from weijian.immunization.newborn.schemas import HandoffStatusIn, NewbornCreate
from weijian.immunization.schedule import engine
from weijian.residents import service as residents_service
from weijian.residents.models import Resident


@pytest.fixture()
def s(session):
    return ns.build(session)


def register(session, s, actor=None, **over):
    """The registration form as sent (ns.form), built into its command and registered."""
    return newborn_service.register_newborn(session=session, newborn_in=build(NewbornCreate, ns.form(s, **over)),
                                            actor=actor or s.actor)


def set_status(*, session, birth_id, department, status, actor):
    return newborn_service.set_handoff_status(session=session, birth_id=birth_id, department=department,
                                              handoff_in=build(HandoffStatusIn, {"status": status}), actor=actor)


# --- the bundle -------------------------------------------------------------------------------------
def test_bundle_creates_the_child_linked_to_mother_household_and_village(session, s):
    birth = register(session, s)
    child = session.get(Resident, birth.child_id)
    assert child.mother_id == s.mother.id and birth.mother_id == s.mother.id
    assert child.household_id == s.mother.household_id and child.village_code == s.mother.village_code
    assert child.relation_to_head == "son"  # the mother is the householder's wife
    assert child.id_number is None and child.sex == "male" and child.birth_date == ns.born_on()
    assert child.name == "李红之子" and child.insurance_scheme == "none" and child.status == "active"
    assert birth.facility_id == s.facility.id and birth.birth_weight_g == 3300 and birth.gestational_weeks == 39
    assert birth.born_at.astimezone(clock.zone()).strftime("%Y-%m-%d %H:%M") == f"{ns.born_on().isoformat()} 08:30"


def test_a_given_name_is_kept_and_a_daughter_is_a_daughter(session, s):
    birth = register(session, s, child_name="张小花", sex="female")
    child = session.get(Resident, birth.child_id)
    assert (child.name, child.sex, child.relation_to_head) == ("张小花", "female", "daughter")


@pytest.mark.parametrize(("mother_relation", "sex", "expected"), [
    ("head", "male", "son"), ("spouse", "female", "daughter"), ("daughter", "male", "grandchild"),
    ("daughter_in_law", "female", "grandchild"), ("parent", "male", "sibling"), ("other", "male", "other"),
    (None, "female", "other")])
def test_the_childs_relation_follows_the_mothers(mother_relation, sex, expected):
    assert newborn_service.child_relation(mother_relation, sex) == expected


def test_birth_certificate_numbers_are_a_letter_and_nine_digits_in_a_county_year_sequence(session, s):
    """出生医学证明编号: one letter and nine digits, as on the pre-printed form. The stand-in keeps that shape
    for every facility (a facility id of four digits once made it eleven characters long)."""
    first = register(session, s)
    second = register(session, s, sex="female")
    prefix = f"{newborn_service.BIRTH_CERTIFICATE_LETTER}{ns.born_on().year % 100:02d}"
    assert first.birth_certificate_number.startswith(prefix)
    assert int(second.birth_certificate_number[3:]) == int(first.birth_certificate_number[3:]) + 1
    assert all(re.fullmatch(r"[A-Z]\d{9}", b.birth_certificate_number) for b in (first, second))
    assert all(re.fullmatch(r"[A-Z]\d{9}", b.birth_certificate_number) for b in (first, second))


def test_a_typed_birth_certificate_number_is_used_and_cannot_be_used_twice(session, s):
    birth = register(session, s, birth_certificate_number="q440012345")
    assert birth.birth_certificate_number == "Q440012345"
    with pytest.raises(InvalidInput) as exc:
        register(session, s, birth_certificate_number="Q440012345")
    assert exc.value.field == "birth_certificate_number"
    with pytest.raises(InvalidInput) as exc:
        register(session, s, birth_certificate_number="Q44001234")
    assert exc.value.field == "birth_certificate_number"


def test_birth_doses_are_recorded_from_the_points_stock(session, s):
    birth = register(session, s)
    doses = {v.vaccine: v for v in session.scalars(select(Vaccination).where(Vaccination.resident_id == birth.child_id))}
    assert set(doses) == {"HepB", "BCG"}
    hepb, bcg = doses["HepB"], doses["BCG"]
    assert (hepb.dose, hepb.date, hepb.lot_id, hepb.point_id, hepb.source) == (1, ns.born_on(), s.lots["HepB"].id,
                                                                                s.point.id, "recorded")
    assert (hepb.lot_number, hepb.manufacturer, hepb.route, bcg.route) == (s.lots["HepB"].lot_number,
                                                                           s.lots["HepB"].manufacturer, "im", "id")
    assert hepb.vaccinator_name == "王助产"
    for code in ("HepB", "BCG"):
        assert session.get(StockBalance, (s.point.id, s.lots[code].id)).quantity == 9
    uses = session.scalars(select(StockMovement).where(StockMovement.kind == "use")).all()
    assert sorted((m.lot_id, m.quantity, m.vaccination_id) for m in uses) == sorted(
        (v.lot_id, -1, v.id) for v in doses.values())


def test_the_vaccination_certificate_carries_the_whole_schedule(session, s):
    birth = register(session, s)
    cert = session.scalar(select(VaccinationCertificate).where(VaccinationCertificate.resident_id == birth.child_id))
    assert re.fullmatch(r"\d{18}", cert.number) and cert.point_id == s.point.id and cert.issued_on == ns.county_today()
    assert cert.number == f"421124{s.point.id:04d}{ns.born_on().year}0001"
    view = newborn_queries.get_registration(session=session, birth_id=birth.id, actor=s.actor)
    assert view.certificate.number == cert.number
    expected = [r for r in engine.due(ns.born_on(), [engine.GivenDose("HepB", 1, ns.born_on()),
                                                 engine.GivenDose("BCG", 1, ns.born_on())], ns.county_today())
                if r.status != engine.NOT_APPLICABLE]
    assert view.schedule == expected and len(view.schedule) > 15
    statuses = {(r.vaccine, r.dose): r.status for r in view.schedule}
    assert statuses[("HepB", 1)] == statuses[("BCG", 1)] == "given" and statuses[("HepB", 2)] == "upcoming"


def test_three_hand_offs_start_pending_with_what_each_department_needs(session, s):
    birth = register(session, s)
    handoffs = {h.department: h for h in birth.handoffs}
    assert set(handoffs) == set(newborn_queries.DEPARTMENTS) and {h.status for h in handoffs.values()} == {"pending"}
    household = json.loads(handoffs["household_registration"].packet)
    assert household["mother_id_number"] == s.mother.id_number and household["household_number"] == "H100"
    assert household["householder_name"] == "张大山" and household["relation_to_head"] == "son"
    assert household["birth_place"] == "英山县妇幼保健院"
    assert household["birth_certificate_number"] == birth.birth_certificate_number
    assert household["born_at"] == f"{ns.born_on().isoformat()} 08:30"
    insurance = json.loads(handoffs["insurance"].packet)
    assert (insurance["guardian_name"], insurance["guardian_id_number"], insurance["guardian_phone"]) == (
        "李红", s.mother.id_number, "13900002222")
    assert insurance["insurance_scheme"] == "resident" and insurance["child_name"] == "李红之子"
    card = json.loads(handoffs["social_security_card"].packet)
    assert card["mailing_address"] == "温泉镇东冲村1组1号" and card["birth_date"] == ns.born_on().isoformat()


def test_the_registration_is_audited_with_the_child(session, s):
    birth = register(session, s)
    events = session.scalars(select(AuditEvent).where(AuditEvent.resident_id == birth.child_id)).all()
    kinds = {(e.action, e.entity_type) for e in events}
    assert {("create", "resident"), ("create", "birth_registration"), ("create", "vaccination")} <= kinds
    assert session.scalar(select(AuditEvent.id).where(AuditEvent.resident_id == s.mother.id,
                                                      AuditEvent.action == "read",
                                                      AuditEvent.basis == "newborn_registration"))


def test_a_dose_not_given_is_recorded_with_its_reason_and_takes_no_stock(session, s):
    birth = register(session, s, bcg_lot_id="", bcg_skip_reason="contraindication", birth_weight_g="1800")
    refusal = session.scalar(select(Refusal).where(Refusal.resident_id == birth.child_id))
    assert (refusal.vaccine, refusal.dose, refusal.reason, refusal.date) == ("BCG", 1, "contraindication", ns.born_on())
    assert session.get(StockBalance, (s.point.id, s.lots["BCG"].id)).quantity == 10
    assert [v.vaccine for v in session.scalars(select(Vaccination).where(Vaccination.resident_id == birth.child_id))
            ] == ["HepB"]


# --- refusals keep nothing --------------------------------------------------------------------------
def _township_actor(session, s):
    """A delivering township centre's doctor (scope: town A) who may register births."""
    centre = f.make_facility(session, name="温泉镇中心卫生院", type="township_centre", orgunit_code=f.TOWN_A)
    point = ns.make_point(session, centre, name="温泉镇中心卫生院预防接种门诊")
    ns.make_lot(session, point, "HepB")
    user = f.make_user(session, "township_doctor", f.TOWN_A, facility_id=centre.id)
    from weijian.accounts import service as accounts_service

    actor = accounts_service.actor_for(user)
    return replace(actor, permissions=actor.permissions | {"newborn:register"})


CASES = {
    "unknown_mother": (lambda session, s: {"mother_id_number": f.new_id_number(male=False)}, "mother_id_number",
                       "mother_unknown"),
    "mother_not_a_number": (lambda session, s: {"mother_id_number": "12345"}, "mother_id_number", "format"),
    "expired_lot": (lambda session, s: {"hepb_lot_id": str(s.lots["HepB_expired"].id)}, "hepb_lot_id", "lot_expired"),
    "no_stock": (lambda session, s: {"hepb_lot_id": str(s.lots["HepB_empty"].id)}, "hepb_lot_id", "no_stock"),
    "lot_elsewhere": (lambda session, s: {"bcg_lot_id": str(s.lots["BCG_elsewhere"].id)}, "bcg_lot_id", "no_stock"),
    "lot_of_another_vaccine": (lambda session, s: {"bcg_lot_id": str(s.lots["HepB"].id)}, "bcg_lot_id",
                               "lot_wrong_vaccine"),
    "birth_in_future": (lambda session, s: {"birth_date": (ns.county_today() + timedelta(days=1)).isoformat()}, "birth_date",
                        "birth_in_future"),
    "birth_date_invalid": (lambda session, s: {"birth_date": "2026-02-30"}, "birth_date", "date_invalid"),
    "missing_sex": (lambda session, s: {"sex": ""}, "sex", "required"),
    "missing_time": (lambda session, s: {"birth_time": ""}, "birth_time", "required"),
    "missing_weight": (lambda session, s: {"birth_weight_g": ""}, "birth_weight_g", "required"),
    "weight_out_of_range": (lambda session, s: {"birth_weight_g": "12000"}, "birth_weight_g", "out_of_range"),
    "missing_lot": (lambda session, s: {"hepb_lot_id": ""}, "hepb_lot_id", "lot_required"),
    "dose_before_birth": (lambda session, s: {"bcg_date": (ns.born_on() - timedelta(days=1)).isoformat()}, "bcg_date",
                          "dose_before_birth"),
    "bad_name": (lambda session, s: {"child_name": "张3"}, "child_name", "name_invalid"),
    "mother_is_a_man": (lambda session, s: {"mother_id_number": s.head.id_number}, "mother_id_number",
                        "mother_not_female"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_refused_part_saves_nothing_and_names_the_field(session, s, case):
    make, field, reason = CASES[case]
    before = ns.counts(session)
    with pytest.raises(InvalidInput) as exc:
        register(session, s, **make(session, s))
    assert exc.value.field == field, exc.value.errors
    assert exc.value.errors[0].reason_key.endswith(reason)
    assert ns.counts(session) == before


def test_a_blank_name_is_no_error_while_the_mother_is_unknown(session, s):
    with pytest.raises(InvalidInput) as exc:
        register(session, s, mother_id_number="", child_name="")
    assert [e.field for e in exc.value.errors] == ["mother_id_number"]


def test_a_mother_outside_the_scope_is_refused_and_nothing_is_saved(session, s):
    actor = _township_actor(session, s)
    outside = f.make_resident(session, name="陈芳", sex="female", birth_date=date(1996, 1, 1),
                              village_code=f.VILLAGE_B1)
    before = ns.counts(session)
    with pytest.raises(InvalidInput) as exc:
        register(session, s, actor=actor, mother_id_number=outside.id_number)
    assert exc.value.field == "mother_id_number"
    assert exc.value.errors[0].reason_key.endswith("mother_out_of_scope")
    assert ns.counts(session) == before


def test_a_failure_after_the_child_was_written_still_keeps_nothing(session, s, monkeypatch):
    """The vaccination record refuses the second dose once the child exists: the child goes too."""
    from weijian.immunization.records import service as records

    calls = []
    real = records.record_vaccination

    def failing(**kw):
        calls.append(kw["vaccination_in"].vaccine)
        if kw["vaccination_in"].vaccine == "BCG":
            raise InvalidInput("lot_id", "immunization.newborn.errors.no_stock", lot="x", point="y")
        return real(**kw)

    monkeypatch.setattr(records, "record_vaccination", failing)
    before = ns.counts(session)
    with pytest.raises(InvalidInput) as exc:
        register(session, s)
    assert calls == ["HepB", "BCG"] and exc.value.field == "bcg_lot_id"
    assert ns.counts(session) == before


def test_every_bad_field_is_reported_at_once(session, s):
    with pytest.raises(InvalidInput) as exc:
        register(session, s, sex="", birth_weight_g="abc", hepb_lot_id=str(s.lots["HepB_expired"].id),
                 gestational_weeks="60")
    assert {"sex", "birth_weight_g", "hepb_lot_id", "gestational_weeks"} <= {e.field for e in exc.value.errors}


def test_a_user_outside_a_delivery_facility_cannot_register(session, s):
    clinic = f.make_facility(session, name="东冲村卫生室", type="village_clinic", orgunit_code=f.VILLAGE_A1)
    actor = replace(s.actor, facility_id=clinic.id)
    with pytest.raises(Forbidden):
        register(session, s, actor=actor)
    village = Actor(user_id=None, username="v", role="village_doctor", scope_code=f.VILLAGE_A1,
                    permissions=frozenset({"resident:read"}), facility_id=s.facility.id)
    with pytest.raises(Forbidden):
        register(session, s, actor=village)


# --- hand-offs ----------------------------------------------------------------------------------------
def test_hand_offs_move_pending_sent_done_and_never_back_or_skip(session, s):
    birth = register(session, s)
    move = lambda status, dept="insurance": set_status(  # noqa: E731
        session=session, birth_id=birth.id, department=dept, status=status, actor=s.actor)
    with pytest.raises(InvalidState):
        move("done")  # pending → done skips sent
    with pytest.raises(InvalidState):
        move("pending")
    assert move("sent").status == "sent"
    with pytest.raises(InvalidState):
        move("pending")  # back
    with pytest.raises(InvalidState):
        move("sent")  # again
    assert move("done").status == "done"
    for status in ("pending", "sent", "done"):
        with pytest.raises(InvalidState):
            move(status)
    with pytest.raises(InvalidInput) as exc:
        move("lost")
    assert exc.value.field == "status"
    with pytest.raises(InvalidInput) as exc:
        move("sent", dept="police")
    assert exc.value.field == "department"
    states = {h.department: h.status for h in session.scalars(select(Handoff).where(Handoff.birth_id == birth.id))}
    assert states == {"household_registration": "pending", "insurance": "done", "social_security_card": "pending"}
    assert session.scalar(select(AuditEvent.id).where(AuditEvent.entity_type == "birth_handoff",
                                                      AuditEvent.action == "update"))


def test_export_gives_one_departments_packets_of_one_status(session, s):
    first = register(session, s, child_name="张一")
    second = register(session, s, child_name="张二", sex="female")
    set_status(session=session, birth_id=first.id, department="insurance", status="sent",
                               actor=s.actor)
    pending = newborn_queries.export_packets(session=session, department="insurance", actor=s.actor)
    assert [p["child_name"] for p in pending.packets] == ["张二"]
    assert pending.packets[0]["registration_id"] == second.id
    assert pending.packets[0]["guardian_id_number"] == s.mother.id_number
    sent = newborn_queries.export_packets(session=session, department="insurance", status="sent", actor=s.actor)
    assert [p["child_name"] for p in sent.packets] == ["张一"]
    household = newborn_queries.export_packets(session=session, department="household_registration", actor=s.actor)
    assert [p["child_name"] for p in household.packets] == ["张一", "张二"]
    wb = load_workbook(io.BytesIO(newborn_queries.packets_xlsx(household, Translator("zh_CN"))))
    ws = wb.active
    rows = list(ws.iter_rows(values_only=True))
    assert ws.title == "户籍登记" and len(rows) == 3
    head = rows[0]
    assert head[0] == "登记号" and "出生医学证明编号" in head and "母亲身份证号" in head
    second_row = dict(zip(head, rows[2], strict=True))
    assert (second_row["新生儿姓名"], second_row["性别"], second_row["与户主关系"]) == ("张二", "女", "女")
    assert second_row["母亲身份证号"] == s.mother.id_number
    body = json.loads(newborn_queries.packets_json(household))
    assert body["count"] == 2 and body["department"] == "household_registration"
    exports = session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).all()
    assert {e.resident_id for e in exports} >= {first.child_id, second.child_id}


def test_export_needs_permission_to_read_identity_numbers(session, s):
    register(session, s)
    actor = replace(s.actor, permissions=s.actor.permissions - {"resident:read_identity"})
    with pytest.raises(Forbidden):
        newborn_queries.export_packets(session=session, department="insurance", actor=actor)


# --- reads ----------------------------------------------------------------------------------------------
def test_a_registration_outside_the_scope_does_not_exist_for_the_reader(session, s):
    birth = register(session, s)
    town_b = Actor(user_id=None, username="b", role="township_doctor", scope_code=f.TOWN_B,
                   permissions=frozenset({"newborn:register"}))
    with pytest.raises(NotFound):
        newborn_queries.get_registration(session=session, birth_id=birth.id, actor=town_b)
    with pytest.raises(NotFound):
        set_status(session=session, birth_id=birth.id, department="insurance", status="sent",
                                   actor=town_b)
    assert newborn_queries.list_registrations(session=session, actor=town_b) == []
    assert newborn_queries.list_handoffs(session=session, actor=town_b, department="insurance") == []
    assert [b.id for b, _c in newborn_queries.list_registrations(session=session, actor=s.actor)] == [birth.id]


def test_the_lot_choices_are_in_stock_unexpired_first_expiry_first(session, s):
    sooner = ns.make_lot(session, s.point, "HepB", 3, expiry=ns.county_today() + timedelta(days=20))
    lots = newborn_queries.birth_dose_lots(session=session, point_id=s.point.id, on=ns.county_today())
    assert [lot.id for lot, _q in lots["HepB"]] == [sooner.id, s.lots["HepB"].id]
    assert [lot.id for lot, _q in lots["BCG"]] == [s.lots["BCG"].id]


def test_the_child_is_a_resident_the_registry_finds(session, s):
    birth = register(session, s, child_name="张小宝")
    found = residents_service.search(session=session, actor=s.actor, q="张小宝")
    assert [r.id for r in found.items] == [birth.child_id]
    assert session.scalar(select(BirthRegistration.id).where(BirthRegistration.child_id == birth.child_id)) == birth.id


def test_twins_are_two_children_though_they_share_name_birth_date_and_household(session, s):
    """Twins share the provisional name (母亲名+之子), the birth date and the household: the desk registers
    both, without the probable-duplicate warning a clerk gets (residents.service, issue 15 item 4)."""
    first = register(session, s)
    second = register(session, s, birth_time="08:41")
    a, b = session.get(Resident, first.child_id), session.get(Resident, second.child_id)
    assert a.id != b.id and (a.name, a.birth_date, a.household_id) == (b.name, b.birth_date, b.household_id)


def test_a_birth_certificate_number_follows_the_highest_of_its_year_and_keeps_its_length(session, s):
    """The stand-in number continues the year's highest number of the same shape, whatever facility
    issued it; a typed number of another letter or year does not move the sequence."""
    from weijian.immunization.newborn.service import next_birth_certificate_number

    yy = f"{ns.born_on().year % 100:02d}"
    register(session, s, birth_certificate_number=f"W{yy}0000041")
    register(session, s, sex="female", birth_certificate_number="Q449999999")
    generated = register(session, s, birth_time="09:10")
    assert generated.birth_certificate_number == f"W{yy}0000042"
    assert next_birth_certificate_number(session=session, year=ns.born_on().year + 5) == f"W{(ns.born_on().year + 5) % 100:02d}0000001"
