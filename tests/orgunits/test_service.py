"""The registry's rules: org-unit codes and parents, facility validation, the one lead per county, the
tree and its totals, scope helpers, dated capacity snapshots and capacity on a past date."""
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests import factories as f
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.commands import build
from weijian.core.errors import Forbidden, InvalidInput, NotFound
from weijian.orgunits import rules, service
from weijian.orgunits.models import Facility, FacilityCapacity, OrgUnit
from weijian.orgunits.schemas import CapacityRecord, FacilityCreate, FacilityUpdate, OrgUnitCreate, OrgUnitUpdate

SYSTEM = Actor.system("test")


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def _fields(exc: InvalidInput) -> set[str]:
    return {e.field for e in exc.errors}


def _facility_values(**over):
    values = dict(code="H001", name="英山县人民医院", type="county_general", grade="level2_a",
                  orgunit_code=f.COUNTY, community_role="lead", beds_approved=500, beds_open=450,
                  physicians=120, assistant_physicians=15)
    values.update(over)
    return values


# --- reference data -------------------------------------------------------------------------------
def test_reference_file_has_every_type_and_grade_with_both_labels():
    ref = service.reference()
    assert set(ref.types) == {"county_general", "county_tcm", "county_mch", "township_centre",
                              "community_centre", "village_clinic", "cdc", "other"}
    assert set(ref.grades) == {"level3_a", "level3_b", "level3", "level2_a", "level2_b", "level2",
                               "level1", "ungraded"}
    assert ref.types["township_centre"].zh == "乡镇卫生院"
    assert ref.grades["level3_a"].label("en") == "Level 3, grade A"


def test_reference_file_without_labels_is_refused_at_load(tmp_path, monkeypatch):
    bad = tmp_path / "facility_types.yaml"
    bad.write_text("version: 1\ntypes:\n  other: {zh: 其他}\ngrades:\n  ungraded: {zh: 未定级, en: Ungraded}\n",
                   encoding="utf-8")
    monkeypatch.setattr(rules, "REFERENCE_FILE", bad)
    service.reference.cache_clear()
    try:
        with pytest.raises(ValueError, match="types.other needs both"):
            service.reference()
    finally:
        monkeypatch.undo()
        service.reference.cache_clear()
    assert "other" in service.reference().types


def test_type_and_grade_accept_chinese_labels_and_aliases():
    assert service.type_code("村卫生室") == "village_clinic"
    assert service.grade_code("三级未定等") == "level3"
    assert service.grade_code("四级") is None


# --- org units ------------------------------------------------------------------------------------
def test_create_orgunit_derives_level_kind_and_parent(session):
    f.make_county(session)
    town = service.create_orgunit(session=session, orgunit_in=build(OrgUnitCreate, {"code": "421124200000", "name": "陶家河乡"}),
                                  actor=SYSTEM)
    assert (town.level, town.kind, town.parent_code) == ("township", "township", f.COUNTY)
    sub = service.create_orgunit(session=session, orgunit_in=build(OrgUnitCreate, {"code": "421124001000", "name": "城区街道"}),
                                 actor=SYSTEM)
    assert sub.kind == "subdistrict"
    village = service.create_orgunit(session=session, orgunit_in=build(OrgUnitCreate, {"code": "421124200201", "name": "高桥村",
                                                              "parent_code": "421124200000"}), actor=SYSTEM)
    assert (village.level, village.kind) == ("village", "villagers_committee")
    committee = service.create_orgunit(session=session, orgunit_in=build(OrgUnitCreate, {"code": "421124200001", "name": "乡居委会",
                                                                "urban_rural_class": "210"}), actor=SYSTEM)
    assert committee.kind == "residents_committee" and committee.urban_rural_class == "210"


def test_create_county_has_no_parent(session):
    county = service.create_orgunit(session=session, orgunit_in=build(OrgUnitCreate, {"code": "421125000000", "name": "浠水县",
                                                             "level": "county"}), actor=SYSTEM)
    assert county.parent_code is None and county.level == "county"
    with pytest.raises(InvalidInput) as exc:
        service.create_orgunit(session=session, orgunit_in=build(OrgUnitCreate, {"code": "421126000000", "name": "蕲春县",
                                                        "parent_code": "421125000000"}), actor=SYSTEM)
    assert _fields(exc.value) == {"parent_code"}


@pytest.mark.parametrize("values, field, reason", [
    ({"code": "42112410000", "name": "短码"}, "code", "core.errors.division.format"),
    ({"code": "42112410000x", "name": "字母"}, "code", "core.errors.division.format"),
    ({"code": f.TOWN_A, "name": "重复"}, "code", "orgunits.errors.orgunit_code_taken"),
    ({"code": "421124102000", "name": "  "}, "name", "orgunits.errors.name_required"),
    ({"code": "421124102000", "name": "镇" * 101}, "name", "orgunits.errors.name_too_long"),
    ({"code": "421124102000", "name": "新镇", "level": "village"}, "level", "orgunits.errors.level_mismatch"),
    ({"code": "421124102201", "name": "无乡之村"}, "parent_code", "orgunits.errors.parent_unknown"),
    ({"code": "421124100203", "name": "错级", "parent_code": f.COUNTY}, "parent_code",
     "orgunits.errors.parent_level"),
    ({"code": "421124100203", "name": "错乡", "parent_code": f.TOWN_B}, "parent_code",
     "orgunits.errors.parent_prefix"),
    ({"code": "421124102000", "name": "新镇", "urban_rural_class": "999"}, "urban_rural_class",
     "orgunits.errors.urban_rural_unknown"),
    ({"code": "421124102000", "name": "新镇", "population": 5}, "population", "orgunits.errors.unknown_field"),
])
def test_bad_orgunit_is_refused_naming_the_field_and_nothing_is_written(session, values, field, reason):
    f.make_county(session)
    before = _count(session, OrgUnit)
    with pytest.raises(InvalidInput) as exc:
        service.create_orgunit(session=session, orgunit_in=build(OrgUnitCreate, values), actor=SYSTEM)
    assert (exc.value.field, exc.value.errors[0].reason_key) == (field, reason)
    assert _count(session, OrgUnit) == before


def test_orgunit_outside_the_actors_scope_is_refused(session):
    f.make_county(session)
    admin = Actor(user_id=1, username="a", role="bureau_admin", scope_code=f.TOWN_A,
                  permissions=frozenset({"orgunit:write"}))
    with pytest.raises(InvalidInput) as exc:
        service.create_orgunit(session=session, orgunit_in=build(OrgUnitCreate, {"code": "421124101202", "name": "外村"}), actor=admin)
    assert exc.value.field == "code" and exc.value.errors[0].reason_key == "orgunits.errors.out_of_scope"
    unit = service.create_orgunit(session=session, orgunit_in=build(OrgUnitCreate, {"code": "421124100203", "name": "内村"}), actor=admin)
    assert unit.parent_code == f.TOWN_A


def test_writes_need_the_orgunit_write_permission(session):
    f.make_county(session)
    reader = Actor(user_id=1, username="r", role="village_doctor", scope_code=f.VILLAGE_A1,
                   permissions=frozenset({"orgunit:read"}))
    with pytest.raises(Forbidden):
        service.create_orgunit(session=session, orgunit_in=build(OrgUnitCreate, {"code": "421124100299", "name": "x"}), actor=reader)
    with pytest.raises(Forbidden):
        service.create_facility(session=session, facility_in=build(FacilityCreate, _facility_values()), actor=reader)
    with pytest.raises(Forbidden):
        service.update_orgunit(session=session, code=f.TOWN_A, orgunit_in=build(OrgUnitUpdate, {"name": "x"}), actor=reader)
    assert _count(session, Facility) == 0


def test_update_orgunit_changes_name_and_class_only(session):
    f.make_county(session)
    unit = service.update_orgunit(session=session, code=f.TOWN_A, orgunit_in=build(OrgUnitUpdate, {"name": "温泉镇（新）",
                                  "urban_rural_class": "121"}), actor=SYSTEM)
    assert (unit.name, unit.urban_rural_class) == ("温泉镇（新）", "121")
    with pytest.raises(InvalidInput) as exc:
        service.update_orgunit(session=session, code=f.TOWN_A, orgunit_in=build(OrgUnitUpdate, {"name": "", "level": "county"}),
                               actor=SYSTEM)
    assert _fields(exc.value) == {"name", "level"}
    assert session.get(OrgUnit, f.TOWN_A).name == "温泉镇（新）"
    with pytest.raises(NotFound):
        service.update_orgunit(session=session, code="421124999000", orgunit_in=build(OrgUnitUpdate, {"name": "x"}), actor=SYSTEM)


def test_list_orgunits_filters_by_level_and_parent(session):
    f.make_county(session)
    assert [u.code for u in service.list_orgunits(session=session, level="township")] == [f.TOWN_A, f.TOWN_B]
    assert [u.code for u in service.list_orgunits(session=session, parent_code=f.TOWN_A)] == [
        f.VILLAGE_A1, f.VILLAGE_A2]
    with pytest.raises(InvalidInput) as exc:
        service.list_orgunits(session=session, level="province")
    assert exc.value.field == "level"


def test_get_or_raise_unknown_code_is_not_found(session):
    with pytest.raises(NotFound):
        service.get_or_raise(session=session, code="421124999999")


# --- scope helpers --------------------------------------------------------------------------------
def test_in_scope_follows_the_code_hierarchy():
    assert service.in_scope(scope_code=None, code=f.VILLAGE_B1)
    assert service.in_scope(scope_code=f.COUNTY, code=f.VILLAGE_B1)
    assert service.in_scope(scope_code=f.TOWN_A, code=f.VILLAGE_A2)
    assert service.in_scope(scope_code=f.TOWN_A, code=f.TOWN_A)
    assert not service.in_scope(scope_code=f.TOWN_A, code=f.VILLAGE_B1)
    assert not service.in_scope(scope_code=f.VILLAGE_A1, code=f.VILLAGE_A2)
    assert not service.in_scope(scope_code=f.COUNTY, code="421125100201")


def test_scope_condition_limits_a_query_to_the_actors_subtree(session):
    f.make_county(session)
    town_doctor = Actor(user_id=1, username="t", role="township_doctor", scope_code=f.TOWN_A)
    codes = session.scalars(select(OrgUnit.code).where(service.scope_condition(OrgUnit.code, town_doctor))
                            .order_by(OrgUnit.code)).all()
    assert codes == [f.TOWN_A, f.VILLAGE_A1, f.VILLAGE_A2]
    everything = session.scalars(select(OrgUnit.code).where(service.scope_condition(OrgUnit.code, SYSTEM))).all()
    assert len(everything) == 6


# --- facilities -----------------------------------------------------------------------------------
def test_create_facility_writes_the_facility_and_a_snapshot_dated_today(session):
    f.make_county(session)
    fac = service.create_facility(session=session, facility_in=build(FacilityCreate, _facility_values()), actor=SYSTEM)
    assert (fac.type, fac.grade, fac.community_role, fac.beds_open) == ("county_general", "level2_a", "lead", 450)
    history = service.capacity_history(session=session, facility_id=fac.id)
    assert [(h.as_of, h.beds_approved, h.beds_open, h.physicians, h.assistant_physicians) for h in history] == [
        (clock.today(), 500, 450, 120, 15)]


def test_create_facility_defaults_grade_role_and_counts(session):
    f.make_county(session)
    fac = service.create_facility(session=session, facility_in=build(FacilityCreate, {"code": "V001", "name": "东冲村卫生室",
                                  "type": "村卫生室", "orgunit_code": f.VILLAGE_A1}), actor=SYSTEM)
    assert (fac.type, fac.grade, fac.community_role, fac.beds_approved, fac.physicians) == (
        "village_clinic", "ungraded", "none", 0, 0)


@pytest.mark.parametrize("over, field, reason", [
    ({"code": ""}, "code", "orgunits.errors.facility_code_required"),
    ({"code": "H 001"}, "code", "orgunits.errors.facility_code_format"),
    ({"name": ""}, "name", "orgunits.errors.name_required"),
    ({"type": ""}, "type", "orgunits.errors.type_required"),
    ({"type": "hospice"}, "type", "orgunits.errors.type_unknown"),
    ({"grade": "level4"}, "grade", "orgunits.errors.grade_unknown"),
    ({"orgunit_code": ""}, "orgunit_code", "orgunits.errors.orgunit_required"),
    ({"orgunit_code": "421124999000"}, "orgunit_code", "orgunits.errors.orgunit_unknown"),
    ({"community_role": "boss"}, "community_role", "orgunits.errors.community_role_unknown"),
    ({"beds_open": -1}, "beds_open", "orgunits.errors.count_negative"),
    ({"beds_approved": "12.5"}, "beds_approved", "orgunits.errors.count_invalid"),
    ({"physicians": ""}, "physicians", "orgunits.errors.count_required"),
    ({"assistant_physicians": True}, "assistant_physicians", "orgunits.errors.count_invalid"),
    ({"physicians": 10**9}, "physicians", "orgunits.errors.count_too_large"),
    # Found by the API fuzzer (tests/security): int() refuses 4,300 digits and more, a 500.
    ({"physicians": "9" * 5000}, "physicians", "orgunits.errors.count_too_large"),
    ({"as_of": "2025-02-30"}, "as_of", "orgunits.errors.as_of_invalid"),
    ({"as_of": clock.today() + timedelta(days=1)}, "as_of", "orgunits.errors.as_of_future"),
    ({"colour": "red"}, "colour", "orgunits.errors.unknown_field"),
])
def test_bad_facility_is_refused_naming_the_field_and_nothing_is_written(session, over, field, reason):
    f.make_county(session)
    with pytest.raises(InvalidInput) as exc:
        service.create_facility(session=session, facility_in=build(FacilityCreate, _facility_values(**over)), actor=SYSTEM)
    assert (exc.value.field, exc.value.errors[0].reason_key) == (field, reason)
    assert _count(session, Facility) == 0 and _count(session, FacilityCapacity) == 0


def test_every_bad_field_is_reported_at_once(session):
    f.make_county(session)
    with pytest.raises(InvalidInput) as exc:
        service.create_facility(session=session, facility_in=build(FacilityCreate, _facility_values(code="", type="x", beds_open=-3)),
                                actor=SYSTEM)
    assert _fields(exc.value) == {"code", "type", "beds_open"}


def test_duplicate_facility_code_is_refused(session):
    f.make_county(session)
    service.create_facility(session=session, facility_in=build(FacilityCreate, _facility_values()), actor=SYSTEM)
    with pytest.raises(InvalidInput) as exc:
        service.create_facility(session=session, facility_in=build(FacilityCreate, _facility_values(name="另一家", community_role="member")),
                                actor=SYSTEM)
    assert exc.value.field == "code" and exc.value.errors[0].reason_key == "orgunits.errors.facility_code_taken"
    assert _count(session, Facility) == 1


def test_only_one_lead_hospital_per_county(session):
    f.make_county(session)
    lead = service.create_facility(session=session, facility_in=build(FacilityCreate, _facility_values()), actor=SYSTEM)
    with pytest.raises(InvalidInput) as exc:
        service.create_facility(session=session, facility_in=build(FacilityCreate, _facility_values(code="H002", name="县中医医院",
                                type="county_tcm", orgunit_code=f.TOWN_A)), actor=SYSTEM)
    assert exc.value.field == "community_role" and exc.value.errors[0].params == {"name": lead.name}
    tcm = service.create_facility(session=session, facility_in=build(FacilityCreate, _facility_values(
        code="H002", name="县中医医院", type="county_tcm", community_role="member")), actor=SYSTEM)
    with pytest.raises(InvalidInput) as exc:
        service.update_facility(session=session, facility_id=tcm.id, facility_in=build(FacilityUpdate, {"community_role": "lead"}), actor=SYSTEM)
    assert exc.value.field == "community_role"
    assert session.get(Facility, tcm.id).community_role == "member"
    # The lead itself may be saved again, and another county may have its own lead.
    service.update_facility(session=session, facility_id=lead.id, facility_in=build(FacilityUpdate, {"community_role": "lead",
                            "name": "英山县人民医院（总院）"}), actor=SYSTEM)
    service.create_orgunit(session=session, orgunit_in=build(OrgUnitCreate, {"code": "421125000000", "name": "浠水县"}), actor=SYSTEM)
    other = service.create_facility(session=session, facility_in=build(FacilityCreate, _facility_values(
        code="H100", name="浠水县人民医院", orgunit_code="421125000000")), actor=SYSTEM)
    assert other.community_role == "lead"


def test_update_facility_refusal_changes_nothing(session):
    f.make_county(session)
    fac = service.create_facility(session=session, facility_in=build(FacilityCreate, _facility_values()), actor=SYSTEM)
    with pytest.raises(InvalidInput) as exc:
        service.update_facility(session=session, facility_id=fac.id,
                                facility_in=build(FacilityUpdate, {"name": "新名字", "beds_open": -1, "grade": "level9"}), actor=SYSTEM)
    assert _fields(exc.value) == {"beds_open", "grade"}
    session.expire_all()
    fac = session.get(Facility, fac.id)
    assert (fac.name, fac.beds_open, fac.grade) == ("英山县人民医院", 450, "level2_a")
    assert _count(session, FacilityCapacity) == 1


def test_update_facility_of_another_area_is_forbidden(session):
    f.make_county(session)
    fac = f.make_facility(session, orgunit_code=f.TOWN_B)
    town_admin = Actor(user_id=1, username="a", role="bureau_admin", scope_code=f.TOWN_A,
                       permissions=frozenset({"orgunit:write"}))
    with pytest.raises(Forbidden):
        service.update_facility(session=session, facility_id=fac.id, facility_in=build(FacilityUpdate, {"name": "x"}), actor=town_admin)
    own = f.make_facility(session, orgunit_code=f.TOWN_A)
    with pytest.raises(InvalidInput) as exc:
        service.update_facility(session=session, facility_id=own.id, facility_in=build(FacilityUpdate, {"orgunit_code": f.TOWN_B}),
                                actor=town_admin)
    assert exc.value.field == "orgunit_code"


def test_list_facilities_by_orgunit_type_and_subtree(session):
    f.make_county(session)
    hosp = f.make_facility(session, orgunit_code=f.COUNTY, type="county_general")
    centre_a = f.make_facility(session, orgunit_code=f.TOWN_A)
    clinic_a1 = f.make_facility(session, orgunit_code=f.VILLAGE_A1, type="village_clinic")
    clinic_b1 = f.make_facility(session, orgunit_code=f.VILLAGE_B1, type="village_clinic")
    ids = lambda rows: {r.id for r in rows}  # noqa: E731
    assert ids(service.list_facilities(session=session, orgunit_code=f.TOWN_A)) == {centre_a.id}
    assert ids(service.list_facilities(session=session, under=f.TOWN_A)) == {centre_a.id, clinic_a1.id}
    assert ids(service.list_facilities(session=session, under=f.COUNTY)) == {
        hosp.id, centre_a.id, clinic_a1.id, clinic_b1.id}
    assert ids(service.list_facilities(session=session, type="village_clinic")) == {clinic_a1.id, clinic_b1.id}
    assert ids(service.list_facilities(session=session, type="village_clinic", under=f.TOWN_B)) == {clinic_b1.id}
    with pytest.raises(InvalidInput) as exc:
        service.list_facilities(session=session, type="spaceport")
    assert exc.value.field == "type"
    with pytest.raises(InvalidInput) as exc:
        service.list_facilities(session=session, under="4211")
    assert exc.value.field == "under"


def test_get_facility_or_raise_unknown_id_is_not_found(session):
    with pytest.raises(NotFound):
        service.get_facility_or_raise(session=session, facility_id=987654)


# --- tree -----------------------------------------------------------------------------------------
def test_tree_nests_units_with_facilities_and_sums_each_subtree(session):
    f.make_county(session)
    f.make_facility(session, orgunit_code=f.COUNTY, type="county_general", beds_approved=500, beds_open=450,
                    physicians=100, assistant_physicians=10)
    f.make_facility(session, orgunit_code=f.TOWN_A, beds_approved=50, beds_open=40, physicians=10,
                    assistant_physicians=2)
    f.make_facility(session, orgunit_code=f.VILLAGE_A1, type="village_clinic", beds_approved=0, beds_open=0,
                    physicians=0, assistant_physicians=1)
    f.make_facility(session, orgunit_code=f.VILLAGE_B1, type="village_clinic", beds_approved=0, beds_open=0,
                    physicians=1, assistant_physicians=0)
    (county,) = service.tree(session=session)
    assert county.unit.code == f.COUNTY
    assert [t.unit.code for t in county.children] == [f.TOWN_A, f.TOWN_B]
    town_a = county.children[0]
    assert [v.unit.code for v in town_a.children] == [f.VILLAGE_A1, f.VILLAGE_A2]
    assert town_a.totals.as_dict() == {"beds_approved": 50, "beds_open": 40, "physicians": 10,
                                       "assistant_physicians": 3, "facilities": 2}
    assert county.totals.as_dict() == {"beds_approved": 550, "beds_open": 490, "physicians": 111,
                                       "assistant_physicians": 13, "facilities": 4}
    assert county.own_totals.facilities == 1
    assert town_a.children[1].totals.facilities == 0


def test_tree_is_built_in_two_queries(session, engine):
    from sqlalchemy import event

    f.make_county(session)
    for code in (f.COUNTY, f.TOWN_A, f.VILLAGE_A1, f.VILLAGE_B1):
        f.make_facility(session, orgunit_code=code)
    session.expire_all()
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        roots = service.tree(session=session)
        sum(n.totals.facilities for n in roots)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 2


def test_tree_from_a_township_holds_only_its_subtree(session):
    f.make_county(session)
    (town,) = service.tree(session=session, root_code=f.TOWN_B)
    assert town.unit.code == f.TOWN_B and [v.unit.code for v in town.children] == [f.VILLAGE_B1]


# --- capacity snapshots ---------------------------------------------------------------------------
def test_same_date_updates_the_snapshot_instead_of_adding_one(session):
    f.make_county(session)
    fac = service.create_facility(session=session, facility_in=build(FacilityCreate, _facility_values(as_of=date(2024, 12, 31))), actor=SYSTEM)
    service.update_facility(session=session, facility_id=fac.id,
                            facility_in=build(FacilityUpdate, {"beds_open": 460, "as_of": "2024-12-31"}), actor=SYSTEM)
    history = service.capacity_history(session=session, facility_id=fac.id)
    assert [(h.as_of, h.beds_approved, h.beds_open) for h in history] == [(date(2024, 12, 31), 500, 460)]
    assert fac.beds_open == 460


def test_a_later_update_adds_a_snapshot_and_moves_the_current_figures(session):
    f.make_county(session)
    fac = service.create_facility(session=session, facility_in=build(FacilityCreate, _facility_values(as_of=date(2023, 12, 31))), actor=SYSTEM)
    service.update_facility(session=session, facility_id=fac.id, facility_in=build(FacilityUpdate, {"beds_approved": 600, "physicians": 130}),
                            actor=SYSTEM)
    history = service.capacity_history(session=session, facility_id=fac.id)
    assert [(h.as_of, h.beds_approved, h.beds_open, h.physicians) for h in history] == [
        (date(2023, 12, 31), 500, 450, 120), (clock.today(), 600, 450, 130)]
    assert (fac.beds_approved, fac.physicians) == (600, 130)


def test_entering_a_past_year_keeps_the_current_figures(session):
    f.make_county(session)
    fac = service.create_facility(session=session, facility_in=build(FacilityCreate, _facility_values()), actor=SYSTEM)
    service.record_capacity(session=session, facility_id=fac.id, actor=SYSTEM, capacity_in=build(
        CapacityRecord, {"beds_open": 300, "physicians": 90, "as_of": date(2022, 12, 31)}))
    assert (fac.beds_open, fac.physicians) == (450, 120)
    history = service.capacity_history(session=session, facility_id=fac.id)
    assert [(h.as_of, h.beds_approved, h.beds_open, h.physicians) for h in history] == [
        (date(2022, 12, 31), 500, 300, 90), (clock.today(), 500, 450, 120)]


def test_updating_other_fields_writes_no_snapshot(session):
    f.make_county(session)
    fac = service.create_facility(session=session, facility_in=build(FacilityCreate, _facility_values()), actor=SYSTEM)
    service.update_facility(session=session, facility_id=fac.id, facility_in=build(FacilityUpdate, {"name": "县医院", "grade": "三级"}),
                            actor=SYSTEM)
    assert (fac.name, fac.grade) == ("县医院", "level3")
    assert _count(session, FacilityCapacity) == 1


def test_capacity_as_of_a_past_date_uses_each_facilitys_figures_of_then(session):
    f.make_county(session)
    hosp = service.create_facility(session=session, facility_in=build(FacilityCreate, _facility_values(
        as_of=date(2023, 12, 31), beds_approved=400, beds_open=380, physicians=100, assistant_physicians=10)),
        actor=SYSTEM)
    service.update_facility(session=session, facility_id=hosp.id, facility_in=build(FacilityUpdate, {
        "beds_approved": 500, "beds_open": 450, "physicians": 120, "assistant_physicians": 15,
        "as_of": date(2024, 12, 31)}), actor=SYSTEM)
    centre = service.create_facility(session=session, facility_in=build(FacilityCreate, dict(
        code="T001", name="温泉镇卫生院", type="township_centre", orgunit_code=f.TOWN_A, beds_approved=60,
        beds_open=50, physicians=12, assistant_physicians=3, as_of=date(2023, 6, 30))), actor=SYSTEM)
    clinic = service.create_facility(session=session, facility_in=build(FacilityCreate, dict(
        code="V001", name="东冲村卫生室", type="village_clinic", orgunit_code=f.VILLAGE_A1,
        assistant_physicians=1, as_of=date(2024, 3, 1))), actor=SYSTEM)
    assert centre.id and clinic.id

    end_2023 = service.capacity_as_of(session=session, as_of=date(2023, 12, 31))
    assert end_2023[f.COUNTY].as_dict() == {"beds_approved": 460, "beds_open": 430, "physicians": 112,
                                            "assistant_physicians": 13, "facilities": 2}
    assert end_2023[f.TOWN_A].as_dict() == {"beds_approved": 60, "beds_open": 50, "physicians": 12,
                                            "assistant_physicians": 3, "facilities": 1}
    assert end_2023[f.TOWN_B].facilities == 0 and end_2023[f.VILLAGE_A1].facilities == 0

    end_2024 = service.capacity_as_of(session=session, as_of=date(2024, 12, 31))
    assert end_2024[f.COUNTY].as_dict() == {"beds_approved": 560, "beds_open": 500, "physicians": 132,
                                            "assistant_physicians": 19, "facilities": 3}
    assert end_2024[f.TOWN_A].assistant_physicians == 4 and end_2024[f.VILLAGE_A1].assistant_physicians == 1

    before_all = service.capacity_as_of(session=session, as_of=date(2020, 1, 1))
    assert before_all[f.COUNTY].facilities == 0


def test_capacity_as_of_within_a_scope_lists_only_that_subtree(session):
    f.make_county(session)
    service.create_facility(session=session, facility_in=build(FacilityCreate, _facility_values()), actor=SYSTEM)
    service.create_facility(session=session, facility_in=build(FacilityCreate, dict(code="T001", name="南河镇卫生院", type="township_centre",
                            orgunit_code=f.TOWN_B, beds_approved=30, beds_open=30)), actor=SYSTEM)
    totals = service.capacity_as_of(session=session, as_of=clock.today(), scope_code=f.TOWN_B)
    assert set(totals) == {f.TOWN_B, f.VILLAGE_B1}
    assert totals[f.TOWN_B].beds_approved == 30


def test_facility_without_any_history_counts_with_its_current_figures(session):
    f.make_county(session)
    f.make_facility(session, orgunit_code=f.TOWN_A, beds_approved=70)  # straight into the table
    totals = service.capacity_as_of(session=session, as_of=date(2020, 1, 1))
    assert totals[f.COUNTY].beds_approved == 70
