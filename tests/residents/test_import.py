"""Roster import: all-or-nothing, skip-invalid, idempotence, households, file formats, cell formats."""
from __future__ import annotations

import csv
import json
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from tests import factories as f
from weijian.accounts.models import AuditEvent
from weijian.core import tallies as core_tallies
from weijian.core.actor import Actor
from weijian.core.errors import Forbidden, InvalidInput
from weijian.core.identifiers import make_id_number
from weijian.orgunits.models import OrgUnit
from weijian.residents.importer.service import ImportRefused, import_file
from weijian.residents.models import Household, Resident, ResidentGroup

HEADERS = ["姓名", "性别", "出生日期", "身份证号", "联系电话", "户主身份证号", "与户主关系", "所属村", "参保类型", "人群分类"]
SYSTEM = Actor.system("test")


def person(name: str = "张三", *, birth: date = date(1980, 5, 17), male: bool = True, head: str = "",
           relation: str = "户主", village: str = f.VILLAGE_A1, **cells) -> dict:
    """One roster row (keys are the Chinese headers); the identity number agrees with birth and sex."""
    id_number = cells.pop("id_number", None) or f.new_id_number(birth=birth, male=male)
    row = {"姓名": name, "性别": "男" if male else "女", "出生日期": birth.isoformat(), "身份证号": id_number,
           "联系电话": "13800138000", "户主身份证号": head, "与户主关系": relation, "所属村": village,
           "参保类型": "城乡居民医保", "人群分类": ""}
    row.update(cells)
    return row


def family(village: str = f.VILLAGE_A1) -> list[dict]:
    """A householder, the spouse and a son, as counties list them."""
    head = person("王建国", birth=date(1960, 3, 1), village=village, 人群分类="高血压、脱贫")
    wife = person("李秀英", birth=date(1962, 7, 9), male=False, relation="配偶", head=head["身份证号"],
                  village=village)
    son = person("王小明", birth=date(1990, 1, 20), relation="子", head=head["身份证号"], village=village,
                 联系电话="")
    return [head, wife, son]


def write_xlsx(path: Path, rows: list[dict], headers: list[str] = HEADERS, *, above: list[list] = ()) -> Path:
    wb = Workbook()
    ws = wb.active
    for line in above:
        ws.append(line)
    ws.append(headers)
    for r in rows:
        ws.append([r.get(h.strip(), "") for h in headers])
    wb.save(path)
    return path


def write_csv(path: Path, rows: list[dict], *, encoding: str = "utf-8-sig", headers: list[str] = HEADERS) -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(headers)
        for r in rows:
            w.writerow([r.get(h, "") for h in headers])
    return path


def run(session, path: Path, actor: Actor = SYSTEM, **kw):
    return import_file(session=session, path=path, actor=actor, today=date(2025, 6, 1), **kw)


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def report_lines(path: Path) -> list[tuple]:
    ws = load_workbook(path, read_only=True).worksheets[0]
    return [tuple(r) for r in ws.iter_rows(values_only=True)]


# --- a good file -------------------------------------------------------------------------------------
def test_roster_is_imported_with_members_linked_to_the_householders_household(session, county, tmp_path):
    rows = family() + family(f.VILLAGE_B1)
    result = run(session, write_xlsx(tmp_path / "roster.xlsx", rows))
    assert (result.rows, result.created, result.unchanged, result.invalid) == (6, 6, 0, 0)
    assert result.households_created == 2
    assert result.error_report_path is None

    head_id = rows[0]["身份证号"]
    household = session.scalar(select(Household).where(Household.number == "H" + head_id))
    members = session.scalars(select(Resident).where(Resident.household_id == household.id)
                              .order_by(Resident.birth_date)).all()
    assert [(m.name, m.relation_to_head) for m in members] == [
        ("王建国", "head"), ("李秀英", "spouse"), ("王小明", "son")]
    assert household.village_code == f.VILLAGE_A1
    head = members[0]
    assert (head.sex, head.birth_date, head.name_initials, head.name_pinyin) == (
        "male", date(1960, 3, 1), "wjg", "wangjianguo")
    assert head.insurance_scheme == "resident"
    assert members[2].phone is None
    groups = session.scalars(select(ResidentGroup.group).where(ResidentGroup.resident_id == head.id)).all()
    assert sorted(groups) == ["hypertension", "lifted_from_poverty"]
    # Written in bulk outside the ORM: the running tallies (population, births) count them all the same.
    assert core_tallies.check(session) == []
    assert sum(core_tallies.months(session, ["people:births"], "0", "9", 199001, 199001).values()) == 2


def test_one_audit_event_records_the_whole_import(session, county, tmp_path):
    run(session, write_xlsx(tmp_path / "roster.xlsx", family()))
    events = session.scalars(select(AuditEvent).where(AuditEvent.username == "test")).all()
    assert [(e.action, e.entity_type) for e in events] == [("import", "resident_import")]
    detail = json.loads(events[0].detail)
    assert detail["file"] == "roster.xlsx"
    assert (detail["created"], detail["unchanged"], detail["invalid"], detail["households_created"]) == (3, 0, 0, 1)


def test_importing_the_same_file_twice_creates_no_duplicates(session, county, tmp_path):
    path = write_xlsx(tmp_path / "roster.xlsx", family() + [person("赵六", relation="", head="")])
    first = run(session, path)
    second = run(session, path)
    assert (first.created, first.unchanged) == (4, 0)
    assert (second.created, second.unchanged, second.households_created, second.invalid) == (0, 4, 0, 0)
    assert count(session, Resident) == 4
    assert count(session, Household) == 1


def test_registered_resident_is_matched_and_left_unchanged(session, county, tmp_path):
    registered = f.make_resident(session, name="刘备", phone="13900000000")
    row = person("刘备", id_number=registered.id_number, birth=registered.birth_date, relation="", 联系电话="13511112222")
    result = run(session, write_xlsx(tmp_path / "r.xlsx", [row]))
    assert (result.created, result.unchanged) == (0, 1)
    session.refresh(registered)
    assert registered.phone == "13900000000"


# --- all or nothing ----------------------------------------------------------------------------------
def test_one_bad_row_refuses_the_whole_file_and_the_report_names_row_column_and_reason(session, county, tmp_path):
    rows = family()
    bad_id = rows[1]["身份证号"][:-1] + ("0" if rows[1]["身份证号"][-1] != "0" else "1")
    rows[1]["身份证号"] = bad_id
    rows.append(person("孙七", relation="", 联系电话="12345"))
    with pytest.raises(ImportRefused) as caught:
        run(session, write_xlsx(tmp_path / "roster.xlsx", rows))
    assert count(session, Resident) == 0
    assert count(session, Household) == 0
    result = caught.value.result
    assert (result.rows, result.invalid, result.created) == (4, 2, 0)
    assert result.error_report_path == tmp_path / "roster_错误报告.xlsx"

    lines = report_lines(result.error_report_path)
    assert lines[0] == ("行号", "列", "值", "原因")
    # Header on row 1: the spouse is row 3, the last person row 5.
    assert (3, "身份证号", bad_id, "身份证号校验位错误") in lines
    assert (5, "联系电话", "12345", "联系电话格式不正确（11 位手机号或带区号的固定电话）") in lines
    assert {e.row for e in caught.value.errors} >= {3, 5}


def test_refused_import_writes_nothing_even_its_audit_event(session, county, tmp_path):
    # Counted as a difference: tests of concurrency commit for real, and the append-only log keeps
    # their events for the rest of the test session.
    before = count(session, AuditEvent)
    rows = [person(relation="", 所属村="421124999999")]
    with pytest.raises(ImportRefused):
        run(session, write_xlsx(tmp_path / "r.xlsx", rows))
    assert count(session, AuditEvent) == before


def test_report_path_can_be_chosen(session, county, tmp_path):
    target = tmp_path / "out" / "report.xlsx"
    with pytest.raises(ImportRefused):
        run(session, write_xlsx(tmp_path / "r.xlsx", [person(relation="", 性别="未知")]), report_path=target)
    assert report_lines(target)[1][:2] == (2, "性别")


# --- skip invalid ------------------------------------------------------------------------------------
def test_skip_invalid_imports_good_rows_and_writes_bad_rows_with_reasons(session, county, tmp_path):
    rows = family() + [person("钱八", relation="", 出生日期="1985-02-30"), person("周九", relation="")]
    path = write_xlsx(tmp_path / "roster.xlsx", rows)
    result = run(session, path, skip_invalid=True)
    assert (result.rows, result.created, result.invalid) == (5, 4, 1)
    assert count(session, Resident) == 4
    assert result.error_report_path == tmp_path / "roster_未导入的行.xlsx"

    lines = report_lines(result.error_report_path)
    assert lines[0] == (*HEADERS, "错误原因")
    assert len(lines) == 2
    assert lines[1][0] == "钱八"
    assert lines[1][3] == rows[3]["身份证号"]
    assert lines[1][-1] == "出生日期：出生日期不是有效日期（如 1980-05-17）"


def test_fixed_rejected_rows_workbook_can_be_imported(session, county, tmp_path):
    rows = [person("吴十", relation="", 联系电话="999")]
    result = run(session, write_xlsx(tmp_path / "r.xlsx", rows), skip_invalid=True)
    assert result.created == 0
    wb = load_workbook(result.error_report_path)
    wb.active.cell(row=2, column=HEADERS.index("联系电话") + 1, value="13700001111")
    wb.save(result.error_report_path)
    again = run(session, result.error_report_path)
    assert (again.created, again.invalid) == (1, 0)


def test_members_of_a_bad_householders_row_are_left_out_with_it(session, county, tmp_path):
    rows = family()
    rows[0]["联系电话"] = "1"
    result = run(session, write_xlsx(tmp_path / "r.xlsx", rows), skip_invalid=True)
    assert (result.created, result.invalid, result.households_created) == (0, 3, 0)
    reasons = report_lines(result.error_report_path)
    assert "户主所在的第 2 行有错误" in reasons[2][-1]
    assert count(session, Household) == 0


# --- identity numbers ------------------------------------------------------------------------------
def test_fifteen_digit_identity_numbers_are_converted(session, county, tmp_path):
    old = "421124800517101"  # 1980-05-17, sequence 101 (odd: male)
    row = person(relation="", id_number=old)
    result = run(session, write_xlsx(tmp_path / "r.xlsx", [row]))
    assert result.created == 1
    resident = session.scalar(select(Resident))
    assert resident.id_number == make_id_number("421124", date(1980, 5, 17), 101)


def test_householder_referred_to_by_15_digit_number_is_found(session, county, tmp_path):
    head = person("老户主", relation="户主", id_number="421124500101111", birth=date(1950, 1, 1))
    member = person("老伴", male=False, birth=date(1952, 2, 2), relation="配偶", head="421124500101111")
    result = run(session, write_xlsx(tmp_path / "r.xlsx", [head, member]))
    assert (result.created, result.households_created) == (2, 1)
    assert len({r.household_id for r in session.scalars(select(Resident))}) == 1


def test_bad_check_digit_is_an_error_on_the_id_column(session, county, tmp_path):
    good = f.new_id_number(birth=date(1980, 5, 17))
    bad = good[:-1] + ("1" if good[-1] != "1" else "2")
    with pytest.raises(ImportRefused) as caught:
        run(session, write_xlsx(tmp_path / "r.xlsx", [person(relation="", id_number=bad)]))
    assert [(e.row, e.field, e.reason_key) for e in caught.value.errors] == [
        (2, "身份证号", "core.errors.id_number.check_digit")]


def test_missing_identity_number_is_an_error(session, county, tmp_path):
    row = person(relation="")
    row["身份证号"] = ""
    with pytest.raises(ImportRefused) as caught:
        run(session, write_xlsx(tmp_path / "r.xlsx", [row]))
    assert ("身份证号", "core.errors.id_number.required") in {(e.field, e.reason_key) for e in caught.value.errors}


def test_identity_number_mangled_into_a_number_by_excel_is_explained(session, county, tmp_path):
    row = person(relation="")
    row["身份证号"] = float(row["身份证号"][:17] + "0")
    with pytest.raises(ImportRefused) as caught:
        run(session, write_xlsx(tmp_path / "r.xlsx", [row]))
    assert caught.value.errors[0].reason_key == "residents.import.errors.id_number_as_number"


def test_duplicate_identity_number_within_the_file_is_an_error_on_both_rows(session, county, tmp_path):
    a = person("甲", relation="")
    b = person("乙", relation="", id_number=a["身份证号"])
    with pytest.raises(ImportRefused) as caught:
        run(session, write_xlsx(tmp_path / "r.xlsx", [a, person("丙", relation=""), b]))
    dup = [(e.row, e.params) for e in caught.value.errors
           if e.reason_key == "residents.import.errors.id_number_duplicate_in_file"]
    assert dup == [(2, {"rows": "2、4"}), (4, {"rows": "2、4"})]


# --- villages ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("village", [f.VILLAGE_A2, "西河村", " 西河村 ", "温泉镇西河村"])
def test_village_by_code_or_by_name(session, county, tmp_path, village):
    run(session, write_xlsx(tmp_path / "r.xlsx", [person(relation="", village=village)]))
    assert session.scalar(select(Resident.village_code)) == f.VILLAGE_A2


def test_unknown_village_is_an_error(session, county, tmp_path):
    with pytest.raises(ImportRefused) as caught:
        run(session, write_xlsx(tmp_path / "r.xlsx", [person(relation="", village="桃花村")]))
    e = caught.value.errors[0]
    assert (e.row, e.field, e.reason_key, e.params) == (2, "所属村", "residents.errors.village_unknown",
                                                        {"code": "桃花村"})


def test_village_name_shared_by_two_villages_is_an_error_naming_the_column(session, county, tmp_path):
    session.add(OrgUnit(code="421124101202", name="东冲村", level="village", kind="villagers_committee",
                        parent_code=f.TOWN_B))
    session.flush()
    rows = [person("甲", relation="", village="东冲村"), person("乙", relation="", village="南河镇东冲村")]
    with pytest.raises(ImportRefused) as caught:
        run(session, write_xlsx(tmp_path / "r.xlsx", rows))
    assert [(e.row, e.field, e.reason_key) for e in caught.value.errors] == [
        (2, "所属村", "residents.import.errors.village_ambiguous")]


def test_rows_outside_the_importers_area_are_refused(session, county, tmp_path):
    user = f.make_user(session, "township_doctor", f.TOWN_A)
    from weijian.accounts import service as accounts_service

    actor = accounts_service.actor_for(user)
    rows = [person("甲", relation="", village=f.VILLAGE_A1), person("乙", relation="", village=f.VILLAGE_B1)]
    with pytest.raises(ImportRefused) as caught:
        run(session, write_xlsx(tmp_path / "r.xlsx", rows), actor=actor)
    assert [(e.row, e.reason_key) for e in caught.value.errors] == [(3, "residents.errors.village_out_of_scope")]


def test_importing_needs_the_import_permission(session, county, tmp_path):
    from weijian.accounts import service as accounts_service

    actor = accounts_service.actor_for(f.make_user(session, "village_doctor", f.VILLAGE_A1))
    with pytest.raises(Forbidden):
        run(session, write_xlsx(tmp_path / "r.xlsx", [person(relation="")]), actor=actor)


# --- dates -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cell", [datetime(1980, 5, 17), "1980-05-17", "1980/05/17", "19800517", "1980/5/17",
                                  "1980年5月17日", 19800517, 29358])
def test_birth_date_formats(session, county, tmp_path, cell):
    row = person(relation="", birth=date(1980, 5, 17), 出生日期=cell)
    run(session, write_xlsx(tmp_path / "r.xlsx", [row]))
    assert session.scalar(select(Resident.birth_date)) == date(1980, 5, 17)


def test_birth_date_that_is_not_a_date_is_an_error(session, county, tmp_path):
    with pytest.raises(ImportRefused) as caught:
        run(session, write_xlsx(tmp_path / "r.xlsx", [person(relation="", 出生日期="1980-02-30")]))
    assert [(e.field, e.reason_key) for e in caught.value.errors] == [
        ("出生日期", "residents.errors.birth_date_invalid")]


# --- households --------------------------------------------------------------------------------------
def test_member_whose_householder_is_neither_in_the_file_nor_registered_is_an_error(session, county, tmp_path):
    stranger = f.new_id_number()
    with pytest.raises(ImportRefused) as caught:
        run(session, write_xlsx(tmp_path / "r.xlsx", [person(relation="子", head=stranger)]))
    e = caught.value.errors[0]
    assert (e.field, e.reason_key, e.params) == ("户主身份证号", "residents.import.errors.head_not_found",
                                                 {"id": stranger})


def test_member_joins_the_household_of_a_registered_householder(session, county, tmp_path):
    head, wife, son = family()
    run(session, write_xlsx(tmp_path / "first.xlsx", [head]))
    result = run(session, write_xlsx(tmp_path / "second.xlsx", [wife, son]))
    assert (result.created, result.households_created) == (2, 0)
    assert len({r.household_id for r in session.scalars(select(Resident))}) == 1


def test_member_of_a_registered_resident_who_heads_no_household_is_an_error(session, county, tmp_path):
    loner = f.make_resident(session, name="独居")
    with pytest.raises(ImportRefused) as caught:
        run(session, write_xlsx(tmp_path / "r.xlsx", [person(relation="配偶", head=loner.id_number)]))
    assert [(e.field, e.reason_key) for e in caught.value.errors] == [
        ("户主身份证号", "residents.import.errors.head_not_householder")]


def test_two_householders_for_one_household_number_is_an_error(session, county, tmp_path):
    a = person("甲", 户号="HH001")
    b = person("乙", 户号="HH001")
    headers = [*HEADERS, "户号"]
    with pytest.raises(ImportRefused) as caught:
        run(session, write_xlsx(tmp_path / "r.xlsx", [a, b], headers))
    assert [(e.row, e.reason_key) for e in caught.value.errors] == [
        (2, "residents.import.errors.two_heads"), (3, "residents.import.errors.two_heads")]


def test_household_number_and_address_columns_are_used(session, county, tmp_path):
    head, wife, _ = family()
    head.update(户号="4211240001", 住址="温泉镇东冲村一组 8 号")
    headers = [*HEADERS, "户号", "住址"]
    result = run(session, write_xlsx(tmp_path / "r.xlsx", [head, wife], headers))
    assert result.households_created == 1
    household = session.scalar(select(Household))
    assert (household.number, household.address) == ("4211240001", "温泉镇东冲村一组 8 号")
    assert {r.household_id for r in session.scalars(select(Resident))} == {household.id}


def test_householder_row_may_repeat_its_own_number(session, county, tmp_path):
    head = person()
    head["户主身份证号"] = head["身份证号"]
    result = run(session, write_xlsx(tmp_path / "r.xlsx", [head]))
    assert result.households_created == 1
    assert session.scalar(select(Resident.relation_to_head)) == "head"


def test_member_in_another_village_than_the_householder_is_an_error(session, county, tmp_path):
    head, wife, _ = family()
    wife["所属村"] = f.VILLAGE_A2
    with pytest.raises(ImportRefused) as caught:
        run(session, write_xlsx(tmp_path / "r.xlsx", [head, wife]))
    assert [(e.row, e.field, e.reason_key) for e in caught.value.errors] == [
        (3, "所属村", "residents.import.errors.village_not_household")]


def test_resident_without_household_columns_filled_has_no_household(session, county, tmp_path):
    result = run(session, write_xlsx(tmp_path / "r.xlsx", [person(relation="")]))
    assert (result.created, result.households_created) == (1, 0)
    assert session.scalar(select(Resident.household_id)) is None


# --- file formats ------------------------------------------------------------------------------------
@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030"])
def test_csv_in_utf8_with_or_without_bom_or_gb18030(session, county, tmp_path, encoding):
    rows = family()
    result = run(session, write_csv(tmp_path / "roster.csv", rows, encoding=encoding))
    assert (result.created, result.households_created) == (3, 1)
    assert sorted(session.scalars(select(Resident.name))) == sorted(r["姓名"] for r in rows)


def test_headers_with_spaces_and_a_title_row_above_them_are_accepted(session, county, tmp_path):
    headers = [f" {h} " for h in HEADERS]
    path = write_xlsx(tmp_path / "r.xlsx", family(), headers, above=[["东冲村居民花名册"], []])
    result = run(session, path)
    assert result.created == 3


def test_bad_row_in_a_file_with_a_title_row_is_named_by_its_excel_row(session, county, tmp_path):
    rows = family()
    rows[2]["联系电话"] = "0"
    path = write_xlsx(tmp_path / "r.xlsx", rows, above=[["花名册"]])
    with pytest.raises(ImportRefused) as caught:
        run(session, path)
    assert caught.value.errors[0].row == 5  # title 1, header 2, rows 3-5


def test_errors_name_the_column_as_the_file_spells_it(session, county, tmp_path):
    headers = ["身份证号码" if h == "身份证号" else h for h in HEADERS]
    row = person(relation="")
    row["身份证号码"] = row.pop("身份证号")[:-1] + "Y"
    with pytest.raises(ImportRefused) as caught:
        run(session, write_xlsx(tmp_path / "r.xlsx", [row], headers))
    assert [(e.row, e.field) for e in caught.value.errors] == [(2, "身份证号码")]


def test_missing_required_column_is_refused_naming_it(session, county, tmp_path):
    headers = [h for h in HEADERS if h != "所属村"]
    with pytest.raises(InvalidInput) as caught:
        run(session, write_xlsx(tmp_path / "r.xlsx", family(), headers))
    assert not isinstance(caught.value, ImportRefused)
    e = caught.value.errors[0]
    assert (e.field, e.reason_key) == ("file", "residents.import.errors.header_missing")
    assert e.params["columns"] == "所属村"


def test_file_without_data_rows_is_refused(session, county, tmp_path):
    with pytest.raises(InvalidInput) as caught:
        run(session, write_xlsx(tmp_path / "r.xlsx", []))
    assert caught.value.errors[0].reason_key == "residents.import.errors.empty"


def test_old_excel_format_is_refused(session, county, tmp_path):
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 100)
    with pytest.raises(InvalidInput) as caught:
        run(session, path)
    assert caught.value.errors[0].reason_key == "residents.import.errors.format"


# --- the xlsx reader -----------------------------------------------------------------------------
def test_sheet_reader_gives_what_openpyxl_gives(tmp_path):
    from weijian.residents.importer.reading import xlsx_rows

    wb = Workbook()
    ws = wb.active
    ws.append(["名单"])
    ws.append([])
    ws.append(["姓名", None, "出生日期", 12, 3.5, True, "  空格  "])
    ws.cell(row=6, column=5, value=datetime(1980, 5, 17))
    ws.cell(row=6, column=1, value="=1+1")
    ws.cell(row=7, column=30, value="far right")
    path = tmp_path / "t.xlsx"
    wb.save(path)

    ours = list(xlsx_rows(path))
    theirs = load_workbook(path, read_only=True, data_only=True).worksheets[0]
    theirs.reset_dimensions()
    expected = [(n, tuple(v)) for n, v in
                enumerate(theirs.iter_rows(min_row=1, min_col=1, values_only=True), start=1)]
    assert ours == expected
    assert ours[5] == (6, (None, None, None, None, datetime(1980, 5, 17)))


def test_shared_strings_and_date_styles_are_resolved():
    import io

    from weijian.residents.importer.reading import sheet_rows, string_table

    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    sst = (f'<sst {ns}><si><t>张三</t></si><si><r><t>王</t></r><r><t>五</t></r><rPh><t>ワン</t></rPh></si>'
           f'<si><t xml:space="preserve"> 4211 </t></si><si><t/></si></sst>').encode()
    strings = string_table(io.BytesIO(sst))
    assert strings == ["张三", "王五", " 4211 ", ""]
    sheet = (f'<worksheet {ns}><sheetData>'
             '<row r="2"><c r="A2" t="s"><v>0</v></c><c r="C2" s="1"><v>29358</v></c><c r="D2" t="s"><v>3</v></c></row>'
             '<row r="4"><c r="B4" t="s"><v>1</v></c><c r="C4" t="b"><v>1</v></c><c r="D4" t="str"><v>x</v></c>'
             '<c r="E4" t="inlineStr"><is><t>行内</t></is></c><c r="F4"><v>1.5E3</v></c></row>'
             '</sheetData></worksheet>').encode()
    rows = list(sheet_rows(io.BytesIO(sheet), strings, {1}, datetime(1899, 12, 30)))
    assert rows == [(1, ()), (2, ("张三", None, datetime(1980, 5, 17), None)), (3, ()),
                    (4, (None, "王五", True, "x", "行内", 1500.0))]
