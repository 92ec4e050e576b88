"""Rules of the resident master index service: scope, audit, search, update, household, merge."""
from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests import factories as f
from tests.residents.conftest import actor_of
from weijian.accounts.models import AuditEvent
from weijian.core import clock
from weijian.core.actor import Actor
from weijian.core.commands import build
from weijian.core.errors import Forbidden, InvalidInput, InvalidState, NotFound
from weijian.core.identifiers import make_id_number
from weijian.residents import queries, service
from weijian.residents.models import Household, Resident, ResidentMerge
from weijian.residents.schemas import ResidentCreate, ResidentUpdate

SYSTEM = Actor.system("test")


def events(session, **where) -> list[AuditEvent]:
    q = select(AuditEvent).order_by(AuditEvent.id)
    for k, v in where.items():
        q = q.where(getattr(AuditEvent, k) == v)
    return list(session.scalars(q))


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


@pytest.fixture()
def people(session, county):
    """One resident in each village, plus a second one in village A1."""
    return {
        "a1": f.make_resident(session, name="张三", village_code=f.VILLAGE_A1, phone="13900001111"),
        "a1b": f.make_resident(session, name="李四", village_code=f.VILLAGE_A1),
        "a2": f.make_resident(session, name="张三丰", village_code=f.VILLAGE_A2),
        "b1": f.make_resident(session, name="张无忌", village_code=f.VILLAGE_B1),
    }


def names(page) -> list[str]:
    return [r.name for r in page.items]


# --- scope -------------------------------------------------------------------------------------
def test_village_doctor_sees_only_own_village(session, people, village_doctor):
    assert names(service.search(session=session, actor=village_doctor)) == ["张三", "李四"]
    assert names(service.search(session=session, actor=village_doctor, q="张")) == ["张三"]
    assert service.get(session=session, resident_id=people["a1"].id, actor=village_doctor).name == "张三"
    for key in ("a2", "b1"):
        with pytest.raises(NotFound):
            service.get(session=session, resident_id=people[key].id, actor=village_doctor)


def test_township_doctor_sees_its_township_only(session, people, township_doctor):
    assert names(service.search(session=session, actor=township_doctor, q="张")) == ["张三", "张三丰"]
    service.get(session=session, resident_id=people["a2"].id, actor=township_doctor)
    with pytest.raises(NotFound):
        service.get(session=session, resident_id=people["b1"].id, actor=township_doctor)


def test_county_roles_see_every_village(session, people, county_doctor, bureau_admin, sysadmin):
    for actor in (county_doctor, bureau_admin, sysadmin):
        assert names(service.search(session=session, actor=actor, q="张")) == ["张三", "张三丰", "张无忌"]
        service.get(session=session, resident_id=people["b1"].id, actor=actor)


def test_out_of_scope_record_looks_exactly_like_a_missing_one(session, people, village_doctor):
    with pytest.raises(NotFound) as out_of_scope:
        service.get(session=session, resident_id=people["b1"].id, actor=village_doctor)
    with pytest.raises(NotFound) as missing:
        service.get(session=session, resident_id=people["b1"].id + 1000, actor=village_doctor)
    assert out_of_scope.value.message_key == missing.value.message_key


def test_out_of_scope_read_is_not_audited_as_a_read(session, people, village_doctor):
    with pytest.raises(NotFound):
        service.get(session=session, resident_id=people["b1"].id, actor=village_doctor)
    assert events(session, action="read", resident_id=people["b1"].id) == []


def test_reading_needs_the_read_permission(session, people):
    nobody = Actor(user_id=None, username="x", role="none", scope_code=None, permissions=frozenset())
    with pytest.raises(Forbidden):
        service.get(session=session, resident_id=people["a1"].id, actor=nobody)
    with pytest.raises(Forbidden):
        service.search(session=session, actor=nobody, q="张")


# --- audit -------------------------------------------------------------------------------------
@pytest.mark.parametrize("role, unit, basis", [
    ("village_doctor", f.VILLAGE_A1, "own_village"),
    ("township_doctor", f.TOWN_A, "own_township"),
    ("county_doctor", f.COUNTY, "county"),
])
def test_each_read_is_audited_with_the_basis_of_the_access(session, people, role, unit, basis):
    actor = actor_of(session, role, unit)
    rid = people["a1"].id
    service.get(session=session, resident_id=rid, actor=actor)
    service.get(session=session, resident_id=rid, actor=actor)
    reads = events(session, action="read", resident_id=rid)
    assert len(reads) == 2
    assert {(e.basis, e.username, e.entity_type, e.entity_id) for e in reads} == {
        (basis, actor.username, "resident", str(rid))}


def test_a_caller_may_name_another_basis_for_a_read(session, people, county_doctor):
    service.get(session=session, resident_id=people["a1"].id, actor=county_doctor, basis="referral")
    assert [e.basis for e in events(session, action="read", resident_id=people["a1"].id)] == ["referral"]


def test_a_named_basis_does_not_widen_the_scope(session, people, village_doctor):
    with pytest.raises(NotFound):
        service.get(session=session, resident_id=people["b1"].id, actor=village_doctor, basis="referral")


def test_search_logs_one_search_event_with_the_query_and_no_resident(session, people, village_doctor):
    service.search(session=session, actor=village_doctor, q="张")
    found = events(session, action="search")
    assert len(found) == 1
    assert found[0].resident_id is None and found[0].basis == "own_village"
    assert json.loads(found[0].detail)["q"] == "张"
    assert events(session, action="read") == []  # listing is not opening a record


# --- search ------------------------------------------------------------------------------------
@pytest.mark.parametrize("q, expected", [
    ("张", ["张三", "张三丰", "张无忌"]),  # name prefix
    ("张三", ["张三", "张三丰"]),  # a full name is also a prefix
    ("张三丰", ["张三丰"]),
    ("zs", ["张三", "张三丰"]),  # pinyin initials
    ("zsf", ["张三丰"]),
    ("ZS", ["张三", "张三丰"]),  # any case
    ("zhangsan", ["张三", "张三丰"]),  # full pinyin
    ("zhangwu", ["张无忌"]),  # full pinyin prefix
    ("ls", ["李四"]),
    ("王", []),
])
def test_search_box_finds_by_name_and_pinyin(session, people, sysadmin, q, expected):
    assert names(service.search(session=session, actor=sysadmin, q=q)) == expected


def test_search_box_finds_by_identity_number_whole_or_first_digits(session, people, sysadmin):
    idn = people["a2"].id_number
    assert names(service.search(session=session, actor=sysadmin, q=idn)) == ["张三丰"]
    assert names(service.search(session=session, actor=sysadmin, q=f" {idn[:6]} {idn[6:]} ")) == ["张三丰"]
    assert names(service.search(session=session, actor=sysadmin, q=idn[:14])) == ["张三丰"]
    assert len(service.search(session=session, actor=sysadmin, q=idn[:6]).items) == 4  # all share 421124


def test_identity_number_prefix_results_come_in_number_order(session, people, sysadmin):
    found = [r.id_number for r in service.search(session=session, actor=sysadmin, q="421124").items]
    assert found == sorted(found) and len(found) == 4


def test_village_scope_is_the_same_as_its_range(session, people, village_doctor):
    # The village scope is written as an equality (index use); it must keep exactly the range's rows.
    from weijian.orgunits import service as orgunits_service
    from weijian.residents import access

    by_range = set(session.scalars(select(Resident.id).where(
        orgunits_service.scope_condition(Resident.village_code, village_doctor))))
    by_equality = set(session.scalars(select(Resident.id).where(access.visible(village_doctor))))
    assert by_range == by_equality == {people["a1"].id, people["a1b"].id}


def test_search_box_finds_an_x_number_typed_in_lower_case(session, county, sysadmin):
    born = date(1985, 3, 1)
    idn = next(make_id_number("421124", born, s) for s in range(1, 999, 2)
               if make_id_number("421124", born, s).endswith("X"))
    f.make_resident(session, name="王五", id_number=idn)
    assert names(service.search(session=session, actor=sysadmin, q=idn.lower())) == ["王五"]


def test_search_box_finds_a_15_digit_first_generation_number(session, county, sysadmin):
    old = "421124800101001"  # born 1980-01-01, sequence 001 (male)
    f.make_resident(session, name="赵六", id_number=old)
    stored = session.scalar(select(Resident.id_number).where(Resident.name == "赵六"))
    assert len(stored) == 18
    assert names(service.search(session=session, actor=sysadmin, q=old)) == ["赵六"]
    assert names(service.search(session=session, actor=sysadmin, q=stored)) == ["赵六"]


def test_search_box_finds_by_mobile_number(session, people, sysadmin):
    assert names(service.search(session=session, actor=sysadmin, q="13900001111")) == ["张三"]
    assert names(service.search(session=session, actor=sysadmin, q="13900001112")) == []


def test_too_few_digits_find_nothing_rather_than_everything(session, people, sysadmin):
    page = service.search(session=session, actor=sysadmin, q="4211")
    assert (page.items, page.total) == ([], 0)
    assert queries.parse_query("4211").kind == "too_short"


def test_wildcards_in_the_query_are_taken_literally(session, people, sysadmin):
    for q in ("%", "张%", "_", "张_"):
        assert names(service.search(session=session, actor=sysadmin, q=q)) == [], q


def test_search_filters_by_household_number_and_village(session, county, sysadmin):
    f.make_resident(session, name="户主甲", household_number="H001", relation_to_head="head")
    f.make_resident(session, name="配偶甲", household_number="H001", relation_to_head="spouse")
    f.make_resident(session, name="户主乙", household_number="H002", relation_to_head="head")
    f.make_resident(session, name="外村人", village_code=f.VILLAGE_B1)
    assert names(service.search(session=session, actor=sysadmin, household_number="H001")) == ["户主甲", "配偶甲"]
    assert names(service.search(session=session, actor=sysadmin, village_code=f.VILLAGE_B1)) == ["外村人"]
    assert len(service.search(session=session, actor=sysadmin, village_code=f.TOWN_A).items) == 3
    with pytest.raises(InvalidInput) as exc:
        service.search(session=session, actor=sysadmin, village_code="12")
    assert exc.value.field == "village_code"


def test_search_filters_by_name_id_number_and_phone(session, people, sysadmin):
    assert names(service.search(session=session, actor=sysadmin, name="张三")) == ["张三", "张三丰"]
    assert names(service.search(session=session, actor=sysadmin, id_number=people["b1"].id_number)) == ["张无忌"]
    assert names(service.search(session=session, actor=sysadmin, phone="13900001111")) == ["张三"]


def test_search_pages_in_name_order_and_counts_all(session, county, sysadmin):
    for i in range(25):
        f.make_resident(session, name=f"周{chr(0x4e00 + (i * 7) % 25)}")
    pages = [service.search(session=session, actor=sysadmin, q="周", page=p, page_size=10) for p in (1, 2, 3)]
    assert [len(p.items) for p in pages] == [10, 10, 5]
    assert {p.total for p in pages} == {25}
    together = [r for p in pages for r in p.items]
    assert [(r.name, r.id) for r in together] == sorted((r.name, r.id) for r in together)
    assert len({r.id for r in together}) == 25
    assert service.search(session=session, actor=sysadmin, q="周", page=4, page_size=10).items == []


def test_search_count_stops_at_the_cap(session, county, sysadmin, monkeypatch):
    monkeypatch.setattr(queries, "COUNT_CAP", 3)
    for _ in range(6):
        f.make_resident(session, name="吴一")
    page = service.search(session=session, actor=sysadmin, q="吴", page_size=2)
    assert page.capped and page.total == 4 and len(page.items) == 2
    few = service.search(session=session, actor=sysadmin, q="吴一", village_code=f.VILLAGE_B1)
    assert not few.capped and few.total == 0


def test_search_leaves_out_merged_records_except_on_an_exact_identity_number(session, people, sysadmin):
    dup = f.make_resident(session, name="张三", village_code=f.VILLAGE_A1)
    service.merge(session=session, survivor_id=people["a1"].id, merged_id=dup.id, reason="重复建档",
                  actor=sysadmin, confirm_different_id_numbers=True)
    assert [r.id for r in service.search(session=session, actor=sysadmin, q="张三").items] == [
        people["a1"].id, people["a2"].id]
    assert [r.id for r in service.search(session=session, actor=sysadmin, q=dup.id_number).items] == [dup.id]
    assert dup.id in [r.id for r in service.search(session=session, actor=sysadmin, q="张三",
                                                   include_merged=True).items]


def test_parse_query_reads_the_search_box():
    assert queries.parse_query("  ").kind == "empty"
    assert queries.parse_query("11010519491231002x") == queries.Query("id_number", "11010519491231002X")
    assert queries.parse_query("421124198").kind == "id_prefix"
    assert queries.parse_query("13900001111").kind == "phone"
    assert queries.parse_query("0713-7012345").kind == "phone"
    assert queries.parse_query("Zs").kind == "pinyin"
    assert queries.parse_query("张 三").kind == "name"


# --- create ------------------------------------------------------------------------------------
def _refused(session, values: dict, field: str, actor=SYSTEM) -> InvalidInput:
    before = (count(session, Resident), count(session, AuditEvent), count(session, Household))
    with pytest.raises(InvalidInput) as exc, session.begin_nested():
        service.create(session=session, resident_in=build(ResidentCreate, values), actor=actor)
    assert field in {e.field for e in exc.value.errors}, exc.value.errors
    assert (count(session, Resident), count(session, AuditEvent), count(session, Household)) == before
    return exc.value


def _good(**over) -> dict:
    values = dict(name="钱七", id_number=f.new_id_number(date(1980, 5, 17)), village_code=f.VILLAGE_A1,
                  household_number="H900")
    values.update(over)
    return values


def test_create_refuses_a_bad_check_digit(session, county):
    good = f.new_id_number(date(1980, 5, 17))
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    _refused(session, _good(id_number=bad), "id_number")


def test_a_wrong_identity_number_is_not_drowned_in_missing_sex_and_birth_date(session, county):
    good = f.new_id_number(date(1980, 5, 17))
    exc = _refused(session, dict(name="钱七", id_number=good[:17] + ("0" if good[17] != "0" else "1"),
                                 village_code=f.VILLAGE_A1), "id_number")
    assert [e.field for e in exc.errors] == ["id_number"]


def test_create_refuses_a_birth_date_in_the_future(session, county):
    _refused(session, _good(id_number=None, sex="male", birth_date=clock.today() + timedelta(days=1)), "birth_date")


def test_create_refuses_birth_date_or_sex_not_matching_the_identity_number(session, county):
    idn = f.new_id_number(date(1980, 5, 17), male=True)
    _refused(session, _good(id_number=idn, birth_date="1980-05-18"), "birth_date")
    _refused(session, _good(id_number=idn, sex="female"), "sex")


def test_create_refuses_an_unknown_village(session, county):
    _refused(session, _good(village_code="421124100299"), "village_code")
    _refused(session, _good(village_code=f.TOWN_A), "village_code")  # a township is not a village


def test_create_refuses_a_duplicate_identity_number(session, county):
    first = f.make_resident(session)
    _refused(session, _good(id_number=first.id_number), "id_number")


def test_create_takes_sex_and_birth_date_from_the_identity_number_and_audits(session, county, village_doctor):
    idn = f.new_id_number(date(1980, 5, 17), male=False)
    r = service.create(session=session, resident_in=build(ResidentCreate, dict(name="孙八", id_number=idn, village_code=f.VILLAGE_A1)),
                       actor=village_doctor)
    assert (r.sex, r.birth_date, r.name_initials, r.name_pinyin) == ("female", date(1980, 5, 17), "sb", "sunba")
    assert [(e.action, e.basis) for e in events(session, resident_id=r.id)] == [("create", "own_village")]


def test_create_in_a_village_outside_the_scope_is_refused(session, county, village_doctor):
    with pytest.raises(Forbidden):
        service.create(session=session, resident_in=build(ResidentCreate, _good(village_code=f.VILLAGE_B1)), actor=village_doctor)


# --- update ------------------------------------------------------------------------------------
def test_update_changes_fields_and_audits_their_names(session, people, village_doctor):
    r = people["a1"]
    service.update(session=session, resident_id=r.id, actor=village_doctor,
                   resident_in=build(ResidentUpdate, {"name": "张叁", "phone": "13700002222", "groups": ["低保", "hypertension"]}))
    assert (r.name, r.name_initials, r.name_pinyin, r.phone) == ("张叁", "zs", "zhangsan", "13700002222")
    assert r.group_codes == ["hypertension", "min_living"]
    (ev,) = events(session, action="update", resident_id=r.id)
    assert ev.basis == "own_village"
    assert json.loads(ev.detail)["fields"] == ["groups", "name", "phone"]


def test_update_with_nothing_changed_writes_nothing(session, people, village_doctor):
    r = people["a1"]
    service.update(session=session, resident_id=r.id, actor=village_doctor,
                   resident_in=build(ResidentUpdate, queries.current_values(r)))
    assert events(session, action="update") == []


def test_update_may_keep_its_own_identity_number_but_not_take_another(session, people, village_doctor):
    r, other = people["a1"], people["a1b"]
    service.update(session=session, resident_id=r.id, actor=village_doctor, resident_in=build(ResidentUpdate, {"id_number": r.id_number}))
    before = (r.id_number, r.birth_date, r.sex)
    with pytest.raises(InvalidInput) as exc:
        service.update(session=session, resident_id=r.id, actor=village_doctor,
                       resident_in=build(ResidentUpdate, {"id_number": other.id_number}))
    assert exc.value.field == "id_number"
    session.refresh(r)
    assert (r.id_number, r.birth_date, r.sex) == before
    assert events(session, action="update") == []


def test_a_new_identity_number_brings_its_birth_date_and_sex(session, people, village_doctor):
    r = people["a1"]
    idn = f.new_id_number(date(1990, 2, 3), male=False)
    service.update(session=session, resident_id=r.id, actor=village_doctor, resident_in=build(ResidentUpdate, {"id_number": idn}))
    assert (r.id_number, r.birth_date, r.sex) == (idn, date(1990, 2, 3), "female")


@pytest.mark.parametrize("values, field", [
    ({"birth_date": "2999-01-01"}, "birth_date"),
    ({"sex": "female"}, "sex"),  # the number says male
    ({"village_code": "421124100299"}, "village_code"),
    ({"phone": "123"}, "phone"),
    ({"name": ""}, "name"),
])
def test_update_refusals_name_the_field_and_change_nothing(session, people, village_doctor, values, field):
    r = people["a1"]
    before = queries.current_values(r)
    with pytest.raises(InvalidInput) as exc:
        service.update(session=session, resident_id=r.id, actor=village_doctor, resident_in=build(ResidentUpdate, values))
    assert field in {e.field for e in exc.value.errors}
    session.refresh(r)
    assert queries.current_values(r) == before
    assert events(session, action="update") == []


def test_update_out_of_scope_is_not_found(session, people, village_doctor):
    with pytest.raises(NotFound):
        service.update(session=session, resident_id=people["b1"].id, actor=village_doctor, resident_in=build(ResidentUpdate, {"phone": None}))


def test_update_cannot_move_a_resident_out_of_the_scope(session, people, village_doctor):
    with pytest.raises(Forbidden):
        service.update(session=session, resident_id=people["a1"].id, actor=village_doctor,
                       resident_in=build(ResidentUpdate, {"village_code": f.VILLAGE_B1}))


def test_update_refuses_a_second_householder(session, county, village_doctor):
    f.make_resident(session, household_number="H100", relation_to_head="head")
    wife = f.make_resident(session, name="李四", household_number="H100", relation_to_head="spouse")
    with pytest.raises(InvalidInput) as exc:
        service.update(session=session, resident_id=wife.id, actor=village_doctor, resident_in=build(ResidentUpdate, {"relation_to_head": "head"}))
    assert exc.value.field == "relation_to_head"


# --- household ---------------------------------------------------------------------------------
def test_household_lists_its_members_in_scope_and_is_audited(session, county, village_doctor, township_doctor):
    head = f.make_resident(session, name="户主", household_number="H200", relation_to_head="head")
    f.make_resident(session, name="儿子", household_number="H200", relation_to_head="son")
    f.make_resident(session, name="别户", household_number="H201")
    hh, members = queries.household(session=session, household_id=head.household_id, actor=village_doctor)
    assert (hh.number, [m.name for m in members], hh.head.name) == ("H200", ["户主", "儿子"], "户主")
    (ev,) = events(session, action="read", entity_type="household")
    assert (ev.entity_id, ev.basis) == (str(hh.id), "own_village")
    other = f.make_resident(session, village_code=f.VILLAGE_B1, household_number="H300")
    with pytest.raises(NotFound):
        queries.household(session=session, household_id=other.household_id, actor=township_doctor)


# --- merge -------------------------------------------------------------------------------------
@pytest.fixture()
def twins(session, county):
    """Two records of one person: one with an identity number, one registered without."""
    kept = f.make_resident(session, name="周九", household_number="H400", relation_to_head="head")
    dup = f.make_resident(session, name="周九", id_number=None, sex="male", birth_date=kept.birth_date,
                          confirm_probable_duplicate=True)
    return kept, dup


def test_merge_retires_the_merged_record_and_keeps_both(session, twins, sysadmin):
    kept, dup = twins
    row = service.merge(session=session, survivor_id=kept.id, merged_id=dup.id, reason="同一人重复建档",
                        actor=sysadmin)
    assert (dup.status, dup.merged_into_id, kept.status, kept.merged_into_id) == ("merged", kept.id, "active", None)
    assert (row.survivor_id, row.merged_id, row.reason, row.merged_by) == (kept.id, dup.id, "同一人重复建档",
                                                                          sysadmin.username)
    assert count(session, Resident) == 2  # nothing deleted
    view = queries.record(session=session, resident_id=kept.id, actor=sysadmin)
    assert [(m.merged_id, r.id) for m, r in view.merged] == [(dup.id, dup.id)]
    retired = queries.record(session=session, resident_id=dup.id, actor=sysadmin)
    assert retired.merged_into.id == kept.id and retired.merge.reason == "同一人重复建档"


def test_merge_is_audited_on_both_records(session, twins, sysadmin):
    kept, dup = twins
    service.merge(session=session, survivor_id=kept.id, merged_id=dup.id, reason="重复", actor=sysadmin)
    merges = events(session, action="merge")
    assert sorted(e.resident_id for e in merges) == sorted([kept.id, dup.id])
    assert all(json.loads(e.detail)["reason"] == "重复" for e in merges)
    assert {json.loads(e.detail)["survivor_id"] for e in merges} == {kept.id}


def test_merge_needs_the_merge_permission(session, twins, village_doctor):
    kept, dup = twins
    with pytest.raises(Forbidden):
        service.merge(session=session, survivor_id=kept.id, merged_id=dup.id, reason="重复", actor=village_doctor)


def test_merge_refuses_one_record_with_itself_and_a_missing_reason(session, twins, sysadmin):
    kept, _ = twins
    with pytest.raises(InvalidInput) as exc:
        service.merge(session=session, survivor_id=kept.id, merged_id=kept.id, reason=" ", actor=sysadmin)
    assert {e.field for e in exc.value.errors} == {"merged_id", "reason"}


def test_merge_needs_both_records_in_scope(session, county, sysadmin):
    town_admin = Actor(user_id=None, username="t", role="sysadmin", scope_code=f.TOWN_A,
                       permissions=frozenset({"resident:read", "resident:merge"}))
    a = f.make_resident(session, name="郑十")
    b = f.make_resident(session, name="郑十", village_code=f.VILLAGE_B1, id_number=None)
    with pytest.raises(NotFound):
        service.merge(session=session, survivor_id=a.id, merged_id=b.id, reason="重复", actor=town_admin)
    assert b.status == "active" and count(session, ResidentMerge) == 0


def test_a_merged_record_cannot_be_merged_again_nor_survive(session, twins, sysadmin):
    kept, dup = twins
    third = f.make_resident(session, name="周九", id_number=None)
    service.merge(session=session, survivor_id=kept.id, merged_id=dup.id, reason="重复", actor=sysadmin)
    for survivor, merged in ((kept.id, dup.id), (dup.id, third.id), (third.id, dup.id)):
        with pytest.raises(InvalidState):
            service.merge(session=session, survivor_id=survivor, merged_id=merged, reason="重复", actor=sysadmin)


def test_different_identity_numbers_merge_only_when_confirmed(session, county, sysadmin):
    a = f.make_resident(session, name="冯十一")
    b = f.make_resident(session, name="冯十一")
    with pytest.raises(InvalidInput) as exc:
        service.merge(session=session, survivor_id=a.id, merged_id=b.id, reason="重复", actor=sysadmin)
    assert exc.value.field == "confirm_different_id_numbers"
    assert b.status == "active" and events(session, action="merge") == []
    service.merge(session=session, survivor_id=a.id, merged_id=b.id, reason="身份证号录入错误",
                  actor=sysadmin, confirm_different_id_numbers=True)
    assert b.status == "merged"


def test_a_merged_record_cannot_be_edited(session, twins, sysadmin):
    kept, dup = twins
    service.merge(session=session, survivor_id=kept.id, merged_id=dup.id, reason="重复", actor=sysadmin)
    with pytest.raises(InvalidState):
        service.update(session=session, resident_id=dup.id, actor=sysadmin, resident_in=build(ResidentUpdate, {"phone": "13900009999"}))


def test_household_leaves_out_merged_members(session, twins, sysadmin):
    kept, _ = twins
    dup = f.make_resident(session, name="周九", id_number=None, household_number="H400", relation_to_head="other",
                          confirm_probable_duplicate=True)
    service.merge(session=session, survivor_id=kept.id, merged_id=dup.id, reason="重复", actor=sysadmin)
    _, members = queries.household(session=session, household_id=kept.household_id, actor=sysadmin)
    assert [m.id for m in members] == [kept.id]
